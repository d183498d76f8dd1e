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
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/predicate.h"
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

/*
 * The columns of pgcredit.exposure_history after customer and changed_at:
 * the exposure row's columns of the same names, as written
 */
#define PGC_HISTORY_COLUMNS 12
#define PGC_HISTORY_INDEXES 4
static const char *const history_columns[PGC_HISTORY_COLUMNS] = {
	"receivables", "open_orders", "has_account", "credit_limit", "tolerance_pct", "status",
	"temporary_limit", "temporary_from", "temporary_until",
	"cover_counted", "cover_from", "cover_until"
};

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
	Oid			groups;			/* pgcredit.group_exposure; invalid at 1.0 */
	Oid			credit_group;
	bool		groups_trigger; /* group changes invalidate the kept chains */
	Oid			groups_pkey;
	AttrNumber	g_group_id;
	AttrNumber	g_exposure;
	AttrNumber	g_credit_limit;
	AttrNumber	g_tolerance;
	AttrNumber	g_parent;
	AttrNumber	x_cover_counted;
	AttrNumber	x_cover_from;
	AttrNumber	x_cover_until;
	AttrNumber	s_policy;
	AttrNumber	s_default_limit;
	AttrNumber	s_default_tolerance;
	AttrNumber	s_max_days;
	Oid			categories;		/* category_exposure, InvalidOid at 1.0 */
	Oid			categories_pkey;
	AttrNumber	c_customer;
	AttrNumber	c_category;
	AttrNumber	c_amount;
	bool		settings_trigger;	/* settings changes invalidate the kept
									 * copy */
	AttrNumber	s_history;		/* settings.exposure_history, 0 before 1.1 */
	Oid			history;		/* exposure_history, InvalidOid before 1.1 */
	AttrNumber	h_att[PGC_HISTORY_COLUMNS]; /* its columns */
	AttrNumber	x_history_att[PGC_HISTORY_COLUMNS]; /* theirs on exposure */
	AttrNumber	h_xact;			/* the transaction's number */
	int			h_nindexes;		/* the history's indexes, plain columns only */
	Oid			h_index[PGC_HISTORY_INDEXES];
	IndexInfo  *h_info[PGC_HISTORY_INDEXES];	/* in CacheMemoryContext */
	AttrNumber	x_book_version; /* exposure.book_version, 0 before 1.1 */
	Oid			book_seq;		/* book_version_seq, InvalidOid before 1.1 */
} StoreCache;

/*
 * Where this backend last found or wrote each row of the tables the guard
 * writes (a customer's exposure, a credit group's), kept across
 * transactions: the version itself, and the root of its HOT chain, where
 * the primary key's index entry points.  A place is only a hint.  The
 * version is used when a fresh snapshot sees it and it holds the row's
 * key, which makes it the one visible version of the row (the primary key
 * allows no other): this finds the rows this backend wrote last, also the
 * many versions one transaction leaves (which cannot be pruned before it
 * ends, so that walking them from the start for every order would cost
 * n * n).  When another backend wrote the row since, its newer version is
 * found by following the HOT chain from the root, as an index fetch does,
 * without descending the B-tree.  Else the index finds the row, and the
 * places are remembered again.
 */
typedef struct KnownRow
{
	char		key[NAMEDATALEN];	/* hash key: keys of up to 63 bytes */
	ItemPointerData tid;		/* the version last found or written */
	ItemPointerData root;		/* the root of its HOT chain */
	Buffer		buffer;			/* the shared buffer that held their page */
} KnownRow;

/* then a table's places (about 1.5 MB) are emptied and filled again */
#define MAX_KNOWN_ROWS	16384

/* A table the guard writes by its text primary key */
typedef struct RowStore
{
	const char *name;			/* of its places' hash table */
	HTAB	   *known;			/* KnownRow by key */
	uint64		known_resets;	/* times known was emptied */
	Oid			pkey;			/* set by LoadCache */
	AttrNumber	key;
	AttrNumber	key2;			/* a second key column, or 0 */
} RowStore;

static RowStore exposure_rows = {"pgcredit exposure row places"};
static RowStore group_rows = {"pgcredit group row places"};

/*
 * pgcredit.category_exposure is keyed by (customer, category): its rows'
 * key is written as one string, the customer's length, a colon, the
 * customer and the category (CategoryKey), which no other pair writes
 * alike
 */
static RowStore category_rows = {"pgcredit category row places"};

static StoreCache cache;

/*
 * Each credit group's chain of groups, top first, as last read: kept
 * while no change of pgcredit.credit_group has been seen (its statement
 * trigger groups_changed invalidates the table's relcache entry in every
 * backend when a change commits).  An order reads it after taking its
 * lock on group_exposure, which takes in the invalidations that arrived;
 * set_group_parent, which moves groups, holds a lock that conflicts with
 * it, so a chain read under that lock stays right until the end of the
 * transaction.
 */
typedef struct KnownChain
{
	char		group[NAMEDATALEN]; /* hash key: keys of up to 63 bytes */
	int			n;
	char		ids[PGC_MAX_GROUP_DEPTH][NAMEDATALEN];	/* top first */
} KnownChain;

#define MAX_KNOWN_CHAINS 4096

static HTAB *chains = NULL;
static bool chains_valid = false;

/* whether any credit group exists, as last read (reset with the chains) */
static bool groups_exist_valid = false;
static bool groups_exist;
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
	bool		history;
} SettingsCopy;

static SettingsCopy settings_copy;

