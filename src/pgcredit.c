/*-------------------------------------------------------------------------
 *
 * pgcredit.c
 *	  Module entry point of the pgcredit extension.
 *
 * The SQL-callable functions live in one file per concern (aging_band.c, ...);
 * this file marks the shared library as a PostgreSQL module and declares
 * pgcredit's settings when the library is loaded.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "pgcredit.h"
#include "guard_horizon.h"

PG_MODULE_MAGIC;

/* pgcredit.as_of: the day the risk views describe, empty for today */
static char *pgc_as_of_setting = NULL;

/* pgcredit.import_run: the run load_csv is recording, empty outside one */
static char *pgc_import_run_setting = NULL;

/*
 * pgcredit.horizon_today: a superuser's stand-in for today in the guard's
 * horizon (guard_horizon.c), empty for current_date; tests let days pass
 * with it.  Parsed once when set, so the guard reads two variables.
 */
static char *pgc_horizon_today_setting = NULL;
bool		pgc_horizon_today_set = false;
DateADT		pgc_horizon_today_value = 0;

/*
 * Parse a date as date_in does, but return false instead of raising an
 * error: a GUC check hook must not raise one, or a bad value set before
 * the library was loaded would break its loading.  A time zone in the
 * input is refused rather than looked up.
 */
static bool
ParseDate(const char *str, DateADT *out)
{
	char		workbuf[MAXDATELEN + 1];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype;
	struct pg_tm tt;
	fsec_t		fsec;
	DateADT		date;

	if (ParseDateTime(str, workbuf, sizeof(workbuf), field, ftype, MAXDATEFIELDS, &nf) != 0 ||
		pgc_decode_datetime(field, ftype, nf, &dtype, &tt, &fsec) != 0)
		return false;
	switch (dtype)
	{
		case DTK_DATE:
			break;
		case DTK_EPOCH:
			GetEpochTime(&tt);
			break;
		case DTK_LATE:
			DATE_NOEND(*out);
			return true;
		case DTK_EARLY:
			DATE_NOBEGIN(*out);
			return true;
		default:
			return false;
	}
	if (!IS_VALID_JULIAN(tt.tm_year, tt.tm_mon, tt.tm_mday))
		return false;
	date = date2j(tt.tm_year, tt.tm_mon, tt.tm_mday) - POSTGRES_EPOCH_JDATE;
	if (!IS_VALID_DATE(date))
		return false;
	*out = date;
	return true;
}

/*
 * Check hook of pgcredit.as_of: empty, or a finite date.  The codes are
 * those pgcredit.as_of() and the risk functions give for such a value
 * (22007 not a date, 22023 infinite), now raised by SET itself.
 */
static bool
CheckAsOf(char **newval, void **extra, GucSource source)
{
	DateADT		d;

	if (**newval == '\0')
		return true;
	if (!ParseDate(*newval, &d))
	{
		GUC_check_errcode(ERRCODE_INVALID_DATETIME_FORMAT);
		GUC_check_errdetail("pgcredit.as_of must be empty or a date, for example '2024-06-30'.");
		return false;
	}
	if (DATE_NOT_FINITE(d))
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errdetail("pgcredit.as_of must be a finite date.");
		return false;
	}
	return true;
}

/* Check hook of pgcredit.horizon_today: empty, or a finite date, kept parsed */
static bool
CheckHorizonToday(char **newval, void **extra, GucSource source)
{
	DateADT		d;
	DateADT    *keep;

	if (**newval == '\0')
		return true;
	if (!ParseDate(*newval, &d) || DATE_NOT_FINITE(d))
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errdetail("pgcredit.horizon_today must be empty or a finite date, for example '2024-06-30'.");
		return false;
	}
	keep = malloc(sizeof(DateADT));
	if (keep == NULL)
		return false;
	*keep = d;
	*extra = keep;
	return true;
}

static void
AssignHorizonToday(const char *newval, void *extra)
{
	pgc_horizon_today_set = extra != NULL;
	if (extra != NULL)
		pgc_horizon_today_value = *(DateADT *) extra;
}

/*
 * Check hook of pgcredit.import_run: empty, or the positive number of an
 * import run, which the default of external_score.import_run casts to
 * bigint.
 */
static bool
CheckImportRun(char **newval, void **extra, GucSource source)
{
	char	   *end;
	int64		run;

	if (**newval == '\0')
		return true;
	errno = 0;
	run = strtoi64(*newval, &end, 10);
	if (errno != 0 || end == *newval || *end != '\0' || run <= 0)
	{
		GUC_check_errdetail("pgcredit.import_run must be empty or the positive number of an import run.");
		return false;
	}
	return true;
}

/*
 * Declare the settings pgcredit reads and reserve the "pgcredit." prefix,
 * so that a misspelt setting (SET pgcredit.asof = ...) is an error instead
 * of a placeholder nobody reads.  Values set before the library was
 * loaded are checked now: a bad one is dropped with a WARNING.
 */
