/*-------------------------------------------------------------------------
 *
 * guard_horizon.c
 *	  Orders delivered far ahead: an order of a table attached with a
 *	  delivery column and horizon_days counts in exposure from its
 *	  delivery date less horizon_days on (SAP's dynamic credit check).
 *	  Before that day it waits in pgcredit.order_horizon, one row per
 *	  customer and day it starts to count, kept here without an SQL
 *	  statement, as guard_due.c keeps pgcredit.receivable_due.
 *
 * The rule is the guard's and _attached_items()'s alike: an open, not
 * held order with a customer and an amount is beyond the horizon when its
 * delivery date is later than today + horizon_days ("today" is
 * pgc_horizon_day()).  It then does not count in exposure, and its amount
 * is in the bucket (customer, delivery - horizon_days).  An order with no
 * delivery date counts now; one delivered on 'infinity' never comes.
 *
 * The guard changes a customer's buckets only while it holds the lock of
 * the customer's exposure row, and so do attach, detach, rebuild and
 * advance_horizon(): the lock serialises every change of one customer's
 * buckets, and a bucket row is inserted or updated directly, as the
 * latest snapshot shows it, with no race for its key.
 *
 * Days pass: a bucket whose day has come (counts_from <= today) counts in
 * exposure already, wherever it is stored; advance_horizon(), run nightly,
 * moves it into exposure.open_orders.  Until it does, the guard judges
 * orders without it (see doc/guard.md, "Horizon"), and an order of such a
 * bucket changed meanwhile is taken out of exposure, not of its bucket:
 * the sum of the two stays right, and the move makes both right.
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
#include "utils/timestamp.h"
#include "pgtime.h"

#include "pgcredit.h"
#include "compat.h"
#include "guard_due.h"
#include "guard_exposure.h"
#include "guard_horizon.h"

PG_FUNCTION_INFO_V1(pgc_horizon_today);

/* Where the table is, looked up once and forgotten when it changes */
typedef struct HorizonCache
{
	bool		valid;
	bool		present;		/* false in a database still at 1.0 */
	Oid			table;
	Oid			pkey;
	AttrNumber	amount;
	AttrNumber	items;
} HorizonCache;

static HorizonCache horizon_cache;
static bool horizon_callback = false;

static void
HorizonCacheCallback(Datum arg, Oid relid)
{
	if (!horizon_cache.present || relid == InvalidOid ||
		relid == horizon_cache.table || relid == horizon_cache.pkey)
		horizon_cache.valid = false;
}

static void
LoadHorizonCache(void)
{
	Relation	rel;
	TupleDesc	desc;

	if (horizon_cache.valid)
		return;
	if (!horizon_callback)
	{
		pgc_register_relcache_callback(HorizonCacheCallback, (Datum) 0);
		horizon_callback = true;
	}
	memset(&horizon_cache, 0, sizeof(horizon_cache));
	horizon_cache.table = get_relname_relid("order_horizon",
											get_namespace_oid("pgcredit", false));
	if (OidIsValid(horizon_cache.table))
	{
		rel = table_open(horizon_cache.table, AccessShareLock);
		desc = RelationGetDescr(rel);
		horizon_cache.pkey = RelationGetPrimaryKeyIndex(rel);
		horizon_cache.amount = get_attnum(horizon_cache.table, "amount");
		horizon_cache.items = get_attnum(horizon_cache.table, "items");
		if (!OidIsValid(horizon_cache.pkey) || rel->rd_rel->relkind != RELKIND_RELATION ||
			desc->natts != 4 || horizon_cache.amount != 3 || horizon_cache.items != 4 ||
			get_attnum(horizon_cache.table, "customer") != 1 ||
			get_attnum(horizon_cache.table, "counts_from") != 2)
			elog(ERROR, "pgcredit: pgcredit.order_horizon must be a table (customer, counts_from, amount, items) with a primary key");
		table_close(rel, AccessShareLock);
		horizon_cache.present = true;
	}
	horizon_cache.valid = true;
}

/*
 * The book's time zone, pgcredit.settings.time_zone, as last committed:
 * kept until a change of the settings is seen (their statement trigger
 * settings_changed invalidates the table's relcache entry in every
 * backend); NULL when none is set, or in a database still at 1.0.
 */
static struct
{
	bool		valid;
	Oid			settings;
	pg_tz	   *zone;
}			book_zone;

static void
BookZoneCallback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == book_zone.settings || !OidIsValid(book_zone.settings))
		book_zone.valid = false;
}

