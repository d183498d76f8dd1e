/*-------------------------------------------------------------------------
 *
 * concentration.c
 *	  Concentration of exposure across customers.
 *
 * concentration_hhi(amount): the Herfindahl-Hirschman index of the
 * amounts' shares, 10000 * sum(a^2) / sum(a)^2, from 0 (spread thin) to
 * 10000 (one customer holds everything).
 * concentration_top_share(amount, top_n): the percentage of the total
 * held by the top_n largest amounts.
 *
 * Both take one row per customer (aggregate exposure per customer first)
 * and consider positive amounts only: a customer in credit holds no share
 * of the risk.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "libpq/pqformat.h"
#include "utils/fmgrprotos.h"

#include "pgcredit.h"
#include "agg_state.h"

PG_FUNCTION_INFO_V1(hhi_trans);
PG_FUNCTION_INFO_V1(hhi_combine);
PG_FUNCTION_INFO_V1(hhi_serialize);
PG_FUNCTION_INFO_V1(hhi_deserialize);
PG_FUNCTION_INFO_V1(hhi_final);
PG_FUNCTION_INFO_V1(top_share_trans);
PG_FUNCTION_INFO_V1(top_share_combine);
PG_FUNCTION_INFO_V1(top_share_serialize);
PG_FUNCTION_INFO_V1(top_share_deserialize);
PG_FUNCTION_INFO_V1(top_share_final);
PG_FUNCTION_INFO_V1(hhi_state_trans);
PG_FUNCTION_INFO_V1(hhi_state_combine);
PG_FUNCTION_INFO_V1(hhi_state_final);
PG_FUNCTION_INFO_V1(top_share_state_trans);
PG_FUNCTION_INFO_V1(top_share_state_combine);
PG_FUNCTION_INFO_V1(top_share_state_final);

#define MAX_TOP_N	10000

/*
 * concentration_hhi squares amounts, and numeric holds neither the square
 * of an amount of 10^65536 nor more than 16383 decimals of the square of
 * one below 10^-8192: the index would overflow, or divide zero by zero.
 * Positive amounts must lie in [10^HHI_MIN_EXP, 10^HHI_MAX_EXP), which
 * keeps every square, their sum over any number of rows, and the squared
 * total exact to hundreds of significant digits.
 */
#define HHI_MIN_EXP	(-8000)
#define HHI_MAX_EXP	65000

typedef struct HhiState
{
	int64		n;
	PgcSum		total;
	PgcSum		squares;
} HhiState;

/* 10^e as numeric */
static Numeric
PowerOfTen(int e)
{
	return DatumGetNumeric(DirectFunctionCall3(numeric_in,
											   CStringGetDatum(psprintf("1e%d", e)),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
}

/*
 * Refuse a positive amount whose square numeric cannot hold (see
 * HHI_MIN_EXP).  Only amounts off the integer path can be out of range.
 */
static void
CheckHhiRange(Numeric n)
{
	if (pgc_numeric_cmp(n, PowerOfTen(HHI_MIN_EXP)) < 0 ||
		pgc_numeric_cmp(n, PowerOfTen(HHI_MAX_EXP)) >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("amount is out of range for concentration_hhi"),
				 errdetail("The index squares each positive amount, and only amounts from 1e%d to below 1e%d have a square that numeric holds exactly.",
						   HHI_MIN_EXP, HHI_MAX_EXP),
				 errhint("Correct or exclude the row; NULL, zero and negative amounts are skipped.")));
}

/* hhi_trans(state, amount) */
Datum
hhi_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = pgc_agg_context(fcinfo, "hhi_trans");
	HhiState   *st = PG_ARGISNULL(0) ? NULL : (HhiState *) PG_GETARG_POINTER(0);
	PgcAmount	a;

	if (st == NULL)
		st = MemoryContextAllocZero(aggcxt, sizeof(HhiState));
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(st);
	pgc_amount_read(PG_GETARG_DATUM(1), &a, "concentration_hhi");
	if (pgc_amount_sign(&a) <= 0)
		PG_RETURN_POINTER(st);

	st->n++;
	pgc_sum_add(&st->total, &a, 1, aggcxt);
	if (a.fast)
		pgc_sum_add_scaled(&st->squares, (int128) a.val * a.val, 2 * a.dscale, aggcxt);
	else
	{
		Numeric		n = DatumGetNumeric(a.datum);

		CheckHhiRange(n);
		pgc_sum_add_numeric(&st->squares, numeric_mul_opt_error(n, n, NULL), aggcxt);
	}
	PG_RETURN_POINTER(st);
}

/* hhi_combine(state, state) */
Datum
hhi_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = pgc_agg_context(fcinfo, "hhi_combine");
	HhiState   *s1 = PG_ARGISNULL(0) ? NULL : (HhiState *) PG_GETARG_POINTER(0);
	HhiState   *s2 = PG_ARGISNULL(1) ? NULL : (HhiState *) PG_GETARG_POINTER(1);

	if (s2 == NULL)
		PG_RETURN_POINTER(s1);
	if (s1 == NULL)
		s1 = MemoryContextAllocZero(aggcxt, sizeof(HhiState));
	s1->n += s2->n;
	pgc_sum_combine(&s1->total, &s2->total, aggcxt);
	pgc_sum_combine(&s1->squares, &s2->squares, aggcxt);
	PG_RETURN_POINTER(s1);
}

