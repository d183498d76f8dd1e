-- Every view reads well in a BI tool: its columns are text, integers,
-- numeric, dates, timestamps or booleans, or have a flat companion; each
-- says the day its rows describe; each that is computed for a day has a
-- function form taking the day, which gives the view's rows.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE TEMP VIEW vt_column AS
SELECT c.relname AS view, a.attnum, a.attname AS col, a.atttypid::regtype AS type
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'pgcredit'::regnamespace AND c.relkind = 'v';

-- Columns of another type, each with its flat companion: <column>_text for
-- a regclass, jsonb or name, <column>_seconds for an interval (none
-- expected without one)
SELECT v.view, v.col, v.type
FROM vt_column v
WHERE v.type NOT IN ('text', 'integer', 'bigint', 'smallint', 'numeric', 'date',
                     'timestamp with time zone', 'boolean')
  AND NOT EXISTS (SELECT FROM vt_column f
                  WHERE f.view = v.view
                    AND ((f.col = v.col || '_text' AND f.type = 'text'::regtype
                          AND v.type IN ('regclass', 'jsonb', 'name'))
                         OR (f.col = v.col || '_seconds' AND f.type IN ('bigint', 'numeric')
                             AND v.type = 'interval'::regtype)))
ORDER BY 1, 2;
-- the companions there are
SELECT v.view, v.col, v.type, f.col AS flat, f.type AS flat_type
FROM vt_column v JOIN vt_column f ON f.view = v.view AND f.col IN (v.col || '_text', v.col || '_seconds')
ORDER BY 1, 2;

-- Every view has a column day of type date, but these: an event log whose
-- rows carry their time, the tier churn whose rows carry the day scored,
-- the losses whose rows carry their month, the post-mortems whose rows
-- carry the day written off, the financial ratios whose rows carry their
-- fiscal year end,
-- the import view that load_csv writes, and the cover policies, the same
-- every day
SELECT c.relname AS view_without_day
FROM pg_class c
WHERE c.relnamespace = 'pgcredit'::regnamespace AND c.relkind = 'v'
  AND NOT EXISTS (SELECT FROM vt_column v WHERE v.view = c.relname AND v.col = 'day' AND v.type = 'date'::regtype)
ORDER BY 1;

-- Every view computed for pgcredit.as_of() has a function form
-- <view>_at(date ...) (none expected without one)
SELECT c.relname AS view_without_function_form
FROM pg_class c
WHERE c.relnamespace = 'pgcredit'::regnamespace AND c.relkind = 'v'
  AND pg_get_viewdef(c.oid) LIKE '%as_of()%'
  AND NOT EXISTS (SELECT FROM pg_proc p
                  WHERE p.pronamespace = 'pgcredit'::regnamespace AND p.proname = c.relname || '_at'
                    AND p.proargtypes[0] = 'date'::regtype)
ORDER BY 1;

-- A small book, seen on a day of its own
CREATE TABLE vt_invoice (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
                         open_amount numeric(12,2) NOT NULL, invoiced_on date NOT NULL, due date NOT NULL,
                         paid_on date);
CREATE INDEX ON vt_invoice (customer);
INSERT INTO vt_invoice VALUES
  (1, 'VT1', 100, 100, '2025-01-10', '2025-02-09', NULL),
  (2, 'VT1', 50, 0, '2024-12-01', '2024-12-31', '2025-01-20'),
  (3, 'VT2', 300, 300, '2024-11-01', '2024-12-01', NULL);
SELECT kind FROM pgcredit.attach_receivables('vt_invoice', 'customer', 'open_amount', 'due',
  invoice_amount_column => 'amount', invoiced_column => 'invoiced_on', paid_column => 'paid_on');
SELECT customer FROM pgcredit.open_account('VT1', 1000, reason => 'types');
SELECT kind FROM pgcredit.add_cover('VT1', 'deposit', 'cash', 100, 'deposit', valid_from => '2025-01-01');
SET pgcredit.as_of = '2025-03-01';

