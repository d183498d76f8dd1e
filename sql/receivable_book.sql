-- The whole book in one pass: receivable_stats() for every customer
-- aggregates the rows as the attached tables are read
-- (_receivable_book, receivable_book.c).  Its figures must be those of
-- the same aggregates run by SQL over _attached_items(), on every kind of
-- attachment (a non-text customer key, an open column, a customer in
-- several tables, currencies, a partitioned table, items invoiced after
-- the day, paid after it, without a due date) and for any day.
-- It runs in a database of its own, so that the book is this one alone.
\set SHOW_CONTEXT never
\set regress_db :DBNAME
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_receivable_book;
CREATE DATABASE regress_receivable_book;
\c regress_receivable_book
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;

-- 4,000 invoices of 60 customers keyed by integer, over three years
CREATE TABLE rb_invoice (id int PRIMARY KEY, customer int, amount numeric(12,2) NOT NULL,
  open_amount numeric(12,2) NOT NULL, invoiced_on date, due date, paid_on date);
INSERT INTO rb_invoice
SELECT g, CASE WHEN g % 997 = 0 THEN NULL ELSE g * 7 % 60 END,
       (g * 104729 % 100000) / 100.0 + 1,
       CASE WHEN g % 4 = 0 THEN 0 WHEN g % 4 = 1 THEN (g * 104729 % 100000) / 200.0
            ELSE (g * 104729 % 100000) / 100.0 + 1 END,
       CASE WHEN g % 211 = 0 THEN NULL ELSE date '2022-07-01' + g * 1096 / 4000 END,
       CASE WHEN g % 157 = 0 THEN NULL ELSE date '2022-07-01' + g * 1096 / 4000 + 30 END,
       CASE WHEN g % 4 = 0 THEN date '2022-07-01' + g * 1096 / 4000 + 30 + (g % 61) - 25 END
FROM generate_series(1, 4000) g;
-- open items of another system, some of the same customers, as text,
-- open by a status column, without invoice or payment dates
CREATE TABLE rb_item (id int PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL,
  status text NOT NULL, due date);
INSERT INTO rb_item
SELECT g, (g % 80)::text, g * 3.5, CASE WHEN g % 3 = 0 THEN 'closed' WHEN g % 3 = 1 THEN 'open' ELSE 'partial' END,
       date '2024-01-01' + g * 3
FROM generate_series(1, 300) g;
-- invoices in dollars of customers whose accounts are in euros
CREATE TABLE rb_fx (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  currency text, invoiced_on date NOT NULL, due date NOT NULL, paid_on date);
SELECT base_currency FROM pgcredit.set_base_currency('EUR', 'the book is kept in euros');
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES
  ('USD', 'EUR', '2020-01-01', 0.9);
INSERT INTO rb_fx
SELECT g, (g % 12)::text, g * 11.11, CASE WHEN g % 2 = 0 THEN 'USD' END,
       date '2024-01-01' + g * 2, date '2024-01-01' + g * 2 + 45,
       CASE WHEN g % 3 = 0 THEN date '2024-01-01' + g * 2 + 40 END
FROM generate_series(1, 200) g;
-- a partitioned table
CREATE TABLE rb_part (id int, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  invoiced_on date NOT NULL, due date NOT NULL, paid_on date) PARTITION BY RANGE (invoiced_on);
CREATE TABLE rb_part_2024 PARTITION OF rb_part FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE rb_part_2025 PARTITION OF rb_part FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO rb_part
SELECT g, (g % 25)::text, g * 2.25, date '2024-01-01' + g, date '2024-01-01' + g + 60,
       CASE WHEN g % 2 = 0 THEN date '2024-01-01' + g + 50 + g % 30 END
FROM generate_series(1, 700) g;

