-- DSO: period method, best possible DSO, average days delinquent and the
-- countback method, on a ledger small enough to check by hand.

CREATE TEMP TABLE inv (amount numeric, invoiced_on date, due date, paid_on date);
INSERT INTO inv VALUES
  (1000, '2024-01-15', '2024-02-14', '2024-02-20'), -- paid before as_of
  (2000, '2024-02-10', '2024-03-11', NULL),         -- open, overdue
  (1500, '2024-03-15', '2024-04-14', '2024-04-10'), -- paid after as_of: open, not due
  (500, '2023-12-20', '2024-01-19', NULL),          -- open, overdue, before the period
  (-200, '2024-03-20', '2024-03-20', NULL),         -- credit note, open, nets off
  (800, '2024-04-05', '2024-05-05', NULL),          -- invoiced after as_of: ignored
  (NULL, '2024-03-01', '2024-03-31', NULL),         -- no amount: skipped
  (300, NULL, '2024-03-31', NULL);                  -- no invoice date: skipped

-- At 2024-03-31 over 90 days, the period is 2024-01-02 to 2024-03-31:
--   receivables 2000 + 1500 + 500 - 200 = 3800, of which 1500 not yet due
--   sales 1000 + 2000 + 1500 - 200 = 4300
--   DSO 3800 / 4300 * 90 = 79.53; best possible 1500 / 4300 * 90 = 31.40;
--   delinquent 2300 / 4300 * 90 = 48.14 (each figure rounded on its own)
-- Countback: March (31 days to as_of) sold 1300, February (29) 2000,
-- January (31) 1000: 3800 uses March and February whole (60 days) and
-- 500 / 1000 of January (15.5 days) = 75.50.
SELECT pgcredit.dso(amount, invoiced_on, paid_on, '2024-03-31') AS dso,
       pgcredit.dso(amount, invoiced_on, paid_on, '2024-03-31', 90) AS dso_90,
       pgcredit.best_possible_dso(amount, invoiced_on, due, paid_on, '2024-03-31') AS best,
       pgcredit.average_days_delinquent(amount, invoiced_on, due, paid_on, '2024-03-31') AS add,
       pgcredit.dso_countback(amount, invoiced_on, paid_on, '2024-03-31') AS countback
FROM inv;

SELECT (pgcredit.dso_report(amount, invoiced_on, due, paid_on, '2024-03-31')).* FROM inv;

-- Over 30 days the period is March alone: sales 1300, DSO 3800 / 1300 * 30.
SELECT (pgcredit.dso_report(amount, invoiced_on, due, paid_on, '2024-03-31', 30)).* FROM inv;

-- Independent plain SQL for the period method, on several dates and periods.
SELECT as_of, period,
       pgcredit.dso(amount, invoiced_on, paid_on, as_of, period) AS pgcredit,
       round(sum(amount) FILTER (WHERE invoiced_on <= as_of
                                   AND (paid_on IS NULL OR paid_on > as_of))
             * period / nullif(sum(amount) FILTER (WHERE invoiced_on <= as_of
                                   AND invoiced_on > as_of - period), 0), 2) AS plain_sql
FROM inv, (VALUES (date '2024-02-29'), ('2024-03-31'), ('2024-04-30')) AS d(as_of),
     (VALUES (30), (90), (365)) AS p(period)
GROUP BY as_of, period ORDER BY as_of, period;

-- No sales in the period gives NULL, never a division error; no
-- receivables gives 0.
SELECT pgcredit.dso(amount, invoiced_on, paid_on, '2020-01-01') AS before_any_sale,
       pgcredit.dso_countback(amount, invoiced_on, paid_on, '2020-01-01') AS countback_before
FROM inv;
SELECT pgcredit.dso(amount, invoiced_on, paid_on, '2024-06-30', 30) AS no_sales_in_period,
       pgcredit.dso(amount, invoiced_on, paid_on, '2024-03-31') IS NOT NULL AS with_sales
FROM inv;
SELECT pgcredit.dso(amount, invoiced_on, paid_on, '2024-03-31') AS all_paid,
       pgcredit.dso_countback(amount, invoiced_on, paid_on, '2024-03-31') AS countback_all_paid
FROM (VALUES (100, date '2024-03-01', date '2024-03-10')) AS t(amount, invoiced_on, paid_on);
SELECT pgcredit.dso(amount, invoiced_on, paid_on, '2024-03-31') AS only_credit_notes
FROM (VALUES (-100, date '2024-03-01', NULL::date)) AS t(amount, invoiced_on, paid_on);
SELECT pgcredit.dso(amount, invoiced_on, paid_on, '2024-03-31') IS NULL AS no_rows
FROM inv WHERE false;

-- Countback beyond 36 months: one sale of 1200 three and a half years
-- back and one of 100 in the current month, both still open (1300).
-- The current month's 100 uses its 31 days; the 35 months before it
-- (April 2021 to February 2024) sold nothing and add their days; the
-- 1200 left counts at the 36 months' average daily sales, 100 over 1096
-- days.
SELECT pgcredit.dso_countback(amount, invoiced_on, paid_on, '2024-03-31') AS countback,
       31 + (date '2024-03-01' - date '2021-04-01') + 1200 * 1096 / 100 AS by_hand
FROM (VALUES (1200, date '2020-09-15', NULL::date), (100, '2024-03-10', NULL)) AS t(amount, invoiced_on, paid_on);

-- Bad arguments.
SELECT pgcredit.dso(amount, invoiced_on, paid_on, NULL) FROM inv;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.dso(amount, invoiced_on, paid_on, 'infinity') FROM inv;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.dso(amount, invoiced_on, paid_on, '2024-03-31', 0) FROM inv;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.dso(amount, invoiced_on, paid_on, '2024-03-31', -30) FROM inv;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.dso(amount, invoiced_on, paid_on, '2024-03-31', NULL) FROM inv;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.dso(amount, invoiced_on, paid_on, invoiced_on + 30) FROM inv WHERE invoiced_on IS NOT NULL;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.dso(amount, invoiced_on, paid_on, '2024-03-31') FROM (VALUES ('NaN'::numeric, date '2024-03-01', NULL::date)) AS t(amount, invoiced_on, paid_on);
\echo :LAST_ERROR_SQLSTATE

-- the DSO aggregates' state as pgcredit.agg_state (the form it leaves
-- the node in): one written by hand (as of 2000-01-01, 90 days, nothing)
-- is read; a period of 0 days or an infinite day is refused
SELECT length('\x06000000000000005a000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000'::pgcredit.agg_state::text) AS state_text_length;
SELECT '\x060000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000'::pgcredit.agg_state;
SELECT '\x067fffffff0000005a000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000'::pgcredit.agg_state;
