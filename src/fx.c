/*-------------------------------------------------------------------------
 *
 * fx.c
 *	  Currencies: a row of an attached table in another currency than its
 *	  customer's account is converted into the account's currency with the
 *	  rate of pgcredit.fx_rate valid on the row's rate date (the latest
 *	  valid_from on or before it), rounded to 2 decimal places, halves
 *	  away from zero.  The result depends on the row's columns and the
 *	  rate table only, so a row taken out of exposure takes out what it
 *	  put in, as long as the rates it used stay as they were (a corrected
 *	  rate is applied to the rows already in exposure by
 *	  pgcredit.revalue_exposure()).
 *
 * The guard converts without an SQL statement: every backend keeps the
 * rates, the book's base currency and the currencies of the accounts it
 * has seen in memory.  The statement triggers on fx_rate, settings and
 * account invalidate the tables' relcache entries in every backend when a
 * change commits, and the callback here forgets the copies then, as
 * guard_exposure.c does for the settings.  A row whose currency column is
 * NULL, or names the account's currency, costs one hash lookup.
 *
 * A statement converts with one set of rates: a rate a statement used is
 * pinned until it ends, so that a rate committed while it runs applies
 * from the next statement on (and the guard's AFTER trigger, converting a
 * row again, finds what its BEFORE trigger found).
 *
 * The account's currency is read before the guard locks the customer's
 * exposure row.  pgcredit.set_account_currency() changes it under that
 * lock, so that after the lock the guard only has to see whether an
 * account changed meanwhile (pgc_fx_confirm) and read it again then.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "pgcredit.h"
#include "fx.h"

PG_FUNCTION_INFO_V1(pgc_fx_convert);

#define ERRCODE_PGC_NO_RATE	MAKE_SQLSTATE('P', 'C', '0', '1', '5')

/* One rate of a pair */
typedef struct FxRate
{
	DateADT		valid_from;
	Numeric		rate;
} FxRate;

/* The rates of one pair of currencies, by valid_from */
typedef struct FxPair
{
	char		key[8];			/* hash key: from and to, "EURUSD" */
	int			n;
	int			size;
	FxRate	   *rates;
} FxPair;

/*
 * A rate used in the current statement, kept for the rest of it: the
 * guard's AFTER trigger converts a row again and must find what its
 * BEFORE trigger found, even when a rate committed in between
 */
typedef struct FxPin
{
	char		pair[8];		/* hash key: the pair, "EURUSD" ... */
	DateADT		rate_date;		/* ... and the day */
	Numeric		rate;
} FxPin;

/* An account's currency, as last read */
typedef struct AccountCurrency
{
	char		customer[NAMEDATALEN];	/* hash key: keys of up to 63 bytes */
	bool		has_currency;
	char		currency[4];
} AccountCurrency;

/* Where pgcredit's tables are */
static struct
{
	bool		valid;
	Oid			fx_rate;
	Oid			fx_rate_pkey;
	Oid			account;
	Oid			account_pkey;
	Oid			settings;
	AttrNumber	a_currency;		/* 0 in a database still at 1.0 */
	AttrNumber	s_base;
}			fx_tables;

static bool callback_registered = false;
static MemoryContext rates_cxt = NULL;
static HTAB *rates = NULL;
static bool rates_valid = false;
static HTAB *accounts = NULL;
static bool accounts_valid = false;
static bool base_valid = false;
static bool base_set = false;
static char base_currency[4];

/*
 * The rates used by the current statement: the table is emptied, not made
 * again, for each statement (most pin one rate or none), and their copies
 * go with pin_rates_cxt
 */
static HTAB *pins = NULL;
static MemoryContext pin_rates_cxt = NULL;
static LocalTransactionId pins_lxid = InvalidLocalTransactionId;
static TimestampTz pins_statement = 0;

/* changes of the accounts or settings seen, for pgc_fx_confirm */
static uint64 generation = 0;

/*
 * The guard's conversions of one row (its old and new version), confirmed
 * under the row locks
 */
#define MAX_PENDING 2
typedef struct FxPending
{
	uint64		generation;
	char		customer[PGC_MAX_CUSTOMER_KEY + 1];
	char		target[4];
} FxPending;

static int	npending = 0;
static FxPending pending[MAX_PENDING];

