// A BI tool's reads of pgcredit, with node's pg driver: every view of
// schema pgcredit through a pool of connections that no statement
// configures (no SET of pgcredit.as_of), and every function form of a view
// for two days, the two days' queries running at once on the pool.
//
// It checks what a BI tool receives: each column's type as the server
// describes it is one of the flat types (text, integers, numeric, date,
// timestamptz, boolean), or has a flat companion (<column>_text,
// <column>_seconds); each value arrives in the form its type promises;
// every view has its day column, today for the views read without a
// day, the day asked for in the function forms; and the figures of one
// customer on the two days are those the test book implies.
//
// usage: node read_views.js DAY1 DAY2 CUSTOMER EXPECTED_JSON
// (connection from PGHOST, PGPORT, PGUSER, PGDATABASE).  Prints one line
// per check, "ok ..." or "not ok ...", and exits 1 if any failed.
'use strict';

const { Pool, types } = require('pg');

// dates as the server prints them (ISO): a JavaScript Date would move a
// date to the client's time zone, the classic BI mistake
types.setTypeParser(1082, (v) => v);

const [day1, day2, customer, expectedJson] = process.argv.slice(2);
const expected = JSON.parse(expectedJson);
const pool = new Pool({ max: 3 });
let failed = 0;
let checks = 0;

function check(ok, what) {
  checks += 1;
  if (!ok) failed += 1;
  console.log(`${ok ? 'ok' : 'not ok'} - ${what}`);
}

// type oid -> [name, test of a value as node's pg gives it]
const FLAT = {
  25: ['text', (v) => typeof v === 'string'],
  21: ['smallint', (v) => Number.isInteger(v)],
  23: ['integer', (v) => Number.isInteger(v)],
  20: ['bigint', (v) => typeof v === 'string' && /^-?\d+$/.test(v)],
  1700: ['numeric', (v) => typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)],
  1082: ['date', (v) => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)],
  1184: ['timestamptz', (v) => v instanceof Date && !Number.isNaN(v.getTime())],
  16: ['boolean', (v) => typeof v === 'boolean'],
};

// The columns and values of one result, as a BI tool would take them
function checkResult(label, res, day) {
  const names = res.fields.map((f) => f.name);
  const bad = [];
  for (const f of res.fields) {
    const flat = FLAT[f.dataTypeID];
    if (flat) {
      for (const row of res.rows) {
        const v = row[f.name];
        if (v !== null && !flat[1](v)) bad.push(`${f.name}=${JSON.stringify(v)} is not a ${flat[0]}`);
      }
    } else if (!names.includes(`${f.name}_text`) && !names.includes(`${f.name}_seconds`)) {
      bad.push(`${f.name} has type ${f.dataTypeID} and no flat companion`);
    }
  }
  check(bad.length === 0, `${label}: ${res.fields.length} columns of flat types or with companions` +
        (bad.length ? ` (${bad.slice(0, 3).join('; ')})` : ''));
  if (day !== undefined) {
    const dayField = res.fields.find((f) => f.name === 'day');
    if (dayField) {
      check(res.rows.every((r) => r.day === day),
            `${label}: every one of ${res.rows.length} rows says day ${day}`);
    }
  }
}

async function main() {
  const today = (await pool.query('SELECT current_date::text AS d')).rows[0].d;
  const views = (await pool.query(
    `SELECT c.relname,
            EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'day') AS has_day,
            EXISTS (SELECT FROM pg_proc p WHERE p.pronamespace = c.relnamespace
                      AND p.proname = c.relname || '_at' AND p.proargtypes[0] = 'date'::regtype) AS for_a_day
     FROM pg_class c WHERE c.relnamespace = 'pgcredit'::regnamespace AND c.relkind = 'v'
       AND has_table_privilege(c.oid, 'SELECT')
     ORDER BY 1`)).rows;
  const others = (await pool.query(
    `SELECT string_agg(c.relname, ' ' ORDER BY c.relname) AS names FROM pg_class c
     WHERE c.relnamespace = 'pgcredit'::regnamespace AND c.relkind = 'v'
       AND NOT has_table_privilege(c.oid, 'SELECT')`)).rows[0].names;
  check(views.length >= 24, `a reader reads ${views.length} views`);
  check(others === expected.unreadable, `the views a reader may not read: ${others}`);

  // every view as it is: no day was set on these pooled connections, so
  // the views computed for a day describe today
  await Promise.all(views.map(async (v) => {
    const res = await pool.query(`SELECT * FROM pgcredit.${v.relname}`);
    checkResult(`view ${v.relname}`, res, v.has_day ? today : undefined);
  }));

  // every function form of a view (<view>_at(date)), for two days at once
  const forms = views.filter((v) => v.for_a_day);
  const asked = [];
  for (const v of forms) {
    for (const day of [day1, day2]) {
      asked.push(pool.query(`SELECT * FROM pgcredit.${v.relname}_at($1::date)`, [day])
        .then((res) => checkResult(`${v.relname}_at('${day}')`, res, day)));
    }
  }
  await Promise.all(asked);
  check(forms.length >= 10, `${forms.length} function forms read for two days`);

  // one customer on the two days, through the function forms and with a
  // bind parameter (the filter reaches the per-customer read)
  for (const [day, want] of [[day1, expected.days[day1]], [day2, expected.days[day2]]]) {
    const r = await pool.query(
      `SELECT r.receivables, r.aging_1_30, r.aging_31_60, r.aging_61_90, r.days_past_due,
              a.total, a.day
       FROM pgcredit.customer_risk_at($1::date) r
       JOIN pgcredit.aging_by_customer_at($1::date) a USING (customer)
       WHERE r.customer = $2`, [day, customer]);
    const got = r.rows[0] || {};
    const same = Object.keys(want).every((k) => String(got[k]) === String(want[k]));
    check(same, `${customer} on ${day}: ${JSON.stringify(got)} is ${JSON.stringify(want)}`);
  }
  const p = await pool.query('SELECT day, customers FROM pgcredit.portfolio_at($1::date)', [day2]);
  check(p.rows[0].day === day2 && /^\d+$/.test(p.rows[0].customers),
        `portfolio_at('${day2}') is one row of that day: ${JSON.stringify(p.rows[0])}`);
  check(pool.totalCount <= 3, `the pool used ${pool.totalCount} connections`);
}

main()
  .catch((e) => { check(false, `error: ${e.message}`); })
  .finally(async () => {
    await pool.end();
    console.log(`${checks} checks, ${failed} failed`);
    process.exit(failed === 0 ? 0 : 1);
  });
