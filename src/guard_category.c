/*-------------------------------------------------------------------------
 *
 * guard_category.c
 *	  Exposure categories in the guard: a customer's exposure in each
 *	  company category (pgcredit.category_exposure), and the judgement of
 *	  an order against the sub-limit of its category.
 *
 * The built-in categories, orders and invoices, are the columns of the
 * customer's exposure row and cost the guard nothing.  A table attached
 * with a company category also adds every change of its rows to the
 * customer's row of category_exposure, written here in the same
 * transaction, always after the customer's exposure row is locked: that
 * lock serialises every change of a customer's category rows, and the
 * fixed order (the customer's exposure row first, then its category
 * row) keeps concurrent orders from deadlocking.  The rows are written
 * directly, as guard_exposure.c writes the exposure row (the place of
 * each row remembered, no SQL statement), and with one kept INSERT on
 * first sight of a customer in a category.
 *
 * Which categories have sub-limits is kept in each backend: an order of
 * a category without one runs no statement for them.  Every statement
 * that changes pgcredit.category_limit invalidates the table's relcache
 * entry in every backend (pgcredit._category_limits_changed), and a
 * relcache callback forgets what was kept.  For a company category with
 * sub-limits the guard reads the sub-limit in force for the customer
 * through category_limit's unique index (the customer's own, else the
 * default), for a built-in category with one kept statement that also
 * sums the company categories of its kind, under the same lock, and
 * judges the order here (PC018), as check_order() does with
 * pgcredit._category_standing().
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "pgcredit.h"
#include "amount.h"
#include "guard_category.h"
#include "guard_exposure.h"

static SPIPlanPtr insert_plan = NULL;
static SPIPlanPtr limits_plan = NULL;
static SPIPlanPtr builtin_limit_plan = NULL;

/* The categories that have sub-limits, kept in limits_cxt */
static MemoryContext limits_cxt = NULL;
static bool limits_valid = false;
static Oid	limits_relid = InvalidOid;
static List *limited = NIL;

/* category_limit's unique index of (category, customer) and columns */
static struct
{
	Oid			relid;
	Oid			index;
	AttrNumber	credit_limit;
	AttrNumber	tolerance;
}			limit_cols;

/*
 * Add delta to a customer's exposure in a company category, creating the
 * row on first sight; with after given, the amount after the change.  The
 * caller holds the customer's exposure row lock, so no other transaction
 * writes this row meanwhile: the INSERT cannot meet a concurrent one,
 * and ON CONFLICT only covers a row created since by this transaction.
 */
void
pgc_category_add(const char *customer, const char *category, Numeric delta, Numeric *after)
{
	Oid			types[3] = {TEXTOID, TEXTOID, NUMERICOID};
	Datum		values[3];
	MemoryContext cxt = CurrentMemoryContext;
	bool		isnull;

	/* the row written directly, as the exposure row is */
	if (pgc_category_row_add(customer, category, delta, after))
		return;
	values[0] = CStringGetTextDatum(customer);
	values[1] = CStringGetTextDatum(category);
	values[2] = NumericGetDatum(delta);
	pgc_guard_run(&insert_plan,
				  "INSERT INTO pgcredit.category_exposure AS c (customer, category, amount) "
				  "VALUES ($1, $2, $3) ON CONFLICT ON CONSTRAINT category_exposure_pkey "
				  "DO UPDATE SET amount = c.amount OPERATOR(pg_catalog.+) EXCLUDED.amount "
				  "RETURNING c.amount",
				  3, types, values, false, SPI_OK_INSERT_RETURNING);
	if (SPI_processed != 1)
		elog(ERROR, "pgcredit: could not add to the exposure of customer \"%s\" in category \"%s\"",
			 customer, category);
	MemoryContextSwitchTo(cxt);
	if (after != NULL)
		*after = DatumGetNumericCopy(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 1, &isnull));
}

/* Forget the categories with sub-limits when the table changes */
static void
LimitsCallback(Datum arg, Oid relid)
{
	/* without the table (version 1.0), watch for it to be created */
	if (relid == InvalidOid || relid == limits_relid || !OidIsValid(limits_relid))
	{
		limits_valid = false;
		limit_cols.relid = InvalidOid;
	}
}

