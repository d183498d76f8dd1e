-- aging: the aging profile aggregate, default bands as columns and custom
-- bounds as arrays.

CREATE TEMP TABLE items (amount numeric, due date);
INSERT INTO items VALUES
  (100.00, '2024-07-01'),   -- not yet due
  (50.50, '2024-06-30'),    -- due today: current
  (20, '2024-06-29'),       -- 1 day past due
  (25, '2024-05-31'),       -- 30 days
  (30, '2024-05-30'),       -- 31 days
  (35, '2024-05-01'),       -- 60 days
  (40, '2024-04-30'),       -- 61 days
  (45, '2024-04-01'),       -- 90 days
  (10, '2024-03-31'),       -- 91 days
  (-5, '2023-01-01'),       -- a credit note, 546 days
  (NULL, '2024-01-01'),     -- no amount: skipped
  (70, NULL);               -- no due date: skipped

-- By hand: current 150.50; 1-30: 20 + 25 = 45; 31-60: 30 + 35 = 65;
-- 61-90: 40 + 45 = 85; 90+: 10 - 5 = 5; overdue 200 of 350.50 = 57.06 %;
-- weighted days overdue (20*1 + 25*30 + 30*31 + 35*60 + 40*61 + 45*90
-- + 10*91 - 5*546) / 200 = 8470 / 200 = 42.35.
SELECT (pgcredit.aging(amount, due, '2024-06-30')).* FROM items;

-- The same items in custom bands, and in the default bands given
-- explicitly: the arrays agree with the columns.
SELECT (pgcredit.aging(amount, due, '2024-06-30', '{7,30,90}')).* FROM items;
SELECT a.labels, a.amounts, a.counts,
       a.amounts = ARRAY[p.current, p.days_1_30, p.days_31_60, p.days_61_90, p.days_over_90]
         AS amounts_agree
FROM (SELECT pgcredit.aging(amount, due, '2024-06-30', '{30,60,90}') AS a,
             pgcredit.aging(amount, due, '2024-06-30') AS p FROM items) AS s,
     LATERAL (SELECT (s.a).*) AS a, LATERAL (SELECT (s.p).*) AS p;

-- Read the bands as rows.
SELECT u.label, u.amount, u.items
FROM (SELECT pgcredit.aging(amount, due, '2024-06-30', '{45}') AS a FROM items) AS s,
     unnest((s.a).labels, (s.a).amounts, (s.a).counts) AS u(label, amount, items);

-- Per customer, with GROUP BY, against the plain SQL that computes the same.
CREATE TEMP TABLE ledger AS
SELECT g % 7 AS customer, (g * 37 % 1000) / 4.0 - 20 AS amount,
       date '2024-01-01' + (g * 53 % 300) - 150 AS due
FROM generate_series(1, 5000) AS g;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE a.current = s.current AND a.days_1_30 = s.d1
                          AND a.days_31_60 = s.d31 AND a.days_61_90 = s.d61
                          AND a.days_over_90 = s.d90 AND a.total = s.total
                          AND a.items = s.items
                          AND a.avg_days_overdue = s.avg_days) AS agree
FROM (SELECT customer, (pgcredit.aging(amount, due, '2024-01-01')).* FROM ledger
      GROUP BY customer) AS a
JOIN (SELECT customer,
             coalesce(sum(amount) FILTER (WHERE due >= '2024-01-01'), 0) AS current,
             coalesce(sum(amount) FILTER (WHERE '2024-01-01'::date - due BETWEEN 1 AND 30), 0) AS d1,
             coalesce(sum(amount) FILTER (WHERE '2024-01-01'::date - due BETWEEN 31 AND 60), 0) AS d31,
             coalesce(sum(amount) FILTER (WHERE '2024-01-01'::date - due BETWEEN 61 AND 90), 0) AS d61,
             coalesce(sum(amount) FILTER (WHERE '2024-01-01'::date - due > 90), 0) AS d90,
             sum(amount) AS total, count(*) AS items,
             round(sum(amount * ('2024-01-01'::date - due)) FILTER (WHERE due < '2024-01-01')
                   / sum(amount) FILTER (WHERE due < '2024-01-01'), 2) AS avg_days
      FROM ledger GROUP BY customer) AS s USING (customer);

-- Over no rows: zero amounts and counts, NULL averages.
SELECT (pgcredit.aging(amount, due, '2024-06-30')).* FROM items WHERE false;
SELECT (pgcredit.aging(amount, due, '2024-06-30', '{10}')).* FROM items WHERE false;

