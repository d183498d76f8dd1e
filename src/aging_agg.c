/*-------------------------------------------------------------------------
 *
 * aging_agg.c
 *	  The aging aggregate: an aging profile of receivables in one pass.
 *
 * aging(amount, due, as_of [, bounds]) puts each item in its aging band
 * (see aging_band.c) and sums amount and count per band, the total, and the
 * amount-weighted days past due of the overdue part.  Sums are exact
 * (amount.c) and associative, so the aggregate runs in parallel plans with
 * the same result as a serial scan.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

#include "pgcredit.h"
#include "agg_state.h"

PG_FUNCTION_INFO_V1(aging_trans);
PG_FUNCTION_INFO_V1(aging_combine);
PG_FUNCTION_INFO_V1(aging_serialize);
PG_FUNCTION_INFO_V1(aging_deserialize);
PG_FUNCTION_INFO_V1(aging_final);
PG_FUNCTION_INFO_V1(aging_bands_final);
PG_FUNCTION_INFO_V1(days_past_due);
PG_FUNCTION_INFO_V1(aging_state_trans);
PG_FUNCTION_INFO_V1(aging_state_combine);
PG_FUNCTION_INFO_V1(aging_state_final);
PG_FUNCTION_INFO_V1(aging_bands_state_final);

/* Room for the bytes of a valid bounds array (1-D, PGC_MAX_AGING_BOUNDS int4s) */
#define BOUNDS_RAW_MAX	128

typedef struct AgingState
{
	/* what each row updates first, close together */
	DateADT		as_of;			/* the day every row of the group is aged at */
	int64		items;
	PgcSum		overdue_days;	/* sum of amount * days past due, finite dates */
	int64		counts[PGC_MAX_AGING_BANDS];
	PgcSum		sums[PGC_MAX_AGING_BANDS];
	PgcSum		overdue_inf;	/* sum of amounts overdue, infinite dates */
	/* the bands: the process's default ones, or a copy in the state's context */
	const PgcAgingBounds *bounds;

	/* bytes of the bounds array last checked (this process only; 0: none) */
	int			rawlen;
	char		raw[BOUNDS_RAW_MAX];
} AgingState;

/*
 * Refuse bounds that differ from the ones the group started with.  The
 * transition and the combine function (states of parallel workers) raise
 * the same error, so what a user sees does not depend on the plan.
 */
static void
CheckSameBounds(const PgcAgingBounds *a, const PgcAgingBounds *b)
{
	if (!pgc_aging_bounds_equal(a, b))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("aging bounds must be the same for every row of an aging aggregate"),
				 errhint("Pass the bounds as a constant, or group by them.")));
}

/* Refuse an as_of that differs from the one the group started with */
static void
CheckSameAsOf(DateADT a, DateADT b)
{
	if (a != b)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be the same for every row of an aging aggregate"),
				 errhint("Pass it as a constant, or group by it.")));
}

/* The default bands, made once per process */
static const PgcAgingBounds *
DefaultBounds(void)
{
	static PgcAgingBounds defaults;
	static bool made = false;

	if (!made)
	{
		pgc_default_aging_bounds(&defaults);
		made = true;
	}
	return &defaults;
}

/*
 * Bounds a state may keep: the defaults themselves, or a copy in cxt.
 * A state keeps a pointer, so that the states of many groups hold no
 * copy of the default bands and their labels.
 */
static const PgcAgingBounds *
KeepBounds(const PgcAgingBounds *b, MemoryContext cxt)
{
	PgcAgingBounds *copy;

	if (b == DefaultBounds() || pgc_aging_bounds_equal(b, DefaultBounds()))
		return DefaultBounds();
	copy = MemoryContextAlloc(cxt, sizeof(PgcAgingBounds));
	*copy = *b;
	return copy;
}

/*
 * Take the first row's bounds as the group's, and check every later row's
 * against them.  The array's bytes are compared with the last ones
 * checked, so constant bounds are parsed once per group; bounds computed
 * per row (ARRAY[b1, b2]) are parsed whenever their bytes change, and
 * refused unless they describe the same bands.
 */
static void
CheckRowBounds(AgingState *st, Datum arg, MemoryContext aggcxt)
{
	struct varlena *packed = PG_DETOAST_DATUM_PACKED(arg);
	Size		len = VARSIZE_ANY_EXHDR(packed);
	PgcAgingBounds b;

	if (st->rawlen > 0 && len == st->rawlen &&
		memcmp(VARDATA_ANY(packed), st->raw, len) == 0)
		return;
	pgc_parse_aging_bounds(DatumGetArrayTypeP(arg), &b);
	if (st->bounds == NULL)
		st->bounds = KeepBounds(&b, aggcxt);	/* the group's first row */
	else
		CheckSameBounds(st->bounds, &b);
	if (len <= BOUNDS_RAW_MAX)
	{
		memcpy(st->raw, VARDATA_ANY(packed), len);
		st->rawlen = len;
	}
}

