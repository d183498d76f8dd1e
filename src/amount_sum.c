/*-------------------------------------------------------------------------
 *
 * amount_sum.c
 *	  amount_sum(numeric): sum() for money, exact and on integers.
 *
 * The same result as PostgreSQL's sum(numeric), value and display scale,
 * computed with the 128-bit accumulator of amount.c; NaN and infinity are
 * refused instead of propagated, since they are never amounts.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "libpq/pqformat.h"

#include "pgcredit.h"
#include "agg_state.h"

PG_FUNCTION_INFO_V1(amount_sum_trans);
PG_FUNCTION_INFO_V1(amount_sum_combine);
PG_FUNCTION_INFO_V1(amount_sum_serialize);
PG_FUNCTION_INFO_V1(amount_sum_deserialize);
PG_FUNCTION_INFO_V1(amount_sum_final);
PG_FUNCTION_INFO_V1(amount_sum_state_trans);
PG_FUNCTION_INFO_V1(amount_sum_state_combine);
PG_FUNCTION_INFO_V1(amount_sum_state_final);

typedef struct AmountSumState
{
	int64		n;				/* non-NULL amounts seen */
	PgcSum		sum;
} AmountSumState;

/* amount_sum_trans(state, amount): add one amount, skipping NULL */
Datum
amount_sum_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = pgc_agg_context(fcinfo, "amount_sum_trans");
	AmountSumState *st = PG_ARGISNULL(0) ? NULL : (AmountSumState *) PG_GETARG_POINTER(0);
	PgcAmount	a;

	if (st == NULL)
		st = MemoryContextAllocZero(aggcxt, sizeof(AmountSumState));
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(st);

	pgc_amount_read(PG_GETARG_DATUM(1), &a, "amount_sum");
	st->n++;
	pgc_sum_add(&st->sum, &a, 1, aggcxt);
	PG_RETURN_POINTER(st);
}

/* amount_sum_combine(state, state) */
Datum
amount_sum_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = pgc_agg_context(fcinfo, "amount_sum_combine");
	AmountSumState *s1 = PG_ARGISNULL(0) ? NULL : (AmountSumState *) PG_GETARG_POINTER(0);
	AmountSumState *s2 = PG_ARGISNULL(1) ? NULL : (AmountSumState *) PG_GETARG_POINTER(1);

	if (s2 == NULL)
		PG_RETURN_POINTER(s1);
	if (s1 == NULL)
		s1 = MemoryContextAllocZero(aggcxt, sizeof(AmountSumState));
	s1->n += s2->n;
	pgc_sum_combine(&s1->sum, &s2->sum, aggcxt);
	PG_RETURN_POINTER(s1);
}

/* amount_sum_serialize(state) returns bytea */
Datum
amount_sum_serialize(PG_FUNCTION_ARGS)
{
	AmountSumState *st = (AmountSumState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pgc_agg_context(fcinfo, "amount_sum_serialize");
	pq_begintypsend(&buf);
	pq_sendint64(&buf, st->n);
	pgc_sum_send(&buf, &st->sum);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* amount_sum_deserialize(bytea, internal) returns state */
Datum
amount_sum_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	AmountSumState *st = palloc0(sizeof(AmountSumState));

	pgc_agg_context(fcinfo, "amount_sum_deserialize");
	pgc_init_read_buffer(&buf, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
	st->n = pq_getmsgint64(&buf);
	pgc_sum_recv(&buf, &st->sum);
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(st);
}

/* amount_sum_final(state): the sum, or NULL over no amounts as sum() does */
Datum
amount_sum_final(PG_FUNCTION_ARGS)
{
	AmountSumState *st = PG_ARGISNULL(0) ? NULL : (AmountSumState *) PG_GETARG_POINTER(0);

	if (st == NULL || st->n == 0)
		PG_RETURN_NULL();
	PG_RETURN_NUMERIC(pgc_sum_numeric(&st->sum));
}

/*
 * From version 1.1 on the aggregate's state is of type agg_state
 * (agg_state.c), so that Citus can combine the workers' partial sums: the
 * same functions, on the structure inside it.  Version 1.0's functions of
 * internal above stay for its install script.
 */
Datum
amount_sum_state_trans(PG_FUNCTION_ARGS)
{
	return pgc_state_trans(fcinfo, &pgc_amount_sum_family, amount_sum_trans);
}

Datum
amount_sum_state_combine(PG_FUNCTION_ARGS)
{
	return pgc_state_combine(fcinfo, &pgc_amount_sum_family, amount_sum_combine);
}

Datum
amount_sum_state_final(PG_FUNCTION_ARGS)
{
	return pgc_state_final(fcinfo, &pgc_amount_sum_family, amount_sum_final);
}
