-- credit_score and credit_score_explain: the behavioural payment score.

-- The worked example of the README, at 2024-06-30, half-life 180 days:
--   A 1000 due 06-01 paid 05-28: 0 days late, age 29, decay 2^(-29/180) = 0.8944
--   B  500 due 04-01 paid 05-01: 30 days late, age 90, decay 0.7071
--   C 2000 due 06-15 still open: 15 days past due so far, age 15, decay 0.9439
-- weights 894.4, 353.6, 1887.7 (sum 3135.7): D = (353.6*30 + 1887.7*15) / 3135.7
-- = 12.41, share late = (353.6 + 1887.7) / 3135.7 = 0.7148, none over 60;
-- raw = 100 * (1 - 0.5 * 12.41 / 42.41 - 0.3 * 0.7148) = 63.92;
-- n = 2.5453, credibility 2.5453 / 7.5453 = 0.3373,
-- score = 0.3373 * 63.92 + 0.6627 * 50 = 54.70.
CREATE TEMP TABLE example (invoice text, amount numeric, due date, paid_on date);
INSERT INTO example VALUES ('A', 1000, '2024-06-01', '2024-05-28'),
                           ('B', 500, '2024-04-01', '2024-05-01'),
                           ('C', 2000, '2024-06-15', NULL);
SELECT (pgcredit.credit_score_explain(amount, due, paid_on, '2024-06-30')).* FROM example;
SELECT pgcredit.credit_score(amount, due, paid_on, '2024-06-30') AS score FROM example;

-- Thin files lean on the prior 50; a long clean record earns a high score,
-- a long late record a low one.
SELECT label, pgcredit.credit_score(amount, due, paid_on, '2024-06-30') AS score
FROM (SELECT 'one invoice on time' AS label, 100 AS amount,
             date '2024-06-01' AS due, date '2024-05-30' AS paid_on
      UNION ALL
      SELECT 'one invoice 90 days late', 100, '2024-03-01', '2024-05-30'
      UNION ALL
      SELECT '50 invoices on time', 100, date '2024-06-01' - 7 * g, date '2024-06-01' - 7 * g
      FROM generate_series(1, 50) AS g
      UNION ALL
      SELECT '50 invoices 90 days late', 100, date '2024-03-01' - 7 * g, date '2024-05-30' - 7 * g
      FROM generate_series(1, 50) AS g) AS t
GROUP BY label ORDER BY score DESC;

-- Recency: the same late invoice weighs less the older it is, so a
-- customer who was late long ago and pays on time now scores higher than
-- one who paid on time long ago and is late now.
SELECT label, pgcredit.credit_score(amount, due, paid_on, '2024-06-30') AS score
FROM (SELECT 'late long ago, on time now' AS label, 100 AS amount,
             date '2022-06-01' - 7 * g AS due, date '2022-06-01' - 7 * g + 45 AS paid_on
      FROM generate_series(1, 10) AS g
      UNION ALL
      SELECT 'late long ago, on time now', 100, date '2024-06-01' - 7 * g, date '2024-06-01' - 7 * g
      FROM generate_series(1, 10) AS g
      UNION ALL
      SELECT 'on time long ago, late now', 100, date '2022-06-01' - 7 * g, date '2022-06-01' - 7 * g
      FROM generate_series(1, 10) AS g
      UNION ALL
      SELECT 'on time long ago, late now', 100, date '2024-05-01' - 7 * g, date '2024-05-01' - 7 * g + 45
      FROM generate_series(1, 10) AS g) AS t
GROUP BY label ORDER BY score DESC;

-- Amount weighting: being late on the large invoice costs more.
SELECT label, pgcredit.credit_score(amount, due, paid_on, '2024-06-30') AS score
FROM (VALUES ('late on the large one', 9000, date '2024-05-01', date '2024-06-10'),
             ('late on the large one', 1000, '2024-05-01', '2024-05-01'),
             ('late on the small one', 9000, '2024-05-01', '2024-05-01'),
             ('late on the small one', 1000, '2024-05-01', '2024-06-10')) AS t(label, amount, due, paid_on)
GROUP BY label ORDER BY score DESC;

-- Open overdue items count by their days past due so far: looked at later,
-- an invoice still open is later, beside ten invoices paid on time.  Its
-- weight fades with its age like any invoice's (weights run from the due
-- date, which keeps the score monotone), more slowly than its days grow.
SELECT as_of, h AS half_life_days,
       pgcredit.credit_score(amount, due, paid_on, as_of, h) AS score,
       (pgcredit.credit_score_explain(amount, due, paid_on, as_of, h)).weighted_days_late
FROM (SELECT 1000 AS amount, date '2024-05-01' AS due, NULL::date AS paid_on
      UNION ALL
      SELECT 1000, date '2024-05-01' - 7 * g, date '2024-05-01' - 7 * g
      FROM generate_series(1, 10) AS g) AS t,
     (VALUES (date '2024-05-01'), ('2024-05-31'), ('2024-07-30'), ('2024-10-28')) AS d(as_of),
     (VALUES (180), (3650)) AS hl(h)
GROUP BY as_of, h ORDER BY h, as_of;

-- Monotone: paying any one invoice later (by 1, 10, 45 or 400 days, the
-- last beyond as_of so it is still open) never raises its customer's
-- score.  Checked for every invoice of 20 customers.
CREATE TEMP TABLE history AS
SELECT c AS customer, i AS invoice,
       (50 + (c * 31 + i * 17) % 950)::numeric AS amount,
       date '2024-06-30' - (i * 23 + c * 7) % 400 AS due,
       CASE WHEN (c + i) % 9 = 0 THEN NULL
            ELSE date '2024-06-30' - (i * 23 + c * 7) % 400 + ((c * i) % 70) - 10 END AS paid_on
