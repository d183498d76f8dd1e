/*-------------------------------------------------------------------------
 *
 * guard_exposure.c
 *	  The guard's direct access to pgcredit.exposure: find a customer's
 *	  row through the primary key, lock its latest version, add to it and
 *	  read back the account copy kept on it, without planning or running
 *	  an SQL statement for every order.
 *
 * This is what "UPDATE pgcredit.exposure SET ... WHERE customer = $1
 * RETURNING ..." does, cut down to the one table pgcredit owns and knows:
 * a heap table with a text primary key, no triggers, no rules, no row
 * level security.  Its steps follow the ones PostgreSQL's own executor and
 * logical replication apply take:
 *
 *	1. make this command's earlier changes visible (as SPI would before a
 *	   statement), so that a multi-row INSERT sees its own previous rows'
 *	   effect on exposure;
 *	2. find the row visible to a fresh snapshot: where this backend last
 *	   found or wrote it, if that version is still the visible one, else
 *	   by index scan (the versions a transaction writes cannot be pruned
 *	   before it ends, so an index scan walks all of them: without the
 *	   remembered place, n orders of one customer in one transaction
 *	   would cost n * n), and prune its page when it is nearly full;
 *	3. lock it FOR NO KEY UPDATE, waiting for a concurrent holder; if it
 *	   was updated or deleted meanwhile, start again from 2 with a newer
 *	   snapshot, so the change is always applied to the latest version;
 *	4. write the new version with heap_update (a HOT update on its page
 *	   when it fits, else with new index entries).
 *
 * Because step 3 holds the row lock until the end of the transaction, two
 * transactions adding to the same customer's exposure serialise exactly
 * as two UPDATEs of the row would.
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
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "storage/bufmgr.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "pgcredit.h"
#include "amount.h"
#include "guard_exposure.h"

/* Where pgcredit's tables are, looked up once and forgotten when they change */
typedef struct StoreCache
{
	bool		valid;
	Oid			exposure;
	Oid			exposure_pkey;
	Oid			settings;
	AttrNumber	x_customer;
	AttrNumber	x_receivables;
	AttrNumber	x_open_orders;
	AttrNumber	x_has_account;
	AttrNumber	x_credit_limit;
	AttrNumber	x_tolerance;
	AttrNumber	x_status;
	AttrNumber	x_risk_tier;
	AttrNumber	x_next_review;
	AttrNumber	x_temporary_limit;
	AttrNumber	x_temporary_from;
	AttrNumber	x_temporary_until;
	AttrNumber	x_order_count;
	AttrNumber	x_order_sum;
	AttrNumber	x_credit_group;
	AttrNumber	s_policy;
	AttrNumber	s_default_limit;
	AttrNumber	s_default_tolerance;
	AttrNumber	s_max_days;
	bool		settings_trigger;	/* settings changes invalidate the kept
									 * copy */
} StoreCache;

static StoreCache cache;
static bool callback_registered = false;

/*
 * The settings row as last read, kept while no change of pgcredit.settings
 * has been seen: its statement trigger settings_changed (version 1.1 on)
 * invalidates the table's relcache entry in every backend when a change
 * commits, as credit_rule's does for the rules.
 */
typedef struct SettingsCopy
{
	bool		valid;
	MemoryContext cxt;
	char	   *policy;
	Numeric		default_limit;
	Numeric		default_tolerance;
	bool		max_days_set;
	int32		max_days;
} SettingsCopy;

static SettingsCopy settings_copy;

static void
StoreCacheCallback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == cache.exposure ||
		relid == cache.exposure_pkey || relid == cache.settings)
		cache.valid = false;
	if (relid == InvalidOid || relid == cache.settings)
		settings_copy.valid = false;
}

static AttrNumber
Column(Relation rel, const char *name)
{
	AttrNumber	att = get_attnum(RelationGetRelid(rel), name);

	if (att == InvalidAttrNumber)
		elog(ERROR, "pgcredit: column \"%s\" of \"%s\" is missing",
			 name, RelationGetRelationName(rel));
	return att;
}

