/*-------------------------------------------------------------------------
 *
 * guard_rules.c
 *	  The credit policy as data: the rules of pgcredit.credit_rule, kept
 *	  in each backend, and the judgement of one raise of a customer's
 *	  exposure by them, shared by the guard and check_order().
 *
 * The rules are read from the table once, with a heap scan, and kept in
 * CacheMemoryContext.  Every statement that changes the table fires
 * pgcredit._rules_changed(), which invalidates the table's relcache entry
 * in every backend (sent when the change commits, undone locally when it
 * aborts); a relcache callback then forgets the kept rules, and the next
 * order reads them again.  An order costs no SQL statement for the rules
 * themselves: everything they judge is on the customer's exposure row
 * that the guard has just locked, except the past-due receivables of the
 * days_past_due and overdue_amount kinds, which are asked through the
 * caller's queries only when such a rule applies to the customer.
 *
 * For each kind, the rules of the most specific scope that has a live
 * rule for the customer apply: customer, then risk tier, then everyone.
 * A rule whose action is exempt is live in that sense: at its scope it
 * replaces the wider rules of its kind (the built-in ones too) and stops
 * nothing; what it would have stopped is reported like a shadow rule's.
 * Kinds are judged in a fixed order (account status, the no-account
 * setting, credit limit, days past due, overdue amount, largest order,
 * utilisation, limit expired); the first rule that fires decides, except
 * that a rule whose action is refuse overrides an earlier one that would
 * only hold.  Shadow rules are judged beside them, each on its own, and
 * only reported to the caller's sink.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/sinval.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "pgtime.h"

#include "pgcredit.h"
#include "amount.h"
#include "guard_cover.h"
#include "guard_rules.h"

PG_FUNCTION_INFO_V1(pgc_rules_changed);

typedef enum RuleKind
{
	KIND_STATUS,
	KIND_LIMIT,
	KIND_PAST_DUE,
	KIND_OVERDUE,
	KIND_LARGEST,
	KIND_UTILISATION,
	KIND_EXPIRED,
	NKINDS
} RuleKind;

static const char *const kind_names[NKINDS] = {
	"account_status", "credit_limit", "days_past_due", "overdue_amount",
	"largest_order", "utilisation", "limit_expired"
};

typedef enum RuleAction
{
	ACTION_REFUSE,
	ACTION_HOLD,
	ACTION_SHADOW,
	ACTION_EXEMPT				/* wins its scope, stops nothing, reported */
} RuleAction;

/* scope ranks: the more specific, the higher */
#define SCOPE_EVERYONE	1
#define SCOPE_TIER		2
#define SCOPE_CUSTOMER	3

#define STATUS_BIT(s) \
	(strcmp((s), "ok") == 0 ? 1 : strcmp((s), "watch") == 0 ? 2 : \
	 strcmp((s), "hold") == 0 ? 4 : strcmp((s), "blocked") == 0 ? 8 : 0)

/* One rule as the guard keeps it */
typedef struct Rule
{
	int64		id;
	RuleKind	kind;
	RuleAction	action;
	int			scope;
	char	   *scope_value;
	bool		has_days;
	int32		days;
	Numeric		amount;
	Numeric		share;
	Numeric		multiple;
	int32		min_orders;
	int			statuses;		/* STATUS_BIT mask */
	bool		has_from;
	DateADT		valid_from;
	bool		has_until;
	DateADT		valid_until;
	int			nexclusions;
	char	  **exclusions;
} Rule;

static MemoryContext rules_cxt = NULL;
static bool rules_valid = false;
static Oid	rules_relid = InvalidOid;
static int	nrules = 0;
static Rule *rules = NULL;

/* Forget the rules when the table changes (or every cache is reset) */
static void
RulesCallback(Datum arg, Oid relid)
{
	/* without the table (version 1.0), watch for it to be created */
	if (relid == InvalidOid || relid == rules_relid || !OidIsValid(rules_relid))
		rules_valid = false;
}