-- Each view's rows are its function form's for the day (the forms of 1.0,
-- customer_risk_at and watchlist_at, return the rows without the day)
CREATE FUNCTION pg_temp.vt_differs(v text, f text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM ((SELECT * FROM pgcredit.%I EXCEPT ALL %s)
                                         UNION ALL (%s EXCEPT ALL SELECT * FROM pgcredit.%I)) d', v, f, f, v)
  INTO n;
  RETURN n;
END
$$;
SELECT v.view, pg_temp.vt_differs(v.view, v.f) AS rows_differing
FROM (VALUES ('customer_risk', 'SELECT f.*, date ''2025-03-01'' FROM pgcredit.customer_risk_at(''2025-03-01'') f'),
             ('watchlist', 'SELECT f.*, date ''2025-03-01'' FROM pgcredit.watchlist_at(''2025-03-01'') f'),
             ('aging_by_customer', 'SELECT * FROM pgcredit.aging_by_customer_at(''2025-03-01'')'),
             ('portfolio', 'SELECT * FROM pgcredit.portfolio_at(''2025-03-01'')'),
             ('cover_book', 'SELECT * FROM pgcredit.cover_book_at(''2025-03-01'')'),
             ('customer_cover', 'SELECT f.*, date ''2025-03-01'' FROM pgcredit.customer_cover_at(''2025-03-01'') f'),
             ('collection_status', 'SELECT * FROM pgcredit.collection_status_at(''2025-03-01'')'),
             ('promise_record', 'SELECT f.*, date ''2025-03-01'' FROM pgcredit.promise_record_at(''2025-03-01'') f'))
     AS v(view, f)
ORDER BY 1;
-- and they are not empty
SELECT customer, receivables, aging_1_30, aging_61_90, day FROM pgcredit.customer_risk
WHERE customer LIKE 'VT%' ORDER BY 1;
SELECT customer, total, oldest_days_past_due, day FROM pgcredit.aging_by_customer_at('2025-03-01')
WHERE customer LIKE 'VT%' ORDER BY 1;
SELECT kind, issuer, amount, day FROM pgcredit.cover_book WHERE issuer = 'cash';
-- money to the cent in every row: no 0 beside 0.00 in one column
SELECT v.col, count(*) FILTER (WHERE v.val IS NOT NULL AND scale(v.val) <> 2) AS not_to_the_cent,
       count(v.val) AS values
FROM pgcredit.customer_risk r,
     LATERAL (VALUES ('credit_limit', r.credit_limit), ('exposure', r.exposure), ('receivables', r.receivables),
                     ('open_orders', r.open_orders), ('available_credit', r.available_credit),
                     ('aging_current', r.aging_current), ('aging_1_30', r.aging_1_30),
                     ('aging_31_60', r.aging_31_60), ('aging_61_90', r.aging_61_90),
                     ('aging_over_90', r.aging_over_90)) v(col, val)
WHERE r.customer LIKE 'VT%'
GROUP BY v.col ORDER BY v.col;
SELECT count(*) FILTER (WHERE scale(x) <> 2) AS not_to_the_cent, count(x) AS values
FROM pgcredit.portfolio p,
     LATERAL unnest(ARRAY[p.total_exposure, p.receivables, p.aging_current, p.aging_1_30, p.aging_31_60,
                          p.aging_61_90, p.aging_over_90, p.exposure_over_limit]) x;
-- another day through the function form, no setting needed
RESET pgcredit.as_of;
SELECT customer, total, oldest_days_past_due, day FROM pgcredit.aging_by_customer_at('2025-02-15')
WHERE customer LIKE 'VT%' ORDER BY 1;
SELECT day, receivables > 0 AS has_receivables FROM pgcredit.portfolio_at('2025-02-15');
-- a filter on one customer still reaches the function through the form
EXPLAIN (COSTS OFF, VERBOSE)
SELECT customer FROM pgcredit.aging_by_customer_at('2025-02-15') WHERE customer = 'VT1';

SELECT relid FROM pgcredit.detach('vt_invoice');
DROP TABLE vt_invoice;
DELETE FROM pgcredit.cover WHERE customer LIKE 'VT%';
DELETE FROM pgcredit.exposure WHERE customer LIKE 'VT%';
DELETE FROM pgcredit.account WHERE customer LIKE 'VT%';

-- A member of pgcredit_reader reads every view but the approvers' list
-- and the import view: the functions the views call are its to call too
CREATE ROLE regress_vt_reader IN ROLE pgcredit_reader;
CREATE FUNCTION pg_temp.vt_unreadable() RETURNS TABLE (view name, error text) LANGUAGE plpgsql AS $$
DECLARE
  v name;
BEGIN
  FOR v IN SELECT c.relname FROM pg_class c
           WHERE c.relnamespace = 'pgcredit'::regnamespace AND c.relkind = 'v' ORDER BY 1 LOOP
    BEGIN
      EXECUTE format('SELECT count(*) FROM pgcredit.%I', v);
    EXCEPTION WHEN OTHERS THEN
      view := v;
      error := SQLERRM;
      RETURN NEXT;
    END;
  END LOOP;
END
$$;
SET ROLE regress_vt_reader;
SELECT * FROM pg_temp.vt_unreadable();
RESET ROLE;
DROP ROLE regress_vt_reader;
