/*-------------------------------------------------------------------------
 *
 * receivable_book.c
 *	  Every customer's receivable figures in one pass over the ledger.
 *
 * receivable_stats(as_of) gives, per customer, the aging bands, the
 * oldest item past due, DSO over 90 days, the last payment, the
 * behavioural score and the invoicing of twelve months.  Written as SQL
 * it aggregates the rows of _attached_items(), and that set-returning
 * function first copies every row of the attached tables into a
 * tuplestore, which spills to disk on a large ledger: most of the time
 * of the whole book went into making and reading that copy.
 *
 * pgcredit._receivable_book(as_of) reads the same rows, with the same
 * plain heap scans (attach.c, pgc_scan_attached_items: no code of the
 * tables' owners runs), and hands each one straight to the transition
 * functions of the aggregates the SQL uses (aging, dso, credit_score),
 * grouped by customer in a hash table, so nothing is copied.  The figures
 * are those of the SQL by construction: the same item rows, the same
 * transition and final functions, the same expressions for the other
 * columns (sql/receivable_book.sql checks them against the SQL on every
 * kind of attachment).  _receivable_portfolio() does the same for the
 * whole ledger's aging and DSO (portfolio_stats), and
 * _receivable_newly_overdue() for the watchlist's items newly past due.
 *
 * The states stay in memory until the pass ends, about 1.5 kB a customer
 * (150 MB for 100,000 customers).  The pass cannot spill to disk as a
 * hash aggregate does: _receivable_book() stops with
 * program_limit_exceeded when its states outgrow the memory a hash
 * aggregate may take, and receivable_stats() then aggregates by SQL.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "pgcredit.h"
#include "attach.h"

PG_FUNCTION_INFO_V1(pgc_receivable_book);
PG_FUNCTION_INFO_V1(pgc_receivable_book_kept);
PG_FUNCTION_INFO_V1(pgc_receivable_portfolio);
PG_FUNCTION_INFO_V1(pgc_receivable_newly_overdue);

/* the transitions and finals this file runs (aging_agg.c, dso.c, score.c) */
extern Datum aging_trans(PG_FUNCTION_ARGS);
extern Datum dso_trans(PG_FUNCTION_ARGS);
extern Datum dso_due_trans(PG_FUNCTION_ARGS);
extern Datum dso_final(PG_FUNCTION_ARGS);
extern Datum credit_score_trans(PG_FUNCTION_ARGS);
extern Datum credit_score_final(PG_FUNCTION_ARGS);
extern Datum dso_report_trans(PG_FUNCTION_ARGS);
extern Datum best_possible_dso_final(PG_FUNCTION_ARGS);
extern Datum average_days_delinquent_final(PG_FUNCTION_ARGS);

/* The most arguments a transition run here takes, besides its state */
#define BOOK_MAX_ARGS		6

/* Days of DSO's period and of the invoicing sum, as receivable_stats has them */
#define BOOK_DSO_DAYS		90
#define BOOK_INVOICED_DAYS	365

/* A customer key: its bytes (not terminated while looked up) and length */
typedef struct BookKey
{
	const char *data;
	int			len;
} BookKey;

/* One customer's figures while the rows are read */
typedef struct BookEntry
{
	BookKey		customer;		/* a copy in the book's context */
	Datum		aging;			/* the aggregates' states (0 before a row) */
	Datum		dso;
	Datum		score;
	bool		has_oldest;
	int32		oldest;			/* the largest days past due of an open item */
	bool		has_paid;
	DateADT		last_paid;
	int64		invoiced_rows;
	PgcSum		invoiced;
	int64		late_items;		/* _newly_overdue(): the items in the window */
	DateADT		late_first_due;
} BookEntry;

/*
 * The customers' entries, by key: an open-addressing table (simplehash)
 * holding each key's hash and a pointer to its entry, so that finding a
 * customer's states touches little memory besides the states
 */
typedef struct BookSlot
{
	BookKey		key;			/* the entry's copy of the key */
	uint32		hash;
	char		status;
	BookEntry  *entry;
} BookSlot;

