/*-------------------------------------------------------------------------
 *
 * replay.c
 *	  Replay a credit policy on the stored history of orders and invoices.
 *
 * pgcredit._replay_walk(draft, from, until, detail) reads every row of the
 * attached order and receivable tables (attach.c's plain heap scans: no
 * code of the tables' owners runs), keeps what the period needs, sorts it
 * by customer and day, and walks each customer's history twice at once:
 * under the live policy (credit_rule, account, settings) and under the
 * named draft (policy_draft_*), as pgcredit._replay_rules() and
 * pgcredit._replay_accounts() hand them over.
 *
 * The model (doc/foresight.md, "Replaying a policy"):
 *
 * - The book at the start of the period is the receivables open then
 *   (invoiced before it, not paid before it) and the orders not yet
 *   invoiced (the customer's orders before the period less its invoices
 *   before the period, when positive).  Both policies start from it.
 * - Each day of a customer: the items paid that day leave exposure (one
 *   paid day at a time, and at each one the held orders are judged
 *   again), then its orders are judged, then its invoices arrive.
 * - An order is judged as the guard judges one: exposure with the order
 *   against the limit in force that day (the temporary limit within its
 *   window) and its tolerance, and the rules of kinds credit_limit,
 *   days_past_due, overdue_amount, largest_order and utilisation, each
 *   kind decided by its most specific scope in force that day, refuse
 *   beating hold; a hold in a table attached in block mode is a refusal.
 *   account_status and limit_expired rules judge today's account and are
 *   not replayed; neither is cover.
 * - Invoices come from the customer's orders first in, first out: the
 *   part of an invoice that comes from an order the policy refused never
 *   exists, the part from a held order waits with it, the part beyond
 *   every order (an invoice without an order) counts as it did.
 * - A held order is released on the first later payment day of its
 *   customer on which it passes; one never released by the end of the
 *   period is lost.
 *
 * Amounts are exact: each one is read as an integer scaled by 10^S, S the
 * largest scale among the rows read (at most 16), and summed in 128 bits;
 * limits and thresholds are truncated to S (an amount of scale S is above
 * a threshold exactly when it is above the threshold truncated to S).
 * Ties (one customer, one day, one kind) are broken by the rows' values,
 * never by where the rows lie in the table, so the result does not depend
 * on row order.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "pgcredit.h"
#include "amount.h"
#include "attach.h"

PG_FUNCTION_INFO_V1(pgc_replay_walk);

#define RP_POLICIES		2
#define RP_MAX_DAYS		36600	/* a period of at most about a century */
#define RP_COLUMNS		24		/* of _replay_walk()'s rows */

/* what a row of the history is to the walk, in the order a day takes them */
typedef enum RpKind
{
	RP_OPENING,					/* a receivable open when the period starts */
	RP_ORDER,
	RP_INVOICE
} RpKind;

typedef enum RpOutcome
{
	RO_PASSED,
	RO_HELD,
	RO_REFUSED
} RpOutcome;

static const char *const outcome_names[] = {"passed", "held", "refused"};

/* the rule kinds the replay judges, in the guard's order */
typedef enum RpRuleKind
{
	RK_NONE,
	RK_NO_ACCOUNT,
	RK_LIMIT,
	RK_PAST_DUE,
	RK_OVERDUE,
	RK_LARGEST,
	RK_UTILISATION,
	RK_COUNT
} RpRuleKind;

static const char *const rule_kind_names[RK_COUNT] = {
	NULL, "no_account_policy", "credit_limit", "days_past_due", "overdue_amount",
	"largest_order", "utilisation"
};

#define SCOPE_EVERYONE	1
#define SCOPE_TIER		2
#define SCOPE_CUSTOMER	3

typedef struct RpRule
{
	int			kind;			/* RpRuleKind */
	bool		refuse;			/* else hold */
	bool		exempt;
	int			scope;
	char	   *scope_value;
	bool		has_days;
	int32		days;
	Numeric		amount;
	Numeric		share;
	Numeric		multiple;
	int32		min_orders;
	bool		has_from;
	DateADT		valid_from;
	bool		has_until;
	DateADT		valid_until;
	int			nexclusions;
	char	  **exclusions;
	int64		amount_s;		/* amount truncated to scale S */
} RpRule;

/* a customer's account under one policy */
typedef struct RpAccount
{
	Numeric		limit;			/* NULL: none */
	Numeric		tolerance;
	Numeric		temporary_limit;	/* NULL: none */
	bool		has_temporary_from;
	DateADT		temporary_from;
	DateADT		temporary_until;
	char	   *tier;
	/* the limits with tolerance, truncated to S */
	int64		allowed_s;
	int64		temporary_allowed_s;
} RpAccount;

/* a policy: its rules and what a customer without an account gets */
typedef struct RpPolicy
{
	int			nrules;
	RpRule	   *rules;
	bool		deny;			/* no_account_policy deny */
	RpAccount	no_account;		/* default_limit: its limit; else none */
} RpPolicy;

typedef struct RpCustomer
{
	char	   *key;
	int			len;
	RpAccount  *account[RP_POLICIES];	/* NULL: none under that policy */
	PgcSum		pre_ordered;	/* orders before the period */
	PgcSum		pre_invoiced;	/* invoices before the period */
	int64		pre_orders;
	bool		seen;			/* a row of the history */
} RpCustomer;

typedef struct RpKey
{
	const char *data;
	int			len;
} RpKey;

typedef struct RpSlot
{
	RpKey		key;
	uint32		hash;
	char		status;
	int32		index;
} RpSlot;

