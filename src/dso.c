/*-------------------------------------------------------------------------
 *
 * dso.c
 *	  Days sales outstanding: how many days of credit sales the open
 *	  receivables represent.
 *
 * One transition function serves every DSO aggregate; it sums, at the
 * as_of date, the receivables still open, the part of them not yet due,
 * the credit sales of the period, and (for the countback method) the
 * credit sales of each of the last DSO_MONTHS calendar months.  The final
 * functions turn those exact sums into:
 *
 *	 dso                      receivables / period sales * period days
 *	 best_possible_dso        not-yet-due receivables / period sales * days
 *	 average_days_delinquent  dso - best_possible_dso
 *	 dso_countback            receivables matched against sales month by
 *	                          month, most recent first
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"

#include "pgcredit.h"
#include "agg_state.h"

PG_FUNCTION_INFO_V1(dso_trans);
PG_FUNCTION_INFO_V1(dso_countback_trans);
PG_FUNCTION_INFO_V1(dso_due_trans);
PG_FUNCTION_INFO_V1(dso_report_trans);
PG_FUNCTION_INFO_V1(dso_combine);
PG_FUNCTION_INFO_V1(dso_serialize);
PG_FUNCTION_INFO_V1(dso_deserialize);
PG_FUNCTION_INFO_V1(dso_final);
PG_FUNCTION_INFO_V1(dso_countback_final);
PG_FUNCTION_INFO_V1(best_possible_dso_final);
PG_FUNCTION_INFO_V1(average_days_delinquent_final);
PG_FUNCTION_INFO_V1(dso_report_final);
PG_FUNCTION_INFO_V1(dso_state_trans);
PG_FUNCTION_INFO_V1(dso_countback_state_trans);
PG_FUNCTION_INFO_V1(dso_due_state_trans);
PG_FUNCTION_INFO_V1(dso_report_state_trans);
PG_FUNCTION_INFO_V1(dso_state_combine);
PG_FUNCTION_INFO_V1(dso_state_final);
PG_FUNCTION_INFO_V1(dso_countback_state_final);
PG_FUNCTION_INFO_V1(best_possible_dso_state_final);
PG_FUNCTION_INFO_V1(average_days_delinquent_state_final);
PG_FUNCTION_INFO_V1(dso_report_state_final);

/* Months of sales history the countback method looks back over */
#define DSO_MONTHS			36
#define DSO_DEFAULT_PERIOD	90

typedef struct DsoState
{
	DateADT		as_of;
	int32		period_days;
	int64		items;			/* rows with an amount and invoice date */
	PgcSum		receivables;	/* open at as_of */
	PgcSum		not_due;		/* of which due on or after as_of */
	PgcSum		sales;			/* invoiced in the period ending at as_of */
	PgcSum	   *months;			/* sales per calendar month back, or NULL */
} DsoState;

/* Index of the calendar month of d counted back from as_of's month */
static int
MonthsBack(DateADT as_of, DateADT d)
{
	int			y1,
				m1,
				d1,
				y2,
				m2,
				d2;

	j2date(as_of + POSTGRES_EPOCH_JDATE, &y1, &m1, &d1);
	j2date(d + POSTGRES_EPOCH_JDATE, &y2, &m2, &d2);
	return (y1 * 12 + m1) - (y2 * 12 + m2);
}

