/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  The credit guard: a row trigger on the company's order and
 *	  receivable tables that keeps each customer's exposure current and
 *	  refuses, or holds, an order the customer's credit cannot carry.
 *
 * pgcredit.exposure_trigger(kind, customer_column, amount_column,
 *                           open_column, open_values, mode, hold_column)
 *
 * A row contributes its amount to its customer's exposure while it is
 * open (open_column's value among open_values, or always when no
 * open_column is given) and not held (hold_column not true).  Every
 * insert, update and delete applies the change of contribution to the
 * customer's row of pgcredit.exposure (guard_exposure.c, without an SQL
 * statement), whose row lock serialises all changes of one customer's
 * exposure: two sessions can never both pass the check on the same old
 * exposure.  An order row that raises exposure is checked against the
 * account copy read back from that locked row, the settings and any
 * override; receivables only keep exposure current.
 *
 * When an update moves a row between customers, both exposure rows are
 * locked in the order of their keys, so concurrent moves cannot deadlock.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "pgcredit.h"
#include "amount.h"
#include "attach.h"
#include "fx.h"
#include "guard_category.h"
#include "guard_cover.h"
#include "guard_dispute.h"
#include "guard_due.h"
#include "guard_exposure.h"
#include "guard_horizon.h"
#include "guard_move.h"
#include "guard_pending.h"
#include "guard_rules.h"

PG_FUNCTION_INFO_V1(exposure_trigger);
PG_FUNCTION_INFO_V1(pgc_last_held_order_id);

/* The id of the held order this session's writes recorded last, if any */
static bool have_last_held = false;
static int64 last_held_id = 0;
static SPIPlanPtr last_held_plan = NULL;

#define MAX_KEY_COLUMNS	8

/* What the trigger needs to know about one attached relation */
typedef struct GuardConfig
{
	Oid			relid;
	Oid			owner;			/* pgcredit's owner, as whom the guard acts */
	bool		is_orders;
	bool		hold_mode;
	int			cust_att;
	Oid			cust_type;
	int			amount_att;
	Oid			amount_type;
	int			open_att;		/* 0 when every row is open */
	Oid			open_type;
	FmgrInfo	open_out;
	int			n_open_values;
	char	  **open_values;
	int			hold_att;		/* 0 when the table has no hold column */
	int			prepaid_att;	/* 0 when the table has no prepaid column */
	Oid			prepaid_type;
	int			due_att;		/* receivables: 0 when no due column is given */
	int			delivery_att;	/* orders: 0 without a horizon */
	int32		horizon_days;
	char	   *category;		/* a company category; NULL for a built-in one */
	const char *category_name;	/* the category, for its sub-limits */
	int			currency_att;	/* 0: every row in its account's currency */
	Oid			currency_type;
	int			rate_date_att;
	Oid			attached;		/* the attached table: relid or a partition
								 * tree's root */
	char	   *error_schema;	/* the attached table's schema, name and */
	char	   *error_table;	/* amount column, for the fields of the */
	char	   *error_column;	/* guard's errors */
	bool		keys_loaded;	/* the primary key below, loaded on first need */
	bool		keys_usable;	/* it has one, of at most MAX_KEY_COLUMNS */
	int			nkeys;			/* primary key, to find a held row again and a
								 * disputed item */
	AttrNumber	key_atts[MAX_KEY_COLUMNS];
	char	   *key_names[MAX_KEY_COLUMNS];
	FmgrInfo	key_out[MAX_KEY_COLUMNS];
	MemoryContext mcxt;			/* where this lives: the trigger's fn_mcxt */
	PgcPartitionCheck partition;	/* to see an update move a row */
} GuardConfig;

/* A row's contribution to exposure */
typedef struct Contribution
{
	bool		counts;
	bool		held;			/* the row is marked held */
	char	   *customer;
	Numeric		amount;
	Numeric		own_amount;		/* amount before its conversion into the
								 * account's currency (a held row's amount is
								 * not converted) */
	bool		has_due;		/* receivables: the row has a due date */
	DateADT		due;
	bool		beyond;			/* an order beyond the horizon: it does not
								 * count, its amount is in a bucket */
	DateADT		counts_from;	/* the bucket's day */
} Contribution;

/* The outcome of the check of one raise of exposure (guard_rules.h) */
typedef PgcVerdict Verdict;

/* Plans kept for the life of the backend */
static SPIPlanPtr new_row_plan = NULL;
static SPIPlanPtr new_row_plan_1_0 = NULL;
static SPIPlanPtr override_plan = NULL;
static SPIPlanPtr past_due_plan = NULL;
static SPIPlanPtr hold_plan = NULL;
static SPIPlanPtr hold_fx_plan = NULL;
static SPIPlanPtr close_hold_plan = NULL;
static SPIPlanPtr move_hold_plan = NULL;
static SPIPlanPtr overdue_plan = NULL;
static SPIPlanPtr trial_plan = NULL;
static SPIPlanPtr cover_plan = NULL;

/* Prepare a statement once and keep it */
static SPIPlanPtr
KeepPlan(SPIPlanPtr *slot, const char *sql, int nargs, Oid *argtypes)
{
	if (*slot == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, nargs, argtypes);

		if (p == NULL)
			elog(ERROR, "pgcredit: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		*slot = p;
	}
	return *slot;
}

/*
 * The relation's primary key columns and their output functions, into
 * cfg's memory: a held order's row and a disputed item are named by them.
 * A key of more than MAX_KEY_COLUMNS columns names no disputed item (as
 * _attached_items_keyed() gives it no key).
 */
static void
LoadKeys(GuardConfig *cfg, Relation rel)
{
	int			n = pgc_row_key_load(rel, MAX_KEY_COLUMNS, cfg->key_atts, cfg->key_names,
									 cfg->key_out, cfg->mcxt);

	cfg->nkeys = Min(n, MAX_KEY_COLUMNS);
	cfg->keys_usable = n > 0 && n <= MAX_KEY_COLUMNS;
	cfg->keys_loaded = true;
}

/*
 * The configuration for the trigger's relation, built on first use in
 * fn_extra from the relation's record in pgcredit.attachment: attribute
 * numbers and output functions are looked up once per relation and
 * statement, never per row, and the columns' types are checked again, so
 * a column changed since attach fails here with an error.  A trigger that
 * is not pgcredit's own on an attached table refuses to act.
 */
/*
 * A trigger of pgcredit's on a relation pgcredit did not attach, in a
 * database where Citus runs: a shard that Citus moved or split to this
 * node (it copies the distributed table's triggers to every shard it
 * creates) and that is not attached here yet, or a shard of a table that
 * was distributed after pgcredit attached it.  Refused, saying so, rather
 * than judged against an exposure this node does not keep.
 */
static void
RefuseCitusShard(Relation rel)
{
	if (!pgc_citus_installed())
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("pgcredit cannot check rows of relation \"%s\" on this Citus node",
					RelationGetRelationName(rel)),
			 errdetail("The relation is not attached on this node: most likely a shard that Citus moved or split here, or a shard of a table distributed after pgcredit attached it; this node keeps no exposure for its rows."),
			 errhint("On the coordinator, run SELECT * FROM pgcredit.citus_sync(); it attaches every shard where it is.")));
}

