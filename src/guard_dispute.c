/*-------------------------------------------------------------------------
 *
 * guard_dispute.c
 *	  The receivable items with an open dispute (the rows of
 *	  pgcredit.collection_dispute whose status is open), kept in each
 *	  backend, so that the guard knows without an SQL statement whether a
 *	  row of an attached receivables table is disputed.
 *
 * A disputed item's share of its customer's buckets by due date is kept
 * in pgcredit.dispute_due as well as in pgcredit.receivable_due
 * (guard_due.c): the days_past_due and overdue_amount rules count the
 * difference.  open_dispute() adds the item's share to dispute_due and
 * resolve_dispute() and write_off_dispute() take it out, each under the
 * lock of the customer's exposure row; the guard adds every later change
 * of the row's share to dispute_due while the dispute is open.
 *
 * The open disputes are read from the table once, with a heap scan under
 * the latest snapshot, and kept in CacheMemoryContext, sorted.  Every
 * statement that changes the table fires pgcredit._disputes_changed(),
 * which invalidates the table's relcache entry in every backend when the
 * change commits; a relcache callback then forgets what is kept.
 *
 * The guard asks only while it holds the lock of the customer's exposure
 * row, and pgc_disputes_open() takes in the invalidations that arrived
 * first.  A dispute is opened and closed under the lock of the exposure
 * row of the item's customer, and a transaction sends its invalidations
 * before it releases its locks: a change of the row that waited for the
 * dispute sees it.  A change that went first holds the lock until it
 * commits, and the dispute then reads the row as that change left it.
 * So the share the guard writes and the share the dispute functions move
 * are always the same.  While no dispute is open, an order or a payment
 * costs one look at the invalidation queue and no more.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "pgcredit.h"
#include "guard_dispute.h"

PG_FUNCTION_INFO_V1(pgc_disputes_changed);

/* One disputed item: its table and its key as jsonb prints it */
typedef struct DisputedItem
{
	Oid			relid;
	char	   *key;
} DisputedItem;

static MemoryContext dispute_cxt = NULL;
static bool dispute_valid = false;
static Oid	dispute_relid = InvalidOid;
static int	ndisputed = 0;
static DisputedItem *disputed = NULL;

/* Forget the disputes when the table changes (or every cache is reset) */
static void
DisputeCallback(Datum arg, Oid relid)
{
	/* without the table (before 1.1), watch for it to be created */
	if (relid == InvalidOid || relid == dispute_relid || !OidIsValid(dispute_relid))
		dispute_valid = false;
}

static int
CompareItems(const void *a, const void *b)
{
	const DisputedItem *x = a;
	const DisputedItem *y = b;

	if (x->relid != y->relid)
		return x->relid < y->relid ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* A JSON key as jsonb prints it: one text for equal keys, however written */
static char *
CanonicalKey(Jsonb *jb)
{
	return JsonbToCString(NULL, &jb->root, VARSIZE(jb));
}

static AttrNumber
DisputeColumn(Relation rel, const char *name)
{
	AttrNumber	att = get_attnum(RelationGetRelid(rel), name);

	if (att == InvalidAttrNumber)
		elog(ERROR, "pgcredit: column \"%s\" of pgcredit.collection_dispute is missing", name);
	return att;
}

/* Read the open disputes of the table into dispute_cxt */
static void
LoadDisputes(void)
{
	static bool registered = false;
	Relation	rel;
	TupleTableSlot *slot;
	TableScanDesc scan;
	Snapshot	snap;
	MemoryContext old;
	AttrNumber	a_relid,
				a_key,
				a_status;
	int			room = 16;

	if (dispute_valid)
		return;
	if (!registered)
	{
		pgc_register_relcache_callback(DisputeCallback, (Datum) 0);
		registered = true;
	}
	if (dispute_cxt == NULL)
		dispute_cxt = AllocSetContextCreate(CacheMemoryContext, "pgcredit disputes",
											ALLOCSET_SMALL_SIZES);
	MemoryContextReset(dispute_cxt);
	ndisputed = 0;
	disputed = NULL;
	dispute_relid = get_relname_relid("collection_dispute",
									  get_namespace_oid("pgcredit", false));
	/* valid from here: a change from now on invalidates what is read */
	dispute_valid = true;
	if (!OidIsValid(dispute_relid))
		return;

	rel = table_open(dispute_relid, AccessShareLock);
	a_relid = DisputeColumn(rel, "relid");
	a_key = DisputeColumn(rel, "item_key");
	a_status = DisputeColumn(rel, "status");
	old = MemoryContextSwitchTo(dispute_cxt);
	disputed = palloc(sizeof(DisputedItem) * room);
	snap = RegisterSnapshot(GetLatestSnapshot());
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, snap, 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, a_status, &isnull);
		char	   *status;

		if (isnull)
			continue;
		status = TextDatumGetCString(d);
		if (strcmp(status, "open") != 0)
			continue;
		if (ndisputed == room)
		{
			room *= 2;
			disputed = repalloc(disputed, sizeof(DisputedItem) * room);
		}
		disputed[ndisputed].relid = DatumGetObjectId(slot_getattr(slot, a_relid, &isnull));
		d = slot_getattr(slot, a_key, &isnull);
		if (isnull)
			continue;
		disputed[ndisputed].key = CanonicalKey(DatumGetJsonbP(d));
		ndisputed++;
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snap);
	MemoryContextSwitchTo(old);
	table_close(rel, AccessShareLock);
	qsort(disputed, ndisputed, sizeof(DisputedItem), CompareItems);
}

/*
 * Whether any item has an open dispute, as last committed: the
 * invalidations that arrived are taken in first.  The guard asks under
 * the lock of the customer's exposure row (see above).
 */
bool
pgc_disputes_open(void)
{
	AcceptInvalidationMessages();
	LoadDisputes();
	return ndisputed > 0;
}

/* Whether an item of the attached table relid has an open dispute */
bool
pgc_disputes_in(Oid relid)
{
	int			lo = 0;
	int			hi;

	LoadDisputes();
	hi = ndisputed;
	/* the first item of relid or after it */
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (disputed[mid].relid < relid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ndisputed && disputed[lo].relid == relid;
}

/*
 * Whether the item of the attached table relid whose primary key is
 * key_json (a JSON object of the key's columns and their values as text,
 * as _attached_items_keyed() gives it) has an open dispute
 */
bool
pgc_disputed(Oid relid, const char *key_json)
{
	DisputedItem probe;

	LoadDisputes();
	if (ndisputed == 0)
		return false;
	probe.relid = relid;
	probe.key = CanonicalKey(DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
																CStringGetDatum(key_json))));
	return bsearch(&probe, disputed, ndisputed, sizeof(DisputedItem), CompareItems) != NULL;
}

/*
 * Statement trigger on pgcredit.collection_dispute: every backend forgets
 * the open disputes it keeps when the change commits (this one at once;
 * an aborted change undoes it here)
 */
Datum
pgc_disputes_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event))
		elog(ERROR, "pgcredit._disputes_changed: not called as a statement trigger");
	CacheInvalidateRelcacheByRelid(RelationGetRelid(td->tg_relation));
	return PointerGetDatum(NULL);
}
