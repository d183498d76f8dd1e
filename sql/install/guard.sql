-- Credit control: the guard (row trigger on attached tables) and the DDL guard

----------------------------------------------------------------------
-- Credit control: the guard
--
-- The row trigger attach_orders() and attach_receivables() install, the
-- statement trigger for TRUNCATE, and the event triggers that refuse
-- changes to an attached table the guard could not follow.
----------------------------------------------------------------------


-- Not SECURITY DEFINER: the C code acts as the function's owner only
-- around its own statements, which name every object with its schema.
CREATE FUNCTION pgcredit.exposure_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'exposure_trigger'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgcredit.exposure_trigger() IS
  'row trigger installed by attach_orders() and attach_receivables(): keeps exposure current and checks orders, acting as pgcredit''s owner';
-- EXECUTE: PUBLIC (the default): a trigger function cannot be called
-- directly, and the guard acts only for tables in pgcredit.attachment.

CREATE FUNCTION pgcredit.exposure_truncate_trigger()
RETURNS trigger LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF NOT EXISTS (SELECT FROM pgcredit.attachment a
                 WHERE a.relid = TG_RELID OR a.relid IN (SELECT pg_partition_ancestors(TG_RELID))) THEN
    RAISE EXCEPTION 'trigger "%" on relation "%" is not pgcredit''s', TG_NAME, TG_RELID::regclass
      USING ERRCODE = 'object_not_in_prerequisite_state',
      HINT = 'Drop this trigger, and attach the table with pgcredit''s functions.';
  END IF;
  -- the rows of the held orders are gone with the table's rows
  PERFORM pgcredit._close_held_order(o.relid, o.row_key, 'table truncated')
  FROM pgcredit.held_order o
  WHERE o.released_at IS NULL
    AND (o.relid = TG_RELID OR o.relid IN (SELECT relid FROM pg_partition_tree(TG_RELID)));
  PERFORM pgcredit.rebuild_exposure();
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION pgcredit.exposure_truncate_trigger() IS
  'statement trigger installed on attached tables: closes the holds of the truncated rows and recomputes exposure after TRUNCATE';
-- EXECUTE: PUBLIC (the default): a trigger function cannot be called
-- directly, and it refuses to act for a table that is not attached.


-- Changes to an attached table that the guard could not follow are
-- refused when they are made: an inheritance child or parent (its rows
-- would escape the guard), a column the guard reads renamed, dropped or
-- changed to a type it does not accept, and dropping the table itself.
CREATE FUNCTION pgcredit._ddl_guard()
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
COMMENT ON FUNCTION pgcredit._ddl_guard() IS
  'event trigger: refuse DDL that would leave an attached table''s rows unguarded or its columns unreadable by the guard';
CREATE EVENT TRIGGER pgcredit_ddl_guard ON ddl_command_end
  WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE', 'CREATE TABLE AS', 'SELECT INTO')
  EXECUTE FUNCTION pgcredit._ddl_guard();
CREATE EVENT TRIGGER pgcredit_drop_guard ON sql_drop
  WHEN TAG IN ('DROP TABLE', 'DROP SCHEMA', 'DROP OWNED')
  EXECUTE FUNCTION pgcredit._ddl_guard();
COMMENT ON EVENT TRIGGER pgcredit_ddl_guard IS
  'refuses inheritance on attached tables and changes of the columns the guard reads';
COMMENT ON EVENT TRIGGER pgcredit_drop_guard IS
  'refuses dropping an attached table before it is detached';
REVOKE EXECUTE ON FUNCTION pgcredit._ddl_guard() FROM PUBLIC;
