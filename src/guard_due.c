/*-------------------------------------------------------------------------
 *
 * guard_due.c
 *	  A customer's open receivables by due date, kept in
 *	  pgcredit.receivable_due by the guard and read by the credit rules
 *	  of kinds days_past_due and overdue_amount, without an SQL statement.
 *
 * A row of an attached receivables table counts here when it counts in
 * exposure (open, with a customer and an amount), has a due date and an
 * amount above 0: exactly the rows pgcredit.items_past_due() and
 * pgcredit._overdue_amount() looked at when they read the attached tables
 * for every order.  Each (customer, due date) has one row with the sum of
 * those amounts and their number; a row whose number falls to 0 is
 * deleted.
 *
 * The guard changes a customer's rows only while it holds the lock of
 * the customer's exposure row (it changes them after exposure, or locks
 * that row when only a due date moved), and so do pgcredit's attach,
 * detach and rebuild functions: all changes of one customer's buckets are
 * serialised by that lock, and a bucket row can be inserted or updated
 * directly, as the latest snapshot shows it, with no race for its key.
 *
 * The readers scan the primary key (customer, due) for the due dates
 * before a cutoff: the guard with the latest snapshot, after the lock of
 * the customer's exposure row, so it sees every committed change of that
 * customer; check_order() with its statement's snapshot.
 *
 * The disputed items (pgcredit.collection_dispute, guard_dispute.c) are
 * kept in the same way in pgcredit.dispute_due as well: a disputed item's
 * share is in both tables, and the rules count receivable_due less
 * dispute_due.  receivable_due keeps its meaning (every open item), so
 * attach, detach and its verification need not know of disputes.
 *
 * A database still at version 1.0 has no such table; pgc_due_available()
 * says so and the guard reads the attached tables with SQL as 1.0 did.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "pgcredit.h"
#include "compat.h"
#include "guard_due.h"
#include "guard_exposure.h"

/* Where a table of buckets is, looked up once and forgotten when it changes */
typedef struct DueCache
{
	bool		valid;
	bool		present;		/* false in a database without it */
	const char *name;
	Oid			table;
	Oid			pkey;
	AttrNumber	customer;
	AttrNumber	due;
	AttrNumber	amount;
	AttrNumber	items;
} DueCache;

/* pgcredit.receivable_due and pgcredit.dispute_due (both version 1.1 on) */
static DueCache due_cache = {.name = "receivable_due"};
static DueCache dispute_cache = {.name = "dispute_due"};
static bool due_callback = false;

/*
 * While a table is missing, any relation created may be it (ALTER
 * EXTENSION UPDATE in another session): look again after every change.
 */
static void
DueCacheCallback(Datum arg, Oid relid)
{
	DueCache   *caches[2] = {&due_cache, &dispute_cache};

	for (int i = 0; i < 2; i++)
		if (!caches[i]->present || relid == InvalidOid ||
			relid == caches[i]->table || relid == caches[i]->pkey)
			caches[i]->valid = false;
}

static AttrNumber
DueColumn(Relation rel, const char *name)
{
	AttrNumber	att = get_attnum(RelationGetRelid(rel), name);

	if (att == InvalidAttrNumber)
		elog(ERROR, "pgcredit: column \"%s\" of \"%s\" is missing",
			 name, RelationGetRelationName(rel));
	return att;
}

static void
LoadDueCache(DueCache *c)
{
	Oid			nsp;
	Relation	rel;
	const char *name = c->name;

	if (c->valid)
		return;
	if (!due_callback)
	{
		pgc_register_relcache_callback(DueCacheCallback, (Datum) 0);
		due_callback = true;
	}
	memset(c, 0, sizeof(*c));
	c->name = name;
	nsp = get_namespace_oid("pgcredit", false);
	c->table = get_relname_relid(name, nsp);
	if (OidIsValid(c->table))
	{
		rel = table_open(c->table, AccessShareLock);
		c->pkey = RelationGetPrimaryKeyIndex(rel);
		if (!OidIsValid(c->pkey) || rel->rd_rel->relkind != RELKIND_RELATION)
			elog(ERROR, "pgcredit: pgcredit.%s must be a table with a primary key", name);
		c->customer = DueColumn(rel, "customer");
		c->due = DueColumn(rel, "due");
		c->amount = DueColumn(rel, "amount");
		c->items = DueColumn(rel, "items");
		if (c->customer != 1 || c->due != 2)
			elog(ERROR, "pgcredit: pgcredit.%s must begin with customer and due", name);
		table_close(rel, AccessShareLock);
		c->present = true;
	}
	c->valid = true;
}

/* Whether the database has pgcredit.receivable_due (version 1.1 on) */
bool
pgc_due_available(void)
{
	LoadDueCache(&due_cache);
	return due_cache.present;
}

/*
 * The cutoff of "more than days past due": current_date - days, with the
 * date of the transaction's start as SQL's current_date has it (and its
 * error when the result is out of range)
 */