static void
StoreCacheCallback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == cache.exposure ||
		relid == cache.exposure_pkey || relid == cache.settings ||
		relid == cache.groups || relid == cache.groups_pkey ||
		relid == cache.credit_group || relid == cache.categories ||
		relid == cache.categories_pkey || relid == cache.history)
		cache.valid = false;
	if (relid == InvalidOid || relid == cache.credit_group)
	{
		chains_valid = false;
		groups_exist_valid = false;
	}
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

/*
 * Whether rel has an enabled trigger of that name: the statement triggers
 * that invalidate what the backend keeps of a table (settings_changed,
 * groups_changed); without it the table is read every time
 */
static bool
HasEnabledTrigger(Relation rel, const char *name)
{
	if (rel->trigdesc == NULL)
		return false;
	for (int i = 0; i < rel->trigdesc->numtriggers; i++)
		if (strcmp(rel->trigdesc->triggers[i].tgname, name) == 0 &&
			rel->trigdesc->triggers[i].tgenabled != TRIGGER_DISABLED)
			return true;
	return false;
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
		pgc_register_relcache_callback(StoreCacheCallback, (Datum) 0);
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
	cache.x_cover_counted = OptionalColumn(rel, "cover_counted");
	cache.x_cover_from = OptionalColumn(rel, "cover_from");
	cache.x_cover_until = OptionalColumn(rel, "cover_until");
	cache.x_book_version = OptionalColumn(rel, "book_version");
	table_close(rel, AccessShareLock);
	cache.book_seq = get_relname_relid("book_version_seq", nsp);
	if (!OidIsValid(cache.book_seq))
		cache.x_book_version = 0;

	/* credit groups (version 1.1 on) */
	cache.groups = get_relname_relid("group_exposure", nsp);
	cache.groups_pkey = InvalidOid;
	if (OidIsValid(cache.groups))
	{
		rel = table_open(cache.groups, AccessShareLock);
		cache.groups_pkey = RelationGetPrimaryKeyIndex(rel);
		if (!OidIsValid(cache.groups_pkey) || rel->rd_rel->relkind != RELKIND_RELATION)
			elog(ERROR, "pgcredit: pgcredit.group_exposure must be a table with a primary key");
		cache.g_group_id = Column(rel, "group_id");
		cache.g_exposure = Column(rel, "exposure");
		cache.g_credit_limit = Column(rel, "credit_limit");
		cache.g_tolerance = Column(rel, "tolerance_pct");
		cache.g_parent = Column(rel, "parent");
		table_close(rel, AccessShareLock);
	}
	cache.credit_group = get_relname_relid("credit_group", nsp);
	cache.groups_trigger = false;
	if (OidIsValid(cache.credit_group))
	{
		rel = table_open(cache.credit_group, AccessShareLock);
		cache.groups_trigger = HasEnabledTrigger(rel, "groups_changed");
		table_close(rel, AccessShareLock);
	}

	rel = table_open(cache.settings, AccessShareLock);
	cache.s_policy = Column(rel, "no_account_policy");
	cache.s_default_limit = Column(rel, "default_limit");
	cache.s_default_tolerance = Column(rel, "default_tolerance_pct");
	cache.s_max_days = Column(rel, "max_days_past_due");
	cache.s_history = OptionalColumn(rel, "exposure_history");
	cache.settings_trigger = HasEnabledTrigger(rel, "settings_changed");
	table_close(rel, AccessShareLock);

	/* the exposure history (version 1.1 on), with each column's place */
	cache.history = get_relname_relid("exposure_history", nsp);
	if (OidIsValid(cache.history))
	{
		Relation	x = table_open(cache.exposure, AccessShareLock);

		rel = table_open(cache.history, AccessShareLock);
		if (rel->rd_rel->relkind != RELKIND_RELATION || Column(rel, "customer") != 1 ||
			Column(rel, "changed_at") != 2)
			elog(ERROR, "pgcredit: pgcredit.exposure_history must be a table (customer, changed_at, ...)");
		cache.h_xact = Column(rel, "xact_id");

		/*
		 * its indexes, described once: a row is added to them without an
		 * executor state (their keys are plain columns of the row)
		 */
		{
			List	   *indexes = RelationGetIndexList(rel);
			ListCell   *lc;
			MemoryContext old;

			if (list_length(indexes) > PGC_HISTORY_INDEXES)
				elog(ERROR, "pgcredit: pgcredit.exposure_history has too many indexes");
			/* the descriptions of the last load, if any, are not needed */
			for (int i = 0; i < cache.h_nindexes; i++)
				pfree(cache.h_info[i]);
			cache.h_nindexes = 0;
			foreach(lc, indexes)
			{
				Relation	index = index_open(lfirst_oid(lc), AccessShareLock);

				old = MemoryContextSwitchTo(CacheMemoryContext);
				cache.h_info[cache.h_nindexes] = BuildIndexInfo(index);
				MemoryContextSwitchTo(old);
				if (cache.h_info[cache.h_nindexes]->ii_Expressions != NIL ||
					cache.h_info[cache.h_nindexes]->ii_Predicate != NIL)
					elog(ERROR, "pgcredit: the indexes of pgcredit.exposure_history must be on plain columns");
				cache.h_index[cache.h_nindexes++] = lfirst_oid(lc);
				index_close(index, AccessShareLock);
			}
			list_free(indexes);
		}
		for (int i = 0; i < PGC_HISTORY_COLUMNS; i++)
		{
			cache.h_att[i] = Column(rel, history_columns[i]);
			cache.x_history_att[i] = Column(x, history_columns[i]);
		}
		table_close(rel, AccessShareLock);
		table_close(x, AccessShareLock);
	}

	cache.categories = get_relname_relid("category_exposure", nsp);
	if (OidIsValid(cache.categories))
	{
		rel = table_open(cache.categories, AccessShareLock);
		cache.categories_pkey = RelationGetPrimaryKeyIndex(rel);
		cache.c_customer = Column(rel, "customer");
		cache.c_category = Column(rel, "category");
		cache.c_amount = Column(rel, "amount");
		if (!OidIsValid(cache.categories_pkey) || rel->rd_rel->relkind != RELKIND_RELATION ||
			cache.c_customer != 1 || cache.c_category != 2)
			elog(ERROR, "pgcredit: pgcredit.category_exposure must be a table (customer, category, ...) with a primary key");
		table_close(rel, AccessShareLock);
	}

	exposure_rows.pkey = cache.exposure_pkey;
	exposure_rows.key = cache.x_customer;
	group_rows.pkey = cache.groups_pkey;
	group_rows.key = cache.g_group_id;
	category_rows.pkey = cache.categories_pkey;
	category_rows.key = cache.c_customer;
	category_rows.key2 = cache.c_category;
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


static KnownRow *
Known(RowStore *s, const char *key, bool create)
{
	char		k[NAMEDATALEN];
	bool		found;
	KnownRow   *r;

	/* a key too long to remember is always found through the index */
	if (strlen(key) >= sizeof(k))
		return NULL;
	if (s->known != NULL && create && hash_get_num_entries(s->known) >= MAX_KNOWN_ROWS)
	{
		hash_destroy(s->known);
		s->known = NULL;
		s->known_resets++;
	}
	if (s->known == NULL)
	{
		HASHCTL		ctl;

		if (!create)
			return NULL;
		ctl.keysize = sizeof(k);
		ctl.entrysize = sizeof(KnownRow);
		ctl.hcxt = TopMemoryContext;
		s->known = hash_create(s->name, 1024, &ctl,
							   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	strlcpy(k, key, sizeof(k));
	r = (KnownRow *) hash_search(s->known, k, create ? HASH_ENTER : HASH_FIND, &found);
	if (r != NULL && !found)
		r->buffer = InvalidBuffer;
	return r;
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

/* A two-column key as one string (see category_rows) */
static char *
CategoryKey(const char *customer, const char *category)
{
	return psprintf("%zu:%s%s", strlen(customer), customer, category);
}

/* The key's columns: key itself, or the two parts of a two-column key */
static void
SplitKey(RowStore *s, const char *key, char **first, char **second)
{
	char	   *colon;
	unsigned long len;

	if (s->key2 == 0)
	{
		*first = (char *) key;
		*second = NULL;
		return;
	}
	len = strtoul(key, &colon, 10);
	if (*colon != ':' || len > strlen(colon + 1))
		elog(ERROR, "pgcredit: malformed two-column row key");
	*first = pnstrdup(colon + 1, len);
	*second = colon + 1 + len;
}

/*
 * Whether the text in column att of t (on a locked page) is s; false for a
 * value stored out of line, which is not read under the page's lock (the
 * caller then finds the row through the index)
 */
static bool
ColumnIs(Relation rel, HeapTuple t, AttrNumber att, const char *s)
{
	bool		isnull;
	Datum		v = heap_getattr(t, att, RelationGetDescr(rel), &isnull);

	if (isnull || VARATT_IS_EXTERNAL(DatumGetPointer(v)))
		return false;
	return strcmp(TextDatumGetCString(v), s) == 0;
}

/* Whether a version (on a locked page) holds key */
static bool
HoldsKey(RowStore *s, Relation rel, HeapTuple t, const char *key)
{
	char	   *first;
	char	   *second;

	SplitKey(s, key, &first, &second);
	return ColumnIs(rel, t, s->key, first) &&
		(second == NULL || ColumnIs(rel, t, s->key2, second));
}

/*
 * The version at tid on buf (pinned and share-locked) when snap sees it, as
 * heap_fetch() finds it, with the same predicate locking; tuple->t_self is
 * set
 */
static bool
FetchOnPage(Relation rel, Buffer buf, Snapshot snap, HeapTuple tuple)
{
	Page		page = BufferGetPage(buf);
	OffsetNumber off = ItemPointerGetOffsetNumber(&tuple->t_self);
	ItemId		lp;
	bool		valid;

	pgc_test_for_old_snapshot(snap, rel, page);
	if (off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page))
		return false;
	lp = PageGetItemId(page, off);
	if (!ItemIdIsNormal(lp))
		return false;
	tuple->t_data = (HeapTupleHeader) PageGetItem(page, lp);
	tuple->t_len = ItemIdGetLength(lp);
	tuple->t_tableOid = RelationGetRelid(rel);
	valid = HeapTupleSatisfiesVisibility(tuple, snap, buf);
	if (valid)
		PredicateLockTID(rel, &tuple->t_self, snap, HeapTupleHeaderGetXmin(tuple->t_data));
	HeapCheckForSerializableConflictOut(valid, rel, tuple, buf, snap);
	return valid;
}

/*
 * The row of key visible to snap, found from the places this backend
 * remembers (*k, NULL when none); false when they do not lead to it.  Sets
 * *tid to the version's place and *root to its chain's root.
 */
static bool
FetchKnown(RowStore *s, Relation rel, Snapshot snap, const char *key, KnownRow *k,
		   HeapTuple *tup, ItemPointer tid, ItemPointer root)
{
	HeapTupleData t;
	ItemPointerData at;
	BlockNumber block;
	Buffer		buf;
	bool		found;

	if (k == NULL)
		return false;

	/*
	 * The version and its root are on one page (a HOT chain never leaves its
	 * page), pinned through the buffer that held it last when it holds it
	 * still: a block in a shared buffer exists (a truncation drops the
	 * buffers of the blocks it cuts off, a new relfilenode has buffers of its
	 * own).  Else the table may have been truncated (VACUUM) since.
	 */
	block = ItemPointerGetBlockNumber(&k->root);
	if (BufferIsValid(k->buffer) && pgc_read_recent_buffer(rel, block, k->buffer))
		buf = k->buffer;
	else
	{
		if (block >= RelationGetNumberOfBlocks(rel))
			return false;
		buf = ReadBuffer(rel, block);
		k->buffer = buf;
	}
	*root = k->root;

	/*
	 * The version this backend last saw, unless another version took its
	 * place since (pruning frees the places of dead versions), else a newer
	 * version on the same HOT chain
	 */
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	t.t_self = k->tid;
	found = FetchOnPage(rel, buf, snap, &t) && HoldsKey(s, rel, &t, key);
	if (!found)
	{
		/*
		 * A newer version, or the place was freed by pruning and now holds a
		 * version of another row (the rows of a small table share their
		 * pages, whose places are reused all the time)
		 */
		at = k->root;
		found = heap_hot_search_buffer(&at, rel, buf, snap, &t, NULL, true) &&
			HoldsKey(s, rel, &t, key);
	}
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	if (!found)
	{
		ReleaseBuffer(buf);
		return false;
	}
	*tup = heap_copytuple(&t);
	*tid = t.t_self;
	PruneIfFull(rel, buf, t.t_len);
	ReleaseBuffer(buf);
	return true;
}

/* Find the row of key visible to snap through the index; false when none */
static bool
FindRow(RowStore *s, Relation rel, Relation idx, Snapshot snap, const char *key,
		TupleTableSlot *slot, ItemPointer root)
{
	ScanKeyData skey[2];
	IndexScanDesc scan;
	bool		found;
	char	   *part[2];
	int			nkeys = s->key2 == 0 ? 1 : 2;

	SplitKey(s, key, &part[0], &part[1]);
	for (int i = 0; i < nkeys; i++)
	{
		ScanKeyInit(&skey[i], i + 1, BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(part[i]));
		skey[i].sk_collation = idx->rd_indcollation[i];
	}
	scan = pgc_index_beginscan(rel, idx, snap, nkeys, 0);
	index_rescan(scan, skey, nkeys, NULL, 0);
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
 * The row of key visible to snap, from the remembered places or else
 * through the index (opened on first need into *idx and *slot, which the
 * caller closes); false when there is none.  With known given, the
 * places remembered go there (NULL when none).
 */
static bool
FindVisible(RowStore *s, Relation rel, Relation *idx, TupleTableSlot **slot, Snapshot snap,
			const char *key, HeapTuple *tup, ItemPointer tid, ItemPointer root,
			KnownRow **known)
{
	KnownRow   *k = Known(s, key, false);

	if (known != NULL)
		*known = k;
	if (FetchKnown(s, rel, snap, key, k, tup, tid, root))
		return true;
	if (*idx == NULL)
	{
		*idx = index_open(s->pkey, RowExclusiveLock);
		*slot = table_slot_create(rel, NULL);
	}
	if (!FindRow(s, rel, *idx, snap, key, *slot, root))
		return false;
	*tup = ExecCopySlotHeapTuple(*slot);
	*tid = (*slot)->tts_tid;
	ExecClearTuple(*slot);
	return true;
}

static void
CloseIndex(Relation idx, TupleTableSlot *slot)
{
	if (slot != NULL)
		ExecDropSingleTupleTableSlot(slot);
	if (idx != NULL)
		index_close(idx, RowExclusiveLock);
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
	out->history = OidIsValid(cache.history);
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
		if (cache.s_history)
		{
			d = slot_getattr(slot, cache.s_history, &isnull);
			out->history = OidIsValid(cache.history) && (isnull || DatumGetBool(d));
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
		out->history = settings_copy.history;
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
		settings_copy.history = out->history;
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
 * What to write into a row: changes values and nulls, which hold the
 * version read, in place.  Called again with a newer version whenever
 * another transaction changed the row in between.
 */
typedef void (*RowChange) (Datum *values, bool *nulls, void *arg);

/*
 * Change the row of key in rel (open in RowExclusiveLock mode) as change
 * says, on its latest version, which then stays locked until the end of
 * the transaction: what "UPDATE ... WHERE key = $1" does, without the
 * statement.  This command's own earlier changes are made visible first,
 * as SPI would before a statement (a multi-row INSERT sees its previous
 * rows' effect; a group row is changed twice when a customer changes group
 * under an order).  If another transaction changed the row after it was
 * read (waiting for it if it is still at work), the newer version is read
 * and changed instead.  Returns false, having changed nothing, when there
 * is no row.  values and nulls hold the version written; *snapp is the
 * snapshot it was read with, registered: the caller unregisters it.
 */
static bool
ChangeRow(RowStore *s, Relation rel, const char *key, RowChange change, void *arg,
		  Datum *values, bool *nulls, Snapshot *snapp)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Relation	idx = NULL;		/* opened when the row's place is not known */
	TupleTableSlot *slot = NULL;
	Snapshot	snap;
	HeapTuple	old;
	HeapTuple	tup;
	ItemPointerData tid;
	ItemPointerData root;
	bool		found = true;
	KnownRow   *k;
	uint64		resets;

	CommandCounterIncrement();
	for (;;)
	{
		snap = RegisterSnapshot(GetLatestSnapshot());
		resets = s->known_resets;
		if (!FindVisible(s, rel, &idx, &slot, snap, key, &old, &tid, &root, &k))
		{
			UnregisterSnapshot(snap);
			found = false;
			break;
		}
		heap_deform_tuple(old, desc, values, nulls);
		change(values, nulls, arg);
		tup = heap_form_tuple(desc, values, nulls);
		if (UpdateRow(rel, &tid, tup) == TM_Ok)
		{
			/*
			 * The place found is kept unless the change (which may write
			 * other rows) emptied the places since
			 */
			if (k == NULL || resets != s->known_resets)
				k = Known(s, key, true);
			if (k != NULL)
			{
				k->tid = tup->t_self;

				/*
				 * a version off the chain's page got an index entry of its
				 * own, on a page whose buffer is not known
				 */
				if (HeapTupleIsHeapOnly(tup))
					k->root = root;
				else
				{
					k->root = tup->t_self;
					k->buffer = InvalidBuffer;
				}
			}
			*snapp = snap;
			break;
		}
		UnregisterSnapshot(snap);
		CHECK_FOR_INTERRUPTS();
	}
	CloseIndex(idx, slot);
	return found;
}

/* An amount added to one numeric column of a row, by ChangeRow */
typedef struct ColumnAdd
{
	AttrNumber	att;
	Numeric		delta;
} ColumnAdd;

static void
AddToColumn(Datum *values, bool *nulls, void *arg)
{
	ColumnAdd  *add = (ColumnAdd *) arg;
	Numeric		amount = NumericAttr(values, nulls, add->att);

	if (amount == NULL)
		elog(ERROR, "pgcredit: an amount pgcredit keeps is null");
	values[add->att - 1] = NumericGetDatum(numeric_add_opt_error(amount, add->delta, NULL));
}

/*
 * Whether any credit group exists as last committed, kept while no change
 * of pgcredit.credit_group has been seen (always true without the
 * invalidating trigger: the caller then takes the group lock every time)
 */
static bool
GroupsExist(void)
{
	Relation	rel;
	TableScanDesc scan;
	Snapshot	snap;

	if (!OidIsValid(cache.groups) || !OidIsValid(cache.credit_group))
		return false;
	if (!cache.groups_trigger)
		return true;
	if (groups_exist_valid)
		return groups_exist;
	groups_exist_valid = true;
	rel = table_open(cache.credit_group, AccessShareLock);
	snap = RegisterSnapshot(GetLatestSnapshot());
	scan = table_beginscan(rel, snap, 0, NULL);
	groups_exist = heap_getnext(scan, ForwardScanDirection) != NULL;
	table_endscan(scan);
	UnregisterSnapshot(snap);
	table_close(rel, AccessShareLock);
	return groups_exist;
}

/*
 * A group's chain, top group first, into chain; returns its length.  From
 * the chains this backend keeps, else read from the copies of the
 * groups' parents on group_exposure (rel, locked by the caller) as last
 * committed, and kept.
 */
static int
GroupChain(Relation rel, const char *group, char **chain)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Datum	   *values;
	bool	   *nulls;
	Relation	idx = NULL;
	TupleTableSlot *slot = NULL;
	Snapshot	snap;
	KnownChain *k = NULL;
	bool		found = false;
	int			n = 0;
	const char *g;

	/* the changes of the groups committed since */
	AcceptInvalidationMessages();
	LoadCache();
	if (cache.groups_trigger && strlen(group) < NAMEDATALEN)
	{
		char		key[NAMEDATALEN];

		if (chains != NULL && (!chains_valid || hash_get_num_entries(chains) >= MAX_KNOWN_CHAINS))
		{
			hash_destroy(chains);
			chains = NULL;
		}
		if (chains == NULL)
		{
			HASHCTL		ctl;

			ctl.keysize = NAMEDATALEN;
			ctl.entrysize = sizeof(KnownChain);
			ctl.hcxt = TopMemoryContext;
			chains = hash_create("pgcredit group chains", 256, &ctl,
								 HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
			chains_valid = true;
		}
		strlcpy(key, group, sizeof(key));
		k = (KnownChain *) hash_search(chains, key, HASH_ENTER, &found);
		if (found && k->n >= 0)
		{
			for (int i = 0; i < k->n; i++)
				chain[i] = pstrdup(k->ids[i]);
			return k->n;
		}
		k->n = -1;				/* not read yet */
	}

	values = palloc(sizeof(Datum) * desc->natts);
	nulls = palloc(sizeof(bool) * desc->natts);
	snap = RegisterSnapshot(GetLatestSnapshot());
	for (g = group; g != NULL;)
	{
		HeapTuple	tup;
		ItemPointerData tid;
		ItemPointerData root;

		if (n == PGC_MAX_GROUP_DEPTH)
			elog(ERROR, "pgcredit: credit group \"%s\" is nested more than %d deep",
				 group, PGC_MAX_GROUP_DEPTH);
		if (!FindVisible(&group_rows, rel, &idx, &slot, snap, g, &tup, &tid, &root, NULL))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("credit group \"%s\" has no row in pgcredit.group_exposure", g),
					 errhint("Run pgcredit.rebuild_exposure().")));
		heap_deform_tuple(tup, desc, values, nulls);
		chain[n++] = pstrdup(g);
		g = nulls[cache.g_parent - 1] ? NULL : TextDatumGetCString(values[cache.g_parent - 1]);
	}
	UnregisterSnapshot(snap);
	CloseIndex(idx, slot);
	pfree(values);
	pfree(nulls);

	/* top group first */
	for (int i = 0; i < n / 2; i++)
	{
		char	   *t = chain[i];

		chain[i] = chain[n - 1 - i];
		chain[n - 1 - i] = t;
	}

	/* kept when every key fits, else forgotten */
	if (k != NULL)
	{
		bool		fits = true;

		for (int i = 0; i < n; i++)
			fits = fits && strlen(chain[i]) < NAMEDATALEN;
		if (fits)
		{
			for (int i = 0; i < n; i++)
				strlcpy(k->ids[i], chain[i], NAMEDATALEN);
			k->n = n;
		}
		else
			hash_search(chains, k->group, HASH_REMOVE, NULL);
	}
	return n;
}

/*
 * Add delta to a credit group's exposure and to every group's above it,
 * locking their rows from the top group down: the fixed order that
 * doc/guard.md describes, which every writer of group rows follows (the
 * customer's own row is locked after its chain).  The chain is read from
 * the copies of the groups' parents on group_exposure, under the table's
 * ROW EXCLUSIVE lock, kept until the end of the transaction:
 * set_group_parent takes SHARE ROW EXCLUSIVE to move a group, so no chain
 * changes under an order that has read it.  With out given, the groups
 * after the change go to out->groups, top first.
 */
static void
GroupAdd(const char *group, Numeric delta, PgcExposureRow *out)
{
	Relation	rel;
	TupleDesc	desc;
	Datum	   *values;
	bool	   *nulls;
	Snapshot	snap;
	char	   *chain[PGC_MAX_GROUP_DEPTH];
	int			n;

	if (!OidIsValid(cache.groups))
		elog(ERROR, "pgcredit: table pgcredit.group_exposure is missing");
	rel = table_open(cache.groups, RowExclusiveLock);
	desc = RelationGetDescr(rel);
	values = palloc(sizeof(Datum) * desc->natts);
	nulls = palloc(sizeof(bool) * desc->natts);

	n = GroupChain(rel, group, chain);

	/* top group first */
	if (out != NULL)
		out->ngroups = n;
	for (int i = 0; i < n; i++)
	{
		const char *id = chain[i];
		ColumnAdd	add = {cache.g_exposure, delta};

		if (!ChangeRow(&group_rows, rel, id, AddToColumn, &add, values, nulls, &snap))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("credit group \"%s\" has no row in pgcredit.group_exposure", id),
					 errhint("Run pgcredit.rebuild_exposure().")));
		UnregisterSnapshot(snap);
		if (out != NULL)
		{
			PgcGroupRow *r = &out->groups[i];

			r->group_id = pstrdup(id);
			r->exposure = NumericAttr(values, nulls, cache.g_exposure);
			r->credit_limit = NumericAttr(values, nulls, cache.g_credit_limit);
			r->tolerance = NumericAttr(values, nulls, cache.g_tolerance);
			if (r->tolerance == NULL)
				r->tolerance = int64_to_numeric(0);
		}
	}
	pfree(values);
	pfree(nulls);
	/* the table lock stays until the end of the transaction */
	table_close(rel, NoLock);
}

/*
 * The kept book (book_cache.sql) holds each customer's figures with the
 * version of its exposure row they were computed at.  Every change of a
 * row of an attached receivables table gives its customers' rows a new
 * version, from a sequence, so that no two states of a customer's ledger
 * share one: a version the kept book holds is the state it describes.
 * The customers given one while the guard works on a row are noted, so
 * that the guard does not write their rows a second time for it
 * (pgc_exposure_touch_book).
 */
#define BOOK_BUMPS 4
static char book_bumped[BOOK_BUMPS][PGC_MAX_CUSTOMER_KEY + 1];
static int	n_book_bumped = 0;

static void
SetBookVersion(Datum *values, bool *nulls, void *arg)
{
	const char *customer = (const char *) arg;

	if (cache.x_book_version == 0)
		return;
	values[cache.x_book_version - 1] = Int64GetDatum(nextval_internal(cache.book_seq, false));
	nulls[cache.x_book_version - 1] = false;
	if (n_book_bumped < BOOK_BUMPS && strlen(customer) <= PGC_MAX_CUSTOMER_KEY)
		strlcpy(book_bumped[n_book_bumped++], customer, PGC_MAX_CUSTOMER_KEY + 1);
}

/* Forget the customers noted: the guard starts on a new row */
void
pgc_book_bumps_reset(void)
{
	n_book_bumped = 0;
}

/*
 * Give a customer's exposure row a new book version, unless the guard's
 * work on the current row gave it one.  Returns false, having changed
 * nothing, when the customer has no exposure row yet.
 */
bool
pgc_exposure_touch_book(const char *customer)
{
	Relation	rel;
	Datum	   *values;
	bool	   *nulls;
	Snapshot	snap;
	bool		found;

	for (int i = 0; i < n_book_bumped; i++)
		if (strcmp(book_bumped[i], customer) == 0)
			return true;
	AcceptInvalidationMessages();
	LoadCache();
	if (cache.x_book_version == 0)
		return true;			/* a database still at version 1.0 */
	rel = table_open(cache.exposure, RowExclusiveLock);
	/* the group lock first, as for every other change of the row */
	if (GroupsExist())
		LockRelationOid(cache.groups, RowExclusiveLock);
	values = palloc(sizeof(Datum) * RelationGetDescr(rel)->natts);
	nulls = palloc(sizeof(bool) * RelationGetDescr(rel)->natts);
	found = ChangeRow(&exposure_rows, rel, customer, SetBookVersion, (void *) customer,
					  values, nulls, &snap);
	if (found)
		UnregisterSnapshot(snap);
	pfree(values);
	pfree(nulls);
	table_close(rel, NoLock);
	return found;
}

/* One change of a customer's exposure row, applied by ChangeRow */
typedef struct ExposureChange
{
	const char *customer;
	Numeric		d_receivables;
	Numeric		d_orders;
	int			d_count;
	Numeric		gdelta;			/* the change for the groups */
	char	   *applied;		/* the group the change was added to */
	PgcExposureRow *gout;		/* the groups after it, when asked */
	/* found on the version read: */
	Numeric		receivables;	/* after the change */
	Numeric		orders;
	int64		count;			/* before it */
	Numeric		sum;
} ExposureChange;

static void
ChangeExposure(Datum *values, bool *nulls, void *arg)
{
	ExposureChange *c = (ExposureChange *) arg;

	/*
	 * A member of a credit group: the change goes to its group chain first,
	 * locked from the top group down, then to the customer's row.  When the
	 * row's group is not the one the change went to (the customer joined a
	 * group since it was read, before any group existed for this backend),
	 * the change is taken back out of that chain and added to the new one;
	 * while groups exist, the group lock taken before the read keeps the
	 * group from changing (pgc_exposure_add).  A customer without a group
	 * costs reading the column.
	 */
	if (cache.x_credit_group)
	{
		char	   *group = nulls[cache.x_credit_group - 1] ? NULL :
		TextDatumGetCString(values[cache.x_credit_group - 1]);

		if (group != NULL ? c->applied == NULL || strcmp(group, c->applied) != 0 :
			c->applied != NULL)
		{
			if (c->applied != NULL)
				GroupAdd(c->applied, pgc_numeric_negate(c->gdelta), NULL);
			if (c->gout != NULL)
				c->gout->ngroups = 0;
			if (group != NULL)
				GroupAdd(group, c->gdelta, c->gout);
			c->applied = group;
		}
	}

	c->receivables = NumericAttr(values, nulls, cache.x_receivables);
	c->orders = NumericAttr(values, nulls, cache.x_open_orders);
	if (c->receivables == NULL || c->orders == NULL)
		elog(ERROR, "pgcredit: exposure of customer \"%s\" is null", c->customer);
	if (c->d_receivables != NULL)
	{
		c->receivables = numeric_add_opt_error(c->receivables, c->d_receivables, NULL);
		values[cache.x_receivables - 1] = NumericGetDatum(c->receivables);
		/* the customer's kept book is out of date */
		SetBookVersion(values, nulls, (void *) c->customer);
	}
	if (c->d_orders != NULL)
	{
		c->orders = numeric_add_opt_error(c->orders, c->d_orders, NULL);
		values[cache.x_open_orders - 1] = NumericGetDatum(c->orders);
	}
	c->count = 0;
	c->sum = NULL;
	if (cache.x_order_count && cache.x_order_sum)
	{
		c->count = nulls[cache.x_order_count - 1] ? 0 :
			DatumGetInt64(values[cache.x_order_count - 1]);
		c->sum = NumericAttr(values, nulls, cache.x_order_sum);
	}
	if (c->sum == NULL)
		c->sum = int64_to_numeric(0);
	if (c->d_count != 0 && c->d_orders != NULL && cache.x_order_count && cache.x_order_sum)
	{
		values[cache.x_order_count - 1] = Int64GetDatum(Max(c->count + c->d_count, 0));
		nulls[cache.x_order_count - 1] = false;
		values[cache.x_order_sum - 1] =
			NumericGetDatum(numeric_add_opt_error(c->sum, c->d_orders, NULL));
		nulls[cache.x_order_sum - 1] = false;
	}
}

/*
 * Record the exposure row just written (values, nulls) in
 * pgcredit.exposure_history, with the time of the change: the row is
 * still locked, so a customer's changes are recorded in the order they
 * took its lock.  Written directly, as the exposure row is: the table is
 * pgcredit's own, with no trigger, rule or policy.
 */
static void
WriteHistory(Datum *values, bool *nulls)
{
	Relation	rel = table_open(cache.history, RowExclusiveLock);
	TupleDesc	desc = RelationGetDescr(rel);
	Datum	   *hv = palloc0(sizeof(Datum) * desc->natts);
	bool	   *hn = palloc(sizeof(bool) * desc->natts);
	HeapTuple	tup;

	memset(hn, true, sizeof(bool) * desc->natts);
	hv[0] = values[cache.x_customer - 1];
	hn[0] = false;
	hv[1] = TimestampTzGetDatum(GetCurrentTimestamp());
	hn[1] = false;
	/* as pg_current_xact_id() gives it: the top transaction's full number */
	hv[cache.h_xact - 1] = Int64GetDatum((int64) U64FromFullTransactionId(GetTopFullTransactionId()));
	hn[cache.h_xact - 1] = false;
	for (int i = 0; i < PGC_HISTORY_COLUMNS; i++)
	{
		hv[cache.h_att[i] - 1] = values[cache.x_history_att[i] - 1];
		hn[cache.h_att[i] - 1] = nulls[cache.x_history_att[i] - 1];
	}
	tup = heap_form_tuple(desc, hv, hn);
	heap_insert(rel, tup, GetCurrentCommandId(true), 0, NULL);
	for (int i = 0; i < cache.h_nindexes; i++)
	{
		IndexInfo  *info = cache.h_info[i];
		Relation	index = index_open(cache.h_index[i], RowExclusiveLock);
		Datum		keys[INDEX_MAX_KEYS];
		bool		key_nulls[INDEX_MAX_KEYS];

		for (int k = 0; k < info->ii_NumIndexAttrs; k++)
		{
			keys[k] = hv[info->ii_IndexAttrNumbers[k] - 1];
			key_nulls[k] = hn[info->ii_IndexAttrNumbers[k] - 1];
		}
		index_insert(index, keys, key_nulls, &tup->t_self, rel,
					 info->ii_Unique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO, false, info);
		index_close(index, RowExclusiveLock);
	}
	heap_freetuple(tup);
	pfree(hv);
	pfree(hn);
	table_close(rel, NoLock);
}

/*
 * Add to a customer's receivables and open orders, and with d_count
 * (+1 or -1) count an order in or out of the customer's order count and
 * sum (which d_orders then changes); a member of a credit group adds the
 * change to its group chain too.  Returns false, having changed nothing,
 * when the customer has no exposure row yet.  With out given, fills it
 * with the exposure after the change, the account copy, the order count
 * and sum before the change, the group chain after it, and the settings.
 */
bool
pgc_exposure_add(const char *customer, Numeric d_receivables, Numeric d_orders,
				 int d_count, PgcExposureRow *out)
{
	Relation	rel;
	TupleDesc	desc;
	Datum	   *values;
	bool	   *nulls;
	Snapshot	snap;
	ExposureChange c;

	LoadCache();
	memset(&c, 0, sizeof(c));
	c.customer = customer;
	c.d_receivables = d_receivables;
	c.d_orders = d_orders;
	c.d_count = d_count;
	c.gdelta = int64_to_numeric(0);
	if (d_receivables != NULL)
		c.gdelta = numeric_add_opt_error(c.gdelta, d_receivables, NULL);
	if (d_orders != NULL)
		c.gdelta = numeric_add_opt_error(c.gdelta, d_orders, NULL);
	c.gout = out;
	if (out != NULL)
		out->ngroups = 0;

	rel = table_open(cache.exposure, RowExclusiveLock);

	/*
	 * While credit groups exist, the group lock comes first, before the
	 * customer's row is read: join_group and leave_group take SHARE ROW
	 * EXCLUSIVE on group_exposure, so that a customer's group cannot change
	 * between the read of its row and the end of this transaction.  Else an
	 * order that read the old group, and locked that chain, would have to
	 * lock the new chain too, out of the fixed order, and could deadlock with
	 * another move.  The lock is held until the end of the transaction; a
	 * move waits for the orders in flight.
	 */
	AcceptInvalidationMessages();
	LoadCache();
	if (GroupsExist())
		LockRelationOid(cache.groups, RowExclusiveLock);
	desc = RelationGetDescr(rel);
	values = palloc(sizeof(Datum) * desc->natts);
	nulls = palloc(sizeof(bool) * desc->natts);
	if (!ChangeRow(&exposure_rows, rel, customer, ChangeExposure, &c, values, nulls, &snap))
	{
		table_close(rel, NoLock);
		return false;
	}

	/* the exposure history, while it is on (the settings' default) */
	if (OidIsValid(cache.history))
	{
		PgcExposureRow settings;

		ReadSettings(snap, &settings);
		if (settings.history)
			WriteHistory(values, nulls);
	}

	if (out != NULL)
	{
		out->exposure = numeric_add_opt_error(c.receivables, c.orders, NULL);
		out->receivables = c.receivables;
		out->open_orders = c.orders;
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
		/* the cover copy, when the table has it (guard_cover.c) */
		out->has_cover_copy = cache.x_cover_counted && cache.x_cover_from && cache.x_cover_until;
		out->cover_counted = NULL;
		out->has_cover_from = out->has_cover_until = false;
		out->cover_from = out->cover_until = 0;
		if (out->has_cover_copy)
		{
			out->cover_counted = NumericAttr(values, nulls, cache.x_cover_counted);
			out->has_cover_from = !nulls[cache.x_cover_from - 1];
			out->cover_from = out->has_cover_from ?
				DatumGetDateADT(values[cache.x_cover_from - 1]) : 0;
			out->has_cover_until = !nulls[cache.x_cover_until - 1];
			out->cover_until = out->has_cover_until ?
				DatumGetDateADT(values[cache.x_cover_until - 1]) : 0;
		}
		out->order_count = c.count;
		out->order_sum = c.sum;
		ReadSettings(snap, out);
	}

	UnregisterSnapshot(snap);
	/* the table lock stays until the end of the transaction, as a statement's */
	table_close(rel, NoLock);
	return true;
}

/*
 * Add delta to a customer's exposure in a company category, written
 * directly as the exposure row is; with after given, the amount after
 * the change.  False when the customer has no row in the category yet
 * (the caller creates it).  The caller holds the customer's exposure row
 * lock, which serialises every change of its category rows.
 */
bool
pgc_category_row_add(const char *customer, const char *category, Numeric delta, Numeric *after)
{
	Relation	rel;
	Datum	   *values;
	bool	   *nulls;
	Snapshot	snap;
	bool		found;
	ColumnAdd	add;

	AcceptInvalidationMessages();
	LoadCache();
	if (!OidIsValid(cache.categories))
		elog(ERROR, "pgcredit: table pgcredit.category_exposure is missing");
	rel = table_open(cache.categories, RowExclusiveLock);
	values = palloc(sizeof(Datum) * RelationGetDescr(rel)->natts);
	nulls = palloc(sizeof(bool) * RelationGetDescr(rel)->natts);
	add.att = cache.c_amount;
	add.delta = delta;
	found = ChangeRow(&category_rows, rel, CategoryKey(customer, category), AddToColumn, &add,
					  values, nulls, &snap);
	if (found)
	{
		if (after != NULL)
			*after = NumericAttr(values, nulls, cache.c_amount);
		UnregisterSnapshot(snap);
	}
	table_close(rel, NoLock);
	return found;
}
