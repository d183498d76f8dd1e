/*-------------------------------------------------------------------------
 *
 * aging_band.c
 *	  Aging bands of receivables: which band an item falls in by how many
 *	  days it is past due.
 *
 * Bands are described by an array of bounds, the upper day count of each
 * overdue band: '{30,60,90}' gives current, 1-30, 31-60, 61-90 and 90+.
 * Every function that takes bounds validates them with
 * pgc_parse_aging_bounds, so a bad array is refused with the same message
 * everywhere.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

#include "pgcredit.h"

PG_FUNCTION_INFO_V1(aging_bucket);
PG_FUNCTION_INFO_V1(aging_bands);

/*
 * Per-call-site cache of aging_bucket: the raw bytes of the last bounds
 * array seen and its parsed form.  Bounds are nearly always a constant, so
 * parsing and label building happen once per query instead of once per row.
 */
typedef struct AgingBucketCache
{
	Size		rawlen;
	char	   *raw;
	PgcAgingBounds bounds;
} AgingBucketCache;

/* Advice given with every refused bounds array */
#define BOUNDS_HINT \
	errhint("Aging bounds are the upper day counts of the overdue bands, for example '{30,60,90}'.")

/* Build the label of each band once the bounds are known */
void
pgc_aging_build_labels(PgcAgingBounds *b)
{
	int			n = b->nbounds;

	strlcpy(b->labels[0], "current", PGC_MAX_LABEL_LEN);
	for (int i = 0; i < n; i++)
	{
		int32		lo = (i == 0) ? 1 : b->bounds[i - 1] + 1;
		int32		hi = b->bounds[i];

		if (lo == hi)
			snprintf(b->labels[i + 1], PGC_MAX_LABEL_LEN, "%d", hi);
		else
			snprintf(b->labels[i + 1], PGC_MAX_LABEL_LEN, "%d-%d", lo, hi);
	}
	snprintf(b->labels[n + 1], PGC_MAX_LABEL_LEN, "%d+", b->bounds[n - 1]);
}

/*
 * Validate an int[] of aging bounds and fill *out.  Bounds must form a
 * non-empty one-dimensional array of at most PGC_MAX_AGING_BOUNDS positive,
 * strictly increasing integers without NULLs.
 */
void
pgc_parse_aging_bounds(ArrayType *arr, PgcAgingBounds *out)
{
	int			nelems;
	int32	   *vals;

	if (ARR_ELEMTYPE(arr) != INT4OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("aging bounds must be an integer array"),
				 BOUNDS_HINT));
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("aging bounds must be a one-dimensional array"),
				 errdetail("The array given has %d dimensions.", ARR_NDIM(arr)),
				 BOUNDS_HINT));
	if (array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("aging bounds must not contain nulls"),
				 BOUNDS_HINT));

	nelems = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	if (nelems == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("aging bounds must not be empty"),
				 BOUNDS_HINT));
	if (nelems > PGC_MAX_AGING_BOUNDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("too many aging bounds"),
				 errdetail("%d bounds were given; at most %d are allowed.",
						   nelems, PGC_MAX_AGING_BOUNDS),
				 BOUNDS_HINT));

	vals = (int32 *) ARR_DATA_PTR(arr);
	for (int i = 0; i < nelems; i++)
	{
		if (vals[i] <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("aging bounds must be positive"),
					 errdetail("Bound %d is %d.", i + 1, vals[i]),
					 BOUNDS_HINT));
		if (i > 0 && vals[i] <= vals[i - 1])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("aging bounds must be strictly increasing"),
					 errdetail("Bound %d (%d) is not greater than bound %d (%d).",
							   i + 1, vals[i], i, vals[i - 1]),
					 BOUNDS_HINT));
		out->bounds[i] = vals[i];
	}
	out->nbounds = nelems;
	pgc_aging_build_labels(out);
}

/* The default bands: current, 1-30, 31-60, 61-90, 90+ */
void
pgc_default_aging_bounds(PgcAgingBounds *out)
{
	out->nbounds = 3;
	out->bounds[0] = 30;
	out->bounds[1] = 60;
	out->bounds[2] = 90;
	pgc_aging_build_labels(out);
}

/*
 * Band index of an item due on "due" seen at "as_of": 0 while not past due
 * (due >= as_of), else the first band whose bound covers the days past due.
 * Infinite dates are ordered as PostgreSQL orders them: an item due at
 * -infinity, or looked at from +infinity, is in the last band unless it is
 * not past due at all.
 */