SELECT count(*) AS attached FROM (
  SELECT pgcredit.attach_receivables('rb_invoice', 'customer', 'open_amount', 'due',
           invoice_amount_column => 'amount', invoiced_column => 'invoiced_on', paid_column => 'paid_on')
  UNION ALL
  SELECT pgcredit.attach_receivables('rb_item', 'customer', 'amount', 'due', open_column => 'status',
           open_values => '{open,partial}')
  UNION ALL
  SELECT pgcredit.attach_receivables('rb_fx', 'customer', 'amount', 'due', invoiced_column => 'invoiced_on',
           paid_column => 'paid_on', currency_column => 'currency', rate_date_column => 'invoiced_on')
  UNION ALL
  SELECT pgcredit.attach_receivables('rb_part', 'customer', 'amount', 'due', invoice_amount_column => 'amount',
           invoiced_column => 'invoiced_on', paid_column => 'paid_on')) a;

-- The same figures by SQL: the query receivable_stats() runs for one
-- customer, here over every customer
CREATE FUNCTION pg_temp.by_sql(day date) RETURNS TABLE (customer text, receivables numeric, current numeric,
  days_1_30 numeric, days_31_60 numeric, days_61_90 numeric, days_over_90 numeric,
  oldest_days_past_due int, dso_90 numeric, last_payment date, behavioural_score numeric, invoiced_12m numeric)
LANGUAGE sql AS $$
  SELECT customer, (g).total, (g).current, (g).days_1_30, (g).days_31_60, (g).days_61_90, (g).days_over_90,
         oldest, dso, last_payment, score, invoiced
  FROM (SELECT customer, pgcredit.aging(open_amount, due, day) AS g,
               max(CASE WHEN open_amount > 0 AND due < day THEN day - due END) AS oldest,
               pgcredit.dso(invoice_amount, invoiced_on, paid_on, day, 90) AS dso,
               max(paid_on) FILTER (WHERE paid_on <= day) AS last_payment,
               pgcredit.credit_score(invoice_amount, due, paid_on, day) AS score,
               sum(invoice_amount) FILTER (WHERE invoiced_on > day - 365 AND invoiced_on <= day) AS invoiced
        FROM (SELECT i.customer,
                     CASE WHEN i.paid_on <= day THEN NULL WHEN i.paid_on > day THEN i.invoice_amount
                          WHEN i.counts THEN i.amount END AS open_amount,
                     i.due, i.invoice_amount, i.invoiced_on, i.paid_on
              FROM pgcredit._attached_items('receivables') i
              WHERE i.invoiced_on IS NULL OR i.invoiced_on <= day) items
        GROUP BY customer) s
$$;

-- every figure, every customer, on days before, within and after the
-- ledger: no row of one that the other lacks, the money at the same scale
SELECT day, (SELECT count(*) FROM pgcredit._receivable_book(day)) AS customers,
       (SELECT count(*) FROM (SELECT * FROM pgcredit._receivable_book(day)
                              EXCEPT SELECT * FROM pg_temp.by_sql(day)) x) AS book_only,
       (SELECT count(*) FROM (SELECT * FROM pg_temp.by_sql(day)
                              EXCEPT SELECT * FROM pgcredit._receivable_book(day)) x) AS sql_only,
       (SELECT count(*) FROM (SELECT customer, receivables::text, behavioural_score::text, invoiced_12m::text
                              FROM pgcredit._receivable_book(day)
                              EXCEPT SELECT customer, receivables::text, behavioural_score::text, invoiced_12m::text
                              FROM pg_temp.by_sql(day)) x) AS printed_otherwise
FROM unnest('{2022-06-30,2022-12-31,2023-08-15,2024-06-30,2024-12-31,2025-09-30,2030-01-01}'::date[]) day;

-- The whole ledger's aging and DSO (portfolio_stats) in one pass, against
-- the same aggregates by SQL, on the same days
SELECT day, p.receivables > 0 AS has_receivables,
       p.receivables = (SELECT sum(b.receivables) FROM pgcredit._receivable_book(day) b) AS sum_of_the_book,
       (p.receivables, p.current, p.days_1_30, p.days_31_60, p.days_61_90, p.days_over_90, p.overdue_pct,
        p.dso, p.best_possible_dso, p.average_days_delinquent)::text
       IS NOT DISTINCT FROM
       ((s.g).total, (s.g).current, (s.g).days_1_30, (s.g).days_31_60, (s.g).days_61_90, (s.g).days_over_90, (s.g).overdue_pct,
        (s.d).dso, (s.d).best_possible_dso, (s.d).average_days_delinquent)::text AS same_as_sql
