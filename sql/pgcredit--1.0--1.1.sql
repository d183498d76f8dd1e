-- pgcredit 1.0 to 1.1: every catalog change since release 1.0.  A fresh
-- 1.1 (built from sql/install/) and 1.0 updated with this script must hold
-- the same catalog: test/t/upgrade.pl compares them.  Each function is
-- defined once here, as 1.1 has it.  Once 1.1 is released, never edit.

\echo Use "ALTER EXTENSION pgcredit UPDATE" to load this file. \quit

-- >>> cluster (cluster.sql)
-- Citus: what pgcredit asks of the cluster's other nodes

----------------------------------------------------------------------
-- Citus (doc/citus.md): whether this node is part of a cluster, and the
-- statements pgcredit runs on the other nodes.  The rest, which needs
-- the tables of the later sources, is in citus.sql.
----------------------------------------------------------------------

CREATE FUNCTION pgcredit._cluster_exec(statement text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgc_cluster_exec'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION pgcredit._cluster_exec(text) IS
  'run one statement of pgcredit''s as the owner of the citus extension (the role Citus reaches the other nodes as) and return the rows it processed';
REVOKE EXECUTE ON FUNCTION pgcredit._cluster_exec(text) FROM PUBLIC;

CREATE FUNCTION pgcredit._cluster_query(query text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgc_cluster_query'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION pgcredit._cluster_query(text) IS
  'run a query of pgcredit''s as the owner of the citus extension and return its rows as a JSON array';
REVOKE EXECUTE ON FUNCTION pgcredit._cluster_query(text) FROM PUBLIC;

CREATE FUNCTION pgcredit._citus_installed()
RETURNS boolean LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL $$;
COMMENT ON FUNCTION pgcredit._citus_installed() IS 'whether Citus is installed in this database';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_installed() FROM PUBLIC;

-- How Citus keeps a table: method h (hash-distributed), n (reference,
-- single-shard or Citus local table), a or r (append, range); kind says
-- which in words; NULLs when it does not manage it
CREATE FUNCTION pgcredit._citus_table(tbl regclass, OUT method "char", OUT dist_column name,
                                      OUT colocation integer, OUT kind text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF NOT pgcredit._citus_installed() THEN
    RETURN;
  END IF;
  EXECUTE 'SELECT p.partmethod, CASE WHEN p.partkey IS NOT NULL'
          '  THEN pg_catalog.column_to_column_name(p.logicalrelid, p.partkey) END,'
          ' p.colocationid, p.repmodel'
          ' FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1'
    INTO method, dist_column, colocation, kind USING tbl;
  kind := CASE WHEN method IS NULL THEN NULL
               WHEN method = 'h' THEN 'hash-distributed'
               WHEN method IN ('a', 'r') THEN 'append- or range-distributed'
               WHEN kind = 't' THEN 'reference'
               WHEN colocation = 0 THEN 'Citus local'
               ELSE 'single-shard' END;
END
$$;
COMMENT ON FUNCTION pgcredit._citus_table(regclass) IS
  'how Citus keeps a table: its method (h hash-distributed, n reference, single-shard or Citus local, a append, r range), distribution column, co-location group and that kind in words; NULLs when Citus does not manage it';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_table(regclass) FROM PUBLIC;

CREATE FUNCTION pgcredit._citus_coordinator()
RETURNS boolean LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  r boolean;
BEGIN
  IF NOT pgcredit._citus_installed() THEN
    RETURN false;
  END IF;
  EXECUTE 'SELECT pg_catalog.citus_is_coordinator()' INTO r;
  RETURN r;
END
$$;
COMMENT ON FUNCTION pgcredit._citus_coordinator() IS 'whether this node is the coordinator of a Citus cluster';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_coordinator() FROM PUBLIC;

-- The tables attached here whose rows, and exposure, live on the workers
CREATE FUNCTION pgcredit._citus_shells()
RETURNS oid[] LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF NOT pgcredit._citus_installed() THEN
    RETURN '{}';
  END IF;
  RETURN (SELECT coalesce(array_agg(a.relid::oid), '{}') FROM pgcredit.attachment a
          WHERE (pgcredit._citus_table(a.relid)).method = 'h');
END
$$;
COMMENT ON FUNCTION pgcredit._citus_shells() IS
  'the attached tables that Citus distributes: their shards are attached on the nodes holding them, where their exposure is kept';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_shells() FROM PUBLIC;
-- the risk views' functions call it as their reader
GRANT EXECUTE ON FUNCTION pgcredit._citus_shells() TO pgcredit_reader;

-- Run commands[i] on the node nodes[i]:ports[i], all at once, as the
-- owner of citus; what each node said, in the order given, after an
-- error (its message: failure, with the node) if one failed
CREATE FUNCTION pgcredit._citus_run(nodes text[], ports integer[], commands text[], failure text, hint text)
RETURNS TABLE (node text, port integer, result text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  res jsonb;
  failed jsonb;
BEGIN
  IF nodes IS NULL THEN
    RETURN;
  END IF;
  res := pgcredit._cluster_query(format(
    'SELECT node_name, node_port, success, result FROM pg_catalog.master_run_on_worker(%L::text[], %L::int[], %L::text[], true)',
    nodes, ports, commands));
  SELECT e INTO failed FROM jsonb_array_elements(res) e WHERE NOT (e ->> 'success')::boolean LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION '% on node %:%', failure, failed ->> 'node_name', failed ->> 'node_port'
      USING ERRCODE = 'connection_failure', DETAIL = failed ->> 'result', HINT = coalesce(hint, '');
  END IF;
  RETURN QUERY SELECT e ->> 'node_name', (e ->> 'node_port')::integer, e ->> 'result'
               FROM jsonb_array_elements(res) WITH ORDINALITY x(e, o) ORDER BY o;
END
$$;
COMMENT ON FUNCTION pgcredit._citus_run(text[], integer[], text[], text, text) IS
  'run pgcredit''s statements on the cluster''s nodes at once, as the owner of citus, and return what each said; an error (connection_failure) if one failed';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_run(text[], integer[], text[], text, text) FROM PUBLIC;

-- Run one statement on each worker; returns what each said
CREATE FUNCTION pgcredit._citus_on_workers(command text)
RETURNS TABLE (node text, port integer, result text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  nodes text[];
  ports integer[];
BEGIN
  EXECUTE 'SELECT array_agg(n.nodename ORDER BY n.nodeid), array_agg(n.nodeport ORDER BY n.nodeid)'
          ' FROM pg_catalog.pg_dist_node n WHERE n.groupid OPERATOR(pg_catalog.<>) 0'
          ' AND n.noderole OPERATOR(pg_catalog.=) ''primary'' AND n.isactive'
    INTO nodes, ports;
  RETURN QUERY SELECT * FROM pgcredit._citus_run(nodes, ports, array_fill(command, ARRAY[cardinality(nodes)]),
                                                 'pgcredit could not run its statement', NULL);
END
$$;
COMMENT ON FUNCTION pgcredit._citus_on_workers(text) IS
  'run one of pgcredit''s statements on every worker, as the owner of citus';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_on_workers(text) FROM PUBLIC;

-- The rows of one query of pgcredit's on every worker, each as a JSON
-- object with the worker it came from; no rows but on the coordinator of
-- a cluster with distributed tables attached (the readers' questions to
-- the workers all go through here)
CREATE FUNCTION pgcredit._citus_rows(query text)
RETURNS TABLE (node text, port integer, r jsonb)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF NOT pgcredit._citus_coordinator() OR cardinality(pgcredit._citus_shells()) = 0 THEN
    RETURN;
  END IF;
  RETURN QUERY
    SELECT w.node, w.port, x.r
    FROM pgcredit._citus_on_workers('SELECT COALESCE(pg_catalog.jsonb_agg(q), ''[]'') FROM (' || query || ') q') w
    CROSS JOIN LATERAL jsonb_array_elements(w.result::jsonb) x(r);
END
$$;
COMMENT ON FUNCTION pgcredit._citus_rows(text) IS
  'on the coordinator of a Citus cluster with distributed tables attached: the rows of one of pgcredit''s queries on every worker, as JSON objects with their worker; no rows elsewhere';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_rows(text) FROM PUBLIC;

-- The workers' own verification, for verify_exposure() on the coordinator
CREATE FUNCTION pgcredit._citus_verify_exposure()
RETURNS TABLE (customer text, stored_receivables numeric, actual_receivables numeric,
               stored_orders numeric, actual_orders numeric)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT x.* FROM pgcredit._citus_rows('SELECT * FROM pgcredit.verify_exposure()') w
  CROSS JOIN LATERAL jsonb_to_record(w.r)
    AS x(customer text, stored_receivables numeric, actual_receivables numeric, stored_orders numeric,
         actual_orders numeric)
$$;
COMMENT ON FUNCTION pgcredit._citus_verify_exposure() IS
  'on the coordinator of a Citus cluster with distributed tables attached: what verify_exposure() finds on each worker';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_verify_exposure() FROM PUBLIC;

-- The shard of a distributed table (the first attached, else) that holds
-- a customer's rows: {"id": ..., "name": its name on its node}, or NULL
-- for a key the customer column cannot hold (no customer has it).  Citus
-- asks for the right to read the table: asked as the owner of citus.
CREATE FUNCTION pgcredit._citus_shard_of(customer text, tbl regclass DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  t regclass := coalesce(tbl, (pgcredit._citus_shells())[1]::regclass);
BEGIN
  IF t IS NULL THEN
    RETURN NULL;
  END IF;
  RETURN pgcredit._cluster_query(format(
    'SELECT s.id, pg_catalog.shard_name(%L::regclass, s.id) AS name'
    ' FROM (SELECT pg_catalog.get_shard_id_for_distribution_column(%L::regclass, %L::text) AS id) s',
    t, t, customer)) -> 0;
EXCEPTION WHEN data_exception THEN
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION pgcredit._citus_shard_of(text, regclass) IS
  'on the coordinator of a Citus cluster: the shard (id and name) of a distributed table holding a customer''s rows; NULL for a key its customer column cannot hold';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_shard_of(text, regclass) FROM PUBLIC;

-- Ask the worker holding a customer's shards one question about it (a
-- query of one value, of a type with a cast to jsonb), built by the caller
-- with every value quoted: a query on the customer's shard of the first
-- attached table, which Citus routes to that worker over the connections
-- it keeps (HAVING true: one row, whether the table has rows of the
-- customer or not), run as the owner of citus, who may read the table.
-- In a transaction that already wrote to that shard as another role,
-- Citus will not query it as a second role: the worker is then asked over
-- a connection of its own, and answers from what is committed.  Returns
-- {"answer": ...}, or NULL for a key the customer column cannot hold.
CREATE FUNCTION pgcredit._citus_ask(customer text, question text)
RETURNS jsonb LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  tbl regclass := (pgcredit._citus_shells())[1]::regclass;
  shard jsonb := pgcredit._citus_shard_of(customer, tbl);
  answer jsonb;
  node text;
  port integer;
BEGIN
  IF shard IS NULL THEN
    RETURN NULL;
  END IF;
  BEGIN
    answer := pgcredit._cluster_query(format('SELECT (%s) AS answer FROM %s WHERE %I = %L HAVING true',
                                             question, tbl, (pgcredit._citus_table(tbl)).dist_column,
                                             customer)) -> 0 -> 'answer';
  EXCEPTION WHEN active_sql_transaction THEN
    EXECUTE 'SELECT n.nodename, n.nodeport FROM pg_catalog.pg_dist_placement p'
            ' JOIN pg_catalog.pg_dist_node n ON n.groupid OPERATOR(pg_catalog.=) p.groupid'
            ' WHERE p.shardid OPERATOR(pg_catalog.=) $1 AND n.isactive ORDER BY n.nodeid LIMIT 1'
      INTO node, port USING (shard ->> 'id')::bigint;
    SELECT nullif(r.result, '')::jsonb INTO answer
    FROM pgcredit._citus_run(ARRAY[node], ARRAY[port], ARRAY['SELECT (' || question || ')::text'],
                             'pgcredit could not ask the customer''s worker', NULL) r;
  END;
  RETURN jsonb_build_object('answer', answer);
END
$$;
COMMENT ON FUNCTION pgcredit._citus_ask(text, text) IS
  'on the coordinator of a Citus cluster: ask the worker holding a customer''s shards a question about it, through a query Citus routes there; NULL for a key no customer column can hold';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_ask(text, text) FROM PUBLIC;

-- What one of pgcredit's checks finds on each worker, for the check of
-- the same name on the coordinator: its rows as JSON objects.  Only those
-- checks; executable by the readers who may run them.
CREATE FUNCTION pgcredit._citus_verify(check_name text)
RETURNS SETOF jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF check_name IS NULL OR check_name NOT IN ('verify_receivable_due', 'verify_order_horizon',
                                              'verify_category_exposure', 'verify_account_copy', 'verify_cover') THEN
    RAISE EXCEPTION 'unknown check "%"', check_name USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN QUERY SELECT w.r FROM pgcredit._citus_rows(format('SELECT * FROM pgcredit.%I()', check_name)) w;
END
$$;
COMMENT ON FUNCTION pgcredit._citus_verify(text) IS
  'on the coordinator of a Citus cluster: the rows one of pgcredit''s checks (verify_receivable_due, verify_order_horizon, verify_category_exposure, verify_account_copy, verify_cover) finds on each worker; no rows elsewhere';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_verify(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._citus_verify(text) TO pgcredit_reader;

-- What the guards on the workers keep, for the risk views of the
-- coordinator (doc/citus.md).  Readers call them through those views:
-- they run as pgcredit's owner, ask every worker a fixed question and
-- return nothing on a node without distributed tables attached.

-- Each customer's receivables and open orders at the end of a day (now,
-- from today on), as the workers' guards kept them: each worker answers
-- from its own exposure or exposure_history (_exposure_state_at there),
-- summed over the workers (a customer counts on one, but for shards moved
-- and not yet followed by citus_sync())
CREATE FUNCTION pgcredit._citus_exposure_at(day date, for_customer text)
RETURNS TABLE (customer text, receivables numeric, open_orders numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF day IS NULL OR NOT isfinite(day) THEN
    RAISE EXCEPTION 'day must be a finite date' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT pgcredit._citus_coordinator() OR cardinality(pgcredit._citus_shells()) = 0 THEN
    RETURN;
  END IF;
  IF for_customer IS NOT NULL THEN
    -- one customer: its worker only
    RETURN QUERY
      SELECT r.customer, r.receivables, r.open_orders
      FROM jsonb_to_recordset(pgcredit._citus_ask(for_customer, format(
             'SELECT COALESCE(pg_catalog.jsonb_agg(x), ''[]'') FROM pgcredit._exposure_state_at(%L::date, %L::text) x'
             ' WHERE x.receivables OPERATOR(pg_catalog.<>) 0 OR x.open_orders OPERATOR(pg_catalog.<>) 0',
             day, for_customer)) -> 'answer') AS r(customer text, receivables numeric, open_orders numeric);
    RETURN;
  END IF;
  RETURN QUERY
    SELECT x.customer, sum(x.receivables), sum(x.open_orders)
    FROM pgcredit._citus_rows(format(
           'SELECT s.customer, s.receivables, s.open_orders FROM pgcredit._exposure_state_at(%L::date, %L::text) s'
           ' WHERE s.receivables OPERATOR(pg_catalog.<>) 0 OR s.open_orders OPERATOR(pg_catalog.<>) 0',
           day, for_customer)) w
    CROSS JOIN LATERAL jsonb_to_record(w.r) AS x(customer text, receivables numeric, open_orders numeric)
    GROUP BY x.customer;
END
$$;
COMMENT ON FUNCTION pgcredit._citus_exposure_at(date, text) IS
  'on the coordinator of a Citus cluster: each customer''s (one customer''s, unless NULL) receivables and open orders at the end of a day (now, from today on) as the workers keep them; no rows elsewhere';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_exposure_at(date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._citus_exposure_at(date, text) TO pgcredit_reader;

-- One customer's exposure row as the last transaction committed by a time
-- left it, from the history of the worker holding its shards (for
-- exposure_at()); NULL when none is recorded.  The time travels in UTC.
CREATE FUNCTION pgcredit._citus_history_row(for_customer text, at_time timestamptz)
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF for_customer IS NULL OR at_time IS NULL OR NOT isfinite(at_time) THEN
    RAISE EXCEPTION 'customer and a finite time are needed' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT pgcredit._citus_coordinator() OR cardinality(pgcredit._citus_shells()) = 0 THEN
    RETURN NULL;
  END IF;
  RETURN nullif(pgcredit._citus_ask(for_customer, format(
    'SELECT pg_catalog.to_jsonb(pgcredit._exposure_history_row(%L::text, %L::timestamptz))',
    for_customer, to_char(at_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00"'))) -> 'answer', 'null');
END
$$;
COMMENT ON FUNCTION pgcredit._citus_history_row(text, timestamptz) IS
  'on the coordinator of a Citus cluster: a customer''s exposure row as the last transaction committed by a time left it, from the history of its worker (NULL: none recorded, or not such a coordinator)';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_history_row(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._citus_history_row(text, timestamptz) TO pgcredit_reader;

-- Each customer's exposure in the company's categories, as the workers'
-- guards keep it now
CREATE FUNCTION pgcredit._citus_category_exposure()
RETURNS TABLE (customer text, category text, amount numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  RETURN QUERY
    SELECT x.customer, x.category, sum(x.amount)
    FROM pgcredit._citus_rows('SELECT c.customer, c.category, c.amount FROM pgcredit.category_exposure c'
                              ' WHERE c.amount OPERATOR(pg_catalog.<>) 0') w
    CROSS JOIN LATERAL jsonb_to_record(w.r) AS x(customer text, category text, amount numeric)
    GROUP BY x.customer, x.category;
END
$$;
COMMENT ON FUNCTION pgcredit._citus_category_exposure() IS
  'on the coordinator of a Citus cluster: each customer''s exposure in the company''s categories as the workers keep it now; no rows elsewhere';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_category_exposure() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._citus_category_exposure() TO pgcredit_reader;

-- Each customer's open receivables with a due date as the workers' guards
-- keep them (receivable_due), summed there: items, amount, and what is
-- due before a day
CREATE FUNCTION pgcredit._citus_receivable_due(day date)
RETURNS TABLE (customer text, items integer, amount numeric, past_due numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF day IS NULL OR NOT isfinite(day) THEN
    RAISE EXCEPTION 'day must be a finite date' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN QUERY
    SELECT x.customer, sum(x.items)::integer, sum(x.amount), sum(x.past_due)
    FROM pgcredit._citus_rows(format(
           'SELECT d.customer, pg_catalog.sum(d.items) AS items, pg_catalog.sum(d.amount) AS amount,'
           ' COALESCE(pg_catalog.sum(d.amount) FILTER (WHERE d.due OPERATOR(pg_catalog.<) %L::date), 0) AS past_due'
           ' FROM pgcredit.receivable_due d GROUP BY d.customer', day)) w
    CROSS JOIN LATERAL jsonb_to_record(w.r) AS x(customer text, items integer, amount numeric, past_due numeric)
    GROUP BY x.customer;
END
$$;
COMMENT ON FUNCTION pgcredit._citus_receivable_due(date) IS
  'on the coordinator of a Citus cluster: each customer''s open receivables with a due date as the workers keep them (items, amount, the amount due before the day); no rows elsewhere';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_receivable_due(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._citus_receivable_due(date) TO pgcredit_reader;
-- <<< cluster

-- >>> exposure_now (exposure.sql)
-- One customer's exposure now (receivables plus open orders), as the
-- guard judges by it: this node's row, the worker's on the coordinator of
-- a Citus cluster with distributed tables attached (doc/citus.md)
CREATE FUNCTION pgcredit._exposure_now(customer text)
RETURNS numeric LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT CASE WHEN cardinality(pgcredit._citus_shells()) > 0
              THEN (SELECT coalesce(sum(w.receivables + w.open_orders), 0)
                    FROM pgcredit._citus_exposure_at(current_date, $1) w)
              ELSE (SELECT coalesce(sum(e.receivables + e.open_orders), 0)
                    FROM pgcredit.exposure e WHERE e.customer = $1) END
$$;
COMMENT ON FUNCTION pgcredit._exposure_now(text) IS
  'one customer''s exposure now (receivables plus open orders; 0 without a row), on the coordinator of a Citus cluster as its worker keeps it';
REVOKE EXECUTE ON FUNCTION pgcredit._exposure_now(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._exposure_now(text) TO pgcredit_reader;
-- <<< exposure_now

----------------------------------------------------------------------
-- tier_policy and external_score_scale refuse NaN and infinity
--
-- numeric NaN passed their ">= 0" checks (NaN sorts above every number),
-- and the scale bounds had no check at all.  A database that holds such
-- a value already is not changed behind its owner's back: the update
-- stops and names the rows to correct.
----------------------------------------------------------------------

DO $check$
DECLARE
  bad text;
BEGIN
  SELECT string_agg(what, ', ' ORDER BY what) INTO bad FROM (
    SELECT format('tier_policy tier %s (tolerance_pct %s, limit_months %s)', p.tier, p.tolerance_pct, p.limit_months) AS what
    FROM pgcredit.tier_policy p
    WHERE p.tolerance_pct IN ('NaN', 'Infinity', '-Infinity') OR p.limit_months IN ('NaN', 'Infinity', '-Infinity')
    UNION ALL
    SELECT format('external_score_scale source %s (worst %s, best %s)', s.source, s.worst, s.best)
    FROM pgcredit.external_score_scale s
    WHERE s.worst IN ('NaN', 'Infinity', '-Infinity') OR s.best IN ('NaN', 'Infinity', '-Infinity')) AS rows;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'cannot update pgcredit while tier_policy or external_score_scale holds NaN or infinity'
      USING ERRCODE = 'check_violation',
      DETAIL = format('These rows hold such values: %s.', bad),
      HINT = 'Set those values to finite numbers, then run ALTER EXTENSION pgcredit UPDATE again.';
  END IF;
END
$check$;

ALTER TABLE pgcredit.tier_policy
  DROP CONSTRAINT tier_policy_tolerance_pct_check,
  ADD CONSTRAINT tier_policy_tolerance_pct_check CHECK (tolerance_pct >= 0 AND tolerance_pct < 'Infinity'),
  DROP CONSTRAINT tier_policy_limit_months_check,
  ADD CONSTRAINT tier_policy_limit_months_check CHECK (limit_months >= 0 AND limit_months < 'Infinity');
ALTER TABLE pgcredit.external_score_scale ADD CONSTRAINT external_score_scale_worst_check CHECK (worst > '-Infinity' AND worst < 'Infinity');
ALTER TABLE pgcredit.external_score_scale ADD CONSTRAINT external_score_scale_best_check CHECK (best > '-Infinity' AND best < 'Infinity');

----------------------------------------------------------------------
-- Stable tiers, a watchlist that lets shipping be, the automatic watch
--
-- Tiers move only when the combined score leaves the previous tier's
-- band by more than risk_settings.tier_margin; tier_churn shows the
-- moves.  receivables_up_orders_down no longer fires when orders ship
-- and are invoiced: it needs receivables to rise beyond the fall of open
-- orders, with more of them overdue (score_history keeps the overdue
-- part now).  With risk_settings.auto_watch on, refresh_scores puts
-- accounts on watch and back, audited.  Rows scored before the update
-- keep NULL in the new columns of score_history.
----------------------------------------------------------------------

ALTER TABLE pgcredit.risk_settings
  ADD COLUMN tier_margin numeric NOT NULL DEFAULT 5 CHECK (tier_margin >= 0 AND tier_margin < 'Infinity'),
  ADD COLUMN auto_watch boolean NOT NULL DEFAULT false,
  ADD COLUMN auto_watch_utilisation_pct numeric NOT NULL DEFAULT 90 CHECK (auto_watch_utilisation_pct >= 0 AND auto_watch_utilisation_pct < 'Infinity'),
  ADD COLUMN auto_watch_release_margin numeric NOT NULL DEFAULT 10 CHECK (auto_watch_release_margin >= 0 AND auto_watch_release_margin < 'Infinity'),
  ADD COLUMN auto_watch_signals text[] NOT NULL DEFAULT '{new_overdue_item,score_drop,receivables_up_orders_down}' CHECK (auto_watch_signals <@ '{new_overdue_item,score_drop,receivables_up_orders_down,review_overdue}'),
  ADD COLUMN auto_watch_calm_days int NOT NULL DEFAULT 14 CHECK (auto_watch_calm_days >= 0),
  -- collections: disputes (collections_disputes.sql)
  ADD COLUMN disputed_in_score boolean NOT NULL DEFAULT true;
COMMENT ON TABLE pgcredit.risk_settings IS 'weights of the combined score, tier thresholds and their margin, watchlist thresholds, the automatic watch and the cost of broken promises: one row at most; no row means every default';
COMMENT ON COLUMN pgcredit.risk_settings.tier_margin IS 'hysteresis of the tiers: a customer keeps the tier of its previous scoring until its combined score leaves that tier''s band by more than this many points';
COMMENT ON COLUMN pgcredit.risk_settings.auto_watch IS 'refresh_scores() puts accounts on status watch when a reason holds, and back to ok when none is left (false: it never changes a status)';
COMMENT ON COLUMN pgcredit.risk_settings.auto_watch_utilisation_pct IS 'automatic watch: utilisation above this percentage of the limit is a reason';
COMMENT ON COLUMN pgcredit.risk_settings.auto_watch_release_margin IS 'automatic watch: the utilisation reason is gone only once utilisation is at or below auto_watch_utilisation_pct minus this many points';
COMMENT ON COLUMN pgcredit.risk_settings.auto_watch_signals IS 'automatic watch: the watchlist rules that are a reason (new_overdue_item, score_drop, receivables_up_orders_down, review_overdue)';
COMMENT ON COLUMN pgcredit.risk_settings.auto_watch_calm_days IS 'automatic watch: a signal reason is gone only once no listed signal fired at a scoring of the last this many days';
COMMENT ON COLUMN pgcredit.risk_settings.disputed_in_score IS 'whether an item whose dispute is open on the scoring day counts in the behavioural score (false: it is left out of it; aging, overdue and DSO count it either way)';

-- Broken promises to pay may cost score points (promises to pay:
-- collections_promises below; refresh_scores() reads them)
ALTER TABLE pgcredit.risk_settings
  ADD COLUMN broken_promise_penalty numeric NOT NULL DEFAULT 0
    CHECK (broken_promise_penalty >= 0 AND broken_promise_penalty < 'Infinity');
COMMENT ON COLUMN pgcredit.risk_settings.broken_promise_penalty IS 'points refresh_scores() takes off the combined score (not below 0) for each promise to pay the customer broke whose day fell in the 365 days before the day scored (0: none)';

-- The financial score's weight in the combined score (financials.sql)
ALTER TABLE pgcredit.risk_settings
  ADD COLUMN weight_financial numeric NOT NULL DEFAULT 0 CHECK (weight_financial >= 0 AND weight_financial < 'Infinity');
COMMENT ON COLUMN pgcredit.risk_settings.weight_financial IS 'weight of the financial score (Altman''s Z'''' of the customer''s latest financial statement, 25 points a unit, 0 to 100) in the combined score (0: not counted)';
COMMENT ON COLUMN pgcredit.score_history.combined_score IS 'weighted mean of the behavioural score, the external score and 100 minus utilisation (capped to 0-100), over the parts known, with risk_settings weights; less risk_settings.broken_promise_penalty for each promise to pay broken in the 365 days before (not below 0)';

ALTER TABLE pgcredit.score_history
  ADD COLUMN score_tier text CHECK (score_tier IN ('A', 'B', 'C', 'D', 'E')),
  ADD COLUMN overdue numeric,
  ADD COLUMN watch_reasons text[];
COMMENT ON COLUMN pgcredit.score_history.tier IS 'risk tier, A best to E worst: the tier of the customer''s previous scoring while the combined score stays within risk_settings.tier_margin points of its band, else the tier of the score (risk_tier(combined_score, previous tier))';
COMMENT ON COLUMN pgcredit.score_history.score_tier IS 'the tier of the combined score alone, by the thresholds of risk_settings, without the margin (NULL in rows scored before version 1.1)';
COMMENT ON COLUMN pgcredit.score_history.overdue IS 'open receivables past due when scored (NULL in rows scored before version 1.1)';
COMMENT ON COLUMN pgcredit.score_history.watch_reasons IS 'the reasons for an automatic watch found at this scoring (empty: none); NULL when the automatic watch is off or the customer has no account';

CREATE OR REPLACE FUNCTION pgcredit._settings_or_default()
RETURNS pgcredit.risk_settings LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT coalesce((SELECT r FROM pgcredit.risk_settings r), ROW(true, 0.5, 0.3, 0.2, 80, 65, 50, 35, 90, 30, 7, 10, 5, false, 90, 10,
                                                          '{new_overdue_item,score_drop,receivables_up_orders_down}', 14, true, 0, 0)::pgcredit.risk_settings)
$$;

----------------------------------------------------------------------
-- Per-customer reads: a filter on one customer reaches the per-customer
-- functions (src/customer_filter.c), which read that customer only
-- through the tables' customer indexes.  Each takes the customer as one
-- more argument; the forms without it are the same with NULL.
----------------------------------------------------------------------

-- The planner support of the per-customer functions (src/customer_filter.c):
-- a filter on one customer reaches them
CREATE FUNCTION pgcredit._customer_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'pgc_customer_support'
LANGUAGE C STRICT;
COMMENT ON FUNCTION pgcredit._customer_support(internal) IS
  'planner support of the per-customer functions: loads the hook that passes a filter on one customer to them, and estimates one customer''s rows';
REVOKE EXECUTE ON FUNCTION pgcredit._customer_support(internal) FROM PUBLIC;

-- A table's name, always with its schema: the flat form of a regclass
-- column, which prints without the schema when the reader's search_path
-- finds the table
CREATE FUNCTION pgcredit._qualified_name(tbl oid)
RETURNS text LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT format('%I.%I', n.nspname, c.relname)
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.oid = $1
$$;
COMMENT ON FUNCTION pgcredit._qualified_name(oid) IS
  'schema.table of a table, quoted where needed; NULL when there is no such table';
-- the views call it as their reader
REVOKE EXECUTE ON FUNCTION pgcredit._qualified_name(oid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._qualified_name(oid) TO pgcredit_reader;

DROP FUNCTION pgcredit._receivable_items_sql();
CREATE FUNCTION pgcredit._receivable_items_sql(one_customer boolean DEFAULT false)
RETURNS text LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT 'SELECT i.customer, '
         -- paid by the day: not open; paid after it: the whole invoice was
         -- open on it; otherwise the open amount as it stands, when open
         'CASE WHEN i.paid_on <= $1 THEN NULL WHEN i.paid_on > $1 THEN i.invoice_amount '
         '     WHEN i.counts THEN i.amount END AS open_amount, '
         'i.due, i.invoice_amount, i.invoiced_on, i.paid_on '
         -- one customer's items, the customer $2, are read through the
         -- tables' customer indexes; every customer's with a plain scan
         'FROM pgcredit._attached_items(''receivables''' || CASE WHEN $1 THEN ', $2' ELSE '' END || ') i '
         -- invoices of later days are left out
         'WHERE i.invoiced_on IS NULL OR i.invoiced_on <= $1'
$$;
COMMENT ON FUNCTION pgcredit._receivable_items_sql(boolean) IS
  'the query listing every item of the attached receivables tables (with one_customer, of the customer $2 only) as of the day $1: customer, open amount on that day (NULL when not open; with a payment date column, an item paid after the day counts whole), due, invoice amount, invoice date, payment date; items invoiced after the day are left out';
REVOKE EXECUTE ON FUNCTION pgcredit._receivable_items_sql(boolean) FROM PUBLIC;

-- The whole ledger's aging and DSO in one pass over the attached
-- receivables, aggregated as the rows are read (receivable_book.c)
CREATE FUNCTION pgcredit._receivable_portfolio(as_of date)
RETURNS TABLE (receivables numeric, current numeric, days_1_30 numeric, days_31_60 numeric,
               days_61_90 numeric, days_over_90 numeric, overdue_pct numeric,
               dso numeric, best_possible_dso numeric, average_days_delinquent numeric)
AS 'MODULE_PATHNAME', 'pgc_receivable_portfolio'
LANGUAGE C STABLE ROWS 1;
COMMENT ON FUNCTION pgcredit._receivable_portfolio(date) IS
  'the row of portfolio_stats(as_of), computed as the attached tables are scanned instead of through _attached_items()';
REVOKE EXECUTE ON FUNCTION pgcredit._receivable_portfolio(date) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgcredit.portfolio_stats(as_of date DEFAULT current_date)
RETURNS TABLE (receivables numeric, current numeric, days_1_30 numeric, days_31_60 numeric,
               days_61_90 numeric, days_over_90 numeric, overdue_pct numeric,
               dso numeric, best_possible_dso numeric, average_days_delinquent numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 1
SET jit = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_day(as_of);
  -- aging(open_amount, due, as_of) and dso_report(invoice_amount,
  -- invoiced_on, due, paid_on, as_of, 90) over the items of the day
  -- (_receivable_items_sql()): from the customers' shares in the kept
  -- book (book_cache.sql) when it holds, those changed since computed
  -- again; else aggregated as the tables are read.  The shares are the
  -- aggregates' exact sums, and the figures are computed from them as
  -- the aggregates' final functions do.  One statement, one snapshot.
  RETURN QUERY
  WITH k AS MATERIALIZED (SELECT * FROM pgcredit._book_changes(as_of)),
       shares AS (
         SELECT c.receivables, c.current, c.days_1_30, c.days_31_60, c.days_61_90, c.days_over_90,
                c.dso_receivables, c.dso_not_due, c.dso_sales
         FROM pgcredit.book_cache c
         WHERE (SELECT kept FROM k) AND c.in_book AND c.customer NOT IN (SELECT unnest(k2.changed) FROM k k2)
         UNION ALL
         SELECT r.receivables, r.current, r.days_1_30, r.days_31_60, r.days_61_90, r.days_over_90,
                r.dso_receivables, r.dso_not_due, r.dso_sales
         FROM pgcredit._book_rows(as_of, (SELECT changed FROM k), NULL, NULL) r
         WHERE (SELECT kept FROM k)),
       t AS (SELECT coalesce(sum(h.receivables), 0) AS total, coalesce(sum(h.current), 0) AS cur,
                    coalesce(sum(h.days_1_30), 0) AS b1, coalesce(sum(h.days_31_60), 0) AS b2,
                    coalesce(sum(h.days_61_90), 0) AS b3, coalesce(sum(h.days_over_90), 0) AS b4,
                    coalesce(sum(h.dso_receivables), 0) AS dr, coalesce(sum(h.dso_not_due), 0) AS dn,
                    coalesce(sum(h.dso_sales), 0) AS ds
             FROM shares h)
  SELECT t.total, t.cur, t.b1, t.b2, t.b3, t.b4,
         CASE WHEN t.total > 0 THEN round((t.b1 + t.b2 + t.b3 + t.b4) * 100 / t.total, 2) END,
         CASE WHEN t.ds > 0 THEN round(t.dr * 90 / t.ds, 2) END,
         CASE WHEN t.ds > 0 THEN round(t.dn * 90 / t.ds, 2) END,
         CASE WHEN t.ds > 0 THEN round((t.dr - t.dn) * 90 / t.ds, 2) END
  FROM t WHERE (SELECT kept FROM k)
  UNION ALL
  SELECT * FROM pgcredit._receivable_portfolio(as_of) WHERE NOT (SELECT kept FROM k);
END
$$;
COMMENT ON FUNCTION pgcredit.portfolio_stats(date) IS
  'the whole ledger at as_of: receivables by aging band, overdue %, DSO, best possible DSO and average days delinquent over 90 days (from the kept book when it holds: refresh_book())';

-- _newly_overdue()'s items in one pass over the attached receivables
-- (receivable_book.c)
CREATE FUNCTION pgcredit._receivable_newly_overdue(as_of date, days int, window_days int)
RETURNS TABLE (customer text, due date, n bigint)
AS 'MODULE_PATHNAME', 'pgc_receivable_newly_overdue'
LANGUAGE C STABLE ROWS 100;
COMMENT ON FUNCTION pgcredit._receivable_newly_overdue(date, int, int) IS
  'the rows of _newly_overdue(as_of, days, window_days), computed as the attached tables are scanned instead of through _attached_items()';
REVOKE EXECUTE ON FUNCTION pgcredit._receivable_newly_overdue(date, int, int) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgcredit._newly_overdue(as_of date, days int, window_days int)
RETURNS TABLE (customer text, due date, n bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 100
SET jit = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  -- the items of the day (_receivable_items_sql()) open above zero and
  -- due in [as_of - days - window_days, as_of - days), per customer: from
  -- the kept book (book_cache.sql) when it holds for these days, those
  -- changed since computed again; else found as the tables are read.
  -- One statement, one snapshot.
  RETURN QUERY
  WITH k AS MATERIALIZED (SELECT * FROM pgcredit._book_changes(as_of, true, days, window_days))
  SELECT c.customer, c.late_first_due, c.late_items
  FROM pgcredit.book_cache c
  WHERE (SELECT kept FROM k) AND c.late_items > 0 AND c.customer NOT IN (SELECT unnest(k2.changed) FROM k k2)
  UNION ALL
  SELECT r.customer, r.late_first_due, r.late_items
  FROM pgcredit._book_rows(as_of, (SELECT changed FROM k), days, window_days) r
  WHERE (SELECT kept FROM k) AND r.late_items > 0
  UNION ALL
  SELECT * FROM pgcredit._receivable_newly_overdue(as_of, days, window_days) WHERE NOT (SELECT kept FROM k);
END
$$;

-- held_orders on any day: the orders on hold at the end of the day (held
-- before the next day began, not released by then), how long each had
-- waited by then; today's are the view's rows
CREATE FUNCTION pgcredit.held_orders_at(day date)
RETURNS TABLE (id bigint, order_table regclass, row_key jsonb, customer text, amount numeric, why text,
               held_at timestamptz, held_for interval, order_amount numeric, order_currency text,
               rate_date date, day date, order_table_text text, row_key_text text,
               held_for_seconds bigint)
LANGUAGE sql STABLE ROWS 100
AS $$
  SELECT h.id, h.relid, h.row_key, h.customer, h.amount, h.why, h.held_at,
         date_trunc('second', least(now(), ($1 + 1)::timestamptz) - h.held_at),
         h.row_amount, h.row_currency, h.rate_date, $1, pgcredit._qualified_name(h.relid),
         h.row_key::text,
         extract(epoch FROM date_trunc('second', least(now(), ($1 + 1)::timestamptz) - h.held_at))::bigint
  FROM pgcredit.held_order h
  WHERE h.held_at < ($1 + 1)::timestamptz
    AND (h.released_at IS NULL OR h.released_at >= ($1 + 1)::timestamptz)
$$;
COMMENT ON FUNCTION pgcredit.held_orders_at(date) IS
  'the rows of held_orders on any day: the orders on hold at its end (held before the next day began and not released by then), with how long they had waited by then (by now, for today)';
REVOKE EXECUTE ON FUNCTION pgcredit.held_orders_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.held_orders_at(date) TO pgcredit_reader;

-- Every customer's figures of receivable_stats() in one pass over the
-- attached receivables, aggregated as the rows are read (receivable_book.c)
CREATE FUNCTION pgcredit._receivable_book(as_of date)
RETURNS TABLE (customer text, receivables numeric, current numeric, days_1_30 numeric,
               days_31_60 numeric, days_61_90 numeric, days_over_90 numeric,
               oldest_days_past_due int, dso_90 numeric, last_payment date,
               behavioural_score numeric, invoiced_12m numeric)
AS 'MODULE_PATHNAME', 'pgc_receivable_book'
LANGUAGE C STABLE ROWS 10000;
COMMENT ON FUNCTION pgcredit._receivable_book(date) IS
  'the rows of receivable_stats(as_of) for every customer, counting disputed items as any other, computed as the attached tables are scanned instead of through _attached_items()';
REVOKE EXECUTE ON FUNCTION pgcredit._receivable_book(date) FROM PUBLIC;

CREATE FUNCTION pgcredit.receivable_stats(as_of date, for_customer text)
RETURNS TABLE (customer text, receivables numeric, current numeric, days_1_30 numeric,
               days_31_60 numeric, days_61_90 numeric, days_over_90 numeric,
               oldest_days_past_due int, dso_90 numeric, last_payment date,
               behavioural_score numeric, invoiced_12m numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 10000
SUPPORT pgcredit._customer_support
-- joins of the kept book estimated large: compiling them would take
-- longer than running them (as in customer_risk_at)
SET jit = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_day(as_of);
  -- one customer, or a day whose disputed items leave the score: computed
  IF for_customer IS NOT NULL OR pgcredit._disputes_out_of_score(as_of) THEN
    RETURN QUERY SELECT * FROM pgcredit._receivable_stats_computed(as_of, for_customer);
    RETURN;
  END IF;
  -- every customer: the kept book of the day (book_cache.sql), when it
  -- holds, with the customers whose rows changed since computed again
  -- one by one; else the whole book computed.  One statement, so that
  -- the kept rows, the versions and the ledger are read as of one
  -- snapshot; the branch not taken is not run.
  RETURN QUERY
  WITH k AS MATERIALIZED (SELECT * FROM pgcredit._book_changes(as_of))
  SELECT c.customer, c.receivables, c.current, c.days_1_30, c.days_31_60, c.days_61_90, c.days_over_90,
         c.oldest_days_past_due, c.dso_90, c.last_payment, c.behavioural_score, c.invoiced_12m
  FROM pgcredit.book_cache c
  -- (a hashed NOT IN: a few changed customers among many kept)
  WHERE (SELECT kept FROM k) AND c.in_book
    AND c.customer NOT IN (SELECT unnest(k2.changed) FROM k k2)
  UNION ALL
  SELECT r.customer, r.receivables, r.current, r.days_1_30, r.days_31_60, r.days_61_90, r.days_over_90,
         r.oldest_days_past_due, r.dso_90, r.last_payment, r.behavioural_score, r.invoiced_12m
  FROM pgcredit._book_rows(as_of, (SELECT changed FROM k), NULL, NULL) r
  WHERE (SELECT kept FROM k)
  UNION ALL
  SELECT r.* FROM pgcredit._receivable_stats_computed(as_of, NULL) r
  WHERE NOT (SELECT kept FROM k);
END
$$;
COMMENT ON FUNCTION pgcredit.receivable_stats(date, text) IS
  'per customer (one customer, read through the tables'' customer indexes; every customer when NULL, from the kept book when it holds: refresh_book()) over every attached receivables table, at as_of: open receivables by aging band, days past due of the oldest open item, DSO over 90 days, last payment, behavioural score (without the items disputed on the day when risk_settings.disputed_in_score is false), invoicing of the last 12 months';
REVOKE EXECUTE ON FUNCTION pgcredit.receivable_stats(date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.receivable_stats(date, text) TO pgcredit_reader;

CREATE OR REPLACE FUNCTION pgcredit.receivable_stats(as_of date DEFAULT current_date)
RETURNS TABLE (customer text, receivables numeric, current numeric, days_1_30 numeric,
               days_31_60 numeric, days_61_90 numeric, days_over_90 numeric,
               oldest_days_past_due int, dso_90 numeric, last_payment date,
               behavioural_score numeric, invoiced_12m numeric)
LANGUAGE sql STABLE ROWS 10000
SUPPORT pgcredit._customer_support
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT * FROM pgcredit.receivable_stats($1, NULL) $$;
COMMENT ON FUNCTION pgcredit.receivable_stats(date) IS
  'per customer over every attached receivables table, at as_of: receivable_stats(as_of, NULL); a filter on one customer reads that customer only';
REVOKE EXECUTE ON FUNCTION pgcredit.receivable_stats(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.receivable_stats(date) TO pgcredit_reader;

CREATE FUNCTION pgcredit.external_score_now(as_of date, for_customer text)
RETURNS TABLE (customer text, source text, score numeric, scaled_score numeric, rating text, scored_on date)
LANGUAGE plpgsql STABLE ROWS 10000
SUPPORT pgcredit._customer_support
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  -- planned at each call with its values: one customer's scores are
  -- found through the primary key, every customer's with a scan
  RETURN QUERY EXECUTE
    'SELECT DISTINCT ON (e.customer) e.customer, e.source, e.score,
            round(greatest(0, least(100, CASE WHEN x.source IS NULL THEN e.score
                                               ELSE (e.score - x.worst) / (x.best - x.worst) * 100 END)), 2),
            e.rating, e.as_of
     FROM pgcredit.external_score e
     LEFT JOIN pgcredit.external_score_scale x ON x.source = e.source
     WHERE e.as_of <= $1 AND ($2 IS NULL OR e.customer = $2)
     ORDER BY e.customer, e.as_of DESC, e.loaded_at DESC, e.source'
  USING as_of, for_customer;
END
$$;
COMMENT ON FUNCTION pgcredit.external_score_now(date, text) IS
  'each customer''s (one customer''s; every customer''s when NULL) latest external score on or before as_of, also brought to 0-100 by external_score_scale';
REVOKE EXECUTE ON FUNCTION pgcredit.external_score_now(date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.external_score_now(date, text) TO pgcredit_reader;

CREATE OR REPLACE FUNCTION pgcredit.external_score_now(as_of date DEFAULT current_date)
RETURNS TABLE (customer text, source text, score numeric, scaled_score numeric, rating text, scored_on date)
LANGUAGE sql STABLE ROWS 10000
SUPPORT pgcredit._customer_support
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT * FROM pgcredit.external_score_now($1, NULL) $$;
COMMENT ON FUNCTION pgcredit.external_score_now(date) IS
  'each customer''s latest external score on or before as_of, also brought to 0-100 by external_score_scale: external_score_now(as_of, NULL)';
REVOKE EXECUTE ON FUNCTION pgcredit.external_score_now(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.external_score_now(date) TO pgcredit_reader;

CREATE FUNCTION pgcredit.risk_tier(combined numeric, previous_tier text)
RETURNS text LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  r pgcredit.risk_settings := pgcredit._settings_or_default();
  low numeric;
  high numeric;
BEGIN
  IF previous_tier IS NOT NULL AND previous_tier NOT IN ('A', 'B', 'C', 'D', 'E') THEN
    RAISE EXCEPTION 'invalid risk tier "%"', previous_tier USING ERRCODE = 'invalid_parameter_value',
      HINT = 'A tier is one of A, B, C, D and E.';
  END IF;
  IF combined IS NULL OR combined = 'NaN' OR previous_tier IS NULL THEN
    RETURN pgcredit.risk_tier(combined);
  END IF;
  -- the band of the previous tier (A and E are open on one side), widened
  -- by the margin: inside it the customer keeps its tier
  low := CASE previous_tier WHEN 'A' THEN r.tier_a_min WHEN 'B' THEN r.tier_b_min
                            WHEN 'C' THEN r.tier_c_min WHEN 'D' THEN r.tier_d_min END;
  high := CASE previous_tier WHEN 'B' THEN r.tier_a_min WHEN 'C' THEN r.tier_b_min
                             WHEN 'D' THEN r.tier_c_min WHEN 'E' THEN r.tier_d_min END;
  IF (low IS NULL OR combined >= low - r.tier_margin) AND (high IS NULL OR combined < high + r.tier_margin) THEN
    RETURN previous_tier;
  END IF;
  RETURN pgcredit.risk_tier(combined);
END
$$;
COMMENT ON FUNCTION pgcredit.risk_tier(numeric, text) IS
  'the risk tier of a combined score for a customer whose previous tier was previous_tier: that tier while the score stays within risk_settings.tier_margin points of its band, else the tier of the score; the tier of the score when previous_tier is NULL; NULL for a NULL or NaN score';
-- EXECUTE: PUBLIC (the default), as risk_tier(numeric).

-- The tier of a combined score as one expression, without FROM and
-- without settings of its own, so that the planner inlines it where
-- refresh_scores() tiers every customer: the formula of
-- risk_tier(combined, previous_tier) with the thresholds and margin given
-- (previous_tier NULL: the tier of the score alone, as risk_tier(combined)).
CREATE FUNCTION pgcredit._tier(combined numeric, previous_tier text, a_min numeric, b_min numeric,
                               c_min numeric, d_min numeric, margin numeric)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN $1 IS NULL OR $1 = 'NaN' THEN NULL
              -- the band of the previous tier (A and E open on one side),
              -- widened by the margin: inside it the tier is kept
              WHEN $2 = 'A' AND $1 >= $3 - $7 THEN 'A'
              WHEN $2 = 'B' AND $1 >= $4 - $7 AND $1 < $3 + $7 THEN 'B'
              WHEN $2 = 'C' AND $1 >= $5 - $7 AND $1 < $4 + $7 THEN 'C'
              WHEN $2 = 'D' AND $1 >= $6 - $7 AND $1 < $5 + $7 THEN 'D'
              WHEN $2 = 'E' AND $1 < $6 + $7 THEN 'E'
              WHEN $1 >= $3 THEN 'A' WHEN $1 >= $4 THEN 'B'
              WHEN $1 >= $5 THEN 'C' WHEN $1 >= $6 THEN 'D' ELSE 'E' END
$$;
COMMENT ON FUNCTION pgcredit._tier(numeric, text, numeric, numeric, numeric, numeric, numeric) IS
  'the tier of a combined score with the thresholds and margin given: the formula of risk_tier(combined, previous_tier), inlined where refresh_scores() tiers every customer';
REVOKE EXECUTE ON FUNCTION pgcredit._tier(numeric, text, numeric, numeric, numeric, numeric, numeric) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgcredit.refresh_scores(as_of date DEFAULT pgcredit.as_of())
RETURNS TABLE (customers bigint, alerts bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
-- joins over the scores of every customer, estimated large: compiling
-- them would take longer than running them (as in customer_risk_at)
SET jit = off
-- and joined by hashing, not by sorting every customer key (as there)
SET enable_mergejoin = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  cfg pgcredit.risk_settings := pgcredit._settings_or_default();
  n bigint;
  raised bigint;
BEGIN
  PERFORM pgcredit._check_day(as_of);
  -- one run at a time: two at once would both replace the same day
  PERFORM pg_advisory_xact_lock(hashtext('pgcredit.refresh_scores'));
  -- today's book kept (book_cache.sql): the figures below read it, and
  -- so do the risk views after this run
  IF refresh_scores.as_of = current_date THEN
    PERFORM pgcredit.refresh_book(refresh_scores.as_of);
  END IF;
  -- one day, one set of scores: a second run of the day replaces the first
  DELETE FROM pgcredit.score_history h WHERE h.as_of = refresh_scores.as_of;
  WITH s AS (SELECT * FROM pgcredit.receivable_stats(refresh_scores.as_of)),
       x AS (SELECT * FROM pgcredit.external_score_now(refresh_scores.as_of)),
       fs AS (SELECT * FROM pgcredit.financial_score_now(refresh_scores.as_of, NULL)),
       -- exposure as it stands (on the coordinator of a Citus cluster, as
       -- the workers keep it: exposure_history.sql)
       ex AS (SELECT * FROM pgcredit._exposure_state_at(current_date, NULL)),
       c AS (SELECT customer FROM pgcredit.account UNION SELECT customer FROM ex
             UNION SELECT customer FROM s),
       -- promises to pay broken in the 365 days before the day, when
       -- they cost points (collections_promises.sql)
       bp AS (SELECT b.customer, b.broken FROM pgcredit.broken_promises_at(refresh_scores.as_of) b
              WHERE cfg.broken_promise_penalty > 0 AND b.broken > 0),
       f AS (SELECT c.customer, s.behavioural_score, x.scaled_score, fs.scaled_score AS financial_score,
                    round((coalesce(e.receivables, 0) + coalesce(e.open_orders, 0)) * 100
                          / nullif(a.credit_limit, 0), 2) AS utilisation,
                    coalesce(e.receivables, 0) AS receivables, coalesce(e.open_orders, 0) AS open_orders,
                    s.oldest_days_past_due, coalesce(s.receivables, 0) - coalesce(s.current, 0) AS overdue,
                    bp.broken
             FROM c LEFT JOIN pgcredit.account a USING (customer) LEFT JOIN ex e USING (customer)
             LEFT JOIN s USING (customer) LEFT JOIN x USING (customer) LEFT JOIN fs USING (customer)
             LEFT JOIN bp USING (customer)),
       -- the settings read once, above, not once a customer: the score
       -- and the tiers are inlined expressions over columns (materialized,
       -- so that each customer's score is computed once); broken promises
       -- take their points off, down to 0
       g AS MATERIALIZED (
             SELECT f.*, CASE WHEN f.broken IS NULL OR k.combined IS NULL THEN k.combined
                              ELSE greatest(0, k.combined - cfg.broken_promise_penalty * f.broken) END AS combined
             FROM f CROSS JOIN LATERAL (
               SELECT pgcredit._combine(f.behavioural_score, f.scaled_score, f.utilisation, f.financial_score,
                                        cfg.weight_behaviour, cfg.weight_external,
                                        cfg.weight_utilisation, cfg.weight_financial) AS combined) k)
  INSERT INTO pgcredit.score_history (customer, as_of, behavioural_score, external_score, utilisation_pct,
                                      combined_score, tier, receivables, open_orders, oldest_days_past_due,
                                      score_tier, overdue)
  SELECT g.customer, refresh_scores.as_of, g.behavioural_score, g.scaled_score, g.utilisation,
         g.combined,
         pgcredit._tier(g.combined, prev.tier, cfg.tier_a_min, cfg.tier_b_min, cfg.tier_c_min,
                        cfg.tier_d_min, cfg.tier_margin),
         g.receivables, g.open_orders, g.oldest_days_past_due,
         pgcredit._tier(g.combined, NULL, cfg.tier_a_min, cfg.tier_b_min, cfg.tier_c_min,
                        cfg.tier_d_min, cfg.tier_margin),
         g.overdue
  FROM g
  -- the tier of the customer's latest scoring before the day: kept while
  -- the score stays within the margin of its band
  LEFT JOIN LATERAL (SELECT h.tier FROM pgcredit.score_history h
                     WHERE h.customer = g.customer AND h.as_of < refresh_scores.as_of
                     ORDER BY h.as_of DESC LIMIT 1) prev ON true;
  GET DIAGNOSTICS n = ROW_COUNT;
  -- fresh statistics, so that the comparison below is planned for its size
  ANALYZE pgcredit.score_history;

  -- alerts: what changed since the customer's previous scoring
  WITH now_ AS (SELECT * FROM pgcredit.score_history h WHERE h.as_of = refresh_scores.as_of),
       prev AS (SELECT h.* FROM pgcredit.score_history h
                WHERE h.as_of = (SELECT max(x.as_of) FROM pgcredit.score_history x
                                 WHERE x.as_of < refresh_scores.as_of)),
       ev AS (
         SELECT 'score_downgrade' AS kind, n.customer,
                jsonb_build_object('from', p.combined_score, 'to', n.combined_score, 'since', p.as_of) AS details
         FROM now_ n JOIN prev p USING (customer)
         WHERE p.combined_score - n.combined_score > cfg.watch_score_drop
         UNION ALL
         SELECT 'tier_change', n.customer, jsonb_build_object('from', p.tier, 'to', n.tier, 'since', p.as_of)
         FROM now_ n JOIN prev p USING (customer)
         WHERE p.tier IS DISTINCT FROM n.tier AND n.tier IS NOT NULL AND p.tier IS NOT NULL
         UNION ALL
         SELECT 'overdue_' || max(d), n.customer,
                jsonb_build_object('days_past_due', n.oldest_days_past_due, 'before', p.oldest_days_past_due)
         FROM now_ n LEFT JOIN prev p USING (customer), unnest(ARRAY[30, 60, 90]) AS d
         WHERE n.oldest_days_past_due > d AND coalesce(p.oldest_days_past_due, 0) <= d
         GROUP BY n.customer, n.oldest_days_past_due, p.oldest_days_past_due
         UNION ALL
         SELECT 'review_overdue', a.customer, jsonb_build_object('next_review', a.next_review)
         FROM pgcredit.account a LEFT JOIN prev p USING (customer)
         WHERE a.next_review < refresh_scores.as_of AND (p.as_of IS NULL OR p.as_of <= a.next_review))
  INSERT INTO pgcredit.alert (kind, customer, details)
  SELECT ev.kind, ev.customer, ev.details || jsonb_build_object('as_of', refresh_scores.as_of)
  FROM ev
  -- a second run of the day raises nothing the first one raised
  WHERE NOT EXISTS (SELECT FROM pgcredit.alert x
                    WHERE x.kind = ev.kind AND x.customer = ev.customer
                      AND (x.details ->> 'as_of')::date = refresh_scores.as_of)
  ORDER BY ev.customer, ev.kind;
  GET DIAGNOSTICS raised = ROW_COUNT;
  -- and those of the customers' cover
  raised := raised + pgcredit._cover_alerts(refresh_scores.as_of);

  -- accounts on watch and back, when the settings ask for it
  IF cfg.auto_watch THEN
    PERFORM pgcredit._auto_watch(refresh_scores.as_of);
  END IF;

  RETURN QUERY SELECT n, raised;
END
$$;
COMMENT ON FUNCTION pgcredit.refresh_scores(date) IS
  'score every customer for a day: behavioural, external, combined score (less risk_settings.broken_promise_penalty for each promise broken in the 365 days before) and tier (with the margin of risk_settings.tier_margin) into score_history (replacing that day''s rows), alerts for downgrades, tier changes, items passing 30/60/90 days past due, overdue reviews, covers about to end and exposure above the insured limit, and, when risk_settings.auto_watch is on, accounts put on watch and back';

CREATE FUNCTION pgcredit.watchlist_at(as_of date)
RETURNS TABLE (customer text, rule text, detail text, value numeric, threshold numeric)
LANGUAGE sql STABLE ROWS 100
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
WITH r AS (SELECT * FROM pgcredit.customer_risk_at($1)),
     cfg AS (SELECT * FROM pgcredit._settings_or_default()),
     -- the last two scorings on or before the day, side by side
     d AS (SELECT max(h.as_of) AS d1,
                  (SELECT max(h2.as_of) FROM pgcredit.score_history h2
                   WHERE h2.as_of < (SELECT max(h3.as_of) FROM pgcredit.score_history h3 WHERE h3.as_of <= $1)) AS d2
           FROM pgcredit.score_history h WHERE h.as_of <= $1),
     last2 AS (SELECT n.customer, n.as_of, n.combined_score, n.receivables, n.open_orders, n.overdue,
                      b.as_of AS prev_as_of, b.combined_score AS prev_score,
                      b.receivables AS prev_receivables, b.open_orders AS prev_orders, b.overdue AS prev_overdue
               FROM d JOIN pgcredit.score_history n ON n.as_of = d.d1
               JOIN pgcredit.score_history b ON b.as_of = d.d2 AND b.customer = n.customer),
     items AS (SELECT * FROM cfg, pgcredit._newly_overdue($1, cfg.watch_overdue_days,
                                                            cfg.watch_new_overdue_window))
SELECT r.customer, 'utilisation' AS rule,
       format('utilisation %s%% of the limit', r.utilisation_pct) AS detail,
       r.utilisation_pct AS value, cfg.watch_utilisation_pct AS threshold
FROM r, cfg WHERE r.utilisation_pct > cfg.watch_utilisation_pct
UNION ALL
SELECT i.customer, 'new_overdue_item',
       format('%s open item(s) passed %s days past due in the last %s days',
              i.n, cfg.watch_overdue_days, cfg.watch_new_overdue_window),
       $1 - i.due, cfg.watch_overdue_days
FROM items i, cfg
UNION ALL
SELECT l.customer, 'score_drop',
       format('combined score fell from %s to %s between %s and %s', l.prev_score, l.combined_score,
              to_char(l.prev_as_of, 'YYYY-MM-DD'), to_char(l.as_of, 'YYYY-MM-DD')),
       l.prev_score - l.combined_score, cfg.watch_score_drop
FROM last2 l, cfg
WHERE l.prev_score - l.combined_score > cfg.watch_score_drop
UNION ALL
-- an order that ships becomes a receivable: exposure moves from open
-- orders to receivables and nothing is worse.  The sign is a rise of
-- receivables beyond the fall of open orders (exposure grew while the
-- customer orders less) with more of it past due.
SELECT l.customer, 'receivables_up_orders_down',
       format('receivables rose from %s to %s, more than open orders fell (from %s to %s), and overdue from %s to %s between %s and %s',
              l.prev_receivables, l.receivables, l.prev_orders, l.open_orders, l.prev_overdue, l.overdue,
              to_char(l.prev_as_of, 'YYYY-MM-DD'), to_char(l.as_of, 'YYYY-MM-DD')),
       (l.receivables - l.prev_receivables) - (l.prev_orders - l.open_orders), 0
FROM last2 l
WHERE l.open_orders < l.prev_orders
  AND l.receivables - l.prev_receivables > l.prev_orders - l.open_orders
  AND l.overdue > l.prev_overdue
UNION ALL
SELECT a.customer, 'review_overdue', format('review was due on %s', to_char(a.next_review, 'YYYY-MM-DD')),
       $1 - a.next_review, 0
FROM pgcredit.account a WHERE a.next_review < $1;
$$;
COMMENT ON FUNCTION pgcredit.watchlist_at(date) IS 'the rows of watchlist as of any day';
REVOKE EXECUTE ON FUNCTION pgcredit.watchlist_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.watchlist_at(date) TO pgcredit_reader;

CREATE OR REPLACE VIEW pgcredit.watchlist AS
SELECT * FROM pgcredit.watchlist_at(pgcredit.as_of());
COMMENT ON COLUMN pgcredit.watchlist.value IS 'the figure that fired the rule (utilisation %, days past due, points dropped, rise of receivables beyond the fall of open orders, days since the review date)';

CREATE VIEW pgcredit.tier_churn AS
SELECT m.as_of, m.from_tier, m.to_tier, coalesce(m.from_tier <> m.to_tier, false) AS moved, count(*) AS customers
FROM (SELECT h.as_of, h.tier AS to_tier,
             lag(h.tier) OVER w AS from_tier, lag(h.as_of) OVER w AS previous_as_of
      FROM pgcredit.score_history h
      WINDOW w AS (PARTITION BY h.customer ORDER BY h.as_of)) m
WHERE m.previous_as_of IS NOT NULL
GROUP BY m.as_of, m.from_tier, m.to_tier;
COMMENT ON VIEW pgcredit.tier_churn IS 'per day scored, how many customers went from which tier (at their previous scoring) to which: the churn of the tiers, for BI';
COMMENT ON COLUMN pgcredit.tier_churn.as_of IS 'the day scored';
COMMENT ON COLUMN pgcredit.tier_churn.from_tier IS 'the tier at the customer''s previous scoring (NULL: no score then)';
COMMENT ON COLUMN pgcredit.tier_churn.to_tier IS 'the tier at this scoring (NULL: no score)';
COMMENT ON COLUMN pgcredit.tier_churn.moved IS 'whether the tier changed (false when either day has no score)';
COMMENT ON COLUMN pgcredit.tier_churn.customers IS 'customers that went from from_tier to to_tier (a customer''s first scoring is not counted)';
REVOKE ALL ON pgcredit.tier_churn FROM PUBLIC;
GRANT SELECT ON pgcredit.tier_churn TO pgcredit_reader;

-- Automatic watch: refresh_scores() calls it when risk_settings.auto_watch is on
CREATE FUNCTION pgcredit._auto_watch(as_of date)
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  cfg pgcredit.risk_settings := pgcredit._settings_or_default();
  c record;
  st text;
  set_by text;
BEGIN
  -- each account's reasons at this scoring: utilisation above the
  -- threshold, and the watchlist signals the settings name
  FOR c IN
    WITH w AS (SELECT l.customer, array_agg(l.rule ORDER BY l.rule) AS rules,
                      string_agg(format('%s: %s', l.rule, l.detail), '; ' ORDER BY l.rule) AS words
               FROM pgcredit.watchlist_at(_auto_watch.as_of) l
               WHERE l.rule = ANY (cfg.auto_watch_signals)
               GROUP BY l.customer)
    SELECT a.customer, a.status, h.utilisation_pct,
           CASE WHEN h.utilisation_pct > cfg.auto_watch_utilisation_pct THEN '{utilisation}'::text[]
                ELSE '{}' END || coalesce(w.rules, '{}') AS reasons,
           concat_ws('; ', CASE WHEN h.utilisation_pct > cfg.auto_watch_utilisation_pct
                                THEN format('utilisation: %s%% of the limit, above %s%%', h.utilisation_pct,
                                            cfg.auto_watch_utilisation_pct) END, w.words) AS words
    FROM pgcredit.account a
    JOIN pgcredit.score_history h ON h.customer = a.customer AND h.as_of = _auto_watch.as_of
    LEFT JOIN w ON w.customer = a.customer
    ORDER BY a.customer
  LOOP
    UPDATE pgcredit.score_history h SET watch_reasons = c.reasons
    WHERE h.customer = c.customer AND h.as_of = _auto_watch.as_of;
    IF c.status NOT IN ('ok', 'watch') THEN
      CONTINUE;       -- hold and blocked are a person's decision
    END IF;
    -- the status again, under the account's lock: a person may have
    -- changed it since
    SELECT a.status INTO st FROM pgcredit.account a WHERE a.customer = c.customer FOR UPDATE;
    IF st = 'ok' AND cardinality(c.reasons) > 0 THEN
      PERFORM pgcredit._change_account(c.customer, '{"status": "watch"}', 'auto_watch',
                                       'automatic watch: ' || c.words);
    ELSIF st = 'watch' AND cardinality(c.reasons) = 0
          AND coalesce(c.utilisation_pct <= cfg.auto_watch_utilisation_pct - cfg.auto_watch_release_margin, true)
          AND NOT EXISTS (SELECT FROM pgcredit.score_history h
                          WHERE h.customer = c.customer AND h.as_of <= _auto_watch.as_of
                            AND h.as_of > _auto_watch.as_of - cfg.auto_watch_calm_days
                            AND h.watch_reasons && cfg.auto_watch_signals) THEN
      -- lifted only when the rules set it: the latest change of the
      -- status in the audit log was an automatic watch
      SELECT l.action INTO set_by FROM pgcredit.audit_log l
      WHERE l.customer = c.customer AND l.new_value ? 'status'
      ORDER BY l.id DESC LIMIT 1;
      IF set_by = 'auto_watch' THEN
        PERFORM pgcredit._change_account(c.customer, '{"status": "ok"}', 'auto_unwatch',
          format('automatic watch lifted: utilisation %s, at or below %s%%; no signal in the last %s days',
                 coalesce(c.utilisation_pct || '%', 'without a limit'),
                 cfg.auto_watch_utilisation_pct - cfg.auto_watch_release_margin, cfg.auto_watch_calm_days));
      END IF;
    END IF;
  END LOOP;
END
$$;
COMMENT ON FUNCTION pgcredit._auto_watch(date) IS
  'for refresh_scores(): record each account''s reasons for a watch at the day''s scoring, put accounts that are ok and have one on watch, and put back to ok the accounts the rules put on watch once no reason is left (audited as auto_watch and auto_unwatch)';
REVOKE EXECUTE ON FUNCTION pgcredit._auto_watch(date) FROM PUBLIC;

----------------------------------------------------------------------
-- Temporary limits (#12): account columns, the account functions
----------------------------------------------------------------------

ALTER TABLE pgcredit.account
  ADD COLUMN temporary_limit numeric CHECK (temporary_limit >= 0 AND temporary_limit < 'Infinity'),
  ADD COLUMN temporary_from date,
  ADD COLUMN temporary_until date,
  ADD CONSTRAINT temporary_limit_window CHECK (
    (temporary_limit IS NULL) = (temporary_until IS NULL)
    AND (temporary_limit IS NOT NULL OR temporary_from IS NULL)
    AND temporary_from > '-infinity' AND temporary_until < 'infinity'
    AND temporary_from <= temporary_until);
COMMENT ON COLUMN pgcredit.account.temporary_limit IS 'a limit that replaces credit_limit from temporary_from to temporary_until, both days included, and lapses by itself (seasonal headroom); NULL = none';
COMMENT ON COLUMN pgcredit.account.temporary_from IS 'first day of the temporary limit; NULL = from when it was set';
COMMENT ON COLUMN pgcredit.account.temporary_until IS 'last day of the temporary limit';

CREATE OR REPLACE FUNCTION pgcredit._change_account(customer text, changes jsonb, action text, reason text)
RETURNS pgcredit.account LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.account;
  after pgcredit.account;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF customer IS NULL THEN
    RAISE EXCEPTION 'customer must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT * INTO before FROM pgcredit.account a WHERE a.customer = _change_account.customer FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'customer "%" has no credit account', customer USING ERRCODE = 'PC003',
      HINT = 'Open one with pgcredit.open_account().';
  END IF;
  UPDATE pgcredit.account a SET
    credit_limit = CASE WHEN changes ? 'credit_limit' THEN (changes ->> 'credit_limit')::numeric ELSE a.credit_limit END,
    tolerance_pct = CASE WHEN changes ? 'tolerance_pct' THEN (changes ->> 'tolerance_pct')::numeric ELSE a.tolerance_pct END,
    status = CASE WHEN changes ? 'status' THEN changes ->> 'status' ELSE a.status END,
    hold_reason = CASE WHEN changes ? 'hold_reason' THEN changes ->> 'hold_reason' ELSE a.hold_reason END,
    payment_terms_days = CASE WHEN changes ? 'payment_terms_days' THEN (changes ->> 'payment_terms_days')::int ELSE a.payment_terms_days END,
    risk_tier = CASE WHEN changes ? 'risk_tier' THEN changes ->> 'risk_tier' ELSE a.risk_tier END,
    next_review = CASE WHEN changes ? 'next_review' THEN (changes ->> 'next_review')::date ELSE a.next_review END,
    temporary_limit = CASE WHEN changes ? 'temporary_limit' THEN (changes ->> 'temporary_limit')::numeric ELSE a.temporary_limit END,
    temporary_from = CASE WHEN changes ? 'temporary_from' THEN (changes ->> 'temporary_from')::date ELSE a.temporary_from END,
    temporary_until = CASE WHEN changes ? 'temporary_until' THEN (changes ->> 'temporary_until')::date ELSE a.temporary_until END,
    updated_at = now()
  WHERE a.customer = _change_account.customer
  RETURNING * INTO after;
  PERFORM pgcredit._lock_exposure(customer);
  PERFORM pgcredit._audit(action, customer,
    (SELECT jsonb_object_agg(k, to_jsonb(before) -> k) FROM jsonb_object_keys(changes) AS k),
    (SELECT jsonb_object_agg(k, to_jsonb(after) -> k) FROM jsonb_object_keys(changes) AS k),
    reason);
  RETURN after;
END
$$;

-- Temporary limits: a limit for a window of days that replaces the
-- permanent one and lapses by itself, with nothing to run when it ends.
CREATE FUNCTION pgcredit._effective_limit(credit_limit numeric, temporary_limit numeric,
                                          temporary_from date, temporary_until date, day date)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE WHEN $2 IS NOT NULL AND $5 <= $4 AND ($3 IS NULL OR $5 >= $3) THEN $2 ELSE $1 END
$$;
COMMENT ON FUNCTION pgcredit._effective_limit(numeric, numeric, date, date, date) IS
  'the limit in force on a day: the temporary limit within its window, else the permanent one';
REVOKE EXECUTE ON FUNCTION pgcredit._effective_limit(numeric, numeric, date, date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._effective_limit(numeric, numeric, date, date, date) TO pgcredit_reader;

CREATE FUNCTION pgcredit.set_temporary_limit(customer text, credit_limit numeric, valid_until date,
                                             reason text, valid_from date DEFAULT NULL)
RETURNS pgcredit.account LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF credit_limit IS NULL THEN
    RAISE EXCEPTION 'credit_limit must not be null' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Remove a temporary limit with pgcredit.clear_temporary_limit().';
  END IF;
  PERFORM pgcredit._check_amount('credit_limit', credit_limit);
  IF valid_until IS NULL OR NOT isfinite(valid_until) THEN
    RAISE EXCEPTION 'valid_until must be a finite date' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = 'A temporary limit lapses by itself on a day that must be given.';
  END IF;
  IF valid_from IS NOT NULL AND NOT isfinite(valid_from) THEN
    RAISE EXCEPTION 'valid_from must be a finite date' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF valid_until < coalesce(valid_from, current_date) THEN
    RAISE EXCEPTION 'temporary limit would end before it starts' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('It would run from %s to %s.', coalesce(valid_from, current_date), valid_until);
  END IF;
  -- above the policy's threshold, a limit over the permanent one needs an
  -- approved request
  PERFORM pgcredit._check_approval('limit', set_temporary_limit.customer, set_temporary_limit.credit_limit - coalesce(a.credit_limit, 0))
  FROM pgcredit.account a WHERE a.customer = set_temporary_limit.customer FOR UPDATE;
  RETURN pgcredit._change_account(customer,
    jsonb_build_object('temporary_limit', credit_limit, 'temporary_from', valid_from,
                       'temporary_until', valid_until),
    'set_temporary_limit', reason);
END
$$;
COMMENT ON FUNCTION pgcredit.set_temporary_limit(text, numeric, date, text, date) IS
  'give a customer a limit that replaces its credit limit from valid_from (NULL = now) to valid_until, both included, and lapses by itself; replaces an earlier temporary limit; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_temporary_limit(text, numeric, date, text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_temporary_limit(text, numeric, date, text, date) TO pgcredit_controller;

CREATE FUNCTION pgcredit.clear_temporary_limit(customer text, reason text)
RETURNS pgcredit.account LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT pgcredit._change_account($1,
    jsonb_build_object('temporary_limit', NULL, 'temporary_from', NULL, 'temporary_until', NULL),
    'clear_temporary_limit', $2)
$$;
COMMENT ON FUNCTION pgcredit.clear_temporary_limit(text, text) IS
  'remove a customer''s temporary limit before it lapses, audited';
REVOKE EXECUTE ON FUNCTION pgcredit.clear_temporary_limit(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.clear_temporary_limit(text, text) TO pgcredit_controller;

----------------------------------------------------------------------
-- Four-eyes approvals (#12): persons, the policy, the authority matrix,
-- requests; the account and hold functions refuse changes above the
-- policy's thresholds (none by default); held orders re-evaluated or
-- rejected; limit_history with temporary limits and approvals
----------------------------------------------------------------------

ALTER TABLE pgcredit.held_order ADD COLUMN rejected boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN pgcredit.held_order.rejected IS 'true when reject_held_order() closed the hold: the order is refused, its row stays marked held';

-- Held orders in a currency of their own: the order as held, so that its
-- release matches the row and converts it again
ALTER TABLE pgcredit.held_order ADD COLUMN row_amount numeric, ADD COLUMN row_currency text,
  ADD COLUMN rate_date date;
COMMENT ON COLUMN pgcredit.held_order.amount IS 'order amount (the part that uses credit), in the account''s currency: converted at the rate of its rate date when it was held, for an order in another currency';
COMMENT ON COLUMN pgcredit.held_order.row_amount IS 'for an order in a currency of its own (a table attached with a currency column): its amount in that currency, as held; NULL else';
COMMENT ON COLUMN pgcredit.held_order.row_currency IS 'the currency of such an order (ISO 4217 code); NULL: the account''s';
COMMENT ON COLUMN pgcredit.held_order.rate_date IS 'the rate date of such an order, whose rate converts it';
DROP FUNCTION pgcredit._clear_hold_mark(regclass, jsonb, text, numeric);
CREATE FUNCTION pgcredit._clear_hold_mark(tbl regclass, row_key jsonb, customer text, amount numeric,
                                          currency text, rate_date date)
RETURNS text
AS 'MODULE_PATHNAME', 'pgc_clear_hold_mark'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgcredit._clear_hold_mark(regclass, jsonb, text, numeric, text, date) IS
  'clear the hold mark of a held row as the table''s owner if it still holds the customer, amount, currency (NULL: the account''s; amount is in it) and rate date that were held: released, gone or changed; NULL when tbl, row_key, customer or amount is NULL';
REVOKE EXECUTE ON FUNCTION pgcredit._clear_hold_mark(regclass, jsonb, text, numeric, text, date) FROM PUBLIC;
CREATE OR REPLACE VIEW pgcredit.held_orders AS
SELECT h.id, h.relid AS order_table, h.row_key, h.customer, h.amount, h.why, h.held_at,
       date_trunc('second', now() - h.held_at) AS held_for,
       h.row_amount AS order_amount, h.row_currency AS order_currency, h.rate_date
FROM pgcredit.held_order h WHERE h.released_at IS NULL;
COMMENT ON COLUMN pgcredit.held_orders.amount IS 'order amount, in the account''s currency (converted when it was held, for an order in a currency of its own)';
COMMENT ON COLUMN pgcredit.held_orders.order_amount IS 'for an order in a currency of its own: its amount in that currency; NULL else';
COMMENT ON COLUMN pgcredit.held_orders.order_currency IS 'the currency of such an order; NULL: the account''s';
COMMENT ON COLUMN pgcredit.held_orders.rate_date IS 'the date whose exchange rate converts such an order';

----------------------------------------------------------------------
-- Credit control: approvals
--
-- A change above what the policy lets one controller make alone (a
-- limit raised, a held order released, an override, an account leaving
-- blocked) is asked for as a request, and carried out when another
-- person with the authority for its size and the customer's risk tier
-- approves it.  Persons, the authority matrix and the thresholds are
-- data: pgcredit_admin keeps them, every change audited.
----------------------------------------------------------------------

-- Who is a person.  The person acting is the person of session_user:
-- SET ROLE does not change session_user, and only a superuser can
-- change it (SET SESSION AUTHORIZATION).  Two logins of one person are
-- mapped to the same person here; a login not mapped is a person of its
-- own, named by the login.
CREATE TABLE pgcredit.person_login (
  login_role  regrole PRIMARY KEY,
  person      text NOT NULL CHECK (btrim(person) <> '' AND octet_length(person) <= 200)
);
COMMENT ON TABLE pgcredit.person_login IS 'the person behind each login role, for the four-eyes rule: a person never approves a request of his own, whichever of his logins asked; a login not listed is a person of its own';
COMMENT ON COLUMN pgcredit.person_login.login_role IS 'a login role (session_user)';
COMMENT ON COLUMN pgcredit.person_login.person IS 'the person it belongs to; every login of one person names the same person';
REVOKE ALL ON pgcredit.person_login FROM PUBLIC;
GRANT SELECT ON pgcredit.person_login TO pgcredit_reader;
GRANT INSERT, UPDATE, DELETE ON pgcredit.person_login TO pgcredit_admin;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.person_login', '');

CREATE FUNCTION pgcredit._person()
RETURNS text LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT coalesce((SELECT p.person FROM pgcredit.person_login p
                   WHERE p.login_role OPERATOR(pg_catalog.=) session_user::regrole),
                  session_user::text)
$$;
COMMENT ON FUNCTION pgcredit._person() IS
  'the person acting: the person of session_user in person_login, else session_user itself (SET ROLE changes neither)';
-- the pending view calls it as its reader
REVOKE EXECUTE ON FUNCTION pgcredit._person() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._person() TO pgcredit_controller;

-- The thresholds above which a change needs an approved request
CREATE TABLE pgcredit.approval_policy (
  only_row                boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  request_ttl             interval NOT NULL DEFAULT '7 days' CHECK (request_ttl > '0'),
  limit_approval_above    numeric CHECK (limit_approval_above >= 0 AND limit_approval_above < 'Infinity'),
  release_approval_above  numeric CHECK (release_approval_above >= 0 AND release_approval_above < 'Infinity'),
  override_approval_above numeric CHECK (override_approval_above >= 0 AND override_approval_above < 'Infinity'),
  unblock_approval_above  numeric CHECK (unblock_approval_above >= 0 AND unblock_approval_above < 'Infinity')
);
COMMENT ON TABLE pgcredit.approval_policy IS 'when a change needs four eyes: at most one row; no row, or a NULL threshold, means no approval is needed (the functions work as in 1.0); in a book with a base currency the thresholds are amounts in it, the account''s amounts converted at today''s rate';
COMMENT ON COLUMN pgcredit.approval_policy.only_row IS 'always true: the table holds one row at most';
COMMENT ON COLUMN pgcredit.approval_policy.request_ttl IS 'how long a request waits for a decision before it expires';
COMMENT ON COLUMN pgcredit.approval_policy.limit_approval_above IS 'set_credit_limit and set_temporary_limit refuse to raise a limit by more than this without an approved request (removing a limit raises it without bound); NULL = never';
COMMENT ON COLUMN pgcredit.approval_policy.release_approval_above IS 'release_held_order refuses an order of more than this without an approved request; NULL = never';
COMMENT ON COLUMN pgcredit.approval_policy.override_approval_above IS 'override_block refuses a customer whose exposure is more than this without an approved request; NULL = never';
COMMENT ON COLUMN pgcredit.approval_policy.unblock_approval_above IS 'set_status and release_hold refuse to take out of blocked a customer whose exposure is more than this without an approved request; NULL = never';
REVOKE ALL ON pgcredit.approval_policy FROM PUBLIC;
GRANT SELECT ON pgcredit.approval_policy TO pgcredit_reader;
GRANT INSERT, UPDATE, DELETE ON pgcredit.approval_policy TO pgcredit_admin;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.approval_policy', '');

-- The authority matrix: who may approve what, by kind, tier and size
CREATE TABLE pgcredit.approval_authority (
  id            int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind          text NOT NULL CHECK (kind IN ('limit', 'release', 'override', 'unblock')),
  risk_tier     text,
  approver      regrole,
  max_increase  numeric CHECK (max_increase >= 0 AND max_increase < 'Infinity'),
  max_amount    numeric CHECK (max_amount >= 0 AND max_amount < 'Infinity'),
  auto_approve  boolean NOT NULL DEFAULT false,
  CONSTRAINT approver_or_auto CHECK ((approver IS NULL) = auto_approve)
);
COMMENT ON TABLE pgcredit.approval_authority IS 'the authority matrix: each row lets the members of a role approve requests of one kind, for a risk tier or every tier, up to a size; or (auto_approve) approves such requests by itself';
COMMENT ON COLUMN pgcredit.approval_authority.id IS 'row number';
COMMENT ON COLUMN pgcredit.approval_authority.kind IS 'limit (a new or temporary limit), release (a held order), override (override_block), unblock (leaving blocked)';
COMMENT ON COLUMN pgcredit.approval_authority.risk_tier IS 'the customer''s account.risk_tier this row covers; NULL = every tier, also an account without one';
COMMENT ON COLUMN pgcredit.approval_authority.approver IS 'the role whose members (directly or through other roles, also after SET ROLE) may approve; NULL for an auto_approve row';
COMMENT ON COLUMN pgcredit.approval_authority.max_increase IS 'the largest increase covered: for limit, the new limit minus the permanent limit now (no limit counts as 0); for the others, the amount; in the book''s base currency when it has one; NULL = no bound';
COMMENT ON COLUMN pgcredit.approval_authority.max_amount IS 'the largest amount covered: the new limit, the held order''s amount, or the customer''s exposure (override, unblock); in the book''s base currency when it has one; NULL = no bound';
COMMENT ON COLUMN pgcredit.approval_authority.auto_approve IS 'true: a request this row covers is approved as it is made, audited as auto-approved';
REVOKE ALL ON pgcredit.approval_authority FROM PUBLIC;
GRANT SELECT ON pgcredit.approval_authority TO pgcredit_reader;
GRANT INSERT, UPDATE, DELETE ON pgcredit.approval_authority TO pgcredit_admin;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.approval_authority', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.approval_authority_id_seq', '');
COMMENT ON SEQUENCE pgcredit.approval_authority_id_seq IS 'numbers of authority rows (approval_authority.id)';

-- Changes of persons, thresholds and authority are audited
CREATE FUNCTION pgcredit._audit_approval_data()
RETURNS trigger LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._audit(TG_TABLE_NAME || '_' || lower(TG_OP), NULL,
                          CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
                          CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END, NULL);
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION pgcredit._audit_approval_data() IS
  'AFTER INSERT, UPDATE or DELETE on person_login, approval_policy and approval_authority: the row before and after in the audit log';
REVOKE EXECUTE ON FUNCTION pgcredit._audit_approval_data() FROM PUBLIC;
CREATE TRIGGER audit_change AFTER INSERT OR UPDATE OR DELETE ON pgcredit.person_login
  FOR EACH ROW EXECUTE FUNCTION pgcredit._audit_approval_data();
CREATE TRIGGER audit_change AFTER INSERT OR UPDATE OR DELETE ON pgcredit.approval_policy
  FOR EACH ROW EXECUTE FUNCTION pgcredit._audit_approval_data();
CREATE TRIGGER audit_change AFTER INSERT OR UPDATE OR DELETE ON pgcredit.approval_authority
  FOR EACH ROW EXECUTE FUNCTION pgcredit._audit_approval_data();

-- The requests
CREATE TABLE pgcredit.approval_request (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind            text NOT NULL CHECK (kind IN ('limit', 'release', 'override', 'unblock')),
  customer        text NOT NULL,
  held_order      bigint,
  new_limit       numeric,
  valid_from      date,
  valid_until     date,
  reason          text NOT NULL,
  requested_by    name NOT NULL,
  requester       text NOT NULL,
  requested_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  expires_at      timestamptz NOT NULL,
  status          text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'applying', 'approved', 'rejected', 'expired', 'obsolete')),
  decided_by      name,
  approver        text,
  decided_at      timestamptz,
  decision_reason text,
  auto_approved   boolean NOT NULL DEFAULT false,
  used_at         timestamptz,
  audit_id        bigint,
  CONSTRAINT request_fields CHECK (
    (kind = 'limit') = (new_limit IS NOT NULL)
    AND (kind = 'release') = (held_order IS NOT NULL)
    AND (valid_until IS NOT NULL OR valid_from IS NULL)
    AND (kind = 'limit' OR valid_until IS NULL))
);
COMMENT ON TABLE pgcredit.approval_request IS 'requests for a change that needs four eyes, and their decision; written only by pgcredit''s functions';
COMMENT ON COLUMN pgcredit.approval_request.id IS 'request number, for approve_request() and reject_request(); the payload of NOTIFY pgcredit_requests';
COMMENT ON COLUMN pgcredit.approval_request.kind IS 'limit, release, override or unblock';
COMMENT ON COLUMN pgcredit.approval_request.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.approval_request.held_order IS 'release: the held order (held_order.id)';
COMMENT ON COLUMN pgcredit.approval_request.new_limit IS 'limit: the limit asked for';
COMMENT ON COLUMN pgcredit.approval_request.valid_from IS 'limit: first day of a temporary limit (NULL = from when it is approved)';
COMMENT ON COLUMN pgcredit.approval_request.valid_until IS 'limit: last day of a temporary limit; NULL = a permanent limit';
COMMENT ON COLUMN pgcredit.approval_request.reason IS 'why the change is asked for; the reason of the change once applied';
COMMENT ON COLUMN pgcredit.approval_request.requested_by IS 'the role that asked (after SET ROLE)';
COMMENT ON COLUMN pgcredit.approval_request.requester IS 'the person who asked (person_login of session_user)';
COMMENT ON COLUMN pgcredit.approval_request.requested_at IS 'when';
COMMENT ON COLUMN pgcredit.approval_request.expires_at IS 'a request still pending then has expired (approval_policy.request_ttl after it was made)';
COMMENT ON COLUMN pgcredit.approval_request.status IS 'pending, approved, rejected, expired, or obsolete (a release whose hold was closed otherwise while it waited; applying only inside the transaction that approves it)';
COMMENT ON COLUMN pgcredit.approval_request.decided_by IS 'the role that approved or rejected it; NULL when auto-approved, expired or obsolete';
COMMENT ON COLUMN pgcredit.approval_request.approver IS 'the person who approved or rejected it';
COMMENT ON COLUMN pgcredit.approval_request.decided_at IS 'when it was approved, rejected, marked expired or made obsolete';
COMMENT ON COLUMN pgcredit.approval_request.decision_reason IS 'the reason given with the decision; obsolete: how the hold was closed';
COMMENT ON COLUMN pgcredit.approval_request.auto_approved IS 'approved by the policy (an auto_approve row of approval_authority) as it was made';
COMMENT ON COLUMN pgcredit.approval_request.used_at IS 'override: when the requester''s override_block() used it';
COMMENT ON COLUMN pgcredit.approval_request.audit_id IS 'limit: the audit log entry of the change it made';
REVOKE ALL ON pgcredit.approval_request FROM PUBLIC;
GRANT SELECT ON pgcredit.approval_request TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.approval_request', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.approval_request_id_seq', '');
COMMENT ON SEQUENCE pgcredit.approval_request_id_seq IS 'numbers of requests (approval_request.id)';
CREATE INDEX approval_request_pending ON pgcredit.approval_request (customer) WHERE status IN ('pending', 'applying', 'approved');

----------------------------------------------------------------------
-- The size of a request, and who may approve it
----------------------------------------------------------------------

-- In a book with a base currency, thresholds and authority are amounts
-- in it: an amount in the customer's account currency is converted at
-- today's rate, as fx_convert converts (a missing rate is PC015).
-- PL/pgSQL, so that its body is read when it runs: the upgrade script
-- creates it before the currency columns.
CREATE FUNCTION pgcredit._in_book_currency(customer text, amount numeric)
RETURNS numeric LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  base text := (SELECT s.base_currency FROM pgcredit.settings s);
  own text := (SELECT a.currency FROM pgcredit.account a WHERE a.customer = _in_book_currency.customer);
BEGIN
  IF amount IS NULL OR base IS NULL OR own IS NULL OR own = base THEN
    RETURN amount;
  END IF;
  RETURN pgcredit.fx_convert(amount, own, base, current_date);
END
$$;
COMMENT ON FUNCTION pgcredit._in_book_currency(text, numeric) IS
  'an amount in the customer''s account currency, in the book''s base currency at today''s rate (the amount itself in a single-currency book or an account in the base currency); a missing rate is an error (PC015)';
REVOKE EXECUTE ON FUNCTION pgcredit._in_book_currency(text, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._in_book_currency(text, numeric) TO pgcredit_controller;

-- The figures authority is judged on, as the account stands now
CREATE FUNCTION pgcredit._request_size(kind text, customer text, new_limit numeric, held_order bigint,
                                       OUT risk_tier text, OUT increase numeric, OUT amount numeric)
RETURNS record LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT a.risk_tier,
         pgcredit._in_book_currency($2, CASE $1 WHEN 'limit' THEN $3 - coalesce(a.credit_limit, 0)
                                                WHEN 'release' THEN h.amount
                                                ELSE pgcredit._exposure_now($2) END),
         pgcredit._in_book_currency($2, CASE $1 WHEN 'limit' THEN $3
                                                WHEN 'release' THEN h.amount
                                                ELSE pgcredit._exposure_now($2) END)
  FROM (SELECT) AS one
  LEFT JOIN pgcredit.account a ON a.customer = $2
  LEFT JOIN pgcredit.held_order h ON h.id = $4
$$;
COMMENT ON FUNCTION pgcredit._request_size(text, text, numeric, bigint) IS
  'the customer''s risk tier, and the increase and amount of a request as the account stands now, in the book''s base currency when it has one';
REVOKE EXECUTE ON FUNCTION pgcredit._request_size(text, text, numeric, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._request_size(text, text, numeric, bigint) TO pgcredit_controller;

-- The rows of the matrix that cover a request of that size
CREATE FUNCTION pgcredit._covering_authority(kind text, risk_tier text, increase numeric, amount numeric)
RETURNS SETOF pgcredit.approval_authority LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT * FROM pgcredit.approval_authority m
  WHERE m.kind = $1 AND (m.risk_tier IS NULL OR m.risk_tier = $2)
    AND (m.max_increase IS NULL OR $3 <= m.max_increase)
    AND (m.max_amount IS NULL OR $4 <= m.max_amount)
$$;
COMMENT ON FUNCTION pgcredit._covering_authority(text, text, numeric, numeric) IS
  'the rows of approval_authority that cover a request of a kind, tier, increase and amount';
REVOKE EXECUTE ON FUNCTION pgcredit._covering_authority(text, text, numeric, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._covering_authority(text, text, numeric, numeric) TO pgcredit_controller;

CREATE FUNCTION pgcredit._may_approve(kind text, risk_tier text, increase numeric, amount numeric)
RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT EXISTS (SELECT FROM pgcredit._covering_authority($1, $2, $3, $4) m
                 WHERE NOT m.auto_approve
                   -- a role dropped since leaves its rows without effect
                   AND EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.oid = m.approver)
                   AND pg_has_role(pgcredit._actor(), m.approver, 'MEMBER'))
$$;
COMMENT ON FUNCTION pgcredit._may_approve(text, text, numeric, numeric) IS
  'whether the role acting holds, through a role of approval_authority, the authority for a request of that size';
REVOKE EXECUTE ON FUNCTION pgcredit._may_approve(text, text, numeric, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._may_approve(text, text, numeric, numeric) TO pgcredit_controller;

-- Below its threshold a change goes through as in 1.0; above it, only
-- inside approve_request() (the request is "applying" in this very
-- transaction) or, for an override, with an approved request of the
-- person acting.
CREATE FUNCTION pgcredit._check_approval(kind text, customer text, amount numeric, held_order bigint DEFAULT NULL)
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  p pgcredit.approval_policy;
  threshold numeric;
  ticket bigint;
  judged numeric;
  shown text;
BEGIN
  SELECT * INTO p FROM pgcredit.approval_policy;
  threshold := CASE kind WHEN 'limit' THEN p.limit_approval_above WHEN 'release' THEN p.release_approval_above
                         WHEN 'override' THEN p.override_approval_above ELSE p.unblock_approval_above END;
  IF threshold IS NULL THEN
    RETURN;
  END IF;
  -- a NULL amount is a limit removed: an increase without bound; the
  -- threshold is in the book's base currency
  judged := pgcredit._in_book_currency(customer, amount);
  IF judged <= threshold THEN
    RETURN;
  END IF;
  shown := CASE WHEN judged IS DISTINCT FROM amount
                THEN format('%s (%s in %s at today''s rate)', amount, judged,
                            (SELECT s.base_currency FROM pgcredit.settings s))
                ELSE amount::text END;
  IF EXISTS (SELECT FROM pgcredit.approval_request r
             WHERE r.status = 'applying' AND r.kind = _check_approval.kind
               AND r.customer = _check_approval.customer
               AND r.held_order IS NOT DISTINCT FROM _check_approval.held_order) THEN
    RETURN;
  END IF;
  IF kind = 'override' THEN
    -- an approved override is used once, by the person who asked for it
    UPDATE pgcredit.approval_request r SET used_at = now()
    WHERE r.id = (SELECT r2.id FROM pgcredit.approval_request r2
                  WHERE r2.kind = 'override' AND r2.status = 'approved' AND r2.used_at IS NULL
                    AND r2.customer = _check_approval.customer AND r2.requester = pgcredit._person()
                    AND r2.expires_at > now()
                  ORDER BY r2.id LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING r.id INTO ticket;
    IF ticket IS NOT NULL THEN
      PERFORM pgcredit._audit('use_override_request', customer, NULL,
                              jsonb_build_object('request', ticket), 'an approved override used');
      RETURN;
    END IF;
  END IF;
  RAISE EXCEPTION '%', CASE kind
      WHEN 'limit' THEN format('raising the credit limit of customer "%s" needs approval', customer)
      WHEN 'release' THEN format('releasing held order %s needs approval', held_order)
      WHEN 'override' THEN format('overriding the credit check of customer "%s" needs approval', customer)
      ELSE format('taking customer "%s" out of blocked needs approval', customer) END
    USING ERRCODE = 'PC012',
    DETAIL = CASE kind
      WHEN 'limit' THEN format('The limit would rise by %s, more than the %s that pgcredit.approval_policy lets a controller change alone.',
                               coalesce(shown, 'an unbounded amount (no limit)'), threshold)
      WHEN 'release' THEN format('The order is for %s, more than the %s that pgcredit.approval_policy lets a controller release alone.',
                                 shown, threshold)
      ELSE format('The customer''s exposure is %s, more than the %s that pgcredit.approval_policy lets a controller %s alone.',
                  shown, threshold, CASE kind WHEN 'override' THEN 'override' ELSE 'unblock' END) END,
    HINT = CASE kind
      WHEN 'limit' THEN 'Ask for it with pgcredit.request_limit(); another person with the authority approves it with pgcredit.approve_request().'
      WHEN 'release' THEN 'Ask for it with pgcredit.request_release(), or let pgcredit.reevaluate_held_orders() release it once it fits.'
      WHEN 'override' THEN 'Ask for it with pgcredit.request_override(); once another person approves it, call override_block() again in the transaction that writes the order.'
      ELSE 'Ask for it with pgcredit.request_unblock(); another person with the authority approves it with pgcredit.approve_request().' END;
END
$$;
COMMENT ON FUNCTION pgcredit._check_approval(text, text, numeric, bigint) IS
  'refuse (PC012) a change above the threshold of approval_policy unless an approved request is carrying it out, or (override) an approved request of the person acting is unused';
REVOKE EXECUTE ON FUNCTION pgcredit._check_approval(text, text, numeric, bigint) FROM PUBLIC;


----------------------------------------------------------------------
-- Asking, approving, rejecting
----------------------------------------------------------------------

-- Carry out an approved request, through the audited functions
CREATE FUNCTION pgcredit._apply_request(req pgcredit.approval_request)
RETURNS bigint LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  st text;
BEGIN
  UPDATE pgcredit.approval_request r SET status = 'applying' WHERE r.id = req.id;
  IF req.kind = 'limit' AND req.valid_until IS NULL THEN
    PERFORM pgcredit.set_credit_limit(req.customer, req.new_limit, req.reason);
  ELSIF req.kind = 'limit' THEN
    PERFORM pgcredit.set_temporary_limit(req.customer, req.new_limit, req.valid_until, req.reason,
                                         req.valid_from);
  ELSIF req.kind = 'release' THEN
    PERFORM pgcredit.release_held_order(req.held_order, req.reason);
  ELSIF req.kind = 'unblock' THEN
    SELECT a.status INTO st FROM pgcredit.account a WHERE a.customer = req.customer;
    IF st IS DISTINCT FROM 'blocked' THEN
      RAISE EXCEPTION 'the account of customer "%" is no longer blocked', req.customer
        USING ERRCODE = 'object_not_in_prerequisite_state',
        DETAIL = format('Its status is %s.', coalesce(st, 'gone')),
        HINT = 'Reject the request.';
    END IF;
    PERFORM pgcredit.release_hold(req.customer, req.reason);
  END IF;
  -- override: nothing to do now; the requester's override_block() uses it
  UPDATE pgcredit.approval_request r SET status = 'approved' WHERE r.id = req.id;
  RETURN CASE WHEN req.kind = 'limit' THEN currval('pgcredit.audit_log_id_seq') END;
END
$$;
COMMENT ON FUNCTION pgcredit._apply_request(pgcredit.approval_request) IS
  'carry out an approved request through set_credit_limit, set_temporary_limit, release_held_order or release_hold (override: nothing until used); returns the audit entry of a limit change';
REVOKE EXECUTE ON FUNCTION pgcredit._apply_request(pgcredit.approval_request) FROM PUBLIC;

-- File a request: checked, audited, announced, or approved at once when
-- an auto_approve row of the matrix covers it
CREATE FUNCTION pgcredit._file_request(req pgcredit.approval_request)
RETURNS pgcredit.approval_request LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  created pgcredit.approval_request;
  size record;
  change_audit bigint;
BEGIN
  PERFORM pgcredit._check_reason(req.reason);
  IF req.customer IS NULL THEN
    RAISE EXCEPTION 'customer must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- the account, locked so that the size judged is the size applied; a
  -- held order or an override may concern a customer without one
  PERFORM FROM pgcredit.account a WHERE a.customer = req.customer FOR UPDATE;
  IF NOT FOUND AND req.kind IN ('limit', 'unblock') THEN
    RAISE EXCEPTION 'customer "%" has no credit account', req.customer USING ERRCODE = 'PC003',
      HINT = 'Open one with pgcredit.open_account().';
  END IF;
  INSERT INTO pgcredit.approval_request AS r
    (kind, customer, held_order, new_limit, valid_from, valid_until, reason, requested_by, requester, expires_at)
  VALUES (req.kind, req.customer, req.held_order, req.new_limit, req.valid_from, req.valid_until, req.reason,
          pgcredit._actor(), pgcredit._person(),
          now() + coalesce((SELECT p.request_ttl FROM pgcredit.approval_policy p), '7 days'))
  RETURNING * INTO created;
  PERFORM pgcredit._audit('request_' || req.kind, req.customer, NULL,
    jsonb_strip_nulls(jsonb_build_object('request', created.id, 'held_order', created.held_order,
                                         'new_limit', created.new_limit, 'valid_from', created.valid_from,
                                         'valid_until', created.valid_until)),
    req.reason);
  SELECT * INTO size FROM pgcredit._request_size(created.kind, created.customer, created.new_limit, created.held_order);
  -- the policy approves for a credit controller only: the request of a
  -- sales user (pgcredit_sales) waits for a controller, as documented
  IF pg_has_role(pgcredit._actor(), 'pgcredit_controller', 'MEMBER')
     AND EXISTS (SELECT FROM pgcredit._covering_authority(created.kind, size.risk_tier, size.increase, size.amount) m
                 WHERE m.auto_approve) THEN
    change_audit := pgcredit._apply_request(created);
    UPDATE pgcredit.approval_request r SET auto_approved = true, decided_at = now(),
      decision_reason = 'approved by the policy', audit_id = change_audit
    WHERE r.id = created.id RETURNING * INTO created;
    PERFORM pgcredit._audit('approve_request', req.customer, NULL,
      jsonb_build_object('request', created.id, 'kind', created.kind, 'auto_approved', true,
                         'risk_tier', size.risk_tier, 'increase', size.increase, 'amount', size.amount),
      'approved by the policy');
  ELSE
    -- a request that waits for someone is announced; any role can
    -- LISTEN, so the payload is its number only
    PERFORM pg_notify('pgcredit_requests', json_build_object('id', created.id)::text);
  END IF;
  RETURN created;
END
$$;
COMMENT ON FUNCTION pgcredit._file_request(pgcredit.approval_request) IS
  'record a request, audited; approve it at once when an auto_approve row of approval_authority covers it, else announce it on pgcredit_requests';
REVOKE EXECUTE ON FUNCTION pgcredit._file_request(pgcredit.approval_request) FROM PUBLIC;

CREATE FUNCTION pgcredit.request_limit(customer text, new_limit numeric, reason text,
                                       valid_from date DEFAULT NULL, valid_until date DEFAULT NULL)
RETURNS pgcredit.approval_request LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  req pgcredit.approval_request;
BEGIN
  IF new_limit IS NULL THEN
    RAISE EXCEPTION 'new_limit must not be null' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'A request asks for a limit; removing a limit is done with pgcredit.set_credit_limit().';
  END IF;
  PERFORM pgcredit._check_amount('new_limit', new_limit);
  IF valid_from IS NOT NULL AND valid_until IS NULL THEN
    RAISE EXCEPTION 'valid_from needs valid_until' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = 'A temporary limit lapses by itself on a day that must be given.';
  END IF;
  IF valid_until IS NOT NULL AND NOT isfinite(valid_until) OR valid_from IS NOT NULL AND NOT isfinite(valid_from) THEN
    RAISE EXCEPTION 'valid_from and valid_until must be finite dates' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF valid_until < coalesce(valid_from, current_date) THEN
    RAISE EXCEPTION 'temporary limit would end before it starts' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('It would run from %s to %s.', coalesce(valid_from, current_date), valid_until);
  END IF;
  req.kind := 'limit';
  req.customer := customer;
  req.new_limit := new_limit;
  req.valid_from := valid_from;
  req.valid_until := valid_until;
  req.reason := reason;
  RETURN pgcredit._file_request(req);
END
$$;
COMMENT ON FUNCTION pgcredit.request_limit(text, numeric, text, date, date) IS
  'ask for a new credit limit (a temporary one when valid_until is given), applied when another person with the authority approves it; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.request_limit(text, numeric, text, date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.request_limit(text, numeric, text, date, date) TO pgcredit_controller;

CREATE FUNCTION pgcredit.request_release(held_id bigint, reason text)
RETURNS pgcredit.approval_request LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  req pgcredit.approval_request;
  h pgcredit.held_order;
BEGIN
  SELECT * INTO h FROM pgcredit.held_order o WHERE o.id = held_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'held order % does not exist', held_id USING ERRCODE = 'undefined_object';
  END IF;
  IF h.released_at IS NOT NULL THEN
    RAISE EXCEPTION 'held order % is no longer held', held_id USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = format('%s closed it: %s.', h.released_by, h.release_reason);
  END IF;
  req.kind := 'release';
  req.customer := h.customer;
  req.held_order := held_id;
  req.reason := reason;
  RETURN pgcredit._file_request(req);
END
$$;
COMMENT ON FUNCTION pgcredit.request_release(bigint, text) IS
  'ask for the release of a held order, carried out by release_held_order() when another person with the authority approves it; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.request_release(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.request_release(bigint, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.request_override(customer text, reason text)
RETURNS pgcredit.approval_request LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  req pgcredit.approval_request;
BEGIN
  req.kind := 'override';
  req.customer := customer;
  req.reason := reason;
  RETURN pgcredit._file_request(req);
END
$$;
COMMENT ON FUNCTION pgcredit.request_override(text, text) IS
  'ask for an override of a customer''s credit check; once another person with the authority approves it, the requester''s next override_block() for the customer, before the request expires, uses it; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.request_override(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.request_override(text, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.request_unblock(customer text, reason text)
RETURNS pgcredit.approval_request LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  req pgcredit.approval_request;
BEGIN
  IF NOT EXISTS (SELECT FROM pgcredit.account a WHERE a.customer = request_unblock.customer AND a.status = 'blocked')
     AND EXISTS (SELECT FROM pgcredit.account a WHERE a.customer = request_unblock.customer) THEN
    RAISE EXCEPTION 'the account of customer "%" is not blocked', customer
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  req.kind := 'unblock';
  req.customer := customer;
  req.reason := reason;
  RETURN pgcredit._file_request(req);
END
$$;
COMMENT ON FUNCTION pgcredit.request_unblock(text, text) IS
  'ask to take a blocked account back to ok, carried out by release_hold() when another person with the authority approves it; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.request_unblock(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.request_unblock(text, text) TO pgcredit_controller;

-- A request, locked, that must still wait for a decision
CREATE FUNCTION pgcredit._pending_request(request_id bigint)
RETURNS pgcredit.approval_request LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  req pgcredit.approval_request;
  h pgcredit.held_order;
BEGIN
  -- the account first, as every change of an account does, then a
  -- release's hold, as everything closing a hold does (the hold's
  -- closing makes its pending requests obsolete), then the request
  SELECT * INTO req FROM pgcredit.approval_request r WHERE r.id = request_id;
  PERFORM FROM pgcredit.account a WHERE a.customer = req.customer FOR UPDATE;
  PERFORM FROM pgcredit.held_order o WHERE o.id = req.held_order FOR UPDATE;
  SELECT * INTO req FROM pgcredit.approval_request r WHERE r.id = request_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'request % does not exist', request_id USING ERRCODE = 'undefined_object';
  END IF;
  IF req.status = 'obsolete' THEN
    SELECT * INTO h FROM pgcredit.held_order o WHERE o.id = req.held_order;
    RAISE EXCEPTION 'held order % of request % is no longer held', req.held_order, request_id
      USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = CASE WHEN h.id IS NULL THEN 'Its hold record was deleted.'
                    ELSE format('%s closed it: %s.', h.released_by, h.release_reason) END,
      HINT = 'The request was made obsolete; nothing is left to approve or reject.';
  END IF;
  IF req.status <> 'pending' THEN
    RAISE EXCEPTION 'request % is no longer pending', request_id USING ERRCODE = 'PC013',
      DETAIL = format('It was %s%s.', req.status,
                      CASE WHEN req.approver IS NOT NULL THEN ' by ' || req.approver
                           WHEN req.auto_approved THEN ' by the policy' ELSE '' END);
  END IF;
  IF req.expires_at <= now() THEN
    RAISE EXCEPTION 'request % has expired', request_id USING ERRCODE = 'PC013',
      DETAIL = format('It waited for a decision until %s.', req.expires_at),
      HINT = 'Ask again if the change is still wanted.';
  END IF;
  RETURN req;
END
$$;
COMMENT ON FUNCTION pgcredit._pending_request(bigint) IS
  'lock the account, a release''s hold and the request, and refuse a request that does not exist (42704), whose hold was closed otherwise (55000), or that is no longer pending or has expired (PC013)';
REVOKE EXECUTE ON FUNCTION pgcredit._pending_request(bigint) FROM PUBLIC;

CREATE FUNCTION pgcredit.approve_request(request_id bigint, reason text)
RETURNS pgcredit.approval_request LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  req pgcredit.approval_request;
  size record;
  needed text;
  change_audit bigint;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  req := pgcredit._pending_request(request_id);
  IF req.requester = pgcredit._person() THEN
    RAISE EXCEPTION 'a request cannot be approved by the person who made it' USING ERRCODE = 'PC010',
      DETAIL = format('Request %s was made by %s (as role %s), and the session''s login %s is %s.',
                      req.id, req.requester, req.requested_by, session_user, pgcredit._person()),
      HINT = 'Another person with the authority must approve it.';
  END IF;
  SELECT * INTO size FROM pgcredit._request_size(req.kind, req.customer, req.new_limit, req.held_order);
  IF NOT pgcredit._may_approve(req.kind, size.risk_tier, size.increase, size.amount) THEN
    SELECT string_agg(DISTINCT m.approver::text, ', ' ORDER BY m.approver::text) INTO needed
    FROM pgcredit._covering_authority(req.kind, size.risk_tier, size.increase, size.amount) m
    WHERE NOT m.auto_approve AND EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.oid = m.approver);
    RAISE EXCEPTION 'role "%" has no authority to approve request %', pgcredit._actor(), req.id
      USING ERRCODE = 'PC011',
      DETAIL = format('It needs the authority for %s requests of tier %s with an increase of %s and an amount of %s.',
                      req.kind, coalesce(size.risk_tier, '(none)'), size.increase, size.amount),
      HINT = CASE WHEN needed IS NULL
                  THEN 'No row of pgcredit.approval_authority covers it; an administrator can add one.'
                  ELSE format('A member of %s may approve it.', needed) END;
  END IF;
  change_audit := pgcredit._apply_request(req);
  UPDATE pgcredit.approval_request r SET decided_by = pgcredit._actor(), approver = pgcredit._person(),
    decided_at = now(), decision_reason = approve_request.reason, audit_id = change_audit
  WHERE r.id = request_id RETURNING * INTO req;
  PERFORM pgcredit._audit('approve_request', req.customer, NULL,
    jsonb_build_object('request', req.id, 'kind', req.kind, 'requester', req.requester,
                       'approver', req.approver, 'risk_tier', size.risk_tier,
                       'increase', size.increase, 'amount', size.amount),
    reason);
  RETURN req;
END
$$;
COMMENT ON FUNCTION pgcredit.approve_request(bigint, text) IS
  'approve a pending request and carry it out: never by the person who made it (PC010), only with the authority for its kind, tier and size (PC011); audited';
REVOKE EXECUTE ON FUNCTION pgcredit.approve_request(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.approve_request(bigint, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.reject_request(request_id bigint, reason text)
RETURNS pgcredit.approval_request LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  req pgcredit.approval_request;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  req := pgcredit._pending_request(request_id);
  UPDATE pgcredit.approval_request r SET status = 'rejected', decided_by = pgcredit._actor(),
    approver = pgcredit._person(), decided_at = now(), decision_reason = reject_request.reason
  WHERE r.id = request_id RETURNING * INTO req;
  PERFORM pgcredit._audit('reject_request', req.customer, NULL,
    jsonb_build_object('request', req.id, 'kind', req.kind, 'requester', req.requester), reason);
  RETURN req;
END
$$;
COMMENT ON FUNCTION pgcredit.reject_request(bigint, text) IS
  'reject a pending request (the requester may withdraw his own), audited';
REVOKE EXECUTE ON FUNCTION pgcredit.reject_request(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.reject_request(bigint, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.expire_requests()
RETURNS bigint LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH expired AS (
    UPDATE pgcredit.approval_request r SET status = 'expired', decided_at = now()
    WHERE r.status = 'pending' AND r.expires_at <= now()
    RETURNING r.id, r.kind, r.customer, r.expires_at),
  logged AS (
    SELECT pgcredit._audit('expire_request', x.customer, NULL,
                           jsonb_build_object('request', x.id, 'kind', x.kind, 'expires_at', x.expires_at),
                           'no decision before it expired')
    FROM expired x)
  SELECT count(*) FROM logged
$$;
COMMENT ON FUNCTION pgcredit.expire_requests() IS
  'mark the pending requests past their expiry as expired, audited; returns how many (an expired request can be neither approved nor rejected, marked or not)';
REVOKE EXECUTE ON FUNCTION pgcredit.expire_requests() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.expire_requests() TO pgcredit_controller;

CREATE VIEW pgcredit.pending_requests AS
SELECT r.id, r.kind, r.customer, s.risk_tier, r.new_limit, r.valid_from, r.valid_until, r.held_order,
       s.increase, s.amount, r.requester, r.requested_by::text AS requested_by, r.requested_at, r.expires_at, r.reason,
       (SELECT string_agg(DISTINCT m.approver::text, ', ' ORDER BY m.approver::text)
        FROM pgcredit._covering_authority(r.kind, s.risk_tier, s.increase, s.amount) m
        WHERE NOT m.auto_approve AND EXISTS (SELECT FROM pg_catalog.pg_roles o WHERE o.oid = m.approver)) AS approvers,
       current_date AS day
FROM pgcredit.approval_request r
CROSS JOIN LATERAL pgcredit._request_size(r.kind, r.customer, r.new_limit, r.held_order) s
WHERE r.status = 'pending' AND r.expires_at > now()
  AND r.requester <> pgcredit._person()
  AND pgcredit._may_approve(r.kind, s.risk_tier, s.increase, s.amount);
COMMENT ON VIEW pgcredit.pending_requests IS 'the requests the role reading it may approve now: pending, not expired, made by another person, within its authority';
COMMENT ON COLUMN pgcredit.pending_requests.id IS 'request number, for approve_request()';
COMMENT ON COLUMN pgcredit.pending_requests.kind IS 'limit, release, override or unblock';
COMMENT ON COLUMN pgcredit.pending_requests.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.pending_requests.risk_tier IS 'the account''s risk tier now';
COMMENT ON COLUMN pgcredit.pending_requests.new_limit IS 'limit: the limit asked for';
COMMENT ON COLUMN pgcredit.pending_requests.valid_from IS 'limit: first day of a temporary limit';
COMMENT ON COLUMN pgcredit.pending_requests.valid_until IS 'limit: last day of a temporary limit; NULL = permanent';
COMMENT ON COLUMN pgcredit.pending_requests.held_order IS 'release: the held order';
COMMENT ON COLUMN pgcredit.pending_requests.increase IS 'what authority is judged on: the limit''s increase over the permanent limit now, else the amount; in the book''s base currency when it has one (converted at today''s rate)';
COMMENT ON COLUMN pgcredit.pending_requests.amount IS 'the new limit, the held order''s amount, or the customer''s exposure now (override, unblock); in the book''s base currency when it has one (converted at today''s rate)';
COMMENT ON COLUMN pgcredit.pending_requests.requester IS 'the person who asked';
COMMENT ON COLUMN pgcredit.pending_requests.requested_by IS 'the role that asked';
COMMENT ON COLUMN pgcredit.pending_requests.requested_at IS 'when';
COMMENT ON COLUMN pgcredit.pending_requests.expires_at IS 'when it expires';
COMMENT ON COLUMN pgcredit.pending_requests.reason IS 'why it is asked for';
COMMENT ON COLUMN pgcredit.pending_requests.approvers IS 'the roles whose members may approve it (the reader is a member of one)';
COMMENT ON COLUMN pgcredit.pending_requests.day IS 'the day the view is read: the requests pending now';
REVOKE ALL ON pgcredit.pending_requests FROM PUBLIC;
GRANT SELECT ON pgcredit.pending_requests TO pgcredit_controller;


----------------------------------------------------------------------
-- Held orders: re-evaluated, or rejected
----------------------------------------------------------------------

CREATE FUNCTION pgcredit.reevaluate_held_orders()
RETURNS TABLE (held_order bigint, customer text, amount numeric, outcome text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
-- the guard's NOTICE for each order held again is no news here
SET client_min_messages = warning
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  h pgcredit.held_order;
  done text;
BEGIN
  FOR h IN SELECT * FROM pgcredit.held_order o WHERE o.released_at IS NULL ORDER BY o.held_at, o.id LOOP
    BEGIN
      -- taken now, in this order; a hold closed meanwhile is passed over
      PERFORM FROM pgcredit.held_order o WHERE o.id = h.id AND o.released_at IS NULL FOR UPDATE;
      IF NOT FOUND THEN
        CONTINUE;
      END IF;
      -- an override of this transaction would let the order past its
      -- limit: such a customer's orders wait for a run without one
      IF EXISTS (SELECT FROM pgcredit.override o
                 WHERE o.xid = pg_current_xact_id() AND o.customer = h.customer) THEN
        RAISE EXCEPTION 'the customer has an override in this transaction';
      END IF;
      -- no override: clearing the mark is an order like any other, and
      -- the guard lets it in only if it fits (closing its hold record),
      -- else holds it again
      done := pgcredit._clear_hold_mark(h.relid, h.row_key, h.customer, coalesce(h.row_amount, h.amount),
                                        h.row_currency, h.rate_date);
      IF done = 'released' THEN
        done := CASE WHEN EXISTS (SELECT FROM pgcredit.held_order o WHERE o.id = h.id AND o.released_at IS NOT NULL)
                     THEN 'released' ELSE 'kept' END;
      END IF;
    EXCEPTION WHEN OTHERS THEN
      -- an order the guard refuses outright (table now in block mode),
      -- a row gone or changed: left as it is, and said so
      done := 'kept: ' || SQLERRM;
    END;
    held_order := h.id;
    customer := h.customer;
    amount := h.amount;
    outcome := done;
    RETURN NEXT;
  END LOOP;
END
$$;
COMMENT ON FUNCTION pgcredit.reevaluate_held_orders() IS
  'offer every held order to the guard again, oldest first, without override: those that fit now (after payments or a raised limit) are released and counted, the others stay held; returns each order and what became of it';
REVOKE EXECUTE ON FUNCTION pgcredit.reevaluate_held_orders() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.reevaluate_held_orders() TO pgcredit_controller;

CREATE FUNCTION pgcredit.reject_held_order(held_id bigint, reason text)
RETURNS pgcredit.held_order LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  h pgcredit.held_order;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  SELECT * INTO h FROM pgcredit.held_order o WHERE o.id = held_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'held order % does not exist', held_id USING ERRCODE = 'undefined_object';
  END IF;
  IF h.released_at IS NOT NULL THEN
    RAISE EXCEPTION 'held order % is no longer held', held_id USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = format('%s closed it: %s.', h.released_by, h.release_reason);
  END IF;
  UPDATE pgcredit.held_order o SET released_at = now(), released_by = pgcredit._actor(),
                                   release_reason = reason, rejected = true
  WHERE o.id = held_id RETURNING * INTO h;
  PERFORM pgcredit._audit('reject_held_order', h.customer, jsonb_build_object('held_order', held_id),
                          jsonb_build_object('amount', h.amount), reason);
  -- the application learns that the order is refused: the hold number
  -- only, as any role can LISTEN
  PERFORM pg_notify('pgcredit_rejected_orders', json_build_object('id', h.id)::text);
  RETURN h;
END
$$;
COMMENT ON FUNCTION pgcredit.reject_held_order(bigint, text) IS
  'refuse a held order: close its hold (the row stays marked held and out of exposure), audited, and NOTIFY pgcredit_rejected_orders with the hold number';
REVOKE EXECUTE ON FUNCTION pgcredit.reject_held_order(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.reject_held_order(bigint, text) TO pgcredit_controller;

-- The functions that now ask for approval above the policy's thresholds
CREATE OR REPLACE FUNCTION pgcredit.set_credit_limit(customer text, credit_limit numeric, reason text)
RETURNS pgcredit.account LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  old_limit numeric;
BEGIN
  PERFORM pgcredit._check_amount('credit_limit', credit_limit);
  -- above the policy's threshold, a raise needs an approved request
  SELECT a.credit_limit INTO old_limit FROM pgcredit.account a
  WHERE a.customer = set_credit_limit.customer FOR UPDATE;
  IF FOUND THEN
    PERFORM pgcredit._check_approval('limit', customer,
      CASE WHEN credit_limit IS NULL AND old_limit IS NULL THEN 0 ELSE credit_limit - coalesce(old_limit, 0) END);
  END IF;
  RETURN pgcredit._change_account(customer, jsonb_build_object('credit_limit', credit_limit),
                                  'set_credit_limit', reason);
END
$$;

CREATE OR REPLACE FUNCTION pgcredit.set_status(customer text, status text, reason text)
RETURNS pgcredit.account LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF status IS NULL OR status NOT IN ('ok', 'watch', 'hold', 'blocked') THEN
    RAISE EXCEPTION 'invalid account status "%"', status USING ERRCODE = 'invalid_parameter_value',
      HINT = 'The status is one of ok, watch, hold and blocked.';
  END IF;
  -- above the policy's threshold, leaving blocked needs an approved request
  IF status <> 'blocked' AND EXISTS (SELECT FROM pgcredit.account a WHERE a.customer = set_status.customer
                                     AND a.status = 'blocked' FOR UPDATE) THEN
    PERFORM pgcredit._check_approval('unblock', customer,
      pgcredit._exposure_now(set_status.customer));
  END IF;
  RETURN pgcredit._change_account(customer,
    jsonb_build_object('status', status,
                       'hold_reason', CASE WHEN status IN ('hold', 'blocked') THEN reason END),
    'set_status', reason);
END
$$;

CREATE FUNCTION pgcredit._grant_override(customer text, reason text)
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  -- overrides of finished transactions are spent
  DELETE FROM pgcredit.override o WHERE o.xid < pg_snapshot_xmin(pg_current_snapshot());
  INSERT INTO pgcredit.override AS o (xid, customer, reason, granted_by)
  VALUES (pg_current_xact_id(), _grant_override.customer, _grant_override.reason, pgcredit._actor())
  ON CONFLICT ON CONSTRAINT override_pkey DO UPDATE SET reason = EXCLUDED.reason;
  PERFORM pgcredit._audit('override_block', customer, NULL,
                          jsonb_build_object('xid', pg_current_xact_id()::text), reason);
END
$$;
COMMENT ON FUNCTION pgcredit._grant_override(text, text) IS
  'record an override of a customer''s credit check for this transaction, audited as override_block';
REVOKE EXECUTE ON FUNCTION pgcredit._grant_override(text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgcredit.override_block(customer text, reason text)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF customer IS NULL THEN
    RAISE EXCEPTION 'customer must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- above the policy's threshold, only with an approved request
  PERFORM pgcredit._check_approval('override', customer,
    (SELECT coalesce(sum(e.receivables + e.open_orders), 0) FROM pgcredit.exposure e
     WHERE e.customer = override_block.customer));
  PERFORM pgcredit._grant_override(customer, reason);
END
$$;

CREATE OR REPLACE VIEW pgcredit.limit_history AS
SELECT l.customer, l.at AS changed_at,
       CASE WHEN l.action = 'open_account' THEN NULL
            WHEN l.action = 'set_credit_limit' THEN (l.old_value ->> 'credit_limit')::numeric
            ELSE (l.old_value ->> 'temporary_limit')::numeric END AS old_limit,
       CASE WHEN l.action IN ('open_account', 'set_credit_limit') THEN (l.new_value ->> 'credit_limit')::numeric
            ELSE (l.new_value ->> 'temporary_limit')::numeric END AS new_limit,
       l.role_name AS changed_by, l.reason,
       CASE WHEN l.action IN ('open_account', 'set_credit_limit') THEN 'permanent' ELSE 'temporary' END AS kind,
       (l.new_value ->> 'temporary_from')::date AS valid_from,
       (l.new_value ->> 'temporary_until')::date AS valid_until,
       r.id AS request, r.requester AS requested_by,
       CASE WHEN r.auto_approved THEN '(policy)' ELSE r.approver END AS approved_by
FROM pgcredit.audit_log l
LEFT JOIN pgcredit.approval_request r ON r.audit_id = l.id
WHERE l.action IN ('open_account', 'set_credit_limit', 'set_temporary_limit', 'clear_temporary_limit');
COMMENT ON VIEW pgcredit.limit_history IS 'every credit limit set, permanent and temporary, from the audit log, with the request and approval behind it';
COMMENT ON COLUMN pgcredit.limit_history.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.limit_history.changed_at IS 'when';
COMMENT ON COLUMN pgcredit.limit_history.old_limit IS 'limit before (NULL when the account was opened); for a temporary limit, the temporary limit before (NULL = none)';
COMMENT ON COLUMN pgcredit.limit_history.new_limit IS 'limit after; for a temporary limit, the temporary limit after (NULL = cleared)';
COMMENT ON COLUMN pgcredit.limit_history.changed_by IS 'the role that changed it (the approver''s, for an approved request)';
COMMENT ON COLUMN pgcredit.limit_history.reason IS 'the reason given';
COMMENT ON COLUMN pgcredit.limit_history.kind IS 'permanent (credit_limit) or temporary (temporary_limit, for valid_from to valid_until)';
COMMENT ON COLUMN pgcredit.limit_history.valid_from IS 'temporary: first day (NULL = from when it was set)';
COMMENT ON COLUMN pgcredit.limit_history.valid_until IS 'temporary: last day';
COMMENT ON COLUMN pgcredit.limit_history.request IS 'the approval request that made the change; NULL for a direct change';
COMMENT ON COLUMN pgcredit.limit_history.requested_by IS 'the person who requested it';
COMMENT ON COLUMN pgcredit.limit_history.approved_by IS 'the person who approved it, or (policy) when auto-approved';


----------------------------------------------------------------------
-- Credit rules (#12): the credit policy as data, shadow rules,
-- check_order() and its role pgcredit_sales; the account fields the
-- rules read copied onto the exposure row
----------------------------------------------------------------------

DO $roles$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgcredit_sales') THEN
    CREATE ROLE pgcredit_sales NOLOGIN;
  END IF;
END
$roles$;

ALTER TABLE pgcredit.exposure
  ADD COLUMN risk_tier      text,
  ADD COLUMN next_review    date,
  ADD COLUMN temporary_limit numeric,
  ADD COLUMN temporary_from date,
  ADD COLUMN temporary_until date,
  ADD COLUMN order_count    bigint NOT NULL DEFAULT 0,
  ADD COLUMN order_sum      numeric NOT NULL DEFAULT 0;
COMMENT ON COLUMN pgcredit.exposure.risk_tier IS 'the account''s risk tier, copied like credit_limit (rules scoped to a tier read it)';
COMMENT ON COLUMN pgcredit.exposure.next_review IS 'the account''s next review date, copied like credit_limit (limit_expired rules read it)';
COMMENT ON COLUMN pgcredit.exposure.temporary_limit IS 'the account''s temporary limit, copied like credit_limit; the guard uses it within its window';
COMMENT ON COLUMN pgcredit.exposure.temporary_from IS 'first day of the temporary limit, copied like credit_limit';
COMMENT ON COLUMN pgcredit.exposure.temporary_until IS 'last day of the temporary limit, copied like credit_limit';
COMMENT ON COLUMN pgcredit.exposure.order_count IS 'orders the guard let in for the customer (largest_order rules compare an order with the average)';
COMMENT ON COLUMN pgcredit.exposure.order_sum IS 'sum of the amounts of those orders';
-- the copies of the accounts on the exposure rows
UPDATE pgcredit.exposure e SET risk_tier = a.risk_tier, next_review = a.next_review,
  temporary_limit = a.temporary_limit, temporary_from = a.temporary_from, temporary_until = a.temporary_until
FROM pgcredit.account a WHERE a.customer = e.customer;

-- (_lock_exposure is defined in the Currencies section below, after the
-- columns it copies exist)

CREATE OR REPLACE FUNCTION pgcredit.rebuild_exposure()
RETURNS bigint LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  fixed bigint;
  fixed_customers text[];
BEGIN
  -- no change of an account in flight, nor after: the copies of the
  -- accounts made below read them once, and a change that committed while
  -- the copy waited for its exposure row would be undone (a lowered limit
  -- raised again)
  LOCK TABLE pgcredit.account IN SHARE MODE;
  -- no dispute opened or closed meanwhile (they take turns with this, see
  -- open_dispute), before any exposure row is locked
  LOCK TABLE pgcredit.collection_dispute IN SHARE MODE;
  -- the attached tables are read under a SHARE lock, holding their
  -- writers while exposure is recomputed
  WITH actual AS (SELECT * FROM pgcredit._actual_exposure(true)),
  fix AS (
    INSERT INTO pgcredit.exposure AS e (customer, receivables, open_orders)
    SELECT coalesce(x.customer, e0.customer), coalesce(x.receivables, 0), coalesce(x.open_orders, 0)
    FROM actual x FULL JOIN pgcredit.exposure e0 ON e0.customer = x.customer
    WHERE coalesce(e0.receivables, 0) <> coalesce(x.receivables, 0)
       OR coalesce(e0.open_orders, 0) <> coalesce(x.open_orders, 0)
       OR e0.customer IS NULL
    ON CONFLICT (customer) DO UPDATE SET receivables = EXCLUDED.receivables,
                                         open_orders = EXCLUDED.open_orders
    RETURNING e.customer)
  SELECT array_agg(f.customer) INTO fixed_customers FROM fix f;
  -- and the receivables by due date (the tables are locked already)
  WITH actual AS (SELECT * FROM pgcredit._actual_receivable_due()),
  diff AS (
    SELECT coalesce(x.customer, d.customer) AS customer, coalesce(x.due, d.due) AS due, x.amount, x.items
    FROM actual x FULL JOIN pgcredit.receivable_due d ON d.customer = x.customer AND d.due = x.due
    WHERE x.customer IS NULL OR d.customer IS NULL OR x.amount <> d.amount OR x.items <> d.items),
  gone AS (
    DELETE FROM pgcredit.receivable_due d USING diff x
    WHERE x.items IS NULL AND d.customer = x.customer AND d.due = x.due
    RETURNING d.customer),
  put AS (
    INSERT INTO pgcredit.receivable_due AS d (customer, due, amount, items)
    SELECT x.customer, x.due, x.amount, x.items FROM diff x WHERE x.items IS NOT NULL
    ON CONFLICT (customer, due) DO UPDATE SET amount = EXCLUDED.amount, items = EXCLUDED.items
    RETURNING d.customer)
  SELECT fixed_customers || array_agg(f.customer) INTO fixed_customers
  FROM (SELECT g.customer FROM gone g UNION ALL SELECT p.customer FROM put p) f;
  -- and the disputed ones among them (collections_disputes.sql)
  fixed_customers := fixed_customers || pgcredit._rebuild_dispute_due();
  -- and the orders beyond the horizon: the days to come as the tables
  -- hold them; a day that has come is in exposure now
  WITH actual AS (SELECT * FROM pgcredit._actual_order_horizon()),
  diff AS (
    SELECT coalesce(x.customer, d.customer) AS customer, coalesce(x.counts_from, d.counts_from) AS counts_from,
           x.amount, x.items
    FROM actual x FULL JOIN pgcredit.order_horizon d ON d.customer = x.customer AND d.counts_from = x.counts_from
    WHERE x.customer IS NULL OR d.customer IS NULL OR x.amount <> d.amount OR x.items <> d.items),
  gone AS (
    DELETE FROM pgcredit.order_horizon d USING diff x
    WHERE x.items IS NULL AND d.customer = x.customer AND d.counts_from = x.counts_from
    RETURNING d.customer),
  put AS (
    INSERT INTO pgcredit.order_horizon AS d (customer, counts_from, amount, items)
    SELECT x.customer, x.counts_from, x.amount, x.items FROM diff x WHERE x.items IS NOT NULL
    ON CONFLICT (customer, counts_from) DO UPDATE SET amount = EXCLUDED.amount, items = EXCLUDED.items
    RETURNING d.customer)
  SELECT fixed_customers || array_agg(f.customer) INTO fixed_customers
  FROM (SELECT g.customer FROM gone g UNION ALL SELECT p.customer FROM put p) f;
  -- and the company categories, under the same table locks
  fixed_customers := fixed_customers || pgcredit._rebuild_category_exposure();
  SELECT count(DISTINCT c) INTO fixed FROM unnest(fixed_customers) c;
  -- and the copies of the accounts on the exposure rows
  UPDATE pgcredit.exposure e SET has_account = x.has_account, credit_limit = x.credit_limit,
                                 tolerance_pct = x.tolerance_pct, status = x.status,
                                 risk_tier = x.risk_tier, next_review = x.next_review,
                                 temporary_limit = x.temporary_limit, temporary_from = x.temporary_from,
                                 temporary_until = x.temporary_until, currency = x.currency
  FROM (SELECT e2.customer, acc.customer IS NOT NULL AS has_account, acc.credit_limit,
               coalesce(acc.tolerance_pct, 0) AS tolerance_pct, coalesce(acc.status, 'ok') AS status,
               acc.risk_tier, acc.next_review, acc.temporary_limit, acc.temporary_from, acc.temporary_until,
               acc.currency
        FROM pgcredit.exposure e2 LEFT JOIN pgcredit.account acc ON acc.customer = e2.customer) x
  WHERE x.customer = e.customer
    AND (e.has_account, e.credit_limit, e.tolerance_pct, e.status, e.risk_tier, e.next_review,
         e.temporary_limit, e.temporary_from, e.temporary_until, e.currency)
        IS DISTINCT FROM (x.has_account, x.credit_limit, x.tolerance_pct, x.status, x.risk_tier, x.next_review,
                          x.temporary_limit, x.temporary_from, x.temporary_until, x.currency);
  -- and the credit groups, from the customers' repaired exposure
  fixed := fixed + pgcredit._rebuild_group_exposure();
  -- and the copies of the customers' cover
  fixed := fixed + pgcredit._rebuild_cover();
  -- the kept book (book_cache.sql) no longer holds: the rows may have
  -- changed without the guard
  UPDATE pgcredit.book_state SET generation = generation + 1;
  IF fixed > 0 THEN
    PERFORM pgcredit._audit('rebuild_exposure', NULL, NULL, jsonb_build_object('customers_fixed', fixed), NULL);
  END IF;
  RETURN fixed;
END
$$;
COMMENT ON FUNCTION pgcredit.rebuild_exposure() IS
  'recompute exposure, the company categories'' exposure, the receivables by due date (and the disputed ones among them) and the orders beyond the horizon from the attached tables and repair them, and the credit groups'' exposure; returns the number of customers and groups corrected';
REVOKE EXECUTE ON FUNCTION pgcredit.rebuild_exposure() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.rebuild_exposure() TO pgcredit_admin;

COMMENT ON COLUMN pgcredit.settings.max_days_past_due IS 'the days of the rule named ''max days past due'' that set_max_days_past_due() keeps (the guard reads the rule); NULL = no such rule';

CREATE OR REPLACE FUNCTION pgcredit.set_max_days_past_due(days int, reason text)
RETURNS pgcredit.settings LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.settings;
  after pgcredit.settings;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF days < 0 THEN
    RAISE EXCEPTION 'days must not be negative' USING ERRCODE = 'invalid_parameter_value',
      HINT = 'NULL turns the check off.';
  END IF;
  SELECT * INTO before FROM pgcredit.settings FOR UPDATE;
  INSERT INTO pgcredit.settings AS s (max_days_past_due) VALUES (days)
  ON CONFLICT (only_row) DO UPDATE SET max_days_past_due = EXCLUDED.max_days_past_due
  RETURNING * INTO after;
  -- since 1.1 the check is the rule named 'max days past due'
  IF days IS NULL THEN
    DELETE FROM pgcredit.credit_rule c WHERE c.name = 'max days past due';
  ELSE
    UPDATE pgcredit.credit_rule c SET days = set_max_days_past_due.days
    WHERE c.name = 'max days past due' AND c.kind = 'days_past_due';
    IF NOT FOUND THEN
      INSERT INTO pgcredit.credit_rule (name, kind, action, days, note)
      VALUES ('max days past due', 'days_past_due', 'hold', days,
              'kept by pgcredit.set_max_days_past_due()');
    END IF;
  END IF;
  PERFORM pgcredit._audit('set_max_days_past_due', NULL, to_jsonb(before), to_jsonb(after), reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.set_max_days_past_due(int, text) IS
  'refuse orders of customers with open receivables more than this many days past due (NULL = no check), audited; keeps the days_past_due rule named ''max days past due''';

CREATE FUNCTION pgcredit._record_hold_fx(tbl oid, row_key jsonb, customer text, amount numeric, why text,
                                        row_amount numeric, row_currency text, rate_date date)
RETURNS void LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH h AS (
    INSERT INTO pgcredit.held_order (relid, row_key, customer, amount, why, row_amount, row_currency, rate_date)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8
    WHERE NOT EXISTS (SELECT FROM pgcredit.held_order o
                      WHERE o.relid = $1 AND o.row_key = $2 AND o.released_at IS NULL)
    RETURNING *)
  INSERT INTO pgcredit.alert (kind, customer, details)
  SELECT CASE WHEN h.why LIKE 'customer over its credit limit%' THEN 'limit_breached' ELSE 'order_held' END,
         h.customer,
         jsonb_build_object('held_order', h.id, 'table', h.relid::text, 'amount', h.amount, 'why', h.why)
         || CASE WHEN h.row_currency IS NULL THEN '{}'::jsonb
                 ELSE jsonb_build_object('order_amount', h.row_amount, 'order_currency', h.row_currency) END
  FROM h
$$;
COMMENT ON FUNCTION pgcredit._record_hold_fx(oid, jsonb, text, numeric, text, numeric, text, date) IS
  'the guard records a held order (amount in the account''s currency; for an order in a currency of its own, also its amount, currency and rate date as it is), unless the row has an open hold already, and raises its alert (limit_breached or order_held)';
REVOKE EXECUTE ON FUNCTION pgcredit._record_hold_fx(oid, jsonb, text, numeric, text, numeric, text, date) FROM PUBLIC;
CREATE OR REPLACE FUNCTION pgcredit._record_hold(tbl oid, row_key jsonb, customer text, amount numeric, why text)
RETURNS void LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT pgcredit._record_hold_fx($1, $2, $3, $4, $5, NULL, NULL, NULL)
$$;
COMMENT ON FUNCTION pgcredit._record_hold(oid, jsonb, text, numeric, text) IS
  'the guard records a held order in the account''s currency, unless the row has an open hold already, and raises its alert (limit_breached or order_held)';

CREATE TABLE pgcredit.credit_rule (
  id             bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 100) PRIMARY KEY,
  name           text UNIQUE,
  kind           text NOT NULL
                 CHECK (kind IN ('credit_limit', 'account_status', 'days_past_due', 'overdue_amount',
                                 'largest_order', 'utilisation', 'limit_expired')),
  scope          text NOT NULL DEFAULT 'everyone'
                 CHECK (scope IN ('everyone', 'tier', 'group', 'customer')),
  scope_value    text,
  action         text NOT NULL CHECK (action IN ('refuse', 'hold', 'shadow', 'exempt')),
  days           int CHECK (days >= 0),
  amount         numeric CHECK (amount >= 0 AND amount < 'Infinity'),
  share          numeric CHECK (share > 0 AND share < 'Infinity'),
  multiple       numeric CHECK (multiple > 0 AND multiple < 'Infinity'),
  min_orders     int CHECK (min_orders >= 1),
  statuses       text[] CHECK (statuses <@ ARRAY['ok', 'watch', 'hold', 'blocked']),
  valid_from     date CHECK (valid_from > '-infinity'),
  valid_until    date CHECK (valid_until < 'infinity'),
  exclusions     text[] NOT NULL DEFAULT '{}' CHECK (array_position(exclusions, NULL) IS NULL),
  note           text,
  builtin        boolean NOT NULL DEFAULT false,
  created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  created_by     name NOT NULL DEFAULT SESSION_USER,
  CONSTRAINT scope_value_given CHECK ((scope = 'everyone') = (scope_value IS NULL)),
  CONSTRAINT valid_window CHECK (valid_from <= valid_until)
);
COMMENT ON TABLE pgcredit.credit_rule IS 'the credit policy: the rules the guard applies to orders; changed only through pgcredit''s functions, every change audited';
COMMENT ON COLUMN pgcredit.credit_rule.id IS 'rule number, named in every refusal and hold it decides';
COMMENT ON COLUMN pgcredit.credit_rule.name IS 'an optional unique name';
COMMENT ON COLUMN pgcredit.credit_rule.kind IS 'credit_limit, account_status, days_past_due, overdue_amount, largest_order, utilisation or limit_expired';
COMMENT ON COLUMN pgcredit.credit_rule.scope IS 'everyone, tier (scope_value: a risk tier), customer (scope_value: a customer key); group is reserved for credit groups';
COMMENT ON COLUMN pgcredit.credit_rule.scope_value IS 'the tier or customer the rule applies to; NULL for everyone';
COMMENT ON COLUMN pgcredit.credit_rule.action IS 'refuse (an error, also in tables attached in hold mode), hold (held where the table holds orders, refused elsewhere), shadow (only recorded in rule_trial) or exempt (a tier or customer rule that replaces the wider rules of its kind, built-in ones too, stops nothing, and records in rule_trial what it let through)';
COMMENT ON COLUMN pgcredit.credit_rule.days IS 'days_past_due: the most days an open item may be past due; overdue_amount: days of grace after the due date; limit_expired: days of grace after next_review';
COMMENT ON COLUMN pgcredit.credit_rule.amount IS 'overdue_amount: the most that may be overdue; largest_order: the largest order';
COMMENT ON COLUMN pgcredit.credit_rule.share IS 'overdue_amount: the most that may be overdue as a share of the limit; utilisation: the share of the limit above which the rule fires';
COMMENT ON COLUMN pgcredit.credit_rule.multiple IS 'largest_order: the largest order as a multiple of the customer''s average order';
COMMENT ON COLUMN pgcredit.credit_rule.min_orders IS 'largest_order with multiple: the orders a customer must have placed before its average is used (default 5)';
COMMENT ON COLUMN pgcredit.credit_rule.statuses IS 'account_status: the statuses that stop an order';
COMMENT ON COLUMN pgcredit.credit_rule.valid_from IS 'first day the rule is in force; NULL = from its creation';
COMMENT ON COLUMN pgcredit.credit_rule.valid_until IS 'last day the rule is in force; NULL = no end';
COMMENT ON COLUMN pgcredit.credit_rule.exclusions IS 'customer keys the rule does not apply to';
COMMENT ON COLUMN pgcredit.credit_rule.note IS 'why the rule exists, for the people who read the policy';
COMMENT ON COLUMN pgcredit.credit_rule.builtin IS 'one of the rules installed with pgcredit (today''s checks); they cannot be changed or dropped, and more specific rules override them';
COMMENT ON COLUMN pgcredit.credit_rule.created_at IS 'when the rule was added';
COMMENT ON COLUMN pgcredit.credit_rule.created_by IS 'the session user who added it';
REVOKE ALL ON pgcredit.credit_rule FROM PUBLIC;
GRANT SELECT ON pgcredit.credit_rule TO pgcredit_reader;
-- the built-in rules come with CREATE EXTENSION; only the others are dumped
SELECT pg_catalog.pg_extension_config_dump('pgcredit.credit_rule', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.credit_rule_id_seq', '');
COMMENT ON SEQUENCE pgcredit.credit_rule_id_seq IS 'numbers of credit rules; the built-in rules have numbers below 100';

INSERT INTO pgcredit.credit_rule (id, name, kind, action, statuses, note, builtin) VALUES
  (1, 'account status', 'account_status', 'hold', '{hold,blocked}',
   'accounts on hold or blocked take no order that raises exposure', true),
  (2, 'credit limit', 'credit_limit', 'hold', NULL,
   'exposure with the order may not pass the limit in force plus its tolerance', true);

-- Every change of the rules tells every backend to read them again.
CREATE FUNCTION pgcredit._rules_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'pgc_rules_changed'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgcredit._rules_changed() IS
  'statement trigger on credit_rule: invalidates the rules every backend keeps, so that the next order in every session sees the change';
REVOKE EXECUTE ON FUNCTION pgcredit._rules_changed() FROM PUBLIC;
CREATE TRIGGER rules_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgcredit.credit_rule
  FOR EACH STATEMENT EXECUTE FUNCTION pgcredit._rules_changed();

-- Checks of a rule as it would be stored: one message per fault.
CREATE FUNCTION pgcredit._check_rule(r pgcredit.credit_rule)
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  needs text[];
  given text[] := ARRAY[]::text[];
BEGIN
  IF r.kind IS NULL OR r.kind NOT IN ('credit_limit', 'account_status', 'days_past_due', 'overdue_amount',
                                      'largest_order', 'utilisation', 'limit_expired') THEN
    RAISE EXCEPTION 'invalid rule kind "%"', r.kind USING ERRCODE = 'invalid_parameter_value',
      HINT = 'The kind is one of credit_limit, account_status, days_past_due, overdue_amount, largest_order, utilisation and limit_expired.';
  END IF;
  IF r.action IS NULL OR r.action NOT IN ('refuse', 'hold', 'shadow', 'exempt') THEN
    RAISE EXCEPTION 'invalid rule action "%"', r.action USING ERRCODE = 'invalid_parameter_value',
      HINT = 'The action is refuse, hold, shadow or exempt.';
  END IF;
  IF r.scope IS NULL OR r.scope NOT IN ('everyone', 'tier', 'group', 'customer') THEN
    RAISE EXCEPTION 'invalid rule scope "%"', r.scope USING ERRCODE = 'invalid_parameter_value',
      HINT = 'The scope is everyone, tier or customer.';
  END IF;
  IF r.scope = 'group' THEN
    RAISE EXCEPTION 'rules for credit groups are not supported yet' USING ERRCODE = 'feature_not_supported',
      DETAIL = 'The scope "group" is reserved for credit groups, which a later version brings.',
      HINT = 'Scope the rule to everyone, a risk tier or one customer.';
  END IF;
  IF r.scope = 'everyone' AND r.scope_value IS NOT NULL THEN
    RAISE EXCEPTION 'a rule for everyone takes no scope value' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF r.scope <> 'everyone' AND (r.scope_value IS NULL OR btrim(r.scope_value) = '') THEN
    RAISE EXCEPTION 'a rule for a % needs a scope value', r.scope USING ERRCODE = 'invalid_parameter_value',
      HINT = CASE r.scope WHEN 'tier' THEN 'Give the risk tier, A to E.' ELSE 'Give the customer key.' END;
  END IF;
  IF r.scope = 'tier' AND r.scope_value NOT IN ('A', 'B', 'C', 'D', 'E') THEN
    RAISE EXCEPTION 'invalid risk tier "%"', r.scope_value USING ERRCODE = 'invalid_parameter_value',
      HINT = 'A risk tier is one of A, B, C, D and E.';
  END IF;
  IF r.action = 'exempt' AND r.scope = 'everyone' THEN
    RAISE EXCEPTION 'a rule for everyone cannot exempt' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = 'An exempt rule replaces the rules of its kind of a wider scope, and no scope is wider than everyone.',
      HINT = 'Scope it to a risk tier or a customer; to stop using a rule of your own, drop it.';
  END IF;
  IF r.scope = 'customer' AND cardinality(r.exclusions) > 0 THEN
    RAISE EXCEPTION 'a rule for one customer takes no exclusions' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF array_position(r.exclusions, NULL) IS NOT NULL THEN
    RAISE EXCEPTION 'exclusions must not contain null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF r.valid_from IS NOT NULL AND NOT isfinite(r.valid_from) OR r.valid_until IS NOT NULL AND NOT isfinite(r.valid_until) THEN
    RAISE EXCEPTION 'rule validity dates must be finite' USING ERRCODE = 'invalid_parameter_value',
      HINT = 'NULL leaves that end of the window open.';
  END IF;
  IF r.valid_from > r.valid_until THEN
    RAISE EXCEPTION 'rule would end before it starts' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('It would run from %s to %s.', r.valid_from, r.valid_until);
  END IF;
  PERFORM pgcredit._check_amount('amount', r.amount);
  IF r.share = 'NaN' OR r.share IN ('Infinity', '-Infinity') OR r.share <= 0 THEN
    RAISE EXCEPTION 'share must be a positive finite number' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('share is %s.', r.share);
  END IF;
  IF r.multiple = 'NaN' OR r.multiple IN ('Infinity', '-Infinity') OR r.multiple <= 0 THEN
    RAISE EXCEPTION 'multiple must be a positive finite number' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('multiple is %s.', r.multiple);
  END IF;
  IF r.days < 0 THEN
    RAISE EXCEPTION 'days must not be negative' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF r.min_orders < 1 THEN
    RAISE EXCEPTION 'min_orders must be at least 1' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF array_position(r.statuses, NULL) IS NOT NULL
     OR NOT r.statuses <@ ARRAY['ok', 'watch', 'hold', 'blocked'] THEN
    RAISE EXCEPTION 'invalid account statuses %', r.statuses USING ERRCODE = 'invalid_parameter_value',
      HINT = 'A status is one of ok, watch, hold and blocked.';
  END IF;

  -- the parameters each kind takes, and the ones it needs
  IF r.days IS NOT NULL THEN given := array_append(given, 'days'); END IF;
  IF r.amount IS NOT NULL THEN given := array_append(given, 'amount'); END IF;
  IF r.share IS NOT NULL THEN given := array_append(given, 'share'); END IF;
  IF r.multiple IS NOT NULL THEN given := array_append(given, 'multiple'); END IF;
  IF r.min_orders IS NOT NULL THEN given := array_append(given, 'min_orders'); END IF;
  IF r.statuses IS NOT NULL THEN given := array_append(given, 'statuses'); END IF;
  needs := CASE r.kind
    WHEN 'credit_limit' THEN ARRAY[]::text[]
    WHEN 'account_status' THEN ARRAY['statuses']
    WHEN 'days_past_due' THEN ARRAY['days']
    WHEN 'overdue_amount' THEN ARRAY['days', 'amount', 'share']
    WHEN 'largest_order' THEN ARRAY['amount', 'multiple', 'min_orders']
    WHEN 'utilisation' THEN ARRAY['share']
    WHEN 'limit_expired' THEN ARRAY['days'] END;
  IF NOT given <@ needs THEN
    RAISE EXCEPTION 'rule of kind % takes no parameter %', r.kind,
      (SELECT string_agg(g, ', ') FROM unnest(given) g WHERE g <> ALL (needs))
      USING ERRCODE = 'invalid_parameter_value',
      DETAIL = CASE WHEN needs = '{}' THEN format('A rule of kind %s takes no parameters.', r.kind)
                    ELSE format('A rule of kind %s takes %s.', r.kind, array_to_string(needs, ', ')) END;
  END IF;
  IF r.kind = 'days_past_due' AND r.days IS NULL
     OR r.kind = 'account_status' AND (r.statuses IS NULL OR r.statuses = '{}')
     OR r.kind = 'utilisation' AND r.share IS NULL THEN
    RAISE EXCEPTION 'rule of kind % needs %', r.kind,
      CASE r.kind WHEN 'days_past_due' THEN 'days' WHEN 'account_status' THEN 'statuses' ELSE 'share' END
      USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF r.kind = 'overdue_amount' AND r.amount IS NULL AND r.share IS NULL THEN
    RAISE EXCEPTION 'rule of kind overdue_amount needs amount or share' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF r.kind = 'largest_order' AND r.amount IS NULL AND r.multiple IS NULL THEN
    RAISE EXCEPTION 'rule of kind largest_order needs amount or multiple' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF r.kind = 'largest_order' AND r.min_orders IS NOT NULL AND r.multiple IS NULL THEN
    RAISE EXCEPTION 'min_orders needs multiple' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = 'min_orders says how many orders a customer must have placed before its average order is used.';
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_rule(pgcredit.credit_rule) IS 'refuse a malformed rule with one clear error';
REVOKE EXECUTE ON FUNCTION pgcredit._check_rule(pgcredit.credit_rule) FROM PUBLIC;

CREATE FUNCTION pgcredit.add_rule(kind text, action text, reason text,
                                  scope text DEFAULT 'everyone', scope_value text DEFAULT NULL,
                                  days int DEFAULT NULL, amount numeric DEFAULT NULL,
                                  share numeric DEFAULT NULL, multiple numeric DEFAULT NULL,
                                  min_orders int DEFAULT NULL, statuses text[] DEFAULT NULL,
                                  valid_from date DEFAULT NULL, valid_until date DEFAULT NULL,
                                  exclusions text[] DEFAULT '{}', note text DEFAULT NULL,
                                  name text DEFAULT NULL)
RETURNS pgcredit.credit_rule LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  r pgcredit.credit_rule;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  r.kind := kind; r.action := action; r.scope := coalesce(scope, 'everyone'); r.scope_value := scope_value;
  r.days := days; r.amount := amount; r.share := share; r.multiple := multiple; r.min_orders := min_orders;
  r.statuses := statuses; r.valid_from := valid_from; r.valid_until := valid_until;
  r.exclusions := coalesce(exclusions, '{}'); r.note := note; r.name := name;
  PERFORM pgcredit._check_rule(r);
  IF EXISTS (SELECT FROM pgcredit.credit_rule c WHERE c.name = add_rule.name) THEN
    RAISE EXCEPTION 'a rule named "%" already exists', name USING ERRCODE = 'unique_violation';
  END IF;
  INSERT INTO pgcredit.credit_rule AS c (name, kind, scope, scope_value, action, days, amount, share, multiple,
                                         min_orders, statuses, valid_from, valid_until, exclusions, note)
  VALUES (r.name, r.kind, r.scope, r.scope_value, r.action, r.days, r.amount, r.share, r.multiple,
          r.min_orders, r.statuses, r.valid_from, r.valid_until, r.exclusions, r.note)
  RETURNING * INTO r;
  PERFORM pgcredit._audit('add_rule', CASE WHEN r.scope = 'customer' THEN r.scope_value END,
                          NULL, to_jsonb(r), reason);
  RETURN r;
END
$$;
COMMENT ON FUNCTION pgcredit.add_rule(text, text, text, text, text, int, numeric, numeric, numeric, int, text[], date, date, text[], text, text) IS
  'add a credit rule (kind, action, scope, parameters, validity, exclusions), checked and audited; the next order in every session applies it';
REVOKE EXECUTE ON FUNCTION pgcredit.add_rule(text, text, text, text, text, int, numeric, numeric, numeric, int, text[], date, date, text[], text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.add_rule(text, text, text, text, text, int, numeric, numeric, numeric, int, text[], date, date, text[], text, text) TO pgcredit_admin;

-- Change one rule: the columns named in changes, checked as a whole.
CREATE FUNCTION pgcredit._change_rule(id bigint, changes jsonb, action text, reason text)
RETURNS pgcredit.credit_rule LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.credit_rule;
  after pgcredit.credit_rule;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  SELECT * INTO before FROM pgcredit.credit_rule c WHERE c.id = _change_rule.id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'credit rule % does not exist', coalesce(id::text, 'NULL') USING ERRCODE = 'no_data_found';
  END IF;
  IF before.builtin THEN
    RAISE EXCEPTION 'credit rule % is built in and cannot be changed', id USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = format('Rule %s (%s) is today''s check that comes with pgcredit.', id, before.kind),
      HINT = 'Add a rule of the same kind for a tier or a customer: the most specific scope decides.';
  END IF;
  after := jsonb_populate_record(before, changes);
  PERFORM pgcredit._check_rule(after);
  IF changes ? 'delete' THEN
    DELETE FROM pgcredit.credit_rule c WHERE c.id = _change_rule.id;
    after := NULL;
  ELSE
    UPDATE pgcredit.credit_rule c SET action = after.action, valid_from = after.valid_from,
      valid_until = after.valid_until, exclusions = after.exclusions, note = after.note
    WHERE c.id = _change_rule.id;
  END IF;
  PERFORM pgcredit._audit(_change_rule.action, CASE WHEN before.scope = 'customer' THEN before.scope_value END,
                          to_jsonb(before), to_jsonb(after), reason);
  RETURN coalesce(after, before);
END
$$;
COMMENT ON FUNCTION pgcredit._change_rule(bigint, jsonb, text, text) IS 'change or drop a rule that is not built in, checked and audited';
REVOKE EXECUTE ON FUNCTION pgcredit._change_rule(bigint, jsonb, text, text) FROM PUBLIC;

CREATE FUNCTION pgcredit.set_rule_action(id bigint, action text, reason text)
RETURNS pgcredit.credit_rule LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit._change_rule($1, jsonb_build_object('action', $2), 'set_rule_action', $3) $$;
COMMENT ON FUNCTION pgcredit.set_rule_action(bigint, text, text) IS
  'switch a rule between refuse, hold, shadow and exempt (a shadow rule tried on live orders goes live this way), audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_rule_action(bigint, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_rule_action(bigint, text, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.set_rule_validity(id bigint, valid_from date, valid_until date, reason text)
RETURNS pgcredit.credit_rule LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit._change_rule($1, jsonb_build_object('valid_from', $2, 'valid_until', $3), 'set_rule_validity', $4) $$;
COMMENT ON FUNCTION pgcredit.set_rule_validity(bigint, date, date, text) IS
  'set the days a rule is in force (NULL leaves an end open), audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_rule_validity(bigint, date, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_rule_validity(bigint, date, date, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.set_rule_exclusions(id bigint, exclusions text[], reason text)
RETURNS pgcredit.credit_rule LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit._change_rule($1, jsonb_build_object('exclusions', coalesce($2, '{}')), 'set_rule_exclusions', $3) $$;
COMMENT ON FUNCTION pgcredit.set_rule_exclusions(bigint, text[], text) IS
  'set the customers a rule does not apply to, audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_rule_exclusions(bigint, text[], text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_rule_exclusions(bigint, text[], text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.drop_rule(id bigint, reason text)
RETURNS pgcredit.credit_rule LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit._change_rule($1, '{"delete": true}', 'drop_rule', $2) $$;
COMMENT ON FUNCTION pgcredit.drop_rule(bigint, text) IS 'drop a rule that is not built in; returns it as it was; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.drop_rule(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.drop_rule(bigint, text) TO pgcredit_admin;

-- Sums the rules of kinds overdue_amount and days_past_due judge, read
-- from the attached tables; the guard and check_order() read the same
-- from pgcredit.receivable_due, without SQL (the receivable_due test
-- shows they agree).
CREATE FUNCTION pgcredit._overdue_amount(customer text, days int)
RETURNS numeric LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT coalesce(sum(i.amount), 0) FROM pgcredit._attached_items('receivables', $1) i
  WHERE i.counts AND i.amount > 0 AND i.due < current_date - $2
$$;
COMMENT ON FUNCTION pgcredit._overdue_amount(text, int) IS
  'a customer''s open receivables more than "days" past due, summed over every attached receivables table';
REVOKE EXECUTE ON FUNCTION pgcredit._overdue_amount(text, int) FROM PUBLIC;

-- Shadow rules: what they would have done to the orders that went in.
CREATE TABLE pgcredit.rule_trial (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
  rule_id     bigint NOT NULL,
  kind        text NOT NULL,
  customer    text NOT NULL,
  relid       oid NOT NULL,
  amount      numeric NOT NULL,
  sqlstate    text NOT NULL,
  figures     jsonb NOT NULL
);
CREATE INDEX ON pgcredit.rule_trial (rule_id, at);
COMMENT ON SEQUENCE pgcredit.rule_trial_id_seq IS 'numbers of shadow rule trials';
COMMENT ON TABLE pgcredit.rule_trial IS 'what each shadow rule would have done, and what each exempt rule let through: one row for every order it would have stopped (orders refused by a live rule leave no row)';
COMMENT ON COLUMN pgcredit.rule_trial.id IS 'trial number';
COMMENT ON COLUMN pgcredit.rule_trial.at IS 'when the order was checked (its transaction''s start)';
COMMENT ON COLUMN pgcredit.rule_trial.rule_id IS 'the shadow or exempt rule (kept after the rule is dropped)';
COMMENT ON COLUMN pgcredit.rule_trial.kind IS 'the rule''s kind';
COMMENT ON COLUMN pgcredit.rule_trial.customer IS 'the customer of the order';
COMMENT ON COLUMN pgcredit.rule_trial.relid IS 'the order table the order went into';
COMMENT ON COLUMN pgcredit.rule_trial.amount IS 'the order''s amount';
COMMENT ON COLUMN pgcredit.rule_trial.sqlstate IS 'the SQLSTATE the rule would have refused the order with';
COMMENT ON COLUMN pgcredit.rule_trial.figures IS 'the figures the rule judged: exposure with the order, the limit in force or the days, the figure judged (amount, overdue, share, days_overdue) and its threshold';
REVOKE ALL ON pgcredit.rule_trial FROM PUBLIC;
GRANT SELECT ON pgcredit.rule_trial TO pgcredit_reader;
GRANT DELETE ON pgcredit.rule_trial TO pgcredit_admin;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.rule_trial', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.rule_trial_id_seq', '');

CREATE FUNCTION pgcredit._record_trial(rule_id bigint, kind text, customer text, relid oid, amount numeric,
                                       sqlstate text, exposure text, lim text, figure text, threshold text)
RETURNS void LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  INSERT INTO pgcredit.rule_trial (rule_id, kind, customer, relid, amount, sqlstate, figures)
  VALUES ($1, $2, $3, $4, $5, $6,
          jsonb_strip_nulls(jsonb_build_object('exposure', $7::numeric,
                                               CASE WHEN $2 IN ('days_past_due', 'overdue_amount', 'limit_expired')
                                                    THEN 'days' ELSE 'limit' END, $8::numeric,
                                               CASE $2 WHEN 'limit_expired' THEN 'days_overdue'
                                                       WHEN 'utilisation' THEN 'share'
                                                       WHEN 'overdue_amount' THEN 'overdue'
                                                       ELSE 'amount' END,
                                               $9::numeric,
                                               'threshold', $10::numeric)))
$$;
COMMENT ON FUNCTION pgcredit._record_trial(bigint, text, text, oid, numeric, text, text, text, text, text) IS
  'the guard''s record of an order a shadow rule would have stopped, or an exempt rule let through';
REVOKE EXECUTE ON FUNCTION pgcredit._record_trial(bigint, text, text, oid, numeric, text, text, text, text, text) FROM PUBLIC;

-- A verdict without writing, for quote screens and sales tools.
CREATE FUNCTION pgcredit.check_order(customer text, amount numeric, order_table regclass DEFAULT NULL,
                                     prepaid numeric DEFAULT 0, currency text DEFAULT NULL,
                                     rate_date date DEFAULT NULL, delivery_date date DEFAULT NULL,
                                     OUT verdict text, OUT rule_id bigint, OUT kind text,
                                     OUT sqlstate text, OUT reason text, OUT exposure numeric,
                                     OUT credit_available numeric)
RETURNS record
AS 'MODULE_PATHNAME', 'pgc_check_order'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp;
COMMENT ON FUNCTION pgcredit.check_order(text, numeric, regclass, numeric, text, date, date) IS
  'would an order of this amount for this customer pass, be held or be refused, by which rule, and how much credit is available before it; judged by the guard''s own rules, writing nothing (order_table: the table the order would go into, whose mode decides between hold and refuse; prepaid: the prepaid or secured part, which uses no credit, as the table''s prepaid column; currency and rate_date: the order''s currency and the day of its rate, converted into the account''s as the table''s currency column; delivery_date: with a table attached with a horizon, an order delivered beyond it passes unjudged, as the guard lets it wait)';
REVOKE EXECUTE ON FUNCTION pgcredit.check_order(text, numeric, regclass, numeric, text, date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.check_order(text, numeric, regclass, numeric, text, date, date) TO pgcredit_reader, pgcredit_sales;

-- a database that used the setting gets the rule the guard now reads
INSERT INTO pgcredit.credit_rule (name, kind, action, days, note)
SELECT 'max days past due', 'days_past_due', 'hold', s.max_days_past_due,
       'kept by pgcredit.set_max_days_past_due()'
FROM pgcredit.settings s WHERE s.max_days_past_due IS NOT NULL;

----------------------------------------------------------------------
-- Prepaid and secured parts of orders (#12): attach_orders(...,
-- prepaid_column); the part never uses credit
----------------------------------------------------------------------

ALTER TABLE pgcredit.attachment ADD COLUMN prepaid_column name;
COMMENT ON COLUMN pgcredit.attachment.prepaid_column IS 'orders: the prepaid or secured part of an order, which uses no credit (the order counts amount - prepaid, never below 0); NULL = none';

-- the signatures change: the old functions go, the new ones come
DROP FUNCTION pgcredit.attach_orders(regclass, name, name, name, text[], text, name);
-- attaching a table without an index on its customer column says so
-- One customer's rows are read through an index on the customer column
-- (customer_risk and the other per-customer reads filtered by customer,
-- recommend_limit): attaching a table without one says so
CREATE FUNCTION pgcredit._has_customer_index(tbl regclass, customer_column name)
RETURNS boolean LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT EXISTS (
    SELECT FROM pg_catalog.pg_index i
    JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
    JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
    JOIN pg_catalog.pg_am m ON m.oid = c.relam
    WHERE i.indrelid = $1 AND a.attname = $2 AND i.indpred IS NULL AND m.amname IN ('btree', 'hash'))
$$;
COMMENT ON FUNCTION pgcredit._has_customer_index(regclass, name) IS
  'whether the table has a B-tree or hash index, not partial, whose first column is its customer column';
REVOKE EXECUTE ON FUNCTION pgcredit._has_customer_index(regclass, name) FROM PUBLIC;
-- create_customer_index() runs as its caller, an administrator
GRANT EXECUTE ON FUNCTION pgcredit._has_customer_index(regclass, name) TO pgcredit_admin;

CREATE FUNCTION pgcredit._note_customer_index(tbl regclass, customer_column name)
RETURNS void LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF NOT pgcredit._has_customer_index(tbl, customer_column) THEN
    RAISE NOTICE 'table "%" has no index on its customer column "%"', tbl, customer_column
      USING DETAIL = 'pgcredit reads one customer''s rows (customer_risk and the other per-customer views filtered by customer, recommend_limit) through such an index; without one, each such read scans the whole table.',
            HINT = format('Create one: CREATE INDEX CONCURRENTLY ON %s (%I); or SELECT pgcredit.create_customer_index(%L);',
                          tbl, customer_column, tbl::text);
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._note_customer_index(regclass, name) IS
  'for the attach functions: a notice, with the statement that creates one, when the table has no index on its customer column';
REVOKE EXECUTE ON FUNCTION pgcredit._note_customer_index(regclass, name) FROM PUBLIC;

-- Run as the caller, who must own the table: it gives no right
CREATE FUNCTION pgcredit.create_customer_index(tbl regclass)
RETURNS regclass LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  col name;
  idx text;
BEGIN
  IF tbl IS NULL THEN
    RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT a.customer_column INTO col FROM pgcredit.attachment a WHERE a.relid = tbl;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'table "%" is not attached', tbl USING ERRCODE = 'undefined_object';
  END IF;
  IF pgcredit._has_customer_index(tbl, col) THEN
    RAISE EXCEPTION 'table "%" has an index on its customer column "%" already', tbl, col
      USING ERRCODE = 'duplicate_object';
  END IF;
  -- named after the table, in its schema; PostgreSQL shortens a long name
  idx := left((SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = tbl), 40) || '_pgcredit_customer';
  EXECUTE format('CREATE INDEX %I ON %s (%I)', idx, tbl, col);
  RETURN (SELECT i.indexrelid::regclass FROM pg_catalog.pg_index i
          JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
          WHERE i.indrelid = tbl AND c.relname = idx);
END
$$;
COMMENT ON FUNCTION pgcredit.create_customer_index(regclass) IS
  'create a B-tree index on an attached table''s customer column, as the caller (who must own the table), and return it; CREATE INDEX CONCURRENTLY does the same without locking out writers, outside a transaction';
REVOKE EXECUTE ON FUNCTION pgcredit.create_customer_index(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.create_customer_index(regclass) TO pgcredit_admin;

DROP FUNCTION pgcredit._attach(regclass, text, name, name, name, name, text[], text, name, name, name, name);
CREATE FUNCTION pgcredit._attach(tbl regclass, kind text, customer_column name, amount_column name,
                                 due_column name, open_column name, open_values text[],
                                 mode text, hold_column name,
                                 invoice_amount_column name DEFAULT NULL, invoiced_column name DEFAULT NULL,
                                 paid_column name DEFAULT NULL, prepaid_column name DEFAULT NULL,
                                 currency_column name DEFAULT NULL, rate_date_column name DEFAULT NULL,
                                 category text DEFAULT NULL,
                                 delivery_column name DEFAULT NULL, horizon_days integer DEFAULT NULL)
RETURNS pgcredit.attachment LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  full_type text;
  canonical text[];
  v text;
  att pgcredit.attachment;
  c record;
  n bigint;
  cat pgcredit.exposure_category;
  managed boolean;
BEGIN
  IF tbl IS NULL THEN
    RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF (SELECT relkind FROM pg_catalog.pg_class WHERE oid = tbl) NOT IN ('r', 'p') THEN
    RAISE EXCEPTION '"%" is not a table', tbl USING ERRCODE = 'wrong_object_type',
      HINT = 'pgcredit attaches to tables and partitioned tables.';
  END IF;
  -- attaching installs triggers on the table and lets pgcredit read it:
  -- only its owner may ask for that, as for CREATE TRIGGER by the owner
  IF NOT pg_catalog.pg_has_role(pgcredit._actor(),
                                (SELECT relowner FROM pg_catalog.pg_class WHERE oid = tbl), 'USAGE') THEN
    RAISE EXCEPTION 'must be owner of table %', tbl USING ERRCODE = 'insufficient_privilege',
      DETAIL = format('Role %s is not a member of %s, the owner of the table.', pgcredit._actor(),
                      (SELECT relowner::regrole FROM pg_catalog.pg_class WHERE oid = tbl)),
      HINT = 'Attach the table as its owner (a member of pgcredit_admin too).';
  END IF;
  IF (SELECT relnamespace FROM pg_catalog.pg_class WHERE oid = tbl) = 'pgcredit'::regnamespace THEN
    RAISE EXCEPTION 'cannot attach pgcredit''s own table "%"', tbl USING ERRCODE = 'wrong_object_type';
  END IF;
  IF (SELECT relpersistence FROM pg_catalog.pg_class WHERE oid = tbl) = 't' THEN
    RAISE EXCEPTION 'cannot attach temporary table "%"', tbl USING ERRCODE = 'wrong_object_type';
  END IF;
  IF (SELECT relispartition FROM pg_catalog.pg_class WHERE oid = tbl) THEN
    RAISE EXCEPTION 'table "%" is a partition', tbl USING ERRCODE = 'wrong_object_type',
      HINT = 'Attach the partitioned table it belongs to.';
  END IF;
  -- a table Citus distributes lives in shards on the workers: attached
  -- there, each shard's guard keeping its customers' exposure on its node;
  -- only a table distributed by its customer column can be (citus.sql)
  managed := (pgcredit._citus_table(tbl)).method IS NOT NULL;
  IF managed THEN
    PERFORM pgcredit._citus_check_attach(tbl, customer_column, mode);
  ELSIF cardinality(pgcredit._citus_shells()) > 0 THEN
    RAISE EXCEPTION 'cannot attach table "%" of this node while distributed tables are attached', tbl
      USING ERRCODE = 'feature_not_supported',
      DETAIL = 'A customer''s exposure would be split between this node and a worker; the guard on each would see only its part.',
      HINT = format('Distribute it by its customer column, co-located with them: SELECT create_distributed_table(%L, %L, colocate_with => %L);',
                    tbl::text, customer_column, (pgcredit._citus_shells())[1]::regclass::text);
  END IF;
  -- rows of inheritance children would escape the guard, which fires on
  -- the table the row is written to
  IF pgcredit._in_inheritance(tbl) THEN
    RAISE EXCEPTION 'table "%" takes part in table inheritance', tbl USING ERRCODE = 'feature_not_supported',
      DETAIL = 'Rows written to an inheritance child or parent would not be guarded.',
      HINT = 'Attach each table on its own, or use declarative partitioning.';
  END IF;
  IF EXISTS (SELECT FROM pgcredit.attachment a WHERE a.relid = tbl) THEN
    RAISE EXCEPTION 'table "%" is already attached', tbl USING ERRCODE = 'duplicate_object',
      HINT = 'Detach it first with pgcredit.detach().';
  END IF;

  PERFORM pgcredit._column_type(tbl, customer_column, 'customer');
  PERFORM pgcredit._check_attach_column(tbl, customer_column, 'customer');
  PERFORM pgcredit._column_type(tbl, amount_column, 'amount');
  PERFORM pgcredit._check_attach_column(tbl, amount_column, 'amount');
  IF due_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, due_column, 'due date');
    PERFORM pgcredit._check_attach_column(tbl, due_column, 'date');
  END IF;

  IF open_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, open_column, 'open-state');
    PERFORM pgcredit._check_attach_column(tbl, open_column, 'open-state');
    IF open_values IS NULL OR cardinality(open_values) = 0 THEN
      RAISE EXCEPTION 'open_values must list the values of "%" that count as open', open_column
        USING ERRCODE = 'invalid_parameter_value', HINT = 'For example ARRAY[''open'', ''confirmed''].';
    END IF;
    -- keep the values as the column's type, with its modifier, prints
    -- them (character(6) pads, numeric(5,2) shows two decimals), refusing
    -- invalid ones; the types allowed have built-in input functions only
    SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) INTO full_type FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = tbl AND a.attname = open_column;
    FOREACH v IN ARRAY open_values LOOP
      -- numbers without their trailing fractional zeros, as the guard compares them
      EXECUTE format(CASE WHEN full_type LIKE 'numeric%%'
                          THEN 'SELECT pg_catalog.trim_scale($1::%s)::text'
                          ELSE 'SELECT pg_catalog.format(''%%s'', $1::%s)' END, full_type) INTO v USING v;
      canonical := canonical || v;
    END LOOP;
    open_values := canonical;
  ELSIF open_values IS NOT NULL THEN
    RAISE EXCEPTION 'open_values need an open_column' USING ERRCODE = 'invalid_parameter_value';
  END IF;

  IF hold_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, hold_column, 'hold');
    PERFORM pgcredit._check_attach_column(tbl, hold_column, 'hold');
  END IF;
  IF prepaid_column IS NOT NULL THEN
    IF prepaid_column = amount_column THEN
      RAISE EXCEPTION 'the prepaid column must not be the amount column' USING ERRCODE = 'invalid_parameter_value',
        DETAIL = 'An order paid in full in advance has its amount in both; name the column that holds the prepaid part.';
    END IF;
    PERFORM pgcredit._column_type(tbl, prepaid_column, 'amount');
    PERFORM pgcredit._check_attach_column(tbl, prepaid_column, 'amount');
  END IF;
  -- the horizon: both or neither, a date column, a sensible number of days
  IF delivery_column IS NOT NULL OR horizon_days IS NOT NULL THEN
    IF delivery_column IS NULL OR horizon_days IS NULL THEN
      RAISE EXCEPTION 'a horizon needs both a delivery column and horizon_days'
        USING ERRCODE = 'null_value_not_allowed',
        HINT = 'Name the delivery date column and the number of days ahead from which orders count, for example delivery_column => ''deliver_on'', horizon_days => 30.';
    END IF;
    IF horizon_days < 0 OR horizon_days > 3660 THEN
      RAISE EXCEPTION 'horizon_days must be between 0 and 3660' USING ERRCODE = 'invalid_parameter_value',
        DETAIL = format('The value given is %s.', horizon_days);
    END IF;
    PERFORM pgcredit._column_type(tbl, delivery_column, 'delivery date');
    PERFORM pgcredit._check_attach_column(tbl, delivery_column, 'date');
  END IF;
  -- currencies: rows converted into their account's currency
  IF currency_column IS NOT NULL THEN
    PERFORM pgcredit._check_currency_columns(tbl, currency_column, rate_date_column, mode);
  ELSIF rate_date_column IS NOT NULL THEN
    RAISE EXCEPTION 'rate_date_column needs a currency_column' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF mode = 'hold' THEN
    IF hold_column IS NULL THEN
      RAISE EXCEPTION 'hold mode needs a hold column' USING ERRCODE = 'invalid_parameter_value',
        HINT = 'Name a boolean column that pgcredit sets to true on held orders.';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid = tbl AND i.indisprimary) THEN
      RAISE EXCEPTION 'table "%" has no primary key', tbl USING ERRCODE = 'object_not_in_prerequisite_state',
        HINT = 'Held orders are found again by primary key for release.';
    END IF;
  END IF;

  -- the exposure category: the built-in one of the table's kind unless
  -- a category of that kind is named
  cat := pgcredit._category_exists(coalesce(category, CASE kind WHEN 'orders' THEN 'orders' ELSE 'invoices' END));
  IF cat.kind <> kind THEN
    RAISE EXCEPTION 'exposure category "%" is of kind %', cat.name, cat.kind USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('Table %s is attached as %s.', tbl, kind),
      HINT = format('Name a category of kind %s.', kind);
  END IF;

  -- disputes of the table's items (from an earlier attachment) take turns
  -- with this: none is opened or closed until it commits (see open_dispute)
  IF kind = 'receivables' THEN
    LOCK TABLE pgcredit.collection_dispute IN SHARE MODE;
  END IF;
  INSERT INTO pgcredit.attachment (relid, kind, customer_column, amount_column, due_column,
                                   open_column, open_values, mode, hold_column,
                                   invoice_amount_column, invoiced_column, paid_column, prepaid_column,
                                   delivery_column, horizon_days, category, currency_column, rate_date_column)
  VALUES (tbl, kind, customer_column, amount_column, due_column, open_column, open_values, mode, hold_column,
          invoice_amount_column, invoiced_column, paid_column, prepaid_column,
          delivery_column, horizon_days, cat.name, currency_column, rate_date_column)
  RETURNING * INTO att;
  -- a distributed table: its shards attached on their nodes, where its
  -- exposure is kept
  IF managed THEN
    PERFORM pgcredit._citus_attach(att);
    PERFORM pgcredit._audit('attach_' || kind, NULL, NULL, to_jsonb(att), NULL);
    RETURN att;
  END IF;
  -- the triggers, created as the table's owner (which locks the table
  -- against writers until the end of the transaction)
  PERFORM pgcredit._table_triggers(tbl, true);

  -- what the table holds already, read as its owner
  SELECT count(*) INTO n FROM pgcredit._attached_items(NULL, NULL, tbl, true) i
  WHERE i.amount = 'NaN' OR i.amount IN ('Infinity', '-Infinity');
  IF n > 0 THEN
    RAISE EXCEPTION 'table "%" has amounts that are NaN or infinite', tbl
      USING ERRCODE = 'invalid_parameter_value',
      DETAIL = CASE WHEN n = 1 THEN format('One row has such a value in column %I.', amount_column)
                    ELSE format('%s rows have such a value in column %I.', n, amount_column) END,
      HINT = format('Correct them first: SELECT * FROM %s WHERE %I IN (''NaN'', ''Infinity'', ''-Infinity'').', tbl, amount_column);
  END IF;
  -- credit groups: no group order runs while the members' exposure
  -- changes here; the groups are recomputed from it below
  LOCK TABLE pgcredit.group_exposure IN SHARE ROW EXCLUSIVE MODE;
  FOR c IN SELECT i.customer, sum(i.amount) AS amount FROM pgcredit._attached_items(NULL, NULL, tbl) i
           WHERE i.counts GROUP BY i.customer LOOP
    INSERT INTO pgcredit.exposure AS e (customer, receivables, open_orders)
    VALUES (c.customer, CASE WHEN kind = 'receivables' THEN c.amount ELSE 0 END,
            CASE WHEN kind = 'orders' THEN c.amount ELSE 0 END)
    ON CONFLICT (customer) DO UPDATE SET receivables = e.receivables + EXCLUDED.receivables,
                                         open_orders = e.open_orders + EXCLUDED.open_orders;
    -- a company category, under the exposure row lock just taken
    IF NOT cat.built_in THEN
      INSERT INTO pgcredit.category_exposure AS x (customer, category, amount)
      VALUES (c.customer, cat.name, c.amount)
      ON CONFLICT ON CONSTRAINT category_exposure_pkey DO UPDATE SET amount = x.amount + EXCLUDED.amount;
    END IF;
  END LOOP;
  -- and its receivables by due date, under the exposure row locks just taken
  IF kind = 'receivables' AND due_column IS NOT NULL THEN
    INSERT INTO pgcredit.receivable_due AS d (customer, due, amount, items)
    SELECT i.customer, i.due, sum(i.amount), count(*) FROM pgcredit._attached_items(NULL, NULL, tbl) i
    WHERE i.counts AND i.amount > 0 AND i.due IS NOT NULL
    GROUP BY i.customer, i.due
    ON CONFLICT (customer, due) DO UPDATE SET amount = d.amount + EXCLUDED.amount,
                                              items = d.items + EXCLUDED.items;
    -- and the items with a dispute still open among them
    PERFORM pgcredit._dispute_shares(tbl, 1);
  END IF;
  -- and its orders beyond the horizon, under the same locks (every
  -- customer of the table has its exposure row now)
  IF delivery_column IS NOT NULL THEN
    INSERT INTO pgcredit.exposure AS e (customer)
    SELECT DISTINCT i.customer FROM pgcredit._attached_items(NULL, NULL, tbl) i WHERE i.counts_from IS NOT NULL
    ON CONFLICT (customer) DO NOTHING;
    PERFORM FROM pgcredit.exposure e
    WHERE e.customer IN (SELECT i.customer FROM pgcredit._attached_items(NULL, NULL, tbl) i
                         WHERE i.counts_from IS NOT NULL)
    ORDER BY e.customer FOR NO KEY UPDATE;
    INSERT INTO pgcredit.order_horizon AS h (customer, counts_from, amount, items)
    SELECT i.customer, i.counts_from, sum(i.amount), count(*) FROM pgcredit._attached_items(NULL, NULL, tbl) i
    WHERE i.counts_from IS NOT NULL
    GROUP BY i.customer, i.counts_from
    ON CONFLICT (customer, counts_from) DO UPDATE SET amount = h.amount + EXCLUDED.amount,
                                                      items = h.items + EXCLUDED.items;
  END IF;

  PERFORM pgcredit._rebuild_group_exposure();
  PERFORM pgcredit._audit('attach_' || kind, NULL, NULL, to_jsonb(att), NULL);
  PERFORM pgcredit._note_customer_index(tbl, customer_column);
  RETURN att;
END
$$;
COMMENT ON FUNCTION pgcredit._attach(regclass, text, name, name, name, name, text[], text, name, name, name, name, name, name, name, text, name, integer) IS
  'validate a table and its columns, install pgcredit''s triggers and add what the table holds to exposure';
REVOKE EXECUTE ON FUNCTION pgcredit._attach(regclass, text, name, name, name, name, text[], text, name, name, name, name, name, name, name, text, name, integer) FROM PUBLIC;

-- The day each order was placed, for replay_policy(): given to
-- attach_orders() or afterwards (a table attached before version 1.1).
-- Nothing of exposure depends on it, so it changes without a rebuild.
CREATE FUNCTION pgcredit.set_order_date_column(tbl regclass, order_date_column name)
RETURNS pgcredit.attachment LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.attachment;
  att pgcredit.attachment;
BEGIN
  IF tbl IS NULL THEN
    RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT * INTO before FROM pgcredit.attachment a WHERE a.relid = tbl FOR UPDATE;
  IF before.relid IS NULL THEN
    RAISE EXCEPTION 'table "%" is not attached', tbl USING ERRCODE = 'undefined_object',
      HINT = 'Attach it with pgcredit.attach_orders() first.';
  ELSIF before.kind <> 'orders' THEN
    RAISE EXCEPTION 'table "%" is attached as receivables', tbl USING ERRCODE = 'wrong_object_type',
      DETAIL = 'Only an order table has an order date column; receivables have their invoice date.';
  END IF;
  IF order_date_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, order_date_column, 'order date');
    PERFORM pgcredit._check_attach_column(tbl, order_date_column, 'date');
  END IF;
  UPDATE pgcredit.attachment a SET order_date_column = set_order_date_column.order_date_column
  WHERE a.relid = tbl RETURNING * INTO att;
  PERFORM pgcredit._audit('set_order_date_column', NULL, to_jsonb(before), to_jsonb(att), NULL);
  RETURN att;
END
$$;
COMMENT ON FUNCTION pgcredit.set_order_date_column(regclass, name) IS
  'name (or, with NULL, forget) the date column of an attached order table that says when each order was placed, which replay_policy() walks; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_order_date_column(regclass, name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_order_date_column(regclass, name) TO pgcredit_admin;

CREATE FUNCTION pgcredit.attach_orders(tbl regclass, customer_column name, amount_column name,
                                       open_column name DEFAULT NULL, open_values text[] DEFAULT NULL,
                                       mode text DEFAULT 'block', hold_column name DEFAULT NULL,
                                       prepaid_column name DEFAULT NULL,
                                       currency_column name DEFAULT NULL, rate_date_column name DEFAULT NULL,
                                       category text DEFAULT NULL,
                                       delivery_column name DEFAULT NULL, horizon_days integer DEFAULT NULL,
                                       order_date_column name DEFAULT NULL)
RETURNS pgcredit.attachment LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  att pgcredit.attachment;
BEGIN
  IF order_date_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, order_date_column, 'order date');
    PERFORM pgcredit._check_attach_column(tbl, order_date_column, 'date');
  END IF;
  IF mode IS NULL OR mode NOT IN ('block', 'hold') THEN
    RAISE EXCEPTION 'invalid mode "%"', mode USING ERRCODE = 'invalid_parameter_value',
      HINT = 'block refuses an order over the limit with an error; hold lets it in marked held.';
  END IF;
  att := pgcredit._attach(tbl, 'orders', customer_column, amount_column, NULL,
                          open_column, open_values, mode, hold_column,
                          prepaid_column => prepaid_column,
                          currency_column => currency_column, rate_date_column => rate_date_column,
                          category => category,
                          delivery_column => delivery_column, horizon_days => horizon_days);
  IF order_date_column IS NOT NULL THEN
    att := pgcredit.set_order_date_column(tbl, order_date_column);
  END IF;
  RETURN att;
END
$$;
COMMENT ON FUNCTION pgcredit.attach_orders(regclass, name, name, name, text[], text, name, name, name, name, text, name, integer, name) IS
  'attach an order table: its open orders count in exposure (less a prepaid or secured part, when prepaid_column names it; converted into the account''s currency, when currency_column and rate_date_column name them; from horizon_days before their delivery date, when delivery_column names it; order_date_column names the day each order was placed, for replay_policy()) and in its exposure category (orders unless category names a company one), and an order the customer''s credit cannot carry is refused (block) or held (hold)';
REVOKE EXECUTE ON FUNCTION pgcredit.attach_orders(regclass, name, name, name, text[], text, name, name, name, name, text, name, integer, name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.attach_orders(regclass, name, name, name, text[], text, name, name, name, name, text, name, integer, name) TO pgcredit_admin;

CREATE OR REPLACE FUNCTION pgcredit._ddl_guard()
RETURNS event_trigger LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  a pgcredit.attachment;
  dropped text;
BEGIN
  IF NOT EXISTS (SELECT FROM pgcredit.attachment) THEN
    RETURN;
  END IF;
  IF TG_EVENT = 'sql_drop' THEN
    -- a shard Citus drops (moved away, split, or its table dropped after
    -- being detached on the coordinator) leaves this node: its rows' part
    -- of exposure stays, erring on the safe side, until citus_sync()
    -- recomputes the node's exposure
    DELETE FROM pgcredit.attachment x USING pg_catalog.pg_event_trigger_dropped_objects() d
    WHERE x.relid = d.objid AND x.citus_shard_of IS NOT NULL
      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0;
    SELECT d.object_identity INTO dropped
    FROM pg_catalog.pg_event_trigger_dropped_objects() d JOIN pgcredit.attachment x ON x.relid = d.objid
    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0 LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION 'cannot drop table %, which is attached to pgcredit', dropped
        USING ERRCODE = 'dependent_objects_still_exist',
        HINT = 'Detach it first with pgcredit.detach(), which takes its rows out of exposure.';
    END IF;
    RETURN;
  END IF;
  FOR a IN
    SELECT x.* FROM pgcredit.attachment x
    WHERE x.relid IN (SELECT c.objid FROM pg_catalog.pg_event_trigger_ddl_commands() c
                      WHERE c.classid = 'pg_catalog.pg_class'::pg_catalog.regclass)
       OR x.relid IN (SELECT inh.inhparent FROM pg_catalog.pg_inherits inh
                      WHERE inh.inhrelid IN (SELECT c.objid FROM pg_catalog.pg_event_trigger_ddl_commands() c
                                             WHERE c.classid = 'pg_catalog.pg_class'::pg_catalog.regclass))
  LOOP
    IF pgcredit._in_inheritance(a.relid) THEN
      RAISE EXCEPTION 'table % is attached to pgcredit and cannot take part in table inheritance', a.relid
        USING ERRCODE = 'feature_not_supported',
        DETAIL = 'Rows written to an inheritance child or parent would not be guarded.',
        HINT = 'Use declarative partitioning, or detach the table first.';
    END IF;
    BEGIN
      PERFORM pgcredit._check_attach_column(a.relid, a.customer_column, 'customer');
      PERFORM pgcredit._check_attach_column(a.relid, a.amount_column, 'amount');
      PERFORM pgcredit._check_attach_column(a.relid, c, 'date')
      FROM unnest(ARRAY[a.due_column, a.invoiced_column, a.paid_column]) c WHERE c IS NOT NULL;
      IF a.open_column IS NOT NULL THEN
        PERFORM pgcredit._check_attach_column(a.relid, a.open_column, 'open-state');
      END IF;
      IF a.hold_column IS NOT NULL THEN
        PERFORM pgcredit._check_attach_column(a.relid, a.hold_column, 'hold');
      END IF;
      IF a.invoice_amount_column IS NOT NULL THEN
        PERFORM pgcredit._check_attach_column(a.relid, a.invoice_amount_column, 'amount');
      END IF;
      IF a.prepaid_column IS NOT NULL THEN
        PERFORM pgcredit._check_attach_column(a.relid, a.prepaid_column, 'amount');
      END IF;
    EXCEPTION WHEN undefined_column OR datatype_mismatch OR feature_not_supported THEN
      RAISE EXCEPTION 'cannot change table % this way while it is attached to pgcredit', a.relid
        USING ERRCODE = 'object_in_use',
        DETAIL = format('After this change the guard could not read the table: %s.', SQLERRM),
        HINT = 'Detach the table with pgcredit.detach(), change it, and attach it again.';
    END;
  END LOOP;
END
$$;

-- A sales user asks for a limit too (the role exists only from here on)
GRANT EXECUTE ON FUNCTION pgcredit.request_limit(text, numeric, text, date, date) TO pgcredit_sales;

----------------------------------------------------------------------
-- Opening an account with a limit, and raising a tolerance, are raises
-- of the limit, judged by limit_approval_above
CREATE OR REPLACE FUNCTION pgcredit.open_account(customer text, credit_limit numeric DEFAULT NULL,
                                      tolerance_pct numeric DEFAULT 0,
                                      payment_terms_days int DEFAULT NULL,
                                      risk_tier text DEFAULT NULL,
                                      next_review date DEFAULT NULL,
                                      reason text DEFAULT 'account opened')
RETURNS pgcredit.account LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  created pgcredit.account;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF octet_length(customer) > 1000 THEN
    RAISE EXCEPTION 'customer key of % bytes is too long for pgcredit', octet_length(customer)
      USING ERRCODE = 'program_limit_exceeded', DETAIL = 'pgcredit keeps customer keys of up to 1000 bytes.',
      HINT = 'Use a shorter key for the customer, such as a customer number.';
  END IF;
  IF customer IS NULL THEN
    RAISE EXCEPTION 'customer must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM pgcredit._check_amount('credit_limit', credit_limit);
  PERFORM pgcredit._check_amount('tolerance_pct', coalesce(tolerance_pct, 0));
  IF payment_terms_days < 0 THEN
    RAISE EXCEPTION 'payment_terms_days must not be negative' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO pgcredit.account AS a (customer, credit_limit, tolerance_pct, payment_terms_days, risk_tier, next_review)
  VALUES (open_account.customer, open_account.credit_limit, coalesce(open_account.tolerance_pct, 0),
          open_account.payment_terms_days, open_account.risk_tier, open_account.next_review)
  ON CONFLICT ON CONSTRAINT account_pkey DO NOTHING
  RETURNING * INTO created;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'customer "%" already has a credit account', customer USING ERRCODE = 'unique_violation',
      HINT = 'Change it with set_credit_limit(), set_tolerance(), update_account() or the hold functions.';
  END IF;
  -- opening with a limit raises it from none (0), like set_credit_limit;
  -- without one, the customer's orders go unchecked, which raises what no
  -- account allowed unless no_account_policy is allow (no limit anyway)
  PERFORM pgcredit._check_approval('limit', customer,
    CASE WHEN credit_limit IS NOT NULL THEN credit_limit
         WHEN coalesce((SELECT s.no_account_policy FROM pgcredit.settings s LIMIT 1), 'allow') = 'allow' THEN 0
    END);
  PERFORM pgcredit._lock_exposure(customer);
  PERFORM pgcredit._audit('open_account', customer, NULL, to_jsonb(created), reason);
  RETURN created;
END
$$;

CREATE OR REPLACE FUNCTION pgcredit.set_tolerance(customer text, tolerance_pct numeric, reason text)
RETURNS pgcredit.account LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF tolerance_pct IS NULL THEN
    RAISE EXCEPTION 'tolerance_pct must not be null' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Use 0 for no tolerance.';
  END IF;
  PERFORM pgcredit._check_amount('tolerance_pct', tolerance_pct);
  -- a higher tolerance lets orders further over the limit: that much is
  -- a raise of the limit, judged by the same threshold
  PERFORM pgcredit._check_approval('limit', set_tolerance.customer,
    pg_catalog.trim_scale(greatest(a.credit_limit, a.temporary_limit) * (set_tolerance.tolerance_pct - a.tolerance_pct) / 100))
  FROM pgcredit.account a WHERE a.customer = set_tolerance.customer AND a.credit_limit IS NOT NULL
  FOR UPDATE;
  RETURN pgcredit._change_account(customer, jsonb_build_object('tolerance_pct', tolerance_pct),
                                  'set_tolerance', reason);
END
$$;

-- release_held_order: the approval threshold, a rejected hold, and a
-- release that lets in its own order only (one definition for 1.1: the
-- message of one sentence, approvals and the check of what went in)
CREATE OR REPLACE FUNCTION pgcredit.release_held_order(held_id bigint, reason text)
RETURNS pgcredit.held_order LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  h pgcredit.held_order;
  att pgcredit.attachment;
  outcome text;
  had_override boolean;
  exposure_before numeric;
  released numeric;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  SELECT * INTO h FROM pgcredit.held_order o WHERE o.id = held_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'held order % does not exist', held_id USING ERRCODE = 'undefined_object';
  END IF;
  IF h.rejected THEN
    RAISE EXCEPTION 'held order % was rejected', held_id
      USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = format('%s rejected it: %s.', h.released_by, h.release_reason);
  END IF;
  IF h.released_at IS NOT NULL THEN
    RAISE EXCEPTION 'held order % was already released', held_id
      USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = format('%s released it at %s.', h.released_by, h.released_at);
  END IF;
  -- the attachment of the table, or of the partitioned table it belongs to
  SELECT * INTO att FROM pgcredit.attachment a
  WHERE a.relid = h.relid OR a.relid IN (SELECT pg_partition_ancestors(h.relid))
  ORDER BY a.relid = h.relid DESC LIMIT 1;
  IF NOT FOUND OR att.mode <> 'hold' THEN
    RAISE EXCEPTION 'table "%" of held order % is no longer attached in hold mode', h.relid, held_id
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  -- above the policy's threshold, only through an approved request
  PERFORM pgcredit._check_approval('release', h.customer, h.amount, held_id);
  had_override := EXISTS (SELECT FROM pgcredit.override o
                         WHERE o.xid = pg_current_xact_id() AND o.customer = h.customer);
  -- mark the hold released first, so that the guard, seeing the hold mark
  -- cleared, finds no open hold of the row left to close
  UPDATE pgcredit.held_order o SET released_at = now(), released_by = pgcredit._actor(),
                                   release_reason = reason
  WHERE o.id = held_id RETURNING * INTO h;
  -- any other open hold of the same row is released with it
  UPDATE pgcredit.held_order o SET released_at = h.released_at, released_by = h.released_by,
                                   release_reason = reason
  WHERE o.relid = h.relid AND o.row_key = h.row_key AND o.released_at IS NULL;
  exposure_before := (SELECT coalesce(sum(e.receivables + e.open_orders), 0) FROM pgcredit.exposure e
                      WHERE e.customer = h.customer);
  -- what the release counts: an order in a currency of its own is
  -- converted again, at the rate of its rate date as it is now
  released := h.amount;
  IF h.row_currency IS NOT NULL THEN
    SELECT CASE WHEN h.row_currency = pgcredit._effective_currency(e.currency) THEN h.row_amount
                ELSE pgcredit.fx_convert(h.row_amount, h.row_currency, pgcredit._effective_currency(e.currency),
                                         h.rate_date) END
    INTO released FROM pgcredit.exposure e WHERE e.customer = h.customer;
  END IF;
  PERFORM pgcredit._grant_override(h.customer, reason);
  -- the row, changed as the table's owner, only if it still is what was held
  outcome := pgcredit._clear_hold_mark(h.relid, h.row_key, h.customer, coalesce(h.row_amount, h.amount),
                                       h.row_currency, h.rate_date);
  -- the override served this release only: later orders of the
  -- transaction are checked again
  IF NOT had_override THEN
    DELETE FROM pgcredit.override o WHERE o.xid = pg_current_xact_id() AND o.customer = h.customer;
    -- and so were orders the table's triggers wrote meanwhile: more
    -- exposure than the order released went past the check with it
    IF outcome = 'released'
       AND (SELECT coalesce(sum(e.receivables + e.open_orders), 0) FROM pgcredit.exposure e
            WHERE e.customer = h.customer) > exposure_before + released THEN
      RAISE EXCEPTION 'other orders of customer "%" were written while held order % was released', h.customer, held_id
        USING ERRCODE = 'object_not_in_prerequisite_state',
        DETAIL = 'The release lets that order past the credit check, and no other: a trigger of the table wrote more for the customer.',
        HINT = 'Release it when the table''s triggers write no orders, or have those orders checked in a transaction of their own.';
    END IF;
  END IF;
  IF outcome = 'gone' THEN
    RAISE EXCEPTION 'the row of held order % is gone', held_id USING ERRCODE = 'no_data_found',
      DETAIL = format('No row of %s has the key %s.', h.relid, h.row_key);
  ELSIF outcome = 'changed' THEN
    RAISE EXCEPTION 'the row of held order % changed since it was held', held_id
      USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = format('The hold was for %s%s of customer %s, and the row of %s with the key %s no longer holds that order marked held.',
                      coalesce(h.row_amount, h.amount), coalesce(' ' || h.row_currency, ''), h.customer, h.relid, h.row_key),
      HINT = 'Look at the order again in pgcredit.held_orders, and release the hold it has now.';
  END IF;
  PERFORM pgcredit._audit('release_held_order', h.customer, jsonb_build_object('held_order', held_id),
                          jsonb_build_object('amount', h.amount), reason);
  RETURN h;
END
$$;

----------------------------------------------------------------------
-- Release requests made obsolete by their hold's closing
----------------------------------------------------------------------

-- A release request waits for its hold; a hold closed otherwise meanwhile
-- (released directly or by reevaluate_held_orders, its row's hold mark
-- cleared or the row deleted, rejected, its record deleted) leaves the
-- request nothing to decide: it is made obsolete at once, audited
CREATE FUNCTION pgcredit._obsolete_release_requests()
RETURNS trigger LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  h pgcredit.held_order;
  why text;
  x record;
BEGIN
  IF TG_OP = 'DELETE' THEN
    h := OLD;
    why := 'its hold record was deleted';
  ELSE
    h := NEW;
    why := format('its hold was %s: %s', CASE WHEN NEW.rejected THEN 'rejected' ELSE 'closed' END,
                  NEW.release_reason);
  END IF;
  -- a request being approved is 'applying', not pending: it is the one
  -- closing the hold
  FOR x IN
    UPDATE pgcredit.approval_request r SET status = 'obsolete', decided_at = now(), decision_reason = why
    WHERE r.kind = 'release' AND r.held_order = h.id AND r.status = 'pending' AND r.expires_at > now()
    RETURNING r.id, r.kind, r.customer
  LOOP
    PERFORM pgcredit._audit('obsolete_request', x.customer, NULL,
                            jsonb_build_object('request', x.id, 'kind', x.kind, 'held_order', h.id), why);
  END LOOP;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION pgcredit._obsolete_release_requests() IS
  'trigger on held_order: make the pending release requests of a hold closed or deleted obsolete, audited as obsolete_request';
REVOKE EXECUTE ON FUNCTION pgcredit._obsolete_release_requests() FROM PUBLIC;
CREATE TRIGGER obsolete_release_requests AFTER UPDATE OF released_at ON pgcredit.held_order
  FOR EACH ROW WHEN (OLD.released_at IS NULL AND NEW.released_at IS NOT NULL)
  EXECUTE FUNCTION pgcredit._obsolete_release_requests();
CREATE TRIGGER obsolete_release_requests_deleted AFTER DELETE ON pgcredit.held_order
  FOR EACH ROW WHEN (OLD.released_at IS NULL)
  EXECUTE FUNCTION pgcredit._obsolete_release_requests();

----------------------------------------------------------------------
-- The guard keeps the settings row in each backend; a change of the
-- table invalidates the kept copy everywhere.
----------------------------------------------------------------------
-- Every change of the settings tells every backend to read them again:
-- the guard keeps the settings row in memory (src/guard_exposure.c).
CREATE FUNCTION pgcredit._settings_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'pgc_rules_changed'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgcredit._settings_changed() IS
  'statement trigger on settings: invalidates the settings every backend keeps, so that the next order in every session sees the change';
REVOKE EXECUTE ON FUNCTION pgcredit._settings_changed() FROM PUBLIC;
CREATE TRIGGER settings_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgcredit.settings
  FOR EACH STATEMENT EXECUTE FUNCTION pgcredit._settings_changed();


-- Receivables by due date (#12): pgcredit.receivable_due, kept by the
-- guard beside exposure, so that the days_past_due and overdue_amount
-- rules run no SQL statement per order; filled here from the attached
-- receivables tables, and kept by attach, detach and rebuild_exposure
----------------------------------------------------------------------

CREATE TABLE pgcredit.receivable_due (
  customer       text NOT NULL
                 CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  due            date NOT NULL,
  amount         numeric NOT NULL,
  items          integer NOT NULL,
  PRIMARY KEY (customer, due)
) WITH (fillfactor = 50);   -- room for the frequent updates to stay on their page
COMMENT ON TABLE pgcredit.receivable_due IS 'open receivables per customer and due date, kept current by pgcredit''s triggers on the attached receivables tables; the days_past_due and overdue_amount rules read it';
COMMENT ON COLUMN pgcredit.receivable_due.customer IS 'customer key as text';
COMMENT ON COLUMN pgcredit.receivable_due.due IS 'due date';
COMMENT ON COLUMN pgcredit.receivable_due.amount IS 'sum of the open amounts above 0 due that day (the rows that count in exposure)';
COMMENT ON COLUMN pgcredit.receivable_due.items IS 'number of those rows';
REVOKE ALL ON pgcredit.receivable_due FROM PUBLIC;
GRANT SELECT ON pgcredit.receivable_due TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.receivable_due', '');

CREATE FUNCTION pgcredit._actual_receivable_due(lock_tables boolean DEFAULT false)
RETURNS TABLE (customer text, due date, amount numeric, items integer)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT i.customer, i.due, sum(i.amount), count(*)::integer
  FROM pgcredit._attached_items('receivables', NULL, NULL, lock_tables) i
  WHERE i.counts AND i.amount > 0 AND i.due IS NOT NULL AND i.relid <> ALL (CAST((SELECT pgcredit._citus_shells()) AS oid[]))
  GROUP BY i.customer, i.due
$$;
COMMENT ON FUNCTION pgcredit._actual_receivable_due(boolean) IS
  'receivables per customer and due date recomputed from every attached receivables table, as pgcredit.receivable_due keeps them';
REVOKE EXECUTE ON FUNCTION pgcredit._actual_receivable_due(boolean) FROM PUBLIC;

CREATE FUNCTION pgcredit.verify_receivable_due()
RETURNS TABLE (customer text, due date, stored_amount numeric, actual_amount numeric,
               stored_items integer, actual_items integer)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT coalesce(d.customer, a.customer), coalesce(d.due, a.due),
         coalesce(d.amount, 0), coalesce(a.amount, 0),
         coalesce(d.items, 0), coalesce(a.items, 0)
  FROM pgcredit.receivable_due d
  FULL JOIN pgcredit._actual_receivable_due() a ON a.customer = d.customer AND a.due = d.due
  WHERE coalesce(d.amount, 0) <> coalesce(a.amount, 0)
     OR coalesce(d.items, 0) <> coalesce(a.items, 0)
  -- on the coordinator of a Citus cluster, the workers' too
  UNION ALL
  SELECT r.* FROM pgcredit._citus_verify('verify_receivable_due') j
  CROSS JOIN LATERAL jsonb_to_record(j)
    AS r(customer text, due date, stored_amount numeric, actual_amount numeric, stored_items integer,
         actual_items integer)
  ORDER BY 1, 2
$$;
COMMENT ON FUNCTION pgcredit.verify_receivable_due() IS
  'recompute the receivables per customer and due date from the attached tables and list the buckets whose stored figures differ (none when all is well)';
REVOKE EXECUTE ON FUNCTION pgcredit.verify_receivable_due() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.verify_receivable_due() TO pgcredit_reader;

-- what the attached receivables tables hold, read under a SHARE lock
-- that holds their writers until the update commits
INSERT INTO pgcredit.receivable_due (customer, due, amount, items)
SELECT x.customer, x.due, x.amount, x.items FROM pgcredit._actual_receivable_due(true) x;

COMMENT ON FUNCTION pgcredit.rebuild_exposure() IS
  'recompute exposure, the company categories'' exposure, the receivables by due date (and the disputed ones among them) and the orders beyond the horizon from the attached tables and repair them, and the credit groups'' exposure; returns the number of customers and groups corrected';

CREATE OR REPLACE FUNCTION pgcredit.detach(tbl regclass)
RETURNS pgcredit.attachment LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  att pgcredit.attachment;
  c record;
BEGIN
  -- no dispute is opened or closed until this commits (see open_dispute);
  -- its open disputes stay, and count again once the table is attached
  LOCK TABLE pgcredit.collection_dispute IN SHARE MODE;
  SELECT * INTO att FROM pgcredit.attachment a WHERE a.relid = tbl FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'table "%" is not attached', tbl USING ERRCODE = 'undefined_object';
  END IF;
  -- a distributed table: its shards detached on their nodes
  IF tbl::oid = ANY (pgcredit._citus_shells()) THEN
    PERFORM pgcredit._citus_detach(tbl);
    DELETE FROM pgcredit.attachment a WHERE a.relid = tbl;
    PERFORM pgcredit._audit('detach', NULL, to_jsonb(att), NULL, NULL);
    RETURN att;
  END IF;
  -- dropping the triggers (as the table's owner) locks out writers first
  PERFORM pgcredit._table_triggers(tbl, false);
  -- credit groups: no group order runs while the members' exposure
  -- changes here; the groups are recomputed from it below
  LOCK TABLE pgcredit.group_exposure IN SHARE ROW EXCLUSIVE MODE;
  FOR c IN SELECT i.customer, sum(i.amount) AS amount FROM pgcredit._attached_items(NULL, NULL, tbl) i
           WHERE i.counts GROUP BY i.customer LOOP
    UPDATE pgcredit.exposure e SET
      receivables = e.receivables - CASE WHEN att.kind = 'receivables' THEN c.amount ELSE 0 END,
      open_orders = e.open_orders - CASE WHEN att.kind = 'orders' THEN c.amount ELSE 0 END
    WHERE e.customer = c.customer;
    -- a company category, under the exposure row lock just taken
    UPDATE pgcredit.category_exposure x SET amount = x.amount - c.amount
    WHERE x.customer = c.customer AND x.category = att.category
      AND NOT (SELECT k.built_in FROM pgcredit.exposure_category k WHERE k.name = att.category);
  END LOOP;
  -- and its receivables by due date, under the exposure row locks just taken
  IF att.kind = 'receivables' AND att.due_column IS NOT NULL THEN
    -- the disputed ones first, while the table is attached
    PERFORM pgcredit._dispute_shares(tbl, -1);
    UPDATE pgcredit.receivable_due d SET amount = d.amount - x.amount, items = d.items - x.items
    FROM (SELECT i.customer, i.due, sum(i.amount) AS amount, count(*) AS items
          FROM pgcredit._attached_items(NULL, NULL, tbl) i
          WHERE i.counts AND i.amount > 0 AND i.due IS NOT NULL
          GROUP BY i.customer, i.due) x
    WHERE d.customer = x.customer AND d.due = x.due;
    -- a bucket whose last item left goes
    DELETE FROM pgcredit.receivable_due d WHERE d.items <= 0;
  END IF;
  -- and its orders beyond the horizon
  IF att.delivery_column IS NOT NULL THEN
    PERFORM FROM pgcredit.exposure e
    WHERE e.customer IN (SELECT i.customer FROM pgcredit._attached_items(NULL, NULL, tbl) i
                         WHERE i.counts_from IS NOT NULL)
    ORDER BY e.customer FOR NO KEY UPDATE;
    UPDATE pgcredit.order_horizon h SET amount = h.amount - x.amount, items = h.items - x.items
    FROM (SELECT i.customer, i.counts_from, sum(i.amount) AS amount, count(*) AS items
          FROM pgcredit._attached_items(NULL, NULL, tbl) i
          WHERE i.counts_from IS NOT NULL
          GROUP BY i.customer, i.counts_from) x
    WHERE h.customer = x.customer AND h.counts_from = x.counts_from;
    DELETE FROM pgcredit.order_horizon h WHERE h.items <= 0;
  END IF;
  PERFORM pgcredit._rebuild_group_exposure();
  DELETE FROM pgcredit.attachment a WHERE a.relid = tbl;
  PERFORM pgcredit._audit('detach', NULL, to_jsonb(att), NULL, NULL);
  RETURN att;
END
$$;
COMMENT ON FUNCTION pgcredit.detach(regclass) IS
  'remove pgcredit''s triggers from a table and take what it holds out of exposure';
REVOKE EXECUTE ON FUNCTION pgcredit.detach(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.detach(regclass) TO pgcredit_admin;

----------------------------------------------------------------------
-- Credit groups (issue #13): the groups, their members, their exposure
-- kept by the guard, and the copy of a customer's group on its exposure
----------------------------------------------------------------------

ALTER TABLE pgcredit.exposure ADD COLUMN credit_group text;
COMMENT ON COLUMN pgcredit.exposure.credit_group IS 'the customer''s credit group, copied by join_group and leave_group: the guard adds every change of the exposure to that group and the groups above it';


----------------------------------------------------------------------
-- Credit control: credit groups (pgcredit_controller)
----------------------------------------------------------------------

CREATE TABLE pgcredit.credit_group (
  id             text PRIMARY KEY
                 CONSTRAINT group_key_length CHECK (octet_length(id) <= 1000),
  parent         text REFERENCES pgcredit.credit_group,
  credit_limit   numeric CHECK (credit_limit >= 0 AND credit_limit < 'Infinity'),
  tolerance_pct  numeric NOT NULL DEFAULT 0 CHECK (tolerance_pct >= 0 AND tolerance_pct < 'Infinity'),
  name           text,
  created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT group_not_own_parent CHECK (parent <> id)
);
COMMENT ON TABLE pgcredit.credit_group IS 'credit groups: the members of a group and of the groups under it share its limit; changed only through pgcredit''s functions, every change audited';
COMMENT ON COLUMN pgcredit.credit_group.id IS 'group key';
COMMENT ON COLUMN pgcredit.credit_group.parent IS 'the group above it; NULL for a top group (at most 4 levels)';
COMMENT ON COLUMN pgcredit.credit_group.credit_limit IS 'the group''s limit on the exposure of all its members; NULL = no group limit';
COMMENT ON COLUMN pgcredit.credit_group.tolerance_pct IS 'percentage of the group limit the group''s exposure may go above it';
COMMENT ON COLUMN pgcredit.credit_group.name IS 'a name for people';
COMMENT ON COLUMN pgcredit.credit_group.created_at IS 'when the group was created';
COMMENT ON COLUMN pgcredit.credit_group.updated_at IS 'when the group last changed';
REVOKE ALL ON pgcredit.credit_group FROM PUBLIC;
GRANT SELECT ON pgcredit.credit_group TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.credit_group', '');

-- Every change of the groups tells every backend to read their chains
-- again: the guard keeps each group's chain of parents in memory
-- (src/guard_exposure.c).
CREATE FUNCTION pgcredit._groups_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'pgc_rules_changed'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgcredit._groups_changed() IS
  'statement trigger on credit_group: invalidates the group chains every backend keeps, so that the next order in every session sees the change';
REVOKE EXECUTE ON FUNCTION pgcredit._groups_changed() FROM PUBLIC;
CREATE TRIGGER groups_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgcredit.credit_group
  FOR EACH STATEMENT EXECUTE FUNCTION pgcredit._groups_changed();

CREATE TABLE pgcredit.group_member (
  customer       text PRIMARY KEY
                 CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  group_id       text NOT NULL REFERENCES pgcredit.credit_group,
  joined_at      timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX group_member_group ON pgcredit.group_member (group_id);
COMMENT ON TABLE pgcredit.group_member IS 'which credit group a customer belongs to (at most one; a customer needs no account to belong); changed by join_group and leave_group';
COMMENT ON COLUMN pgcredit.group_member.customer IS 'customer key as text';
COMMENT ON COLUMN pgcredit.group_member.group_id IS 'the customer''s group';
COMMENT ON COLUMN pgcredit.group_member.joined_at IS 'when it joined';
REVOKE ALL ON pgcredit.group_member FROM PUBLIC;
GRANT SELECT ON pgcredit.group_member TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.group_member', '');

CREATE TABLE pgcredit.group_exposure (
  group_id       text PRIMARY KEY REFERENCES pgcredit.credit_group ON DELETE CASCADE,
  exposure       numeric NOT NULL DEFAULT 0,
  credit_limit   numeric,
  tolerance_pct  numeric NOT NULL DEFAULT 0,
  parent         text,
  depth          int NOT NULL DEFAULT 1
) WITH (fillfactor = 50);   -- room for the frequent updates to stay on their page
COMMENT ON TABLE pgcredit.group_exposure IS 'live exposure per credit group (its members'' and its groups'' below), kept current by the guard with the customers'' exposure';
COMMENT ON COLUMN pgcredit.group_exposure.group_id IS 'group key';
COMMENT ON COLUMN pgcredit.group_exposure.exposure IS 'receivables + open orders of every customer of the group and of the groups under it';
COMMENT ON COLUMN pgcredit.group_exposure.credit_limit IS 'the group''s limit, copied so that the guard reads it with the row lock it takes';
COMMENT ON COLUMN pgcredit.group_exposure.tolerance_pct IS 'the group''s tolerance, copied like credit_limit';
COMMENT ON COLUMN pgcredit.group_exposure.parent IS 'the group above, copied like credit_limit';
COMMENT ON COLUMN pgcredit.group_exposure.depth IS 'level of the group: 1 for a top group';
REVOKE ALL ON pgcredit.group_exposure FROM PUBLIC;
GRANT SELECT ON pgcredit.group_exposure TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.group_exposure', '');

CREATE FUNCTION pgcredit._group_chain(group_id text)
RETURNS TABLE (group_id text, depth int)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH RECURSIVE chain(group_id, parent, n) AS (
    SELECT g.group_id, g.parent, 1 FROM pgcredit.group_exposure g WHERE g.group_id = $1
    UNION ALL
    SELECT g.group_id, g.parent, c.n + 1 FROM pgcredit.group_exposure g JOIN chain c ON g.group_id = c.parent
    WHERE c.n < 8)
  SELECT c.group_id, (max(c.n) OVER () - c.n + 1)::int FROM chain c ORDER BY c.n DESC
$$;
COMMENT ON FUNCTION pgcredit._group_chain(text) IS 'a group and the groups above it, top group first, with their depth';
REVOKE EXECUTE ON FUNCTION pgcredit._group_chain(text) FROM PUBLIC;
-- group_member_risk calls it as its reader
GRANT EXECUTE ON FUNCTION pgcredit._group_chain(text) TO pgcredit_reader;

CREATE FUNCTION pgcredit._group_exists(group_id text)
RETURNS void LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF group_id IS NULL THEN
    RAISE EXCEPTION 'group must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT EXISTS (SELECT FROM pgcredit.credit_group g WHERE g.id = _group_exists.group_id) THEN
    RAISE EXCEPTION 'credit group "%" does not exist', group_id USING ERRCODE = 'undefined_object',
      HINT = 'Create it with pgcredit.create_group().';
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._group_exists(text) IS 'refuse a null or unknown group';
REVOKE EXECUTE ON FUNCTION pgcredit._group_exists(text) FROM PUBLIC;

CREATE FUNCTION pgcredit._group_check(group_id text, raise numeric, what text)
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  x record;
BEGIN
  -- the rows are locked by the caller and hold the exposure after the raise
  SELECT g.group_id, g.exposure, g.credit_limit, g.tolerance_pct INTO x
  FROM pgcredit.group_exposure g
  WHERE g.group_id = _group_check.group_id AND g.credit_limit IS NOT NULL
    AND g.exposure > g.credit_limit * (1 + g.tolerance_pct / 100);
  IF FOUND AND raise > 0 THEN
    RAISE EXCEPTION '% would exceed the credit limit of group "%"', what, x.group_id
      USING ERRCODE = 'PC014',
      DETAIL = format('The group''s exposure with %s more would be %s against a credit limit of %s%s.',
                      raise, x.exposure, x.credit_limit,
                      CASE WHEN x.tolerance_pct > 0
                           THEN format(' (%s with tolerance)', pg_catalog.trim_scale(x.credit_limit * (1 + x.tolerance_pct / 100)))
                           ELSE '' END),
      HINT = 'Raise the group''s limit with pgcredit.set_group_limit(), or reduce the exposure first.';
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._group_check(text, numeric, text) IS 'refuse (PC014) a move of a customer''s or a group''s exposure ("what" names it) into a group that cannot carry it';
REVOKE EXECUTE ON FUNCTION pgcredit._group_check(text, numeric, text) FROM PUBLIC;

CREATE FUNCTION pgcredit.create_group(group_id text, credit_limit numeric DEFAULT NULL,
                                      tolerance_pct numeric DEFAULT 0, parent text DEFAULT NULL,
                                      name text DEFAULT NULL, reason text DEFAULT 'group created')
RETURNS pgcredit.credit_group LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  created pgcredit.credit_group;
  d int := 1;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF group_id IS NULL THEN
    RAISE EXCEPTION 'group must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF octet_length(group_id) > 1000 THEN
    RAISE EXCEPTION 'group key of % bytes is too long for pgcredit', octet_length(group_id)
      USING ERRCODE = 'program_limit_exceeded', DETAIL = 'pgcredit keeps group keys of up to 1000 bytes.';
  END IF;
  PERFORM pgcredit._check_amount('credit_limit', credit_limit);
  IF tolerance_pct IS NULL THEN
    RAISE EXCEPTION 'tolerance_pct must not be null' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Use 0 for no tolerance.';
  END IF;
  PERFORM pgcredit._check_amount('tolerance_pct', tolerance_pct);
  IF parent IS NOT NULL THEN
    PERFORM pgcredit._group_exists(parent);
    SELECT x.depth + 1 INTO d FROM pgcredit.group_exposure x WHERE x.group_id = create_group.parent FOR KEY SHARE;
    IF d > 4 THEN
      RAISE EXCEPTION 'credit groups nest at most 4 levels deep' USING ERRCODE = 'program_limit_exceeded',
        DETAIL = format('Group "%s" is at level %s already.', parent, d - 1);
    END IF;
  END IF;
  INSERT INTO pgcredit.credit_group AS g (id, parent, credit_limit, tolerance_pct, name)
  VALUES (create_group.group_id, create_group.parent, create_group.credit_limit,
          create_group.tolerance_pct, create_group.name)
  ON CONFLICT ON CONSTRAINT credit_group_pkey DO NOTHING
  RETURNING * INTO created;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'credit group "%" already exists', group_id USING ERRCODE = 'unique_violation';
  END IF;
  INSERT INTO pgcredit.group_exposure (group_id, credit_limit, tolerance_pct, parent, depth)
  VALUES (created.id, created.credit_limit, created.tolerance_pct, created.parent, d);
  PERFORM pgcredit._audit('create_group', NULL, NULL, to_jsonb(created), reason);
  RETURN created;
END
$$;
COMMENT ON FUNCTION pgcredit.create_group(text, numeric, numeric, text, text, text) IS
  'create a credit group (limit NULL = no group limit), under a parent group or at the top, audited';
REVOKE EXECUTE ON FUNCTION pgcredit.create_group(text, numeric, numeric, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.create_group(text, numeric, numeric, text, text, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.set_group_limit(group_id text, credit_limit numeric, reason text,
                                         tolerance_pct numeric DEFAULT NULL)
RETURNS pgcredit.credit_group LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.credit_group;
  after pgcredit.credit_group;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._group_exists(group_id);
  PERFORM pgcredit._check_amount('credit_limit', credit_limit);
  PERFORM pgcredit._check_amount('tolerance_pct', tolerance_pct);
  -- the group's exposure row first, as orders lock it, then the group
  PERFORM FROM pgcredit.group_exposure x WHERE x.group_id = set_group_limit.group_id FOR UPDATE;
  SELECT * INTO before FROM pgcredit.credit_group g WHERE g.id = set_group_limit.group_id FOR UPDATE;
  UPDATE pgcredit.credit_group g SET credit_limit = set_group_limit.credit_limit,
    tolerance_pct = coalesce(set_group_limit.tolerance_pct, g.tolerance_pct), updated_at = now()
  WHERE g.id = set_group_limit.group_id RETURNING * INTO after;
  UPDATE pgcredit.group_exposure x SET credit_limit = after.credit_limit, tolerance_pct = after.tolerance_pct
  WHERE x.group_id = after.id;
  PERFORM pgcredit._audit('set_group_limit', NULL,
    jsonb_build_object('group', before.id, 'credit_limit', before.credit_limit, 'tolerance_pct', before.tolerance_pct),
    jsonb_build_object('group', after.id, 'credit_limit', after.credit_limit, 'tolerance_pct', after.tolerance_pct),
    reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.set_group_limit(text, numeric, text, numeric) IS
  'set a group''s credit limit (NULL removes it) and, when given, its tolerance, with a reason, audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_group_limit(text, numeric, text, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_group_limit(text, numeric, text, numeric) TO pgcredit_controller;

CREATE FUNCTION pgcredit.set_group_parent(group_id text, new_parent text, reason text)
RETURNS pgcredit.credit_group LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.credit_group;
  after pgcredit.credit_group;
  amount numeric;
  new_depth int := 1;
  height int;
  g record;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._group_exists(group_id);
  IF new_parent IS NOT NULL THEN
    PERFORM pgcredit._group_exists(new_parent);
  END IF;
  -- every order of a group waits until this commits, and this waits for
  -- the orders in flight: the chains read by orders stay whole
  LOCK TABLE pgcredit.group_exposure IN SHARE ROW EXCLUSIVE MODE;
  SELECT * INTO before FROM pgcredit.credit_group c WHERE c.id = set_group_parent.group_id FOR UPDATE;
  IF before.parent IS NOT DISTINCT FROM new_parent THEN
    RETURN before;
  END IF;
  IF EXISTS (SELECT FROM pgcredit._group_chain(new_parent) c WHERE c.group_id = set_group_parent.group_id) THEN
    RAISE EXCEPTION 'credit group "%" cannot go under "%", a group under it', group_id, new_parent
      USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Credit groups form a tree: no group is above itself.';
  END IF;
  IF new_parent IS NOT NULL THEN
    SELECT x.depth + 1 INTO new_depth FROM pgcredit.group_exposure x WHERE x.group_id = new_parent;
  END IF;
  -- the levels under the group
  WITH RECURSIVE sub(id, n) AS (
    SELECT set_group_parent.group_id, 0
    UNION ALL
    SELECT c.id, s.n + 1 FROM pgcredit.credit_group c JOIN sub s ON c.parent = s.id WHERE s.n < 8)
  SELECT max(s.n) INTO height FROM sub s;
  IF new_depth + height > 4 THEN
    RAISE EXCEPTION 'credit groups nest at most 4 levels deep' USING ERRCODE = 'program_limit_exceeded',
      DETAIL = format('Group "%s" would be at level %s with %s levels under it.', group_id, new_depth, height);
  END IF;
  SELECT x.exposure INTO amount FROM pgcredit.group_exposure x WHERE x.group_id = set_group_parent.group_id;
  -- the group's exposure leaves the old groups above it for the new ones
  UPDATE pgcredit.group_exposure x SET exposure = x.exposure - amount
  WHERE x.group_id IN (SELECT c.group_id FROM pgcredit._group_chain(before.parent) c)
    AND x.group_id NOT IN (SELECT c.group_id FROM pgcredit._group_chain(new_parent) c);
  UPDATE pgcredit.group_exposure x SET exposure = x.exposure + amount
  WHERE x.group_id IN (SELECT c.group_id FROM pgcredit._group_chain(new_parent) c)
    AND x.group_id NOT IN (SELECT c.group_id FROM pgcredit._group_chain(before.parent) c);
  FOR g IN SELECT c.group_id FROM pgcredit._group_chain(new_parent) c
           WHERE c.group_id NOT IN (SELECT c2.group_id FROM pgcredit._group_chain(before.parent) c2) LOOP
    PERFORM pgcredit._group_check(g.group_id, amount, format('group "%s"', group_id));
  END LOOP;
  UPDATE pgcredit.credit_group c SET parent = new_parent, updated_at = now()
  WHERE c.id = set_group_parent.group_id RETURNING * INTO after;
  UPDATE pgcredit.group_exposure x SET parent = new_parent
  WHERE x.group_id = set_group_parent.group_id;
  -- the levels of the group and of the groups under it
  UPDATE pgcredit.group_exposure x SET depth = d.depth
  FROM (SELECT x2.group_id, (SELECT max(c.depth) FROM pgcredit._group_chain(x2.group_id) c) AS depth
        FROM pgcredit.group_exposure x2) d
  WHERE d.group_id = x.group_id AND x.depth IS DISTINCT FROM d.depth;
  PERFORM pgcredit._audit('set_group_parent', NULL,
    jsonb_build_object('group', before.id, 'parent', before.parent),
    jsonb_build_object('group', after.id, 'parent', after.parent, 'exposure_moved', amount), reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.set_group_parent(text, text, text) IS
  'move a group (with the groups under it and its exposure) under another parent, or to the top with NULL; refused (PC014) when a group it joins cannot carry its exposure; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_group_parent(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_group_parent(text, text, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit._move_customer_group(customer text, to_group text, reason text, action text)
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  from_group text;
  amount numeric;
  g record;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF customer IS NULL THEN
    RAISE EXCEPTION 'customer must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF octet_length(customer) > 1000 THEN
    RAISE EXCEPTION 'customer key of % bytes is too long for pgcredit', octet_length(customer)
      USING ERRCODE = 'program_limit_exceeded', DETAIL = 'pgcredit keeps customer keys of up to 1000 bytes.';
  END IF;
  IF to_group IS NOT NULL THEN
    PERFORM pgcredit._group_exists(to_group);
  END IF;
  -- no order in flight and no other move: an order takes ROW EXCLUSIVE
  -- on group_exposure before it reads its customer's group, and keeps it
  -- until it ends, so the group it read stays its group (a move under it
  -- would make it lock a second chain out of order)
  LOCK TABLE pgcredit.group_exposure IN SHARE ROW EXCLUSIVE MODE;
  LOOP
    SELECT m.group_id INTO from_group FROM pgcredit.group_member m WHERE m.customer = _move_customer_group.customer;
    -- the union of both chains in (depth, id) order, then the customer's row
    PERFORM FROM pgcredit.group_exposure x
    WHERE x.group_id IN (SELECT c.group_id FROM pgcredit._group_chain(from_group) c
                         UNION SELECT c.group_id FROM pgcredit._group_chain(to_group) c)
    ORDER BY x.depth, x.group_id FOR UPDATE OF x;
    PERFORM FROM pgcredit.group_member m WHERE m.customer = _move_customer_group.customer FOR UPDATE;
    EXIT WHEN (SELECT m.group_id FROM pgcredit.group_member m WHERE m.customer = _move_customer_group.customer)
              IS NOT DISTINCT FROM from_group;
  END LOOP;
  IF from_group IS NOT DISTINCT FROM to_group THEN
    IF to_group IS NULL THEN
      RAISE EXCEPTION 'customer "%" belongs to no credit group', customer USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RAISE EXCEPTION 'customer "%" belongs to credit group "%" already', customer, to_group USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM pgcredit._lock_exposure(customer);
  SELECT e.receivables + e.open_orders INTO amount FROM pgcredit.exposure e WHERE e.customer = _move_customer_group.customer;
  UPDATE pgcredit.group_exposure x SET exposure = x.exposure - amount
  WHERE x.group_id IN (SELECT c.group_id FROM pgcredit._group_chain(from_group) c)
    AND x.group_id NOT IN (SELECT c.group_id FROM pgcredit._group_chain(to_group) c);
  UPDATE pgcredit.group_exposure x SET exposure = x.exposure + amount
  WHERE x.group_id IN (SELECT c.group_id FROM pgcredit._group_chain(to_group) c)
    AND x.group_id NOT IN (SELECT c.group_id FROM pgcredit._group_chain(from_group) c);
  -- the groups it joins must carry it, as an order of that much
  FOR g IN SELECT c.group_id FROM pgcredit._group_chain(to_group) c
           WHERE c.group_id NOT IN (SELECT c2.group_id FROM pgcredit._group_chain(from_group) c2) LOOP
    PERFORM pgcredit._group_check(g.group_id, amount, format('customer "%s"', customer));
  END LOOP;
  IF to_group IS NULL THEN
    DELETE FROM pgcredit.group_member m WHERE m.customer = _move_customer_group.customer;
  ELSE
    INSERT INTO pgcredit.group_member AS m (customer, group_id) VALUES (_move_customer_group.customer, to_group)
    ON CONFLICT ON CONSTRAINT group_member_pkey DO UPDATE SET group_id = EXCLUDED.group_id, joined_at = now();
  END IF;
  UPDATE pgcredit.exposure e SET credit_group = to_group WHERE e.customer = _move_customer_group.customer;
  PERFORM pgcredit._audit(action, customer, jsonb_build_object('group', from_group),
                          jsonb_build_object('group', to_group, 'exposure_moved', amount), reason);
END
$$;
COMMENT ON FUNCTION pgcredit._move_customer_group(text, text, text, text) IS
  'move a customer and its whole exposure from its group (if any) to another (or none), checked for the groups it joins, audited';
REVOKE EXECUTE ON FUNCTION pgcredit._move_customer_group(text, text, text, text) FROM PUBLIC;

CREATE FUNCTION pgcredit.join_group(customer text, group_id text, reason text)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF group_id IS NULL THEN
    RAISE EXCEPTION 'group must not be null' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Use pgcredit.leave_group() to leave a group.';
  END IF;
  PERFORM pgcredit._move_customer_group(customer, group_id, reason, 'join_group');
END
$$;
COMMENT ON FUNCTION pgcredit.join_group(text, text, text) IS
  'put a customer in a credit group (leaving its former one), moving its exposure; refused (PC014) when the group cannot carry it; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.join_group(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.join_group(text, text, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.leave_group(customer text, reason text)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._move_customer_group(customer, NULL, reason, 'leave_group');
END
$$;
COMMENT ON FUNCTION pgcredit.leave_group(text, text) IS
  'take a customer out of its credit group, with its exposure, audited';
REVOKE EXECUTE ON FUNCTION pgcredit.leave_group(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.leave_group(text, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.drop_group(group_id text, reason text)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.credit_group;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._group_exists(group_id);
  PERFORM FROM pgcredit.group_exposure x WHERE x.group_id = drop_group.group_id FOR UPDATE;
  SELECT * INTO before FROM pgcredit.credit_group g WHERE g.id = drop_group.group_id FOR UPDATE;
  IF EXISTS (SELECT FROM pgcredit.group_member m WHERE m.group_id = drop_group.group_id)
     OR EXISTS (SELECT FROM pgcredit.credit_group g WHERE g.parent = drop_group.group_id) THEN
    RAISE EXCEPTION 'credit group "%" is not empty', group_id USING ERRCODE = 'dependent_objects_still_exist',
      HINT = 'Take its members out with pgcredit.leave_group() and its groups away first.';
  END IF;
  DELETE FROM pgcredit.credit_group g WHERE g.id = drop_group.group_id;
  PERFORM pgcredit._audit('drop_group', NULL, to_jsonb(before), NULL, reason);
END
$$;
COMMENT ON FUNCTION pgcredit.drop_group(text, text) IS 'drop an empty credit group (no members, no groups under it), audited';
REVOKE EXECUTE ON FUNCTION pgcredit.drop_group(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.drop_group(text, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit._actual_group_exposure()
RETURNS TABLE (group_id text, exposure numeric)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH RECURSIVE up(group_id, ancestor, n) AS (
    SELECT g.id, g.id, 1 FROM pgcredit.credit_group g
    UNION ALL
    SELECT u.group_id, g.parent, u.n + 1 FROM up u JOIN pgcredit.credit_group g ON g.id = u.ancestor
    WHERE g.parent IS NOT NULL AND u.n < 8)
  SELECT g.id, coalesce(sum(e.receivables + e.open_orders), 0)
  FROM pgcredit.credit_group g
  LEFT JOIN up u ON u.ancestor = g.id
  LEFT JOIN pgcredit.group_member m ON m.group_id = u.group_id
  LEFT JOIN pgcredit.exposure e ON e.customer = m.customer
  GROUP BY g.id
$$;
COMMENT ON FUNCTION pgcredit._actual_group_exposure() IS 'exposure per group recomputed from the members'' stored exposure';
REVOKE EXECUTE ON FUNCTION pgcredit._actual_group_exposure() FROM PUBLIC;

CREATE FUNCTION pgcredit.verify_group_exposure()
RETURNS TABLE (group_id text, stored_exposure numeric, actual_exposure numeric)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT coalesce(x.group_id, a.group_id), x.exposure, a.exposure
  FROM pgcredit.group_exposure x
  FULL JOIN pgcredit._actual_group_exposure() a ON a.group_id = x.group_id
  WHERE x.exposure IS DISTINCT FROM a.exposure
  UNION ALL
  -- and the copies of the membership on the exposure rows
  SELECT 'customer ' || e.customer, NULL, NULL
  FROM pgcredit.exposure e LEFT JOIN pgcredit.group_member m ON m.customer = e.customer
  WHERE e.credit_group IS DISTINCT FROM m.group_id
  ORDER BY 1
$$;
COMMENT ON FUNCTION pgcredit.verify_group_exposure() IS
  'list the groups whose stored exposure differs from the sum of their members'' and groups'' exposure, and the customers whose exposure row has a wrong copy of their group (none when all is well)';
REVOKE EXECUTE ON FUNCTION pgcredit.verify_group_exposure() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.verify_group_exposure() TO pgcredit_reader;

CREATE FUNCTION pgcredit._rebuild_group_exposure()
RETURNS bigint LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  fixed bigint;
BEGIN
  LOCK TABLE pgcredit.group_exposure IN SHARE ROW EXCLUSIVE MODE;
  UPDATE pgcredit.exposure e SET credit_group = m.group_id
  FROM pgcredit.exposure e2 LEFT JOIN pgcredit.group_member m ON m.customer = e2.customer
  WHERE e2.customer = e.customer AND e.credit_group IS DISTINCT FROM m.group_id;
  INSERT INTO pgcredit.group_exposure AS x (group_id, exposure, credit_limit, tolerance_pct, parent, depth)
  SELECT g.id, a.exposure, g.credit_limit, g.tolerance_pct, g.parent,
         (SELECT max(c.depth) FROM pgcredit._group_chain(g.id) c)
  FROM pgcredit.credit_group g JOIN pgcredit._actual_group_exposure() a ON a.group_id = g.id
  ON CONFLICT (group_id) DO UPDATE SET exposure = EXCLUDED.exposure, credit_limit = EXCLUDED.credit_limit,
    tolerance_pct = EXCLUDED.tolerance_pct, parent = EXCLUDED.parent, depth = EXCLUDED.depth
  WHERE (x.exposure, x.credit_limit, x.tolerance_pct, x.parent, x.depth)
        IS DISTINCT FROM (EXCLUDED.exposure, EXCLUDED.credit_limit, EXCLUDED.tolerance_pct, EXCLUDED.parent, EXCLUDED.depth);
  GET DIAGNOSTICS fixed = ROW_COUNT;
  RETURN fixed;
END
$$;
COMMENT ON FUNCTION pgcredit._rebuild_group_exposure() IS
  'recompute the groups'' exposure and copies from the members'' exposure; returns the number of groups corrected';
REVOKE EXECUTE ON FUNCTION pgcredit._rebuild_group_exposure() FROM PUBLIC;

CREATE VIEW pgcredit.group_risk AS
  SELECT x.group_id AS credit_group, x.parent, x.depth, x.credit_limit, x.tolerance_pct, x.exposure,
         x.credit_limit - x.exposure AS available,
         (SELECT count(*) FROM pgcredit.group_member m WHERE m.group_id = x.group_id) AS members,
         CASE WHEN x.credit_limit > 0 THEN round(x.exposure / x.credit_limit, 4) END AS utilisation,
         current_date AS day
  FROM pgcredit.group_exposure x;
COMMENT ON VIEW pgcredit.group_risk IS 'each credit group with its limit, exposure (its members'' and its groups''), headroom, direct members and utilisation';
COMMENT ON COLUMN pgcredit.group_risk.credit_group IS 'group key';
COMMENT ON COLUMN pgcredit.group_risk.parent IS 'the group above; NULL for a top group';
COMMENT ON COLUMN pgcredit.group_risk.depth IS 'level of the group: 1 for a top group';
COMMENT ON COLUMN pgcredit.group_risk.credit_limit IS 'the group''s limit; NULL = none';
COMMENT ON COLUMN pgcredit.group_risk.tolerance_pct IS 'percentage of the limit the group may go above it';
COMMENT ON COLUMN pgcredit.group_risk.exposure IS 'receivables + open orders of its members and of the groups under it';
COMMENT ON COLUMN pgcredit.group_risk.available IS 'limit less exposure (negative when over); NULL without a limit';
COMMENT ON COLUMN pgcredit.group_risk.members IS 'customers directly in the group';
COMMENT ON COLUMN pgcredit.group_risk.utilisation IS 'exposure / limit, 4 decimals; NULL without a positive limit';
COMMENT ON COLUMN pgcredit.group_risk.day IS 'the day the view is read: the figures are today''s';
REVOKE ALL ON pgcredit.group_risk FROM PUBLIC;
GRANT SELECT ON pgcredit.group_risk TO pgcredit_reader;

----------------------------------------------------------------------
-- Horizon (issue #13): attach_orders(..., delivery_column, horizon_days);
-- orders delivered further ahead wait in pgcredit.order_horizon until
-- advance_horizon() moves them into exposure
----------------------------------------------------------------------

ALTER TABLE pgcredit.attachment ADD COLUMN delivery_column name,
  ADD COLUMN horizon_days integer CONSTRAINT horizon_days_range CHECK (horizon_days BETWEEN 0 AND 3660),
  ADD CONSTRAINT horizon_both CHECK ((delivery_column IS NULL) = (horizon_days IS NULL));
COMMENT ON COLUMN pgcredit.attachment.delivery_column IS 'orders: the delivery date; an order delivered more than horizon_days after today does not count yet (NULL date: counts now); NULL = no horizon';
COMMENT ON COLUMN pgcredit.attachment.horizon_days IS 'orders: the horizon in days, with delivery_column: an order counts from its delivery date less this many days';

ALTER TABLE pgcredit.alert DROP CONSTRAINT alert_kind_check;
ALTER TABLE pgcredit.alert ADD CONSTRAINT alert_kind_check
  CHECK (kind IN ('score_downgrade', 'tier_change', 'account_hold', 'order_held',
                  'limit_breached', 'overdue_30', 'overdue_60', 'overdue_90',
                  'review_overdue', 'horizon_over_limit'));
COMMENT ON COLUMN pgcredit.alert.kind IS 'score_downgrade, tier_change, account_hold (account put on hold or blocked), order_held, limit_breached (an order held because it would pass the limit), overdue_30/60/90 (the oldest open item crossed that many days past due), review_overdue, horizon_over_limit (orders that came within the horizon took the customer over its limit)';

CREATE TABLE pgcredit.order_horizon (
  customer       text NOT NULL
                 CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  counts_from    date NOT NULL,
  amount         numeric NOT NULL,
  items          integer NOT NULL,
  PRIMARY KEY (customer, counts_from)
) WITH (fillfactor = 50);   -- room for the frequent updates to stay on their page
COMMENT ON TABLE pgcredit.order_horizon IS 'open orders beyond the horizon per customer and the day they start to count (delivery date less the table''s horizon_days), kept by pgcredit''s triggers; advance_horizon() moves the days that came into exposure';
COMMENT ON COLUMN pgcredit.order_horizon.customer IS 'customer key as text';
COMMENT ON COLUMN pgcredit.order_horizon.counts_from IS 'the first day these orders count in exposure: their delivery date less the horizon_days of their table';
COMMENT ON COLUMN pgcredit.order_horizon.amount IS 'sum of the amounts of those orders that use credit (as they would count in open_orders)';
COMMENT ON COLUMN pgcredit.order_horizon.items IS 'number of those orders';
REVOKE ALL ON pgcredit.order_horizon FROM PUBLIC;
GRANT SELECT ON pgcredit.order_horizon TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.order_horizon', '');

CREATE FUNCTION pgcredit._horizon_today()
RETURNS date
AS 'MODULE_PATHNAME', 'pgc_horizon_today'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit._horizon_today() IS
  'the day the guard measures the horizon from: the date in the book''s time zone (settings.time_zone), else current_date; or the superuser-only setting pgcredit.horizon_today when set (for tests)';
REVOKE EXECUTE ON FUNCTION pgcredit._horizon_today() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._horizon_today() TO pgcredit_reader;

-- the rows of the attached tables say when an order counts from: a new
-- result column, so a new function and symbol
DROP FUNCTION pgcredit._attached_items(text, text, regclass, boolean);
CREATE FUNCTION pgcredit._attached_items(kind text DEFAULT NULL, customer text DEFAULT NULL,
                                         relid regclass DEFAULT NULL, lock_tables boolean DEFAULT false)
RETURNS TABLE (relid oid, kind text, customer text, amount numeric, counts boolean, held boolean,
               due date, invoice_amount numeric, invoiced_on date, paid_on date, counts_from date)
AS 'MODULE_PATHNAME', 'pgc_attached_items_v2'
LANGUAGE C VOLATILE ROWS 100000;
COMMENT ON FUNCTION pgcredit._attached_items(text, text, regclass, boolean) IS
  'the rows of the attached tables (of one kind, of one customer, of one table), each table read as its owner in a security-restricted operation; counts says whether the row counts in exposure; counts_from, for an open order beyond its table''s horizon, the day it starts to count (it does not count before)';
REVOKE EXECUTE ON FUNCTION pgcredit._attached_items(text, text, regclass, boolean) FROM PUBLIC;

CREATE FUNCTION pgcredit._actual_order_horizon(lock_tables boolean DEFAULT false)
RETURNS TABLE (customer text, counts_from date, amount numeric, items integer)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT i.customer, i.counts_from, sum(i.amount), count(*)::integer
  FROM pgcredit._attached_items('orders', NULL, NULL, lock_tables) i
  WHERE i.counts_from IS NOT NULL AND i.relid <> ALL (CAST((SELECT pgcredit._citus_shells()) AS oid[]))
  GROUP BY i.customer, i.counts_from
$$;
COMMENT ON FUNCTION pgcredit._actual_order_horizon(boolean) IS
  'orders beyond the horizon per customer and first day they count, recomputed from every attached order table, as pgcredit.order_horizon keeps them';
REVOKE EXECUTE ON FUNCTION pgcredit._actual_order_horizon(boolean) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgcredit.verify_exposure()
RETURNS TABLE (customer text, stored_receivables numeric, actual_receivables numeric,
               stored_orders numeric, actual_orders numeric)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  -- orders beyond the horizon whose day has come count in exposure
  -- already, also while advance_horizon() has not yet moved them there
  WITH stored AS (
    SELECT coalesce(x.customer, h.customer) AS customer, coalesce(x.receivables, 0) AS receivables,
           coalesce(x.open_orders, 0) + coalesce(h.amount, 0) AS open_orders
    FROM pgcredit.exposure x
    FULL JOIN (SELECT h0.customer, sum(h0.amount) AS amount FROM pgcredit.order_horizon h0
               WHERE h0.counts_from <= pgcredit._horizon_today() GROUP BY h0.customer) h
      ON h.customer = x.customer)
  SELECT coalesce(e.customer, a.customer),
         coalesce(e.receivables, 0), coalesce(a.receivables, 0),
         coalesce(e.open_orders, 0), coalesce(a.open_orders, 0)
  FROM stored e
  FULL JOIN pgcredit._actual_exposure() a ON a.customer = e.customer
  WHERE coalesce(e.receivables, 0) <> coalesce(a.receivables, 0)
     OR coalesce(e.open_orders, 0) <> coalesce(a.open_orders, 0)
  -- on the coordinator of a Citus cluster, the workers' exposure too
  UNION ALL
  SELECT * FROM pgcredit._citus_verify_exposure()
  ORDER BY 1
$$;
COMMENT ON FUNCTION pgcredit.verify_exposure() IS
  'recompute exposure from the attached tables and list the customers whose stored exposure differs (none when all is well)';
REVOKE EXECUTE ON FUNCTION pgcredit.verify_exposure() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.verify_exposure() TO pgcredit_reader;

CREATE FUNCTION pgcredit.verify_order_horizon()
RETURNS TABLE (customer text, counts_from date, stored_amount numeric, actual_amount numeric,
               stored_items integer, actual_items integer)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  -- the days that have come count in exposure: verify_exposure() checks them
  SELECT coalesce(d.customer, a.customer), coalesce(d.counts_from, a.counts_from),
         coalesce(d.amount, 0), coalesce(a.amount, 0),
         coalesce(d.items, 0), coalesce(a.items, 0)
  FROM (SELECT * FROM pgcredit.order_horizon h WHERE h.counts_from > pgcredit._horizon_today()) d
  FULL JOIN pgcredit._actual_order_horizon() a ON a.customer = d.customer AND a.counts_from = d.counts_from
  WHERE coalesce(d.amount, 0) <> coalesce(a.amount, 0)
     OR coalesce(d.items, 0) <> coalesce(a.items, 0)
  -- on the coordinator of a Citus cluster, the workers' too
  UNION ALL
  SELECT r.* FROM pgcredit._citus_verify('verify_order_horizon') j
  CROSS JOIN LATERAL jsonb_to_record(j)
    AS r(customer text, counts_from date, stored_amount numeric, actual_amount numeric,
         stored_items integer, actual_items integer)
  ORDER BY 1, 2
$$;
COMMENT ON FUNCTION pgcredit.verify_order_horizon() IS
  'recompute the orders beyond the horizon per customer and day from the attached tables and list the buckets whose stored figures differ (none when all is well)';
REVOKE EXECUTE ON FUNCTION pgcredit.verify_order_horizon() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.verify_order_horizon() TO pgcredit_reader;

CREATE FUNCTION pgcredit.advance_horizon(as_of date DEFAULT pgcredit._horizon_today())
RETURNS TABLE (customer text, moved numeric, orders integer, exposure numeric,
               credit_limit numeric, crossed_limit boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  c record;
  grp text;
  g text;
  pre numeric;
  got numeric;
  n integer;
  x pgcredit.exposure;
  lim numeric;
  total integer := 0;
BEGIN
  IF as_of IS NULL OR NOT isfinite(as_of) THEN
    RAISE EXCEPTION 'as_of must be a finite date' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF as_of > pgcredit._horizon_today() THEN
    RAISE EXCEPTION 'as_of must not be after today' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('as_of is %s and today is %s.', as_of, pgcredit._horizon_today()),
      HINT = 'Orders beyond the horizon count from their day on, not before.';
  END IF;
  -- the lock every order takes while groups exist: no customer changes
  -- group under this function (join_group and leave_group wait for it)
  LOCK TABLE pgcredit.group_exposure IN ROW EXCLUSIVE MODE;
  FOR c IN SELECT h.customer, sum(h.amount) AS amount FROM pgcredit.order_horizon h
           WHERE h.counts_from <= as_of GROUP BY h.customer ORDER BY h.customer LOOP
    -- the guard's lock order: the customer's groups from the top down,
    -- then its exposure row; the buckets are read again under that lock
    SELECT e.credit_group INTO grp FROM pgcredit.exposure e WHERE e.customer = c.customer;
    pre := c.amount;
    IF grp IS NOT NULL THEN
      FOR g IN SELECT ch.group_id FROM pgcredit._group_chain(grp) ch ORDER BY ch.depth LOOP
        UPDATE pgcredit.group_exposure ge SET exposure = ge.exposure + pre WHERE ge.group_id = g;
      END LOOP;
    END IF;
    PERFORM FROM pgcredit.exposure e WHERE e.customer = c.customer FOR NO KEY UPDATE;
    WITH gone AS (DELETE FROM pgcredit.order_horizon h
                  WHERE h.customer = c.customer AND h.counts_from <= as_of
                  RETURNING h.amount, h.items)
    SELECT coalesce(sum(g.amount), 0), coalesce(sum(g.items), 0) INTO got, n FROM gone g;
    IF grp IS NOT NULL AND got <> pre THEN
      FOR g IN SELECT ch.group_id FROM pgcredit._group_chain(grp) ch ORDER BY ch.depth LOOP
        UPDATE pgcredit.group_exposure ge SET exposure = ge.exposure + (got - pre) WHERE ge.group_id = g;
      END LOOP;
    END IF;
    UPDATE pgcredit.exposure e SET open_orders = e.open_orders + got
    WHERE e.customer = c.customer RETURNING e.* INTO x;
    IF NOT FOUND THEN
      -- a bucket without an exposure row (made by hand): the row, with a
      -- copy of the account, as the guard makes it
      INSERT INTO pgcredit.exposure AS e (customer, open_orders, has_account, credit_limit, tolerance_pct,
                                          status, risk_tier, next_review, temporary_limit,
                                          temporary_from, temporary_until)
      SELECT c.customer, got, a.customer IS NOT NULL, a.credit_limit, coalesce(a.tolerance_pct, 0),
             coalesce(a.status, 'ok'), a.risk_tier, a.next_review, a.temporary_limit,
             a.temporary_from, a.temporary_until
      FROM (SELECT) AS one LEFT JOIN pgcredit.account a ON a.customer = c.customer
      RETURNING e.* INTO x;
    END IF;
    total := total + 1;
    -- the limit in force on as_of: a temporary limit within its window
    lim := CASE WHEN x.temporary_limit IS NOT NULL AND as_of BETWEEN x.temporary_from AND x.temporary_until
                THEN x.temporary_limit ELSE x.credit_limit END;
    customer := c.customer;
    moved := got;
    orders := n;
    exposure := x.receivables + x.open_orders;
    credit_limit := lim;
    crossed_limit := lim IS NOT NULL
      AND pgcredit.exposure_over_limit(exposure, lim, x.tolerance_pct) > 0
      AND pgcredit.exposure_over_limit(exposure - got, lim, x.tolerance_pct) = 0;
    IF crossed_limit THEN
      INSERT INTO pgcredit.alert (kind, customer, details)
      VALUES ('horizon_over_limit', c.customer,
              jsonb_build_object('as_of', as_of, 'moved', got, 'orders', n, 'exposure', exposure,
                                 'credit_limit', lim, 'tolerance_pct', x.tolerance_pct));
    END IF;
    RETURN NEXT;
  END LOOP;
  IF total > 0 THEN
    PERFORM pgcredit._audit('advance_horizon', NULL, NULL,
                            jsonb_build_object('as_of', as_of, 'customers', total), NULL);
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit.advance_horizon(date) IS
  'move the orders beyond the horizon whose day has come (counts_from on or before as_of) into exposure, once; returns the customers moved, alerting (horizon_over_limit) those it took over their limit';
REVOKE EXECUTE ON FUNCTION pgcredit.advance_horizon(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.advance_horizon(date) TO pgcredit_admin;

CREATE VIEW pgcredit.future_orders AS
  SELECT h.customer, h.counts_from, h.amount, h.items,
         h.counts_from <= pgcredit._horizon_today() AS due_to_move,
         pgcredit._horizon_today() AS day
  FROM pgcredit.order_horizon h;
COMMENT ON VIEW pgcredit.future_orders IS
  'open orders beyond the horizon per customer and the day they start to count; due_to_move marks days that have come, which count already and which advance_horizon() moves into exposure';
COMMENT ON COLUMN pgcredit.future_orders.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.future_orders.counts_from IS 'the first day these orders count in exposure: their delivery date less their table''s horizon_days';
COMMENT ON COLUMN pgcredit.future_orders.amount IS 'sum of their amounts that use credit';
COMMENT ON COLUMN pgcredit.future_orders.items IS 'number of orders';
COMMENT ON COLUMN pgcredit.future_orders.due_to_move IS 'whether their day has come (advance_horizon() has not moved them yet)';
COMMENT ON COLUMN pgcredit.future_orders.day IS 'the book''s today (pgcredit._horizon_today()), which due_to_move compares with';
REVOKE ALL ON pgcredit.future_orders FROM PUBLIC;
GRANT SELECT ON pgcredit.future_orders TO pgcredit_reader;

----------------------------------------------------------------------
-- Cover (issue #13): credit insurance, bank guarantees, letters of
-- credit, collateral and deposits; the cover that counts raises the
-- effective limit the guard applies, through a copy on the exposure row
----------------------------------------------------------------------

ALTER TABLE pgcredit.exposure ADD COLUMN cover_counted numeric, ADD COLUMN cover_from date,
  ADD COLUMN cover_until date;
COMMENT ON COLUMN pgcredit.exposure.cover_counted IS 'the cover that counts towards the customer''s limit from cover_from to cover_until (NULL: none), copied by the cover functions so that the guard adds it without a query';
COMMENT ON COLUMN pgcredit.exposure.cover_from IS 'first day cover_counted holds (NULL: since ever)';
COMMENT ON COLUMN pgcredit.exposure.cover_until IS 'last day cover_counted holds (NULL: for ever); on another day the guard makes the copy again first';

CREATE TABLE pgcredit.cover_policy (
  kind           text PRIMARY KEY
                 CHECK (kind IN ('credit_insurance', 'bank_guarantee', 'letter_of_credit', 'collateral', 'deposit')),
  counts         boolean NOT NULL,
  counted_pct    numeric NOT NULL CHECK (counted_pct >= 0 AND counted_pct <= 100),
  insures        boolean NOT NULL,
  notice_days    int NOT NULL CHECK (notice_days >= 0)
);
COMMENT ON TABLE pgcredit.cover_policy IS 'how a kind of cover counts, where set_cover_policy() changed the default (cover_policy_in_force shows every kind); empty in a fresh install';
COMMENT ON COLUMN pgcredit.cover_policy.kind IS 'credit_insurance, bank_guarantee, letter_of_credit, collateral or deposit';
COMMENT ON COLUMN pgcredit.cover_policy.counts IS 'whether a cover of this kind raises the customer''s effective limit while it is valid and granted';
COMMENT ON COLUMN pgcredit.cover_policy.counted_pct IS 'the percentage of the cover''s value (amount times share less deductible) added to the limit when it counts';
COMMENT ON COLUMN pgcredit.cover_policy.insures IS 'whether a cover of this kind insures exposure (insured and uninsured exposure, the exposure_uninsured alert)';
COMMENT ON COLUMN pgcredit.cover_policy.notice_days IS 'the cover_expiring alert fires this many days before a cover of this kind ends';
REVOKE ALL ON pgcredit.cover_policy FROM PUBLIC;
GRANT SELECT ON pgcredit.cover_policy TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.cover_policy', '');

-- The defaults, and the policy as set_cover_policy() changed it
CREATE VIEW pgcredit.cover_policy_in_force AS
  SELECT d.kind, coalesce(p.counts, d.counts) AS counts, coalesce(p.counted_pct, d.counted_pct) AS counted_pct,
         coalesce(p.insures, d.insures) AS insures, coalesce(p.notice_days, d.notice_days) AS notice_days,
         p.kind IS NULL AS is_default
  FROM (VALUES ('credit_insurance', false, 0::numeric, true, 30),
               ('bank_guarantee', true, 100::numeric, false, 30),
               ('letter_of_credit', true, 100::numeric, false, 30),
               ('collateral', true, 50::numeric, false, 30),
               ('deposit', true, 100::numeric, false, 30)) AS d(kind, counts, counted_pct, insures, notice_days)
  LEFT JOIN pgcredit.cover_policy p ON p.kind = d.kind;
COMMENT ON VIEW pgcredit.cover_policy_in_force IS 'how each kind of cover counts: the defaults (deposits, bank guarantees and letters of credit fully, collateral half, credit insurance not towards the limit but as insurance), as set_cover_policy() changed them';
COMMENT ON COLUMN pgcredit.cover_policy_in_force.kind IS 'kind of cover';
COMMENT ON COLUMN pgcredit.cover_policy_in_force.counts IS 'whether it raises the effective limit';
COMMENT ON COLUMN pgcredit.cover_policy_in_force.counted_pct IS 'the percentage of its value added to the limit';
COMMENT ON COLUMN pgcredit.cover_policy_in_force.insures IS 'whether it insures exposure';
COMMENT ON COLUMN pgcredit.cover_policy_in_force.notice_days IS 'days before its end the cover_expiring alert fires';
COMMENT ON COLUMN pgcredit.cover_policy_in_force.is_default IS 'true when set_cover_policy() never changed it';
REVOKE ALL ON pgcredit.cover_policy_in_force FROM PUBLIC;
GRANT SELECT ON pgcredit.cover_policy_in_force TO pgcredit_reader;

CREATE TABLE pgcredit.cover (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer       text NOT NULL
                 CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  kind           text NOT NULL
                 CHECK (kind IN ('credit_insurance', 'bank_guarantee', 'letter_of_credit', 'collateral', 'deposit')),
  issuer         text NOT NULL CHECK (btrim(issuer) <> ''),
  amount         numeric NOT NULL CHECK (amount >= 0 AND amount < 'Infinity'),
  share_pct      numeric NOT NULL DEFAULT 100 CHECK (share_pct >= 0 AND share_pct <= 100),
  deductible     numeric NOT NULL DEFAULT 0 CHECK (deductible >= 0 AND deductible < 'Infinity'),
  valid_from     date NOT NULL CHECK (valid_from > '-infinity' AND valid_from < 'infinity'),
  valid_until    date CHECK (valid_until < 'infinity'),
  decision       text NOT NULL DEFAULT 'granted'
                 CHECK (decision IN ('requested', 'granted', 'reduced', 'refused', 'withdrawn')),
  decided_on     date,
  decision_ref   text,
  notes          text,
  ended_at       timestamptz,
  created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  created_by     name NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_by     name NOT NULL,
  CONSTRAINT cover_window CHECK (valid_until >= valid_from)
);
CREATE INDEX cover_customer ON pgcredit.cover (customer);
COMMENT ON TABLE pgcredit.cover IS 'cover of customers'' exposure: credit insurance limits, bank guarantees, letters of credit, collateral and deposits; changed only through add_cover(), change_cover(), decide_cover() and end_cover(), every change audited';
COMMENT ON COLUMN pgcredit.cover.id IS 'cover number';
COMMENT ON COLUMN pgcredit.cover.customer IS 'customer key (a customer with a credit account)';
COMMENT ON COLUMN pgcredit.cover.kind IS 'credit_insurance, bank_guarantee, letter_of_credit, collateral or deposit (cover_policy says how it counts)';
COMMENT ON COLUMN pgcredit.cover.issuer IS 'the insurer, bank or holder';
COMMENT ON COLUMN pgcredit.cover.amount IS 'the amount guaranteed, pledged or deposited; for credit insurance, the limit the insurer grants on the customer';
COMMENT ON COLUMN pgcredit.cover.share_pct IS 'the percentage of a loss the cover pays (e.g. 90 for insurance), 0 to 100';
COMMENT ON COLUMN pgcredit.cover.deductible IS 'the part of a loss the company bears before the cover pays';
COMMENT ON COLUMN pgcredit.cover.valid_from IS 'first day the cover is valid';
COMMENT ON COLUMN pgcredit.cover.valid_until IS 'last day the cover is valid, included; NULL = until ended';
COMMENT ON COLUMN pgcredit.cover.decision IS 'the insurer''s or issuer''s decision: requested, granted, reduced, refused or withdrawn; only granted and reduced cover counts';
COMMENT ON COLUMN pgcredit.cover.decided_on IS 'the day of the decision';
COMMENT ON COLUMN pgcredit.cover.decision_ref IS 'the insurer''s or issuer''s reference of the decision';
COMMENT ON COLUMN pgcredit.cover.notes IS 'free notes';
COMMENT ON COLUMN pgcredit.cover.ended_at IS 'when end_cover() ended it at once; an ended cover counts no more';
COMMENT ON COLUMN pgcredit.cover.created_at IS 'when it was recorded';
COMMENT ON COLUMN pgcredit.cover.created_by IS 'the role that recorded it';
COMMENT ON COLUMN pgcredit.cover.updated_at IS 'when it last changed';
COMMENT ON COLUMN pgcredit.cover.updated_by IS 'the role that last changed it';
REVOKE ALL ON pgcredit.cover FROM PUBLIC;
GRANT SELECT ON pgcredit.cover TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.cover', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.cover_id_seq', '');
COMMENT ON SEQUENCE pgcredit.cover_id_seq IS 'numbers of covers (cover.id)';

CREATE FUNCTION pgcredit._cover_value(amount numeric, share_pct numeric, deductible numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT greatest(round($1 * $2 / 100, 2) - $3, 0) $$;
COMMENT ON FUNCTION pgcredit._cover_value(numeric, numeric, numeric) IS
  'what a cover is worth at most: its amount times its share, rounded to cents, less its deductible, never below 0';
REVOKE EXECUTE ON FUNCTION pgcredit._cover_value(numeric, numeric, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._cover_value(numeric, numeric, numeric) TO pgcredit_reader;

CREATE FUNCTION pgcredit._cover_window(customer text, day date)
RETURNS TABLE (counted numeric, valid_from date, valid_until date)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  -- the covers that count, and the days the counted sum changes: each
  -- cover's first day and the day after its last
  RETURN QUERY
  WITH c AS (
    SELECT c.valid_from AS f, c.valid_until AS u,
           round(pgcredit._cover_value(c.amount, c.share_pct, c.deductible) * p.counted_pct / 100, 2) AS v
    FROM pgcredit.cover c JOIN pgcredit.cover_policy_in_force p ON p.kind = c.kind
    WHERE c.customer = $1 AND p.counts AND c.decision IN ('granted', 'reduced') AND c.ended_at IS NULL),
  b AS (SELECT c.f AS d FROM c UNION SELECT c.u + 1 FROM c WHERE c.u IS NOT NULL)
  SELECT (SELECT pg_catalog.trim_scale(sum(c.v)) FROM c WHERE c.f <= $2 AND (c.u IS NULL OR c.u >= $2)),
         (SELECT max(b.d) FROM b WHERE b.d <= $2),
         (SELECT min(b.d) - 1 FROM b WHERE b.d > $2);
END
$$;
COMMENT ON FUNCTION pgcredit._cover_window(text, date) IS
  'the cover counted towards a customer''s limit on a day (NULL: none), and the days around it over which that sum stays the same (NULL: unbounded)';
REVOKE EXECUTE ON FUNCTION pgcredit._cover_window(text, date) FROM PUBLIC;

CREATE FUNCTION pgcredit._cover_refresh(customer text)
RETURNS TABLE (counted numeric, valid_from date, valid_until date)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  UPDATE pgcredit.exposure e SET cover_counted = w.counted, cover_from = w.valid_from, cover_until = w.valid_until
  FROM pgcredit._cover_window($1, current_date) w
  WHERE e.customer = $1
  RETURNING e.cover_counted, e.cover_from, e.cover_until
$$;
COMMENT ON FUNCTION pgcredit._cover_refresh(text) IS
  'copy the cover counted today, and the days it stays the same, onto the customer''s exposure row (which the caller has locked); the guard calls it when today lies outside the copy''s days';
REVOKE EXECUTE ON FUNCTION pgcredit._cover_refresh(text) FROM PUBLIC;

CREATE FUNCTION pgcredit._cover_copy(customer text)
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  -- the exposure row first (created if need be), as an order locks it
  PERFORM pgcredit._lock_exposure(customer);
  PERFORM pgcredit._cover_refresh(customer);
END
$$;
COMMENT ON FUNCTION pgcredit._cover_copy(text) IS
  'lock a customer''s exposure row and copy its cover onto it, so that a change of cover serialises with the customer''s orders';
REVOKE EXECUTE ON FUNCTION pgcredit._cover_copy(text) FROM PUBLIC;

CREATE FUNCTION pgcredit._check_cover_dates(valid_from date, valid_until date)
RETURNS void LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF valid_from IS NULL OR NOT isfinite(valid_from) THEN
    RAISE EXCEPTION 'valid_from must be a finite date' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF valid_until IS NOT NULL AND NOT isfinite(valid_until) THEN
    RAISE EXCEPTION 'valid_until must be a finite date' USING ERRCODE = 'invalid_parameter_value',
      HINT = 'Give no valid_until for a cover that lasts until it is ended.';
  END IF;
  IF valid_until < valid_from THEN
    RAISE EXCEPTION 'cover would end before it starts' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('It would run from %s to %s.', valid_from, valid_until);
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_cover_dates(date, date) IS 'refuse a missing or infinite first day, an infinite last day, and a last day before the first';
REVOKE EXECUTE ON FUNCTION pgcredit._check_cover_dates(date, date) FROM PUBLIC;

CREATE FUNCTION pgcredit._check_share(share_pct numeric)
RETURNS void LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF share_pct IS NULL THEN
    RAISE EXCEPTION 'share_pct must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF share_pct = 'NaN' OR share_pct < 0 OR share_pct > 100 THEN
    RAISE EXCEPTION 'share_pct must be between 0 and 100' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('share_pct is %s.', share_pct);
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_share(numeric) IS 'refuse a NULL, NaN or out of range percentage';
REVOKE EXECUTE ON FUNCTION pgcredit._check_share(numeric) FROM PUBLIC;

-- The cover a customer has, locked, or PC017
CREATE FUNCTION pgcredit._lock_cover(id bigint)
RETURNS pgcredit.cover LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  c pgcredit.cover;
BEGIN
  IF id IS NULL THEN
    RAISE EXCEPTION 'cover id must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT * INTO c FROM pgcredit.cover x WHERE x.id = _lock_cover.id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'cover % does not exist', id USING ERRCODE = 'PC017',
      HINT = 'The covers are listed in pgcredit.cover.';
  END IF;
  IF c.ended_at IS NOT NULL THEN
    RAISE EXCEPTION 'cover % has ended', id USING ERRCODE = 'PC017',
      DETAIL = format('It was ended at %s.', c.ended_at),
      HINT = 'Record a new cover with pgcredit.add_cover().';
  END IF;
  RETURN c;
END
$$;
COMMENT ON FUNCTION pgcredit._lock_cover(bigint) IS 'lock a cover that has not ended, or refuse (PC017) an unknown or ended one';
REVOKE EXECUTE ON FUNCTION pgcredit._lock_cover(bigint) FROM PUBLIC;

-- A raise of the effective limit through cover is judged as a raise of
-- the limit itself by the approval policy
CREATE FUNCTION pgcredit._cover_approval(c pgcredit.cover)
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF c.decision IN ('granted', 'reduced') AND c.ended_at IS NULL THEN
    PERFORM pgcredit._check_approval('limit', c.customer,
      round(pgcredit._cover_value(c.amount, c.share_pct, c.deductible) * p.counted_pct / 100, 2))
    FROM pgcredit.cover_policy_in_force p WHERE p.kind = c.kind AND p.counts;
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._cover_approval(pgcredit.cover) IS
  'refuse (PC012) a cover that would raise the effective limit by more than the approval policy''s limit threshold, unless an approved request carries it out';
REVOKE EXECUTE ON FUNCTION pgcredit._cover_approval(pgcredit.cover) FROM PUBLIC;

CREATE FUNCTION pgcredit.add_cover(customer text, kind text, issuer text, amount numeric, reason text,
                                   valid_from date DEFAULT current_date, valid_until date DEFAULT NULL,
                                   share_pct numeric DEFAULT 100, deductible numeric DEFAULT 0,
                                   decision text DEFAULT 'granted', decision_ref text DEFAULT NULL,
                                   notes text DEFAULT NULL)
RETURNS pgcredit.cover LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  created pgcredit.cover;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF customer IS NULL THEN
    RAISE EXCEPTION 'customer must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF kind IS NULL OR kind NOT IN ('credit_insurance', 'bank_guarantee', 'letter_of_credit', 'collateral', 'deposit') THEN
    RAISE EXCEPTION 'invalid kind of cover "%"', kind USING ERRCODE = 'invalid_parameter_value',
      HINT = 'The kind is one of credit_insurance, bank_guarantee, letter_of_credit, collateral and deposit.';
  END IF;
  IF issuer IS NULL OR btrim(issuer) = '' THEN
    RAISE EXCEPTION 'issuer must be given' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Name the insurer, bank or holder of the cover.';
  END IF;
  IF amount IS NULL THEN
    RAISE EXCEPTION 'amount must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM pgcredit._check_amount('amount', amount);
  PERFORM pgcredit._check_share(share_pct);
  IF deductible IS NULL THEN
    RAISE EXCEPTION 'deductible must not be null' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Use 0 for none.';
  END IF;
  PERFORM pgcredit._check_amount('deductible', deductible);
  PERFORM pgcredit._check_cover_dates(valid_from, valid_until);
  IF decision IS NULL OR decision NOT IN ('requested', 'granted', 'reduced', 'refused', 'withdrawn') THEN
    RAISE EXCEPTION 'invalid decision "%"', decision USING ERRCODE = 'invalid_parameter_value',
      HINT = 'The decision is one of requested, granted, reduced, refused and withdrawn.';
  END IF;
  -- the account, locked as a change of the account locks it
  PERFORM FROM pgcredit.account a WHERE a.customer = add_cover.customer FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'customer "%" has no credit account', customer USING ERRCODE = 'PC003',
      HINT = 'Open one with pgcredit.open_account().';
  END IF;
  INSERT INTO pgcredit.cover AS c (customer, kind, issuer, amount, share_pct, deductible, valid_from, valid_until,
                                   decision, decided_on, decision_ref, notes, created_by, updated_by)
  VALUES (add_cover.customer, add_cover.kind, add_cover.issuer, add_cover.amount, add_cover.share_pct,
          add_cover.deductible, add_cover.valid_from, add_cover.valid_until, add_cover.decision,
          CASE WHEN add_cover.decision <> 'requested' THEN current_date END,
          add_cover.decision_ref, add_cover.notes, pgcredit._actor(), pgcredit._actor())
  RETURNING * INTO created;
  PERFORM pgcredit._cover_approval(created);
  PERFORM pgcredit._cover_copy(customer);
  PERFORM pgcredit._audit('add_cover', customer, NULL, to_jsonb(created), reason);
  RETURN created;
END
$$;
COMMENT ON FUNCTION pgcredit.add_cover(text, text, text, numeric, text, date, date, numeric, numeric, text, text, text) IS
  'record a cover of a customer''s exposure (credit insurance, bank guarantee, letter of credit, collateral or deposit), with its validity and decision, audited';
REVOKE EXECUTE ON FUNCTION pgcredit.add_cover(text, text, text, numeric, text, date, date, numeric, numeric, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.add_cover(text, text, text, numeric, text, date, date, numeric, numeric, text, text, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.decide_cover(id bigint, decision text, reason text, amount numeric DEFAULT NULL,
                                      decided_on date DEFAULT current_date, decision_ref text DEFAULT NULL)
RETURNS pgcredit.cover LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.cover;
  after pgcredit.cover;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF decision IS NULL OR decision NOT IN ('requested', 'granted', 'reduced', 'refused', 'withdrawn') THEN
    RAISE EXCEPTION 'invalid decision "%"', decision USING ERRCODE = 'invalid_parameter_value',
      HINT = 'The decision is one of requested, granted, reduced, refused and withdrawn.';
  END IF;
  IF decided_on IS NULL OR NOT isfinite(decided_on) THEN
    RAISE EXCEPTION 'decided_on must be a finite date' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM pgcredit._check_amount('amount', amount);
  before := pgcredit._lock_cover(id);
  IF decision = 'reduced' AND (amount IS NULL OR amount >= before.amount) THEN
    RAISE EXCEPTION 'a reduced cover needs an amount below its amount of %', before.amount
      USING ERRCODE = 'invalid_parameter_value',
      HINT = 'Give the amount the insurer or issuer reduced it to.';
  END IF;
  IF amount IS NOT NULL AND decision NOT IN ('granted', 'reduced') THEN
    RAISE EXCEPTION 'an amount goes only with a decision of granted or reduced' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  UPDATE pgcredit.cover c SET decision = decide_cover.decision, decided_on = decide_cover.decided_on,
    decision_ref = coalesce(decide_cover.decision_ref, c.decision_ref), amount = coalesce(decide_cover.amount, c.amount),
    updated_at = now(), updated_by = pgcredit._actor()
  WHERE c.id = decide_cover.id
  RETURNING * INTO after;
  -- more cover than before is a raise of the limit
  IF after.decision IN ('granted', 'reduced')
     AND (before.decision NOT IN ('granted', 'reduced') OR after.amount > before.amount) THEN
    PERFORM pgcredit._cover_approval(after);
  END IF;
  PERFORM pgcredit._cover_copy(after.customer);
  PERFORM pgcredit._audit('decide_cover', after.customer,
    jsonb_build_object('cover', before.id, 'decision', before.decision, 'amount', before.amount,
                       'decided_on', before.decided_on, 'decision_ref', before.decision_ref),
    jsonb_build_object('cover', after.id, 'decision', after.decision, 'amount', after.amount,
                       'decided_on', after.decided_on, 'decision_ref', after.decision_ref),
    reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.decide_cover(bigint, text, text, numeric, date, text) IS
  'record the insurer''s or issuer''s decision on a cover (requested, granted, reduced with its new amount, refused, withdrawn), audited';
REVOKE EXECUTE ON FUNCTION pgcredit.decide_cover(bigint, text, text, numeric, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.decide_cover(bigint, text, text, numeric, date, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.change_cover(id bigint, reason text, amount numeric DEFAULT NULL,
                                      share_pct numeric DEFAULT NULL, deductible numeric DEFAULT NULL,
                                      valid_from date DEFAULT NULL, valid_until date DEFAULT NULL,
                                      issuer text DEFAULT NULL, notes text DEFAULT NULL)
RETURNS pgcredit.cover LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.cover;
  after pgcredit.cover;
  changes jsonb := jsonb_strip_nulls(jsonb_build_object('amount', amount, 'share_pct', share_pct,
    'deductible', deductible, 'valid_from', valid_from, 'valid_until', valid_until, 'issuer', issuer,
    'notes', notes));
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF changes = '{}' THEN
    RAISE EXCEPTION 'nothing to change' USING ERRCODE = 'invalid_parameter_value',
      HINT = 'Give amount, share_pct, deductible, valid_from, valid_until, issuer or notes; record decisions with pgcredit.decide_cover().';
  END IF;
  PERFORM pgcredit._check_amount('amount', amount);
  IF share_pct IS NOT NULL THEN
    PERFORM pgcredit._check_share(share_pct);
  END IF;
  PERFORM pgcredit._check_amount('deductible', deductible);
  IF btrim(issuer) = '' THEN
    RAISE EXCEPTION 'issuer must be given' USING ERRCODE = 'invalid_parameter_value',
      HINT = 'Name the insurer, bank or holder of the cover.';
  END IF;
  before := pgcredit._lock_cover(id);
  PERFORM pgcredit._check_cover_dates(coalesce(valid_from, before.valid_from), coalesce(valid_until, before.valid_until));
  UPDATE pgcredit.cover c SET amount = coalesce(change_cover.amount, c.amount),
    share_pct = coalesce(change_cover.share_pct, c.share_pct), deductible = coalesce(change_cover.deductible, c.deductible),
    valid_from = coalesce(change_cover.valid_from, c.valid_from), valid_until = coalesce(change_cover.valid_until, c.valid_until),
    issuer = coalesce(change_cover.issuer, c.issuer), notes = coalesce(change_cover.notes, c.notes),
    updated_at = now(), updated_by = pgcredit._actor()
  WHERE c.id = change_cover.id
  RETURNING * INTO after;
  -- a cover worth more than before is a raise of the limit
  IF pgcredit._cover_value(after.amount, after.share_pct, after.deductible)
     > pgcredit._cover_value(before.amount, before.share_pct, before.deductible) THEN
    PERFORM pgcredit._cover_approval(after);
  END IF;
  PERFORM pgcredit._cover_copy(after.customer);
  PERFORM pgcredit._audit('change_cover', after.customer,
    (SELECT jsonb_build_object('cover', before.id) || jsonb_object_agg(k, to_jsonb(before) -> k) FROM jsonb_object_keys(changes) AS k),
    (SELECT jsonb_build_object('cover', after.id) || jsonb_object_agg(k, to_jsonb(after) -> k) FROM jsonb_object_keys(changes) AS k),
    reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.change_cover(bigint, text, numeric, numeric, numeric, date, date, text, text) IS
  'change a cover''s amount, share, deductible, validity (a renewal extends valid_until), issuer or notes, the ones given; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.change_cover(bigint, text, numeric, numeric, numeric, date, date, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.change_cover(bigint, text, numeric, numeric, numeric, date, date, text, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.end_cover(id bigint, reason text, last_day date DEFAULT NULL)
RETURNS pgcredit.cover LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.cover;
  after pgcredit.cover;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  before := pgcredit._lock_cover(id);
  IF last_day IS NOT NULL THEN
    PERFORM pgcredit._check_cover_dates(before.valid_from, last_day);
    IF last_day > before.valid_until THEN
      RAISE EXCEPTION 'cover % ends before that day already', id USING ERRCODE = 'invalid_parameter_value',
        DETAIL = format('It ends on %s.', before.valid_until),
        HINT = 'end_cover() brings the end of a cover forward; record a new cover to extend one.';
    END IF;
  END IF;
  UPDATE pgcredit.cover c SET valid_until = coalesce(end_cover.last_day, c.valid_until),
    ended_at = CASE WHEN end_cover.last_day IS NULL THEN now() END,
    updated_at = now(), updated_by = pgcredit._actor()
  WHERE c.id = end_cover.id
  RETURNING * INTO after;
  PERFORM pgcredit._cover_copy(after.customer);
  PERFORM pgcredit._audit('end_cover', after.customer,
    jsonb_build_object('cover', before.id, 'valid_until', before.valid_until, 'ended_at', before.ended_at),
    jsonb_build_object('cover', after.id, 'valid_until', after.valid_until, 'ended_at', after.ended_at),
    reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.end_cover(bigint, text, date) IS
  'end a cover: at once (it counts no more from this moment), or with last_day, after that day; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.end_cover(bigint, text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.end_cover(bigint, text, date) TO pgcredit_controller;

CREATE FUNCTION pgcredit.set_cover_policy(kind text, counts boolean, counted_pct numeric, reason text,
                                          insures boolean DEFAULT NULL, notice_days int DEFAULT NULL)
RETURNS pgcredit.cover_policy LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.cover_policy;
  after pgcredit.cover_policy;
  who text;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF counts IS NULL THEN
    RAISE EXCEPTION 'counts must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM pgcredit._check_share(counted_pct);
  IF notice_days < 0 THEN
    RAISE EXCEPTION 'notice_days must not be negative' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF kind IS NULL OR kind NOT IN ('credit_insurance', 'bank_guarantee', 'letter_of_credit', 'collateral', 'deposit') THEN
    RAISE EXCEPTION 'invalid kind of cover "%"', kind USING ERRCODE = 'invalid_parameter_value',
      HINT = 'The kind is one of credit_insurance, bank_guarantee, letter_of_credit, collateral and deposit.';
  END IF;
  -- one change of the policy at a time
  LOCK TABLE pgcredit.cover_policy IN SHARE ROW EXCLUSIVE MODE;
  SELECT p.kind, p.counts, p.counted_pct, p.insures, p.notice_days INTO before
  FROM pgcredit.cover_policy_in_force p WHERE p.kind = set_cover_policy.kind;
  INSERT INTO pgcredit.cover_policy AS p (kind, counts, counted_pct, insures, notice_days)
  VALUES (set_cover_policy.kind, set_cover_policy.counts, set_cover_policy.counted_pct,
          coalesce(set_cover_policy.insures, before.insures), coalesce(set_cover_policy.notice_days, before.notice_days))
  ON CONFLICT ON CONSTRAINT cover_policy_pkey DO UPDATE SET counts = EXCLUDED.counts, counted_pct = EXCLUDED.counted_pct,
    insures = EXCLUDED.insures, notice_days = EXCLUDED.notice_days
  RETURNING * INTO after;
  -- counting more is a raise of the limit of every customer with such cover
  IF after.counts AND (NOT before.counts OR after.counted_pct > before.counted_pct) THEN
    PERFORM pgcredit._cover_approval(c) FROM pgcredit.cover c WHERE c.kind = set_cover_policy.kind;
  END IF;
  -- the copies of every customer with such cover, locked in key order as
  -- every change of many exposure rows locks them
  FOR who IN SELECT DISTINCT c.customer FROM pgcredit.cover c WHERE c.kind = set_cover_policy.kind ORDER BY 1 LOOP
    PERFORM pgcredit._cover_copy(who);
  END LOOP;
  PERFORM pgcredit._audit('set_cover_policy', NULL, to_jsonb(before), to_jsonb(after), reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.set_cover_policy(text, boolean, numeric, text, boolean, int) IS
  'set how a kind of cover counts towards the effective limit (counts, counted_pct), whether it insures, and its expiry notice; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_cover_policy(text, boolean, numeric, text, boolean, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_cover_policy(text, boolean, numeric, text, boolean, int) TO pgcredit_admin;

-- The copies on the exposure rows, checked and repaired (rebuild_exposure)
CREATE FUNCTION pgcredit.verify_cover()
RETURNS TABLE (customer text, stored_cover numeric, actual_cover numeric,
               stored_from date, actual_from date, stored_until date, actual_until date)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  -- a copy whose days do not hold today is not wrong: the guard makes it
  -- again before it uses it
  SELECT e.customer, e.cover_counted, w.counted, e.cover_from, w.valid_from, e.cover_until, w.valid_until
  FROM pgcredit.exposure e, pgcredit._cover_window(e.customer, current_date) w
  WHERE (e.cover_from IS NULL OR e.cover_from <= current_date)
    AND (e.cover_until IS NULL OR e.cover_until >= current_date)
    AND (e.cover_counted, e.cover_from, e.cover_until) IS DISTINCT FROM (w.counted, w.valid_from, w.valid_until)
  -- on the coordinator of a Citus cluster, the workers' too
  UNION ALL
  SELECT r.* FROM pgcredit._citus_verify('verify_cover') j
  CROSS JOIN LATERAL jsonb_to_record(j)
    AS r(customer text, stored_cover numeric, actual_cover numeric, stored_from date, actual_from date,
         stored_until date, actual_until date)
  ORDER BY 1
$$;
COMMENT ON FUNCTION pgcredit.verify_cover() IS
  'recompute the cover counted today for every customer and list those whose copy on the exposure row differs (none when all is well)';
REVOKE EXECUTE ON FUNCTION pgcredit.verify_cover() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.verify_cover() TO pgcredit_reader;

CREATE FUNCTION pgcredit._rebuild_cover()
RETURNS bigint LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  fixed bigint := 0;
  who text;
BEGIN
  FOR who IN SELECT v.customer FROM pgcredit.verify_cover() v ORDER BY 1 LOOP
    PERFORM pgcredit._cover_copy(who);
    fixed := fixed + 1;
  END LOOP;
  -- a customer with cover has its row
  FOR who IN SELECT DISTINCT c.customer FROM pgcredit.cover c
             WHERE NOT EXISTS (SELECT FROM pgcredit.exposure e WHERE e.customer = c.customer) ORDER BY 1 LOOP
    PERFORM pgcredit._cover_copy(who);
    fixed := fixed + 1;
  END LOOP;
  RETURN fixed;
END
$$;
COMMENT ON FUNCTION pgcredit._rebuild_cover() IS
  'for rebuild_exposure(): make again the cover copies verify_cover() finds wrong, and the missing rows of customers with cover; returns how many';
REVOKE EXECUTE ON FUNCTION pgcredit._rebuild_cover() FROM PUBLIC;

-- (rebuild_exposure() and refresh_scores(), defined earlier in this
-- script, repair the cover copies and raise the cover alerts)

-- the alerts of cover, and those of promises to pay and payment plans
-- (collections_promises below)
ALTER TABLE pgcredit.alert DROP CONSTRAINT alert_kind_check;
ALTER TABLE pgcredit.alert ADD CONSTRAINT alert_kind_check CHECK (kind IN ('score_downgrade', 'tier_change', 'account_hold', 'order_held',
                                            'limit_breached', 'overdue_30', 'overdue_60', 'overdue_90',
                                            'review_overdue', 'horizon_over_limit', 'cover_expiring',
                                            'exposure_uninsured', 'promise_broken', 'promise_partly_kept',
                                            'plan_broken'));
COMMENT ON COLUMN pgcredit.alert.kind IS 'score_downgrade, tier_change, account_hold (account put on hold or blocked), order_held, limit_breached (an order held because it would pass the limit), overdue_30/60/90 (the oldest open item crossed that many days past due), review_overdue, horizon_over_limit (orders that came within the horizon took the customer over its limit), cover_expiring (a cover ends within its kind''s notice), exposure_uninsured (exposure above the insured limit), promise_broken and promise_partly_kept (nothing, or less than promised, was paid by the day of a promise to pay), plan_broken (an instalment of a payment plan unpaid past its grace days)';

-- Insuring covers of one customer stack in the order they were recorded
-- (by id): the first takes the exposure up to its amount, the next the
-- exposure above that up to its own, and so on.  Of the exposure a cover
-- takes, it pays its share less its deductible (never below 0).
CREATE FUNCTION pgcredit.cover_at(day date, for_customer text)
RETURNS TABLE (cover bigint, customer text, kind text, issuer text, amount numeric, share_pct numeric,
               deductible numeric, valid_from date, valid_until date, decision text,
               counted numeric, insured_limit numeric, insured_exposure numeric)
LANGUAGE plpgsql STABLE
SUPPORT pgcredit._customer_support
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  -- the exposure: this node's, the workers' on the coordinator of a Citus
  -- cluster with distributed tables attached (doc/citus.md)
  exposure_source text := CASE WHEN cardinality(pgcredit._citus_shells()) > 0
                               THEN 'pgcredit._citus_exposure_at(current_date, $2)' ELSE 'pgcredit.exposure' END;
BEGIN
  -- planned at each call with its values: one customer's covers are
  -- found through the customer index, every customer's with a scan
  RETURN QUERY EXECUTE 'SELECT c.id, c.customer, c.kind, c.issuer, c.amount, c.share_pct, c.deductible, c.valid_from, c.valid_until,
         c.decision,
         CASE WHEN p.counts THEN pg_catalog.trim_scale(round(pgcredit._cover_value(c.amount, c.share_pct, c.deductible) * p.counted_pct / 100, 2))
              ELSE 0 END,
         CASE WHEN p.insures THEN c.amount ELSE 0 END,
         CASE WHEN p.insures THEN
           pgcredit._cover_value(greatest(least(coalesce(e.receivables + e.open_orders, 0)
                                                - coalesce(sum(c.amount) FILTER (WHERE p.insures)
                                                    OVER (PARTITION BY c.customer ORDER BY c.id
                                                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0),
                                                c.amount), 0),
                                 c.share_pct, c.deductible)
         ELSE 0 END
  FROM pgcredit.cover c
  JOIN pgcredit.cover_policy_in_force p ON p.kind = c.kind
  LEFT JOIN ' || exposure_source || ' e ON e.customer = c.customer
  WHERE c.decision IN (''granted'', ''reduced'') AND c.ended_at IS NULL
    AND c.valid_from <= $1 AND (c.valid_until IS NULL OR c.valid_until >= $1)
    AND ($2 IS NULL OR c.customer = $2)
  ORDER BY c.customer, c.id'
  USING day, for_customer;
END
$$;
COMMENT ON FUNCTION pgcredit.cover_at(date, text) IS
  'the covers (of one customer; every customer''s when NULL) in force on a day (granted or reduced, valid, not ended), each with what it adds to the limit (counted), its insured limit and the part of the customer''s current exposure it insures';
REVOKE EXECUTE ON FUNCTION pgcredit.cover_at(date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.cover_at(date, text) TO pgcredit_reader;

CREATE FUNCTION pgcredit.cover_at(day date)
RETURNS TABLE (cover bigint, customer text, kind text, issuer text, amount numeric, share_pct numeric,
               deductible numeric, valid_from date, valid_until date, decision text,
               counted numeric, insured_limit numeric, insured_exposure numeric)
LANGUAGE sql STABLE
SUPPORT pgcredit._customer_support
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT * FROM pgcredit.cover_at($1, NULL) $$;
COMMENT ON FUNCTION pgcredit.cover_at(date) IS
  'the covers in force on a day (granted or reduced, valid, not ended), each with what it adds to the limit (counted), its insured limit and the part of the customer''s current exposure it insures: cover_at(day, NULL)';
REVOKE EXECUTE ON FUNCTION pgcredit.cover_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.cover_at(date) TO pgcredit_reader;

CREATE FUNCTION pgcredit.customer_cover_at(day date)
RETURNS TABLE (customer text, exposure numeric, credit_limit numeric, cover_counted numeric,
               effective_limit numeric, insured_limit numeric, insured_exposure numeric,
               uninsured_exposure numeric, above_insured_limit numeric)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH c AS (SELECT x.customer, sum(x.counted) AS counted, sum(x.insured_limit) AS insured_limit,
                    sum(x.insured_exposure) AS insured_exposure
             FROM pgcredit.cover_at($1) x GROUP BY x.customer),
  k AS (SELECT a.customer FROM pgcredit.account a UNION SELECT c.customer FROM c),
  f AS (SELECT k.customer, coalesce(e.receivables + e.open_orders, 0) AS exposure,
               -- pgcredit._effective_limit(), inlined: a call a customer otherwise
               CASE WHEN a.temporary_limit IS NOT NULL AND $1 <= a.temporary_until
                         AND (a.temporary_from IS NULL OR $1 >= a.temporary_from)
                    THEN a.temporary_limit ELSE a.credit_limit END AS credit_limit,
               coalesce(c.counted, 0) AS counted, coalesce(c.insured_limit, 0) AS insured_limit,
               coalesce(c.insured_exposure, 0) AS insured_exposure
        FROM k LEFT JOIN pgcredit.account a ON a.customer = k.customer
        -- the exposure: this node's, the workers' on the coordinator of a
        -- Citus cluster with distributed tables attached (doc/citus.md)
        LEFT JOIN (SELECT x.customer, x.receivables, x.open_orders FROM pgcredit.exposure x
                   WHERE cardinality(pgcredit._citus_shells()) = 0
                   UNION ALL
                   SELECT w.customer, w.receivables, w.open_orders FROM pgcredit._citus_exposure_at(current_date, NULL) w
                   WHERE cardinality(pgcredit._citus_shells()) > 0) e ON e.customer = k.customer
        LEFT JOIN c ON c.customer = k.customer)
  SELECT f.customer, f.exposure, f.credit_limit, f.counted, f.credit_limit + f.counted, f.insured_limit,
         f.insured_exposure, f.exposure - f.insured_exposure,
         CASE WHEN f.insured_limit > 0 THEN greatest(f.exposure - f.insured_limit, 0) END
  FROM f
  ORDER BY f.customer
$$;
COMMENT ON FUNCTION pgcredit.customer_cover_at(date) IS
  'per customer with an account or cover, on a day: exposure, limit in force, cover counted, effective limit, insured limit, insured and uninsured exposure, and the exposure above the insured limit';
REVOKE EXECUTE ON FUNCTION pgcredit.customer_cover_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.customer_cover_at(date) TO pgcredit_reader;

CREATE VIEW pgcredit.customer_cover AS
  SELECT x.customer, x.exposure, x.credit_limit, x.cover_counted, x.effective_limit, x.insured_limit,
         x.insured_exposure, x.uninsured_exposure, x.above_insured_limit, pgcredit.as_of() AS day
  FROM pgcredit.customer_cover_at(pgcredit.as_of()) x;
COMMENT ON VIEW pgcredit.customer_cover IS
  'per customer, on pgcredit.as_of(): exposure, limit, cover counted and effective limit; insured limit, insured and uninsured exposure (see doc/accounts.md, "Cover")';
COMMENT ON COLUMN pgcredit.customer_cover.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.customer_cover.exposure IS 'receivables + open orders, now';
COMMENT ON COLUMN pgcredit.customer_cover.credit_limit IS 'the account''s own limit in force that day (temporary limit within its window); NULL: none';
COMMENT ON COLUMN pgcredit.customer_cover.cover_counted IS 'the cover that counts towards the limit that day (cover_policy)';
COMMENT ON COLUMN pgcredit.customer_cover.effective_limit IS 'credit_limit + cover_counted, the limit the guard applies; NULL without an own limit';
COMMENT ON COLUMN pgcredit.customer_cover.insured_limit IS 'the sum of the insuring covers'' amounts (the limits the insurers grant)';
COMMENT ON COLUMN pgcredit.customer_cover.insured_exposure IS 'what the insurers would pay on the exposure: of each layer up to its limit, its share less its deductible';
COMMENT ON COLUMN pgcredit.customer_cover.uninsured_exposure IS 'exposure - insured_exposure';
COMMENT ON COLUMN pgcredit.customer_cover.above_insured_limit IS 'the exposure above the insured limit, which no insurer covers; NULL for a customer without insurance';
COMMENT ON COLUMN pgcredit.customer_cover.day IS 'the day the row describes: pgcredit.as_of(), today unless set';
REVOKE ALL ON pgcredit.customer_cover FROM PUBLIC;
GRANT SELECT ON pgcredit.customer_cover TO pgcredit_reader;

-- the book's covers on any day; plain SQL, so that it is planned inline
CREATE FUNCTION pgcredit.cover_book_at(as_of date)
RETURNS TABLE (kind text, issuer text, covers bigint, customers bigint, amount numeric, counted numeric,
               insured_exposure numeric, day date)
LANGUAGE sql STABLE
AS $$
  SELECT x.kind, x.issuer, count(*), count(DISTINCT x.customer), sum(x.amount), sum(x.counted),
         sum(x.insured_exposure), $1
  FROM pgcredit.cover_at($1) x
  GROUP BY x.kind, x.issuer
  ORDER BY x.kind, x.issuer
$$;
COMMENT ON FUNCTION pgcredit.cover_book_at(date) IS 'the rows of cover_book on any day';
REVOKE EXECUTE ON FUNCTION pgcredit.cover_book_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.cover_book_at(date) TO pgcredit_reader;

CREATE VIEW pgcredit.cover_book AS
  SELECT * FROM pgcredit.cover_book_at(pgcredit.as_of());
COMMENT ON VIEW pgcredit.cover_book IS 'the covers in force on pgcredit.as_of(), by kind and issuer: how many, for how many customers, their amounts, what counts towards limits and the exposure insured';
COMMENT ON COLUMN pgcredit.cover_book.kind IS 'kind of cover';
COMMENT ON COLUMN pgcredit.cover_book.issuer IS 'insurer, bank or holder';
COMMENT ON COLUMN pgcredit.cover_book.covers IS 'covers in force';
COMMENT ON COLUMN pgcredit.cover_book.customers IS 'customers they cover';
COMMENT ON COLUMN pgcredit.cover_book.amount IS 'sum of their amounts (insured limits for credit insurance)';
COMMENT ON COLUMN pgcredit.cover_book.counted IS 'sum of what they add to the customers'' limits';
COMMENT ON COLUMN pgcredit.cover_book.insured_exposure IS 'sum of the exposure they insure (share less deductible)';
COMMENT ON COLUMN pgcredit.cover_book.day IS 'the day the row describes: pgcredit.as_of(), today unless set';
REVOKE ALL ON pgcredit.cover_book FROM PUBLIC;
GRANT SELECT ON pgcredit.cover_book TO pgcredit_reader;

-- refresh_scores() raises them with its own alerts
CREATE FUNCTION pgcredit._cover_alerts(as_of date)
RETURNS bigint LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  raised bigint;
BEGIN
  -- without a cover, nothing ends and nothing is insured
  IF NOT EXISTS (SELECT FROM pgcredit.cover) THEN
    RETURN 0;
  END IF;
  WITH ev AS (
    -- a cover ending within its kind's notice, once per cover and last day
    SELECT 'cover_expiring' AS kind, x.customer,
           jsonb_build_object('cover', x.cover, 'cover_kind', x.kind, 'issuer', x.issuer, 'amount', x.amount,
                              'valid_until', x.valid_until) AS details
    FROM pgcredit.cover_at(_cover_alerts.as_of) x JOIN pgcredit.cover_policy_in_force p ON p.kind = x.kind
    WHERE x.valid_until <= _cover_alerts.as_of + p.notice_days
      AND NOT EXISTS (SELECT FROM pgcredit.alert a
                      WHERE a.kind = 'cover_expiring' AND a.customer = x.customer
                        AND (a.details ->> 'cover')::bigint = x.cover
                        AND (a.details ->> 'valid_until')::date = x.valid_until)
    UNION ALL
    -- exposure above the insured limit, once a day while it lasts
    SELECT 'exposure_uninsured', c.customer,
           jsonb_build_object('exposure', c.exposure, 'insured_limit', c.insured_limit,
                              'above_insured_limit', c.above_insured_limit)
    FROM pgcredit.customer_cover_at(_cover_alerts.as_of) c
    WHERE c.above_insured_limit > 0
      AND NOT EXISTS (SELECT FROM pgcredit.alert a
                      WHERE a.kind = 'exposure_uninsured' AND a.customer = c.customer
                        AND (a.details ->> 'as_of')::date = _cover_alerts.as_of))
  INSERT INTO pgcredit.alert (kind, customer, details)
  SELECT ev.kind, ev.customer, ev.details || jsonb_build_object('as_of', _cover_alerts.as_of)
  FROM ev ORDER BY ev.customer, ev.kind, ev.details ->> 'cover';
  GET DIAGNOSTICS raised = ROW_COUNT;
  RETURN raised;
END
$$;
COMMENT ON FUNCTION pgcredit._cover_alerts(date) IS
  'for refresh_scores(): alerts for covers ending within their kind''s notice_days (cover_expiring, once per cover and last day) and for exposure above the insured limit (exposure_uninsured, once a day while it lasts); returns how many';
REVOKE EXECUTE ON FUNCTION pgcredit._cover_alerts(date) FROM PUBLIC;

----------------------------------------------------------------------
-- Credit groups: each member beside its group (after the cover: the
-- customer's limit counts its cover, as the guard does)
----------------------------------------------------------------------

CREATE VIEW pgcredit.group_member_risk AS
  SELECT m.customer, m.group_id AS credit_group, t.top_group,
         e.receivables + e.open_orders AS exposure,
         CASE WHEN e.has_account THEN l.credit_limit END AS credit_limit,
         CASE WHEN e.has_account THEN l.credit_limit - (e.receivables + e.open_orders) END AS available,
         g.exposure AS group_exposure, g.credit_limit AS group_limit,
         g.credit_limit - g.exposure AS group_available,
         h.headroom AS limit_headroom,
         h.limited_by, h.limiting_group, current_date AS day
  FROM pgcredit.group_member m
  JOIN pgcredit.group_exposure g ON g.group_id = m.group_id
  LEFT JOIN pgcredit.exposure e ON e.customer = m.customer
  CROSS JOIN LATERAL (
    SELECT pgcredit._effective_limit(e.credit_limit, e.temporary_limit, e.temporary_from,
                                     e.temporary_until, current_date) AS own) o
  -- the cover that counts today, as the guard adds it: from the copy on
  -- the exposure row when today lies within the days it holds, else
  -- from the covers themselves
  CROSS JOIN LATERAL (
    SELECT CASE WHEN o.own IS NULL THEN 0
                WHEN (e.cover_from IS NULL OR current_date >= e.cover_from)
                     AND (e.cover_until IS NULL OR current_date <= e.cover_until)
                THEN coalesce(e.cover_counted, 0)
                ELSE coalesce((SELECT sum(v.counted) FROM pgcredit.cover_at(current_date) v
                               WHERE v.customer = m.customer), 0) END AS cover) k
  CROSS JOIN LATERAL (SELECT o.own + k.cover AS credit_limit) l
  CROSS JOIN LATERAL (
    SELECT c.group_id AS top_group FROM pgcredit._group_chain(m.group_id) c
    ORDER BY c.depth LIMIT 1) t
  LEFT JOIN LATERAL (
    SELECT w.headroom, w.limited_by, w.limiting_group FROM (
      SELECT pg_catalog.trim_scale(o.own * (1 + e.tolerance_pct / 100)) + k.cover
             - (e.receivables + e.open_orders) AS headroom,
             'customer' AS limited_by, NULL::text AS limiting_group, 0 AS depth
      WHERE e.has_account AND l.credit_limit IS NOT NULL
      UNION ALL
      SELECT pg_catalog.trim_scale(x.credit_limit * (1 + x.tolerance_pct / 100)) - x.exposure,
             'group', x.group_id, c.depth
      FROM pgcredit._group_chain(m.group_id) c
      JOIN pgcredit.group_exposure x ON x.group_id = c.group_id
      WHERE x.credit_limit IS NOT NULL) w
    ORDER BY w.headroom, w.depth DESC LIMIT 1) h ON true;
COMMENT ON VIEW pgcredit.group_member_risk IS 'each member of a credit group with its own exposure, limit and headroom beside its group''s, and the limit that binds it: the customer''s own or a group''s of its chain';
COMMENT ON COLUMN pgcredit.group_member_risk.customer IS 'customer key as text';
COMMENT ON COLUMN pgcredit.group_member_risk.credit_group IS 'the customer''s group';
COMMENT ON COLUMN pgcredit.group_member_risk.top_group IS 'the top group of its chain (the group itself when it has no parent)';
COMMENT ON COLUMN pgcredit.group_member_risk.exposure IS 'the customer''s receivables + open orders; NULL before pgcredit has seen it';
COMMENT ON COLUMN pgcredit.group_member_risk.credit_limit IS 'the customer''s limit in force today (temporary limit within its window) plus the cover that counts, as the guard applies it; NULL without an account or a limit';
COMMENT ON COLUMN pgcredit.group_member_risk.available IS 'the customer''s limit less its exposure (negative when over); NULL without a limit';
COMMENT ON COLUMN pgcredit.group_member_risk.group_exposure IS 'the exposure of its group (its members'' and its groups'')';
COMMENT ON COLUMN pgcredit.group_member_risk.group_limit IS 'its group''s limit; NULL = none';
COMMENT ON COLUMN pgcredit.group_member_risk.group_available IS 'its group''s limit less the group''s exposure; NULL without a group limit';
COMMENT ON COLUMN pgcredit.group_member_risk.limit_headroom IS 'the largest raise of its exposure that the limits let through now: the smallest of limit with tolerance less exposure, over the customer''s own limit and every group limit of its chain; NULL when none applies (credit rules and account status are not counted)';
COMMENT ON COLUMN pgcredit.group_member_risk.limited_by IS 'customer when its own limit leaves the least headroom, group when a group''s does; NULL when no limit applies';
COMMENT ON COLUMN pgcredit.group_member_risk.limiting_group IS 'the group whose limit leaves the least headroom (the one nearest the customer on a tie); NULL when limited_by is not group';
COMMENT ON COLUMN pgcredit.group_member_risk.day IS 'the day the view is read: the figures are today''s';
REVOKE ALL ON pgcredit.group_member_risk FROM PUBLIC;
GRANT SELECT ON pgcredit.group_member_risk TO pgcredit_reader;
-- Exposure categories (issue #13): every attachment feeds a category
-- (orders and invoices built in, or the company's own, kept apart in
-- category_exposure by the guard), sub-limits per category (PC018), the
-- breakdown views; attach_orders and attach_receivables take category
----------------------------------------------------------------------
-- Credit control: exposure categories and their sub-limits
----------------------------------------------------------------------

-- Every attachment feeds one category.  The built-in ones, orders and
-- invoices, are exposure's own columns (open_orders, receivables) and
-- cost nothing; a company category is kept beside them in
-- category_exposure, per customer, by the guard.  exposure's columns
-- stay the totals: a company category of kind orders counts in
-- open_orders too.
CREATE TABLE pgcredit.exposure_category (
  name           text PRIMARY KEY
                 CONSTRAINT category_name CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
  kind           text NOT NULL CHECK (kind IN ('orders', 'receivables')),
  description    text,
  built_in       boolean NOT NULL DEFAULT false,
  created_at     timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE pgcredit.exposure_category IS 'exposure categories: every attached table feeds one; orders and invoices are built in, a company adds its own with add_category()';
COMMENT ON COLUMN pgcredit.exposure_category.name IS 'category name: lower-case letters, digits and underscores, starting with a letter';
COMMENT ON COLUMN pgcredit.exposure_category.kind IS 'orders (fed by order tables, counted in open_orders) or receivables (fed by receivables tables, counted in receivables)';
COMMENT ON COLUMN pgcredit.exposure_category.description IS 'what the category holds, for people';
COMMENT ON COLUMN pgcredit.exposure_category.built_in IS 'true for orders and invoices, which are the columns of pgcredit.exposure';
COMMENT ON COLUMN pgcredit.exposure_category.created_at IS 'when the category was added';
REVOKE ALL ON pgcredit.exposure_category FROM PUBLIC;
GRANT SELECT ON pgcredit.exposure_category TO pgcredit_reader;
INSERT INTO pgcredit.exposure_category (name, kind, description, built_in) VALUES
  ('orders', 'orders', 'open orders of the order tables attached without a category of their own', true),
  ('invoices', 'receivables', 'open items of the receivables tables attached without a category of their own', true);
-- the built-in categories come with CREATE EXTENSION; only the others are dumped
SELECT pg_catalog.pg_extension_config_dump('pgcredit.exposure_category', 'WHERE NOT built_in');

-- Lock order: a row here is written only under the lock of the
-- customer's exposure row, taken first (the guard, attach, detach,
-- rebuild_exposure), so concurrent orders never deadlock on it.
CREATE TABLE pgcredit.category_exposure (
  customer       text NOT NULL
                 CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  category       text NOT NULL,
  amount         numeric NOT NULL DEFAULT 0,
  PRIMARY KEY (customer, category)
) WITH (fillfactor = 50);   -- room for the frequent updates to stay on their page
COMMENT ON TABLE pgcredit.category_exposure IS 'live exposure per customer in each company category (the built-in ones are the columns of pgcredit.exposure), kept current by the guard';
COMMENT ON COLUMN pgcredit.category_exposure.customer IS 'customer key as text';
COMMENT ON COLUMN pgcredit.category_exposure.category IS 'a category of pgcredit.exposure_category that is not built in';
COMMENT ON COLUMN pgcredit.category_exposure.amount IS 'sum of the amounts that count in exposure in the tables attached with this category';
REVOKE ALL ON pgcredit.category_exposure FROM PUBLIC;
GRANT SELECT ON pgcredit.category_exposure TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.category_exposure', '');

CREATE TABLE pgcredit.category_limit (
  category       text NOT NULL REFERENCES pgcredit.exposure_category,
  customer       text
                 CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  credit_limit   numeric NOT NULL CHECK (credit_limit >= 0 AND credit_limit < 'Infinity'),
  tolerance_pct  numeric NOT NULL DEFAULT 0 CHECK (tolerance_pct >= 0 AND tolerance_pct < 'Infinity'),
  set_at         timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT category_limit_once UNIQUE NULLS NOT DISTINCT (category, customer)
);
COMMENT ON TABLE pgcredit.category_limit IS 'sub-limits on a customer''s exposure in one category of kind orders; changed only through set_category_limit(), audited';
COMMENT ON COLUMN pgcredit.category_limit.category IS 'the category';
COMMENT ON COLUMN pgcredit.category_limit.customer IS 'the customer; NULL = the default for every customer without a sub-limit of its own in the category';
COMMENT ON COLUMN pgcredit.category_limit.credit_limit IS 'the most the customer''s exposure in the category may reach';
COMMENT ON COLUMN pgcredit.category_limit.tolerance_pct IS 'percentage of the sub-limit the category''s exposure may go above it';
COMMENT ON COLUMN pgcredit.category_limit.set_at IS 'when the sub-limit was set';
REVOKE ALL ON pgcredit.category_limit FROM PUBLIC;
GRANT SELECT ON pgcredit.category_limit TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.category_limit', '');

-- The guard keeps in each backend which categories have sub-limits, so
-- that an order of a category without one runs no statement for them;
-- every change of the table tells every backend to read it again.
CREATE FUNCTION pgcredit._category_limits_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'pgc_rules_changed'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgcredit._category_limits_changed() IS
  'statement trigger on category_limit: invalidates what every backend keeps of it, so that the next order in every session sees the change';
REVOKE EXECUTE ON FUNCTION pgcredit._category_limits_changed() FROM PUBLIC;
CREATE TRIGGER category_limits_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgcredit.category_limit
  FOR EACH STATEMENT EXECUTE FUNCTION pgcredit._category_limits_changed();

CREATE FUNCTION pgcredit._category_exists(category text)
RETURNS pgcredit.exposure_category LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  k pgcredit.exposure_category;
BEGIN
  IF category IS NULL THEN
    RAISE EXCEPTION 'category must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT * INTO k FROM pgcredit.exposure_category c WHERE c.name = _category_exists.category;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'exposure category "%" does not exist', category USING ERRCODE = 'undefined_object',
      HINT = 'Add it with pgcredit.add_category(), or use a built-in category: orders or invoices.';
  END IF;
  RETURN k;
END
$$;
COMMENT ON FUNCTION pgcredit._category_exists(text) IS 'a category by name; refuses a null or unknown one';
REVOKE EXECUTE ON FUNCTION pgcredit._category_exists(text) FROM PUBLIC;

CREATE FUNCTION pgcredit.add_category(name text, kind text, description text DEFAULT NULL)
RETURNS pgcredit.exposure_category LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  k pgcredit.exposure_category;
BEGIN
  IF name IS NULL OR kind IS NULL THEN
    RAISE EXCEPTION 'category name and kind must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF name !~ '^[a-z][a-z0-9_]{0,62}$' THEN
    RAISE EXCEPTION 'invalid category name "%"', name USING ERRCODE = 'invalid_parameter_value',
      DETAIL = 'A category name is 1 to 63 lower-case letters, digits and underscores, starting with a letter.';
  END IF;
  IF kind NOT IN ('orders', 'receivables') THEN
    RAISE EXCEPTION 'invalid category kind "%"', kind USING ERRCODE = 'invalid_parameter_value',
      HINT = 'A category is of kind orders (fed by order tables) or receivables (fed by receivables tables).';
  END IF;
  IF EXISTS (SELECT FROM pgcredit.exposure_category c WHERE c.name = add_category.name) THEN
    RAISE EXCEPTION 'exposure category "%" already exists', name USING ERRCODE = 'duplicate_object';
  END IF;
  INSERT INTO pgcredit.exposure_category (name, kind, description)
  VALUES (add_category.name, add_category.kind, add_category.description)
  RETURNING * INTO k;
  PERFORM pgcredit._audit('add_category', NULL, NULL, to_jsonb(k), NULL);
  RETURN k;
END
$$;
COMMENT ON FUNCTION pgcredit.add_category(text, text, text) IS
  'add a company exposure category of kind orders or receivables, audited; tables attached with it keep their exposure apart';
REVOKE EXECUTE ON FUNCTION pgcredit.add_category(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.add_category(text, text, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.set_category_limit(category text, credit_limit numeric, reason text,
                                            customer text DEFAULT NULL, tolerance_pct numeric DEFAULT NULL)
RETURNS pgcredit.category_limit LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  k pgcredit.exposure_category;
  before pgcredit.category_limit;
  after pgcredit.category_limit;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  k := pgcredit._category_exists(category);
  IF k.kind <> 'orders' THEN
    RAISE EXCEPTION 'exposure category "%" is of kind receivables', category USING ERRCODE = 'invalid_parameter_value',
      DETAIL = 'Receivables are never refused: a sub-limit could not be kept.',
      HINT = 'Set sub-limits on categories of kind orders.';
  END IF;
  PERFORM pgcredit._check_amount('credit_limit', credit_limit);
  -- NULL: the tolerance stays as it is (0 for a new sub-limit)
  PERFORM pgcredit._check_amount('tolerance_pct', tolerance_pct);
  IF customer IS NOT NULL AND octet_length(customer) > 1000 THEN
    RAISE EXCEPTION 'customer key of % bytes is too long for pgcredit', octet_length(customer)
      USING ERRCODE = 'program_limit_exceeded';
  END IF;
  -- a customer's exposure row first, as orders lock it: an order in
  -- flight is judged against the sub-limit it started with
  IF customer IS NOT NULL THEN
    PERFORM FROM pgcredit.exposure e WHERE e.customer = set_category_limit.customer FOR UPDATE;
  END IF;
  SELECT * INTO before FROM pgcredit.category_limit l
  WHERE l.category = set_category_limit.category AND l.customer IS NOT DISTINCT FROM set_category_limit.customer
  FOR UPDATE;
  IF credit_limit IS NULL THEN
    DELETE FROM pgcredit.category_limit l
    WHERE l.category = set_category_limit.category AND l.customer IS NOT DISTINCT FROM set_category_limit.customer;
  ELSE
    INSERT INTO pgcredit.category_limit AS l (category, customer, credit_limit, tolerance_pct)
    VALUES (set_category_limit.category, set_category_limit.customer, set_category_limit.credit_limit,
            coalesce(set_category_limit.tolerance_pct, 0))
    ON CONFLICT ON CONSTRAINT category_limit_once DO UPDATE
      SET credit_limit = EXCLUDED.credit_limit,
          tolerance_pct = coalesce(set_category_limit.tolerance_pct, l.tolerance_pct), set_at = pg_catalog.now()
    RETURNING * INTO after;
  END IF;
  PERFORM pgcredit._audit('set_category_limit', customer,
    CASE WHEN before.category IS NOT NULL THEN
      jsonb_build_object('category', before.category, 'credit_limit', before.credit_limit, 'tolerance_pct', before.tolerance_pct) END,
    CASE WHEN after.category IS NOT NULL THEN
      jsonb_build_object('category', after.category, 'credit_limit', after.credit_limit, 'tolerance_pct', after.tolerance_pct) END,
    reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.set_category_limit(text, numeric, text, text, numeric) IS
  'set the sub-limit of a category of kind orders for one customer, or the default for every customer (customer NULL), with a reason and, when given, a tolerance (else the one it has, 0 for a new sub-limit), audited; credit_limit NULL removes it';
REVOKE EXECUTE ON FUNCTION pgcredit.set_category_limit(text, numeric, text, text, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_category_limit(text, numeric, text, text, numeric) TO pgcredit_controller;

-- A customer's exposure in one category, and the sub-limit in force for
-- it (its own, else the category's default).  A built-in category holds
-- what its column holds less the company categories of its kind.  The
-- guard asks it after its change, under the customer's exposure row
-- lock, only for a category with sub-limits; check_order() asks it always.
CREATE FUNCTION pgcredit._category_standing(customer text, category text)
RETURNS TABLE (amount numeric, credit_limit numeric, tolerance_pct numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  RETURN QUERY
  SELECT CASE WHEN k.built_in THEN
           coalesce((SELECT CASE k.kind WHEN 'orders' THEN e.open_orders ELSE e.receivables END
                     FROM pgcredit.exposure e WHERE e.customer = $1), 0)
           - coalesce((SELECT sum(c.amount) FROM pgcredit.category_exposure c
                       JOIN pgcredit.exposure_category o ON o.name = c.category
                       WHERE c.customer = $1 AND o.kind = k.kind AND NOT o.built_in), 0)
         ELSE coalesce((SELECT c.amount FROM pgcredit.category_exposure c
                        WHERE c.customer = $1 AND c.category = k.name), 0) END,
         l.credit_limit, l.tolerance_pct
  FROM pgcredit.exposure_category k
  LEFT JOIN LATERAL (SELECT l.credit_limit, l.tolerance_pct FROM pgcredit.category_limit l
                     WHERE l.category = k.name AND (l.customer = $1 OR l.customer IS NULL)
                     ORDER BY l.customer NULLS LAST LIMIT 1) l ON true
  WHERE k.name = $2;
END
$$;
COMMENT ON FUNCTION pgcredit._category_standing(text, text) IS
  'a customer''s exposure in one category and the sub-limit in force for it (NULL: none)';
REVOKE EXECUTE ON FUNCTION pgcredit._category_standing(text, text) FROM PUBLIC;

CREATE VIEW pgcredit.exposure_breakdown AS
  WITH company AS (
    SELECT c.customer, k.kind, sum(c.amount) AS amount
    FROM (SELECT x.customer, x.category, x.amount FROM pgcredit.category_exposure x
          WHERE cardinality(pgcredit._citus_shells()) = 0
          UNION ALL
          SELECT w.customer, w.category, w.amount FROM pgcredit._citus_category_exposure() w
          WHERE cardinality(pgcredit._citus_shells()) > 0) c
    JOIN pgcredit.exposure_category k ON k.name = c.category
    WHERE NOT k.built_in
    GROUP BY c.customer, k.kind),
  parts AS (
    SELECT e.customer, k.name AS category,
           CASE k.kind WHEN 'orders' THEN e.open_orders ELSE e.receivables END
             - coalesce(o.amount, 0) AS amount
    FROM (SELECT x.customer, x.receivables, x.open_orders FROM pgcredit.exposure x
          WHERE cardinality(pgcredit._citus_shells()) = 0
          UNION ALL
          SELECT coalesce(x.customer, w.customer), coalesce(w.receivables, 0), coalesce(w.open_orders, 0)
          FROM pgcredit.exposure x FULL JOIN pgcredit._citus_exposure_at(current_date, NULL) w
            ON w.customer = x.customer
          WHERE cardinality(pgcredit._citus_shells()) > 0) e
    -- the built-in categories, which CREATE EXTENSION makes and nothing
    -- changes, as a list the planner counts right (exposure_category is
    -- too small for autovacuum ever to analyze: a crossing with its
    -- guessed size made every read of this view a compiled (JIT) query)
    CROSS JOIN (VALUES ('orders', 'orders'), ('invoices', 'receivables')) k(name, kind)
    LEFT JOIN company o ON o.customer = e.customer AND o.kind = k.kind
    UNION ALL
    SELECT x.customer, x.category, x.amount FROM pgcredit.category_exposure x
    WHERE cardinality(pgcredit._citus_shells()) = 0
    UNION ALL
    SELECT w.customer, w.category, w.amount FROM pgcredit._citus_category_exposure() w
    WHERE cardinality(pgcredit._citus_shells()) > 0)
  -- the sub-limit in force: the customer's own, else the category's
  -- default (each at most one row: category_limit_once), joined rather
  -- than looked up a row at a time, so that reading the whole book costs
  -- a hash join, not a search per customer and category
  SELECT p.customer, p.category, k.kind, p.amount,
         coalesce(c.credit_limit, d.credit_limit) AS sub_limit,
         CASE WHEN c.category IS NOT NULL THEN c.tolerance_pct ELSE d.tolerance_pct END AS tolerance_pct,
         coalesce(c.credit_limit, d.credit_limit) - p.amount AS headroom, current_date AS day
  FROM parts p
  JOIN pgcredit.exposure_category k ON k.name = p.category
  LEFT JOIN pgcredit.category_limit c ON c.category = p.category AND c.customer = p.customer
  LEFT JOIN pgcredit.category_limit d ON d.category = p.category AND d.customer IS NULL;
COMMENT ON VIEW pgcredit.exposure_breakdown IS 'what each customer''s exposure is made of: one row per customer and category (the built-in ones always, a company one once it had exposure); the amounts of a customer add up to its exposure';
COMMENT ON COLUMN pgcredit.exposure_breakdown.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.exposure_breakdown.category IS 'exposure category';
COMMENT ON COLUMN pgcredit.exposure_breakdown.kind IS 'orders or receivables';
COMMENT ON COLUMN pgcredit.exposure_breakdown.amount IS 'the customer''s exposure in the category';
COMMENT ON COLUMN pgcredit.exposure_breakdown.sub_limit IS 'the sub-limit in force (the customer''s own, else the category''s default); NULL = none';
COMMENT ON COLUMN pgcredit.exposure_breakdown.tolerance_pct IS 'the tolerance of that sub-limit';
COMMENT ON COLUMN pgcredit.exposure_breakdown.headroom IS 'sub_limit - amount (negative when over it); NULL without a sub-limit';
COMMENT ON COLUMN pgcredit.exposure_breakdown.day IS 'the day the view is read: the figures are today''s';
REVOKE ALL ON pgcredit.exposure_breakdown FROM PUBLIC;
GRANT SELECT ON pgcredit.exposure_breakdown TO pgcredit_reader;

CREATE VIEW pgcredit.category_totals AS
  SELECT k.name AS category, k.kind, k.built_in,
         coalesce(sum(b.amount), 0) AS amount,
         count(b.customer) FILTER (WHERE b.amount <> 0) AS customers,
         count(b.customer) FILTER (WHERE b.amount > b.sub_limit) AS customers_over_sub_limit,
         current_date AS day
  FROM pgcredit.exposure_category k
  LEFT JOIN pgcredit.exposure_breakdown b ON b.category = k.name
  GROUP BY k.name, k.kind, k.built_in;
COMMENT ON VIEW pgcredit.category_totals IS 'the book''s exposure by category';
COMMENT ON COLUMN pgcredit.category_totals.category IS 'exposure category';
COMMENT ON COLUMN pgcredit.category_totals.kind IS 'orders or receivables';
COMMENT ON COLUMN pgcredit.category_totals.built_in IS 'whether it is a built-in category (orders, invoices)';
COMMENT ON COLUMN pgcredit.category_totals.amount IS 'exposure of every customer in the category';
COMMENT ON COLUMN pgcredit.category_totals.customers IS 'customers with exposure in the category';
COMMENT ON COLUMN pgcredit.category_totals.customers_over_sub_limit IS 'customers whose exposure in the category is above its sub-limit (tolerance aside)';
COMMENT ON COLUMN pgcredit.category_totals.day IS 'the day the view is read: the figures are today''s';
REVOKE ALL ON pgcredit.category_totals FROM PUBLIC;
GRANT SELECT ON pgcredit.category_totals TO pgcredit_reader;

-- The company categories' exposure recomputed from the attached tables.
-- (plpgsql: pgcredit.attachment is created after this file)
CREATE FUNCTION pgcredit._actual_category_exposure(lock_tables boolean DEFAULT false)
RETURNS TABLE (customer text, category text, amount numeric)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  RETURN QUERY
    SELECT i.customer, a.category, sum(i.amount)
    FROM pgcredit._attached_items(NULL, NULL, NULL, lock_tables) i
    JOIN pgcredit.attachment a ON a.relid = i.relid
    JOIN pgcredit.exposure_category k ON k.name = a.category
    -- (a distributed table's rows are kept on the workers: doc/citus.md)
    WHERE i.counts AND NOT k.built_in AND i.relid <> ALL (CAST((SELECT pgcredit._citus_shells()) AS oid[]))
    GROUP BY i.customer, a.category;
END
$$;
COMMENT ON FUNCTION pgcredit._actual_category_exposure(boolean) IS
  'exposure per customer in each company category, recomputed from the attached tables';
REVOKE EXECUTE ON FUNCTION pgcredit._actual_category_exposure(boolean) FROM PUBLIC;

CREATE FUNCTION pgcredit.verify_category_exposure()
RETURNS TABLE (customer text, category text, stored_amount numeric, actual_amount numeric)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT coalesce(c.customer, a.customer), coalesce(c.category, a.category),
         coalesce(c.amount, 0), coalesce(a.amount, 0)
  FROM pgcredit.category_exposure c
  FULL JOIN pgcredit._actual_category_exposure() a ON a.customer = c.customer AND a.category = c.category
  WHERE coalesce(c.amount, 0) <> coalesce(a.amount, 0)
  -- on the coordinator of a Citus cluster, the workers' too
  UNION ALL
  SELECT r.* FROM pgcredit._citus_verify('verify_category_exposure') j
  CROSS JOIN LATERAL jsonb_to_record(j)
    AS r(customer text, category text, stored_amount numeric, actual_amount numeric)
  ORDER BY 1, 2
$$;
COMMENT ON FUNCTION pgcredit.verify_category_exposure() IS
  'recompute the company categories'' exposure from the attached tables and list the customers and categories whose stored amount differs (none when all is well)';
REVOKE EXECUTE ON FUNCTION pgcredit.verify_category_exposure() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.verify_category_exposure() TO pgcredit_reader;

-- Called by rebuild_exposure() with the attached tables locked, after
-- the customers' exposure rows: returns the customers corrected.
CREATE FUNCTION pgcredit._rebuild_category_exposure()
RETURNS text[] LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  fixed text[];
BEGIN
  WITH actual AS (SELECT * FROM pgcredit._actual_category_exposure()),
  diff AS (
    SELECT coalesce(x.customer, c.customer) AS customer, coalesce(x.category, c.category) AS category,
           coalesce(x.amount, 0) AS amount
    FROM actual x FULL JOIN pgcredit.category_exposure c ON c.customer = x.customer AND c.category = x.category
    WHERE coalesce(x.amount, 0) <> coalesce(c.amount, 0)),
  put AS (
    INSERT INTO pgcredit.category_exposure AS c (customer, category, amount)
    SELECT d.customer, d.category, d.amount FROM diff d
    ON CONFLICT (customer, category) DO UPDATE SET amount = EXCLUDED.amount
    RETURNING c.customer)
  SELECT array_agg(p.customer) INTO fixed FROM put p;
  RETURN coalesce(fixed, '{}');
END
$$;
COMMENT ON FUNCTION pgcredit._rebuild_category_exposure() IS
  'repair the company categories'' exposure from the attached tables (locked by the caller); returns the customers corrected';
REVOKE EXECUTE ON FUNCTION pgcredit._rebuild_category_exposure() FROM PUBLIC;

-- every attachment so far feeds the built-in category of its kind
ALTER TABLE pgcredit.attachment ADD COLUMN category text REFERENCES pgcredit.exposure_category;
UPDATE pgcredit.attachment SET category = CASE kind WHEN 'orders' THEN 'orders' ELSE 'invoices' END;
ALTER TABLE pgcredit.attachment ALTER COLUMN category SET NOT NULL;
COMMENT ON COLUMN pgcredit.attachment.category IS 'the exposure category the table feeds: orders or invoices (built in), or a company category of pgcredit.exposure_category of the same kind';

-- attach_receivables takes category: the 1.0 signature goes
DROP FUNCTION pgcredit.attach_receivables(regclass, name, name, name, name, text[], name, name, name);
CREATE FUNCTION pgcredit.attach_receivables(tbl regclass, customer_column name, open_amount_column name,
                                            due_column name DEFAULT NULL, open_column name DEFAULT NULL,
                                            open_values text[] DEFAULT NULL,
                                            invoice_amount_column name DEFAULT NULL,
                                            invoiced_column name DEFAULT NULL,
                                            paid_column name DEFAULT NULL,
                                            currency_column name DEFAULT NULL,
                                            rate_date_column name DEFAULT NULL,
                                            category text DEFAULT NULL)
RETURNS pgcredit.attachment LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  -- the history columns, for payment behaviour and DSO, checked first
  IF invoice_amount_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, invoice_amount_column, 'invoice amount');
    PERFORM pgcredit._check_attach_column(tbl, invoice_amount_column, 'amount');
  END IF;
  IF invoiced_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, invoiced_column, 'invoice date');
    PERFORM pgcredit._check_attach_column(tbl, invoiced_column, 'date');
  END IF;
  IF paid_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, paid_column, 'payment date');
    PERFORM pgcredit._check_attach_column(tbl, paid_column, 'date');
  END IF;
  RETURN pgcredit._attach(tbl, 'receivables', customer_column, open_amount_column, due_column,
                          open_column, open_values, 'track', NULL,
                          invoice_amount_column, invoiced_column, paid_column,
                          currency_column => currency_column, rate_date_column => rate_date_column,
                          category => category);
END
$$;
COMMENT ON FUNCTION pgcredit.attach_receivables(regclass, name, name, name, name, text[], name, name, name, name, name, text) IS
  'attach an invoice or open-item table: its open amounts count in exposure (receivables are never refused; converted into the account''s currency, when currency_column and rate_date_column name them) and in its exposure category (invoices unless category names a company one); invoice amount, invoice date and payment date columns feed payment behaviour, DSO and the risk views';
REVOKE EXECUTE ON FUNCTION pgcredit.attach_receivables(regclass, name, name, name, name, text[], name, name, name, name, name, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.attach_receivables(regclass, name, name, name, name, text[], name, name, name, name, name, text) TO pgcredit_admin;

----------------------------------------------------------------------
-- Currencies: the book's base currency, the accounts' and credit groups'
-- currencies, exchange rates by date, conversion of the rows of attached
-- tables with a currency column, revalue_exposure()
----------------------------------------------------------------------

ALTER TABLE pgcredit.settings
  ADD COLUMN base_currency text CONSTRAINT base_currency_code CHECK (base_currency ~ '^[A-Z]{3}$');
COMMENT ON COLUMN pgcredit.settings.base_currency IS 'the book''s currency (ISO 4217 code): accounts and credit groups without a currency of their own are kept in it; NULL = a single-currency book, where nothing is converted (set with set_base_currency)';
ALTER TABLE pgcredit.account
  ADD COLUMN currency text CONSTRAINT currency_code CHECK (currency ~ '^[A-Z]{3}$');
COMMENT ON COLUMN pgcredit.account.currency IS 'the currency the account''s limit and exposure are kept in (ISO 4217 code); NULL = the book''s base currency (set with set_account_currency)';
ALTER TABLE pgcredit.exposure ADD COLUMN currency text;
COMMENT ON COLUMN pgcredit.exposure.currency IS 'the account''s currency, copied like credit_limit: receivables and open_orders are in it (NULL = the book''s base currency)';
ALTER TABLE pgcredit.credit_group
  ADD COLUMN currency text CONSTRAINT currency_code CHECK (currency ~ '^[A-Z]{3}$');
COMMENT ON COLUMN pgcredit.credit_group.currency IS 'the currency of the group''s limit and exposure, which its members'' accounts and the groups under it share (ISO 4217 code); NULL = the book''s base currency (set with set_group_currency)';
ALTER TABLE pgcredit.attachment ADD COLUMN currency_column name, ADD COLUMN rate_date_column name;
COMMENT ON COLUMN pgcredit.attachment.currency_column IS 'the currency of each row''s amounts (ISO 4217 code); a row in another currency than its customer''s account is converted with the rate valid on its rate date; NULL = every row is in its account''s currency';
COMMENT ON COLUMN pgcredit.attachment.rate_date_column IS 'the date whose exchange rate converts a row in a foreign currency (the order or invoice date); given with currency_column';

CREATE OR REPLACE FUNCTION pgcredit._lock_exposure(customer text)
RETURNS void LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  INSERT INTO pgcredit.exposure AS e (customer, has_account, credit_limit, tolerance_pct, status,
                                      risk_tier, next_review, temporary_limit, temporary_from, temporary_until,
                                      currency)
  SELECT $1, a.customer IS NOT NULL, a.credit_limit, coalesce(a.tolerance_pct, 0), coalesce(a.status, 'ok'),
         a.risk_tier, a.next_review, a.temporary_limit, a.temporary_from, a.temporary_until, a.currency
  FROM (SELECT) AS one LEFT JOIN pgcredit.account a ON a.customer = $1
  ON CONFLICT (customer) DO UPDATE SET has_account = EXCLUDED.has_account,
    credit_limit = EXCLUDED.credit_limit, tolerance_pct = EXCLUDED.tolerance_pct, status = EXCLUDED.status,
    risk_tier = EXCLUDED.risk_tier, next_review = EXCLUDED.next_review,
    temporary_limit = EXCLUDED.temporary_limit, temporary_from = EXCLUDED.temporary_from,
    temporary_until = EXCLUDED.temporary_until, currency = EXCLUDED.currency;
  -- the account as committed once the row is locked: the statement above
  -- read it before it waited for the row, and a change of the account that
  -- committed meanwhile (which holds the row until it commits) would be
  -- undone, a lowered limit raised again.  This statement reads it anew.
  UPDATE pgcredit.exposure e
  SET has_account = a.customer IS NOT NULL, credit_limit = a.credit_limit,
      tolerance_pct = coalesce(a.tolerance_pct, 0), status = coalesce(a.status, 'ok'),
      risk_tier = a.risk_tier, next_review = a.next_review, temporary_limit = a.temporary_limit,
      temporary_from = a.temporary_from, temporary_until = a.temporary_until, currency = a.currency
  FROM (SELECT) AS one LEFT JOIN pgcredit.account a ON a.customer = $1
  WHERE e.customer = $1
    AND (e.has_account, e.credit_limit, e.tolerance_pct, e.status, e.risk_tier, e.next_review,
         e.temporary_limit, e.temporary_from, e.temporary_until, e.currency)
        IS DISTINCT FROM (a.customer IS NOT NULL, a.credit_limit, coalesce(a.tolerance_pct, 0),
                          coalesce(a.status, 'ok'), a.risk_tier, a.next_review, a.temporary_limit,
                          a.temporary_from, a.temporary_until, a.currency)
$$;
COMMENT ON FUNCTION pgcredit._lock_exposure(text) IS
  'lock a customer''s exposure row and copy the account''s limit, tolerance, status, risk tier, review date, temporary limit and currency into it, so that the change serialises with the customer''s orders and the guard reads it under the row lock';
REVOKE EXECUTE ON FUNCTION pgcredit._lock_exposure(text) FROM PUBLIC;


-- (attach_receivables takes currency_column and rate_date_column: it is
-- created with them where the exposure categories section makes it)

----------------------------------------------------------------------
-- Currencies: the book's base currency, exchange rates by date, the
-- conversion the guard applies, and revaluation when rates change
----------------------------------------------------------------------

CREATE FUNCTION pgcredit._check_currency_code(what text, code text)
RETURNS void LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF code IS NOT NULL AND code !~ '^[A-Z]{3}$' THEN
    RAISE EXCEPTION 'invalid currency code "%"', code USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('It was given as %s.', what),
      HINT = 'A currency is written as its ISO 4217 code: three capital letters, such as EUR or USD.';
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_currency_code(text, text) IS
  'refuse a currency code that is not three capital letters (NULL passes)';
REVOKE EXECUTE ON FUNCTION pgcredit._check_currency_code(text, text) FROM PUBLIC;

CREATE TABLE pgcredit.fx_rate (
  currency_from  text NOT NULL CONSTRAINT currency_from_code CHECK (currency_from ~ '^[A-Z]{3}$'),
  currency_to    text NOT NULL CONSTRAINT currency_to_code CHECK (currency_to ~ '^[A-Z]{3}$'),
  valid_from     date NOT NULL CONSTRAINT valid_from_finite CHECK (valid_from > '-infinity' AND valid_from < 'infinity'),
  rate           numeric NOT NULL CONSTRAINT rate_positive_finite CHECK (rate > 0 AND rate < 'Infinity'),
  entered_by     name NOT NULL DEFAULT current_user,
  entered_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (currency_from, currency_to, valid_from),
  CONSTRAINT two_currencies CHECK (currency_from <> currency_to)
);
COMMENT ON TABLE pgcredit.fx_rate IS 'exchange rates by date: one unit of currency_from is worth rate units of currency_to from valid_from until the next rate of the pair; written by pgcredit_admin (or load_csv as it), every change audited; run revalue_exposure() after a change';
COMMENT ON COLUMN pgcredit.fx_rate.currency_from IS 'the currency converted from (ISO 4217 code)';
COMMENT ON COLUMN pgcredit.fx_rate.currency_to IS 'the currency converted to (ISO 4217 code)';
COMMENT ON COLUMN pgcredit.fx_rate.valid_from IS 'first day the rate applies to; it applies until the next valid_from of the pair';
COMMENT ON COLUMN pgcredit.fx_rate.rate IS 'units of currency_to for one unit of currency_from: above 0 and finite';
COMMENT ON COLUMN pgcredit.fx_rate.entered_by IS 'who wrote the rate';
COMMENT ON COLUMN pgcredit.fx_rate.entered_at IS 'when the rate was written';
REVOKE ALL ON pgcredit.fx_rate FROM PUBLIC;
GRANT SELECT ON pgcredit.fx_rate TO pgcredit_reader;
GRANT INSERT, UPDATE, DELETE ON pgcredit.fx_rate TO pgcredit_admin;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.fx_rate', '');

-- Every change of the rates tells every backend to read them again: the
-- guard keeps the rates in memory (src/fx.c)
CREATE FUNCTION pgcredit._fx_rate_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'pgc_rules_changed'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgcredit._fx_rate_changed() IS
  'statement trigger on fx_rate: invalidates the rates every backend keeps, so that the next order in every session converts with the change';
REVOKE EXECUTE ON FUNCTION pgcredit._fx_rate_changed() FROM PUBLIC;
CREATE TRIGGER fx_rate_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgcredit.fx_rate
  FOR EACH STATEMENT EXECUTE FUNCTION pgcredit._fx_rate_changed();

CREATE FUNCTION pgcredit._stamp_fx_rate()
RETURNS trigger LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  -- a superuser's values stand (pg_restore brings the rates back with
  -- who wrote them and when); anyone else's are replaced
  IF NOT coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = pgcredit._actor()), false) THEN
    NEW.entered_by := pgcredit._actor();
    NEW.entered_at := pg_catalog.now();
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION pgcredit._stamp_fx_rate() IS
  'BEFORE INSERT or UPDATE on fx_rate: who wrote the rate and when, whatever the writer gave (a superuser''s values stand, for pg_restore)';
REVOKE EXECUTE ON FUNCTION pgcredit._stamp_fx_rate() FROM PUBLIC;
CREATE TRIGGER stamp BEFORE INSERT OR UPDATE ON pgcredit.fx_rate
  FOR EACH ROW EXECUTE FUNCTION pgcredit._stamp_fx_rate();

CREATE FUNCTION pgcredit._audit_fx_rate()
RETURNS trigger LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._audit('fx_rate_' || lower(TG_OP), NULL,
                          CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
                          CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END, NULL);
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION pgcredit._audit_fx_rate() IS
  'AFTER INSERT, UPDATE or DELETE on fx_rate: the rate before and after in the audit log';
REVOKE EXECUTE ON FUNCTION pgcredit._audit_fx_rate() FROM PUBLIC;
CREATE TRIGGER audit_change AFTER INSERT OR UPDATE OR DELETE ON pgcredit.fx_rate
  FOR EACH ROW EXECUTE FUNCTION pgcredit._audit_fx_rate();

-- The accounts' and the groups' currencies are read by the guard too: a
-- change of an account tells every backend to forget the currencies it
-- keeps (src/fx.c)
CREATE FUNCTION pgcredit._account_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'pgc_rules_changed'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgcredit._account_changed() IS
  'statement trigger on account: invalidates the account currencies every backend keeps';
REVOKE EXECUTE ON FUNCTION pgcredit._account_changed() FROM PUBLIC;
CREATE TRIGGER account_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgcredit.account
  FOR EACH STATEMENT EXECUTE FUNCTION pgcredit._account_changed();

CREATE FUNCTION pgcredit.fx_convert(amount numeric, currency_from text, currency_to text, rate_date date)
RETURNS numeric
AS 'MODULE_PATHNAME', 'pgc_fx_convert'
LANGUAGE C STABLE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION pgcredit.fx_convert(numeric, text, text, date) IS
  'an amount converted as the guard converts it: times the rate of the pair valid on rate_date (the latest valid_from on or before it), rounded to 2 decimal places, halves away from zero; the amount itself when the currencies are the same; a missing rate is an error (PC015)';
REVOKE EXECUTE ON FUNCTION pgcredit.fx_convert(numeric, text, text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.fx_convert(numeric, text, text, date) TO pgcredit_reader;

CREATE FUNCTION pgcredit.set_base_currency(currency text, reason text)
RETURNS pgcredit.settings LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.settings;
  after pgcredit.settings;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_currency_code('the base currency', currency);
  SELECT * INTO before FROM pgcredit.settings FOR UPDATE;
  -- the attachment rows are locked against new attachments meanwhile
  IF before.base_currency IS DISTINCT FROM currency
     AND EXISTS (SELECT FROM pgcredit.attachment a WHERE a.currency_column IS NOT NULL FOR KEY SHARE) THEN
    RAISE EXCEPTION 'cannot change the base currency while tables with a currency column are attached'
      USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = format('The exposure of the accounts without a currency of their own is kept in %s.',
                      coalesce(before.base_currency, 'no currency')),
      HINT = 'Detach the tables with a currency column first, and attach them again after the change.';
  END IF;
  INSERT INTO pgcredit.settings AS s (base_currency) VALUES (currency)
  ON CONFLICT (only_row) DO UPDATE SET base_currency = EXCLUDED.base_currency
  RETURNING * INTO after;
  PERFORM pgcredit._audit('set_base_currency', NULL, jsonb_build_object('base_currency', before.base_currency),
                          jsonb_build_object('base_currency', after.base_currency), reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.set_base_currency(text, text) IS
  'set the book''s base currency, in which accounts and groups without a currency of their own are kept (NULL = a single-currency book); refused while tables with a currency column are attached; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_base_currency(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_base_currency(text, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit._effective_currency(currency text)
RETURNS text LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT coalesce($1, (SELECT s.base_currency FROM pgcredit.settings s)) $$;
COMMENT ON FUNCTION pgcredit._effective_currency(text) IS
  'an account''s or group''s currency: its own, else the book''s base currency';
REVOKE EXECUTE ON FUNCTION pgcredit._effective_currency(text) FROM PUBLIC;

CREATE FUNCTION pgcredit.set_account_currency(customer text, currency text, reason text)
RETURNS pgcredit.account LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.account;
  after pgcredit.account;
  x pgcredit.exposure;
  grp pgcredit.credit_group;
  threshold numeric;
  covered numeric;
  headroom numeric;
  worth numeric;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_currency_code('the account''s currency', currency);
  SELECT * INTO before FROM pgcredit.account a WHERE a.customer = set_account_currency.customer FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'customer "%" has no credit account', customer USING ERRCODE = 'PC003',
      HINT = 'Open one with pgcredit.open_account().';
  END IF;
  -- under the exposure row's lock, which every order of the customer
  -- takes: nothing may count in the old currency, not even items that
  -- cancel out (converted anew they need not)
  PERFORM pgcredit._lock_exposure(customer);
  SELECT * INTO x FROM pgcredit.exposure e WHERE e.customer = set_account_currency.customer;
  IF pgcredit._effective_currency(before.currency) IS DISTINCT FROM pgcredit._effective_currency(currency)
     AND (x.receivables <> 0 OR x.open_orders <> 0
          OR EXISTS (SELECT FROM pgcredit._attached_items(NULL, set_account_currency.customer) i WHERE i.counts)) THEN
    RAISE EXCEPTION 'cannot change the currency of an account with exposure'
      USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = CASE WHEN x.receivables <> 0 OR x.open_orders <> 0
                    THEN format('Customer "%s" has receivables of %s and open orders of %s in %s.', customer,
                                x.receivables, x.open_orders, coalesce(pgcredit._effective_currency(before.currency), 'no currency'))
                    ELSE format('Customer "%s" has open items that cancel out in %s; converted into %s they need not.',
                                customer, coalesce(pgcredit._effective_currency(before.currency), 'no currency'),
                                coalesce(pgcredit._effective_currency(currency), 'no currency')) END,
      HINT = 'Change the currency when nothing is open.';
  END IF;
  UPDATE pgcredit.account a SET currency = set_account_currency.currency, updated_at = now()
  WHERE a.customer = set_account_currency.customer RETURNING * INTO after;
  PERFORM pgcredit._lock_exposure(customer);
  SELECT g.* INTO grp FROM pgcredit.group_member m JOIN pgcredit.credit_group g ON g.id = m.group_id
  WHERE m.customer = set_account_currency.customer;
  IF FOUND AND pgcredit._effective_currency(grp.currency) IS DISTINCT FROM pgcredit._effective_currency(after.currency) THEN
    RAISE EXCEPTION 'customer "%" is in credit group "%", kept in another currency', customer, grp.id
      USING ERRCODE = 'PC016',
      DETAIL = format('The group is kept in %s; the account would be in %s.',
                      coalesce(pgcredit._effective_currency(grp.currency), 'no currency'),
                      coalesce(pgcredit._effective_currency(after.currency), 'no currency')),
      HINT = 'Take the customer out of the group first with pgcredit.leave_group().';
  END IF;
  -- the limits and the cover keep their figures: in another currency
  -- they are worth another amount, judged by the approval policy as a
  -- limit opened anew (every cover that counts, whatever its days)
  threshold := (SELECT p.limit_approval_above FROM pgcredit.approval_policy p);
  IF threshold IS NOT NULL AND after.credit_limit IS NOT NULL
     AND pgcredit._effective_currency(before.currency) IS DISTINCT FROM pgcredit._effective_currency(after.currency) THEN
    covered := coalesce((SELECT sum(round(pgcredit._cover_value(c.amount, c.share_pct, c.deductible) * p.counted_pct / 100, 2))
                         FROM pgcredit.cover c JOIN pgcredit.cover_policy_in_force p ON p.kind = c.kind
                         WHERE c.customer = set_account_currency.customer AND p.counts
                           AND c.decision IN ('granted', 'reduced') AND c.ended_at IS NULL), 0);
    headroom := greatest(after.credit_limit, after.temporary_limit) + covered;
    worth := pgcredit._in_book_currency(customer, headroom);
    IF worth > threshold THEN
      RAISE EXCEPTION 'changing the currency of customer "%" needs approval', customer
        USING ERRCODE = 'PC012',
        DETAIL = format('Its limit%s, %s %s, would become %s %s%s, more than the %s that pgcredit.approval_policy lets a controller change alone.',
                        CASE WHEN covered > 0 THEN ' and the cover that counts' ELSE '' END,
                        headroom, pgcredit._effective_currency(before.currency),
                        headroom, pgcredit._effective_currency(after.currency),
                        CASE WHEN worth IS DISTINCT FROM headroom
                             THEN format(' (%s %s at today''s rate)', worth, (SELECT s.base_currency FROM pgcredit.settings s))
                             ELSE '' END,
                        threshold),
        HINT = CASE WHEN covered > 0
                    THEN 'Lower the limit to 0 (a cut needs no approval) and end the cover first, change the currency, then ask for the limit in the new currency with pgcredit.request_limit() and add the cover again.'
                    ELSE 'Lower the limit to 0 first (a cut needs no approval), change the currency, then ask for the limit in the new currency with pgcredit.request_limit().' END;
    END IF;
  END IF;
  PERFORM pgcredit._audit('set_account_currency', customer, jsonb_build_object('currency', before.currency),
                          jsonb_build_object('currency', after.currency), reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.set_account_currency(text, text, text) IS
  'set the currency an account''s limit and exposure are kept in (NULL = the base currency); refused while the customer has exposure, (PC016) when its credit group is kept in another currency, or (PC012) when the approval policy has a limit threshold and the limit with the cover that counts, worth another amount in the new currency, is worth more than it; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_account_currency(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_account_currency(text, text, text) TO pgcredit_controller;

-- Credit groups: a group's exposure is the sum of its members', so every
-- member and every group under it must be kept in the group's currency
CREATE FUNCTION pgcredit._check_group_currency()
RETURNS trigger LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  mine text;
  theirs text;
  who text;
BEGIN
  IF TG_TABLE_NAME = 'group_member' THEN
    mine := pgcredit._effective_currency((SELECT a.currency FROM pgcredit.account a WHERE a.customer = NEW.customer));
    theirs := pgcredit._effective_currency((SELECT g.currency FROM pgcredit.credit_group g WHERE g.id = NEW.group_id));
    who := format('Customer "%s"', NEW.customer);
  ELSE
    -- a new group under a parent is kept in the parent's currency
    IF TG_OP = 'INSERT' AND NEW.parent IS NOT NULL AND NEW.currency IS NULL THEN
      NEW.currency := (SELECT g.currency FROM pgcredit.credit_group g WHERE g.id = NEW.parent);
    END IF;
    theirs := pgcredit._effective_currency(NEW.currency);
    -- the group against its parent
    SELECT pgcredit._effective_currency(g.currency), format('Credit group "%s"', NEW.id) INTO mine, who
    FROM pgcredit.credit_group g WHERE g.id = NEW.parent;
    IF FOUND THEN
      mine := theirs;
      theirs := (SELECT pgcredit._effective_currency(g.currency) FROM pgcredit.credit_group g WHERE g.id = NEW.parent);
    ELSE
      mine := theirs;
    END IF;
    -- the group against its members and the groups under it
    IF mine IS NOT DISTINCT FROM theirs AND TG_OP = 'UPDATE' THEN
      SELECT x.c, x.w INTO mine, who FROM (
        SELECT pgcredit._effective_currency(a.currency) AS c, format('Customer "%s"', m.customer) AS w
        FROM pgcredit.group_member m LEFT JOIN pgcredit.account a ON a.customer = m.customer
        WHERE m.group_id = NEW.id
        UNION ALL
        SELECT pgcredit._effective_currency(g.currency), format('Credit group "%s"', g.id)
        FROM pgcredit.credit_group g WHERE g.parent = NEW.id) x
      WHERE x.c IS DISTINCT FROM pgcredit._effective_currency(NEW.currency)
      LIMIT 1;
      IF FOUND THEN
        theirs := pgcredit._effective_currency(NEW.currency);
      ELSE
        mine := theirs;
      END IF;
    END IF;
  END IF;
  IF mine IS DISTINCT FROM theirs THEN
    RAISE EXCEPTION 'credit group currencies do not match' USING ERRCODE = 'PC016',
      DETAIL = format('%s is kept in %s, its group in %s.', who, coalesce(mine, 'no currency'),
                      coalesce(theirs, 'no currency')),
      HINT = 'A credit group sums its members'' exposure: every member and every group under it must be kept in the group''s currency.';
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION pgcredit._check_group_currency() IS
  'BEFORE INSERT or UPDATE on group_member and credit_group: refuse (PC016) a member or group kept in another currency than its group';
REVOKE EXECUTE ON FUNCTION pgcredit._check_group_currency() FROM PUBLIC;
CREATE TRIGGER check_currency BEFORE INSERT OR UPDATE ON pgcredit.group_member
  FOR EACH ROW EXECUTE FUNCTION pgcredit._check_group_currency();
CREATE TRIGGER check_currency BEFORE INSERT OR UPDATE OF parent, currency ON pgcredit.credit_group
  FOR EACH ROW EXECUTE FUNCTION pgcredit._check_group_currency();

CREATE FUNCTION pgcredit.set_group_currency(group_id text, currency text, reason text)
RETURNS pgcredit.credit_group LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.credit_group;
  after pgcredit.credit_group;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_currency_code('the group''s currency', currency);
  PERFORM pgcredit._group_exists(group_id);
  -- the group's exposure row first, as orders lock it, then the group
  PERFORM FROM pgcredit.group_exposure x WHERE x.group_id = set_group_currency.group_id FOR UPDATE;
  SELECT * INTO before FROM pgcredit.credit_group g WHERE g.id = set_group_currency.group_id FOR UPDATE;
  UPDATE pgcredit.credit_group g SET currency = set_group_currency.currency, updated_at = now()
  WHERE g.id = set_group_currency.group_id RETURNING * INTO after;
  PERFORM pgcredit._audit('set_group_currency', NULL,
    jsonb_build_object('group', before.id, 'currency', before.currency),
    jsonb_build_object('group', after.id, 'currency', after.currency), reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.set_group_currency(text, text, text) IS
  'set the currency a credit group''s limit and exposure are kept in (NULL = the base currency); refused (PC016) when a member, a group under it or its parent is kept in another; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_group_currency(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_group_currency(text, text, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit._check_currency_columns(tbl regclass, currency_column name, rate_date_column name,
                                                 mode text)
RETURNS void LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF (SELECT s.base_currency FROM pgcredit.settings s) IS NULL THEN
    RAISE EXCEPTION 'a currency column needs the book''s base currency' USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = 'Accounts without a currency of their own are kept in the base currency, which is not set.',
      HINT = 'Set it first with pgcredit.set_base_currency().';
  END IF;
  IF rate_date_column IS NULL THEN
    RAISE EXCEPTION 'a currency column needs a rate date column' USING ERRCODE = 'invalid_parameter_value',
      HINT = 'Name the date column whose exchange rate converts a row, such as the order or invoice date.';
  END IF;
  PERFORM pgcredit._column_type(tbl, currency_column, 'currency');
  PERFORM pgcredit._check_attach_column(tbl, currency_column, 'currency');
  PERFORM pgcredit._column_type(tbl, rate_date_column, 'rate date');
  PERFORM pgcredit._check_attach_column(tbl, rate_date_column, 'date');
END
$$;
COMMENT ON FUNCTION pgcredit._check_currency_columns(regclass, name, name, text) IS
  'refuse a currency and rate date column pair pgcredit cannot use';
REVOKE EXECUTE ON FUNCTION pgcredit._check_currency_columns(regclass, name, name, text) FROM PUBLIC;

CREATE FUNCTION pgcredit.revalue_exposure(reason text DEFAULT 'exchange rates changed')
RETURNS TABLE (customer text, old_exposure numeric, new_exposure numeric, credit_limit numeric,
               crossed text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before jsonb;
  n bigint;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  -- on the coordinator of a Citus cluster the exposure is the workers'
  -- (doc/citus.md): each revalues its own, from the rates as committed
  -- (load rates and revalue in transactions of their own)
  IF cardinality(pgcredit._citus_shells()) > 0 THEN
    RETURN QUERY
      SELECT x.customer, x.old_exposure, x.new_exposure, x.credit_limit, x.crossed
      FROM pgcredit._citus_rows(format('SELECT * FROM pgcredit._citus_revalue_here(%L)', reason)) w
      CROSS JOIN LATERAL jsonb_to_record(w.r)
        AS x(customer text, old_exposure numeric, new_exposure numeric, credit_limit numeric, crossed text)
      ORDER BY 1;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM pgcredit._audit('revalue_exposure', NULL, NULL, jsonb_build_object('crossed', n, 'on', 'workers'), reason);
    RETURN;
  END IF;
  -- hold the writers of every attached table first (SHARE), so that the
  -- recomputation below, with a fresh snapshot, sees every committed row
  PERFORM count(*) FROM pgcredit._attached_items(NULL, NULL, NULL, true);
  SELECT jsonb_object_agg(e.customer, e.receivables + e.open_orders) INTO before FROM pgcredit.exposure e;
  PERFORM pgcredit.rebuild_exposure();
  RETURN QUERY
    SELECT e.customer, o.old, e.receivables + e.open_orders, l.lim,
           CASE WHEN e.receivables + e.open_orders > l.lim THEN 'up' ELSE 'down' END
    FROM pgcredit.exposure e
    CROSS JOIN LATERAL (SELECT pgcredit._effective_limit(e.credit_limit, e.temporary_limit, e.temporary_from,
                                                         e.temporary_until, current_date) AS lim) l
    CROSS JOIN LATERAL (SELECT coalesce((before ->> e.customer)::numeric, 0) AS old) o
    WHERE l.lim IS NOT NULL AND (o.old > l.lim) <> (e.receivables + e.open_orders > l.lim)
    ORDER BY e.customer;
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM pgcredit._audit('revalue_exposure', NULL, NULL, jsonb_build_object('crossed', n), reason);
END
$$;
COMMENT ON FUNCTION pgcredit.revalue_exposure(text) IS
  'recompute exposure with the exchange rates as they are now (after a rate was loaded or corrected) and list the customers whose exposure crossed their limit, up or down; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.revalue_exposure(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.revalue_exposure(text) TO pgcredit_admin;

-- customer_risk's available credit is what the guard leaves: the limit
-- in force with a temporary limit, and the cover that counts
CREATE FUNCTION pgcredit.customer_risk_at(as_of date, for_customer text)
RETURNS TABLE (customer text, credit_limit numeric, exposure numeric, receivables numeric,
               open_orders numeric, available_credit numeric, utilisation_pct numeric, status text,
               behavioural_score numeric, external_score numeric, combined_score numeric,
               risk_tier text, days_past_due int, aging_current numeric, aging_1_30 numeric,
               aging_31_60 numeric, aging_61_90 numeric, aging_over_90 numeric, dso_90 numeric,
               last_payment date, next_review date)
LANGUAGE plpgsql STABLE ROWS 10000
SUPPORT pgcredit._customer_support
-- a plan of a few joins over large inputs: compiling it would take longer than running it
SET jit = off
-- every customer's rows joined by hashing: merge joins would sort the
-- customer keys by the database's collation, several times (a third of
-- the time at 10^5 customers); one customer's rows are read by index
SET enable_mergejoin = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  -- the exposure rows as they stand now: the workers' on the coordinator
  -- of a Citus cluster with distributed tables attached (doc/citus.md)
  now_rows text := CASE WHEN cardinality(pgcredit._citus_shells()) > 0
                        THEN '(SELECT * FROM pgcredit._exposure_state_at(current_date, $2))'
                        ELSE 'pgcredit.exposure' END;
BEGIN
  -- planned at each call with its values, so that one customer's row
  -- is read through the indexes and every customer's with scans
  RETURN QUERY EXECUTE '
-- money to the cent, in every row alike
SELECT q.customer, round(q.credit_limit, 2), round(q.exposure, 2), round(q.receivables, 2),
       round(q.open_orders, 2), q.available_credit, q.utilisation_pct, q.status, q.behavioural_score,
       q.external_score, q.combined_score, q.risk_tier, q.days_past_due, round(q.aging_current, 2),
       round(q.aging_1_30, 2), round(q.aging_31_60, 2), round(q.aging_61_90, 2), round(q.aging_over_90, 2),
       q.dso_90, q.last_payment, q.next_review
FROM (
WITH s AS (SELECT * FROM pgcredit.receivable_stats($1, $2)),
     x AS (SELECT * FROM pgcredit.external_score_now($1, $2)),
     -- the financial score of the latest statement (financials.sql)
     fs AS (SELECT * FROM pgcredit.financial_score_now($1, $2)),
     -- the tiers of the latest scoring on or before the day
     h AS (SELECT customer, tier FROM pgcredit.score_history
           WHERE as_of = (SELECT max(as_of) FROM pgcredit.score_history WHERE as_of <= $1)
             AND ($2 IS NULL OR customer = $2)),
     -- exposure, limits, status and cover as the guard had them at the
     -- end of the day: from the exposure history for a past day, the
     -- exposure row itself from today on.  A customer with receivables
     -- on a past day but no change recorded by its end (a day before the
     -- history began) has its receivables of the ledger on that day,
     -- which its aging adds up to, and the rest as it stands now.
     h0 AS (SELECT * FROM pgcredit._exposure_state_at($1, $2)),
     e AS (SELECT * FROM h0
           UNION ALL
           SELECT s.customer, s.receivables, coalesce(l.open_orders, 0), coalesce(l.has_account, false),
                  l.credit_limit, coalesce(l.tolerance_pct, 0), coalesce(l.status, ''ok''),
                  l.temporary_limit, l.temporary_from, l.temporary_until, l.cover_counted, l.cover_from,
                  l.cover_until
           FROM s LEFT JOIN ' || now_rows || ' l USING (customer)
           -- (one customer: its exposure row through the index)
           WHERE $1 < current_date AND ($2 IS NULL OR s.customer = $2)
             AND NOT EXISTS (SELECT FROM h0 WHERE h0.customer = s.customer)),
     c AS (SELECT customer FROM e UNION SELECT customer FROM s),
     -- the cover that counts towards each limit on the day: the copy the
     -- guard judges by, in the days it holds; else from the covers
     k AS (SELECT v.customer, sum(v.counted) AS cover FROM pgcredit.cover_at($1, $2) v GROUP BY v.customer)
SELECT c.customer,
       CASE WHEN e.has_account THEN e.credit_limit END AS credit_limit,
       coalesce(e.receivables, 0) + coalesce(e.open_orders, 0) AS exposure,
       coalesce(e.receivables, 0) AS receivables,
       coalesce(e.open_orders, 0) AS open_orders,
       -- the headroom the guard leaves: the limit in force on the day (a
       -- temporary one in its days) with tolerance, plus the cover that counts
       CASE WHEN e.has_account THEN
       round(pgcredit._effective_limit(e.credit_limit, e.temporary_limit, e.temporary_from,
                                       e.temporary_until, $1) * (1 + coalesce(e.tolerance_pct, 0) / 100)
             + CASE WHEN e.cover_counted IS NOT NULL AND (e.cover_from IS NULL OR $1 >= e.cover_from)
                         AND (e.cover_until IS NULL OR $1 <= e.cover_until)
                    THEN e.cover_counted ELSE coalesce(k.cover, 0) END
             - coalesce(e.receivables, 0) - coalesce(e.open_orders, 0), 2) END AS available_credit,
       CASE WHEN e.has_account THEN
       round((coalesce(e.receivables, 0) + coalesce(e.open_orders, 0)) * 100 / nullif(e.credit_limit, 0), 2)
       END AS utilisation_pct,
       CASE WHEN e.has_account THEN e.status ELSE ''no account'' END AS status,
       s.behavioural_score,
       x.scaled_score AS external_score,
       pgcredit._combine(s.behavioural_score, x.scaled_score, u.pct, fs.scaled_score, cfg.weight_behaviour,
                         cfg.weight_external, cfg.weight_utilisation, cfg.weight_financial) AS combined_score,
       coalesce(h.tier, a.risk_tier) AS risk_tier,
       coalesce(s.oldest_days_past_due, 0) AS days_past_due,
       s.current AS aging_current, s.days_1_30 AS aging_1_30, s.days_31_60 AS aging_31_60,
       s.days_61_90 AS aging_61_90, s.days_over_90 AS aging_over_90,
       s.dso_90, s.last_payment, a.next_review
FROM c
LEFT JOIN pgcredit.account a USING (customer)
LEFT JOIN e USING (customer)
LEFT JOIN s USING (customer)
LEFT JOIN x USING (customer)
LEFT JOIN fs USING (customer)
LEFT JOIN h USING (customer)
LEFT JOIN k USING (customer)
-- the weights read once, not in a call of combined_score() per row
CROSS JOIN pgcredit._settings_or_default() cfg
CROSS JOIN LATERAL (SELECT CASE WHEN e.has_account THEN
                           round((coalesce(e.receivables, 0) + coalesce(e.open_orders, 0)) * 100
                                 / nullif(e.credit_limit, 0), 2) END AS pct) u
-- one customer, or every one: the customer then reaches each table''s index
WHERE $2 IS NULL OR c.customer = $2) q'
  USING as_of, for_customer;
END
$$;
COMMENT ON FUNCTION pgcredit.customer_risk_at(date, text) IS 'the row of customer_risk of one customer (every customer''s when NULL) as of any day, read through the indexes';
REVOKE EXECUTE ON FUNCTION pgcredit.customer_risk_at(date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.customer_risk_at(date, text) TO pgcredit_reader;

CREATE OR REPLACE FUNCTION pgcredit.customer_risk_at(as_of date)
RETURNS TABLE (customer text, credit_limit numeric, exposure numeric, receivables numeric,
               open_orders numeric, available_credit numeric, utilisation_pct numeric, status text,
               behavioural_score numeric, external_score numeric, combined_score numeric,
               risk_tier text, days_past_due int, aging_current numeric, aging_1_30 numeric,
               aging_31_60 numeric, aging_61_90 numeric, aging_over_90 numeric, dso_90 numeric,
               last_payment date, next_review date)
LANGUAGE sql STABLE ROWS 10000
SUPPORT pgcredit._customer_support
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT * FROM pgcredit.customer_risk_at($1, NULL) $$;
COMMENT ON FUNCTION pgcredit.customer_risk_at(date) IS 'the rows of customer_risk as of any day; a filter on one customer reads that customer only';
COMMENT ON COLUMN pgcredit.customer_risk.available_credit IS 'what the guard leaves: the limit in force (a temporary limit in its days) with tolerance, plus the cover that counts, minus exposure; negative when over; NULL without a limit';

-- The copies of the accounts the guard judges by, checked
CREATE FUNCTION pgcredit.verify_account_copy()
RETURNS TABLE (customer text, field text, on_account text, on_exposure text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  -- what the guard judges by is the copy: a copy that differs from the
  -- account is a limit, status or currency not enforced as set
  SELECT e.customer, f.field, f.on_account, f.on_exposure
  FROM pgcredit.exposure e
  LEFT JOIN pgcredit.account a ON a.customer = e.customer
  CROSS JOIN LATERAL (VALUES
    ('has_account', (a.customer IS NOT NULL)::text, e.has_account::text,
     (a.customer IS NOT NULL) = e.has_account),
    ('credit_limit', a.credit_limit::text, e.credit_limit::text,
     a.credit_limit IS NOT DISTINCT FROM e.credit_limit),
    ('tolerance_pct', coalesce(a.tolerance_pct, 0)::text, e.tolerance_pct::text,
     coalesce(a.tolerance_pct, 0) = e.tolerance_pct),
    ('status', coalesce(a.status, 'ok'), e.status, coalesce(a.status, 'ok') = e.status),
    ('risk_tier', a.risk_tier, e.risk_tier, a.risk_tier IS NOT DISTINCT FROM e.risk_tier),
    ('next_review', a.next_review::text, e.next_review::text, a.next_review IS NOT DISTINCT FROM e.next_review),
    ('temporary_limit', a.temporary_limit::text, e.temporary_limit::text,
     a.temporary_limit IS NOT DISTINCT FROM e.temporary_limit),
    ('temporary_from', a.temporary_from::text, e.temporary_from::text,
     a.temporary_from IS NOT DISTINCT FROM e.temporary_from),
    ('temporary_until', a.temporary_until::text, e.temporary_until::text,
     a.temporary_until IS NOT DISTINCT FROM e.temporary_until),
    ('currency', a.currency, e.currency, a.currency IS NOT DISTINCT FROM e.currency))
    AS f(field, on_account, on_exposure, same)
  WHERE NOT f.same
  -- on the coordinator of a Citus cluster, the workers' too
  UNION ALL
  SELECT r.* FROM pgcredit._citus_verify('verify_account_copy') j
  CROSS JOIN LATERAL jsonb_to_record(j)
    AS r(customer text, field text, on_account text, on_exposure text)
  ORDER BY 1, 2
$$;
COMMENT ON FUNCTION pgcredit.verify_account_copy() IS
  'list the fields of the accounts whose copy on the exposure row, which the guard judges orders by, differs from the account (none when all is well); rebuild_exposure() repairs them';
REVOKE EXECUTE ON FUNCTION pgcredit.verify_account_copy() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.verify_account_copy() TO pgcredit_reader;

-- The book's time zone: the horizon's today the same in every session
ALTER TABLE pgcredit.settings ADD COLUMN time_zone text;
COMMENT ON COLUMN pgcredit.settings.time_zone IS 'the book''s time zone: the horizon''s today is the date in it, the same for every session whatever its TimeZone; NULL = each session''s own (set with set_time_zone)';
CREATE FUNCTION pgcredit.set_time_zone(zone text, reason text)
RETURNS pgcredit.settings LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.settings;
  after pgcredit.settings;
  old_today date;
  new_today date;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF zone IS NOT NULL AND btrim(zone) = '' THEN
    RAISE EXCEPTION 'time zone must not be empty' USING ERRCODE = 'invalid_parameter_value',
      HINT = 'Name a time zone such as Europe/Berlin, or NULL for each session''s own.';
  END IF;
  SELECT * INTO before FROM pgcredit.settings FOR UPDATE;
  old_today := pgcredit._horizon_today();
  -- an unknown name raises 22023 here
  new_today := CASE WHEN zone IS NULL THEN current_date
                    ELSE (pg_catalog.now() AT TIME ZONE zone)::date END;
  -- the orders waiting beyond the horizon are in buckets of days counted
  -- from today: today must not go back under them (unless the tests'
  -- pgcredit.horizon_today holds the day, which a zone does not move)
  IF new_today < old_today AND coalesce(pg_catalog.current_setting('pgcredit.horizon_today', true), '') = ''
     AND EXISTS (SELECT FROM pgcredit.order_horizon) THEN
    RAISE EXCEPTION 'cannot move the horizon''s today back' USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = format('Today is %s in the book; in time zone %s it would be %s, and orders wait beyond the horizon.',
                      old_today, coalesce(zone, 'of this session'), new_today),
      HINT = 'Change the time zone when the new one''s date has caught up, or when no order waits beyond the horizon.';
  END IF;
  INSERT INTO pgcredit.settings AS s (time_zone) VALUES (zone)
  ON CONFLICT (only_row) DO UPDATE SET time_zone = EXCLUDED.time_zone
  RETURNING * INTO after;
  PERFORM pgcredit._audit('set_time_zone', NULL, jsonb_build_object('time_zone', before.time_zone),
                          jsonb_build_object('time_zone', after.time_zone), reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.set_time_zone(text, text) IS
  'set the book''s time zone, in which the horizon''s today is the same for every session (NULL = each session''s own); refused when it would move today back while orders wait beyond the horizon; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_time_zone(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_time_zone(text, text) TO pgcredit_admin;

----------------------------------------------------------------------
-- What an application learns: the hold its write caused, and one
-- customer's credit status
----------------------------------------------------------------------

CREATE FUNCTION pgcredit.last_held_order_id()
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgc_last_held_order_id'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION pgcredit.last_held_order_id() IS
  'the id (held_order.id) of the held order this session''s writes recorded last, as lastval() for sequences; NULL when none did';

-- What an order screen needs of one customer, for a role that may read
-- no account: pgcredit_sales, which may already ask check_order()
CREATE FUNCTION pgcredit.credit_status(for_customer text)
RETURNS TABLE (customer text, status text, credit_limit numeric, available_credit numeric,
               limited_by text, exposure numeric, receivables numeric, open_orders numeric,
               held_orders bigint, held_amount numeric, currency text, as_of date)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  key text := for_customer;
  a pgcredit.account;
  e pgcredit.exposure;
  c record;
  gh record;
BEGIN
  IF key IS NULL THEN
    RAISE EXCEPTION 'customer must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- the guard's own answer for an order of 0: what the customer's limit
  -- leaves before an order (with tolerance and cover), and its refusal of
  -- a key too long (54000)
  SELECT * INTO c FROM pgcredit.check_order(key, 0);
  SELECT * INTO a FROM pgcredit.account x WHERE x.customer = key;
  SELECT * INTO e FROM pgcredit.exposure x WHERE x.customer = key;
  -- on the coordinator of a Citus cluster, the worker's (doc/citus.md)
  IF cardinality(pgcredit._citus_shells()) > 0 THEN
    SELECT w.receivables, w.open_orders INTO e.receivables, e.open_orders
    FROM pgcredit._citus_exposure_at(current_date, key) w;
  END IF;
  credit_status.customer := key;
  status := coalesce(a.status, 'no account');
  credit_limit := round(pgcredit._effective_limit(a.credit_limit, a.temporary_limit, a.temporary_from,
                                                  a.temporary_until, current_date), 2);
  available_credit := round(c.credit_available, 2);
  limited_by := CASE WHEN c.credit_available IS NOT NULL THEN 'customer' END;
  -- a member of a credit group: the least headroom over its own limit and
  -- every group limit of its chain, as the guard checks them all
  SELECT g.limit_headroom, g.limited_by INTO gh FROM pgcredit.group_member_risk g WHERE g.customer = key;
  IF FOUND THEN
    available_credit := round(gh.limit_headroom, 2);
    limited_by := gh.limited_by;
  END IF;
  -- money to the cent, whatever the tables' scales
  receivables := round(coalesce(e.receivables, 0), 2);
  open_orders := round(coalesce(e.open_orders, 0), 2);
  exposure := receivables + open_orders;
  SELECT count(*), round(coalesce(sum(h.amount), 0), 2) INTO held_orders, held_amount
  FROM pgcredit.held_order h WHERE h.customer = key AND h.released_at IS NULL;
  currency := coalesce(a.currency, (SELECT s.base_currency FROM pgcredit.settings s));
  as_of := current_date;
  RETURN NEXT;
END
$$;
COMMENT ON FUNCTION pgcredit.credit_status(text) IS
  'one customer''s credit now, for application code that may read no account: status (no account without one), the limit in force today, the credit available before an order as the guard judges it (the least headroom over the customer''s limit and its credit groups'', with tolerance and cover; NULL without a limit) and which limit binds (customer or group), exposure, receivables and open orders, the orders on hold and their amount, the account''s currency (NULL in a single-currency book), the day';
REVOKE EXECUTE ON FUNCTION pgcredit.credit_status(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.credit_status(text) TO pgcredit_reader, pgcredit_sales;

----------------------------------------------------------------------
-- Collections: the collectors' role, and the worklist's setting
----------------------------------------------------------------------

DO $roles$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgcredit_collector') THEN
    CREATE ROLE pgcredit_collector NOLOGIN;
  END IF;
END
$roles$;
ALTER TABLE pgcredit.settings ADD COLUMN worklist_by_assignment boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN pgcredit.settings.worklist_by_assignment IS 'whether a collector (pgcredit_collector, not pgcredit_reader) sees in the worklist only the customers assigned to a role it is a member of (set with set_worklist_by_assignment)';

-- exposure history (sql/install/exposure_history.sql): on unless turned off
ALTER TABLE pgcredit.settings ADD COLUMN exposure_history boolean NOT NULL DEFAULT true;
COMMENT ON COLUMN pgcredit.settings.exposure_history IS 'whether every change of a customer''s exposure row is recorded in exposure_history, for exposure_at() (set with set_exposure_history)';

----------------------------------------------------------------------
-- Every view says its day, and has flat columns for BI tools: the views
-- of 1.0 keep their columns and gain new ones at the end (a day column,
-- text forms of regclass, jsonb and name columns, an interval in
-- seconds); aging_by_customer and portfolio gain function forms
----------------------------------------------------------------------

CREATE OR REPLACE VIEW pgcredit.customer_risk AS
SELECT r.*, pgcredit.as_of() AS day FROM pgcredit.customer_risk_at(pgcredit.as_of()) r;
COMMENT ON COLUMN pgcredit.customer_risk.day IS 'the day the row describes: pgcredit.as_of(), today unless set';
COMMENT ON COLUMN pgcredit.customer_risk.exposure IS 'open receivables plus open orders: as they stand for today, at the end of the day (from exposure_history) for a past day';
COMMENT ON COLUMN pgcredit.customer_risk.receivables IS 'open receivables: as they stand for today, at the end of the day for a past day';
COMMENT ON COLUMN pgcredit.customer_risk.open_orders IS 'open orders: as they stand for today, at the end of the day for a past day';

-- plain SQL, so that it is planned inline and a filter on one customer
-- reaches receivable_stats()
CREATE FUNCTION pgcredit.aging_by_customer_at(as_of date)
RETURNS TABLE (customer text, current numeric, days_1_30 numeric, days_31_60 numeric, days_61_90 numeric,
               days_over_90 numeric, total numeric, oldest_days_past_due int, day date)
LANGUAGE sql STABLE ROWS 10000
AS $$
  SELECT s.customer, round(s.current, 2), round(s.days_1_30, 2), round(s.days_31_60, 2),
         round(s.days_61_90, 2), round(s.days_over_90, 2), round(s.receivables, 2),
         s.oldest_days_past_due, $1
  FROM pgcredit.receivable_stats($1) s
$$;
COMMENT ON FUNCTION pgcredit.aging_by_customer_at(date) IS 'the rows of aging_by_customer on any day';
REVOKE EXECUTE ON FUNCTION pgcredit.aging_by_customer_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.aging_by_customer_at(date) TO pgcredit_reader;

CREATE OR REPLACE VIEW pgcredit.aging_by_customer AS
SELECT * FROM pgcredit.aging_by_customer_at(pgcredit.as_of());
COMMENT ON COLUMN pgcredit.aging_by_customer.day IS 'the day the row describes: pgcredit.as_of(), today unless set';

-- the portfolio on any day; plain SQL, planned inline
CREATE FUNCTION pgcredit.portfolio_at(as_of date)
RETURNS TABLE (total_exposure numeric, receivables numeric, aging_current numeric, aging_1_30 numeric,
               aging_31_60 numeric, aging_61_90 numeric, aging_over_90 numeric, overdue_pct numeric,
               dso numeric, best_possible_dso numeric, average_days_delinquent numeric, exposure_hhi numeric,
               top_10_share numeric, customers bigint, tier_a bigint, tier_b bigint, tier_c bigint,
               tier_d bigint, tier_e bigint, status_ok bigint, status_watch bigint, status_hold bigint,
               status_blocked bigint, customers_over_limit bigint, exposure_over_limit numeric, day date)
LANGUAGE sql STABLE ROWS 1
AS $$
  -- every customer's row read once, every figure of it in one pass
  WITH r AS (SELECT round(sum(exposure), 2) AS total_exposure,
                    pgcredit.concentration_hhi(exposure) AS exposure_hhi,
                    pgcredit.concentration_top_share(exposure, 10) AS top_10_share,
                    count(*) AS customers,
                    count(*) FILTER (WHERE risk_tier = 'A') AS tier_a,
                    count(*) FILTER (WHERE risk_tier = 'B') AS tier_b,
                    count(*) FILTER (WHERE risk_tier = 'C') AS tier_c,
                    count(*) FILTER (WHERE risk_tier = 'D') AS tier_d,
                    count(*) FILTER (WHERE risk_tier = 'E') AS tier_e,
                    count(*) FILTER (WHERE status = 'ok') AS status_ok,
                    count(*) FILTER (WHERE status = 'watch') AS status_watch,
                    count(*) FILTER (WHERE status = 'hold') AS status_hold,
                    count(*) FILTER (WHERE status = 'blocked') AS status_blocked,
                    count(*) FILTER (WHERE available_credit < 0) AS customers_over_limit,
                    round(coalesce(sum(-available_credit) FILTER (WHERE available_credit < 0), 0), 2)
                      AS exposure_over_limit
             FROM pgcredit.customer_risk_at($1))
  SELECT r.total_exposure,
         round(p.receivables, 2), round(p.current, 2) AS aging_current, round(p.days_1_30, 2) AS aging_1_30,
         round(p.days_31_60, 2) AS aging_31_60, round(p.days_61_90, 2) AS aging_61_90,
         round(p.days_over_90, 2) AS aging_over_90, p.overdue_pct,
         p.dso, p.best_possible_dso, p.average_days_delinquent,
         r.exposure_hhi, r.top_10_share, r.customers, r.tier_a, r.tier_b, r.tier_c, r.tier_d, r.tier_e,
         r.status_ok, r.status_watch, r.status_hold, r.status_blocked, r.customers_over_limit,
         r.exposure_over_limit,
         $1 AS day
  FROM pgcredit.portfolio_stats($1) p, r
$$;
COMMENT ON FUNCTION pgcredit.portfolio_at(date) IS 'the row of portfolio on any day';
REVOKE EXECUTE ON FUNCTION pgcredit.portfolio_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.portfolio_at(date) TO pgcredit_reader;

CREATE OR REPLACE VIEW pgcredit.portfolio AS
SELECT * FROM pgcredit.portfolio_at(pgcredit.as_of());
COMMENT ON COLUMN pgcredit.portfolio.day IS 'the day the row describes: pgcredit.as_of(), today unless set';

-- today's rows of held_orders_at(): the orders on hold now
CREATE OR REPLACE VIEW pgcredit.held_orders AS
SELECT * FROM pgcredit.held_orders_at(current_date);
COMMENT ON COLUMN pgcredit.held_orders.day IS 'the day the view is read: the orders held now';
COMMENT ON COLUMN pgcredit.held_orders.order_table_text IS 'order_table as text, always schema.table';
COMMENT ON COLUMN pgcredit.held_orders.row_key_text IS 'row_key as text';
COMMENT ON COLUMN pgcredit.held_orders.held_for_seconds IS 'held_for in seconds';

CREATE OR REPLACE VIEW pgcredit.watchlist AS
SELECT w.*, pgcredit.as_of() AS day FROM pgcredit.watchlist_at(pgcredit.as_of()) w;
COMMENT ON COLUMN pgcredit.watchlist.day IS 'the day the row describes: pgcredit.as_of(), today unless set';

CREATE OR REPLACE VIEW pgcredit.limit_history AS
SELECT l.customer, l.at AS changed_at,
       CASE WHEN l.action = 'open_account' THEN NULL
            WHEN l.action = 'set_credit_limit' THEN (l.old_value ->> 'credit_limit')::numeric
            ELSE (l.old_value ->> 'temporary_limit')::numeric END AS old_limit,
       CASE WHEN l.action IN ('open_account', 'set_credit_limit') THEN (l.new_value ->> 'credit_limit')::numeric
            ELSE (l.new_value ->> 'temporary_limit')::numeric END AS new_limit,
       l.role_name AS changed_by, l.reason,
       CASE WHEN l.action IN ('open_account', 'set_credit_limit') THEN 'permanent' ELSE 'temporary' END AS kind,
       (l.new_value ->> 'temporary_from')::date AS valid_from,
       (l.new_value ->> 'temporary_until')::date AS valid_until,
       r.id AS request, r.requester AS requested_by,
       CASE WHEN r.auto_approved THEN '(policy)' ELSE r.approver END AS approved_by,
       l.role_name::text AS changed_by_text
FROM pgcredit.audit_log l
LEFT JOIN pgcredit.approval_request r ON r.audit_id = l.id
WHERE l.action IN ('open_account', 'set_credit_limit', 'set_temporary_limit', 'clear_temporary_limit');
COMMENT ON COLUMN pgcredit.limit_history.changed_by_text IS 'changed_by as text';

-- >>> collections: as in sql/install/collections.sql
-- Collections: dunning policies by tier, the daily run, each customer's level

----------------------------------------------------------------------
-- Collections: dunning (pgcredit_admin sets the policies,
-- pgcredit_controller assigns them to customers and runs the day)
--
-- A dunning policy is a ladder of levels, each at a number of days
-- relative to an item's due date (negative: a reminder before it), with
-- the channel and the template key the application uses to send it, and
-- optionally an account status it sets (hold or blocked).  Each
-- receivable item climbs the ladder on its own: an item reaches the
-- highest level whose day has come and that it has not reached before.
-- run_collections(day) writes one action per customer and day, naming
-- the items that reached a new level, at the highest of those levels;
-- it writes nothing for a customer within the policy's quiet days after
-- its last action, or when those items come to less than the policy's
-- minimum amount.  Every action is announced with NOTIFY
-- pgcredit_collections and its id.
----------------------------------------------------------------------

-- The rows of the attached tables with each row's primary key
CREATE FUNCTION pgcredit._attached_items_keyed(kind text DEFAULT NULL, customer text DEFAULT NULL,
                                               relid regclass DEFAULT NULL, lock_tables boolean DEFAULT false,
                                               open_on date DEFAULT NULL)
RETURNS TABLE (relid oid, kind text, customer text, amount numeric, counts boolean, held boolean,
               due date, invoice_amount numeric, invoiced_on date, paid_on date, counts_from date,
               item_key jsonb)
AS 'MODULE_PATHNAME', 'pgc_attached_items_v3'
LANGUAGE C VOLATILE ROWS 100000;
COMMENT ON FUNCTION pgcredit._attached_items_keyed(text, text, regclass, boolean, date) IS
  'the rows of _attached_items() with item_key, each row''s primary key as a JSON object (NULL for a table without a primary key); with open_on, only the items open on that day (a due date, invoiced by then, paid after it or not paid and open now)';
REVOKE EXECUTE ON FUNCTION pgcredit._attached_items_keyed(text, text, regclass, boolean, date) FROM PUBLIC;


CREATE TABLE pgcredit.dunning_policy (
  name         text PRIMARY KEY
               CONSTRAINT dunning_policy_name CHECK (btrim(name) <> '' AND octet_length(name) <= 200),
  min_amount   numeric NOT NULL DEFAULT 0 CHECK (min_amount >= 0 AND min_amount < 'Infinity'),
  quiet_days   int NOT NULL DEFAULT 0 CHECK (quiet_days BETWEEN 0 AND 366),
  description  text,
  created_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE pgcredit.dunning_policy IS 'dunning policies: ladders of levels (dunning_level) assigned per risk tier or per customer; changed only through pgcredit''s functions, every change audited';
COMMENT ON COLUMN pgcredit.dunning_policy.name IS 'the policy''s name';
COMMENT ON COLUMN pgcredit.dunning_policy.min_amount IS 'an action is written only when the items it names come to at least this much (in the account''s currency)';
COMMENT ON COLUMN pgcredit.dunning_policy.quiet_days IS 'days after an action before the next one for the same customer may be written (0: the next day)';
COMMENT ON COLUMN pgcredit.dunning_policy.description IS 'what the policy is for';
COMMENT ON COLUMN pgcredit.dunning_policy.created_at IS 'when it was created';
REVOKE ALL ON pgcredit.dunning_policy FROM PUBLIC;
GRANT SELECT ON pgcredit.dunning_policy TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.dunning_policy', '');

CREATE TABLE pgcredit.dunning_level (
  policy          text NOT NULL REFERENCES pgcredit.dunning_policy ON DELETE CASCADE,
  level           int NOT NULL CHECK (level BETWEEN 1 AND 99),
  days            int NOT NULL CHECK (days BETWEEN -366 AND 3660),
  channel         text NOT NULL CONSTRAINT dunning_channel CHECK (btrim(channel) <> '' AND octet_length(channel) <= 100),
  template        text NOT NULL CONSTRAINT dunning_template CHECK (btrim(template) <> '' AND octet_length(template) <= 200),
  account_status  text CHECK (account_status IN ('hold', 'blocked')),
  PRIMARY KEY (policy, level),
  UNIQUE (policy, days)
);
COMMENT ON TABLE pgcredit.dunning_level IS 'the levels of each dunning policy; a higher level always comes later';
COMMENT ON COLUMN pgcredit.dunning_level.policy IS 'the policy';
COMMENT ON COLUMN pgcredit.dunning_level.level IS 'the level, 1 the first';
COMMENT ON COLUMN pgcredit.dunning_level.days IS 'days after the due date an item reaches the level; negative for a reminder before it';
COMMENT ON COLUMN pgcredit.dunning_level.channel IS 'how the application sends it, e.g. email, letter, phone, agency';
COMMENT ON COLUMN pgcredit.dunning_level.template IS 'the key of the application''s template for it';
COMMENT ON COLUMN pgcredit.dunning_level.account_status IS 'hold or blocked: the status the account takes when an item reaches the level (lifted by run_collections when no such item is left open); NULL = none';
REVOKE ALL ON pgcredit.dunning_level FROM PUBLIC;
GRANT SELECT ON pgcredit.dunning_level TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.dunning_level', '');

CREATE TABLE pgcredit.dunning_assignment (
  tier      text PRIMARY KEY CONSTRAINT dunning_tier CHECK (tier IN ('A', 'B', 'C', 'D', 'E', 'default')),
  policy    text NOT NULL REFERENCES pgcredit.dunning_policy
);
COMMENT ON TABLE pgcredit.dunning_assignment IS 'the dunning policy of each risk tier; default: of customers whose tier has none, and of those without a tier';
COMMENT ON COLUMN pgcredit.dunning_assignment.tier IS 'a risk tier, A to E, or default';
COMMENT ON COLUMN pgcredit.dunning_assignment.policy IS 'the policy';
REVOKE ALL ON pgcredit.dunning_assignment FROM PUBLIC;
GRANT SELECT ON pgcredit.dunning_assignment TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.dunning_assignment', '');

CREATE TABLE pgcredit.dunning_exception (
  customer  text PRIMARY KEY CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  policy    text REFERENCES pgcredit.dunning_policy,
  reason    text NOT NULL,
  set_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE pgcredit.dunning_exception IS 'customers dunned by another policy than their tier''s, or not at all';
COMMENT ON COLUMN pgcredit.dunning_exception.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.dunning_exception.policy IS 'the customer''s policy; NULL = the customer is not dunned';
COMMENT ON COLUMN pgcredit.dunning_exception.reason IS 'why';
COMMENT ON COLUMN pgcredit.dunning_exception.set_at IS 'when';
REVOKE ALL ON pgcredit.dunning_exception FROM PUBLIC;
GRANT SELECT ON pgcredit.dunning_exception TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.dunning_exception', '');

-- One row: runs of run_collections() take it in turn, and the days go
-- forward.  run_collections() writes it: none before the first run.
CREATE TABLE pgcredit.collection_state (
  only_row      boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  runs          bigint NOT NULL DEFAULT 0,
  last_as_of    date,
  last_run_at   timestamptz,
  latest_as_of  date
);
COMMENT ON TABLE pgcredit.collection_state IS 'one row that every run_collections() writes first, so that runs take turns and no day is run before a later one; none before the first run';
COMMENT ON COLUMN pgcredit.collection_state.only_row IS 'always true';
COMMENT ON COLUMN pgcredit.collection_state.runs IS 'how many runs have committed';
COMMENT ON COLUMN pgcredit.collection_state.last_as_of IS 'the day of the last run';
COMMENT ON COLUMN pgcredit.collection_state.last_run_at IS 'when the last run began';
COMMENT ON COLUMN pgcredit.collection_state.latest_as_of IS 'the latest day run: no earlier day may be run';
REVOKE ALL ON pgcredit.collection_state FROM PUBLIC;
GRANT SELECT ON pgcredit.collection_state TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.collection_state', '');

CREATE TABLE pgcredit.collection_run (
  as_of         date PRIMARY KEY,
  runs          int NOT NULL,
  actions       int NOT NULL,
  first_run_at  timestamptz NOT NULL,
  last_run_at   timestamptz NOT NULL
);
COMMENT ON TABLE pgcredit.collection_run IS 'the days run_collections() has run, one row a day';
COMMENT ON COLUMN pgcredit.collection_run.as_of IS 'the day';
COMMENT ON COLUMN pgcredit.collection_run.runs IS 'how many runs of the day committed';
COMMENT ON COLUMN pgcredit.collection_run.actions IS 'the actions they wrote';
COMMENT ON COLUMN pgcredit.collection_run.first_run_at IS 'when the day was first run';
COMMENT ON COLUMN pgcredit.collection_run.last_run_at IS 'when it was last run';
REVOKE ALL ON pgcredit.collection_run FROM PUBLIC;
GRANT SELECT ON pgcredit.collection_run TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.collection_run', '');

CREATE TABLE pgcredit.collection_action (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  as_of           date NOT NULL,
  customer        text NOT NULL,
  policy          text NOT NULL,
  level           int NOT NULL,
  days            int NOT NULL,
  channel         text NOT NULL,
  template        text NOT NULL,
  amount          numeric NOT NULL,
  items           int NOT NULL,
  overdue         numeric NOT NULL,
  account_status  text,
  status_set      boolean NOT NULL DEFAULT false,
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  UNIQUE (customer, as_of)
);
CREATE INDEX collection_action_as_of ON pgcredit.collection_action (as_of);
COMMENT ON INDEX pgcredit.collection_action_as_of IS 'the actions of a day';
COMMENT ON TABLE pgcredit.collection_action IS 'the dunning actions run_collections() wrote, at most one per customer and day; the run announces each with NOTIFY pgcredit_collections and a JSON payload of its id (a restore of the table announces nothing)';
COMMENT ON COLUMN pgcredit.collection_action.id IS 'action number';
COMMENT ON COLUMN pgcredit.collection_action.as_of IS 'the day it is due';
COMMENT ON COLUMN pgcredit.collection_action.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.collection_action.policy IS 'the dunning policy it follows';
COMMENT ON COLUMN pgcredit.collection_action.level IS 'its level: the highest level its items reached';
COMMENT ON COLUMN pgcredit.collection_action.days IS 'the days after the due date of that level';
COMMENT ON COLUMN pgcredit.collection_action.channel IS 'the level''s channel';
COMMENT ON COLUMN pgcredit.collection_action.template IS 'the level''s template key';
COMMENT ON COLUMN pgcredit.collection_action.amount IS 'the open amount of the items it names (collection_action_item), in the account''s currency';
COMMENT ON COLUMN pgcredit.collection_action.items IS 'how many items it names';
COMMENT ON COLUMN pgcredit.collection_action.overdue IS 'the customer''s open receivables past due on the day, of the items dunning follows (not the disputed ones)';
COMMENT ON COLUMN pgcredit.collection_action.account_status IS 'hold or blocked when one of the levels its items reached sets that status; NULL = none';
COMMENT ON COLUMN pgcredit.collection_action.status_set IS 'whether the run changed the account''s status for it (false when the account had that status or a stricter one, or the customer has no account)';
COMMENT ON COLUMN pgcredit.collection_action.created_at IS 'when it was written';
REVOKE ALL ON pgcredit.collection_action FROM PUBLIC;
GRANT SELECT ON pgcredit.collection_action TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.collection_action', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.collection_action_id_seq', '');
COMMENT ON SEQUENCE pgcredit.collection_action_id_seq IS 'numbers of collection actions (collection_action.id)';

CREATE TABLE pgcredit.collection_action_item (
  action_id  bigint NOT NULL REFERENCES pgcredit.collection_action ON DELETE CASCADE,
  relid      regclass NOT NULL,
  item_key   jsonb NOT NULL,
  due        date NOT NULL,
  amount     numeric NOT NULL,
  level      int NOT NULL,
  PRIMARY KEY (action_id, relid, item_key)
);
CREATE INDEX collection_action_item_item ON pgcredit.collection_action_item (relid, item_key);
COMMENT ON INDEX pgcredit.collection_action_item_item IS 'the actions that named an item';
COMMENT ON TABLE pgcredit.collection_action_item IS 'the items each collection action names, with the level each reached';
COMMENT ON COLUMN pgcredit.collection_action_item.action_id IS 'the action';
COMMENT ON COLUMN pgcredit.collection_action_item.relid IS 'the attached receivables table (a regclass, so that a dump and restore keeps the link by name)';
COMMENT ON COLUMN pgcredit.collection_action_item.item_key IS 'the item''s primary key as a JSON object; for a table without a primary key, {"(due)": date}: the customer''s items of that table falling due that day, dunned as one';
COMMENT ON COLUMN pgcredit.collection_action_item.due IS 'its due date';
COMMENT ON COLUMN pgcredit.collection_action_item.amount IS 'its open amount on the day, in the account''s currency';
COMMENT ON COLUMN pgcredit.collection_action_item.level IS 'the level it reached';
REVOKE ALL ON pgcredit.collection_action_item FROM PUBLIC;
GRANT SELECT ON pgcredit.collection_action_item TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.collection_action_item', '');

-- The statuses dunning set, to lift them when the items are paid
CREATE TABLE pgcredit.dunning_status (
  customer   text PRIMARY KEY,
  status     text NOT NULL CHECK (status IN ('hold', 'blocked')),
  action_id  bigint NOT NULL REFERENCES pgcredit.collection_action ON DELETE CASCADE,
  set_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  previous_status text NOT NULL CHECK (previous_status IN ('ok', 'watch', 'hold')),
  previous_hold_reason text
);
COMMENT ON TABLE pgcredit.dunning_status IS 'accounts put on hold or blocked by a dunning level, until run_collections() lifts the status or a person changes it';
COMMENT ON COLUMN pgcredit.dunning_status.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.dunning_status.status IS 'the status dunning set';
COMMENT ON COLUMN pgcredit.dunning_status.action_id IS 'the action that set it';
COMMENT ON COLUMN pgcredit.dunning_status.set_at IS 'when';
COMMENT ON COLUMN pgcredit.dunning_status.previous_status IS 'the status the account had before dunning changed it, given back when the status is lifted';
COMMENT ON COLUMN pgcredit.dunning_status.previous_hold_reason IS 'the hold reason it had then';
REVOKE ALL ON pgcredit.dunning_status FROM PUBLIC;
GRANT SELECT ON pgcredit.dunning_status TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.dunning_status', '');


----------------------------------------------------------------------
-- Policies (pgcredit_admin)
----------------------------------------------------------------------

CREATE FUNCTION pgcredit._check_name(what text, value text)
RETURNS void LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF value IS NULL THEN
    RAISE EXCEPTION '% must not be null', what USING ERRCODE = 'null_value_not_allowed';
  ELSIF btrim(value) = '' THEN
    RAISE EXCEPTION '% must not be empty', what USING ERRCODE = 'invalid_parameter_value';
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_name(text, text) IS 'refuse a NULL or blank name';
REVOKE EXECUTE ON FUNCTION pgcredit._check_name(text, text) FROM PUBLIC;

CREATE FUNCTION pgcredit._dunning_policy_row(policy text)
RETURNS pgcredit.dunning_policy LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  p pgcredit.dunning_policy;
BEGIN
  PERFORM pgcredit._check_name('policy', policy);
  SELECT * INTO p FROM pgcredit.dunning_policy d WHERE d.name = policy FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'dunning policy "%" does not exist', policy USING ERRCODE = 'PC019',
      HINT = 'Create it with pgcredit.create_dunning_policy(); pgcredit.dunning_policy lists those that exist.';
  END IF;
  RETURN p;
END
$$;
COMMENT ON FUNCTION pgcredit._dunning_policy_row(text) IS 'a dunning policy, locked, or PC019 when there is none of that name';
REVOKE EXECUTE ON FUNCTION pgcredit._dunning_policy_row(text) FROM PUBLIC;

CREATE FUNCTION pgcredit.create_dunning_policy(name text, reason text, min_amount numeric DEFAULT 0,
                                               quiet_days int DEFAULT 0, description text DEFAULT NULL)
RETURNS pgcredit.dunning_policy LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  p pgcredit.dunning_policy;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_name('name', name);
  PERFORM pgcredit._check_amount('min_amount', min_amount);
  IF min_amount IS NULL OR quiet_days IS NULL THEN
    RAISE EXCEPTION 'min_amount and quiet_days must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF quiet_days NOT BETWEEN 0 AND 366 THEN
    RAISE EXCEPTION 'quiet_days must be between 0 and 366' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('quiet_days is %s.', quiet_days);
  END IF;
  INSERT INTO pgcredit.dunning_policy AS d (name, min_amount, quiet_days, description)
  VALUES (create_dunning_policy.name, create_dunning_policy.min_amount, create_dunning_policy.quiet_days,
          create_dunning_policy.description)
  ON CONFLICT ON CONSTRAINT dunning_policy_pkey DO NOTHING
  RETURNING * INTO p;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'dunning policy "%" already exists', name USING ERRCODE = 'duplicate_object',
      HINT = 'Change it with pgcredit.alter_dunning_policy().';
  END IF;
  PERFORM pgcredit._audit('create_dunning_policy', NULL, NULL, to_jsonb(p) - 'created_at', reason);
  RETURN p;
END
$$;
COMMENT ON FUNCTION pgcredit.create_dunning_policy(text, text, numeric, int, text) IS
  'create a dunning policy (its levels are set with set_dunning_level), audited';
REVOKE EXECUTE ON FUNCTION pgcredit.create_dunning_policy(text, text, numeric, int, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.create_dunning_policy(text, text, numeric, int, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.alter_dunning_policy(name text, reason text, min_amount numeric DEFAULT NULL,
                                              quiet_days int DEFAULT NULL, description text DEFAULT NULL)
RETURNS pgcredit.dunning_policy LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.dunning_policy;
  after pgcredit.dunning_policy;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  before := pgcredit._dunning_policy_row(name);
  PERFORM pgcredit._check_amount('min_amount', min_amount);
  IF quiet_days NOT BETWEEN 0 AND 366 THEN
    RAISE EXCEPTION 'quiet_days must be between 0 and 366' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('quiet_days is %s.', quiet_days);
  END IF;
  UPDATE pgcredit.dunning_policy d SET
    min_amount = coalesce(alter_dunning_policy.min_amount, d.min_amount),
    quiet_days = coalesce(alter_dunning_policy.quiet_days, d.quiet_days),
    description = coalesce(alter_dunning_policy.description, d.description)
  WHERE d.name = alter_dunning_policy.name
  RETURNING * INTO after;
  PERFORM pgcredit._audit('alter_dunning_policy', NULL, to_jsonb(before) - 'created_at', to_jsonb(after) - 'created_at',
                          reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.alter_dunning_policy(text, text, numeric, int, text) IS
  'change a dunning policy''s minimum amount, quiet days or description (NULL: keep), audited';
REVOKE EXECUTE ON FUNCTION pgcredit.alter_dunning_policy(text, text, numeric, int, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.alter_dunning_policy(text, text, numeric, int, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.drop_dunning_policy(name text, reason text)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  p pgcredit.dunning_policy;
  users text;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  p := pgcredit._dunning_policy_row(name);
  SELECT string_agg(x, ', ') INTO users FROM (
    SELECT format('tier %s', a.tier) AS x FROM pgcredit.dunning_assignment a WHERE a.policy = p.name
    UNION ALL
    SELECT format('customer %s', e.customer) FROM pgcredit.dunning_exception e WHERE e.policy = p.name) u;
  IF users IS NOT NULL THEN
    RAISE EXCEPTION 'dunning policy "%" is in use', name USING ERRCODE = 'dependent_objects_still_exist',
      DETAIL = format('It is the policy of %s.', users),
      HINT = 'Give those another policy first.';
  END IF;
  PERFORM pgcredit._audit('drop_dunning_policy', NULL,
    to_jsonb(p) - 'created_at' || jsonb_build_object('levels',
      (SELECT coalesce(jsonb_agg(to_jsonb(l) - 'policy' ORDER BY l.level), '[]') FROM pgcredit.dunning_level l
       WHERE l.policy = p.name)),
    NULL, reason);
  DELETE FROM pgcredit.dunning_policy d WHERE d.name = p.name;
END
$$;
COMMENT ON FUNCTION pgcredit.drop_dunning_policy(text, text) IS
  'drop a dunning policy and its levels, unless a tier or customer has it; audited (the actions it wrote stay)';
REVOKE EXECUTE ON FUNCTION pgcredit.drop_dunning_policy(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.drop_dunning_policy(text, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.set_dunning_level(policy text, level int, days int, channel text, template text,
                                           reason text, account_status text DEFAULT NULL)
RETURNS pgcredit.dunning_level LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.dunning_level;
  after pgcredit.dunning_level;
  clash pgcredit.dunning_level;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._dunning_policy_row(policy);
  IF level IS NULL OR days IS NULL THEN
    RAISE EXCEPTION 'level and days must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF level NOT BETWEEN 1 AND 99 THEN
    RAISE EXCEPTION 'level must be between 1 and 99' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('level is %s.', level);
  END IF;
  IF days NOT BETWEEN -366 AND 3660 THEN
    RAISE EXCEPTION 'days must be between -366 and 3660' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('days is %s.', days),
      HINT = 'A level comes at most a year before the due date and ten years after it.';
  END IF;
  PERFORM pgcredit._check_name('channel', channel);
  PERFORM pgcredit._check_name('template', template);
  IF account_status IS NOT NULL AND account_status NOT IN ('hold', 'blocked') THEN
    RAISE EXCEPTION 'invalid account status "%" for a dunning level', account_status
      USING ERRCODE = 'invalid_parameter_value',
      HINT = 'A level may put the account on hold or block it: hold, blocked, or NULL for neither.';
  END IF;
  -- the ladder climbs: a higher level comes later, a lower one earlier
  SELECT * INTO clash FROM pgcredit.dunning_level l
  WHERE l.policy = set_dunning_level.policy AND l.level <> set_dunning_level.level
    AND (l.level < set_dunning_level.level AND l.days >= set_dunning_level.days
         OR l.level > set_dunning_level.level AND l.days <= set_dunning_level.days)
  ORDER BY l.level LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'dunning level % at % days would not come after the levels below it', level, days
      USING ERRCODE = 'PC020',
      DETAIL = format('Level %s of policy "%s" comes at %s days.', clash.level, policy, clash.days),
      HINT = 'Number the levels in the order of their days.';
  END IF;
  SELECT * INTO before FROM pgcredit.dunning_level l
  WHERE l.policy = set_dunning_level.policy AND l.level = set_dunning_level.level;
  INSERT INTO pgcredit.dunning_level AS l (policy, level, days, channel, template, account_status)
  VALUES (set_dunning_level.policy, set_dunning_level.level, set_dunning_level.days, set_dunning_level.channel,
          set_dunning_level.template, set_dunning_level.account_status)
  ON CONFLICT ON CONSTRAINT dunning_level_pkey DO UPDATE SET days = EXCLUDED.days, channel = EXCLUDED.channel,
    template = EXCLUDED.template, account_status = EXCLUDED.account_status
  RETURNING * INTO after;
  PERFORM pgcredit._audit('set_dunning_level', NULL, to_jsonb(before), to_jsonb(after), reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.set_dunning_level(text, int, int, text, text, text, text) IS
  'add or change a level of a dunning policy: its days relative to the due date, channel, template key and the account status it sets (hold, blocked or NULL); levels climb with their days (PC020); audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_dunning_level(text, int, int, text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_dunning_level(text, int, int, text, text, text, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.drop_dunning_level(policy text, level int, reason text)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  gone pgcredit.dunning_level;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._dunning_policy_row(policy);
  DELETE FROM pgcredit.dunning_level l WHERE l.policy = drop_dunning_level.policy AND l.level = drop_dunning_level.level
  RETURNING * INTO gone;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'dunning policy "%" has no level %', policy, level USING ERRCODE = 'undefined_object';
  END IF;
  PERFORM pgcredit._audit('drop_dunning_level', NULL, to_jsonb(gone), NULL, reason);
END
$$;
COMMENT ON FUNCTION pgcredit.drop_dunning_level(text, int, text) IS 'remove a level of a dunning policy, audited';
REVOKE EXECUTE ON FUNCTION pgcredit.drop_dunning_level(text, int, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.drop_dunning_level(text, int, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.set_tier_dunning_policy(tier text, policy text, reason text)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before text;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF tier IS NULL THEN
    RAISE EXCEPTION 'tier must not be null' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'A tier is one of A, B, C, D and E, or default for customers whose tier has no policy.';
  ELSIF tier NOT IN ('A', 'B', 'C', 'D', 'E', 'default') THEN
    RAISE EXCEPTION 'invalid risk tier "%"', tier USING ERRCODE = 'invalid_parameter_value',
      HINT = 'A tier is one of A, B, C, D and E, or default for customers whose tier has no policy.';
  END IF;
  IF policy IS NOT NULL THEN
    PERFORM pgcredit._dunning_policy_row(policy);
  END IF;
  SELECT a.policy INTO before FROM pgcredit.dunning_assignment a WHERE a.tier = set_tier_dunning_policy.tier
  FOR UPDATE;
  IF policy IS NULL THEN
    DELETE FROM pgcredit.dunning_assignment a WHERE a.tier = set_tier_dunning_policy.tier;
  ELSE
    INSERT INTO pgcredit.dunning_assignment AS a (tier, policy) VALUES (set_tier_dunning_policy.tier, set_tier_dunning_policy.policy)
    ON CONFLICT ON CONSTRAINT dunning_assignment_pkey DO UPDATE SET policy = EXCLUDED.policy;
  END IF;
  PERFORM pgcredit._audit('set_tier_dunning_policy', NULL, jsonb_build_object('tier', tier, 'policy', before),
                          jsonb_build_object('tier', tier, 'policy', policy), reason);
END
$$;
COMMENT ON FUNCTION pgcredit.set_tier_dunning_policy(text, text, text) IS
  'give a risk tier (A to E, or default) its dunning policy; NULL takes it away; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_tier_dunning_policy(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_tier_dunning_policy(text, text, text) TO pgcredit_admin;


----------------------------------------------------------------------
-- Customers' exceptions (pgcredit_controller)
----------------------------------------------------------------------

CREATE FUNCTION pgcredit._set_dunning_exception(customer text, policy text, exempt boolean, reason text)
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.dunning_exception;
  after pgcredit.dunning_exception;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF customer IS NULL THEN
    RAISE EXCEPTION 'customer must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF octet_length(customer) > 1000 THEN
    RAISE EXCEPTION 'customer key is too long' USING ERRCODE = 'string_data_right_truncation',
      DETAIL = 'Customer keys are at most 1000 bytes.';
  END IF;
  IF NOT exempt AND policy IS NOT NULL THEN
    PERFORM pgcredit._dunning_policy_row(policy);
  END IF;
  SELECT * INTO before FROM pgcredit.dunning_exception e WHERE e.customer = _set_dunning_exception.customer FOR UPDATE;
  IF NOT exempt AND policy IS NULL THEN
    DELETE FROM pgcredit.dunning_exception e WHERE e.customer = _set_dunning_exception.customer;
  ELSE
    INSERT INTO pgcredit.dunning_exception AS e (customer, policy, reason)
    VALUES (_set_dunning_exception.customer, _set_dunning_exception.policy, _set_dunning_exception.reason)
    ON CONFLICT ON CONSTRAINT dunning_exception_pkey DO UPDATE SET policy = EXCLUDED.policy, reason = EXCLUDED.reason,
      set_at = now()
    RETURNING * INTO after;
  END IF;
  PERFORM pgcredit._audit('set_customer_dunning_policy', customer,
    CASE WHEN before.customer IS NOT NULL THEN jsonb_build_object('policy', before.policy, 'exempt', before.policy IS NULL) END,
    CASE WHEN after.customer IS NOT NULL THEN jsonb_build_object('policy', after.policy, 'exempt', after.policy IS NULL) END,
    reason);
END
$$;
COMMENT ON FUNCTION pgcredit._set_dunning_exception(text, text, boolean, text) IS
  'set, clear (policy NULL) or make exempt a customer''s dunning exception, audited';
REVOKE EXECUTE ON FUNCTION pgcredit._set_dunning_exception(text, text, boolean, text) FROM PUBLIC;

CREATE FUNCTION pgcredit.set_customer_dunning_policy(customer text, policy text, reason text)
RETURNS void LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit._set_dunning_exception($1, $2, false, $3) $$;
COMMENT ON FUNCTION pgcredit.set_customer_dunning_policy(text, text, text) IS
  'dun one customer by another policy than its tier''s; NULL: back to its tier''s; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_customer_dunning_policy(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_customer_dunning_policy(text, text, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.exempt_from_dunning(customer text, reason text)
RETURNS void LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit._set_dunning_exception($1, NULL, true, $2) $$;
COMMENT ON FUNCTION pgcredit.exempt_from_dunning(text, text) IS
  'dun one customer not at all, until set_customer_dunning_policy gives it a policy again; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.exempt_from_dunning(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.exempt_from_dunning(text, text) TO pgcredit_controller;


----------------------------------------------------------------------
-- The day's actions
----------------------------------------------------------------------

-- The dunning policy of each of some customers on a day: its own, else
-- its tier's (the tier of its latest scoring on or before the day, else
-- its account's), else the default's
CREATE FUNCTION pgcredit._dunning_policies(as_of date, customers text[])
RETURNS TABLE (customer text, policy text)
LANGUAGE sql STABLE ROWS 10000
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT c.customer,
         CASE WHEN x.customer IS NOT NULL THEN x.policy
              ELSE coalesce((SELECT d.policy FROM pgcredit.dunning_assignment d
                             WHERE d.tier = coalesce(
                               (SELECT h.tier FROM pgcredit.score_history h
                                WHERE h.customer = c.customer AND h.as_of <= $1
                                ORDER BY h.as_of DESC LIMIT 1),
                               (SELECT a.risk_tier FROM pgcredit.account a WHERE a.customer = c.customer))),
                            (SELECT d.policy FROM pgcredit.dunning_assignment d WHERE d.tier = 'default')) END
  FROM (SELECT DISTINCT u.customer FROM unnest($2) AS u(customer) WHERE u.customer IS NOT NULL) c
  LEFT JOIN pgcredit.dunning_exception x ON x.customer = c.customer
$$;
COMMENT ON FUNCTION pgcredit._dunning_policies(date, text[]) IS
  'the dunning policy of each of the customers on a day (NULL: not dunned): its exception, else its tier''s, else the default';
REVOKE EXECUTE ON FUNCTION pgcredit._dunning_policies(date, text[]) FROM PUBLIC;

-- The receivable items open on a day, one row an item, in the account's
-- currency; the items of a table without a primary key that one customer
-- owes on one due date are one item
CREATE FUNCTION pgcredit._open_items_at(as_of date)
RETURNS TABLE (customer text, relid oid, item_key jsonb, due date, amount numeric)
LANGUAGE sql VOLATILE ROWS 100000
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT i.customer, i.relid, coalesce(i.item_key, jsonb_build_object('(due)', i.due)), i.due,
         sum(CASE WHEN i.paid_on > $1 THEN i.invoice_amount ELSE i.amount END)
  FROM pgcredit._attached_items_keyed('receivables', open_on => $1) i
  WHERE i.due IS NOT NULL
    AND (i.invoiced_on IS NULL OR i.invoiced_on <= $1)
    AND (i.paid_on > $1 OR i.paid_on IS NULL AND i.counts)
  GROUP BY 1, 2, 3, 4
  HAVING sum(CASE WHEN i.paid_on > $1 THEN i.invoice_amount ELSE i.amount END) > 0
$$;
COMMENT ON FUNCTION pgcredit._open_items_at(date) IS
  'the receivable items open on a day (paid after it: the whole invoice; with no payment date: open if open now) with their keys, due dates and open amounts';
REVOKE EXECUTE ON FUNCTION pgcredit._open_items_at(date) FROM PUBLIC;

-- The items dunning follows on a day: every open item, but those that
-- leave dunning for a while (disputes, promises, plans add their rules
-- here, and only here).  PL/pgSQL, for the tables of those rules come
-- later in the script.
CREATE FUNCTION pgcredit._dunning_items(as_of date)
RETURNS TABLE (customer text, relid oid, item_key jsonb, due date, amount numeric)
LANGUAGE plpgsql VOLATILE ROWS 100000
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  RETURN QUERY
  SELECT i.customer, i.relid, i.item_key, i.due, i.amount
  -- Payment plans and promises to pay (collections_promises.sql): the
  -- open items come with the plan that holds each on the day, and the
  -- unpaid instalments of those plans; a planned item leaves dunning
  -- and its plan's instalments are dunned in its place.  A customer's
  -- promise to pay pauses all of its dunning on the days it covers.
  FROM pgcredit._items_with_plans_at(_dunning_items.as_of) i
  WHERE (i.plan_id IS NULL OR i.instalment)
    AND NOT EXISTS (SELECT FROM pgcredit.promise_to_pay p
                    WHERE p.customer = i.customer
                      AND _dunning_items.as_of BETWEEN p.pauses_from AND p.pauses_until)
    -- an item whose dispute is open on the day: opened on or before it,
    -- not closed by then (collections_disputes.sql)
    AND NOT EXISTS (SELECT FROM pgcredit.collection_dispute d
                    WHERE d.relid::oid = i.relid AND d.item_key = i.item_key
                      AND d.opened_on <= _dunning_items.as_of
                      AND (d.closed_on IS NULL OR d.closed_on > _dunning_items.as_of));
END
$$;
COMMENT ON FUNCTION pgcredit._dunning_items(date) IS
  'the receivable items dunning follows on a day: the open items (_open_items_at), less those that leave dunning for a while: held by a payment plan (its unpaid instalments come instead), of a customer whose promise to pay covers the day, or whose dispute is open on the day';
REVOKE EXECUTE ON FUNCTION pgcredit._dunning_items(date) FROM PUBLIC;

CREATE FUNCTION pgcredit.due_collection_actions(as_of date DEFAULT pgcredit._horizon_today())
RETURNS TABLE (customer text, policy text, level int, days int, channel text, template text,
               amount numeric, items int, overdue numeric, account_status text, item_list jsonb)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
-- plans of a few joins over large inputs: compiling them takes longer than running them
SET jit = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_day(as_of);
  RETURN QUERY
  WITH items AS MATERIALIZED (
    SELECT * FROM pgcredit._dunning_items(as_of)),
  pol AS MATERIALIZED (
    SELECT p.customer, p.policy, d.min_amount, d.quiet_days
    FROM pgcredit._dunning_policies(as_of, ARRAY(SELECT DISTINCT i.customer FROM items i)) p
    JOIN pgcredit.dunning_policy d ON d.name = p.policy),
  owed AS MATERIALIZED (
    SELECT i.customer, sum(i.amount) AS overdue FROM items i
    WHERE i.due < due_collection_actions.as_of GROUP BY i.customer),
  -- what each item reached before the day
  reached AS (
    -- (by customer too: the items of a table without a primary key are
    -- named by their due date, which two customers may share)
    SELECT ci.relid::oid AS relid, ci.item_key, ca.customer, max(ci.level) AS level
    FROM pgcredit.collection_action_item ci JOIN pgcredit.collection_action ca ON ca.id = ci.action_id
    WHERE ca.as_of < due_collection_actions.as_of
    GROUP BY 1, 2, 3),
  last_action AS (
    SELECT ca.customer, max(ca.as_of) AS as_of FROM pgcredit.collection_action ca
    WHERE ca.as_of <= due_collection_actions.as_of
    GROUP BY 1),
  -- the highest level whose day has come, and the levels it passes
  climb AS (
    SELECT i.customer, i.relid, i.item_key, i.due, i.amount, pol.policy, pol.min_amount,
           t.level AS target, coalesce(r.level, 0) AS before,
           (SELECT max(CASE l.account_status WHEN 'blocked' THEN 2 WHEN 'hold' THEN 1 ELSE 0 END)
            FROM pgcredit.dunning_level l
            WHERE l.policy = pol.policy AND l.level > coalesce(r.level, 0) AND l.level <= t.level) AS severity
    FROM items i
    JOIN pol ON pol.customer = i.customer
    CROSS JOIN LATERAL (
      SELECT l.level, l.days FROM pgcredit.dunning_level l
      WHERE l.policy = pol.policy AND l.days <= due_collection_actions.as_of - i.due
      ORDER BY l.level DESC LIMIT 1) t
    LEFT JOIN reached r ON r.relid = i.relid AND r.item_key = i.item_key AND r.customer = i.customer
    LEFT JOIN last_action la ON la.customer = i.customer
    WHERE t.level > coalesce(r.level, 0)
      -- a reminder before the due date is not sent once the day has come
      AND (t.days >= 0 OR i.due > due_collection_actions.as_of)
      -- within the quiet days after the last action, and on a day that has one, nothing
      AND (la.as_of IS NULL OR la.as_of + pol.quiet_days <= due_collection_actions.as_of
                              AND la.as_of < due_collection_actions.as_of)),
  per_customer AS (
    SELECT c.customer, min(c.policy) AS policy, min(c.min_amount) AS min_amount, max(c.target) AS level,
           sum(c.amount) AS amount, count(*)::int AS items, max(c.severity) AS severity,
           jsonb_agg(jsonb_build_object('table', c.relid::regclass::text, 'relid', c.relid, 'key', c.item_key,
                                        'due', c.due, 'amount', c.amount, 'level', c.target)
                     ORDER BY c.due, c.relid, c.item_key) AS item_list
    FROM climb c GROUP BY c.customer)
  SELECT p.customer, p.policy, p.level, l.days, l.channel, l.template, p.amount, p.items,
         coalesce(o.overdue, 0),
         CASE p.severity WHEN 2 THEN 'blocked' WHEN 1 THEN 'hold' END,
         p.item_list
  FROM per_customer p
  JOIN pgcredit.dunning_level l ON l.policy = p.policy AND l.level = p.level
  LEFT JOIN owed o ON o.customer = p.customer
  WHERE p.amount >= p.min_amount
  ORDER BY p.customer COLLATE "C";
END
$$;
COMMENT ON FUNCTION pgcredit.due_collection_actions(date) IS
  'the dunning actions due on a day (default today) that run_collections() would write, without writing them: per customer, the highest level its items reached, their amount, the customer''s overdue, the account status a level sets, and the items';
REVOKE EXECUTE ON FUNCTION pgcredit.due_collection_actions(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.due_collection_actions(date) TO pgcredit_reader;

CREATE FUNCTION pgcredit.run_collections(as_of date DEFAULT pgcredit._horizon_today())
RETURNS TABLE (action_id bigint, customer text, level int, channel text, template text, amount numeric,
               account_status text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
-- plans of a few joins over large inputs: compiling them takes longer than running them
SET jit = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  a record;
  acct pgcredit.account;
  today date := pgcredit._horizon_today();
  lifted int := 0;
  written int := 0;
  latest date;
  d record;
BEGIN
  PERFORM pgcredit._check_day(as_of);
  IF as_of > today THEN
    RAISE EXCEPTION 'cannot run collections for a day to come' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('as_of is %s; today is %s.', as_of, today),
      HINT = 'Ask pgcredit.due_collection_actions() what a later day would bring.';
  END IF;
  -- runs take turns on this row; at REPEATABLE READ, a run that committed
  -- after this one's snapshot makes this one fail with 40001, never repeat it
  INSERT INTO pgcredit.collection_state AS s (only_row, runs, last_as_of, last_run_at, latest_as_of)
  VALUES (true, 1, run_collections.as_of, now(), run_collections.as_of)
  ON CONFLICT ON CONSTRAINT collection_state_pkey DO UPDATE SET runs = s.runs + 1, last_run_at = now()
  RETURNING s.latest_as_of INTO latest;
  -- the days go forward: a day run before adds nothing when run again;
  -- a day never run, before the latest run, would not count the actions
  -- of the later days, and send their letters again
  IF as_of < latest THEN
    IF EXISTS (SELECT FROM pgcredit.collection_run r WHERE r.as_of = run_collections.as_of) THEN
      UPDATE pgcredit.collection_run r SET runs = r.runs + 1, last_run_at = now()
      WHERE r.as_of = run_collections.as_of;
      RETURN;
    END IF;
    RAISE EXCEPTION 'cannot run collections for % after a run for %', as_of, latest
      USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = format('%s was never run; the actions written for the later days would be written again.', as_of),
      HINT = 'Run the days in order; a day already run may be run again, and adds nothing. pgcredit.due_collection_actions() shows what a day would bring.';
  END IF;
  UPDATE pgcredit.collection_state s SET last_as_of = run_collections.as_of,
    latest_as_of = greatest(s.latest_as_of, run_collections.as_of);
  -- promises to pay whose day is over and payment plans an unpaid
  -- instalment broke are decided first: the day is dunned as they stand
  -- (collections_promises.sql)
  PERFORM pgcredit._decide_promises(as_of);
  PERFORM pgcredit._decide_plans(as_of);

  FOR a IN SELECT * FROM pgcredit.due_collection_actions(as_of) LOOP
    INSERT INTO pgcredit.collection_action (as_of, customer, policy, level, days, channel, template,
                                            amount, items, overdue, account_status)
    VALUES (run_collections.as_of, a.customer, a.policy, a.level, a.days, a.channel, a.template,
            a.amount, a.items, a.overdue, a.account_status)
    RETURNING id INTO action_id;
    -- any role can LISTEN: the payload carries the id only; the action
    -- stays behind its grants.  (Sent here, not by a trigger, so that a
    -- restore of the table announces nothing again.)
    PERFORM pg_notify('pgcredit_collections', json_build_object('id', action_id)::text);
    INSERT INTO pgcredit.collection_action_item (action_id, relid, item_key, due, amount, level)
    SELECT run_collections.action_id, (x ->> 'relid')::oid::regclass, x -> 'key', (x ->> 'due')::date,
           (x ->> 'amount')::numeric, (x ->> 'level')::int
    FROM jsonb_array_elements(a.item_list) x;

    -- a level that puts the account on hold or blocks it does so, unless
    -- the account has that status or a stricter one already
    IF a.account_status IS NOT NULL THEN
      SELECT * INTO acct FROM pgcredit.account ac WHERE ac.customer = a.customer FOR UPDATE;
      IF FOUND AND (acct.status IN ('ok', 'watch') OR acct.status = 'hold' AND a.account_status = 'blocked') THEN
        PERFORM pgcredit._change_account(a.customer,
          jsonb_build_object('status', a.account_status,
                             'hold_reason', format('dunning: level %s of policy %s (collection action %s)',
                                                   a.level, a.policy, action_id)),
          'dunning_status', format('collection action %s: level %s of dunning policy %s', action_id, a.level, a.policy));
        -- the status before dunning first changed it is what lifting gives back
        INSERT INTO pgcredit.dunning_status AS s (customer, status, action_id, previous_status, previous_hold_reason)
        VALUES (a.customer, a.account_status, run_collections.action_id, acct.status, acct.hold_reason)
        ON CONFLICT ON CONSTRAINT dunning_status_pkey DO UPDATE SET status = EXCLUDED.status,
          action_id = EXCLUDED.action_id, set_at = now();
        UPDATE pgcredit.collection_action c SET status_set = true WHERE c.id = run_collections.action_id;
      END IF;
    END IF;

    customer := a.customer;
    level := a.level;
    channel := a.channel;
    template := a.template;
    amount := a.amount;
    account_status := a.account_status;
    written := written + 1;
    RETURN NEXT;
  END LOOP;
  INSERT INTO pgcredit.collection_run AS r (as_of, runs, actions, first_run_at, last_run_at)
  VALUES (run_collections.as_of, 1, written, now(), now())
  ON CONFLICT ON CONSTRAINT collection_run_pkey DO UPDATE SET runs = r.runs + 1,
    actions = r.actions + EXCLUDED.actions, last_run_at = now();

  -- Today's run lifts the statuses dunning set whose items are paid: no
  -- item that reached a level setting a status is open any more.  The
  -- account gets back the status it had before (a person's hold stays a
  -- hold).  A status a person changed since is theirs and stays.
  IF as_of = today AND EXISTS (SELECT FROM pgcredit.dunning_status) THEN
    FOR d IN
      -- the customers with an item still open that reached such a level,
      -- read once (an unpaid instalment of a payment plan is such an item
      -- too: collections_promises.sql)
      WITH still AS MATERIALIZED (
        SELECT DISTINCT i.customer FROM pgcredit._items_with_plans_at(run_collections.as_of) i
        JOIN pgcredit.collection_action_item ci ON ci.relid::oid = i.relid AND ci.item_key = i.item_key
        JOIN pgcredit.collection_action ca ON ca.id = ci.action_id AND ca.customer = i.customer
        JOIN pgcredit.dunning_level l ON l.policy = ca.policy AND l.level = ci.level
        WHERE l.account_status IS NOT NULL
          AND i.customer IN (SELECT s0.customer FROM pgcredit.dunning_status s0))
      SELECT s.customer, s.status, s.action_id, s.previous_status, s.previous_hold_reason
      FROM pgcredit.dunning_status s
      JOIN pgcredit.account ac ON ac.customer = s.customer
      WHERE ac.status = s.status
        AND ac.hold_reason LIKE 'dunning: %'
        AND s.customer NOT IN (SELECT st.customer FROM still st)
      ORDER BY s.customer COLLATE "C"
    LOOP
      PERFORM FROM pgcredit.account ac WHERE ac.customer = d.customer FOR UPDATE;
      PERFORM pgcredit._change_account(d.customer,
        jsonb_build_object('status', d.previous_status, 'hold_reason', d.previous_hold_reason),
        'dunning_status', format('the items dunned by collection action %s are paid', d.action_id));
      DELETE FROM pgcredit.dunning_status s WHERE s.customer = d.customer;
      lifted := lifted + 1;
    END LOOP;
    -- statuses a person has changed since are no longer dunning's
    DELETE FROM pgcredit.dunning_status s
    WHERE NOT EXISTS (SELECT FROM pgcredit.account ac WHERE ac.customer = s.customer AND ac.status = s.status
                      AND ac.hold_reason LIKE 'dunning: %');
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit.run_collections(date) IS
  'write the dunning actions due on a day (default today) and announce each with NOTIFY pgcredit_collections; put accounts on hold or block them where a level says so; today''s run lifts those statuses when the items are paid. Running the latest day again adds nothing, an earlier day is refused; runs take turns';
REVOKE EXECUTE ON FUNCTION pgcredit.run_collections(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.run_collections(date) TO pgcredit_controller;


----------------------------------------------------------------------
-- Where each customer stands
----------------------------------------------------------------------

CREATE FUNCTION pgcredit.collection_status_at(as_of date)
RETURNS TABLE (day date, customer text, policy text, open_items int, overdue numeric,
               oldest_days_past_due int, level int,
               last_action_id bigint, last_action_on date, last_level int, next_level int,
               next_action_on date, dunning_status text, disputed_items int, disputed numeric)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER ROWS 10000
-- plans of a few joins over large inputs: compiling them takes longer than running them
SET jit = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_day(collection_status_at.as_of);
  RETURN QUERY
  WITH items AS MATERIALIZED (
    SELECT * FROM pgcredit._dunning_items(collection_status_at.as_of)),
  -- the items out of dunning for their dispute (collections_disputes.sql)
  disputed AS (
    SELECT x.customer, count(*)::int AS n, sum(x.amount) AS amount
    FROM pgcredit._disputed_items_at(collection_status_at.as_of) x GROUP BY x.customer),
  reached AS (
    SELECT ci.relid::oid AS relid, ci.item_key, ca.customer, max(ci.level) AS level
    FROM pgcredit.collection_action_item ci JOIN pgcredit.collection_action ca ON ca.id = ci.action_id
    WHERE ca.as_of <= collection_status_at.as_of
    GROUP BY 1, 2, 3),
  last_action AS (
    SELECT DISTINCT ON (ca.customer) ca.customer, ca.id, ca.as_of, ca.level
    FROM pgcredit.collection_action ca WHERE ca.as_of <= collection_status_at.as_of
    ORDER BY ca.customer, ca.as_of DESC),
  pol AS (
    SELECT p.customer, p.policy, d.quiet_days
    FROM pgcredit._dunning_policies(collection_status_at.as_of,
           ARRAY(SELECT i.customer FROM items i UNION SELECT la.customer FROM last_action la
                 UNION SELECT s.customer FROM pgcredit.dunning_status s
                 UNION SELECT x.customer FROM disputed x)) p
    LEFT JOIN pgcredit.dunning_policy d ON d.name = p.policy),
  -- an item's next level: the one it reached and was not sent (a reminder
  -- before the due date only before it), today; else the first above
  -- both, on its day
  per_item AS (
    SELECT i.customer, i.amount, i.due, coalesce(r.level, 0) AS level,
           CASE WHEN nd.now_due THEN t.level ELSE nx.level END AS next_level,
           CASE WHEN nd.now_due THEN collection_status_at.as_of ELSE i.due + nx.days END AS next_on
    FROM items i
    LEFT JOIN pol ON pol.customer = i.customer
    LEFT JOIN reached r ON r.relid = i.relid AND r.item_key = i.item_key AND r.customer = i.customer
    LEFT JOIN LATERAL (
      SELECT l.level, l.days FROM pgcredit.dunning_level l
      WHERE l.policy = pol.policy AND l.days <= collection_status_at.as_of - i.due
      ORDER BY l.level DESC LIMIT 1) t ON true
    CROSS JOIN LATERAL (
      SELECT t.level > coalesce(r.level, 0) AND (t.days >= 0 OR i.due > collection_status_at.as_of)
             AS now_due) nd
    LEFT JOIN LATERAL (
      SELECT l.level, l.days FROM pgcredit.dunning_level l
      WHERE l.policy = pol.policy AND l.level > greatest(r.level, t.level, 0)
      ORDER BY l.level LIMIT 1) nx ON true),
  per_customer AS (
    SELECT pi.customer, count(*)::int AS open_items,
           coalesce(sum(pi.amount) FILTER (WHERE pi.due < collection_status_at.as_of), 0) AS overdue,
           max(collection_status_at.as_of - pi.due) FILTER (WHERE pi.due < collection_status_at.as_of)
             AS oldest_days_past_due,
           max(pi.level) AS level,
           (array_agg(pi.next_level ORDER BY pi.next_on, pi.next_level) FILTER (WHERE pi.next_level IS NOT NULL))[1]
             AS next_level,
           min(pi.next_on) AS next_on
    FROM per_item pi GROUP BY pi.customer),
  who AS (
    SELECT pc.customer FROM per_customer pc
    UNION SELECT la.customer FROM last_action la
    UNION SELECT s.customer FROM pgcredit.dunning_status s
    UNION SELECT x.customer FROM disputed x)
  SELECT collection_status_at.as_of, w.customer, pol.policy, coalesce(pc.open_items, 0),
         coalesce(pc.overdue, 0), pc.oldest_days_past_due, coalesce(pc.level, 0),
         la.id, la.as_of, la.level, pc.next_level,
         -- the next action comes when an item reaches its next level, not
         -- within the quiet days after the last one, and not before the day
         CASE WHEN pc.next_on IS NOT NULL THEN
           greatest(pc.next_on, la.as_of + greatest(pol.quiet_days, 1),
                    collection_status_at.as_of + CASE WHEN la.as_of = collection_status_at.as_of THEN 1 ELSE 0 END)
         END,
         s.status, coalesce(x.n, 0), coalesce(x.amount, 0)
  FROM who w
  LEFT JOIN per_customer pc ON pc.customer = w.customer
  LEFT JOIN last_action la ON la.customer = w.customer
  LEFT JOIN pol ON pol.customer = w.customer
  LEFT JOIN pgcredit.dunning_status s ON s.customer = w.customer
  LEFT JOIN disputed x ON x.customer = w.customer
  ORDER BY w.customer COLLATE "C";
END
$$;
COMMENT ON FUNCTION pgcredit.collection_status_at(date) IS
  'the rows of collection_status as of any day';
REVOKE EXECUTE ON FUNCTION pgcredit.collection_status_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.collection_status_at(date) TO pgcredit_reader;

CREATE VIEW pgcredit.collection_status AS
  SELECT * FROM pgcredit.collection_status_at(pgcredit.as_of());
COMMENT ON VIEW pgcredit.collection_status IS
  'each customer with open receivables, dunning actions, a status set by dunning or disputed items, on the day pgcredit.as_of(): its dunning policy, open items dunning follows, overdue, its level (the highest any open item reached), its last action, and its next: the level and the day an item reaches it (after the policy''s quiet days; it is written then if the items come to the minimum amount); and its items out of dunning for a dispute';
COMMENT ON COLUMN pgcredit.collection_status.day IS 'the day described';
COMMENT ON COLUMN pgcredit.collection_status.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.collection_status.policy IS 'its dunning policy; NULL = not dunned';
COMMENT ON COLUMN pgcredit.collection_status.open_items IS 'receivable items open on the day that dunning follows (a disputed item is not among them)';
COMMENT ON COLUMN pgcredit.collection_status.overdue IS 'their amount past due';
COMMENT ON COLUMN pgcredit.collection_status.oldest_days_past_due IS 'days past due of the oldest of them; NULL = none past due';
COMMENT ON COLUMN pgcredit.collection_status.level IS 'the highest level an open item reached; 0 = none';
COMMENT ON COLUMN pgcredit.collection_status.last_action_id IS 'its last collection action on or before the day';
COMMENT ON COLUMN pgcredit.collection_status.last_action_on IS 'the day of that action';
COMMENT ON COLUMN pgcredit.collection_status.last_level IS 'the level of that action';
COMMENT ON COLUMN pgcredit.collection_status.next_level IS 'the next level an open item will reach; NULL = none left';
COMMENT ON COLUMN pgcredit.collection_status.next_action_on IS 'the day it is due';
COMMENT ON COLUMN pgcredit.collection_status.dunning_status IS 'hold or blocked when dunning set the account''s status and has not lifted it';
COMMENT ON COLUMN pgcredit.collection_status.disputed_items IS 'items open on the day whose dispute is open on it: out of dunning';
COMMENT ON COLUMN pgcredit.collection_status.disputed IS 'their open amount';
REVOKE ALL ON pgcredit.collection_status FROM PUBLIC;
GRANT SELECT ON pgcredit.collection_status TO pgcredit_reader;
-- <<< collections

-- >>> collections_promises: as in sql/install/collections_promises.sql
-- Collections: promises to pay and payment plans

----------------------------------------------------------------------
-- Collections: promises to pay and payment plans (pgcredit_controller
-- records them, run_collections() decides them)
--
-- A promise to pay is an amount a customer says it will pay by a day.
-- From the day it is made to that day the customer is not dunned; the
-- first run after it decides it from what arrived meanwhile: kept,
-- partly kept or broken (the two last raise an alert, and broken
-- promises may cost score points).  A payment plan reschedules open
-- items into instalments: while it runs, dunning follows the unpaid
-- instalments instead of the items; an instalment left unpaid past its
-- grace days breaks it (an alert), and the items are dunned again.
--
-- What arrived is read from the items themselves: each promise and plan
-- keeps the items it covers with their open amounts when it was made,
-- and what was paid of them by a day is those amounts less what is open
-- of them on that day, as _open_items_at() sees a day: an item with a
-- payment date was paid on that date (whole); an item without one is
-- open by its open amount as it stands now, so that a part paid, or an
-- item closed, counts from the day the run sees it.
----------------------------------------------------------------------

CREATE TABLE pgcredit.promise_to_pay (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer      text NOT NULL CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  amount        numeric NOT NULL CHECK (amount > 0 AND amount < 'Infinity'),
  made_on       date NOT NULL CHECK (isfinite(made_on)),
  promised_for  date NOT NULL,
  note          text NOT NULL,
  status        text NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'kept', 'partly_kept', 'broken', 'cancelled')),
  owed          numeric NOT NULL,
  paid          numeric CHECK (paid >= 0 AND paid < 'Infinity'),
  decided_on    date,
  pauses_from   date NOT NULL,
  pauses_until  date NOT NULL,
  recorded_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT promise_date CHECK (promised_for >= made_on AND promised_for <= made_on + 366),
  CONSTRAINT promise_decided CHECK ((status = 'open') = (decided_on IS NULL)
                                    AND (status IN ('open', 'cancelled') OR paid IS NOT NULL))
);
CREATE UNIQUE INDEX promise_to_pay_open ON pgcredit.promise_to_pay (customer) WHERE status = 'open';
COMMENT ON INDEX pgcredit.promise_to_pay_open IS 'one open promise per customer';
CREATE INDEX promise_to_pay_customer ON pgcredit.promise_to_pay (customer, promised_for);
COMMENT ON INDEX pgcredit.promise_to_pay_customer IS 'a customer''s promises by date, for its record';
COMMENT ON TABLE pgcredit.promise_to_pay IS 'promises to pay: an amount a customer says it will pay by a day; dunning pauses meanwhile, and the first run_collections() after the day decides it from the payments of the items it covers (promise_item); changed only through record_promise() and cancel_promise(), audited';
COMMENT ON COLUMN pgcredit.promise_to_pay.id IS 'promise number';
COMMENT ON COLUMN pgcredit.promise_to_pay.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.promise_to_pay.amount IS 'the amount promised, in the account''s currency';
COMMENT ON COLUMN pgcredit.promise_to_pay.made_on IS 'the day the promise was made: payments count from this day on';
COMMENT ON COLUMN pgcredit.promise_to_pay.promised_for IS 'the day it is promised for: payments count up to this day; at most 366 days after made_on';
COMMENT ON COLUMN pgcredit.promise_to_pay.note IS 'the reason given when it was recorded';
COMMENT ON COLUMN pgcredit.promise_to_pay.status IS 'open until decided; then kept (paid at least the amount), partly_kept (paid less, but something), broken (paid nothing); cancelled by cancel_promise()';
COMMENT ON COLUMN pgcredit.promise_to_pay.owed IS 'what the customer owed when it was made: the open amount of the items it covers';
COMMENT ON COLUMN pgcredit.promise_to_pay.paid IS 'what was paid of those items from made_on to promised_for, when decided';
COMMENT ON COLUMN pgcredit.promise_to_pay.decided_on IS 'the day of the run that decided it, or the day it was cancelled';
COMMENT ON COLUMN pgcredit.promise_to_pay.pauses_from IS 'the first day its customer is not dunned: made_on, or the day after the latest day run_collections() had run when it was recorded';
COMMENT ON COLUMN pgcredit.promise_to_pay.pauses_until IS 'the last day its customer is not dunned: promised_for, or earlier when cancelled (after pauses_from: none)';
COMMENT ON COLUMN pgcredit.promise_to_pay.recorded_at IS 'when it was recorded';
REVOKE ALL ON pgcredit.promise_to_pay FROM PUBLIC;
GRANT SELECT ON pgcredit.promise_to_pay TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.promise_to_pay', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.promise_to_pay_id_seq', '');
COMMENT ON SEQUENCE pgcredit.promise_to_pay_id_seq IS 'numbers of promises to pay (promise_to_pay.id)';

CREATE TABLE pgcredit.promise_item (
  promise_id  bigint NOT NULL REFERENCES pgcredit.promise_to_pay ON DELETE CASCADE,
  relid       regclass NOT NULL,
  item_key    jsonb NOT NULL,
  due         date NOT NULL,
  amount      numeric NOT NULL CHECK (amount > 0),
  PRIMARY KEY (promise_id, relid, item_key)
);
COMMENT ON TABLE pgcredit.promise_item IS 'the items a promise to pay covers: the customer''s items open the day before it was made, with their open amounts then';
COMMENT ON COLUMN pgcredit.promise_item.promise_id IS 'the promise';
COMMENT ON COLUMN pgcredit.promise_item.relid IS 'the attached receivables table (a regclass, so that a dump and restore keeps naming it)';
COMMENT ON COLUMN pgcredit.promise_item.item_key IS 'the item''s primary key as a JSON object, as collection_action_item names it';
COMMENT ON COLUMN pgcredit.promise_item.due IS 'its due date';
COMMENT ON COLUMN pgcredit.promise_item.amount IS 'its open amount when the promise was made, in the account''s currency';
REVOKE ALL ON pgcredit.promise_item FROM PUBLIC;
GRANT SELECT ON pgcredit.promise_item TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.promise_item', '');

CREATE TABLE pgcredit.payment_plan (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer           text NOT NULL CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  created_on         date NOT NULL CHECK (isfinite(created_on)),
  amount             numeric NOT NULL CHECK (amount > 0 AND amount < 'Infinity'),
  grace_days         int NOT NULL DEFAULT 0 CHECK (grace_days BETWEEN 0 AND 366),
  note               text NOT NULL,
  status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'completed', 'broken', 'cancelled')),
  pauses_from        date NOT NULL,
  ended_on           date,
  missed_instalment  int,
  checked_through    date NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT payment_plan_ended CHECK ((status = 'active') = (ended_on IS NULL)
                                       AND (status = 'broken') = (missed_instalment IS NOT NULL))
);
CREATE UNIQUE INDEX payment_plan_active ON pgcredit.payment_plan (customer) WHERE status = 'active';
COMMENT ON INDEX pgcredit.payment_plan_active IS 'one active payment plan per customer';
COMMENT ON TABLE pgcredit.payment_plan IS 'payment plans: open items of a customer (payment_plan_item) rescheduled into instalments (plan_instalment); while a plan runs, dunning follows its unpaid instalments instead of the items; changed only through create_payment_plan(), cancel_payment_plan() and run_collections(), audited';
COMMENT ON COLUMN pgcredit.payment_plan.id IS 'plan number';
COMMENT ON COLUMN pgcredit.payment_plan.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.payment_plan.created_on IS 'the day it was agreed: its items are taken as open on that day, payments count after it';
COMMENT ON COLUMN pgcredit.payment_plan.amount IS 'what it reschedules: the open amount of its items on created_on, which its instalments add up to, in the account''s currency';
COMMENT ON COLUMN pgcredit.payment_plan.grace_days IS 'days an instalment may stay unpaid after its due date before the plan breaks (0: the day after it)';
COMMENT ON COLUMN pgcredit.payment_plan.note IS 'the reason given when it was created';
COMMENT ON COLUMN pgcredit.payment_plan.status IS 'active; completed (every item paid), broken (an instalment unpaid past its grace days), cancelled (by cancel_payment_plan())';
COMMENT ON COLUMN pgcredit.payment_plan.pauses_from IS 'the first day dunning follows the plan: created_on, or the day after the latest day run_collections() had run when it was created';
COMMENT ON COLUMN pgcredit.payment_plan.ended_on IS 'the first day dunning no longer follows it: the day of the run that found it completed or broken, or the first day not yet run when it was cancelled';
COMMENT ON COLUMN pgcredit.payment_plan.missed_instalment IS 'broken: the first instalment left unpaid past its grace days';
COMMENT ON COLUMN pgcredit.payment_plan.checked_through IS 'the instalments whose grace days ended by this day were found paid in time (the day before created_on at first): a run looks again at a plan only once another instalment''s grace days are over';
COMMENT ON COLUMN pgcredit.payment_plan.created_at IS 'when it was recorded';
REVOKE ALL ON pgcredit.payment_plan FROM PUBLIC;
GRANT SELECT ON pgcredit.payment_plan TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.payment_plan', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.payment_plan_id_seq', '');
COMMENT ON SEQUENCE pgcredit.payment_plan_id_seq IS 'numbers of payment plans (payment_plan.id)';

CREATE TABLE pgcredit.payment_plan_item (
  plan_id   bigint NOT NULL REFERENCES pgcredit.payment_plan ON DELETE CASCADE,
  relid     regclass NOT NULL,
  item_key  jsonb NOT NULL,
  due       date NOT NULL,
  amount    numeric NOT NULL CHECK (amount > 0),
  PRIMARY KEY (plan_id, relid, item_key)
);
COMMENT ON TABLE pgcredit.payment_plan_item IS 'the items each payment plan reschedules, with their open amounts on the day it was agreed';
COMMENT ON COLUMN pgcredit.payment_plan_item.plan_id IS 'the plan';
COMMENT ON COLUMN pgcredit.payment_plan_item.relid IS 'the attached receivables table (a regclass, so that a dump and restore keeps naming it)';
COMMENT ON COLUMN pgcredit.payment_plan_item.item_key IS 'the item''s primary key as a JSON object, as collection_action_item names it';
COMMENT ON COLUMN pgcredit.payment_plan_item.due IS 'its own due date, which dunning follows again if the plan breaks';
COMMENT ON COLUMN pgcredit.payment_plan_item.amount IS 'its open amount on the day the plan was agreed, in the account''s currency';
REVOKE ALL ON pgcredit.payment_plan_item FROM PUBLIC;
GRANT SELECT ON pgcredit.payment_plan_item TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.payment_plan_item', '');

CREATE TABLE pgcredit.plan_instalment (
  plan_id  bigint NOT NULL REFERENCES pgcredit.payment_plan ON DELETE CASCADE,
  n        int NOT NULL CHECK (n >= 1),
  due      date NOT NULL CHECK (isfinite(due)),
  amount   numeric NOT NULL CHECK (amount > 0 AND amount < 'Infinity'),
  PRIMARY KEY (plan_id, n),
  UNIQUE (plan_id, due)
);
COMMENT ON TABLE pgcredit.plan_instalment IS 'the instalments of each payment plan, in the order of their due dates; payments are allocated to them in that order, and while the plan runs each unpaid one is a dunning item of its own (relid the oid of this table, item_key {"plan": id, "instalment": n})';
COMMENT ON COLUMN pgcredit.plan_instalment.plan_id IS 'the plan';
COMMENT ON COLUMN pgcredit.plan_instalment.n IS 'its number, 1 the first';
COMMENT ON COLUMN pgcredit.plan_instalment.due IS 'its due date';
COMMENT ON COLUMN pgcredit.plan_instalment.amount IS 'its amount, in the account''s currency';
REVOKE ALL ON pgcredit.plan_instalment FROM PUBLIC;
GRANT SELECT ON pgcredit.plan_instalment TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.plan_instalment', '');


----------------------------------------------------------------------
-- What is open, and what was paid, of some items on a day
----------------------------------------------------------------------

-- What one row of an attached receivables table held open on a day: the
-- rule of _open_items_at(), for one row, as one expression the planner
-- inlines
CREATE FUNCTION pgcredit._open_on(amount numeric, counts boolean, invoice_amount numeric,
                                  invoiced_on date, paid_on date, day date)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN $4 > $6 THEN 0
              WHEN $5 > $6 THEN coalesce($3, 0)
              WHEN $5 IS NULL AND $2 THEN coalesce($1, 0)
              ELSE 0 END
$$;
COMMENT ON FUNCTION pgcredit._open_on(numeric, boolean, numeric, date, date, date) IS
  'what a receivable row held open on a day, as _open_items_at() counts it: invoiced after the day, nothing; paid after it, its invoice amount; without a payment date and open, its open amount as it stands; else nothing';
REVOKE EXECUTE ON FUNCTION pgcredit._open_on(numeric, boolean, numeric, date, date, date) FROM PUBLIC;

-- One customer's open items on a day, read through an index as each
-- table's owner (as the past-due check reads them), for the functions
-- that record a promise or a plan
CREATE FUNCTION pgcredit._open_items_of(customer text, as_of date)
RETURNS TABLE (relid oid, item_key jsonb, due date, amount numeric)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT i.relid, coalesce(i.item_key, jsonb_build_object('(due)', i.due)), i.due,
         sum(pgcredit._open_on(i.amount, i.counts, i.invoice_amount, i.invoiced_on, i.paid_on, $2))
  FROM pgcredit._attached_items_keyed('receivables', $1, open_on => $2) i
  WHERE i.due IS NOT NULL
  GROUP BY 1, 2, 3
  HAVING sum(pgcredit._open_on(i.amount, i.counts, i.invoice_amount, i.invoiced_on, i.paid_on, $2)) > 0
$$;
COMMENT ON FUNCTION pgcredit._open_items_of(text, date) IS
  'one customer''s receivable items open on a day, as _open_items_at() gives them, read through an index as each table''s owner';
REVOKE EXECUTE ON FUNCTION pgcredit._open_items_of(text, date) FROM PUBLIC;

-- The instalments of a plan with what is left of each once a sum paid
-- is allocated to them in order
CREATE FUNCTION pgcredit._plan_instalments(plan_id bigint, paid numeric)
RETURNS TABLE (customer text, relid oid, item_key jsonb, n int, due date, amount numeric, unpaid numeric)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT p.customer, 'pgcredit.plan_instalment'::regclass::oid,
         jsonb_build_object('plan', x.plan_id, 'instalment', x.n), x.n, x.due, x.amount, x.unpaid
  FROM (SELECT i.plan_id, i.n, i.due, i.amount,
               least(i.amount, greatest(0, sum(i.amount) OVER (ORDER BY i.n) - coalesce($2, 0))) AS unpaid
        FROM pgcredit.plan_instalment i WHERE i.plan_id = $1) x
  JOIN pgcredit.payment_plan p ON p.id = x.plan_id
  ORDER BY x.n
$$;
COMMENT ON FUNCTION pgcredit._plan_instalments(bigint, numeric) IS
  'the instalments of a payment plan, each with its item key as dunning names it and what is left unpaid of it once the sum paid is allocated to them in order';
REVOKE EXECUTE ON FUNCTION pgcredit._plan_instalments(bigint, numeric) FROM PUBLIC;

-- The open items on a day, each with the payment plan that holds it, if
-- one runs on the day, and the unpaid instalments of those plans: what
-- dunning follows, and what keeps a status dunning set
CREATE FUNCTION pgcredit._items_with_plans_at(as_of date)
RETURNS TABLE (customer text, relid oid, item_key jsonb, due date, amount numeric, plan_id bigint,
               instalment boolean)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  -- on a day no plan runs, the open items as they are, at no extra cost
  IF NOT EXISTS (SELECT FROM pgcredit.payment_plan p
                 WHERE p.pauses_from <= _items_with_plans_at.as_of
                   AND (p.ended_on IS NULL OR _items_with_plans_at.as_of < p.ended_on)) THEN
    RETURN QUERY SELECT o.customer, o.relid, o.item_key, o.due, o.amount, NULL::bigint, false
                 FROM pgcredit._open_items_at(_items_with_plans_at.as_of) o;
    RETURN;
  END IF;
  RETURN QUERY
  WITH open AS MATERIALIZED (
    SELECT * FROM pgcredit._open_items_at(_items_with_plans_at.as_of)),
  planned AS MATERIALIZED (
    SELECT pi.plan_id, p.customer, pi.relid, pi.item_key, pi.amount
    FROM pgcredit.payment_plan p JOIN pgcredit.payment_plan_item pi ON pi.plan_id = p.id
    WHERE p.pauses_from <= _items_with_plans_at.as_of
      AND (p.ended_on IS NULL OR _items_with_plans_at.as_of < p.ended_on)),
  -- what was paid of each plan by the day: its items' amounts when it was
  -- agreed less what is open of them
  paid AS (
    SELECT pl.plan_id, sum(greatest(0, pl.amount - coalesce(o.amount, 0))) AS paid
    FROM planned pl
    LEFT JOIN open o ON o.customer = pl.customer AND o.relid = pl.relid AND o.item_key = pl.item_key
    GROUP BY pl.plan_id)
  SELECT o.customer, o.relid, o.item_key, o.due, o.amount, pl.plan_id, false
  FROM open o
  LEFT JOIN planned pl ON pl.customer = o.customer AND pl.relid = o.relid AND pl.item_key = o.item_key
  UNION ALL
  SELECT i.customer, i.relid, i.item_key, i.due, i.unpaid, pp.plan_id, true
  FROM paid pp CROSS JOIN LATERAL pgcredit._plan_instalments(pp.plan_id, pp.paid) i
  WHERE i.unpaid > 0;
END
$$;
COMMENT ON FUNCTION pgcredit._items_with_plans_at(date) IS
  'the receivable items open on a day (_open_items_at), each with the payment plan that holds it on the day (NULL: none), and the unpaid instalments of those plans (instalment true, the unpaid part as the amount)';
REVOKE EXECUTE ON FUNCTION pgcredit._items_with_plans_at(date) FROM PUBLIC;

-- The latest day run_collections() has run, read under a lock that waits
-- for a run under way: a promise or plan recorded meanwhile counts from
-- the day after the days already run, so that a replay sees what the
-- runs saw
CREATE FUNCTION pgcredit._latest_collection_day()
RETURNS date LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  latest date;
BEGIN
  SELECT s.latest_as_of INTO latest FROM pgcredit.collection_state s FOR SHARE;
  RETURN latest;
END
$$;
COMMENT ON FUNCTION pgcredit._latest_collection_day() IS
  'the latest day run_collections() has run (NULL: none), waiting for a run under way';
REVOKE EXECUTE ON FUNCTION pgcredit._latest_collection_day() FROM PUBLIC;

-- The checks shared by the functions that record promises and plans
CREATE FUNCTION pgcredit._check_arrangement(customer text, day_name text, day date)
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  p pgcredit.promise_to_pay;
  pl pgcredit.payment_plan;
BEGIN
  IF customer IS NULL THEN
    RAISE EXCEPTION 'customer must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF octet_length(customer) > 1000 THEN
    RAISE EXCEPTION 'customer key is too long' USING ERRCODE = 'string_data_right_truncation',
      DETAIL = 'Customer keys are at most 1000 bytes.';
  END IF;
  IF day IS NULL THEN
    RAISE EXCEPTION '% must not be null', day_name USING ERRCODE = 'null_value_not_allowed';
  ELSIF NOT isfinite(day) THEN
    RAISE EXCEPTION '% must be a finite date', day_name USING ERRCODE = 'invalid_parameter_value';
  ELSIF day > pgcredit._horizon_today() THEN
    RAISE EXCEPTION '% must not be after today', day_name USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('%s is %s; today is %s.', day_name, day, pgcredit._horizon_today());
  END IF;
  -- one at a time per customer: a promise and a plan of one customer wait
  -- for each other
  PERFORM pg_advisory_xact_lock(hashtext('pgcredit.arrangement'), hashtext(customer));
  SELECT * INTO p FROM pgcredit.promise_to_pay x WHERE x.customer = _check_arrangement.customer AND x.status = 'open';
  IF FOUND THEN
    RAISE EXCEPTION 'customer "%" has an open promise to pay', customer USING ERRCODE = 'PC025',
      DETAIL = format('Promise %s of %s for %s is open.', p.id, p.amount, p.promised_for),
      HINT = 'Wait for it to be decided, or cancel it with pgcredit.cancel_promise().';
  END IF;
  SELECT * INTO pl FROM pgcredit.payment_plan x WHERE x.customer = _check_arrangement.customer AND x.status = 'active';
  IF FOUND THEN
    RAISE EXCEPTION 'customer "%" has an active payment plan', customer USING ERRCODE = 'PC025',
      DETAIL = format('Payment plan %s of %s, agreed on %s, is active.', pl.id, pl.amount, pl.created_on),
      HINT = 'Dunning follows its instalments; cancel it with pgcredit.cancel_payment_plan() to agree another.';
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_arrangement(text, text, date) IS
  'refuse a promise or plan for a NULL or too long customer key, a NULL, infinite or future day, or a customer with an open promise or an active plan; waits for another one being recorded for the customer';
REVOKE EXECUTE ON FUNCTION pgcredit._check_arrangement(text, text, date) FROM PUBLIC;


----------------------------------------------------------------------
-- Promises to pay (pgcredit_controller)
----------------------------------------------------------------------

CREATE FUNCTION pgcredit.record_promise(customer text, amount numeric, promised_for date, reason text,
                                        made_on date DEFAULT pgcredit._horizon_today())
RETURNS pgcredit.promise_to_pay LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  p pgcredit.promise_to_pay;
  latest date;
  its pgcredit.promise_item[];
  owed numeric;
  n int;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF amount IS NULL THEN
    RAISE EXCEPTION 'amount must not be null' USING ERRCODE = 'null_value_not_allowed';
  ELSIF amount = 'NaN' OR amount IN ('Infinity', '-Infinity') THEN
    RAISE EXCEPTION 'amount must be a finite number' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('amount is %s.', amount);
  ELSIF amount <= 0 THEN
    RAISE EXCEPTION 'amount must be positive' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('amount is %s.', amount);
  END IF;
  IF promised_for IS NULL THEN
    RAISE EXCEPTION 'promised_for must not be null' USING ERRCODE = 'null_value_not_allowed';
  ELSIF NOT isfinite(promised_for) THEN
    RAISE EXCEPTION 'promised_for must be a finite date' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  latest := pgcredit._latest_collection_day();
  PERFORM pgcredit._check_arrangement(customer, 'made_on', made_on);
  IF promised_for < made_on OR promised_for > made_on + 366 THEN
    RAISE EXCEPTION 'promised_for must be from made_on to 366 days after it' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('made_on is %s; promised_for is %s.', made_on, promised_for),
      HINT = 'A promise longer than a year is a payment plan: pgcredit.create_payment_plan().';
  END IF;

  -- the items it covers: what the customer owed when it was made
  its := ARRAY(SELECT ROW(NULL, o.relid, o.item_key, o.due, o.amount)::pgcredit.promise_item
               FROM pgcredit._open_items_of(customer, made_on - 1) o);
  SELECT coalesce(sum(i.amount), 0), count(*) INTO owed, n FROM unnest(its) i;
  IF n = 0 THEN
    RAISE EXCEPTION 'customer "%" owes nothing to promise', customer USING ERRCODE = 'PC023',
      DETAIL = format('No receivable item of the customer with a due date was open on %s, the day before made_on.', made_on - 1),
      HINT = 'A promise to pay covers the items open when it is made.';
  ELSIF amount > owed THEN
    RAISE EXCEPTION 'customer "%" owes less than it promises', customer USING ERRCODE = 'PC023',
      DETAIL = format('The promise is of %s; the items open on %s come to %s.', amount, made_on - 1, owed),
      HINT = 'A promise to pay covers the items open when it is made.';
  END IF;

  INSERT INTO pgcredit.promise_to_pay (customer, amount, made_on, promised_for, note, owed, pauses_from, pauses_until)
  VALUES (record_promise.customer, record_promise.amount, record_promise.made_on, record_promise.promised_for,
          reason, owed, greatest(record_promise.made_on, latest + 1), record_promise.promised_for)
  RETURNING * INTO p;
  INSERT INTO pgcredit.promise_item (promise_id, relid, item_key, due, amount)
  SELECT p.id, i.relid, i.item_key, i.due, i.amount FROM unnest(its) i;
  PERFORM pgcredit._audit('record_promise', customer, NULL, to_jsonb(p) - 'recorded_at', reason);
  RETURN p;
END
$$;
COMMENT ON FUNCTION pgcredit.record_promise(text, numeric, date, text, date) IS
  'record a customer''s promise to pay an amount by a day (made_on default today): it covers the items open the day before made_on, pauses the customer''s dunning to that day, and the first run_collections() after it decides it; one open promise per customer; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.record_promise(text, numeric, date, text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.record_promise(text, numeric, date, text, date) TO pgcredit_controller;

CREATE FUNCTION pgcredit.cancel_promise(promise_id bigint, reason text)
RETURNS pgcredit.promise_to_pay LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.promise_to_pay;
  after pgcredit.promise_to_pay;
  latest date;
  today date := pgcredit._horizon_today();
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF promise_id IS NULL THEN
    RAISE EXCEPTION 'promise_id must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  latest := pgcredit._latest_collection_day();
  SELECT * INTO before FROM pgcredit.promise_to_pay p WHERE p.id = cancel_promise.promise_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'promise to pay % does not exist', promise_id USING ERRCODE = 'undefined_object';
  ELSIF before.status <> 'open' THEN
    RAISE EXCEPTION 'promise to pay % is not open', promise_id USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = format('It was %s on %s.', replace(before.status, '_', ' '), before.decided_on);
  END IF;
  -- the days already run stay paused as they were run; the others are not
  UPDATE pgcredit.promise_to_pay p SET status = 'cancelled', decided_on = today,
    pauses_until = least(p.pauses_until, greatest(today - 1, latest))
  WHERE p.id = cancel_promise.promise_id
  RETURNING * INTO after;
  PERFORM pgcredit._audit('cancel_promise', before.customer,
                          jsonb_build_object('promise', before.id, 'status', before.status,
                                             'pauses_until', before.pauses_until),
                          jsonb_build_object('promise', after.id, 'status', after.status,
                                             'pauses_until', after.pauses_until),
                          reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.cancel_promise(bigint, text) IS
  'cancel an open promise to pay: the customer is dunned again from the first day not yet run; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.cancel_promise(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.cancel_promise(bigint, text) TO pgcredit_controller;

-- run_collections() decides, first, the open promises whose day is over
CREATE FUNCTION pgcredit._decide_promises(as_of date)
RETURNS int LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  rec record;
  decided int := 0;
  first_day date;
BEGIN
  PERFORM FROM pgcredit.promise_to_pay p WHERE p.status = 'open' AND p.promised_for < _decide_promises.as_of
  ORDER BY p.id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN 0;
  END IF;
  -- an item open on a later day of those looked at was open on the first
  -- (the items of a promise were invoiced before it): the reader keeps
  -- only the items open on the first
  SELECT min(p.promised_for) INTO first_day FROM pgcredit.promise_to_pay p
  WHERE p.status = 'open' AND p.promised_for < _decide_promises.as_of;
  FOR rec IN
    WITH due AS MATERIALIZED (
      SELECT p.* FROM pgcredit.promise_to_pay p
      WHERE p.status = 'open' AND p.promised_for < _decide_promises.as_of),
    -- one pass over the receivables, the rows of those customers kept
    rows AS MATERIALIZED (
      SELECT i.customer, i.relid, coalesce(i.item_key, jsonb_build_object('(due)', i.due)) AS item_key,
             i.amount, i.counts, i.invoice_amount, i.invoiced_on, i.paid_on
      FROM pgcredit._attached_items_keyed('receivables', open_on => first_day) i
      WHERE i.due IS NOT NULL AND i.customer IN (SELECT due.customer FROM due)),
    -- what is open of each item the day promised
    per_item AS (
      SELECT due.id, pi.amount,
             greatest(0, coalesce(sum(pgcredit._open_on(r.amount, r.counts, r.invoice_amount, r.invoiced_on,
                                                        r.paid_on, due.promised_for)), 0)) AS open
      FROM due
      JOIN pgcredit.promise_item pi ON pi.promise_id = due.id
      LEFT JOIN rows r ON r.customer = due.customer AND r.relid = pi.relid AND r.item_key = pi.item_key
      GROUP BY due.id, pi.relid, pi.item_key, pi.amount),
    arrived AS (
      SELECT x.id, sum(greatest(0, x.amount - x.open)) AS arrived FROM per_item x GROUP BY x.id)
    SELECT due.*, coalesce(a.arrived, 0) AS arrived
    FROM due LEFT JOIN arrived a ON a.id = due.id
    ORDER BY due.id
  LOOP
    UPDATE pgcredit.promise_to_pay p
    SET status = CASE WHEN rec.arrived >= rec.amount THEN 'kept' WHEN rec.arrived > 0 THEN 'partly_kept' ELSE 'broken' END,
        paid = rec.arrived, decided_on = _decide_promises.as_of
    WHERE p.id = rec.id;
    IF rec.arrived < rec.amount THEN
      INSERT INTO pgcredit.alert (kind, customer, details)
      VALUES (CASE WHEN rec.arrived > 0 THEN 'promise_partly_kept' ELSE 'promise_broken' END, rec.customer,
              jsonb_build_object('promise', rec.id, 'amount', rec.amount, 'paid', rec.arrived, 'made_on', rec.made_on,
                                 'promised_for', rec.promised_for, 'as_of', _decide_promises.as_of));
    END IF;
    PERFORM pgcredit._audit('decide_promise', rec.customer,
      jsonb_build_object('promise', rec.id, 'status', 'open'),
      jsonb_build_object('promise', rec.id,
                         'status', CASE WHEN rec.arrived >= rec.amount THEN 'kept' WHEN rec.arrived > 0 THEN 'partly_kept'
                                        ELSE 'broken' END,
                         'paid', rec.arrived),
      format('run_collections for %s: %s of the %s promised for %s arrived', as_of, rec.arrived, rec.amount, rec.promised_for));
    decided := decided + 1;
  END LOOP;
  RETURN decided;
END
$$;
COMMENT ON FUNCTION pgcredit._decide_promises(date) IS
  'for run_collections(): decide each open promise whose day is before as_of from what was paid of its items from made_on to promised_for: kept, partly_kept or broken (alerts promise_partly_kept and promise_broken), audited; returns how many';
REVOKE EXECUTE ON FUNCTION pgcredit._decide_promises(date) FROM PUBLIC;


----------------------------------------------------------------------
-- Payment plans (pgcredit_controller)
----------------------------------------------------------------------

CREATE FUNCTION pgcredit.create_payment_plan(customer text, instalments jsonb, reason text,
                                             items jsonb DEFAULT NULL,
                                             created_on date DEFAULT pgcredit._horizon_today(),
                                             grace_days int DEFAULT 0)
RETURNS pgcredit.payment_plan LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  pl pgcredit.payment_plan;
  latest date;
  e jsonb;
  pos int := 0;
  due date;
  amt numeric;
  prev date;
  total numeric := 0;
  parts pgcredit.plan_instalment[] := '{}';
  its pgcredit.payment_plan_item[];
  named jsonb := '[]';
  owed numeric;
  n int;
  tname text[];
  tbl oid;
  k jsonb;
  bad text;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF grace_days IS NULL THEN
    RAISE EXCEPTION 'grace_days must not be null' USING ERRCODE = 'null_value_not_allowed';
  ELSIF grace_days NOT BETWEEN 0 AND 366 THEN
    RAISE EXCEPTION 'grace_days must be between 0 and 366' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('grace_days is %s.', grace_days);
  END IF;
  latest := pgcredit._latest_collection_day();
  PERFORM pgcredit._check_arrangement(customer, 'created_on', created_on);

  -- the instalments: a JSON array of {"due": date, "amount": number}, due
  -- dates increasing from created_on on
  IF instalments IS NULL THEN
    RAISE EXCEPTION 'instalments must not be null' USING ERRCODE = 'null_value_not_allowed';
  ELSIF jsonb_typeof(instalments) <> 'array' OR jsonb_array_length(instalments) = 0 THEN
    RAISE EXCEPTION 'instalments must be a non-empty JSON array' USING ERRCODE = 'invalid_parameter_value',
      HINT = 'Give them as [{"due": "2024-04-01", "amount": 100}, ...].';
  ELSIF jsonb_array_length(instalments) > 1000 THEN
    RAISE EXCEPTION 'a payment plan has at most 1000 instalments' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('%s were given.', jsonb_array_length(instalments));
  END IF;
  FOR e IN SELECT x FROM jsonb_array_elements(instalments) x LOOP
    pos := pos + 1;
    due := NULL;
    amt := NULL;
    IF jsonb_typeof(e) = 'object' AND jsonb_typeof(e -> 'due') = 'string'
       AND jsonb_typeof(e -> 'amount') IN ('number', 'string') THEN
      BEGIN
        due := (e ->> 'due')::date;
        amt := (e ->> 'amount')::numeric;
      EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR invalid_text_representation THEN
        due := NULL;
      END;
    END IF;
    IF due IS NULL OR amt IS NULL THEN
      RAISE EXCEPTION 'instalment % is not a due date and an amount', pos USING ERRCODE = 'invalid_parameter_value',
        DETAIL = format('It is %s.', e),
        HINT = 'Give each instalment as {"due": "2024-04-01", "amount": 100}.';
    ELSIF NOT isfinite(due) THEN
      RAISE EXCEPTION 'instalment % must be due on a finite date', pos USING ERRCODE = 'invalid_parameter_value';
    ELSIF amt = 'NaN' OR amt IN ('Infinity', '-Infinity') OR amt <= 0 THEN
      RAISE EXCEPTION 'the amount of instalment % must be positive and finite', pos
        USING ERRCODE = 'invalid_parameter_value', DETAIL = format('It is %s.', amt);
    ELSIF due < created_on THEN
      RAISE EXCEPTION 'instalment % is due before the plan is agreed', pos USING ERRCODE = 'invalid_parameter_value',
        DETAIL = format('It is due on %s; created_on is %s.', due, created_on);
    ELSIF due <= prev THEN
      RAISE EXCEPTION 'instalment due dates must increase' USING ERRCODE = 'invalid_parameter_value',
        DETAIL = format('Instalment %s is due on %s, instalment %s on %s.', pos - 1, prev, pos, due),
        HINT = 'List the instalments in the order of their due dates, one a day at most.';
    ELSIF due > created_on + 3660 THEN
      RAISE EXCEPTION 'instalment % is due more than ten years after the plan is agreed', pos
        USING ERRCODE = 'invalid_parameter_value', DETAIL = format('It is due on %s.', due);
    END IF;
    parts := parts || ROW(NULL, pos, due, amt)::pgcredit.plan_instalment;
    total := total + amt;
    prev := due;
  END LOOP;

  -- the items: the customer's items open on created_on; unless named,
  -- those past due on it
  IF items IS NULL THEN
    its := ARRAY(SELECT ROW(NULL, o.relid, o.item_key, o.due, o.amount)::pgcredit.payment_plan_item
                 FROM pgcredit._open_items_of(customer, created_on) o WHERE o.due < created_on);
    IF cardinality(its) = 0 THEN
      RAISE EXCEPTION 'customer "%" has nothing past due to reschedule', customer USING ERRCODE = 'PC023',
        DETAIL = format('No receivable item of the customer was open and past due on %s.', created_on),
        HINT = 'Name the items to reschedule with items => ''[{"table": "invoice", "key": {"invoice_no": 1001}}]''.';
    END IF;
  ELSE
    IF jsonb_typeof(items) <> 'array' OR jsonb_array_length(items) = 0 THEN
      RAISE EXCEPTION 'items must be a non-empty JSON array' USING ERRCODE = 'invalid_parameter_value',
        HINT = 'Give them as [{"table": "invoice", "key": {"invoice_no": 1001}}, ...].';
    END IF;
    pos := 0;
    FOR e IN SELECT x FROM jsonb_array_elements(items) x LOOP
      pos := pos + 1;
      IF jsonb_typeof(e) <> 'object' OR jsonb_typeof(e -> 'table') IS DISTINCT FROM 'string'
         OR jsonb_typeof(e -> 'key') IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'item % is not a table and a key', pos USING ERRCODE = 'invalid_parameter_value',
          DETAIL = format('It is %s.', e),
          HINT = 'Give each item as {"table": "invoice", "key": {"invoice_no": 1001}}: the key is the row''s primary key, as collection_action_item names it.';
      END IF;
      -- the table by its name, schema-qualified or not, among the
      -- attached receivables tables (not by the search path, which is
      -- pgcredit's here)
      BEGIN
        tname := parse_ident(e ->> 'table');
      EXCEPTION WHEN invalid_parameter_value THEN
        tname := '{}';
      END;
      SELECT min(a.relid::oid), count(*) INTO tbl, n
      FROM pgcredit.attachment a
      JOIN pg_catalog.pg_class c ON c.oid = a.relid
      JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace
      WHERE a.kind = 'receivables' AND cardinality(tname) IN (1, 2)
        AND c.relname = tname[cardinality(tname)] AND (cardinality(tname) = 1 OR s.nspname = tname[1]);
      IF n = 0 THEN
        RAISE EXCEPTION 'item %: "%" is not an attached receivables table', pos, e ->> 'table'
          USING ERRCODE = 'undefined_object',
          HINT = 'pgcredit.attachment lists the tables attached with attach_receivables().';
      ELSIF n > 1 THEN
        RAISE EXCEPTION 'item %: more than one attached receivables table is named "%"', pos, e ->> 'table'
          USING ERRCODE = 'invalid_parameter_value',
          HINT = 'Qualify the name with its schema.';
      END IF;
      -- key values as text, as the items name them
      SELECT coalesce(jsonb_object_agg(x.k, x.v #>> '{}'), '{}') INTO k FROM jsonb_each(e -> 'key') AS x(k, v);
      IF EXISTS (SELECT FROM jsonb_array_elements(named) x WHERE (x ->> 'relid')::oid = tbl AND x -> 'key' = k) THEN
        RAISE EXCEPTION 'item % is named twice', pos USING ERRCODE = 'invalid_parameter_value',
          DETAIL = format('It is %s.', e);
      END IF;
      named := named || jsonb_build_array(jsonb_build_object('pos', pos, 'relid', tbl, 'key', k));
    END LOOP;
    its := ARRAY(SELECT ROW(NULL, o.relid, o.item_key, o.due, o.amount)::pgcredit.payment_plan_item
                 FROM pgcredit._open_items_of(customer, created_on) o
                 WHERE EXISTS (SELECT FROM jsonb_array_elements(named) x
                               WHERE (x ->> 'relid')::oid = o.relid AND x -> 'key' = o.item_key));
    SELECT string_agg(format('%s %s', (x ->> 'relid')::oid::regclass, x -> 'key'), ', ' ORDER BY (x ->> 'pos')::int)
    INTO bad
    FROM jsonb_array_elements(named) x
    WHERE NOT EXISTS (SELECT FROM unnest(its) i WHERE i.relid = (x ->> 'relid')::oid AND i.item_key = x -> 'key');
    IF bad IS NOT NULL THEN
      RAISE EXCEPTION 'an item named is not an open item of customer "%"', customer USING ERRCODE = 'PC023',
        DETAIL = format('Not open on %s: %s.', created_on, bad),
        HINT = 'A plan reschedules items open on the day it is agreed.';
    END IF;
  END IF;
  SELECT sum(i.amount) INTO owed FROM unnest(its) i;
  IF total <> owed THEN
    RAISE EXCEPTION 'the instalments do not add up to the items'' open amount' USING ERRCODE = 'PC024',
      DETAIL = format('The instalments come to %s; the items come to %s on %s.', total, owed, created_on),
      HINT = 'A plan reschedules the whole open amount of its items.';
  END IF;

  INSERT INTO pgcredit.payment_plan (customer, created_on, amount, grace_days, note, pauses_from, checked_through)
  VALUES (create_payment_plan.customer, create_payment_plan.created_on, owed, create_payment_plan.grace_days,
          reason, greatest(create_payment_plan.created_on, latest + 1), create_payment_plan.created_on - 1)
  RETURNING * INTO pl;
  INSERT INTO pgcredit.payment_plan_item (plan_id, relid, item_key, due, amount)
  SELECT pl.id, i.relid, i.item_key, i.due, i.amount FROM unnest(its) i;
  INSERT INTO pgcredit.plan_instalment (plan_id, n, due, amount)
  SELECT pl.id, i.n, i.due, i.amount FROM unnest(parts) i;
  PERFORM pgcredit._audit('create_payment_plan', customer, NULL,
    to_jsonb(pl) - 'created_at'
    || jsonb_build_object('items', (SELECT jsonb_agg(jsonb_build_object('table', i.relid::regclass::text, 'key', i.item_key,
                                                                        'due', i.due, 'amount', i.amount)
                                                     ORDER BY i.due, i.relid, i.item_key)
                                    FROM pgcredit.payment_plan_item i WHERE i.plan_id = pl.id),
                          'instalments', (SELECT jsonb_agg(jsonb_build_object('n', i.n, 'due', i.due, 'amount', i.amount)
                                                           ORDER BY i.n)
                                          FROM pgcredit.plan_instalment i WHERE i.plan_id = pl.id)),
    reason);
  RETURN pl;
END
$$;
COMMENT ON FUNCTION pgcredit.create_payment_plan(text, jsonb, text, jsonb, date, int) IS
  'reschedule open items of a customer (items NULL: every item past due on created_on, default today) into instalments ([{"due": date, "amount": number}, ...], dates increasing, adding up to the items'' open amount); dunning follows the instalments while the plan runs; an instalment unpaid more than grace_days after its date breaks it; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.create_payment_plan(text, jsonb, text, jsonb, date, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.create_payment_plan(text, jsonb, text, jsonb, date, int) TO pgcredit_controller;

CREATE FUNCTION pgcredit.cancel_payment_plan(plan_id bigint, reason text)
RETURNS pgcredit.payment_plan LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.payment_plan;
  after pgcredit.payment_plan;
  latest date;
  today date := pgcredit._horizon_today();
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF plan_id IS NULL THEN
    RAISE EXCEPTION 'plan_id must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  latest := pgcredit._latest_collection_day();
  SELECT * INTO before FROM pgcredit.payment_plan p WHERE p.id = cancel_payment_plan.plan_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'payment plan % does not exist', plan_id USING ERRCODE = 'undefined_object';
  ELSIF before.status <> 'active' THEN
    RAISE EXCEPTION 'payment plan % is not active', plan_id USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = format('It is %s since %s.', before.status, before.ended_on);
  END IF;
  -- the days already run followed the plan; the others follow the items
  UPDATE pgcredit.payment_plan p SET status = 'cancelled', ended_on = greatest(today, latest + 1)
  WHERE p.id = cancel_payment_plan.plan_id
  RETURNING * INTO after;
  PERFORM pgcredit._audit('cancel_payment_plan', before.customer,
                          jsonb_build_object('plan', before.id, 'status', before.status),
                          jsonb_build_object('plan', after.id, 'status', after.status, 'ended_on', after.ended_on),
                          reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.cancel_payment_plan(bigint, text) IS
  'cancel an active payment plan: from the first day not yet run, dunning follows its items at their own due dates again; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.cancel_payment_plan(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.cancel_payment_plan(bigint, text) TO pgcredit_controller;

-- run_collections() decides, first, the plans running on the day whose
-- instalments' grace days ended since they were last looked at: broken
-- when such an instalment was unpaid at the end of them, completed when
-- every item was paid by the day before.  (One pass over the receivables,
-- on the days after an instalment's grace days only.)
CREATE FUNCTION pgcredit._decide_plans(as_of date)
RETURNS int LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  rec record;
  decided int := 0;
  first_day date;
BEGIN
  PERFORM FROM pgcredit.payment_plan p
  WHERE p.status = 'active' AND p.pauses_from <= _decide_plans.as_of
    AND EXISTS (SELECT FROM pgcredit.plan_instalment i
                WHERE i.plan_id = p.id AND i.due + p.grace_days > p.checked_through
                  AND i.due + p.grace_days < _decide_plans.as_of)
  ORDER BY p.id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN 0;
  END IF;
  -- the first day looked at (see below): an item of a plan open on a
  -- later day was open on it, and the reader keeps only those
  SELECT least(_decide_plans.as_of - 1, min(i.due + p.grace_days)) INTO first_day
  FROM pgcredit.payment_plan p JOIN pgcredit.plan_instalment i ON i.plan_id = p.id
  WHERE p.status = 'active' AND p.pauses_from <= _decide_plans.as_of
    AND i.due + p.grace_days > p.checked_through AND i.due + p.grace_days < _decide_plans.as_of;
  FOR rec IN
    WITH cand AS MATERIALIZED (
      SELECT p.* FROM pgcredit.payment_plan p
      WHERE p.status = 'active' AND p.pauses_from <= _decide_plans.as_of
        AND EXISTS (SELECT FROM pgcredit.plan_instalment i
                    WHERE i.plan_id = p.id AND i.due + p.grace_days > p.checked_through
                      AND i.due + p.grace_days < _decide_plans.as_of)),
    -- the days to look at: the last day of grace of each instalment not
    -- looked at before whose grace is over, and the day before this one
    days AS (
      SELECT c.id, _decide_plans.as_of - 1 AS t FROM cand c
      UNION
      SELECT c.id, i.due + c.grace_days FROM cand c JOIN pgcredit.plan_instalment i ON i.plan_id = c.id
      WHERE i.due + c.grace_days > c.checked_through AND i.due + c.grace_days < _decide_plans.as_of),
    -- one pass over the receivables, the rows of those customers kept
    rows AS MATERIALIZED (
      SELECT i.customer, i.relid, coalesce(i.item_key, jsonb_build_object('(due)', i.due)) AS item_key,
             i.amount, i.counts, i.invoice_amount, i.invoiced_on, i.paid_on
      FROM pgcredit._attached_items_keyed('receivables', open_on => first_day) i
      WHERE i.due IS NOT NULL AND i.customer IN (SELECT c.customer FROM cand c)),
    per_item AS (
      SELECT d.id, d.t, pi.amount,
             greatest(0, coalesce(sum(pgcredit._open_on(r.amount, r.counts, r.invoice_amount, r.invoiced_on,
                                                        r.paid_on, d.t)), 0)) AS open
      FROM days d
      JOIN cand c ON c.id = d.id
      JOIN pgcredit.payment_plan_item pi ON pi.plan_id = d.id
      LEFT JOIN rows r ON r.customer = c.customer AND r.relid = pi.relid AND r.item_key = pi.item_key
      GROUP BY d.id, d.t, pi.relid, pi.item_key, pi.amount),
    paid AS (
      SELECT x.id, x.t, sum(greatest(0, x.amount - x.open)) AS paid FROM per_item x GROUP BY x.id, x.t),
    -- the instalments, each with the sum of it and those before it
    inst AS (
      SELECT c.id, i.n, i.due, i.amount, i.due + c.grace_days AS last_day, c.checked_through,
             sum(i.amount) OVER (PARTITION BY c.id ORDER BY i.n) AS cum
      FROM cand c JOIN pgcredit.plan_instalment i ON i.plan_id = c.id),
    -- the first instalment not paid by the end of its grace days
    missed AS (
      SELECT DISTINCT ON (x.id) x.id, x.n, x.due, x.amount, least(x.amount, x.cum - p.paid) AS unpaid
      FROM inst x JOIN paid p ON p.id = x.id AND p.t = x.last_day
      WHERE x.last_day > x.checked_through AND x.last_day < _decide_plans.as_of AND p.paid < x.cum
      ORDER BY x.id, x.n)
    SELECT c.id, c.customer, c.amount AS plan_amount, m.n, m.due, m.amount, m.unpaid, p.paid
    FROM cand c
    LEFT JOIN missed m ON m.id = c.id
    LEFT JOIN paid p ON p.id = c.id AND p.t = _decide_plans.as_of - 1
    ORDER BY c.id
  LOOP
    IF rec.n IS NOT NULL THEN
      UPDATE pgcredit.payment_plan p SET status = 'broken', ended_on = _decide_plans.as_of, missed_instalment = rec.n
      WHERE p.id = rec.id;
      INSERT INTO pgcredit.alert (kind, customer, details)
      VALUES ('plan_broken', rec.customer,
              jsonb_build_object('plan', rec.id, 'instalment', rec.n, 'due', rec.due, 'amount', rec.amount,
                                 'unpaid', rec.unpaid, 'as_of', _decide_plans.as_of));
      PERFORM pgcredit._audit('decide_payment_plan', rec.customer, jsonb_build_object('plan', rec.id, 'status', 'active'),
        jsonb_build_object('plan', rec.id, 'status', 'broken', 'missed_instalment', rec.n),
        format('run_collections for %s: %s of instalment %s due %s unpaid', as_of, rec.unpaid, rec.n, rec.due));
      decided := decided + 1;
    ELSIF rec.paid >= rec.plan_amount THEN
      UPDATE pgcredit.payment_plan p SET status = 'completed', ended_on = _decide_plans.as_of WHERE p.id = rec.id;
      PERFORM pgcredit._audit('decide_payment_plan', rec.customer, jsonb_build_object('plan', rec.id, 'status', 'active'),
        jsonb_build_object('plan', rec.id, 'status', 'completed'),
        format('run_collections for %s: its items are paid', as_of));
      decided := decided + 1;
    ELSE
      UPDATE pgcredit.payment_plan p SET checked_through = _decide_plans.as_of - 1 WHERE p.id = rec.id;
    END IF;
  END LOOP;
  RETURN decided;
END
$$;
COMMENT ON FUNCTION pgcredit._decide_plans(date) IS
  'for run_collections(): look at each payment plan running on as_of one of whose instalments'' grace days ended since it was last looked at: broken if an instalment was unpaid at the end of its grace days (alert plan_broken), completed if its items were paid by the day before, audited; returns how many ended';
REVOKE EXECUTE ON FUNCTION pgcredit._decide_plans(date) FROM PUBLIC;


----------------------------------------------------------------------
-- What promises and plans show
----------------------------------------------------------------------

CREATE FUNCTION pgcredit.broken_promises_at(as_of date)
RETURNS TABLE (customer text, broken int, partly_kept int)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT p.customer, (count(*) FILTER (WHERE p.status = 'broken'))::int,
         (count(*) FILTER (WHERE p.status = 'partly_kept'))::int
  FROM pgcredit.promise_to_pay p
  WHERE p.status IN ('broken', 'partly_kept') AND p.promised_for < $1 AND p.promised_for >= $1 - 365
  GROUP BY p.customer
$$;
COMMENT ON FUNCTION pgcredit.broken_promises_at(date) IS
  'per customer, the promises to pay broken and partly kept whose day fell in the 365 days before as_of (customers with none are left out)';
REVOKE EXECUTE ON FUNCTION pgcredit.broken_promises_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.broken_promises_at(date) TO pgcredit_reader;

CREATE FUNCTION pgcredit.promise_record_at(as_of date)
RETURNS TABLE (customer text, promises int, kept int, partly_kept int, broken int, cancelled int, open int,
               promised numeric, paid numeric)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT p.customer, count(*)::int,
         (count(*) FILTER (WHERE p.status = 'kept'))::int,
         (count(*) FILTER (WHERE p.status = 'partly_kept'))::int,
         (count(*) FILTER (WHERE p.status = 'broken'))::int,
         (count(*) FILTER (WHERE p.status = 'cancelled'))::int,
         (count(*) FILTER (WHERE p.status = 'open'))::int,
         coalesce(sum(p.amount) FILTER (WHERE p.status IN ('kept', 'partly_kept', 'broken')), 0),
         coalesce(sum(p.paid) FILTER (WHERE p.status IN ('kept', 'partly_kept', 'broken')), 0)
  FROM pgcredit.promise_to_pay p
  WHERE p.made_on <= $1 AND p.promised_for >= $1 - 365
  GROUP BY p.customer
  ORDER BY p.customer COLLATE "C"
$$;
COMMENT ON FUNCTION pgcredit.promise_record_at(date) IS 'the rows of promise_record as of any day';
REVOKE EXECUTE ON FUNCTION pgcredit.promise_record_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.promise_record_at(date) TO pgcredit_reader;

CREATE VIEW pgcredit.promise_record AS
  SELECT p.*, pgcredit.as_of() AS day FROM pgcredit.promise_record_at(pgcredit.as_of()) p;
COMMENT ON VIEW pgcredit.promise_record IS
  'each customer''s promises to pay made by the day pgcredit.as_of() whose day fell in the 365 days before it or after it: how many, kept, partly kept, broken, cancelled and still open (as decided so far), and what the decided ones promised and paid';
COMMENT ON COLUMN pgcredit.promise_record.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.promise_record.promises IS 'promises made';
COMMENT ON COLUMN pgcredit.promise_record.kept IS 'kept: paid at least the amount';
COMMENT ON COLUMN pgcredit.promise_record.partly_kept IS 'partly kept: paid less than the amount, but something';
COMMENT ON COLUMN pgcredit.promise_record.broken IS 'broken: paid nothing';
COMMENT ON COLUMN pgcredit.promise_record.cancelled IS 'cancelled';
COMMENT ON COLUMN pgcredit.promise_record.open IS 'not decided yet';
COMMENT ON COLUMN pgcredit.promise_record.promised IS 'what the kept, partly kept and broken ones promised';
COMMENT ON COLUMN pgcredit.promise_record.paid IS 'what was paid of them';
COMMENT ON COLUMN pgcredit.promise_record.day IS 'the day the row describes: pgcredit.as_of(), today unless set';
REVOKE ALL ON pgcredit.promise_record FROM PUBLIC;
GRANT SELECT ON pgcredit.promise_record TO pgcredit_reader;

CREATE FUNCTION pgcredit.plan_instalments_at(as_of date)
RETURNS TABLE (plan_id bigint, customer text, n int, due date, amount numeric, paid numeric, unpaid numeric)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER ROWS 1000
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_day(as_of);
  RETURN QUERY
  WITH running AS MATERIALIZED (
    SELECT p.id, p.customer FROM pgcredit.payment_plan p
    WHERE p.pauses_from <= plan_instalments_at.as_of
      AND (p.ended_on IS NULL OR plan_instalments_at.as_of < p.ended_on)),
  open AS MATERIALIZED (
    SELECT o.* FROM pgcredit._open_items_at(plan_instalments_at.as_of) o
    WHERE o.customer IN (SELECT r.customer FROM running r)),
  paid AS (
    SELECT r.id, sum(greatest(0, pi.amount - coalesce(o.amount, 0))) AS paid
    FROM running r JOIN pgcredit.payment_plan_item pi ON pi.plan_id = r.id
    LEFT JOIN open o ON o.customer = r.customer AND o.relid = pi.relid AND o.item_key = pi.item_key
    GROUP BY r.id)
  SELECT pp.id, i.customer, i.n, i.due, i.amount, i.amount - i.unpaid, i.unpaid
  FROM paid pp CROSS JOIN LATERAL pgcredit._plan_instalments(pp.id, pp.paid) i
  ORDER BY pp.id, i.n;
END
$$;
COMMENT ON FUNCTION pgcredit.plan_instalments_at(date) IS
  'the instalments of every payment plan running on a day, with what was paid of each (the payments of its items allocated to the instalments in order) and what is left unpaid';
REVOKE EXECUTE ON FUNCTION pgcredit.plan_instalments_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.plan_instalments_at(date) TO pgcredit_reader;
-- <<< collections_promises

-- >>> collections_disputes: as in sql/install/collections_disputes.sql
-- Collections: disputes of receivable items, out of dunning and the past-due rules

----------------------------------------------------------------------
-- Collections: disputes (pgcredit_controller opens and closes them)
--
-- An item of an attached receivables table, named by its table and its
-- primary key as _attached_items_keyed() gives it, is disputed with a
-- reason.  While its dispute is open the item leaves dunning (from its
-- opened_on day to the day before its closed_on day, so that a past day
-- is run as it stood) and the credit rules of kinds days_past_due and
-- overdue_amount; it stays in exposure, for it is still owed.  Whether
-- it leaves the behavioural score too is risk_settings.disputed_in_score.
-- A dispute ends resolved (the item is due again) or written off.
--
-- The rules read pgcredit.receivable_due less pgcredit.dispute_due: a
-- disputed item's share of its customer's buckets by due date is in both.
-- open_dispute() puts it in dispute_due and resolve_dispute() and
-- write_off_dispute() take it out, under the lock of the customer's
-- exposure row; the guard follows every change of the item in both
-- (guard_dispute.c says why this is race-free).
----------------------------------------------------------------------

CREATE TABLE pgcredit.collection_dispute (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  relid          regclass NOT NULL,
  item_key       jsonb NOT NULL CONSTRAINT dispute_item_key CHECK (jsonb_typeof(item_key) = 'object'),
  customer       text NOT NULL CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  amount         numeric NOT NULL,
  due            date,
  reason         text NOT NULL,
  opened_on      date NOT NULL,
  opened_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  opened_by      name NOT NULL,
  status         text NOT NULL DEFAULT 'open'
                 CONSTRAINT dispute_status CHECK (status IN ('open', 'resolved', 'written_off')),
  closed_on      date,
  closed_at      timestamptz,
  closed_by      name,
  closed_amount  numeric,
  note           text,
  CONSTRAINT dispute_closed CHECK ((status = 'open') = (closed_on IS NULL)
                                   AND (closed_on IS NULL) = (closed_at IS NULL)
                                   AND (closed_on IS NULL) = (closed_by IS NULL)),
  CONSTRAINT dispute_dates CHECK (closed_on >= opened_on)
);
-- at most one open dispute per item
CREATE UNIQUE INDEX collection_dispute_open ON pgcredit.collection_dispute (relid, item_key) WHERE status = 'open';
CREATE INDEX collection_dispute_item ON pgcredit.collection_dispute (relid, item_key);
COMMENT ON INDEX pgcredit.collection_dispute_open IS 'at most one open dispute per item';
COMMENT ON INDEX pgcredit.collection_dispute_item IS 'the disputes of an item, open and closed';
COMMENT ON TABLE pgcredit.collection_dispute IS 'disputes of receivable items: while open, the item leaves dunning and the days_past_due and overdue_amount rules; written by open_dispute(), resolve_dispute() and write_off_dispute() only, every change audited';
COMMENT ON COLUMN pgcredit.collection_dispute.id IS 'dispute number';
COMMENT ON COLUMN pgcredit.collection_dispute.relid IS 'the attached receivables table of the item';
COMMENT ON COLUMN pgcredit.collection_dispute.item_key IS 'the item''s primary key as a JSON object of its columns and their values as text, as collection_action_item names items: {"id": "7"}';
COMMENT ON COLUMN pgcredit.collection_dispute.customer IS 'the item''s customer when the dispute was opened';
COMMENT ON COLUMN pgcredit.collection_dispute.amount IS 'the item''s open amount when the dispute was opened, in the account''s currency (0 when it was not open)';
COMMENT ON COLUMN pgcredit.collection_dispute.due IS 'the item''s due date when the dispute was opened';
COMMENT ON COLUMN pgcredit.collection_dispute.reason IS 'why the customer disputes it';
COMMENT ON COLUMN pgcredit.collection_dispute.opened_on IS 'the first day the item is disputed: dunning leaves it from this day';
COMMENT ON COLUMN pgcredit.collection_dispute.opened_at IS 'when the dispute was recorded';
COMMENT ON COLUMN pgcredit.collection_dispute.opened_by IS 'who recorded it';
COMMENT ON COLUMN pgcredit.collection_dispute.status IS 'open, resolved (the item is due again) or written_off';
COMMENT ON COLUMN pgcredit.collection_dispute.closed_on IS 'the day the dispute ended: dunning follows the item again from this day; NULL while open';
COMMENT ON COLUMN pgcredit.collection_dispute.closed_at IS 'when it was closed';
COMMENT ON COLUMN pgcredit.collection_dispute.closed_by IS 'who closed it';
COMMENT ON COLUMN pgcredit.collection_dispute.closed_amount IS 'the item''s open amount when the dispute was closed (for a write-off, what the company gives up); NULL when the item was gone';
COMMENT ON COLUMN pgcredit.collection_dispute.note IS 'how it ended';
REVOKE ALL ON pgcredit.collection_dispute FROM PUBLIC;
GRANT SELECT ON pgcredit.collection_dispute TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.collection_dispute', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.collection_dispute_id_seq', '');
COMMENT ON SEQUENCE pgcredit.collection_dispute_id_seq IS 'numbers of disputes (collection_dispute.id)';

-- Every change of the disputes tells every backend's guard to read the
-- open ones again (guard_dispute.c).
CREATE FUNCTION pgcredit._disputes_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'pgc_disputes_changed'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgcredit._disputes_changed() IS
  'statement trigger on collection_dispute: invalidates the open disputes every backend keeps, so that the guard in every session follows the change once it commits';
REVOKE EXECUTE ON FUNCTION pgcredit._disputes_changed() FROM PUBLIC;
CREATE TRIGGER disputes_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgcredit.collection_dispute
  FOR EACH STATEMENT EXECUTE FUNCTION pgcredit._disputes_changed();

CREATE TABLE pgcredit.dispute_due (
  customer       text NOT NULL
                 CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  due            date NOT NULL,
  amount         numeric NOT NULL,
  items          integer NOT NULL,
  PRIMARY KEY (customer, due)
) WITH (fillfactor = 50);   -- room for the frequent updates to stay on their page
COMMENT ON TABLE pgcredit.dispute_due IS 'the disputed items among pgcredit.receivable_due, per customer and due date, kept current by pgcredit''s triggers and the dispute functions; the days_past_due and overdue_amount rules count receivable_due less these';
COMMENT ON COLUMN pgcredit.dispute_due.customer IS 'customer key as text';
COMMENT ON COLUMN pgcredit.dispute_due.due IS 'due date';
COMMENT ON COLUMN pgcredit.dispute_due.amount IS 'sum of the open amounts above 0 due that day of the items with an open dispute (the rows that count in exposure)';
COMMENT ON COLUMN pgcredit.dispute_due.items IS 'number of those items';
REVOKE ALL ON pgcredit.dispute_due FROM PUBLIC;
GRANT SELECT ON pgcredit.dispute_due TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.dispute_due', '');


----------------------------------------------------------------------
-- The items and their shares
----------------------------------------------------------------------

-- An item's key as the functions take it: a JSON object, each scalar
-- value as text ({"id": 7} names the item {"id": "7"})
CREATE FUNCTION pgcredit._dispute_key(item_key jsonb)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF item_key IS NULL THEN
    RAISE EXCEPTION 'item_key must not be null' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Name the item by its primary key, each column with its value: {"id": "7"}.';
  END IF;
  IF jsonb_typeof(item_key) <> 'object' OR item_key = '{}' THEN
    RAISE EXCEPTION 'item_key must be a JSON object naming the columns of the primary key'
      USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('item_key is %s.', item_key),
      HINT = 'Name the item by its primary key, each column with its value: {"id": "7"}.';
  END IF;
  RETURN (SELECT jsonb_object_agg(e.k, CASE WHEN jsonb_typeof(e.v) IN ('string', 'number', 'boolean')
                                             THEN to_jsonb(e.v #>> '{}') ELSE e.v END)
          FROM jsonb_each(item_key) AS e(k, v));
END
$$;
COMMENT ON FUNCTION pgcredit._dispute_key(jsonb) IS
  'an item''s key as given, checked and with each scalar value as text, as _attached_items_keyed() names items';
REVOKE EXECUTE ON FUNCTION pgcredit._dispute_key(jsonb) FROM PUBLIC;

-- The item now: one row of _attached_items_keyed(), or none
CREATE FUNCTION pgcredit._dispute_item(relid regclass, item_key jsonb)
RETURNS TABLE (customer text, amount numeric, counts boolean, due date, share boolean)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  -- share: the item is in its customer's buckets by due date (as
  -- _actual_receivable_due() counts them)
  SELECT i.customer, CASE WHEN i.counts THEN i.amount ELSE 0 END, i.counts, i.due,
         i.counts AND i.amount > 0 AND i.due IS NOT NULL
  FROM pgcredit.attachment a
  CROSS JOIN LATERAL pgcredit._attached_items_keyed('receivables', NULL, a.relid) i
  WHERE a.relid = $1 AND a.kind = 'receivables' AND i.item_key = $2
$$;
COMMENT ON FUNCTION pgcredit._dispute_item(regclass, jsonb) IS
  'an item of an attached receivables table as it stands: customer, open amount in the account''s currency (0 when not open), due date, and whether it is in the buckets by due date; no row when the table is not attached or has no such item';
REVOKE EXECUTE ON FUNCTION pgcredit._dispute_item(regclass, jsonb) FROM PUBLIC;

-- Add to a customer's bucket of disputed items (items +1 or -1); the
-- caller holds the customer's exposure row lock, as the guard does
CREATE FUNCTION pgcredit._dispute_share(customer text, due date, amount numeric, items int)
RETURNS void LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  INSERT INTO pgcredit.dispute_due AS d (customer, due, amount, items) VALUES ($1, $2, $3, $4)
  ON CONFLICT (customer, due) DO UPDATE SET amount = d.amount + EXCLUDED.amount, items = d.items + EXCLUDED.items;
  -- a bucket whose last item left goes
  DELETE FROM pgcredit.dispute_due d WHERE d.customer = $1 AND d.due = $2 AND d.items <= 0;
$$;
COMMENT ON FUNCTION pgcredit._dispute_share(text, date, numeric, int) IS
  'add an amount and a number of items to a customer''s bucket of disputed items of a due date, deleting it when no item is left';
REVOKE EXECUTE ON FUNCTION pgcredit._dispute_share(text, date, numeric, int) FROM PUBLIC;

-- The disputed items of attached tables with an open dispute, per
-- customer and due date, as dispute_due keeps them
CREATE FUNCTION pgcredit._actual_dispute_due(tbl regclass DEFAULT NULL)
RETURNS TABLE (customer text, due date, amount numeric, items integer)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  -- only the attached tables with an open dispute are read
  SELECT i.customer, i.due, sum(i.amount), count(*)::integer
  FROM pgcredit.attachment a
  CROSS JOIN LATERAL pgcredit._attached_items_keyed('receivables', NULL, a.relid) i
  WHERE a.kind = 'receivables' AND ($1 IS NULL OR a.relid = $1)
    AND a.relid IN (SELECT d.relid FROM pgcredit.collection_dispute d WHERE d.status = 'open')
    AND i.counts AND i.amount > 0 AND i.due IS NOT NULL
    AND (i.relid, i.item_key) IN (SELECT d.relid::oid, d.item_key FROM pgcredit.collection_dispute d
                                  WHERE d.status = 'open')
  GROUP BY i.customer, i.due
$$;
COMMENT ON FUNCTION pgcredit._actual_dispute_due(regclass) IS
  'the items with an open dispute per customer and due date recomputed from the attached receivables tables (of one table, or of all), as pgcredit.dispute_due keeps them';
REVOKE EXECUTE ON FUNCTION pgcredit._actual_dispute_due(regclass) FROM PUBLIC;

-- Attach (sign 1) and detach (sign -1) put a table's disputed items in
-- dispute_due or take them out, under the exposure row locks they took
CREATE FUNCTION pgcredit._dispute_shares(tbl regclass, sign int)
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF EXISTS (SELECT FROM pgcredit.collection_dispute d WHERE d.relid = tbl AND d.status = 'open') THEN
    PERFORM pgcredit._dispute_share(x.customer, x.due, sign * x.amount, sign * x.items)
    FROM pgcredit._actual_dispute_due(tbl) x;
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._dispute_shares(regclass, int) IS
  'for attach (1) and detach (-1): add or take out the shares of a table''s items with an open dispute in dispute_due';
REVOKE EXECUTE ON FUNCTION pgcredit._dispute_shares(regclass, int) FROM PUBLIC;

CREATE FUNCTION pgcredit.verify_dispute_due()
RETURNS TABLE (customer text, due date, stored_amount numeric, actual_amount numeric,
               stored_items integer, actual_items integer)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT coalesce(d.customer, a.customer), coalesce(d.due, a.due),
         coalesce(d.amount, 0), coalesce(a.amount, 0),
         coalesce(d.items, 0), coalesce(a.items, 0)
  FROM pgcredit.dispute_due d
  FULL JOIN pgcredit._actual_dispute_due() a ON a.customer = d.customer AND a.due = d.due
  WHERE coalesce(d.amount, 0) <> coalesce(a.amount, 0)
     OR coalesce(d.items, 0) <> coalesce(a.items, 0)
  ORDER BY 1, 2
$$;
COMMENT ON FUNCTION pgcredit.verify_dispute_due() IS
  'recompute the disputed items per customer and due date from the attached tables and list the buckets of dispute_due whose stored figures differ (none when all is well)';
REVOKE EXECUTE ON FUNCTION pgcredit.verify_dispute_due() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.verify_dispute_due() TO pgcredit_reader;

-- Called by rebuild_exposure() with the attached tables and the disputes
-- locked: repair dispute_due, and return the customers repaired
CREATE FUNCTION pgcredit._rebuild_dispute_due()
RETURNS text[] LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  fixed text[];
BEGIN
  WITH actual AS (SELECT * FROM pgcredit._actual_dispute_due()),
  diff AS (
    SELECT coalesce(x.customer, d.customer) AS customer, coalesce(x.due, d.due) AS due, x.amount, x.items
    FROM actual x FULL JOIN pgcredit.dispute_due d ON d.customer = x.customer AND d.due = x.due
    WHERE x.customer IS NULL OR d.customer IS NULL OR x.amount <> d.amount OR x.items <> d.items),
  gone AS (
    DELETE FROM pgcredit.dispute_due d USING diff x
    WHERE x.items IS NULL AND d.customer = x.customer AND d.due = x.due
    RETURNING d.customer),
  put AS (
    INSERT INTO pgcredit.dispute_due AS d (customer, due, amount, items)
    SELECT x.customer, x.due, x.amount, x.items FROM diff x WHERE x.items IS NOT NULL
    ON CONFLICT (customer, due) DO UPDATE SET amount = EXCLUDED.amount, items = EXCLUDED.items
    RETURNING d.customer)
  SELECT array_agg(f.customer) INTO fixed
  FROM (SELECT g.customer FROM gone g UNION ALL SELECT p.customer FROM put p) f;
  RETURN coalesce(fixed, '{}');
END
$$;
COMMENT ON FUNCTION pgcredit._rebuild_dispute_due() IS
  'for rebuild_exposure(): recompute dispute_due from the attached tables and repair it; returns the customers whose buckets were repaired';
REVOKE EXECUTE ON FUNCTION pgcredit._rebuild_dispute_due() FROM PUBLIC;


----------------------------------------------------------------------
-- Opening and closing disputes (pgcredit_controller)
----------------------------------------------------------------------

-- A day a dispute opens or closes: given, finite, not after today
CREATE FUNCTION pgcredit._check_dispute_day(what text, day date)
RETURNS void LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF day IS NULL THEN
    RAISE EXCEPTION '% must not be null', what USING ERRCODE = 'null_value_not_allowed';
  ELSIF NOT isfinite(day) THEN
    RAISE EXCEPTION '% must be a finite date', what USING ERRCODE = 'invalid_parameter_value';
  ELSIF day > pgcredit._horizon_today() THEN
    RAISE EXCEPTION '% must not be after today', what USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('%s is %s; today is %s.', what, day, pgcredit._horizon_today()),
      HINT = 'A dispute is recorded when it happens, or later with the day it happened.';
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_dispute_day(text, date) IS 'refuse a NULL or infinite day, or a day after today, for a dispute';
REVOKE EXECUTE ON FUNCTION pgcredit._check_dispute_day(text, date) FROM PUBLIC;

-- Lock the exposure rows of the customers given (made when missing), in
-- the order of their keys as the guard takes them, and read the item
-- again: it must still belong to one of them
CREATE FUNCTION pgcredit._dispute_lock(relid regclass, item_key jsonb, customers text[])
RETURNS TABLE (customer text, amount numeric, counts boolean, due date, share boolean)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  c text;
  i record;
BEGIN
  FOR c IN SELECT DISTINCT u.c FROM unnest(customers) AS u(c) WHERE u.c IS NOT NULL ORDER BY 1 LOOP
    PERFORM pgcredit._lock_exposure(c);
  END LOOP;
  -- a new statement: the item as the last change of its customer left it
  SELECT * INTO i FROM pgcredit._dispute_item(relid, item_key);
  IF FOUND AND i.customer <> ALL (array_remove(customers, NULL)) THEN
    RAISE EXCEPTION 'item % of table % moved to another customer meanwhile', item_key, relid
      USING ERRCODE = 'serialization_failure',
      DETAIL = format('It belongs to customer "%s" now.', i.customer),
      HINT = 'Try again.';
  END IF;
  IF FOUND THEN
    customer := i.customer;
    amount := i.amount;
    counts := i.counts;
    due := i.due;
    share := i.share;
    RETURN NEXT;
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._dispute_lock(regclass, jsonb, text[]) IS
  'lock the exposure rows of the customers in key order and read the item again under the locks (no row when it is gone); 40001 when it moved to another customer meanwhile';
REVOKE EXECUTE ON FUNCTION pgcredit._dispute_lock(regclass, jsonb, text[]) FROM PUBLIC;

CREATE FUNCTION pgcredit.open_dispute(tbl regclass, item_key jsonb, reason text,
                                      opened_on date DEFAULT pgcredit._horizon_today())
RETURNS pgcredit.collection_dispute LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  key jsonb;
  att pgcredit.attachment;
  seen record;
  item record;
  other pgcredit.collection_dispute;
  d pgcredit.collection_dispute;
  badcol name;
  badtype text;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF tbl IS NULL THEN
    RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  key := pgcredit._dispute_key(item_key);
  PERFORM pgcredit._check_dispute_day('opened_on', opened_on);
  -- disputes take turns with attach, detach and rebuild_exposure, which
  -- lock the table in SHARE mode first; then the attachment stays
  LOCK TABLE pgcredit.collection_dispute IN ROW EXCLUSIVE MODE;
  SELECT * INTO att FROM pgcredit.attachment a WHERE a.relid = tbl FOR SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'table "%" is not attached', tbl USING ERRCODE = 'undefined_object',
      HINT = 'Only the items of a table attached with pgcredit.attach_receivables() can be disputed.';
  ELSIF att.kind <> 'receivables' THEN
    RAISE EXCEPTION 'table "%" is attached as an order table', tbl USING ERRCODE = 'wrong_object_type',
      HINT = 'Only the items of a table attached with pgcredit.attach_receivables() can be disputed.';
  END IF;
  -- a table without a primary key cannot name its items (nor one of more
  -- than eight columns, which _attached_items_keyed() does not name)
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid = tbl AND i.indisprimary AND i.indnkeyatts <= 8)
  THEN
    RAISE EXCEPTION 'table "%" has no primary key to name its items', tbl
      USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = 'A dispute names its item by the primary key of its table (of at most eight columns).',
      HINT = 'Give the table a primary key, detach it and attach it again.';
  END IF;
  -- the guard finds the item by the text of its key, in every session:
  -- a key column whose text depends on the session's settings (a date
  -- on DateStyle, a timestamp on TimeZone) would not be found again
  SELECT a.attname, a.atttypid::regtype::text INTO badcol, badtype
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[])
  WHERE i.indrelid = tbl AND i.indisprimary
    AND a.atttypid NOT IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype,
                           'text'::regtype, 'varchar'::regtype, 'bpchar'::regtype, 'uuid'::regtype,
                           'bool'::regtype)
  ORDER BY a.attnum LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'the primary key of table "%" cannot name a disputed item', tbl
      USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = format('Its column %I is of type %s, whose text depends on the session''s settings (DateStyle, TimeZone).',
                      badcol, badtype),
      HINT = 'Disputes name the items of tables whose primary key columns are integers, numerics, text, uuids or booleans.';
  END IF;

  SELECT * INTO seen FROM pgcredit._dispute_item(tbl, key);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'table "%" has no item %', tbl, key USING ERRCODE = 'PC021',
      HINT = 'Name the item by its primary key, each column with its value as text: {"id": "7"}.';
  END IF;
  -- under the customer's lock, the item as the last payment left it
  SELECT * INTO item FROM pgcredit._dispute_lock(tbl, key, ARRAY[seen.customer]);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'table "%" has no item %', tbl, key USING ERRCODE = 'PC021',
      DETAIL = 'It was deleted meanwhile.';
  END IF;
  SELECT * INTO other FROM pgcredit.collection_dispute x
  WHERE x.relid = tbl AND x.item_key = key AND x.status = 'open';
  IF FOUND THEN
    RAISE EXCEPTION 'item % of table "%" is disputed already', key, tbl USING ERRCODE = 'duplicate_object',
      DETAIL = format('Dispute %s is open since %s: %s.', other.id, other.opened_on, other.reason),
      HINT = 'Resolve or write off that dispute first.';
  END IF;

  INSERT INTO pgcredit.collection_dispute (relid, item_key, customer, amount, due, reason, opened_on, opened_by)
  VALUES (tbl, key, item.customer, item.amount, item.due, open_dispute.reason, open_dispute.opened_on,
          pgcredit._actor())
  RETURNING * INTO d;
  -- its share leaves the past-due rules: into the disputed buckets
  IF item.share THEN
    PERFORM pgcredit._dispute_share(item.customer, item.due, item.amount, 1);
  END IF;
  PERFORM pgcredit._audit('open_dispute', d.customer, NULL,
    jsonb_build_object('dispute', d.id, 'table', d.relid::text, 'item_key', d.item_key, 'amount', d.amount,
                       'due', d.due, 'opened_on', d.opened_on),
    reason);
  RETURN d;
END
$$;
COMMENT ON FUNCTION pgcredit.open_dispute(regclass, jsonb, text, date) IS
  'dispute an item of an attached receivables table, named by its primary key ({"id": "7"}), from a day (default today): it leaves dunning and the days_past_due and overdue_amount rules until the dispute is resolved or written off; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.open_dispute(regclass, jsonb, text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.open_dispute(regclass, jsonb, text, date) TO pgcredit_controller;

CREATE FUNCTION pgcredit._close_dispute(id bigint, status text, note text, closed_on date)
RETURNS pgcredit.collection_dispute LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  d pgcredit.collection_dispute;
  w record;
  seen record;
  item record;
BEGIN
  PERFORM pgcredit._check_reason(note);
  IF id IS NULL THEN
    RAISE EXCEPTION 'dispute id must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM pgcredit._check_dispute_day('closed_on', closed_on);
  -- its table first (it never changes), to lock in the order open_dispute does
  SELECT * INTO d FROM pgcredit.collection_dispute x WHERE x.id = _close_dispute.id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'dispute % does not exist', id USING ERRCODE = 'PC021',
      HINT = 'pgcredit.disputes lists the disputes.';
  END IF;
  LOCK TABLE pgcredit.collection_dispute IN ROW EXCLUSIVE MODE;
  PERFORM FROM pgcredit.attachment a WHERE a.relid = d.relid FOR SHARE;
  SELECT * INTO d FROM pgcredit.collection_dispute x WHERE x.id = _close_dispute.id FOR UPDATE;
  IF d.status <> 'open' THEN
    RAISE EXCEPTION 'dispute % is closed already', id USING ERRCODE = 'PC022',
      DETAIL = format('%s closed it as %s on %s: %s.', d.closed_by, d.status, d.closed_on, d.note);
  END IF;
  IF closed_on < d.opened_on THEN
    RAISE EXCEPTION 'closed_on must not be before the day the dispute opened' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('Dispute %s opened on %s; closed_on is %s.', id, d.opened_on, closed_on);
  END IF;
  -- the item now (none when it is gone or its table detached), under the
  -- locks of its customer and of the dispute's: an item being inserted
  -- again under its key for the dispute's customer is waited for.  (One
  -- being inserted for another customer, unseen, is not: should its
  -- transaction commit after this one, verify_dispute_due() shows its
  -- share left in dispute_due and rebuild_exposure() repairs it.)
  SELECT * INTO seen FROM pgcredit._dispute_item(d.relid, d.item_key);
  SELECT * INTO item FROM pgcredit._dispute_lock(d.relid, d.item_key, ARRAY[d.customer, seen.customer]);
  -- its share comes back to the past-due rules
  IF item.share THEN
    PERFORM pgcredit._dispute_share(item.customer, item.due, -item.amount, -1);
  END IF;
  UPDATE pgcredit.collection_dispute x SET status = _close_dispute.status, closed_on = _close_dispute.closed_on,
    closed_at = now(), closed_by = pgcredit._actor(), closed_amount = item.amount, note = _close_dispute.note
  WHERE x.id = _close_dispute.id
  RETURNING * INTO d;
  PERFORM pgcredit._audit(CASE status WHEN 'resolved' THEN 'resolve_dispute' ELSE 'write_off_dispute' END,
    d.customer, jsonb_build_object('dispute', d.id, 'status', 'open'),
    jsonb_build_object('dispute', d.id, 'status', d.status, 'closed_on', d.closed_on, 'open_amount', d.closed_amount),
    note);
  -- what a dispute written off leaves open is a loss (losses.sql): its
  -- customer's item as it stands, in the account's currency
  IF d.status = 'written_off' AND d.closed_amount > 0 THEN
    INSERT INTO pgcredit.write_off (customer, amount, written_off_on, reason, dispute_id, recorded_by)
    VALUES (d.customer, d.closed_amount, d.closed_on, note, d.id, pgcredit._actor())
    RETURNING * INTO w;
    PERFORM pgcredit._audit('write_off', w.customer, NULL, to_jsonb(w), note);
  END IF;
  RETURN d;
END
$$;
COMMENT ON FUNCTION pgcredit._close_dispute(bigint, text, text, date) IS
  'close an open dispute as resolved or written off on a day, bringing its item back to dunning and the past-due rules; audited';
REVOKE EXECUTE ON FUNCTION pgcredit._close_dispute(bigint, text, text, date) FROM PUBLIC;

CREATE FUNCTION pgcredit.resolve_dispute(id bigint, note text, closed_on date DEFAULT pgcredit._horizon_today())
RETURNS pgcredit.collection_dispute LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit._close_dispute($1, 'resolved', $2, $3) $$;
COMMENT ON FUNCTION pgcredit.resolve_dispute(bigint, text, date) IS
  'end a dispute on a day (default today): the item is due again, dunning and the past-due rules follow it from that day; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.resolve_dispute(bigint, text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.resolve_dispute(bigint, text, date) TO pgcredit_controller;

CREATE FUNCTION pgcredit.write_off_dispute(id bigint, note text, closed_on date DEFAULT pgcredit._horizon_today())
RETURNS pgcredit.collection_dispute LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit._close_dispute($1, 'written_off', $2, $3) $$;
COMMENT ON FUNCTION pgcredit.write_off_dispute(bigint, text, date) IS
  'end a dispute on a day (default today) by writing the item off: the dispute keeps the open amount given up; the ledger takes the item out (a credit note), else dunning and the past-due rules follow it again; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.write_off_dispute(bigint, text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.write_off_dispute(bigint, text, date) TO pgcredit_controller;


----------------------------------------------------------------------
-- Disputes on a day, for dunning, collection_status and the score
----------------------------------------------------------------------

-- The receivable items open on a day with a dispute open on it
CREATE FUNCTION pgcredit._disputed_items_at(as_of date)
RETURNS TABLE (customer text, relid oid, item_key jsonb, due date, amount numeric)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  -- no dispute open on the day: no table to read
  IF NOT EXISTS (SELECT FROM pgcredit.collection_dispute d
                 WHERE d.opened_on <= as_of AND (d.closed_on IS NULL OR d.closed_on > as_of)) THEN
    RETURN;
  END IF;
  RETURN QUERY
  SELECT i.customer, i.relid, i.item_key, i.due, i.amount FROM pgcredit._open_items_at(as_of) i
  WHERE (i.relid, i.item_key) IN (SELECT d.relid::oid, d.item_key FROM pgcredit.collection_dispute d
                                  WHERE d.opened_on <= _disputed_items_at.as_of
                                    AND (d.closed_on IS NULL OR d.closed_on > _disputed_items_at.as_of));
END
$$;
COMMENT ON FUNCTION pgcredit._disputed_items_at(date) IS
  'the receivable items open on a day (_open_items_at) whose dispute is open on it: opened on or before the day, not closed by then';
REVOKE EXECUTE ON FUNCTION pgcredit._disputed_items_at(date) FROM PUBLIC;

-- The query of _receivable_items_sql() with one more column, disputed:
-- whether the item's dispute is open on the day $1.  receivable_stats()
-- reads it when risk_settings.disputed_in_score is false.
CREATE FUNCTION pgcredit._receivable_items_disputed_sql(one_customer boolean DEFAULT false)
RETURNS text LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT 'SELECT i.customer, '
         'CASE WHEN i.paid_on <= $1 THEN NULL WHEN i.paid_on > $1 THEN i.invoice_amount '
         '     WHEN i.counts THEN i.amount END AS open_amount, '
         'i.due, i.invoice_amount, i.invoiced_on, i.paid_on, '
         '(i.relid, i.item_key) IN (SELECT d.relid::oid, d.item_key FROM pgcredit.collection_dispute d '
         '                          WHERE d.opened_on <= $1 AND (d.closed_on IS NULL OR d.closed_on > $1)) '
         '  AS disputed '
         'FROM pgcredit._attached_items_keyed(''receivables''' || CASE WHEN $1 THEN ', $2' ELSE '' END || ') i '
         'WHERE i.invoiced_on IS NULL OR i.invoiced_on <= $1'
$$;
COMMENT ON FUNCTION pgcredit._receivable_items_disputed_sql(boolean) IS
  'the query of _receivable_items_sql(one_customer) with a column disputed: whether the item''s dispute is open on the day $1';
REVOKE EXECUTE ON FUNCTION pgcredit._receivable_items_disputed_sql(boolean) FROM PUBLIC;


----------------------------------------------------------------------
-- What a collector reads
----------------------------------------------------------------------

CREATE VIEW pgcredit.receivables_by_dispute AS
  WITH today AS (SELECT pgcredit._horizon_today() AS day),
  -- (the workers' on the coordinator of a Citus cluster with distributed
  -- tables attached, doc/citus.md; chosen once a query)
  clean AS (
    SELECT r.customer, sum(r.items)::int AS items, sum(r.amount) AS amount,
           coalesce(sum(r.amount) FILTER (WHERE r.due < t.day), 0) AS past_due
    FROM pgcredit.receivable_due r CROSS JOIN today t
    WHERE cardinality(pgcredit._citus_shells()) = 0
    GROUP BY r.customer
    UNION ALL
    SELECT w.customer, w.items, w.amount, w.past_due
    FROM today t CROSS JOIN LATERAL pgcredit._citus_receivable_due(t.day) w
    WHERE cardinality(pgcredit._citus_shells()) > 0),
  disputed AS (
    SELECT x.customer, sum(x.items)::int AS items, sum(x.amount) AS amount,
           coalesce(sum(x.amount) FILTER (WHERE x.due < t.day), 0) AS past_due
    FROM pgcredit.dispute_due x CROSS JOIN today t GROUP BY x.customer)
  SELECT coalesce(c.customer, d.customer) AS customer,
         coalesce(c.items, 0) - coalesce(d.items, 0) AS clean_items,
         coalesce(c.amount, 0) - coalesce(d.amount, 0) AS clean,
         coalesce(c.past_due, 0) - coalesce(d.past_due, 0) AS clean_past_due,
         coalesce(d.items, 0) AS disputed_items,
         coalesce(d.amount, 0) AS disputed,
         coalesce(d.past_due, 0) AS disputed_past_due,
         t.day
  FROM clean c FULL JOIN disputed d ON d.customer = c.customer
  CROSS JOIN today t;
COMMENT ON VIEW pgcredit.receivables_by_dispute IS
  'per customer, its open receivables with a due date (pgcredit.receivable_due, as the credit rules read them) apart: the clean ones and what of them is past due today, and the disputed ones (pgcredit.dispute_due)';
COMMENT ON COLUMN pgcredit.receivables_by_dispute.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.receivables_by_dispute.clean_items IS 'open items without an open dispute';
COMMENT ON COLUMN pgcredit.receivables_by_dispute.clean IS 'their open amount';
COMMENT ON COLUMN pgcredit.receivables_by_dispute.clean_past_due IS 'of it, due before today: what the past-due rules count';
COMMENT ON COLUMN pgcredit.receivables_by_dispute.disputed_items IS 'open items with an open dispute';
COMMENT ON COLUMN pgcredit.receivables_by_dispute.disputed IS 'their open amount';
COMMENT ON COLUMN pgcredit.receivables_by_dispute.disputed_past_due IS 'of it, due before today';
COMMENT ON COLUMN pgcredit.receivables_by_dispute.day IS 'the book''s today (pgcredit._horizon_today()), which past due is measured from';
REVOKE ALL ON pgcredit.receivables_by_dispute FROM PUBLIC;
GRANT SELECT ON pgcredit.receivables_by_dispute TO pgcredit_reader;

-- Each disputed item as it stands, read from its table (the tables of
-- the disputes only)
CREATE FUNCTION pgcredit._dispute_items()
RETURNS TABLE (id bigint, customer text, due date, open_amount numeric)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT d.id, i.customer, i.due, CASE WHEN i.counts THEN i.amount ELSE 0 END
  FROM pgcredit.attachment a
  CROSS JOIN LATERAL pgcredit._attached_items_keyed('receivables', NULL, a.relid) i
  JOIN pgcredit.collection_dispute d ON d.relid::oid = i.relid AND d.item_key = i.item_key
  WHERE a.kind = 'receivables' AND a.relid IN (SELECT x.relid FROM pgcredit.collection_dispute x)
$$;
COMMENT ON FUNCTION pgcredit._dispute_items() IS
  'each disputed item as it stands now: its customer, due date and open amount (0 when not open), for the view disputes';
REVOKE EXECUTE ON FUNCTION pgcredit._dispute_items() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._dispute_items() TO pgcredit_reader;

CREATE VIEW pgcredit.disputes AS
  SELECT d.id, d.relid, d.item_key, d.customer, d.due, d.amount, i.open_amount, d.status,
         coalesce(d.closed_on, pgcredit._horizon_today()) - d.opened_on AS days_open,
         d.reason, d.opened_on, d.opened_by::text AS opened_by, d.closed_on, d.closed_by::text AS closed_by,
         d.closed_amount, d.note, i.customer AS customer_now, i.due AS due_now, d.opened_at, d.closed_at,
         pgcredit._horizon_today() AS day, pgcredit._qualified_name(d.relid) AS relid_text,
         d.item_key::text AS item_key_text
  FROM pgcredit.collection_dispute d
  LEFT JOIN pgcredit._dispute_items() i ON i.id = d.id;
COMMENT ON VIEW pgcredit.disputes IS
  'every dispute with its life and its item as it stands now (read from the tables that have disputes)';
COMMENT ON COLUMN pgcredit.disputes.id IS 'dispute number';
COMMENT ON COLUMN pgcredit.disputes.relid IS 'the item''s table';
COMMENT ON COLUMN pgcredit.disputes.item_key IS 'the item''s primary key';
COMMENT ON COLUMN pgcredit.disputes.customer IS 'the item''s customer when the dispute opened';
COMMENT ON COLUMN pgcredit.disputes.due IS 'its due date then';
COMMENT ON COLUMN pgcredit.disputes.amount IS 'its open amount then';
COMMENT ON COLUMN pgcredit.disputes.open_amount IS 'its open amount now (0: paid or closed; NULL: the item is gone or its table detached)';
COMMENT ON COLUMN pgcredit.disputes.status IS 'open, resolved or written_off';
COMMENT ON COLUMN pgcredit.disputes.days_open IS 'days from opened_on to closed_on, or to today while open';
COMMENT ON COLUMN pgcredit.disputes.reason IS 'why the customer disputes it';
COMMENT ON COLUMN pgcredit.disputes.opened_on IS 'the first day it is disputed';
COMMENT ON COLUMN pgcredit.disputes.opened_by IS 'who recorded it';
COMMENT ON COLUMN pgcredit.disputes.closed_on IS 'the day it ended';
COMMENT ON COLUMN pgcredit.disputes.closed_by IS 'who closed it';
COMMENT ON COLUMN pgcredit.disputes.closed_amount IS 'the item''s open amount when it was closed';
COMMENT ON COLUMN pgcredit.disputes.note IS 'how it ended';
COMMENT ON COLUMN pgcredit.disputes.customer_now IS 'the item''s customer now';
COMMENT ON COLUMN pgcredit.disputes.due_now IS 'its due date now';
COMMENT ON COLUMN pgcredit.disputes.opened_at IS 'when it was recorded';
COMMENT ON COLUMN pgcredit.disputes.closed_at IS 'when it was closed';
COMMENT ON COLUMN pgcredit.disputes.day IS 'the book''s today (pgcredit._horizon_today()), which days_open counts to for an open dispute';
COMMENT ON COLUMN pgcredit.disputes.relid_text IS 'relid as text, always schema.table';
COMMENT ON COLUMN pgcredit.disputes.item_key_text IS 'item_key as text';
REVOKE ALL ON pgcredit.disputes FROM PUBLIC;
GRANT SELECT ON pgcredit.disputes TO pgcredit_reader;
-- <<< collections_disputes

-- >>> collections_worklist: as in sql/install/collections_worklist.sql
-- Collections: the collectors' worklist, and who works which customer

----------------------------------------------------------------------
-- The worklist a collector opens in the morning: the customers with
-- something past due, most important first (overdue weighted by risk
-- and age, and by the promises to pay the customer broke), with what
-- dunning did and will do, and who works them.
-- pgcredit_collector reads it and nothing else; when the company wants
-- it (settings.worklist_by_assignment), a collector sees only the
-- customers assigned to a role it is a member of.
----------------------------------------------------------------------

CREATE TABLE pgcredit.collector_assignment (
  customer     text PRIMARY KEY CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  collector    name NOT NULL,
  reason       text NOT NULL,
  assigned_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX collector_assignment_collector ON pgcredit.collector_assignment (collector);
COMMENT ON INDEX pgcredit.collector_assignment_collector IS 'the customers of a collector';
COMMENT ON TABLE pgcredit.collector_assignment IS 'the collector who works each customer: a role (a person''s login, or a group of collectors); changed with assign_collector, audited';
COMMENT ON COLUMN pgcredit.collector_assignment.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.collector_assignment.collector IS 'the role that works the customer; its members see it in their worklist';
COMMENT ON COLUMN pgcredit.collector_assignment.reason IS 'why';
COMMENT ON COLUMN pgcredit.collector_assignment.assigned_at IS 'when';
REVOKE ALL ON pgcredit.collector_assignment FROM PUBLIC;
GRANT SELECT ON pgcredit.collector_assignment TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.collector_assignment', '');

CREATE FUNCTION pgcredit.assign_collector(customer text, collector name, reason text)
RETURNS pgcredit.collector_assignment LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.collector_assignment;
  after pgcredit.collector_assignment;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF customer IS NULL THEN
    RAISE EXCEPTION 'customer must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF octet_length(customer) > 1000 THEN
    RAISE EXCEPTION 'customer key is too long' USING ERRCODE = 'string_data_right_truncation',
      DETAIL = 'Customer keys are at most 1000 bytes.';
  END IF;
  SELECT * INTO before FROM pgcredit.collector_assignment c WHERE c.customer = assign_collector.customer FOR UPDATE;
  IF collector IS NULL THEN
    DELETE FROM pgcredit.collector_assignment c WHERE c.customer = assign_collector.customer;
  ELSE
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname = collector) THEN
      RAISE EXCEPTION 'role "%" does not exist', collector USING ERRCODE = 'undefined_object',
        HINT = 'A collector is a role: a person''s login or a group role of collectors.';
    END IF;
    INSERT INTO pgcredit.collector_assignment AS c (customer, collector, reason)
    VALUES (assign_collector.customer, assign_collector.collector, assign_collector.reason)
    ON CONFLICT ON CONSTRAINT collector_assignment_pkey DO UPDATE SET collector = EXCLUDED.collector,
      reason = EXCLUDED.reason, assigned_at = now()
    RETURNING * INTO after;
  END IF;
  PERFORM pgcredit._audit('assign_collector', customer,
    CASE WHEN before.customer IS NOT NULL THEN jsonb_build_object('collector', before.collector) END,
    CASE WHEN after.customer IS NOT NULL THEN jsonb_build_object('collector', after.collector) END,
    reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.assign_collector(text, name, text) IS
  'give a customer its collector, a role (NULL: none), audited';
REVOKE EXECUTE ON FUNCTION pgcredit.assign_collector(text, name, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.assign_collector(text, name, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.set_worklist_by_assignment(enabled boolean, reason text)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before boolean;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF enabled IS NULL THEN
    RAISE EXCEPTION 'enabled must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT s.worklist_by_assignment INTO before FROM pgcredit.settings s FOR UPDATE;
  INSERT INTO pgcredit.settings AS s (worklist_by_assignment) VALUES (enabled)
  ON CONFLICT (only_row) DO UPDATE SET worklist_by_assignment = EXCLUDED.worklist_by_assignment;
  PERFORM pgcredit._audit('set_worklist_by_assignment', NULL,
    jsonb_build_object('worklist_by_assignment', coalesce(before, false)),
    jsonb_build_object('worklist_by_assignment', enabled), reason);
END
$$;
COMMENT ON FUNCTION pgcredit.set_worklist_by_assignment(boolean, text) IS
  'whether a collector (a member of pgcredit_collector and not of pgcredit_reader) sees in the worklist only the customers assigned to a role it is a member of; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_worklist_by_assignment(boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_worklist_by_assignment(boolean, text) TO pgcredit_admin;


-- The weight of a risk tier in the worklist's order
CREATE FUNCTION pgcredit._tier_weight(tier text)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT CASE $1 WHEN 'A' THEN 1.0 WHEN 'B' THEN 1.25 WHEN 'C' THEN 1.5 WHEN 'D' THEN 2.0 WHEN 'E' THEN 3.0
                 ELSE 1.5 END
$$;
COMMENT ON FUNCTION pgcredit._tier_weight(text) IS
  'the weight of a risk tier in the worklist: A 1, B 1.25, C 1.5, D 2, E 3; no tier 1.5 (as C)';
REVOKE EXECUTE ON FUNCTION pgcredit._tier_weight(text) FROM PUBLIC;

CREATE FUNCTION pgcredit.collection_worklist_at(as_of date)
RETURNS TABLE (day date, customer text, collector text, priority numeric, overdue numeric,
               oldest_days_past_due int, risk_tier text, combined_score numeric, tier_weight numeric,
               age_weight numeric, broken_promises int, partly_kept_promises int, promise_weight numeric,
               account_status text, level int, action_today text,
               channel_today text, last_action_on date, next_level int, next_action_on date)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER ROWS 1000
SET jit = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  me name := pgcredit._actor();
  -- a collector sees its own customers when the company wants it;
  -- pgcredit_reader and the roles above it see every customer
  mine_only boolean := coalesce((SELECT s.worklist_by_assignment FROM pgcredit.settings s), false)
                       AND NOT pg_catalog.pg_has_role(me, 'pgcredit_reader', 'USAGE');
BEGIN
  PERFORM pgcredit._check_day(collection_worklist_at.as_of);
  RETURN QUERY
  WITH st AS (
    SELECT * FROM pgcredit.collection_status_at(collection_worklist_at.as_of) c
    WHERE c.overdue > 0),
  w AS (
    SELECT st.customer, ca.collector, st.overdue, st.oldest_days_past_due,
           coalesce(sh.tier, ac.risk_tier) AS tier, sh.combined_score,
           pgcredit._tier_weight(coalesce(sh.tier, ac.risk_tier)) AS tw,
           round(1 + least(st.oldest_days_past_due, 180) / 30.0, 4) AS aw,
           coalesce(bp.broken, 0) AS broken, coalesce(bp.partly_kept, 0) AS partly,
           1 + 0.5 * coalesce(bp.broken, 0) + 0.25 * coalesce(bp.partly_kept, 0) AS pw,
           ac.status, st.level, act.template, act.channel, st.last_action_on, st.next_level, st.next_action_on
    FROM st
    LEFT JOIN pgcredit.collector_assignment ca ON ca.customer = st.customer
    LEFT JOIN pgcredit.account ac ON ac.customer = st.customer
    LEFT JOIN pgcredit.collection_action act ON act.customer = st.customer
                                            AND act.as_of = collection_worklist_at.as_of
    LEFT JOIN pgcredit.broken_promises_at(collection_worklist_at.as_of) bp ON bp.customer = st.customer
    LEFT JOIN LATERAL (
      SELECT h.tier, h.combined_score FROM pgcredit.score_history h
      WHERE h.customer = st.customer AND h.as_of <= collection_worklist_at.as_of
      ORDER BY h.as_of DESC LIMIT 1) sh ON true
    WHERE NOT mine_only
       OR ca.collector IS NOT NULL AND pg_catalog.pg_has_role(me, ca.collector, 'MEMBER'))
  SELECT collection_worklist_at.as_of, w.customer, w.collector::text, round(w.overdue * w.tw * w.aw * w.pw, 2),
         w.overdue, w.oldest_days_past_due, w.tier, w.combined_score, w.tw, w.aw, w.broken, w.partly,
         w.pw, w.status, w.level, w.template, w.channel, w.last_action_on, w.next_level, w.next_action_on
  FROM w
  ORDER BY round(w.overdue * w.tw * w.aw * w.pw, 2) DESC, w.customer COLLATE "C";
END
$$;
COMMENT ON FUNCTION pgcredit.collection_worklist_at(date) IS
  'the rows of collection_worklist as of any day';
REVOKE EXECUTE ON FUNCTION pgcredit.collection_worklist_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.collection_worklist_at(date) TO pgcredit_reader, pgcredit_collector;

CREATE VIEW pgcredit.collection_worklist AS
  SELECT * FROM pgcredit.collection_worklist_at(pgcredit.as_of());
COMMENT ON VIEW pgcredit.collection_worklist IS
  'the collectors'' worklist on the day pgcredit.as_of(): every customer with receivables past due that dunning follows, most important first: priority = overdue x tier weight x age weight x promise weight, with the figures behind it, today''s action, the next, and the collector; a collector sees only its own customers when settings.worklist_by_assignment is on';
COMMENT ON COLUMN pgcredit.collection_worklist.day IS 'the day described';
COMMENT ON COLUMN pgcredit.collection_worklist.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.collection_worklist.collector IS 'the role that works the customer (collector_assignment); NULL = none';
COMMENT ON COLUMN pgcredit.collection_worklist.priority IS 'overdue x tier_weight x age_weight x promise_weight, rounded to cents: the order of the list, highest first';
COMMENT ON COLUMN pgcredit.collection_worklist.overdue IS 'receivables past due that dunning follows';
COMMENT ON COLUMN pgcredit.collection_worklist.oldest_days_past_due IS 'days past due of the oldest of them';
COMMENT ON COLUMN pgcredit.collection_worklist.risk_tier IS 'the tier of the latest scoring on or before the day, else the account''s';
COMMENT ON COLUMN pgcredit.collection_worklist.combined_score IS 'the combined score of that scoring';
COMMENT ON COLUMN pgcredit.collection_worklist.tier_weight IS 'A 1, B 1.25, C 1.5, D 2, E 3, no tier 1.5';
COMMENT ON COLUMN pgcredit.collection_worklist.age_weight IS '1 + days past due of the oldest item / 30, the days counted up to 180 (at most 7)';
COMMENT ON COLUMN pgcredit.collection_worklist.broken_promises IS 'promises to pay broken whose day fell in the 365 days before the day';
COMMENT ON COLUMN pgcredit.collection_worklist.partly_kept_promises IS 'promises to pay partly kept in those days';
COMMENT ON COLUMN pgcredit.collection_worklist.promise_weight IS '1 + 0.5 for each broken promise + 0.25 for each partly kept one';
COMMENT ON COLUMN pgcredit.collection_worklist.account_status IS 'the account''s status now; NULL = no account';
COMMENT ON COLUMN pgcredit.collection_worklist.level IS 'the highest dunning level an open item has been sent';
COMMENT ON COLUMN pgcredit.collection_worklist.action_today IS 'the template of the dunning action written for the day, if any';
COMMENT ON COLUMN pgcredit.collection_worklist.channel_today IS 'its channel';
COMMENT ON COLUMN pgcredit.collection_worklist.last_action_on IS 'the day of the last dunning action';
COMMENT ON COLUMN pgcredit.collection_worklist.next_level IS 'the next dunning level due';
COMMENT ON COLUMN pgcredit.collection_worklist.next_action_on IS 'the day it is due';
REVOKE ALL ON pgcredit.collection_worklist FROM PUBLIC;
GRANT SELECT ON pgcredit.collection_worklist TO pgcredit_reader, pgcredit_collector;
-- <<< collections_worklist

-- >>> collections_terms: as in sql/install/collections_terms.sql
-- Collections: early-payment terms and their economics; late fees and interest

----------------------------------------------------------------------
-- Early-payment terms (pgcredit_admin defines them and the default,
-- pgcredit_controller gives a customer its own)
--
-- Terms such as 2/10 net 30 are data: a discount of discount_pct per
-- cent for an invoice paid within discount_days of its invoice date, the
-- whole amount due net_days after it.  The terms of an invoice are the
-- customer's terms in force on its invoice date, else the default in
-- force on that day: changing a customer's terms does not change the
-- terms of the invoices it has had.  pgcredit reads the invoice date and
-- the payment date of each item; a table attached without an invoice
-- date column has no discount window and is left out.
----------------------------------------------------------------------

CREATE TABLE pgcredit.payment_terms (
  name           text PRIMARY KEY
                 CONSTRAINT payment_terms_name CHECK (btrim(name) <> '' AND octet_length(name) <= 200),
  discount_pct   numeric NOT NULL CHECK (discount_pct >= 0 AND discount_pct < 100),
  discount_days  int NOT NULL CHECK (discount_days >= 0),
  net_days       int NOT NULL CHECK (net_days BETWEEN 0 AND 3660),
  description    text,
  created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT payment_terms_windows CHECK (discount_days <= net_days)
);
COMMENT ON TABLE pgcredit.payment_terms IS 'payment terms such as 2/10 net 30: a discount for paying early and the days to pay net; never changed once created, created and dropped through pgcredit''s functions, audited';
COMMENT ON COLUMN pgcredit.payment_terms.name IS 'the terms'' name, e.g. 2/10 net 30';
COMMENT ON COLUMN pgcredit.payment_terms.discount_pct IS 'the discount, per cent of the invoice amount, for paying within discount_days (0: no discount)';
COMMENT ON COLUMN pgcredit.payment_terms.discount_days IS 'days after the invoice date the discount may be taken, that day included';
COMMENT ON COLUMN pgcredit.payment_terms.net_days IS 'days after the invoice date the whole amount is due';
COMMENT ON COLUMN pgcredit.payment_terms.description IS 'what the terms are for';
COMMENT ON COLUMN pgcredit.payment_terms.created_at IS 'when they were created';
REVOKE ALL ON pgcredit.payment_terms FROM PUBLIC;
GRANT SELECT ON pgcredit.payment_terms TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.payment_terms', '');

CREATE TABLE pgcredit.default_terms (
  valid_from  date PRIMARY KEY CHECK (valid_from > '-infinity' AND valid_from < 'infinity'),
  terms       text REFERENCES pgcredit.payment_terms,
  reason      text NOT NULL,
  set_at      timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE pgcredit.default_terms IS 'the default payment terms, from a day on: the terms of an invoice of a customer without terms of its own are those in force on its invoice date';
COMMENT ON COLUMN pgcredit.default_terms.valid_from IS 'the first invoice date they apply to';
COMMENT ON COLUMN pgcredit.default_terms.terms IS 'the terms; NULL = no default terms from that day';
COMMENT ON COLUMN pgcredit.default_terms.reason IS 'why';
COMMENT ON COLUMN pgcredit.default_terms.set_at IS 'when it was set';
REVOKE ALL ON pgcredit.default_terms FROM PUBLIC;
GRANT SELECT ON pgcredit.default_terms TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.default_terms', '');

CREATE TABLE pgcredit.customer_terms (
  customer    text NOT NULL CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  valid_from  date NOT NULL CHECK (valid_from > '-infinity' AND valid_from < 'infinity'),
  terms       text REFERENCES pgcredit.payment_terms,
  reason      text NOT NULL,
  set_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (customer, valid_from)
);
COMMENT ON TABLE pgcredit.customer_terms IS 'each customer''s own payment terms, from a day on: an invoice has the terms in force on its invoice date';
COMMENT ON COLUMN pgcredit.customer_terms.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.customer_terms.valid_from IS 'the first invoice date they apply to';
COMMENT ON COLUMN pgcredit.customer_terms.terms IS 'the terms; NULL = the default terms from that day';
COMMENT ON COLUMN pgcredit.customer_terms.reason IS 'why';
COMMENT ON COLUMN pgcredit.customer_terms.set_at IS 'when it was set';
REVOKE ALL ON pgcredit.customer_terms FROM PUBLIC;
GRANT SELECT ON pgcredit.customer_terms TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.customer_terms', '');

CREATE TABLE pgcredit.discount_settings (
  only_row             boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  cost_of_capital_pct  numeric CHECK (cost_of_capital_pct >= 0 AND cost_of_capital_pct < 'Infinity')
);
COMMENT ON TABLE pgcredit.discount_settings IS 'what early-payment discounts are weighed against: one row at most, set with set_cost_of_capital(); no row = no cost of capital';
COMMENT ON COLUMN pgcredit.discount_settings.only_row IS 'always true: the table holds one row at most';
COMMENT ON COLUMN pgcredit.discount_settings.cost_of_capital_pct IS 'the book''s cost of capital, per cent a year: a discount whose implied annual rate is above it costs more than the capital it frees; NULL = not set';
REVOKE ALL ON pgcredit.discount_settings FROM PUBLIC;
GRANT SELECT ON pgcredit.discount_settings TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.discount_settings', '');


-- A customer pgcredit knows: it has an account, exposure or a scoring
CREATE FUNCTION pgcredit._check_known_customer(customer text)
RETURNS void LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF customer IS NULL THEN
    RAISE EXCEPTION 'customer must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT EXISTS (SELECT FROM pgcredit.account a WHERE a.customer = _check_known_customer.customer)
     AND NOT EXISTS (SELECT FROM pgcredit.exposure x WHERE x.customer = _check_known_customer.customer)
     AND NOT EXISTS (SELECT FROM pgcredit.score_history h WHERE h.customer = _check_known_customer.customer) THEN
    RAISE EXCEPTION 'customer "%" is unknown to pgcredit', customer USING ERRCODE = 'PC003',
      DETAIL = 'It has no account, no exposure history and no receivables.',
      HINT = 'Open an account for it with pgcredit.open_account() first.';
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_known_customer(text) IS
  'refuse a NULL customer, or one pgcredit does not know (no account, no exposure, no scoring): PC003';
REVOKE EXECUTE ON FUNCTION pgcredit._check_known_customer(text) FROM PUBLIC;

-- A day terms apply from: finite
CREATE FUNCTION pgcredit._check_valid_from(valid_from date)
RETURNS void LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF valid_from IS NULL OR NOT isfinite(valid_from) THEN
    RAISE EXCEPTION 'valid_from must be a finite date' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('valid_from is %s.', coalesce(valid_from::text, 'NULL'));
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_valid_from(date) IS 'refuse a NULL or infinite first day of terms';
REVOKE EXECUTE ON FUNCTION pgcredit._check_valid_from(date) FROM PUBLIC;

CREATE FUNCTION pgcredit._payment_terms_row(terms text)
RETURNS pgcredit.payment_terms LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  t pgcredit.payment_terms;
BEGIN
  PERFORM pgcredit._check_name('terms', terms);
  SELECT * INTO t FROM pgcredit.payment_terms p WHERE p.name = _payment_terms_row.terms FOR SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'payment terms "%" do not exist', terms USING ERRCODE = 'PC026',
      HINT = 'Create them with pgcredit.create_payment_terms(); pgcredit.payment_terms lists those that exist.';
  END IF;
  RETURN t;
END
$$;
COMMENT ON FUNCTION pgcredit._payment_terms_row(text) IS 'payment terms, locked against a drop, or PC026 when there are none of that name';
REVOKE EXECUTE ON FUNCTION pgcredit._payment_terms_row(text) FROM PUBLIC;

CREATE FUNCTION pgcredit.create_payment_terms(name text, discount_pct numeric, discount_days int, net_days int,
                                              reason text, description text DEFAULT NULL)
RETURNS pgcredit.payment_terms LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  t pgcredit.payment_terms;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_name('name', name);
  IF octet_length(name) > 200 THEN
    RAISE EXCEPTION 'name is too long' USING ERRCODE = 'string_data_right_truncation',
      DETAIL = 'Names of payment terms are at most 200 bytes.';
  END IF;
  IF discount_pct IS NULL OR discount_days IS NULL OR net_days IS NULL THEN
    RAISE EXCEPTION 'discount_pct, discount_days and net_days must not be null' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Terms without a discount have a discount_pct and discount_days of 0.';
  END IF;
  PERFORM pgcredit._check_amount('discount_pct', discount_pct);
  IF discount_pct >= 100 THEN
    RAISE EXCEPTION 'discount_pct must be below 100' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('discount_pct is %s.', discount_pct);
  END IF;
  IF discount_days < 0 OR net_days NOT BETWEEN 0 AND 3660 THEN
    RAISE EXCEPTION 'discount_days must not be negative and net_days must be between 0 and 3660'
      USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('discount_days is %s, net_days is %s.', discount_days, net_days);
  END IF;
  IF discount_days > net_days THEN
    RAISE EXCEPTION 'discount_days must not be greater than net_days' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('discount_days is %s, net_days is %s.', discount_days, net_days),
      HINT = 'The discount is for paying before the net due date: 2/10 net 30 is discount_days 10, net_days 30.';
  END IF;
  INSERT INTO pgcredit.payment_terms AS p (name, discount_pct, discount_days, net_days, description)
  VALUES (create_payment_terms.name, create_payment_terms.discount_pct, create_payment_terms.discount_days,
          create_payment_terms.net_days, create_payment_terms.description)
  ON CONFLICT ON CONSTRAINT payment_terms_pkey DO NOTHING
  RETURNING * INTO t;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'payment terms "%" already exist', name USING ERRCODE = 'duplicate_object',
      HINT = 'Terms never change: create terms of another name and give them to the customers from a day.';
  END IF;
  PERFORM pgcredit._audit('create_payment_terms', NULL, NULL, to_jsonb(t) - 'created_at', reason);
  RETURN t;
END
$$;
COMMENT ON FUNCTION pgcredit.create_payment_terms(text, numeric, int, int, text, text) IS
  'create payment terms such as 2/10 net 30 (discount_pct 2, discount_days 10, net_days 30), audited';
REVOKE EXECUTE ON FUNCTION pgcredit.create_payment_terms(text, numeric, int, int, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.create_payment_terms(text, numeric, int, int, text, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.drop_payment_terms(name text, reason text)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  t pgcredit.payment_terms;
  users text;
  n bigint;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_name('name', name);
  SELECT * INTO t FROM pgcredit.payment_terms p WHERE p.name = drop_payment_terms.name FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'payment terms "%" do not exist', name USING ERRCODE = 'PC026',
      HINT = 'pgcredit.payment_terms lists those that exist.';
  END IF;
  -- the terms of past invoices are read from these rows: terms once given
  -- stay while any row names them
  SELECT count(*), string_agg(x, ', ' ORDER BY k, x COLLATE "C") FILTER (WHERE rn <= 5) INTO n, users FROM (
    SELECT k, x, row_number() OVER (ORDER BY k, x COLLATE "C") AS rn FROM (
      SELECT 0 AS k, format('the default from %s', d.valid_from) AS x FROM pgcredit.default_terms d
      WHERE d.terms = t.name
      UNION ALL
      SELECT 1, format('customer %s from %s', c.customer, c.valid_from) FROM pgcredit.customer_terms c
      WHERE c.terms = t.name) u) v;
  IF n > 0 THEN
    RAISE EXCEPTION 'payment terms "%" are in use', name USING ERRCODE = 'dependent_objects_still_exist',
      DETAIL = format('They are %s%s.', users, CASE WHEN n > 5 THEN format(' and %s more', n - 5) ELSE '' END),
      HINT = 'Terms given to invoices explain their discounts and stay; give new invoices other terms from a day.';
  END IF;
  PERFORM pgcredit._audit('drop_payment_terms', NULL, to_jsonb(t) - 'created_at', NULL, reason);
  DELETE FROM pgcredit.payment_terms p WHERE p.name = t.name;
END
$$;
COMMENT ON FUNCTION pgcredit.drop_payment_terms(text, text) IS
  'drop payment terms that no customer and no default has ever had, audited';
REVOKE EXECUTE ON FUNCTION pgcredit.drop_payment_terms(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.drop_payment_terms(text, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.set_default_payment_terms(terms text, reason text,
                                                   valid_from date DEFAULT pgcredit._horizon_today())
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.default_terms;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_valid_from(valid_from);
  IF terms IS NOT NULL THEN
    PERFORM pgcredit._payment_terms_row(terms);
  END IF;
  SELECT * INTO before FROM pgcredit.default_terms d WHERE d.valid_from = set_default_payment_terms.valid_from
  FOR UPDATE;
  INSERT INTO pgcredit.default_terms AS d (valid_from, terms, reason)
  VALUES (set_default_payment_terms.valid_from, set_default_payment_terms.terms, set_default_payment_terms.reason)
  ON CONFLICT ON CONSTRAINT default_terms_pkey DO UPDATE SET terms = EXCLUDED.terms, reason = EXCLUDED.reason,
    set_at = now();
  PERFORM pgcredit._audit('set_default_payment_terms', NULL,
    CASE WHEN before.valid_from IS NOT NULL THEN jsonb_build_object('valid_from', before.valid_from, 'terms', before.terms) END,
    jsonb_build_object('valid_from', valid_from, 'terms', terms), reason);
END
$$;
COMMENT ON FUNCTION pgcredit.set_default_payment_terms(text, text, date) IS
  'the default payment terms of invoices dated from a day (default today) on; NULL: none from that day; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_default_payment_terms(text, text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_default_payment_terms(text, text, date) TO pgcredit_admin;

CREATE FUNCTION pgcredit.set_customer_payment_terms(customer text, terms text, reason text,
                                                    valid_from date DEFAULT pgcredit._horizon_today())
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.customer_terms;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_known_customer(customer);
  PERFORM pgcredit._check_valid_from(valid_from);
  IF terms IS NOT NULL THEN
    PERFORM pgcredit._payment_terms_row(terms);
  END IF;
  SELECT * INTO before FROM pgcredit.customer_terms c
  WHERE c.customer = set_customer_payment_terms.customer AND c.valid_from = set_customer_payment_terms.valid_from
  FOR UPDATE;
  INSERT INTO pgcredit.customer_terms AS c (customer, valid_from, terms, reason)
  VALUES (set_customer_payment_terms.customer, set_customer_payment_terms.valid_from,
          set_customer_payment_terms.terms, set_customer_payment_terms.reason)
  ON CONFLICT ON CONSTRAINT customer_terms_pkey DO UPDATE SET terms = EXCLUDED.terms, reason = EXCLUDED.reason,
    set_at = now();
  PERFORM pgcredit._audit('set_customer_payment_terms', customer,
    CASE WHEN before.customer IS NOT NULL THEN jsonb_build_object('valid_from', before.valid_from, 'terms', before.terms) END,
    jsonb_build_object('valid_from', valid_from, 'terms', terms), reason);
END
$$;
COMMENT ON FUNCTION pgcredit.set_customer_payment_terms(text, text, text, date) IS
  'a customer''s own payment terms for its invoices dated from a day (default today) on; NULL: the default terms from that day; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_customer_payment_terms(text, text, text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_customer_payment_terms(text, text, text, date) TO pgcredit_controller;

CREATE FUNCTION pgcredit.set_cost_of_capital(cost_of_capital_pct numeric, reason text)
RETURNS pgcredit.discount_settings LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.discount_settings;
  after pgcredit.discount_settings;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_amount('cost_of_capital_pct', cost_of_capital_pct);
  SELECT * INTO before FROM pgcredit.discount_settings FOR UPDATE;
  INSERT INTO pgcredit.discount_settings AS s (only_row, cost_of_capital_pct)
  VALUES (true, set_cost_of_capital.cost_of_capital_pct)
  ON CONFLICT ON CONSTRAINT discount_settings_pkey DO UPDATE SET cost_of_capital_pct = EXCLUDED.cost_of_capital_pct
  RETURNING * INTO after;
  PERFORM pgcredit._audit('set_cost_of_capital', NULL, to_jsonb(before) - 'only_row', to_jsonb(after) - 'only_row',
                          reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.set_cost_of_capital(numeric, text) IS
  'the book''s cost of capital, per cent a year, that discount_economics weighs discounts against; NULL clears it; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_cost_of_capital(numeric, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_cost_of_capital(numeric, text) TO pgcredit_admin;


----------------------------------------------------------------------
-- Which invoices may take the discount, which took it, what it cost
----------------------------------------------------------------------

-- Every receivable item with an invoice date, with the terms in force
-- for its customer on that date (NULL: none)
CREATE FUNCTION pgcredit._items_with_terms()
RETURNS TABLE (customer text, relid oid, item_key jsonb, amount numeric, counts boolean,
               invoice_amount numeric, invoiced_on date, paid_on date,
               terms text, discount_pct numeric, discount_days int, net_days int)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT i.customer, i.relid, i.item_key, i.amount, i.counts, i.invoice_amount, i.invoiced_on, i.paid_on,
         t.name, t.discount_pct, t.discount_days, t.net_days
  FROM pgcredit._attached_items_keyed('receivables') i
  LEFT JOIN LATERAL (
    SELECT c.terms FROM pgcredit.customer_terms c
    WHERE c.customer = i.customer AND c.valid_from <= i.invoiced_on
    ORDER BY c.valid_from DESC LIMIT 1) own ON true
  LEFT JOIN LATERAL (
    SELECT d.terms FROM pgcredit.default_terms d
    WHERE d.valid_from <= i.invoiced_on
    ORDER BY d.valid_from DESC LIMIT 1) dflt ON true
  -- a customer's row with no terms gives it the default's again
  LEFT JOIN pgcredit.payment_terms t ON t.name = coalesce(own.terms, dflt.terms)
  WHERE i.invoiced_on IS NOT NULL AND isfinite(i.invoiced_on)
$$;
COMMENT ON FUNCTION pgcredit._items_with_terms() IS
  'the receivable items of every attached table with an invoice date, with the payment terms of each (its customer''s in force on its invoice date, else the default''s; NULL: none)';
REVOKE EXECUTE ON FUNCTION pgcredit._items_with_terms() FROM PUBLIC;

-- The first day of the period of months ending at as_of, excluded
CREATE FUNCTION pgcredit._period_start(as_of date, months int)
RETURNS date LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_day(as_of);
  IF months IS NULL OR months NOT BETWEEN 1 AND 120 THEN
    RAISE EXCEPTION 'months must be between 1 and 120' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('months is %s.', coalesce(months::text, 'NULL'));
  END IF;
  RETURN (as_of - pg_catalog.make_interval(months => months))::date;
END
$$;
COMMENT ON FUNCTION pgcredit._period_start(date, int) IS
  'the day before the first day of the period of months ending at as_of (as_of minus the months, the month''s last day when shorter); refuses a bad day or a months outside 1 to 120';
REVOKE EXECUTE ON FUNCTION pgcredit._period_start(date, int) FROM PUBLIC;

CREATE FUNCTION pgcredit.discount_opportunities_at(as_of date)
RETURNS TABLE (day date, customer text, "table" regclass, item_key jsonb, terms text, invoiced_on date,
               invoice_amount numeric, discount numeric, last_day date, days_left int, net_due date,
               table_text text, item_key_text text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER ROWS 1000
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_day(as_of);
  RETURN QUERY
  SELECT discount_opportunities_at.as_of, i.customer, i.relid::regclass, i.item_key, i.terms, i.invoiced_on,
         i.invoice_amount, round(i.invoice_amount * i.discount_pct / 100, 2),
         i.invoiced_on + i.discount_days, i.invoiced_on + i.discount_days - discount_opportunities_at.as_of,
         i.invoiced_on + i.net_days, pgcredit._qualified_name(i.relid), i.item_key::text
  FROM pgcredit._items_with_terms() i
  WHERE i.discount_pct > 0 AND i.invoice_amount > 0
    AND i.invoiced_on <= discount_opportunities_at.as_of
    AND discount_opportunities_at.as_of <= i.invoiced_on + i.discount_days
    -- open on the day: paid after it, or not paid and open now
    AND (i.paid_on > discount_opportunities_at.as_of OR i.paid_on IS NULL AND i.counts AND i.amount > 0)
  ORDER BY i.invoiced_on + i.discount_days, i.customer COLLATE "C", i.relid, i.item_key::text COLLATE "C";
END
$$;
COMMENT ON FUNCTION pgcredit.discount_opportunities_at(date) IS
  'the open invoices that may still take their early-payment discount on a day: their terms, invoice amount, the discount (rounded to cents, half away from zero), the last day to take it and the days left';
REVOKE EXECUTE ON FUNCTION pgcredit.discount_opportunities_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.discount_opportunities_at(date) TO pgcredit_reader;

CREATE VIEW pgcredit.discount_opportunities AS
  SELECT * FROM pgcredit.discount_opportunities_at(pgcredit.as_of());
COMMENT ON VIEW pgcredit.discount_opportunities IS
  'the open invoices that may still take their early-payment discount on the day pgcredit.as_of(), the last day first';
COMMENT ON COLUMN pgcredit.discount_opportunities.day IS 'the day described';
COMMENT ON COLUMN pgcredit.discount_opportunities.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.discount_opportunities."table" IS 'the attached receivables table';
COMMENT ON COLUMN pgcredit.discount_opportunities.item_key IS 'the invoice''s primary key as a JSON object (NULL for a table without one)';
COMMENT ON COLUMN pgcredit.discount_opportunities.terms IS 'its payment terms';
COMMENT ON COLUMN pgcredit.discount_opportunities.invoiced_on IS 'its invoice date';
COMMENT ON COLUMN pgcredit.discount_opportunities.invoice_amount IS 'its invoice amount, as the table holds it';
COMMENT ON COLUMN pgcredit.discount_opportunities.discount IS 'the discount: invoice amount times discount_pct / 100, rounded to cents half away from zero';
COMMENT ON COLUMN pgcredit.discount_opportunities.last_day IS 'the last day it may be paid with the discount: invoice date + discount_days';
COMMENT ON COLUMN pgcredit.discount_opportunities.days_left IS 'days from the day to the last day (0: the last day is the day)';
COMMENT ON COLUMN pgcredit.discount_opportunities.net_due IS 'the net due date: invoice date + net_days';
COMMENT ON COLUMN pgcredit.discount_opportunities.table_text IS 'table as text, always schema.table';
COMMENT ON COLUMN pgcredit.discount_opportunities.item_key_text IS 'item_key as text';
REVOKE ALL ON pgcredit.discount_opportunities FROM PUBLIC;
GRANT SELECT ON pgcredit.discount_opportunities TO pgcredit_reader;

CREATE FUNCTION pgcredit.discounts_taken_at(as_of date, months int DEFAULT 12)
RETURNS TABLE (day date, customer text, "table" regclass, item_key jsonb, terms text, invoiced_on date,
               paid_on date, last_day date, net_due date, invoice_amount numeric, discount numeric, days_saved int,
               table_text text, item_key_text text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER ROWS 1000
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  since date := pgcredit._period_start(as_of, months);
BEGIN
  RETURN QUERY
  SELECT discounts_taken_at.as_of, i.customer, i.relid::regclass, i.item_key, i.terms, i.invoiced_on, i.paid_on,
         i.invoiced_on + i.discount_days, i.invoiced_on + i.net_days,
         i.invoice_amount, round(i.invoice_amount * i.discount_pct / 100, 2),
         i.invoiced_on + i.net_days - i.paid_on, pgcredit._qualified_name(i.relid), i.item_key::text
  FROM pgcredit._items_with_terms() i
  WHERE i.discount_pct > 0 AND i.invoice_amount > 0
    AND i.invoiced_on > since AND i.invoiced_on <= discounts_taken_at.as_of
    AND i.paid_on <= discounts_taken_at.as_of
    AND i.paid_on >= i.invoiced_on AND i.paid_on <= i.invoiced_on + i.discount_days
  ORDER BY i.paid_on, i.customer COLLATE "C", i.relid, i.item_key::text COLLATE "C";
END
$$;
COMMENT ON FUNCTION pgcredit.discounts_taken_at(date, int) IS
  'the invoices dated in the months (default 12) ending at a day that were paid within their discount window by that day: the discount their terms gave and the days they were paid before the net due date';
REVOKE EXECUTE ON FUNCTION pgcredit.discounts_taken_at(date, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.discounts_taken_at(date, int) TO pgcredit_reader;

CREATE VIEW pgcredit.discounts_taken AS
  SELECT * FROM pgcredit.discounts_taken_at(pgcredit.as_of(), 12);
COMMENT ON VIEW pgcredit.discounts_taken IS
  'the invoices dated in the 12 months ending at pgcredit.as_of() that were paid within their discount window by that day';
COMMENT ON COLUMN pgcredit.discounts_taken.day IS 'the last day of the period: invoices dated in it and paid by it';
COMMENT ON COLUMN pgcredit.discounts_taken.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.discounts_taken."table" IS 'the attached receivables table';
COMMENT ON COLUMN pgcredit.discounts_taken.item_key IS 'the invoice''s primary key as a JSON object (NULL for a table without one)';
COMMENT ON COLUMN pgcredit.discounts_taken.terms IS 'its payment terms';
COMMENT ON COLUMN pgcredit.discounts_taken.invoiced_on IS 'its invoice date';
COMMENT ON COLUMN pgcredit.discounts_taken.paid_on IS 'its payment date';
COMMENT ON COLUMN pgcredit.discounts_taken.last_day IS 'the last day of its discount window';
COMMENT ON COLUMN pgcredit.discounts_taken.net_due IS 'its net due date: invoice date + net_days';
COMMENT ON COLUMN pgcredit.discounts_taken.invoice_amount IS 'its invoice amount, as the table holds it';
COMMENT ON COLUMN pgcredit.discounts_taken.discount IS 'the discount its terms gave, rounded to cents half away from zero';
COMMENT ON COLUMN pgcredit.discounts_taken.days_saved IS 'days paid before the net due date: the days of DSO the discount bought, on the assumption that the customer would have paid on the net due date';
COMMENT ON COLUMN pgcredit.discounts_taken.table_text IS 'table as text, always schema.table';
COMMENT ON COLUMN pgcredit.discounts_taken.item_key_text IS 'item_key as text';
REVOKE ALL ON pgcredit.discounts_taken FROM PUBLIC;
GRANT SELECT ON pgcredit.discounts_taken TO pgcredit_reader;

CREATE FUNCTION pgcredit.discount_economics_at(as_of date, months int DEFAULT 12)
RETURNS TABLE (day date, period_months int, customer text, terms text, invoices int, paid_early numeric,
               discounts numeric, days_saved numeric, sales numeric, dso_saved numeric,
               annual_rate_pct numeric, effective_rate_pct numeric, cost_of_capital_pct numeric,
               costs_more boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER ROWS 1000
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  since date := pgcredit._period_start(as_of, months);
  coc numeric := (SELECT s.cost_of_capital_pct FROM pgcredit.discount_settings s);
BEGIN
  RETURN QUERY
  WITH items AS MATERIALIZED (
    SELECT * FROM pgcredit._items_with_terms()),
  taken AS (
    SELECT i.customer, i.terms, i.invoice_amount AS amount,
           round(i.invoice_amount * i.discount_pct / 100, 2) AS discount,
           i.invoiced_on + i.net_days - i.paid_on AS days
    FROM items i
    WHERE i.discount_pct > 0 AND i.invoice_amount > 0
      AND i.invoiced_on > since AND i.invoiced_on <= discount_economics_at.as_of
      AND i.paid_on <= discount_economics_at.as_of
      AND i.paid_on >= i.invoiced_on AND i.paid_on <= i.invoiced_on + i.discount_days),
  -- credit sales of the period: every amount invoiced in it, as DSO counts them
  sales AS (
    SELECT i.customer, sum(i.invoice_amount) AS amount FROM items i
    WHERE i.invoiced_on > since AND i.invoiced_on <= discount_economics_at.as_of
    GROUP BY i.customer),
  grouped AS (
    SELECT t.customer, t.terms, GROUPING(t.customer) AS book, count(*)::int AS invoices,
           sum(t.amount) AS amount, sum(t.discount) AS discount,
           sum(t.amount * t.days) AS amount_days,
           sum((t.amount - t.discount) * t.days) AS freed_days
    FROM taken t
    GROUP BY GROUPING SETS ((t.customer, t.terms), (t.terms), ()))
  SELECT discount_economics_at.as_of, discount_economics_at.months, g.customer, g.terms, g.invoices, g.amount,
         g.discount, round(g.amount_days / g.amount, 2), s.amount,
         CASE WHEN s.amount > 0 THEN round(g.amount_days / s.amount, 2) END,
         round(r.rate, 2),
         CASE WHEN g.freed_days > 0 THEN round(100 * g.discount * 365 / g.freed_days, 2) END,
         coc, r.rate > coc
  FROM grouped g
  LEFT JOIN LATERAL (
    SELECT CASE WHEN g.book = 1 THEN (SELECT sum(x.amount) FROM sales x)
                ELSE (SELECT x.amount FROM sales x WHERE x.customer = g.customer) END AS amount) s ON true
  LEFT JOIN pgcredit.payment_terms p ON p.name = g.terms
  LEFT JOIN LATERAL (
    SELECT CASE WHEN p.net_days > p.discount_days
                THEN 100 * p.discount_pct / (100 - p.discount_pct) * 365 / (p.net_days - p.discount_days) END AS rate) r
    ON true
  ORDER BY g.book, g.customer COLLATE "C", g.terms COLLATE "C" NULLS LAST;
END
$$;
COMMENT ON FUNCTION pgcredit.discount_economics_at(date, int) IS
  'what the early-payment discounts taken on the invoices dated in the months (default 12) ending at a day cost against the days of DSO they saved: per customer and terms, per terms for the book, and for the whole book; each terms'' implied annual rate against the cost of capital';
REVOKE EXECUTE ON FUNCTION pgcredit.discount_economics_at(date, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.discount_economics_at(date, int) TO pgcredit_reader;

CREATE VIEW pgcredit.discount_economics AS
  SELECT * FROM pgcredit.discount_economics_at(pgcredit.as_of(), 12);
COMMENT ON VIEW pgcredit.discount_economics IS
  'dynamic discounting: the early-payment discounts taken on the invoices dated in the 12 months ending at pgcredit.as_of() against the days of DSO they saved, per customer and terms, per terms and for the book (customer NULL)';
COMMENT ON COLUMN pgcredit.discount_economics.day IS 'the last day of the period';
COMMENT ON COLUMN pgcredit.discount_economics.period_months IS 'the months of the period';
COMMENT ON COLUMN pgcredit.discount_economics.customer IS 'customer key; NULL = the whole book';
COMMENT ON COLUMN pgcredit.discount_economics.terms IS 'the payment terms; NULL (with customer NULL) = every terms together';
COMMENT ON COLUMN pgcredit.discount_economics.invoices IS 'invoices dated in the period and paid within their discount window by its last day';
COMMENT ON COLUMN pgcredit.discount_economics.paid_early IS 'their invoice amount';
COMMENT ON COLUMN pgcredit.discount_economics.discounts IS 'the discounts they were given';
COMMENT ON COLUMN pgcredit.discount_economics.days_saved IS 'days paid before the net due date, weighted by amount';
COMMENT ON COLUMN pgcredit.discount_economics.sales IS 'credit sales of the period: the customer''s invoices dated in it (the book''s on a book row)';
COMMENT ON COLUMN pgcredit.discount_economics.dso_saved IS 'days of DSO the early payments saved: sum(amount * days saved) / sales of the period';
COMMENT ON COLUMN pgcredit.discount_economics.annual_rate_pct IS 'the implied annual rate of the terms: pct / (100 - pct) * 365 / (net_days - discount_days), per cent; NULL when the discount lasts until the net due date';
COMMENT ON COLUMN pgcredit.discount_economics.effective_rate_pct IS 'what the discounts given cost a year, per cent of the capital the early payments freed: discounts * 365 / sum((amount - discount) * days saved)';
COMMENT ON COLUMN pgcredit.discount_economics.cost_of_capital_pct IS 'the book''s cost of capital (discount_settings); NULL = not set';
COMMENT ON COLUMN pgcredit.discount_economics.costs_more IS 'whether the terms'' implied annual rate is above the cost of capital: the discount costs more than the capital it frees; NULL without terms or cost of capital';
REVOKE ALL ON pgcredit.discount_economics FROM PUBLIC;
GRANT SELECT ON pgcredit.discount_economics TO pgcredit_reader;


----------------------------------------------------------------------
-- Late fees and interest (pgcredit_admin sets the policies,
-- pgcredit_controller gives a customer its own and records what the
-- application posted or what is waived)
--
-- A policy charges interest at an annual rate on an item's open amount
-- for the days it is late, counted from its due date, once it is more
-- than grace_days late; plus a fixed fee; at least min_fee, at most
-- max_fee for the item.  pgcredit proposes the fee; the application
-- posts it in its own ledger and says so with post_late_fee(), or a
-- controller waives it; either settles the fee up to that day, and only
-- what accrues after it is proposed again.
----------------------------------------------------------------------

CREATE TABLE pgcredit.late_fee_policy (
  name             text PRIMARY KEY
                   CONSTRAINT late_fee_policy_name CHECK (btrim(name) <> '' AND octet_length(name) <= 200),
  annual_rate_pct  numeric NOT NULL CHECK (annual_rate_pct >= 0 AND annual_rate_pct < 'Infinity'),
  grace_days       int NOT NULL DEFAULT 0 CHECK (grace_days BETWEEN 0 AND 366),
  min_fee          numeric NOT NULL DEFAULT 0 CHECK (min_fee >= 0 AND min_fee < 'Infinity'),
  max_fee          numeric CHECK (max_fee > 0 AND max_fee < 'Infinity'),
  fixed_fee        numeric NOT NULL DEFAULT 0 CHECK (fixed_fee >= 0 AND fixed_fee < 'Infinity'),
  description      text,
  created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT late_fee_policy_cap CHECK (max_fee >= min_fee),
  CONSTRAINT late_fee_policy_charges CHECK (annual_rate_pct > 0 OR fixed_fee > 0 OR min_fee > 0)
);
COMMENT ON TABLE pgcredit.late_fee_policy IS 'late fee policies: interest at a rate after grace days, a fixed fee, a minimum and a maximum; assigned per risk tier or per customer; created and dropped through pgcredit''s functions, audited';
COMMENT ON COLUMN pgcredit.late_fee_policy.name IS 'the policy''s name';
COMMENT ON COLUMN pgcredit.late_fee_policy.annual_rate_pct IS 'interest per cent a year on the open amount, for each day late counted from the due date (a year of 365 days)';
COMMENT ON COLUMN pgcredit.late_fee_policy.grace_days IS 'days late without a fee: a fee is proposed once an item is more than this many days late';
COMMENT ON COLUMN pgcredit.late_fee_policy.min_fee IS 'the least fee of an item once past the grace days';
COMMENT ON COLUMN pgcredit.late_fee_policy.max_fee IS 'the most an item is charged, in all; NULL = no cap';
COMMENT ON COLUMN pgcredit.late_fee_policy.fixed_fee IS 'a fee charged once per item on top of the interest';
COMMENT ON COLUMN pgcredit.late_fee_policy.description IS 'what the policy is for';
COMMENT ON COLUMN pgcredit.late_fee_policy.created_at IS 'when it was created';
REVOKE ALL ON pgcredit.late_fee_policy FROM PUBLIC;
GRANT SELECT ON pgcredit.late_fee_policy TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.late_fee_policy', '');

CREATE TABLE pgcredit.late_fee_assignment (
  tier    text PRIMARY KEY CONSTRAINT late_fee_tier CHECK (tier IN ('A', 'B', 'C', 'D', 'E', 'default')),
  policy  text NOT NULL REFERENCES pgcredit.late_fee_policy
);
COMMENT ON TABLE pgcredit.late_fee_assignment IS 'the late fee policy of each risk tier; default: of customers whose tier has none, and of those without a tier';
COMMENT ON COLUMN pgcredit.late_fee_assignment.tier IS 'a risk tier, A to E, or default';
COMMENT ON COLUMN pgcredit.late_fee_assignment.policy IS 'the policy';
REVOKE ALL ON pgcredit.late_fee_assignment FROM PUBLIC;
GRANT SELECT ON pgcredit.late_fee_assignment TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.late_fee_assignment', '');

CREATE TABLE pgcredit.late_fee_exception (
  customer  text PRIMARY KEY CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  policy    text REFERENCES pgcredit.late_fee_policy,
  reason    text NOT NULL,
  set_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE pgcredit.late_fee_exception IS 'customers charged by another late fee policy than their tier''s, or not at all';
COMMENT ON COLUMN pgcredit.late_fee_exception.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.late_fee_exception.policy IS 'the customer''s policy; NULL = no late fees';
COMMENT ON COLUMN pgcredit.late_fee_exception.reason IS 'why';
COMMENT ON COLUMN pgcredit.late_fee_exception.set_at IS 'when';
REVOKE ALL ON pgcredit.late_fee_exception FROM PUBLIC;
GRANT SELECT ON pgcredit.late_fee_exception TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.late_fee_exception', '');

CREATE TABLE pgcredit.late_fee (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  relid      oid NOT NULL,
  item_key   jsonb NOT NULL,
  n          int NOT NULL CHECK (n >= 1),
  customer   text NOT NULL,
  as_of      date NOT NULL,
  status     text NOT NULL CHECK (status IN ('posted', 'waived')),
  amount     numeric NOT NULL CHECK (amount > 0),
  proposed   numeric NOT NULL CHECK (proposed > 0),
  policy     text NOT NULL,
  days_late  int NOT NULL,
  reason     text NOT NULL,
  role_name  name NOT NULL,
  at         timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  CONSTRAINT late_fee_item_n UNIQUE (relid, item_key, n),
  CONSTRAINT late_fee_within_proposal CHECK (amount <= proposed)
);
COMMENT ON TABLE pgcredit.late_fee IS 'the late fees the application posted and those waived, each settling the fee proposed for an item up to its day; written by post_late_fee() and waive_late_fee(), audited';
COMMENT ON INDEX pgcredit.late_fee_item_n IS 'the records of an item, numbered: two recorded at once for one item cannot both be its next';
COMMENT ON COLUMN pgcredit.late_fee.id IS 'record number';
COMMENT ON COLUMN pgcredit.late_fee.relid IS 'the attached receivables table (its oid; relid::regclass names it)';
COMMENT ON COLUMN pgcredit.late_fee.item_key IS 'the item''s key as late_fee_proposals gives it';
COMMENT ON COLUMN pgcredit.late_fee.n IS 'the item''s first, second... record';
COMMENT ON COLUMN pgcredit.late_fee.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.late_fee.as_of IS 'the day up to which it settles the item''s fee';
COMMENT ON COLUMN pgcredit.late_fee.status IS 'posted (the application charged it) or waived';
COMMENT ON COLUMN pgcredit.late_fee.amount IS 'posted: what the application charged (at most the proposal); waived: the fee waived';
COMMENT ON COLUMN pgcredit.late_fee.proposed IS 'the fee proposed that day, which the record settles whatever amount was posted';
COMMENT ON COLUMN pgcredit.late_fee.policy IS 'the late fee policy that proposed it';
COMMENT ON COLUMN pgcredit.late_fee.days_late IS 'days the item was late on that day';
COMMENT ON COLUMN pgcredit.late_fee.reason IS 'why';
COMMENT ON COLUMN pgcredit.late_fee.role_name IS 'the role that recorded it';
COMMENT ON COLUMN pgcredit.late_fee.at IS 'when';
REVOKE ALL ON pgcredit.late_fee FROM PUBLIC;
GRANT SELECT ON pgcredit.late_fee TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.late_fee', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.late_fee_id_seq', '');
COMMENT ON SEQUENCE pgcredit.late_fee_id_seq IS 'numbers of late fee records (late_fee.id)';


CREATE FUNCTION pgcredit._late_fee_policy_row(policy text)
RETURNS pgcredit.late_fee_policy LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  p pgcredit.late_fee_policy;
BEGIN
  PERFORM pgcredit._check_name('policy', policy);
  SELECT * INTO p FROM pgcredit.late_fee_policy l WHERE l.name = _late_fee_policy_row.policy FOR SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'late fee policy "%" does not exist', policy USING ERRCODE = 'PC027',
      HINT = 'Create it with pgcredit.create_late_fee_policy(); pgcredit.late_fee_policy lists those that exist.';
  END IF;
  RETURN p;
END
$$;
COMMENT ON FUNCTION pgcredit._late_fee_policy_row(text) IS 'a late fee policy, locked against a drop, or PC027 when there is none of that name';
REVOKE EXECUTE ON FUNCTION pgcredit._late_fee_policy_row(text) FROM PUBLIC;

CREATE FUNCTION pgcredit.create_late_fee_policy(name text, annual_rate_pct numeric, reason text,
                                                grace_days int DEFAULT 0, min_fee numeric DEFAULT 0,
                                                max_fee numeric DEFAULT NULL, fixed_fee numeric DEFAULT 0,
                                                description text DEFAULT NULL)
RETURNS pgcredit.late_fee_policy LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  p pgcredit.late_fee_policy;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_name('name', name);
  IF octet_length(name) > 200 THEN
    RAISE EXCEPTION 'name is too long' USING ERRCODE = 'string_data_right_truncation',
      DETAIL = 'Names of late fee policies are at most 200 bytes.';
  END IF;
  IF annual_rate_pct IS NULL OR grace_days IS NULL OR min_fee IS NULL OR fixed_fee IS NULL THEN
    RAISE EXCEPTION 'annual_rate_pct, grace_days, min_fee and fixed_fee must not be null'
      USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Give 0 for none; only max_fee may be NULL (no cap).';
  END IF;
  PERFORM pgcredit._check_amount('annual_rate_pct', annual_rate_pct);
  PERFORM pgcredit._check_amount('min_fee', min_fee);
  PERFORM pgcredit._check_amount('max_fee', max_fee);
  PERFORM pgcredit._check_amount('fixed_fee', fixed_fee);
  IF grace_days NOT BETWEEN 0 AND 366 THEN
    RAISE EXCEPTION 'grace_days must be between 0 and 366' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('grace_days is %s.', grace_days);
  END IF;
  IF max_fee = 0 OR max_fee < min_fee THEN
    RAISE EXCEPTION 'max_fee must be above 0 and not below min_fee' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('max_fee is %s, min_fee is %s.', max_fee, min_fee),
      HINT = 'NULL leaves the fee uncapped; to charge a customer nothing, use pgcredit.exempt_from_late_fees().';
  END IF;
  IF annual_rate_pct = 0 AND fixed_fee = 0 AND min_fee = 0 THEN
    RAISE EXCEPTION 'a late fee policy must charge something' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = 'annual_rate_pct, fixed_fee and min_fee are all 0.',
      HINT = 'To charge a customer nothing, use pgcredit.exempt_from_late_fees().';
  END IF;
  INSERT INTO pgcredit.late_fee_policy AS l (name, annual_rate_pct, grace_days, min_fee, max_fee, fixed_fee, description)
  VALUES (create_late_fee_policy.name, create_late_fee_policy.annual_rate_pct, create_late_fee_policy.grace_days,
          create_late_fee_policy.min_fee, create_late_fee_policy.max_fee, create_late_fee_policy.fixed_fee,
          create_late_fee_policy.description)
  ON CONFLICT ON CONSTRAINT late_fee_policy_pkey DO NOTHING
  RETURNING * INTO p;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'late fee policy "%" already exists', name USING ERRCODE = 'duplicate_object',
      HINT = 'Policies never change: create one of another name and give it to the tiers.';
  END IF;
  PERFORM pgcredit._audit('create_late_fee_policy', NULL, NULL, to_jsonb(p) - 'created_at', reason);
  RETURN p;
END
$$;
COMMENT ON FUNCTION pgcredit.create_late_fee_policy(text, numeric, text, int, numeric, numeric, numeric, text) IS
  'create a late fee policy: annual interest rate, grace days, minimum, maximum (NULL: none) and fixed fee; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.create_late_fee_policy(text, numeric, text, int, numeric, numeric, numeric, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.create_late_fee_policy(text, numeric, text, int, numeric, numeric, numeric, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.drop_late_fee_policy(name text, reason text)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  p pgcredit.late_fee_policy;
  users text;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_name('name', name);
  SELECT * INTO p FROM pgcredit.late_fee_policy l WHERE l.name = drop_late_fee_policy.name FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'late fee policy "%" does not exist', name USING ERRCODE = 'PC027',
      HINT = 'pgcredit.late_fee_policy lists those that exist.';
  END IF;
  SELECT string_agg(x, ', ' ORDER BY k, x) INTO users FROM (
    SELECT 0 AS k, format('tier %s', a.tier) AS x FROM pgcredit.late_fee_assignment a WHERE a.policy = p.name
    UNION ALL
    SELECT 1, format('customer %s', e.customer) FROM pgcredit.late_fee_exception e WHERE e.policy = p.name) u;
  IF users IS NOT NULL THEN
    RAISE EXCEPTION 'late fee policy "%" is in use', name USING ERRCODE = 'dependent_objects_still_exist',
      DETAIL = format('It is the policy of %s.', users),
      HINT = 'Give those another policy first.';
  END IF;
  PERFORM pgcredit._audit('drop_late_fee_policy', NULL, to_jsonb(p) - 'created_at', NULL, reason);
  DELETE FROM pgcredit.late_fee_policy l WHERE l.name = p.name;
END
$$;
COMMENT ON FUNCTION pgcredit.drop_late_fee_policy(text, text) IS
  'drop a late fee policy, unless a tier or customer has it; audited (the fees recorded under it stay)';
REVOKE EXECUTE ON FUNCTION pgcredit.drop_late_fee_policy(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.drop_late_fee_policy(text, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.set_tier_late_fee_policy(tier text, policy text, reason text)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before text;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF tier IS NULL THEN
    RAISE EXCEPTION 'tier must not be null' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'A tier is one of A, B, C, D and E, or default for customers whose tier has no policy.';
  ELSIF tier NOT IN ('A', 'B', 'C', 'D', 'E', 'default') THEN
    RAISE EXCEPTION 'invalid risk tier "%"', tier USING ERRCODE = 'invalid_parameter_value',
      HINT = 'A tier is one of A, B, C, D and E, or default for customers whose tier has no policy.';
  END IF;
  IF policy IS NOT NULL THEN
    PERFORM pgcredit._late_fee_policy_row(policy);
  END IF;
  SELECT a.policy INTO before FROM pgcredit.late_fee_assignment a WHERE a.tier = set_tier_late_fee_policy.tier
  FOR UPDATE;
  IF policy IS NULL THEN
    DELETE FROM pgcredit.late_fee_assignment a WHERE a.tier = set_tier_late_fee_policy.tier;
  ELSE
    INSERT INTO pgcredit.late_fee_assignment AS a (tier, policy)
    VALUES (set_tier_late_fee_policy.tier, set_tier_late_fee_policy.policy)
    ON CONFLICT ON CONSTRAINT late_fee_assignment_pkey DO UPDATE SET policy = EXCLUDED.policy;
  END IF;
  PERFORM pgcredit._audit('set_tier_late_fee_policy', NULL, jsonb_build_object('tier', tier, 'policy', before),
                          jsonb_build_object('tier', tier, 'policy', policy), reason);
END
$$;
COMMENT ON FUNCTION pgcredit.set_tier_late_fee_policy(text, text, text) IS
  'give a risk tier (A to E, or default) its late fee policy; NULL takes it away; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_tier_late_fee_policy(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_tier_late_fee_policy(text, text, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit._set_late_fee_exception(customer text, policy text, exempt boolean, reason text)
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.late_fee_exception;
  after pgcredit.late_fee_exception;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_known_customer(customer);
  IF NOT exempt AND policy IS NOT NULL THEN
    PERFORM pgcredit._late_fee_policy_row(policy);
  END IF;
  SELECT * INTO before FROM pgcredit.late_fee_exception e WHERE e.customer = _set_late_fee_exception.customer
  FOR UPDATE;
  IF NOT exempt AND policy IS NULL THEN
    DELETE FROM pgcredit.late_fee_exception e WHERE e.customer = _set_late_fee_exception.customer;
  ELSE
    INSERT INTO pgcredit.late_fee_exception AS e (customer, policy, reason)
    VALUES (_set_late_fee_exception.customer, _set_late_fee_exception.policy, _set_late_fee_exception.reason)
    ON CONFLICT ON CONSTRAINT late_fee_exception_pkey DO UPDATE SET policy = EXCLUDED.policy, reason = EXCLUDED.reason,
      set_at = now()
    RETURNING * INTO after;
  END IF;
  PERFORM pgcredit._audit('set_customer_late_fee_policy', customer,
    CASE WHEN before.customer IS NOT NULL THEN jsonb_build_object('policy', before.policy, 'exempt', before.policy IS NULL) END,
    CASE WHEN after.customer IS NOT NULL THEN jsonb_build_object('policy', after.policy, 'exempt', after.policy IS NULL) END,
    reason);
END
$$;
COMMENT ON FUNCTION pgcredit._set_late_fee_exception(text, text, boolean, text) IS
  'set, clear (policy NULL) or make exempt a customer''s late fee exception, audited';
REVOKE EXECUTE ON FUNCTION pgcredit._set_late_fee_exception(text, text, boolean, text) FROM PUBLIC;

CREATE FUNCTION pgcredit.set_customer_late_fee_policy(customer text, policy text, reason text)
RETURNS void LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit._set_late_fee_exception($1, $2, false, $3) $$;
COMMENT ON FUNCTION pgcredit.set_customer_late_fee_policy(text, text, text) IS
  'charge one customer late fees by another policy than its tier''s; NULL: back to its tier''s; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_customer_late_fee_policy(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_customer_late_fee_policy(text, text, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.exempt_from_late_fees(customer text, reason text)
RETURNS void LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit._set_late_fee_exception($1, NULL, true, $2) $$;
COMMENT ON FUNCTION pgcredit.exempt_from_late_fees(text, text) IS
  'charge one customer no late fees, until set_customer_late_fee_policy gives it a policy again; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.exempt_from_late_fees(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.exempt_from_late_fees(text, text) TO pgcredit_controller;

-- The late fee policy of each of some customers on a day: its own, else
-- its tier's (the tier of its latest scoring on or before the day, else
-- its account's), else the default's
CREATE FUNCTION pgcredit._late_fee_policies(as_of date, customers text[])
RETURNS TABLE (customer text, policy text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT c.customer,
         CASE WHEN x.customer IS NOT NULL THEN x.policy
              ELSE coalesce((SELECT d.policy FROM pgcredit.late_fee_assignment d
                             WHERE d.tier = coalesce(
                               (SELECT h.tier FROM pgcredit.score_history h
                                WHERE h.customer = c.customer AND h.as_of <= $1
                                ORDER BY h.as_of DESC LIMIT 1),
                               (SELECT a.risk_tier FROM pgcredit.account a WHERE a.customer = c.customer))),
                            (SELECT d.policy FROM pgcredit.late_fee_assignment d WHERE d.tier = 'default')) END
  FROM (SELECT DISTINCT u.customer FROM unnest($2) AS u(customer) WHERE u.customer IS NOT NULL) c
  LEFT JOIN pgcredit.late_fee_exception x ON x.customer = c.customer
$$;
COMMENT ON FUNCTION pgcredit._late_fee_policies(date, text[]) IS
  'the late fee policy of each of the customers on a day (NULL: none): its exception, else its tier''s, else the default';
REVOKE EXECUTE ON FUNCTION pgcredit._late_fee_policies(date, text[]) FROM PUBLIC;

-- Every item past due on a day that dunning follows, with its customer's
-- late fee policy, the fee that policy computes up to the day, what is
-- settled already and what is left to propose
CREATE FUNCTION pgcredit._late_fees_at(as_of date)
RETURNS TABLE (customer text, relid oid, item_key jsonb, due date, amount numeric, days_late int,
               policy text, grace_days int, interest numeric, fee numeric, settled numeric,
               settled_until date, records int, proposed numeric)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH items AS MATERIALIZED (
    SELECT * FROM pgcredit._dunning_items($1) i WHERE i.due < $1),
  pol AS (
    SELECT p.customer, l.* FROM pgcredit._late_fee_policies($1, ARRAY(SELECT DISTINCT i.customer FROM items i)) p
    JOIN pgcredit.late_fee_policy l ON l.name = p.policy),
  done AS (
    SELECT f.relid, f.item_key, sum(f.proposed) FILTER (WHERE f.as_of <= $1) AS settled,
           max(f.as_of) FILTER (WHERE f.as_of <= $1) AS settled_until, count(*)::int AS records
    FROM pgcredit.late_fee f GROUP BY f.relid, f.item_key),
  computed AS (
    SELECT i.customer, i.relid, i.item_key, i.due, i.amount, $1 - i.due AS days_late,
           pol.name AS policy, pol.grace_days,
           round(i.amount * pol.annual_rate_pct / 100 * ($1 - i.due) / 365, 2) AS interest,
           pol.fixed_fee, pol.min_fee, pol.max_fee,
           coalesce(d.settled, 0.00) AS settled, d.settled_until, coalesce(d.records, 0) AS records
    FROM items i
    JOIN pol ON pol.customer = i.customer
    LEFT JOIN done d ON d.relid = i.relid AND d.item_key = i.item_key)
  SELECT c.customer, c.relid, c.item_key, c.due, c.amount, c.days_late, c.policy, c.grace_days, c.interest, f.fee,
         c.settled, c.settled_until, c.records, f.fee - c.settled
  FROM computed c
  CROSS JOIN LATERAL (
    SELECT CASE WHEN c.days_late > c.grace_days
                THEN round(least(greatest(c.interest + c.fixed_fee, c.min_fee), c.max_fee), 2)
                ELSE 0 END AS fee) f
$$;
COMMENT ON FUNCTION pgcredit._late_fees_at(date) IS
  'every item dunning follows that is past due on a day, with its late fee policy, the fee computed up to the day (0 within the grace days), the fees settled up to the day and what is left to propose';
REVOKE EXECUTE ON FUNCTION pgcredit._late_fees_at(date) FROM PUBLIC;

CREATE FUNCTION pgcredit.late_fee_proposals_at(as_of date)
RETURNS TABLE (day date, customer text, "table" regclass, item_key jsonb, due date, amount numeric,
               days_late int, policy text, interest numeric, fee numeric, settled numeric, settled_until date,
               proposed numeric, table_text text, item_key_text text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER ROWS 1000
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_day(as_of);
  RETURN QUERY
  SELECT late_fee_proposals_at.as_of, f.customer, f.relid::regclass, f.item_key, f.due, f.amount, f.days_late,
         f.policy, f.interest, f.fee, f.settled, f.settled_until, f.proposed,
         pgcredit._qualified_name(f.relid), f.item_key::text
  FROM pgcredit._late_fees_at(as_of) f
  WHERE f.days_late > f.grace_days AND f.proposed > 0
  ORDER BY f.customer COLLATE "C", f.due, f.relid, f.item_key::text COLLATE "C";
END
$$;
COMMENT ON FUNCTION pgcredit.late_fee_proposals_at(date) IS
  'the late fees proposed on a day: per item past due beyond its policy''s grace days, the interest from the due date, the fee (interest plus fixed fee, at least the minimum, at most the maximum), less the fees posted or waived for it up to the day';
REVOKE EXECUTE ON FUNCTION pgcredit.late_fee_proposals_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.late_fee_proposals_at(date) TO pgcredit_reader;

CREATE VIEW pgcredit.late_fee_proposals AS
  SELECT * FROM pgcredit.late_fee_proposals_at(pgcredit.as_of());
COMMENT ON VIEW pgcredit.late_fee_proposals IS
  'the late fees proposed on the day pgcredit.as_of(), for the application to post (post_late_fee) or a controller to waive (waive_late_fee)';
COMMENT ON COLUMN pgcredit.late_fee_proposals.day IS 'the day described';
COMMENT ON COLUMN pgcredit.late_fee_proposals.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.late_fee_proposals."table" IS 'the attached receivables table';
COMMENT ON COLUMN pgcredit.late_fee_proposals.item_key IS 'the item''s key: its primary key as a JSON object; for a table without one, {"(due)": date}';
COMMENT ON COLUMN pgcredit.late_fee_proposals.due IS 'its due date';
COMMENT ON COLUMN pgcredit.late_fee_proposals.amount IS 'its open amount on the day, in the account''s currency';
COMMENT ON COLUMN pgcredit.late_fee_proposals.days_late IS 'days from the due date to the day';
COMMENT ON COLUMN pgcredit.late_fee_proposals.policy IS 'its customer''s late fee policy';
COMMENT ON COLUMN pgcredit.late_fee_proposals.interest IS 'amount * annual_rate_pct / 100 * days_late / 365, rounded to cents';
COMMENT ON COLUMN pgcredit.late_fee_proposals.fee IS 'the fee up to the day: interest plus the fixed fee, at least min_fee, at most max_fee';
COMMENT ON COLUMN pgcredit.late_fee_proposals.settled IS 'the fees posted or waived for the item up to the day';
COMMENT ON COLUMN pgcredit.late_fee_proposals.settled_until IS 'the day of the last of them; NULL = none';
COMMENT ON COLUMN pgcredit.late_fee_proposals.proposed IS 'the fee proposed: fee - settled';
COMMENT ON COLUMN pgcredit.late_fee_proposals.table_text IS 'table as text, always schema.table';
COMMENT ON COLUMN pgcredit.late_fee_proposals.item_key_text IS 'item_key as text';
REVOKE ALL ON pgcredit.late_fee_proposals FROM PUBLIC;
GRANT SELECT ON pgcredit.late_fee_proposals TO pgcredit_reader;

-- Record a posting or a waiver of the fee proposed for one item on a day
CREATE FUNCTION pgcredit._settle_late_fee(tbl regclass, item_key jsonb, amount numeric, as_of date,
                                          status text, reason text)
RETURNS pgcredit.late_fee LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  k jsonb;
  f record;
  r pgcredit.late_fee;
  today date := pgcredit._horizon_today();
  latest date;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_day(as_of);
  IF tbl IS NULL OR item_key IS NULL THEN
    RAISE EXCEPTION 'table and item_key must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF jsonb_typeof(item_key) <> 'object' THEN
    RAISE EXCEPTION 'item_key must be a JSON object' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('item_key is %s.', item_key),
      HINT = 'Give the key as late_fee_proposals shows it, e.g. {"invoice_no": "1001"}.';
  END IF;
  IF NOT EXISTS (SELECT FROM pgcredit.attachment a WHERE a.relid = tbl AND a.kind = 'receivables') THEN
    RAISE EXCEPTION 'table "%" is not an attached receivables table', tbl USING ERRCODE = 'undefined_object';
  END IF;
  IF status = 'posted' THEN
    PERFORM pgcredit._check_amount('amount', amount);
    IF amount IS NULL OR amount = 0 THEN
      RAISE EXCEPTION 'amount must be above 0' USING ERRCODE = 'invalid_parameter_value',
        DETAIL = format('amount is %s.', coalesce(amount::text, 'NULL')),
        HINT = 'To charge nothing, waive the fee with pgcredit.waive_late_fee().';
    END IF;
  END IF;
  IF as_of > today THEN
    RAISE EXCEPTION 'cannot settle a late fee for a day to come' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('as_of is %s; today is %s.', as_of, today);
  END IF;
  -- the key's values as the proposals print them: text (numbers as strings)
  SELECT jsonb_object_agg(e.key, e.value) INTO k FROM jsonb_each_text(item_key) e;
  k := coalesce(k, '{}');
  SELECT max(l.as_of) INTO latest FROM pgcredit.late_fee l WHERE l.relid = tbl AND l.item_key = k;
  IF latest > as_of THEN
    RAISE EXCEPTION 'the late fee of item % of table % is settled up to %', k, tbl, latest
      USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = format('A fee cannot be settled for %s, an earlier day.', as_of),
      HINT = 'Settle the fee on the latest day: it includes what accrued before.';
  END IF;

  SELECT * INTO f FROM pgcredit._late_fees_at(as_of) x WHERE x.relid = tbl AND x.item_key = k;
  IF NOT FOUND THEN
    IF EXISTS (SELECT FROM pgcredit._open_items_at(as_of) o WHERE o.relid = tbl AND o.item_key = k AND o.due < as_of)
    THEN
      RAISE EXCEPTION 'no late fee is proposed for item % of table % on %', k, tbl, as_of
        USING ERRCODE = 'object_not_in_prerequisite_state',
        DETAIL = 'Its customer has no late fee policy, or the item has left dunning for a while (a dispute, a promise, a plan).';
    END IF;
    RAISE EXCEPTION 'item % of table % is not past due and open on %', k, tbl, as_of USING ERRCODE = 'no_data_found',
      HINT = 'pgcredit.late_fee_proposals_at() lists the items a fee is proposed for, with their keys.';
  END IF;
  IF f.days_late <= f.grace_days OR f.proposed <= 0 THEN
    RAISE EXCEPTION 'no late fee is proposed for item % of table % on %', k, tbl, as_of
      USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = CASE WHEN f.days_late <= f.grace_days
                    THEN format('It is %s days late, within the %s grace days of policy "%s".', f.days_late,
                                f.grace_days, f.policy)
                    ELSE format('Its fee up to the day, %s, is settled (%s, up to %s).', f.fee, f.settled,
                                f.settled_until) END;
  END IF;
  IF status = 'posted' AND amount > f.proposed THEN
    RAISE EXCEPTION 'amount is above the late fee proposed' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('amount is %s; the fee proposed for item %s of table %s on %s is %s.', amount, k, tbl,
                      as_of, f.proposed);
  END IF;

  BEGIN
    INSERT INTO pgcredit.late_fee AS l (relid, item_key, n, customer, as_of, status, amount, proposed, policy,
                                        days_late, reason, role_name)
    VALUES (tbl, k, f.records + 1, f.customer, _settle_late_fee.as_of, status,
            CASE WHEN status = 'posted' THEN _settle_late_fee.amount ELSE f.proposed END, f.proposed, f.policy,
            f.days_late, _settle_late_fee.reason, pgcredit._actor())
    RETURNING * INTO r;
  EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'could not settle the late fee of item % of table %', k, tbl
      USING ERRCODE = 'serialization_failure',
      DETAIL = 'Another late fee of the item was recorded at the same time.',
      HINT = 'Retry: the fee proposed then leaves out what the other settled.';
  END;
  PERFORM pgcredit._audit(CASE status WHEN 'posted' THEN 'post_late_fee' ELSE 'waive_late_fee' END, r.customer,
                          NULL, to_jsonb(r) - 'at' - 'reason' - 'role_name' - 'relid'
                                || jsonb_build_object('table', tbl::text), reason);
  RETURN r;
END
$$;
COMMENT ON FUNCTION pgcredit._settle_late_fee(regclass, jsonb, numeric, date, text, text) IS
  'record that the late fee proposed for an item on a day was posted (amount: what the application charged, at most the proposal) or waived; either settles the fee up to the day; audited';
REVOKE EXECUTE ON FUNCTION pgcredit._settle_late_fee(regclass, jsonb, numeric, date, text, text) FROM PUBLIC;

CREATE FUNCTION pgcredit.post_late_fee(tbl regclass, item_key jsonb, amount numeric, as_of date, reason text)
RETURNS pgcredit.late_fee LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit._settle_late_fee($1, $2, $3, $4, 'posted', $5) $$;
COMMENT ON FUNCTION pgcredit.post_late_fee(regclass, jsonb, numeric, date, text) IS
  'record that the application posted the late fee proposed for an item on a day (amount: what it charged, at most the proposal); settles the fee up to the day; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.post_late_fee(regclass, jsonb, numeric, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.post_late_fee(regclass, jsonb, numeric, date, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.waive_late_fee(tbl regclass, item_key jsonb, as_of date, reason text)
RETURNS pgcredit.late_fee LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit._settle_late_fee($1, $2, NULL, $3, 'waived', $4) $$;
COMMENT ON FUNCTION pgcredit.waive_late_fee(regclass, jsonb, date, text) IS
  'waive the late fee proposed for an item on a day, with a reason; settles the fee up to the day; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.waive_late_fee(regclass, jsonb, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.waive_late_fee(regclass, jsonb, date, text) TO pgcredit_controller;
-- <<< collections_terms

-- >>> exposure_history: as in sql/install/exposure_history.sql
-- Exposure history: every change of what the guard judges a customer by

----------------------------------------------------------------------
-- Exposure history
--
-- pgcredit.exposure holds, per customer, what the guard judges an order
-- by: receivables, open orders and the copies of the account's limit,
-- tolerance, status, temporary limit and cover.  Each change of any of
-- them adds a row here with the new values and the time of the change:
-- the guard writes it beside its own update of the exposure row (C, in
-- src/guard_exposure.c), and a trigger on pgcredit.exposure writes it for
-- every other change (attaching, limits, holds, covers, rebuilds).  Per
-- customer the changes are in the order of the exposure row's lock, so
-- the latest row at or before a time is what the guard judged by then.
-- settings.exposure_history turns it off.
----------------------------------------------------------------------

CREATE TABLE pgcredit.exposure_history (
  customer         text NOT NULL,
  changed_at       timestamptz NOT NULL,
  receivables      numeric NOT NULL,
  open_orders      numeric NOT NULL,
  has_account      boolean NOT NULL,
  credit_limit     numeric,
  tolerance_pct    numeric NOT NULL,
  status           text NOT NULL,
  temporary_limit  numeric,
  temporary_from   date,
  temporary_until  date,
  cover_counted    numeric,
  cover_from       date,
  cover_until      date,
  xact_id          bigint NOT NULL
);
CREATE INDEX exposure_history_customer ON pgcredit.exposure_history (customer, changed_at);
COMMENT ON TABLE pgcredit.exposure_history IS 'every change of a customer''s exposure row: the receivables, open orders and the copies of the account and cover the guard judges by, after the change, and when; written by the guard and by a trigger on pgcredit.exposure while settings.exposure_history is on';
COMMENT ON INDEX pgcredit.exposure_history_customer IS 'a customer''s changes in time order, for exposure_at()';
COMMENT ON COLUMN pgcredit.exposure_history.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.exposure_history.changed_at IS 'when the change was made (the clock when the customer''s exposure row was written, under its lock)';
COMMENT ON COLUMN pgcredit.exposure_history.receivables IS 'open receivables after the change';
COMMENT ON COLUMN pgcredit.exposure_history.open_orders IS 'open orders after the change';
COMMENT ON COLUMN pgcredit.exposure_history.has_account IS 'whether the customer had an account';
COMMENT ON COLUMN pgcredit.exposure_history.credit_limit IS 'the account''s credit limit (NULL: none)';
COMMENT ON COLUMN pgcredit.exposure_history.tolerance_pct IS 'the account''s tolerance, %';
COMMENT ON COLUMN pgcredit.exposure_history.status IS 'the account''s status';
COMMENT ON COLUMN pgcredit.exposure_history.temporary_limit IS 'the account''s temporary limit (NULL: none)';
COMMENT ON COLUMN pgcredit.exposure_history.temporary_from IS 'its first day (NULL: from when it was set)';
COMMENT ON COLUMN pgcredit.exposure_history.temporary_until IS 'its last day';
COMMENT ON COLUMN pgcredit.exposure_history.cover_counted IS 'the cover that counted towards the limit (NULL: none)';
COMMENT ON COLUMN pgcredit.exposure_history.cover_from IS 'the first day that cover counted (NULL: any day before cover_until)';
COMMENT ON COLUMN pgcredit.exposure_history.cover_until IS 'the last day it counted (NULL: any day after cover_from)';
COMMENT ON COLUMN pgcredit.exposure_history.xact_id IS 'the transaction that made the change (pg_current_xact_id()): its changes of one customer follow one another, and its last one is what it committed';
REVOKE ALL ON pgcredit.exposure_history FROM PUBLIC;
GRANT SELECT ON pgcredit.exposure_history TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.exposure_history', '');

-- The changes made with SQL (the guard's own are written by the guard,
-- which changes the row without firing triggers)
CREATE FUNCTION pgcredit._exposure_history_row()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF NOT coalesce((SELECT s.exposure_history FROM pgcredit.settings s), true) THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'DELETE' THEN
    INSERT INTO pgcredit.exposure_history (customer, changed_at, receivables, open_orders, has_account,
                                           tolerance_pct, status, xact_id)
    VALUES (OLD.customer, pg_catalog.clock_timestamp(), 0, 0, false, 0, 'ok',
            pg_catalog.pg_current_xact_id()::text::bigint);
  ELSIF TG_OP = 'INSERT'
        OR (NEW.receivables, NEW.open_orders, NEW.has_account, NEW.credit_limit, NEW.tolerance_pct,
            NEW.status, NEW.temporary_limit, NEW.temporary_from, NEW.temporary_until,
            NEW.cover_counted, NEW.cover_from, NEW.cover_until)
           IS DISTINCT FROM
           (OLD.receivables, OLD.open_orders, OLD.has_account, OLD.credit_limit, OLD.tolerance_pct,
            OLD.status, OLD.temporary_limit, OLD.temporary_from, OLD.temporary_until,
            OLD.cover_counted, OLD.cover_from, OLD.cover_until) THEN
    INSERT INTO pgcredit.exposure_history
    VALUES (NEW.customer, pg_catalog.clock_timestamp(), NEW.receivables, NEW.open_orders, NEW.has_account,
            NEW.credit_limit, NEW.tolerance_pct, NEW.status, NEW.temporary_limit, NEW.temporary_from,
            NEW.temporary_until, NEW.cover_counted, NEW.cover_from, NEW.cover_until,
            pg_catalog.pg_current_xact_id()::text::bigint);
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION pgcredit._exposure_history_row() IS
  'row trigger on pgcredit.exposure: records a change of what the guard judges by in exposure_history, when settings.exposure_history is on';
REVOKE EXECUTE ON FUNCTION pgcredit._exposure_history_row() FROM PUBLIC;
CREATE TRIGGER exposure_history AFTER INSERT OR UPDATE OR DELETE ON pgcredit.exposure
  FOR EACH ROW EXECUTE FUNCTION pgcredit._exposure_history_row();

-- Each customer's exposure row as it stood at the end of a day: from the
-- history for a day before today, the row itself from today on
CREATE FUNCTION pgcredit._exposure_state_at(day date, for_customer text)
RETURNS TABLE (customer text, receivables numeric, open_orders numeric, has_account boolean,
               credit_limit numeric, tolerance_pct numeric, status text, temporary_limit numeric,
               temporary_from date, temporary_until date, cover_counted numeric, cover_from date,
               cover_until date)
LANGUAGE plpgsql STABLE ROWS 10000
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF day IS NULL OR NOT isfinite(day) THEN
    RAISE EXCEPTION 'day must be a finite date' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF cardinality(pgcredit._citus_shells()) > 0 THEN
    -- on the coordinator of a Citus cluster (doc/citus.md): receivables
    -- and open orders as the guards on the workers kept them (now, or in
    -- their history), the account's copy as this node has it
    RETURN QUERY EXECUTE
      'WITH w AS (SELECT * FROM pgcredit._citus_exposure_at($2, $1)),
       e AS (SELECT x.customer, x.has_account, x.credit_limit, x.tolerance_pct, x.status, x.temporary_limit,
                    x.temporary_from, x.temporary_until, x.cover_counted, x.cover_from, x.cover_until
             FROM pgcredit.exposure x WHERE $2 >= current_date AND ($1 IS NULL OR x.customer = $1)
             UNION ALL
             SELECT h.customer, h.has_account, h.credit_limit, h.tolerance_pct, h.status, h.temporary_limit,
                    h.temporary_from, h.temporary_until, h.cover_counted, h.cover_from, h.cover_until
             FROM pgcredit.exposure x
             CROSS JOIN LATERAL (SELECT * FROM pgcredit.exposure_history y
                                 WHERE y.customer = x.customer AND y.changed_at < $3
                                 ORDER BY y.changed_at DESC LIMIT 1) h
             WHERE $2 < current_date AND ($1 IS NULL OR x.customer = $1))
       SELECT coalesce(e.customer, w.customer), coalesce(w.receivables, 0), coalesce(w.open_orders, 0),
              coalesce(e.has_account, false), e.credit_limit, coalesce(e.tolerance_pct, 0),
              coalesce(e.status, ''ok''), e.temporary_limit, e.temporary_from, e.temporary_until,
              e.cover_counted, e.cover_from, e.cover_until
       FROM e FULL JOIN w ON w.customer = e.customer'
    USING for_customer, day, (day + 1)::timestamptz;
  ELSIF day >= current_date THEN
    RETURN QUERY EXECUTE
      'SELECT e.customer, e.receivables, e.open_orders, e.has_account, e.credit_limit, e.tolerance_pct,
              e.status, e.temporary_limit, e.temporary_from, e.temporary_until, e.cover_counted,
              e.cover_from, e.cover_until
       FROM pgcredit.exposure e WHERE $1 IS NULL OR e.customer = $1'
    USING for_customer;
  ELSE
    -- the latest change before the next day began, each customer's found
    -- through the history's index (customers are those with an exposure
    -- row now: a row is never deleted but by detaching or rebuilding)
    RETURN QUERY EXECUTE
      'SELECT h.customer, h.receivables, h.open_orders, h.has_account, h.credit_limit, h.tolerance_pct,
              h.status, h.temporary_limit, h.temporary_from, h.temporary_until, h.cover_counted,
              h.cover_from, h.cover_until
       FROM pgcredit.exposure e
       CROSS JOIN LATERAL (SELECT * FROM pgcredit.exposure_history x
                           WHERE x.customer = e.customer AND x.changed_at < $2
                           ORDER BY x.changed_at DESC LIMIT 1) h
       WHERE $1 IS NULL OR e.customer = $1'
    USING for_customer, (day + 1)::timestamptz;
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._exposure_state_at(date, text) IS
  'each customer''s (one customer''s, unless NULL) exposure row at the end of a day: from exposure_history before today (the latest change before the next day began; no row for a customer without one), the row itself from today on';
REVOKE EXECUTE ON FUNCTION pgcredit._exposure_state_at(date, text) FROM PUBLIC;
-- customer_risk_at() calls it as its reader
GRANT EXECUTE ON FUNCTION pgcredit._exposure_state_at(date, text) TO pgcredit_reader;

-- The customer's exposure row as a transaction committed it, the last
-- committed by a time: the latest change by then, and the changes of the
-- same transaction after it (they follow one another, under the
-- exposure row's lock; a held order, added and taken out again, never
-- was the exposure).  NULL: nothing recorded for the customer by then.
CREATE FUNCTION pgcredit._exposure_history_row(for_customer text, at_time timestamptz)
RETURNS pgcredit.exposure_history LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  h pgcredit.exposure_history;
  n pgcredit.exposure_history;
BEGIN
  SELECT * INTO h FROM pgcredit.exposure_history x
  WHERE x.customer = for_customer AND x.changed_at <= at_time
  ORDER BY x.changed_at DESC LIMIT 1;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  FOR n IN SELECT * FROM pgcredit.exposure_history x
           WHERE x.customer = for_customer AND x.changed_at > h.changed_at
           ORDER BY x.changed_at LOOP
    EXIT WHEN n.xact_id <> h.xact_id;
    h := n;
  END LOOP;
  RETURN h;
END
$$;
COMMENT ON FUNCTION pgcredit._exposure_history_row(text, timestamptz) IS
  'the customer''s exposure row as the last transaction committed by a time left it, from exposure_history (NULL: nothing recorded by then)';
REVOKE EXECUTE ON FUNCTION pgcredit._exposure_history_row(text, timestamptz) FROM PUBLIC;
-- exposure_at() calls it as its reader
GRANT EXECUTE ON FUNCTION pgcredit._exposure_history_row(text, timestamptz) TO pgcredit_reader;

-- What the guard judged a customer by at a time
CREATE FUNCTION pgcredit.exposure_at(for_customer text, at_time timestamptz)
RETURNS TABLE (customer text, at timestamptz, changed_at timestamptz, receivables numeric,
               open_orders numeric, exposure numeric, has_account boolean, credit_limit numeric,
               limit_in_force numeric, tolerance_pct numeric, cover_counted numeric,
               available_credit numeric, status text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  key text := for_customer;
  h pgcredit.exposure_history;
  day date;
BEGIN
  IF key IS NULL OR at_time IS NULL THEN
    RAISE EXCEPTION 'customer and time must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT isfinite(at_time) THEN
    RAISE EXCEPTION 'time must be finite' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- what the last transaction by then committed: from the history of the
  -- worker holding the customer on the coordinator of a Citus cluster
  -- with distributed tables attached (doc/citus.md), what the guard there
  -- judged by
  IF cardinality(pgcredit._citus_shells()) > 0 THEN
    h := jsonb_populate_record(NULL::pgcredit.exposure_history, pgcredit._citus_history_row(key, at_time));
  ELSE
    h := pgcredit._exposure_history_row(key, at_time);
  END IF;
  IF h.customer IS NULL THEN
    RETURN;       -- nothing recorded for the customer by then
  END IF;
  -- the day of the time, in the session's time zone, as the guard's today
  day := at_time::date;
  customer := key;
  at := at_time;
  changed_at := h.changed_at;
  -- money to the cent, whatever the tables' scales
  receivables := round(h.receivables, 2);
  open_orders := round(h.open_orders, 2);
  exposure := round(h.receivables + h.open_orders, 2);
  has_account := h.has_account;
  credit_limit := round(h.credit_limit, 2);
  limit_in_force := round(CASE WHEN h.has_account THEN
    pgcredit._effective_limit(h.credit_limit, h.temporary_limit, h.temporary_from, h.temporary_until, day) END, 2);
  tolerance_pct := h.tolerance_pct;
  cover_counted := round(CASE WHEN (h.cover_from IS NULL OR day >= h.cover_from)
                                   AND (h.cover_until IS NULL OR day <= h.cover_until)
                              THEN coalesce(h.cover_counted, 0) ELSE 0 END, 2);
  available_credit := round(limit_in_force * (1 + h.tolerance_pct / 100) + cover_counted
                            - (h.receivables + h.open_orders), 2);
  status := CASE WHEN h.has_account THEN h.status ELSE 'no account' END;
  RETURN NEXT;
END
$$;
COMMENT ON FUNCTION pgcredit.exposure_at(text, timestamptz) IS
  'what the guard judged a customer by at a time, from exposure_history (the last change of the latest transaction that had changed it by then): receivables, open orders, exposure, the limit and the limit in force on that day, tolerance, the cover that counted, the credit available and the status; no row when nothing was recorded for the customer by then';
REVOKE EXECUTE ON FUNCTION pgcredit.exposure_at(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.exposure_at(text, timestamptz) TO pgcredit_reader;

-- Every customer's exposure row as it stands, as one change now: where the
-- history starts when it is turned on, and when pgcredit is updated to 1.1
CREATE FUNCTION pgcredit._exposure_history_seed()
RETURNS bigint LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH n AS (
    INSERT INTO pgcredit.exposure_history
    SELECT e.customer, pg_catalog.clock_timestamp(), e.receivables, e.open_orders, e.has_account,
           e.credit_limit, e.tolerance_pct, e.status, e.temporary_limit, e.temporary_from,
           e.temporary_until, e.cover_counted, e.cover_from, e.cover_until,
           pg_catalog.pg_current_xact_id()::text::bigint
    FROM pgcredit.exposure e
    RETURNING 1)
  SELECT count(*) FROM n
$$;
COMMENT ON FUNCTION pgcredit._exposure_history_seed() IS
  'record every customer''s exposure row as it stands in exposure_history; returns how many';
REVOKE EXECUTE ON FUNCTION pgcredit._exposure_history_seed() FROM PUBLIC;

CREATE FUNCTION pgcredit.set_exposure_history(enabled boolean, reason text)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before boolean;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF enabled IS NULL THEN
    RAISE EXCEPTION 'enabled must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT s.exposure_history INTO before FROM pgcredit.settings s FOR UPDATE;
  INSERT INTO pgcredit.settings AS s (exposure_history) VALUES (enabled)
  ON CONFLICT (only_row) DO UPDATE SET exposure_history = EXCLUDED.exposure_history;
  -- turned on again: the history goes on from every customer's exposure
  -- as it stands (what changed while it was off is not known)
  IF enabled AND NOT coalesce(before, true) THEN
    PERFORM pgcredit._exposure_history_seed();
  END IF;
  PERFORM pgcredit._audit('set_exposure_history', NULL,
    jsonb_build_object('exposure_history', coalesce(before, true)),
    jsonb_build_object('exposure_history', enabled), reason);
END
$$;
COMMENT ON FUNCTION pgcredit.set_exposure_history(boolean, text) IS
  'whether every change of a customer''s exposure row is recorded in exposure_history (on by default); audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_exposure_history(boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_exposure_history(boolean, text) TO pgcredit_admin;
-- <<< exposure_history

-- A database updated from 1.0 starts its history with what it holds
SELECT pgcredit._exposure_history_seed();

-- >>> losses (losses.sql)
-- Foresight: losses as data, write-offs and recoveries (doc/foresight.md)

----------------------------------------------------------------------
-- What the company lost on each customer and got back: the loss history
-- that expected credit loss and post-mortems read.  Written through
-- write_off(), write_off_dispute() and record_recovery() only, every one
-- audited; amounts in the customer's account currency, as exposure.
----------------------------------------------------------------------

CREATE TABLE pgcredit.write_off (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer       text NOT NULL CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  amount         numeric NOT NULL CONSTRAINT write_off_amount CHECK (amount > 0 AND amount < 'Infinity'),
  written_off_on date NOT NULL CONSTRAINT write_off_day CHECK (written_off_on > '-infinity' AND written_off_on < 'infinity'),
  reason         text NOT NULL,
  dispute_id     bigint REFERENCES pgcredit.collection_dispute,
  recorded_by    name NOT NULL,
  recorded_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX write_off_customer ON pgcredit.write_off (customer, written_off_on);
CREATE INDEX write_off_day ON pgcredit.write_off (written_off_on);
COMMENT ON INDEX pgcredit.write_off_customer IS 'a customer''s write-offs in time order';
COMMENT ON INDEX pgcredit.write_off_day IS 'the write-offs of a period, for loss rates';
COMMENT ON TABLE pgcredit.write_off IS 'amounts owed that the company wrote off as lost, per customer and day; written by write_off() and write_off_dispute() only, every one audited';
COMMENT ON COLUMN pgcredit.write_off.id IS 'the write-off''s number, for record_recovery()';
COMMENT ON COLUMN pgcredit.write_off.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.write_off.amount IS 'the amount written off, above zero, in the account''s currency';
COMMENT ON COLUMN pgcredit.write_off.written_off_on IS 'the day it was written off';
COMMENT ON COLUMN pgcredit.write_off.reason IS 'why, as given';
COMMENT ON COLUMN pgcredit.write_off.dispute_id IS 'the dispute written off with write_off_dispute(), when it came from one';
COMMENT ON COLUMN pgcredit.write_off.recorded_by IS 'the role that recorded it';
COMMENT ON COLUMN pgcredit.write_off.recorded_at IS 'when it was recorded';
REVOKE ALL ON pgcredit.write_off FROM PUBLIC;
GRANT SELECT ON pgcredit.write_off TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.write_off', '');
COMMENT ON SEQUENCE pgcredit.write_off_id_seq IS 'numbers of write-offs (write_off.id)';
SELECT pg_catalog.pg_extension_config_dump('pgcredit.write_off_id_seq', '');

CREATE TABLE pgcredit.recovery (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  write_off_id   bigint NOT NULL REFERENCES pgcredit.write_off,
  amount         numeric NOT NULL CONSTRAINT recovery_amount CHECK (amount > 0 AND amount < 'Infinity'),
  recovered_on   date NOT NULL CONSTRAINT recovery_day CHECK (recovered_on > '-infinity' AND recovered_on < 'infinity'),
  reason         text NOT NULL,
  recorded_by    name NOT NULL,
  recorded_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX recovery_write_off ON pgcredit.recovery (write_off_id);
COMMENT ON INDEX pgcredit.recovery_write_off IS 'the recoveries of a write-off';
COMMENT ON TABLE pgcredit.recovery IS 'amounts recovered after a write-off (a late payment, a dividend of an insolvency, an insurer''s payment); written by record_recovery() only, audited; never more than the write-off in all';
COMMENT ON COLUMN pgcredit.recovery.id IS 'the recovery''s number';
COMMENT ON COLUMN pgcredit.recovery.write_off_id IS 'the write-off it recovers part of';
COMMENT ON COLUMN pgcredit.recovery.amount IS 'the amount recovered, above zero, in the account''s currency';
COMMENT ON COLUMN pgcredit.recovery.recovered_on IS 'the day it was recovered';
COMMENT ON COLUMN pgcredit.recovery.reason IS 'how, as given';
COMMENT ON COLUMN pgcredit.recovery.recorded_by IS 'the role that recorded it';
COMMENT ON COLUMN pgcredit.recovery.recorded_at IS 'when it was recorded';
REVOKE ALL ON pgcredit.recovery FROM PUBLIC;
GRANT SELECT ON pgcredit.recovery TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.recovery', '');
COMMENT ON SEQUENCE pgcredit.recovery_id_seq IS 'numbers of recoveries (recovery.id)';
SELECT pg_catalog.pg_extension_config_dump('pgcredit.recovery_id_seq', '');

-- The checks of an amount and a day of a loss, shared
CREATE FUNCTION pgcredit._check_loss(what text, amount numeric, day date)
RETURNS void LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF amount IS NULL THEN
    RAISE EXCEPTION '% amount must not be null', what USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM pgcredit._check_amount(what || ' amount', amount);
  IF amount = 0 THEN
    RAISE EXCEPTION '% amount must be above zero', what USING ERRCODE = 'invalid_parameter_value',
      HINT = 'Record only what was lost or recovered.';
  END IF;
  IF day IS NULL THEN
    RAISE EXCEPTION '% day must not be null', what USING ERRCODE = 'null_value_not_allowed';
  ELSIF day IN ('infinity', '-infinity') THEN
    RAISE EXCEPTION '% day must be a finite date', what USING ERRCODE = 'invalid_datetime_format';
  ELSIF day > pgcredit._horizon_today() THEN
    RAISE EXCEPTION '% day must not be in the future', what USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('The day given is %s; today is %s.', to_char(day, 'YYYY-MM-DD'),
                      to_char(pgcredit._horizon_today(), 'YYYY-MM-DD'));
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_loss(text, numeric, date) IS
  'refuse a write-off''s or recovery''s amount that is missing, NaN, infinite, negative or zero, and a day missing, infinite or after today';
REVOKE EXECUTE ON FUNCTION pgcredit._check_loss(text, numeric, date) FROM PUBLIC;

CREATE FUNCTION pgcredit.write_off(customer text, amount numeric, written_off_on date, reason text)
RETURNS pgcredit.write_off LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  w pgcredit.write_off;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF customer IS NULL THEN
    RAISE EXCEPTION 'customer must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM pgcredit._check_loss('write-off', amount, written_off_on);
  -- a customer pgcredit knows: one with an account or an exposure row
  -- (every customer of an attached table has one once it wrote a row)
  IF NOT EXISTS (SELECT FROM pgcredit.account a WHERE a.customer = write_off.customer)
     AND NOT EXISTS (SELECT FROM pgcredit.exposure e WHERE e.customer = write_off.customer) THEN
    RAISE EXCEPTION 'customer "%" is unknown', customer USING ERRCODE = 'PC028',
      DETAIL = 'It has no credit account and no row in the attached tables.',
      HINT = 'Write off what a known customer owes; check the customer key.';
  END IF;
  INSERT INTO pgcredit.write_off (customer, amount, written_off_on, reason, recorded_by)
  VALUES (write_off.customer, write_off.amount, write_off.written_off_on, write_off.reason, pgcredit._actor())
  RETURNING * INTO w;
  PERFORM pgcredit._audit('write_off', w.customer, NULL, to_jsonb(w), reason);
  RETURN w;
END
$$;
COMMENT ON FUNCTION pgcredit.write_off(text, numeric, date, text) IS
  'record an amount a known customer owed as lost on a day (not after today), in the account''s currency; the company''s own ledger is not changed; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.write_off(text, numeric, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.write_off(text, numeric, date, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.record_recovery(write_off_id bigint, amount numeric, recovered_on date, reason text)
RETURNS pgcredit.recovery LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  w pgcredit.write_off;
  before numeric;
  r pgcredit.recovery;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF write_off_id IS NULL THEN
    RAISE EXCEPTION 'write-off id must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM pgcredit._check_loss('recovery', amount, recovered_on);
  -- the write-off locked: two recoveries at once cannot together pass it
  SELECT * INTO w FROM pgcredit.write_off x WHERE x.id = record_recovery.write_off_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'write-off % does not exist', write_off_id USING ERRCODE = 'PC029',
      HINT = 'pgcredit.write_off lists the write-offs.';
  END IF;
  IF recovered_on < w.written_off_on THEN
    RAISE EXCEPTION 'a recovery must not be before its write-off' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('Write-off %s is of %s; recovered_on is %s.', w.id,
                      to_char(w.written_off_on, 'YYYY-MM-DD'), to_char(recovered_on, 'YYYY-MM-DD'));
  END IF;
  SELECT coalesce(sum(x.amount), 0) INTO before FROM pgcredit.recovery x WHERE x.write_off_id = w.id;
  IF before + amount > w.amount THEN
    RAISE EXCEPTION 'recoveries would exceed the write-off' USING ERRCODE = 'PC030',
      DETAIL = format('Write-off %s is of %s, of which %s is recovered already; %s more is asked.',
                      w.id, w.amount, before, amount),
      HINT = 'A payment beyond what was written off is not a recovery.';
  END IF;
  INSERT INTO pgcredit.recovery (write_off_id, amount, recovered_on, reason, recorded_by)
  VALUES (w.id, record_recovery.amount, record_recovery.recovered_on, record_recovery.reason, pgcredit._actor())
  RETURNING * INTO r;
  PERFORM pgcredit._audit('record_recovery', w.customer, NULL, to_jsonb(r), reason);
  RETURN r;
END
$$;
COMMENT ON FUNCTION pgcredit.record_recovery(bigint, numeric, date, text) IS
  'record an amount recovered on a write-off on a day (not before it, not after today); the recoveries of a write-off never exceed it; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.record_recovery(bigint, numeric, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.record_recovery(bigint, numeric, date, text) TO pgcredit_controller;

-- Losses by customer and month, for BI
CREATE VIEW pgcredit.losses AS
WITH m AS (
  SELECT w.customer, date_trunc('month', w.written_off_on)::date AS month, w.amount AS written_off, 0::numeric AS recovered
  FROM pgcredit.write_off w
  UNION ALL
  SELECT w.customer, date_trunc('month', r.recovered_on)::date, 0, r.amount
  FROM pgcredit.recovery r JOIN pgcredit.write_off w ON w.id = r.write_off_id)
SELECT m.customer, m.month, round(sum(m.written_off), 2) AS written_off, round(sum(m.recovered), 2) AS recovered,
       round(sum(m.written_off) - sum(m.recovered), 2) AS net_loss
FROM m GROUP BY m.customer, m.month;
COMMENT ON VIEW pgcredit.losses IS 'per customer and month: the amounts written off, recovered, and the net loss';
COMMENT ON COLUMN pgcredit.losses.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.losses.month IS 'the first day of the month';
COMMENT ON COLUMN pgcredit.losses.written_off IS 'written off in the month';
COMMENT ON COLUMN pgcredit.losses.recovered IS 'recovered in the month, on write-offs of any month';
COMMENT ON COLUMN pgcredit.losses.net_loss IS 'written_off less recovered';
REVOKE ALL ON pgcredit.losses FROM PUBLIC;
GRANT SELECT ON pgcredit.losses TO pgcredit_reader;

-- What the signals said before each write-off: the customer's scores and
-- tiers, limit and status, alerts and dunning in the months before
CREATE VIEW pgcredit.write_off_post_mortem AS
SELECT w.id AS write_off_id, w.customer, w.written_off_on, round(w.amount, 2) AS written_off,
       round(w.amount - coalesce(rec.recovered, 0), 2) AS net_loss,
       s12.combined_score AS score_12m_before, s12.tier AS tier_12m_before,
       s6.combined_score AS score_6m_before, s6.tier AS tier_6m_before,
       s3.combined_score AS score_3m_before, s3.tier AS tier_3m_before,
       sl.combined_score AS last_score, sl.tier AS last_tier, sl.as_of AS last_scored_on,
       round(h12.credit_limit, 2) AS limit_12m_before, round(hl.credit_limit, 2) AS limit_at_write_off,
       hl.status AS status_at_write_off,
       coalesce(al.alerts, 0) AS alerts_12m, al.first_alert_on, al.alert_kinds,
       coalesce(du.actions, 0) AS dunning_actions_12m, du.first_dunning_on, du.highest_level AS highest_dunning_level
FROM pgcredit.write_off w
LEFT JOIN LATERAL (SELECT sum(r.amount) AS recovered FROM pgcredit.recovery r WHERE r.write_off_id = w.id) rec ON true
-- the latest scoring on or before 12, 6 and 3 months before, and before the day
LEFT JOIN LATERAL (SELECT h.combined_score, h.tier FROM pgcredit.score_history h
                   WHERE h.customer = w.customer AND h.as_of <= (w.written_off_on - interval '12 months')::date
                   ORDER BY h.as_of DESC LIMIT 1) s12 ON true
LEFT JOIN LATERAL (SELECT h.combined_score, h.tier FROM pgcredit.score_history h
                   WHERE h.customer = w.customer AND h.as_of <= (w.written_off_on - interval '6 months')::date
                   ORDER BY h.as_of DESC LIMIT 1) s6 ON true
LEFT JOIN LATERAL (SELECT h.combined_score, h.tier FROM pgcredit.score_history h
                   WHERE h.customer = w.customer AND h.as_of <= (w.written_off_on - interval '3 months')::date
                   ORDER BY h.as_of DESC LIMIT 1) s3 ON true
LEFT JOIN LATERAL (SELECT h.combined_score, h.tier, h.as_of FROM pgcredit.score_history h
                   WHERE h.customer = w.customer AND h.as_of < w.written_off_on
                   ORDER BY h.as_of DESC LIMIT 1) sl ON true
-- the limit and status the guard held then (exposure_history)
LEFT JOIN LATERAL (SELECT x.credit_limit FROM pgcredit.exposure_history x
                   WHERE x.customer = w.customer AND x.changed_at < (w.written_off_on - interval '12 months' + interval '1 day')
                   ORDER BY x.changed_at DESC LIMIT 1) h12 ON true
LEFT JOIN LATERAL (SELECT x.credit_limit, x.status FROM pgcredit.exposure_history x
                   WHERE x.customer = w.customer AND x.changed_at < (w.written_off_on + 1)
                   ORDER BY x.changed_at DESC LIMIT 1) hl ON true
-- the alerts of the twelve months up to the day (by the day they name, else
-- the day raised)
LEFT JOIN LATERAL (SELECT count(*) AS alerts, min(d.day) AS first_alert_on,
                          string_agg(DISTINCT a.kind, ', ' ORDER BY a.kind) AS alert_kinds
                   FROM pgcredit.alert a
                   CROSS JOIN LATERAL (SELECT coalesce((a.details ->> 'as_of')::date, a.raised_at::date) AS day) d
                   WHERE a.customer = w.customer
                     AND d.day > (w.written_off_on - interval '12 months')::date AND d.day <= w.written_off_on) al ON true
-- the dunning of those months
LEFT JOIN LATERAL (SELECT count(*) AS actions, min(c.as_of) AS first_dunning_on, max(c.level) AS highest_level
                   FROM pgcredit.collection_action c
                   WHERE c.customer = w.customer
                     AND c.as_of > (w.written_off_on - interval '12 months')::date AND c.as_of <= w.written_off_on) du ON true;
COMMENT ON VIEW pgcredit.write_off_post_mortem IS 'for each write-off, what the signals said before it: the customer''s combined score and tier 12, 6 and 3 months before and at its last scoring, its limit then and at the write-off, its status, the alerts and the dunning of the twelve months before';
COMMENT ON COLUMN pgcredit.write_off_post_mortem.write_off_id IS 'the write-off';
COMMENT ON COLUMN pgcredit.write_off_post_mortem.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.write_off_post_mortem.written_off_on IS 'the day written off';
COMMENT ON COLUMN pgcredit.write_off_post_mortem.written_off IS 'the amount written off';
COMMENT ON COLUMN pgcredit.write_off_post_mortem.net_loss IS 'less what was recovered on it';
COMMENT ON COLUMN pgcredit.write_off_post_mortem.score_12m_before IS 'the combined score of the latest scoring on or before 12 months before (NULL: none)';
COMMENT ON COLUMN pgcredit.write_off_post_mortem.tier_12m_before IS 'its tier';
COMMENT ON COLUMN pgcredit.write_off_post_mortem.score_6m_before IS 'the same 6 months before';
COMMENT ON COLUMN pgcredit.write_off_post_mortem.tier_6m_before IS 'its tier';
COMMENT ON COLUMN pgcredit.write_off_post_mortem.score_3m_before IS 'the same 3 months before';
COMMENT ON COLUMN pgcredit.write_off_post_mortem.tier_3m_before IS 'its tier';
COMMENT ON COLUMN pgcredit.write_off_post_mortem.last_score IS 'the combined score of the last scoring before the write-off';
COMMENT ON COLUMN pgcredit.write_off_post_mortem.last_tier IS 'its tier';
COMMENT ON COLUMN pgcredit.write_off_post_mortem.last_scored_on IS 'the day of that scoring';
COMMENT ON COLUMN pgcredit.write_off_post_mortem.limit_12m_before IS 'the credit limit the guard held at the end of the day 12 months before (exposure_history; NULL: none recorded by then)';
COMMENT ON COLUMN pgcredit.write_off_post_mortem.limit_at_write_off IS 'the credit limit at the end of the day written off';
COMMENT ON COLUMN pgcredit.write_off_post_mortem.status_at_write_off IS 'the account status then';
COMMENT ON COLUMN pgcredit.write_off_post_mortem.alerts_12m IS 'alerts of the twelve months up to the write-off (by the day they name, else the day raised)';
COMMENT ON COLUMN pgcredit.write_off_post_mortem.first_alert_on IS 'the day of the first of them';
COMMENT ON COLUMN pgcredit.write_off_post_mortem.alert_kinds IS 'their kinds, comma-separated';
COMMENT ON COLUMN pgcredit.write_off_post_mortem.dunning_actions_12m IS 'dunning actions of those months';
COMMENT ON COLUMN pgcredit.write_off_post_mortem.first_dunning_on IS 'the day of the first';
COMMENT ON COLUMN pgcredit.write_off_post_mortem.highest_dunning_level IS 'the highest level reached';
REVOKE ALL ON pgcredit.write_off_post_mortem FROM PUBLIC;
GRANT SELECT ON pgcredit.write_off_post_mortem TO pgcredit_reader;
-- <<< losses

-- >>> the kept book (book_cache.sql): exposure.book_version, set by the
-- guard at every change of a receivables row, and the book of a day kept
ALTER TABLE pgcredit.exposure ADD COLUMN book_version bigint;
COMMENT ON COLUMN pgcredit.exposure.book_version IS 'set from book_version_seq by the guard at every change of a row of the customer''s in an attached receivables table (NULL: none since the row was made): the kept book (book_cache) holds a customer''s figures while it has the same';
CREATE SEQUENCE pgcredit.book_version_seq;
-- owned as the exposure table is, so that it may be tied to its column
ALTER SEQUENCE pgcredit.book_version_seq OWNER TO pgcredit_owner;
ALTER SEQUENCE pgcredit.book_version_seq OWNED BY pgcredit.exposure.book_version;
COMMENT ON SEQUENCE pgcredit.book_version_seq IS 'the versions the guard gives exposure.book_version';
REVOKE ALL ON SEQUENCE pgcredit.book_version_seq FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.book_version_seq', '');

CREATE FUNCTION pgcredit._receivable_stats_computed(as_of date, for_customer text)
RETURNS TABLE (customer text, receivables numeric, current numeric, days_1_30 numeric,
               days_31_60 numeric, days_61_90 numeric, days_over_90 numeric,
               oldest_days_past_due int, dso_90 numeric, last_payment date,
               behavioural_score numeric, invoiced_12m numeric)
LANGUAGE plpgsql STABLE ROWS 10000
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  items text;
  score text := 'pgcredit.credit_score(invoice_amount, due, paid_on, $1)';
  disputed_out boolean := false;
BEGIN
  -- an item whose dispute is open on the day leaves the behavioural score
  -- when the settings say so (collections_disputes.sql); every other
  -- figure counts it, for it is owed.  Without such a dispute nothing
  -- more is read.
  IF EXISTS (SELECT FROM pgcredit.collection_dispute d
             WHERE d.opened_on <= as_of AND (d.closed_on IS NULL OR d.closed_on > as_of)) THEN
    IF NOT (SELECT r.disputed_in_score FROM pgcredit._settings_or_default() r) THEN
      items := pgcredit._receivable_items_disputed_sql(for_customer IS NOT NULL);
      score := score || ' FILTER (WHERE NOT disputed)';
      disputed_out := true;
    END IF;
  END IF;
  -- every customer, no dispute out of the score: the figures are
  -- aggregated as the tables are read, with nothing copied
  IF for_customer IS NULL AND NOT disputed_out THEN
    BEGIN
      RETURN QUERY SELECT * FROM pgcredit._receivable_book(as_of);
      RETURN;
    EXCEPTION WHEN program_limit_exceeded THEN
      -- more customers than a hash aggregate's memory holds (the book
      -- stops before it returns a row): the SQL below, which spills
      NULL;
    END;
  END IF;
  items := coalesce(items, pgcredit._receivable_items_sql(for_customer IS NOT NULL));
  -- one pass over every attached receivables table, every figure at once;
  -- the day goes in as a constant (the aggregates run several times faster
  -- than with a parameter), and customers are grouped bytewise
  RETURN QUERY EXECUTE replace(format(
    'SELECT customer, (g).total, (g).current, (g).days_1_30, (g).days_31_60, (g).days_61_90,
            (g).days_over_90, oldest, dso, last_payment, score, invoiced
     FROM (SELECT customer COLLATE "C" AS customer,
                  pgcredit.aging(open_amount, due, $1) AS g,
                  max(CASE WHEN open_amount > 0 AND due < $1 THEN $1 - due END) AS oldest,
                  pgcredit.dso(invoice_amount, invoiced_on, paid_on, $1, 90) AS dso,
                  max(paid_on) FILTER (WHERE paid_on <= $1) AS last_payment,
                  %s AS score,
                  sum(invoice_amount) FILTER (WHERE invoiced_on > $1 - 365 AND invoiced_on <= $1) AS invoiced
           FROM (%s) items
           GROUP BY 1) s',
    score, items), '$1', quote_literal(as_of::text) || '::date')
  -- the customer goes in as the parameter $2, never into the text
  USING as_of, for_customer;
END
$$;
COMMENT ON FUNCTION pgcredit._receivable_stats_computed(date, text) IS
  'the rows of receivable_stats(as_of, for_customer) computed from the attached tables, without the kept book';
REVOKE EXECUTE ON FUNCTION pgcredit._receivable_stats_computed(date, text) FROM PUBLIC;

-- The same pass for the kept book (book_cache.sql), with each customer's
-- share of portfolio_stats() and its row of _newly_overdue()
CREATE FUNCTION pgcredit._receivable_book_kept(as_of date, overdue_days int, overdue_window int)
RETURNS TABLE (customer text, receivables numeric, current numeric, days_1_30 numeric,
               days_31_60 numeric, days_61_90 numeric, days_over_90 numeric,
               oldest_days_past_due int, dso_90 numeric, last_payment date,
               behavioural_score numeric, invoiced_12m numeric,
               dso_receivables numeric, dso_not_due numeric, dso_sales numeric,
               late_first_due date, late_items bigint)
AS 'MODULE_PATHNAME', 'pgc_receivable_book_kept'
LANGUAGE C STABLE ROWS 10000;
COMMENT ON FUNCTION pgcredit._receivable_book_kept(date, integer, integer) IS
  'the rows of _receivable_book(as_of) with each customer''s sums of dso_report(invoice_amount, invoiced_on, due, paid_on, as_of, 90) and its row of _newly_overdue(as_of, overdue_days, overdue_window), for the kept book';
REVOKE EXECUTE ON FUNCTION pgcredit._receivable_book_kept(date, integer, integer) FROM PUBLIC;

-- Risk: the book of a day kept, so that the whole book is read rather
-- than recomputed (doc/risk.md, "The kept book")

----------------------------------------------------------------------
-- What receivable_stats() gives for every customer on one day, kept
-- with each customer's book version (exposure.book_version) as it was
-- when computed.  A customer whose version has changed since, through a
-- change of a row of its in an attached receivables table, is computed
-- again when read; a change of anything else the figures depend on (the
-- attachments, the rates, the base currency, an account's currency, a
-- rebuild of exposure) or a new day makes the whole book be computed
-- again, until refresh_book() keeps it anew.
----------------------------------------------------------------------

CREATE TABLE pgcredit.book_state (
  one              boolean PRIMARY KEY DEFAULT true CONSTRAINT book_state_one CHECK (one),
  generation       bigint NOT NULL DEFAULT 0,
  day              date,
  built_on         date,
  built_generation bigint,
  built_at         timestamptz,
  customers        bigint,
  overdue_days     int,
  overdue_window   int
);
COMMENT ON TABLE pgcredit.book_state IS 'one row: which day the kept book (book_cache) describes, and whether it still holds';
COMMENT ON COLUMN pgcredit.book_state.one IS 'true: the table has one row';
COMMENT ON COLUMN pgcredit.book_state.generation IS 'raised by every change the figures depend on beyond the customers'' rows: attachments, rates, settings, accounts'' currencies, rebuild_exposure()';
COMMENT ON COLUMN pgcredit.book_state.day IS 'the day the kept book describes (NULL: none is kept)';
COMMENT ON COLUMN pgcredit.book_state.built_on IS 'the day it was computed on: on another day it is computed again';
COMMENT ON COLUMN pgcredit.book_state.built_generation IS 'generation when it was computed: it holds while generation is the same';
COMMENT ON COLUMN pgcredit.book_state.built_at IS 'when it was computed last, in whole or in part';
COMMENT ON COLUMN pgcredit.book_state.customers IS 'rows of book_cache when it was computed whole';
COMMENT ON COLUMN pgcredit.book_state.overdue_days IS 'the days past due of the newly overdue items kept (risk_settings.watch_overdue_days when kept)';
COMMENT ON COLUMN pgcredit.book_state.overdue_window IS 'the window of the newly overdue items kept (risk_settings.watch_new_overdue_window when kept)';
INSERT INTO pgcredit.book_state DEFAULT VALUES;
REVOKE ALL ON pgcredit.book_state FROM PUBLIC;
GRANT SELECT ON pgcredit.book_state TO pgcredit_reader;

CREATE TABLE pgcredit.book_cache (
  customer            text PRIMARY KEY,
  version             bigint,
  in_book             boolean NOT NULL,
  receivables         numeric,
  current             numeric,
  days_1_30           numeric,
  days_31_60          numeric,
  days_61_90          numeric,
  days_over_90        numeric,
  oldest_days_past_due int,
  dso_90              numeric,
  last_payment        date,
  behavioural_score   numeric,
  invoiced_12m        numeric,
  dso_receivables     numeric,
  dso_not_due         numeric,
  dso_sales           numeric,
  late_first_due      date,
  late_items          bigint
);
COMMENT ON TABLE pgcredit.book_cache IS 'the rows of receivable_stats() for the day of book_state, kept by refresh_book(); read by receivable_stats() for the customers whose book version is the same';
COMMENT ON COLUMN pgcredit.book_cache.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.book_cache.version IS 'the customer''s exposure.book_version the row was computed at (NULL: it had none, or no exposure row)';
COMMENT ON COLUMN pgcredit.book_cache.in_book IS 'whether receivable_stats() has a row for the customer (false: a customer with an exposure row and no item on the day)';
COMMENT ON COLUMN pgcredit.book_cache.receivables IS 'as receivable_stats().receivables';
COMMENT ON COLUMN pgcredit.book_cache.current IS 'as receivable_stats().current';
COMMENT ON COLUMN pgcredit.book_cache.days_1_30 IS 'as receivable_stats().days_1_30';
COMMENT ON COLUMN pgcredit.book_cache.days_31_60 IS 'as receivable_stats().days_31_60';
COMMENT ON COLUMN pgcredit.book_cache.days_61_90 IS 'as receivable_stats().days_61_90';
COMMENT ON COLUMN pgcredit.book_cache.days_over_90 IS 'as receivable_stats().days_over_90';
COMMENT ON COLUMN pgcredit.book_cache.oldest_days_past_due IS 'as receivable_stats().oldest_days_past_due';
COMMENT ON COLUMN pgcredit.book_cache.dso_90 IS 'as receivable_stats().dso_90';
COMMENT ON COLUMN pgcredit.book_cache.last_payment IS 'as receivable_stats().last_payment';
COMMENT ON COLUMN pgcredit.book_cache.behavioural_score IS 'as receivable_stats().behavioural_score';
COMMENT ON COLUMN pgcredit.book_cache.invoiced_12m IS 'as receivable_stats().invoiced_12m';
COMMENT ON COLUMN pgcredit.book_cache.dso_receivables IS 'the customer''s share of portfolio_stats(): dso_report().receivables over its items';
COMMENT ON COLUMN pgcredit.book_cache.dso_not_due IS 'dso_report().current_receivables over its items';
COMMENT ON COLUMN pgcredit.book_cache.dso_sales IS 'dso_report().sales over its items (90 days)';
COMMENT ON COLUMN pgcredit.book_cache.late_first_due IS 'its row of _newly_overdue() for the days of book_state: the first due date (NULL: none)';
COMMENT ON COLUMN pgcredit.book_cache.late_items IS 'and how many items';
REVOKE ALL ON pgcredit.book_cache FROM PUBLIC;
GRANT SELECT ON pgcredit.book_cache TO pgcredit_reader;

-- Whatever else the figures depend on changed: the kept book no longer
-- holds for anyone
CREATE FUNCTION pgcredit._book_changed()
RETURNS trigger LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  UPDATE pgcredit.book_state SET generation = generation + 1;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION pgcredit._book_changed() IS
  'trigger on the tables the kept book depends on beyond the customers'' rows (attachment, fx_rate, settings, an account''s currency): the kept book no longer holds';
REVOKE EXECUTE ON FUNCTION pgcredit._book_changed() FROM PUBLIC;

CREATE TRIGGER book_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgcredit.attachment
  FOR EACH STATEMENT EXECUTE FUNCTION pgcredit._book_changed();
CREATE TRIGGER book_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgcredit.fx_rate
  FOR EACH STATEMENT EXECUTE FUNCTION pgcredit._book_changed();
CREATE TRIGGER book_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgcredit.settings
  FOR EACH STATEMENT EXECUTE FUNCTION pgcredit._book_changed();
-- an account's currency is what its customer's items are converted into;
-- its other columns (limits, status) are not in the kept figures
CREATE TRIGGER book_currency_added AFTER INSERT ON pgcredit.account
  FOR EACH ROW WHEN (NEW.currency IS NOT NULL) EXECUTE FUNCTION pgcredit._book_changed();
CREATE TRIGGER book_currency_changed AFTER UPDATE OF currency ON pgcredit.account
  FOR EACH ROW WHEN (OLD.currency IS DISTINCT FROM NEW.currency) EXECUTE FUNCTION pgcredit._book_changed();
CREATE TRIGGER book_currency_removed AFTER DELETE ON pgcredit.account
  FOR EACH ROW WHEN (OLD.currency IS NOT NULL) EXECUTE FUNCTION pgcredit._book_changed();
CREATE TRIGGER book_changed AFTER TRUNCATE ON pgcredit.account
  FOR EACH STATEMENT EXECUTE FUNCTION pgcredit._book_changed();

-- Whether items disputed on the day leave the behavioural score: the
-- book of such a day is computed, never kept
CREATE FUNCTION pgcredit._disputes_out_of_score(as_of date)
RETURNS boolean LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT EXISTS (SELECT FROM pgcredit.collection_dispute d
                 WHERE d.opened_on <= $1 AND (d.closed_on IS NULL OR d.closed_on > $1))
         AND NOT (SELECT r.disputed_in_score FROM pgcredit._settings_or_default() r)
$$;
COMMENT ON FUNCTION pgcredit._disputes_out_of_score(date) IS
  'whether an item is disputed on the day and risk_settings.disputed_in_score takes disputed items out of the behavioural score';
REVOKE EXECUTE ON FUNCTION pgcredit._disputes_out_of_score(date) FROM PUBLIC;

-- How many customers changed since the book was kept may be computed
-- again one by one, when it is read, rather than the whole book: 2 % of
-- the customers (measured in doc/performance.md, "The kept book"), at
-- least 100
CREATE FUNCTION pgcredit._book_patch_limit(customers bigint)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT greatest(100, coalesce($1, 0) / 50) $$;
COMMENT ON FUNCTION pgcredit._book_patch_limit(bigint) IS
  'how many customers changed since the kept book was computed are computed again one by one when it is read; beyond, the whole book is computed';
REVOKE EXECUTE ON FUNCTION pgcredit._book_patch_limit(bigint) FROM PUBLIC;

-- Whether the kept book holds for a day, and the customers changed since
-- it was kept: the readers' first step, in the statement that reads (a
-- stable function runs in its snapshot).  For the newly overdue items
-- (for_overdue), the kept ones must be of the days asked too.
CREATE FUNCTION pgcredit._book_changes(as_of date, for_overdue boolean DEFAULT false,
                                       overdue_days int DEFAULT NULL, overdue_window int DEFAULT NULL)
RETURNS TABLE (kept boolean, changed text[])
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH st AS (SELECT b.day = $1 AND b.built_on = current_date AND b.built_generation = b.generation
                     AND (NOT $2 OR (b.overdue_days = $3 AND b.overdue_window = $4)) AS kept,
                     b.customers
              FROM pgcredit.book_state b),
       -- a customer whose version is not the one kept (new, changed, or
       -- whose exposure row is gone)
       ch AS MATERIALIZED (
         SELECT coalesce(e.customer, c.customer) AS customer
         FROM pgcredit.book_cache c
         FULL JOIN (SELECT e0.customer, e0.book_version FROM pgcredit.exposure e0) e ON e.customer = c.customer
         WHERE (SELECT kept FROM st) AND c.version IS DISTINCT FROM e.book_version)
  SELECT coalesce(st.kept, false) AND (SELECT count(*) FROM ch) <= pgcredit._book_patch_limit(st.customers),
         ARRAY(SELECT ch.customer FROM ch)
  FROM st
$$;
COMMENT ON FUNCTION pgcredit._book_changes(date, boolean, integer, integer) IS
  'whether the kept book holds for a day (and, for_overdue, for those newly overdue days) with few enough customers changed since, and which customers changed';
REVOKE EXECUTE ON FUNCTION pgcredit._book_changes(date, boolean, integer, integer) FROM PUBLIC;

-- The rows the kept book holds, computed: receivable_stats() with each
-- customer's share of portfolio_stats() and of _newly_overdue(); for
-- every customer (customers NULL) or for those given, read through the
-- tables' customer indexes in one query
CREATE FUNCTION pgcredit._book_rows(as_of date, customers text[], overdue_days int, overdue_window int)
RETURNS TABLE (customer text, receivables numeric, current numeric, days_1_30 numeric,
               days_31_60 numeric, days_61_90 numeric, days_over_90 numeric,
               oldest_days_past_due int, dso_90 numeric, last_payment date,
               behavioural_score numeric, invoiced_12m numeric,
               dso_receivables numeric, dso_not_due numeric, dso_sales numeric,
               late_first_due date, late_items bigint)
LANGUAGE plpgsql STABLE ROWS 10000
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  items text;
BEGIN
  IF customers IS NULL THEN
    BEGIN
      RETURN QUERY SELECT * FROM pgcredit._receivable_book_kept(as_of, overdue_days, overdue_window);
      RETURN;
    EXCEPTION WHEN program_limit_exceeded THEN
      -- more customers than a hash aggregate's memory holds: by SQL
      NULL;
    END;
  END IF;
  -- the items of every customer, or of each customer given (the query of
  -- one customer's items, its customer $2 taken from the list)
  items := CASE WHEN customers IS NULL THEN pgcredit._receivable_items_sql(false)
                ELSE 'SELECT i2.* FROM unnest($2::text[]) AS k(c) CROSS JOIN LATERAL ('
                     || replace(pgcredit._receivable_items_sql(true), '$2', 'k.c') || ') i2' END;
  -- the aggregation of receivable_stats() (its day a constant), with the
  -- sums of dso_report() and the items of _newly_overdue()
  RETURN QUERY EXECUTE replace(format(
    'SELECT customer, (g).total, (g).current, (g).days_1_30, (g).days_31_60, (g).days_61_90,
            (g).days_over_90, oldest, dso, last_payment, score, invoiced,
            (d).receivables, (d).current_receivables, (d).sales,
            late_first, CASE WHEN $3 IS NOT NULL AND $4 IS NOT NULL THEN late_n END
     FROM (SELECT customer COLLATE "C" AS customer,
                  pgcredit.aging(open_amount, due, $1) AS g,
                  max(CASE WHEN open_amount > 0 AND due < $1 THEN $1 - due END) AS oldest,
                  pgcredit.dso(invoice_amount, invoiced_on, paid_on, $1, 90) AS dso,
                  max(paid_on) FILTER (WHERE paid_on <= $1) AS last_payment,
                  pgcredit.credit_score(invoice_amount, due, paid_on, $1) AS score,
                  sum(invoice_amount) FILTER (WHERE invoiced_on > $1 - 365 AND invoiced_on <= $1) AS invoiced,
                  pgcredit.dso_report(invoice_amount, invoiced_on, due, paid_on, $1, 90) AS d,
                  min(due) FILTER (WHERE open_amount > 0 AND due < $1 - $3 AND due >= $1 - $3 - $4) AS late_first,
                  count(*) FILTER (WHERE open_amount > 0 AND due < $1 - $3 AND due >= $1 - $3 - $4) AS late_n
           FROM (%s) items
           GROUP BY 1) s',
    items), '$1', quote_literal(as_of::text) || '::date')
  USING as_of, customers, overdue_days, overdue_window;
END
$$;
COMMENT ON FUNCTION pgcredit._book_rows(date, text[], integer, integer) IS
  'the rows of receivable_stats(as_of) (of the customers given; every customer''s when NULL) as the kept book holds them, with each customer''s sums of dso_report() and its row of _newly_overdue(as_of, overdue_days, overdue_window)';
REVOKE EXECUTE ON FUNCTION pgcredit._book_rows(date, text[], integer, integer) FROM PUBLIC;

CREATE FUNCTION pgcredit.refresh_book(day date DEFAULT pgcredit.as_of())
RETURNS TABLE (customers bigint, computed bigint, whole boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET jit = off
SET enable_mergejoin = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  st pgcredit.book_state;
  cfg pgcredit.risk_settings := pgcredit._settings_or_default();
  changed text[];
  n bigint;
BEGIN
  PERFORM pgcredit._check_day(refresh_book.day);
  -- one at a time; readers go on reading
  LOCK TABLE pgcredit.book_cache IN EXCLUSIVE MODE;
  -- an item disputed on the day out of the score: receivable_stats()
  -- computes that day itself, and nothing is kept
  IF pgcredit._disputes_out_of_score(refresh_book.day) THEN
    DELETE FROM pgcredit.book_cache;
    UPDATE pgcredit.book_state SET day = NULL, built_on = NULL, built_generation = NULL,
                                   built_at = pg_catalog.now(), customers = 0;
    RETURN QUERY SELECT 0::bigint, 0::bigint, true;
    RETURN;
  END IF;
  -- on the coordinator of a Citus cluster the customers' rows change on
  -- the workers, whose guards raise their own book versions, not this
  -- node's: a kept book would go stale unseen, so none is kept
  -- (doc/citus.md)
  IF cardinality(pgcredit._citus_shells()) > 0 THEN
    DELETE FROM pgcredit.book_cache;
    UPDATE pgcredit.book_state SET day = NULL, built_on = NULL, built_generation = NULL,
                                   built_at = pg_catalog.now(), customers = 0;
    RETURN QUERY SELECT 0::bigint, 0::bigint, true;
    RETURN;
  END IF;
  SELECT * INTO st FROM pgcredit.book_state;
  IF st.day = refresh_book.day AND st.built_on = current_date AND st.built_generation = st.generation
     AND st.overdue_days IS NOT DISTINCT FROM cfg.watch_overdue_days
     AND st.overdue_window IS NOT DISTINCT FROM cfg.watch_new_overdue_window THEN
    -- the customers whose rows changed since: taken out, then computed
    -- again with their versions read in the same statement, so that a
    -- version kept is always that of the figures beside it
    WITH gone AS (
      DELETE FROM pgcredit.book_cache c
      WHERE c.customer IN (SELECT c2.customer FROM pgcredit.book_cache c2
                           LEFT JOIN pgcredit.exposure e ON e.customer = c2.customer
                           WHERE c2.version IS DISTINCT FROM e.book_version)
      RETURNING c.customer)
    SELECT array_agg(x.customer) INTO changed
    FROM (SELECT g.customer FROM gone g
          UNION
          SELECT e.customer FROM pgcredit.exposure e
          WHERE e.book_version IS NOT NULL
            AND NOT EXISTS (SELECT FROM pgcredit.book_cache c WHERE c.customer = e.customer)) x;
    IF coalesce(cardinality(changed), 0) <= pgcredit._book_patch_limit(st.customers) THEN
      INSERT INTO pgcredit.book_cache
      SELECT x.customer, e.book_version, r.customer IS NOT NULL, r.receivables, r.current, r.days_1_30,
             r.days_31_60, r.days_61_90, r.days_over_90, r.oldest_days_past_due, r.dso_90,
             r.last_payment, r.behavioural_score, r.invoiced_12m, r.dso_receivables, r.dso_not_due,
             r.dso_sales, r.late_first_due, r.late_items
      FROM unnest(changed) AS x(customer)
      LEFT JOIN pgcredit.exposure e ON e.customer = x.customer
      LEFT JOIN pgcredit._book_rows(refresh_book.day, changed, st.overdue_days, st.overdue_window) r
        ON r.customer = x.customer;
      UPDATE pgcredit.book_state SET built_at = pg_catalog.now();
      RETURN QUERY SELECT (SELECT count(*) FROM pgcredit.book_cache c WHERE c.in_book),
                          coalesce(cardinality(changed), 0)::bigint, false;
      RETURN;
    END IF;
  END IF;
  -- the whole book, in one statement: the figures, each customer's
  -- version and the generation all as of one snapshot
  DELETE FROM pgcredit.book_cache;
  WITH g AS (SELECT b.generation FROM pgcredit.book_state b),
       s AS (SELECT * FROM pgcredit._book_rows(refresh_book.day, NULL, cfg.watch_overdue_days,
                                               cfg.watch_new_overdue_window)),
       ins AS (
         INSERT INTO pgcredit.book_cache
         SELECT coalesce(s.customer, e.customer), e.book_version, s.customer IS NOT NULL, s.receivables,
                s.current, s.days_1_30, s.days_31_60, s.days_61_90, s.days_over_90, s.oldest_days_past_due,
                s.dso_90, s.last_payment, s.behavioural_score, s.invoiced_12m, s.dso_receivables,
                s.dso_not_due, s.dso_sales, s.late_first_due, s.late_items
         FROM s FULL JOIN (SELECT e0.customer, e0.book_version FROM pgcredit.exposure e0
                           WHERE e0.book_version IS NOT NULL) e ON e.customer = s.customer
         RETURNING book_cache.in_book)
  UPDATE pgcredit.book_state b
  SET day = refresh_book.day, built_on = current_date, built_generation = g.generation,
      built_at = pg_catalog.now(), customers = (SELECT count(*) FROM ins),
      overdue_days = cfg.watch_overdue_days, overdue_window = cfg.watch_new_overdue_window
  FROM g;
  SELECT count(*) INTO n FROM pgcredit.book_cache c WHERE c.in_book;
  RETURN QUERY SELECT n, n, true;
END
$$;
COMMENT ON FUNCTION pgcredit.refresh_book(date) IS
  'keep the book of a day (every customer''s receivable_stats(), its share of portfolio_stats() and its newly overdue items for the watchlist) in book_cache, so that customer_risk, portfolio, watchlist and refresh_scores() read it rather than compute it: the customers changed since, when the book of that day is kept and few changed, else the whole book; returns the customers kept, those computed, and whether the whole book was';
REVOKE EXECUTE ON FUNCTION pgcredit.refresh_book(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.refresh_book(date) TO pgcredit_controller;
-- <<< the kept book

-- >>> provision (provision.sql)
-- Foresight: expected credit loss, IFRS 9 simplified approach
-- (doc/foresight.md, "Expected credit loss")

----------------------------------------------------------------------
-- A provision matrix: a loss rate per aging band, computed from the
-- company's own history by roll rates over a chosen number of months
-- (or set by hand), times a forward-looking factor a controller sets;
-- the provision of a customer on a day is its receivables in each band
-- times the band's rate.
----------------------------------------------------------------------

CREATE TABLE pgcredit.provision_settings (
  one            boolean PRIMARY KEY DEFAULT true CONSTRAINT provision_settings_one CHECK (one),
  method         text NOT NULL DEFAULT 'roll_rate' CONSTRAINT provision_method CHECK (method IN ('roll_rate', 'fixed')),
  months         int NOT NULL DEFAULT 12 CONSTRAINT provision_months CHECK (months BETWEEN 1 AND 120),
  forward_factor numeric NOT NULL DEFAULT 1
                 CONSTRAINT provision_forward_factor CHECK (forward_factor >= 0 AND forward_factor <= 100)
);
COMMENT ON TABLE pgcredit.provision_settings IS 'how the provision matrix is made: at most one row, set with set_provision_settings(); without it, the defaults (roll_rate over 12 months, factor 1)';
COMMENT ON COLUMN pgcredit.provision_settings.one IS 'true: the table has one row';
COMMENT ON COLUMN pgcredit.provision_settings.method IS 'roll_rate: loss rates from the roll rates of the ledger''s history; fixed: the rates of provision_rate';
COMMENT ON COLUMN pgcredit.provision_settings.months IS 'how many months of history the roll rates are taken over (1 to 120)';
COMMENT ON COLUMN pgcredit.provision_settings.forward_factor IS 'the forward-looking adjustment: every loss rate is multiplied by it (capped at 100 %); 1 leaves the history as it is';
REVOKE ALL ON pgcredit.provision_settings FROM PUBLIC;
GRANT SELECT ON pgcredit.provision_settings TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.provision_settings', '');

-- The settings row, or every default (the table holds no row until they
-- are set, so that a restore brings back the row set)
CREATE FUNCTION pgcredit._provision_settings()
RETURNS pgcredit.provision_settings LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT coalesce((SELECT s FROM pgcredit.provision_settings s), ROW(true, 'roll_rate', 12, 1)::pgcredit.provision_settings)
$$;
COMMENT ON FUNCTION pgcredit._provision_settings() IS 'the provision settings row, or every default';
REVOKE EXECUTE ON FUNCTION pgcredit._provision_settings() FROM PUBLIC;

CREATE TABLE pgcredit.provision_rate (
  band      text PRIMARY KEY CONSTRAINT provision_rate_band CHECK (band IN ('current', '1_30', '31_60', '61_90', 'over_90')),
  loss_rate numeric NOT NULL CONSTRAINT provision_rate_range CHECK (loss_rate >= 0 AND loss_rate <= 1)
);
COMMENT ON TABLE pgcredit.provision_rate IS 'the loss rate of each aging band when provision_settings.method is fixed; set with set_provision_rates()';
COMMENT ON COLUMN pgcredit.provision_rate.band IS 'current (not yet due), 1_30, 31_60, 61_90 or over_90 days past due';
COMMENT ON COLUMN pgcredit.provision_rate.loss_rate IS 'the share of the band expected to be lost, 0 to 1';
REVOKE ALL ON pgcredit.provision_rate FROM PUBLIC;
GRANT SELECT ON pgcredit.provision_rate TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.provision_rate', '');

-- The matrix in use, as refresh_provision_matrix() made it last
CREATE TABLE pgcredit.provision_matrix (
  band            text PRIMARY KEY CONSTRAINT provision_matrix_band CHECK (band IN ('current', '1_30', '31_60', '61_90', 'over_90')),
  band_order      int NOT NULL,
  balance         numeric,
  rolled          numeric,
  roll_rate       numeric,
  loss_rate       numeric NOT NULL,
  adjusted_rate   numeric NOT NULL,
  method          text NOT NULL,
  months          int,
  from_month_end  date,
  to_month_end    date,
  forward_factor  numeric NOT NULL,
  computed_on     date NOT NULL,
  computed_at     timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE pgcredit.provision_matrix IS 'the provision matrix in use: a loss rate per aging band and the history behind it, made by refresh_provision_matrix()';
COMMENT ON COLUMN pgcredit.provision_matrix.band IS 'the aging band';
COMMENT ON COLUMN pgcredit.provision_matrix.band_order IS 'the band''s place, 1 (current) to 5 (over 90 days)';
COMMENT ON COLUMN pgcredit.provision_matrix.balance IS 'roll_rate: the band''s receivables summed over the month ends the rates are taken from (the month end before each month)';
COMMENT ON COLUMN pgcredit.provision_matrix.rolled IS 'roll_rate: what of it was found a month later in the next band (for over_90: written off in the month after, less what was recovered in it)';
COMMENT ON COLUMN pgcredit.provision_matrix.roll_rate IS 'rolled / balance, at most 1 (NULL: no balance to measure it on, taken as 0)';
COMMENT ON COLUMN pgcredit.provision_matrix.loss_rate IS 'the product of the roll rates from this band to a write-off; fixed: the rate set';
COMMENT ON COLUMN pgcredit.provision_matrix.adjusted_rate IS 'loss_rate times forward_factor, at most 1: the rate the provision uses';
COMMENT ON COLUMN pgcredit.provision_matrix.method IS 'roll_rate or fixed, as provision_settings had it';
COMMENT ON COLUMN pgcredit.provision_matrix.months IS 'roll_rate: the months of history';
COMMENT ON COLUMN pgcredit.provision_matrix.from_month_end IS 'roll_rate: the first month end read';
COMMENT ON COLUMN pgcredit.provision_matrix.to_month_end IS 'roll_rate: the last month end read';
COMMENT ON COLUMN pgcredit.provision_matrix.forward_factor IS 'the forward-looking factor applied';
COMMENT ON COLUMN pgcredit.provision_matrix.computed_on IS 'the day the matrix was made for';
COMMENT ON COLUMN pgcredit.provision_matrix.computed_at IS 'when it was made';
REVOKE ALL ON pgcredit.provision_matrix FROM PUBLIC;
GRANT SELECT ON pgcredit.provision_matrix TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.provision_matrix', '');

CREATE FUNCTION pgcredit.set_provision_settings(method text, months int, forward_factor numeric, reason text)
RETURNS pgcredit.provision_settings LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.provision_settings;
  after pgcredit.provision_settings;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF method IS NULL OR method NOT IN ('roll_rate', 'fixed') THEN
    RAISE EXCEPTION 'invalid provision method "%"', method USING ERRCODE = 'invalid_parameter_value',
      HINT = 'roll_rate takes the loss rates from the ledger''s history; fixed uses those of set_provision_rates().';
  END IF;
  IF months IS NULL OR months NOT BETWEEN 1 AND 120 THEN
    RAISE EXCEPTION 'months must be between 1 and 120' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('months is %s.', coalesce(months::text, 'null'));
  END IF;
  IF forward_factor IS NULL OR forward_factor = 'NaN' OR forward_factor < 0 OR forward_factor > 100 THEN
    RAISE EXCEPTION 'forward_factor must be between 0 and 100' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('forward_factor is %s.', coalesce(forward_factor::text, 'null')),
      HINT = '1 keeps the rates of the history; 1.2 expects 20 % more losses than it shows.';
  END IF;
  LOCK TABLE pgcredit.provision_settings IN SHARE ROW EXCLUSIVE MODE;
  before := pgcredit._provision_settings();
  INSERT INTO pgcredit.provision_settings AS s (one, method, months, forward_factor)
  VALUES (true, set_provision_settings.method, set_provision_settings.months, set_provision_settings.forward_factor)
  ON CONFLICT (one) DO UPDATE SET method = EXCLUDED.method, months = EXCLUDED.months,
                                  forward_factor = EXCLUDED.forward_factor
  RETURNING * INTO after;
  PERFORM pgcredit._audit('set_provision_settings', NULL, to_jsonb(before), to_jsonb(after), reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.set_provision_settings(text, integer, numeric, text) IS
  'how the provision matrix is made: roll_rate over months of history, or fixed rates; and the forward-looking factor; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_provision_settings(text, integer, numeric, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_provision_settings(text, integer, numeric, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.set_provision_rates(current numeric, days_1_30 numeric, days_31_60 numeric,
                                             days_61_90 numeric, days_over_90 numeric, reason text)
RETURNS SETOF pgcredit.provision_rate LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  rates numeric[] := ARRAY[current, days_1_30, days_31_60, days_61_90, days_over_90];
  before jsonb;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  FOR i IN 1..5 LOOP
    IF rates[i] IS NULL OR rates[i] = 'NaN' OR rates[i] < 0 OR rates[i] > 1 THEN
      RAISE EXCEPTION 'a loss rate must be between 0 and 1' USING ERRCODE = 'invalid_parameter_value',
        DETAIL = format('The rate of band %s is %s.', (ARRAY['current', '1_30', '31_60', '61_90', 'over_90'])[i],
                        coalesce(rates[i]::text, 'null')),
        HINT = 'Give rates as fractions: 0.03 for 3 %.';
    END IF;
  END LOOP;
  SELECT jsonb_object_agg(r.band, r.loss_rate) INTO before FROM pgcredit.provision_rate r;
  DELETE FROM pgcredit.provision_rate;
  INSERT INTO pgcredit.provision_rate (band, loss_rate)
  SELECT b, rates[i] FROM unnest(ARRAY['current', '1_30', '31_60', '61_90', 'over_90']) WITH ORDINALITY AS x(b, i);
  PERFORM pgcredit._audit('set_provision_rates', NULL, before,
                          (SELECT jsonb_object_agg(r.band, r.loss_rate) FROM pgcredit.provision_rate r), reason);
  RETURN QUERY SELECT * FROM pgcredit.provision_rate r
               ORDER BY array_position(ARRAY['current', '1_30', '31_60', '61_90', 'over_90'], r.band);
END
$$;
COMMENT ON FUNCTION pgcredit.set_provision_rates(numeric, numeric, numeric, numeric, numeric, text) IS
  'the loss rate of each aging band (fractions, 0 to 1) for the fixed method; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_provision_rates(numeric, numeric, numeric, numeric, numeric, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_provision_rates(numeric, numeric, numeric, numeric, numeric, text) TO pgcredit_controller;

-- The roll rates of the history before a day, item by item: for each
-- pair of month ends a month apart, what each aging band held at the
-- first and how much of that was, still open, in a later band at the
-- second; for the last band, the write-offs of the month (less the
-- recoveries in it).  An item's open amount on a day is that of
-- _receivable_items_sql(): none once paid, the invoice amount when paid
-- later, the open amount as it stands otherwise.
CREATE FUNCTION pgcredit.roll_rates(as_of date, months int)
RETURNS TABLE (band text, band_order int, balance numeric, rolled numeric, roll_rate numeric,
               loss_rate numeric, from_month_end date, to_month_end date)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET jit = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_day(as_of);
  IF months IS NULL OR months NOT BETWEEN 1 AND 120 THEN
    RAISE EXCEPTION 'months must be between 1 and 120' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('months is %s.', coalesce(months::text, 'null'));
  END IF;
  RETURN QUERY
  -- the month ends: the last one on or before the day (k = 0), and
  -- months more before it (k months back)
  WITH e AS (SELECT k, (date_trunc('month', as_of + 1) - make_interval(months => k) - interval '1 day')::date AS d
             FROM generate_series(0, months) k),
       i AS (SELECT a.amount, a.counts, a.due, a.invoice_amount, a.invoiced_on, a.paid_on
             FROM pgcredit._attached_items('receivables') a),
       -- each item at each month end k >= 1 and a month later (k - 1):
       -- its open amount and band at both
       o AS (SELECT e.k, e.d, n.d AS next_d, i.due,
                    CASE WHEN i.invoiced_on IS NULL OR i.invoiced_on <= e.d THEN
                      CASE WHEN i.paid_on <= e.d THEN NULL WHEN i.paid_on > e.d THEN i.invoice_amount
                           WHEN i.counts THEN i.amount END END AS open_then,
                    CASE WHEN i.invoiced_on IS NULL OR i.invoiced_on <= n.d THEN
                      CASE WHEN i.paid_on <= n.d THEN NULL WHEN i.paid_on > n.d THEN i.invoice_amount
                           WHEN i.counts THEN i.amount END END AS open_next
             FROM i CROSS JOIN e JOIN e n ON n.k = e.k - 1
             WHERE e.k >= 1),
       ob AS (SELECT o.k, o.open_then, o.open_next,
                     array_position(ARRAY['current', '1-30', '31-60', '61-90', '90+'],
                                    pgcredit.aging_bucket(o.due, o.d)) AS band_then,
                     array_position(ARRAY['current', '1-30', '31-60', '61-90', '90+'],
                                    pgcredit.aging_bucket(o.due, o.next_d)) AS band_next
              FROM o WHERE o.open_then > 0 AND o.due IS NOT NULL),
       r AS (SELECT ob.band_then AS pos, sum(ob.open_then) AS balance,
                    sum(ob.open_then) FILTER (WHERE ob.band_then < 5 AND ob.open_next > 0
                                              AND ob.band_next > ob.band_then) AS rolled
             FROM ob GROUP BY ob.band_then),
       -- net write-offs of each month, for the last band
       w AS (SELECT greatest(0, coalesce(sum(x.net), 0)) AS net FROM (
               SELECT o.amount AS net FROM pgcredit.write_off o
               WHERE o.written_off_on > (SELECT e.d FROM e WHERE e.k = months)
                 AND o.written_off_on <= (SELECT e.d FROM e WHERE e.k = 0)
               UNION ALL
               SELECT -c.amount FROM pgcredit.recovery c
               WHERE c.recovered_on > (SELECT e.d FROM e WHERE e.k = months)
                 AND c.recovered_on <= (SELECT e.d FROM e WHERE e.k = 0)) x),
       rr AS (SELECT p.pos, coalesce(r.balance, 0) AS balance,
                     CASE WHEN p.pos < 5 THEN coalesce(r.rolled, 0) ELSE (SELECT w.net FROM w) END AS rolled
              FROM generate_series(1, 5) p(pos) LEFT JOIN r ON r.pos = p.pos),
       rate AS (SELECT rr.pos, rr.balance, rr.rolled,
                       CASE WHEN rr.balance > 0 THEN least(1, round(rr.rolled / rr.balance, 6)) END AS rate
                FROM rr),
       a AS (SELECT array_agg(coalesce(rate.rate, 0) ORDER BY rate.pos) AS r FROM rate)
  SELECT (ARRAY['current', '1_30', '31_60', '61_90', 'over_90'])[x.pos], x.pos, round(x.balance, 2), round(x.rolled, 2),
         x.rate,
         -- the product of the rates from this band to a write-off
         round(CASE x.pos WHEN 1 THEN a.r[1] * a.r[2] * a.r[3] * a.r[4] * a.r[5]
                          WHEN 2 THEN a.r[2] * a.r[3] * a.r[4] * a.r[5]
                          WHEN 3 THEN a.r[3] * a.r[4] * a.r[5]
                          WHEN 4 THEN a.r[4] * a.r[5]
                          ELSE a.r[5] END, 6),
         (SELECT e.d FROM e WHERE e.k = months), (SELECT e.d FROM e WHERE e.k = 0)
  FROM rate x CROSS JOIN a ORDER BY x.pos;
END
$$;
COMMENT ON FUNCTION pgcredit.roll_rates(date, integer) IS
  'the roll rates of the ledger over the months before a day, item by item: for each aging band, its receivables at each month end summed, what of them was open in a later band a month later (for over 90 days: the write-offs of those months, less recoveries), the rate (at most 1, 6 decimals), and the loss rate (the product of the rates from the band to a write-off)';
REVOKE EXECUTE ON FUNCTION pgcredit.roll_rates(date, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.roll_rates(date, integer) TO pgcredit_reader;


CREATE FUNCTION pgcredit.refresh_provision_matrix(as_of date DEFAULT pgcredit.as_of())
RETURNS SETOF pgcredit.provision_matrix LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET jit = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  cfg pgcredit.provision_settings;
  before jsonb;
BEGIN
  PERFORM pgcredit._check_day(as_of);
  cfg := pgcredit._provision_settings();
  IF cfg.method = 'fixed' AND (SELECT count(*) FROM pgcredit.provision_rate) < 5 THEN
    RAISE EXCEPTION 'no fixed loss rates are set' USING ERRCODE = 'object_not_in_prerequisite_state',
      HINT = 'Set them with pgcredit.set_provision_rates(), or use the roll_rate method.';
  END IF;
  SELECT jsonb_object_agg(m.band, m.adjusted_rate) INTO before FROM pgcredit.provision_matrix m;
  LOCK TABLE pgcredit.provision_matrix IN EXCLUSIVE MODE;
  DELETE FROM pgcredit.provision_matrix;
  IF cfg.method = 'roll_rate' THEN
    INSERT INTO pgcredit.provision_matrix (band, band_order, balance, rolled, roll_rate, loss_rate, adjusted_rate,
                                           method, months, from_month_end, to_month_end, forward_factor, computed_on)
    SELECT r.band, r.band_order, r.balance, r.rolled, r.roll_rate, r.loss_rate,
           least(1, round(r.loss_rate * cfg.forward_factor, 6)), 'roll_rate', cfg.months,
           r.from_month_end, r.to_month_end, cfg.forward_factor, as_of
    FROM pgcredit.roll_rates(as_of, cfg.months) r;
  ELSE
    INSERT INTO pgcredit.provision_matrix (band, band_order, loss_rate, adjusted_rate, method, forward_factor, computed_on)
    SELECT p.band, array_position(ARRAY['current', '1_30', '31_60', '61_90', 'over_90'], p.band), p.loss_rate,
           least(1, round(p.loss_rate * cfg.forward_factor, 6)), 'fixed', cfg.forward_factor, as_of
    FROM pgcredit.provision_rate p;
  END IF;
  PERFORM pgcredit._audit('refresh_provision_matrix', NULL, before,
                          (SELECT jsonb_object_agg(m.band, m.adjusted_rate) FROM pgcredit.provision_matrix m),
                          format('%s as of %s', cfg.method, to_char(as_of, 'YYYY-MM-DD')));
  RETURN QUERY SELECT * FROM pgcredit.provision_matrix m ORDER BY m.band_order;
END
$$;
COMMENT ON FUNCTION pgcredit.refresh_provision_matrix(date) IS
  'make the provision matrix for a day as provision_settings says (roll rates over the months before it, or the fixed rates), times the forward-looking factor, into provision_matrix; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.refresh_provision_matrix(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.refresh_provision_matrix(date) TO pgcredit_controller;

-- The provision of each customer on a day: its receivables in each band
-- (receivable_stats(), from the kept book when it holds) times the
-- matrix's rates
CREATE FUNCTION pgcredit.expected_credit_loss_at(day date)
RETURNS TABLE (customer text, receivables numeric, provision_current numeric, provision_1_30 numeric,
               provision_31_60 numeric, provision_61_90 numeric, provision_over_90 numeric,
               provision numeric, coverage_pct numeric, day date)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH m AS (SELECT max(adjusted_rate) FILTER (WHERE band = 'current') AS r1,
                    max(adjusted_rate) FILTER (WHERE band = '1_30') AS r2,
                    max(adjusted_rate) FILTER (WHERE band = '31_60') AS r3,
                    max(adjusted_rate) FILTER (WHERE band = '61_90') AS r4,
                    max(adjusted_rate) FILTER (WHERE band = 'over_90') AS r5
             FROM pgcredit.provision_matrix),
       p AS (SELECT s.customer, s.receivables, s.current * m.r1 AS p1, s.days_1_30 * m.r2 AS p2,
                    s.days_31_60 * m.r3 AS p3, s.days_61_90 * m.r4 AS p4, s.days_over_90 * m.r5 AS p5
             FROM pgcredit.receivable_stats($1) s CROSS JOIN m)
  SELECT p.customer, round(p.receivables, 2), round(p.p1, 2), round(p.p2, 2), round(p.p3, 2), round(p.p4, 2),
         round(p.p5, 2), round(p.p1 + p.p2 + p.p3 + p.p4 + p.p5, 2),
         CASE WHEN p.receivables > 0 THEN round((p.p1 + p.p2 + p.p3 + p.p4 + p.p5) * 100 / p.receivables, 2) END,
         $1
  FROM p
$$;
COMMENT ON FUNCTION pgcredit.expected_credit_loss_at(date) IS
  'the rows of expected_credit_loss on any day';
REVOKE EXECUTE ON FUNCTION pgcredit.expected_credit_loss_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.expected_credit_loss_at(date) TO pgcredit_reader;

CREATE VIEW pgcredit.expected_credit_loss AS
SELECT * FROM pgcredit.expected_credit_loss_at(pgcredit.as_of());
COMMENT ON VIEW pgcredit.expected_credit_loss IS 'the loss allowance of each customer with receivables, today (IFRS 9 simplified approach): its receivables in each aging band times the provision matrix''s rates; NULL provisions until refresh_provision_matrix() made a matrix';
COMMENT ON COLUMN pgcredit.expected_credit_loss.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.expected_credit_loss.receivables IS 'open receivables on the day';
COMMENT ON COLUMN pgcredit.expected_credit_loss.provision_current IS 'the provision of the receivables not yet due';
COMMENT ON COLUMN pgcredit.expected_credit_loss.provision_1_30 IS 'of those 1-30 days past due';
COMMENT ON COLUMN pgcredit.expected_credit_loss.provision_31_60 IS 'of those 31-60 days past due';
COMMENT ON COLUMN pgcredit.expected_credit_loss.provision_61_90 IS 'of those 61-90 days past due';
COMMENT ON COLUMN pgcredit.expected_credit_loss.provision_over_90 IS 'of those over 90 days past due';
COMMENT ON COLUMN pgcredit.expected_credit_loss.provision IS 'the customer''s loss allowance, the sum of its bands'' (each band''s amount times its rate, rounded once here)';
COMMENT ON COLUMN pgcredit.expected_credit_loss.coverage_pct IS 'provision as a percentage of receivables';
COMMENT ON COLUMN pgcredit.expected_credit_loss.day IS 'the day the row describes';
REVOKE ALL ON pgcredit.expected_credit_loss FROM PUBLIC;
GRANT SELECT ON pgcredit.expected_credit_loss TO pgcredit_reader;

-- The book's provision by band on a day
CREATE FUNCTION pgcredit.provision_at(day date)
RETURNS TABLE (band text, receivables numeric, loss_rate numeric, provision numeric, day date)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH p AS (SELECT * FROM pgcredit.portfolio_stats($1)),
       b AS (SELECT x.band, x.band_order, x.amount
             FROM p CROSS JOIN LATERAL (VALUES ('current', 1, p.current), ('1_30', 2, p.days_1_30),
                                               ('31_60', 3, p.days_31_60), ('61_90', 4, p.days_61_90),
                                               ('over_90', 5, p.days_over_90)) x(band, band_order, amount))
  SELECT b.band, round(b.amount, 2), m.adjusted_rate, round(b.amount * m.adjusted_rate, 2), $1
  FROM b LEFT JOIN pgcredit.provision_matrix m ON m.band = b.band
  ORDER BY b.band_order
$$;
COMMENT ON FUNCTION pgcredit.provision_at(date) IS 'the rows of provision on any day';
REVOKE EXECUTE ON FUNCTION pgcredit.provision_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.provision_at(date) TO pgcredit_reader;

CREATE VIEW pgcredit.provision AS
SELECT * FROM pgcredit.provision_at(pgcredit.as_of());
COMMENT ON VIEW pgcredit.provision IS 'the whole book''s loss allowance by aging band, today: the receivables of the band, the matrix''s rate, the provision';
COMMENT ON COLUMN pgcredit.provision.band IS 'current, 1_30, 31_60, 61_90 or over_90';
COMMENT ON COLUMN pgcredit.provision.receivables IS 'the book''s receivables in the band';
COMMENT ON COLUMN pgcredit.provision.loss_rate IS 'the provision matrix''s rate (adjusted by the forward-looking factor)';
COMMENT ON COLUMN pgcredit.provision.provision IS 'receivables times the rate';
COMMENT ON COLUMN pgcredit.provision.day IS 'the day the row describes';
REVOKE ALL ON pgcredit.provision FROM PUBLIC;
GRANT SELECT ON pgcredit.provision TO pgcredit_reader;
-- <<< provision

-- >>> financials (financials.sql)
-- Foresight: customers' financial statements, their ratios and the
-- Altman Z'' score (doc/foresight.md, "Financial statements")

CREATE TABLE pgcredit.financial_statement (
  customer             text NOT NULL CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  fiscal_year_end      date NOT NULL
                       CONSTRAINT financial_year_end CHECK (fiscal_year_end > '-infinity' AND fiscal_year_end < 'infinity'),
  currency             text CONSTRAINT financial_currency CHECK (currency ~ '^[A-Z]{3}$'),
  revenue              numeric CONSTRAINT financial_revenue CHECK (revenue >= 0 AND revenue < 'Infinity'),
  ebit                 numeric NOT NULL CONSTRAINT financial_ebit CHECK (ebit > '-Infinity' AND ebit < 'Infinity'),
  net_income           numeric CONSTRAINT financial_net_income CHECK (net_income > '-Infinity' AND net_income < 'Infinity'),
  current_assets       numeric NOT NULL CONSTRAINT financial_current_assets CHECK (current_assets >= 0 AND current_assets < 'Infinity'),
  current_liabilities  numeric NOT NULL
                       CONSTRAINT financial_current_liabilities CHECK (current_liabilities >= 0 AND current_liabilities < 'Infinity'),
  total_assets         numeric NOT NULL CONSTRAINT financial_total_assets CHECK (total_assets > 0 AND total_assets < 'Infinity'),
  total_liabilities    numeric NOT NULL
                       CONSTRAINT financial_total_liabilities CHECK (total_liabilities >= 0 AND total_liabilities < 'Infinity'),
  retained_earnings    numeric NOT NULL
                       CONSTRAINT financial_retained_earnings CHECK (retained_earnings > '-Infinity' AND retained_earnings < 'Infinity'),
  equity               numeric NOT NULL CONSTRAINT financial_equity CHECK (equity > '-Infinity' AND equity < 'Infinity'),
  import_run           bigint DEFAULT NULLIF(pg_catalog.current_setting('pgcredit.import_run', true), '')::bigint,
  loaded_at            timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (customer, fiscal_year_end),
  CONSTRAINT financial_current_within_total CHECK (current_assets <= total_assets AND current_liabilities <= total_liabilities)
);
COMMENT ON TABLE pgcredit.financial_statement IS 'customers'' yearly figures (balance sheet and income statement), one row per customer and fiscal year end; loaded with load_csv by controllers';
COMMENT ON COLUMN pgcredit.financial_statement.customer IS 'customer key as text, as in pgcredit.account';
COMMENT ON COLUMN pgcredit.financial_statement.fiscal_year_end IS 'the last day of the fiscal year the figures are of';
COMMENT ON COLUMN pgcredit.financial_statement.currency IS 'the currency of the figures (ISO 4217), for the reader: ratios do not depend on it';
COMMENT ON COLUMN pgcredit.financial_statement.revenue IS 'revenue (sales) of the year';
COMMENT ON COLUMN pgcredit.financial_statement.ebit IS 'earnings before interest and taxes of the year';
COMMENT ON COLUMN pgcredit.financial_statement.net_income IS 'net income of the year';
COMMENT ON COLUMN pgcredit.financial_statement.current_assets IS 'current assets at the year end';
COMMENT ON COLUMN pgcredit.financial_statement.current_liabilities IS 'current liabilities at the year end';
COMMENT ON COLUMN pgcredit.financial_statement.total_assets IS 'total assets at the year end, above zero';
COMMENT ON COLUMN pgcredit.financial_statement.total_liabilities IS 'total liabilities at the year end';
COMMENT ON COLUMN pgcredit.financial_statement.retained_earnings IS 'retained earnings at the year end';
COMMENT ON COLUMN pgcredit.financial_statement.equity IS 'book value of equity at the year end';
COMMENT ON COLUMN pgcredit.financial_statement.import_run IS 'the CSV load that brought the row, if any';
COMMENT ON COLUMN pgcredit.financial_statement.loaded_at IS 'when the row was stored';
REVOKE ALL ON pgcredit.financial_statement FROM PUBLIC;
GRANT SELECT ON pgcredit.financial_statement TO pgcredit_reader;
GRANT INSERT, UPDATE, DELETE ON pgcredit.financial_statement TO pgcredit_controller;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.financial_statement', '');

-- Altman's Z'' for private firms (Altman 1995): 6.56 X1 + 3.26 X2 +
-- 6.72 X3 + 1.05 X4, with X1 working capital, X2 retained earnings and X3
-- EBIT over total assets, X4 book equity over total liabilities
CREATE FUNCTION pgcredit.altman_z2(current_assets numeric, current_liabilities numeric, retained_earnings numeric,
                                   ebit numeric, equity numeric, total_assets numeric, total_liabilities numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN $6 > 0 AND $7 > 0 THEN
    round(6.56 * ($1 - $2) / $6 + 3.26 * $3 / $6 + 6.72 * $4 / $6 + 1.05 * $5 / $7, 4) END
$$;
COMMENT ON FUNCTION pgcredit.altman_z2(numeric, numeric, numeric, numeric, numeric, numeric, numeric) IS
  'Altman''s Z'''' score for private firms, 6.56 X1 + 3.26 X2 + 6.72 X3 + 1.05 X4 (X1 = (current assets - current liabilities) / total assets, X2 = retained earnings / total assets, X3 = EBIT / total assets, X4 = equity / total liabilities), to 4 decimals; NULL without total assets or liabilities above zero';
REVOKE EXECUTE ON FUNCTION pgcredit.altman_z2(numeric, numeric, numeric, numeric, numeric, numeric, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.altman_z2(numeric, numeric, numeric, numeric, numeric, numeric, numeric) TO pgcredit_reader;

CREATE FUNCTION pgcredit.altman_zone(z numeric)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN $1 IS NULL THEN NULL WHEN $1 > 2.60 THEN 'safe' WHEN $1 < 1.10 THEN 'distress' ELSE 'grey' END $$;
COMMENT ON FUNCTION pgcredit.altman_zone(numeric) IS
  'the zone of a Z'''' score: safe above 2.60, distress below 1.10, grey between';
REVOKE EXECUTE ON FUNCTION pgcredit.altman_zone(numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.altman_zone(numeric) TO pgcredit_reader;

-- The usual ratios of every statement, and Z''
CREATE VIEW pgcredit.financial_ratios AS
SELECT f.customer, f.fiscal_year_end,
       round(f.current_assets / nullif(f.current_liabilities, 0), 4) AS current_ratio,
       round(f.total_liabilities / f.total_assets, 4) AS debt_ratio,
       CASE WHEN f.equity > 0 THEN round(f.total_liabilities / f.equity, 4) END AS debt_to_equity,
       round(f.net_income / f.total_assets, 4) AS return_on_assets,
       CASE WHEN f.equity > 0 THEN round(f.net_income / f.equity, 4) END AS return_on_equity,
       round(f.ebit / nullif(f.revenue, 0), 4) AS ebit_margin,
       round((f.current_assets - f.current_liabilities) / f.total_assets, 4) AS x1_working_capital,
       round(f.retained_earnings / f.total_assets, 4) AS x2_retained_earnings,
       round(f.ebit / f.total_assets, 4) AS x3_ebit,
       round(f.equity / nullif(f.total_liabilities, 0), 4) AS x4_equity_to_liabilities,
       z.z AS z_score, pgcredit.altman_zone(z.z) AS zone
FROM pgcredit.financial_statement f
CROSS JOIN LATERAL (SELECT pgcredit.altman_z2(f.current_assets, f.current_liabilities, f.retained_earnings, f.ebit,
                                              f.equity, f.total_assets, f.total_liabilities) AS z) z;
COMMENT ON VIEW pgcredit.financial_ratios IS 'per customer and fiscal year: liquidity (current ratio), leverage (debt ratio, debt to equity), profitability (return on assets and equity, EBIT margin), the four parts of Altman''s Z'''' and the score with its zone';
COMMENT ON COLUMN pgcredit.financial_ratios.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.financial_ratios.fiscal_year_end IS 'the fiscal year end of the statement';
COMMENT ON COLUMN pgcredit.financial_ratios.current_ratio IS 'current assets / current liabilities (NULL without current liabilities)';
COMMENT ON COLUMN pgcredit.financial_ratios.debt_ratio IS 'total liabilities / total assets';
COMMENT ON COLUMN pgcredit.financial_ratios.debt_to_equity IS 'total liabilities / equity (NULL when equity is not above zero)';
COMMENT ON COLUMN pgcredit.financial_ratios.return_on_assets IS 'net income / total assets';
COMMENT ON COLUMN pgcredit.financial_ratios.return_on_equity IS 'net income / equity (NULL when equity is not above zero)';
COMMENT ON COLUMN pgcredit.financial_ratios.ebit_margin IS 'EBIT / revenue (NULL without revenue)';
COMMENT ON COLUMN pgcredit.financial_ratios.x1_working_capital IS 'Z'''' X1: (current assets - current liabilities) / total assets';
COMMENT ON COLUMN pgcredit.financial_ratios.x2_retained_earnings IS 'Z'''' X2: retained earnings / total assets';
COMMENT ON COLUMN pgcredit.financial_ratios.x3_ebit IS 'Z'''' X3: EBIT / total assets';
COMMENT ON COLUMN pgcredit.financial_ratios.x4_equity_to_liabilities IS 'Z'''' X4: equity / total liabilities (NULL without liabilities)';
COMMENT ON COLUMN pgcredit.financial_ratios.z_score IS 'Altman''s Z'''' = 6.56 X1 + 3.26 X2 + 6.72 X3 + 1.05 X4, computed from the figures (not from the rounded parts), to 4 decimals';
COMMENT ON COLUMN pgcredit.financial_ratios.zone IS 'safe (above 2.60), grey, or distress (below 1.10)';
REVOKE ALL ON pgcredit.financial_ratios FROM PUBLIC;
GRANT SELECT ON pgcredit.financial_ratios TO pgcredit_reader;

-- Each customer's financial score on a day: the Z'' of its latest
-- statement of the 24 months before, 25 points a unit from 0 to 100 (the
-- distress line of 1.10 is 27.5, the safe line of 2.60 65)
CREATE FUNCTION pgcredit.financial_score_now(as_of date, for_customer text)
RETURNS TABLE (customer text, fiscal_year_end date, z_score numeric, zone text, scaled_score numeric)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT DISTINCT ON (f.customer) f.customer, f.fiscal_year_end, z.z, pgcredit.altman_zone(z.z),
         greatest(0, least(100, round(z.z * 25, 2)))
  FROM pgcredit.financial_statement f
  CROSS JOIN LATERAL (SELECT pgcredit.altman_z2(f.current_assets, f.current_liabilities, f.retained_earnings,
                                                f.ebit, f.equity, f.total_assets, f.total_liabilities) AS z) z
  WHERE f.fiscal_year_end <= $1 AND f.fiscal_year_end > ($1 - interval '24 months')::date
    AND ($2 IS NULL OR f.customer = $2) AND z.z IS NOT NULL
  ORDER BY f.customer, f.fiscal_year_end DESC
$$;
COMMENT ON FUNCTION pgcredit.financial_score_now(date, text) IS
  'each customer''s (one customer''s; every customer''s when NULL) financial score on a day: Altman''s Z'''' of its latest financial statement with a fiscal year end in the 24 months up to the day, its zone, and the score brought to 0-100 (25 points a unit)';
REVOKE EXECUTE ON FUNCTION pgcredit.financial_score_now(date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.financial_score_now(date, text) TO pgcredit_reader;

CREATE FUNCTION pgcredit._combine(behavioural numeric, external numeric, utilisation_pct numeric, financial numeric,
                                  w_behaviour numeric, w_external numeric, w_utilisation numeric,
                                  w_financial numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  -- the weighted parts over the weights of the parts that are known, as
  -- _combine() of three parts, with the financial score a fourth
  SELECT CASE WHEN (CASE WHEN $1 IS NULL THEN 0 ELSE $5 END + CASE WHEN $2 IS NULL THEN 0 ELSE $6 END
                    + CASE WHEN $3 IS NULL THEN 0 ELSE $7 END + CASE WHEN $4 IS NULL THEN 0 ELSE $8 END) > 0
              THEN round((CASE WHEN $1 IS NULL THEN 0 ELSE $5 * $1 END
                          + CASE WHEN $2 IS NULL THEN 0 ELSE $6 * $2 END
                          + CASE WHEN $3 IS NULL THEN 0 ELSE $7 * greatest(0, least(100, 100 - $3)) END
                          + CASE WHEN $4 IS NULL THEN 0 ELSE $8 * $4 END)
                         / (CASE WHEN $1 IS NULL THEN 0 ELSE $5 END + CASE WHEN $2 IS NULL THEN 0 ELSE $6 END
                            + CASE WHEN $3 IS NULL THEN 0 ELSE $7 END + CASE WHEN $4 IS NULL THEN 0 ELSE $8 END), 2) END
$$;
COMMENT ON FUNCTION pgcredit._combine(numeric, numeric, numeric, numeric, numeric, numeric, numeric, numeric) IS
  'the combined score with the weights given, the financial score a fourth part: inlined where a view scores many customers';
REVOKE EXECUTE ON FUNCTION pgcredit._combine(numeric, numeric, numeric, numeric, numeric, numeric, numeric, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._combine(numeric, numeric, numeric, numeric, numeric, numeric, numeric, numeric) TO pgcredit_reader;

CREATE FUNCTION pgcredit.combined_score(behavioural numeric, external numeric, utilisation_pct numeric, financial numeric)
RETURNS numeric LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT pgcredit._combine($1, $2, $3, $4, s.weight_behaviour, s.weight_external, s.weight_utilisation,
                           s.weight_financial)
  FROM pgcredit._settings_or_default() s
$$;
COMMENT ON FUNCTION pgcredit.combined_score(numeric, numeric, numeric, numeric) IS
  'the combined score of the views and refresh_scores(): the weighted mean of the behavioural score, the external score, 100 minus utilisation (capped to 0-100) and the financial score, over the parts known, with risk_settings weights';
REVOKE EXECUTE ON FUNCTION pgcredit.combined_score(numeric, numeric, numeric, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.combined_score(numeric, numeric, numeric, numeric) TO pgcredit_reader;
-- <<< financials

-- >>> prediction (prediction.sql)
-- Foresight: when each open invoice will be paid, how likely more than 30
-- days late, and the cash coming in week by week (doc/foresight.md,
-- "Payment prediction")

----------------------------------------------------------------------
-- The model, explainable: an invoice still unpaid on a day will be paid
-- as the invoices of its customer that were still unpaid that late were
-- paid, weighted by how recently they were paid (half of the weight every
-- 730 days), and shrunk towards the whole ledger's invoices as unpaid
-- that late (the ledger counting as 0.5 invoice of the customer's for
-- the days late, as 3 for the probability of more than 30 days late;
-- chosen on the first half of the sample ledger, doc/foresight.md).  Days
-- late are payment date less due date, negative for early payment.
----------------------------------------------------------------------

-- The history: every attached receivables item paid, with its due date
CREATE FUNCTION pgcredit._payment_history()
RETURNS TABLE (customer text, due date, paid_on date)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT i.customer, i.due, i.paid_on FROM pgcredit._attached_items('receivables') i
  WHERE i.paid_on IS NOT NULL AND i.due IS NOT NULL
$$;
COMMENT ON FUNCTION pgcredit._payment_history() IS 'every item of the attached receivables tables with a due date and a payment date';
REVOKE EXECUTE ON FUNCTION pgcredit._payment_history() FROM PUBLIC;

-- The weight of a payment made a number of days before the day asked:
-- half every 180 days, computed in floating point and kept to 12
-- decimals, so that sums of weights are exact and do not depend on order
CREATE FUNCTION pgcredit._recency_weight(days_ago int, half_life numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT round(power(0.5::float8, $1 / $2::float8)::numeric, 12) $$;
COMMENT ON FUNCTION pgcredit._recency_weight(integer, numeric) IS 'the weight of a payment made days_ago days before: 0.5 ^ (days_ago / half_life), to 12 decimals';
REVOKE EXECUTE ON FUNCTION pgcredit._recency_weight(integer, numeric) FROM PUBLIC;

-- Predictions for questions (a customer, a due date, the day asked on: the
-- item is taken as unpaid on that day), each from the history paid before
-- its day
CREATE FUNCTION pgcredit._payment_model(customers text[], dues date[], days date[],
                                        half_life numeric DEFAULT 730, prior numeric DEFAULT 0.5,
                                        late_prior numeric DEFAULT 3)
RETURNS TABLE (question int, expected_days_late numeric, expected_payment_date date, p_late_30 numeric,
               customer_weight numeric, customer_days_late numeric, ledger_days_late numeric,
               customer_p_late_30 numeric, ledger_p_late_30 numeric, customer_share numeric)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH q AS (SELECT n AS question, c AS customer, u AS due, d AS day, d - u AS t
             FROM unnest($1, $2, $3) WITH ORDINALITY AS x(c, u, d, n)
             WHERE u IS NOT NULL AND d IS NOT NULL),
       h AS (SELECT * FROM pgcredit._payment_history()),
       qd AS (SELECT DISTINCT q.day FROM q),
       -- the ledger on each day asked: weight and payments by days late
       led AS (SELECT qd.day, h.paid_on - h.due AS dl,
                      sum(pgcredit._recency_weight(qd.day - h.paid_on, $4)) AS w
               FROM qd JOIN h ON h.paid_on < qd.day
               GROUP BY qd.day, h.paid_on - h.due),
       -- for each question, the ledger's items paid later than it is now
       lq AS (SELECT q.question, sum(l.w) AS w, sum(l.w * l.dl) AS wdl,
                     sum(l.w) FILTER (WHERE l.dl > 30) AS wlate
              FROM q JOIN led l ON l.day = q.day AND l.dl > q.t
              GROUP BY q.question),
       -- and its customer's
       cq AS (SELECT q.question, sum(x.w) AS w, sum(x.w * x.dl) AS wdl,
                     sum(x.w) FILTER (WHERE x.dl > 30) AS wlate
              FROM q JOIN h ON h.customer = q.customer AND h.paid_on < q.day AND h.paid_on - h.due > q.t
              CROSS JOIN LATERAL (SELECT h.paid_on - h.due AS dl,
                                         pgcredit._recency_weight(q.day - h.paid_on, $4) AS w) x
              GROUP BY q.question),
       m AS (SELECT q.question, q.due, q.day, q.t,
                    coalesce(c.w, 0) AS cw, c.wdl / nullif(c.w, 0) AS cdl,
                    coalesce(c.wlate, 0) / nullif(c.w, 0) AS cp,
                    l.wdl / nullif(l.w, 0) AS ldl, coalesce(l.wlate, 0) / nullif(l.w, 0) AS lp
             FROM q LEFT JOIN cq c USING (question) LEFT JOIN lq l USING (question)),
       b AS (SELECT m.*,
                    -- the customer's weight against the ledger's 3; without the
                    -- ledger, the customer alone; without either, tomorrow
                    CASE WHEN m.ldl IS NULL AND m.cdl IS NULL THEN m.t + 1
                         WHEN m.ldl IS NULL THEN m.cdl
                         ELSE (m.cw * coalesce(m.cdl, 0) + $5 * m.ldl) / (m.cw + $5) END AS edl,
                    CASE WHEN m.t >= 30 THEN 1
                         WHEN m.lp IS NULL AND m.cdl IS NULL THEN NULL
                         WHEN m.lp IS NULL THEN m.cp
                         ELSE (m.cw * coalesce(m.cp, 0) + $6 * m.lp) / (m.cw + $6) END AS p
             FROM m)
  SELECT b.question::int, round(b.edl, 2), b.due + greatest(b.t + 1, round(b.edl)::int), round(b.p, 4),
         round(b.cw, 4), round(b.cdl, 2), round(b.ldl, 2), round(b.cp, 4), round(b.lp, 4),
         -- the share of the customer's own invoices in the days late
         CASE WHEN b.ldl IS NULL THEN 1 ELSE b.cw / (b.cw + $5) END
  FROM b
$$;
COMMENT ON FUNCTION pgcredit._payment_model(text[], date[], date[], numeric, numeric, numeric) IS
  'the payment prediction of each question (customer, due date, day asked on), from the history paid before its day: expected days late, expected payment date, probability of more than 30 days late, and what drove them (customer_share: the part of the customer''s own invoices in the days late)';
REVOKE EXECUTE ON FUNCTION pgcredit._payment_model(text[], date[], date[], numeric, numeric, numeric) FROM PUBLIC;

-- Every item open on a day, predicted
CREATE FUNCTION pgcredit.payment_predictions_at(as_of date)
RETURNS TABLE (customer text, relid regclass, item_key jsonb, open_amount numeric, due date,
               days_past_due int, expected_days_late numeric, expected_payment_date date, p_late_30 numeric,
               customer_weight numeric, customer_days_late numeric, ledger_days_late numeric, explanation text,
               relid_text text, item_key_text text, day date)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET jit = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_day(as_of);
  RETURN QUERY
  WITH o AS (SELECT row_number() OVER () AS n, i.customer, i.relid, i.item_key,
                    CASE WHEN i.paid_on > as_of THEN i.invoice_amount ELSE i.amount END AS amount, i.due
             FROM pgcredit._attached_items_keyed('receivables', NULL, NULL, false, as_of) i
             WHERE i.due IS NOT NULL),
       a AS (SELECT array_agg(o.customer ORDER BY o.n) AS c, array_agg(o.due ORDER BY o.n) AS u,
                    array_agg(as_of ORDER BY o.n) AS d FROM o),
       p AS (SELECT m.* FROM a, pgcredit._payment_model(a.c, a.u, a.d) m)
  SELECT o.customer, o.relid::regclass, o.item_key, round(o.amount, 2), o.due, greatest(as_of - o.due, 0),
         p.expected_days_late, p.expected_payment_date, p.p_late_30, p.customer_weight,
         p.customer_days_late, p.ledger_days_late,
         CASE WHEN p.customer_weight > 0 THEN
                format('%s%% from the customer''s own invoices as late as this one (weight %s, %s days late on average), %s%% from the ledger''s (%s days late)',
                       round(100 * p.customer_share), p.customer_weight,
                       coalesce(p.customer_days_late::text, '-'),
                       100 - round(100 * p.customer_share), coalesce(p.ledger_days_late::text, '-'))
              WHEN p.ledger_days_late IS NOT NULL THEN
                format('from the ledger''s invoices as late as this one (%s days late on average): no such invoice of the customer''s', p.ledger_days_late)
              ELSE 'no invoice paid this late before: expected the next day' END,
         o.relid::regclass::text, o.item_key::text, as_of
  FROM o JOIN p ON p.question = o.n;
END
$$;
COMMENT ON FUNCTION pgcredit.payment_predictions_at(date) IS 'the rows of payment_predictions on any day';
REVOKE EXECUTE ON FUNCTION pgcredit.payment_predictions_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.payment_predictions_at(date) TO pgcredit_reader;

CREATE VIEW pgcredit.payment_predictions AS
SELECT * FROM pgcredit.payment_predictions_at(pgcredit.as_of());
COMMENT ON VIEW pgcredit.payment_predictions IS 'every receivable item open today with a due date: its expected payment date and days late, the probability of paying more than 30 days late, and what drove them';
COMMENT ON COLUMN pgcredit.payment_predictions.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.payment_predictions.relid IS 'the attached table of the item';
COMMENT ON COLUMN pgcredit.payment_predictions.item_key IS 'the item''s primary key (NULL for a table without one)';
COMMENT ON COLUMN pgcredit.payment_predictions.open_amount IS 'what is open on the day, in the account''s currency';
COMMENT ON COLUMN pgcredit.payment_predictions.due IS 'the due date';
COMMENT ON COLUMN pgcredit.payment_predictions.days_past_due IS 'days past due on the day (0 when not yet due)';
COMMENT ON COLUMN pgcredit.payment_predictions.expected_days_late IS 'expected payment date less due date, in days (negative: early), given it is unpaid on the day';
COMMENT ON COLUMN pgcredit.payment_predictions.expected_payment_date IS 'the expected payment date, after the day';
COMMENT ON COLUMN pgcredit.payment_predictions.p_late_30 IS 'the probability of paying more than 30 days after the due date (1 once it is)';
COMMENT ON COLUMN pgcredit.payment_predictions.customer_weight IS 'how much of the customer''s own history speaks for it: its invoices paid later than this one is now, weighted by recency (half every 730 days); the ledger counts as 0.5 for the days late, 3 for the probability';
COMMENT ON COLUMN pgcredit.payment_predictions.customer_days_late IS 'how late those invoices were paid, on average (weighted)';
COMMENT ON COLUMN pgcredit.payment_predictions.ledger_days_late IS 'how late the whole ledger''s invoices as late were paid, on average (weighted)';
COMMENT ON COLUMN pgcredit.payment_predictions.explanation IS 'what drove the prediction, in words';
COMMENT ON COLUMN pgcredit.payment_predictions.relid_text IS 'relid as text';
COMMENT ON COLUMN pgcredit.payment_predictions.item_key_text IS 'item_key as text';
COMMENT ON COLUMN pgcredit.payment_predictions.day IS 'the day the row describes';
REVOKE ALL ON pgcredit.payment_predictions FROM PUBLIC;
GRANT SELECT ON pgcredit.payment_predictions TO pgcredit_reader;

-- The cash expected in each of the coming weeks
CREATE FUNCTION pgcredit.cash_forecast_at(day date, weeks int DEFAULT 13)
RETURNS TABLE (week_start date, expected_cash numeric, items bigint, cash_late_30 numeric, day date)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH p AS (SELECT * FROM pgcredit.payment_predictions_at($1)),
       w AS (SELECT ($1 + 7 * k) AS week_start FROM generate_series(0, greatest(coalesce($2, 13), 1) - 1) k)
  SELECT w.week_start, round(coalesce(sum(p.open_amount), 0), 2), count(p.open_amount),
         round(coalesce(sum(p.open_amount * p.p_late_30), 0), 2), $1
  FROM w LEFT JOIN p ON p.expected_payment_date > w.week_start AND p.expected_payment_date <= w.week_start + 7
  GROUP BY w.week_start ORDER BY w.week_start
$$;
COMMENT ON FUNCTION pgcredit.cash_forecast_at(date, integer) IS
  'the rows of cash_forecast for any day and number of weeks (13 by default): the open amounts expected in each week after the day';
REVOKE EXECUTE ON FUNCTION pgcredit.cash_forecast_at(date, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.cash_forecast_at(date, integer) TO pgcredit_reader;

CREATE VIEW pgcredit.cash_forecast AS
SELECT * FROM pgcredit.cash_forecast_at(pgcredit.as_of(), 13);
COMMENT ON VIEW pgcredit.cash_forecast IS 'the cash expected in each of the next 13 weeks: the open items whose expected payment date falls in the week';
COMMENT ON COLUMN pgcredit.cash_forecast.week_start IS 'the week is the seven days after this day';
COMMENT ON COLUMN pgcredit.cash_forecast.expected_cash IS 'the open amounts expected in the week';
COMMENT ON COLUMN pgcredit.cash_forecast.items IS 'how many items';
COMMENT ON COLUMN pgcredit.cash_forecast.cash_late_30 IS 'of that, weighted by the probability of more than 30 days late: the cash at risk of coming late';
COMMENT ON COLUMN pgcredit.cash_forecast.day IS 'the day the row describes';
REVOKE ALL ON pgcredit.cash_forecast FROM PUBLIC;
GRANT SELECT ON pgcredit.cash_forecast TO pgcredit_reader;

-- The model measured: invoices of the later part of the timeline, each
-- predicted on its invoice date from what was paid before, against the
-- due date and the customer's average days late (both the MAE of the
-- payment date), and the probability of more than 30 days late against
-- the base rate of the earlier part (Brier score, AUC)
CREATE FUNCTION pgcredit.evaluate_payment_predictions(test_from date)
RETURNS TABLE (measure text, model numeric, baseline text, baseline_value numeric, invoices bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET jit = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_day(test_from);
  RETURN QUERY
  WITH i AS (SELECT row_number() OVER (ORDER BY a.customer, a.due, a.invoiced_on, a.paid_on) AS n,
                    a.customer, a.due, a.invoiced_on, a.paid_on
             FROM pgcredit._attached_items('receivables') a
             WHERE a.paid_on IS NOT NULL AND a.due IS NOT NULL AND a.invoiced_on >= test_from),
       arr AS (SELECT array_agg(i.customer ORDER BY i.n) AS c, array_agg(i.due ORDER BY i.n) AS u,
                      array_agg(i.invoiced_on ORDER BY i.n) AS d FROM i),
       p AS (SELECT m.* FROM arr, pgcredit._payment_model(arr.c, arr.u, arr.d) m),
       h AS (SELECT * FROM pgcredit._payment_history()),
       -- the customer's plain average days late before the invoice date
       avg_c AS (SELECT i.n, avg(h.paid_on - h.due) AS dl
                 FROM i JOIN h ON h.customer = i.customer AND h.paid_on < i.invoiced_on GROUP BY i.n),
       base AS (SELECT avg(CASE WHEN h.paid_on - h.due > 30 THEN 1.0 ELSE 0 END) AS rate
                FROM h WHERE h.paid_on < test_from),
       e AS (SELECT i.n, i.paid_on, i.due, p.expected_payment_date AS pred, p.p_late_30 AS p,
                    CASE WHEN i.paid_on - i.due > 30 THEN 1 ELSE 0 END AS y,
                    i.due + round(coalesce(a.dl, 0))::int AS pred_avg
             FROM i JOIN p ON p.question = i.n LEFT JOIN avg_c a ON a.n = i.n),
       -- AUC: the chance that a late invoice is given a higher probability
       -- than one on time (ties count half)
       auc AS (SELECT avg(CASE WHEN x.p > z.p THEN 1.0 WHEN x.p = z.p THEN 0.5 ELSE 0 END) AS v
               FROM e x JOIN e z ON x.y = 1 AND z.y = 0)
  SELECT 'payment date MAE, days'::text, round(avg(abs(e.paid_on - e.pred)), 2), 'due date'::text,
         round(avg(abs(e.paid_on - e.due)), 2), count(*) FROM e
  UNION ALL
  SELECT 'payment date MAE, days', round(avg(abs(e.paid_on - e.pred)), 2), 'customer''s average days late',
         round(avg(abs(e.paid_on - e.pred_avg)), 2), count(*) FROM e
  UNION ALL
  SELECT 'P(more than 30 days late), Brier score', round(avg((e.p - e.y) ^ 2), 5), 'base rate of the earlier part',
         round(avg(((SELECT rate FROM base) - e.y) ^ 2), 5), count(*) FROM e
  UNION ALL
  SELECT 'P(more than 30 days late), AUC', round((SELECT v FROM auc), 4), 'base rate (no ranking)', 0.5, count(*) FROM e
  UNION ALL
  SELECT 'invoices more than 30 days late', sum(e.y), 'base rate of the earlier part',
         round((SELECT rate FROM base), 5), count(*) FROM e;
END
$$;
COMMENT ON FUNCTION pgcredit.evaluate_payment_predictions(date) IS
  'the payment prediction measured on the ledger: every paid invoice invoiced on or after test_from, predicted on its invoice date from what was paid before; the mean absolute error of the payment date against the due date and the customer''s average days late, and the Brier score and AUC of the probability of more than 30 days late against the base rate before test_from';
REVOKE EXECUTE ON FUNCTION pgcredit.evaluate_payment_predictions(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.evaluate_payment_predictions(date) TO pgcredit_reader;
-- <<< prediction

-- >>> replay (replay.sql)
-- the day each order was placed, which the replay walks
ALTER TABLE pgcredit.attachment ADD COLUMN order_date_column name
  CONSTRAINT order_date_of_orders CHECK (order_date_column IS NULL OR kind = 'orders');
COMMENT ON COLUMN pgcredit.attachment.order_date_column IS 'orders: the day each order was placed, for replay_policy(); NULL = not given (the replay judges none of the table''s orders)';

-- Foresight: replay a candidate credit policy on the stored history (doc/foresight.md)

----------------------------------------------------------------------
-- A draft policy is a named copy of the live one: accounts (limit,
-- tolerance, temporary limit, tier), rules and the tier table, plus what
-- customers without an account get.  Drafts are a credit controller's
-- sandbox: nothing live reads them, so they are edited with plain
-- INSERT, UPDATE and DELETE.  replay_policy() walks the stored orders and
-- invoices of a period under the draft and under the live policy, side
-- by side, and writes nothing.
----------------------------------------------------------------------

CREATE TABLE pgcredit.policy_draft (
  name                  text PRIMARY KEY CONSTRAINT draft_name CHECK (name ~ '\S' AND octet_length(name) <= 200),
  note                  text,
  no_account_policy     text NOT NULL DEFAULT 'allow'
                        CHECK (no_account_policy IN ('allow', 'deny', 'default_limit')),
  default_limit         numeric CHECK (default_limit >= 0 AND default_limit < 'Infinity'),
  default_tolerance_pct numeric NOT NULL DEFAULT 0
                        CHECK (default_tolerance_pct >= 0 AND default_tolerance_pct < 'Infinity'),
  created_at            timestamptz NOT NULL DEFAULT pg_catalog.now(),
  created_by            name NOT NULL DEFAULT session_user,
  CHECK (no_account_policy <> 'default_limit' OR default_limit IS NOT NULL)
);
COMMENT ON TABLE pgcredit.policy_draft IS 'candidate credit policies for replay_policy(), made by create_policy_draft() from the live one; nothing live reads them';
COMMENT ON COLUMN pgcredit.policy_draft.name IS 'the draft''s name';
COMMENT ON COLUMN pgcredit.policy_draft.note IS 'what the draft tries, for the people who compare it';
COMMENT ON COLUMN pgcredit.policy_draft.no_account_policy IS 'orders of customers without an account in the draft: allow, deny, or default_limit (as settings.no_account_policy)';
COMMENT ON COLUMN pgcredit.policy_draft.default_limit IS 'limit for customers without an account under default_limit';
COMMENT ON COLUMN pgcredit.policy_draft.default_tolerance_pct IS 'its tolerance';
COMMENT ON COLUMN pgcredit.policy_draft.created_at IS 'when the draft was made';
COMMENT ON COLUMN pgcredit.policy_draft.created_by IS 'the session user who made it';
REVOKE ALL ON pgcredit.policy_draft FROM PUBLIC;
GRANT SELECT ON pgcredit.policy_draft TO pgcredit_reader;
GRANT UPDATE (note, no_account_policy, default_limit, default_tolerance_pct) ON pgcredit.policy_draft TO pgcredit_controller;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.policy_draft', '');

CREATE TABLE pgcredit.policy_draft_limit (
  draft            text NOT NULL REFERENCES pgcredit.policy_draft ON DELETE CASCADE ON UPDATE CASCADE,
  customer         text NOT NULL CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  credit_limit     numeric CHECK (credit_limit >= 0 AND credit_limit < 'Infinity'),
  tolerance_pct    numeric NOT NULL DEFAULT 0 CHECK (tolerance_pct >= 0 AND tolerance_pct < 'Infinity'),
  temporary_limit  numeric CHECK (temporary_limit >= 0 AND temporary_limit < 'Infinity'),
  temporary_from   date,
  temporary_until  date,
  risk_tier        text CHECK (risk_tier IN ('A', 'B', 'C', 'D', 'E')),
  PRIMARY KEY (draft, customer),
  CONSTRAINT temporary_limit_window CHECK (
    (temporary_limit IS NULL) = (temporary_until IS NULL)
    AND (temporary_limit IS NOT NULL OR temporary_from IS NULL)
    AND temporary_from > '-infinity' AND temporary_until < 'infinity'
    AND temporary_from <= temporary_until)
);
COMMENT ON TABLE pgcredit.policy_draft_limit IS 'the accounts of a draft policy: a customer with a row has an account in the draft (as pgcredit.account), one without has none';
COMMENT ON COLUMN pgcredit.policy_draft_limit.draft IS 'the draft';
COMMENT ON COLUMN pgcredit.policy_draft_limit.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.policy_draft_limit.credit_limit IS 'credit limit in the draft; NULL = none';
COMMENT ON COLUMN pgcredit.policy_draft_limit.tolerance_pct IS 'percentage of the limit an order may go above it';
COMMENT ON COLUMN pgcredit.policy_draft_limit.temporary_limit IS 'a limit that replaces credit_limit from temporary_from to temporary_until';
COMMENT ON COLUMN pgcredit.policy_draft_limit.temporary_from IS 'first day of the temporary limit; NULL = from any day';
COMMENT ON COLUMN pgcredit.policy_draft_limit.temporary_until IS 'last day of the temporary limit';
COMMENT ON COLUMN pgcredit.policy_draft_limit.risk_tier IS 'the customer''s tier in the draft, for the rules of tier scope and draft_limits_from_tiers()';
REVOKE ALL ON pgcredit.policy_draft_limit FROM PUBLIC;
GRANT SELECT ON pgcredit.policy_draft_limit TO pgcredit_reader;
GRANT INSERT, UPDATE, DELETE ON pgcredit.policy_draft_limit TO pgcredit_controller;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.policy_draft_limit', '');

CREATE TABLE pgcredit.policy_draft_rule (
  draft          text NOT NULL REFERENCES pgcredit.policy_draft ON DELETE CASCADE ON UPDATE CASCADE,
  id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  live_rule_id   bigint,
  name           text,
  kind           text NOT NULL
                 CHECK (kind IN ('credit_limit', 'account_status', 'days_past_due', 'overdue_amount',
                                 'largest_order', 'utilisation', 'limit_expired')),
  scope          text NOT NULL DEFAULT 'everyone' CHECK (scope IN ('everyone', 'tier', 'customer')),
  scope_value    text,
  action         text NOT NULL CHECK (action IN ('refuse', 'hold', 'shadow', 'exempt')),
  days           int CHECK (days >= 0),
  amount         numeric CHECK (amount >= 0 AND amount < 'Infinity'),
  share          numeric CHECK (share > 0 AND share < 'Infinity'),
  multiple       numeric CHECK (multiple > 0 AND multiple < 'Infinity'),
  min_orders     int CHECK (min_orders >= 1),
  statuses       text[] CHECK (statuses <@ ARRAY['ok', 'watch', 'hold', 'blocked']),
  valid_from     date CHECK (valid_from > '-infinity'),
  valid_until    date CHECK (valid_until < 'infinity'),
  exclusions     text[] NOT NULL DEFAULT '{}' CHECK (array_position(exclusions, NULL) IS NULL),
  note           text,
  CONSTRAINT scope_value_given CHECK ((scope = 'everyone') = (scope_value IS NULL)),
  CONSTRAINT valid_window CHECK (valid_from <= valid_until),
  -- what the guard needs of each kind to judge by it (as add_rule() checks)
  CONSTRAINT rule_parameters CHECK (CASE kind
    WHEN 'days_past_due' THEN days IS NOT NULL
    WHEN 'overdue_amount' THEN amount IS NOT NULL OR share IS NOT NULL
    WHEN 'largest_order' THEN amount IS NOT NULL OR multiple IS NOT NULL
    WHEN 'utilisation' THEN share IS NOT NULL
    WHEN 'account_status' THEN statuses IS NOT NULL
    ELSE true END)
);
CREATE INDEX policy_draft_rule_draft ON pgcredit.policy_draft_rule (draft);
COMMENT ON INDEX pgcredit.policy_draft_rule_draft IS 'the rules of a draft';
COMMENT ON TABLE pgcredit.policy_draft_rule IS 'the rules of a draft policy, as pgcredit.credit_rule holds the live ones (the same kinds, scopes, actions and parameters)';
COMMENT ON COLUMN pgcredit.policy_draft_rule.draft IS 'the draft';
COMMENT ON COLUMN pgcredit.policy_draft_rule.id IS 'rule number among the drafts'' rules';
COMMENT ON COLUMN pgcredit.policy_draft_rule.live_rule_id IS 'the live rule (credit_rule.id) it was copied from; NULL for a rule added to the draft';
COMMENT ON COLUMN pgcredit.policy_draft_rule.name IS 'an optional name';
COMMENT ON COLUMN pgcredit.policy_draft_rule.kind IS 'as credit_rule.kind; replay_policy() judges credit_limit, days_past_due, overdue_amount, largest_order and utilisation (account_status and limit_expired judge today''s account, not history)';
COMMENT ON COLUMN pgcredit.policy_draft_rule.scope IS 'everyone, tier or customer';
COMMENT ON COLUMN pgcredit.policy_draft_rule.scope_value IS 'the tier or customer; NULL for everyone';
COMMENT ON COLUMN pgcredit.policy_draft_rule.action IS 'refuse, hold, shadow (ignored by the replay) or exempt';
COMMENT ON COLUMN pgcredit.policy_draft_rule.days IS 'as credit_rule.days';
COMMENT ON COLUMN pgcredit.policy_draft_rule.amount IS 'as credit_rule.amount';
COMMENT ON COLUMN pgcredit.policy_draft_rule.share IS 'as credit_rule.share';
COMMENT ON COLUMN pgcredit.policy_draft_rule.multiple IS 'as credit_rule.multiple';
COMMENT ON COLUMN pgcredit.policy_draft_rule.min_orders IS 'as credit_rule.min_orders (default 5)';
COMMENT ON COLUMN pgcredit.policy_draft_rule.statuses IS 'as credit_rule.statuses';
COMMENT ON COLUMN pgcredit.policy_draft_rule.valid_from IS 'first day the rule is in force; NULL = always';
COMMENT ON COLUMN pgcredit.policy_draft_rule.valid_until IS 'last day the rule is in force; NULL = no end';
COMMENT ON COLUMN pgcredit.policy_draft_rule.exclusions IS 'customer keys the rule does not apply to';
COMMENT ON COLUMN pgcredit.policy_draft_rule.note IS 'why the rule is in the draft';
COMMENT ON SEQUENCE pgcredit.policy_draft_rule_id_seq IS 'numbers of draft rules (policy_draft_rule.id)';
REVOKE ALL ON pgcredit.policy_draft_rule FROM PUBLIC;
GRANT SELECT ON pgcredit.policy_draft_rule TO pgcredit_reader;
GRANT INSERT, UPDATE, DELETE ON pgcredit.policy_draft_rule TO pgcredit_controller;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.policy_draft_rule', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.policy_draft_rule_id_seq', '');

CREATE TABLE pgcredit.policy_draft_tier (
  draft                 text NOT NULL REFERENCES pgcredit.policy_draft ON DELETE CASCADE ON UPDATE CASCADE,
  tier                  text NOT NULL CHECK (tier IN ('A', 'B', 'C', 'D', 'E')),
  payment_terms_days    int NOT NULL CHECK (payment_terms_days >= 0),
  tolerance_pct         numeric NOT NULL CHECK (tolerance_pct >= 0 AND tolerance_pct < 'Infinity'),
  review_interval_days  int NOT NULL CHECK (review_interval_days > 0),
  limit_months          numeric NOT NULL CHECK (limit_months >= 0 AND limit_months < 'Infinity'),
  PRIMARY KEY (draft, tier)
);
COMMENT ON TABLE pgcredit.policy_draft_tier IS 'the tier table of a draft policy, as pgcredit.tier_policy; draft_limits_from_tiers() sets the draft''s limits from it';
COMMENT ON COLUMN pgcredit.policy_draft_tier.draft IS 'the draft';
COMMENT ON COLUMN pgcredit.policy_draft_tier.tier IS 'risk tier';
COMMENT ON COLUMN pgcredit.policy_draft_tier.payment_terms_days IS 'as tier_policy.payment_terms_days';
COMMENT ON COLUMN pgcredit.policy_draft_tier.tolerance_pct IS 'the tolerance draft_limits_from_tiers() gives the tier''s customers';
COMMENT ON COLUMN pgcredit.policy_draft_tier.review_interval_days IS 'as tier_policy.review_interval_days';
COMMENT ON COLUMN pgcredit.policy_draft_tier.limit_months IS 'draft_limits_from_tiers(): the limit covers this many months of the customer''s average monthly invoicing';
REVOKE ALL ON pgcredit.policy_draft_tier FROM PUBLIC;
GRANT SELECT ON pgcredit.policy_draft_tier TO pgcredit_reader;
GRANT INSERT, UPDATE, DELETE ON pgcredit.policy_draft_tier TO pgcredit_controller;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.policy_draft_tier', '');

CREATE FUNCTION pgcredit._check_draft_name(name text)
RETURNS void LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF name IS NULL THEN
    RAISE EXCEPTION 'draft name must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_draft_name(text) IS 'refuse a NULL draft name';
REVOKE EXECUTE ON FUNCTION pgcredit._check_draft_name(text) FROM PUBLIC;

-- The draft's row, or PC031 when there is no draft of that name
CREATE FUNCTION pgcredit._draft(name text)
RETURNS pgcredit.policy_draft LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  d pgcredit.policy_draft;
BEGIN
  PERFORM pgcredit._check_draft_name(name);
  SELECT * INTO d FROM pgcredit.policy_draft x WHERE x.name = _draft.name;
  IF d.name IS NULL THEN
    RAISE EXCEPTION 'policy draft "%" does not exist', name USING ERRCODE = 'PC031',
      HINT = 'Make one with pgcredit.create_policy_draft(); pgcredit.policy_draft lists them.';
  END IF;
  RETURN d;
END
$$;
COMMENT ON FUNCTION pgcredit._draft(text) IS 'a draft policy by name; PC031 when there is none';
REVOKE EXECUTE ON FUNCTION pgcredit._draft(text) FROM PUBLIC;

CREATE FUNCTION pgcredit.create_policy_draft(name text, note text DEFAULT NULL)
RETURNS pgcredit.policy_draft LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  d pgcredit.policy_draft;
  s pgcredit.settings;
BEGIN
  PERFORM pgcredit._check_draft_name(name);
  SELECT * INTO s FROM pgcredit.settings;
  BEGIN
    INSERT INTO pgcredit.policy_draft AS x (name, note, no_account_policy, default_limit, default_tolerance_pct)
    VALUES (create_policy_draft.name, create_policy_draft.note, coalesce(s.no_account_policy, 'allow'),
            s.default_limit, coalesce(s.default_tolerance_pct, 0))
    RETURNING * INTO d;
  EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'policy draft "%" exists already', name USING ERRCODE = 'duplicate_object',
      HINT = 'Drop it with pgcredit.drop_policy_draft() or choose another name.';
  WHEN check_violation THEN
    RAISE EXCEPTION 'invalid policy draft name "%"', name USING ERRCODE = 'invalid_parameter_value',
      DETAIL = 'A draft name has a character other than white space and at most 200 bytes.';
  END;
  INSERT INTO pgcredit.policy_draft_limit (draft, customer, credit_limit, tolerance_pct, temporary_limit,
                                           temporary_from, temporary_until, risk_tier)
  SELECT d.name, a.customer, a.credit_limit, a.tolerance_pct, a.temporary_limit, a.temporary_from,
         a.temporary_until, CASE WHEN a.risk_tier IN ('A', 'B', 'C', 'D', 'E') THEN a.risk_tier END
  FROM pgcredit.account a;
  INSERT INTO pgcredit.policy_draft_rule (draft, live_rule_id, name, kind, scope, scope_value, action, days, amount,
                                          share, multiple, min_orders, statuses, valid_from, valid_until,
                                          exclusions, note)
  SELECT d.name, r.id, r.name, r.kind, r.scope, r.scope_value, r.action, r.days, r.amount, r.share,
         r.multiple, r.min_orders, r.statuses, r.valid_from, r.valid_until, r.exclusions, r.note
  FROM pgcredit.credit_rule r
  WHERE r.scope <> 'group'
  ORDER BY r.id;
  INSERT INTO pgcredit.policy_draft_tier
  SELECT d.name, t.tier, t.payment_terms_days, t.tolerance_pct, t.review_interval_days, t.limit_months
  FROM pgcredit.tier_policy t;
  RETURN d;
END
$$;
COMMENT ON FUNCTION pgcredit.create_policy_draft(text, text) IS
  'make a draft policy named name, a copy of the live one (accounts'' limits, tolerances, temporary limits and tiers; the rules; the tier table; the policy for customers without an account), to change and replay with replay_policy()';
REVOKE EXECUTE ON FUNCTION pgcredit.create_policy_draft(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.create_policy_draft(text, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.drop_policy_draft(name text)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._draft(name);
  DELETE FROM pgcredit.policy_draft x WHERE x.name = drop_policy_draft.name;
END
$$;
COMMENT ON FUNCTION pgcredit.drop_policy_draft(text) IS 'drop a draft policy with its accounts, rules and tiers';
REVOKE EXECUTE ON FUNCTION pgcredit.drop_policy_draft(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.drop_policy_draft(text) TO pgcredit_controller;

-- The draft's limits from its tier table, as recommend_limit() reckons
-- them from the live one: limit_months of the average monthly invoicing
-- of the twelve months before as_of, rounded up to 100, with the tier's
-- tolerance; for every customer with a tier in the draft.
CREATE FUNCTION pgcredit.draft_limits_from_tiers(draft text, as_of date)
RETURNS bigint LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  n bigint;
BEGIN
  PERFORM pgcredit._draft(draft);
  PERFORM pgcredit._check_day(as_of);
  UPDATE pgcredit.policy_draft_limit l
  SET credit_limit = ceil(round(round(coalesce(
        (SELECT sum(coalesce(i.invoice_amount, i.amount))
         FROM pgcredit._attached_items('receivables', l.customer) i
         WHERE i.invoiced_on <= as_of AND i.invoiced_on > as_of - 365), 0) / 12, 2)
        * t.limit_months, 2) / 100) * 100,
      tolerance_pct = t.tolerance_pct
  FROM pgcredit.policy_draft_tier t
  WHERE l.draft = draft_limits_from_tiers.draft AND t.draft = l.draft AND t.tier = l.risk_tier;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
COMMENT ON FUNCTION pgcredit.draft_limits_from_tiers(text, date) IS
  'set the limit and tolerance of every customer with a tier in the draft from the draft''s tier table: limit_months of its average monthly invoicing over the year before as_of, rounded up to 100; returns how many accounts changed';
REVOKE EXECUTE ON FUNCTION pgcredit.draft_limits_from_tiers(text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.draft_limits_from_tiers(text, date) TO pgcredit_controller;

-- What the walk reads of the two policies: policy 0 is the live one, 1
-- the draft (shadow rules judge nothing; group rules are reserved)
CREATE FUNCTION pgcredit._replay_rules(draft text)
RETURNS TABLE (policy integer, kind text, scope text, scope_value text, action text, days integer,
               amount numeric, share numeric, multiple numeric, min_orders integer,
               valid_from date, valid_until date, exclusions text[])
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT 0, r.kind, r.scope, r.scope_value, r.action, r.days, r.amount, r.share, r.multiple,
         r.min_orders, r.valid_from, r.valid_until, r.exclusions
  FROM pgcredit.credit_rule r WHERE r.action <> 'shadow' AND r.scope <> 'group'
  UNION ALL
  SELECT 1, r.kind, r.scope, r.scope_value, r.action, r.days, r.amount, r.share, r.multiple,
         r.min_orders, r.valid_from, r.valid_until, r.exclusions
  FROM pgcredit.policy_draft_rule r WHERE r.draft = $1 AND r.action <> 'shadow'
$$;
COMMENT ON FUNCTION pgcredit._replay_rules(text) IS 'the rules of the live policy (0) and of a draft (1), for _replay_walk()';
REVOKE EXECUTE ON FUNCTION pgcredit._replay_rules(text) FROM PUBLIC;

CREATE FUNCTION pgcredit._replay_accounts(draft text)
RETURNS TABLE (policy integer, customer text, credit_limit numeric, tolerance_pct numeric,
               temporary_limit numeric, temporary_from date, temporary_until date, risk_tier text,
               no_account_policy text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT 0, a.customer, a.credit_limit, a.tolerance_pct, a.temporary_limit, a.temporary_from,
         a.temporary_until, a.risk_tier, NULL::text
  FROM pgcredit.account a
  UNION ALL
  SELECT 0, NULL, s.default_limit, coalesce(s.default_tolerance_pct, 0), NULL, NULL, NULL, NULL,
         coalesce(s.no_account_policy, 'allow')
  FROM (SELECT) o LEFT JOIN pgcredit.settings s ON true
  UNION ALL
  SELECT 1, l.customer, l.credit_limit, l.tolerance_pct, l.temporary_limit, l.temporary_from,
         l.temporary_until, l.risk_tier, NULL
  FROM pgcredit.policy_draft_limit l WHERE l.draft = $1
  UNION ALL
  SELECT 1, NULL, d.default_limit, d.default_tolerance_pct, NULL, NULL, NULL, NULL, d.no_account_policy
  FROM pgcredit.policy_draft d WHERE d.name = $1
$$;
COMMENT ON FUNCTION pgcredit._replay_accounts(text) IS 'the accounts of the live policy (0) and of a draft (1), and (customer NULL) what a customer without one gets, for _replay_walk()';
REVOKE EXECUTE ON FUNCTION pgcredit._replay_accounts(text) FROM PUBLIC;

CREATE FUNCTION pgcredit._replay_walk(draft text, period_from date, period_until date, detail boolean,
  OUT policy smallint, OUT customer text, OUT orders bigint, OUT ordered numeric,
  OUT passed bigint, OUT passed_amount numeric, OUT held bigint, OUT held_amount numeric,
  OUT released bigint, OUT released_amount numeric, OUT deferred_days bigint,
  OUT refused bigint, OUT refused_amount numeric, OUT lost bigint, OUT lost_amount numeric,
  OUT peak_exposure numeric, OUT end_exposure numeric, OUT peak_day date,
  OUT average_exposure numeric, OUT start_exposure numeric, OUT outcome text, OUT rule_kind text,
  OUT ordered_on date, OUT released_on date)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgc_replay_walk'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgcredit._replay_walk(text, date, date, boolean) IS
  'walk the stored orders and invoices of a period under the live policy (0) and a draft (1): per customer and for the book (customer NULL), or with detail per order and policy (orders: the order''s number, ordered: its amount); writes nothing';
REVOKE EXECUTE ON FUNCTION pgcredit._replay_walk(text, date, date, boolean) FROM PUBLIC;

-- The checks of a replay's arguments, shared
CREATE FUNCTION pgcredit._check_replay(draft text, period_from date, period_until date)
RETURNS void LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._draft(draft);
  IF period_from IS NULL OR period_until IS NULL THEN
    RAISE EXCEPTION 'the period must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF period_from IN ('infinity', '-infinity') OR period_until IN ('infinity', '-infinity') THEN
    RAISE EXCEPTION 'the period must have finite dates' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF period_until < period_from THEN
    RAISE EXCEPTION 'the period ends before it starts' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('period_from is %s, period_until %s.', period_from, period_until);
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_replay(text, date, date) IS 'refuse an unknown draft, a NULL, infinite or reversed period';
REVOKE EXECUTE ON FUNCTION pgcredit._check_replay(text, date, date) FROM PUBLIC;

-- Net losses per customer: write-offs from the start of the period on,
-- less what was recovered of them
CREATE FUNCTION pgcredit._replay_losses(period_from date)
RETURNS TABLE (customer text, net_loss numeric)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT w.customer, sum(w.amount - coalesce((SELECT sum(r.amount) FROM pgcredit.recovery r
                                              WHERE r.write_off_id = w.id), 0))
  FROM pgcredit.write_off w WHERE w.written_off_on >= $1
  GROUP BY w.customer
$$;
COMMENT ON FUNCTION pgcredit._replay_losses(date) IS 'per customer, the write-offs from a day on less their recoveries';
REVOKE EXECUTE ON FUNCTION pgcredit._replay_losses(date) FROM PUBLIC;

CREATE FUNCTION pgcredit.replay_policy_customers(draft text, period_from date, period_until date)
RETURNS TABLE (customer text, policy text, orders bigint, ordered numeric, refused bigint,
               refused_amount numeric, held bigint, held_amount numeric, released bigint,
               revenue_deferred numeric, revenue_lost numeric, peak_exposure numeric,
               end_exposure numeric, net_loss numeric, loss_avoided numeric)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_replay(draft, period_from, period_until);
  RETURN QUERY
  SELECT w.customer, CASE w.policy WHEN 0 THEN 'live' ELSE draft END, w.orders, w.ordered, w.refused,
         w.refused_amount, w.held, w.held_amount, w.released, w.released_amount,
         w.refused_amount + w.lost_amount, w.peak_exposure, w.end_exposure,
         coalesce(l.net_loss, 0), least(coalesce(l.net_loss, 0), w.refused_amount + w.lost_amount)
  FROM pgcredit._replay_walk(draft, period_from, period_until, false) w
  LEFT JOIN pgcredit._replay_losses(period_from) l ON l.customer = w.customer
  WHERE w.customer IS NOT NULL
  ORDER BY w.customer, w.policy;
END
$$;
COMMENT ON FUNCTION pgcredit.replay_policy_customers(text, date, date) IS
  'replay_policy() per customer: under the live policy and the draft, each customer''s orders, what was refused, held, released later and lost, its peak and final exposure, its net loss (write-offs from period_from on less recoveries) and the part of it the policy''s stopped orders would have avoided';
REVOKE EXECUTE ON FUNCTION pgcredit.replay_policy_customers(text, date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.replay_policy_customers(text, date, date) TO pgcredit_reader;

CREATE FUNCTION pgcredit.replay_policy(draft text, period_from date, period_until date)
RETURNS TABLE (policy text, orders bigint, ordered numeric, passed bigint, passed_amount numeric,
               refused bigint, refused_amount numeric, held bigint, held_amount numeric,
               released bigint, revenue_deferred numeric, average_deferral_days numeric,
               never_released bigint, revenue_lost numeric, peak_exposure numeric, peak_day date,
               average_exposure numeric, start_exposure numeric, end_exposure numeric,
               customers_stopped bigint, losses numeric, losses_avoided numeric)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_replay(draft, period_from, period_until);
  RETURN QUERY
  WITH w AS MATERIALIZED (
    SELECT * FROM pgcredit._replay_walk(draft, period_from, period_until, false)),
  per AS (
    SELECT w.policy, count(*) FILTER (WHERE w.refused + w.lost > 0) AS stopped,
           sum(l.net_loss) AS losses,
           sum(least(coalesce(l.net_loss, 0), w.refused_amount + w.lost_amount)) AS avoided
    FROM w LEFT JOIN pgcredit._replay_losses(period_from) l ON l.customer = w.customer
    WHERE w.customer IS NOT NULL
    GROUP BY w.policy)
  SELECT CASE b.policy WHEN 0 THEN 'live' ELSE draft END, b.orders, b.ordered, b.passed, b.passed_amount,
         b.refused, b.refused_amount, b.held, b.held_amount, b.released, b.released_amount,
         CASE WHEN b.released > 0 THEN round(b.deferred_days::numeric / b.released, 1) END,
         b.lost, b.refused_amount + b.lost_amount, b.peak_exposure, b.peak_day, b.average_exposure,
         b.start_exposure, b.end_exposure, coalesce(p.stopped, 0), coalesce(p.losses, 0),
         coalesce(p.avoided, 0)
  FROM w b LEFT JOIN per p ON p.policy = b.policy
  WHERE b.customer IS NULL
  ORDER BY b.policy;
END
$$;
COMMENT ON FUNCTION pgcredit.replay_policy(text, date, date) IS
  'what the draft policy would have done with the stored orders of a period, beside the live policy replayed the same way: orders refused and held (count and amount), held orders released later (revenue deferred, average days) or never (with the refused: revenue lost), the book''s peak, average, first and last exposure, the customers it stopped and the losses (write-offs from period_from on, less recoveries) of those customers it would have avoided, up to what it stopped; writes nothing (doc/foresight.md)';
REVOKE EXECUTE ON FUNCTION pgcredit.replay_policy(text, date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.replay_policy(text, date, date) TO pgcredit_reader;

CREATE FUNCTION pgcredit.replay_policy_orders(draft text, period_from date, period_until date)
RETURNS TABLE (customer text, ordered_on date, amount numeric, live_outcome text, live_rule text,
               live_released_on date, draft_outcome text, draft_rule text, draft_released_on date)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_replay(draft, period_from, period_until);
  RETURN QUERY
  WITH w AS MATERIALIZED (
    SELECT * FROM pgcredit._replay_walk(draft, period_from, period_until, true))
  SELECT l.customer, l.ordered_on, l.ordered, l.outcome, l.rule_kind, l.released_on,
         d.outcome, d.rule_kind, d.released_on
  FROM w l JOIN w d ON d.orders = l.orders AND d.policy = 1
  WHERE l.policy = 0
  ORDER BY l.customer, l.ordered_on, l.ordered, l.orders;
END
$$;
COMMENT ON FUNCTION pgcredit.replay_policy_orders(text, date, date) IS
  'replay_policy() per order: each order of the period with what the live policy and the draft did with it (passed, held or refused), the kind of rule that decided and the day a held order was released';
REVOKE EXECUTE ON FUNCTION pgcredit.replay_policy_orders(text, date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.replay_policy_orders(text, date, date) TO pgcredit_reader;
-- <<< replay

-- >>> citus (citus.sql): the attachment of a shard on a Citus worker,
-- the policy replicated, the functions of 1.0 that learnt of Citus
ALTER TABLE pgcredit.attachment ADD COLUMN citus_shard_of regclass;
COMMENT ON COLUMN pgcredit.attachment.citus_shard_of IS 'on a Citus worker: the distributed table whose shard this is (attached on the coordinator); NULL otherwise';

CREATE OR REPLACE FUNCTION pgcredit._actual_exposure(lock_tables boolean DEFAULT false)
RETURNS TABLE (customer text, receivables numeric, open_orders numeric)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT i.customer,
         coalesce(sum(i.amount) FILTER (WHERE i.kind = 'receivables'), 0),
         coalesce(sum(i.amount) FILTER (WHERE i.kind = 'orders'), 0)
  FROM pgcredit._attached_items(NULL, NULL, NULL, lock_tables) i
  WHERE i.counts AND i.relid <> ALL (CAST((SELECT pgcredit._citus_shells()) AS oid[]))
  GROUP BY i.customer
$$;

CREATE OR REPLACE FUNCTION pgcredit._notify_alert()
RETURNS trigger LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  -- any role can LISTEN: the payload says only that an alert was raised
  -- and of which kind; its details stay in pgcredit.alert, behind its grants.
  -- Not on a Citus worker: its transactions are prepared (two-phase
  -- commit), which NOTIFY forbids; the coordinator announces alerts
  IF pgcredit._citus_installed() AND NOT pgcredit._citus_coordinator() THEN
    RETURN NULL;
  END IF;
  PERFORM pg_notify('pgcredit_alerts', json_build_object('id', NEW.id, 'kind', NEW.kind)::text);
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION pgcredit._alert_on_hold()
RETURNS trigger LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  -- on a Citus worker the change is the coordinator's, which raised it
  IF pgcredit._citus_installed() AND NOT pgcredit._citus_coordinator() THEN
    RETURN NULL;
  END IF;
  IF NEW.status IN ('hold', 'blocked') AND OLD.status IS DISTINCT FROM NEW.status THEN
    INSERT INTO pgcredit.alert (kind, customer, details)
    VALUES ('account_hold', NEW.customer,
            jsonb_build_object('status', NEW.status, 'hold_reason', NEW.hold_reason));
  END IF;
  RETURN NULL;
END
$$;

-- Citus: the guard on the workers, the policy replicated to them

----------------------------------------------------------------------
-- Citus (doc/citus.md).  A table distributed by its customer column is
-- attached on the coordinator and each of its shards on the node that
-- holds it: the shard's guard keeps the exposure of the shard's customers
-- in that node's pgcredit tables and judges an order there, with no
-- round trip to another node.  The accounts, rules and settings the
-- guard reads are written on the coordinator and replicated to every
-- node in the same transaction through pgcredit_cluster.policy_feed, a Citus
-- reference table whose rows are applied where they arrive.
----------------------------------------------------------------------

----------------------------------------------------------------------
-- The policy, replicated
----------------------------------------------------------------------

-- In a schema of its own, a member of the extension: Citus puts the
-- feed's shards in its schema and does not drop them with the extension;
-- DROP EXTENSION pgcredit CASCADE drops them with the schema (without
-- CASCADE it names them and stops)
CREATE SCHEMA pgcredit_cluster;
COMMENT ON SCHEMA pgcredit_cluster IS
  'pgcredit''s policy feed to the workers of a Citus cluster (pgcredit_cluster.policy_feed and its shards)';
REVOKE ALL ON SCHEMA pgcredit_cluster FROM PUBLIC;
GRANT USAGE ON SCHEMA pgcredit_cluster TO pgcredit_owner;

CREATE TABLE pgcredit_cluster.policy_feed (
  tbl      name NOT NULL,
  op       text NOT NULL CHECK (op IN ('I', 'U', 'D', 'S')),
  old_row  jsonb,
  new_row  jsonb
);
COMMENT ON TABLE pgcredit_cluster.policy_feed IS
  'on a Citus cluster, a reference table carrying each change of the coordinator''s policy tables to every node, in the transaction that made it; a row is applied where it arrives and never stored';
COMMENT ON COLUMN pgcredit_cluster.policy_feed.tbl IS 'the policy table changed (one of pgcredit._policy_tables())';
COMMENT ON COLUMN pgcredit_cluster.policy_feed.op IS 'I insert, U update, D delete, S the whole table (new_row is the array of its rows)';
COMMENT ON COLUMN pgcredit_cluster.policy_feed.old_row IS 'the row before the change (U, D)';
COMMENT ON COLUMN pgcredit_cluster.policy_feed.new_row IS 'the row after the change (I, U), or every row of the table (S)';
REVOKE ALL ON pgcredit_cluster.policy_feed FROM PUBLIC;
-- owned as pgcredit's own tables are (ownership.sql passes those of schema
-- pgcredit)
ALTER TABLE pgcredit_cluster.policy_feed OWNER TO pgcredit_owner;

-- What the guard reads besides exposure, in an order that respects their
-- foreign keys
CREATE FUNCTION pgcredit._policy_tables()
RETURNS name[] LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT '{exposure_category,tier_policy,settings,account,credit_rule,category_limit,cover_policy,cover,fx_rate}'::name[] $$;
COMMENT ON FUNCTION pgcredit._policy_tables() IS
  'the tables of policy the guard reads, replicated from the coordinator to the workers of a Citus cluster';
REVOKE EXECUTE ON FUNCTION pgcredit._policy_tables() FROM PUBLIC;

-- Whether changes of policy made here go to the other nodes
CREATE FUNCTION pgcredit._policy_fed()
RETURNS boolean LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  RETURN pgcredit._citus_installed()
         AND (pgcredit._citus_table('pgcredit_cluster.policy_feed')).method IS NOT NULL
         AND pgcredit._citus_coordinator();
END
$$;
COMMENT ON FUNCTION pgcredit._policy_fed() IS
  'whether this node is the coordinator of a cluster whose workers receive its policy';
REVOKE EXECUTE ON FUNCTION pgcredit._policy_fed() FROM PUBLIC;

-- Send one row to the workers (as the owner of citus: Citus connects to
-- them as the current role, and pgcredit_owner cannot log in)
CREATE FUNCTION pgcredit._policy_send(tbl name, op text, old_row jsonb, new_row jsonb)
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._cluster_exec(
    format('INSERT INTO pgcredit_cluster.policy_feed (tbl, op, old_row, new_row) VALUES (%L, %L, %L::jsonb, %L::jsonb)',
           tbl, op, old_row, new_row));
END
$$;
COMMENT ON FUNCTION pgcredit._policy_send(name, text, jsonb, jsonb) IS
  'write one change of policy to pgcredit_cluster.policy_feed, as the owner of citus';
REVOKE EXECUTE ON FUNCTION pgcredit._policy_send(name, text, jsonb, jsonb) FROM PUBLIC;

CREATE FUNCTION pgcredit._policy_feed()
RETURNS trigger LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF NOT pgcredit._policy_fed() THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM pgcredit._policy_send(TG_TABLE_NAME, 'S', NULL, '[]');
  ELSE
    PERFORM pgcredit._policy_send(TG_TABLE_NAME, left(TG_OP, 1),
                                  CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
                                  CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION pgcredit._policy_feed() IS
  'trigger on the policy tables: on the coordinator of a Citus cluster, send each change to the workers in the same transaction';
REVOKE EXECUTE ON FUNCTION pgcredit._policy_feed() FROM PUBLIC;

DO $feed$
DECLARE
  t name;
BEGIN
  FOREACH t IN ARRAY pgcredit._policy_tables() LOOP
    EXECUTE format('CREATE TRIGGER policy_feed AFTER INSERT OR UPDATE OR DELETE ON pgcredit.%I'
                   ' FOR EACH ROW EXECUTE FUNCTION pgcredit._policy_feed()', t);
    EXECUTE format('CREATE TRIGGER policy_feed_truncate AFTER TRUNCATE ON pgcredit.%I'
                   ' FOR EACH STATEMENT EXECUTE FUNCTION pgcredit._policy_feed()', t);
  END LOOP;
END
$feed$;

-- The columns that identify a row of a policy table: its primary key,
-- or every column
CREATE FUNCTION pgcredit._policy_key(tbl regclass)
RETURNS name[] LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT coalesce(
    (SELECT array_agg(a.attname ORDER BY k.ord)
     FROM pg_catalog.pg_index i
     CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
     JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indrelid = $1 AND i.indisprimary),
    (SELECT array_agg(a.attname ORDER BY a.attnum) FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped))
$$;
COMMENT ON FUNCTION pgcredit._policy_key(regclass) IS
  'the columns identifying a row of a policy table: its primary key, or all its columns';
REVOKE EXECUTE ON FUNCTION pgcredit._policy_key(regclass) FROM PUBLIC;

-- Apply one change to this node's copy of a policy table
CREATE FUNCTION pgcredit._policy_apply_row(tbl name, op text, old_row jsonb, new_row jsonb)
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  rel regclass;
  keys name[];
  matches text;
  set_list text;
  insert_list text;
  n bigint;
  r jsonb;
  gone jsonb := '[]';
  history_before boolean;
  changed text[];   -- the customers whose account or cover changed, in key order
BEGIN
  IF tbl IS NULL OR NOT tbl = ANY (pgcredit._policy_tables()) THEN
    RAISE EXCEPTION '"%" is not a policy table of pgcredit', tbl USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF tbl = 'settings' THEN
    SELECT s.exposure_history INTO history_before FROM pgcredit.settings s;
  END IF;
  rel := format('pgcredit.%I', tbl)::regclass;
  keys := pgcredit._policy_key(rel);
  SELECT string_agg(format('t.%1$I IS NOT DISTINCT FROM r.%1$I', k), ' AND ') INTO matches FROM unnest(keys) k;
  -- generated columns are computed again; identity columns keep the
  -- coordinator's values
  SELECT string_agg(format('%1$I = n.%1$I', a.attname), ', ' ORDER BY a.attnum) FILTER (WHERE a.attidentity = ''),
         string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum)
  INTO set_list, insert_list
  FROM pg_catalog.pg_attribute a
  WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';

  IF op = 'D' THEN
    EXECUTE format('DELETE FROM %s t USING pg_catalog.jsonb_populate_record(NULL::%s, $1) r WHERE %s',
                   rel, rel, matches) USING old_row;
    gone := jsonb_build_array(old_row);
  ELSIF op IN ('I', 'U') THEN
    EXECUTE format('UPDATE %s t SET %s FROM pg_catalog.jsonb_populate_record(NULL::%s, $1) r,'
                   ' pg_catalog.jsonb_populate_record(NULL::%s, $2) n WHERE %s',
                   rel, set_list, rel, rel, matches) USING coalesce(old_row, new_row), new_row;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
      EXECUTE format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM pg_catalog.jsonb_populate_record(NULL::%s, $1) n',
                     rel, insert_list, insert_list, rel) USING new_row;
    END IF;
  ELSIF op = 'S' THEN
    EXECUTE format('WITH d AS (DELETE FROM %s t WHERE NOT EXISTS'
                   ' (SELECT FROM pg_catalog.jsonb_populate_recordset(NULL::%s, $1) r WHERE %s) RETURNING t.*)'
                   ' SELECT COALESCE(pg_catalog.jsonb_agg(d), ''[]'') FROM d',
                   rel, rel, matches) INTO gone USING new_row;
    FOR r IN SELECT e FROM jsonb_array_elements(new_row) e LOOP
      PERFORM pgcredit._policy_apply_row(tbl, 'I', r, r);
    END LOOP;
  ELSE
    RAISE EXCEPTION 'invalid policy change "%"', op USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- the guard judges by the copies of the account and of the cover on
  -- the exposure row, which the account and cover functions make on the
  -- coordinator: made here the same way, for the customers changed (for
  -- every customer with cover when the policy of cover changed)
  IF tbl IN ('account', 'cover') THEN
    SELECT array_agg(c ORDER BY c) INTO changed
    FROM (SELECT x ->> 'customer' AS c FROM jsonb_array_elements(gone) x
          UNION SELECT old_row ->> 'customer' WHERE op IN ('U', 'D')
          UNION SELECT new_row ->> 'customer' WHERE op IN ('I', 'U')) k
    WHERE c IS NOT NULL;
  END IF;
  IF tbl = 'account' THEN
    PERFORM pgcredit._lock_exposure(c) FROM unnest(changed) c;
  ELSIF tbl = 'cover' THEN
    PERFORM pgcredit._cover_copy(c) FROM unnest(changed) c;
  ELSIF tbl = 'cover_policy' THEN
    PERFORM pgcredit._cover_copy(c)
    FROM (SELECT DISTINCT v.customer AS c FROM pgcredit.cover v) k ORDER BY c;
  ELSIF tbl = 'settings' THEN
    -- the exposure history turned on again goes on from every customer's
    -- exposure as it stands, as set_exposure_history() makes it here
    IF NOT coalesce(history_before, true)
       AND coalesce((SELECT s.exposure_history FROM pgcredit.settings s), true) THEN
      PERFORM pgcredit._exposure_history_seed();
    END IF;
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._policy_apply_row(name, text, jsonb, jsonb) IS
  'apply one change of the coordinator''s policy to this node''s copy of the table';
REVOKE EXECUTE ON FUNCTION pgcredit._policy_apply_row(name, text, jsonb, jsonb) FROM PUBLIC;

CREATE FUNCTION pgcredit._policy_apply()
RETURNS trigger LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  -- the coordinator holds the originals; a node without Citus nothing
  IF pgcredit._citus_installed() AND NOT pgcredit._citus_coordinator() THEN
    PERFORM pgcredit._policy_apply_row(NEW.tbl, NEW.op, NEW.old_row, NEW.new_row);
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION pgcredit._policy_apply() IS
  'trigger on (the shards of) pgcredit_cluster.policy_feed: on a worker, apply the change to its policy tables; never store the row';
REVOKE EXECUTE ON FUNCTION pgcredit._policy_apply() FROM PUBLIC;
CREATE TRIGGER policy_apply BEFORE INSERT ON pgcredit_cluster.policy_feed
  FOR EACH ROW EXECUTE FUNCTION pgcredit._policy_apply();

-- Make the feed a reference table (once) and send the whole policy
CREATE FUNCTION pgcredit._citus_enable()
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  t name;
  rows jsonb;
BEGIN
  IF (pgcredit._citus_table('pgcredit_cluster.policy_feed')).method IS NULL THEN
    -- its trigger goes to its shards (the setting lasts for this statement)
    PERFORM pgcredit._cluster_query(
      'SELECT pg_catalog.set_config(''citus.enable_unsafe_triggers'', ''on'', true) AS unsafe_triggers,'
      ' pg_catalog.create_reference_table(''pgcredit_cluster.policy_feed'') AS created');
  END IF;
  FOREACH t IN ARRAY pgcredit._policy_tables() LOOP
    EXECUTE format('SELECT coalesce(jsonb_agg(x), ''[]'') FROM pgcredit.%I x', t) INTO rows;
    PERFORM pgcredit._policy_send(t, 'S', NULL, rows);
  END LOOP;
END
$$;
COMMENT ON FUNCTION pgcredit._citus_enable() IS
  'make pgcredit_cluster.policy_feed a Citus reference table if it is not one yet and send every policy table to the workers';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_enable() FROM PUBLIC;


----------------------------------------------------------------------
-- Shards attached where they are
----------------------------------------------------------------------

-- Run one statement on each placement of a distributed table's shards:
-- before, the shard's name as a literal, then after; returns what each
-- node said, after an error if one failed
CREATE FUNCTION pgcredit._citus_on_shards(tbl regclass, before text, after text)
RETURNS TABLE (node text, port integer, shard bigint, result text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  nodes text[];
  ports integer[];
  shards bigint[];
  commands text[];
BEGIN
  EXECUTE 'SELECT array_agg(n.nodename ORDER BY s.shardid, n.nodeid), array_agg(n.nodeport ORDER BY s.shardid, n.nodeid),'
          ' array_agg(s.shardid ORDER BY s.shardid, n.nodeid),'
          ' array_agg($2 OPERATOR(pg_catalog.||) pg_catalog.quote_literal(pg_catalog.shard_name(s.logicalrelid, s.shardid, false))'
          '           OPERATOR(pg_catalog.||) $3 ORDER BY s.shardid, n.nodeid)'
          ' FROM pg_catalog.pg_dist_shard s'
          ' JOIN pg_catalog.pg_dist_placement p ON p.shardid OPERATOR(pg_catalog.=) s.shardid'
          ' JOIN pg_catalog.pg_dist_node n ON n.groupid OPERATOR(pg_catalog.=) p.groupid'
          ' WHERE s.logicalrelid OPERATOR(pg_catalog.=) $1 AND n.noderole OPERATOR(pg_catalog.=) ''primary'''
    INTO nodes, ports, shards, commands USING tbl, before, after;
  RETURN QUERY
    SELECT r.node, r.port, shards[o::integer], r.result
    FROM pgcredit._citus_run(nodes, ports, commands, format('could not attach or detach a shard of %s', tbl),
                             'Attach and detach distributed tables in a transaction of their own.  Shards done before this one stay as they were made: once the cause is mended, run pgcredit.citus_sync() on the coordinator.')
         WITH ORDINALITY r(node, port, result, o);
END
$$;
COMMENT ON FUNCTION pgcredit._citus_on_shards(regclass, text, text) IS
  'run one of pgcredit''s statements on the node of each shard of a distributed table (its text before and after the shard''s name, quoted), as the owner of citus';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_on_shards(regclass, text, text) FROM PUBLIC;


-- Drop pgcredit's triggers from a table whatever their names (Citus
-- gives a shard's copies its shard number, a shard moved to this node
-- brings those of its distributed table), as the owner of citus; returns
-- how many there were
CREATE FUNCTION pgcredit._drop_guard_triggers(tbl regclass)
RETURNS integer LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  t name;
  n integer := 0;
BEGIN
  FOR t IN SELECT g.tgname FROM pg_catalog.pg_trigger g JOIN pg_catalog.pg_proc p ON p.oid = g.tgfoid
           WHERE g.tgrelid = tbl AND NOT g.tgisinternal AND p.pronamespace = 'pgcredit'::regnamespace
           ORDER BY g.tgname LOOP
    PERFORM pgcredit._cluster_exec(format('DROP TRIGGER %I ON %s', t, pgcredit._qualified_name(tbl::oid)));
    n := n + 1;
  END LOOP;
  RETURN n;
END
$$;
COMMENT ON FUNCTION pgcredit._drop_guard_triggers(regclass) IS
  'on a Citus node: drop pgcredit''s triggers from a shard whatever their names, as the owner of citus, and return how many there were';
REVOKE EXECUTE ON FUNCTION pgcredit._drop_guard_triggers(regclass) FROM PUBLIC;

-- On a worker: attach one shard as its distributed table is attached on
-- the coordinator (att), unless it is attached already and keep is true
CREATE FUNCTION pgcredit._attach_shard(shard text, shell text, att jsonb, keep boolean)
RETURNS text LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
-- it runs beside the coordinator's transaction, which may hold locks here:
-- an error rather than a wait without end
SET lock_timeout = '10s'
AS $$
DECLARE
  s regclass := shard::regclass;
  a pgcredit.attachment := jsonb_populate_record(NULL::pgcredit.attachment, att);
BEGIN
  IF EXISTS (SELECT FROM pgcredit.attachment x WHERE x.relid = s) THEN
    IF keep THEN
      RETURN 'kept';
    END IF;
    PERFORM pgcredit.detach(s);
  ELSE
    -- a shard Citus moved or split here has the distributed table's
    -- triggers, named with its shard number
    PERFORM pgcredit._drop_guard_triggers(s);
  END IF;
  PERFORM pgcredit._attach(s, a.kind, a.customer_column, a.amount_column, a.due_column,
                           a.open_column, a.open_values, a.mode, a.hold_column,
                           a.invoice_amount_column, a.invoiced_column, a.paid_column, a.prepaid_column,
                           a.currency_column, a.rate_date_column, a.category,
                           a.delivery_column, a.horizon_days);
  UPDATE pgcredit.attachment x SET order_date_column = a.order_date_column, citus_shard_of = shell::regclass
  WHERE x.relid = s;
  RETURN 'attached';
END
$$;
COMMENT ON FUNCTION pgcredit._attach_shard(text, text, jsonb, boolean) IS
  'on a Citus worker: attach a shard as its distributed table is attached on the coordinator';
REVOKE EXECUTE ON FUNCTION pgcredit._attach_shard(text, text, jsonb, boolean) FROM PUBLIC;

CREATE FUNCTION pgcredit._detach_shard(shard text)
RETURNS text LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
SET lock_timeout = '10s'
AS $$
DECLARE
  s regclass := shard::regclass;
BEGIN
  IF EXISTS (SELECT FROM pgcredit.attachment x WHERE x.relid = s) THEN
    PERFORM pgcredit.detach(s);
    RETURN 'detached';
  ELSIF pgcredit._drop_guard_triggers(s) > 0 THEN
    RETURN 'triggers dropped';
  END IF;
  RETURN 'not attached';
END
$$;
COMMENT ON FUNCTION pgcredit._detach_shard(text) IS 'on a Citus worker: detach a shard';
REVOKE EXECUTE ON FUNCTION pgcredit._detach_shard(text) FROM PUBLIC;

-- Refuse what the guard on the workers cannot follow, before attaching
-- a distributed table on the coordinator
CREATE FUNCTION pgcredit._citus_check_attach(tbl regclass, customer_column name, mode text)
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  d record;
  other regclass;
BEGIN
  SELECT * INTO d FROM pgcredit._citus_table(tbl);
  IF d.method IS DISTINCT FROM 'h' THEN
    RAISE EXCEPTION 'cannot attach table "%": Citus keeps it as a % table', tbl, d.kind
      USING ERRCODE = 'feature_not_supported',
      DETAIL = 'pgcredit guards tables distributed by hash of their customer column: each customer''s rows, and so its exposure, are then on one node.',
      HINT = format('Distribute it by its customer column: SELECT create_distributed_table(%L, %L);', tbl::text, customer_column);
  END IF;
  IF d.dist_column IS DISTINCT FROM customer_column THEN
    RAISE EXCEPTION 'cannot attach table "%": it is distributed by column "%", not by its customer column "%"',
                    tbl, d.dist_column, customer_column
      USING ERRCODE = 'feature_not_supported',
      DETAIL = 'A customer''s rows would be spread over the nodes; the guard on each would see only part of its exposure.',
      HINT = 'Distribute the table by its customer column.';
  END IF;
  IF NOT pgcredit._citus_coordinator() THEN
    RAISE EXCEPTION 'attach distributed table "%" on the coordinator', tbl USING ERRCODE = 'feature_not_supported';
  END IF;
  IF mode = 'hold' THEN
    RAISE EXCEPTION 'cannot attach distributed table "%" in hold mode', tbl USING ERRCODE = 'feature_not_supported',
      DETAIL = 'Held orders would be kept on the workers, where the coordinator''s release and approval functions do not reach them.',
      HINT = 'Attach it in block mode.';
  END IF;
  SELECT a.relid INTO other FROM pgcredit.attachment a
  WHERE a.relid::oid = ANY (pgcredit._citus_shells()) AND (pgcredit._citus_table(a.relid)).colocation <> d.colocation
  LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'cannot attach table "%": it is not co-located with attached table "%"', tbl, other
      USING ERRCODE = 'feature_not_supported',
      DETAIL = 'A customer''s orders and invoices must be on one node for its exposure to be whole there.',
      HINT = format('Distribute it co-located: SELECT create_distributed_table(%L, %L, colocate_with => %L);',
                    tbl::text, customer_column, other::text);
  END IF;
  SELECT a.relid INTO other FROM pgcredit.attachment a
  WHERE NOT a.relid::oid = ANY (pgcredit._citus_shells()) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'cannot attach distributed table "%" while table "%" of this node is attached', tbl, other
      USING ERRCODE = 'feature_not_supported',
      DETAIL = 'A customer''s exposure would be split between this node and a worker; the guard on each would see only its part.',
      HINT = 'Distribute that table too, co-located, or detach it.';
  END IF;
  IF EXISTS (SELECT FROM pgcredit.group_member) THEN
    RAISE EXCEPTION 'cannot attach distributed table "%" while customers belong to credit groups', tbl
      USING ERRCODE = 'feature_not_supported',
      DETAIL = 'A group''s members may be on different nodes: no node could judge the group''s limit alone.',
      HINT = 'Keep credit groups on a single-node installation, or end the groups first.';
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._citus_check_attach(regclass, name, text) IS
  'refuse attaching a Citus table whose orders the guard on the workers could not judge alone';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_check_attach(regclass, name, text) FROM PUBLIC;

-- On the coordinator: create or drop a distributed table's own triggers
-- there, not on its shards (Citus would propagate them; pgcredit attaches
-- and detaches the shards itself, on their nodes)
CREATE FUNCTION pgcredit._citus_shell_triggers(tbl regclass, install boolean)
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
-- for the statement only (the settings come back when it returns)
SET citus.enable_ddl_propagation = off
SET citus.enable_unsafe_triggers = on
AS $$
BEGIN
  PERFORM pgcredit._table_triggers(tbl, install);
END
$$;
COMMENT ON FUNCTION pgcredit._citus_shell_triggers(regclass, boolean) IS
  'on the coordinator: create or drop pgcredit''s triggers on a distributed table itself, without Citus propagating them to its shards';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_shell_triggers(regclass, boolean) FROM PUBLIC;

-- On the coordinator: the distributed table's own triggers (which Citus
-- copies to every shard it creates later, so that a moved or split shard
-- refuses rows until it is attached where it lands), then its shards on
-- their nodes
CREATE FUNCTION pgcredit._citus_attach(att pgcredit.attachment)
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._citus_shell_triggers(att.relid, true);
  -- the shards first: each is attached in a transaction of its own on its
  -- node, which must not wait for rows this transaction changed there
  PERFORM pgcredit._citus_on_shards(att.relid, 'SELECT pgcredit._attach_shard(',
    format(', %L, %L, false)', pgcredit._qualified_name(att.relid::oid), to_jsonb(att)));
  PERFORM pgcredit._citus_enable();
END
$$;
COMMENT ON FUNCTION pgcredit._citus_attach(pgcredit.attachment) IS
  'on the coordinator: install pgcredit''s triggers on a distributed table (not propagated) and attach each of its shards on its node';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_attach(pgcredit.attachment) FROM PUBLIC;

CREATE FUNCTION pgcredit._citus_detach(tbl regclass)
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._citus_on_shards(tbl, 'SELECT pgcredit._detach_shard(', ')');
  PERFORM pgcredit._citus_shell_triggers(tbl, false);
END
$$;
COMMENT ON FUNCTION pgcredit._citus_detach(regclass) IS
  'on the coordinator: detach each shard of a distributed table on its node and drop the table''s own triggers';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_detach(regclass) FROM PUBLIC;

-- A worker's exposure recomputed from the shards it holds now (run by
-- citus_sync() beside the coordinator's transaction: an error rather
-- than a wait without end)
CREATE FUNCTION pgcredit._citus_rebuild_here()
RETURNS bigint LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
SET lock_timeout = '10s'
AS $$ SELECT pgcredit.rebuild_exposure() $$;
COMMENT ON FUNCTION pgcredit._citus_rebuild_here() IS
  'on a Citus worker, for citus_sync(): rebuild_exposure() with a lock timeout';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_rebuild_here() FROM PUBLIC;

-- A worker's exposure revalued at the rates it has now (run by
-- revalue_exposure() on the coordinator, beside its transaction)
CREATE FUNCTION pgcredit._citus_revalue_here(reason text)
RETURNS TABLE (customer text, old_exposure numeric, new_exposure numeric, credit_limit numeric, crossed text)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
SET lock_timeout = '10s'
AS $$ SELECT * FROM pgcredit.revalue_exposure($1) $$;
COMMENT ON FUNCTION pgcredit._citus_revalue_here(text) IS
  'on a Citus worker, for revalue_exposure() on the coordinator: revalue_exposure() with a lock timeout';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_revalue_here(text) FROM PUBLIC;

-- After shards moved (rebalancing), split or a node was added: attach the
-- shards not attached where they are now, recompute each worker's
-- exposure from what it holds, send the whole policy again
CREATE FUNCTION pgcredit.citus_sync()
RETURNS TABLE (node text, port integer, shard bigint, action text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  a pgcredit.attachment;
BEGIN
  IF NOT pgcredit._citus_coordinator() THEN
    RAISE EXCEPTION 'pgcredit.citus_sync() runs on the coordinator of a Citus cluster'
      USING ERRCODE = 'feature_not_supported';
  END IF;
  -- the shards and the workers' exposure first, each in a transaction of
  -- its own on its node: they must not wait for rows this one changes there
  FOR a IN SELECT x.* FROM pgcredit.attachment x WHERE x.relid::oid = ANY (pgcredit._citus_shells()) ORDER BY x.relid LOOP
    -- a table attached here and distributed since: by its customer column?
    PERFORM pgcredit._citus_check_attach(a.relid, a.customer_column, a.mode);
    RETURN QUERY SELECT s.node, s.port, s.shard, s.result
      FROM pgcredit._citus_on_shards(a.relid, 'SELECT pgcredit._attach_shard(',
             format(', %L, %L, true)', pgcredit._qualified_name(a.relid::oid), to_jsonb(a))) s;
  END LOOP;
  RETURN QUERY SELECT w.node, w.port, NULL::bigint, 'exposure rebuilt: ' || w.result || ' corrected'
    FROM pgcredit._citus_on_workers('SELECT pgcredit._citus_rebuild_here()') w;
  -- then the policy, in this transaction
  PERFORM pgcredit._citus_enable();
  -- and this node's exposure, which keeps none for the distributed tables
  RETURN QUERY SELECT 'coordinator'::text, NULL::integer, NULL::bigint,
                      'exposure rebuilt: ' || pgcredit.rebuild_exposure() || ' corrected';
  PERFORM pgcredit._audit('citus_sync', NULL, NULL, NULL, NULL);
END
$$;
COMMENT ON FUNCTION pgcredit.citus_sync() IS
  'on the coordinator of a Citus cluster, after shards moved or split or nodes were added: attach every shard of the attached distributed tables on the node that holds it now, recompute each worker''s exposure from its shards and send the policy to every worker again';
REVOKE EXECUTE ON FUNCTION pgcredit.citus_sync() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.citus_sync() TO pgcredit_admin;


-- Credit groups span customers that may be on different nodes
CREATE FUNCTION pgcredit._citus_no_groups()
RETURNS trigger LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF cardinality(pgcredit._citus_shells()) > 0 THEN
    RAISE EXCEPTION 'credit groups are not supported while distributed tables are attached'
      USING ERRCODE = 'feature_not_supported',
      DETAIL = 'A group''s members may be on different nodes: no node could judge the group''s limit alone.';
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION pgcredit._citus_no_groups() IS
  'trigger on pgcredit.group_member: refuse members while distributed tables are attached';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_no_groups() FROM PUBLIC;
CREATE TRIGGER citus_no_groups BEFORE INSERT OR UPDATE ON pgcredit.group_member
  FOR EACH ROW EXECUTE FUNCTION pgcredit._citus_no_groups();

-- Each customer's exposure as its worker keeps it, read live: on the
-- coordinator of a cluster, what the guard judges by (the risk views'
-- exposure columns there do not include distributed tables yet)
CREATE FUNCTION pgcredit.citus_exposure()
RETURNS TABLE (customer text, node text, port integer, receivables numeric, open_orders numeric,
               exposure numeric, credit_limit numeric, status text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  RETURN QUERY
    SELECT x.customer, w.node, w.port, x.receivables, x.open_orders, x.receivables + x.open_orders,
           x.credit_limit, x.status
    FROM pgcredit._citus_rows('SELECT e.customer, e.receivables, e.open_orders, e.credit_limit, e.status'
                              ' FROM pgcredit.exposure e WHERE e.receivables OPERATOR(pg_catalog.<>) 0'
                              ' OR e.open_orders OPERATOR(pg_catalog.<>) 0') w
    CROSS JOIN LATERAL jsonb_to_record(w.r)
      AS x(customer text, receivables numeric, open_orders numeric, credit_limit numeric, status text)
    ORDER BY 1, 2, 3;
END
$$;
COMMENT ON FUNCTION pgcredit.citus_exposure() IS
  'on the coordinator of a Citus cluster: each customer''s exposure as the worker holding its shards keeps it, read live from every worker; no rows elsewhere';
REVOKE EXECUTE ON FUNCTION pgcredit.citus_exposure() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.citus_exposure() TO pgcredit_reader;

-- check_order() on the coordinator: the verdict of the worker holding
-- the customer's shards (_citus_ask), asked with the same arguments (the
-- order table as its shard there).  No row: this node answers itself (not
-- a coordinator with distributed tables attached, or a key no customer
-- column can hold, which no order can carry either).
CREATE FUNCTION pgcredit._citus_check_order(customer text, amount numeric, order_table regclass, prepaid numeric,
                                            currency text, rate_date date, delivery_date date)
RETURNS TABLE (verdict text, rule_id bigint, kind text, sqlstate text, reason text, exposure numeric,
               credit_available numeric)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  -- the order table's shard there, named by text cast there (the
  -- coordinator has no such relation)
  shard text;
  answer jsonb;
BEGIN
  IF cardinality(pgcredit._citus_shells()) = 0 OR NOT pgcredit._citus_coordinator() THEN
    RETURN;
  END IF;
  IF order_table IS NOT NULL THEN
    shard := pgcredit._citus_shard_of(customer, order_table) ->> 'name';
  END IF;
  answer := pgcredit._citus_ask(customer, format(
    'SELECT pg_catalog.row_to_json(c) FROM pgcredit.check_order(%L::text, %L::numeric, %L::text::regclass,'
    ' %L::numeric, %L::text, %L::date, %L::date) c',
    customer, amount, shard, prepaid, currency, rate_date, delivery_date)) -> 'answer';
  IF answer IS NULL THEN
    RETURN;
  END IF;
  RETURN QUERY SELECT * FROM jsonb_to_record(answer)
    AS j(verdict text, rule_id bigint, kind text, sqlstate text, reason text, exposure numeric,
         credit_available numeric);
END
$$;
COMMENT ON FUNCTION pgcredit._citus_check_order(text, numeric, regclass, numeric, text, date, date) IS
  'on the coordinator of a Citus cluster: check_order()''s verdict as the worker holding the customer''s shards gives it; no row where this node answers itself';
REVOKE EXECUTE ON FUNCTION pgcredit._citus_check_order(text, numeric, regclass, numeric, text, date, date) FROM PUBLIC;

CREATE VIEW pgcredit.cluster_exposure AS
SELECT x.customer, x.node, x.port, x.receivables, x.open_orders, x.exposure, x.credit_limit,
       x.credit_limit - x.exposure AS available_credit, x.status, current_date AS day
FROM pgcredit.citus_exposure() x;
COMMENT ON VIEW pgcredit.cluster_exposure IS
  'on the coordinator of a Citus cluster: each customer''s exposure as the guard on its worker keeps it, read live (empty elsewhere)';
COMMENT ON COLUMN pgcredit.cluster_exposure.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.cluster_exposure.node IS 'the worker holding the customer''s shards';
COMMENT ON COLUMN pgcredit.cluster_exposure.port IS 'its port';
COMMENT ON COLUMN pgcredit.cluster_exposure.receivables IS 'open receivables';
COMMENT ON COLUMN pgcredit.cluster_exposure.open_orders IS 'open orders';
COMMENT ON COLUMN pgcredit.cluster_exposure.exposure IS 'receivables plus open orders';
COMMENT ON COLUMN pgcredit.cluster_exposure.credit_limit IS 'the credit limit the worker judges by; NULL without one';
COMMENT ON COLUMN pgcredit.cluster_exposure.available_credit IS 'credit limit minus exposure (tolerance, temporary limits and cover aside); NULL without a limit';
COMMENT ON COLUMN pgcredit.cluster_exposure.status IS 'the account status the worker judges by';
COMMENT ON COLUMN pgcredit.cluster_exposure.day IS 'today: the exposure as it stands';
REVOKE ALL ON pgcredit.cluster_exposure FROM PUBLIC;
GRANT SELECT ON pgcredit.cluster_exposure TO pgcredit_reader;
-- <<< citus

-- >>> agg_state (analytics_amount_sum.sql): amount_sum's state leaves the
-- node as pgcredit.agg_state, for Citus's partial aggregates.  CREATE OR
-- REPLACE AGGREGATE keeps the aggregate (and what depends on it) and
-- changes its state type; version 1.0's functions of internal go.
----------------------------------------------------------------------
-- Aggregate states that can leave the node (src/agg_state.c)
--
-- The aggregates keep their states in C structures; of type agg_state
-- rather than internal, so that Citus can run them as partial aggregates
-- on its workers and combine them on the coordinator.  While an
-- aggregate runs the state is changed in place, as with internal; it is
-- turned into bytes only to leave the node: \x and hexadecimal digits as
-- text, the family's tag byte first.  Input is checked byte by byte.
----------------------------------------------------------------------

CREATE TYPE pgcredit.agg_state;
CREATE FUNCTION pgcredit.agg_state_in(cstring) RETURNS pgcredit.agg_state
AS 'MODULE_PATHNAME', 'pgc_agg_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pgcredit.agg_state_out(pgcredit.agg_state) RETURNS cstring
AS 'MODULE_PATHNAME', 'pgc_agg_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pgcredit.agg_state_recv(internal) RETURNS pgcredit.agg_state
AS 'MODULE_PATHNAME', 'pgc_agg_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pgcredit.agg_state_send(pgcredit.agg_state) RETURNS bytea
AS 'MODULE_PATHNAME', 'pgc_agg_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE pgcredit.agg_state (
  INPUT = pgcredit.agg_state_in, OUTPUT = pgcredit.agg_state_out,
  RECEIVE = pgcredit.agg_state_recv, SEND = pgcredit.agg_state_send,
  INTERNALLENGTH = VARIABLE, ALIGNMENT = int4, STORAGE = extended
);
COMMENT ON TYPE pgcredit.agg_state IS
  'the transition state of pgcredit''s aggregates: a C structure while the aggregate runs, its family''s tag and bytes when it leaves the node (for Citus''s partial aggregates); written \x and hexadecimal digits';
COMMENT ON FUNCTION pgcredit.agg_state_in(cstring) IS 'agg_state from text, checked by reading the state';
COMMENT ON FUNCTION pgcredit.agg_state_out(pgcredit.agg_state) IS 'agg_state as text: \x and two hexadecimal digits a byte';
COMMENT ON FUNCTION pgcredit.agg_state_recv(internal) IS 'agg_state from binary, checked by reading the state';
COMMENT ON FUNCTION pgcredit.agg_state_send(pgcredit.agg_state) IS 'agg_state as binary: its bytes';

CREATE FUNCTION pgcredit.amount_sum_state_trans(pgcredit.agg_state, numeric)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'amount_sum_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcredit.amount_sum_state_combine(pgcredit.agg_state, pgcredit.agg_state)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'amount_sum_state_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcredit.amount_sum_state_final(pgcredit.agg_state)
RETURNS numeric AS 'MODULE_PATHNAME', 'amount_sum_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE OR REPLACE AGGREGATE pgcredit.amount_sum(amount numeric) (
  SFUNC = pgcredit.amount_sum_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.amount_sum_state_final,
  COMBINEFUNC = pgcredit.amount_sum_state_combine,
  PARALLEL = SAFE
);
COMMENT ON FUNCTION pgcredit.amount_sum_state_trans(pgcredit.agg_state, numeric) IS 'transition function of amount_sum';
COMMENT ON FUNCTION pgcredit.amount_sum_state_combine(pgcredit.agg_state, pgcredit.agg_state) IS 'combine function of amount_sum, for parallel plans and Citus';
COMMENT ON FUNCTION pgcredit.amount_sum_state_final(pgcredit.agg_state) IS 'final function of amount_sum';
DROP FUNCTION pgcredit.amount_sum_trans(internal, numeric);
DROP FUNCTION pgcredit.amount_sum_combine(internal, internal);
DROP FUNCTION pgcredit.amount_sum_serialize(internal);
DROP FUNCTION pgcredit.amount_sum_deserialize(bytea, internal);
DROP FUNCTION pgcredit.amount_sum_final(internal);
-- aging's state too, the same way
CREATE FUNCTION pgcredit.aging_state_trans(pgcredit.agg_state, numeric, date, date)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'aging_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcredit.aging_state_trans(pgcredit.agg_state, numeric, date, date, int[])
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'aging_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcredit.aging_state_combine(pgcredit.agg_state, pgcredit.agg_state)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'aging_state_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcredit.aging_state_final(pgcredit.agg_state)
RETURNS pgcredit.aging_profile AS 'MODULE_PATHNAME', 'aging_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcredit.aging_bands_state_final(pgcredit.agg_state)
RETURNS pgcredit.aging_by_band AS 'MODULE_PATHNAME', 'aging_bands_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE OR REPLACE AGGREGATE pgcredit.aging(amount numeric, due date, as_of date) (
  SFUNC = pgcredit.aging_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.aging_state_final,
  COMBINEFUNC = pgcredit.aging_state_combine,
  PARALLEL = SAFE
);
CREATE OR REPLACE AGGREGATE pgcredit.aging(amount numeric, due date, as_of date, bounds int[]) (
  SFUNC = pgcredit.aging_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.aging_bands_state_final,
  COMBINEFUNC = pgcredit.aging_state_combine,
  PARALLEL = SAFE
);

COMMENT ON FUNCTION pgcredit.aging_state_trans(pgcredit.agg_state, numeric, date, date) IS 'transition function of aging with the default bands';
COMMENT ON FUNCTION pgcredit.aging_state_trans(pgcredit.agg_state, numeric, date, date, int[]) IS 'transition function of aging with custom bounds';
COMMENT ON FUNCTION pgcredit.aging_state_combine(pgcredit.agg_state, pgcredit.agg_state) IS 'combine function of aging, for parallel plans and Citus';
COMMENT ON FUNCTION pgcredit.aging_state_final(pgcredit.agg_state) IS 'final function of aging with the default bands';
COMMENT ON FUNCTION pgcredit.aging_bands_state_final(pgcredit.agg_state) IS 'final function of aging with custom bounds';
DROP FUNCTION pgcredit.aging_trans(internal, numeric, date, date);
DROP FUNCTION pgcredit.aging_trans(internal, numeric, date, date, int[]);
DROP FUNCTION pgcredit.aging_combine(internal, internal);
DROP FUNCTION pgcredit.aging_serialize(internal);
DROP FUNCTION pgcredit.aging_deserialize(bytea, internal);
DROP FUNCTION pgcredit.aging_final(internal);
DROP FUNCTION pgcredit.aging_bands_final(internal);
-- credit_score's state too
CREATE FUNCTION pgcredit.credit_score_state_trans(pgcredit.agg_state, numeric, date, date, date)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'credit_score_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.credit_score_state_trans(pgcredit.agg_state, numeric, date, date, date) IS 'transition function of credit_score and credit_score_explain';
CREATE FUNCTION pgcredit.credit_score_state_trans(pgcredit.agg_state, numeric, date, date, date, int)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'credit_score_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.credit_score_state_trans(pgcredit.agg_state, numeric, date, date, date, int) IS 'transition function of credit_score and credit_score_explain with a half-life';
CREATE FUNCTION pgcredit.credit_score_state_combine(pgcredit.agg_state, pgcredit.agg_state)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'credit_score_state_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.credit_score_state_combine(pgcredit.agg_state, pgcredit.agg_state) IS 'combine function of credit_score, for parallel plans and Citus';
CREATE FUNCTION pgcredit.credit_score_state_final(pgcredit.agg_state)
RETURNS numeric AS 'MODULE_PATHNAME', 'credit_score_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.credit_score_state_final(pgcredit.agg_state) IS 'final function of credit_score';
CREATE FUNCTION pgcredit.credit_score_explain_state_final(pgcredit.agg_state)
RETURNS pgcredit.credit_score_parts AS 'MODULE_PATHNAME', 'credit_score_explain_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.credit_score_explain_state_final(pgcredit.agg_state) IS 'final function of credit_score_explain';

CREATE OR REPLACE AGGREGATE pgcredit.credit_score(amount numeric, due date, paid_on date, as_of date) (
  SFUNC = pgcredit.credit_score_state_trans, STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.credit_score_state_final,
  COMBINEFUNC = pgcredit.credit_score_state_combine,
  PARALLEL = SAFE
);
CREATE OR REPLACE AGGREGATE pgcredit.credit_score(amount numeric, due date, paid_on date, as_of date, half_life_days int) (
  SFUNC = pgcredit.credit_score_state_trans, STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.credit_score_state_final,
  COMBINEFUNC = pgcredit.credit_score_state_combine,
  PARALLEL = SAFE
);
CREATE OR REPLACE AGGREGATE pgcredit.credit_score_explain(amount numeric, due date, paid_on date, as_of date) (
  SFUNC = pgcredit.credit_score_state_trans, STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.credit_score_explain_state_final,
  COMBINEFUNC = pgcredit.credit_score_state_combine,
  PARALLEL = SAFE
);
CREATE OR REPLACE AGGREGATE pgcredit.credit_score_explain(amount numeric, due date, paid_on date, as_of date, half_life_days int) (
  SFUNC = pgcredit.credit_score_state_trans, STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.credit_score_explain_state_final,
  COMBINEFUNC = pgcredit.credit_score_state_combine,
  PARALLEL = SAFE
);
DROP FUNCTION pgcredit.credit_score_trans(internal, numeric, date, date, date);
DROP FUNCTION pgcredit.credit_score_trans(internal, numeric, date, date, date, int);
DROP FUNCTION pgcredit.credit_score_combine(internal, internal);
DROP FUNCTION pgcredit.credit_score_serialize(internal);
DROP FUNCTION pgcredit.credit_score_deserialize(bytea, internal);
DROP FUNCTION pgcredit.credit_score_final(internal);
DROP FUNCTION pgcredit.credit_score_explain_final(internal);
-- concentration's states too
CREATE FUNCTION pgcredit.hhi_state_trans(pgcredit.agg_state, numeric)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'hhi_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.hhi_state_trans(pgcredit.agg_state, numeric) IS 'transition function of concentration_hhi';
CREATE FUNCTION pgcredit.hhi_state_combine(pgcredit.agg_state, pgcredit.agg_state)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'hhi_state_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.hhi_state_combine(pgcredit.agg_state, pgcredit.agg_state) IS 'combine function of concentration_hhi, for parallel plans and Citus';
CREATE FUNCTION pgcredit.hhi_state_final(pgcredit.agg_state)
RETURNS numeric AS 'MODULE_PATHNAME', 'hhi_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.hhi_state_final(pgcredit.agg_state) IS 'final function of concentration_hhi';

CREATE OR REPLACE AGGREGATE pgcredit.concentration_hhi(amount numeric) (
  SFUNC = pgcredit.hhi_state_trans, STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.hhi_state_final,
  COMBINEFUNC = pgcredit.hhi_state_combine,
  PARALLEL = SAFE
);
CREATE FUNCTION pgcredit.top_share_state_trans(pgcredit.agg_state, numeric, int)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'top_share_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.top_share_state_trans(pgcredit.agg_state, numeric, int) IS 'transition function of concentration_top_share';
CREATE FUNCTION pgcredit.top_share_state_combine(pgcredit.agg_state, pgcredit.agg_state)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'top_share_state_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.top_share_state_combine(pgcredit.agg_state, pgcredit.agg_state) IS 'combine function of concentration_top_share, for parallel plans and Citus';
CREATE FUNCTION pgcredit.top_share_state_final(pgcredit.agg_state)
RETURNS numeric AS 'MODULE_PATHNAME', 'top_share_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.top_share_state_final(pgcredit.agg_state) IS 'final function of concentration_top_share';

CREATE OR REPLACE AGGREGATE pgcredit.concentration_top_share(amount numeric, top_n int) (
  SFUNC = pgcredit.top_share_state_trans, STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.top_share_state_final,
  COMBINEFUNC = pgcredit.top_share_state_combine,
  PARALLEL = SAFE
);
DROP FUNCTION pgcredit.hhi_trans(internal, numeric);
DROP FUNCTION pgcredit.hhi_combine(internal, internal);
DROP FUNCTION pgcredit.hhi_serialize(internal);
DROP FUNCTION pgcredit.hhi_deserialize(bytea, internal);
DROP FUNCTION pgcredit.hhi_final(internal);
DROP FUNCTION pgcredit.top_share_trans(internal, numeric, int);
DROP FUNCTION pgcredit.top_share_combine(internal, internal);
DROP FUNCTION pgcredit.top_share_serialize(internal);
DROP FUNCTION pgcredit.top_share_deserialize(bytea, internal);
DROP FUNCTION pgcredit.top_share_final(internal);
-- the DSO aggregates' state too
CREATE FUNCTION pgcredit.dso_state_trans(pgcredit.agg_state, numeric, date, date, date)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'dso_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_state_trans(pgcredit.agg_state, numeric, date, date, date) IS 'transition function of dso and dso_countback without a period';
CREATE FUNCTION pgcredit.dso_state_trans(pgcredit.agg_state, numeric, date, date, date, int)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'dso_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_state_trans(pgcredit.agg_state, numeric, date, date, date, int) IS 'transition function of dso with a period';
CREATE FUNCTION pgcredit.dso_countback_state_trans(pgcredit.agg_state, numeric, date, date, date)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'dso_countback_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_countback_state_trans(pgcredit.agg_state, numeric, date, date, date) IS 'transition function of dso_countback';
CREATE FUNCTION pgcredit.dso_due_state_trans(pgcredit.agg_state, numeric, date, date, date, date)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'dso_due_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_due_state_trans(pgcredit.agg_state, numeric, date, date, date, date) IS 'transition function of best_possible_dso and average_days_delinquent';
CREATE FUNCTION pgcredit.dso_due_state_trans(pgcredit.agg_state, numeric, date, date, date, date, int)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'dso_due_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_due_state_trans(pgcredit.agg_state, numeric, date, date, date, date, int) IS 'transition function of best_possible_dso and average_days_delinquent with a period';
CREATE FUNCTION pgcredit.dso_report_state_trans(pgcredit.agg_state, numeric, date, date, date, date)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'dso_report_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_report_state_trans(pgcredit.agg_state, numeric, date, date, date, date) IS 'transition function of dso_report';
CREATE FUNCTION pgcredit.dso_report_state_trans(pgcredit.agg_state, numeric, date, date, date, date, int)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'dso_report_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_report_state_trans(pgcredit.agg_state, numeric, date, date, date, date, int) IS 'transition function of dso_report with a period';
CREATE FUNCTION pgcredit.dso_state_combine(pgcredit.agg_state, pgcredit.agg_state)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'dso_state_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_state_combine(pgcredit.agg_state, pgcredit.agg_state) IS 'combine function of the DSO aggregates, for parallel plans and Citus';
CREATE FUNCTION pgcredit.dso_state_final(pgcredit.agg_state)
RETURNS numeric AS 'MODULE_PATHNAME', 'dso_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_state_final(pgcredit.agg_state) IS 'final function of dso';
CREATE FUNCTION pgcredit.dso_countback_state_final(pgcredit.agg_state)
RETURNS numeric AS 'MODULE_PATHNAME', 'dso_countback_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_countback_state_final(pgcredit.agg_state) IS 'final function of dso_countback';
CREATE FUNCTION pgcredit.best_possible_dso_state_final(pgcredit.agg_state)
RETURNS numeric AS 'MODULE_PATHNAME', 'best_possible_dso_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.best_possible_dso_state_final(pgcredit.agg_state) IS 'final function of best_possible_dso';
CREATE FUNCTION pgcredit.average_days_delinquent_state_final(pgcredit.agg_state)
RETURNS numeric AS 'MODULE_PATHNAME', 'average_days_delinquent_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.average_days_delinquent_state_final(pgcredit.agg_state) IS 'final function of average_days_delinquent';
CREATE FUNCTION pgcredit.dso_report_state_final(pgcredit.agg_state)
RETURNS pgcredit.dso_result AS 'MODULE_PATHNAME', 'dso_report_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_report_state_final(pgcredit.agg_state) IS 'final function of dso_report';
CREATE OR REPLACE AGGREGATE pgcredit.dso(amount numeric, invoiced_on date, paid_on date, as_of date) (
  SFUNC = pgcredit.dso_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.dso_state_final,
  COMBINEFUNC = pgcredit.dso_state_combine,
  PARALLEL = SAFE
);
CREATE OR REPLACE AGGREGATE pgcredit.dso(amount numeric, invoiced_on date, paid_on date, as_of date, period_days int) (
  SFUNC = pgcredit.dso_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.dso_state_final,
  COMBINEFUNC = pgcredit.dso_state_combine,
  PARALLEL = SAFE
);
CREATE OR REPLACE AGGREGATE pgcredit.dso_countback(amount numeric, invoiced_on date, paid_on date, as_of date) (
  SFUNC = pgcredit.dso_countback_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.dso_countback_state_final,
  COMBINEFUNC = pgcredit.dso_state_combine,
  PARALLEL = SAFE
);
CREATE OR REPLACE AGGREGATE pgcredit.best_possible_dso(amount numeric, invoiced_on date, due date, paid_on date, as_of date) (
  SFUNC = pgcredit.dso_due_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.best_possible_dso_state_final,
  COMBINEFUNC = pgcredit.dso_state_combine,
  PARALLEL = SAFE
);
CREATE OR REPLACE AGGREGATE pgcredit.best_possible_dso(amount numeric, invoiced_on date, due date, paid_on date, as_of date, period_days int) (
  SFUNC = pgcredit.dso_due_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.best_possible_dso_state_final,
  COMBINEFUNC = pgcredit.dso_state_combine,
  PARALLEL = SAFE
);
CREATE OR REPLACE AGGREGATE pgcredit.average_days_delinquent(amount numeric, invoiced_on date, due date, paid_on date, as_of date) (
  SFUNC = pgcredit.dso_due_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.average_days_delinquent_state_final,
  COMBINEFUNC = pgcredit.dso_state_combine,
  PARALLEL = SAFE
);
CREATE OR REPLACE AGGREGATE pgcredit.average_days_delinquent(amount numeric, invoiced_on date, due date, paid_on date, as_of date, period_days int) (
  SFUNC = pgcredit.dso_due_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.average_days_delinquent_state_final,
  COMBINEFUNC = pgcredit.dso_state_combine,
  PARALLEL = SAFE
);
CREATE OR REPLACE AGGREGATE pgcredit.dso_report(amount numeric, invoiced_on date, due date, paid_on date, as_of date) (
  SFUNC = pgcredit.dso_report_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.dso_report_state_final,
  COMBINEFUNC = pgcredit.dso_state_combine,
  PARALLEL = SAFE
);
CREATE OR REPLACE AGGREGATE pgcredit.dso_report(amount numeric, invoiced_on date, due date, paid_on date, as_of date, period_days int) (
  SFUNC = pgcredit.dso_report_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.dso_report_state_final,
  COMBINEFUNC = pgcredit.dso_state_combine,
  PARALLEL = SAFE
);
DROP FUNCTION pgcredit.dso_trans(internal, numeric, date, date, date);
DROP FUNCTION pgcredit.dso_trans(internal, numeric, date, date, date, int);
DROP FUNCTION pgcredit.dso_countback_trans(internal, numeric, date, date, date);
DROP FUNCTION pgcredit.dso_due_trans(internal, numeric, date, date, date, date);
DROP FUNCTION pgcredit.dso_due_trans(internal, numeric, date, date, date, date, int);
DROP FUNCTION pgcredit.dso_report_trans(internal, numeric, date, date, date, date);
DROP FUNCTION pgcredit.dso_report_trans(internal, numeric, date, date, date, date, int);
DROP FUNCTION pgcredit.dso_combine(internal, internal);
DROP FUNCTION pgcredit.dso_serialize(internal);
DROP FUNCTION pgcredit.dso_deserialize(bytea, internal);
DROP FUNCTION pgcredit.dso_final(internal);
DROP FUNCTION pgcredit.dso_countback_final(internal);
DROP FUNCTION pgcredit.best_possible_dso_final(internal);
DROP FUNCTION pgcredit.average_days_delinquent_final(internal);
DROP FUNCTION pgcredit.dso_report_final(internal);
-- <<< agg_state

-- Ownership: whatever this script created passes to pgcredit_owner, as
-- in a fresh install (CREATE OR REPLACE keeps an owner; new objects
-- would belong to the role running the update)
----------------------------------------------------------------------

GRANT USAGE ON SCHEMA pgcredit TO pgcredit_owner;
DO $owner$
DECLARE
  o record;
BEGIN
  -- relations first: their ALTERs fire pgcredit's DDL event trigger,
  -- whose function can read them while both still have one owner
  FOR o IN
    SELECT 1 AS step, format('ALTER %s %s OWNER TO pgcredit_owner',
                  CASE c.relkind WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END, c.oid::pg_catalog.regclass) AS cmd
    FROM pg_catalog.pg_class c
    WHERE c.relnamespace = 'pgcredit'::pg_catalog.regnamespace AND c.relkind IN ('r', 'p', 'v')
    UNION ALL
    SELECT 2, format('ALTER TYPE %s OWNER TO pgcredit_owner', t.oid::pg_catalog.regtype)
    FROM pg_catalog.pg_type t JOIN pg_catalog.pg_class c ON c.oid = t.typrelid
    WHERE t.typnamespace = 'pgcredit'::pg_catalog.regnamespace AND c.relkind = 'c'
    UNION ALL  -- base types (their array types follow them)
    SELECT 2, format('ALTER TYPE %s OWNER TO pgcredit_owner', t.oid::pg_catalog.regtype)
    FROM pg_catalog.pg_type t
    WHERE t.typnamespace = 'pgcredit'::pg_catalog.regnamespace AND t.typtype = 'b'
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)
    UNION ALL
    SELECT 3, format('ALTER ROUTINE %s OWNER TO pgcredit_owner', p.oid::pg_catalog.regprocedure)
    FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'pgcredit'::pg_catalog.regnamespace
    ORDER BY 1
  LOOP
    EXECUTE o.cmd;
  END LOOP;
END
$owner$;