/*
 * aging_trans(state, amount, due, as_of [, bounds])
 *
 * NULL amounts and due dates are skipped, as sum() skips NULLs; a NULL
 * as_of or bounds is an error, since no row could be aged.
 */
Datum
aging_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = pgc_agg_context(fcinfo, "aging_trans");
	AgingState *st = PG_ARGISNULL(0) ? NULL : (AgingState *) PG_GETARG_POINTER(0);
	bool		custom = PG_NARGS() > 4;
	PgcAmount	a;
	DateADT		due;
	DateADT		as_of;
	int			band;

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("as_of date must not be null"),
				 errhint("Pass the date at which receivables are aged, for example current_date.")));
	if (custom && PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("aging bounds must not be null")));

	if (st == NULL)
	{
		st = MemoryContextAllocZero(aggcxt, sizeof(AgingState));
		st->as_of = PG_GETARG_DATEADT(3);
		if (!custom)
			st->bounds = DefaultBounds();
	}
	else
		CheckSameAsOf(st->as_of, PG_GETARG_DATEADT(3));
	if (custom)
		CheckRowBounds(st, PG_GETARG_DATUM(4), aggcxt);

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(st);

	pgc_amount_read(PG_GETARG_DATUM(1), &a, "aging");
	due = PG_GETARG_DATEADT(2);
	as_of = PG_GETARG_DATEADT(3);
	band = pgc_aging_band(st->bounds, due, as_of);

	st->items++;
	st->counts[band]++;
	pgc_sum_add(&st->sums[band], &a, 1, aggcxt);
	if (band > 0)
	{
		if (DATE_NOT_FINITE(due) || DATE_NOT_FINITE(as_of))
			pgc_sum_add(&st->overdue_inf, &a, 1, aggcxt);
		else
			pgc_sum_add(&st->overdue_days, &a, (int64) as_of - due, aggcxt);
	}
	PG_RETURN_POINTER(st);
}

/* An empty state with the bands of another, in the aggregate context */
static AgingState *
EmptyLike(const AgingState *src, MemoryContext aggcxt)
{
	AgingState *st = MemoryContextAllocZero(aggcxt, sizeof(AgingState));

	/* src may be a deserialised state of shorter life: its bounds are copied */
	st->bounds = KeepBounds(src->bounds, aggcxt);
	st->as_of = src->as_of;
	return st;
}

/* aging_combine(state, state): merge two partial aggregates */
Datum
aging_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = pgc_agg_context(fcinfo, "aging_combine");
	AgingState *s1 = PG_ARGISNULL(0) ? NULL : (AgingState *) PG_GETARG_POINTER(0);
	AgingState *s2 = PG_ARGISNULL(1) ? NULL : (AgingState *) PG_GETARG_POINTER(1);

	if (s2 == NULL)
		PG_RETURN_POINTER(s1);
	if (s1 == NULL)
		s1 = EmptyLike(s2, aggcxt);
	else
	{
		CheckSameAsOf(s1->as_of, s2->as_of);
		CheckSameBounds(s1->bounds, s2->bounds);
	}

	s1->items += s2->items;
	for (int i = 0; i < PGC_MAX_AGING_BANDS; i++)
	{
		s1->counts[i] += s2->counts[i];
		pgc_sum_combine(&s1->sums[i], &s2->sums[i], aggcxt);
	}
	pgc_sum_combine(&s1->overdue_days, &s2->overdue_days, aggcxt);
	pgc_sum_combine(&s1->overdue_inf, &s2->overdue_inf, aggcxt);
	PG_RETURN_POINTER(s1);
}

