-- Analytics: days sales outstanding aggregates
--
-- Rights: every function and aggregate here keeps PostgreSQL's default,
-- EXECUTE for PUBLIC.  They read only their arguments, so no GRANT or
-- REVOKE follows them; a type here is usable by everyone likewise.

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

CREATE FUNCTION pgcredit.dso_state_trans(pgcredit.agg_state, numeric, date, date, date)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'dso_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_state_trans(pgcredit.agg_state, numeric, date, date, date) IS 'transition function of dso and dso_countback without a period';
CREATE FUNCTION pgcredit.dso_state_trans(pgcredit.agg_state, numeric, date, date, date, int)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'dso_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_state_trans(pgcredit.agg_state, numeric, date, date, date, int) IS 'transition function of dso with a period';
CREATE FUNCTION pgcredit.dso_countback_state_trans(pgcredit.agg_state, numeric, date, date, date)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'dso_countback_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_countback_state_trans(pgcredit.agg_state, numeric, date, date, date) IS 'transition function of dso_countback';
CREATE FUNCTION pgcredit.dso_due_state_trans(pgcredit.agg_state, numeric, date, date, date, date)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'dso_due_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_due_state_trans(pgcredit.agg_state, numeric, date, date, date, date) IS 'transition function of best_possible_dso and average_days_delinquent';
CREATE FUNCTION pgcredit.dso_due_state_trans(pgcredit.agg_state, numeric, date, date, date, date, int)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'dso_due_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_due_state_trans(pgcredit.agg_state, numeric, date, date, date, date, int) IS 'transition function of best_possible_dso and average_days_delinquent with a period';
CREATE FUNCTION pgcredit.dso_report_state_trans(pgcredit.agg_state, numeric, date, date, date, date)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'dso_report_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_report_state_trans(pgcredit.agg_state, numeric, date, date, date, date) IS 'transition function of dso_report';
CREATE FUNCTION pgcredit.dso_report_state_trans(pgcredit.agg_state, numeric, date, date, date, date, int)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'dso_report_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_report_state_trans(pgcredit.agg_state, numeric, date, date, date, date, int) IS 'transition function of dso_report with a period';
CREATE FUNCTION pgcredit.dso_state_combine(pgcredit.agg_state, pgcredit.agg_state)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'dso_state_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_state_combine(pgcredit.agg_state, pgcredit.agg_state) IS 'combine function of the DSO aggregates, for parallel plans and Citus';
CREATE FUNCTION pgcredit.dso_state_final(pgcredit.agg_state)
RETURNS numeric AS 'MODULE_PATHNAME', 'dso_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_state_final(pgcredit.agg_state) IS 'final function of dso';
CREATE FUNCTION pgcredit.dso_countback_state_final(pgcredit.agg_state)
RETURNS numeric AS 'MODULE_PATHNAME', 'dso_countback_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_countback_state_final(pgcredit.agg_state) IS 'final function of dso_countback';
CREATE FUNCTION pgcredit.best_possible_dso_state_final(pgcredit.agg_state)
RETURNS numeric AS 'MODULE_PATHNAME', 'best_possible_dso_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.best_possible_dso_state_final(pgcredit.agg_state) IS 'final function of best_possible_dso';
CREATE FUNCTION pgcredit.average_days_delinquent_state_final(pgcredit.agg_state)
RETURNS numeric AS 'MODULE_PATHNAME', 'average_days_delinquent_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.average_days_delinquent_state_final(pgcredit.agg_state) IS 'final function of average_days_delinquent';
CREATE FUNCTION pgcredit.dso_report_state_final(pgcredit.agg_state)
RETURNS pgcredit.dso_result AS 'MODULE_PATHNAME', 'dso_report_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit.dso_report_state_final(pgcredit.agg_state) IS 'final function of dso_report';
CREATE AGGREGATE pgcredit.dso(amount numeric, invoiced_on date, paid_on date, as_of date) (
  SFUNC = pgcredit.dso_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.dso_state_final,
  COMBINEFUNC = pgcredit.dso_state_combine,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgcredit.dso(numeric, date, date, date) IS
  'days sales outstanding at as_of over the 90 days ending there (period method)';
CREATE AGGREGATE pgcredit.dso(amount numeric, invoiced_on date, paid_on date, as_of date, period_days int) (
  SFUNC = pgcredit.dso_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.dso_state_final,
  COMBINEFUNC = pgcredit.dso_state_combine,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgcredit.dso(numeric, date, date, date, int) IS
  'days sales outstanding at as_of over the period_days ending there (period method)';
CREATE AGGREGATE pgcredit.dso_countback(amount numeric, invoiced_on date, paid_on date, as_of date) (
  SFUNC = pgcredit.dso_countback_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.dso_countback_state_final,
  COMBINEFUNC = pgcredit.dso_state_combine,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgcredit.dso_countback(numeric, date, date, date) IS
  'days sales outstanding at as_of by the countback method: receivables matched against sales month by month, most recent first';
CREATE AGGREGATE pgcredit.best_possible_dso(amount numeric, invoiced_on date, due date, paid_on date, as_of date) (
  SFUNC = pgcredit.dso_due_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.best_possible_dso_state_final,
  COMBINEFUNC = pgcredit.dso_state_combine,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgcredit.best_possible_dso(numeric, date, date, date, date) IS
  'DSO of the not-yet-due receivables alone, over 90 days: the DSO if every customer paid on time';
CREATE AGGREGATE pgcredit.best_possible_dso(amount numeric, invoiced_on date, due date, paid_on date, as_of date, period_days int) (
  SFUNC = pgcredit.dso_due_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.best_possible_dso_state_final,
  COMBINEFUNC = pgcredit.dso_state_combine,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgcredit.best_possible_dso(numeric, date, date, date, date, int) IS
  'DSO of the not-yet-due receivables alone, over period_days: the DSO if every customer paid on time';
CREATE AGGREGATE pgcredit.average_days_delinquent(amount numeric, invoiced_on date, due date, paid_on date, as_of date) (
  SFUNC = pgcredit.dso_due_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.average_days_delinquent_state_final,
  COMBINEFUNC = pgcredit.dso_state_combine,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgcredit.average_days_delinquent(numeric, date, date, date, date) IS
  'DSO minus best possible DSO over 90 days: days of sales outstanding because of late payment';
CREATE AGGREGATE pgcredit.average_days_delinquent(amount numeric, invoiced_on date, due date, paid_on date, as_of date, period_days int) (
  SFUNC = pgcredit.dso_due_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.average_days_delinquent_state_final,
  COMBINEFUNC = pgcredit.dso_state_combine,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgcredit.average_days_delinquent(numeric, date, date, date, date, int) IS
  'DSO minus best possible DSO over period_days: days of sales outstanding because of late payment';
CREATE AGGREGATE pgcredit.dso_report(amount numeric, invoiced_on date, due date, paid_on date, as_of date) (
  SFUNC = pgcredit.dso_report_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.dso_report_state_final,
  COMBINEFUNC = pgcredit.dso_state_combine,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgcredit.dso_report(numeric, date, date, date, date) IS
  'every DSO figure at as_of over 90 days: receivables, sales, DSO, best possible DSO, average days delinquent, countback DSO';
CREATE AGGREGATE pgcredit.dso_report(amount numeric, invoiced_on date, due date, paid_on date, as_of date, period_days int) (
  SFUNC = pgcredit.dso_report_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.dso_report_state_final,
  COMBINEFUNC = pgcredit.dso_state_combine,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgcredit.dso_report(numeric, date, date, date, date, int) IS
  'every DSO figure at as_of over period_days: receivables, sales, DSO, best possible DSO, average days delinquent, countback DSO';