static pg_tz *
BookZone(void)
{
	static bool registered = false;
	Relation	rel;
	AttrNumber	att;

	if (!registered)
	{
		pgc_register_relcache_callback(BookZoneCallback, (Datum) 0);
		registered = true;
	}
	AcceptInvalidationMessages();
	if (book_zone.valid)
		return book_zone.zone;
	book_zone.zone = NULL;
	book_zone.settings = get_relname_relid("settings", get_namespace_oid("pgcredit", false));
	if (!OidIsValid(book_zone.settings))
	{
		book_zone.valid = true;
		return NULL;
	}
	/* valid from the table's lock on: a change committed later invalidates */
	rel = table_open(book_zone.settings, AccessShareLock);
	book_zone.valid = true;
	att = get_attnum(book_zone.settings, "time_zone");
	if (att != InvalidAttrNumber)
	{
		Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
		SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, snap, 0, NULL);
		HeapTuple	tup = systable_getnext(scan);
		bool		isnull = true;
		Datum		d = (Datum) 0;

		if (HeapTupleIsValid(tup))
			d = heap_getattr(tup, att, RelationGetDescr(rel), &isnull);
		if (!isnull)
		{
			char	   *name = TextDatumGetCString(d);

			book_zone.zone = pg_tzset(name);
			if (book_zone.zone == NULL)
			{
				book_zone.valid = false;
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("time zone \"%s\" of pgcredit.settings is not recognized", name),
						 errhint("Set the book's time zone again with pgcredit.set_time_zone().")));
			}
		}
		systable_endscan(scan);
		UnregisterSnapshot(snap);
	}
	table_close(rel, AccessShareLock);
	return book_zone.zone;
}

/*
 * The day the horizon is measured from: the date of the transaction's
 * start in the book's time zone (pgcredit.settings.time_zone), else in
 * the session's (current_date), worked out once per transaction, or the
 * superuser-only setting pgcredit.horizon_today when set, which tests use
 * to let days pass.  A book's time zone gives every session the same day,
 * whatever its TimeZone: the buckets an order goes in depend on it.
 */
DateADT
pgc_horizon_day(void)
{
	static TimestampTz for_start = 0;
	static pg_tz *for_zone = NULL;
	static DateADT today = 0;
	TimestampTz start;
	pg_tz	   *zone;

	if (pgc_horizon_today_set)
		return pgc_horizon_today_value;
	zone = BookZone();
	if (zone == NULL)
		zone = session_timezone;
	start = GetCurrentTransactionStartTimestamp();
	if (start != for_start || zone != for_zone || for_start == 0)
	{
		struct pg_tm tm;
		fsec_t		fsec;
		int			tz;

		if (timestamp2tm(start, &tz, &tm, &fsec, NULL, zone) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range")));
		today = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) - POSTGRES_EPOCH_JDATE;
		for_start = start;
		for_zone = zone;
	}
	return today;
}

/*
 * Whether an order delivered on delivery is beyond a horizon of
 * horizon_days, and if so the day it starts to count
 */
bool
pgc_horizon_beyond(DateADT delivery, int32 horizon_days, DateADT *counts_from)
{
	if (DATE_IS_NOBEGIN(delivery))
		return false;
	if (DATE_IS_NOEND(delivery))
	{
		*counts_from = delivery;
		return true;
	}
	/* a finite date less at most 3660 days: no overflow in 32 bits */
	if ((int64) delivery - horizon_days <= (int64) pgc_horizon_day())
		return false;
	*counts_from = delivery - horizon_days;
	return true;
}

/* SQL: pgcredit._horizon_today(), the day pgc_horizon_day() gives */
Datum
pgc_horizon_today(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATEADT(pgc_horizon_day());
}

/*
 * Add amount and items (+1 or -1, with the order's amount or its
 * negation) to the customer's bucket of one day, creating it, or deleting
 * it when its last order leaves.  The caller holds the lock of the
 * customer's exposure row.  Returns false, changing nothing, when an order
 * leaves a bucket that is not there: the caller then takes it out of
 * exposure, where advance_horizon() (or a session whose today was later)
 * put it.
 */
bool
pgc_horizon_change(const char *customer, DateADT counts_from, Numeric amount, int items)
{
	LoadHorizonCache();
	if (!horizon_cache.present)
		elog(ERROR, "pgcredit: table pgcredit.order_horizon is missing");
	return pgc_bucket_change(horizon_cache.table, horizon_cache.pkey, horizon_cache.amount,
							 horizon_cache.items, customer, counts_from, amount, items);
}