static void
FxCacheCallback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == fx_tables.fx_rate)
		rates_valid = false;
	if (relid == InvalidOid || relid == fx_tables.account)
	{
		accounts_valid = false;
		generation++;
	}
	if (relid == InvalidOid || relid == fx_tables.settings)
	{
		base_valid = false;
		generation++;
	}
	if (relid == InvalidOid || relid == fx_tables.fx_rate ||
		relid == fx_tables.account || relid == fx_tables.settings)
		fx_tables.valid = false;
}

/* The primary key index of one of pgcredit's tables */
static Oid
PrimaryKey(Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	Oid			pkey = RelationGetPrimaryKeyIndex(rel);

	table_close(rel, AccessShareLock);
	if (!OidIsValid(pkey))
		elog(ERROR, "pgcredit: table \"%s\" has no primary key", get_rel_name(relid));
	return pkey;
}

static void
LoadTables(void)
{
	Oid			nsp;

	if (!callback_registered)
	{
		pgc_register_relcache_callback(FxCacheCallback, (Datum) 0);
		callback_registered = true;
	}
	if (fx_tables.valid)
		return;
	nsp = get_namespace_oid("pgcredit", false);
	fx_tables.fx_rate = get_relname_relid("fx_rate", nsp);
	fx_tables.account = get_relname_relid("account", nsp);
	fx_tables.settings = get_relname_relid("settings", nsp);
	if (!OidIsValid(fx_tables.account) || !OidIsValid(fx_tables.settings))
		elog(ERROR, "pgcredit: tables pgcredit.account and pgcredit.settings are missing");
	fx_tables.a_currency = get_attnum(fx_tables.account, "currency");
	fx_tables.s_base = get_attnum(fx_tables.settings, "base_currency");
	fx_tables.account_pkey = PrimaryKey(fx_tables.account);
	fx_tables.fx_rate_pkey = OidIsValid(fx_tables.fx_rate) ? PrimaryKey(fx_tables.fx_rate) : InvalidOid;
	fx_tables.valid = true;
}

static int
CompareRates(const void *a, const void *b)
{
	DateADT		x = ((const FxRate *) a)->valid_from;
	DateADT		y = ((const FxRate *) b)->valid_from;

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * Every rate of pgcredit.fx_rate as last committed, kept until a change
 * is seen; marked valid before it is read, after the table's lock (which
 * takes in the invalidations that arrived), so that a change committing
 * while it is read invalidates it again
 */
static void
LoadRates(void)
{
	Relation	rel;
	HASHCTL		ctl;
	HASH_SEQ_STATUS status;
	FxPair	   *p;

	if (rates_valid && rates != NULL)
		return;
	if (!OidIsValid(fx_tables.fx_rate))
		elog(ERROR, "pgcredit: table pgcredit.fx_rate is missing");
	rel = table_open(fx_tables.fx_rate, AccessShareLock);
	if (rates_cxt == NULL)
		rates_cxt = AllocSetContextCreate(CacheMemoryContext, "pgcredit exchange rates",
										  ALLOCSET_DEFAULT_SIZES);
	MemoryContextReset(rates_cxt);
	rates = NULL;
	rates_valid = true;
	PG_TRY();
	{
		Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
		SysScanDesc scan = systable_beginscan(rel, fx_tables.fx_rate_pkey, true, snap, 0, NULL);
		TupleDesc	desc = RelationGetDescr(rel);
		HeapTuple	tup;
		HTAB	   *fresh;

		ctl.keysize = 8;
		ctl.entrysize = sizeof(FxPair);
		ctl.hcxt = rates_cxt;
		fresh = hash_create("pgcredit exchange rates", 64, &ctl,
							HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
		while ((tup = systable_getnext(scan)) != NULL)
		{
			bool		isnull;
			char		key[8];
			bool		found;
			MemoryContext old;
			char	   *from = TextDatumGetCString(heap_getattr(tup, 1, desc, &isnull));
			char	   *to = TextDatumGetCString(heap_getattr(tup, 2, desc, &isnull));

			snprintf(key, sizeof(key), "%.3s%.3s", from, to);
			p = hash_search(fresh, key, HASH_ENTER, &found);
			if (!found)
			{
				p->n = 0;
				p->size = 8;
				p->rates = MemoryContextAlloc(rates_cxt, sizeof(FxRate) * p->size);
			}
			else if (p->n == p->size)
			{
				p->size *= 2;
				p->rates = repalloc(p->rates, sizeof(FxRate) * p->size);
			}
			p->rates[p->n].valid_from = DatumGetDateADT(heap_getattr(tup, 3, desc, &isnull));
			old = MemoryContextSwitchTo(rates_cxt);
			p->rates[p->n].rate = DatumGetNumericCopy(heap_getattr(tup, 4, desc, &isnull));
			MemoryContextSwitchTo(old);
			p->n++;
		}
		systable_endscan(scan);
		UnregisterSnapshot(snap);
		hash_seq_init(&status, fresh);
		while ((p = hash_seq_search(&status)) != NULL)
			qsort(p->rates, p->n, sizeof(FxRate), CompareRates);
		rates = fresh;
	}
	PG_CATCH();
	{
		rates_valid = false;
		PG_RE_THROW();
	}
	PG_END_TRY();
	table_close(rel, AccessShareLock);
}

/* The book's base currency as last committed; false when none is set */
static bool
BaseCurrency(char *out)
{
	if (!base_valid)
	{
		Relation	rel = table_open(fx_tables.settings, AccessShareLock);

		base_valid = true;
		base_set = false;
		if (fx_tables.s_base != InvalidAttrNumber)
		{
			Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
			SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, snap, 0, NULL);
			HeapTuple	tup = systable_getnext(scan);
			bool		isnull;

			if (HeapTupleIsValid(tup))
			{
				Datum		d = heap_getattr(tup, fx_tables.s_base, RelationGetDescr(rel), &isnull);

				if (!isnull)
				{
					strlcpy(base_currency, TextDatumGetCString(d), sizeof(base_currency));
					base_set = true;
				}
			}
			systable_endscan(scan);
			UnregisterSnapshot(snap);
		}
		table_close(rel, AccessShareLock);
	}
	if (base_set)
		strlcpy(out, base_currency, 4);
	return base_set;
}