static pg_noinline GuardConfig *
GetConfig(FunctionCallInfo fcinfo, TriggerData *td)
{
	GuardConfig *cfg = (GuardConfig *) fcinfo->flinfo->fn_extra;
	Relation	rel = td->tg_relation;
	MemoryContext mcxt = fcinfo->flinfo->fn_mcxt;
	MemoryContext old;
	PgcAttachment att;
	bool		attached;
	Oid			typoutput;
	bool		varlena;

	if (cfg != NULL && cfg->relid == RelationGetRelid(rel))
		return cfg;

	old = MemoryContextSwitchTo(mcxt);
	attached = pgc_attachment_find(RelationGetRelid(rel), &att);
	if (!attached)
		RefuseCitusShard(rel);
	if (!attached ||
		strcmp(td->tg_trigger->tgname,
			   TRIGGER_FIRED_BEFORE(td->tg_event) ? "zz_pgcredit_guard" : "zz_pgcredit_confirm") != 0 ||
		(TRIGGER_FIRED_AFTER(td->tg_event) && !TRIGGER_FIRED_BY_INSERT(td->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("trigger \"%s\" on relation \"%s\" is not pgcredit's guard",
						td->tg_trigger->tgname, RelationGetRelationName(rel)),
				 errdetail("pgcredit's guard acts only as the triggers that pgcredit.attach_orders() or pgcredit.attach_receivables() installs."),
				 errhint("Drop this trigger, and attach the table with pgcredit's functions.")));

	cfg = palloc0(sizeof(GuardConfig));
	cfg->relid = RelationGetRelid(rel);
	cfg->attached = att.relid;
	cfg->mcxt = mcxt;
	cfg->error_schema = get_namespace_name(get_rel_namespace(att.relid));
	cfg->error_table = get_rel_name(att.relid);
	cfg->error_column = pstrdup(att.amount_column);
	cfg->owner = pgc_function_owner(fcinfo->flinfo->fn_oid);
	cfg->is_orders = att.is_orders;
	cfg->hold_mode = att.hold_mode;
	cfg->category = PGC_COMPANY_CATEGORY(&att) ? att.category : NULL;
	cfg->category_name = att.category ? att.category : att.is_orders ? "orders" : "invoices";

	cfg->cust_att = pgc_attached_column(rel, att.customer_column, PGC_COL_CUSTOMER);
	cfg->cust_type = TupleDescAttr(RelationGetDescr(rel), cfg->cust_att - 1)->atttypid;
	cfg->amount_att = pgc_attached_column(rel, att.amount_column, PGC_COL_AMOUNT);
	cfg->amount_type = TupleDescAttr(RelationGetDescr(rel), cfg->amount_att - 1)->atttypid;

	if (att.open_column)
	{
		cfg->open_att = pgc_attached_column(rel, att.open_column, PGC_COL_OPEN);
		cfg->open_type = TupleDescAttr(RelationGetDescr(rel), cfg->open_att - 1)->atttypid;
		getTypeOutputInfo(cfg->open_type, &typoutput, &varlena);
		fmgr_info_cxt(typoutput, &cfg->open_out, mcxt);
		cfg->open_values = att.open_values;
		cfg->n_open_values = att.n_open_values;
	}

	if (att.hold_column)
		cfg->hold_att = pgc_attached_column(rel, att.hold_column, PGC_COL_HOLD);
	if (!att.is_orders && att.due_column)
		cfg->due_att = pgc_attached_column(rel, att.due_column, PGC_COL_DATE);
	if (att.is_orders && att.delivery_column)
	{
		cfg->delivery_att = pgc_attached_column(rel, att.delivery_column, PGC_COL_DATE);
		cfg->horizon_days = att.horizon_days;
	}
	if (att.currency_column)
	{
		cfg->currency_att = pgc_attached_column(rel, att.currency_column, PGC_COL_CURRENCY);
		cfg->currency_type = TupleDescAttr(RelationGetDescr(rel), cfg->currency_att - 1)->atttypid;
		cfg->rate_date_att = att.rate_date_column ?
			pgc_attached_column(rel, att.rate_date_column, PGC_COL_DATE) : 0;
	}
	if (att.prepaid_column)
	{
		cfg->prepaid_att = pgc_attached_column(rel, att.prepaid_column, PGC_COL_AMOUNT);
		cfg->prepaid_type = TupleDescAttr(RelationGetDescr(rel), cfg->prepaid_att - 1)->atttypid;
	}

	MemoryContextSwitchTo(old);
	if (cfg->hold_mode)
		LoadKeys(cfg, rel);

	fcinfo->flinfo->fn_extra = cfg;
	return cfg;
}

static Numeric AmountValue(GuardConfig *cfg, Datum d);

/*
 * The row's amount that uses credit: with a prepaid column, the amount
 * less its prepaid or secured part, never below 0
 */
static Numeric
CreditAmount(GuardConfig *cfg, HeapTuple tup, TupleDesc desc, Datum d)
{
	Numeric		amount = AmountValue(cfg, d);
	bool		isnull;
	Datum		p;

	if (!cfg->prepaid_att)
		return amount;
	p = heap_getattr(tup, cfg->prepaid_att, desc, &isnull);
	return pgc_credit_part(amount, p, isnull, cfg->prepaid_type);
}

/* An amount column's value as numeric; integers are converted */
static Numeric
AmountValue(GuardConfig *cfg, Datum d)
{
	Numeric		n = DatumGetNumeric(pgc_amount_numeric(d, cfg->amount_type));

	if (cfg->amount_type == NUMERICOID && (numeric_is_nan(n) || numeric_is_inf(n)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 cfg->is_orders ?
				 errmsg("order amount must be a finite number") :
				 errmsg("open amount must be a finite number"),
				 numeric_is_nan(n) ?
				 errdetail("The amount is NaN.") :
				 errdetail("The amount is infinite.")));
	return n;
}

/* What a row contributes to its customer's exposure */
static void
RowContribution(GuardConfig *cfg, Relation rel, HeapTuple tup, Contribution *c)
{
	TupleDesc	desc = RelationGetDescr(rel);
	bool		isnull;
	Datum		d;

	c->counts = false;
	c->held = false;
	c->has_due = false;
	c->beyond = false;

	d = heap_getattr(tup, cfg->cust_att, desc, &isnull);
	if (isnull)
		return;					/* no customer: nobody's exposure */
	c->customer = pgc_customer_key(d, cfg->cust_type);
	if (strlen(c->customer) > PGC_MAX_CUSTOMER_KEY)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("customer key of %d bytes is too long for pgcredit",
						(int) strlen(c->customer)),
				 errdetail("pgcredit keeps customer keys of up to %d bytes.", PGC_MAX_CUSTOMER_KEY),
				 errhint("Use a shorter key for the customer, such as a customer number.")));

	if (cfg->hold_att)
	{
		d = heap_getattr(tup, cfg->hold_att, desc, &isnull);
		if (!isnull && DatumGetBool(d))
		{
			/*
			 * Held rows wait outside exposure; the amount is kept to match
			 * them.
			 */
			c->held = true;
			d = heap_getattr(tup, cfg->amount_att, desc, &isnull);
			c->amount = isnull ? NULL : CreditAmount(cfg, tup, desc, d);
			c->own_amount = c->amount;
			return;
		}
	}

	if (cfg->open_att)
	{
		d = heap_getattr(tup, cfg->open_att, desc, &isnull);
		if (isnull || !pgc_is_open_value(d, cfg->open_type, &cfg->open_out,
										 cfg->open_values, cfg->n_open_values))
			return;
	}

	d = heap_getattr(tup, cfg->amount_att, desc, &isnull);
	if (isnull)
		return;
	c->amount = CreditAmount(cfg, tup, desc, d);
	c->own_amount = c->amount;
	c->counts = true;

	/* a row in a foreign currency counts converted into its account's */
	if (cfg->currency_att)
	{
		bool		cnull;
		bool		dnull = true;
		Datum		cur = heap_getattr(tup, cfg->currency_att, desc, &cnull);
		Datum		rate_date = (Datum) 0;

		if (cfg->rate_date_att)
			rate_date = heap_getattr(tup, cfg->rate_date_att, desc, &dnull);
		c->amount = pgc_fx_row_amount(c->customer, c->amount, cur, cnull, cfg->currency_type,
									  rate_date, dnull, true);
	}

	/* delivered beyond the horizon: not counted yet (guard_horizon.c) */
	if (cfg->delivery_att)
	{
		d = heap_getattr(tup, cfg->delivery_att, desc, &isnull);
		if (!isnull && pgc_horizon_beyond(DatumGetDateADT(d), cfg->horizon_days, &c->counts_from))
		{
			c->counts = false;
			c->beyond = true;
			return;
		}
	}

	if (cfg->due_att)
	{
		d = heap_getattr(tup, cfg->due_att, desc, &isnull);
		c->has_due = !isnull;
		c->due = isnull ? 0 : DatumGetDateADT(d);
	}
}

/*
 * Whether a receivables row has a share in its customer's buckets by due
 * date (guard_due.c): it counts, has a due date and an amount above 0
 */
static bool
HasDueShare(GuardConfig *cfg, const Contribution *c)
{
	return !cfg->is_orders && cfg->due_att && c->counts && c->has_due &&
		pgc_numeric_sign(c->amount) > 0;
}

/*
 * Whether this trigger call has connected to SPI.  Most rows need no SQL
 * statement at all (guard_exposure.c updates exposure directly); the rare
 * ones (a new customer, a refusal, a hold) connect on first need.
 */
static bool guard_spi = false;
static PgcActAs *guard_act = NULL;	/* the guard's identity while it works */

static void
NeedSpi(void)
{
	if (!guard_spi)
	{
		/* the guard's statements run with the search path fixed */
		if (guard_act != NULL)
			pgc_act_fix_path(guard_act);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "pgcredit: SPI_connect failed");
		guard_spi = true;
	}
}

/*
 * The same, with arguments that may be NULL (nulls as SPI takes them: 'n'
 * for NULL, ' ' else)
 */
static void
RunKeptNulls(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types, Datum *values,
			 const char *nulls, bool read_only, int expect)
{
	NeedSpi();
	CommandCounterIncrement();
	if (SPI_execute_snapshot(KeepPlan(slot, sql, nargs, types), values, nulls,
							 GetLatestSnapshot(), InvalidSnapshot, read_only, true, 0) != expect)
		elog(ERROR, "pgcredit: guard statement failed: %s", sql);
}

/*
 * Run one of the guard's kept statements, connecting to SPI on first
 * need, and check that it ran as expect says.
 *
 * The statements see the latest committed state, as the guard's direct
 * access to exposure does, whatever the transaction's isolation level:
 * at REPEATABLE READ, creating the exposure row of a customer that a
 * concurrent transaction created meanwhile would otherwise fail with a
 * serialization error instead of adding to that row (RI triggers use
 * the same means).
 */
static void
RunKeptExpecting(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types, Datum *values,
				 bool read_only, int expect)
{
	RunKeptNulls(slot, sql, nargs, types, values, NULL, read_only, expect);
}

/* A statement prepared once a backend and kept, for check_order.c too */
SPIPlanPtr
pgc_keep_plan(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types)
{
	return KeepPlan(slot, sql, nargs, types);
}

/* The same, for the guard's other files (guard_category.h) */
void
pgc_guard_run(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types, Datum *values,
			  bool read_only, int expect)
{
	RunKeptExpecting(slot, sql, nargs, types, values, read_only, expect);
}

/* The same for the statements that are SELECTs, all but one */
static void
RunKept(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types, Datum *values,
		bool read_only)
{
	RunKeptExpecting(slot, sql, nargs, types, values, read_only, SPI_OK_SELECT);
}

/*
 * Create a customer's exposure row, with a copy of its account.  A
 * concurrent transaction may create the same row first; the insert then
 * fails with a unique violation (or, at SERIALIZABLE, a serialization
 * failure), which is caught in a subtransaction: the caller finds that
 * row and adds to it.  No isolation level makes a first order fail.
 */
static void
CreateExposureRow(const char *customer)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];

	values[0] = CStringGetTextDatum(customer);
	NeedSpi();
	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		if (pgc_exposure_rule_columns())
			RunKeptExpecting(&new_row_plan,
							 "INSERT INTO pgcredit.exposure "
							 "(customer, has_account, credit_limit, tolerance_pct, status, "
							 "risk_tier, next_review, temporary_limit, temporary_from, temporary_until) "
							 "SELECT $1, a.customer IS NOT NULL, a.credit_limit, "
							 "COALESCE(a.tolerance_pct, 0), COALESCE(a.status, 'ok'), "
							 "a.risk_tier, a.next_review, a.temporary_limit, a.temporary_from, "
							 "a.temporary_until "
							 "FROM (SELECT) AS one LEFT JOIN pgcredit.account a "
							 "ON a.customer OPERATOR(pg_catalog.=) $1",
							 1, types, values, false, SPI_OK_INSERT);
		else
			/* a database still at version 1.0 */
			RunKeptExpecting(&new_row_plan_1_0,
							 "INSERT INTO pgcredit.exposure "
							 "(customer, has_account, credit_limit, tolerance_pct, status) "
							 "SELECT $1, a.customer IS NOT NULL, a.credit_limit, "
							 "COALESCE(a.tolerance_pct, 0), COALESCE(a.status, 'ok') "
							 "FROM (SELECT) AS one LEFT JOIN pgcredit.account a "
							 "ON a.customer OPERATOR(pg_catalog.=) $1",
							 1, types, values, false, SPI_OK_INSERT);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(cxt);
		e = CopyErrorData();
		if (e->sqlerrcode != ERRCODE_UNIQUE_VIOLATION &&
			e->sqlerrcode != ERRCODE_T_R_SERIALIZATION_FAILURE)
			PG_RE_THROW();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_END_TRY();
}

/*
 * Add delta to the component of a customer's exposure that the table
 * feeds, creating the customer's row on first sight.  With out given,
 * reads back the row and the settings for the check.
 */