#define SH_PREFIX			rphash
#define SH_ELEMENT_TYPE		RpSlot
#define SH_KEY_TYPE			RpKey
#define SH_KEY				key
#define SH_HASH_KEY(tb, k)	hash_bytes((const unsigned char *) (k).data, (k).len)
#define SH_EQUAL(tb, a, b)	((a).len == (b).len && memcmp((a).data, (b).data, (a).len) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a)	((a)->hash)
#define SH_SCOPE			static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* one row of the history the period needs */
typedef struct RpEvent
{
	int32		cust;
	DateADT		day;
	DateADT		due;			/* DATEVAL_NOEND: none */
	DateADT		paid;			/* DATEVAL_NOEND: not paid */
	int64		val;			/* amount * 10^scale, then * 10^S */
	int16		scale;
	uint8		kind;
	bool		hold_ok;		/* order: its table holds orders */
} RpEvent;

/* what one policy decided for one order (detail) */
typedef struct RpDecision
{
	uint8		outcome;
	uint8		rule;
	DateADT		released;		/* DATEVAL_NOEND: never */
} RpDecision;

/* an order in a customer's queue, invoiced first in, first out */
typedef struct RpQueued
{
	int128		remaining;		/* not invoiced yet */
	int128		amount;
	uint8		status;			/* RO_*, or RQ_ACCEPTED below */
	bool		released;
	DateADT		day;
	int32		event;			/* -1: the backlog before the period */
} RpQueued;

typedef struct RpItem
{
	DateADT		due;
	DateADT		paid;
	int128		amount;
	int32		queued;			/* pending items: their held order */
} RpItem;

/* counters of one customer (or the book) under one policy */
typedef struct RpCounts
{
	int64		orders;
	int128		ordered;
	int64		passed;
	int128		passed_amount;
	int64		held;
	int128		held_amount;
	int64		released;
	int128		released_amount;
	int64		deferred_days;
	int64		refused;
	int128		refused_amount;
	int64		lost;
	int128		lost_amount;
	int128		peak;
	int128		end;
} RpCounts;

/* one policy's walk of one customer */
typedef struct RpState
{
	int128		exposure;
	int64		accepted;		/* orders accepted, for largest_order */
	int128		accepted_sum;
	int			nq,
				qhead,
				qmax;
	RpQueued   *queue;
	int			nopen,
				openmax;
	RpItem	   *open;
	int			npending,
				pendingmax;
	RpItem	   *pending;
	int			nheld;			/* held orders not released yet */
	RpCounts	counts;
} RpState;

typedef struct Replay
{
	DateADT		from;
	DateADT		until;
	int			ndays;
	int			scale;			/* S */
	MemoryContext cxt;
	MemoryContext rowcxt;
	rphash_hash *index;
	int			ncust,
				maxcust;
	RpCustomer *cust;
	int64		nev,
				maxev;
	RpEvent    *ev;
	bool		dated_orders;	/* an order table with an order date */
	List	   *hold_tables;	/* oids of order tables in hold mode */
	RpPolicy	policy[RP_POLICIES];
	int128	   *delta[RP_POLICIES]; /* the book's exposure change by day */
	RpDecision *decisions[RP_POLICIES]; /* detail: by event */
	RpState		state[RP_POLICIES];
} Replay;

/* ----------------------------------------------------------------------
 * Amounts
 * ----------------------------------------------------------------------
 */

static void
TooLarge(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("amount too large to replay"),
			 errdetail("The replay keeps amounts as integers of at most 18 digits with the largest number of decimal places in the ledger."),
			 errhint("Look for amounts of the attached tables above 10^16 or with more than 16 decimal places.")));
}

/* v at scale from, as an integer at scale to (to >= from) */
static int64
Rescale(int64 v, int from, int to)
{
	int64		r;

	if (from == to)
		return v;
	if (__builtin_mul_overflow(v, pgc_pow10_64[to - from], &r))
		TooLarge();
	return r;
}

/*
 * A non-negative threshold (a limit, a rule's amount) truncated to scale
 * S: an amount of scale S passes it exactly when it passes this.  Beyond
 * what the replay's integers hold: the largest one, which nothing passes.
 */
static int64
Threshold(Replay *rp, Numeric n)
{
	PgcAmount	a;
	Numeric		t = DatumGetNumeric(DirectFunctionCall2(numeric_trunc, NumericGetDatum(n),
														Int32GetDatum(rp->scale)));
	int64		r;

	pgc_amount_read(NumericGetDatum(t), &a, "replay_policy");
	if (!a.fast || a.dscale > rp->scale ||
		__builtin_mul_overflow(a.val, pgc_pow10_64[rp->scale - a.dscale], &r))
		return PG_INT64_MAX;
	return r;
}

static Numeric
ToNumeric(Replay *rp, int128 v)
{
	return pgc_int128_numeric(v, rp->scale);
}

/* A sum of the rows as an integer at scale S */
static int128
SumScaled(Replay *rp, PgcSum *s)
{
	PgcAmount	a;

	pgc_amount_read(NumericGetDatum(pgc_sum_numeric(s)), &a, "replay_policy");
	if (!a.fast || a.dscale > rp->scale)
		TooLarge();
	return (int128) Rescale(a.val, a.dscale, rp->scale);
}

/* ----------------------------------------------------------------------
 * The policies
 * ----------------------------------------------------------------------
 */

static RpCustomer *
FindCustomer(Replay *rp, const char *data, int len)
{
	RpKey		k = {data, len};
	bool		found;
	RpSlot	   *slot = rphash_insert(rp->index, k, &found);

	if (!found)
	{
		RpCustomer *c;
		char	   *copy = MemoryContextAlloc(rp->cxt, len + 1);

		memcpy(copy, data, len);
		copy[len] = '\0';
		slot->key.data = copy;
		slot->key.len = len;
		if (rp->ncust == rp->maxcust)
		{
			rp->maxcust *= 2;
			rp->cust = repalloc_huge(rp->cust, sizeof(RpCustomer) * rp->maxcust);
		}
		slot->index = rp->ncust;
		c = &rp->cust[rp->ncust++];
		memset(c, 0, sizeof(RpCustomer));
		c->key = copy;
		c->len = len;
	}
	return &rp->cust[slot->index];
}

