-- Analytics: aging bands and the aging aggregates
--
-- Rights: every function and aggregate here keeps PostgreSQL's default,
-- EXECUTE for PUBLIC.  They read only their arguments, so no GRANT or
-- REVOKE follows them; a type here is usable by everyone likewise.

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

CREATE FUNCTION pgcredit.aging_state_trans(pgcredit.agg_state, numeric, date, date)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'aging_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcredit.aging_state_trans(pgcredit.agg_state, numeric, date, date, int[])
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'aging_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcredit.aging_state_combine(pgcredit.agg_state, pgcredit.agg_state)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'aging_state_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcredit.aging_state_final(pgcredit.agg_state)
RETURNS pgcredit.aging_profile AS 'MODULE_PATHNAME', 'aging_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcredit.aging_bands_state_final(pgcredit.agg_state)
RETURNS pgcredit.aging_by_band AS 'MODULE_PATHNAME', 'aging_bands_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE pgcredit.aging(amount numeric, due date, as_of date) (
  SFUNC = pgcredit.aging_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.aging_state_final,
  COMBINEFUNC = pgcredit.aging_state_combine,
  PARALLEL = SAFE
);
CREATE AGGREGATE pgcredit.aging(amount numeric, due date, as_of date, bounds int[]) (
  SFUNC = pgcredit.aging_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.aging_bands_state_final,
  COMBINEFUNC = pgcredit.aging_state_combine,
  PARALLEL = SAFE
);

COMMENT ON AGGREGATE pgcredit.aging(numeric, date, date) IS
  'aging profile of receivables at as_of in the default bands (current, 1-30, 31-60, 61-90, 90+): '
  'amount and count per band, total, overdue, weighted average days overdue';
COMMENT ON AGGREGATE pgcredit.aging(numeric, date, date, int[]) IS
  'aging profile of receivables at as_of in the bands of "bounds", as arrays in band order';

COMMENT ON FUNCTION pgcredit.amount_sum_state_trans(pgcredit.agg_state, numeric) IS 'transition function of amount_sum';
COMMENT ON FUNCTION pgcredit.amount_sum_state_combine(pgcredit.agg_state, pgcredit.agg_state) IS 'combine function of amount_sum, for parallel plans and Citus';
COMMENT ON FUNCTION pgcredit.amount_sum_state_final(pgcredit.agg_state) IS 'final function of amount_sum';
COMMENT ON FUNCTION pgcredit.aging_state_trans(pgcredit.agg_state, numeric, date, date) IS 'transition function of aging with the default bands';
COMMENT ON FUNCTION pgcredit.aging_state_trans(pgcredit.agg_state, numeric, date, date, int[]) IS 'transition function of aging with custom bounds';
COMMENT ON FUNCTION pgcredit.aging_state_combine(pgcredit.agg_state, pgcredit.agg_state) IS 'combine function of aging, for parallel plans and Citus';
COMMENT ON FUNCTION pgcredit.aging_state_final(pgcredit.agg_state) IS 'final function of aging with the default bands';
COMMENT ON FUNCTION pgcredit.aging_bands_state_final(pgcredit.agg_state) IS 'final function of aging with custom bounds';
