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

#include "funcapi.h"

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