int
pgc_aging_band(const PgcAgingBounds *b, DateADT due, DateADT as_of)
{
	int64		dpd;

	if (due >= as_of)
		return 0;
	if (DATE_NOT_FINITE(due) || DATE_NOT_FINITE(as_of))
		return b->nbounds + 1;

	dpd = (int64) as_of - (int64) due;
	for (int i = 0; i < b->nbounds; i++)
	{
		if (dpd <= b->bounds[i])
			return i + 1;
	}
	return b->nbounds + 1;
}

/*
 * Bounds for this call, from the fn_extra cache when the array has the
 * same bytes as last time.
 */
static const PgcAgingBounds *
CachedBounds(FunctionCallInfo fcinfo, int argno)
{
	AgingBucketCache *cache = (AgingBucketCache *) fcinfo->flinfo->fn_extra;
	Datum		raw = PG_GETARG_DATUM(argno);
	struct varlena *packed = PG_DETOAST_DATUM_PACKED(raw);
	Size		len = VARSIZE_ANY_EXHDR(packed);
	char	   *data = VARDATA_ANY(packed);

	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
									   sizeof(AgingBucketCache));
		fcinfo->flinfo->fn_extra = cache;
	}
	else if (cache->raw != NULL && cache->rawlen == len &&
			 memcmp(cache->raw, data, len) == 0)
		return &cache->bounds;

	/* Parse first, so a bad array leaves the previous cache intact */
	{
		PgcAgingBounds parsed;
		char	   *copy;

		pgc_parse_aging_bounds(DatumGetArrayTypeP(raw), &parsed);
		copy = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, len);
		memcpy(copy, data, len);
		if (cache->raw)
			pfree(cache->raw);
		cache->raw = copy;
		cache->rawlen = len;
		cache->bounds = parsed;
	}
	return &cache->bounds;
}

/*
 * aging_bucket(due date, as_of date, bounds int[]) returns text
 *
 * The label of the aging band an item due on "due" falls in at "as_of".
 */
Datum
aging_bucket(PG_FUNCTION_ARGS)
{
	DateADT		due = PG_GETARG_DATEADT(0);
	DateADT		as_of = PG_GETARG_DATEADT(1);
	const PgcAgingBounds *b = CachedBounds(fcinfo, 2);

	PG_RETURN_TEXT_P(cstring_to_text(b->labels[pgc_aging_band(b, due, as_of)]));
}

/*
 * aging_bands(bounds int[]) returns setof (band, label, min_days, max_days)
 *
 * The bands that a bounds array describes, in order, so that reports can
 * sort by band and show empty bands.
 */
Datum
aging_bands(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PgcAgingBounds b;

	pgc_parse_aging_bounds(PG_GETARG_ARRAYTYPE_P(0), &b);

	/*
	 * The last band starts the day after the last bound, a day that int
	 * cannot hold after the largest bound.  aging_bucket and aging take that
	 * bound (no two finite dates are that far apart, so only infinite dates
	 * fall beyond it); only this function has to name the day.
	 */
	if (b.bounds[b.nbounds - 1] == PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("min_days of the last aging band is out of range for type integer"),
				 errdetail("The last bound is %d, so the band after it would start at day %lld.",
						   PG_INT32_MAX, (long long) PG_INT32_MAX + 1),
				 errhint("Use a last bound below %d; no two finite dates are that many days apart.",
						 PG_INT32_MAX)));
	InitMaterializedSRF(fcinfo, 0);

	for (int band = 0; band <= b.nbounds + 1; band++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = Int32GetDatum(band);
		values[1] = CStringGetTextDatum(b.labels[band]);
		if (band == 0)
		{
			nulls[2] = true;
			values[3] = Int32GetDatum(0);
		}
		else
		{
			values[2] = Int32GetDatum(band == 1 ? 1 : b.bounds[band - 2] + 1);
			if (band == b.nbounds + 1)
				nulls[3] = true;
			else
				values[3] = Int32GetDatum(b.bounds[band - 1]);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* Whether two parsed bounds describe the same bands */
bool
pgc_aging_bounds_equal(const PgcAgingBounds *a, const PgcAgingBounds *b)
{
	return a->nbounds == b->nbounds &&
		memcmp(a->bounds, b->bounds, a->nbounds * sizeof(int32)) == 0;
}
