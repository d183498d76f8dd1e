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