static Numeric
SpiNumeric(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? NULL : DatumGetNumeric(datumCopy(d, false, -1));
}

static char *
SpiText(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static bool
SpiDate(HeapTuple tup, TupleDesc desc, int col, DateADT *out)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	if (!isnull)
		*out = DatumGetDateADT(d);
	return !isnull;
}

static int
RuleKindOf(const char *s)
{
	for (int k = RK_LIMIT; k < RK_COUNT; k++)
		if (strcmp(s, rule_kind_names[k]) == 0)
			return k;
	return RK_NONE;
}

/*
 * The rules of both policies and their accounts, from
 * pgcredit._replay_rules(draft) and pgcredit._replay_accounts(draft), and
 * the order tables in hold mode, read with pgcredit's search path
 */
static void
LoadPolicies(Replay *rp, text *draft)
{
	PgcActAs	act;
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {PointerGetDatum(draft)};
	MemoryContext old;
	int			n[RP_POLICIES] = {0};

	pgc_act_as(&act, GetUserId(), false);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pgcredit: SPI_connect failed");
	if (SPI_execute_with_args("SELECT policy, kind, scope, scope_value, action, days, amount, share, "
							  "multiple, min_orders, valid_from, valid_until, exclusions "
							  "FROM pgcredit._replay_rules($1)",
							  1, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "pgcredit: _replay_rules failed");
	old = MemoryContextSwitchTo(rp->cxt);
	for (int p = 0; p < RP_POLICIES; p++)
		rp->policy[p].rules = palloc0(sizeof(RpRule) * Max(SPI_processed, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int			p = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		char	   *kind = SpiText(tup, desc, 2);
		char	   *scope = SpiText(tup, desc, 3);
		char	   *action = SpiText(tup, desc, 5);
		RpRule	   *r;
		Datum		d;

		if (p < 0 || p >= RP_POLICIES || RuleKindOf(kind) == RK_NONE)
			continue;			/* a kind the replay does not judge */
		r = &rp->policy[p].rules[n[p]++];
		r->kind = RuleKindOf(kind);
		r->refuse = strcmp(action, "refuse") == 0;
		r->exempt = strcmp(action, "exempt") == 0;
		r->scope = strcmp(scope, "customer") == 0 ? SCOPE_CUSTOMER :
			strcmp(scope, "tier") == 0 ? SCOPE_TIER : SCOPE_EVERYONE;
		r->scope_value = SpiText(tup, desc, 4);
		d = SPI_getbinval(tup, desc, 6, &isnull);
		r->has_days = !isnull;
		r->days = isnull ? 0 : DatumGetInt32(d);
		r->amount = SpiNumeric(tup, desc, 7);
		r->share = SpiNumeric(tup, desc, 8);
		r->multiple = SpiNumeric(tup, desc, 9);
		d = SPI_getbinval(tup, desc, 10, &isnull);
		r->min_orders = isnull ? 5 : DatumGetInt32(d);
		r->has_from = SpiDate(tup, desc, 11, &r->valid_from);
		r->has_until = SpiDate(tup, desc, 12, &r->valid_until);
		d = SPI_getbinval(tup, desc, 13, &isnull);
		if (!isnull)
		{
			Datum	   *elems;
			bool	   *nulls;
			int			ne;

			deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
							  &elems, &nulls, &ne);
			r->exclusions = palloc(sizeof(char *) * Max(ne, 1));
			for (int j = 0; j < ne; j++)
				if (!nulls[j])
					r->exclusions[r->nexclusions++] = TextDatumGetCString(elems[j]);
		}
	}
	for (int p = 0; p < RP_POLICIES; p++)
		rp->policy[p].nrules = n[p];
	MemoryContextSwitchTo(old);

	if (SPI_execute_with_args("SELECT policy, customer, credit_limit, tolerance_pct, temporary_limit, "
							  "temporary_from, temporary_until, risk_tier, no_account_policy "
							  "FROM pgcredit._replay_accounts($1)",
							  1, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "pgcredit: _replay_accounts failed");
	old = MemoryContextSwitchTo(rp->cxt);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int			p = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		char	   *customer = SpiText(tup, desc, 2);
		RpAccount  *a;

		if (p < 0 || p >= RP_POLICIES)
			continue;
		if (customer == NULL)
		{
			char	   *policy = SpiText(tup, desc, 9);

			a = &rp->policy[p].no_account;
			rp->policy[p].deny = policy != NULL && strcmp(policy, "deny") == 0;
			if (policy == NULL || strcmp(policy, "default_limit") != 0)
				continue;
		}
		else
		{
			RpCustomer *c = FindCustomer(rp, customer, strlen(customer));

			a = c->account[p] = palloc0(sizeof(RpAccount));
		}
		a->limit = SpiNumeric(tup, desc, 3);
		a->tolerance = SpiNumeric(tup, desc, 4);
		a->temporary_limit = SpiNumeric(tup, desc, 5);
		a->has_temporary_from = SpiDate(tup, desc, 6, &a->temporary_from);
		if (!SpiDate(tup, desc, 7, &a->temporary_until))
			a->temporary_limit = NULL;
		a->tier = SpiText(tup, desc, 8);
	}
	MemoryContextSwitchTo(old);

	/* the order tables in hold mode, where a held order waits */
	if (SPI_execute("SELECT relid::oid FROM pgcredit.attachment WHERE kind = 'orders' AND mode = 'hold'",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "pgcredit: reading the attachments failed");
	old = MemoryContextSwitchTo(rp->cxt);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		rp->hold_tables = lappend_oid(rp->hold_tables,
									  DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
																	 SPI_tuptable->tupdesc, 1, &isnull)));
	}
	MemoryContextSwitchTo(old);
	SPI_finish();
	pgc_act_done(&act);
}

