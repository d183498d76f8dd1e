-- Credit control: four-eyes approvals (requests, the authority matrix, persons)

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
GRANT EXECUTE ON FUNCTION pgcredit.request_limit(text, numeric, text, date, date) TO pgcredit_controller, pgcredit_sales;

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