/* hhi_serialize(state) returns bytea */
Datum
hhi_serialize(PG_FUNCTION_ARGS)
{
	HhiState   *st = (HhiState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pgc_agg_context(fcinfo, "hhi_serialize");
	pq_begintypsend(&buf);
	pq_sendint64(&buf, st->n);
	pgc_sum_send(&buf, &st->total);
	pgc_sum_send(&buf, &st->squares);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* hhi_deserialize(bytea, internal) returns state */
Datum
hhi_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	HhiState   *st = palloc0(sizeof(HhiState));

	pgc_agg_context(fcinfo, "hhi_deserialize");
	pgc_init_read_buffer(&buf, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
	st->n = pq_getmsgint64(&buf);
	pgc_sum_recv(&buf, &st->total);
	pgc_sum_recv(&buf, &st->squares);
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(st);
}

/* hhi_final(state): the index, 2 decimals; NULL without a positive amount */
Datum
hhi_final(PG_FUNCTION_ARGS)
{
	HhiState   *st = PG_ARGISNULL(0) ? NULL : (HhiState *) PG_GETARG_POINTER(0);
	Numeric		total;

	if (st == NULL || st->n == 0)
		PG_RETURN_NULL();
	total = pgc_sum_numeric(&st->total);
	PG_RETURN_NUMERIC(pgc_numeric_div_round(numeric_mul_opt_error(pgc_sum_numeric(&st->squares),
																  int64_to_numeric(10000), NULL),
											numeric_mul_opt_error(total, total, NULL), 2));
}

/*
 * State of concentration_top_share: the total of positive amounts and a
 * min-heap of the top_n largest seen.
 */
typedef struct TopShareState
{
	int32		top_n;
	int32		nheap;
	PgcSum		total;
	Numeric    *heap;			/* top_n entries, smallest at heap[0] */
} TopShareState;

/* Offer one amount to the heap; it is copied into mcxt if kept */
static void
HeapOffer(TopShareState *st, Numeric n, MemoryContext mcxt)
{
	int			i;

	if (st->nheap == st->top_n)
	{
		if (pgc_numeric_cmp(n, st->heap[0]) <= 0)
			return;
		/* replace the smallest, then sift it down */
		pfree(st->heap[0]);
		st->heap[0] = MemoryContextAlloc(mcxt, VARSIZE(n));
		memcpy(st->heap[0], n, VARSIZE(n));
		i = 0;
		for (;;)
		{
			int			l = 2 * i + 1;
			int			r = l + 1;
			int			m = i;
			Numeric		tmp;

			if (l < st->nheap && pgc_numeric_cmp(st->heap[l], st->heap[m]) < 0)
				m = l;
			if (r < st->nheap && pgc_numeric_cmp(st->heap[r], st->heap[m]) < 0)
				m = r;
			if (m == i)
				break;
			tmp = st->heap[i];
			st->heap[i] = st->heap[m];
			st->heap[m] = tmp;
			i = m;
		}
		return;
	}

	/* append and sift up */
	i = st->nheap++;
	st->heap[i] = MemoryContextAlloc(mcxt, VARSIZE(n));
	memcpy(st->heap[i], n, VARSIZE(n));
	while (i > 0)
	{
		int			p = (i - 1) / 2;
		Numeric		tmp;

		if (pgc_numeric_cmp(st->heap[i], st->heap[p]) >= 0)
			break;
		tmp = st->heap[i];
		st->heap[i] = st->heap[p];
		st->heap[p] = tmp;
		i = p;
	}
}

static TopShareState *
NewTopShare(int32 top_n, MemoryContext mcxt)
{
	TopShareState *st = MemoryContextAllocZero(mcxt, sizeof(TopShareState));

	st->top_n = top_n;
	st->heap = MemoryContextAlloc(mcxt, sizeof(Numeric) * top_n);
	return st;
}

/* top_share_trans(state, amount, top_n) */
Datum
top_share_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = pgc_agg_context(fcinfo, "top_share_trans");
	TopShareState *st = PG_ARGISNULL(0) ? NULL : (TopShareState *) PG_GETARG_POINTER(0);
	int32		top_n;
	PgcAmount	a;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("top_n must not be null")));
	top_n = PG_GETARG_INT32(2);
	if (top_n < 1 || top_n > MAX_TOP_N)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top_n must be between 1 and %d", MAX_TOP_N),
				 errdetail("top_n is %d.", top_n)));
	if (st == NULL)
		st = NewTopShare(top_n, aggcxt);
	else if (st->top_n != top_n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top_n must be the same for every row of concentration_top_share")));

	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(st);
	pgc_amount_read(PG_GETARG_DATUM(1), &a, "concentration_top_share");
	if (pgc_amount_sign(&a) <= 0)
		PG_RETURN_POINTER(st);
	pgc_sum_add(&st->total, &a, 1, aggcxt);
	HeapOffer(st, DatumGetNumeric(a.datum), aggcxt);
	PG_RETURN_POINTER(st);
}

