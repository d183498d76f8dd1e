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
