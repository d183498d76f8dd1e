/*-------------------------------------------------------------------------
 *
 * score.c
 *	  credit_score: a behavioural payment score from 0 (worst) to 100 (best).
 *
 * Each invoice with a positive amount and a due date is evidence:
 *
 *	 days late L  paid by as_of: max(0, paid_on - due);
 *	              open at as_of: max(0, as_of - due), its days past due so far
 *	              (capped at SCORE_MAX_DAYS)
 *	 weight w     amount * 2^(-age / half_life), age = max(0, as_of - due)
 *
 * From the weighted evidence:
 *
 *	 D  = sum(w * L) / sum(w)             weighted days beyond terms
 *	 P1 = sum(w : L > 0) / sum(w)         share of amount paid late
 *	 P2 = sum(w : L > 60) / sum(w)        share more than 60 days late
 *	 raw = 100 * (1 - 0.5 * D / (D + 30) - 0.3 * P1 - 0.2 * P2)
 *
 * and for credibility, n = sum(2^(-age / half_life)), the recency-weighted
 * number of invoices: score = (n * raw + 5 * 50) / (n + 5), so a thin file
 * is pulled toward the neutral prior 50.
 *
 * The weight of an invoice does not depend on when it was paid, and L
 * never falls when payment comes later, so paying any invoice later never
 * raises the score.  Every sum is an integer (amounts in cents, decay in
 * units of 2^-24), so the score does not depend on row order or on a
 * parallel plan.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

#include "pgcredit.h"
#include "agg_state.h"

PG_FUNCTION_INFO_V1(credit_score_trans);
PG_FUNCTION_INFO_V1(credit_score_combine);
PG_FUNCTION_INFO_V1(credit_score_serialize);
PG_FUNCTION_INFO_V1(credit_score_deserialize);
PG_FUNCTION_INFO_V1(credit_score_final);
PG_FUNCTION_INFO_V1(credit_score_explain_final);
PG_FUNCTION_INFO_V1(credit_score_state_trans);
PG_FUNCTION_INFO_V1(credit_score_state_combine);
PG_FUNCTION_INFO_V1(credit_score_state_final);
PG_FUNCTION_INFO_V1(credit_score_explain_state_final);

#define SCORE_DEFAULT_HALF_LIFE	180
#define SCORE_PRIOR				50.0	/* neutral score of an empty file */
#define SCORE_PRIOR_WEIGHT		5.0 /* invoices' worth of the prior */
#define SCORE_DAYS_HALF			30.0	/* D at which the days part is half */
#define SCORE_MAX_DAYS			3650	/* days late beyond this count as this */
#define SCORE_LATE_DAYS			60	/* "seriously late" threshold */
#define SCORE_MAX_CENTS			INT64CONST(1000000000000000)
#define SCORE_DECAY_ONE			(1 << 24)

typedef struct ScoreState
{
	DateADT		as_of;
	int32		half_life;
	int64		invoices;		/* invoices scored */
	int64		open_overdue;	/* of which open and past due at as_of */
	int64		decay;			/* sum of decay factors, units of 2^-24 */
	int128		w;				/* sum of weights */
	int128		w_days;			/* sum of weight * days late */
	int128		w_late;			/* sum of weights of late invoices */
	int128		w_over;			/* sum of weights of invoices > 60 days late */
} ScoreState;

/*
 * A positive amount in whole cents for the weights, capped at
 * SCORE_MAX_CENTS.  Amounts off the integer path are compared with the cap
 * and rounded as numeric, never converted to double: an amount beyond
 * double's range (1e400) is simply capped, and one below it (1e-400)
 * weighs 0 cents, as any amount under half a cent does.
 */
static int64
AmountCents(const PgcAmount *a)
{
	Numeric		n;

	if (a->fast)
		return (int64) Min(rint(pgc_amount_double(a) * 100.0), (double) SCORE_MAX_CENTS);
	n = DatumGetNumeric(a->datum);
	if (pgc_numeric_cmp(n, int64_to_numeric(SCORE_MAX_CENTS / 100)) >= 0)
		return SCORE_MAX_CENTS;
	return DatumGetInt64(DirectFunctionCall1(numeric_int8,
											 NumericGetDatum(numeric_mul_opt_error(n, int64_to_numeric(100),
																				   NULL))));
}