#define SH_PREFIX			bookhash
#define SH_ELEMENT_TYPE		BookSlot
#define SH_KEY_TYPE			BookKey
#define SH_KEY				key
#define SH_HASH_KEY(tb, k)	hash_bytes((const unsigned char *) (k).data, (k).len)
#define SH_EQUAL(tb, a, b)	((a).len == (b).len && memcmp((a).data, (b).data, (a).len) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a)	((a)->hash)
#define SH_SCOPE			static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

typedef struct Book
{
	DateADT		as_of;
	bookhash_hash *customers;
	MemoryContext cxt;			/* states, keys and sums */
	MemoryContext rowcxt;		/* reset after each row */
	Datum		zero;			/* numeric 0 */
	size_t		mem_limit;		/* bytes the states may take; 0: no limit */
	int64		entries;		/* customers so far */
	DateADT		year_before;	/* as_of - 365, once a row needs it */
	bool		has_year_before;
	DateADT		window_from;	/* _newly_overdue(): due on or after this */
	DateADT		window_before;	/* and before this */
	bool		kept;			/* _receivable_book_kept(): with the sums of
								 * the portfolio and the newly overdue items */
	bool		has_window;		/* (these, when the window is given) */
	PgcAggCall	call;			/* the context the transitions are run in */
} Book;

/*
 * Run a transition function as its aggregate would: state first, then
 * the arguments; the state lives in the book's context
 */
static Datum
Transition(Book *book, PGFunction fn, Datum state, int nargs, const Datum *args,
		   const bool *nulls)
{
	LOCAL_FCINFO(fc, BOOK_MAX_ARGS + 1);
	Datum		result;

	Assert(nargs <= BOOK_MAX_ARGS);
	InitFunctionCallInfoData(*fc, NULL, nargs + 1, InvalidOid, (Node *) &book->call, NULL);
	fc->args[0].value = state;
	fc->args[0].isnull = state == (Datum) 0;
	for (int i = 0; i < nargs; i++)
	{
		fc->args[i + 1].value = args[i];
		fc->args[i + 1].isnull = nulls[i];
	}
	result = fn(fc);
	Assert(!fc->isnull);
	return result;
}

/* A final function over a state (0: none), NULL when it returns NULL */
static Datum
Final(PGFunction fn, Datum state, bool *isnull)
{
	LOCAL_FCINFO(fc, 1);
	Datum		result;

	InitFunctionCallInfoData(*fc, NULL, 1, InvalidOid, NULL, NULL);
	fc->args[0].value = state;
	fc->args[0].isnull = state == (Datum) 0;
	result = fn(fc);
	*isnull = fc->isnull;
	return result;
}

/*
 * Whether a row of _attached_items('receivables') is an item of the day,
 * as _receivable_items_sql() has them: one with a customer (its column 2),
 * not invoiced (column 8) after the day
 */
static inline bool
ItemOfDay(DateADT as_of, const Datum *v, const bool *n)
{
	return !n[2] && (n[8] || DatumGetDateADT(v[8]) <= as_of);
}

/*
 * An item's open amount on the day, as _receivable_items_sql() has it:
 * NULL when paid by then, the invoice amount when paid after it, else the
 * open amount as it stands when it counts
 */
static Datum
OpenOnDay(DateADT as_of, const Datum *v, const bool *n, bool *isnull)
{
	*isnull = true;
	if (!n[9] && DatumGetDateADT(v[9]) <= as_of)
		return (Datum) 0;
	if (!n[9])
	{
		*isnull = n[7];
		return v[7];
	}
	if (DatumGetBool(v[4]))
	{
		*isnull = n[3];
		return v[3];
	}
	return (Datum) 0;
}

