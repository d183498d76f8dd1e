/*-------------------------------------------------------------------------
 *
 * cluster.c
 *	  Statements pgcredit sends to the other nodes of a Citus cluster.
 *
 * pgcredit's objects belong to pgcredit_owner, a role that cannot log in,
 * and its administration functions run as that role.  Citus reaches the
 * other nodes by connecting as the current role, which pgcredit_owner
 * cannot do.  The statements pgcredit must run across the cluster (the
 * policy replicated to the workers, the shards of an attached table
 * attached on their nodes, the workers' exposure checked) are run here as
 * the owner of the citus extension, the role Citus itself connects as for
 * its maintenance and which must be able to log in to every node.
 *
 * Only pgcredit's own functions call these: they are not executable by
 * PUBLIC, and they refuse any caller but pgcredit_owner or a superuser
 * should a grant ever say otherwise.  The statement runs with a fixed
 * search path; pgcredit builds it from its own constants and quoted
 * values.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/genam.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/rel.h"

#include "pgcredit.h"

PG_FUNCTION_INFO_V1(pgc_cluster_exec);
PG_FUNCTION_INFO_V1(pgc_cluster_query);

/* The owner of the citus extension of this database, or an error */
static Oid
CitusOwner(void)
{
	Oid			owner = InvalidOid;
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("citus"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		owner = ((Form_pg_extension) GETSTRUCT(tup))->extowner;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (!OidIsValid(owner))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("Citus is not installed in this database")));
	return owner;
}

/* Refuse anyone but pgcredit's own functions (and superusers) */
static void
CheckCaller(void)
{
	Oid			pgc_owner = get_role_oid("pgcredit_owner", true);

	if (!superuser() && GetUserId() != pgc_owner)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only pgcredit's own functions may run statements across the cluster")));
}

/* Run sql as the owner of citus; the result of the last statement stays in SPI */
static void
RunAsCitusOwner(const char *sql, bool read_only)
{
	Oid			owner = CitusOwner();
	PgcActAs	save;
	int			rc;

	pgc_act_as(&save, owner, false);
	rc = SPI_execute(sql, read_only, 0);
	if (rc < 0)
		elog(ERROR, "pgcredit: cluster statement failed: %s", SPI_result_code_string(rc));
	pgc_act_done(&save);
}

/*
 * pgcredit._cluster_exec(statement text) returns bigint: run one
 * statement as the owner of citus and return the number of rows it
 * processed
 */
Datum
pgc_cluster_exec(PG_FUNCTION_ARGS)
{
	char	   *sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	uint64		n;

	CheckCaller();
	SPI_connect();
	RunAsCitusOwner(sql, false);
	n = SPI_processed;
	SPI_finish();
	PG_RETURN_INT64((int64) n);
}

/*
 * pgcredit._cluster_query(query text) returns jsonb: run a query as the
 * owner of citus and return its rows as a JSON array of objects
 */
Datum
pgc_cluster_query(PG_FUNCTION_ARGS)
{
	char	   *query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *sql;
	Datum		result;
	bool		isnull;

	CheckCaller();
	sql = psprintf("SELECT COALESCE(pg_catalog.jsonb_agg(q), '[]') FROM (%s) q", query);
	SPI_connect();
	RunAsCitusOwner(sql, false);
	if (SPI_processed != 1)
		elog(ERROR, "pgcredit: cluster query returned %llu rows", (unsigned long long) SPI_processed);
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	result = SPI_datumTransfer(result, false, -1);
	SPI_finish();
	PG_RETURN_DATUM(result);
}