FROM generate_series(1, 20) AS c, generate_series(1, 12) AS i;
WITH base AS (
  SELECT customer, pgcredit.credit_score(amount, due, paid_on, '2024-06-30') AS score
  FROM history GROUP BY customer),
delayed AS (
  SELECT h.customer, k.invoice, d.days,
         pgcredit.credit_score(h.amount, h.due,
                               CASE WHEN h.invoice = k.invoice THEN h.paid_on + d.days
                                    ELSE h.paid_on END, '2024-06-30') AS score
  FROM history h
  JOIN history k ON k.customer = h.customer AND k.paid_on IS NOT NULL,
       (VALUES (1), (10), (45), (400)) AS d(days)
  GROUP BY h.customer, k.invoice, d.days)
SELECT count(*) AS variants,
       count(*) FILTER (WHERE d.score > b.score) AS raised,
       count(*) FILTER (WHERE d.score < b.score) AS lowered
FROM delayed d JOIN base b USING (customer);

-- Scores stay within 0 to 100 at the extremes.
SELECT pgcredit.credit_score(amount, due, paid_on, '2024-06-30') AS nothing_paid
FROM (SELECT 1e12 AS amount, date '2024-06-30' - 100 - g % 100 AS due, NULL::date AS paid_on
      FROM generate_series(0, 999) AS g) AS t;

-- Amounts past the range of double precision: an amount weighs at most
-- 10^13 (10^15 cents), so 1e13, 1e300 and 1e400 paid late beside 1000
-- paid on time score alike; an amount under half a cent weighs nothing,
-- so 0.001 and 1e-400 score alike.
SELECT big, pgcredit.credit_score(amount, due, paid_on, '2024-06-30') AS score
FROM (VALUES ('1e13', 1e13), ('1e300', 1e300), ('1e400', 1e400),
             ('0.001', 0.001), ('1e-400', 1e-400)) AS b(big, amount_late),
     LATERAL (VALUES (b.amount_late, date '2024-05-01', date '2024-06-10'),
                     (1000, '2024-05-01', '2024-05-01')) AS t(amount, due, paid_on)
GROUP BY big ORDER BY score, big;

-- Invoices due more than 24 half-lives ago weigh nothing: such a file
-- has no evidence left and scores the prior.
SELECT (pgcredit.credit_score_explain(amount, due, paid_on, '2024-06-30')).*
FROM (SELECT 1e12 AS amount, date '1990-01-01' + g AS due, NULL::date AS paid_on
      FROM generate_series(0, 99) AS g) AS t;
SELECT pgcredit.credit_score(amount, due, paid_on, '2024-06-30') AS best_possible
FROM (SELECT 1e12 AS amount, date '2024-06-30' AS due, date '2024-06-01' AS paid_on
      FROM generate_series(1, 1000) AS g) AS t;

-- Credit notes, NULL amounts and NULL due dates are not evidence; with no
-- evidence at all the score is NULL.
SELECT pgcredit.credit_score(amount, due, paid_on, '2024-06-30') IS NULL AS no_evidence,
       count(*) AS rows_seen
FROM (VALUES (-100, date '2024-05-01', NULL::date), (NULL, '2024-05-01', NULL),
             (100, NULL, NULL), (0, '2024-01-01', NULL)) AS t(amount, due, paid_on);
SELECT pgcredit.credit_score(amount, due, paid_on, '2024-06-30') IS NULL AS no_rows
FROM example WHERE false;

-- A shorter half-life forgets old lateness faster: twenty invoices paid
-- 59 days late in early 2023, twenty on time in the last five months.
-- At 30 days even the recent invoices fade, thinning the file toward the
-- prior.
SELECT h AS half_life_days, pgcredit.credit_score(amount, due, paid_on, '2024-06-30', h) AS score
FROM (SELECT 100 AS amount, date '2023-01-01' + 7 * g AS due, date '2023-01-01' + 7 * g + 59 AS paid_on
      FROM generate_series(1, 20) AS g
      UNION ALL
      SELECT 100, date '2024-06-28' - 7 * g, date '2024-06-28' - 7 * g
      FROM generate_series(1, 20) AS g) AS t,
     (VALUES (30), (90), (180), (3650)) AS hl(h)
GROUP BY h ORDER BY h;

-- Bad arguments.
SELECT pgcredit.credit_score(amount, due, paid_on, NULL) FROM example;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.credit_score(amount, due, paid_on, '-infinity') FROM example;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.credit_score(amount, due, paid_on, '2024-06-30', 0) FROM example;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.credit_score(amount, due, paid_on, '2024-06-30', NULL) FROM example;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.credit_score(amount, due, paid_on, due) FROM example;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.credit_score(amount, due, paid_on, '2024-06-30')
FROM (VALUES ('Infinity'::numeric, date '2024-01-01', NULL::date)) AS t(amount, due, paid_on);
\echo :LAST_ERROR_SQLSTATE

-- credit_score's state as pgcredit.agg_state (the form it leaves the node
-- in): one written by hand (half-life 180, no invoice) is read; a
-- half-life of 0 or a negative count of invoices is refused
SELECT length('\x0300000000000000b400000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000'::pgcredit.agg_state::text) AS state_text_length;
SELECT '\x03000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000'::pgcredit.agg_state;
SELECT '\x0300000000000000b4ffffffffffffffff0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000'::pgcredit.agg_state;