-- Nothing overdue: the average days overdue is NULL, not a division error.
SELECT (pgcredit.aging(amount, due, '2024-01-01')).avg_days_overdue IS NULL AS no_overdue
FROM (VALUES (10.0, date '2024-02-01')) AS t(amount, due);

-- Infinite dates are aged (see aging_bucket) but left out of the average.
SELECT (pgcredit.aging(amount, due, '2024-06-30')).*
FROM (VALUES (10.0, '-infinity'::date), (20.0, '2024-06-20'), (30.0, 'infinity')) AS t(amount, due);

-- Bad input.
SELECT pgcredit.aging(amount, due, NULL) FROM items;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.aging(amount, due, '2024-06-30', NULL) FROM items;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.aging(amount, due, '2024-06-30', '{30,10}') FROM items;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.aging(amount, due, '2024-06-30', CASE WHEN amount > 40 THEN '{30}'::int[] ELSE '{60}' END)
FROM items;
\echo :LAST_ERROR_SQLSTATE
-- Bounds built per row from columns: equal bounds are one group's bands,
-- differing bounds are refused like constants (each row's array is built
-- in the same memory, so the check compares contents, not addresses).
SELECT (pgcredit.aging(amount, due, '2024-06-30', ARRAY[b1, b2])).labels AS same_bounds
FROM (VALUES (10.0, date '2024-06-20', 30, 60), (20.0, '2024-05-01', 30, 60)) AS t(amount, due, b1, b2);
SELECT pgcredit.aging(amount, due, '2024-06-30', ARRAY[b1, b2])
FROM (VALUES (10.0, date '2024-06-20', 30, 60), (20.0, '2024-05-01', 10, 20)) AS t(amount, due, b1, b2);
\echo :LAST_ERROR_SQLSTATE
SELECT b1, (pgcredit.aging(amount, due, '2024-06-30', ARRAY[b1, b2])).labels AS grouped_by_bounds
FROM (VALUES (10.0, date '2024-06-20', 30, 60), (20.0, '2024-05-01', 10, 20)) AS t(amount, due, b1, b2)
GROUP BY b1 ORDER BY b1;
-- as_of too must be the same for every row of a group, with or without
-- bounds, and for rows that are skipped for a NULL amount.
SELECT pgcredit.aging(amount, due, as_of)
FROM (VALUES (10.0, date '2024-06-20', date '2024-06-30'), (20.0, '2024-05-01', '2024-07-31')) AS t(amount, due, as_of);
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.aging(amount, due, as_of, '{30}')
FROM (VALUES (10.0, date '2024-06-20', date '2024-06-30'), (NULL, '2024-05-01', '2024-07-31')) AS t(amount, due, as_of);
\echo :LAST_ERROR_SQLSTATE
SELECT as_of, (pgcredit.aging(amount, due, as_of)).overdue AS grouped_by_as_of
FROM (VALUES (10.0, date '2024-06-20', date '2024-06-30'), (20.0, '2024-05-01', '2024-07-31')) AS t(amount, due, as_of)
GROUP BY as_of ORDER BY as_of;
SELECT pgcredit.aging(amount, due, '2024-06-30') FROM (VALUES ('NaN'::numeric, '2024-01-01'::date)) AS t(amount, due);
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.aging(amount, due, '2024-06-30') FROM (VALUES ('-Infinity'::numeric, '2024-01-01'::date)) AS t(amount, due);
\echo :LAST_ERROR_SQLSTATE

-- days_past_due
SELECT pgcredit.days_past_due('2024-06-30', '2024-06-30') AS due_today,
       pgcredit.days_past_due('2024-07-10', '2024-06-30') AS not_yet,
       pgcredit.days_past_due('2024-02-28', '2024-03-01') AS leap,
       pgcredit.days_past_due('2023-02-28', '2023-03-01') AS common,
       pgcredit.days_past_due(NULL, '2024-01-01') AS null_due;
SELECT pgcredit.days_past_due('-infinity', '2024-01-01');
\echo :LAST_ERROR_SQLSTATE

-- aging's state as pgcredit.agg_state (the form it leaves the node in):
-- one written by hand (one bound, 30; nothing aged) is read; bounds that
-- aging() would refuse, too many, decreasing or not positive, are refused
SELECT length('\x0200000000000000010000001e0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000'::pgcredit.agg_state::text) AS state_text_length;
SELECT '\x02000000000000000d'::pgcredit.agg_state;
SELECT '\x0200000000000000020000001e0000001400000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000'::pgcredit.agg_state;
SELECT '\x020000000000000001ffffffe20000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000'::pgcredit.agg_state;