/*
 * A database still at version 1.0 has no rule table: its checks are the
 * built-in rules, and the days past due of its settings (in the judge).
 */
static void
LegacyRules(void)
{
	rules = MemoryContextAllocZero(rules_cxt, sizeof(Rule) * 2);
	rules[0].id = 1;
	rules[0].kind = KIND_STATUS;
	rules[0].action = ACTION_HOLD;
	rules[0].scope = SCOPE_EVERYONE;
	rules[0].statuses = STATUS_BIT("hold") | STATUS_BIT("blocked");
	rules[1].id = 2;
	rules[1].kind = KIND_LIMIT;
	rules[1].action = ACTION_HOLD;
	rules[1].scope = SCOPE_EVERYONE;
	nrules = 2;
}

static int
KindOf(const char *name)
{
	for (int k = 0; k < NKINDS; k++)
		if (strcmp(kind_names[k], name) == 0)
			return k;
	elog(ERROR, "pgcredit: unknown rule kind \"%s\"", name);
	return -1;
}

static AttrNumber
RuleColumn(Relation rel, const char *name)
{
	AttrNumber	att = get_attnum(RelationGetRelid(rel), name);

	if (att == InvalidAttrNumber)
		elog(ERROR, "pgcredit: column \"%s\" of pgcredit.credit_rule is missing", name);
	return att;
}

static Numeric
NumericOrNull(TupleTableSlot *slot, AttrNumber att)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, att, &isnull);

	return isnull ? NULL : DatumGetNumericCopy(d);
}