/*
 * A column that version 1.0's table lacks: a database not yet updated
 * with ALTER EXTENSION goes on working with the new library, without it
 */
static AttrNumber
OptionalColumn(Relation rel, const char *name)
{
	return get_attnum(RelationGetRelid(rel), name);
}

static void
LoadCache(void)
{
	Oid			nsp;
	Relation	rel;

	if (cache.valid)
		return;
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(StoreCacheCallback, (Datum) 0);
		callback_registered = true;
	}

	nsp = get_namespace_oid("pgcredit", false);
	cache.exposure = get_relname_relid("exposure", nsp);
	cache.settings = get_relname_relid("settings", nsp);
	if (!OidIsValid(cache.exposure) || !OidIsValid(cache.settings))
		elog(ERROR, "pgcredit: tables pgcredit.exposure and pgcredit.settings are missing");

	rel = table_open(cache.exposure, AccessShareLock);
	cache.exposure_pkey = RelationGetPrimaryKeyIndex(rel);
	if (!OidIsValid(cache.exposure_pkey) || rel->rd_rel->relkind != RELKIND_RELATION)
		elog(ERROR, "pgcredit: pgcredit.exposure must be a table with a primary key");
	cache.x_customer = Column(rel, "customer");
	cache.x_receivables = Column(rel, "receivables");
	cache.x_open_orders = Column(rel, "open_orders");
	cache.x_has_account = Column(rel, "has_account");
	cache.x_credit_limit = Column(rel, "credit_limit");
	cache.x_tolerance = Column(rel, "tolerance_pct");
	cache.x_status = Column(rel, "status");
	cache.x_risk_tier = OptionalColumn(rel, "risk_tier");
	cache.x_next_review = OptionalColumn(rel, "next_review");
	cache.x_temporary_limit = OptionalColumn(rel, "temporary_limit");
	cache.x_temporary_from = OptionalColumn(rel, "temporary_from");
	cache.x_temporary_until = OptionalColumn(rel, "temporary_until");
	cache.x_order_count = OptionalColumn(rel, "order_count");
	cache.x_order_sum = OptionalColumn(rel, "order_sum");
	cache.x_credit_group = OptionalColumn(rel, "credit_group");
	table_close(rel, AccessShareLock);

	rel = table_open(cache.settings, AccessShareLock);
	cache.s_policy = Column(rel, "no_account_policy");
	cache.s_default_limit = Column(rel, "default_limit");
	cache.s_default_tolerance = Column(rel, "default_tolerance_pct");
	cache.s_max_days = Column(rel, "max_days_past_due");
	cache.settings_trigger = false;
	if (rel->trigdesc != NULL)
	{
		for (int i = 0; i < rel->trigdesc->numtriggers; i++)
			if (strcmp(rel->trigdesc->triggers[i].tgname, "settings_changed") == 0 &&
				rel->trigdesc->triggers[i].tgenabled != TRIGGER_DISABLED)
				cache.settings_trigger = true;
	}
	table_close(rel, AccessShareLock);

	cache.valid = true;
}

/*
 * Whether pgcredit.exposure has the copies of the account fields that the
 * credit rules read (version 1.1 on); false in a database still at 1.0
 */
bool
pgc_exposure_rule_columns(void)
{
	LoadCache();
	return cache.x_risk_tier && cache.x_next_review && cache.x_temporary_limit &&
		cache.x_temporary_from && cache.x_temporary_until;
}

/*
 * Where this backend last found or wrote each customer's row, kept across
 * transactions: the version itself, and the root of its HOT chain, where
 * the primary key's index entry points.  A place is only a hint.  The
 * version is used when a fresh snapshot sees it and it holds the
 * customer's key, which makes it the one visible version of the
 * customer's row (the primary key allows no other): this finds the rows
 * this backend wrote last, also the many versions one transaction leaves
 * (which cannot be pruned before it ends, so that walking them from the
 * start for every order would cost n * n).  When another backend wrote the
 * row since, its newer version is found by following the HOT chain from
 * the root, as an index fetch does, without descending the B-tree.  Else
 * the index finds the row, and the places are remembered again.
 */
