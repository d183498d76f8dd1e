/*-------------------------------------------------------------------------
 *
 * over_limit.c
 *	  Exposure against a credit limit.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "pgcredit.h"


PG_FUNCTION_INFO_V1(exposure_over_limit);

/* Refuse a negative limit or tolerance */
static void
CheckNotNegative(Numeric n, const char *name, const char *hint)
{
	pgc_check_finite(n, name);
	if (pgc_numeric_sign(n) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be negative", name),
				 errhint("%s", hint)));
}

/*
 * exposure_over_limit(exposure, credit_limit [, tolerance_pct]) returns
 * numeric: how far exposure exceeds credit_limit * (1 + tolerance_pct/100),
 * 0 when within it.
 */
Datum
exposure_over_limit(PG_FUNCTION_ARGS)
{
	Numeric		exposure = PG_GETARG_NUMERIC(0);
	Numeric		limit = PG_GETARG_NUMERIC(1);
	Numeric		allowed = limit;
	Numeric		over;

	pgc_check_finite(exposure, "exposure");
	CheckNotNegative(limit, "credit_limit",
					 "A credit limit of 0 allows no credit; NULL means no limit is set.");
	if (PG_NARGS() > 2)
	{
		Numeric		tolerance = PG_GETARG_NUMERIC(2);

		CheckNotNegative(tolerance, "tolerance_pct",
						 "The tolerance is a percentage of the limit allowed above it, 0 for none.");
		allowed = pgc_limit_with_tolerance(limit, tolerance);
	}
	over = numeric_sub_opt_error(exposure, allowed, NULL);
	if (pgc_numeric_sign(over) <= 0)
		PG_RETURN_NUMERIC(int64_to_numeric(0));
	PG_RETURN_NUMERIC(over);
}