/* The limits with tolerance truncated to S, once S is known */
static void
AccountThresholds(Replay *rp, RpAccount *a)
{
	Numeric		tol = a->tolerance ? a->tolerance : int64_to_numeric(0);

	a->allowed_s = a->limit ? Threshold(rp, pgc_limit_with_tolerance(a->limit, tol)) : 0;
	a->temporary_allowed_s = a->temporary_limit ?
		Threshold(rp, pgc_limit_with_tolerance(a->temporary_limit, tol)) : 0;
}

/* ----------------------------------------------------------------------
 * Reading the history
 * ----------------------------------------------------------------------
 */

static void
AddEvent(Replay *rp, RpCustomer *c, RpKind kind, DateADT day, DateADT due, DateADT paid,
		 const PgcAmount *a, bool hold_ok)
{
	RpEvent    *e;

	if (rp->nev == rp->maxev)
	{
		rp->maxev *= 2;
		rp->ev = repalloc_huge(rp->ev, sizeof(RpEvent) * rp->maxev);
	}
	e = &rp->ev[rp->nev++];
	e->cust = c - rp->cust;
	e->day = day;
	e->due = due;
	e->paid = paid;
	e->val = a->val;
	e->scale = a->dscale;
	e->kind = kind;
	e->hold_ok = hold_ok;
	if (a->dscale > rp->scale)
		rp->scale = a->dscale;
}

static void
ReadAmount(Datum d, PgcAmount *a)
{
	pgc_amount_read(d, a, "replay_policy");
	if (!a->fast)
		TooLarge();
}

/*
 * A row of _attached_items(): relid, kind, customer, amount, counts, held,
 * due, invoice amount, invoiced on (an order's order date), paid on
 */
static void
HistoryRow(void *arg, const Datum *v, const bool *n)
{
	Replay	   *rp = (Replay *) arg;
	bool		is_order;
	RpCustomer *c;
	PgcAmount	a;
	text	   *kind;
	char	   *key;
	MemoryContext old;

	if (n[2] || n[3])
		return;
	old = MemoryContextSwitchTo(rp->rowcxt);
	kind = DatumGetTextPP(v[1]);
	is_order = VARSIZE_ANY_EXHDR(kind) == 6 && memcmp(VARDATA_ANY(kind), "orders", 6) == 0;
	key = TextDatumGetCString(v[2]);
	MemoryContextSwitchTo(old);
	c = FindCustomer(rp, key, strlen(key));
	MemoryContextReset(rp->rowcxt);

	if (is_order)
	{
		DateADT		day;

		if (n[8])
			return;				/* no order date: not in the history */
		rp->dated_orders = true;
		day = DatumGetDateADT(v[8]);
		if (day > rp->until)
			return;
		ReadAmount(v[3], &a);
		c->seen = true;
		if (day < rp->from)
		{
			pgc_sum_add(&c->pre_ordered, &a, 1, rp->cxt);
			c->pre_orders++;
			return;
		}
		AddEvent(rp, c, RP_ORDER, day, DATEVAL_NOEND, DATEVAL_NOEND, &a,
				 list_member_oid(rp->hold_tables, DatumGetObjectId(v[0])));
	}
	else
	{
		DateADT		paid = n[9] ? DATEVAL_NOEND : DatumGetDateADT(v[9]);
		DateADT		due = n[6] ? DATEVAL_NOEND : DatumGetDateADT(v[6]);

		ReadAmount(n[7] ? v[3] : v[7], &a);
		if (!n[8] && DatumGetDateADT(v[8]) > rp->until)
			return;
		c->seen = true;
		if (!n[8] && DatumGetDateADT(v[8]) >= rp->from)
		{
			AddEvent(rp, c, RP_INVOICE, DatumGetDateADT(v[8]), due, paid, &a, false);
			return;
		}
		if (!n[8])
			pgc_sum_add(&c->pre_invoiced, &a, 1, rp->cxt);
		/* open when the period starts: not paid before it (or still counting) */
		if (n[9] ? DatumGetBool(v[4]) : paid >= rp->from)
			AddEvent(rp, c, RP_OPENING, rp->from, due, paid, &a, false);
	}
}

static int
EventCmp(const void *pa, const void *pb)
{
	const RpEvent *a = pa;
	const RpEvent *b = pb;

	if (a->cust != b->cust)
		return a->cust < b->cust ? -1 : 1;
	if (a->day != b->day)
		return a->day < b->day ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->val != b->val)
		return a->val < b->val ? -1 : 1;
	if (a->due != b->due)
		return a->due < b->due ? -1 : 1;
	if (a->paid != b->paid)
		return a->paid < b->paid ? -1 : 1;
	if (a->hold_ok != b->hold_ok)
		return a->hold_ok ? 1 : -1;
	return 0;
}

/* ----------------------------------------------------------------------
 * Judging an order
 * ----------------------------------------------------------------------
 */

static int
Applies(const RpRule *r, const RpCustomer *c, const char *tier, DateADT day)
{
	if ((r->has_from && day < r->valid_from) || (r->has_until && day > r->valid_until))
		return 0;
	if (r->scope == SCOPE_CUSTOMER)
		return strlen(r->scope_value) == (size_t) c->len &&
			memcmp(r->scope_value, c->key, c->len) == 0 ? SCOPE_CUSTOMER : 0;
	if (r->scope == SCOPE_TIER && (tier == NULL || strcmp(r->scope_value, tier) != 0))
		return 0;
	for (int i = 0; i < r->nexclusions; i++)
		if (strcmp(r->exclusions[i], c->key) == 0)
			return 0;
	return r->scope;
}