/* The entry of a customer, made on its first row */
static BookEntry *
BookFind(Book *book, Datum customer_text)
{
	text	   *t = DatumGetTextPP(customer_text);
	BookKey		customer;
	BookSlot   *slot;
	bool		found;

	customer.data = VARDATA_ANY(t);
	customer.len = VARSIZE_ANY_EXHDR(t);
	slot = bookhash_insert(book->customers, customer, &found);
	if (!found)
	{
		char	   *copy = MemoryContextAlloc(book->cxt, customer.len + 1);

		memcpy(copy, customer.data, customer.len);
		copy[customer.len] = '\0';
		slot->entry = MemoryContextAllocZero(book->cxt, sizeof(BookEntry));
		slot->entry->customer.data = copy;
		slot->entry->customer.len = customer.len;
		slot->key = slot->entry->customer;

		/*
		 * Within the memory a hash aggregate may take (work_mem times
		 * hash_mem_multiplier), looked at every 64 new customers: beyond it
		 * receivable_stats() aggregates by SQL, which spills to disk
		 */
		if (book->mem_limit > 0 && (++book->entries & 63) == 0 &&
			MemoryContextMemAllocated(book->cxt, true) > book->mem_limit)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("the receivable book needs more memory than a hash aggregate may take"),
					 errdetail("%zu bytes for %lld customers; the limit is %zu bytes.",
							   MemoryContextMemAllocated(book->cxt, true),
							   (long long) book->entries, book->mem_limit),
					 errhint("Raise work_mem or hash_mem_multiplier.")));
	}
	return slot->entry;
}

/*
 * One row of _attached_items('receivables'), as receivable_stats'
 * query takes it (scores.sql, _receivable_items_sql): an item invoiced
 * after the day is left out; its open amount on the day is NULL when
 * paid by then, the invoice amount when paid after it, else the open
 * amount as it stands when it counts.
 */
static void
BookRow(void *arg, const Datum *v, const bool *n)
{
	Book	   *book = (Book *) arg;
	DateADT		as_of = book->as_of;
	Datum		day = DateADTGetDatum(as_of);
	BookEntry  *e;
	Datum		open;
	bool		open_null;
	MemoryContext old;

	/* customer, amount, counts, due, invoice amount, invoiced, paid */
	if (!ItemOfDay(as_of, v, n))
		return;

	old = MemoryContextSwitchTo(book->rowcxt);
	e = BookFind(book, v[2]);

	open = OpenOnDay(as_of, v, n, &open_null);

	/* aging(open_amount, due, as_of) */
	{
		Datum		a[3] = {open, v[6], day};
		bool		an[3] = {open_null, n[6], false};

		e->aging = Transition(book, aging_trans, e->aging, 3, a, an);
	}
	/* max(CASE WHEN open_amount > 0 AND due < as_of THEN as_of - due END) */
	if (!open_null && !n[6] &&
		DatumGetBool(DirectFunctionCall2(numeric_gt, open, book->zero)) &&
		DatumGetDateADT(v[6]) < as_of)
	{
		int32		days = DatumGetInt32(DirectFunctionCall2(date_mi, day, v[6]));

		if (!e->has_oldest || days > e->oldest)
			e->oldest = days;
		e->has_oldest = true;
	}

	/*
	 * dso(invoice_amount, invoiced_on, paid_on, as_of, 90); for the kept
	 * book, with the due date, so that the state counts the receivables not
	 * yet due too (as dso_report() does), which dso() leaves out of its
	 * figure
	 */
	if (book->kept)
	{
		Datum		a[6] = {v[7], v[8], v[6], v[9], day, Int32GetDatum(BOOK_DSO_DAYS)};
		bool		an[6] = {n[7], n[8], n[6], n[9], false, false};

		e->dso = Transition(book, dso_due_trans, e->dso, 6, a, an);
	}
	else
	{
		Datum		a[5] = {v[7], v[8], v[9], day, Int32GetDatum(BOOK_DSO_DAYS)};
		bool		an[5] = {n[7], n[8], n[9], false, false};

		e->dso = Transition(book, dso_trans, e->dso, 5, a, an);
	}
	/* the kept book's newly overdue items, as NewlyOverdueRow() counts them */
	if (book->has_window && !open_null && !n[6] &&
		DatumGetDateADT(v[6]) < book->window_before && DatumGetDateADT(v[6]) >= book->window_from &&
		DatumGetBool(DirectFunctionCall2(numeric_gt, open, book->zero)))
	{
		if (e->late_items == 0 || DatumGetDateADT(v[6]) < e->late_first_due)
			e->late_first_due = DatumGetDateADT(v[6]);
		e->late_items++;
	}
	/* max(paid_on) FILTER (WHERE paid_on <= as_of) */
	if (!n[9] && DatumGetDateADT(v[9]) <= as_of &&
		(!e->has_paid || DatumGetDateADT(v[9]) > e->last_paid))
	{
		e->last_paid = DatumGetDateADT(v[9]);
		e->has_paid = true;
	}
	/* credit_score(invoice_amount, due, paid_on, as_of) */
	{
		Datum		a[4] = {v[7], v[6], v[9], day};
		bool		an[4] = {n[7], n[6], n[9], false};

		e->score = Transition(book, credit_score_trans, e->score, 4, a, an);
	}

	/*
	 * sum(invoice_amount) FILTER (WHERE invoiced_on > as_of - 365 AND
	 * invoiced_on <= as_of); the day less 365 as date_mii computes it
	 */
	if (!n[8] && !n[7] && !book->has_year_before)
	{
		book->year_before = DatumGetDateADT(DirectFunctionCall2(date_mii, day,
																Int32GetDatum(BOOK_INVOICED_DAYS)));
		book->has_year_before = true;
	}
	if (!n[8] && !n[7] && DatumGetDateADT(v[8]) > book->year_before &&
		DatumGetDateADT(v[8]) <= as_of)
	{
		PgcAmount	a;

		pgc_amount_read(v[7], &a, "sum");
		pgc_sum_add(&e->invoiced, &a, 1, book->cxt);
		e->invoiced_rows++;
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(book->rowcxt);
}

/* The day, checked, the result set and the contexts of a pass */
static void
BookStart(FunctionCallInfo fcinfo, Book *book)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("as_of date must not be null")));
	book->as_of = PG_GETARG_DATEADT(0);
	if (DATE_NOT_FINITE(book->as_of))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("as_of date must be finite")));
	InitMaterializedSRF(fcinfo, 0);

	book->cxt = AllocSetContextCreate(CurrentMemoryContext, "pgcredit receivable book",
									  ALLOCSET_DEFAULT_SIZES);
	book->rowcxt = AllocSetContextCreate(CurrentMemoryContext, "pgcredit receivable book row",
										 ALLOCSET_SMALL_SIZES);
	book->zero = NumericGetDatum(int64_to_numeric(0));
	memset(&book->call, 0, sizeof(book->call));
	book->call.node.type = T_ExtensibleNode;
	book->call.node.extnodename = PGC_AGG_CALL_NAME;
	book->call.cxt = book->cxt;
	book->customers = NULL;
	book->mem_limit = 0;
	book->entries = 0;
	book->has_year_before = false;
	book->kept = false;
	book->has_window = false;
}