static void
ChangeExposureOf(bool is_orders, const char *customer, Numeric delta, int count,
				 PgcExposureRow *out)
{
	Numeric		d_receivables = is_orders ? NULL : delta;
	Numeric		d_orders = is_orders ? delta : NULL;

	if (!is_orders)
		count = 0;
	if (pgc_exposure_add(customer, d_receivables, d_orders, count, out))
		return;
	CreateExposureRow(customer);
	if (!pgc_exposure_add(customer, d_receivables, d_orders, count, out))
		elog(ERROR, "pgcredit: could not create the exposure of customer \"%s\"", customer);
}

/*
 * The same for a row of the trigger's table; a company category gets the
 * change too, under the customer's exposure row lock just taken (with
 * cat_after given, the customer's amount in it after the change)
 */
static void
ChangeExposureAndCategory(GuardConfig *cfg, const char *customer, Numeric delta, int count,
						  PgcExposureRow *out, Numeric *cat_after)
{
	ChangeExposureOf(cfg->is_orders, customer, delta, count, out);
	if (cfg->category != NULL && pgc_numeric_sign(delta) != 0)
		pgc_category_add(customer, cfg->category, delta, cat_after);
}

static void
ChangeExposure(GuardConfig *cfg, const char *customer, Numeric delta, int count,
			   PgcExposureRow *out)
{
	ChangeExposureAndCategory(cfg, customer, delta, count, out, NULL);
}

/* Add delta to one component of a customer's exposure, without a check */
static void
AddExposure(GuardConfig *cfg, const char *customer, Numeric delta)
{
	ChangeExposure(cfg, customer, delta, 0, NULL);
}

/*
 * Take a row's contribution of amount out of a customer's exposure.  A
 * negative order (a credit) leaving raises the customer's exposure, and
 * is checked like any other raise: refused when the customer's credit
 * cannot carry it, since there is no row left to hold.
 */
static void CheckedRaise(GuardConfig *cfg, const char *customer, Numeric raise, Numeric credit);
static void ShadowTrial(void *arg, const PgcVerdict *v);

/* What a shadow rule's record needs to know of the order */
typedef struct TrialOrder
{
	GuardConfig *cfg;
	const char *customer;
	Numeric		amount;
	bool		defer;			/* keep the trials in deferred_trials */
} TrialOrder;

/*
 * The trials of the row being inserted, kept in TopTransactionContext
 * until the row is stored (GuardConfirm): a row never stored (ON
 * CONFLICT, a later BEFORE trigger) leaves no trial.  Set by the raise
 * of a new row, taken by GuardInsert right after it.
 */
static List *deferred_trials = NIL;
static void RecordTrial(Oid relid, const char *customer, Numeric amount, const PgcVerdict *v);

static void
LeaveExposure(GuardConfig *cfg, const char *customer, Numeric amount)
{
	if (cfg->is_orders && pgc_numeric_sign(amount) < 0)
		CheckedRaise(cfg, customer, pgc_numeric_negate(amount), pgc_numeric_negate(amount));
	else
		AddExposure(cfg, customer, pgc_numeric_negate(amount));
}

/* Whether a controller has overridden the check for this customer in this transaction */
static bool
Overridden(const char *customer)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];

	values[0] = CStringGetTextDatum(customer);
	RunKept(&override_plan,
			"SELECT 1 FROM pgcredit.override "
			"WHERE xid OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id() "
			"AND customer OPERATOR(pg_catalog.=) $1",
			1, types, values, true);
	return SPI_processed > 0;
}

/*
 * The customer's buckets due before current_date - days, read without an
 * SQL statement (guard_due.c), as the latest snapshot shows them: the
 * guard asks after locking the customer's exposure row, which every
 * change of the buckets locks first, so nothing of the customer's is in
 * flight.  The disputed items are left out (their buckets are read only
 * while a dispute is open).
 */
static void
DueBefore(const char *customer, int32 days, bool *any, Numeric *sum)
{
	DateADT		cutoff = pgc_due_cutoff(days);
	Snapshot	snap;

	CommandCounterIncrement();
	snap = RegisterSnapshot(GetLatestSnapshot());
	pgc_due_overdue(customer, cutoff, snap, pgc_disputes_open(), any, sum);
	UnregisterSnapshot(snap);
}

/*
 * Whether the customer has open receivables more than days past due.  A
 * database still at version 1.0 has no buckets: its tables are read with
 * SQL, as 1.0 did.
 */
static bool
ItemsPastDue(const char *customer, int32 days)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		values[2];
	bool		isnull;

	if (pgc_due_available())
	{
		bool		any;

		DueBefore(customer, days, &any, NULL);
		return any;
	}
	values[0] = CStringGetTextDatum(customer);
	values[1] = Int32GetDatum(days);
	RunKept(&past_due_plan, "SELECT pgcredit.items_past_due($1, $2)", 2, types, values, true);
	if (SPI_processed != 1)
		elog(ERROR, "pgcredit: items_past_due returned %llu rows", (unsigned long long) SPI_processed);
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* The sum of a customer's receivables more than days past due */
static Numeric
OverdueAmount(const char *customer, int32 days)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		values[2];
	bool		isnull;
	Datum		d;

	if (pgc_due_available())
	{
		bool		any;
		Numeric		sum;

		DueBefore(customer, days, &any, &sum);
		return sum;
	}
	values[0] = CStringGetTextDatum(customer);
	values[1] = Int32GetDatum(days);
	RunKept(&overdue_plan, "SELECT pgcredit._overdue_amount($1, $2)", 2, types, values, true);
	if (SPI_processed != 1)
		elog(ERROR, "pgcredit: _overdue_amount returned %llu rows", (unsigned long long) SPI_processed);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? int64_to_numeric(0) : DatumGetNumericCopy(d);
}

static const PgcRuleQueries guard_queries = {ItemsPastDue, OverdueAmount};

/*
 * Make the cover copy on a customer's exposure row again when it does
 * not hold today (guard_cover.c), under the row lock the raise took, and
 * put it on x.  A customer whose copy holds costs nothing more.
 */
static void
CoverForToday(const char *customer, PgcExposureRow *x)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	MemoryContext cxt = CurrentMemoryContext;
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;
	Datum		v;
	Numeric		counted;
	bool		has_from;
	bool		has_until;
	DateADT		from;
	DateADT		until;

	if (!pgc_cover_stale(x, pgc_rules_today()))
		return;
	values[0] = CStringGetTextDatum(customer);
	RunKept(&cover_plan, "SELECT counted, valid_from, valid_until FROM pgcredit._cover_refresh($1)",
			1, types, values, false);
	MemoryContextSwitchTo(cxt);
	if (SPI_processed != 1)
		elog(ERROR, "pgcredit: no exposure row to copy the cover of customer \"%s\" onto", customer);
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	v = SPI_getbinval(t, d, 1, &isnull);
	counted = isnull ? NULL : DatumGetNumericCopy(v);
	v = SPI_getbinval(t, d, 2, &isnull);
	has_from = !isnull;
	from = isnull ? 0 : DatumGetDateADT(v);
	v = SPI_getbinval(t, d, 3, &isnull);
	has_until = !isnull;
	until = isnull ? 0 : DatumGetDateADT(v);
	pgc_cover_set(x, counted, has_from, from, has_until, until);
}

/*
 * Raise a customer's order exposure by delta (positive) and judge the
 * result by the credit rules (guard_rules.c), against the account copy on
 * the exposure row and the settings.  order_amount is the amount of the
 * order placed (NULL for a credit leaving); count is 1 when a new order
 * is counted in the customer's orders.  The row lock taken by the raise
 * serialises this check with every other change of the customer's
 * exposure and with changes of its account, which lock the same row: if
 * one is in flight, the raise waits for it and then sees the row as that
 * change left it.
 */
static void
RaiseAndCheck(GuardConfig *cfg, const char *customer, Numeric delta, Numeric order_amount,
			  int count, Verdict *v)
{
	PgcExposureRow x;
	TrialOrder	trial;
	Numeric		cat_after = NULL;

	ChangeExposureAndCategory(cfg, customer, delta, count, &x, &cat_after);
	CoverForToday(customer, &x);
	trial.cfg = cfg;
	trial.customer = customer;
	trial.amount = order_amount != NULL ? order_amount : delta;
	/* a new row may yet not be stored: its trials wait until it is */
	trial.defer = count > 0;
	pgc_rules_judge(customer, &x, delta, order_amount, &guard_queries, v, ShadowTrial, &trial);
	pgc_groups_judge(customer, &x, delta, v);

	/*
	 * the sub-limit of the table's category: a statement only for a category
	 * that has sub-limits.  A company category's amount came back from its
	 * row; a built-in one's is its column less the customer's company
	 * categories of its kind.
	 */
	if (v->sqlstate == 0 && pgc_numeric_sign(delta) > 0 &&
		pgc_category_has_limits(cfg->category_name))
	{
		PgcCategoryStanding s;
		const char *builtin_kind = cfg->category != NULL ? NULL :
		cfg->is_orders ? "orders" : "receivables";

		if (pgc_category_sub_limit(customer, cfg->category_name, builtin_kind, &s))
		{
			if (builtin_kind == NULL)
				s.amount = cat_after;
			else
				s.amount = numeric_sub_opt_error(cfg->is_orders ? x.open_orders : x.receivables,
												 s.others, NULL);
			if (s.amount != NULL)
				pgc_category_judge(cfg->category_name, &s, delta, &x, v);
		}
	}
}

/* " Rule N (kind) decided." for a verdict a rule gave, else "" */
static char *
RuleSentence(const Verdict *v)
{
	if (v->rule_id == 0)
		return "";
	return psprintf(" Rule %lld (%s) decided.", (long long) v->rule_id, v->kind);
}

/* The reason a hold record keeps: what stopped the order, and which rule */
static char *
HoldReason(const Verdict *v)
{
	if (v->rule_id == 0)
		return (char *) v->reason;
	return psprintf("%s (rule %lld, %s)", v->reason, (long long) v->rule_id, v->kind);
}

/*
 * Record what a shadow rule would have done to an order that goes in.  An
 * order refused by a live rule takes its records with it.
 */
static void
ShadowTrial(void *arg, const PgcVerdict *v)
{
	TrialOrder *t = (TrialOrder *) arg;

	if (t->defer)
	{
		MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
		PgcVerdict *k = palloc0(sizeof(PgcVerdict));

		k->rule_id = v->rule_id;
		k->kind = v->kind;		/* a static string */
		k->sqlstate = v->sqlstate;
		k->exposure = pstrdup(v->exposure);
		k->limit = v->limit ? pstrdup(v->limit) : NULL;
		k->figure = v->figure ? pstrdup(v->figure) : NULL;
		k->threshold = v->threshold ? pstrdup(v->threshold) : NULL;
		deferred_trials = lappend(deferred_trials, k);
		MemoryContextSwitchTo(old);
		return;
	}
	RecordTrial(t->cfg->relid, t->customer, t->amount, v);
}