/* The limit in force on day (NULL: none) and its threshold with tolerance */
static Numeric
LimitInForce(Replay *rp, int p, RpCustomer *c, DateADT day, int64 *allowed)
{
	RpAccount  *a = c->account[p];

	if (a == NULL)
		a = &rp->policy[p].no_account;
	if (a->temporary_limit != NULL && day <= a->temporary_until &&
		(!a->has_temporary_from || day >= a->temporary_from))
	{
		*allowed = a->temporary_allowed_s;
		return a->temporary_limit;
	}
	*allowed = a->allowed_s;
	return a->limit;
}

/* share * limit, truncated to S */
static int64
ShareOf(Replay *rp, Numeric share, Numeric limit)
{
	return Threshold(rp, numeric_mul_opt_error(share, limit, NULL));
}

/*
 * Whether rule r stops an order of amount on day, exposure being with
 * what the order adds
 */
static bool
Fires(Replay *rp, RpState *s, const RpRule *r, Numeric limit, int64 allowed, DateADT day,
	  int128 exposure, int128 amount)
{
	switch (r->kind)
	{
		case RK_LIMIT:
			return limit != NULL && exposure > allowed;
		case RK_PAST_DUE:
			for (int i = 0; i < s->nopen; i++)
				if (s->open[i].amount > 0 && s->open[i].due != DATEVAL_NOEND &&
					(int64) s->open[i].due < (int64) day - r->days)
					return true;
			return false;
		case RK_OVERDUE:
			{
				int64		days = r->has_days ? r->days : 0;
				int128		overdue = 0;

				for (int i = 0; i < s->nopen; i++)
					if (s->open[i].amount > 0 && s->open[i].due != DATEVAL_NOEND &&
						(int64) s->open[i].due < (int64) day - days)
						overdue += s->open[i].amount;
				if (r->amount != NULL)
					return overdue > r->amount_s;
				return r->share != NULL && limit != NULL && overdue > ShareOf(rp, r->share, limit);
			}
		case RK_LARGEST:
			if (r->amount != NULL)
				return amount > r->amount_s;
			if (r->multiple != NULL && s->accepted >= r->min_orders && s->accepted > 0)
			{
				Numeric		usual = DatumGetNumeric(DirectFunctionCall2(numeric_round,
																		NumericGetDatum(numeric_div_opt_error(ToNumeric(rp, s->accepted_sum),
																											  int64_to_numeric(s->accepted), NULL)),
																		Int32GetDatum(2)));

				return amount > Threshold(rp, numeric_mul_opt_error(r->multiple, usual, NULL));
			}
			return false;
		case RK_UTILISATION:
			return limit != NULL && exposure > ShareOf(rp, r->share, limit);
	}
	return false;
}

/*
 * What policy p does with an order of amount that adds add to exposure on
 * day: RO_PASSED, RO_HELD or RO_REFUSED, and the kind that decided
 */
static int
Judge(Replay *rp, int p, RpCustomer *c, DateADT day, int128 add, int128 amount, bool hold_ok,
	  uint8 *rule)
{
	RpState    *s = &rp->state[p];
	RpPolicy   *pol = &rp->policy[p];
	const char *tier = c->account[p] ? c->account[p]->tier : NULL;
	int64		allowed;
	Numeric		limit = LimitInForce(rp, p, c, day, &allowed);
	int128		exposure = s->exposure + add;
	int			verdict = RO_PASSED;

	*rule = RK_NONE;
	if (c->account[p] == NULL && pol->deny)
	{
		verdict = RO_HELD;
		*rule = RK_NO_ACCOUNT;
	}
	for (int k = RK_LIMIT; k < RK_COUNT && verdict != RO_REFUSED; k++)
	{
		int			best = 0;

		for (int i = 0; i < pol->nrules; i++)
			if (pol->rules[i].kind == k)
				best = Max(best, Applies(&pol->rules[i], c, tier, day));
		if (best == 0)
			continue;
		for (int i = 0; i < pol->nrules && verdict != RO_REFUSED; i++)
		{
			const RpRule *r = &pol->rules[i];

			if (r->kind != k || r->exempt || Applies(r, c, tier, day) != best)
				continue;
			if (verdict != RO_PASSED && !r->refuse)
				continue;
			if (Fires(rp, s, r, limit, allowed, day, exposure, amount))
			{
				verdict = r->refuse ? RO_REFUSED : RO_HELD;
				*rule = k;
			}
		}
	}
	if (verdict == RO_HELD && !hold_ok)
		verdict = RO_REFUSED;
	return verdict;
}

/* ----------------------------------------------------------------------
 * The walk
 * ----------------------------------------------------------------------
 */

static inline int
DayIndex(Replay *rp, DateADT day)
{
	return day < rp->from ? 0 : day - rp->from;
}

static void
Change(Replay *rp, int p, DateADT day, int128 by)
{
	RpState    *s = &rp->state[p];

	if (by == 0)
		return;
	s->exposure += by;
	rp->delta[p][DayIndex(rp, day)] += by;
	if (s->exposure > s->counts.peak)
		s->counts.peak = s->exposure;
}

static void
AddItem(RpItem **items, int *n, int *max, DateADT due, DateADT paid, int128 amount, int32 queued)
{
	if (*n == *max)
	{
		*max = *max == 0 ? 16 : *max * 2;
		*items = *items ? repalloc(*items, sizeof(RpItem) * *max) : palloc(sizeof(RpItem) * *max);
	}
	(*items)[*n].due = due;
	(*items)[*n].paid = paid;
	(*items)[*n].amount = amount;
	(*items)[*n].queued = queued;
	(*n)++;
}

static void
Accept(RpState *s, int128 amount)
{
	s->accepted++;
	s->accepted_sum += amount;
}

