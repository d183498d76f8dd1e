-- pgcredit 1.0: customer credit control inside PostgreSQL

\echo Use "CREATE EXTENSION pgcredit" to load this file. \quit

----------------------------------------------------------------------
-- Who owns pgcredit
--
-- The schema pgcredit must be one that nobody else could have prepared:
-- CREATE EXTENSION makes it when it is missing; an existing one must be
-- empty, owned by a superuser, and let nobody else create objects in it.
-- Otherwise its owner could later swap objects that pgcredit's code
-- finds by name.
--
-- pgcredit's objects are owned by pgcredit_owner, a role that cannot log
-- in, is no superuser and is granted to nobody: the functions that act
-- for another role (SECURITY DEFINER ones and the guard) act as it, so
-- any mistake in them yields pgcredit's rights, never a superuser's.
----------------------------------------------------------------------

DO $owner$
DECLARE
  nsp pg_catalog.pg_namespace;
  r pg_catalog.pg_roles;
  why text;
BEGIN
  SELECT * INTO nsp FROM pg_catalog.pg_namespace WHERE nspname = 'pgcredit';
  why := CASE
    WHEN NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE oid = nsp.nspowner)
      THEN format('It is owned by %s, who is not a superuser.', nsp.nspowner::regrole)
    WHEN EXISTS (SELECT FROM pg_catalog.pg_class WHERE relnamespace = nsp.oid)
      OR EXISTS (SELECT FROM pg_catalog.pg_proc WHERE pronamespace = nsp.oid)
      OR EXISTS (SELECT FROM pg_catalog.pg_type WHERE typnamespace = nsp.oid)
      OR EXISTS (SELECT FROM pg_catalog.pg_operator WHERE oprnamespace = nsp.oid)
      THEN 'It holds objects already.'
    WHEN EXISTS (SELECT FROM pg_catalog.aclexplode(nsp.nspacl) a
                 LEFT JOIN pg_catalog.pg_roles g ON g.oid = a.grantee
                 WHERE a.privilege_type = 'CREATE' AND NOT coalesce(g.rolsuper, false))
      THEN 'Roles other than superusers may create objects in it.'
    END;
  IF why IS NOT NULL THEN
    RAISE EXCEPTION 'schema "pgcredit" was not created for pgcredit'
      USING ERRCODE = 'insufficient_privilege', DETAIL = why,
      HINT = 'Drop or rename that schema, then run CREATE EXTENSION pgcredit again: it creates the schema itself.';
  END IF;

  SELECT * INTO r FROM pg_catalog.pg_roles WHERE rolname = 'pgcredit_owner';
  IF NOT FOUND THEN
    CREATE ROLE pgcredit_owner NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT
      NOREPLICATION NOBYPASSRLS;
  ELSIF r.rolsuper OR r.rolcanlogin OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication
        OR r.rolbypassrls
        OR EXISTS (SELECT FROM pg_catalog.pg_auth_members m WHERE m.roleid = r.oid) THEN
    RAISE EXCEPTION 'role "pgcredit_owner" has rights or members it must not have'
      USING ERRCODE = 'insufficient_privilege',
      DETAIL = 'pgcredit''s objects are owned by pgcredit_owner; it must be NOLOGIN, NOSUPERUSER, NOCREATEDB, NOCREATEROLE, NOREPLICATION, NOBYPASSRLS and granted to nobody.',
      HINT = 'Drop that role, or take those rights and memberships away, then create the extension again.';
  END IF;
END
$owner$;

COMMENT ON SCHEMA pgcredit IS
  'pgcredit: receivables analytics, credit exposure and credit holds';

----------------------------------------------------------------------
-- Aging bands
--
-- An item is "current" until it is past due, then falls in one band per
-- bound: bounds '{30,60,90}' give current, 1-30, 31-60, 61-90 and 90+.
----------------------------------------------------------------------

CREATE FUNCTION pgcredit.aging_bucket(due date, as_of date,
                                      bounds int[] DEFAULT '{30,60,90}')
RETURNS text
AS 'MODULE_PATHNAME', 'aging_bucket'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION pgcredit.aging_bucket(date, date, int[]) IS
  'label of the aging band an item due on "due" falls in at "as_of": '
  '''current'' while not past due, else one band per bound ('
  '''1-30'', ''31-60'', ''61-90'', ''90+'' by default)';

CREATE FUNCTION pgcredit.aging_bands(bounds int[] DEFAULT '{30,60,90}',
                                     OUT band int, OUT label text,
                                     OUT min_days int, OUT max_days int)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'aging_bands'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 5;

COMMENT ON FUNCTION pgcredit.aging_bands(int[]) IS
  'the aging bands that a bounds array describes, in order: band number '
  '(0 = current), label, and the range of days past due each covers '
  '(NULL = unbounded)';

CREATE FUNCTION pgcredit.days_past_due(due date, as_of date)
RETURNS int
AS 'MODULE_PATHNAME', 'days_past_due'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION pgcredit.days_past_due(date, date) IS
  'days an item due on "due" is past due at "as_of" (as_of - due): '
  'negative while not yet due, 0 on the due date';

----------------------------------------------------------------------
-- Exact sums of amounts
--
-- Every aggregate below sums numeric amounts exactly on 128-bit integers
-- (falling back to numeric arithmetic for amounts that do not fit), so
-- results never depend on row order or on a parallel plan.  NULL amounts
-- are skipped like sum() skips them; NaN and infinity are errors.
----------------------------------------------------------------------

CREATE FUNCTION pgcredit.amount_sum_trans(internal, numeric)
RETURNS internal AS 'MODULE_PATHNAME', 'amount_sum_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcredit.amount_sum_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'amount_sum_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcredit.amount_sum_serialize(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'amount_sum_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pgcredit.amount_sum_deserialize(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'amount_sum_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pgcredit.amount_sum_final(internal)
RETURNS numeric AS 'MODULE_PATHNAME', 'amount_sum_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE pgcredit.amount_sum(amount numeric) (
  SFUNC = pgcredit.amount_sum_trans,
  STYPE = internal,
  FINALFUNC = pgcredit.amount_sum_final,
  COMBINEFUNC = pgcredit.amount_sum_combine,
  SERIALFUNC = pgcredit.amount_sum_serialize,
  DESERIALFUNC = pgcredit.amount_sum_deserialize,
  PARALLEL = SAFE
);

COMMENT ON AGGREGATE pgcredit.amount_sum(numeric) IS
  'exact sum of amounts, as sum(numeric) but on 128-bit integers; '
  'NaN and infinity are errors';

----------------------------------------------------------------------
-- Aging profile aggregate
----------------------------------------------------------------------

CREATE TYPE pgcredit.aging_profile AS (
  current           numeric,
  days_1_30         numeric,
  days_31_60        numeric,
  days_61_90        numeric,
  days_over_90      numeric,
  total             numeric,
  overdue           numeric,
  overdue_pct       numeric,
  avg_days_overdue  numeric,
  items             bigint,
  items_current     bigint,
  items_1_30        bigint,
  items_31_60       bigint,
  items_61_90       bigint,
  items_over_90     bigint
);

COMMENT ON TYPE pgcredit.aging_profile IS
  'result of aging(amount, due, as_of): amounts and item counts per default aging band';
COMMENT ON COLUMN pgcredit.aging_profile.current IS 'amount not yet past due';
COMMENT ON COLUMN pgcredit.aging_profile.days_1_30 IS 'amount 1 to 30 days past due';
COMMENT ON COLUMN pgcredit.aging_profile.days_31_60 IS 'amount 31 to 60 days past due';
COMMENT ON COLUMN pgcredit.aging_profile.days_61_90 IS 'amount 61 to 90 days past due';
COMMENT ON COLUMN pgcredit.aging_profile.days_over_90 IS 'amount more than 90 days past due';
COMMENT ON COLUMN pgcredit.aging_profile.total IS 'sum of all amounts';
COMMENT ON COLUMN pgcredit.aging_profile.overdue IS 'amount past due (every band but current)';
COMMENT ON COLUMN pgcredit.aging_profile.overdue_pct IS 'overdue as a percentage of total, 2 decimals; NULL unless total is positive';
COMMENT ON COLUMN pgcredit.aging_profile.avg_days_overdue IS 'amount-weighted average days past due of the overdue part, 2 decimals; NULL when nothing is overdue';
COMMENT ON COLUMN pgcredit.aging_profile.items IS 'number of items aged (non-NULL amount and due date)';
COMMENT ON COLUMN pgcredit.aging_profile.items_current IS 'items not yet past due';
COMMENT ON COLUMN pgcredit.aging_profile.items_1_30 IS 'items 1 to 30 days past due';
COMMENT ON COLUMN pgcredit.aging_profile.items_31_60 IS 'items 31 to 60 days past due';
COMMENT ON COLUMN pgcredit.aging_profile.items_61_90 IS 'items 61 to 90 days past due';
COMMENT ON COLUMN pgcredit.aging_profile.items_over_90 IS 'items more than 90 days past due';

CREATE TYPE pgcredit.aging_by_band AS (
  labels            text[],
  amounts           numeric[],
  counts            bigint[],
  total             numeric,
  overdue           numeric,
  avg_days_overdue  numeric,
  items             bigint
);

COMMENT ON TYPE pgcredit.aging_by_band IS
  'result of aging(amount, due, as_of, bounds): per-band arrays in band order, for any bounds';
COMMENT ON COLUMN pgcredit.aging_by_band.labels IS 'band labels, as aging_bands(bounds) lists them';
COMMENT ON COLUMN pgcredit.aging_by_band.amounts IS 'amount in each band';
COMMENT ON COLUMN pgcredit.aging_by_band.counts IS 'number of items in each band';
COMMENT ON COLUMN pgcredit.aging_by_band.total IS 'sum of all amounts';
COMMENT ON COLUMN pgcredit.aging_by_band.overdue IS 'amount past due (every band but current)';
COMMENT ON COLUMN pgcredit.aging_by_band.avg_days_overdue IS 'amount-weighted average days past due of the overdue part, 2 decimals; NULL when nothing is overdue';
COMMENT ON COLUMN pgcredit.aging_by_band.items IS 'number of items aged';

CREATE FUNCTION pgcredit.aging_trans(internal, numeric, date, date)
RETURNS internal AS 'MODULE_PATHNAME', 'aging_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcredit.aging_trans(internal, numeric, date, date, int[])
RETURNS internal AS 'MODULE_PATHNAME', 'aging_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcredit.aging_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'aging_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcredit.aging_serialize(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'aging_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pgcredit.aging_deserialize(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'aging_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pgcredit.aging_final(internal)
RETURNS pgcredit.aging_profile AS 'MODULE_PATHNAME', 'aging_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcredit.aging_bands_final(internal)
RETURNS pgcredit.aging_by_band AS 'MODULE_PATHNAME', 'aging_bands_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE pgcredit.aging(amount numeric, due date, as_of date) (
  SFUNC = pgcredit.aging_trans,
  STYPE = internal,
  FINALFUNC = pgcredit.aging_final,
  COMBINEFUNC = pgcredit.aging_combine,
  SERIALFUNC = pgcredit.aging_serialize,
  DESERIALFUNC = pgcredit.aging_deserialize,
  PARALLEL = SAFE
);

CREATE AGGREGATE pgcredit.aging(amount numeric, due date, as_of date, bounds int[]) (
  SFUNC = pgcredit.aging_trans,
  STYPE = internal,
  FINALFUNC = pgcredit.aging_bands_final,
  COMBINEFUNC = pgcredit.aging_combine,
  SERIALFUNC = pgcredit.aging_serialize,
  DESERIALFUNC = pgcredit.aging_deserialize,
  PARALLEL = SAFE
);

COMMENT ON AGGREGATE pgcredit.aging(numeric, date, date) IS
  'aging profile of receivables at as_of in the default bands (current, 1-30, 31-60, 61-90, 90+): '
  'amount and count per band, total, overdue, weighted average days overdue';
COMMENT ON AGGREGATE pgcredit.aging(numeric, date, date, int[]) IS
  'aging profile of receivables at as_of in the bands of "bounds", as arrays in band order';

COMMENT ON FUNCTION pgcredit.amount_sum_trans(internal, numeric) IS 'transition function of amount_sum';
COMMENT ON FUNCTION pgcredit.amount_sum_combine(internal, internal) IS 'combine function of amount_sum, for parallel plans';
COMMENT ON FUNCTION pgcredit.amount_sum_serialize(internal) IS 'serialization function of amount_sum, for parallel plans';
COMMENT ON FUNCTION pgcredit.amount_sum_deserialize(bytea, internal) IS 'deserialization function of amount_sum, for parallel plans';
COMMENT ON FUNCTION pgcredit.amount_sum_final(internal) IS 'final function of amount_sum';
COMMENT ON FUNCTION pgcredit.aging_trans(internal, numeric, date, date) IS 'transition function of aging with the default bands';
COMMENT ON FUNCTION pgcredit.aging_trans(internal, numeric, date, date, int[]) IS 'transition function of aging with custom bounds';
COMMENT ON FUNCTION pgcredit.aging_combine(internal, internal) IS 'combine function of aging, for parallel plans';
COMMENT ON FUNCTION pgcredit.aging_serialize(internal) IS 'serialization function of aging, for parallel plans';
COMMENT ON FUNCTION pgcredit.aging_deserialize(bytea, internal) IS 'deserialization function of aging, for parallel plans';
COMMENT ON FUNCTION pgcredit.aging_final(internal) IS 'final function of aging with the default bands';
COMMENT ON FUNCTION pgcredit.aging_bands_final(internal) IS 'final function of aging with custom bounds';

----------------------------------------------------------------------
-- Days sales outstanding
--
-- At as_of, receivables are the amounts invoiced on or before it and not
-- paid by it (paid_on NULL or later); credit sales are the amounts
-- invoiced in the period_days ending at as_of.  Results are rounded to 2
-- decimals and NULL when the period has no positive sales.
----------------------------------------------------------------------

CREATE TYPE pgcredit.dso_result AS (
  receivables              numeric,
  current_receivables      numeric,
  overdue_receivables      numeric,
  sales                    numeric,
  period_days              int,
  dso                      numeric,
  best_possible_dso        numeric,
  average_days_delinquent  numeric,
  dso_countback            numeric
);

COMMENT ON TYPE pgcredit.dso_result IS 'result of dso_report(): every DSO figure at once';
COMMENT ON COLUMN pgcredit.dso_result.receivables IS 'amount open at as_of (invoiced by then, not paid by then)';
COMMENT ON COLUMN pgcredit.dso_result.current_receivables IS 'part of receivables not yet due at as_of (due on or after it, or no due date)';
COMMENT ON COLUMN pgcredit.dso_result.overdue_receivables IS 'part of receivables past due at as_of';
COMMENT ON COLUMN pgcredit.dso_result.sales IS 'credit sales invoiced in the period_days ending at as_of';
COMMENT ON COLUMN pgcredit.dso_result.period_days IS 'length of the period in days';
COMMENT ON COLUMN pgcredit.dso_result.dso IS 'days sales outstanding, period method: receivables / sales * period_days';
COMMENT ON COLUMN pgcredit.dso_result.best_possible_dso IS 'current_receivables / sales * period_days: the DSO if every customer paid on time';
COMMENT ON COLUMN pgcredit.dso_result.average_days_delinquent IS 'dso - best_possible_dso: days of sales outstanding because of late payment';
COMMENT ON COLUMN pgcredit.dso_result.dso_countback IS 'days sales outstanding, countback method over calendar months';