/* credit_score_trans(state, amount, due, paid_on, as_of [, half_life_days]) */
Datum
credit_score_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = pgc_agg_context(fcinfo, "credit_score_trans");
	ScoreState *st = PG_ARGISNULL(0) ? NULL : (ScoreState *) PG_GETARG_POINTER(0);
	int32		half_life = SCORE_DEFAULT_HALF_LIFE;
	DateADT		as_of;
	DateADT		due;
	PgcAmount	a;
	bool		paid;
	int64		late;
	int64		age;
	int64		cents;
	int64		decay;
	int128		w;

	if (PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("as_of date must not be null"),
				 errhint("Pass the date at which payment behaviour is scored, for example current_date.")));
	as_of = PG_GETARG_DATEADT(4);
	if (DATE_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("as_of date must be finite")));
	if (PG_NARGS() > 5)
	{
		if (PG_ARGISNULL(5))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("half_life_days must not be null")));
		half_life = PG_GETARG_INT32(5);
		if (half_life <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("half_life_days must be positive"),
					 errdetail("half_life_days is %d.", half_life),
					 errhint("An invoice's weight halves every half_life_days; 180 is the default.")));
	}

	if (st == NULL)
	{
		st = MemoryContextAllocZero(aggcxt, sizeof(ScoreState));
		st->as_of = as_of;
		st->half_life = half_life;
	}
	else if (st->as_of != as_of || st->half_life != half_life)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of and half_life_days must be the same for every row of credit_score"),
				 errhint("Pass them as constants, or group by them.")));

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(st);
	pgc_amount_read(PG_GETARG_DATUM(1), &a, "credit_score");
	if (pgc_amount_sign(&a) <= 0)
		PG_RETURN_POINTER(st);	/* credit notes say nothing about paying */
	due = PG_GETARG_DATEADT(2);

	paid = !PG_ARGISNULL(3) && PG_GETARG_DATEADT(3) <= as_of;
	if (paid)
	{
		DateADT		paid_on = PG_GETARG_DATEADT(3);

		if (paid_on <= due)
			late = 0;
		else if (DATE_NOT_FINITE(due))
			late = SCORE_MAX_DAYS;
		else
			late = (int64) paid_on - due;
	}
	else if (due >= as_of)
		late = 0;
	else if (DATE_NOT_FINITE(due))
		late = SCORE_MAX_DAYS;
	else
		late = (int64) as_of - due;
	late = Min(late, SCORE_MAX_DAYS);

	if (due >= as_of)
		age = 0;
	else if (DATE_NOT_FINITE(due))
		age = PG_INT32_MAX;
	else
		age = (int64) as_of - due;

	cents = AmountCents(&a);
	decay = (int64) rint(SCORE_DECAY_ONE * pow(2.0, -(double) age / st->half_life));
	w = (int128) cents * decay;

	st->invoices++;
	if (!paid && due < as_of)
		st->open_overdue++;
	st->decay += decay;
	st->w += w;
	st->w_days += w * late;
	if (late > 0)
		st->w_late += w;
	if (late > SCORE_LATE_DAYS)
		st->w_over += w;
	PG_RETURN_POINTER(st);
}

/* credit_score_combine(state, state) */
Datum
credit_score_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = pgc_agg_context(fcinfo, "credit_score_combine");
	ScoreState *s1 = PG_ARGISNULL(0) ? NULL : (ScoreState *) PG_GETARG_POINTER(0);
	ScoreState *s2 = PG_ARGISNULL(1) ? NULL : (ScoreState *) PG_GETARG_POINTER(1);

	if (s2 == NULL)
		PG_RETURN_POINTER(s1);
	if (s1 == NULL)
	{
		s1 = MemoryContextAlloc(aggcxt, sizeof(ScoreState));
		*s1 = *s2;
		PG_RETURN_POINTER(s1);
	}
	if (s1->as_of != s2->as_of || s1->half_life != s2->half_life)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of and half_life_days must be the same for every row of credit_score"),
				 errhint("Pass them as constants, or group by them.")));
	s1->invoices += s2->invoices;
	s1->open_overdue += s2->open_overdue;
	s1->decay += s2->decay;
	s1->w += s2->w;
	s1->w_days += s2->w_days;
	s1->w_late += s2->w_late;
	s1->w_over += s2->w_over;
	PG_RETURN_POINTER(s1);
}

