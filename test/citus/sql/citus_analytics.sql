-- pgcredit's aggregates over a table distributed by customer give the
-- figures they give over the same rows on one node: grouped by the
-- distribution column (run whole on the shards) and over the whole table.
-- The distributed plans are shown (object ids in them as 'oid').
-- Over the whole table, each aggregate (its state of type agg_state) is
-- a partial aggregate on each shard, the partial states combined on the
-- coordinator; no row leaves its shard.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
CREATE EXTENSION pgcredit;
CREATE FUNCTION pg_temp.explain(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF, VERBOSE) ' || q LOOP
    RETURN NEXT regexp_replace(line, '''[0-9]+''::oid', '''oid''::oid', 'g');
  END LOOP;
END
$$;
-- shard numbers of its own, so that names in the output do not depend on
-- the files run before
SET citus.next_shard_id TO 1020000;
CREATE TABLE ca_local (id bigint NOT NULL, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  open_amount numeric(12,2) NOT NULL, invoiced_on date NOT NULL, due date NOT NULL, paid_on date,
  PRIMARY KEY (customer, id));
INSERT INTO ca_local
SELECT g, 'C' || (g % 37), (g * 7919 % 100000) / 100.0 + 1,
       CASE WHEN g % 3 = 0 THEN (g * 7919 % 100000) / 100.0 + 1 ELSE 0 END,
       '2025-01-01'::date + (g % 360), '2025-01-31'::date + (g % 360),
       CASE WHEN g % 3 = 0 THEN NULL ELSE '2025-01-31'::date + (g % 360) + (g % 41) - 20 END
FROM generate_series(1, 20000) g;
CREATE TABLE ca_dist (LIKE ca_local INCLUDING ALL);
SELECT create_distributed_table('ca_dist', 'customer');
INSERT INTO ca_dist SELECT * FROM ca_local;

-- grouped by customer: the same figures
SELECT count(*) AS customers,
       count(*) FILTER (WHERE l.aging = d.aging AND l.dso = d.dso AND l.score = d.score
                          AND l.report = d.report AND l.total = d.total) AS same
FROM (SELECT customer, pgcredit.aging(open_amount, due, '2025-12-31')::text AS aging,
             pgcredit.dso(amount, invoiced_on, paid_on, '2025-12-31')::text AS dso,
             pgcredit.credit_score(amount, due, paid_on, '2025-12-31')::text AS score,
             pgcredit.dso_report(amount, invoiced_on, due, paid_on, '2025-12-31')::text AS report,
             pgcredit.amount_sum(open_amount)::text AS total
      FROM ca_local GROUP BY customer) l
JOIN (SELECT customer, pgcredit.aging(open_amount, due, '2025-12-31')::text AS aging,
             pgcredit.dso(amount, invoiced_on, paid_on, '2025-12-31')::text AS dso,
             pgcredit.credit_score(amount, due, paid_on, '2025-12-31')::text AS score,
             pgcredit.dso_report(amount, invoiced_on, due, paid_on, '2025-12-31')::text AS report,
             pgcredit.amount_sum(open_amount)::text AS total
      FROM ca_dist GROUP BY customer) d USING (customer);

-- over the whole table: the same figures
SELECT (SELECT pgcredit.aging(open_amount, due, '2025-12-31')::text FROM ca_local)
     = (SELECT pgcredit.aging(open_amount, due, '2025-12-31')::text FROM ca_dist) AS same_aging,
       (SELECT pgcredit.dso_report(amount, invoiced_on, due, paid_on, '2025-12-31')::text FROM ca_local)
     = (SELECT pgcredit.dso_report(amount, invoiced_on, due, paid_on, '2025-12-31')::text FROM ca_dist) AS same_dso,
       (SELECT pgcredit.credit_score(amount, due, paid_on, '2025-12-31')::text FROM ca_local)
     = (SELECT pgcredit.credit_score(amount, due, paid_on, '2025-12-31')::text FROM ca_dist) AS same_score,
       (SELECT pgcredit.concentration_hhi(amount) FROM ca_local)
     = (SELECT pgcredit.concentration_hhi(amount) FROM ca_dist) AS same_hhi,
       (SELECT pgcredit.amount_sum(open_amount)::text FROM ca_local)
     = (SELECT pgcredit.amount_sum(open_amount)::text FROM ca_dist) AS same_sum,
       (SELECT pgcredit.concentration_top_share(amount, 5) FROM ca_local)
     = (SELECT pgcredit.concentration_top_share(amount, 5) FROM ca_dist) AS same_top_share;

-- how Citus runs them: grouped by customer, the whole aggregate on the
-- shards; over the whole table, a partial aggregate on each shard
SELECT pg_temp.explain($$SELECT customer, pgcredit.aging(open_amount, due, '2025-12-31') FROM ca_dist GROUP BY customer$$);
SELECT pg_temp.explain($$SELECT pgcredit.aging(open_amount, due, '2025-12-31') FROM ca_dist$$);
SELECT pg_temp.explain($$SELECT pgcredit.credit_score(amount, due, paid_on, '2025-12-31') FROM ca_dist$$);
SELECT pg_temp.explain($$SELECT pgcredit.concentration_top_share(amount, 5) FROM ca_dist$$);
SELECT pg_temp.explain($$SELECT pgcredit.dso_report(amount, invoiced_on, due, paid_on, '2025-12-31') FROM ca_dist$$);

-- amount_sum, whose state is of type agg_state: a partial sum on each
-- shard (worker_partial_agg), the partial sums combined on the
-- coordinator (coord_combine_agg), shipped as text
SELECT pg_temp.explain($$SELECT pgcredit.amount_sum(open_amount) FROM ca_dist$$);
SELECT pgcredit.amount_sum(open_amount) AS total, sum(open_amount) AS by_sum FROM ca_dist;

DROP TABLE ca_local, ca_dist;
DROP EXTENSION pgcredit CASCADE;