typedef struct KnownRow
{
	char		customer[NAMEDATALEN];	/* hash key: keys of up to 63 bytes */
	ItemPointerData tid;		/* the version last found or written */
	ItemPointerData root;		/* the root of its HOT chain */
} KnownRow;

/* then the table (about 1.5 MB) is emptied and filled again */
#define MAX_KNOWN_ROWS	16384

static HTAB *known = NULL;

static KnownRow *
Known(const char *customer, bool create)
{
	char		key[NAMEDATALEN];
	bool		found;

	/* a key too long to remember is always found through the index */
	if (strlen(customer) >= sizeof(key))
		return NULL;
	if (known != NULL && create && hash_get_num_entries(known) >= MAX_KNOWN_ROWS)
	{
		hash_destroy(known);
		known = NULL;
	}
	if (known == NULL)
	{
		HASHCTL		ctl;

		if (!create)
			return NULL;
		ctl.keysize = sizeof(key);
		ctl.entrysize = sizeof(KnownRow);
		ctl.hcxt = TopMemoryContext;
		known = hash_create("pgcredit exposure row places", 1024, &ctl,
							HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	strlcpy(key, customer, sizeof(key));
	return (KnownRow *) hash_search(known, key, create ? HASH_ENTER : HASH_FIND, &found);
}

/*
 * The page of a row about to be updated, pruned when little room is left
 * on it.  A version that fits on its page is written there (a HOT update,
 * no new index entry), but heap_update never makes room itself; an index
 * scan prunes a page whenever its free space is under the table's
 * fillfactor target, which for exposure's busy pages is nearly every
 * time.  Pruning here only when the page is close to full lets the dead
 * versions of many orders go at once.  A page another backend has pinned
 * is left for later (heap_page_prune_opt does not wait).  buf is pinned,
 * not locked.
 */
static void
PruneIfFull(Relation rel, Buffer buf, Size tuple_len)
{
	Page		page = BufferGetPage(buf);
	Size		room = Max(BLCKSZ / 10, 4 * (MAXALIGN(tuple_len) + sizeof(ItemIdData)));

	if (PageIsFull(page) || PageGetHeapFreeSpace(page) < room)
		heap_page_prune_opt(rel, buf);
}

/*
 * Keep a copy of a version found in buf (pinned, not locked) when it is
 * the customer's, and prune its page if need be; release buf.
 */
static bool
TakeIfCustomers(Relation rel, Buffer buf, HeapTuple found, const char *customer,
				HeapTuple *tup, ItemPointer tid)
{
	bool		isnull;
	bool		same;

	*tup = heap_copytuple(found);
	*tid = found->t_self;
	same = strcmp(TextDatumGetCString(heap_getattr(*tup, cache.x_customer, RelationGetDescr(rel), &isnull)),
				  customer) == 0;
	if (same)
		PruneIfFull(rel, buf, found->t_len);
	ReleaseBuffer(buf);
	if (!same)
		heap_freetuple(*tup);
	return same;
}

/*
 * The customer's row visible to snap, found from the places this backend
 * remembers; false when they do not lead to it.  Sets *tid to the
 * version's place and *root to its chain's root.
 */
static bool
FetchKnown(Relation rel, Snapshot snap, const char *customer, HeapTuple *tup,
		   ItemPointer tid, ItemPointer root)
{
	KnownRow   *k = Known(customer, false);
	HeapTupleData t;
	ItemPointerData at;
	Buffer		buf;
	bool		found;

	if (k == NULL)
		return false;

	/*
	 * The table may have been truncated (VACUUM) since.  The version and its
	 * root are on one page: a HOT chain never leaves its page.
	 */
	if (ItemPointerGetBlockNumber(&k->root) >= RelationGetNumberOfBlocks(rel))
		return false;
	*root = k->root;

	/*
	 * The version this backend last saw, unless another version took its
	 * place since (pruning frees the places of dead versions)
	 */
	t.t_self = k->tid;
	if (heap_fetch(rel, snap, &t, &buf, false) &&
		TakeIfCustomers(rel, buf, &t, customer, tup, tid))
		return true;

	/* a newer version on the same HOT chain */
	buf = ReadBuffer(rel, ItemPointerGetBlockNumber(&k->root));
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	at = k->root;
	found = heap_hot_search_buffer(&at, rel, buf, snap, &t, NULL, true);
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	if (!found)
	{
		ReleaseBuffer(buf);
		return false;
	}
	return TakeIfCustomers(rel, buf, &t, customer, tup, tid);
}

/* Find the customer's row visible to snap; false when there is none */
static bool
FindRow(Relation rel, Relation idx, Snapshot snap, Datum key, TupleTableSlot *slot,
		ItemPointer root)
{
	ScanKeyData skey;
	IndexScanDesc scan;
	bool		found;

	ScanKeyInit(&skey, 1, BTEqualStrategyNumber, F_TEXTEQ, key);
	skey.sk_collation = idx->rd_indcollation[0];
	scan = pgc_index_beginscan(rel, idx, snap, 1, 0);
	index_rescan(scan, &skey, 1, NULL, 0);
	found = false;

	/*
	 * As index_getnext_slot(), keeping the index entry's heap pointer: the
	 * root of the HOT chain (the fetch moves xs_heaptid on to the version it
	 * finds).  An MVCC snapshot sees at most one version of a chain.
	 */
	while (!found && index_getnext_tid(scan, ForwardScanDirection) != NULL)
	{
		*root = scan->xs_heaptid;
		found = index_fetch_heap(scan, slot);
	}
	index_endscan(scan);
	return found;
}

/*
 * Insert index entries for a new row version that is not heap-only, in
 * every index of rel ready for inserts (for pgcredit's own tables, which
 * the guard writes without the executor: exposure, receivable_due)
 */
void
pgc_insert_index_entries(Relation rel, HeapTuple tup)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	EState	   *estate = CreateExecutorState();
	ExprContext *econtext = GetPerTupleExprContext(estate);

	ExecStoreHeapTuple(tup, slot, false);
	econtext->ecxt_scantuple = slot;
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), RowExclusiveLock);
		IndexInfo  *info = BuildIndexInfo(index);
		Datum		values[INDEX_MAX_KEYS];
		bool		isnull[INDEX_MAX_KEYS];

		if (info->ii_ReadyForInserts &&
			(info->ii_Predicate == NIL ||
			 ExecQual(ExecPrepareQual(info->ii_Predicate, estate), econtext)))
		{
			FormIndexDatum(info, slot, estate, values, isnull);
			index_insert(index, values, isnull, &tup->t_self, rel,
						 info->ii_Unique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
						 false, info);
		}
		index_close(index, RowExclusiveLock);
	}
	ExecDropSingleTupleTableSlot(slot);
	FreeExecutorState(estate);
	list_free(indexes);
}