/* Read which categories have sub-limits, with the latest snapshot */
static void
LoadLimits(void)
{
	static bool registered = false;
	MemoryContext cxt = CurrentMemoryContext;

	if (!registered)
	{
		pgc_register_relcache_callback(LimitsCallback, (Datum) 0);
		registered = true;
	}
	if (limits_cxt == NULL)
		limits_cxt = AllocSetContextCreate(CacheMemoryContext, "pgcredit category limits",
										   ALLOCSET_SMALL_SIZES);
	MemoryContextReset(limits_cxt);
	limited = NIL;
	limits_relid = get_relname_relid("category_limit", get_namespace_oid("pgcredit", false));
	/* valid from here: a change from now on invalidates what is read */
	limits_valid = true;
	if (!OidIsValid(limits_relid))
		return;					/* version 1.0: no sub-limits */
	pgc_guard_run(&limits_plan, "SELECT DISTINCT category FROM pgcredit.category_limit",
				  0, NULL, NULL, true, SPI_OK_SELECT);
	MemoryContextSwitchTo(limits_cxt);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

		limited = lappend(limited, TextDatumGetCString(d));
	}
	MemoryContextSwitchTo(cxt);
}

/* Whether any sub-limit (a customer's or the default) exists for a category */
bool
pgc_category_has_limits(const char *category)
{
	ListCell   *lc;

	/* see a change committed since this transaction's last lock */
	AcceptInvalidationMessages();
	if (!limits_valid)
	{
		PG_TRY();
		{
			LoadLimits();
		}
		PG_CATCH();
		{
			limits_valid = false;
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	foreach(lc, limited)
		if (strcmp((const char *) lfirst(lc), category) == 0)
		return true;
	return false;
}

/*
 * One row of category_limit, the customer's (customer NULL: the
 * category's default), through the index of (category, customer), as the
 * latest snapshot sees it; false when there is none
 */
static bool
ProbeSubLimit(Relation rel, Oid index, Snapshot snap, const char *category, const char *customer,
			  PgcCategoryStanding *s)
{
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(category));
	if (customer != NULL)
		ScanKeyInit(&key[1], 2, BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(customer));
	else
		ScanKeyEntryInitialize(&key[1], SK_ISNULL | SK_SEARCHNULL, 2, InvalidStrategy,
							   InvalidOid, InvalidOid, InvalidOid, (Datum) 0);
	scan = systable_beginscan(rel, index, true, snap, 2, key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		TupleDesc	desc = RelationGetDescr(rel);
		bool		isnull;
		Datum		d;

		d = heap_getattr(tup, limit_cols.credit_limit, desc, &isnull);
		s->credit_limit = isnull ? NULL : DatumGetNumericCopy(d);
		d = heap_getattr(tup, limit_cols.tolerance, desc, &isnull);
		s->tolerance = isnull ? int64_to_numeric(0) : DatumGetNumericCopy(d);
		found = true;
	}
	systable_endscan(scan);
	return found;
}

/*
 * The sub-limit in force for a customer in a company category: its own,
 * else the category's default, read with the latest snapshot under the
 * customer's exposure row lock (set_category_limit takes that row first
 * for a customer's own)
 */
static bool
ReadSubLimit(const char *customer, const char *category, PgcCategoryStanding *s)
{
	Relation	rel;
	Snapshot	snap;
	bool		found;

	/* none in the category (this loads which categories have any) */
	if (!pgc_category_has_limits(category) || !OidIsValid(limits_relid))
		return false;
	rel = table_open(limits_relid, AccessShareLock);
	if (!OidIsValid(limit_cols.index) || limit_cols.relid != limits_relid)
	{
		Oid			once = get_relation_constraint_oid(limits_relid, "category_limit_once", false);

		limit_cols.relid = limits_relid;
		limit_cols.index = get_constraint_index(once);
		limit_cols.credit_limit = get_attnum(limits_relid, "credit_limit");
		limit_cols.tolerance = get_attnum(limits_relid, "tolerance_pct");
		if (get_attnum(limits_relid, "category") != 1 || get_attnum(limits_relid, "customer") != 2 ||
			limit_cols.credit_limit == InvalidAttrNumber || limit_cols.tolerance == InvalidAttrNumber)
			elog(ERROR, "pgcredit: pgcredit.category_limit must be a table (category, customer, credit_limit, tolerance_pct, ...)");
	}
	snap = RegisterSnapshot(GetLatestSnapshot());
	found = ProbeSubLimit(rel, limit_cols.index, snap, category, customer, s) ||
		ProbeSubLimit(rel, limit_cols.index, snap, category, NULL, s);
	UnregisterSnapshot(snap);
	table_close(rel, AccessShareLock);
	return found && s->credit_limit != NULL;
}

/*
 * The sub-limit in force for a customer in a category (its own, else the
 * category's default); false when there is none.  For a built-in
 * category (builtin_kind given: orders or receivables), also what the
 * customer's company categories of that kind hold, which the category's
 * column counts too: read under the customer's exposure row lock, which
 * every writer of them holds.  The amount is the caller's to fill.
 */
bool
pgc_category_sub_limit(const char *customer, const char *category, const char *builtin_kind,
					   PgcCategoryStanding *s)
{
	Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		values[3];
	MemoryContext cxt = CurrentMemoryContext;
	bool		isnull;
	Datum		d;
	HeapTuple	t;
	TupleDesc	desc;

	/* a company category: read without SQL, the customer's then the default */
	if (builtin_kind == NULL)
	{
		s->others = int64_to_numeric(0);
		return ReadSubLimit(customer, category, s);
	}
	values[0] = CStringGetTextDatum(customer);
	values[1] = CStringGetTextDatum(category);
	values[2] = CStringGetTextDatum(builtin_kind);
	pgc_guard_run(&builtin_limit_plan,
				  "SELECT l.credit_limit, l.tolerance_pct, "
				  "(SELECT COALESCE(pg_catalog.sum(c.amount), 0) "
				  "FROM pgcredit.category_exposure c JOIN pgcredit.exposure_category k "
				  "ON k.name OPERATOR(pg_catalog.=) c.category "
				  "WHERE c.customer OPERATOR(pg_catalog.=) $1 "
				  "AND k.kind OPERATOR(pg_catalog.=) $3 AND NOT k.built_in) "
				  "FROM pgcredit.category_limit l "
				  "WHERE l.category OPERATOR(pg_catalog.=) $2 "
				  "AND (l.customer OPERATOR(pg_catalog.=) $1 OR l.customer IS NULL) "
				  "ORDER BY l.customer NULLS LAST LIMIT 1",
				  3, types, values, true, SPI_OK_SELECT);
	MemoryContextSwitchTo(cxt);
	if (SPI_processed != 1)
		return false;
	t = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	d = SPI_getbinval(t, desc, 1, &isnull);
	s->credit_limit = isnull ? NULL : DatumGetNumericCopy(d);
	d = SPI_getbinval(t, desc, 2, &isnull);
	s->tolerance = isnull ? int64_to_numeric(0) : DatumGetNumericCopy(d);
	d = SPI_getbinval(t, desc, 3, &isnull);
	s->others = isnull ? int64_to_numeric(0) : DatumGetNumericCopy(d);
	return s->credit_limit != NULL;
}

/*
 * Judge a raise of delta (> 0) of a customer's exposure in a category
 * against the sub-limit in force, after the credit rules and the groups
 * passed it: s->amount is the exposure in the category with the raise.
 * Above the sub-limit with its tolerance gives PC018, which holds in hold
 * mode and which an override covers, as the credit limit's PC001.
 */
void
pgc_category_judge(const char *category, const PgcCategoryStanding *s, Numeric delta,
				   const PgcExposureRow *x, PgcVerdict *v)
{
	Numeric		allowed;
	Numeric		limit;
	Numeric		tolerance;
	Numeric		cover;

	if (v->sqlstate != 0 || s->credit_limit == NULL || delta == NULL ||
		pgc_numeric_sign(delta) <= 0)
		return;
	allowed = pgc_limit_with_tolerance(s->credit_limit, s->tolerance);
	if (pgc_numeric_cmp(s->amount, allowed) <= 0)
		return;
	v->sqlstate = ERRCODE_PGC_CATEGORY_LIMIT_EXCEEDED;
	v->refuse = false;
	v->rule_id = 0;
	v->kind = "category_limit";
	v->category = category;
	v->reason = psprintf("sub-limit of category %s exceeded", category);
	v->category_exposure = pgc_numeric_text(s->amount);
	v->category_limit = pgc_numeric_text(s->credit_limit);
	v->category_allowed = pgc_numeric_text(allowed);
	v->category_available = pgc_numeric_text(numeric_sub_opt_error(s->credit_limit,
																   numeric_sub_opt_error(s->amount, delta, NULL),
																   NULL));
	v->exposure = pgc_numeric_text(x->exposure);
	limit = pgc_rules_limit_in_force(x, &tolerance, &cover);
	v->limit = limit != NULL ? pgc_numeric_text(limit) : "none";
	v->allowed = v->limit;
	v->available = limit != NULL ? pgc_numeric_text(pgc_rules_available(x, delta)) : "unlimited";
}