/* aging_serialize(state) returns bytea */
Datum
aging_serialize(PG_FUNCTION_ARGS)
{
	AgingState *st = (AgingState *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	int			nbands = st->bounds->nbounds + 2;

	pgc_agg_context(fcinfo, "aging_serialize");
	pq_begintypsend(&buf);
	pq_sendint32(&buf, st->as_of);
	pq_sendint32(&buf, st->bounds->nbounds);
	for (int i = 0; i < st->bounds->nbounds; i++)
		pq_sendint32(&buf, st->bounds->bounds[i]);
	pq_sendint64(&buf, st->items);
	for (int i = 0; i < nbands; i++)
	{
		pq_sendint64(&buf, st->counts[i]);
		pgc_sum_send(&buf, &st->sums[i]);
	}
	pgc_sum_send(&buf, &st->overdue_days);
	pgc_sum_send(&buf, &st->overdue_inf);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* aging_deserialize(bytea, internal) returns state */
Datum
aging_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	AgingState *st;
	int			nbands;

	pgc_agg_context(fcinfo, "aging_deserialize");
	pgc_init_read_buffer(&buf, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
	st = palloc0(sizeof(AgingState));
	st->as_of = pq_getmsgint(&buf, 4);
	{
		PgcAgingBounds b;

		b.nbounds = pq_getmsgint(&buf, 4);
		if (b.nbounds < 1 || b.nbounds > PGC_MAX_AGING_BOUNDS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid aging state"),
					 errdetail("It has %d bounds; 1 to %d are allowed.", b.nbounds,
							   PGC_MAX_AGING_BOUNDS)));
		/* as aging() accepts them: positive and strictly increasing */
		for (int i = 0; i < b.nbounds; i++)
		{
			b.bounds[i] = pq_getmsgint(&buf, 4);
			if (b.bounds[i] <= 0 || (i > 0 && b.bounds[i] <= b.bounds[i - 1]))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
						 errmsg("invalid aging state"),
						 errdetail("Its bounds are not positive and strictly increasing.")));
		}
		pgc_aging_build_labels(&b);
		st->bounds = KeepBounds(&b, CurrentMemoryContext);
	}
	nbands = st->bounds->nbounds + 2;
	st->items = pq_getmsgint64(&buf);
	for (int i = 0; i < nbands; i++)
	{
		st->counts[i] = pq_getmsgint64(&buf);
		pgc_sum_recv(&buf, &st->sums[i]);
	}
	pgc_sum_recv(&buf, &st->overdue_days);
	pgc_sum_recv(&buf, &st->overdue_inf);
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(st);
}

/* Totals of a state shared by both final functions */
typedef struct AgingTotals
{
	Numeric		total;
	Numeric		overdue;
	Numeric		overdue_pct;	/* NULL when total is not positive */
	Numeric		avg_days;		/* NULL when no finite overdue amount */
} AgingTotals;

static void
ComputeTotals(const AgingState *st, Numeric *band_amounts, AgingTotals *t)
{
	int			nbands = st->bounds->nbounds + 2;
	PgcSum		total = {0};
	PgcSum		overdue = {0};
	PgcSum		finite = {0};	/* overdue amount with finite dates */

	for (int i = 0; i < nbands; i++)
	{
		pgc_sum_combine(&total, &st->sums[i], CurrentMemoryContext);
		if (i > 0)
			pgc_sum_combine(&overdue, &st->sums[i], CurrentMemoryContext);
		band_amounts[i] = pgc_sum_numeric(&st->sums[i]);
	}
	t->total = pgc_sum_numeric(&total);
	t->overdue = pgc_sum_numeric(&overdue);
	t->overdue_pct = pgc_sum_sign(&total) > 0 ?
		pgc_numeric_div_round(numeric_mul_opt_error(t->overdue, int64_to_numeric(100), NULL),
							  t->total, 2) : NULL;
	pgc_sum_combine(&finite, &overdue, CurrentMemoryContext);
	pgc_sum_add_numeric(&finite, pgc_numeric_negate(pgc_sum_numeric(&st->overdue_inf)),
						CurrentMemoryContext);
	t->avg_days = pgc_sum_sign(&finite) != 0 ?
		pgc_numeric_div_round(pgc_sum_numeric(&st->overdue_days),
							  pgc_sum_numeric(&finite), 2) : NULL;
}

/* An empty state, for aggregates over no rows */
static AgingState *
EmptyState(void)
{
	AgingState *st = palloc0(sizeof(AgingState));

	st->bounds = DefaultBounds();
	return st;
}

/*
 * For receivable_book.c, which runs aging_trans() itself: the amounts of
 * a state's bands (as many as its bounds make), its total and, unless
 * overdue_pct is NULL, its overdue percentage (NULL when the total is not
 * positive), as aging_final() has them; without a state (0), of no rows
 */
void
pgc_aging_state_figures(Datum state, Numeric *bands, Numeric *total, Numeric *overdue_pct)
{
	AgingTotals t;

	ComputeTotals(state != (Datum) 0 ? (const AgingState *) DatumGetPointer(state) : EmptyState(),
				  bands, &t);
	*total = t.total;
	if (overdue_pct)
		*overdue_pct = t.overdue_pct;
}

/* Form the result tuple of a final function */
static Datum
FormResult(FunctionCallInfo fcinfo, Datum *values, bool *nulls)
{
	return HeapTupleGetDatum(heap_form_tuple(pgc_result_tupdesc(fcinfo), values, nulls));
}