/*
 * Write tup as the new version of the row at otid, waiting for a
 * transaction that is changing it.  TM_Updated or TM_Deleted when another
 * transaction changed the row after it was read: the caller reads it
 * again.  On TM_Ok the row stays locked until the end of the transaction.
 */
static TM_Result
UpdateRow(Relation rel, ItemPointer otid, HeapTuple tup)
{
	TM_Result	res;
	TM_FailureData tmfd;
	LockTupleMode lockmode;
	PgcIndexUpdate indexes;

	res = pgc_heap_update(rel, otid, tup, GetCurrentCommandId(true),
						  &tmfd, &lockmode, &indexes);
	if (res == TM_Ok && indexes == PGC_INDEXES_ALL)
		pgc_insert_index_entries(rel, tup);
	else if (res == TM_Ok && indexes == PGC_INDEXES_SUMMARIZING)
		elog(ERROR, "pgcredit: summarizing indexes on pgcredit.exposure are not supported");
	if (res == TM_SelfModified)
		/* cannot happen: the command counter moved on before the read */
		elog(ERROR, "pgcredit: exposure row already changed by this command");
	if (res != TM_Ok && res != TM_Updated && res != TM_Deleted)
		elog(ERROR, "pgcredit: unexpected result %d updating exposure", (int) res);
	return res;
}