/* Judge the held orders again on day, releasing those that pass now */
static void
Release(Replay *rp, int p, RpCustomer *c, DateADT day)
{
	RpState    *s = &rp->state[p];

	for (int q = 0; q < s->nq && s->nheld > 0; q++)
	{
		RpQueued   *o = &s->queue[q];
		int128		add = o->remaining;
		uint8		rule;

		if (o->status != RO_HELD || o->released)
			continue;
		for (int i = 0; i < s->npending; i++)
			if (s->pending[i].queued == q)
				add += s->pending[i].amount;
		if (Judge(rp, p, c, day, add, o->amount, true, &rule) != RO_PASSED)
			continue;
		o->released = true;
		s->nheld--;
		Change(rp, p, day, add);
		Accept(s, o->amount);
		s->counts.released++;
		s->counts.released_amount += o->amount;
		s->counts.deferred_days += day - o->day;
		if (rp->decisions[p] && o->event >= 0)
			rp->decisions[p][o->event].released = day;
		/* its invoices waiting with it count from now */
		for (int i = 0; i < s->npending;)
		{
			RpItem	   *it = &s->pending[i];

			if (it->queued != q)
			{
				i++;
				continue;
			}
			AddItem(&s->open, &s->nopen, &s->openmax, it->due, it->paid, it->amount, -1);
			*it = s->pending[--s->npending];
		}
	}
}

/*
 * The payments up to day: one paid day at a time, the items paid that day
 * leave exposure (and the waiting parts of held orders are dropped), and
 * the held orders are judged again
 */
static void
Payments(Replay *rp, int p, RpCustomer *c, DateADT day)
{
	RpState    *s = &rp->state[p];

	for (;;)
	{
		DateADT		next = DATEVAL_NOEND;

		for (int i = 0; i < s->nopen; i++)
			if (s->open[i].paid < next)
				next = s->open[i].paid;
		for (int i = 0; i < s->npending; i++)
			if (s->pending[i].paid < next)
				next = s->pending[i].paid;
		if (next == DATEVAL_NOEND || next > day)
			return;
		for (int i = 0; i < s->nopen;)
		{
			if (s->open[i].paid == next)
			{
				Change(rp, p, next, -s->open[i].amount);
				s->open[i] = s->open[--s->nopen];
			}
			else
				i++;
		}
		for (int i = 0; i < s->npending;)
		{
			if (s->pending[i].paid == next)
				s->pending[i] = s->pending[--s->npending];
			else
				i++;
		}
		Release(rp, p, c, next);
	}
}

static void
Enqueue(RpState *s, int128 amount, uint8 status, DateADT day, int32 event)
{
	if (s->nq == s->qmax)
	{
		s->qmax = s->qmax == 0 ? 16 : s->qmax * 2;
		s->queue = s->queue ? repalloc(s->queue, sizeof(RpQueued) * s->qmax) :
			palloc(sizeof(RpQueued) * s->qmax);
	}
	s->queue[s->nq].remaining = amount;
	s->queue[s->nq].amount = amount;
	s->queue[s->nq].status = status;
	s->queue[s->nq].released = false;
	s->queue[s->nq].day = day;
	s->queue[s->nq].event = event;
	s->nq++;
}

static void
Order(Replay *rp, int p, RpCustomer *c, const RpEvent *e, int32 event)
{
	RpState    *s = &rp->state[p];
	int128		amount = e->val;
	uint8		rule;
	int			verdict = Judge(rp, p, c, e->day, amount, amount, e->hold_ok, &rule);

	s->counts.orders++;
	s->counts.ordered += amount;
	Enqueue(s, amount, verdict, e->day, event);
	switch (verdict)
	{
		case RO_PASSED:
			Change(rp, p, e->day, amount);
			Accept(s, amount);
			s->counts.passed++;
			s->counts.passed_amount += amount;
			break;
		case RO_HELD:
			s->nheld++;
			s->counts.held++;
			s->counts.held_amount += amount;
			break;
		default:
			s->counts.refused++;
			s->counts.refused_amount += amount;
			break;
	}
	if (rp->decisions[p])
	{
		rp->decisions[p][event].outcome = verdict;
		rp->decisions[p][event].rule = rule;
		rp->decisions[p][event].released = DATEVAL_NOEND;
	}
}

/* An invoice: from the queued orders first in, first out, then on its own */
static void
Invoice(Replay *rp, int p, const RpEvent *e)
{
	RpState    *s = &rp->state[p];
	int128		rest = e->val;
	int128		counted = 0;
	int128		from_orders = 0;
	bool		open = e->paid == DATEVAL_NOEND || e->paid > e->day;

	while (rest > 0 && s->qhead < s->nq)
	{
		RpQueued   *o = &s->queue[s->qhead];
		int128		x;

		/* an order of nothing (or a negative one) takes no invoice */
		if (o->remaining <= 0)
		{
			s->qhead++;
			continue;
		}
		x = Min(rest, o->remaining);

		o->remaining -= x;
		rest -= x;
		if (o->status == RO_PASSED || o->released)
		{
			counted += x;
			from_orders += x;
		}
		else if (o->status == RO_HELD && open)
			AddItem(&s->pending, &s->npending, &s->pendingmax, e->due, e->paid, x, s->qhead);
		if (o->remaining == 0)
			s->qhead++;
	}
	counted += rest;
	/* the ordered part was in exposure already, as an order */
	Change(rp, p, e->day, (open ? counted : 0) - from_orders);
	if (open && counted != 0)
		AddItem(&s->open, &s->nopen, &s->openmax, e->due, e->paid, counted, -1);
}

static void
AddCounts(RpCounts *to, const RpCounts *c)
{
	to->orders += c->orders;
	to->ordered += c->ordered;
	to->passed += c->passed;
	to->passed_amount += c->passed_amount;
	to->held += c->held;
	to->held_amount += c->held_amount;
	to->released += c->released;
	to->released_amount += c->released_amount;
	to->deferred_days += c->deferred_days;
	to->refused += c->refused;
	to->refused_amount += c->refused_amount;
	to->lost += c->lost;
	to->lost_amount += c->lost_amount;
	to->end += c->end;
}