static Datum
ReceivableBook(FunctionCallInfo fcinfo, bool kept)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Book		book;
	bookhash_iterator iter;
	BookSlot   *slot;

	BookStart(fcinfo, &book);
	book.kept = kept;
	/* the window of the newly overdue items, as _newly_overdue() has it */
	if (kept && !PG_ARGISNULL(1) && !PG_ARGISNULL(2))
	{
		book.window_before = DatumGetDateADT(DirectFunctionCall2(date_mii, DateADTGetDatum(book.as_of),
																 PG_GETARG_DATUM(1)));
		book.window_from = DatumGetDateADT(DirectFunctionCall2(date_mii, DateADTGetDatum(book.window_before),
															   PG_GETARG_DATUM(2)));
		book.has_window = true;
	}

	book.customers = bookhash_create(book.cxt, 1024, NULL);
	book.mem_limit = get_hash_memory_limit();

	pgc_scan_attached_items("receivables", BookRow, &book);

	bookhash_start_iterate(book.customers, &iter);
	while ((slot = bookhash_iterate(book.customers, &iter)) != NULL)
	{
		BookEntry  *e = slot->entry;

		Datum		values[17];
		bool		nulls[17] = {0};
		Numeric		bands[PGC_MAX_AGING_BANDS];
		Numeric		total;

		CHECK_FOR_INTERRUPTS();
		values[0] = PointerGetDatum(cstring_to_text_with_len(e->customer.data, e->customer.len));
		pgc_aging_state_figures(e->aging, bands, &total, NULL);
		values[1] = NumericGetDatum(total);
		for (int i = 0; i < 5; i++)
			values[2 + i] = NumericGetDatum(bands[i]);
		values[7] = Int32GetDatum(e->oldest);
		nulls[7] = !e->has_oldest;
		values[8] = Final(dso_final, e->dso, &nulls[8]);
		values[9] = DateADTGetDatum(e->last_paid);
		nulls[9] = !e->has_paid;
		values[10] = Final(credit_score_final, e->score, &nulls[10]);
		values[11] = NumericGetDatum(pgc_sum_numeric(&e->invoiced));
		nulls[11] = e->invoiced_rows == 0;
		if (kept)
		{
			Numeric		receivables,
						not_due,
						sales;

			pgc_dso_state_sums(e->dso, &receivables, &not_due, &sales);
			values[12] = NumericGetDatum(receivables);
			values[13] = NumericGetDatum(not_due);
			values[14] = NumericGetDatum(sales);
			values[15] = DateADTGetDatum(e->late_first_due);
			nulls[15] = e->late_items == 0;
			values[16] = Int64GetDatum(e->late_items);
			nulls[16] = !book.has_window;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextDelete(book.rowcxt);
	MemoryContextDelete(book.cxt);
	return (Datum) 0;
}

/*
 * SQL: pgcredit._receivable_book(as_of date) returns, per customer with a
 * receivable item invoiced by the day, the columns of receivable_stats():
 * customer, receivables, current, days_1_30, days_31_60, days_61_90,
 * days_over_90, oldest_days_past_due, dso_90, last_payment,
 * behavioural_score, invoiced_12m.  Items under dispute count as every
 * other: receivable_stats() calls it only when no dispute leaves the score.
 */
Datum
pgc_receivable_book(PG_FUNCTION_ARGS)
{
	return ReceivableBook(fcinfo, false);
}

/*
 * SQL: pgcredit._receivable_book_kept(as_of date, overdue_days int,
 * overdue_window int): the same rows, for the kept book, with five more
 * columns: each customer's share of portfolio_stats() (dso_receivables,
 * dso_not_due, dso_sales: the sums of its dso_report()) and of
 * _newly_overdue(as_of, overdue_days, overdue_window) (late_first_due,
 * late_items; NULL without a window)
 */
Datum
pgc_receivable_book_kept(PG_FUNCTION_ARGS)
{
	return ReceivableBook(fcinfo, true);
}

/* The whole ledger's states, for portfolio_stats() */
typedef struct Portfolio
{
	Book		book;			/* the day, the contexts, the call node */
	Datum		aging;			/* the states (0 before a row) */
	Datum		dso;
} Portfolio;

/*
 * One row for the whole ledger, as portfolio_stats()' query takes it:
 * aging(open_amount, due, as_of) and dso_report(invoice_amount,
 * invoiced_on, due, paid_on, as_of, 90) over the items invoiced by the day
 */
static void
PortfolioRow(void *arg, const Datum *v, const bool *n)
{
	Portfolio  *p = (Portfolio *) arg;
	Book	   *book = &p->book;
	DateADT		as_of = book->as_of;
	Datum		day = DateADTGetDatum(as_of);
	bool		open_null;
	Datum		open;
	MemoryContext old;

	if (!ItemOfDay(as_of, v, n))
		return;
	old = MemoryContextSwitchTo(book->rowcxt);
	open = OpenOnDay(as_of, v, n, &open_null);
	{
		Datum		a[3] = {open, v[6], day};
		bool		an[3] = {open_null, n[6], false};

		p->aging = Transition(book, aging_trans, p->aging, 3, a, an);
	}
	{
		Datum		a[6] = {v[7], v[8], v[6], v[9], day, Int32GetDatum(BOOK_DSO_DAYS)};
		bool		an[6] = {n[7], n[8], n[6], n[9], false, false};

		p->dso = Transition(book, dso_report_trans, p->dso, 6, a, an);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(book->rowcxt);
}

/*
 * SQL: pgcredit._receivable_portfolio(as_of date) returns the one row of
 * portfolio_stats(as_of): receivables, current, days_1_30, days_31_60,
 * days_61_90, days_over_90, overdue_pct, dso, best_possible_dso,
 * average_days_delinquent, in one pass over the attached receivables
 */
Datum
pgc_receivable_portfolio(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Portfolio	p;
	Datum		values[10];
	bool		nulls[10] = {0};
	Numeric		bands[PGC_MAX_AGING_BANDS];
	Numeric		total;
	Numeric		overdue_pct;

	memset(&p, 0, sizeof(p));
	BookStart(fcinfo, &p.book);
	pgc_scan_attached_items("receivables", PortfolioRow, &p);

	pgc_aging_state_figures(p.aging, bands, &total, &overdue_pct);
	values[0] = NumericGetDatum(total);
	for (int i = 0; i < 5; i++)
		values[1 + i] = NumericGetDatum(bands[i]);
	values[6] = NumericGetDatum(overdue_pct);
	nulls[6] = overdue_pct == NULL;
	values[7] = Final(dso_final, p.dso, &nulls[7]);
	values[8] = Final(best_possible_dso_final, p.dso, &nulls[8]);
	values[9] = Final(average_days_delinquent_final, p.dso, &nulls[9]);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	MemoryContextDelete(p.book.rowcxt);
	MemoryContextDelete(p.book.cxt);
	return (Datum) 0;
}

/*
 * One row for _newly_overdue(): an item open on the day (by the rule of
 * _receivable_items_sql()) with an amount above zero, due in the window
 */
static void
NewlyOverdueRow(void *arg, const Datum *v, const bool *n)
{
	Book	   *book = (Book *) arg;
	DateADT		as_of = book->as_of;
	DateADT		due;
	bool		open_null;
	Datum		open;
	BookEntry  *e;
	MemoryContext old;

	if (!ItemOfDay(as_of, v, n) || n[6])
		return;
	due = DatumGetDateADT(v[6]);
	if (due >= book->window_before || due < book->window_from)
		return;
	open = OpenOnDay(as_of, v, n, &open_null);
	if (open_null || !DatumGetBool(DirectFunctionCall2(numeric_gt, open, book->zero)))
		return;
	old = MemoryContextSwitchTo(book->rowcxt);
	e = BookFind(book, v[2]);
	if (e->late_items == 0 || due < e->late_first_due)
		e->late_first_due = due;
	e->late_items++;
	MemoryContextSwitchTo(old);
	MemoryContextReset(book->rowcxt);
}

/*
 * SQL: pgcredit._receivable_newly_overdue(as_of date, days int,
 * window_days int) returns the rows of _newly_overdue(): per customer
 * with an open item due before as_of - days and on or after as_of - days
 * - window_days, the first such due date and how many there are
 */
Datum
pgc_receivable_newly_overdue(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Book		book;
	bookhash_iterator iter;
	BookSlot   *slot;

	BookStart(fcinfo, &book);
	/* a NULL number of days matches no item, as in SQL */
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		return (Datum) 0;
	/* the bounds as date - integer computes them, with its errors */
	book.window_before = DatumGetDateADT(DirectFunctionCall2(date_mii, DateADTGetDatum(book.as_of),
															 PG_GETARG_DATUM(1)));
	book.window_from = DatumGetDateADT(DirectFunctionCall2(date_mii, DateADTGetDatum(book.window_before),
														   PG_GETARG_DATUM(2)));
	book.customers = bookhash_create(book.cxt, 256, NULL);
	pgc_scan_attached_items("receivables", NewlyOverdueRow, &book);

	bookhash_start_iterate(book.customers, &iter);
	while ((slot = bookhash_iterate(book.customers, &iter)) != NULL)
	{
		BookEntry  *e = slot->entry;
		Datum		values[3];
		bool		nulls[3] = {0};

		values[0] = PointerGetDatum(cstring_to_text_with_len(e->customer.data, e->customer.len));
		values[1] = DateADTGetDatum(e->late_first_due);
		values[2] = Int64GetDatum(e->late_items);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextDelete(book.rowcxt);
	MemoryContextDelete(book.cxt);
	return (Datum) 0;
}