/*
 * aging_final(state) returns pgcredit.aging_profile: the default bands as
 * columns.  Over no rows every amount and count is zero.
 */
Datum
aging_final(PG_FUNCTION_ARGS)
{
	AgingState *st = PG_ARGISNULL(0) ? EmptyState() : (AgingState *) PG_GETARG_POINTER(0);
	Numeric		amounts[PGC_MAX_AGING_BANDS];
	AgingTotals t;
	Datum		values[15];
	bool		nulls[15] = {0};
	int			k = 0;

	Assert(st->bounds->nbounds == 3);
	ComputeTotals(st, amounts, &t);
	for (int i = 0; i < 5; i++)
		values[k++] = NumericGetDatum(amounts[i]);
	values[k++] = NumericGetDatum(t.total);
	values[k++] = NumericGetDatum(t.overdue);
	nulls[k] = t.overdue_pct == NULL;
	values[k++] = NumericGetDatum(t.overdue_pct);
	nulls[k] = t.avg_days == NULL;
	values[k++] = NumericGetDatum(t.avg_days);
	values[k++] = Int64GetDatum(st->items);
	for (int i = 0; i < 5; i++)
		values[k++] = Int64GetDatum(st->counts[i]);

	PG_RETURN_DATUM(FormResult(fcinfo, values, nulls));
}

/*
 * aging_bands_final(state) returns pgcredit.aging_by_band: labels, amounts
 * and counts as arrays in band order, for any bounds.  Over no rows the
 * arrays are empty, as no bounds were seen.
 */
Datum
aging_bands_final(PG_FUNCTION_ARGS)
{
	AgingState *st = PG_ARGISNULL(0) ? NULL : (AgingState *) PG_GETARG_POINTER(0);
	Numeric		amounts[PGC_MAX_AGING_BANDS];
	Datum		labels[PGC_MAX_AGING_BANDS];
	Datum		counts[PGC_MAX_AGING_BANDS];
	AgingTotals t;
	Datum		values[7];
	bool		nulls[7] = {0};
	int			nbands;

	if (st == NULL)
	{
		st = EmptyState();
		nbands = 0;
	}
	else
		nbands = st->bounds->nbounds + 2;

	ComputeTotals(st, amounts, &t);
	for (int i = 0; i < nbands; i++)
	{
		labels[i] = CStringGetTextDatum(st->bounds->labels[i]);
		counts[i] = Int64GetDatum(st->counts[i]);
	}

	values[0] = PointerGetDatum(construct_array(labels, nbands, TEXTOID, -1, false, TYPALIGN_INT));
	values[1] = PointerGetDatum(construct_array((Datum *) amounts, nbands, NUMERICOID, -1, false, TYPALIGN_INT));
	values[2] = PointerGetDatum(construct_array(counts, nbands, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[3] = NumericGetDatum(t.total);
	values[4] = NumericGetDatum(t.overdue);
	nulls[5] = t.avg_days == NULL;
	values[5] = NumericGetDatum(t.avg_days);
	values[6] = Int64GetDatum(st->items);

	PG_RETURN_DATUM(FormResult(fcinfo, values, nulls));
}

/*
 * days_past_due(due, as_of) returns int: as_of - due, negative while the
 * item is not yet due.  Infinite dates have no day count.
 */
Datum
days_past_due(PG_FUNCTION_ARGS)
{
	DateADT		due = PG_GETARG_DATEADT(0);
	DateADT		as_of = PG_GETARG_DATEADT(1);

	if (DATE_NOT_FINITE(due) || DATE_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("days past due of an infinite date is undefined"),
				 errhint("Use aging_bucket(), which places infinite dates in a band.")));
	PG_RETURN_INT32(as_of - due);
}

/*
 * From version 1.1 on the aggregates' state is of type agg_state
 * (agg_state.c), so that Citus can combine the workers' partial agings:
 * the same functions on the structure inside it.  Version 1.0's functions
 * of internal above stay for its install script (and the kept book, which
 * runs them directly).
 */
Datum
aging_state_trans(PG_FUNCTION_ARGS)
{
	return pgc_state_trans(fcinfo, &pgc_aging_family, aging_trans);
}

Datum
aging_state_combine(PG_FUNCTION_ARGS)
{
	return pgc_state_combine(fcinfo, &pgc_aging_family, aging_combine);
}

Datum
aging_state_final(PG_FUNCTION_ARGS)
{
	return pgc_state_final(fcinfo, &pgc_aging_family, aging_final);
}

Datum
aging_bands_state_final(PG_FUNCTION_ARGS)
{
	return pgc_state_final(fcinfo, &pgc_aging_family, aging_bands_final);
}