/* The counts as columns 2 to 14 of _replay_walk() */
static void
CountValues(Replay *rp, const RpCounts *k, Datum *values)
{
	values[2] = Int64GetDatum(k->orders);
	values[3] = NumericGetDatum(ToNumeric(rp, k->ordered));
	values[4] = Int64GetDatum(k->passed);
	values[5] = NumericGetDatum(ToNumeric(rp, k->passed_amount));
	values[6] = Int64GetDatum(k->held);
	values[7] = NumericGetDatum(ToNumeric(rp, k->held_amount));
	values[8] = Int64GetDatum(k->released);
	values[9] = NumericGetDatum(ToNumeric(rp, k->released_amount));
	values[10] = Int64GetDatum(k->deferred_days);
	values[11] = Int64GetDatum(k->refused);
	values[12] = NumericGetDatum(ToNumeric(rp, k->refused_amount));
	values[13] = Int64GetDatum(k->lost);
	values[14] = NumericGetDatum(ToNumeric(rp, k->lost_amount));
}

/* Walk one customer's events [first, last) under both policies */
static void
WalkCustomer(Replay *rp, RpCustomer *c, int64 first, int64 last)
{
	int128		backlog = SumScaled(rp, &c->pre_ordered) - SumScaled(rp, &c->pre_invoiced);

	for (int p = 0; p < RP_POLICIES; p++)
	{
		RpState    *s = &rp->state[p];

		s->exposure = 0;
		s->nq = s->qhead = 0;
		s->nopen = s->npending = 0;
		memset(&s->counts, 0, sizeof(RpCounts));
		s->accepted = c->pre_orders;
		s->accepted_sum = SumScaled(rp, &c->pre_ordered);
		if (backlog > 0)
		{
			Enqueue(s, backlog, RO_PASSED, rp->from, -1);
			Change(rp, p, rp->from, backlog);
		}
	}
	for (int64 i = first; i < last; i++)
	{
		RpEvent    *e = &rp->ev[i];

		CHECK_FOR_INTERRUPTS();
		for (int p = 0; p < RP_POLICIES; p++)
		{
			Payments(rp, p, c, e->day);
			switch (e->kind)
			{
				case RP_OPENING:
					if (e->paid == DATEVAL_NOEND || e->paid >= rp->from)
					{
						Change(rp, p, rp->from, e->val);
						AddItem(&rp->state[p].open, &rp->state[p].nopen, &rp->state[p].openmax,
								e->due, e->paid, e->val, -1);
					}
					break;
				case RP_ORDER:
					Order(rp, p, c, e, (int32) i);
					break;
				default:
					Invoice(rp, p, e);
					break;
			}
		}
	}
	for (int p = 0; p < RP_POLICIES; p++)
	{
		RpState    *s = &rp->state[p];

		Payments(rp, p, c, rp->until);
		for (int q = 0; q < s->nq; q++)
			if (s->queue[q].status == RO_HELD && !s->queue[q].released)
			{
				s->counts.lost++;
				s->counts.lost_amount += s->queue[q].amount;
			}
		s->counts.end = s->exposure;
	}
}

/* ----------------------------------------------------------------------
 * SQL: pgcredit._replay_walk(draft text, period_from date, period_until
 * date, detail boolean)
 *
 * Without detail: a row per policy (0 live, 1 the draft) and customer
 * with its counts, and a row per policy with customer NULL for the whole
 * book (its counts, peak and average exposure).  With detail: a row per
 * order of the period and policy, with what the policy did with it.
 * ----------------------------------------------------------------------
 */