/* An account's own currency, read with a fresh snapshot; false when none */
static bool
ReadAccountCurrency(const char *customer, char *out)
{
	Relation	rel;
	Snapshot	snap;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	bool		found = false;

	if (fx_tables.a_currency == InvalidAttrNumber)
		return false;
	rel = table_open(fx_tables.account, AccessShareLock);
	snap = RegisterSnapshot(GetLatestSnapshot());
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(customer));
	scan = systable_beginscan(rel, fx_tables.account_pkey, true, snap, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, fx_tables.a_currency, RelationGetDescr(rel), &isnull);

		if (!isnull)
		{
			strlcpy(out, TextDatumGetCString(d), 4);
			found = true;
		}
	}
	systable_endscan(scan);
	UnregisterSnapshot(snap);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * The currency a customer's exposure is kept in: its account's own, else
 * the book's base currency; NULL when neither is set.  The result is
 * static, valid until the next call.
 */
char *
pgc_fx_account_currency(const char *customer)
{
	static char result[4];
	AccountCurrency *a = NULL;
	bool		found = false;

	AcceptInvalidationMessages();
	LoadTables();
	if (strlen(customer) < NAMEDATALEN)
	{
		if (accounts == NULL || !accounts_valid)
		{
			HASHCTL		ctl;

			if (accounts != NULL)
				hash_destroy(accounts);
			ctl.keysize = NAMEDATALEN;
			ctl.entrysize = sizeof(AccountCurrency);
			ctl.hcxt = CacheMemoryContext;
			accounts = hash_create("pgcredit account currencies", 256, &ctl,
								   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
			accounts_valid = true;
		}
		/* at most so many kept, then forgotten and read again */
		if (hash_get_num_entries(accounts) >= 16384)
		{
			accounts_valid = false;
			return pgc_fx_account_currency(customer);
		}
		a = hash_search(accounts, customer, HASH_FIND, &found);
	}
	if (!found)
	{
		AccountCurrency fresh;

		fresh.has_currency = ReadAccountCurrency(customer, fresh.currency);
		if (a == NULL && strlen(customer) < NAMEDATALEN && accounts_valid)
		{
			a = hash_search(accounts, customer, HASH_ENTER, &found);
			a->has_currency = fresh.has_currency;
			memcpy(a->currency, fresh.currency, sizeof(fresh.currency));
		}
		else
			a = &fresh;
		if (a->has_currency)
		{
			strlcpy(result, a->currency, sizeof(result));
			return result;
		}
		return BaseCurrency(result) ? result : NULL;
	}
	if (a->has_currency)
	{
		strlcpy(result, a->currency, sizeof(result));
		return result;
	}
	return BaseCurrency(result) ? result : NULL;
}

/* Whether a currency code is three capital letters */
static bool
ValidCode(const char *code)
{
	return strlen(code) == 3 &&
		code[0] >= 'A' && code[0] <= 'Z' &&
		code[1] >= 'A' && code[1] <= 'Z' &&
		code[2] >= 'A' && code[2] <= 'Z';
}

static void
CheckCode(const char *code)
{
	if (!ValidCode(code))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid currency code \"%s\"", code),
				 errhint("A currency is written as its ISO 4217 code: three capital letters, such as EUR or USD.")));
}

