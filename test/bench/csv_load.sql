-- pgcredit.load_csv_file against COPY ... CSV loading the same file of
-- :csv_rows invoice rows into the same table, in the same run.  The file
-- is clean and in the form COPY reads directly (ISO dates, t/f, point
-- decimals); best of 3 runs each, the table truncated before every run.

\set QUIET on
\set ON_ERROR_STOP on
\i test/bench/bench.sql
SET client_min_messages = warning;

DROP TABLE IF EXISTS bench_csv_invoice;
CREATE TABLE bench_csv_invoice (
  invoice_no  bigint NOT NULL,
  customer    text NOT NULL,
  issued      date NOT NULL,
  due         date NOT NULL,
  amount      numeric(12,2) NOT NULL,
  disputed    boolean NOT NULL,
  note        text
);
SELECT set_config('pgcredit_bench.file', current_setting('data_directory') || '/pgcredit_bench.csv', false) IS NOT NULL AS file_set \gset
SELECT current_setting('pgcredit_bench.file') AS bench_file \gset
COPY (
  SELECT g AS invoice_no, 'C' || lpad((g * 7919 % 5000)::text, 5, '0') AS customer,
         date '2024-01-01' + (g % 365)::int AS issued, date '2024-01-31' + (g % 365)::int AS due,
         (g * 104729 % 1000000) / 100.0 AS amount, g % 17 = 0 AS disputed,
         CASE WHEN g % 5 = 0 THEN 'paid by transfer, ref ' || g END AS note
  FROM generate_series(1::bigint, :csv_rows) g
) TO :'bench_file' WITH (FORMAT csv, HEADER true);

CREATE OR REPLACE FUNCTION pg_temp.timed_load(how text)
RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz;
  best numeric;
  ms numeric;
  n bigint;
BEGIN
  FOR i IN 1..3 LOOP
    TRUNCATE bench_csv_invoice;
    t0 := clock_timestamp();
    IF how = 'copy' THEN
      EXECUTE format('COPY bench_csv_invoice FROM %L WITH (FORMAT csv, HEADER true)',
                     current_setting('pgcredit_bench.file'));
    ELSE
      PERFORM pgcredit.load_csv_file('bench_csv_invoice', current_setting('pgcredit_bench.file'));
    END IF;
    ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
    best := least(best, ms);
    SELECT count(*) INTO n FROM bench_csv_invoice;
    IF n <> current_setting('pgcredit_bench.rows')::bigint THEN
      RAISE EXCEPTION '% loaded % rows of %', how, n, current_setting('pgcredit_bench.rows');
    END IF;
  END LOOP;
  RETURN round(best, 1);
END $$;
SELECT set_config('pgcredit_bench.rows', :'csv_rows', false) IS NOT NULL AS rows_set \gset

\echo 'CSV load of' :csv_rows 'rows (best of 3)'
WITH r AS (
  SELECT 'COPY ... CSV' AS what, pg_temp.timed_load('copy') AS ms
  UNION ALL
  SELECT 'pgcredit.load_csv_file', pg_temp.timed_load('pgcredit')
)
SELECT what, ms, round(:csv_rows / (ms / 1000)) AS rows_per_s,
       round((SELECT ms FROM r WHERE what = 'COPY ... CSV') / ms, 2) AS throughput_vs_copy
FROM r;

-- the loaded data equals COPY's, row for row
TRUNCATE bench_csv_invoice;
SELECT pgcredit.load_csv_file('bench_csv_invoice', current_setting('pgcredit_bench.file')) IS NOT NULL AS loaded \gset
CREATE TEMP TABLE bench_csv_copy (LIKE bench_csv_invoice);
COPY bench_csv_copy FROM :'bench_file' WITH (FORMAT csv, HEADER true);
SELECT count(*) AS rows_differing FROM (
  (TABLE bench_csv_invoice EXCEPT ALL TABLE bench_csv_copy)
  UNION ALL
  (TABLE bench_csv_copy EXCEPT ALL TABLE bench_csv_invoice)) d;
DROP TABLE bench_csv_invoice;
