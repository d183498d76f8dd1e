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