Datum
pgc_replay_walk(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Replay		rp;
	bool		detail;
	int64		first;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the draft, the period and detail must not be null")));
	memset(&rp, 0, sizeof(rp));
	rp.from = PG_GETARG_DATEADT(1);
	rp.until = PG_GETARG_DATEADT(2);
	detail = PG_GETARG_BOOL(3);
	if (DATE_NOT_FINITE(rp.from) || DATE_NOT_FINITE(rp.until))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("the period must have finite dates")));
	if (rp.until < rp.from || (int64) rp.until - rp.from >= RP_MAX_DAYS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid period"),
				 errdetail("The period must end on or after its first day and span at most %d days.",
						   RP_MAX_DAYS)));
	InitMaterializedSRF(fcinfo, 0);
	rp.ndays = rp.until - rp.from + 1;
	rp.scale = 2;
	rp.cxt = AllocSetContextCreate(CurrentMemoryContext, "pgcredit replay", ALLOCSET_DEFAULT_SIZES);
	rp.rowcxt = AllocSetContextCreate(CurrentMemoryContext, "pgcredit replay row",
									  ALLOCSET_SMALL_SIZES);
	rp.index = rphash_create(rp.cxt, 1024, NULL);
	rp.maxcust = 1024;
	rp.cust = MemoryContextAllocHuge(rp.cxt, sizeof(RpCustomer) * rp.maxcust);
	rp.maxev = 4096;
	rp.ev = MemoryContextAllocHuge(rp.cxt, sizeof(RpEvent) * rp.maxev);

	LoadPolicies(&rp, PG_GETARG_TEXT_PP(0));


	pgc_scan_attached_items(NULL, HistoryRow, &rp);

	/* every amount at scale S; the sort then compares them as integers */
	for (int64 i = 0; i < rp.nev; i++)
	{
		rp.ev[i].val = Rescale(rp.ev[i].val, rp.ev[i].scale, rp.scale);
		rp.ev[i].scale = rp.scale;
	}
	qsort(rp.ev, rp.nev, sizeof(RpEvent), EventCmp);
	for (int p = 0; p < RP_POLICIES; p++)
	{
		RpPolicy   *pol = &rp.policy[p];

		for (int i = 0; i < pol->nrules; i++)
			if (pol->rules[i].amount)
				pol->rules[i].amount_s = Threshold(&rp, pol->rules[i].amount);
		AccountThresholds(&rp, &pol->no_account);
		rp.delta[p] = MemoryContextAllocZero(rp.cxt, sizeof(int128) * (rp.ndays + 1));
		if (detail)
			rp.decisions[p] = MemoryContextAllocHuge(rp.cxt, sizeof(RpDecision) * Max(rp.nev, 1));
	}
	for (int i = 0; i < rp.ncust; i++)
		for (int p = 0; p < RP_POLICIES; p++)
			if (rp.cust[i].account[p])
				AccountThresholds(&rp, rp.cust[i].account[p]);

	/* each customer with a history, in turn */
	{
		RpCounts	book[RP_POLICIES] = {0};
		MemoryContext walkcxt = AllocSetContextCreate(rp.cxt, "pgcredit replay walk",
													  ALLOCSET_DEFAULT_SIZES);
		int64		i = 0;
		bool	   *walked = MemoryContextAllocZero(rp.cxt, Max(rp.ncust, 1));

		first = 0;
		for (int next = 0;;)
		{
			RpCustomer *c;
			MemoryContext old;
			int			ci;

			/* the customers with events, then those with only a backlog */
			if (first < rp.nev)
			{
				ci = rp.ev[first].cust;
				for (i = first; i < rp.nev && rp.ev[i].cust == ci; i++)
					;
			}
			else
			{
				while (next < rp.ncust && (walked[next] || !rp.cust[next].seen))
					next++;
				if (next == rp.ncust)
					break;
				ci = next;
				i = first;
			}
			c = &rp.cust[ci];
			walked[ci] = true;
			old = MemoryContextSwitchTo(walkcxt);
			memset(rp.state, 0, sizeof(rp.state));
			WalkCustomer(&rp, c, first, i);
			for (int p = 0; p < RP_POLICIES; p++)
			{
				RpCounts   *k = &rp.state[p].counts;

				AddCounts(&book[p], k);
				if (!detail && (k->orders > 0 || k->peak > 0 || k->end != 0))
				{
					Datum		values[RP_COLUMNS];
					bool		nulls[RP_COLUMNS] = {0};

					values[0] = Int16GetDatum(p);
					values[1] = PointerGetDatum(cstring_to_text_with_len(c->key, c->len));
					CountValues(&rp, k, values);
					values[15] = NumericGetDatum(ToNumeric(&rp, k->peak));
					values[16] = NumericGetDatum(ToNumeric(&rp, k->end));
					for (int x = 17; x < RP_COLUMNS; x++)
						nulls[x] = true;
					tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
				}
			}
			MemoryContextSwitchTo(old);
			MemoryContextReset(walkcxt);
			first = i;
		}

		if (!detail)
		{
			for (int p = 0; p < RP_POLICIES; p++)
			{
				RpCounts   *k = &book[p];
				int128		level = 0,
							peak = 0,
							total = 0,
							start = 0;
				int			peak_day = 0;
				Datum		values[RP_COLUMNS];
				bool		nulls[RP_COLUMNS] = {0};

				for (int d = 0; d < rp.ndays; d++)
				{
					level += rp.delta[p][d];
					if (d == 0)
						start = level;
					if (level > peak || d == 0)
					{
						peak = level;
						peak_day = d;
					}
					total += level;
				}
				values[0] = Int16GetDatum(p);
				nulls[1] = true;
				CountValues(&rp, k, values);
				values[15] = NumericGetDatum(ToNumeric(&rp, peak));
				values[16] = NumericGetDatum(ToNumeric(&rp, level));
				values[17] = DateADTGetDatum(rp.from + peak_day);
				values[18] = NumericGetDatum(pgc_numeric_div_round(ToNumeric(&rp, total),
																   int64_to_numeric(rp.ndays), 2));
				values[19] = NumericGetDatum(ToNumeric(&rp, start));
				for (int x = 20; x < RP_COLUMNS; x++)
					nulls[x] = true;
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			}
		}
		else
		{
			for (int64 e = 0; e < rp.nev; e++)
			{
				RpEvent    *ev = &rp.ev[e];

				if (ev->kind != RP_ORDER)
					continue;
				for (int p = 0; p < RP_POLICIES; p++)
				{
					RpDecision *d = &rp.decisions[p][e];
					Datum		values[RP_COLUMNS];
					bool		nulls[RP_COLUMNS];

					memset(nulls, true, sizeof(nulls));
					values[0] = Int16GetDatum(p);
					nulls[0] = false;
					values[1] = PointerGetDatum(cstring_to_text_with_len(rp.cust[ev->cust].key,
																		 rp.cust[ev->cust].len));
					nulls[1] = false;
					values[2] = Int64GetDatum(e + 1);
					nulls[2] = false;
					values[3] = NumericGetDatum(ToNumeric(&rp, ev->val));
					nulls[3] = false;
					values[22] = DateADTGetDatum(ev->day);
					nulls[22] = false;
					values[20] = CStringGetTextDatum(outcome_names[d->outcome]);
					nulls[20] = false;
					if (d->rule != RK_NONE)
					{
						values[21] = CStringGetTextDatum(rule_kind_names[d->rule]);
						nulls[21] = false;
					}
					if (d->released != DATEVAL_NOEND)
					{
						values[23] = DateADTGetDatum(d->released);
						nulls[23] = false;
					}
					tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
				}
			}
		}
	}
	if (!rp.dated_orders)
		ereport(NOTICE,
				(errmsg("no attached order table has order dates: the replay judged no order"),
				 errhint("Give the order date column with pgcredit.set_order_date_column().")));
	MemoryContextDelete(rp.rowcxt);
	MemoryContextDelete(rp.cxt);
	return (Datum) 0;
}