/* Read every rule of the table into rules_cxt */
static void
LoadRules(void)
{
	static bool registered = false;
	Oid			nsp;
	Relation	rel;
	TupleTableSlot *slot;
	TableScanDesc scan;
	Snapshot	snap;
	MemoryContext old;
	int			room = 16;
	AttrNumber	a_id,
				a_kind,
				a_scope,
				a_value,
				a_action,
				a_days,
				a_amount,
				a_share,
				a_multiple,
				a_min,
				a_statuses,
				a_from,
				a_until,
				a_excl;

	if (!registered)
	{
		pgc_register_relcache_callback(RulesCallback, (Datum) 0);
		registered = true;
	}
	if (rules_cxt == NULL)
		rules_cxt = AllocSetContextCreate(CacheMemoryContext, "pgcredit rules",
										  ALLOCSET_SMALL_SIZES);
	MemoryContextReset(rules_cxt);
	nrules = 0;
	rules = NULL;

	nsp = get_namespace_oid("pgcredit", false);
	rules_relid = get_relname_relid("credit_rule", nsp);
	/* valid from here: a change from now on invalidates what is read */
	rules_valid = true;
	if (!OidIsValid(rules_relid))
	{
		LegacyRules();
		return;
	}

	rel = table_open(rules_relid, AccessShareLock);
	a_id = RuleColumn(rel, "id");
	a_kind = RuleColumn(rel, "kind");
	a_scope = RuleColumn(rel, "scope");
	a_value = RuleColumn(rel, "scope_value");
	a_action = RuleColumn(rel, "action");
	a_days = RuleColumn(rel, "days");
	a_amount = RuleColumn(rel, "amount");
	a_share = RuleColumn(rel, "share");
	a_multiple = RuleColumn(rel, "multiple");
	a_min = RuleColumn(rel, "min_orders");
	a_statuses = RuleColumn(rel, "statuses");
	a_from = RuleColumn(rel, "valid_from");
	a_until = RuleColumn(rel, "valid_until");
	a_excl = RuleColumn(rel, "exclusions");

	old = MemoryContextSwitchTo(rules_cxt);
	rules = palloc0(sizeof(Rule) * room);
	snap = RegisterSnapshot(GetLatestSnapshot());
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, snap, 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		Rule	   *r;
		bool		isnull;
		Datum		d;
		char	   *s;

		if (nrules == room)
		{
			room *= 2;
			rules = repalloc(rules, sizeof(Rule) * room);
		}
		r = &rules[nrules];
		memset(r, 0, sizeof(Rule));
		r->id = DatumGetInt64(slot_getattr(slot, a_id, &isnull));
		r->kind = KindOf(TextDatumGetCString(slot_getattr(slot, a_kind, &isnull)));
		s = TextDatumGetCString(slot_getattr(slot, a_action, &isnull));
		r->action = strcmp(s, "refuse") == 0 ? ACTION_REFUSE :
			strcmp(s, "hold") == 0 ? ACTION_HOLD :
			strcmp(s, "exempt") == 0 ? ACTION_EXEMPT : ACTION_SHADOW;
		s = TextDatumGetCString(slot_getattr(slot, a_scope, &isnull));
		if (strcmp(s, "everyone") == 0)
			r->scope = SCOPE_EVERYONE;
		else if (strcmp(s, "tier") == 0)
			r->scope = SCOPE_TIER;
		else if (strcmp(s, "customer") == 0)
			r->scope = SCOPE_CUSTOMER;
		else
			continue;			/* reserved scopes apply to nobody */
		d = slot_getattr(slot, a_value, &isnull);
		r->scope_value = isnull ? NULL : TextDatumGetCString(d);
		d = slot_getattr(slot, a_days, &isnull);
		r->has_days = !isnull;
		r->days = isnull ? 0 : DatumGetInt32(d);
		r->amount = NumericOrNull(slot, a_amount);
		r->share = NumericOrNull(slot, a_share);
		r->multiple = NumericOrNull(slot, a_multiple);
		d = slot_getattr(slot, a_min, &isnull);
		r->min_orders = isnull ? 5 : DatumGetInt32(d);
		d = slot_getattr(slot, a_statuses, &isnull);
		if (!isnull)
		{
			Datum	   *elems;
			bool	   *enulls;
			int			n;

			deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
							  &elems, &enulls, &n);
			for (int i = 0; i < n; i++)
				if (!enulls[i])
					r->statuses |= STATUS_BIT(TextDatumGetCString(elems[i]));
		}
		d = slot_getattr(slot, a_from, &isnull);
		r->has_from = !isnull;
		r->valid_from = isnull ? 0 : DatumGetDateADT(d);
		d = slot_getattr(slot, a_until, &isnull);
		r->has_until = !isnull;
		r->valid_until = isnull ? 0 : DatumGetDateADT(d);
		d = slot_getattr(slot, a_excl, &isnull);
		if (!isnull)
		{
			Datum	   *elems;
			bool	   *enulls;
			int			n;

			deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
							  &elems, &enulls, &n);
			r->exclusions = palloc(sizeof(char *) * Max(n, 1));
			for (int i = 0; i < n; i++)
				if (!enulls[i])
					r->exclusions[r->nexclusions++] = TextDatumGetCString(elems[i]);
		}
		nrules++;
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snap);
	table_close(rel, AccessShareLock);
	MemoryContextSwitchTo(old);
}