DateADT
pgc_due_cutoff(int32 days)
{
	return DatumGetDateADT(DirectFunctionCall2(date_mii,
											   DateADTGetDatum(GetSQLCurrentDate()),
											   Int32GetDatum(days)));
}

/* Keys on the primary key: customer = key, and due compared by strategy */
static void
DueKeys(Relation idx, ScanKey keys, Datum customer, DateADT due, StrategyNumber strategy)
{
	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_TEXTEQ, customer);
	keys[0].sk_collation = idx->rd_indcollation[0];
	ScanKeyInit(&keys[1], 2, strategy,
				strategy == BTEqualStrategyNumber ? F_DATE_EQ : F_DATE_LT,
				DateADTGetDatum(due));
}

/*
 * Add amount and items to the customer's bucket of one day in a table
 * laid out as pgcredit.receivable_due and pgcredit.order_horizon are:
 * customer text, a date, then the amount and item count columns given,
 * four columns in all, the primary key on the first two.  The bucket is
 * created on first need and deleted when its last item leaves.  The
 * caller holds the lock of the customer's exposure row, which every
 * writer of the buckets takes.  Returns false, changing nothing, when
 * items leave a bucket that is not there.
 */
bool
pgc_bucket_change(Oid table, Oid pkey, AttrNumber amount_att, AttrNumber items_att,
				  const char *customer, DateADT day, Numeric amount, int items)
{
	Relation	rel;
	Relation	idx;
	TupleTableSlot *slot;
	ScanKeyData keys[2];
	IndexScanDesc scan;
	Snapshot	snap;
	TupleDesc	desc;
	Datum		values[4];
	bool		nulls[4];
	bool		found;
	bool		done = true;

	rel = table_open(table, RowExclusiveLock);
	idx = index_open(pkey, RowExclusiveLock);
	desc = RelationGetDescr(rel);
	if (desc->natts != 4)
		elog(ERROR, "pgcredit: pgcredit.%s must have four columns", RelationGetRelationName(rel));
	slot = table_slot_create(rel, NULL);

	/* this command's earlier changes of the bucket must be visible */
	CommandCounterIncrement();
	snap = RegisterSnapshot(GetLatestSnapshot());
	DueKeys(idx, keys, CStringGetTextDatum(customer), day, BTEqualStrategyNumber);
	scan = pgc_index_beginscan(rel, idx, snap, 2, 0);
	index_rescan(scan, keys, 2, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	index_endscan(scan);

	if (found)
	{
		HeapTuple	old = ExecCopySlotHeapTuple(slot);
		ItemPointerData tid = slot->tts_tid;
		int32		n;
		TM_Result	res;
		TM_FailureData tmfd;

		heap_deform_tuple(old, desc, values, nulls);
		n = DatumGetInt32(values[items_att - 1]) + items;
		if (n <= 0)
			res = heap_delete(rel, &tid, GetCurrentCommandId(true), InvalidSnapshot,
							  true, &tmfd, false);
		else
		{
			HeapTuple	tup;
			LockTupleMode lockmode;
			PgcIndexUpdate indexes;

			values[items_att - 1] = Int32GetDatum(n);
			values[amount_att - 1] =
				NumericGetDatum(numeric_add_opt_error(DatumGetNumeric(values[amount_att - 1]),
													  amount, NULL));
			tup = heap_form_tuple(desc, values, nulls);
			res = pgc_heap_update(rel, &tid, tup, GetCurrentCommandId(true),
								  &tmfd, &lockmode, &indexes);
			if (res == TM_Ok && indexes == PGC_INDEXES_ALL)
				pgc_insert_index_entries(rel, tup);
			else if (res == TM_Ok && indexes == PGC_INDEXES_SUMMARIZING)
				elog(ERROR, "pgcredit: summarizing indexes on pgcredit.%s are not supported",
					 RelationGetRelationName(rel));
		}
		/* every writer holds the customer's exposure row lock: cannot happen */
		if (res != TM_Ok)
			elog(ERROR, "pgcredit: bucket of customer \"%s\" in pgcredit.%s changed concurrently (result %d)",
				 customer, RelationGetRelationName(rel), (int) res);
	}
	else if (items > 0)
	{
		HeapTuple	tup;

		values[0] = CStringGetTextDatum(customer);
		values[1] = DateADTGetDatum(day);
		values[amount_att - 1] = NumericGetDatum(amount);
		values[items_att - 1] = Int32GetDatum(items);
		memset(nulls, 0, sizeof(nulls));
		tup = heap_form_tuple(desc, values, nulls);
		heap_insert(rel, tup, GetCurrentCommandId(true), 0, NULL);
		pgc_insert_index_entries(rel, tup);
	}
	else
		done = false;

	UnregisterSnapshot(snap);
	ExecDropSingleTupleTableSlot(slot);
	index_close(idx, RowExclusiveLock);
	table_close(rel, RowExclusiveLock);
	return done;
}

/*
 * Add amount and items (+1 or -1, with the item's amount or its negation)
 * to the customer's bucket of one due date.  A bucket missing when an
 * item leaves (its row deleted by hand) is left missing:
 * verify_receivable_due() reports it and rebuild_exposure() restores it; a
 * receivables change is never refused for it.
 */
void
pgc_due_change(const char *customer, DateADT due, Numeric amount, int items)
{
	LoadDueCache(&due_cache);
	if (!due_cache.present)
		return;
	(void) pgc_bucket_change(due_cache.table, due_cache.pkey, due_cache.amount, due_cache.items,
							 customer, due, amount, items);
}

/*
 * The same for the buckets of the disputed items (pgcredit.dispute_due),
 * which are also in pgcredit.receivable_due: the guard adds a disputed
 * item's share to both, under the same lock.  A missing bucket is left
 * to verify_dispute_due() and rebuild_exposure() likewise.
 */
void
pgc_dispute_due_change(const char *customer, DateADT due, Numeric amount, int items)
{
	LoadDueCache(&dispute_cache);
	if (!dispute_cache.present)
		return;
	(void) pgc_bucket_change(dispute_cache.table, dispute_cache.pkey, dispute_cache.amount,
							 dispute_cache.items, customer, due, amount, items);
}

/* One bucket read back: its day, items and amount */
typedef struct DueBucket
{
	DateADT		due;
	int32		items;
	Numeric		amount;
} DueBucket;

/*
 * The customer's buckets of one table due before cutoff, as snap sees
 * them, in the order of their days (the primary key's); with stop_at_one,
 * only the first bucket that holds an item.  Returns how many, in *out
 * (palloc'd).
 */
static int
ReadBuckets(DueCache *c, const char *customer, DateADT cutoff, Snapshot snap, bool stop_at_one,
			DueBucket **out)
{
	Relation	rel;
	Relation	idx;
	TupleTableSlot *slot;
	ScanKeyData keys[2];
	IndexScanDesc scan;
	int			n = 0;
	int			room = 8;
	DueBucket  *b = palloc(sizeof(DueBucket) * room);

	rel = table_open(c->table, AccessShareLock);
	idx = index_open(c->pkey, AccessShareLock);
	slot = table_slot_create(rel, NULL);
	DueKeys(idx, keys, CStringGetTextDatum(customer), cutoff, BTLessStrategyNumber);
	scan = pgc_index_beginscan(rel, idx, snap, 2, 0);
	index_rescan(scan, keys, 2, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		items = slot_getattr(slot, c->items, &isnull);
		Datum		a;

		if (isnull || DatumGetInt32(items) <= 0)
			continue;
		a = slot_getattr(slot, c->amount, &isnull);
		if (isnull)
			continue;
		if (n == room)
		{
			room *= 2;
			b = repalloc(b, sizeof(DueBucket) * room);
		}
		b[n].due = DatumGetDateADT(slot_getattr(slot, c->due, &isnull));
		b[n].items = DatumGetInt32(items);
		b[n].amount = DatumGetNumericCopy(a);
		n++;
		if (stop_at_one)
			break;
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(idx, AccessShareLock);
	table_close(rel, AccessShareLock);
	*out = b;
	return n;
}

/*
 * Whether the customer has an undisputed item due before cutoff (*any),
 * and the sum of those items (*sum, 0 when none), as snap sees the
 * buckets: pgcredit.receivable_due less pgcredit.dispute_due, day by day.
 * With disputes false (no dispute is open), dispute_due is not read, and
 * with sum NULL the scan stops at the first bucket with an item: what an
 * order costs without disputes is what it cost before them.
 */
void
pgc_due_overdue(const char *customer, DateADT cutoff, Snapshot snap, bool disputes,
				bool *any, Numeric *sum)
{
	DueBucket  *due;
	DueBucket  *held = NULL;
	int			ndue;
	int			nheld = 0;
	int			j = 0;
	Numeric		total = int64_to_numeric(0);

	*any = false;
	LoadDueCache(&due_cache);
	if (!due_cache.present)
		elog(ERROR, "pgcredit: table pgcredit.receivable_due is missing");
	if (disputes)
	{
		LoadDueCache(&dispute_cache);
		if (dispute_cache.present)
			nheld = ReadBuckets(&dispute_cache, customer, cutoff, snap, false, &held);
	}
	ndue = ReadBuckets(&due_cache, customer, cutoff, snap, sum == NULL && nheld == 0, &due);
	for (int i = 0; i < ndue; i++)
	{
		int32		items = due[i].items;
		Numeric		amount = due[i].amount;

		/* the disputed part of the same day (both lists go by day) */
		while (j < nheld && held[j].due < due[i].due)
			j++;
		if (j < nheld && held[j].due == due[i].due)
		{
			items -= held[j].items;
			amount = numeric_sub_opt_error(amount, held[j].amount, NULL);
		}
		if (items <= 0)
			continue;
		*any = true;
		if (sum == NULL)
			break;
		total = numeric_add_opt_error(total, amount, NULL);
	}
	if (sum != NULL)
		*sum = total;
}
