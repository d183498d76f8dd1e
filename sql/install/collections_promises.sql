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
