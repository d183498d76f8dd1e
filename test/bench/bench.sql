-- Shared benchmark helper: the best wall-clock time of several runs of a
-- query, in milliseconds.  Loaded into the benchmark database first,
-- after the check that it is a database of the benchmarks' own.

\i test/scratch_db.sql

CREATE OR REPLACE FUNCTION pg_temp.best_ms(q text, runs int DEFAULT 5)
RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz;
	best numeric;
	ms numeric;
BEGIN
	FOR i IN 1..runs LOOP
		t0 := clock_timestamp();
		EXECUTE q;
		ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
		best := least(best, ms);
	END LOOP;
	RETURN round(best, 1);
END $$;
