/*-------------------------------------------------------------------------
 *
 * pgcredit.c
 *	  Module entry point of the pgcredit extension.
 *
 * The SQL-callable functions live in one file per concern (aging.c, ...);
 * this file only marks the shared library as a PostgreSQL module.
 *
 *-------------------------------------------------------------------------
 */
#include "pgcredit.h"

#include "catalog/pg_proc.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/syscache.h"

PG_MODULE_MAGIC;

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
	int			sec;

	GetUserIdAndSecContext(&save->userid, &save->sec_context);
	sec = save->sec_context | SECURITY_LOCAL_USERID_CHANGE;
	if (restricted)
		sec |= SECURITY_RESTRICTED_OPERATION;
	SetUserIdAndSecContext(role, sec);
	save->guc_nest = NewGUCNestLevel();
	(void) set_config_option("search_path", PGC_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/* Back to the identity and settings pgc_act_as() saved */
void
pgc_act_done(PgcActAs *save)
{
	AtEOXact_GUC(false, save->guc_nest);
	SetUserIdAndSecContext(save->userid, save->sec_context);
}

/* Back to the saved identity on an error path (the abort resets settings) */
void
pgc_act_abandon(PgcActAs *save)
{
	SetUserIdAndSecContext(save->userid, save->sec_context);
}