/*
 * The rates pinned by this statement: a new statement (or transaction)
 * starts with none
 */
static HTAB *
Pins(void)
{
	if (pins != NULL && pins_lxid == MyProc->lxid &&
		pins_statement == GetCurrentStatementStartTimestamp())
		return pins;
	if (pins == NULL || hash_get_num_entries(pins) > 64)
	{
		HASHCTL		ctl;

		/* a statement that pinned many leaves no large table behind */
		if (pins != NULL)
			hash_destroy(pins);
		ctl.keysize = offsetof(FxPin, rate);
		ctl.entrysize = sizeof(FxPin);
		ctl.hcxt = TopMemoryContext;
		pins = hash_create("pgcredit pinned rates", 64, &ctl,
						   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	else
	{
		HASH_SEQ_STATUS status;
		FxPin	   *pin;

		hash_seq_init(&status, pins);
		while ((pin = hash_seq_search(&status)) != NULL)
			(void) hash_search(pins, pin, HASH_REMOVE, NULL);
	}
	if (pin_rates_cxt == NULL)
		pin_rates_cxt = AllocSetContextCreate(TopMemoryContext, "pgcredit pinned rates",
											  ALLOCSET_SMALL_SIZES);
	MemoryContextReset(pin_rates_cxt);
	pins_lxid = MyProc->lxid;
	pins_statement = GetCurrentStatementStartTimestamp();
	return pins;
}

/*
 * An amount in currency "from" converted into currency "to" with the rate
 * valid on rate_date, rounded to 2 decimal places (halves away from
 * zero); the amount itself when the currencies are the same.  A missing
 * rate is an error (PC015), never a zero.
 */
Numeric
pgc_fx_convert_amount(Numeric amount, const char *from, const char *to, DateADT rate_date)
{
	char		key[8];
	FxPair	   *p;
	FxPin		pin_key;
	FxPin	   *pin;
	bool		pinned;
	int			lo,
				hi;
	Numeric		product;

	if (strcmp(from, to) == 0)
		return amount;
	CheckCode(from);
	CheckCode(to);
	if (DATE_NOT_FINITE(rate_date))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rate date must be finite"),
				 errdetail("An amount in %s is converted into %s with the rate of a day.", from, to)));
	/* a rate this statement used already: the same again */
	memset(&pin_key, 0, sizeof(pin_key));
	memcpy(pin_key.pair, from, 3);
	memcpy(pin_key.pair + 3, to, 3);
	pin_key.rate_date = rate_date;
	pin = hash_search(Pins(), &pin_key, HASH_FIND, &pinned);
	if (pinned)
		return DatumGetNumeric(DirectFunctionCall2(numeric_round,
												   NumericGetDatum(numeric_mul_opt_error(amount, pin->rate, NULL)),
												   Int32GetDatum(2)));
	AcceptInvalidationMessages();
	LoadTables();
	LoadRates();
	snprintf(key, sizeof(key), "%s%s", from, to);
	p = hash_search(rates, key, HASH_FIND, NULL);
	/* the last rate with valid_from on or before rate_date */
	lo = 0;
	hi = p != NULL ? p->n : 0;
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (p->rates[mid].valid_from <= rate_date)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PGC_NO_RATE),
				 errmsg("no exchange rate from %s to %s on %s", from, to,
						DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(rate_date)))),
				 p != NULL ?
				 errdetail("The first rate of the pair in pgcredit.fx_rate is valid from %s.",
						   DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(p->rates[0].valid_from)))) :
				 errdetail("pgcredit.fx_rate has no rate from %s to %s.", from, to),
				 errhint("Load the rate into pgcredit.fx_rate; a missing rate is never taken as 0 or 1.")));
	pin = hash_search(Pins(), &pin_key, HASH_ENTER, &pinned);
	pin->rate = (Numeric) MemoryContextAlloc(pin_rates_cxt, VARSIZE(p->rates[lo - 1].rate));
	memcpy(pin->rate, p->rates[lo - 1].rate, VARSIZE(p->rates[lo - 1].rate));
	product = numeric_mul_opt_error(amount, p->rates[lo - 1].rate, NULL);
	return DatumGetNumeric(DirectFunctionCall2(numeric_round, NumericGetDatum(product),
											   Int32GetDatum(2)));
}

