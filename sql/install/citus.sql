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