CREATE FUNCTION pgcredit.dso_trans(internal, numeric, date, date, date)
RETURNS internal AS 'MODULE_PATHNAME', 'dso_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_trans(internal, numeric, date, date, date) IS 'transition function of dso and dso_countback without a period';
CREATE FUNCTION pgcredit.dso_trans(internal, numeric, date, date, date, int)
RETURNS internal AS 'MODULE_PATHNAME', 'dso_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_trans(internal, numeric, date, date, date, int) IS 'transition function of dso with a period';
CREATE FUNCTION pgcredit.dso_countback_trans(internal, numeric, date, date, date)
RETURNS internal AS 'MODULE_PATHNAME', 'dso_countback_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_countback_trans(internal, numeric, date, date, date) IS 'transition function of dso_countback';
CREATE FUNCTION pgcredit.dso_due_trans(internal, numeric, date, date, date, date)
RETURNS internal AS 'MODULE_PATHNAME', 'dso_due_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_due_trans(internal, numeric, date, date, date, date) IS 'transition function of best_possible_dso and average_days_delinquent';
CREATE FUNCTION pgcredit.dso_due_trans(internal, numeric, date, date, date, date, int)
RETURNS internal AS 'MODULE_PATHNAME', 'dso_due_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_due_trans(internal, numeric, date, date, date, date, int) IS 'transition function of best_possible_dso and average_days_delinquent with a period';
CREATE FUNCTION pgcredit.dso_report_trans(internal, numeric, date, date, date, date)
RETURNS internal AS 'MODULE_PATHNAME', 'dso_report_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_report_trans(internal, numeric, date, date, date, date) IS 'transition function of dso_report';
CREATE FUNCTION pgcredit.dso_report_trans(internal, numeric, date, date, date, date, int)
RETURNS internal AS 'MODULE_PATHNAME', 'dso_report_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_report_trans(internal, numeric, date, date, date, date, int) IS 'transition function of dso_report with a period';
CREATE FUNCTION pgcredit.dso_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'dso_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_combine(internal, internal) IS 'combine function of the DSO aggregates, for parallel plans';
CREATE FUNCTION pgcredit.dso_serialize(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'dso_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_serialize(internal) IS 'serialization function of the DSO aggregates, for parallel plans';
CREATE FUNCTION pgcredit.dso_deserialize(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'dso_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_deserialize(bytea, internal) IS 'deserialization function of the DSO aggregates, for parallel plans';
CREATE FUNCTION pgcredit.dso_final(internal)
RETURNS numeric AS 'MODULE_PATHNAME', 'dso_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_final(internal) IS 'final function of dso';
CREATE FUNCTION pgcredit.dso_countback_final(internal)
RETURNS numeric AS 'MODULE_PATHNAME', 'dso_countback_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_countback_final(internal) IS 'final function of dso_countback';
CREATE FUNCTION pgcredit.best_possible_dso_final(internal)
RETURNS numeric AS 'MODULE_PATHNAME', 'best_possible_dso_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.best_possible_dso_final(internal) IS 'final function of best_possible_dso';
CREATE FUNCTION pgcredit.average_days_delinquent_final(internal)
RETURNS numeric AS 'MODULE_PATHNAME', 'average_days_delinquent_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.average_days_delinquent_final(internal) IS 'final function of average_days_delinquent';
CREATE FUNCTION pgcredit.dso_report_final(internal)
RETURNS pgcredit.dso_result AS 'MODULE_PATHNAME', 'dso_report_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_report_final(internal) IS 'final function of dso_report';
CREATE AGGREGATE pgcredit.dso(amount numeric, invoiced_on date, paid_on date, as_of date) (
  SFUNC = pgcredit.dso_trans,
  STYPE = internal,
  FINALFUNC = pgcredit.dso_final,
  COMBINEFUNC = pgcredit.dso_combine,
  SERIALFUNC = pgcredit.dso_serialize,
  DESERIALFUNC = pgcredit.dso_deserialize,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgcredit.dso(numeric, date, date, date) IS
  'days sales outstanding at as_of over the 90 days ending there (period method)';
CREATE AGGREGATE pgcredit.dso(amount numeric, invoiced_on date, paid_on date, as_of date, period_days int) (
  SFUNC = pgcredit.dso_trans,
  STYPE = internal,
  FINALFUNC = pgcredit.dso_final,
  COMBINEFUNC = pgcredit.dso_combine,
  SERIALFUNC = pgcredit.dso_serialize,
  DESERIALFUNC = pgcredit.dso_deserialize,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgcredit.dso(numeric, date, date, date, int) IS
  'days sales outstanding at as_of over the period_days ending there (period method)';
CREATE AGGREGATE pgcredit.dso_countback(amount numeric, invoiced_on date, paid_on date, as_of date) (
  SFUNC = pgcredit.dso_countback_trans,
  STYPE = internal,
  FINALFUNC = pgcredit.dso_countback_final,
  COMBINEFUNC = pgcredit.dso_combine,
  SERIALFUNC = pgcredit.dso_serialize,
  DESERIALFUNC = pgcredit.dso_deserialize,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgcredit.dso_countback(numeric, date, date, date) IS
  'days sales outstanding at as_of by the countback method: receivables matched against sales month by month, most recent first';
CREATE AGGREGATE pgcredit.best_possible_dso(amount numeric, invoiced_on date, due date, paid_on date, as_of date) (
  SFUNC = pgcredit.dso_due_trans,
  STYPE = internal,
  FINALFUNC = pgcredit.best_possible_dso_final,
  COMBINEFUNC = pgcredit.dso_combine,
  SERIALFUNC = pgcredit.dso_serialize,
  DESERIALFUNC = pgcredit.dso_deserialize,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgcredit.best_possible_dso(numeric, date, date, date, date) IS
  'DSO of the not-yet-due receivables alone, over 90 days: the DSO if every customer paid on time';
CREATE AGGREGATE pgcredit.best_possible_dso(amount numeric, invoiced_on date, due date, paid_on date, as_of date, period_days int) (
  SFUNC = pgcredit.dso_due_trans,
  STYPE = internal,
  FINALFUNC = pgcredit.best_possible_dso_final,
  COMBINEFUNC = pgcredit.dso_combine,
  SERIALFUNC = pgcredit.dso_serialize,
  DESERIALFUNC = pgcredit.dso_deserialize,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgcredit.best_possible_dso(numeric, date, date, date, date, int) IS
  'DSO of the not-yet-due receivables alone, over period_days: the DSO if every customer paid on time';
CREATE AGGREGATE pgcredit.average_days_delinquent(amount numeric, invoiced_on date, due date, paid_on date, as_of date) (
  SFUNC = pgcredit.dso_due_trans,
  STYPE = internal,
  FINALFUNC = pgcredit.average_days_delinquent_final,
  COMBINEFUNC = pgcredit.dso_combine,
  SERIALFUNC = pgcredit.dso_serialize,
  DESERIALFUNC = pgcredit.dso_deserialize,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgcredit.average_days_delinquent(numeric, date, date, date, date) IS
  'DSO minus best possible DSO over 90 days: days of sales outstanding because of late payment';
CREATE AGGREGATE pgcredit.average_days_delinquent(amount numeric, invoiced_on date, due date, paid_on date, as_of date, period_days int) (
  SFUNC = pgcredit.dso_due_trans,
  STYPE = internal,
  FINALFUNC = pgcredit.average_days_delinquent_final,
  COMBINEFUNC = pgcredit.dso_combine,
  SERIALFUNC = pgcredit.dso_serialize,
  DESERIALFUNC = pgcredit.dso_deserialize,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgcredit.average_days_delinquent(numeric, date, date, date, date, int) IS
  'DSO minus best possible DSO over period_days: days of sales outstanding because of late payment';
CREATE AGGREGATE pgcredit.dso_report(amount numeric, invoiced_on date, due date, paid_on date, as_of date) (
  SFUNC = pgcredit.dso_report_trans,
  STYPE = internal,
  FINALFUNC = pgcredit.dso_report_final,
  COMBINEFUNC = pgcredit.dso_combine,
  SERIALFUNC = pgcredit.dso_serialize,
  DESERIALFUNC = pgcredit.dso_deserialize,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgcredit.dso_report(numeric, date, date, date, date) IS
  'every DSO figure at as_of over 90 days: receivables, sales, DSO, best possible DSO, average days delinquent, countback DSO';
CREATE AGGREGATE pgcredit.dso_report(amount numeric, invoiced_on date, due date, paid_on date, as_of date, period_days int) (
  SFUNC = pgcredit.dso_report_trans,
  STYPE = internal,
  FINALFUNC = pgcredit.dso_report_final,
  COMBINEFUNC = pgcredit.dso_combine,
  SERIALFUNC = pgcredit.dso_serialize,
  DESERIALFUNC = pgcredit.dso_deserialize,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgcredit.dso_report(numeric, date, date, date, date, int) IS
  'every DSO figure at as_of over period_days: receivables, sales, DSO, best possible DSO, average days delinquent, countback DSO';

----------------------------------------------------------------------
-- Behavioural credit score
--
-- credit_score over one customer's invoices: 0 (worst) to 100 (best),
-- from days beyond terms, share paid late and share more than 60 days
-- late, amount- and recency-weighted, pulled toward a neutral 50 for thin
-- files.  The README documents the formula with a worked example.
----------------------------------------------------------------------

CREATE TYPE pgcredit.credit_score_parts AS (
  score               numeric,
  raw_score           numeric,
  prior               numeric,
  credibility         numeric,
  weighted_days_late  numeric,
  share_late          numeric,
  share_over_60       numeric,
  invoices            bigint,
  open_overdue        bigint,
  effective_weight    numeric,
  half_life_days      int
);

COMMENT ON TYPE pgcredit.credit_score_parts IS 'result of credit_score_explain(): the parts that make a credit score';
COMMENT ON COLUMN pgcredit.credit_score_parts.score IS 'the score, 0 (worst) to 100 (best): credibility * raw_score + (1 - credibility) * prior';
COMMENT ON COLUMN pgcredit.credit_score_parts.raw_score IS 'score from the evidence alone: 100 * (1 - 0.5 * D / (D + 30) - 0.3 * share_late - 0.2 * share_over_60), D = weighted_days_late';
COMMENT ON COLUMN pgcredit.credit_score_parts.prior IS 'neutral score a file with no evidence gets (50)';
COMMENT ON COLUMN pgcredit.credit_score_parts.credibility IS 'effective_weight / (effective_weight + 5): how far the evidence outweighs the prior';
COMMENT ON COLUMN pgcredit.credit_score_parts.weighted_days_late IS 'amount- and recency-weighted average days beyond terms (open overdue items: days past due so far)';
COMMENT ON COLUMN pgcredit.credit_score_parts.share_late IS 'weighted share of amount paid (or still open) after the due date, 0 to 1';
COMMENT ON COLUMN pgcredit.credit_score_parts.share_over_60 IS 'weighted share of amount more than 60 days late, 0 to 1';
COMMENT ON COLUMN pgcredit.credit_score_parts.invoices IS 'invoices scored (positive amount and a due date)';
COMMENT ON COLUMN pgcredit.credit_score_parts.open_overdue IS 'of which still open and past due at as_of';
COMMENT ON COLUMN pgcredit.credit_score_parts.effective_weight IS 'recency-weighted number of invoices: sum of 2^(-age / half_life_days)';
COMMENT ON COLUMN pgcredit.credit_score_parts.half_life_days IS 'days after which an invoice weighs half as much';

CREATE FUNCTION pgcredit.credit_score_trans(internal, numeric, date, date, date)
RETURNS internal AS 'MODULE_PATHNAME', 'credit_score_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.credit_score_trans(internal, numeric, date, date, date) IS 'transition function of credit_score and credit_score_explain';
CREATE FUNCTION pgcredit.credit_score_trans(internal, numeric, date, date, date, int)
RETURNS internal AS 'MODULE_PATHNAME', 'credit_score_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.credit_score_trans(internal, numeric, date, date, date, int) IS 'transition function of credit_score and credit_score_explain with a half-life';
CREATE FUNCTION pgcredit.credit_score_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'credit_score_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.credit_score_combine(internal, internal) IS 'combine function of credit_score, for parallel plans';
CREATE FUNCTION pgcredit.credit_score_serialize(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'credit_score_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.credit_score_serialize(internal) IS 'serialization function of credit_score, for parallel plans';
CREATE FUNCTION pgcredit.credit_score_deserialize(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'credit_score_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.credit_score_deserialize(bytea, internal) IS 'deserialization function of credit_score, for parallel plans';
CREATE FUNCTION pgcredit.credit_score_final(internal)
RETURNS numeric AS 'MODULE_PATHNAME', 'credit_score_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.credit_score_final(internal) IS 'final function of credit_score';
CREATE FUNCTION pgcredit.credit_score_explain_final(internal)
RETURNS pgcredit.credit_score_parts AS 'MODULE_PATHNAME', 'credit_score_explain_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.credit_score_explain_final(internal) IS 'final function of credit_score_explain';

CREATE AGGREGATE pgcredit.credit_score(amount numeric, due date, paid_on date, as_of date) (
  SFUNC = pgcredit.credit_score_trans, STYPE = internal,
  FINALFUNC = pgcredit.credit_score_final,
  COMBINEFUNC = pgcredit.credit_score_combine,
  SERIALFUNC = pgcredit.credit_score_serialize,
  DESERIALFUNC = pgcredit.credit_score_deserialize,
  PARALLEL = SAFE
);
CREATE AGGREGATE pgcredit.credit_score(amount numeric, due date, paid_on date, as_of date, half_life_days int) (
  SFUNC = pgcredit.credit_score_trans, STYPE = internal,
  FINALFUNC = pgcredit.credit_score_final,
  COMBINEFUNC = pgcredit.credit_score_combine,
  SERIALFUNC = pgcredit.credit_score_serialize,
  DESERIALFUNC = pgcredit.credit_score_deserialize,
  PARALLEL = SAFE
);
CREATE AGGREGATE pgcredit.credit_score_explain(amount numeric, due date, paid_on date, as_of date) (
  SFUNC = pgcredit.credit_score_trans, STYPE = internal,
  FINALFUNC = pgcredit.credit_score_explain_final,
  COMBINEFUNC = pgcredit.credit_score_combine,
  SERIALFUNC = pgcredit.credit_score_serialize,
  DESERIALFUNC = pgcredit.credit_score_deserialize,
  PARALLEL = SAFE
);
CREATE AGGREGATE pgcredit.credit_score_explain(amount numeric, due date, paid_on date, as_of date, half_life_days int) (
  SFUNC = pgcredit.credit_score_trans, STYPE = internal,
  FINALFUNC = pgcredit.credit_score_explain_final,
  COMBINEFUNC = pgcredit.credit_score_combine,
  SERIALFUNC = pgcredit.credit_score_serialize,
  DESERIALFUNC = pgcredit.credit_score_deserialize,
  PARALLEL = SAFE
);

COMMENT ON AGGREGATE pgcredit.credit_score(numeric, date, date, date) IS
  'behavioural payment score of one customer''s invoices at as_of, 0 (worst) to 100 (best), half-life 180 days';
COMMENT ON AGGREGATE pgcredit.credit_score(numeric, date, date, date, int) IS
  'behavioural payment score of one customer''s invoices at as_of, 0 (worst) to 100 (best), with the given half-life';
COMMENT ON AGGREGATE pgcredit.credit_score_explain(numeric, date, date, date) IS
  'the parts that make credit_score: weighted days late, shares late, invoices, effective weight';
COMMENT ON AGGREGATE pgcredit.credit_score_explain(numeric, date, date, date, int) IS
  'the parts that make credit_score with the given half-life';

----------------------------------------------------------------------
-- Exposure and concentration
----------------------------------------------------------------------

CREATE FUNCTION pgcredit.exposure_over_limit(exposure numeric, credit_limit numeric)
RETURNS numeric
AS 'MODULE_PATHNAME', 'exposure_over_limit'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pgcredit.exposure_over_limit(exposure numeric, credit_limit numeric, tolerance_pct numeric)
RETURNS numeric
AS 'MODULE_PATHNAME', 'exposure_over_limit'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION pgcredit.exposure_over_limit(numeric, numeric) IS
  'amount by which exposure exceeds credit_limit, 0 when within it; NULL when no limit is set';
COMMENT ON FUNCTION pgcredit.exposure_over_limit(numeric, numeric, numeric) IS
  'amount by which exposure exceeds credit_limit * (1 + tolerance_pct / 100), 0 when within it; NULL when no limit is set';

CREATE FUNCTION pgcredit.hhi_trans(internal, numeric)
RETURNS internal AS 'MODULE_PATHNAME', 'hhi_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.hhi_trans(internal, numeric) IS 'transition function of concentration_hhi';
CREATE FUNCTION pgcredit.hhi_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'hhi_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.hhi_combine(internal, internal) IS 'combine function of concentration_hhi, for parallel plans';
CREATE FUNCTION pgcredit.hhi_serialize(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'hhi_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.hhi_serialize(internal) IS 'serialization function of concentration_hhi, for parallel plans';
CREATE FUNCTION pgcredit.hhi_deserialize(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'hhi_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.hhi_deserialize(bytea, internal) IS 'deserialization function of concentration_hhi, for parallel plans';
CREATE FUNCTION pgcredit.hhi_final(internal)
RETURNS numeric AS 'MODULE_PATHNAME', 'hhi_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.hhi_final(internal) IS 'final function of concentration_hhi';

CREATE AGGREGATE pgcredit.concentration_hhi(amount numeric) (
  SFUNC = pgcredit.hhi_trans, STYPE = internal,
  FINALFUNC = pgcredit.hhi_final,
  COMBINEFUNC = pgcredit.hhi_combine,
  SERIALFUNC = pgcredit.hhi_serialize,
  DESERIALFUNC = pgcredit.hhi_deserialize,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgcredit.concentration_hhi(numeric) IS
  'Herfindahl-Hirschman index of the shares of positive amounts, one row per customer: 0 (spread) to 10000 (one customer), 2 decimals';

CREATE FUNCTION pgcredit.top_share_trans(internal, numeric, int)
RETURNS internal AS 'MODULE_PATHNAME', 'top_share_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.top_share_trans(internal, numeric, int) IS 'transition function of concentration_top_share';
CREATE FUNCTION pgcredit.top_share_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'top_share_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.top_share_combine(internal, internal) IS 'combine function of concentration_top_share, for parallel plans';
CREATE FUNCTION pgcredit.top_share_serialize(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'top_share_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.top_share_serialize(internal) IS 'serialization function of concentration_top_share, for parallel plans';
CREATE FUNCTION pgcredit.top_share_deserialize(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'top_share_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.top_share_deserialize(bytea, internal) IS 'deserialization function of concentration_top_share, for parallel plans';
CREATE FUNCTION pgcredit.top_share_final(internal)
RETURNS numeric AS 'MODULE_PATHNAME', 'top_share_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.top_share_final(internal) IS 'final function of concentration_top_share';

CREATE AGGREGATE pgcredit.concentration_top_share(amount numeric, top_n int) (
  SFUNC = pgcredit.top_share_trans, STYPE = internal,
  FINALFUNC = pgcredit.top_share_final,
  COMBINEFUNC = pgcredit.top_share_combine,
  SERIALFUNC = pgcredit.top_share_serialize,
  DESERIALFUNC = pgcredit.top_share_deserialize,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgcredit.concentration_top_share(numeric, int) IS
  'percentage of the total of positive amounts held by the top_n largest, one row per customer, 2 decimals';

----------------------------------------------------------------------
-- Credit control: roles
--
-- Roles are shared by every database of the cluster; they are created
-- when missing and never dropped by DROP EXTENSION.
--   pgcredit_reader      reads accounts, exposure, holds and the audit log
--   pgcredit_controller  + changes limits, holds and statuses, releases
--                          held orders, overrides a block for a transaction
--   pgcredit_admin       + attaches and detaches tables, changes settings,
--                          rebuilds exposure
----------------------------------------------------------------------

DO $roles$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgcredit_reader') THEN
    CREATE ROLE pgcredit_reader NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgcredit_controller') THEN
    CREATE ROLE pgcredit_controller NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgcredit_admin') THEN
    CREATE ROLE pgcredit_admin NOLOGIN;
  END IF;
END
$roles$;
GRANT pgcredit_reader TO pgcredit_controller;
GRANT pgcredit_controller TO pgcredit_admin;

GRANT USAGE ON SCHEMA pgcredit TO PUBLIC;

----------------------------------------------------------------------
-- Credit control: tables
----------------------------------------------------------------------

CREATE TABLE pgcredit.account (
  customer            text PRIMARY KEY
                      CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  credit_limit        numeric CHECK (credit_limit >= 0 AND credit_limit < 'Infinity'),
  tolerance_pct       numeric NOT NULL DEFAULT 0 CHECK (tolerance_pct >= 0 AND tolerance_pct < 'Infinity'),
  status              text NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'watch', 'hold', 'blocked')),
  hold_reason         text,
  payment_terms_days  int CHECK (payment_terms_days >= 0),
  risk_tier           text,
  next_review         date,
  created_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at          timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE pgcredit.account IS 'credit accounts, one per customer key; changed only through pgcredit''s functions, every change audited';
COMMENT ON COLUMN pgcredit.account.customer IS 'customer key as text, as the attached tables'' customer column prints it';
COMMENT ON COLUMN pgcredit.account.credit_limit IS 'credit limit; NULL = none set (no limit enforced)';
COMMENT ON COLUMN pgcredit.account.tolerance_pct IS 'percentage of the limit an order may go above it';
COMMENT ON COLUMN pgcredit.account.status IS 'ok, watch, hold or blocked; hold and blocked refuse every order that raises exposure';
COMMENT ON COLUMN pgcredit.account.hold_reason IS 'why the account is on hold or blocked';
COMMENT ON COLUMN pgcredit.account.payment_terms_days IS 'payment terms in days';
COMMENT ON COLUMN pgcredit.account.risk_tier IS 'risk tier, A (best) to E (worst)';
COMMENT ON COLUMN pgcredit.account.next_review IS 'date of the next credit review';
COMMENT ON COLUMN pgcredit.account.created_at IS 'when the account was opened';
COMMENT ON COLUMN pgcredit.account.updated_at IS 'when the account last changed';

CREATE TABLE pgcredit.exposure (
  customer       text PRIMARY KEY
                 CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  receivables    numeric NOT NULL DEFAULT 0,
  open_orders    numeric NOT NULL DEFAULT 0,
  has_account    boolean NOT NULL DEFAULT false,
  credit_limit   numeric,
  tolerance_pct  numeric NOT NULL DEFAULT 0,
  status         text NOT NULL DEFAULT 'ok'
) WITH (fillfactor = 50);   -- room for the frequent updates to stay on their page
COMMENT ON TABLE pgcredit.exposure IS 'live exposure per customer, kept current by pgcredit''s triggers on the attached tables';
COMMENT ON COLUMN pgcredit.exposure.customer IS 'customer key as text';
COMMENT ON COLUMN pgcredit.exposure.receivables IS 'sum of open amounts in the attached receivables tables';
COMMENT ON COLUMN pgcredit.exposure.open_orders IS 'sum of open, not held, order amounts in the attached order tables';
COMMENT ON COLUMN pgcredit.exposure.has_account IS 'whether the customer has a credit account (copy kept by the account functions)';
COMMENT ON COLUMN pgcredit.exposure.credit_limit IS 'the account''s credit limit, copied here so that the guard reads it with the row lock it takes';
COMMENT ON COLUMN pgcredit.exposure.tolerance_pct IS 'the account''s tolerance, copied like credit_limit';
COMMENT ON COLUMN pgcredit.exposure.status IS 'the account''s status, copied like credit_limit';

CREATE TABLE pgcredit.settings (
  only_row               boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  no_account_policy      text NOT NULL DEFAULT 'allow'
                         CHECK (no_account_policy IN ('allow', 'deny', 'default_limit')),
  default_limit          numeric CHECK (default_limit >= 0 AND default_limit < 'Infinity'),
  default_tolerance_pct  numeric NOT NULL DEFAULT 0
                         CHECK (default_tolerance_pct >= 0 AND default_tolerance_pct < 'Infinity'),
  max_days_past_due      int CHECK (max_days_past_due >= 0),
  CHECK (no_account_policy <> 'default_limit' OR default_limit IS NOT NULL)
);
COMMENT ON TABLE pgcredit.settings IS 'credit control settings: at most one row; no row means every default';
COMMENT ON COLUMN pgcredit.settings.only_row IS 'always true: the table holds one row at most';
COMMENT ON COLUMN pgcredit.settings.no_account_policy IS 'orders of customers without an account: allow (default), deny, or default_limit';
COMMENT ON COLUMN pgcredit.settings.default_limit IS 'limit for customers without an account under the default_limit policy';
COMMENT ON COLUMN pgcredit.settings.default_tolerance_pct IS 'tolerance for customers without an account under the default_limit policy';
COMMENT ON COLUMN pgcredit.settings.max_days_past_due IS 'refuse orders of customers with open items more than this many days past due; NULL = no such check';

CREATE TABLE pgcredit.attachment (
  relid            regclass PRIMARY KEY,
  kind             text NOT NULL CHECK (kind IN ('orders', 'receivables')),
  customer_column  name NOT NULL,
  amount_column    name NOT NULL,
  due_column       name,
  open_column      name,
  open_values      text[],
  mode             text NOT NULL CHECK (mode IN ('block', 'hold', 'track')),
  hold_column      name,
  invoice_amount_column name,
  invoiced_column  name,
  paid_column      name,
  attached_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  attached_by      name NOT NULL DEFAULT session_user
);
COMMENT ON TABLE pgcredit.attachment IS 'tables pgcredit is attached to, with the columns its triggers read';
COMMENT ON COLUMN pgcredit.attachment.relid IS 'the attached table';
COMMENT ON COLUMN pgcredit.attachment.kind IS 'orders (checked) or receivables (kept in exposure)';
COMMENT ON COLUMN pgcredit.attachment.customer_column IS 'column holding the customer key';
COMMENT ON COLUMN pgcredit.attachment.amount_column IS 'order amount, or open amount of a receivable';
COMMENT ON COLUMN pgcredit.attachment.due_column IS 'due date of a receivable';
COMMENT ON COLUMN pgcredit.attachment.open_column IS 'column saying whether a row is open; NULL = every row is open';
COMMENT ON COLUMN pgcredit.attachment.open_values IS 'values of open_column that count as open, as the column type prints them (numbers without trailing fractional zeros)';
COMMENT ON COLUMN pgcredit.attachment.mode IS 'block (refuse with an error), hold (let in marked held) or track (receivables)';
COMMENT ON COLUMN pgcredit.attachment.hold_column IS 'boolean column marking held orders';
COMMENT ON COLUMN pgcredit.attachment.invoice_amount_column IS 'receivables: the invoiced amount, for payment behaviour and DSO; NULL = the open amount column';
COMMENT ON COLUMN pgcredit.attachment.invoiced_column IS 'receivables: the invoice date, for DSO';
COMMENT ON COLUMN pgcredit.attachment.paid_column IS 'receivables: the date the item was paid (NULL while open), for payment behaviour and DSO';
COMMENT ON COLUMN pgcredit.attachment.attached_at IS 'when the table was attached';
COMMENT ON COLUMN pgcredit.attachment.attached_by IS 'who attached it';

CREATE TABLE pgcredit.held_order (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  relid           regclass NOT NULL,
  row_key         jsonb NOT NULL,
  customer        text NOT NULL,
  amount          numeric NOT NULL,
  why             text NOT NULL,
  held_at         timestamptz NOT NULL DEFAULT pg_catalog.now(),
  released_at     timestamptz,
  released_by     name,
  release_reason  text
);
COMMENT ON TABLE pgcredit.held_order IS 'orders let in on credit hold, and their release';
COMMENT ON COLUMN pgcredit.held_order.id IS 'hold number, for release_held_order()';
COMMENT ON COLUMN pgcredit.held_order.relid IS 'the order table';
COMMENT ON COLUMN pgcredit.held_order.row_key IS 'primary key of the held row, as JSON';
COMMENT ON COLUMN pgcredit.held_order.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.held_order.amount IS 'order amount';
COMMENT ON COLUMN pgcredit.held_order.why IS 'why the order was held';
COMMENT ON COLUMN pgcredit.held_order.held_at IS 'when it was held';
COMMENT ON COLUMN pgcredit.held_order.released_at IS 'when it was released; NULL while held';
COMMENT ON COLUMN pgcredit.held_order.released_by IS 'who released it';
COMMENT ON COLUMN pgcredit.held_order.release_reason IS 'why it was released';

CREATE TABLE pgcredit.override (
  xid         xid8 NOT NULL,
  customer    text NOT NULL,
  reason      text NOT NULL,
  granted_by  name NOT NULL,
  granted_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (xid, customer)
);
COMMENT ON TABLE pgcredit.override IS 'overrides of the credit check, each valid for one customer in one transaction';
COMMENT ON COLUMN pgcredit.override.xid IS 'the transaction the override is valid in';
COMMENT ON COLUMN pgcredit.override.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.override.reason IS 'why';
COMMENT ON COLUMN pgcredit.override.granted_by IS 'who granted it';
COMMENT ON COLUMN pgcredit.override.granted_at IS 'when';

CREATE TABLE pgcredit.audit_log (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at            timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  session_user_name name NOT NULL DEFAULT session_user,
  role_name     name NOT NULL,
  backend_pid   int NOT NULL DEFAULT pg_catalog.pg_backend_pid(),
  action        text NOT NULL,
  customer      text,
  old_value     jsonb,
  new_value     jsonb,
  reason        text
);
COMMENT ON TABLE pgcredit.audit_log IS 'append-only log of every change to accounts, settings, attachments, holds and overrides';
COMMENT ON COLUMN pgcredit.audit_log.id IS 'order of the entries';
COMMENT ON COLUMN pgcredit.audit_log.at IS 'when';
COMMENT ON COLUMN pgcredit.audit_log.session_user_name IS 'the session''s login role';
COMMENT ON COLUMN pgcredit.audit_log.role_name IS 'the role acting (after SET ROLE)';
COMMENT ON COLUMN pgcredit.audit_log.backend_pid IS 'the session''s backend process';
COMMENT ON COLUMN pgcredit.audit_log.action IS 'what was done, e.g. set_credit_limit';
COMMENT ON COLUMN pgcredit.audit_log.customer IS 'customer key, when the action concerns one';
COMMENT ON COLUMN pgcredit.audit_log.old_value IS 'the value before';
COMMENT ON COLUMN pgcredit.audit_log.new_value IS 'the value after';
COMMENT ON COLUMN pgcredit.audit_log.reason IS 'the reason given';

-- pg_dump keeps the rows of these tables.
SELECT pg_catalog.pg_extension_config_dump('pgcredit.account', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.exposure', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.settings', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.attachment', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.held_order', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.held_order_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.audit_log_id_seq', '');
COMMENT ON SEQUENCE pgcredit.held_order_id_seq IS 'numbers of held orders (held_order.id)';
COMMENT ON SEQUENCE pgcredit.audit_log_id_seq IS 'numbers of audit log entries (audit_log.id)';

REVOKE ALL ON pgcredit.account, pgcredit.exposure, pgcredit.settings, pgcredit.attachment,
              pgcredit.held_order, pgcredit.override, pgcredit.audit_log FROM PUBLIC;
GRANT SELECT ON pgcredit.account, pgcredit.exposure, pgcredit.settings, pgcredit.attachment,
                pgcredit.held_order, pgcredit.override, pgcredit.audit_log TO pgcredit_reader;

----------------------------------------------------------------------
-- Credit control: internal helpers (not callable by PUBLIC)
----------------------------------------------------------------------

CREATE FUNCTION pgcredit._actor()
RETURNS name LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT coalesce(nullif(current_setting('role'), 'none'), session_user)::name $$;
COMMENT ON FUNCTION pgcredit._actor() IS 'the role acting: the role set with SET ROLE, else the session user';

CREATE FUNCTION pgcredit._audit(action text, customer text, old_value jsonb, new_value jsonb, reason text)
RETURNS void LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  INSERT INTO pgcredit.audit_log (role_name, action, customer, old_value, new_value, reason)
  VALUES (pgcredit._actor(), $1, $2, $3, $4, $5)
$$;
COMMENT ON FUNCTION pgcredit._audit(text, text, jsonb, jsonb, text) IS 'append one entry to the audit log';

CREATE FUNCTION pgcredit._check_reason(reason text)
RETURNS void LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF reason IS NULL THEN
    RAISE EXCEPTION 'a reason is required' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Every change of credit control is audited; say why it is made.';
  ELSIF btrim(reason) = '' THEN
    RAISE EXCEPTION 'a reason is required' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = 'The reason given is empty.',
      HINT = 'Every change of credit control is audited; say why it is made.';
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_reason(text) IS 'refuse a missing or empty reason';

CREATE FUNCTION pgcredit._check_amount(name text, value numeric)
RETURNS void LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF value = 'NaN' OR value IN ('Infinity', '-Infinity') THEN
    RAISE EXCEPTION '% must be a finite number', name USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('%s is %s.', name, value);
  ELSIF value < 0 THEN
    RAISE EXCEPTION '% must not be negative', name USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('%s is %s.', name, value);
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_amount(text, numeric) IS 'refuse a NaN, infinite or negative limit or tolerance (NULL passes)';

CREATE FUNCTION pgcredit._lock_exposure(customer text)
RETURNS void LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  INSERT INTO pgcredit.exposure AS e (customer, has_account, credit_limit, tolerance_pct, status)
  SELECT $1, a.customer IS NOT NULL, a.credit_limit, coalesce(a.tolerance_pct, 0), coalesce(a.status, 'ok')
  FROM (SELECT) AS one LEFT JOIN pgcredit.account a ON a.customer = $1
  ON CONFLICT (customer) DO UPDATE SET has_account = EXCLUDED.has_account,
    credit_limit = EXCLUDED.credit_limit, tolerance_pct = EXCLUDED.tolerance_pct, status = EXCLUDED.status
$$;
COMMENT ON FUNCTION pgcredit._lock_exposure(text) IS
  'lock a customer''s exposure row and copy the account''s limit, tolerance and status into it, so that the change serialises with the customer''s orders and the guard reads it under the row lock';

CREATE FUNCTION pgcredit._change_account(customer text, changes jsonb, action text, reason text)
RETURNS pgcredit.account LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.account;
  after pgcredit.account;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF customer IS NULL THEN
    RAISE EXCEPTION 'customer must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT * INTO before FROM pgcredit.account a WHERE a.customer = _change_account.customer FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'customer "%" has no credit account', customer USING ERRCODE = 'PC003',
      HINT = 'Open one with pgcredit.open_account().';
  END IF;
  UPDATE pgcredit.account a SET
    credit_limit = CASE WHEN changes ? 'credit_limit' THEN (changes ->> 'credit_limit')::numeric ELSE a.credit_limit END,
    tolerance_pct = CASE WHEN changes ? 'tolerance_pct' THEN (changes ->> 'tolerance_pct')::numeric ELSE a.tolerance_pct END,
    status = CASE WHEN changes ? 'status' THEN changes ->> 'status' ELSE a.status END,
    hold_reason = CASE WHEN changes ? 'hold_reason' THEN changes ->> 'hold_reason' ELSE a.hold_reason END,
    payment_terms_days = CASE WHEN changes ? 'payment_terms_days' THEN (changes ->> 'payment_terms_days')::int ELSE a.payment_terms_days END,
    risk_tier = CASE WHEN changes ? 'risk_tier' THEN changes ->> 'risk_tier' ELSE a.risk_tier END,
    next_review = CASE WHEN changes ? 'next_review' THEN (changes ->> 'next_review')::date ELSE a.next_review END,
    updated_at = now()
  WHERE a.customer = _change_account.customer
  RETURNING * INTO after;
  PERFORM pgcredit._lock_exposure(customer);
  PERFORM pgcredit._audit(action, customer,
    (SELECT jsonb_object_agg(k, to_jsonb(before) -> k) FROM jsonb_object_keys(changes) AS k),
    (SELECT jsonb_object_agg(k, to_jsonb(after) -> k) FROM jsonb_object_keys(changes) AS k),
    reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit._change_account(text, jsonb, text, text) IS
  'change the fields of an account named in "changes", locking it and its exposure, and audit the change';

----------------------------------------------------------------------
-- Credit control: accounts (pgcredit_controller)
----------------------------------------------------------------------

CREATE FUNCTION pgcredit.open_account(customer text, credit_limit numeric DEFAULT NULL,
                                      tolerance_pct numeric DEFAULT 0,
                                      payment_terms_days int DEFAULT NULL,
                                      risk_tier text DEFAULT NULL,
                                      next_review date DEFAULT NULL,
                                      reason text DEFAULT 'account opened')
RETURNS pgcredit.account LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  created pgcredit.account;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF octet_length(customer) > 1000 THEN
    RAISE EXCEPTION 'customer key of % bytes is too long for pgcredit', octet_length(customer)
      USING ERRCODE = 'program_limit_exceeded', DETAIL = 'pgcredit keeps customer keys of up to 1000 bytes.',
      HINT = 'Use a shorter key for the customer, such as a customer number.';
  END IF;
  IF customer IS NULL THEN
    RAISE EXCEPTION 'customer must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM pgcredit._check_amount('credit_limit', credit_limit);
  PERFORM pgcredit._check_amount('tolerance_pct', coalesce(tolerance_pct, 0));
  IF payment_terms_days < 0 THEN
    RAISE EXCEPTION 'payment_terms_days must not be negative' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO pgcredit.account AS a (customer, credit_limit, tolerance_pct, payment_terms_days, risk_tier, next_review)
  VALUES (open_account.customer, open_account.credit_limit, coalesce(open_account.tolerance_pct, 0),
          open_account.payment_terms_days, open_account.risk_tier, open_account.next_review)
  ON CONFLICT ON CONSTRAINT account_pkey DO NOTHING
  RETURNING * INTO created;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'customer "%" already has a credit account', customer USING ERRCODE = 'unique_violation',
      HINT = 'Change it with set_credit_limit(), set_tolerance(), update_account() or the hold functions.';
  END IF;
  PERFORM pgcredit._lock_exposure(customer);
  PERFORM pgcredit._audit('open_account', customer, NULL, to_jsonb(created), reason);
  RETURN created;
END
$$;
COMMENT ON FUNCTION pgcredit.open_account(text, numeric, numeric, int, text, date, text) IS
  'open a credit account for a customer key (limit NULL = none set), audited';

CREATE FUNCTION pgcredit.set_credit_limit(customer text, credit_limit numeric, reason text)
RETURNS pgcredit.account LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_amount('credit_limit', credit_limit);
  RETURN pgcredit._change_account(customer, jsonb_build_object('credit_limit', credit_limit),
                                  'set_credit_limit', reason);
END
$$;
COMMENT ON FUNCTION pgcredit.set_credit_limit(text, numeric, text) IS
  'set a customer''s credit limit (NULL removes it), with a reason, audited';

CREATE FUNCTION pgcredit.set_tolerance(customer text, tolerance_pct numeric, reason text)
RETURNS pgcredit.account LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF tolerance_pct IS NULL THEN
    RAISE EXCEPTION 'tolerance_pct must not be null' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Use 0 for no tolerance.';
  END IF;
  PERFORM pgcredit._check_amount('tolerance_pct', tolerance_pct);
  RETURN pgcredit._change_account(customer, jsonb_build_object('tolerance_pct', tolerance_pct),
                                  'set_tolerance', reason);
END
$$;
COMMENT ON FUNCTION pgcredit.set_tolerance(text, numeric, text) IS
  'set the percentage an order may go above the customer''s limit, audited';

CREATE FUNCTION pgcredit.set_status(customer text, status text, reason text)
RETURNS pgcredit.account LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF status IS NULL OR status NOT IN ('ok', 'watch', 'hold', 'blocked') THEN
    RAISE EXCEPTION 'invalid account status "%"', status USING ERRCODE = 'invalid_parameter_value',
      HINT = 'The status is one of ok, watch, hold and blocked.';
  END IF;
  RETURN pgcredit._change_account(customer,
    jsonb_build_object('status', status,
                       'hold_reason', CASE WHEN status IN ('hold', 'blocked') THEN reason END),
    'set_status', reason);
END
$$;
COMMENT ON FUNCTION pgcredit.set_status(text, text, text) IS
  'set an account''s status: ok, watch, hold or blocked (hold and blocked refuse orders), audited';

CREATE FUNCTION pgcredit.place_hold(customer text, reason text)
RETURNS pgcredit.account LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit.set_status($1, 'hold', $2) $$;
COMMENT ON FUNCTION pgcredit.place_hold(text, text) IS
  'put a customer''s account on credit hold: orders raising its exposure are refused or held, audited';

CREATE FUNCTION pgcredit.block_account(customer text, reason text)
RETURNS pgcredit.account LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit.set_status($1, 'blocked', $2) $$;
COMMENT ON FUNCTION pgcredit.block_account(text, text) IS
  'block a customer''s account: orders raising its exposure are refused or held, audited';

CREATE FUNCTION pgcredit.release_hold(customer text, reason text)
RETURNS pgcredit.account LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit.set_status($1, 'ok', $2) $$;
COMMENT ON FUNCTION pgcredit.release_hold(text, text) IS
  'take a customer''s account off hold or block (status ok), audited';

CREATE FUNCTION pgcredit.update_account(customer text, reason text,
                                        payment_terms_days int DEFAULT NULL,
                                        risk_tier text DEFAULT NULL,
                                        next_review date DEFAULT NULL)
RETURNS pgcredit.account LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  changes jsonb := jsonb_strip_nulls(jsonb_build_object('payment_terms_days', payment_terms_days,
                                                        'risk_tier', risk_tier,
                                                        'next_review', next_review));
BEGIN
  IF payment_terms_days < 0 THEN
    RAISE EXCEPTION 'payment_terms_days must not be negative' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF changes = '{}' THEN
    RAISE EXCEPTION 'nothing to change' USING ERRCODE = 'invalid_parameter_value',
      HINT = 'Give payment_terms_days, risk_tier or next_review.';
  END IF;
  RETURN pgcredit._change_account(customer, changes, 'update_account', reason);
END
$$;
COMMENT ON FUNCTION pgcredit.update_account(text, text, int, text, date) IS
  'change an account''s payment terms, risk tier or next review date (the ones given), audited';

----------------------------------------------------------------------
-- Credit control: settings (pgcredit_admin)
----------------------------------------------------------------------

CREATE FUNCTION pgcredit.set_no_account_policy(policy text, default_limit numeric DEFAULT NULL,
                                               default_tolerance_pct numeric DEFAULT 0,
                                               reason text DEFAULT NULL)
RETURNS pgcredit.settings LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.settings;
  after pgcredit.settings;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF policy IS NULL OR policy NOT IN ('allow', 'deny', 'default_limit') THEN
    RAISE EXCEPTION 'invalid no-account policy "%"', policy USING ERRCODE = 'invalid_parameter_value',
      HINT = 'The policy is allow, deny or default_limit.';
  END IF;
  IF policy = 'default_limit' AND default_limit IS NULL THEN
    RAISE EXCEPTION 'the default_limit policy needs a default limit' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM pgcredit._check_amount('default_limit', default_limit);
  PERFORM pgcredit._check_amount('default_tolerance_pct', coalesce(default_tolerance_pct, 0));
  SELECT * INTO before FROM pgcredit.settings FOR UPDATE;
  INSERT INTO pgcredit.settings AS s (no_account_policy, default_limit, default_tolerance_pct)
  VALUES (policy, set_no_account_policy.default_limit, coalesce(set_no_account_policy.default_tolerance_pct, 0))
  ON CONFLICT (only_row) DO UPDATE SET no_account_policy = EXCLUDED.no_account_policy,
    default_limit = EXCLUDED.default_limit, default_tolerance_pct = EXCLUDED.default_tolerance_pct
  RETURNING * INTO after;
  PERFORM pgcredit._audit('set_no_account_policy', NULL, to_jsonb(before), to_jsonb(after), reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.set_no_account_policy(text, numeric, numeric, text) IS
  'what happens to orders of customers without an account: allow, deny, or default_limit (with its limit and tolerance), audited';

CREATE FUNCTION pgcredit.set_max_days_past_due(days int, reason text)
RETURNS pgcredit.settings LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.settings;
  after pgcredit.settings;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF days < 0 THEN
    RAISE EXCEPTION 'days must not be negative' USING ERRCODE = 'invalid_parameter_value',
      HINT = 'NULL turns the check off.';
  END IF;
  SELECT * INTO before FROM pgcredit.settings FOR UPDATE;
  INSERT INTO pgcredit.settings AS s (max_days_past_due) VALUES (days)
  ON CONFLICT (only_row) DO UPDATE SET max_days_past_due = EXCLUDED.max_days_past_due
  RETURNING * INTO after;
  PERFORM pgcredit._audit('set_max_days_past_due', NULL, to_jsonb(before), to_jsonb(after), reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.set_max_days_past_due(int, text) IS
  'refuse orders of customers with open receivables more than this many days past due (NULL = no check), audited';

----------------------------------------------------------------------
-- Credit control: exposure from the attached tables
----------------------------------------------------------------------

CREATE FUNCTION pgcredit._attached_items(kind text DEFAULT NULL, customer text DEFAULT NULL,
                                         relid regclass DEFAULT NULL, lock_tables boolean DEFAULT false)
RETURNS TABLE (relid oid, kind text, customer text, amount numeric, counts boolean, held boolean,
               due date, invoice_amount numeric, invoiced_on date, paid_on date)
AS 'MODULE_PATHNAME', 'pgc_attached_items'
LANGUAGE C VOLATILE ROWS 100000;
COMMENT ON FUNCTION pgcredit._attached_items(text, text, regclass, boolean) IS
  'the rows of the attached tables (of one kind, of one customer, of one table), each table read as its owner in a security-restricted operation; counts says whether the row counts in exposure';

CREATE FUNCTION pgcredit._check_attach_column(tbl regclass, col name, role text)
RETURNS void
AS 'MODULE_PATHNAME', 'pgc_check_attach_column'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION pgcredit._check_attach_column(regclass, name, text) IS
  'refuse a column pgcredit cannot use in a role: missing, generated, or of a type it does not accept';

CREATE FUNCTION pgcredit._table_triggers(tbl regclass, install boolean)
RETURNS void
AS 'MODULE_PATHNAME', 'pgc_table_triggers'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION pgcredit._table_triggers(regclass, boolean) IS
  'create or drop pgcredit''s triggers on an attached table, as the table''s owner';

CREATE FUNCTION pgcredit._clear_hold_mark(tbl regclass, row_key jsonb, customer text, amount numeric)
RETURNS text
AS 'MODULE_PATHNAME', 'pgc_clear_hold_mark'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION pgcredit._clear_hold_mark(regclass, jsonb, text, numeric) IS
  'clear the hold mark of a held row as the table''s owner if it still holds the customer and amount that were held: released, gone or changed';

CREATE FUNCTION pgcredit._actual_exposure(lock_tables boolean DEFAULT false)
RETURNS TABLE (customer text, receivables numeric, open_orders numeric)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT i.customer,
         coalesce(sum(i.amount) FILTER (WHERE i.kind = 'receivables'), 0),
         coalesce(sum(i.amount) FILTER (WHERE i.kind = 'orders'), 0)
  FROM pgcredit._attached_items(NULL, NULL, NULL, lock_tables) i
  WHERE i.counts
  GROUP BY i.customer
$$;
COMMENT ON FUNCTION pgcredit._actual_exposure(boolean) IS 'exposure per customer recomputed from every attached table';

CREATE FUNCTION pgcredit.verify_exposure()
RETURNS TABLE (customer text, stored_receivables numeric, actual_receivables numeric,
               stored_orders numeric, actual_orders numeric)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT coalesce(e.customer, a.customer),
         coalesce(e.receivables, 0), coalesce(a.receivables, 0),
         coalesce(e.open_orders, 0), coalesce(a.open_orders, 0)
  FROM pgcredit.exposure e
  FULL JOIN pgcredit._actual_exposure() a ON a.customer = e.customer
  WHERE coalesce(e.receivables, 0) <> coalesce(a.receivables, 0)
     OR coalesce(e.open_orders, 0) <> coalesce(a.open_orders, 0)
  ORDER BY 1
$$;
COMMENT ON FUNCTION pgcredit.verify_exposure() IS
  'recompute exposure from the attached tables and list the customers whose stored exposure differs (none when all is well)';

CREATE FUNCTION pgcredit.rebuild_exposure()
RETURNS bigint LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  fixed bigint;
BEGIN
  -- the attached tables are read under a SHARE lock, holding their
  -- writers while exposure is recomputed
  WITH actual AS (SELECT * FROM pgcredit._actual_exposure(true)),
  fix AS (
    INSERT INTO pgcredit.exposure AS e (customer, receivables, open_orders)
    SELECT coalesce(x.customer, e0.customer), coalesce(x.receivables, 0), coalesce(x.open_orders, 0)
    FROM actual x FULL JOIN pgcredit.exposure e0 ON e0.customer = x.customer
    WHERE coalesce(e0.receivables, 0) <> coalesce(x.receivables, 0)
       OR coalesce(e0.open_orders, 0) <> coalesce(x.open_orders, 0)
       OR e0.customer IS NULL
    ON CONFLICT (customer) DO UPDATE SET receivables = EXCLUDED.receivables,
                                         open_orders = EXCLUDED.open_orders
    RETURNING 1)
  SELECT count(*) INTO fixed FROM fix;
  -- and the copies of the accounts on the exposure rows
  UPDATE pgcredit.exposure e SET has_account = x.has_account, credit_limit = x.credit_limit,
                                 tolerance_pct = x.tolerance_pct, status = x.status
  FROM (SELECT e2.customer, acc.customer IS NOT NULL AS has_account, acc.credit_limit,
               coalesce(acc.tolerance_pct, 0) AS tolerance_pct, coalesce(acc.status, 'ok') AS status
        FROM pgcredit.exposure e2 LEFT JOIN pgcredit.account acc ON acc.customer = e2.customer) x
  WHERE x.customer = e.customer
    AND (e.has_account, e.credit_limit, e.tolerance_pct, e.status)
        IS DISTINCT FROM (x.has_account, x.credit_limit, x.tolerance_pct, x.status);
  IF fixed > 0 THEN
    PERFORM pgcredit._audit('rebuild_exposure', NULL, NULL, jsonb_build_object('customers_fixed', fixed), NULL);
  END IF;
  RETURN fixed;
END
$$;
COMMENT ON FUNCTION pgcredit.rebuild_exposure() IS
  'recompute exposure from the attached tables and repair it; returns the number of customers corrected';

CREATE FUNCTION pgcredit.items_past_due(customer text, days int)
RETURNS boolean LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT EXISTS (SELECT FROM pgcredit._attached_items('receivables', $1) i
                 WHERE i.counts AND i.amount > 0 AND i.due < current_date - $2)
$$;
COMMENT ON FUNCTION pgcredit.items_past_due(text, int) IS
  'whether a customer has open receivables more than "days" past due in any attached receivables table';

----------------------------------------------------------------------
-- Credit control: attaching to the company's tables (pgcredit_admin)
----------------------------------------------------------------------

-- Not SECURITY DEFINER: the C code acts as the function's owner only
-- around its own statements, which name every object with its schema.
CREATE FUNCTION pgcredit.exposure_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'exposure_trigger'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgcredit.exposure_trigger() IS
  'row trigger installed by attach_orders() and attach_receivables(): keeps exposure current and checks orders, acting as pgcredit''s owner';

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

CREATE FUNCTION pgcredit._column_type(tbl regclass, col name, role text)
RETURNS regtype LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  t regtype;
BEGIN
  IF col IS NULL THEN
    RAISE EXCEPTION 'the % column must not be null', role USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT a.atttypid::regtype INTO t FROM pg_attribute a
  WHERE a.attrelid = tbl AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'column "%" of relation "%" does not exist', col, tbl USING ERRCODE = 'undefined_column',
      DETAIL = format('It was given as the %s column.', role),
      HINT = format('The columns of %s are: %s.', tbl,
                    (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
                     WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped));
  END IF;
  RETURN t;
END
$$;
COMMENT ON FUNCTION pgcredit._column_type(regclass, name, text) IS 'type of a named column, or a clear error';

-- Rows written to an inheritance child or parent of a table fire the
-- triggers of the table they are written to only: the guard would not
-- see them.  (Partitions are not inheritance here.)
CREATE FUNCTION pgcredit._in_inheritance(tbl regclass)
RETURNS boolean LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT EXISTS (SELECT FROM pg_catalog.pg_inherits inh
                 JOIN pg_catalog.pg_class child ON child.oid = inh.inhrelid
                 WHERE (inh.inhparent = $1 OR inh.inhrelid = $1) AND NOT child.relispartition)
$$;
COMMENT ON FUNCTION pgcredit._in_inheritance(regclass) IS
  'whether a table is an inheritance parent or child (partitions aside)';
REVOKE EXECUTE ON FUNCTION pgcredit._in_inheritance(regclass) FROM PUBLIC;

CREATE FUNCTION pgcredit._attach(tbl regclass, kind text, customer_column name, amount_column name,
                                 due_column name, open_column name, open_values text[],
                                 mode text, hold_column name,
                                 invoice_amount_column name DEFAULT NULL, invoiced_column name DEFAULT NULL,
                                 paid_column name DEFAULT NULL)
RETURNS pgcredit.attachment LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  full_type text;
  canonical text[];
  v text;
  att pgcredit.attachment;
  c record;
  n bigint;
BEGIN
  IF tbl IS NULL THEN
    RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF (SELECT relkind FROM pg_catalog.pg_class WHERE oid = tbl) NOT IN ('r', 'p') THEN
    RAISE EXCEPTION '"%" is not a table', tbl USING ERRCODE = 'wrong_object_type',
      HINT = 'pgcredit attaches to tables and partitioned tables.';
  END IF;
  -- attaching installs triggers on the table and lets pgcredit read it:
  -- only its owner may ask for that, as for CREATE TRIGGER by the owner
  IF NOT pg_catalog.pg_has_role(pgcredit._actor(),
                                (SELECT relowner FROM pg_catalog.pg_class WHERE oid = tbl), 'USAGE') THEN
    RAISE EXCEPTION 'must be owner of table %', tbl USING ERRCODE = 'insufficient_privilege',
      DETAIL = format('Role %s is not a member of %s, the owner of the table.', pgcredit._actor(),
                      (SELECT relowner::regrole FROM pg_catalog.pg_class WHERE oid = tbl)),
      HINT = 'Attach the table as its owner (a member of pgcredit_admin too).';
  END IF;
  IF (SELECT relnamespace FROM pg_catalog.pg_class WHERE oid = tbl) = 'pgcredit'::regnamespace THEN
    RAISE EXCEPTION 'cannot attach pgcredit''s own table "%"', tbl USING ERRCODE = 'wrong_object_type';
  END IF;
  IF (SELECT relpersistence FROM pg_catalog.pg_class WHERE oid = tbl) = 't' THEN
    RAISE EXCEPTION 'cannot attach temporary table "%"', tbl USING ERRCODE = 'wrong_object_type';
  END IF;
  IF (SELECT relispartition FROM pg_catalog.pg_class WHERE oid = tbl) THEN
    RAISE EXCEPTION 'table "%" is a partition', tbl USING ERRCODE = 'wrong_object_type',
      HINT = 'Attach the partitioned table it belongs to.';
  END IF;
  -- rows of inheritance children would escape the guard, which fires on
  -- the table the row is written to
  IF pgcredit._in_inheritance(tbl) THEN
    RAISE EXCEPTION 'table "%" takes part in table inheritance', tbl USING ERRCODE = 'feature_not_supported',
      DETAIL = 'Rows written to an inheritance child or parent would not be guarded.',
      HINT = 'Attach each table on its own, or use declarative partitioning.';
  END IF;
  IF EXISTS (SELECT FROM pgcredit.attachment a WHERE a.relid = tbl) THEN
    RAISE EXCEPTION 'table "%" is already attached', tbl USING ERRCODE = 'duplicate_object',
      HINT = 'Detach it first with pgcredit.detach().';
  END IF;

  PERFORM pgcredit._column_type(tbl, customer_column, 'customer');
  PERFORM pgcredit._check_attach_column(tbl, customer_column, 'customer');
  PERFORM pgcredit._column_type(tbl, amount_column, 'amount');
  PERFORM pgcredit._check_attach_column(tbl, amount_column, 'amount');
  IF due_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, due_column, 'due date');
    PERFORM pgcredit._check_attach_column(tbl, due_column, 'date');
  END IF;

  IF open_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, open_column, 'open-state');
    PERFORM pgcredit._check_attach_column(tbl, open_column, 'open-state');
    IF open_values IS NULL OR cardinality(open_values) = 0 THEN
      RAISE EXCEPTION 'open_values must list the values of "%" that count as open', open_column
        USING ERRCODE = 'invalid_parameter_value', HINT = 'For example ARRAY[''open'', ''confirmed''].';
    END IF;
    -- keep the values as the column's type, with its modifier, prints
    -- them (character(6) pads, numeric(5,2) shows two decimals), refusing
    -- invalid ones; the types allowed have built-in input functions only
    SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) INTO full_type FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = tbl AND a.attname = open_column;
    FOREACH v IN ARRAY open_values LOOP
      -- numbers without their trailing fractional zeros, as the guard compares them
      EXECUTE format(CASE WHEN full_type LIKE 'numeric%%'
                          THEN 'SELECT pg_catalog.trim_scale($1::%s)::text'
                          ELSE 'SELECT pg_catalog.format(''%%s'', $1::%s)' END, full_type) INTO v USING v;
      canonical := canonical || v;
    END LOOP;
    open_values := canonical;
  ELSIF open_values IS NOT NULL THEN
    RAISE EXCEPTION 'open_values need an open_column' USING ERRCODE = 'invalid_parameter_value';
  END IF;

  IF hold_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, hold_column, 'hold');
    PERFORM pgcredit._check_attach_column(tbl, hold_column, 'hold');
  END IF;
  IF mode = 'hold' THEN
    IF hold_column IS NULL THEN
      RAISE EXCEPTION 'hold mode needs a hold column' USING ERRCODE = 'invalid_parameter_value',
        HINT = 'Name a boolean column that pgcredit sets to true on held orders.';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid = tbl AND i.indisprimary) THEN
      RAISE EXCEPTION 'table "%" has no primary key', tbl USING ERRCODE = 'object_not_in_prerequisite_state',
        HINT = 'Held orders are found again by primary key for release.';
    END IF;
  END IF;

  INSERT INTO pgcredit.attachment (relid, kind, customer_column, amount_column, due_column,
                                   open_column, open_values, mode, hold_column,
                                   invoice_amount_column, invoiced_column, paid_column)
  VALUES (tbl, kind, customer_column, amount_column, due_column, open_column, open_values, mode, hold_column,
          invoice_amount_column, invoiced_column, paid_column)
  RETURNING * INTO att;
  -- the triggers, created as the table's owner (which locks the table
  -- against writers until the end of the transaction)
  PERFORM pgcredit._table_triggers(tbl, true);

  -- what the table holds already, read as its owner
  SELECT count(*) INTO n FROM pgcredit._attached_items(NULL, NULL, tbl, true) i
  WHERE i.amount = 'NaN' OR i.amount IN ('Infinity', '-Infinity');
  IF n > 0 THEN
    RAISE EXCEPTION 'table "%" has % rows whose amount is NaN or infinite', tbl, n
      USING ERRCODE = 'invalid_parameter_value',
      HINT = format('Correct them first: SELECT * FROM %s WHERE %I IN (''NaN'', ''Infinity'', ''-Infinity'').', tbl, amount_column);
  END IF;
  FOR c IN SELECT i.customer, sum(i.amount) AS amount FROM pgcredit._attached_items(NULL, NULL, tbl) i
           WHERE i.counts GROUP BY i.customer LOOP
    INSERT INTO pgcredit.exposure AS e (customer, receivables, open_orders)
    VALUES (c.customer, CASE WHEN kind = 'receivables' THEN c.amount ELSE 0 END,
            CASE WHEN kind = 'orders' THEN c.amount ELSE 0 END)
    ON CONFLICT (customer) DO UPDATE SET receivables = e.receivables + EXCLUDED.receivables,
                                         open_orders = e.open_orders + EXCLUDED.open_orders;
  END LOOP;

  PERFORM pgcredit._audit('attach_' || kind, NULL, NULL, to_jsonb(att), NULL);
  RETURN att;
END
$$;
COMMENT ON FUNCTION pgcredit._attach(regclass, text, name, name, name, name, text[], text, name, name, name, name) IS
  'validate a table and its columns, install pgcredit''s triggers and add what the table holds to exposure';

CREATE FUNCTION pgcredit.attach_orders(tbl regclass, customer_column name, amount_column name,
                                       open_column name DEFAULT NULL, open_values text[] DEFAULT NULL,
                                       mode text DEFAULT 'block', hold_column name DEFAULT NULL)
RETURNS pgcredit.attachment LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF mode IS NULL OR mode NOT IN ('block', 'hold') THEN
    RAISE EXCEPTION 'invalid mode "%"', mode USING ERRCODE = 'invalid_parameter_value',
      HINT = 'block refuses an order over the limit with an error; hold lets it in marked held.';
  END IF;
  RETURN pgcredit._attach(tbl, 'orders', customer_column, amount_column, NULL,
                          open_column, open_values, mode, hold_column);
END
$$;
COMMENT ON FUNCTION pgcredit.attach_orders(regclass, name, name, name, text[], text, name) IS
  'attach an order table: its open orders count in exposure, and an order the customer''s credit cannot carry is refused (block) or held (hold)';

CREATE FUNCTION pgcredit.attach_receivables(tbl regclass, customer_column name, open_amount_column name,
                                            due_column name DEFAULT NULL, open_column name DEFAULT NULL,
                                            open_values text[] DEFAULT NULL,
                                            invoice_amount_column name DEFAULT NULL,
                                            invoiced_column name DEFAULT NULL,
                                            paid_column name DEFAULT NULL)
RETURNS pgcredit.attachment LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  -- the history columns, for payment behaviour and DSO, checked first
  IF invoice_amount_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, invoice_amount_column, 'invoice amount');
    PERFORM pgcredit._check_attach_column(tbl, invoice_amount_column, 'amount');
  END IF;
  IF invoiced_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, invoiced_column, 'invoice date');
    PERFORM pgcredit._check_attach_column(tbl, invoiced_column, 'date');
  END IF;
  IF paid_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, paid_column, 'payment date');
    PERFORM pgcredit._check_attach_column(tbl, paid_column, 'date');
  END IF;
  RETURN pgcredit._attach(tbl, 'receivables', customer_column, open_amount_column, due_column,
                          open_column, open_values, 'track', NULL,
                          invoice_amount_column, invoiced_column, paid_column);
END
$$;
COMMENT ON FUNCTION pgcredit.attach_receivables(regclass, name, name, name, name, text[], name, name, name) IS
  'attach an invoice or open-item table: its open amounts count in exposure (receivables are never refused); invoice amount, invoice date and payment date columns feed payment behaviour, DSO and the risk views';

CREATE FUNCTION pgcredit.detach(tbl regclass)
RETURNS pgcredit.attachment LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  att pgcredit.attachment;
  c record;
BEGIN
  SELECT * INTO att FROM pgcredit.attachment a WHERE a.relid = tbl FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'table "%" is not attached', tbl USING ERRCODE = 'undefined_object';
  END IF;
  -- dropping the triggers (as the table's owner) locks out writers first
  PERFORM pgcredit._table_triggers(tbl, false);
  FOR c IN SELECT i.customer, sum(i.amount) AS amount FROM pgcredit._attached_items(NULL, NULL, tbl) i
           WHERE i.counts GROUP BY i.customer LOOP
    UPDATE pgcredit.exposure e SET
      receivables = e.receivables - CASE WHEN att.kind = 'receivables' THEN c.amount ELSE 0 END,
      open_orders = e.open_orders - CASE WHEN att.kind = 'orders' THEN c.amount ELSE 0 END
    WHERE e.customer = c.customer;
  END LOOP;
  DELETE FROM pgcredit.attachment a WHERE a.relid = tbl;
  PERFORM pgcredit._audit('detach', NULL, to_jsonb(att), NULL, NULL);
  RETURN att;
END
$$;
COMMENT ON FUNCTION pgcredit.detach(regclass) IS
  'remove pgcredit''s triggers from a table and take what it holds out of exposure';

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
    EXCEPTION WHEN undefined_column OR datatype_mismatch OR feature_not_supported THEN
      RAISE EXCEPTION 'cannot change table % this way while it is attached to pgcredit', a.relid
        USING ERRCODE = 'object_in_use', DETAIL = SQLERRM,
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

----------------------------------------------------------------------
-- Credit control: holds and overrides (pgcredit_controller)
----------------------------------------------------------------------

CREATE FUNCTION pgcredit.override_block(customer text, reason text)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF customer IS NULL THEN
    RAISE EXCEPTION 'customer must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- overrides of finished transactions are spent
  DELETE FROM pgcredit.override o WHERE o.xid < pg_snapshot_xmin(pg_current_snapshot());
  INSERT INTO pgcredit.override AS o (xid, customer, reason, granted_by)
  VALUES (pg_current_xact_id(), override_block.customer, override_block.reason, pgcredit._actor())
  ON CONFLICT ON CONSTRAINT override_pkey DO UPDATE SET reason = EXCLUDED.reason;
  PERFORM pgcredit._audit('override_block', customer, NULL,
                          jsonb_build_object('xid', pg_current_xact_id()::text), reason);
END
$$;
COMMENT ON FUNCTION pgcredit.override_block(text, text) IS
  'let this transaction''s orders for a customer pass the credit check, with a reason, audited';

CREATE FUNCTION pgcredit.release_held_order(held_id bigint, reason text)
RETURNS pgcredit.held_order LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  h pgcredit.held_order;
  att pgcredit.attachment;
  outcome text;
  had_override boolean;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  SELECT * INTO h FROM pgcredit.held_order o WHERE o.id = held_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'held order % does not exist', held_id USING ERRCODE = 'undefined_object';
  END IF;
  IF h.released_at IS NOT NULL THEN
    RAISE EXCEPTION 'held order % was already released', held_id
      USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = format('%s released it at %s.', h.released_by, h.released_at);
  END IF;
  -- the attachment of the table, or of the partitioned table it belongs to
  SELECT * INTO att FROM pgcredit.attachment a
  WHERE a.relid = h.relid OR a.relid IN (SELECT pg_partition_ancestors(h.relid))
  ORDER BY a.relid = h.relid DESC LIMIT 1;
  IF NOT FOUND OR att.mode <> 'hold' THEN
    RAISE EXCEPTION 'table "%" of held order % is no longer attached in hold mode', h.relid, held_id
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  had_override := EXISTS (SELECT FROM pgcredit.override o
                         WHERE o.xid = pg_current_xact_id() AND o.customer = h.customer);
  -- mark the hold released first, so that the guard, seeing the hold mark
  -- cleared, finds no open hold of the row left to close
  UPDATE pgcredit.held_order o SET released_at = now(), released_by = pgcredit._actor(),
                                   release_reason = reason
  WHERE o.id = held_id RETURNING * INTO h;
  -- any other open hold of the same row is released with it
  UPDATE pgcredit.held_order o SET released_at = h.released_at, released_by = h.released_by,
                                   release_reason = reason
  WHERE o.relid = h.relid AND o.row_key = h.row_key AND o.released_at IS NULL;
  PERFORM pgcredit.override_block(h.customer, reason);
  -- the row, changed as the table's owner, only if it still is what was held
  outcome := pgcredit._clear_hold_mark(h.relid, h.row_key, h.customer, h.amount);
  -- the override served this release only: later orders of the
  -- transaction are checked again
  IF NOT had_override THEN
    DELETE FROM pgcredit.override o WHERE o.xid = pg_current_xact_id() AND o.customer = h.customer;
  END IF;
  IF outcome = 'gone' THEN
    RAISE EXCEPTION 'the row of held order % is gone', held_id USING ERRCODE = 'no_data_found',
      DETAIL = format('No row of %s has the key %s.', h.relid, h.row_key);
  ELSIF outcome = 'changed' THEN
    RAISE EXCEPTION 'the row of held order % changed since it was held', held_id
      USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = format('The hold was for %s of customer %s; the row of %s with the key %s no longer is that order, marked held.',
                      h.amount, h.customer, h.relid, h.row_key),
      HINT = 'Look at the order again in pgcredit.held_orders, and release the hold it has now.';
  END IF;
  PERFORM pgcredit._audit('release_held_order', h.customer, jsonb_build_object('held_order', held_id),
                          jsonb_build_object('amount', h.amount), reason);
  RETURN h;
END
$$;
COMMENT ON FUNCTION pgcredit.release_held_order(bigint, text) IS
  'release a held order: clear its hold mark, count it in exposure past the check, audited';

CREATE FUNCTION pgcredit._close_held_order(tbl oid, row_key jsonb, reason text)
RETURNS void LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH closed AS (
    UPDATE pgcredit.held_order o SET released_at = now(), released_by = pgcredit._actor(),
                                     release_reason = $3
    WHERE o.relid = $1 AND o.row_key = $2 AND o.released_at IS NULL
    RETURNING o.id, o.customer, o.amount)
  SELECT pgcredit._audit('close_held_order', c.customer, jsonb_build_object('held_order', c.id),
                         jsonb_build_object('amount', c.amount), $3)
  FROM closed c
$$;
COMMENT ON FUNCTION pgcredit._close_held_order(oid, jsonb, text) IS
  'close the open hold records of a row whose hold mark the application cleared (the order fit) or that was deleted, audited';

CREATE FUNCTION pgcredit._move_held_order(from_tbl oid, from_key jsonb, to_tbl oid, to_key jsonb)
RETURNS void LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  UPDATE pgcredit.held_order o SET relid = $3, row_key = $4
  WHERE o.relid = $1 AND o.row_key = $2 AND o.released_at IS NULL
$$;
COMMENT ON FUNCTION pgcredit._move_held_order(oid, jsonb, oid, jsonb) IS
  'follow a held row that an update moved to another partition';

----------------------------------------------------------------------
-- CSV import
----------------------------------------------------------------------

CREATE TABLE pgcredit.import_run (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  target           regclass NOT NULL,
  source           text NOT NULL,
  status           text NOT NULL
                   CHECK (status IN ('running', 'complete', 'partial', 'stopped', 'rolled back')),
  all_or_nothing   boolean NOT NULL,
  rows_read        bigint NOT NULL DEFAULT 0,
  rows_loaded      bigint NOT NULL DEFAULT 0,
  rows_rejected    bigint NOT NULL DEFAULT 0,
  ignored_columns  text[] NOT NULL DEFAULT '{}',
  delimiter        text,
  encoding         text,
  run_by           name NOT NULL,
  started_at       timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  finished_at      timestamptz
);
COMMENT ON TABLE pgcredit.import_run IS 'one row per CSV load: what was read, loaded and rejected';
COMMENT ON COLUMN pgcredit.import_run.id IS 'run number; import_reject.run_id refers to it';
COMMENT ON COLUMN pgcredit.import_run.target IS 'the table or view loaded';
COMMENT ON COLUMN pgcredit.import_run.source IS 'text, bytea, or file and its path';
COMMENT ON COLUMN pgcredit.import_run.status IS 'complete (every row loaded), partial (some rejected), stopped (max_rejects reached; the rest of the input not read), rolled back (all_or_nothing and a reject: nothing loaded); running only while the load is under way';
COMMENT ON COLUMN pgcredit.import_run.all_or_nothing IS 'whether one reject was to load nothing';
COMMENT ON COLUMN pgcredit.import_run.rows_read IS 'data records read (the header not counted); rows_loaded + rows_rejected unless rolled back';
COMMENT ON COLUMN pgcredit.import_run.rows_loaded IS 'rows now in the target';
COMMENT ON COLUMN pgcredit.import_run.rows_rejected IS 'rows refused, each with a row in import_reject';
COMMENT ON COLUMN pgcredit.import_run.ignored_columns IS 'header names that matched no column of the target and were not loaded';
COMMENT ON COLUMN pgcredit.import_run.delimiter IS 'the delimiter used, given or detected';
COMMENT ON COLUMN pgcredit.import_run.encoding IS 'the encoding the content was read in';
COMMENT ON COLUMN pgcredit.import_run.run_by IS 'the role that ran the load';
COMMENT ON COLUMN pgcredit.import_run.started_at IS 'when the load started';
COMMENT ON COLUMN pgcredit.import_run.finished_at IS 'when it finished';

CREATE TABLE pgcredit.import_reject (
  run_id       bigint NOT NULL REFERENCES pgcredit.import_run ON DELETE CASCADE,
  id           bigint GENERATED ALWAYS AS IDENTITY,
  line_number  bigint NOT NULL,
  column_name  text,
  raw_value    text,
  reason       text NOT NULL,
  PRIMARY KEY (run_id, id)
);
COMMENT ON TABLE pgcredit.import_reject IS 'rows a CSV load refused, with where and why';
COMMENT ON COLUMN pgcredit.import_reject.run_id IS 'the load (import_run.id)';
COMMENT ON COLUMN pgcredit.import_reject.id IS 'order of the reject within its run';
COMMENT ON COLUMN pgcredit.import_reject.line_number IS 'line of the input the record starts on, counting from 1 with the header';
COMMENT ON COLUMN pgcredit.import_reject.column_name IS 'the column whose value was refused; NULL when the record as a whole was';
COMMENT ON COLUMN pgcredit.import_reject.raw_value IS 'the value as written in the file (the whole record when no column is named), cut at 1000 bytes';
COMMENT ON COLUMN pgcredit.import_reject.reason IS 'why it was refused: the loader''s check or PostgreSQL''s message';

CREATE TABLE pgcredit.external_score (
  customer    text NOT NULL,
  source      text NOT NULL,
  score       numeric NOT NULL CHECK (score > '-Infinity' AND score < 'Infinity'),
  rating      text,
  as_of       date NOT NULL,
  import_run  bigint DEFAULT NULLIF(pg_catalog.current_setting('pgcredit.import_run', true), '')::bigint,
  loaded_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (customer, source, as_of)
);
COMMENT ON TABLE pgcredit.external_score IS 'scores and ratings of customers from credit bureaus and other outside sources, one row per customer, source and date';
COMMENT ON COLUMN pgcredit.external_score.customer IS 'customer key as text, as in pgcredit.account';
COMMENT ON COLUMN pgcredit.external_score.source IS 'where the score comes from, for example experian, dnb, creditsafe';
COMMENT ON COLUMN pgcredit.external_score.score IS 'the score as the source gives it (its own scale)';
COMMENT ON COLUMN pgcredit.external_score.rating IS 'the source''s rating or band, for example A, 2A3 or 71-80';
COMMENT ON COLUMN pgcredit.external_score.as_of IS 'the date the source gave the score';
COMMENT ON COLUMN pgcredit.external_score.import_run IS 'the CSV load that brought the row, if any';
COMMENT ON COLUMN pgcredit.external_score.loaded_at IS 'when the row was stored';

SELECT pg_catalog.pg_extension_config_dump('pgcredit.import_run', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.import_reject', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.external_score', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.import_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.import_reject_id_seq', '');
COMMENT ON SEQUENCE pgcredit.import_run_id_seq IS 'numbers of CSV loads (import_run.id)';
COMMENT ON SEQUENCE pgcredit.import_reject_id_seq IS 'numbers of rejects (import_reject.id)';

-- Runs and rejects: each role sees its own, pgcredit's readers see all
ALTER TABLE pgcredit.import_run ENABLE ROW LEVEL SECURITY;
ALTER TABLE pgcredit.import_reject ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_runs ON pgcredit.import_run FOR SELECT
  USING (run_by = current_user OR pg_catalog.pg_has_role('pgcredit_reader', 'USAGE'));
CREATE POLICY own_rejects ON pgcredit.import_reject FOR SELECT
  USING (EXISTS (SELECT FROM pgcredit.import_run r WHERE r.id = run_id));
REVOKE ALL ON pgcredit.import_run, pgcredit.import_reject, pgcredit.external_score FROM PUBLIC;
GRANT SELECT ON pgcredit.import_run, pgcredit.import_reject TO PUBLIC;
GRANT SELECT ON pgcredit.external_score TO pgcredit_reader;
GRANT INSERT, UPDATE, DELETE ON pgcredit.external_score TO pgcredit_controller;

CREATE FUNCTION pgcredit.load_csv(target regclass, content text,
                                  delimiter text DEFAULT NULL, quote text DEFAULT '"',
                                  header boolean DEFAULT true, column_map jsonb DEFAULT NULL,
                                  columns text[] DEFAULT NULL, date_style text DEFAULT 'ISO',
                                  decimal_comma boolean DEFAULT false,
                                  true_words text[] DEFAULT NULL, false_words text[] DEFAULT NULL,
                                  null_markers text[] DEFAULT NULL,
                                  all_or_nothing boolean DEFAULT false, max_rejects bigint DEFAULT NULL,
                                  encoding text DEFAULT NULL, max_field_size bigint DEFAULT NULL)
RETURNS pgcredit.import_run LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'load_csv_text';
COMMENT ON FUNCTION pgcredit.load_csv(regclass, text, text, text, boolean, jsonb, text[], text, boolean, text[], text[], text[], boolean, bigint, text, bigint) IS
  'load CSV content into a table, matching the header to its columns; every row loaded or rejected into import_reject; returns the run';

CREATE FUNCTION pgcredit.load_csv(target regclass, content bytea,
                                  delimiter text DEFAULT NULL, quote text DEFAULT '"',
                                  header boolean DEFAULT true, column_map jsonb DEFAULT NULL,
                                  columns text[] DEFAULT NULL, date_style text DEFAULT 'ISO',
                                  decimal_comma boolean DEFAULT false,
                                  true_words text[] DEFAULT NULL, false_words text[] DEFAULT NULL,
                                  null_markers text[] DEFAULT NULL,
                                  all_or_nothing boolean DEFAULT false, max_rejects bigint DEFAULT NULL,
                                  encoding text DEFAULT NULL, max_field_size bigint DEFAULT NULL)
RETURNS pgcredit.import_run LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'load_csv_bytea';
COMMENT ON FUNCTION pgcredit.load_csv(regclass, bytea, text, text, boolean, jsonb, text[], text, boolean, text[], text[], text[], boolean, bigint, text, bigint) IS
  'load CSV bytes in any server-supported encoding (UTF-8 by default, a byte-order mark skipped) into a table; as load_csv(regclass, text)';

CREATE FUNCTION pgcredit.load_csv_file(target regclass, path text,
                                       delimiter text DEFAULT NULL, quote text DEFAULT '"',
                                       header boolean DEFAULT true, column_map jsonb DEFAULT NULL,
                                       columns text[] DEFAULT NULL, date_style text DEFAULT 'ISO',
                                       decimal_comma boolean DEFAULT false,
                                       true_words text[] DEFAULT NULL, false_words text[] DEFAULT NULL,
                                       null_markers text[] DEFAULT NULL,
                                       all_or_nothing boolean DEFAULT false, max_rejects bigint DEFAULT NULL,
                                       encoding text DEFAULT NULL, max_field_size bigint DEFAULT NULL)
RETURNS pgcredit.import_run LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'load_csv_file';
COMMENT ON FUNCTION pgcredit.load_csv_file(regclass, text, text, text, boolean, jsonb, text[], text, boolean, text[], text[], text[], boolean, bigint, text, bigint) IS
  'load a CSV file on the database server, read in pieces (roles with pg_read_server_files only); as load_csv(regclass, bytea)';

-- Credit accounts from a file, through the account functions: validated
-- and audited like any change
CREATE VIEW pgcredit.account_import AS
SELECT customer, credit_limit, tolerance_pct, payment_terms_days, risk_tier, next_review,
       NULL::text AS reason
FROM pgcredit.account;
COMMENT ON VIEW pgcredit.account_import IS 'load credit accounts and limits with load_csv into this view: a new customer gets an account, an existing one the values the file gives (an empty field leaves a value as it is), each change through the account functions and audited';
COMMENT ON COLUMN pgcredit.account_import.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.account_import.credit_limit IS 'credit limit';
COMMENT ON COLUMN pgcredit.account_import.tolerance_pct IS 'tolerance percentage';
COMMENT ON COLUMN pgcredit.account_import.payment_terms_days IS 'payment terms in days';
COMMENT ON COLUMN pgcredit.account_import.risk_tier IS 'risk tier';
COMMENT ON COLUMN pgcredit.account_import.next_review IS 'next review date';
COMMENT ON COLUMN pgcredit.account_import.reason IS 'reason recorded in the audit log; by default "loaded from CSV (import run N)"';

CREATE FUNCTION pgcredit._account_import_row()
RETURNS trigger LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  a pgcredit.account;
  why text := coalesce(NEW.reason, 'loaded from CSV' ||
                       coalesce(' (import run ' || nullif(current_setting('pgcredit.import_run', true), '') || ')', ''));
BEGIN
  SELECT * INTO a FROM pgcredit.account x WHERE x.customer = NEW.customer;
  IF NOT FOUND THEN
    PERFORM pgcredit.open_account(NEW.customer, NEW.credit_limit, coalesce(NEW.tolerance_pct, 0),
                                  NEW.payment_terms_days, NEW.risk_tier, NEW.next_review, why);
  ELSE
    IF NEW.credit_limit IS NOT NULL AND NEW.credit_limit IS DISTINCT FROM a.credit_limit THEN
      PERFORM pgcredit.set_credit_limit(NEW.customer, NEW.credit_limit, why);
    END IF;
    IF NEW.tolerance_pct IS NOT NULL AND NEW.tolerance_pct IS DISTINCT FROM a.tolerance_pct THEN
      PERFORM pgcredit.set_tolerance(NEW.customer, NEW.tolerance_pct, why);
    END IF;
    IF (NEW.payment_terms_days IS NOT NULL AND NEW.payment_terms_days IS DISTINCT FROM a.payment_terms_days)
       OR (NEW.risk_tier IS NOT NULL AND NEW.risk_tier IS DISTINCT FROM a.risk_tier)
       OR (NEW.next_review IS NOT NULL AND NEW.next_review IS DISTINCT FROM a.next_review) THEN
      PERFORM pgcredit.update_account(NEW.customer, why, NEW.payment_terms_days, NEW.risk_tier, NEW.next_review);
    END IF;
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION pgcredit._account_import_row() IS
  'INSTEAD OF INSERT on account_import: open or change the account through the audited account functions';
CREATE TRIGGER account_import_row INSTEAD OF INSERT ON pgcredit.account_import
  FOR EACH ROW EXECUTE FUNCTION pgcredit._account_import_row();
REVOKE ALL ON pgcredit.account_import FROM PUBLIC;
-- a trigger function is not checked for EXECUTE when its trigger fires
REVOKE EXECUTE ON FUNCTION pgcredit._account_import_row() FROM PUBLIC;
GRANT SELECT, INSERT ON pgcredit.account_import TO pgcredit_controller;

----------------------------------------------------------------------
-- Risk: scores, tiers, alerts and the views BI tools read
----------------------------------------------------------------------

CREATE FUNCTION pgcredit.as_of()
RETURNS date LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT coalesce(nullif(current_setting('pgcredit.as_of', true), '')::date, current_date) $$;
COMMENT ON FUNCTION pgcredit.as_of() IS
  'the day the risk views describe: the setting pgcredit.as_of when set (SET pgcredit.as_of = ''2024-06-30''), else today';

CREATE FUNCTION pgcredit._check_day(as_of date)
RETURNS void LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF as_of IS NULL OR NOT isfinite(as_of) THEN
    RAISE EXCEPTION 'as_of must be a finite date' USING ERRCODE = 'invalid_parameter_value';
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_day(date) IS 'refuse a NULL or infinite day for the risk functions';
REVOKE EXECUTE ON FUNCTION pgcredit._check_day(date) FROM PUBLIC;

CREATE TABLE pgcredit.risk_settings (
  only_row                  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  -- numeric NaN passes >= 0 (it sorts above every number), so each check
  -- also bounds the value below 'Infinity', which refuses NaN and infinity
  weight_behaviour          numeric NOT NULL DEFAULT 0.5 CHECK (weight_behaviour >= 0 AND weight_behaviour < 'Infinity'),
  weight_external           numeric NOT NULL DEFAULT 0.3 CHECK (weight_external >= 0 AND weight_external < 'Infinity'),
  weight_utilisation        numeric NOT NULL DEFAULT 0.2 CHECK (weight_utilisation >= 0 AND weight_utilisation < 'Infinity'),
  tier_a_min                numeric NOT NULL DEFAULT 80 CHECK (tier_a_min > '-Infinity' AND tier_a_min < 'Infinity'),
  tier_b_min                numeric NOT NULL DEFAULT 65 CHECK (tier_b_min > '-Infinity' AND tier_b_min < 'Infinity'),
  tier_c_min                numeric NOT NULL DEFAULT 50 CHECK (tier_c_min > '-Infinity' AND tier_c_min < 'Infinity'),
  tier_d_min                numeric NOT NULL DEFAULT 35 CHECK (tier_d_min > '-Infinity' AND tier_d_min < 'Infinity'),
  watch_utilisation_pct     numeric NOT NULL DEFAULT 90 CHECK (watch_utilisation_pct >= 0 AND watch_utilisation_pct < 'Infinity'),
  watch_overdue_days        int NOT NULL DEFAULT 30 CHECK (watch_overdue_days >= 0),
  watch_new_overdue_window  int NOT NULL DEFAULT 7 CHECK (watch_new_overdue_window >= 1),
  watch_score_drop          numeric NOT NULL DEFAULT 10 CHECK (watch_score_drop >= 0 AND watch_score_drop < 'Infinity'),
  CHECK (weight_behaviour + weight_external + weight_utilisation > 0),
  CHECK (tier_a_min > tier_b_min AND tier_b_min > tier_c_min AND tier_c_min > tier_d_min)
);
COMMENT ON TABLE pgcredit.risk_settings IS 'weights of the combined score, tier thresholds and watchlist thresholds: one row at most; no row means every default';
COMMENT ON COLUMN pgcredit.risk_settings.only_row IS 'always true: the table holds one row at most';
COMMENT ON COLUMN pgcredit.risk_settings.weight_behaviour IS 'weight of the behavioural score (payment history) in the combined score';
COMMENT ON COLUMN pgcredit.risk_settings.weight_external IS 'weight of the latest external score, brought to 0-100';
COMMENT ON COLUMN pgcredit.risk_settings.weight_utilisation IS 'weight of the utilisation score, 100 minus utilisation % (0 at or above the limit)';
COMMENT ON COLUMN pgcredit.risk_settings.tier_a_min IS 'lowest combined score of tier A (best)';
COMMENT ON COLUMN pgcredit.risk_settings.tier_b_min IS 'lowest combined score of tier B';
COMMENT ON COLUMN pgcredit.risk_settings.tier_c_min IS 'lowest combined score of tier C';
COMMENT ON COLUMN pgcredit.risk_settings.tier_d_min IS 'lowest combined score of tier D; below it, tier E (worst)';
COMMENT ON COLUMN pgcredit.risk_settings.watch_utilisation_pct IS 'watchlist: utilisation above this percentage of the limit';
COMMENT ON COLUMN pgcredit.risk_settings.watch_overdue_days IS 'watchlist: an open item passing this many days past due ...';
COMMENT ON COLUMN pgcredit.risk_settings.watch_new_overdue_window IS '... within the last this many days (a new overdue item)';
COMMENT ON COLUMN pgcredit.risk_settings.watch_score_drop IS 'watchlist and alert: a combined score falling by more than this many points from one refresh to the next';

CREATE TABLE pgcredit.external_score_scale (
  source            text PRIMARY KEY,
  worst             numeric NOT NULL,
  best              numeric NOT NULL,
  CHECK (worst <> best)
);
COMMENT ON TABLE pgcredit.external_score_scale IS 'the scale of each external score source, to bring its scores to 0 (worst) - 100 (best); a source not listed is taken as 0-100 already';
COMMENT ON COLUMN pgcredit.external_score_scale.source IS 'external_score.source';
COMMENT ON COLUMN pgcredit.external_score_scale.worst IS 'the source''s worst score (may be above best, for scales where lower is better)';
COMMENT ON COLUMN pgcredit.external_score_scale.best IS 'the source''s best score';

CREATE TABLE pgcredit.tier_policy (
  tier                  text PRIMARY KEY CHECK (tier IN ('A', 'B', 'C', 'D', 'E')),
  payment_terms_days    int NOT NULL CHECK (payment_terms_days >= 0),
  tolerance_pct         numeric NOT NULL CHECK (tolerance_pct >= 0),
  review_interval_days  int NOT NULL CHECK (review_interval_days > 0),
  limit_months          numeric NOT NULL CHECK (limit_months >= 0)
);
COMMENT ON TABLE pgcredit.tier_policy IS 'what each risk tier means for the account: default payment terms, tolerance, review interval, and months of sales a recommended limit covers';
COMMENT ON COLUMN pgcredit.tier_policy.tier IS 'A (best) to E (worst)';
COMMENT ON COLUMN pgcredit.tier_policy.payment_terms_days IS 'default payment terms';
COMMENT ON COLUMN pgcredit.tier_policy.tolerance_pct IS 'default tolerance over the limit';
COMMENT ON COLUMN pgcredit.tier_policy.review_interval_days IS 'days between reviews of the account';
COMMENT ON COLUMN pgcredit.tier_policy.limit_months IS 'recommend_limit: the limit covers this many months of the customer''s average monthly invoicing';
INSERT INTO pgcredit.tier_policy VALUES
  ('A', 60, 10, 365, 3), ('B', 45, 5, 180, 2), ('C', 30, 0, 120, 1.5),
  ('D', 14, 0, 90, 1), ('E', 0, 0, 30, 0);

-- A row inserted for a tier that has one replaces it: so a restore from
-- pg_dump (which copies the dumped rows in after CREATE EXTENSION made the
-- defaults) keeps the policy as it was, and INSERT works as an upsert.
CREATE FUNCTION pgcredit._tier_policy_replace()
RETURNS trigger LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  UPDATE pgcredit.tier_policy p
  SET payment_terms_days = NEW.payment_terms_days, tolerance_pct = NEW.tolerance_pct,
      review_interval_days = NEW.review_interval_days, limit_months = NEW.limit_months
  WHERE p.tier = NEW.tier;
  IF FOUND THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION pgcredit._tier_policy_replace() IS
  'BEFORE INSERT on tier_policy: a row for a tier already there replaces it (restores and upserts)';
CREATE TRIGGER tier_policy_replace BEFORE INSERT ON pgcredit.tier_policy
  FOR EACH ROW EXECUTE FUNCTION pgcredit._tier_policy_replace();
REVOKE EXECUTE ON FUNCTION pgcredit._tier_policy_replace() FROM PUBLIC;

CREATE TABLE pgcredit.score_history (
  customer          text NOT NULL,
  as_of             date NOT NULL,
  behavioural_score numeric,
  external_score    numeric,
  utilisation_pct   numeric,
  combined_score    numeric,
  tier              text CHECK (tier IN ('A', 'B', 'C', 'D', 'E')),
  receivables       numeric,
  open_orders       numeric,
  oldest_days_past_due int,
  computed_at       timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  PRIMARY KEY (customer, as_of)
);
CREATE INDEX score_history_as_of ON pgcredit.score_history (as_of);
COMMENT ON INDEX pgcredit.score_history_as_of IS 'the scorings of a day, for the views and the next run';
COMMENT ON TABLE pgcredit.score_history IS 'scores and tiers by customer and day, appended by refresh_scores(); a second run for the same day replaces that day''s rows';
COMMENT ON COLUMN pgcredit.score_history.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.score_history.as_of IS 'the day scored';
COMMENT ON COLUMN pgcredit.score_history.behavioural_score IS 'credit_score() over the customer''s attached receivables, 0-100; NULL without payment evidence';
COMMENT ON COLUMN pgcredit.score_history.external_score IS 'the latest external score on or before as_of, brought to 0-100 by external_score_scale';
COMMENT ON COLUMN pgcredit.score_history.utilisation_pct IS 'exposure as a percentage of the credit limit; NULL without a limit';
COMMENT ON COLUMN pgcredit.score_history.combined_score IS 'weighted mean of the behavioural score, the external score and 100 minus utilisation (capped to 0-100), over the parts known, with risk_settings weights';
COMMENT ON COLUMN pgcredit.score_history.tier IS 'risk tier from the combined score and risk_settings thresholds: A best to E worst';
COMMENT ON COLUMN pgcredit.score_history.receivables IS 'open receivables when scored';
COMMENT ON COLUMN pgcredit.score_history.open_orders IS 'open orders when scored';
COMMENT ON COLUMN pgcredit.score_history.oldest_days_past_due IS 'days past due of the oldest open item when scored';
COMMENT ON COLUMN pgcredit.score_history.computed_at IS 'when the row was computed';

CREATE TABLE pgcredit.alert (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  raised_at   timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  kind        text NOT NULL CHECK (kind IN ('score_downgrade', 'tier_change', 'account_hold', 'order_held',
                                            'limit_breached', 'overdue_30', 'overdue_60', 'overdue_90',
                                            'review_overdue')),
  customer    text,
  details     jsonb NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE pgcredit.alert IS 'early-warning events; each is also announced with NOTIFY pgcredit_alerts and a JSON payload of its id and kind';
COMMENT ON COLUMN pgcredit.alert.id IS 'alert number';
COMMENT ON COLUMN pgcredit.alert.raised_at IS 'when it was raised';
COMMENT ON COLUMN pgcredit.alert.kind IS 'score_downgrade, tier_change, account_hold (account put on hold or blocked), order_held, limit_breached (an order held because it would pass the limit), overdue_30/60/90 (the oldest open item crossed that many days past due), review_overdue';
COMMENT ON COLUMN pgcredit.alert.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.alert.details IS 'the figures behind it, as JSON';

SELECT pg_catalog.pg_extension_config_dump('pgcredit.risk_settings', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.external_score_scale', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.tier_policy', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.score_history', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.alert', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.alert_id_seq', '');
COMMENT ON SEQUENCE pgcredit.alert_id_seq IS 'numbers of alerts (alert.id)';

-- Every alert goes out on the pgcredit_alerts channel too
CREATE FUNCTION pgcredit._notify_alert()
RETURNS trigger LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  -- any role can LISTEN: the payload says only that an alert was raised
  -- and of which kind; its details stay in pgcredit.alert, behind its grants
  PERFORM pg_notify('pgcredit_alerts', json_build_object('id', NEW.id, 'kind', NEW.kind)::text);
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION pgcredit._notify_alert() IS 'AFTER INSERT on alert: NOTIFY pgcredit_alerts with the alert''s id and kind as JSON';
CREATE TRIGGER notify_alert AFTER INSERT ON pgcredit.alert
  FOR EACH ROW EXECUTE FUNCTION pgcredit._notify_alert();

-- Holds raise alerts as they happen
CREATE FUNCTION pgcredit._alert_on_hold()
RETURNS trigger LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF NEW.status IN ('hold', 'blocked') AND OLD.status IS DISTINCT FROM NEW.status THEN
    INSERT INTO pgcredit.alert (kind, customer, details)
    VALUES ('account_hold', NEW.customer,
            jsonb_build_object('status', NEW.status, 'hold_reason', NEW.hold_reason));
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION pgcredit._alert_on_hold() IS 'AFTER UPDATE OF status on account: an alert when an account is put on hold or blocked (held orders raise theirs as the guard records them)';
-- (on updates only: a restore copies rows in, and raises nothing again)
CREATE TRIGGER alert_on_hold AFTER UPDATE OF status ON pgcredit.account
  FOR EACH ROW EXECUTE FUNCTION pgcredit._alert_on_hold();

-- A held order is recorded once while it stays held, with its alert
CREATE FUNCTION pgcredit._record_hold(tbl oid, row_key jsonb, customer text, amount numeric, why text)
RETURNS void LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH h AS (
    INSERT INTO pgcredit.held_order (relid, row_key, customer, amount, why)
    SELECT $1, $2, $3, $4, $5
    WHERE NOT EXISTS (SELECT FROM pgcredit.held_order o
                      WHERE o.relid = $1 AND o.row_key = $2 AND o.released_at IS NULL)
    RETURNING *)
  INSERT INTO pgcredit.alert (kind, customer, details)
  SELECT CASE WHEN h.why = 'customer over its credit limit' THEN 'limit_breached' ELSE 'order_held' END,
         h.customer,
         jsonb_build_object('held_order', h.id, 'table', h.relid::text, 'amount', h.amount, 'why', h.why)
  FROM h
$$;
COMMENT ON FUNCTION pgcredit._record_hold(oid, jsonb, text, numeric, text) IS
  'the guard records a held order, unless the row has an open hold already, and raises its alert (limit_breached or order_held)';
REVOKE EXECUTE ON FUNCTION pgcredit._record_hold(oid, jsonb, text, numeric, text) FROM PUBLIC;

-- The attached receivables, as one query over all of them
CREATE FUNCTION pgcredit._receivable_items_sql()
RETURNS text LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT 'SELECT i.customer, '
         -- paid by the day: not open; paid after it: the whole invoice was
         -- open on it; otherwise the open amount as it stands, when open
         'CASE WHEN i.paid_on <= $1 THEN NULL WHEN i.paid_on > $1 THEN i.invoice_amount '
         '     WHEN i.counts THEN i.amount END AS open_amount, '
         'i.due, i.invoice_amount, i.invoiced_on, i.paid_on '
         'FROM pgcredit._attached_items(''receivables'') i '
         -- invoices of later days are left out
         'WHERE i.invoiced_on IS NULL OR i.invoiced_on <= $1'
$$;
COMMENT ON FUNCTION pgcredit._receivable_items_sql() IS
  'the query listing every item of the attached receivables tables as of the day $1: customer, open amount on that day (NULL when not open; with a payment date column, an item paid after the day counts whole), due, invoice amount, invoice date, payment date; items invoiced after the day are left out';

CREATE FUNCTION pgcredit.receivable_stats(as_of date DEFAULT current_date)
RETURNS TABLE (customer text, receivables numeric, current numeric, days_1_30 numeric,
               days_31_60 numeric, days_61_90 numeric, days_over_90 numeric,
               oldest_days_past_due int, dso_90 numeric, last_payment date,
               behavioural_score numeric, invoiced_12m numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 10000
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_day(as_of);
  -- one pass over every attached receivables table, every figure at once;
  -- the day goes in as a constant (the aggregates run several times faster
  -- than with a parameter), and customers are grouped bytewise
  RETURN QUERY EXECUTE replace(format(
    'SELECT customer, (g).total, (g).current, (g).days_1_30, (g).days_31_60, (g).days_61_90,
            (g).days_over_90, oldest, dso, last_payment, score, invoiced
     FROM (SELECT customer COLLATE "C" AS customer,
                  pgcredit.aging(open_amount, due, $1) AS g,
                  max(CASE WHEN open_amount > 0 AND due < $1 THEN $1 - due END) AS oldest,
                  pgcredit.dso(invoice_amount, invoiced_on, paid_on, $1, 90) AS dso,
                  max(paid_on) FILTER (WHERE paid_on <= $1) AS last_payment,
                  pgcredit.credit_score(invoice_amount, due, paid_on, $1) AS score,
                  sum(invoice_amount) FILTER (WHERE invoiced_on > $1 - 365 AND invoiced_on <= $1) AS invoiced
           FROM (%s) items
           GROUP BY 1) s',
    pgcredit._receivable_items_sql()), '$1', quote_literal(as_of::text) || '::date');
END
$$;
COMMENT ON FUNCTION pgcredit.receivable_stats(date) IS
  'per customer over every attached receivables table, at as_of: open receivables by aging band, days past due of the oldest open item, DSO over 90 days, last payment, behavioural score, invoicing of the last 12 months';

CREATE FUNCTION pgcredit.external_score_now(as_of date DEFAULT current_date)
RETURNS TABLE (customer text, source text, score numeric, scaled_score numeric, rating text, scored_on date)
LANGUAGE sql STABLE ROWS 10000
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT DISTINCT ON (e.customer) e.customer, e.source, e.score,
         round(greatest(0, least(100, CASE WHEN x.source IS NULL THEN e.score
                                            ELSE (e.score - x.worst) / (x.best - x.worst) * 100 END)), 2),
         e.rating, e.as_of
  FROM pgcredit.external_score e
  LEFT JOIN pgcredit.external_score_scale x ON x.source = e.source
  WHERE e.as_of <= $1
  ORDER BY e.customer, e.as_of DESC, e.loaded_at DESC, e.source
$$;
COMMENT ON FUNCTION pgcredit.external_score_now(date) IS
  'each customer''s latest external score on or before as_of, also brought to 0-100 by external_score_scale';

CREATE FUNCTION pgcredit._settings_or_default()
RETURNS pgcredit.risk_settings LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT coalesce((SELECT r FROM pgcredit.risk_settings r), ROW(true, 0.5, 0.3, 0.2, 80, 65, 50, 35, 90, 30, 7, 10)::pgcredit.risk_settings)
$$;
COMMENT ON FUNCTION pgcredit._settings_or_default() IS 'the risk settings row, or every default';

CREATE FUNCTION pgcredit._combine(behavioural numeric, external numeric, utilisation_pct numeric,
                                  w_behaviour numeric, w_external numeric, w_utilisation numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  -- one expression, without FROM, so that the planner inlines it: the
  -- weighted parts over the weights of the parts that are known
  SELECT CASE WHEN (CASE WHEN $1 IS NULL THEN 0 ELSE $4 END + CASE WHEN $2 IS NULL THEN 0 ELSE $5 END
                    + CASE WHEN $3 IS NULL THEN 0 ELSE $6 END) > 0
              THEN round((CASE WHEN $1 IS NULL THEN 0 ELSE $4 * $1 END
                          + CASE WHEN $2 IS NULL THEN 0 ELSE $5 * $2 END
                          + CASE WHEN $3 IS NULL THEN 0 ELSE $6 * greatest(0, least(100, 100 - $3)) END)
                         / (CASE WHEN $1 IS NULL THEN 0 ELSE $4 END + CASE WHEN $2 IS NULL THEN 0 ELSE $5 END
                            + CASE WHEN $3 IS NULL THEN 0 ELSE $6 END), 2) END
$$;
COMMENT ON FUNCTION pgcredit._combine(numeric, numeric, numeric, numeric, numeric, numeric) IS
  'the combined score with the weights given: the formula of combined_score(), inlined where a view scores many customers';

CREATE FUNCTION pgcredit.combined_score(behavioural numeric, external numeric, utilisation_pct numeric)
RETURNS numeric LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT pgcredit._combine($1, $2, $3, r.weight_behaviour, r.weight_external, r.weight_utilisation)
  FROM pgcredit._settings_or_default() r
$$;
COMMENT ON FUNCTION pgcredit.combined_score(numeric, numeric, numeric) IS
  'the combined 0-100 score: weighted mean of the behavioural score, the external score (0-100) and the utilisation score (100 minus utilisation %, within 0-100), over the parts that are not NULL, with the weights of risk_settings';

CREATE FUNCTION pgcredit.risk_tier(combined numeric)
RETURNS text LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  -- NaN is no score (numeric sorts it above every number: it would be A)
  SELECT CASE WHEN $1 IS NULL OR $1 = 'NaN' THEN NULL
              WHEN $1 >= r.tier_a_min THEN 'A' WHEN $1 >= r.tier_b_min THEN 'B'
              WHEN $1 >= r.tier_c_min THEN 'C' WHEN $1 >= r.tier_d_min THEN 'D' ELSE 'E' END
  FROM pgcredit._settings_or_default() r
$$;
COMMENT ON FUNCTION pgcredit.risk_tier(numeric) IS 'the risk tier of a combined score, A (best) to E, by the thresholds of risk_settings; NULL for a NULL or NaN score';

CREATE FUNCTION pgcredit.customer_risk_at(as_of date)
RETURNS TABLE (customer text, credit_limit numeric, exposure numeric, receivables numeric,
               open_orders numeric, available_credit numeric, utilisation_pct numeric, status text,
               behavioural_score numeric, external_score numeric, combined_score numeric,
               risk_tier text, days_past_due int, aging_current numeric, aging_1_30 numeric,
               aging_31_60 numeric, aging_61_90 numeric, aging_over_90 numeric, dso_90 numeric,
               last_payment date, next_review date)
LANGUAGE sql STABLE ROWS 10000
-- a plan of a few joins over large inputs: compiling it would take longer than running it
SET jit = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
WITH s AS (SELECT * FROM pgcredit.receivable_stats($1)),
     x AS (SELECT * FROM pgcredit.external_score_now($1)),
     -- the tiers of the latest scoring on or before the day
     h AS (SELECT customer, tier FROM pgcredit.score_history
           WHERE as_of = (SELECT max(as_of) FROM pgcredit.score_history WHERE as_of <= $1)),
     c AS (SELECT customer FROM pgcredit.account UNION SELECT customer FROM pgcredit.exposure
           UNION SELECT customer FROM s)
SELECT c.customer,
       a.credit_limit,
       coalesce(e.receivables, 0) + coalesce(e.open_orders, 0) AS exposure,
       coalesce(e.receivables, 0) AS receivables,
       coalesce(e.open_orders, 0) AS open_orders,
       round(a.credit_limit * (1 + coalesce(a.tolerance_pct, 0) / 100)
             - coalesce(e.receivables, 0) - coalesce(e.open_orders, 0), 2) AS available_credit,
       round((coalesce(e.receivables, 0) + coalesce(e.open_orders, 0)) * 100 / nullif(a.credit_limit, 0), 2) AS utilisation_pct,
       coalesce(a.status, 'no account') AS status,
       s.behavioural_score,
       x.scaled_score AS external_score,
       pgcredit._combine(s.behavioural_score, x.scaled_score, u.pct, cfg.weight_behaviour,
                         cfg.weight_external, cfg.weight_utilisation) AS combined_score,
       coalesce(h.tier, a.risk_tier) AS risk_tier,
       coalesce(s.oldest_days_past_due, 0) AS days_past_due,
       s.current AS aging_current, s.days_1_30 AS aging_1_30, s.days_31_60 AS aging_31_60,
       s.days_61_90 AS aging_61_90, s.days_over_90 AS aging_over_90,
       s.dso_90, s.last_payment, a.next_review
FROM c
LEFT JOIN pgcredit.account a USING (customer)
LEFT JOIN pgcredit.exposure e USING (customer)
LEFT JOIN s USING (customer)
LEFT JOIN x USING (customer)
LEFT JOIN h USING (customer)
-- the weights read once, not in a call of combined_score() per row
CROSS JOIN pgcredit._settings_or_default() cfg
CROSS JOIN LATERAL (SELECT round((coalesce(e.receivables, 0) + coalesce(e.open_orders, 0)) * 100
                                 / nullif(a.credit_limit, 0), 2) AS pct) u;
$$;
COMMENT ON FUNCTION pgcredit.customer_risk_at(date) IS 'the rows of customer_risk as of any day';

CREATE VIEW pgcredit.customer_risk AS
SELECT * FROM pgcredit.customer_risk_at(pgcredit.as_of());
COMMENT ON VIEW pgcredit.customer_risk IS 'one row per customer (with an account, an exposure or receivables): limit, exposure, available credit, scores, tier, aging and payment figures, as of pgcredit.as_of() (today unless set)';
COMMENT ON COLUMN pgcredit.customer_risk.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.customer_risk.credit_limit IS 'credit limit; NULL without an account or a limit';
COMMENT ON COLUMN pgcredit.customer_risk.exposure IS 'open receivables plus open orders, live';
COMMENT ON COLUMN pgcredit.customer_risk.receivables IS 'open receivables, live';
COMMENT ON COLUMN pgcredit.customer_risk.open_orders IS 'open orders, live';
COMMENT ON COLUMN pgcredit.customer_risk.available_credit IS 'limit with tolerance minus exposure; negative when over; NULL without a limit';
COMMENT ON COLUMN pgcredit.customer_risk.utilisation_pct IS 'exposure as a percentage of the limit (without tolerance), 2 decimals';
COMMENT ON COLUMN pgcredit.customer_risk.status IS 'account status (ok, watch, hold, blocked), or no account';
COMMENT ON COLUMN pgcredit.customer_risk.behavioural_score IS 'credit_score() over the customer''s receivables today, 0-100 (100 best)';
COMMENT ON COLUMN pgcredit.customer_risk.external_score IS 'the latest external score, brought to 0-100';
COMMENT ON COLUMN pgcredit.customer_risk.combined_score IS 'combined_score() of today''s figures, 0-100';
COMMENT ON COLUMN pgcredit.customer_risk.risk_tier IS 'tier of the latest refresh_scores() run (A best to E), else the account''s own';
COMMENT ON COLUMN pgcredit.customer_risk.days_past_due IS 'days past due of the oldest open item; 0 when nothing is overdue';
COMMENT ON COLUMN pgcredit.customer_risk.aging_current IS 'open receivables not yet due';
COMMENT ON COLUMN pgcredit.customer_risk.aging_1_30 IS 'open receivables 1 to 30 days past due';
COMMENT ON COLUMN pgcredit.customer_risk.aging_31_60 IS 'open receivables 31 to 60 days past due';
COMMENT ON COLUMN pgcredit.customer_risk.aging_61_90 IS 'open receivables 61 to 90 days past due';
COMMENT ON COLUMN pgcredit.customer_risk.aging_over_90 IS 'open receivables more than 90 days past due';
COMMENT ON COLUMN pgcredit.customer_risk.dso_90 IS 'days sales outstanding over the last 90 days';
COMMENT ON COLUMN pgcredit.customer_risk.last_payment IS 'date of the latest payment';
COMMENT ON COLUMN pgcredit.customer_risk.next_review IS 'the account''s next review date';

CREATE VIEW pgcredit.aging_by_customer AS
SELECT customer, current, days_1_30, days_31_60, days_61_90, days_over_90,
       receivables AS total, oldest_days_past_due
FROM pgcredit.receivable_stats(pgcredit.as_of());
COMMENT ON VIEW pgcredit.aging_by_customer IS 'open receivables of each customer by aging band, today';
COMMENT ON COLUMN pgcredit.aging_by_customer.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.aging_by_customer.current IS 'not yet due';
COMMENT ON COLUMN pgcredit.aging_by_customer.days_1_30 IS '1 to 30 days past due';
COMMENT ON COLUMN pgcredit.aging_by_customer.days_31_60 IS '31 to 60 days past due';
COMMENT ON COLUMN pgcredit.aging_by_customer.days_61_90 IS '61 to 90 days past due';
COMMENT ON COLUMN pgcredit.aging_by_customer.days_over_90 IS 'more than 90 days past due';
COMMENT ON COLUMN pgcredit.aging_by_customer.total IS 'all open receivables';
COMMENT ON COLUMN pgcredit.aging_by_customer.oldest_days_past_due IS 'days past due of the oldest open item; NULL when none is overdue';

CREATE FUNCTION pgcredit.portfolio_stats(as_of date DEFAULT current_date)
RETURNS TABLE (receivables numeric, current numeric, days_1_30 numeric, days_31_60 numeric,
               days_61_90 numeric, days_over_90 numeric, overdue_pct numeric,
               dso numeric, best_possible_dso numeric, average_days_delinquent numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 1
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_day(as_of);
  RETURN QUERY EXECUTE replace(format(
    'SELECT (g).total, (g).current, (g).days_1_30, (g).days_31_60, (g).days_61_90, (g).days_over_90,
            (g).overdue_pct, (d).dso, (d).best_possible_dso, (d).average_days_delinquent
     FROM (SELECT pgcredit.aging(open_amount, due, $1) AS g,
                  pgcredit.dso_report(invoice_amount, invoiced_on, due, paid_on, $1, 90) AS d
           FROM (%s) items) s',
    pgcredit._receivable_items_sql()), '$1', quote_literal(as_of::text) || '::date');
END
$$;
COMMENT ON FUNCTION pgcredit.portfolio_stats(date) IS
  'the whole ledger at as_of: receivables by aging band, overdue %, DSO, best possible DSO and average days delinquent over 90 days';

CREATE VIEW pgcredit.portfolio AS
WITH r AS (SELECT * FROM pgcredit.customer_risk)
SELECT (SELECT sum(exposure) FROM r) AS total_exposure,
       p.receivables, p.current AS aging_current, p.days_1_30 AS aging_1_30, p.days_31_60 AS aging_31_60,
       p.days_61_90 AS aging_61_90, p.days_over_90 AS aging_over_90, p.overdue_pct,
       p.dso, p.best_possible_dso, p.average_days_delinquent,
       (SELECT pgcredit.concentration_hhi(exposure) FROM r) AS exposure_hhi,
       (SELECT pgcredit.concentration_top_share(exposure, 10) FROM r) AS top_10_share,
       (SELECT count(*) FROM r) AS customers,
       (SELECT count(*) FILTER (WHERE risk_tier = 'A') FROM r) AS tier_a,
       (SELECT count(*) FILTER (WHERE risk_tier = 'B') FROM r) AS tier_b,
       (SELECT count(*) FILTER (WHERE risk_tier = 'C') FROM r) AS tier_c,
       (SELECT count(*) FILTER (WHERE risk_tier = 'D') FROM r) AS tier_d,
       (SELECT count(*) FILTER (WHERE risk_tier = 'E') FROM r) AS tier_e,
       (SELECT count(*) FILTER (WHERE status = 'ok') FROM r) AS status_ok,
       (SELECT count(*) FILTER (WHERE status = 'watch') FROM r) AS status_watch,
       (SELECT count(*) FILTER (WHERE status = 'hold') FROM r) AS status_hold,
       (SELECT count(*) FILTER (WHERE status = 'blocked') FROM r) AS status_blocked,
       (SELECT count(*) FILTER (WHERE available_credit < 0) FROM r) AS customers_over_limit,
       (SELECT coalesce(sum(-available_credit) FILTER (WHERE available_credit < 0), 0) FROM r) AS exposure_over_limit
FROM pgcredit.portfolio_stats(pgcredit.as_of()) p;
COMMENT ON VIEW pgcredit.portfolio IS 'the whole portfolio in one row, today: exposure, aging, DSO, concentration, customers by tier and status, exposure over limit';
COMMENT ON COLUMN pgcredit.portfolio.total_exposure IS 'sum of every customer''s exposure (receivables plus open orders)';
COMMENT ON COLUMN pgcredit.portfolio.receivables IS 'open receivables';
COMMENT ON COLUMN pgcredit.portfolio.aging_current IS 'open receivables not yet due';
COMMENT ON COLUMN pgcredit.portfolio.aging_1_30 IS '1 to 30 days past due';
COMMENT ON COLUMN pgcredit.portfolio.aging_31_60 IS '31 to 60 days past due';
COMMENT ON COLUMN pgcredit.portfolio.aging_61_90 IS '61 to 90 days past due';
COMMENT ON COLUMN pgcredit.portfolio.aging_over_90 IS 'more than 90 days past due';
COMMENT ON COLUMN pgcredit.portfolio.overdue_pct IS 'past-due share of open receivables, %';
COMMENT ON COLUMN pgcredit.portfolio.dso IS 'days sales outstanding over the last 90 days';
COMMENT ON COLUMN pgcredit.portfolio.best_possible_dso IS 'the DSO if everyone paid on time';
COMMENT ON COLUMN pgcredit.portfolio.average_days_delinquent IS 'dso minus best_possible_dso';
COMMENT ON COLUMN pgcredit.portfolio.exposure_hhi IS 'Herfindahl-Hirschman index of exposure across customers, 0-10000';
COMMENT ON COLUMN pgcredit.portfolio.top_10_share IS 'share of exposure held by the 10 largest customers, %';
COMMENT ON COLUMN pgcredit.portfolio.customers IS 'customers in customer_risk';
COMMENT ON COLUMN pgcredit.portfolio.tier_a IS 'customers in tier A';
COMMENT ON COLUMN pgcredit.portfolio.tier_b IS 'customers in tier B';
COMMENT ON COLUMN pgcredit.portfolio.tier_c IS 'customers in tier C';
COMMENT ON COLUMN pgcredit.portfolio.tier_d IS 'customers in tier D';
COMMENT ON COLUMN pgcredit.portfolio.tier_e IS 'customers in tier E';
COMMENT ON COLUMN pgcredit.portfolio.status_ok IS 'accounts with status ok';
COMMENT ON COLUMN pgcredit.portfolio.status_watch IS 'accounts with status watch';
COMMENT ON COLUMN pgcredit.portfolio.status_hold IS 'accounts on hold';
COMMENT ON COLUMN pgcredit.portfolio.status_blocked IS 'accounts blocked';
COMMENT ON COLUMN pgcredit.portfolio.customers_over_limit IS 'customers whose exposure is above limit plus tolerance';
COMMENT ON COLUMN pgcredit.portfolio.exposure_over_limit IS 'sum of exposure above limit plus tolerance';

CREATE VIEW pgcredit.held_orders AS
SELECT h.id, h.relid AS order_table, h.row_key, h.customer, h.amount, h.why, h.held_at,
       date_trunc('second', now() - h.held_at) AS held_for
FROM pgcredit.held_order h WHERE h.released_at IS NULL;
COMMENT ON VIEW pgcredit.held_orders IS 'orders on credit hold now, with how long they have waited';
COMMENT ON COLUMN pgcredit.held_orders.id IS 'hold number, for release_held_order()';
COMMENT ON COLUMN pgcredit.held_orders.order_table IS 'the table the order is in';
COMMENT ON COLUMN pgcredit.held_orders.row_key IS 'the order''s primary key, as JSON';
COMMENT ON COLUMN pgcredit.held_orders.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.held_orders.amount IS 'order amount';
COMMENT ON COLUMN pgcredit.held_orders.why IS 'why it was held';
COMMENT ON COLUMN pgcredit.held_orders.held_at IS 'when it was held';
COMMENT ON COLUMN pgcredit.held_orders.held_for IS 'how long it has been held, to the second';

CREATE VIEW pgcredit.limit_history AS
SELECT l.customer, l.at AS changed_at,
       CASE WHEN l.action = 'open_account' THEN NULL ELSE (l.old_value ->> 'credit_limit')::numeric END AS old_limit,
       (l.new_value ->> 'credit_limit')::numeric AS new_limit,
       l.role_name AS changed_by, l.reason
FROM pgcredit.audit_log l
WHERE l.action IN ('open_account', 'set_credit_limit');
COMMENT ON VIEW pgcredit.limit_history IS 'every credit limit set, from the audit log';
COMMENT ON COLUMN pgcredit.limit_history.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.limit_history.changed_at IS 'when';
COMMENT ON COLUMN pgcredit.limit_history.old_limit IS 'limit before (NULL when the account was opened)';
COMMENT ON COLUMN pgcredit.limit_history.new_limit IS 'limit after';
COMMENT ON COLUMN pgcredit.limit_history.changed_by IS 'the role that changed it';
COMMENT ON COLUMN pgcredit.limit_history.reason IS 'the reason given';

CREATE FUNCTION pgcredit._newly_overdue(as_of date, days int, window_days int)
RETURNS TABLE (customer text, due date, n bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 100
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  RETURN QUERY EXECUTE format(
    'SELECT customer, min(due), count(*) FROM (%s) items
     WHERE open_amount > 0 AND due < $1 - $2 AND due >= $1 - $2 - $3 GROUP BY customer',
    pgcredit._receivable_items_sql())
  USING as_of, days, window_days;
END
$$;
COMMENT ON FUNCTION pgcredit._newly_overdue(date, int, int) IS
  'customers with open items that passed days past due within the last window_days days before as_of';

CREATE VIEW pgcredit.watchlist AS
WITH r AS (SELECT * FROM pgcredit.customer_risk),
     cfg AS (SELECT * FROM pgcredit._settings_or_default()),
     -- the last two scorings on or before the day, side by side
     d AS (SELECT max(as_of) AS d1,
                  (SELECT max(as_of) FROM pgcredit.score_history
                   WHERE as_of < (SELECT max(as_of) FROM pgcredit.score_history WHERE as_of <= pgcredit.as_of())) AS d2
           FROM pgcredit.score_history WHERE as_of <= pgcredit.as_of()),
     last2 AS (SELECT n.customer, n.as_of, n.combined_score, n.receivables, n.open_orders,
                      b.as_of AS prev_as_of, b.combined_score AS prev_score,
                      b.receivables AS prev_receivables, b.open_orders AS prev_orders
               FROM d JOIN pgcredit.score_history n ON n.as_of = d.d1
               JOIN pgcredit.score_history b ON b.as_of = d.d2 AND b.customer = n.customer),
     items AS (SELECT * FROM cfg, pgcredit._newly_overdue(pgcredit.as_of(), cfg.watch_overdue_days,
                                                            cfg.watch_new_overdue_window))
SELECT r.customer, 'utilisation' AS rule,
       format('utilisation %s%% of the limit', r.utilisation_pct) AS detail,
       r.utilisation_pct AS value, cfg.watch_utilisation_pct AS threshold
FROM r, cfg WHERE r.utilisation_pct > cfg.watch_utilisation_pct
UNION ALL
SELECT i.customer, 'new_overdue_item',
       format('%s open item(s) passed %s days past due in the last %s days',
              i.n, cfg.watch_overdue_days, cfg.watch_new_overdue_window),
       pgcredit.as_of() - i.due, cfg.watch_overdue_days
FROM items i, cfg
UNION ALL
SELECT l.customer, 'score_drop',
       format('combined score fell from %s to %s between %s and %s', l.prev_score, l.combined_score,
              to_char(l.prev_as_of, 'YYYY-MM-DD'), to_char(l.as_of, 'YYYY-MM-DD')),
       l.prev_score - l.combined_score, cfg.watch_score_drop
FROM last2 l, cfg
WHERE l.prev_score - l.combined_score > cfg.watch_score_drop
UNION ALL
SELECT l.customer, 'receivables_up_orders_down',
       format('receivables rose from %s to %s while open orders fell from %s to %s between %s and %s',
              l.prev_receivables, l.receivables, l.prev_orders, l.open_orders,
              to_char(l.prev_as_of, 'YYYY-MM-DD'), to_char(l.as_of, 'YYYY-MM-DD')),
       l.receivables - l.prev_receivables, 0
FROM last2 l
WHERE l.receivables > l.prev_receivables AND l.open_orders < l.prev_orders
UNION ALL
SELECT a.customer, 'review_overdue', format('review was due on %s', to_char(a.next_review, 'YYYY-MM-DD')),
       pgcredit.as_of() - a.next_review, 0
FROM pgcredit.account a WHERE a.next_review < pgcredit.as_of();
COMMENT ON VIEW pgcredit.watchlist IS 'customers showing early warning signs, one row per sign, with the rule that fired; thresholds in risk_settings';
COMMENT ON COLUMN pgcredit.watchlist.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.watchlist.rule IS 'utilisation, new_overdue_item, score_drop (between the last two days scored), receivables_up_orders_down (between the last two days scored), review_overdue';
COMMENT ON COLUMN pgcredit.watchlist.detail IS 'what was seen, in words';
COMMENT ON COLUMN pgcredit.watchlist.value IS 'the figure that fired the rule (utilisation %, days past due, points dropped, rise of receivables, days since the review date)';
COMMENT ON COLUMN pgcredit.watchlist.threshold IS 'the threshold it passed';

CREATE FUNCTION pgcredit.refresh_scores(as_of date DEFAULT pgcredit.as_of())
RETURNS TABLE (customers bigint, alerts bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  cfg pgcredit.risk_settings := pgcredit._settings_or_default();
  n bigint;
  raised bigint;
BEGIN
  PERFORM pgcredit._check_day(as_of);
  -- one run at a time: two at once would both replace the same day
  PERFORM pg_advisory_xact_lock(hashtext('pgcredit.refresh_scores'));
  -- one day, one set of scores: a second run of the day replaces the first
  DELETE FROM pgcredit.score_history h WHERE h.as_of = refresh_scores.as_of;
  WITH s AS (SELECT * FROM pgcredit.receivable_stats(refresh_scores.as_of)),
       x AS (SELECT * FROM pgcredit.external_score_now(refresh_scores.as_of)),
       c AS (SELECT customer FROM pgcredit.account UNION SELECT customer FROM pgcredit.exposure
             UNION SELECT customer FROM s),
       f AS (SELECT c.customer, s.behavioural_score, x.scaled_score,
                    round((coalesce(e.receivables, 0) + coalesce(e.open_orders, 0)) * 100
                          / nullif(a.credit_limit, 0), 2) AS utilisation,
                    coalesce(e.receivables, 0) AS receivables, coalesce(e.open_orders, 0) AS open_orders,
                    s.oldest_days_past_due
             FROM c LEFT JOIN pgcredit.account a USING (customer) LEFT JOIN pgcredit.exposure e USING (customer)
             LEFT JOIN s USING (customer) LEFT JOIN x USING (customer))
  INSERT INTO pgcredit.score_history (customer, as_of, behavioural_score, external_score, utilisation_pct,
                                      combined_score, tier, receivables, open_orders, oldest_days_past_due)
  SELECT f.customer, refresh_scores.as_of, f.behavioural_score, f.scaled_score, f.utilisation,
         pgcredit.combined_score(f.behavioural_score, f.scaled_score, f.utilisation),
         pgcredit.risk_tier(pgcredit.combined_score(f.behavioural_score, f.scaled_score, f.utilisation)),
         f.receivables, f.open_orders, f.oldest_days_past_due
  FROM f;
  GET DIAGNOSTICS n = ROW_COUNT;
  -- fresh statistics, so that the comparison below is planned for its size
  ANALYZE pgcredit.score_history;

  -- alerts: what changed since the customer's previous scoring
  WITH now_ AS (SELECT * FROM pgcredit.score_history h WHERE h.as_of = refresh_scores.as_of),
       prev AS (SELECT h.* FROM pgcredit.score_history h
                WHERE h.as_of = (SELECT max(x.as_of) FROM pgcredit.score_history x
                                 WHERE x.as_of < refresh_scores.as_of)),
       ev AS (
         SELECT 'score_downgrade' AS kind, n.customer,
                jsonb_build_object('from', p.combined_score, 'to', n.combined_score, 'since', p.as_of) AS details
         FROM now_ n JOIN prev p USING (customer)
         WHERE p.combined_score - n.combined_score > cfg.watch_score_drop
         UNION ALL
         SELECT 'tier_change', n.customer, jsonb_build_object('from', p.tier, 'to', n.tier, 'since', p.as_of)
         FROM now_ n JOIN prev p USING (customer)
         WHERE p.tier IS DISTINCT FROM n.tier AND n.tier IS NOT NULL AND p.tier IS NOT NULL
         UNION ALL
         SELECT 'overdue_' || max(d), n.customer,
                jsonb_build_object('days_past_due', n.oldest_days_past_due, 'before', p.oldest_days_past_due)
         FROM now_ n LEFT JOIN prev p USING (customer), unnest(ARRAY[30, 60, 90]) AS d
         WHERE n.oldest_days_past_due > d AND coalesce(p.oldest_days_past_due, 0) <= d
         GROUP BY n.customer, n.oldest_days_past_due, p.oldest_days_past_due
         UNION ALL
         SELECT 'review_overdue', a.customer, jsonb_build_object('next_review', a.next_review)
         FROM pgcredit.account a LEFT JOIN prev p USING (customer)
         WHERE a.next_review < refresh_scores.as_of AND (p.as_of IS NULL OR p.as_of <= a.next_review))
  INSERT INTO pgcredit.alert (kind, customer, details)
  SELECT ev.kind, ev.customer, ev.details || jsonb_build_object('as_of', refresh_scores.as_of)
  FROM ev
  -- a second run of the day raises nothing the first one raised
  WHERE NOT EXISTS (SELECT FROM pgcredit.alert x
                    WHERE x.kind = ev.kind AND x.customer = ev.customer
                      AND (x.details ->> 'as_of')::date = refresh_scores.as_of)
  ORDER BY ev.customer, ev.kind;
  GET DIAGNOSTICS raised = ROW_COUNT;

  RETURN QUERY SELECT n, raised;
END
$$;
COMMENT ON FUNCTION pgcredit.refresh_scores(date) IS
  'score every customer for a day: behavioural, external, combined score and tier into score_history (replacing that day''s rows), and alerts for downgrades, tier changes, items passing 30/60/90 days past due and overdue reviews';

CREATE TYPE pgcredit.limit_recommendation AS (
  customer           text,
  current_limit      numeric,
  recommended_limit  numeric,
  tier               text,
  reasons            text[]
);
COMMENT ON TYPE pgcredit.limit_recommendation IS 'result of recommend_limit()';
COMMENT ON COLUMN pgcredit.limit_recommendation.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.limit_recommendation.current_limit IS 'the account''s limit now, NULL without one';
COMMENT ON COLUMN pgcredit.limit_recommendation.recommended_limit IS 'the limit proposed, rounded up to 100';
COMMENT ON COLUMN pgcredit.limit_recommendation.tier IS 'the tier it is based on';
COMMENT ON COLUMN pgcredit.limit_recommendation.reasons IS 'each step of the reckoning, in words';

CREATE FUNCTION pgcredit.recommend_limit(customer text, as_of date DEFAULT pgcredit.as_of())
RETURNS pgcredit.limit_recommendation
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  a pgcredit.account;
  h pgcredit.score_history;
  s record;
  p pgcredit.tier_policy;
  monthly numeric;
  base numeric;
  why text[] := '{}';
  t text;
BEGIN
  IF recommend_limit.customer IS NULL THEN
    RAISE EXCEPTION 'customer must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT * INTO a FROM pgcredit.account x WHERE x.customer = recommend_limit.customer;
  SELECT * INTO h FROM pgcredit.score_history x WHERE x.customer = recommend_limit.customer
    AND x.as_of <= recommend_limit.as_of ORDER BY x.as_of DESC LIMIT 1;
  SELECT * INTO s FROM pgcredit.receivable_stats(recommend_limit.as_of) x WHERE x.customer = recommend_limit.customer;
  IF a.customer IS NULL AND h.customer IS NULL AND s.customer IS NULL
     AND NOT EXISTS (SELECT FROM pgcredit.exposure x WHERE x.customer = recommend_limit.customer) THEN
    RAISE EXCEPTION 'customer "%" is unknown to pgcredit', recommend_limit.customer USING ERRCODE = 'PC003',
      DETAIL = 'It has no account, no exposure history and no receivables.';
  END IF;
  t := coalesce(h.tier, a.risk_tier, 'C');
  IF h.tier IS NULL THEN
    why := why || format('no score yet: tier %s assumed', t);
  ELSE
    why := why || format('tier %s (combined score %s on %s)', h.tier, h.combined_score, to_char(h.as_of, 'YYYY-MM-DD'));
  END IF;
  SELECT * INTO p FROM pgcredit.tier_policy x WHERE x.tier = t;
  monthly := round(coalesce(s.invoiced_12m, 0) / 12, 2);
  why := why || format('invoiced %s in the last 12 months, %s a month', coalesce(s.invoiced_12m, 0), monthly);
  base := round(monthly * p.limit_months, 2);
  why := why || format('tier %s covers %s months of invoicing: %s', t, p.limit_months, base);
  IF s.behavioural_score IS NOT NULL AND s.behavioural_score < 50 AND base > 0 THEN
    base := base / 2;
    why := why || format('payment behaviour score %s is below 50: halved', s.behavioural_score);
  END IF;
  IF coalesce(s.oldest_days_past_due, 0) > 90 THEN
    base := 0;
    why := why || format('an item is %s days past due: no credit until it is paid', s.oldest_days_past_due);
  END IF;
  base := ceil(base / 100) * 100;
  why := why || format('rounded up to the next 100: %s', base);
  RETURN ROW(recommend_limit.customer, a.credit_limit, base, t, why)::pgcredit.limit_recommendation;
END
$$;
COMMENT ON FUNCTION pgcredit.recommend_limit(text, date) IS
  'propose a credit limit for a customer from its tier (tier_policy.limit_months of average monthly invoicing), payment behaviour and overdue items, with the reasons';

CREATE FUNCTION pgcredit.apply_tier_policy(customer text, reason text)
RETURNS pgcredit.account LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  t text;
  p pgcredit.tier_policy;
  a pgcredit.account;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  SELECT h.tier INTO t FROM pgcredit.score_history h WHERE h.customer = apply_tier_policy.customer
    AND h.as_of <= pgcredit.as_of()
  ORDER BY h.as_of DESC LIMIT 1;
  IF t IS NULL THEN
    RAISE EXCEPTION 'customer "%" has no tier yet', customer USING ERRCODE = 'object_not_in_prerequisite_state',
      HINT = 'Run pgcredit.refresh_scores() first.';
  END IF;
  SELECT * INTO p FROM pgcredit.tier_policy x WHERE x.tier = t;
  PERFORM pgcredit.set_tolerance(customer, p.tolerance_pct, reason);
  a := pgcredit.update_account(customer, reason, p.payment_terms_days, t,
                               pgcredit.as_of() + p.review_interval_days);
  RETURN a;
END
$$;
COMMENT ON FUNCTION pgcredit.apply_tier_policy(text, text) IS
  'set a customer''s tolerance, payment terms, risk tier and next review from its latest tier and tier_policy, through the audited account functions';

REVOKE ALL ON pgcredit.risk_settings, pgcredit.external_score_scale, pgcredit.tier_policy,
  pgcredit.score_history, pgcredit.alert FROM PUBLIC;
GRANT SELECT ON pgcredit.risk_settings, pgcredit.external_score_scale, pgcredit.tier_policy,
  pgcredit.score_history, pgcredit.alert TO pgcredit_reader;
GRANT INSERT, UPDATE, DELETE ON pgcredit.risk_settings, pgcredit.external_score_scale,
  pgcredit.tier_policy TO pgcredit_admin;
REVOKE ALL ON pgcredit.customer_risk, pgcredit.aging_by_customer, pgcredit.portfolio,
  pgcredit.held_orders, pgcredit.limit_history, pgcredit.watchlist FROM PUBLIC;
GRANT SELECT ON pgcredit.customer_risk, pgcredit.aging_by_customer, pgcredit.portfolio,
  pgcredit.held_orders, pgcredit.limit_history, pgcredit.watchlist TO pgcredit_reader;
REVOKE EXECUTE ON FUNCTION pgcredit._receivable_items_sql(), pgcredit.receivable_stats(date),
  pgcredit.customer_risk_at(date),
  pgcredit.external_score_now(date), pgcredit.portfolio_stats(date), pgcredit._newly_overdue(date, int, int),
  pgcredit._settings_or_default(), pgcredit._combine(numeric, numeric, numeric, numeric, numeric, numeric),
  pgcredit.refresh_scores(date), pgcredit.recommend_limit(text, date), pgcredit.apply_tier_policy(text, text),
  pgcredit._notify_alert(), pgcredit._alert_on_hold()
FROM PUBLIC;
-- The views call customer_risk_at(), _newly_overdue(), _settings_or_default()
-- and _combine() as their reader (a view checks the functions it calls
-- against the caller), so readers execute these helpers too.
-- _receivable_items_sql() is called only by SECURITY DEFINER functions.
GRANT EXECUTE ON FUNCTION pgcredit.receivable_stats(date),
  pgcredit.customer_risk_at(date),
  pgcredit.external_score_now(date), pgcredit.portfolio_stats(date), pgcredit._newly_overdue(date, int, int),
  pgcredit._settings_or_default(), pgcredit._combine(numeric, numeric, numeric, numeric, numeric, numeric),
  pgcredit.recommend_limit(text, date) TO pgcredit_reader;
GRANT EXECUTE ON FUNCTION pgcredit.refresh_scores(date), pgcredit.apply_tier_policy(text, text) TO pgcredit_controller;

----------------------------------------------------------------------
-- Credit control: privileges
----------------------------------------------------------------------

REVOKE EXECUTE ON FUNCTION
  pgcredit._actor(), pgcredit._audit(text, text, jsonb, jsonb, text), pgcredit._check_reason(text),
  pgcredit._check_amount(text, numeric), pgcredit._lock_exposure(text),
  pgcredit._change_account(text, jsonb, text, text),
  pgcredit._attached_items(text, text, regclass, boolean), pgcredit._check_attach_column(regclass, name, text),
  pgcredit._table_triggers(regclass, boolean), pgcredit._clear_hold_mark(regclass, jsonb, text, numeric),
  pgcredit._actual_exposure(boolean), pgcredit._column_type(regclass, name, text),
  pgcredit._attach(regclass, text, name, name, name, name, text[], text, name, name, name, name),
  pgcredit._close_held_order(oid, jsonb, text), pgcredit._move_held_order(oid, jsonb, oid, jsonb),
  pgcredit.items_past_due(text, int),
  pgcredit.open_account(text, numeric, numeric, int, text, date, text),
  pgcredit.set_credit_limit(text, numeric, text), pgcredit.set_tolerance(text, numeric, text),
  pgcredit.set_status(text, text, text), pgcredit.place_hold(text, text),
  pgcredit.block_account(text, text), pgcredit.release_hold(text, text),
  pgcredit.update_account(text, text, int, text, date),
  pgcredit.override_block(text, text), pgcredit.release_held_order(bigint, text),
  pgcredit.set_no_account_policy(text, numeric, numeric, text), pgcredit.set_max_days_past_due(int, text),
  pgcredit.attach_orders(regclass, name, name, name, text[], text, name),
  pgcredit.attach_receivables(regclass, name, name, name, name, text[], name, name, name),
  pgcredit.detach(regclass), pgcredit.verify_exposure(), pgcredit.rebuild_exposure()
FROM PUBLIC;

GRANT EXECUTE ON FUNCTION pgcredit.verify_exposure() TO pgcredit_reader;
GRANT EXECUTE ON FUNCTION
  pgcredit.open_account(text, numeric, numeric, int, text, date, text),
  pgcredit.set_credit_limit(text, numeric, text), pgcredit.set_tolerance(text, numeric, text),
  pgcredit.set_status(text, text, text), pgcredit.place_hold(text, text),
  pgcredit.block_account(text, text), pgcredit.release_hold(text, text),
  pgcredit.update_account(text, text, int, text, date),
  pgcredit.override_block(text, text), pgcredit.release_held_order(bigint, text)
TO pgcredit_controller;
GRANT EXECUTE ON FUNCTION
  pgcredit.set_no_account_policy(text, numeric, numeric, text), pgcredit.set_max_days_past_due(int, text),
  pgcredit.attach_orders(regclass, name, name, name, text[], text, name),
  pgcredit.attach_receivables(regclass, name, name, name, name, text[], name, name, name),
  pgcredit.detach(regclass), pgcredit.rebuild_exposure()
TO pgcredit_admin;

----------------------------------------------------------------------
-- Ownership: every object of the extension passes to pgcredit_owner
-- (a table's sequences and row type follow the table)
----------------------------------------------------------------------

GRANT USAGE ON SCHEMA pgcredit TO pgcredit_owner;
DO $owner$
DECLARE
  o record;
BEGIN
  -- relations first: their ALTERs fire pgcredit's DDL event trigger,
  -- whose function can read them while both still have one owner
  FOR o IN
    SELECT 1 AS step, format('ALTER %s %s OWNER TO pgcredit_owner',
                  CASE c.relkind WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END, c.oid::pg_catalog.regclass) AS cmd
    FROM pg_catalog.pg_class c
    WHERE c.relnamespace = 'pgcredit'::pg_catalog.regnamespace AND c.relkind IN ('r', 'p', 'v')
    UNION ALL
    SELECT 2, format('ALTER TYPE %s OWNER TO pgcredit_owner', t.oid::pg_catalog.regtype)
    FROM pg_catalog.pg_type t JOIN pg_catalog.pg_class c ON c.oid = t.typrelid
    WHERE t.typnamespace = 'pgcredit'::pg_catalog.regnamespace AND c.relkind = 'c'
    UNION ALL
    SELECT 3, format('ALTER ROUTINE %s OWNER TO pgcredit_owner', p.oid::pg_catalog.regprocedure)
    FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'pgcredit'::pg_catalog.regnamespace
    ORDER BY 1
  LOOP
    EXECUTE o.cmd;
  END LOOP;
END
$owner$;
