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