static void
RecordTrial(Oid relid, const char *customer, Numeric amount, const PgcVerdict *v)
{
	Oid			types[10] = {INT8OID, TEXTOID, TEXTOID, OIDOID, NUMERICOID, TEXTOID,
	TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[10];
	char		nulls[10];

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(v->rule_id);
	values[1] = CStringGetTextDatum(v->kind);
	values[2] = CStringGetTextDatum(customer);
	values[3] = ObjectIdGetDatum(relid);
	values[4] = NumericGetDatum(amount);
	values[5] = CStringGetTextDatum(unpack_sql_state(v->sqlstate));
	values[6] = CStringGetTextDatum(v->exposure);
#define TEXT_OR_NULL(i, s) \
	do { if ((s) != NULL) values[i] = CStringGetTextDatum(s); else nulls[i] = 'n'; } while (0)
	TEXT_OR_NULL(7, v->limit);
	TEXT_OR_NULL(8, v->figure);
	TEXT_OR_NULL(9, v->threshold);
#undef TEXT_OR_NULL
	NeedSpi();
	CommandCounterIncrement();
	if (SPI_execute_snapshot(KeepPlan(&trial_plan,
									  "SELECT pgcredit._record_trial($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
									  10, types),
							 values, nulls, GetLatestSnapshot(), InvalidSnapshot,
							 false, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "pgcredit: could not record the trial of rule %lld", (long long) v->rule_id);
}

/*
 * Why a change that takes a credit out of exposure is refused, for any
 * refusal but the credit limit's
 */
static int
RemovalDetail(const Verdict *v, const char *amt)
{
	char	   *rule = RuleSentence(v);

	if (v->sqlstate == ERRCODE_PGC_ACCOUNT_ON_HOLD && v->blocked)
		return errdetail("It takes a credit of %s out of the exposure of a customer whose account is blocked.%s", amt, rule);
	if (v->sqlstate == ERRCODE_PGC_ACCOUNT_ON_HOLD && strcmp(v->status, "hold") == 0)
		return errdetail("It takes a credit of %s out of the exposure of a customer whose account is on hold.%s", amt, rule);
	if (v->sqlstate == ERRCODE_PGC_ACCOUNT_ON_HOLD)
		return errdetail("It takes a credit of %s out of the exposure of a customer whose account has status %s.%s", amt, v->status, rule);
	if (v->sqlstate == ERRCODE_PGC_NO_CREDIT_ACCOUNT)
		return errdetail("It takes a credit of %s out of the exposure of a customer without a credit account.", amt);
	if (v->sqlstate == ERRCODE_PGC_ITEMS_PAST_DUE)
		return errdetail("It takes a credit of %s out of the exposure of a customer with items past due.%s", amt, rule);
	if (v->sqlstate == ERRCODE_PGC_OVERDUE_AMOUNT)
		return errdetail("It takes a credit of %s out of the exposure of a customer with %s overdue against at most %s.%s",
						 amt, v->figure, v->threshold, rule);
	if (v->sqlstate == ERRCODE_PGC_UTILISATION)
		return errdetail("It takes a credit of %s out of the exposure of a customer whose exposure would then be %s, above %s.%s",
						 amt, v->exposure, v->threshold, rule);
	if (v->sqlstate == ERRCODE_PGC_GROUP_LIMIT_EXCEEDED)
		return errdetail("It takes a credit of %s out of the exposure of credit group \"%s\", which would then be %s against a credit limit of %s.",
						 amt, v->group, v->group_exposure, v->group_limit);
	if (v->sqlstate == ERRCODE_PGC_CATEGORY_LIMIT_EXCEEDED)
		return errdetail("It takes a credit of %s out of the customer's exposure in category \"%s\", which would then be %s against a sub-limit of %s.",
						 amt, v->category, v->category_exposure, v->category_limit);
	return errdetail("It takes a credit of %s out of the exposure of a customer whose account review is %s days overdue.%s",
					 amt, v->figure, rule);
}

/* Why an order was held instead of refused */
static int
HeldDetail(const Verdict *v)
{
	char	   *rule = RuleSentence(v);

	if (v->sqlstate == ERRCODE_PGC_CREDIT_LIMIT_EXCEEDED)
		return errdetail("It would have been refused because the customer is over its credit limit; exposure with it would have been %s.%s",
						 v->exposure, rule);
	if (v->sqlstate == ERRCODE_PGC_ACCOUNT_ON_HOLD && v->blocked)
		return errdetail("It would have been refused because the customer's account is blocked; exposure with it would have been %s.%s",
						 v->exposure, rule);
	if (v->sqlstate == ERRCODE_PGC_ACCOUNT_ON_HOLD && strcmp(v->status, "hold") == 0)
		return errdetail("It would have been refused because the customer's account is on hold; exposure with it would have been %s.%s",
						 v->exposure, rule);
	if (v->sqlstate == ERRCODE_PGC_ACCOUNT_ON_HOLD)
		return errdetail("It would have been refused because the customer's account has status %s; exposure with it would have been %s.%s",
						 v->status, v->exposure, rule);
	if (v->sqlstate == ERRCODE_PGC_NO_CREDIT_ACCOUNT)
		return errdetail("It would have been refused because the customer has no credit account; exposure with it would have been %s.",
						 v->exposure);
	if (v->sqlstate == ERRCODE_PGC_ITEMS_PAST_DUE)
		return errdetail("It would have been refused because the customer has items past due; exposure with it would have been %s.%s",
						 v->exposure, rule);
	if (v->sqlstate == ERRCODE_PGC_OVERDUE_AMOUNT)
		return errdetail("It would have been held because the customer has %s overdue against at most %s; exposure with it would have been %s.%s",
						 v->figure, v->threshold, v->exposure, rule);
	if (v->sqlstate == ERRCODE_PGC_LARGEST_ORDER)
		return errdetail("It would have been held because the order amount %s is above the most of %s; exposure with it would have been %s.%s",
						 v->figure, v->threshold, v->exposure, rule);
	if (v->sqlstate == ERRCODE_PGC_UTILISATION)
		return errdetail("It would have been held because exposure with it would have been %s, above %s (a share of %s of the credit limit of %s).%s",
						 v->exposure, v->threshold, v->figure, v->limit, rule);
	if (v->sqlstate == ERRCODE_PGC_GROUP_LIMIT_EXCEEDED)
		return errdetail("It would have been refused because the exposure of credit group \"%s\" with it would have been %s against a credit limit of %s.",
						 v->group, v->group_exposure, v->group_limit);
	if (v->sqlstate == ERRCODE_PGC_CATEGORY_LIMIT_EXCEEDED)
		return errdetail("It would have been refused because the customer's exposure in category \"%s\" with it would have been %s against a sub-limit of %s.",
						 v->category, v->category_exposure, v->category_limit);
	return errdetail("It would have been held because the account's review is %s days overdue; exposure with it would have been %s.%s",
					 v->figure, v->exposure, rule);
}

/*
 * The fields of a refusal that an application reads without parsing its
 * text: the attached table (schema, table) and its amount column, and as
 * the constraint the rule that decided, "pgcredit_rule_<id>", or for a
 * limit that is no rule of pgcredit.credit_rule, "pgcredit_<kind>"
 * (group_limit, category_limit).  Called inside ereport(), as errtable().
 */
static int
ErrorFields(const GuardConfig *cfg, const Verdict *v)
{
	if (cfg->error_schema)
		err_generic_string(PG_DIAG_SCHEMA_NAME, cfg->error_schema);
	if (cfg->error_table)
		err_generic_string(PG_DIAG_TABLE_NAME, cfg->error_table);
	err_generic_string(PG_DIAG_COLUMN_NAME, cfg->error_column);
	if (v->rule_id != 0)
		err_generic_string(PG_DIAG_CONSTRAINT_NAME,
						   psprintf("pgcredit_rule_%lld", (long long) v->rule_id));
	else if (v->kind != NULL)
		err_generic_string(PG_DIAG_CONSTRAINT_NAME, psprintf("pgcredit_%s", v->kind));
	return 0;
}

/*
 * Refuse an order: the error an application catches.  amount is the
 * order's amount; with removal, the change takes a credit (a negative
 * order) out of the customer's exposure, raising it by amount.
 */
static void
Refuse(const GuardConfig *cfg, const char *customer, Numeric amount, const Verdict *v, bool removal)
{
	char	   *amt = pgc_numeric_text(amount);
	char	   *rule = RuleSentence(v);

	if (removal && v->sqlstate == ERRCODE_PGC_CREDIT_LIMIT_EXCEEDED && v->cover != NULL)
		ereport(ERROR,
				(errcode(v->sqlstate), ErrorFields(cfg, v),
				 errmsg("change of an order for customer \"%s\" exceeds its credit limit", customer),
				 errdetail("It takes a credit of %s out of the customer's exposure, which would then be %s against a credit limit of %s + cover %s (%s in all%s).%s",
						   amt, v->exposure, v->limit, v->cover, v->allowed,
						   v->tolerant ? " with tolerance" : "", rule),
				 errhint("Leave the credit in place, or ask a credit controller to raise the limit or override the block.")));
	if (removal && v->sqlstate == ERRCODE_PGC_CREDIT_LIMIT_EXCEEDED)
		ereport(ERROR,
				(errcode(v->sqlstate), ErrorFields(cfg, v),
				 errmsg("change of an order for customer \"%s\" exceeds its credit limit", customer),
				 strcmp(v->limit, v->allowed) == 0 ?
				 errdetail("It takes a credit of %s out of the customer's exposure, which would then be %s against a credit limit of %s.%s",
						   amt, v->exposure, v->limit, rule) :
				 errdetail("It takes a credit of %s out of the customer's exposure, which would then be %s against a credit limit of %s (%s with tolerance).%s",
						   amt, v->exposure, v->limit, v->allowed, rule),
				 errhint("Leave the credit in place, or ask a credit controller to raise the limit or override the block.")));
	if (removal)
		ereport(ERROR,
				(errcode(v->sqlstate), ErrorFields(cfg, v),
				 errmsg("change of an order for customer \"%s\" is refused", customer),
				 RemovalDetail(v, amt),
				 errhint("Leave the credit in place, or ask a credit controller to override the block.")));

	if (v->sqlstate == ERRCODE_PGC_CREDIT_LIMIT_EXCEEDED && v->cover != NULL)
		ereport(ERROR,
				(errcode(v->sqlstate), ErrorFields(cfg, v),
				 errmsg("order for customer \"%s\" exceeds its credit limit", customer),
				 errdetail("Exposure with this order would be %s against a credit limit of %s + cover %s "
						   "(%s in all%s); the order amount is %s and the credit available before it was %s.%s",
						   v->exposure, v->limit, v->cover, v->allowed,
						   v->tolerant ? " with tolerance" : "", amt, v->available, rule),
				 errhint("Reduce the order, collect payment first, or ask a credit controller "
						 "to raise the limit or override the block.")));
	if (v->sqlstate == ERRCODE_PGC_CREDIT_LIMIT_EXCEEDED)
		ereport(ERROR,
				(errcode(v->sqlstate), ErrorFields(cfg, v),
				 errmsg("order for customer \"%s\" exceeds its credit limit", customer),
				 strcmp(v->limit, v->allowed) == 0 ?
				 errdetail("Exposure with this order would be %s against a credit limit of %s; "
						   "the order amount is %s and the credit available before it was %s.%s",
						   v->exposure, v->limit, amt, v->available, rule) :
				 errdetail("Exposure with this order would be %s against a credit limit of %s "
						   "(%s with tolerance); the order amount is %s and the credit "
						   "available before it was %s.%s",
						   v->exposure, v->limit, v->allowed, amt, v->available, rule),
				 errhint("Reduce the order, collect payment first, or ask a credit controller "
						 "to raise the limit or override the block.")));
	else if (v->sqlstate == ERRCODE_PGC_GROUP_LIMIT_EXCEEDED)
		ereport(ERROR,
				(errcode(v->sqlstate), ErrorFields(cfg, v),
				 errmsg("order for customer \"%s\" exceeds the credit limit of group \"%s\"",
						customer, v->group),
				 errdetail("The group's exposure with this order would be %s against a credit limit of %s%s; "
						   "the order amount is %s and the group's credit available before it was %s. "
						   "The customer's own exposure with it would be %s against a credit limit of %s.",
						   v->group_exposure, v->group_limit,
						   strcmp(v->group_limit, v->group_allowed) == 0 ? "" :
						   psprintf(" (%s with tolerance)", v->group_allowed),
						   amt, v->group_available, v->exposure, v->limit),
				 errhint("Reduce the order, collect payment first, or ask a credit controller "
						 "to raise the group's limit or override the block.")));
	else if (v->sqlstate == ERRCODE_PGC_CATEGORY_LIMIT_EXCEEDED)
		ereport(ERROR,
				(errcode(v->sqlstate), ErrorFields(cfg, v),
				 errmsg("order for customer \"%s\" exceeds its sub-limit for category \"%s\"",
						customer, v->category),
				 errdetail("The customer's exposure in the category with this order would be %s against a sub-limit of %s%s; "
						   "the order amount is %s and the sub-limit's headroom before it was %s.",
						   v->category_exposure, v->category_limit,
						   strcmp(v->category_limit, v->category_allowed) == 0 ? "" :
						   psprintf(" (%s with tolerance)", v->category_allowed),
						   amt, v->category_available),
				 errhint("Reduce the order, or ask a credit controller to raise the sub-limit "
						 "with pgcredit.set_category_limit() or override the block.")));
	else if (v->sqlstate == ERRCODE_PGC_ACCOUNT_ON_HOLD)
		ereport(ERROR,
				(errcode(v->sqlstate), ErrorFields(cfg, v),
				 v->blocked ?
				 errmsg("credit account of customer \"%s\" is blocked", customer) :
				 strcmp(v->status, "hold") == 0 ?
				 errmsg("credit account of customer \"%s\" is on hold", customer) :
				 errmsg("credit account of customer \"%s\" has status %s", customer, v->status),
				 errdetail("No order that raises the customer's exposure is accepted; this "
						   "order amount is %s and the exposure with it would be %s.%s",
						   amt, v->exposure, rule),
				 v->blocked ?
				 errhint("A credit controller can unblock the account with pgcredit.set_status().") :
				 strcmp(v->status, "hold") == 0 ?
				 errhint("A credit controller can release the hold with pgcredit.release_hold().") :
				 errhint("A credit controller can change the status with pgcredit.set_status().")));
	else if (v->sqlstate == ERRCODE_PGC_NO_CREDIT_ACCOUNT)
		ereport(ERROR,
				(errcode(v->sqlstate), ErrorFields(cfg, v),
				 errmsg("customer \"%s\" has no credit account", customer),
				 errdetail("The settings deny credit to customers without an account; the "
						   "order amount is %s.", amt),
				 errhint("Open an account with pgcredit.open_account().")));
	else if (v->sqlstate == ERRCODE_PGC_ITEMS_PAST_DUE)
		ereport(ERROR,
				(errcode(v->sqlstate), ErrorFields(cfg, v),
				 errmsg("customer \"%s\" has items more than %s days past due", customer, v->limit),
				 errdetail("The credit rules refuse orders from customers with open items more than "
						   "%s days past due; the order amount is %s.%s", v->limit, amt, rule),
				 errhint("Collect the overdue items first, or ask a credit controller to "
						 "override the block.")));
	else if (v->sqlstate == ERRCODE_PGC_OVERDUE_AMOUNT)
		ereport(ERROR,
				(errcode(v->sqlstate), ErrorFields(cfg, v),
				 errmsg("customer \"%s\" has too much overdue", customer),
				 strcmp(v->limit, "0") == 0 ?
				 errdetail("Receivables past due amount to %s against at most %s; "
						   "the order amount is %s.%s", v->figure, v->threshold, amt, rule) :
				 errdetail("Receivables more than %s days past due amount to %s against at most %s; "
						   "the order amount is %s.%s", v->limit, v->figure, v->threshold, amt, rule),
				 errhint("Collect the overdue items first, or ask a credit controller to "
						 "override the block.")));
	else if (v->sqlstate == ERRCODE_PGC_LARGEST_ORDER)
		ereport(ERROR,
				(errcode(v->sqlstate), ErrorFields(cfg, v),
				 errmsg("order for customer \"%s\" is larger than its credit rules allow", customer),
				 v->usual != NULL ?
				 errdetail("The order amount is %s against at most %s, a multiple of the customer's "
						   "average order of %s.%s", amt, v->threshold, v->usual, rule) :
				 errdetail("The order amount is %s against at most %s.%s", amt, v->threshold, rule),
				 errhint("Split or reduce the order, or ask a credit controller to override the block.")));
	else if (v->sqlstate == ERRCODE_PGC_UTILISATION)
		ereport(ERROR,
				(errcode(v->sqlstate), ErrorFields(cfg, v),
				 errmsg("order for customer \"%s\" would use too much of its credit limit", customer),
				 errdetail("Exposure with this order would be %s, above %s (a share of %s of the "
						   "credit limit of %s); the order amount is %s.%s",
						   v->exposure, v->threshold, v->figure, v->limit, amt, rule),
				 errhint("Reduce the order, or ask a credit controller to raise the limit or "
						 "override the block.")));
	else
		ereport(ERROR,
				(errcode(v->sqlstate), ErrorFields(cfg, v),
				 errmsg("credit limit of customer \"%s\" has expired", customer),
				 errdetail("The account's review is %s days overdue, with %s days of grace; the "
						   "order amount is %s.%s", v->figure, v->limit, amt, rule),
				 errhint("A credit controller reviews the account and sets the next review date "
						 "with pgcredit.update_account(), or overrides the block.")));
}

/*
 * Raise a customer's exposure by raise (0 to check only) where a credit
 * left it, refusing what its credit cannot carry
 */
static void
CheckedRaise(GuardConfig *cfg, const char *customer, Numeric raise, Numeric credit)
{
	Verdict		v;

	RaiseAndCheck(cfg, customer, raise, NULL, 0, &v);
	if (v.sqlstate != 0 && !Overridden(customer))
		Refuse(cfg, customer, credit, &v, true);
}

/* The row's primary key as a JSON object, to find a held row again */
static char *
RowKeyJson(GuardConfig *cfg, Relation rel, HeapTuple tup)
{
	Datum		values[MAX_KEY_COLUMNS];
	bool		nulls[MAX_KEY_COLUMNS];

	for (int i = 0; i < cfg->nkeys; i++)
		values[i] = heap_getattr(tup, cfg->key_atts[i], RelationGetDescr(rel), &nulls[i]);
	return pgc_row_key_json(cfg->nkeys, cfg->key_names, cfg->key_out, values, nulls);
}

/* Record a held order, once while it stays held */
static void
StoreHold(GuardConfig *cfg, Relation rel, HeapTuple tup, const char *customer,
		  Numeric amount, const Verdict *v)
{
	Oid			types[8] = {OIDOID, TEXTOID, TEXTOID, NUMERICOID, TEXTOID,
	NUMERICOID, TEXTOID, DATEOID};
	Datum		values[8];
	char		nulls[8] = "        ";
	TupleDesc	desc = RelationGetDescr(rel);
	bool		cnull = true;
	Datum		cur = (Datum) 0;

	values[0] = ObjectIdGetDatum(RelationGetRelid(rel));
	values[1] = CStringGetTextDatum(RowKeyJson(cfg, rel, tup));
	values[2] = CStringGetTextDatum(customer);
	values[3] = NumericGetDatum(amount);
	values[4] = CStringGetTextDatum(HoldReason(v));
	if (cfg->currency_att)
		cur = heap_getattr(tup, cfg->currency_att, desc, &cnull);
	if (cnull)
	{
		/* in the account's currency (a database at 1.0 knows no other) */
		RunKept(&hold_plan, "SELECT pgcredit._record_hold($1, $2::pg_catalog.jsonb, $3, $4, $5)",
				5, types, values, false);
		return;
	}

	/* the order as it is in its own currency, for its release to match */
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, cfg->amount_att, desc, &isnull);

		values[5] = NumericGetDatum(CreditAmount(cfg, tup, desc, d));
		values[6] = CStringGetTextDatum(pgc_fx_currency_code(cur, cfg->currency_type));
		values[7] = heap_getattr(tup, cfg->rate_date_att, desc, &isnull);
		if (isnull)
			nulls[7] = 'n';
	}
	RunKeptNulls(&hold_fx_plan,
				 "SELECT pgcredit._record_hold_fx($1, $2::pg_catalog.jsonb, $3, $4, $5, $6, $7, $8)",
				 8, types, values, nulls, false, SPI_OK_SELECT);
}