/* The rules, read again when a change of the table has been seen */
static void
CurrentRules(void)
{
	/* see a change committed since this transaction's last lock */
	AcceptInvalidationMessages();
	if (!rules_valid)
	{
		PG_TRY();
		{
			LoadRules();
		}
		PG_CATCH();
		{
			rules_valid = false;
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
}

/*
 * current_date, worked out once per transaction (it is the date of the
 * transaction's start in the session's time zone) rather than per order
 */
static DateADT
Today(void)
{
	static TimestampTz for_start = 0;
	static pg_tz *for_zone = NULL;
	static DateADT today = 0;
	TimestampTz start = GetCurrentTransactionStartTimestamp();

	if (start != for_start || session_timezone != for_zone || for_start == 0)
	{
		today = GetSQLCurrentDate();
		for_start = start;
		for_zone = session_timezone;
	}
	return today;
}

/* The scope rank by which rule r applies to the customer today; 0 if not */
static int
Applies(const Rule *r, const char *customer, const char *tier, DateADT today)
{
	if ((r->has_from && today < r->valid_from) || (r->has_until && today > r->valid_until))
		return 0;
	if (r->scope == SCOPE_CUSTOMER)
		return strcmp(r->scope_value, customer) == 0 ? SCOPE_CUSTOMER : 0;
	if (r->scope == SCOPE_TIER && (tier == NULL || strcmp(r->scope_value, tier) != 0))
		return 0;
	for (int i = 0; i < r->nexclusions; i++)
		if (strcmp(r->exclusions[i], customer) == 0)
			return 0;
	return r->scope;
}

/* n rounded to cents */
static Numeric
Cents(Numeric n)
{
	return DatumGetNumeric(DirectFunctionCall2(numeric_round, NumericGetDatum(n),
											   Int32GetDatum(2)));
}

static char *
CentsText(Numeric n)
{
	return pgc_numeric_text(Cents(n));
}

/*
 * The limit in force today and its tolerance: the account's temporary
 * limit within its window, else its credit limit, plus the cover that
 * counts today (*cover, NULL when none: guard_cover.c); for a customer
 * without an account the settings' default limit under that policy.
 * NULL when there is none.
 */
Numeric
pgc_rules_limit_in_force(const PgcExposureRow *x, Numeric *tolerance, Numeric *cover)
{
	*cover = NULL;
	if (x->has_account)
	{
		DateADT		today = Today();
		Numeric		own = x->credit_limit;

		*tolerance = x->tolerance;
		if (x->temporary_limit != NULL && today <= x->temporary_until &&
			(!x->has_temporary_from || today >= x->temporary_from))
			own = x->temporary_limit;
		if (own != NULL)
			*cover = pgc_cover_in_force(x, today);
		if (*cover != NULL)
			return numeric_add_opt_error(own, *cover, NULL);
		return own;
	}
	if (strcmp(x->policy, "default_limit") == 0)
	{
		*tolerance = x->default_tolerance;
		return x->default_limit;
	}
	*tolerance = NULL;
	return NULL;
}

/*
 * The most exposure a limit allows: the tolerance goes over the own
 * limit, not over the cover counted on top of it
 */
Numeric
pgc_rules_allowed(Numeric limit, Numeric tolerance, Numeric cover)
{
	if (cover == NULL)
		return pgc_limit_with_tolerance(limit, tolerance);
	return numeric_add_opt_error(pgc_limit_with_tolerance(numeric_sub_opt_error(limit, cover, NULL),
														  tolerance),
								 cover, NULL);
}

/* The current date as the guard judges by it (once per transaction) */
DateADT
pgc_rules_today(void)
{
	return Today();
}

/* Credit available before a raise of delta: NULL when no limit applies */
Numeric
pgc_rules_available(const PgcExposureRow *x, Numeric delta)
{
	Numeric		tolerance;
	Numeric		cover;
	Numeric		limit = pgc_rules_limit_in_force(x, &tolerance, &cover);

	if (limit == NULL)
		return NULL;
	return numeric_sub_opt_error(pgc_rules_allowed(limit, tolerance, cover),
								 numeric_sub_opt_error(x->exposure, delta, NULL), NULL);
}

/* What one judgement knows, and the answers of its queries, asked once */
typedef struct Facts
{
	const char *customer;
	const PgcExposureRow *x;
	Numeric		delta;
	Numeric		order_amount;	/* NULL when the raise is not an order's */
	Numeric		limit;			/* in force today; NULL: none */
	Numeric		allowed;		/* limit with tolerance */
	Numeric		cover;			/* the cover counted in limit; NULL: none */
	DateADT		today;
	const		PgcRuleQueries *q;
	bool		asked_overdue;
	int32		overdue_days;
	Numeric		overdue;
} Facts;

/*
 * Whether rule r fires for the facts; if so, fills v with its SQLSTATE
 * and figures
 */
static bool
Fires(const Rule *r, Facts *f, PgcVerdict *v)
{
	const PgcExposureRow *x = f->x;

	memset(v, 0, sizeof(PgcVerdict));
	v->rule_id = r->id;
	v->kind = kind_names[r->kind];
	v->refuse = r->action == ACTION_REFUSE;

	switch (r->kind)
	{
		case KIND_STATUS:
			if (!x->has_account || (r->statuses & STATUS_BIT(x->status)) == 0)
				return false;
			v->sqlstate = ERRCODE_PGC_ACCOUNT_ON_HOLD;
			v->status = x->status;
			v->blocked = strcmp(x->status, "blocked") == 0;
			v->reason = v->blocked ? "customer blocked" :
				strcmp(x->status, "hold") == 0 ? "customer on hold" :
				strcmp(x->status, "watch") == 0 ? "customer on watch" : "customer with status ok";
			break;

		case KIND_LIMIT:
			if (f->limit == NULL || pgc_numeric_cmp(x->exposure, f->allowed) <= 0)
				return false;
			v->sqlstate = ERRCODE_PGC_CREDIT_LIMIT_EXCEEDED;
			v->reason = "customer over its credit limit";
			v->limit = pgc_numeric_text(f->limit);
			if (f->cover != NULL)
			{
				/* the message names the own limit and the cover apart */
				v->limit = pgc_numeric_text(numeric_sub_opt_error(f->limit, f->cover, NULL));
				v->cover = pgc_numeric_text(f->cover);
			}
			v->tolerant = pgc_numeric_cmp(f->allowed, f->limit) != 0;
			v->allowed = pgc_numeric_text(f->allowed);
			v->threshold = v->allowed;
			v->available = pgc_numeric_text(numeric_sub_opt_error(f->allowed,
																  numeric_sub_opt_error(x->exposure, f->delta, NULL),
																  NULL));
			break;

		case KIND_PAST_DUE:
			if (!f->q->items_past_due(f->customer, r->days))
				return false;
			v->sqlstate = ERRCODE_PGC_ITEMS_PAST_DUE;
			v->reason = "customer with items past due";
			v->limit = psprintf("%d", r->days);
			break;

		case KIND_OVERDUE:
			{
				int32		days = r->has_days ? r->days : 0;
				Numeric		most = NULL;

				if (!f->asked_overdue || f->overdue_days != days)
				{
					f->overdue = f->q->overdue_amount(f->customer, days);
					f->overdue_days = days;
					f->asked_overdue = true;
				}
				if (r->amount != NULL && pgc_numeric_cmp(f->overdue, r->amount) > 0)
					most = r->amount;
				else if (r->share != NULL && f->limit != NULL)
				{
					Numeric		part = numeric_mul_opt_error(r->share, f->limit, NULL);

					if (pgc_numeric_cmp(f->overdue, part) > 0)
						most = part;
				}
				if (most == NULL)
					return false;
				v->sqlstate = ERRCODE_PGC_OVERDUE_AMOUNT;
				v->reason = "customer with too much overdue";
				v->figure = pgc_numeric_text(f->overdue);
				v->threshold = CentsText(most);
				v->limit = psprintf("%d", days);
				break;
			}

		case KIND_LARGEST:
			{
				Numeric		most = NULL;

				if (f->order_amount == NULL)
					return false;
				if (r->amount != NULL && pgc_numeric_cmp(f->order_amount, r->amount) > 0)
					most = r->amount;
				else if (r->multiple != NULL && x->order_count >= r->min_orders &&
						 x->order_count > 0)
				{
					/* the average in cents, as the message shows it */
					Numeric		usual = Cents(numeric_div_opt_error(x->order_sum,
																	int64_to_numeric(x->order_count),
																	NULL));
					Numeric		part = numeric_mul_opt_error(r->multiple, usual, NULL);

					if (pgc_numeric_cmp(f->order_amount, part) > 0)
					{
						most = part;
						v->usual = CentsText(usual);
					}
				}
				if (most == NULL)
					return false;
				v->sqlstate = ERRCODE_PGC_LARGEST_ORDER;
				v->reason = "order larger than the customer's rule allows";
				v->figure = pgc_numeric_text(f->order_amount);
				v->threshold = CentsText(most);
				break;
			}

		case KIND_UTILISATION:
			{
				Numeric		part;

				if (f->limit == NULL)
					return false;
				part = numeric_mul_opt_error(r->share, f->limit, NULL);
				if (pgc_numeric_cmp(x->exposure, part) <= 0)
					return false;
				v->sqlstate = ERRCODE_PGC_UTILISATION;
				v->reason = "customer using too much of its limit";
				v->limit = pgc_numeric_text(f->limit);
				v->figure = pgc_numeric_text(r->share);
				v->threshold = CentsText(part);
				break;
			}

		case KIND_EXPIRED:

			/*
			 * in 64 bits: a review date of infinity, or a grace of up to
			 * INT_MAX days, must not wrap around into the past
			 */
			if (!x->has_account || !x->has_review ||
				(int64) x->next_review + (r->has_days ? r->days : 0) >= (int64) f->today)
				return false;
			v->sqlstate = ERRCODE_PGC_LIMIT_EXPIRED;
			v->reason = "customer's credit limit expired for want of a review";

			/*
			 * days since the review date, a figure that reads the same any
			 * day
			 */
			v->figure = psprintf(INT64_FORMAT, (int64) f->today - (int64) x->next_review);
			v->limit = psprintf("%d", r->has_days ? r->days : 0);
			break;

		default:
			return false;
	}
	v->exposure = pgc_numeric_text(x->exposure);
	return true;
}

/*
 * Whether exempt rule r, applying at scope rank, is the one that decides
 * its kind for the customer (no live rule of its kind has a more specific
 * scope), so that what it let through is reported
 */
static bool
Exempts(const Rule *r, int rank, const char *customer, const char *tier, DateADT today)
{
	for (int i = 0; i < nrules; i++)
		if (rules[i].kind == r->kind && rules[i].action != ACTION_SHADOW &&
			Applies(&rules[i], customer, tier, today) > rank)
			return false;
	return true;
}

/*
 * Judge the raise of a customer's exposure by delta, whose row after the
 * raise is x; order_amount is the amount of the order being placed (NULL
 * when the raise is a credit leaving).  v says who decided, or has
 * sqlstate 0 when the order passes.  Each shadow rule that would have
 * stopped it goes to sink (when given).
 */
void
pgc_rules_judge(const char *customer, const PgcExposureRow *x, Numeric delta,
				Numeric order_amount, const PgcRuleQueries * q, PgcVerdict *v,
				PgcShadowSink sink, void *sink_arg)
{
	Facts		f = {0};
	Numeric		tolerance;
	PgcVerdict	w;

	CurrentRules();
	memset(v, 0, sizeof(PgcVerdict));
	f.customer = customer;
	f.x = x;
	f.delta = delta;
	f.order_amount = order_amount;
	f.today = Today();
	f.q = q;
	f.limit = pgc_rules_limit_in_force(x, &tolerance, &f.cover);
	if (f.limit != NULL)
		f.allowed = pgc_rules_allowed(f.limit, tolerance, f.cover);

	for (int k = 0; k < NKINDS; k++)
	{
		int			best = 0;

		/* the setting for customers without an account comes before the limit */
		if (k == KIND_LIMIT && !x->has_account && strcmp(x->policy, "deny") == 0 &&
			v->sqlstate == 0)
		{
			v->sqlstate = ERRCODE_PGC_NO_CREDIT_ACCOUNT;
			v->kind = "no_account_policy";
			v->reason = "customer without a credit account";
			v->exposure = pgc_numeric_text(x->exposure);
		}
		if (v->refuse)
			break;

		for (int i = 0; i < nrules; i++)
			if (rules[i].kind == (RuleKind) k && rules[i].action != ACTION_SHADOW)
				best = Max(best, Applies(&rules[i], customer, x->risk_tier, f.today));
		if (best == 0)
			continue;
		for (int i = 0; i < nrules && !v->refuse; i++)
		{
			const Rule *r = &rules[i];

			if (r->kind != (RuleKind) k || r->action == ACTION_SHADOW ||
				r->action == ACTION_EXEMPT ||
				Applies(r, customer, x->risk_tier, f.today) != best)
				continue;
			/* a hold decided already: only a refusal can change it */
			if (v->sqlstate != 0 && r->action != ACTION_REFUSE)
				continue;
			if (Fires(r, &f, &w))
				*v = w;
		}
	}

	/* version 1.0's days past due, from its settings */
	if (!OidIsValid(rules_relid) && v->sqlstate == 0 && x->max_days_set)
	{
		Rule		r = {0};

		r.kind = KIND_PAST_DUE;
		r.action = ACTION_HOLD;
		r.has_days = true;
		r.days = x->max_days;
		if (Fires(&r, &f, &w))
			*v = w;
	}

	if (sink == NULL)
		return;
	for (int i = 0; i < nrules; i++)
	{
		const Rule *r = &rules[i];
		int			rank = Applies(r, customer, x->risk_tier, f.today);

		if (rank == 0)
			continue;
		if (r->action == ACTION_EXEMPT && !Exempts(r, rank, customer, x->risk_tier, f.today))
			continue;
		if ((r->action == ACTION_SHADOW || r->action == ACTION_EXEMPT) && Fires(r, &f, &w))
			sink(sink_arg, &w);
	}
}

/*
 * pgcredit._rules_changed(): AFTER statement trigger on credit_rule (and,
 * as pgcredit._settings_changed(), on settings).  The relcache
 * invalidation of the table reaches every backend when the change
 * commits (and this backend at its next command), whose callback forgets
 * the rules (or settings) kept there.
 */
Datum
pgc_rules_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event))
		elog(ERROR, "pgcredit._rules_changed: not called as a statement trigger");
	CacheInvalidateRelcacheByRelid(RelationGetRelid(td->tg_relation));
	return PointerGetDatum(NULL);
}