/* Days of month k of the countback: as_of's month up to as_of, then whole months */
static int
MonthDays(DateADT as_of, int k)
{
	int			y,
				m,
				d;
	int			first;
	int			next;

	j2date(as_of + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	if (k == 0)
		return d;
	m -= k;
	while (m < 1)
	{
		m += 12;
		y--;
	}
	first = date2j(y, m, 1);
	next = (m == 12) ? date2j(y + 1, 1, 1) : date2j(y, m + 1, 1);
	return next - first;
}

/*
 * The shared transition: argument positions differ with and without a due
 * date, so the caller says where each one is.
 */
static Datum
DsoTransition(FunctionCallInfo fcinfo, bool with_due, bool with_months)
{
	MemoryContext aggcxt = pgc_agg_context(fcinfo, "dso_trans");
	DsoState   *st = PG_ARGISNULL(0) ? NULL : (DsoState *) PG_GETARG_POINTER(0);
	int			a_invoiced = 2;
	int			a_due = with_due ? 3 : -1;
	int			a_paid = with_due ? 4 : 3;
	int			a_as_of = a_paid + 1;
	int			a_period = a_as_of + 1;
	int32		period = DSO_DEFAULT_PERIOD;
	DateADT		as_of;
	DateADT		invoiced;
	PgcAmount	a;

	if (PG_ARGISNULL(a_as_of))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("as_of date must not be null"),
				 errhint("Pass the date at which DSO is measured, for example current_date.")));
	as_of = PG_GETARG_DATEADT(a_as_of);
	if (DATE_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("as_of date must be finite")));
	if (PG_NARGS() > a_period)
	{
		if (PG_ARGISNULL(a_period))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("period_days must not be null")));
		period = PG_GETARG_INT32(a_period);
		if (period <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("period_days must be positive"),
					 errdetail("period_days is %d.", period),
					 errhint("DSO is usually measured over 30, 90 or 365 days.")));
	}

	if (st == NULL)
	{
		st = MemoryContextAllocZero(aggcxt, sizeof(DsoState));
		st->as_of = as_of;
		st->period_days = period;
		if (with_months)
			st->months = MemoryContextAllocZero(aggcxt, sizeof(PgcSum) * DSO_MONTHS);
	}
	else if (st->as_of != as_of || st->period_days != period)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of and period_days must be the same for every row of a DSO aggregate"),
				 errhint("Pass them as constants, or group by them.")));

	if (PG_ARGISNULL(1) || PG_ARGISNULL(a_invoiced))
		PG_RETURN_POINTER(st);
	invoiced = PG_GETARG_DATEADT(a_invoiced);
	pgc_amount_read(PG_GETARG_DATUM(1), &a, "dso");
	st->items++;
	if (invoiced > as_of)
		PG_RETURN_POINTER(st);

	/* open at as_of: not paid, or paid after it */
	if (PG_ARGISNULL(a_paid) || PG_GETARG_DATEADT(a_paid) > as_of)
	{
		pgc_sum_add(&st->receivables, &a, 1, aggcxt);
		if (with_due && (PG_ARGISNULL(a_due) || PG_GETARG_DATEADT(a_due) >= as_of))
			pgc_sum_add(&st->not_due, &a, 1, aggcxt);
	}

	/* credit sales of the period (as_of - period_days, as_of] */
	if ((int64) invoiced > (int64) as_of - period)
		pgc_sum_add(&st->sales, &a, 1, aggcxt);

	if (st->months && !DATE_NOT_FINITE(invoiced))
	{
		int			k = MonthsBack(as_of, invoiced);

		if (k >= 0 && k < DSO_MONTHS)
			pgc_sum_add(&st->months[k], &a, 1, aggcxt);
	}
	PG_RETURN_POINTER(st);
}

/*
 * For receivable_book.c, which runs the transitions itself: a state's
 * receivables open on its day, the part of them not yet due (counted by
 * dso_due_trans() and dso_report_trans() only) and the sales of its
 * period, as dso_report() returns them; 0 for no state
 */
void
pgc_dso_state_sums(Datum state, Numeric *receivables, Numeric *not_due, Numeric *sales)
{
	DsoState   *st = (DsoState *) DatumGetPointer(state);
	PgcSum		none = {0};

	*receivables = pgc_sum_numeric(st ? &st->receivables : &none);
	*not_due = pgc_sum_numeric(st ? &st->not_due : &none);
	*sales = pgc_sum_numeric(st ? &st->sales : &none);
}