/*
 * Record a held order and remember its id for last_held_order_id(): the
 * application that wrote the row learns which hold to name to a credit
 * controller, without rights on pgcredit.held_order
 */
static void
RecordHold(GuardConfig *cfg, Relation rel, HeapTuple tup, const char *customer,
		   Numeric amount, const Verdict *v)
{
	Oid			types[2] = {OIDOID, TEXTOID};
	Datum		values[2];

	StoreHold(cfg, rel, tup, customer, amount, v);
	values[0] = ObjectIdGetDatum(RelationGetRelid(rel));
	values[1] = CStringGetTextDatum(RowKeyJson(cfg, rel, tup));
	RunKept(&last_held_plan,
			"SELECT o.id FROM pgcredit.held_order o WHERE o.relid OPERATOR(pg_catalog.=) $1 "
			"AND o.row_key OPERATOR(pg_catalog.=) $2::pg_catalog.jsonb AND o.released_at IS NULL",
			2, types, values, true);
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
		{
			last_held_id = DatumGetInt64(d);
			have_last_held = true;
		}
	}
}

/*
 * A held row's amount (in its own currency) in its account's currency,
 * converted as the guard converts a row that counts
 */
static Numeric
HeldInAccount(GuardConfig *cfg, Relation rel, HeapTuple tup, const char *customer, Numeric amount)
{
	TupleDesc	desc = RelationGetDescr(rel);
	bool		cnull;
	bool		dnull = true;
	Datum		cur;
	Datum		rate_date = (Datum) 0;

	if (!cfg->currency_att || amount == NULL)
		return amount;
	cur = heap_getattr(tup, cfg->currency_att, desc, &cnull);
	if (cfg->rate_date_att)
		rate_date = heap_getattr(tup, cfg->rate_date_att, desc, &dnull);
	return pgc_fx_row_amount(customer, amount, cur, cnull, cfg->currency_type,
							 rate_date, dnull, false);
}

