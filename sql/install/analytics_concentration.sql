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

CREATE FUNCTION pgcredit.hhi_state_trans(pgcredit.agg_state, numeric)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'hhi_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.hhi_state_trans(pgcredit.agg_state, numeric) IS 'transition function of concentration_hhi';
CREATE FUNCTION pgcredit.hhi_state_combine(pgcredit.agg_state, pgcredit.agg_state)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'hhi_state_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.hhi_state_combine(pgcredit.agg_state, pgcredit.agg_state) IS 'combine function of concentration_hhi, for parallel plans and Citus';
CREATE FUNCTION pgcredit.hhi_state_final(pgcredit.agg_state)
RETURNS numeric AS 'MODULE_PATHNAME', 'hhi_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.hhi_state_final(pgcredit.agg_state) IS 'final function of concentration_hhi';

CREATE AGGREGATE pgcredit.concentration_hhi(amount numeric) (
  SFUNC = pgcredit.hhi_state_trans, STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.hhi_state_final,
  COMBINEFUNC = pgcredit.hhi_state_combine,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgcredit.concentration_hhi(numeric) IS
  'Herfindahl-Hirschman index of the shares of positive amounts, one row per customer: 0 (spread) to 10000 (one customer), 2 decimals';

CREATE FUNCTION pgcredit.top_share_state_trans(pgcredit.agg_state, numeric, int)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'top_share_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.top_share_state_trans(pgcredit.agg_state, numeric, int) IS 'transition function of concentration_top_share';
CREATE FUNCTION pgcredit.top_share_state_combine(pgcredit.agg_state, pgcredit.agg_state)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'top_share_state_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.top_share_state_combine(pgcredit.agg_state, pgcredit.agg_state) IS 'combine function of concentration_top_share, for parallel plans and Citus';
CREATE FUNCTION pgcredit.top_share_state_final(pgcredit.agg_state)
RETURNS numeric AS 'MODULE_PATHNAME', 'top_share_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.top_share_state_final(pgcredit.agg_state) IS 'final function of concentration_top_share';

CREATE AGGREGATE pgcredit.concentration_top_share(amount numeric, top_n int) (
  SFUNC = pgcredit.top_share_state_trans, STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.top_share_state_final,
  COMBINEFUNC = pgcredit.top_share_state_combine,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgcredit.concentration_top_share(numeric, int) IS
  'percentage of the total of positive amounts held by the top_n largest, one row per customer, 2 decimals';