static Numeric
NumericAttr(Datum *values, bool *nulls, AttrNumber att)
{
	return nulls[att - 1] ? NULL : DatumGetNumeric(values[att - 1]);
}

/* The settings row as snap sees it; every default when there is none */
static void
ScanSettings(Relation rel, Snapshot snap, PgcExposureRow *out)
{
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	TableScanDesc scan = table_beginscan(rel, snap, 0, NULL);

	out->policy = "allow";
	out->default_limit = NULL;
	out->default_tolerance = int64_to_numeric(0);
	out->max_days_set = false;
	out->max_days = 0;
	if (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		d;

		d = slot_getattr(slot, cache.s_policy, &isnull);
		if (!isnull)
			out->policy = TextDatumGetCString(d);
		d = slot_getattr(slot, cache.s_default_limit, &isnull);
		if (!isnull)
			out->default_limit = DatumGetNumericCopy(d);
		d = slot_getattr(slot, cache.s_default_tolerance, &isnull);
		if (!isnull)
			out->default_tolerance = DatumGetNumericCopy(d);
		d = slot_getattr(slot, cache.s_max_days, &isnull);
		if (!isnull)
		{
			out->max_days_set = true;
			out->max_days = DatumGetInt32(d);
		}
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
}

static Numeric
CopyNumeric(MemoryContext cxt, Numeric n)
{
	MemoryContext old;
	Numeric		c;

	if (n == NULL)
		return NULL;
	old = MemoryContextSwitchTo(cxt);
	c = DatumGetNumericCopy(NumericGetDatum(n));
	MemoryContextSwitchTo(old);
	return c;
}

/*
 * The settings as last committed.  With the invalidating trigger, the copy
 * kept in the backend serves until a change is seen; it is marked valid
 * before it is read, after the table's lock (which takes in the
 * invalidations that arrived), so that a change committing while it is
 * read invalidates it again.  A database still at version 1.0, whose
 * settings table has no such trigger, is read for every order.
 */
static void
ReadSettings(Snapshot snap, PgcExposureRow *out)
{
	Relation	rel;
	Snapshot	fresh;

	AcceptInvalidationMessages();
	LoadCache();
	if (cache.settings_trigger && settings_copy.valid)
	{
		out->policy = settings_copy.policy;
		out->default_limit = settings_copy.default_limit;
		out->default_tolerance = settings_copy.default_tolerance;
		out->max_days_set = settings_copy.max_days_set;
		out->max_days = settings_copy.max_days;
		return;
	}

	rel = table_open(cache.settings, AccessShareLock);
	if (!cache.settings_trigger)
	{
		ScanSettings(rel, snap, out);
		table_close(rel, AccessShareLock);
		return;
	}

	if (settings_copy.cxt == NULL)
		settings_copy.cxt = AllocSetContextCreate(CacheMemoryContext, "pgcredit settings",
												  ALLOCSET_SMALL_SIZES);
	MemoryContextReset(settings_copy.cxt);
	settings_copy.valid = true;
	PG_TRY();
	{
		fresh = RegisterSnapshot(GetLatestSnapshot());
		ScanSettings(rel, fresh, out);
		UnregisterSnapshot(fresh);
		settings_copy.policy = MemoryContextStrdup(settings_copy.cxt, out->policy);
		settings_copy.default_limit = CopyNumeric(settings_copy.cxt, out->default_limit);
		settings_copy.default_tolerance = CopyNumeric(settings_copy.cxt, out->default_tolerance);
		settings_copy.max_days_set = out->max_days_set;
		settings_copy.max_days = out->max_days;
	}
	PG_CATCH();
	{
		settings_copy.valid = false;
		PG_RE_THROW();
	}
	PG_END_TRY();
	table_close(rel, AccessShareLock);
}

/*
 * Add to a customer's receivables and open orders, and with d_count
 * (+1 or -1) count an order in or out of the customer's order count and
 * sum (which d_orders then changes).  Returns false, having changed
 * nothing, when the customer has no exposure row yet.  With out given,
 * fills it with the exposure after the change, the account copy, the
 * order count and sum before the change, and the settings.
 */
bool
pgc_exposure_add(const char *customer, Numeric d_receivables, Numeric d_orders,
				 int d_count, PgcExposureRow *out)
{
	Relation	rel;
	Relation	idx;
	TupleTableSlot *slot;
	Datum		key = CStringGetTextDatum(customer);
	Snapshot	snap;
	HeapTuple	old;
	HeapTuple	tup;
	ItemPointerData tid;
	ItemPointerData root;
	TupleDesc	desc;
	Datum	   *values;
	bool	   *nulls;
	Numeric		receivables;
	Numeric		orders;
	int64		count = 0;
	Numeric		sum = NULL;
	char	   *applied = NULL; /* the group the change was added to */
	Numeric		gdelta = NULL;
	PgcExposureRow gout;

	LoadCache();
	gout.ngroups = 0;
	rel = table_open(cache.exposure, RowExclusiveLock);
	idx = NULL;					/* opened when the row's place is not known */
	slot = NULL;
	desc = RelationGetDescr(rel);
	values = palloc(sizeof(Datum) * desc->natts);
	nulls = palloc(sizeof(bool) * desc->natts);

	/* this command's own earlier changes must be visible, as for SPI */
	CommandCounterIncrement();
	for (;;)
	{
		snap = RegisterSnapshot(GetLatestSnapshot());
		if (!FetchKnown(rel, snap, customer, &old, &tid, &root))
		{
			if (idx == NULL)
			{
				idx = index_open(cache.exposure_pkey, RowExclusiveLock);
				slot = table_slot_create(rel, NULL);
			}
			if (!FindRow(rel, idx, snap, key, slot, &root))
			{
				UnregisterSnapshot(snap);
				ExecDropSingleTupleTableSlot(slot);
				index_close(idx, RowExclusiveLock);
				table_close(rel, RowExclusiveLock);
				return false;
			}
			old = ExecCopySlotHeapTuple(slot);
			tid = slot->tts_tid;
			ExecClearTuple(slot);
		}
		heap_deform_tuple(old, desc, values, nulls);

		/*
		 * A member of a credit group: the change goes to its group chain
		 * first, locked from the top group down, then to the customer's row.
		 * When the row's group is not the one the change went to (a
		 * join_group or leave_group committed since it was read), the change
		 * is taken back out of that chain (whose rows this transaction holds)
		 * and added to the new one.  A customer without a group costs reading
		 * the column.
		 */
		if (cache.x_credit_group)
		{
			char	   *group = nulls[cache.x_credit_group - 1] ? NULL :
			TextDatumGetCString(values[cache.x_credit_group - 1]);

			if (group != NULL ? applied == NULL || strcmp(group, applied) != 0 : applied != NULL)
			{
				if (gdelta == NULL)
				{
					gdelta = int64_to_numeric(0);
					if (d_receivables != NULL)
						gdelta = numeric_add_opt_error(gdelta, d_receivables, NULL);
					if (d_orders != NULL)
						gdelta = numeric_add_opt_error(gdelta, d_orders, NULL);
				}
				if (applied != NULL)
					pgc_group_add(applied, pgc_numeric_negate(gdelta), NULL);
				gout.ngroups = 0;
				if (group != NULL)
					pgc_group_add(group, gdelta, &gout);
				applied = group;
			}
		}

		receivables = NumericAttr(values, nulls, cache.x_receivables);
		orders = NumericAttr(values, nulls, cache.x_open_orders);
		if (receivables == NULL || orders == NULL)
			elog(ERROR, "pgcredit: exposure of customer \"%s\" is null", customer);
		if (d_receivables != NULL)
		{
			receivables = numeric_add_opt_error(receivables, d_receivables, NULL);
			values[cache.x_receivables - 1] = NumericGetDatum(receivables);
		}
		if (d_orders != NULL)
		{
			orders = numeric_add_opt_error(orders, d_orders, NULL);
			values[cache.x_open_orders - 1] = NumericGetDatum(orders);
		}
		count = 0;
		sum = NULL;
		if (cache.x_order_count && cache.x_order_sum)
		{
			count = nulls[cache.x_order_count - 1] ? 0 :
				DatumGetInt64(values[cache.x_order_count - 1]);
			sum = NumericAttr(values, nulls, cache.x_order_sum);
		}
		if (sum == NULL)
			sum = int64_to_numeric(0);
		if (d_count != 0 && d_orders != NULL && cache.x_order_count && cache.x_order_sum)
		{
			values[cache.x_order_count - 1] = Int64GetDatum(Max(count + d_count, 0));
			nulls[cache.x_order_count - 1] = false;
			values[cache.x_order_sum - 1] =
				NumericGetDatum(numeric_add_opt_error(sum, d_orders, NULL));
			nulls[cache.x_order_sum - 1] = false;
		}
		tup = heap_form_tuple(desc, values, nulls);

		/*
		 * If another transaction changed the row since it was read (waiting
		 * for it if it is still at work), read the new version and add to
		 * that: the change always applies to the latest version, which the
		 * update then keeps locked.
		 */
		if (UpdateRow(rel, &tid, tup) == TM_Ok)
		{
			KnownRow   *k = Known(customer, true);

			if (k != NULL)
			{
				k->tid = tup->t_self;

				/*
				 * a version off the chain's page got an index entry of its
				 * own
				 */
				k->root = HeapTupleIsHeapOnly(tup) ? root : tup->t_self;
			}
			break;
		}
		UnregisterSnapshot(snap);
		CHECK_FOR_INTERRUPTS();
	}

	if (out != NULL)
	{
		out->exposure = numeric_add_opt_error(receivables, orders, NULL);
		out->receivables = receivables;
		out->open_orders = orders;
		out->has_account = !nulls[cache.x_has_account - 1] &&
			DatumGetBool(values[cache.x_has_account - 1]);
		out->credit_limit = NumericAttr(values, nulls, cache.x_credit_limit);
		out->tolerance = NumericAttr(values, nulls, cache.x_tolerance);
		if (out->tolerance == NULL)
			out->tolerance = int64_to_numeric(0);
		out->status = nulls[cache.x_status - 1] ? "ok" :
			TextDatumGetCString(values[cache.x_status - 1]);
		out->risk_tier = NULL;
		out->has_review = false;
		out->next_review = 0;
		out->temporary_limit = NULL;
		out->has_temporary_from = false;
		out->temporary_from = out->temporary_until = 0;
		if (pgc_exposure_rule_columns())
		{
			out->risk_tier = nulls[cache.x_risk_tier - 1] ? NULL :
				TextDatumGetCString(values[cache.x_risk_tier - 1]);
			out->has_review = !nulls[cache.x_next_review - 1];
			out->next_review = out->has_review ?
				DatumGetDateADT(values[cache.x_next_review - 1]) : 0;
			out->temporary_limit = NumericAttr(values, nulls, cache.x_temporary_limit);
			out->has_temporary_from = !nulls[cache.x_temporary_from - 1];
			out->temporary_from = out->has_temporary_from ?
				DatumGetDateADT(values[cache.x_temporary_from - 1]) : 0;
			out->temporary_until = nulls[cache.x_temporary_until - 1] ? 0 :
				DatumGetDateADT(values[cache.x_temporary_until - 1]);
		}
		out->ngroups = gout.ngroups;
		memcpy(out->groups, gout.groups, sizeof(gout.groups));
		out->order_count = count;
		out->order_sum = sum;
		ReadSettings(snap, out);
	}

	UnregisterSnapshot(snap);
	if (slot != NULL)
		ExecDropSingleTupleTableSlot(slot);
	if (idx != NULL)
		index_close(idx, RowExclusiveLock);
	table_close(rel, RowExclusiveLock);
	return true;
}