/*
 * Whether two versions of a row are in the same currency at the same rate
 * date (always, on a table without a currency column)
 */
static bool
SameCurrency(GuardConfig *cfg, Relation rel, HeapTuple a, HeapTuple b)
{
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber	atts[2] = {cfg->currency_att, cfg->rate_date_att};

	for (int i = 0; i < 2 && cfg->currency_att; i++)
	{
		bool		anull;
		bool		bnull;
		Datum		av = heap_getattr(a, atts[i], desc, &anull);
		Datum		bv = heap_getattr(b, atts[i], desc, &bnull);

		if (anull != bnull)
			return false;
		if (anull)
			continue;
		if (i == 0 ? strcmp(pgc_fx_currency_code(av, cfg->currency_type),
							pgc_fx_currency_code(bv, cfg->currency_type)) != 0 :
			DatumGetDateADT(av) != DatumGetDateADT(bv))
			return false;
	}
	return true;
}

/* Whether a row is marked held */
static bool
IsHeld(GuardConfig *cfg, Relation rel, HeapTuple tup)
{
	bool		isnull;
	Datum		d;

	if (!cfg->hold_att)
		return false;
	d = heap_getattr(tup, cfg->hold_att, RelationGetDescr(rel), &isnull);
	return !isnull && DatumGetBool(d);
}

/* Close the open hold records of a row that is no longer held or is gone */
static void
CloseHold(Oid relid, const char *row_key, const char *why)
{
	Oid			types[3] = {OIDOID, TEXTOID, TEXTOID};
	Datum		values[3];

	values[0] = ObjectIdGetDatum(relid);
	values[1] = CStringGetTextDatum(row_key);
	values[2] = CStringGetTextDatum(why);
	RunKept(&close_hold_plan, "SELECT pgcredit._close_held_order($1, $2::pg_catalog.jsonb, $3)",
			3, types, values, false);
}

/* Point the open hold records of a moved row at its new place */
static void
MoveHold(Oid from_relid, const char *from_key, Relation rel, const char *to_key)
{
	Oid			types[4] = {OIDOID, TEXTOID, OIDOID, TEXTOID};
	Datum		values[4];

	values[0] = ObjectIdGetDatum(from_relid);
	values[1] = CStringGetTextDatum(from_key);
	values[2] = ObjectIdGetDatum(RelationGetRelid(rel));
	values[3] = CStringGetTextDatum(to_key);
	RunKept(&move_hold_plan,
			"SELECT pgcredit._move_held_order($1, $2::pg_catalog.jsonb, $3, $4::pg_catalog.jsonb)",
			4, types, values, false);
}

/*
 * Raise exposure for a row's new contribution and check it.  Returns the
 * tuple to store: the row itself, or in hold mode a copy marked held.
 */
static HeapTuple
GuardRaise(GuardConfig *cfg, TriggerData *td, HeapTuple tup, const char *customer,
		   Numeric delta, Numeric amount, int count, const char **held_why)
{
	Verdict		v;

	if (!cfg->is_orders)
	{
		AddExposure(cfg, customer, delta);
		return tup;
	}

	RaiseAndCheck(cfg, customer, delta, amount, count, &v);
	if (v.sqlstate == 0 || Overridden(customer))
		return tup;

	/*
	 * Holding the row takes its whole amount out of exposure; when the raise
	 * is larger (the row was a credit before), holding cannot undo it, and
	 * the change is refused in hold mode too.
	 */
	if (pgc_numeric_cmp(delta, amount) > 0)
		Refuse(cfg, customer, numeric_sub_opt_error(delta, amount, NULL), &v, true);
	if (!cfg->hold_mode || v.refuse)
		Refuse(cfg, customer, amount, &v, false);

	/* hold: the row goes in marked held, and its whole amount leaves exposure */
	{
		Datum		val = BoolGetDatum(true);
		bool		isnull = false;
		int			col = cfg->hold_att;
		HeapTuple	held;

		ChangeExposure(cfg, customer, pgc_numeric_negate(amount), -count, NULL);
		held = heap_modify_tuple_by_cols(tup, RelationGetDescr(td->tg_relation),
										 1, &col, &val, &isnull);
		/* an inserted row's hold is recorded once the row is stored */
		if (held_why != NULL)
			*held_why = HoldReason(&v);
		else
			RecordHold(cfg, td->tg_relation, held, customer, amount, &v);
		ereport(NOTICE,
				(errmsg("order for customer \"%s\" put on credit hold", customer),
				 HeldDetail(&v),
				 errhint("A credit controller can release it with pgcredit.release_held_order().")));
		return held;
	}
}

/*
 * Apply the change of a row's contribution from oldc to newc (either may
 * not count) and check it where it raises a customer's exposure.  Returns
 * the tuple to store.
 */
static HeapTuple
GuardChange(GuardConfig *cfg, TriggerData *td, Contribution *oldc_p, Contribution *newc_p)
{
	Contribution oldc = *oldc_p;
	Contribution newc = *newc_p;
	HeapTuple	newtup = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	HeapTuple	result = newtup;

	if (oldc.counts && newc.counts && strcmp(oldc.customer, newc.customer) == 0)
	{
		/* same customer: only the difference moves */
		Numeric		delta = numeric_sub_opt_error(newc.amount, oldc.amount, NULL);
		int			sign = pgc_numeric_sign(delta);

		if (sign > 0)
			result = GuardRaise(cfg, td, newtup, newc.customer, delta, newc.amount, 0, NULL);
		else if (sign < 0)
			AddExposure(cfg, oldc.customer, delta);
	}
	else
	{
		bool		old_first;

		/*
		 * Different customers, or a row entering or leaving exposure: lower
		 * the old customer's and raise the new one's, locking their rows in
		 * key order.
		 */
		old_first = !newc.counts ||
			(oldc.counts && strcmp(oldc.customer, newc.customer) < 0);
		if (oldc.counts && old_first)
			LeaveExposure(cfg, oldc.customer, oldc.amount);
		if (newc.counts)
		{
			if (pgc_numeric_sign(newc.amount) > 0)
				result = GuardRaise(cfg, td, newtup, newc.customer, newc.amount, newc.amount, 0, NULL);
			else if (pgc_numeric_sign(newc.amount) < 0)
				AddExposure(cfg, newc.customer, newc.amount);
		}
		if (oldc.counts && !old_first)
			LeaveExposure(cfg, oldc.customer, oldc.amount);
	}
	return result;
}

/*
 * Whether a receivables row is an item with an open dispute
 * (guard_dispute.c).  Asked under the lock of the customer's exposure row;
 * while no dispute is open, or none in this table, the row's key is not
 * even built.
 */
static bool
RowDisputed(GuardConfig *cfg, Relation rel, HeapTuple tup)
{
	if (!pgc_disputes_open() || !pgc_disputes_in(cfg->attached))
		return false;
	if (!cfg->keys_loaded)
		LoadKeys(cfg, rel);
	if (!cfg->keys_usable)
		return false;
	return pgc_disputed(cfg->attached, RowKeyJson(cfg, rel, tup));
}

/*
 * Put a receivables row's share in its customer's bucket, or take it
 * out; a disputed item's share goes in (or out of) its bucket of the
 * disputed items too.  The caller holds the customer's exposure row lock.
 */
static void
DueShare(GuardConfig *cfg, Relation rel, HeapTuple tup, const Contribution *c, bool in)
{
	Numeric		amount;

	if (!HasDueShare(cfg, c))
		return;
	amount = in ? c->amount : pgc_numeric_negate(c->amount);
	pgc_due_change(c->customer, c->due, amount, in ? 1 : -1);
	if (RowDisputed(cfg, rel, tup))
		pgc_dispute_due_change(c->customer, c->due, amount, in ? 1 : -1);
}

/*
 * Whether an update changed the row's primary key (its key columns'
 * values, compared as stored): an item under another key may be
 * disputed where the old one was not, or the other way round
 */
static bool
KeyChanged(GuardConfig *cfg, Relation rel, HeapTuple oldtup, HeapTuple newtup)
{
	TupleDesc	desc = RelationGetDescr(rel);

	if (!cfg->keys_loaded)
		LoadKeys(cfg, rel);
	for (int i = 0; i < cfg->nkeys; i++)
	{
		Form_pg_attribute f = TupleDescAttr(desc, cfg->key_atts[i] - 1);
		bool		n1;
		bool		n2;
		Datum		d1 = heap_getattr(oldtup, cfg->key_atts[i], desc, &n1);
		Datum		d2 = heap_getattr(newtup, cfg->key_atts[i], desc, &n2);

		if (n1 != n2 || (!n1 && !datumIsEqual(d1, d2, f->attbyval, f->attlen)))
			return true;
	}
	return false;
}

/*
 * Move an updated receivables row's share between buckets, after
 * GuardChange changed exposure.  The buckets of a customer change only
 * under the lock of its exposure row: GuardChange took it wherever the
 * row's contribution to exposure changed; when it did not (the same
 * amount of the same customer, with another due date, or none now, or
 * under another primary key), it is taken here by a change of 0.
 */