/* credit_score_serialize(state) returns bytea */
Datum
credit_score_serialize(PG_FUNCTION_ARGS)
{
	ScoreState *st = (ScoreState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pgc_agg_context(fcinfo, "credit_score_serialize");
	pq_begintypsend(&buf);
	pq_sendint32(&buf, st->as_of);
	pq_sendint32(&buf, st->half_life);
	pq_sendint64(&buf, st->invoices);
	pq_sendint64(&buf, st->open_overdue);
	pq_sendint64(&buf, st->decay);
	pgc_send_int128(&buf, st->w);
	pgc_send_int128(&buf, st->w_days);
	pgc_send_int128(&buf, st->w_late);
	pgc_send_int128(&buf, st->w_over);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* credit_score_deserialize(bytea, internal) returns state */
Datum
credit_score_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	ScoreState *st = palloc0(sizeof(ScoreState));

	pgc_agg_context(fcinfo, "credit_score_deserialize");
	pgc_init_read_buffer(&buf, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
	st->as_of = pq_getmsgint(&buf, 4);
	st->half_life = pq_getmsgint(&buf, 4);
	st->invoices = pq_getmsgint64(&buf);
	st->open_overdue = pq_getmsgint64(&buf);
	st->decay = pq_getmsgint64(&buf);
	st->w = pgc_recv_int128(&buf);
	st->w_days = pgc_recv_int128(&buf);
	st->w_late = pgc_recv_int128(&buf);
	st->w_over = pgc_recv_int128(&buf);
	pq_getmsgend(&buf);
	/* what the transition would have allowed (the bytes may be anyone's) */
	if (st->half_life <= 0 || st->invoices < 0 || st->open_overdue < 0 || st->decay < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid credit score state"),
				 errdetail("Its half-life must be positive and its counts and weights not negative.")));
	PG_RETURN_POINTER(st);
}

/* The parts of a score, computed once from a state */
typedef struct ScoreParts
{
	double		score;
	double		raw;
	double		days;
	double		share_late;
	double		share_over;
	double		n;
	double		credibility;
} ScoreParts;

static void
ComputeScore(const ScoreState *st, ScoreParts *p)
{
	p->n = (double) st->decay / SCORE_DECAY_ONE;
	p->credibility = p->n / (p->n + SCORE_PRIOR_WEIGHT);
	if (st->w > 0)
	{
		double		w = (double) st->w;

		p->days = (double) st->w_days / w;
		p->share_late = (double) st->w_late / w;
		p->share_over = (double) st->w_over / w;
		p->raw = 100.0 * (1.0 - 0.5 * p->days / (p->days + SCORE_DAYS_HALF)
						  - 0.3 * p->share_late - 0.2 * p->share_over);
	}
	else
	{
		/* every invoice weighs nothing: no evidence beyond the prior */
		p->days = p->share_late = p->share_over = 0;
		p->raw = SCORE_PRIOR;
	}
	p->score = p->credibility * p->raw + (1.0 - p->credibility) * SCORE_PRIOR;
}

/* A double as numeric rounded to scale decimals */
static Datum
RoundedNumeric(double v, int scale)
{
	return NumericGetDatum(pgc_numeric_round(DatumGetNumeric(DirectFunctionCall1(float8_numeric,
																				 Float8GetDatum(v))),
											 scale));
}

/* credit_score(...): the score, 2 decimals; NULL without any invoice */
Datum
credit_score_final(PG_FUNCTION_ARGS)
{
	ScoreState *st = PG_ARGISNULL(0) ? NULL : (ScoreState *) PG_GETARG_POINTER(0);
	ScoreParts	p;

	if (st == NULL || st->invoices == 0)
		PG_RETURN_NULL();
	ComputeScore(st, &p);
	PG_RETURN_DATUM(RoundedNumeric(p.score, 2));
}

/* credit_score_explain(...) returns pgcredit.credit_score_parts */
Datum
credit_score_explain_final(PG_FUNCTION_ARGS)
{
	ScoreState *st = PG_ARGISNULL(0) ? NULL : (ScoreState *) PG_GETARG_POINTER(0);
	ScoreParts	p;
	Datum		values[11];
	bool		nulls[11] = {0};

	if (st == NULL || st->invoices == 0)
		PG_RETURN_NULL();
	ComputeScore(st, &p);

	values[0] = RoundedNumeric(p.score, 2);
	values[1] = RoundedNumeric(p.raw, 2);
	values[2] = RoundedNumeric(SCORE_PRIOR, 2);
	values[3] = RoundedNumeric(p.credibility, 4);
	values[4] = RoundedNumeric(p.days, 2);
	values[5] = RoundedNumeric(p.share_late, 4);
	values[6] = RoundedNumeric(p.share_over, 4);
	values[7] = Int64GetDatum(st->invoices);
	values[8] = Int64GetDatum(st->open_overdue);
	values[9] = RoundedNumeric(p.n, 4);
	values[10] = Int32GetDatum(st->half_life);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(pgc_result_tupdesc(fcinfo), values, nulls)));
}

/*
 * From version 1.1 on the aggregates' state is of type agg_state
 * (agg_state.c), so that Citus can combine the workers' partial scores:
 * the same functions on the structure inside it.  Version 1.0's functions
 * of internal above stay for its install script (and the kept book, which
 * runs them directly).
 */
Datum
credit_score_state_trans(PG_FUNCTION_ARGS)
{
	return pgc_state_trans(fcinfo, &pgc_credit_score_family, credit_score_trans);
}

Datum
credit_score_state_combine(PG_FUNCTION_ARGS)
{
	return pgc_state_combine(fcinfo, &pgc_credit_score_family, credit_score_combine);
}

Datum
credit_score_state_final(PG_FUNCTION_ARGS)
{
	return pgc_state_final(fcinfo, &pgc_credit_score_family, credit_score_final);
}

Datum
credit_score_explain_state_final(PG_FUNCTION_ARGS)
{
	return pgc_state_final(fcinfo, &pgc_credit_score_family, credit_score_explain_final);
}