/* top_share_combine(state, state) */
Datum
top_share_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = pgc_agg_context(fcinfo, "top_share_combine");
	TopShareState *s1 = PG_ARGISNULL(0) ? NULL : (TopShareState *) PG_GETARG_POINTER(0);
	TopShareState *s2 = PG_ARGISNULL(1) ? NULL : (TopShareState *) PG_GETARG_POINTER(1);

	if (s2 == NULL)
		PG_RETURN_POINTER(s1);
	if (s1 == NULL)
		s1 = NewTopShare(s2->top_n, aggcxt);
	else if (s1->top_n != s2->top_n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top_n must be the same for every row of concentration_top_share")));
	pgc_sum_combine(&s1->total, &s2->total, aggcxt);
	for (int i = 0; i < s2->nheap; i++)
		HeapOffer(s1, s2->heap[i], aggcxt);
	PG_RETURN_POINTER(s1);
}

/* top_share_serialize(state) returns bytea */
Datum
top_share_serialize(PG_FUNCTION_ARGS)
{
	TopShareState *st = (TopShareState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pgc_agg_context(fcinfo, "top_share_serialize");
	pq_begintypsend(&buf);
	pq_sendint32(&buf, st->top_n);
	pq_sendint32(&buf, st->nheap);
	pgc_sum_send(&buf, &st->total);
	for (int i = 0; i < st->nheap; i++)
	{
		pq_sendint32(&buf, VARSIZE(st->heap[i]));
		pq_sendbytes(&buf, (const char *) st->heap[i], VARSIZE(st->heap[i]));
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* top_share_deserialize(bytea, internal) returns state */
Datum
top_share_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	TopShareState *st;
	int32		top_n;
	int32		nheap;

	pgc_agg_context(fcinfo, "top_share_deserialize");
	pgc_init_read_buffer(&buf, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
	top_n = pq_getmsgint(&buf, 4);
	nheap = pq_getmsgint(&buf, 4);
	if (top_n < 1 || top_n > MAX_TOP_N || nheap < 0 || nheap > top_n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid concentration_top_share state"),
				 errdetail("It keeps %d of the largest %d amounts.", nheap, top_n)));
	st = NewTopShare(top_n, CurrentMemoryContext);
	pgc_sum_recv(&buf, &st->total);
	st->nheap = nheap;
	for (int i = 0; i < nheap; i++)
	{
		int32		len = pq_getmsgint(&buf, 4);

		/* checked (the bytes may be anyone's): positive, and a min-heap */
		st->heap[i] = pgc_recv_numeric(&buf, len, "concentration_top_share state");
		if (pgc_numeric_sign(st->heap[i]) <= 0 ||
			(i > 0 && pgc_numeric_cmp(st->heap[(i - 1) / 2], st->heap[i]) > 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid concentration_top_share state"),
					 errdetail("Its largest amounts are not positive amounts in heap order.")));
	}
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(st);
}

/* top_share_final(state): percent of the total in the top_n, 2 decimals */
Datum
top_share_final(PG_FUNCTION_ARGS)
{
	TopShareState *st = PG_ARGISNULL(0) ? NULL : (TopShareState *) PG_GETARG_POINTER(0);
	PgcSum		top = {0};

	if (st == NULL || st->nheap == 0)
		PG_RETURN_NULL();
	for (int i = 0; i < st->nheap; i++)
		pgc_sum_add_numeric(&top, st->heap[i], CurrentMemoryContext);
	PG_RETURN_NUMERIC(pgc_numeric_div_round(numeric_mul_opt_error(pgc_sum_numeric(&top),
																  int64_to_numeric(100), NULL),
											pgc_sum_numeric(&st->total), 2));
}

/*
 * From version 1.1 on the aggregates' state is of type agg_state
 * (agg_state.c), so that Citus can combine the workers' partial states:
 * the same functions on the structures inside it.  Version 1.0's
 * functions of internal above stay for its install script.
 */
Datum
hhi_state_trans(PG_FUNCTION_ARGS)
{
	return pgc_state_trans(fcinfo, &pgc_hhi_family, hhi_trans);
}

Datum
hhi_state_combine(PG_FUNCTION_ARGS)
{
	return pgc_state_combine(fcinfo, &pgc_hhi_family, hhi_combine);
}

Datum
hhi_state_final(PG_FUNCTION_ARGS)
{
	return pgc_state_final(fcinfo, &pgc_hhi_family, hhi_final);
}

Datum
top_share_state_trans(PG_FUNCTION_ARGS)
{
	return pgc_state_trans(fcinfo, &pgc_top_share_family, top_share_trans);
}

Datum
top_share_state_combine(PG_FUNCTION_ARGS)
{
	return pgc_state_combine(fcinfo, &pgc_top_share_family, top_share_combine);
}

Datum
top_share_state_final(PG_FUNCTION_ARGS)
{
	return pgc_state_final(fcinfo, &pgc_top_share_family, top_share_final);
}