void
_PG_init(void)
{
	DefineCustomStringVariable("pgcredit.as_of",
							   "The day pgcredit's risk views describe, as a date; empty for today.",
							   NULL,
							   &pgc_as_of_setting,
							   "",
							   PGC_USERSET,
							   0,
							   CheckAsOf, NULL, NULL);
	DefineCustomStringVariable("pgcredit.import_run",
							   "The import run that load_csv is recording; set by load_csv for its transaction.",
							   NULL,
							   &pgc_import_run_setting,
							   "",
							   PGC_USERSET,
							   GUC_NOT_IN_SAMPLE,
							   CheckImportRun, NULL, NULL);
	DefineCustomStringVariable("pgcredit.horizon_today",
							   "The day the guard measures the horizon of delivery dates from; empty for today. For tests.",
							   NULL,
							   &pgc_horizon_today_setting,
							   "",
							   PGC_SUSET,
							   GUC_NOT_IN_SAMPLE,
							   CheckHorizonToday, AssignHorizonToday, NULL);
	DefineCustomBoolVariable("pgcredit.customer_filter_pushdown",
							 "Whether a filter on one customer makes pgcredit's per-customer functions read that customer only.",
							 "Off: every customer is computed and the filter applied afterwards, as before 1.1.",
							 &pgc_customer_filter_pushdown,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	MarkGUCPrefixReserved("pgcredit");
	pgc_customer_filter_init();
}

/*
 * The blessed row type a composite-returning function returns, looked up
 * once per call site and kept in fn_extra: final functions of aggregates
 * run once per group, and GROUP BY can make that many thousand times.
 * Callers that use fn_extra for anything else must not use this.
 */
TupleDesc
pgc_result_tupdesc(FunctionCallInfo fcinfo)
{
	TupleDesc	tupdesc = (TupleDesc) fcinfo->flinfo->fn_extra;

	if (tupdesc == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = tupdesc;
	}
	return tupdesc;
}

/*
 * The owner of a function of pgcredit's: pgcredit's owner, as whom the
 * guard and the CSV loader do their bookkeeping in pgcredit's tables.
 */
Oid
pgc_function_owner(Oid fn_oid)
{
	HeapTuple	proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn_oid));
	Oid			owner;

	if (!HeapTupleIsValid(proc))
		elog(ERROR, "cache lookup failed for function %u", fn_oid);
	owner = ((Form_pg_proc) GETSTRUCT(proc))->proowner;
	ReleaseSysCache(proc);
	return owner;
}

/*
 * Act as role, with the search path fixed to pg_catalog and pg_temp (last,
 * so that no temporary object of the session can stand in for a catalog
 * one), until pgc_act_done().  With restricted, as a
 * SECURITY_RESTRICTED_OPERATION: what PostgreSQL's maintenance commands
 * use when they run a table owner's code, so that the code cannot create
 * temporary objects, change the role or leave anything behind that would
 * run later with someone else's rights.
 *
 * On an error the transaction or subtransaction abort restores the
 * identity and the settings; a caller that catches the error itself calls
 * pgc_act_abandon().
 */
void
pgc_act_as(PgcActAs *save, Oid role, bool restricted)
{
	pgc_act_as_lazily(save, role, restricted);
	pgc_act_fix_path(save);
}

/*
 * The same, leaving the search path as it is until pgc_act_fix_path():
 * for code that may run no statement at all (the guard, most of the
 * time), where setting it would be the dearest part of the work.
 */
void
pgc_act_as_lazily(PgcActAs *save, Oid role, bool restricted)
{
	int			sec;

	GetUserIdAndSecContext(&save->userid, &save->sec_context);
	sec = save->sec_context | SECURITY_LOCAL_USERID_CHANGE;
	if (restricted)
		sec |= SECURITY_RESTRICTED_OPERATION;
	SetUserIdAndSecContext(role, sec);
	save->guc_nest = -1;
}

/* Fix the search path (once) for the statements about to run */
void
pgc_act_fix_path(PgcActAs *save)
{
	if (save->guc_nest >= 0)
		return;
	save->guc_nest = NewGUCNestLevel();
	(void) set_config_option("search_path", PGC_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/* Back to the identity and settings pgc_act_as() saved */
void
pgc_act_done(PgcActAs *save)
{
	if (save->guc_nest >= 0)
		AtEOXact_GUC(false, save->guc_nest);
	SetUserIdAndSecContext(save->userid, save->sec_context);
}

/* Back to the saved identity on an error path (the abort resets settings) */
void
pgc_act_abandon(PgcActAs *save)
{
	SetUserIdAndSecContext(save->userid, save->sec_context);
}

/*
 * Whether Citus is installed in this database: CREATE EXTENSION citus
 * makes its catalog pg_dist_partition.  One syscache lookup, cheap enough
 * for every call of check_order() and every guard trigger's first row.
 */
bool
pgc_citus_installed(void)
{
	return OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE));
}

/* The caches' callbacks, called by the one callback PostgreSQL knows */
#define PGC_MAX_RELCACHE_CALLBACKS 16

static struct
{
	PgcRelcacheCallback fn;
	Datum		arg;
}			relcache_callbacks[PGC_MAX_RELCACHE_CALLBACKS];
static int	n_relcache_callbacks = 0;

static void
RelcacheDispatch(Datum arg, Oid relid)
{
	for (int i = 0; i < n_relcache_callbacks; i++)
		relcache_callbacks[i].fn(relcache_callbacks[i].arg, relid);
}

/*
 * Register a cache's relcache callback: the first registration takes
 * pgcredit's one slot of PostgreSQL's; each cache registers once per
 * backend, as it would with CacheRegisterRelcacheCallback()
 */
void
pgc_register_relcache_callback(PgcRelcacheCallback fn, Datum arg)
{
	if (n_relcache_callbacks >= PGC_MAX_RELCACHE_CALLBACKS)
		elog(FATAL, "pgcredit: out of relcache callback slots");
	if (n_relcache_callbacks == 0)
		CacheRegisterRelcacheCallback(RelcacheDispatch, (Datum) 0);
	relcache_callbacks[n_relcache_callbacks].fn = fn;
	relcache_callbacks[n_relcache_callbacks].arg = arg;
	n_relcache_callbacks++;
}