/* dso_trans(state, amount, invoiced_on, paid_on, as_of [, period_days]) */
Datum
dso_trans(PG_FUNCTION_ARGS)
{
	return DsoTransition(fcinfo, false, false);
}

/* dso_countback_trans(state, amount, invoiced_on, paid_on, as_of) */
Datum
dso_countback_trans(PG_FUNCTION_ARGS)
{
	return DsoTransition(fcinfo, false, true);
}

/* dso_due_trans(state, amount, invoiced_on, due, paid_on, as_of [, period_days]) */
Datum
dso_due_trans(PG_FUNCTION_ARGS)
{
	return DsoTransition(fcinfo, true, false);
}

/* dso_report_trans(state, amount, invoiced_on, due, paid_on, as_of [, period_days]) */
Datum
dso_report_trans(PG_FUNCTION_ARGS)
{
	return DsoTransition(fcinfo, true, true);
}

/* dso_combine(state, state) */
Datum
dso_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = pgc_agg_context(fcinfo, "dso_combine");
	DsoState   *s1 = PG_ARGISNULL(0) ? NULL : (DsoState *) PG_GETARG_POINTER(0);
	DsoState   *s2 = PG_ARGISNULL(1) ? NULL : (DsoState *) PG_GETARG_POINTER(1);

	if (s2 == NULL)
		PG_RETURN_POINTER(s1);
	if (s1 == NULL)
	{
		s1 = MemoryContextAllocZero(aggcxt, sizeof(DsoState));
		s1->as_of = s2->as_of;
		s1->period_days = s2->period_days;
		if (s2->months)
			s1->months = MemoryContextAllocZero(aggcxt, sizeof(PgcSum) * DSO_MONTHS);
	}
	else if (s1->as_of != s2->as_of || s1->period_days != s2->period_days)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of and period_days must be the same for every row of a DSO aggregate"),
				 errhint("Pass them as constants, or group by them.")));

	s1->items += s2->items;
	pgc_sum_combine(&s1->receivables, &s2->receivables, aggcxt);
	pgc_sum_combine(&s1->not_due, &s2->not_due, aggcxt);
	pgc_sum_combine(&s1->sales, &s2->sales, aggcxt);
	if (s1->months && s2->months)
		for (int k = 0; k < DSO_MONTHS; k++)
			pgc_sum_combine(&s1->months[k], &s2->months[k], aggcxt);
	PG_RETURN_POINTER(s1);
}

