-- pgcredit 1.0: customer credit control inside PostgreSQL

\echo Use "CREATE EXTENSION pgcredit" to load this file. \quit

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
