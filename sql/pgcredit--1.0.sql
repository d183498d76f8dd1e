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