/* dso_serialize(state) returns bytea */
Datum
dso_serialize(PG_FUNCTION_ARGS)
{
	DsoState   *st = (DsoState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pgc_agg_context(fcinfo, "dso_serialize");
	pq_begintypsend(&buf);
	pq_sendint32(&buf, st->as_of);
	pq_sendint32(&buf, st->period_days);
	pq_sendint64(&buf, st->items);
	pgc_sum_send(&buf, &st->receivables);
	pgc_sum_send(&buf, &st->not_due);
	pgc_sum_send(&buf, &st->sales);
	pq_sendbyte(&buf, st->months != NULL);
	if (st->months)
		for (int k = 0; k < DSO_MONTHS; k++)
			pgc_sum_send(&buf, &st->months[k]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* dso_deserialize(bytea, internal) returns state */
Datum
dso_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	DsoState   *st = palloc0(sizeof(DsoState));

	pgc_agg_context(fcinfo, "dso_deserialize");
	pgc_init_read_buffer(&buf, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
	st->as_of = pq_getmsgint(&buf, 4);
	st->period_days = pq_getmsgint(&buf, 4);
	st->items = pq_getmsgint64(&buf);
	pgc_sum_recv(&buf, &st->receivables);
	pgc_sum_recv(&buf, &st->not_due);
	pgc_sum_recv(&buf, &st->sales);
	if (pq_getmsgbyte(&buf))
	{
		st->months = palloc0(sizeof(PgcSum) * DSO_MONTHS);
		for (int k = 0; k < DSO_MONTHS; k++)
			pgc_sum_recv(&buf, &st->months[k]);
	}
	pq_getmsgend(&buf);
	/* what the transitions would have allowed (the bytes may be anyone's) */
	if (DATE_NOT_FINITE(st->as_of) || st->as_of < -POSTGRES_EPOCH_JDATE ||
		st->period_days <= 0 || st->items < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid DSO state"),
				 errdetail("Its day must be a finite date, its period positive and its count of items not negative.")));
	PG_RETURN_POINTER(st);
}

/* amount / sales * period_days, unrounded; NULL unless sales are positive */
static Numeric
DaysOfSales(const DsoState *st, Numeric amount)
{
	if (pgc_sum_sign(&st->sales) <= 0)
		return NULL;
	return numeric_div_opt_error(numeric_mul_opt_error(amount,
													   int64_to_numeric(st->period_days),
													   NULL),
								 pgc_sum_numeric(&st->sales), NULL);
}

/*
 * The countback DSO: walk back from as_of's month, using up the open
 * receivables against each month's sales; a month only partly needed
 * counts its days in proportion.  Receivables left after DSO_MONTHS months
 * count at those months' average daily sales.  NULL when there are
 * receivables but no sales to count them against.
 */
static Numeric
Countback(const DsoState *st)
{
	Numeric		left = pgc_sum_numeric(&st->receivables);
	Numeric		days = int64_to_numeric(0);
	PgcSum		all_sales = {0};
	int64		all_days = 0;

	if (pgc_numeric_sign(left) <= 0)
		return days;

	for (int k = 0; k < DSO_MONTHS; k++)
	{
		Numeric		sales = pgc_sum_numeric(&st->months[k]);
		int			mdays = MonthDays(st->as_of, k);

		all_days += mdays;
		if (pgc_numeric_sign(sales) <= 0)
		{
			days = numeric_add_opt_error(days, int64_to_numeric(mdays), NULL);
			continue;
		}
		pgc_sum_combine(&all_sales, &st->months[k], CurrentMemoryContext);
		if (pgc_numeric_cmp(left, sales) > 0)
		{
			days = numeric_add_opt_error(days, int64_to_numeric(mdays), NULL);
			left = numeric_sub_opt_error(left, sales, NULL);
			continue;
		}
		return numeric_add_opt_error(days,
									 numeric_div_opt_error(numeric_mul_opt_error(left, int64_to_numeric(mdays), NULL),
														   sales, NULL),
									 NULL);
	}

	if (pgc_sum_sign(&all_sales) <= 0)
		return NULL;
	return numeric_add_opt_error(days,
								 numeric_div_opt_error(numeric_mul_opt_error(left, int64_to_numeric(all_days), NULL),
													   pgc_sum_numeric(&all_sales), NULL),
								 NULL);
}

#define RETURN_ROUNDED(n) \
	do { \
		Numeric		r_ = (n); \
		if (r_ == NULL) \
			PG_RETURN_NULL(); \
		PG_RETURN_NUMERIC(pgc_numeric_round(r_, 2)); \
	} while (0)

/* dso(...): receivables / period sales * period days, 2 decimals */
Datum
dso_final(PG_FUNCTION_ARGS)
{
	DsoState   *st;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (DsoState *) PG_GETARG_POINTER(0);
	RETURN_ROUNDED(DaysOfSales(st, pgc_sum_numeric(&st->receivables)));
}

/* dso_countback(...): countback DSO, 2 decimals */
Datum
dso_countback_final(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	RETURN_ROUNDED(Countback((DsoState *) PG_GETARG_POINTER(0)));
}

/* best_possible_dso(...): not-yet-due receivables in days of sales */
Datum
best_possible_dso_final(PG_FUNCTION_ARGS)
{
	DsoState   *st;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (DsoState *) PG_GETARG_POINTER(0);
	RETURN_ROUNDED(DaysOfSales(st, pgc_sum_numeric(&st->not_due)));
}

/* The overdue part of the receivables */
static Numeric
Overdue(const DsoState *st)
{
	return numeric_sub_opt_error(pgc_sum_numeric(&st->receivables),
								 pgc_sum_numeric(&st->not_due), NULL);
}

/* average_days_delinquent(...): DSO minus best possible DSO */
Datum
average_days_delinquent_final(PG_FUNCTION_ARGS)
{
	DsoState   *st;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (DsoState *) PG_GETARG_POINTER(0);
	RETURN_ROUNDED(DaysOfSales(st, Overdue(st)));
}

/* dso_report(...) returns pgcredit.dso_result: every figure at once */
Datum
dso_report_final(PG_FUNCTION_ARGS)
{
	DsoState   *st = PG_ARGISNULL(0) ? NULL : (DsoState *) PG_GETARG_POINTER(0);
	Datum		values[9];
	bool		nulls[9] = {0};
	Numeric		figures[4];

	if (st == NULL)
		PG_RETURN_NULL();
	values[0] = NumericGetDatum(pgc_sum_numeric(&st->receivables));
	values[1] = NumericGetDatum(pgc_sum_numeric(&st->not_due));
	values[2] = NumericGetDatum(Overdue(st));
	values[3] = NumericGetDatum(pgc_sum_numeric(&st->sales));
	values[4] = Int32GetDatum(st->period_days);
	figures[0] = DaysOfSales(st, pgc_sum_numeric(&st->receivables));
	figures[1] = DaysOfSales(st, pgc_sum_numeric(&st->not_due));
	figures[2] = DaysOfSales(st, Overdue(st));
	figures[3] = Countback(st);
	for (int i = 0; i < 4; i++)
	{
		nulls[5 + i] = figures[i] == NULL;
		values[5 + i] = figures[i] ? NumericGetDatum(pgc_numeric_round(figures[i], 2)) : (Datum) 0;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(pgc_result_tupdesc(fcinfo), values, nulls)));
}

/*
 * From version 1.1 on the DSO aggregates' state is of type agg_state
 * (agg_state.c), so that Citus can combine the workers' partial states:
 * the same functions on the structure inside it.  Version 1.0's functions
 * of internal above stay for its install script (and the kept book, which
 * runs them directly).
 */
Datum
dso_state_trans(PG_FUNCTION_ARGS)
{
	return pgc_state_trans(fcinfo, &pgc_dso_family, dso_trans);
}

Datum
dso_countback_state_trans(PG_FUNCTION_ARGS)
{
	return pgc_state_trans(fcinfo, &pgc_dso_family, dso_countback_trans);
}

Datum
dso_due_state_trans(PG_FUNCTION_ARGS)
{
	return pgc_state_trans(fcinfo, &pgc_dso_family, dso_due_trans);
}

Datum
dso_report_state_trans(PG_FUNCTION_ARGS)
{
	return pgc_state_trans(fcinfo, &pgc_dso_family, dso_report_trans);
}

Datum
dso_state_combine(PG_FUNCTION_ARGS)
{
	return pgc_state_combine(fcinfo, &pgc_dso_family, dso_combine);
}

Datum
dso_state_final(PG_FUNCTION_ARGS)
{
	return pgc_state_final(fcinfo, &pgc_dso_family, dso_final);
}

Datum
dso_countback_state_final(PG_FUNCTION_ARGS)
{
	return pgc_state_final(fcinfo, &pgc_dso_family, dso_countback_final);
}

Datum
best_possible_dso_state_final(PG_FUNCTION_ARGS)
{
	return pgc_state_final(fcinfo, &pgc_dso_family, best_possible_dso_final);
}

Datum
average_days_delinquent_state_final(PG_FUNCTION_ARGS)
{
	return pgc_state_final(fcinfo, &pgc_dso_family, average_days_delinquent_final);
}

Datum
dso_report_state_final(PG_FUNCTION_ARGS)
{
	return pgc_state_final(fcinfo, &pgc_dso_family, dso_report_final);
}