FROM unnest('{2022-06-30,2022-12-31,2023-08-15,2024-06-30,2024-12-31,2025-09-30,2030-01-01}'::date[]) day,
     pgcredit.portfolio_stats(day) p,
     LATERAL (SELECT pgcredit.aging(open_amount, due, day) AS g,
                     pgcredit.dso_report(invoice_amount, invoiced_on, due, paid_on, day, 90) AS d
              FROM (SELECT CASE WHEN i.paid_on <= day THEN NULL WHEN i.paid_on > day THEN i.invoice_amount
                                WHEN i.counts THEN i.amount END AS open_amount,
                           i.due, i.invoice_amount, i.invoiced_on, i.paid_on
                    FROM pgcredit._attached_items('receivables') i
                    WHERE i.invoiced_on IS NULL OR i.invoiced_on <= day) items) s;
-- the figures of one day, as a credit manager reads them
SELECT * FROM pgcredit.portfolio_stats('2024-06-30');
-- before the ledger: no sales, no DSO; only the items without an invoice
-- date (open whatever the day) are open
SELECT * FROM pgcredit.portfolio_stats('2000-01-01');

-- The watchlist's newly overdue items (open above zero, due in a window
-- of days before the day less a number of days) in one pass, against SQL
SELECT day, days, window_days,
       (SELECT count(*) FROM pgcredit._newly_overdue(day, days, window_days)) AS customers,
       (SELECT count(*) FROM (
          (SELECT * FROM pgcredit._newly_overdue(day, days, window_days)
           EXCEPT SELECT customer, min(due), count(*)
                  FROM (SELECT i.customer, i.due,
                               CASE WHEN i.paid_on <= day THEN NULL WHEN i.paid_on > day THEN i.invoice_amount
                                    WHEN i.counts THEN i.amount END AS open_amount
                        FROM pgcredit._attached_items('receivables') i
                        WHERE i.invoiced_on IS NULL OR i.invoiced_on <= day) items
                  WHERE open_amount > 0 AND due < day - days AND due >= day - days - window_days
                  GROUP BY customer)
          UNION ALL
          (SELECT customer, min(due), count(*)
           FROM (SELECT i.customer, i.due,
                        CASE WHEN i.paid_on <= day THEN NULL WHEN i.paid_on > day THEN i.invoice_amount
                             WHEN i.counts THEN i.amount END AS open_amount
                 FROM pgcredit._attached_items('receivables') i
                 WHERE i.invoiced_on IS NULL OR i.invoiced_on <= day) items
           WHERE open_amount > 0 AND due < day - days AND due >= day - days - window_days
           GROUP BY customer
           EXCEPT SELECT * FROM pgcredit._newly_overdue(day, days, window_days))) x) AS differing
FROM (VALUES (date '2024-06-30', 90, 10), (date '2024-06-30', 30, 60), (date '2023-08-15', 0, 400),
             (date '2030-01-01', 90, 10), (date '2024-06-30', NULL, 10)) v(day, days, window_days);

-- receivable_stats() for every customer is the book
SELECT count(*) AS differing FROM (
  SELECT * FROM pgcredit.receivable_stats('2024-06-30')
  EXCEPT SELECT * FROM pg_temp.by_sql('2024-06-30')) x;
-- and a customer's row read alone (through the indexes) is its row of the book
SELECT count(*) AS differing FROM (
  SELECT s.* FROM (SELECT DISTINCT customer FROM pgcredit._receivable_book('2024-06-30')) c,
                  pgcredit.receivable_stats('2024-06-30', c.customer) s
  EXCEPT SELECT * FROM pgcredit._receivable_book('2024-06-30')) x;