/*
 * A currency column's value (text, varchar or char(n)) as a code: char(n)
 * pads with spaces, which its comparisons ignore
 */
char *
pgc_fx_currency_code(Datum currency, Oid currency_type)
{
	char	   *code = TextDatumGetCString(currency);
	int			len = strlen(code);

	if (currency_type == BPCHAROID)
		while (len > 0 && code[len - 1] == ' ')
			code[--len] = '\0';
	return code;
}

/*
 * A row's amount in its customer's account currency.  The row's currency
 * is read from its currency column (NULL: the account's currency); a row
 * in a foreign currency needs a rate date.  With remember, the guard
 * confirms the account's currency under the exposure row's lock
 * (pgc_fx_confirm).
 */
Numeric
pgc_fx_row_amount(const char *customer, Numeric amount,
				  Datum currency, bool currency_null, Oid currency_type,
				  Datum rate_date, bool rate_date_null, bool remember)
{
	char	   *code;
	char	   *target;

	if (currency_null)
		return amount;
	code = pgc_fx_currency_code(currency, currency_type);
	target = pgc_fx_account_currency(customer);
	if (target == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the book has no base currency"),
				 errdetail("A row in %s of customer \"%s\" cannot be converted: its account has no currency and the book no base currency.",
						   code, customer),
				 errhint("Set one with pgcredit.set_base_currency().")));
	if (remember && npending < MAX_PENDING && strlen(customer) <= PGC_MAX_CUSTOMER_KEY)
	{
		pending[npending].generation = generation;
		strlcpy(pending[npending].customer, customer, sizeof(pending[npending].customer));
		strlcpy(pending[npending].target, target, sizeof(pending[npending].target));
		npending++;
	}
	if (strcmp(code, target) == 0)
		return amount;
	CheckCode(code);
	if (rate_date_null)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("rate date of a row in a foreign currency must not be null"),
				 errdetail("The row is in %s; the account of customer \"%s\" is kept in %s.",
						   code, customer, target)));
	return pgc_fx_convert_amount(amount, code, target, DatumGetDateADT(rate_date));
}

/*
 * After the guard locked the exposure row of the customer whose row it
 * converted: when an account or the settings changed since (a change
 * commits before it releases the row lock, so its invalidation is here
 * now), the account's currency is read again; if it is no longer the
 * one converted into, the statement fails as a serialization failure, to
 * be retried.
 */
void
pgc_fx_confirm(void)
{
	int			n = npending;

	npending = 0;
	if (n == 0)
		return;
	AcceptInvalidationMessages();
	for (int i = 0; i < n; i++)
	{
		char	   *now;

		if (generation == pending[i].generation)
			continue;
		now = pgc_fx_account_currency(pending[i].customer);
		if (now == NULL || strcmp(now, pending[i].target) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to a concurrent change of an account's currency"),
					 errdetail("The row was converted into %s; the account of customer \"%s\" is now kept in %s.",
							   pending[i].target, pending[i].customer, now ? now : "no currency"),
					 errhint("Retry the statement.")));
	}
}

/* Forget the conversions of a row whose trigger did not finish */
void
pgc_fx_forget(void)
{
	npending = 0;
}

/*
 * SQL: pgcredit.fx_convert(amount, currency_from, currency_to, rate_date),
 * the conversion the guard applies
 */
Datum
pgc_fx_convert(PG_FUNCTION_ARGS)
{
	Numeric		amount = PG_GETARG_NUMERIC(0);
	char	   *from = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *to = text_to_cstring(PG_GETARG_TEXT_PP(2));
	DateADT		rate_date = PG_GETARG_DATEADT(3);

	if (numeric_is_nan(amount) || numeric_is_inf(amount))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("amount must be a finite number")));
	CheckCode(from);
	CheckCode(to);
	PG_RETURN_NUMERIC(pgc_fx_convert_amount(amount, from, to, rate_date));
}
