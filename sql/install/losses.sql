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