-- A book whose states outgrow the memory a hash aggregate may take
-- (work_mem times hash_mem_multiplier) stops before it returns a row, and
-- receivable_stats() then aggregates by SQL, with the same figures
SET work_mem = '64kB';
SET hash_mem_multiplier = 1;
-- (its DETAIL gives the bytes, which depend on the platform)
\set VERBOSITY terse
SELECT count(*) FROM pgcredit._receivable_book('2024-06-30');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT count(*) AS customers,
       count(*) FILTER (WHERE (s.*)::text IS DISTINCT FROM (b.*)::text) AS differing
FROM pgcredit.receivable_stats('2024-06-30') s
FULL JOIN pg_temp.by_sql('2024-06-30') b USING (customer);
RESET work_mem;
RESET hash_mem_multiplier;

-- the figures of one customer, checked by hand against the ledger:
-- customer 42, of rb_invoice and rb_item only, on 2024-06-30: its
-- receivables are its open invoices and its open items
SELECT customer, receivables, oldest_days_past_due, last_payment, invoiced_12m
FROM pgcredit._receivable_book('2024-06-30') WHERE customer = '42';
SELECT sum(CASE WHEN paid_on > '2024-06-30' THEN amount WHEN paid_on IS NULL THEN open_amount END) AS receivables,
       max('2024-06-30' - due) FILTER (WHERE (paid_on > '2024-06-30' OR paid_on IS NULL AND open_amount > 0)
                                           AND due < '2024-06-30') AS oldest,
       max(paid_on) FILTER (WHERE paid_on <= '2024-06-30') AS last_payment,
       sum(amount) FILTER (WHERE invoiced_on > date '2024-06-30' - 365 AND invoiced_on <= '2024-06-30') AS invoiced_12m
FROM rb_invoice WHERE customer = 42 AND (invoiced_on IS NULL OR invoiced_on <= '2024-06-30');
SELECT sum(amount) AS open_items FROM rb_item WHERE customer = '42' AND status IN ('open', 'partial');

-- an open dispute that leaves the score: receivable_stats() computes the
-- book by SQL then, and only the disputed customer's score moves
INSERT INTO pgcredit.risk_settings (disputed_in_score) VALUES (false);
SELECT count(*) > 0 AS disputed FROM (
  SELECT pgcredit.open_dispute('rb_invoice'::regclass, (SELECT jsonb_build_object('id', min(id)) FROM rb_invoice
                                                          WHERE customer = 3 AND paid_on IS NULL AND due < '2024-06-01'),
                               'wrong price', '2024-06-01')) d;
SELECT s.customer, s.behavioural_score IS DISTINCT FROM b.behavioural_score AS score_moved,
       (s.receivables, s.current, s.days_1_30, s.days_31_60, s.days_61_90, s.days_over_90, s.dso_90)
       IS NOT DISTINCT FROM (b.receivables, b.current, b.days_1_30, b.days_31_60, b.days_61_90, b.days_over_90, b.dso_90)
       AS same_amounts
FROM pgcredit.receivable_stats('2024-06-30') s JOIN pgcredit._receivable_book('2024-06-30') b USING (customer)
WHERE s.behavioural_score IS DISTINCT FROM b.behavioural_score OR s.customer = '4';

-- bad days, and no right to it without pgcredit's
SELECT * FROM pgcredit._receivable_book(NULL);
SELECT * FROM pgcredit._receivable_book('infinity');
SELECT * FROM pgcredit._receivable_portfolio(NULL);
CREATE ROLE regress_rb_nobody;
SET ROLE regress_rb_nobody;
SELECT count(*) FROM pgcredit._receivable_book('2024-06-30');
SELECT count(*) FROM pgcredit._receivable_portfolio('2024-06-30');
RESET ROLE;
DROP ROLE regress_rb_nobody;

\c :regress_db
SET client_min_messages = warning;
DROP DATABASE regress_receivable_book;