/*
 * After the customer's own rules passed: the group limits of the
 * customer's chain (x->groups, after the raise, under the rows' locks).
 * A raise (delta > 0) that takes a group's exposure above its limit with
 * tolerance gives PC014, naming the group nearest the customer first.
 */
void
pgc_groups_judge(const char *customer, const PgcExposureRow *x, Numeric delta, PgcVerdict *v)
{
	Numeric		tolerance;
	Numeric		cover;
	Numeric		limit;

	if (v->sqlstate != 0 || x->ngroups == 0 || delta == NULL ||
		pgc_numeric_sign(delta) <= 0)
		return;
	for (int i = x->ngroups - 1; i >= 0; i--)
	{
		const PgcGroupRow *g = &x->groups[i];
		Numeric		allowed;

		if (g->credit_limit == NULL)
			continue;
		allowed = pgc_limit_with_tolerance(g->credit_limit, g->tolerance);
		if (pgc_numeric_cmp(g->exposure, allowed) <= 0)
			continue;
		v->sqlstate = ERRCODE_PGC_GROUP_LIMIT_EXCEEDED;
		v->kind = "group_limit";
		v->group = g->group_id;
		v->reason = psprintf("credit limit of group %s exceeded", g->group_id);
		v->group_exposure = pgc_numeric_text(g->exposure);
		v->group_limit = pgc_numeric_text(g->credit_limit);
		v->group_allowed = pgc_numeric_text(allowed);
		v->group_available = pgc_numeric_text(numeric_sub_opt_error(g->credit_limit,
																	numeric_sub_opt_error(g->exposure, delta, NULL),
																	NULL));
		v->exposure = pgc_numeric_text(x->exposure);
		limit = pgc_rules_limit_in_force(x, &tolerance, &cover);
		v->limit = limit != NULL ? pgc_numeric_text(limit) : "none";
		v->allowed = v->limit;
		v->available = limit != NULL ? pgc_numeric_text(pgc_rules_available(x, delta)) : "unlimited";
		return;
	}
}
