-- Analytics: the behavioural credit score aggregates
--
-- Rights: every function and aggregate here keeps PostgreSQL's default,
-- EXECUTE for PUBLIC.  They read only their arguments, so no GRANT or
-- REVOKE follows them; a type here is usable by everyone likewise.

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

CREATE FUNCTION pgcredit.credit_score_state_trans(pgcredit.agg_state, numeric, date, date, date)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'credit_score_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.credit_score_state_trans(pgcredit.agg_state, numeric, date, date, date) IS 'transition function of credit_score and credit_score_explain';
CREATE FUNCTION pgcredit.credit_score_state_trans(pgcredit.agg_state, numeric, date, date, date, int)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'credit_score_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.credit_score_state_trans(pgcredit.agg_state, numeric, date, date, date, int) IS 'transition function of credit_score and credit_score_explain with a half-life';
CREATE FUNCTION pgcredit.credit_score_state_combine(pgcredit.agg_state, pgcredit.agg_state)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'credit_score_state_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.credit_score_state_combine(pgcredit.agg_state, pgcredit.agg_state) IS 'combine function of credit_score, for parallel plans and Citus';
CREATE FUNCTION pgcredit.credit_score_state_final(pgcredit.agg_state)
RETURNS numeric AS 'MODULE_PATHNAME', 'credit_score_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.credit_score_state_final(pgcredit.agg_state) IS 'final function of credit_score';
CREATE FUNCTION pgcredit.credit_score_explain_state_final(pgcredit.agg_state)
RETURNS pgcredit.credit_score_parts AS 'MODULE_PATHNAME', 'credit_score_explain_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.credit_score_explain_state_final(pgcredit.agg_state) IS 'final function of credit_score_explain';

CREATE AGGREGATE pgcredit.credit_score(amount numeric, due date, paid_on date, as_of date) (
  SFUNC = pgcredit.credit_score_state_trans, STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.credit_score_state_final,
  COMBINEFUNC = pgcredit.credit_score_state_combine,
  PARALLEL = SAFE
);
CREATE AGGREGATE pgcredit.credit_score(amount numeric, due date, paid_on date, as_of date, half_life_days int) (
  SFUNC = pgcredit.credit_score_state_trans, STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.credit_score_state_final,
  COMBINEFUNC = pgcredit.credit_score_state_combine,
  PARALLEL = SAFE
);
CREATE AGGREGATE pgcredit.credit_score_explain(amount numeric, due date, paid_on date, as_of date) (
  SFUNC = pgcredit.credit_score_state_trans, STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.credit_score_explain_state_final,
  COMBINEFUNC = pgcredit.credit_score_state_combine,
  PARALLEL = SAFE
);
CREATE AGGREGATE pgcredit.credit_score_explain(amount numeric, due date, paid_on date, as_of date, half_life_days int) (
  SFUNC = pgcredit.credit_score_state_trans, STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.credit_score_explain_state_final,
  COMBINEFUNC = pgcredit.credit_score_state_combine,
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