static void
DueUpdate(GuardConfig *cfg, TriggerData *td, const Contribution *oldc, const Contribution *newc)
{
	Relation	rel = td->tg_relation;
	bool		o = HasDueShare(cfg, oldc);
	bool		n = HasDueShare(cfg, newc);
	bool		same_exposure;

	if (!o && !n)
		return;
	same_exposure = oldc->counts && newc->counts &&
		strcmp(oldc->customer, newc->customer) == 0 &&
		pgc_numeric_cmp(oldc->amount, newc->amount) == 0;
	/* the same share under the same key: nothing moves */
	if (o && n && same_exposure && oldc->due == newc->due &&
		!KeyChanged(cfg, rel, td->tg_trigtuple, td->tg_newtuple))
		return;
	if (same_exposure)
		AddExposure(cfg, newc->customer, int64_to_numeric(0));
	DueShare(cfg, rel, td->tg_trigtuple, oldc, false);
	DueShare(cfg, rel, td->tg_newtuple, newc, true);
}

/*
 * Put an order beyond the horizon in its customer's bucket, or take it
 * out, under the lock of the customer's exposure row (taken here by a
 * change of 0, which also creates the row of a customer never seen).  An
 * order whose bucket is gone was moved into exposure (advance_horizon(),
 * or a session whose today was later): it leaves exposure instead.
 */
static void
HorizonShare(GuardConfig *cfg, const Contribution *c, bool in, bool locked)
{
	if (!c->beyond)
		return;
	if (!locked)
		AddExposure(cfg, c->customer, int64_to_numeric(0));
	if (in)
		(void) pgc_horizon_change(c->customer, c->counts_from, c->amount, 1);
	else if (!pgc_horizon_change(c->customer, c->counts_from, pgc_numeric_negate(c->amount), -1))
		AddExposure(cfg, c->customer, pgc_numeric_negate(c->amount));
}

/*
 * Before an update that moves an order beyond the horizon from one
 * customer to another, or between one customer's exposure and another's
 * bucket, lock the two customers' exposure rows in the order of their
 * keys: GuardChange locks only the customers whose exposure changes, and
 * HorizonUpdate the others after it, which could otherwise take them in
 * the opposite order to a concurrent move and deadlock.
 */
static void
HorizonLockBoth(GuardConfig *cfg, const Contribution *oldc, const Contribution *newc)
{
	bool		o = oldc->counts || oldc->beyond;
	bool		n = newc->counts || newc->beyond;
	int			cmp;

	if (!(oldc->beyond || newc->beyond) || !o || !n)
		return;
	cmp = strcmp(oldc->customer, newc->customer);
	if (cmp == 0)
		return;
	AddExposure(cfg, cmp < 0 ? oldc->customer : newc->customer, int64_to_numeric(0));
	AddExposure(cfg, cmp < 0 ? newc->customer : oldc->customer, int64_to_numeric(0));
}

/*
 * Move an updated order's share between buckets, after GuardChange
 * changed exposure (which raised and checked an order moved within the
 * horizon, and took out one moved beyond it).  The customers whose
 * buckets change are locked first (again, when GuardChange or
 * HorizonLockBoth did: the second lock is the transaction's own).
 */
static void
HorizonUpdate(GuardConfig *cfg, const Contribution *oldc, const Contribution *newc)
{
	if (!oldc->beyond && !newc->beyond)
		return;
	if (oldc->beyond && newc->beyond && strcmp(oldc->customer, newc->customer) == 0 &&
		oldc->counts_from == newc->counts_from &&
		pgc_numeric_cmp(oldc->amount, newc->amount) == 0)
		return;
	/* two customers are locked already, in key order (HorizonLockBoth) */
	if (oldc->beyond)
		AddExposure(cfg, oldc->customer, int64_to_numeric(0));
	if (newc->beyond && !(oldc->beyond && strcmp(oldc->customer, newc->customer) == 0))
		AddExposure(cfg, newc->customer, int64_to_numeric(0));
	HorizonShare(cfg, oldc, false, true);
	HorizonShare(cfg, newc, true, true);
}

/*
 * The insert half of a move between partitions.  The old contribution
 * left with the delete; add the new one, and check it only where the
 * update raises the customer's exposure.  A hold record follows the row.
 */
static HeapTuple
GuardMovedIn(GuardConfig *cfg, TriggerData *td, PgcMovedRow *moved, Contribution *newc)
{
	Relation	rel = td->tg_relation;
	HeapTuple	result = td->tg_trigtuple;
	bool		same;

	same = moved->counts && newc->counts &&
		strcmp(moved->customer, newc->customer) == 0;
	if (moved->held_key && cfg->hold_mode)
		MoveHold(moved->relid, moved->held_key, rel, RowKeyJson(cfg, rel, result));

	/*
	 * A credit that left its customer with the delete half raised that
	 * customer's exposure.
	 */
	if (cfg->is_orders && moved->counts && !same && pgc_numeric_sign(moved->amount) < 0)
		CheckedRaise(cfg, moved->customer, int64_to_numeric(0), pgc_numeric_negate(moved->amount));

	if (newc->counts && pgc_numeric_sign(newc->amount) != 0)
	{
		bool		raises;

		if (same)
			raises = pgc_numeric_cmp(newc->amount, moved->amount) > 0;
		else
			raises = pgc_numeric_sign(newc->amount) > 0;
		if (raises)
			result = GuardRaise(cfg, td, result, newc->customer, newc->amount, newc->amount, 0, NULL);
		else
			AddExposure(cfg, newc->customer, newc->amount);
	}
	/* its bucket share, under the exposure lock just taken */
	DueShare(cfg, rel, result, newc, true);

	if (moved->held_key && cfg->hold_mode && !IsHeld(cfg, rel, result))
		CloseHold(RelationGetRelid(rel), RowKeyJson(cfg, rel, result),
				  "hold mark cleared; the order fit the customer's credit");
	return result;
}

/*
 * A new row, which may yet not be stored (see guard_pending.c): a positive
 * amount raises exposure and is checked now, remembered until the row is
 * stored; a credit waits until then.  Returns the tuple to store.
 */
static HeapTuple
GuardInsert(GuardConfig *cfg, TriggerData *td, Contribution *newc)
{
	Relation	rel = td->tg_relation;
	HeapTuple	result;
	int			sign;
	const char *why = NULL;
	List	   *trials;

	if (!newc->counts)
		return td->tg_trigtuple;
	sign = pgc_numeric_sign(newc->amount);
	if (sign < 0)
	{
		pgc_pending_add(PGC_PENDING_CREDIT, RelationGetRelid(rel), cfg->owner, cfg->is_orders,
						newc->customer, newc->amount, NULL, NIL);
		return td->tg_trigtuple;
	}
	if (sign == 0)
		return td->tg_trigtuple;
	deferred_trials = NIL;
	result = GuardRaise(cfg, td, td->tg_trigtuple, newc->customer, newc->amount, newc->amount,
						1, &why);
	trials = deferred_trials;
	deferred_trials = NIL;
	/* (a held row is known by its amount in its own currency, not counted) */
	if (why != NULL)
		pgc_pending_add(PGC_PENDING_HELD, RelationGetRelid(rel), cfg->owner, cfg->is_orders,
						newc->customer, newc->own_amount, why, trials);
	else
		pgc_pending_add(PGC_PENDING_APPLIED, RelationGetRelid(rel), cfg->owner, cfg->is_orders,
						newc->customer, newc->amount, NULL, trials);
	return result;
}

/* Record the shadow trials of a row now stored, kept since its BEFORE trigger */
static void
RecordTrials(GuardConfig *cfg, PgcPending *p)
{
	ListCell   *lc;

	foreach(lc, (List *) p->trials)
		RecordTrial(cfg->relid, p->customer, p->amount, (PgcVerdict *) lfirst(lc));
}

/*
 * AFTER INSERT FOR EACH ROW: a row is stored; confirm what its BEFORE
 * trigger did, and apply a credit.
 */
static void
GuardConfirm(GuardConfig *cfg, TriggerData *td)
{
	Contribution c = {0};
	PgcPending *p;
	Oid			relid = RelationGetRelid(td->tg_relation);

	RowContribution(cfg, td->tg_relation, td->tg_trigtuple, &c);

	/*
	 * An order beyond the horizon goes in its bucket once stored, new or
	 * moved in from another partition (a row never stored leaves none)
	 */
	if (c.beyond)
		HorizonShare(cfg, &c, true, false);
	else if (c.held && c.amount != NULL)
	{
		p = pgc_pending_take(PGC_PENDING_HELD, relid, c.customer, c.amount);
		if (p != NULL)
		{
			Verdict		v = {0};

			/*
			 * converted as its BEFORE trigger did (a statement keeps the
			 * rates it used)
			 */
			p->amount = HeldInAccount(cfg, td->tg_relation, td->tg_trigtuple, c.customer, c.amount);
			v.reason = p->why;
			RecordHold(cfg, td->tg_relation, td->tg_trigtuple, c.customer, p->amount, &v);
			RecordTrials(cfg, p);
		}
	}
	else if (c.counts && pgc_numeric_sign(c.amount) > 0)
	{
		p = pgc_pending_take(PGC_PENDING_APPLIED, relid, c.customer, c.amount);
		if (p != NULL)
		{
			RecordTrials(cfg, p);

			/*
			 * A receivable's bucket share goes in once the row is stored,
			 * under the exposure row lock its BEFORE trigger took: a row
			 * never stored leaves the buckets as they were.
			 */
			DueShare(cfg, td->tg_relation, td->tg_trigtuple, &c, true);
		}
	}
	else if (c.counts && pgc_numeric_sign(c.amount) < 0)
	{
		p = pgc_pending_take(PGC_PENDING_CREDIT, relid, c.customer, c.amount);
		if (p != NULL)
			AddExposure(cfg, c.customer, c.amount);
	}
}

/*
 * Undo what the guard did for rows that were never stored: take their
 * amounts out of exposure again and close their hold records.
 */
static void
UndoPending(PgcPending *p)
{
	for (; p != NULL; p = p->next)
	{
		if (p->kind == PGC_PENDING_APPLIED)
		{
			PgcAttachment att;

			ChangeExposureOf(p->is_orders, p->customer, pgc_numeric_negate(p->amount), -1, NULL);
			/* and out of its company category, after the exposure row */
			if (pgc_attachment_find(p->relid, &att) && PGC_COMPANY_CATEGORY(&att))
				pgc_category_add(p->customer, att.category, pgc_numeric_negate(p->amount), NULL);
		}
		/* a held row never stored has no hold record yet: nothing to undo */
	}
}

