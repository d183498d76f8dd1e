-- Analytics aggregates against the plain SQL computing the same results,
-- against bare sum(amount) and count(*), on :rows invoices of 1000
-- customers, serial and with 2 parallel workers.  Prints the best of 3
-- runs and ratios; checks first that each pair gives the same result.

\set QUIET on
\set ON_ERROR_STOP on
SET client_min_messages = warning;
\i test/bench/bench.sql

DROP TABLE IF EXISTS bench_ar;
CREATE TABLE bench_ar AS
SELECT g AS id, (g::bigint * 7919 % 1000)::int AS customer,
       ((g::bigint * 104729 % 500000) / 100.0)::numeric(12,2) AS amount,
       date '2024-01-01' - (g::bigint * 31 % 730)::int AS invoiced_on,
       date '2024-01-01' - (g::bigint * 31 % 730)::int + 30 AS due,
       CASE WHEN g % 7 = 0 THEN NULL
            ELSE date '2024-01-01' - (g::bigint * 31 % 730)::int + (g % 75)::int END AS paid_on
FROM generate_series(1, :rows) AS g;
VACUUM ANALYZE bench_ar;

CREATE TEMP VIEW dso_items AS SELECT amount, invoiced_on, due, paid_on FROM bench_ar;
\i test/plain/dso_report.sql

CREATE TEMP TABLE bench_query (name text, kind text, sql text, ord int);
INSERT INTO bench_query VALUES
('count(*)', 'baseline', $$SELECT count(*) FROM bench_ar$$, 1),
('sum(amount)', 'baseline', $$SELECT sum(amount) FROM bench_ar$$, 2),
('amount_sum', 'pgcredit', $$SELECT pgcredit.amount_sum(amount) FROM bench_ar$$, 3),
('aging', 'pgcredit', $$SELECT (a).current, (a).days_1_30, (a).days_31_60, (a).days_61_90, (a).days_over_90, (a).avg_days_overdue
   FROM (SELECT pgcredit.aging(amount, due, '2024-01-01') AS a FROM bench_ar) s$$, 4),
('aging', 'plain SQL', $$SELECT coalesce(sum(amount) FILTER (WHERE due >= '2024-01-01'), 0),
   coalesce(sum(amount) FILTER (WHERE due < '2024-01-01' AND due >= date '2024-01-01' - 30), 0),
   coalesce(sum(amount) FILTER (WHERE due < date '2024-01-01' - 30 AND due >= date '2024-01-01' - 60), 0),
   coalesce(sum(amount) FILTER (WHERE due < date '2024-01-01' - 60 AND due >= date '2024-01-01' - 90), 0),
   coalesce(sum(amount) FILTER (WHERE due < date '2024-01-01' - 90), 0),
   round(sum(amount * (date '2024-01-01' - due)) FILTER (WHERE due < '2024-01-01')
         / sum(amount) FILTER (WHERE due < '2024-01-01'), 2) FROM bench_ar$$, 5),
('dso', 'pgcredit', $$SELECT pgcredit.dso(amount, invoiced_on, paid_on, '2024-01-01') FROM bench_ar$$, 6),
('dso', 'plain SQL', $$SELECT round(90 * sum(amount) FILTER (WHERE invoiced_on <= '2024-01-01'
       AND (paid_on IS NULL OR paid_on > '2024-01-01'))
   / nullif(sum(amount) FILTER (WHERE invoiced_on <= '2024-01-01' AND invoiced_on > date '2024-01-01' - 90), 0), 2)
   FROM bench_ar$$, 7),
('dso_report (with countback)', 'pgcredit', $$SELECT (pgcredit.dso_report(amount, invoiced_on, due, paid_on, '2024-01-01')).*
   FROM bench_ar$$, 8),
('dso_report (with countback)', 'plain SQL', $$SELECT * FROM pg_temp.plain_dso_report('2024-01-01')$$, 9),
('credit_score by customer', 'pgcredit', $$SELECT customer, pgcredit.credit_score(amount, due, paid_on, '2024-01-01')
   FROM bench_ar GROUP BY customer ORDER BY customer$$, 10),
('credit_score by customer', 'plain SQL', $$WITH ev AS (
     SELECT customer,
            round(16777216 * power(2.0::float8, -(greatest(0, date '2024-01-01' - due))::float8 / 180)) AS decay,
            round(amount * 100) AS cents,
            least(3650, CASE WHEN paid_on <= '2024-01-01' THEN greatest(0, paid_on - due)
                             ELSE greatest(0, date '2024-01-01' - due) END) AS late
     FROM bench_ar WHERE amount > 0),
   sums AS (
     SELECT customer, sum(cents * decay) AS w, sum(cents * decay * late) AS w_days,
            coalesce(sum(cents * decay) FILTER (WHERE late > 0), 0) AS w_late,
            coalesce(sum(cents * decay) FILTER (WHERE late > 60), 0) AS w_over,
            sum(decay)::float8 / 16777216 AS n
     FROM ev GROUP BY customer),
   parts AS (
     SELECT customer, n, w_days::float8 / w::float8 AS d, w_late::float8 / w::float8 AS p1,
            w_over::float8 / w::float8 AS p2 FROM sums)
   SELECT customer, round((n / (n + 5) * (100.0 * (1.0 - 0.5 * d / (d + 30) - 0.3 * p1 - 0.2 * p2))
                           + (1.0 - n / (n + 5)) * 50.0)::numeric, 2)
   FROM parts ORDER BY customer$$, 11);

-- Same results, pair by pair.
DO $$
DECLARE
	q record;
	a text;
	b text;
BEGIN
	FOR q IN SELECT name FROM bench_query WHERE kind = 'plain SQL' LOOP
		EXECUTE format('SELECT array_agg(t::text) FROM (%s) t',
					   (SELECT sql FROM bench_query WHERE name = q.name AND kind = 'pgcredit')) INTO a;
		EXECUTE format('SELECT array_agg(t::text) FROM (%s) t',
					   (SELECT sql FROM bench_query WHERE name = q.name AND kind = 'plain SQL')) INTO b;
		IF a IS DISTINCT FROM b THEN
			RAISE EXCEPTION 'benchmark pair % gives different results', q.name;
		END IF;
	END LOOP;
END $$;

CREATE TEMP TABLE bench_result (name text, kind text, ord int, plan text, ms numeric);
SET max_parallel_workers_per_gather = 0;
INSERT INTO bench_result SELECT name, kind, ord, 'serial', pg_temp.best_ms(sql, 3) FROM bench_query;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
INSERT INTO bench_result SELECT name, kind, ord, '2 workers', pg_temp.best_ms(sql, 3) FROM bench_query;
RESET ALL;

\echo
\echo 'Analytics over' :rows 'invoices (best of 3; same results checked pair by pair)'
\pset footer off
SELECT r.name, r.kind, r.plan, r.ms,
       round(r.ms / s.ms, 2) AS vs_sum,
       round(r.ms / nullif(p.ms, 0), 2) AS vs_plain_sql,
       round(r2.ms / r.ms, 2) AS serial_vs_this
FROM bench_result r
JOIN bench_result s ON s.name = 'sum(amount)' AND s.plan = r.plan
LEFT JOIN bench_result p ON p.name = r.name AND p.kind = 'plain SQL' AND p.plan = r.plan AND r.kind = 'pgcredit'
JOIN bench_result r2 ON r2.name = r.name AND r2.kind = r.kind AND r2.plan = 'serial'
ORDER BY r.plan DESC, r.ord;

DROP TABLE bench_ar CASCADE;
