-- Analytics: amount over a limit, and concentration of exposure
--
-- Rights: every function and aggregate here keeps PostgreSQL's default,
-- EXECUTE for PUBLIC.  They read only their arguments, so no GRANT or
-- REVOKE follows them; a type here is usable by everyone likewise.

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