/* The guard's work on one row; returns the tuple to store */
static HeapTuple
GuardRowWork(GuardConfig *cfg, TriggerData *td)
{
	Relation	rel = td->tg_relation;
	Contribution oldc = {0};
	Contribution newc = {0};
	HeapTuple	result;
	PgcMovedRow moved;

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
	{
		RowContribution(cfg, rel, td->tg_trigtuple, &newc);
		/* the second half of a move between partitions: see guard_move.c */
		if (pgc_move_inserted(&cfg->partition, cfg->mcxt, rel, &moved))
			return GuardMovedIn(cfg, td, &moved, &newc);
		return GuardInsert(cfg, td, &newc);
	}
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		RowContribution(cfg, rel, td->tg_trigtuple, &oldc);
		if (pgc_move_leaves(&cfg->partition, cfg->mcxt, rel, td->tg_newslot))
		{
			/* the delete and insert that follow do the work */
			moved.counts = oldc.counts;
			moved.customer = oldc.customer;
			moved.amount = oldc.amount;
			moved.held_key = oldc.held && cfg->hold_mode ?
				RowKeyJson(cfg, rel, td->tg_trigtuple) : NULL;
			pgc_move_begin(&cfg->partition, rel, &td->tg_trigtuple->t_self, &moved);
			return td->tg_newtuple;
		}
		RowContribution(cfg, rel, td->tg_newtuple, &newc);
		HorizonLockBoth(cfg, &oldc, &newc);
		result = GuardChange(cfg, td, &oldc, &newc);
		DueUpdate(cfg, td, &oldc, &newc);
		HorizonUpdate(cfg, &oldc, &newc);
		/* the application cleared the hold mark and the order fit */
		if (oldc.held && cfg->hold_mode && !IsHeld(cfg, rel, result))
			CloseHold(RelationGetRelid(rel), RowKeyJson(cfg, rel, td->tg_trigtuple),
					  "hold mark cleared; the order fit the customer's credit");

		/*
		 * A held order changed while held, or held again as it was changed:
		 * its hold record no longer describes it.  The record is closed and a
		 * new one opened for the order as it is now, so that a controller
		 * releases only what the record they look at says.
		 */
		else if (oldc.held && cfg->hold_mode)
		{
			char	   *old_key = RowKeyJson(cfg, rel, td->tg_trigtuple);
			char	   *new_key = RowKeyJson(cfg, rel, result);

			/* the new amount in the row's own currency */
			Numeric		amount = newc.held ? newc.amount : newc.own_amount;
			bool		same_amount;

			same_amount = (oldc.amount == NULL && amount == NULL) ||
				(oldc.amount != NULL && amount != NULL &&
				 pgc_numeric_cmp(oldc.amount, amount) == 0);
			if (newc.customer == NULL || strcmp(oldc.customer, newc.customer) != 0 || !same_amount ||
				!SameCurrency(cfg, rel, td->tg_trigtuple, result) ||
				strcmp(old_key, new_key) != 0)
			{
				Verdict		v = {0};

				CloseHold(RelationGetRelid(rel), old_key, "order changed while held");
				if (amount != NULL && newc.customer != NULL)
				{
					v.reason = "order changed while held";
					RecordHold(cfg, rel, result, newc.customer,
							   HeldInAccount(cfg, rel, result, newc.customer, amount), &v);
				}
			}
		}
		return result;
	}
	else
	{
		bool		moving;

		RowContribution(cfg, rel, td->tg_trigtuple, &oldc);
		moving = pgc_move_expects_delete(rel, &td->tg_trigtuple->t_self);
		/* the insert half of a move checks what the move raises */
		if (oldc.counts && moving)
			AddExposure(cfg, oldc.customer, pgc_numeric_negate(oldc.amount));
		else if (oldc.counts)
			LeaveExposure(cfg, oldc.customer, oldc.amount);
		DueShare(cfg, rel, td->tg_trigtuple, &oldc, false);
		HorizonShare(cfg, &oldc, false, false);
		if (moving)
			(void) pgc_move_deleted(rel, &td->tg_trigtuple->t_self);
		if (!moving && oldc.held && cfg->hold_mode)
			CloseHold(RelationGetRelid(rel), RowKeyJson(cfg, rel, td->tg_trigtuple),
					  "held order deleted");
		return td->tg_trigtuple;
	}
	return GuardChange(cfg, td, &oldc, &newc);
}

/*
 * A row of a receivables table's version: the book kept of its customer
 * (book_cache.sql) no longer holds, whatever the change, also of a row
 * that counts nowhere (a paid invoice).  The customer gets an exposure
 * row for it if it has none.
 */
static void
TouchBook(GuardConfig *cfg, Relation rel, HeapTuple tup)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, cfg->cust_att, RelationGetDescr(rel), &isnull);
	char	   *customer;

	if (isnull)
		return;
	customer = pgc_customer_key(d, cfg->cust_type);
	if (strlen(customer) > PGC_MAX_CUSTOMER_KEY || pgc_exposure_touch_book(customer))
		return;
	CreateExposureRow(customer);
	if (!pgc_exposure_touch_book(customer))
		elog(ERROR, "pgcredit: could not create the exposure of customer \"%s\"", customer);
}

/*
 * The guard's work on one row, and for a receivables table a new book
 * version for the customers of the row before and after, unless that work
 * gave them one already
 */
static HeapTuple
GuardRow(GuardConfig *cfg, TriggerData *td)
{
	HeapTuple	result;

	if (cfg->is_orders)
		return GuardRowWork(cfg, td);
	pgc_book_bumps_reset();
	result = GuardRowWork(cfg, td);
	TouchBook(cfg, td->tg_relation, td->tg_trigtuple);
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		TouchBook(cfg, td->tg_relation, td->tg_newtuple);
	return result;
}

/*
 * A statement trigger calling the guard must be pgcredit's own, on an
 * attached table: a hand-made one could end the count of statements in
 * progress early.
 */
static void
CheckStatementTrigger(TriggerData *td)
{
	PgcAttachment att;
	const char *name = td->tg_trigger->tgname;
	bool		attached = pgc_attachment_find(RelationGetRelid(td->tg_relation), &att);

	if (!attached)
		RefuseCitusShard(td->tg_relation);
	if (!TRIGGER_FIRED_BY_INSERT(td->tg_event) ||
		(strcmp(name, "zz_pgcredit_insert_begin") != 0 && strcmp(name, "zz_pgcredit_insert_end") != 0) ||
		!attached)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("trigger \"%s\" on relation \"%s\" is not pgcredit's guard",
						name, RelationGetRelationName(td->tg_relation)),
				 errdetail("pgcredit's guard acts only as the triggers that pgcredit.attach_orders() or pgcredit.attach_receivables() installs."),
				 errhint("Drop this trigger, and attach the table with pgcredit's functions.")));
}

/*
 * Before a transaction commits, undo what is left of rows never stored
 * (rows inserted straight into a partition, whose statement triggers are
 * not pgcredit's, are settled here).
 */
static void
GuardPreCommit(XactEvent event, void *arg)
{
	PgcPending *undo;
	PgcActAs	act;
	bool		save_spi;

	if (event != XACT_EVENT_PRE_COMMIT && event != XACT_EVENT_PRE_PREPARE)
		return;
	undo = pgc_pending_take_all();
	if (undo == NULL)
		return;
	PushActiveSnapshot(GetTransactionSnapshot());
	pgc_act_as(&act, undo->owner, true);
	save_spi = guard_spi;
	guard_spi = false;
	UndoPending(undo);
	if (guard_spi)
		SPI_finish();
	guard_spi = save_spi;
	pgc_act_done(&act);
	PopActiveSnapshot();
}

static void
RegisterPreCommit(void)
{
	static bool registered = false;

	if (!registered)
	{
		RegisterXactCallback(GuardPreCommit, NULL);
		registered = true;
	}
}

/*
 * exposure_trigger(): BEFORE INSERT OR UPDATE OR DELETE FOR EACH ROW on an
 * attached table.  It acts as pgcredit's owner while it works, so that the
 * application's role needs no right on pgcredit's tables, inside a
 * security-restricted operation with the search path fixed; every
 * statement it runs names its objects with their schema.
 */
Datum
exposure_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	GuardConfig *volatile cfg = NULL;
	HeapTuple volatile result = NULL;
	PgcActAs	act;
	bool		save_spi;
	PgcActAs   *save_act;
	volatile bool connected = false;
	Oid			owner;
	PgcPending *volatile undo = NULL;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "pgcredit.exposure_trigger: not called by trigger manager");
	RegisterPreCommit();

	if (TRIGGER_FIRED_FOR_STATEMENT(td->tg_event))
	{
		/* the INSERT statements in progress, for guard_pending.c */
		CheckStatementTrigger(td);
		if (TRIGGER_FIRED_BEFORE(td->tg_event))
		{
			pgc_pending_statement_start();
			return PointerGetDatum(NULL);
		}
		if (!pgc_pending_statement_end())
			return PointerGetDatum(NULL);
		undo = pgc_pending_take_all();
		owner = pgc_function_owner(fcinfo->flinfo->fn_oid);
	}
	else
	{
		cfg = GetConfig(fcinfo, td);
		owner = cfg->owner;
		pgc_fx_forget();
	}

	pgc_act_as_lazily(&act, owner, true);
	save_spi = guard_spi;
	save_act = guard_act;
	guard_spi = false;
	guard_act = &act;
	PG_TRY();
	{
		if (cfg == NULL)
			UndoPending(undo);
		else if (TRIGGER_FIRED_AFTER(td->tg_event))
			GuardConfirm(cfg, td);
		else
			result = GuardRow(cfg, td);
		/* the accounts' currencies converted into, under the row locks */
		pgc_fx_confirm();
	}
	PG_CATCH();
	{
		pgc_act_abandon(&act);
		guard_spi = save_spi;
		guard_act = save_act;
		PG_RE_THROW();
	}
	PG_END_TRY();
	connected = guard_spi;
	guard_spi = save_spi;
	guard_act = save_act;
	pgc_act_done(&act);

	if (connected)
	{
		/* a marked copy made under SPI must outlive SPI's memory */
		if (result != NULL && result != td->tg_trigtuple && result != td->tg_newtuple)
			result = SPI_copytuple(result);
		SPI_finish();
	}
	return PointerGetDatum(result);
}

/*
 * SQL: pgcredit.last_held_order_id(): the id of the held order that this
 * session's writes recorded last (as lastval() does for sequences), NULL
 * when none did.  Only the session's own: any role may call it.
 */
Datum
pgc_last_held_order_id(PG_FUNCTION_ARGS)
{
	if (!have_last_held)
		PG_RETURN_NULL();
	PG_RETURN_INT64(last_held_id);
}
