-- Analytics: the exact sum every aggregate builds on
--
-- Rights: every function and aggregate here keeps PostgreSQL's default,
-- EXECUTE for PUBLIC.  They read only their arguments, so no GRANT or
-- REVOKE follows them; a type here is usable by everyone likewise.

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
