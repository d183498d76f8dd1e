-- Credit control: cover (credit insurance, guarantees, letters of credit, collateral, deposits)

----------------------------------------------------------------------
-- Cover: what secures a customer's exposure besides its limit
-- (pgcredit_controller records it; pgcredit_admin sets the policy)
----------------------------------------------------------------------

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

-- (PL/pgSQL, whose plan each backend keeps: a function of SQL with a
-- search path of its own is planned again at every call, ten times the
-- cost; check_order() calls it for every order it judges)
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
