-- Credit control: credit groups (subsidiaries of one parent share a group limit)

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
  CONSTRAINT group_not_own_parent CHECK (parent <> id),
  currency       text CONSTRAINT currency_code CHECK (currency ~ '^[A-Z]{3}$')
);
COMMENT ON TABLE pgcredit.credit_group IS 'credit groups: the members of a group and of the groups under it share its limit; changed only through pgcredit''s functions, every change audited';
COMMENT ON COLUMN pgcredit.credit_group.id IS 'group key';
COMMENT ON COLUMN pgcredit.credit_group.parent IS 'the group above it; NULL for a top group (at most 4 levels)';
COMMENT ON COLUMN pgcredit.credit_group.credit_limit IS 'the group''s limit on the exposure of all its members; NULL = no group limit';
COMMENT ON COLUMN pgcredit.credit_group.tolerance_pct IS 'percentage of the group limit the group''s exposure may go above it';
COMMENT ON COLUMN pgcredit.credit_group.name IS 'a name for people';
COMMENT ON COLUMN pgcredit.credit_group.created_at IS 'when the group was created';
COMMENT ON COLUMN pgcredit.credit_group.updated_at IS 'when the group last changed';
COMMENT ON COLUMN pgcredit.credit_group.currency IS 'the currency of the group''s limit and exposure, which its members'' accounts and the groups under it share (ISO 4217 code); NULL = the book''s base currency (set with set_group_currency)';
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

