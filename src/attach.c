/*-------------------------------------------------------------------------
 *
 * attach.c
 *	  How pgcredit reads and changes the company's attached tables, and
 *	  which of their columns it accepts.
 *
 * pgcredit.attachment is the one record of what is attached: the guard
 * takes its configuration from it, never from its trigger's arguments, so
 * a trigger that someone creates by hand on a table of their own finds no
 * attachment and does nothing but refuse.
 *
 * Every statement pgcredit runs on an attached table runs as that table's
 * owner, inside a SECURITY_RESTRICTED_OPERATION and with the search path
 * fixed to pg_catalog and pg_temp: that is how PostgreSQL's VACUUM, ANALYZE
 * and REFRESH MATERIALIZED VIEW run a table owner's code (index
 * expressions, row-level security policies, triggers).  Whatever code the
 * owner has put on the table runs with the owner's rights and nobody
 * else's, and none of the caller's temporary objects or operators can
 * stand in for a catalog one.  Reading every row of a table (exposure,
 * verify, the risk views) runs no statement at all: a plain table scan
 * under the calling statement's snapshot, which runs no code of the
 * owner's (and reads past row-level security, as the owner would).
 *
 * Column types are limited to built-in types whose input and output no
 * role can change (and enums for the open-state column): a domain's CHECK
 * or a user-defined type's functions never run inside pgcredit's work, and
 * a customer key prints the same way in every session.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
#include "utils/uuid.h"

#include "pgcredit.h"
#include "attach.h"
#include "fx.h"
#include "guard_horizon.h"

PG_FUNCTION_INFO_V1(pgc_attached_items);
PG_FUNCTION_INFO_V1(pgc_attached_items_v2);
PG_FUNCTION_INFO_V1(pgc_attached_items_v3);
PG_FUNCTION_INFO_V1(pgc_clear_hold_mark);
PG_FUNCTION_INFO_V1(pgc_table_triggers);
PG_FUNCTION_INFO_V1(pgc_check_attach_column);

/* ----------------------------------------------------------------------
 * pgcredit.attachment
 * ----------------------------------------------------------------------
 */

/* A name column of an attachment row, NULL when not set */
static char *
NameField(HeapTuple tup, TupleDesc desc, Oid tab, const char *column)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, get_attnum(tab, column), desc, &isnull);

	return isnull ? NULL : pstrdup(NameStr(*DatumGetName(d)));
}

/* A name column that version 1.0's table lacks: NULL there */
static char *
OptionalNameField(HeapTuple tup, TupleDesc desc, Oid tab, const char *column)
{
	if (get_attnum(tab, column) == InvalidAttrNumber)
		return NULL;
	return NameField(tup, desc, tab, column);
}

/* A text column of an attachment row */
static char *
TextField(HeapTuple tup, TupleDesc desc, Oid tab, const char *column)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, get_attnum(tab, column), desc, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* A text column that version 1.0's table lacks: NULL there */
static char *
OptionalTextField(HeapTuple tup, TupleDesc desc, Oid tab, const char *column)
{
	if (get_attnum(tab, column) == InvalidAttrNumber)
		return NULL;
	return TextField(tup, desc, tab, column);
}

/* pgcredit.attachment, opened */
static Relation
OpenAttachments(void)
{
	Oid			tab = get_relname_relid("attachment", get_namespace_oid("pgcredit", false));

	if (!OidIsValid(tab))
		elog(ERROR, "pgcredit: table pgcredit.attachment is missing");
	return table_open(tab, AccessShareLock);
}

/* An attachment row as a PgcAttachment */
static void
ParseAttachment(HeapTuple tup, Relation rel, PgcAttachment *att)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Oid			tab = RelationGetRelid(rel);
	bool		isnull;
	Datum		d;
	char	   *kind = TextField(tup, desc, tab, "kind");
	char	   *mode = TextField(tup, desc, tab, "mode");

	memset(att, 0, sizeof(PgcAttachment));
	att->relid = DatumGetObjectId(heap_getattr(tup, get_attnum(tab, "relid"), desc, &isnull));
	att->is_orders = kind && strcmp(kind, "orders") == 0;
	att->hold_mode = mode && strcmp(mode, "hold") == 0;
	att->customer_column = NameField(tup, desc, tab, "customer_column");
	att->amount_column = NameField(tup, desc, tab, "amount_column");
	att->due_column = NameField(tup, desc, tab, "due_column");
	att->open_column = NameField(tup, desc, tab, "open_column");
	att->hold_column = NameField(tup, desc, tab, "hold_column");
	att->invoice_amount_column = NameField(tup, desc, tab, "invoice_amount_column");
	att->invoiced_column = NameField(tup, desc, tab, "invoiced_column");
	att->paid_column = NameField(tup, desc, tab, "paid_column");
	att->prepaid_column = OptionalNameField(tup, desc, tab, "prepaid_column");
	att->delivery_column = OptionalNameField(tup, desc, tab, "delivery_column");
	if (att->delivery_column)
	{
		d = heap_getattr(tup, get_attnum(tab, "horizon_days"), desc, &isnull);
		if (isnull)
			elog(ERROR, "pgcredit: attachment of relation %u has a delivery column without horizon_days",
				 att->relid);
		att->horizon_days = DatumGetInt32(d);
	}
	/* an order's date goes where a receivable's invoice date goes */
	if (att->is_orders)
		att->invoiced_column = OptionalNameField(tup, desc, tab, "order_date_column");
	att->category = OptionalTextField(tup, desc, tab, "category");
	att->currency_column = OptionalNameField(tup, desc, tab, "currency_column");
	att->rate_date_column = OptionalNameField(tup, desc, tab, "rate_date_column");
	d = heap_getattr(tup, get_attnum(tab, "open_values"), desc, &isnull);
	if (!isnull)
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n;

		deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &n);
		att->open_values = palloc(sizeof(char *) * Max(n, 1));
		for (int i = 0; i < n; i++)
			if (!nulls[i])
				att->open_values[att->n_open_values++] = TextDatumGetCString(elems[i]);
	}
}

/* The attachment of relid itself, read with a fresh snapshot */
static bool
ReadAttachment(Oid relid, PgcAttachment *att)
{
	Relation	rel = OpenAttachments();
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	bool		found = false;

	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, RelationGetPrimaryKeyIndex(rel), true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		ParseAttachment(tup, rel, att);
		found = true;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/* The attachment that covers relid, read from pgcredit.attachment */
static bool
FindAttachment(Oid relid, PgcAttachment *att)
{
	if (ReadAttachment(relid, att))
		return true;
	if (get_rel_relispartition(relid))
	{
		List	   *ancestors = get_partition_ancestors(relid);
		ListCell   *lc;

		foreach(lc, ancestors)
		{
			if (ReadAttachment(lfirst_oid(lc), att))
				return true;
		}
	}
	return false;
}

/*
 * What the guard's triggers look up for every statement, kept per
 * relation for the life of the backend.  An attachment is made and
 * removed only together with the triggers on the table (and, through
 * cloning, on its partitions), which invalidates the table's relcache
 * entry: the callback forgets the relation's entry then.
 */
typedef struct CachedAttachment
{
	Oid			relid;			/* hash key: the table or partition */
	bool		attached;
	PgcAttachment att;			/* in CacheMemoryContext */
} CachedAttachment;

static HTAB *attachment_cache = NULL;

static void
AttachmentCacheCallback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	CachedAttachment *c;

	if (attachment_cache == NULL)
		return;
	if (OidIsValid(relid))
	{
		(void) hash_search(attachment_cache, &relid, HASH_REMOVE, NULL);
		return;
	}
	hash_seq_init(&status, attachment_cache);
	while ((c = hash_seq_search(&status)) != NULL)
		(void) hash_search(attachment_cache, &c->relid, HASH_REMOVE, NULL);
}

static char *
CopyName(MemoryContext cxt, const char *s)
{
	return s ? MemoryContextStrdup(cxt, s) : NULL;
}

/* A copy of an attachment, its strings in cxt */
static void
CopyAttachment(MemoryContext cxt, const PgcAttachment *from, PgcAttachment *to)
{
	*to = *from;
	to->customer_column = CopyName(cxt, from->customer_column);
	to->amount_column = CopyName(cxt, from->amount_column);
	to->due_column = CopyName(cxt, from->due_column);
	to->open_column = CopyName(cxt, from->open_column);
	to->hold_column = CopyName(cxt, from->hold_column);
	to->invoice_amount_column = CopyName(cxt, from->invoice_amount_column);
	to->invoiced_column = CopyName(cxt, from->invoiced_column);
	to->paid_column = CopyName(cxt, from->paid_column);
	to->prepaid_column = CopyName(cxt, from->prepaid_column);
	to->delivery_column = CopyName(cxt, from->delivery_column);
	to->category = CopyName(cxt, from->category);
	to->currency_column = CopyName(cxt, from->currency_column);
	to->rate_date_column = CopyName(cxt, from->rate_date_column);
	to->open_values = MemoryContextAlloc(cxt, sizeof(char *) * Max(from->n_open_values, 1));
	for (int i = 0; i < from->n_open_values; i++)
		to->open_values[i] = MemoryContextStrdup(cxt, from->open_values[i]);
}

/*
 * The attachment that covers relid: its own, or that of the partitioned
 * table it is a partition of.  False when relid is not attached.  The
 * strings are the caller's, in the current memory context.
 */
bool
pgc_attachment_find(Oid relid, PgcAttachment *att)
{
	CachedAttachment *c;
	bool		found;

	if (attachment_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(CachedAttachment);
		ctl.hcxt = CacheMemoryContext;
		attachment_cache = hash_create("pgcredit attachments", 64, &ctl,
									   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		pgc_register_relcache_callback(AttachmentCacheCallback, (Datum) 0);
	}
	c = hash_search(attachment_cache, &relid, HASH_FIND, &found);
	if (!found)
	{
		PgcAttachment fresh;
		bool		attached = FindAttachment(relid, &fresh);

		c = hash_search(attachment_cache, &relid, HASH_ENTER, &found);
		c->attached = attached;
		if (attached)
			CopyAttachment(CacheMemoryContext, &fresh, &c->att);
	}
	if (!c->attached)
		return false;
	CopyAttachment(CurrentMemoryContext, &c->att, att);
	return true;
}

/* ----------------------------------------------------------------------
 * Columns
 * ----------------------------------------------------------------------
 */

static const char *
RoleName(PgcColumnRole role)
{
	switch (role)
	{
		case PGC_COL_CUSTOMER:
			return "customer";
		case PGC_COL_AMOUNT:
			return "amount";
		case PGC_COL_OPEN:
			return "open-state";
		case PGC_COL_HOLD:
			return "hold";
		case PGC_COL_DATE:
			return "date";
		case PGC_COL_CURRENCY:
			return "currency";
	}
	return "?";
}

static const char *
AllowedTypes(PgcColumnRole role)
{
	switch (role)
	{
		case PGC_COL_CUSTOMER:
			return "text, varchar, char(n), smallint, integer, bigint, numeric or uuid";
		case PGC_COL_AMOUNT:
			return "numeric, smallint, integer or bigint";
		case PGC_COL_OPEN:
			return "text, varchar, char(n), boolean, smallint, integer, bigint, numeric or an enum";
		case PGC_COL_HOLD:
			return "boolean";
		case PGC_COL_DATE:
			return "date";
		case PGC_COL_CURRENCY:
			return "text, varchar or char(n)";
	}
	return "?";
}

/* Whether a column of this type may serve in this role */
static bool
TypeAllowed(Oid typid, PgcColumnRole role)
{
	switch (role)
	{
		case PGC_COL_CUSTOMER:
			return typid == TEXTOID || typid == VARCHAROID || typid == BPCHAROID ||
				typid == INT2OID || typid == INT4OID || typid == INT8OID ||
				typid == NUMERICOID || typid == UUIDOID;
		case PGC_COL_AMOUNT:
			return typid == NUMERICOID || typid == INT2OID || typid == INT4OID || typid == INT8OID;
		case PGC_COL_OPEN:
			return typid == TEXTOID || typid == VARCHAROID || typid == BPCHAROID ||
				typid == BOOLOID || typid == INT2OID || typid == INT4OID || typid == INT8OID ||
				typid == NUMERICOID || type_is_enum(typid);
		case PGC_COL_HOLD:
			return typid == BOOLOID;
		case PGC_COL_DATE:
			return typid == DATEOID;
		case PGC_COL_CURRENCY:
			return typid == TEXTOID || typid == VARCHAROID || typid == BPCHAROID;
	}
	return false;
}

/*
 * The attribute number of a column pgcredit reads, after checking that it
 * still exists, is stored (not generated) and has a type pgcredit accepts
 * in that role.  A table owner who changed the column since it was
 * attached gets an error here instead of wrong figures.
 */
AttrNumber
pgc_attached_column(Relation rel, const char *name, PgcColumnRole role)
{
	return pgc_check_column(rel, name, role, false);
}

/* The same check, with attaching saying whether the table is being attached */
AttrNumber
pgc_check_column(Relation rel, const char *name, PgcColumnRole role, bool attaching)
{
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber	att = InvalidAttrNumber;
	Form_pg_attribute a;

	for (int i = 0; i < desc->natts; i++)
	{
		a = TupleDescAttr(desc, i);
		if (!a->attisdropped && strcmp(NameStr(a->attname), name) == 0)
		{
			att = i + 1;
			break;
		}
	}
	if (att == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						name, RelationGetRelationName(rel)),
				 errdetail("pgcredit uses it as the %s column.", RoleName(role)),
				 attaching ? 0 :
				 errhint("Detach the table with pgcredit.detach() and attach it again.")));
	a = TupleDescAttr(desc, att - 1);
	if (!TypeAllowed(a->atttypid, role))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" cannot be pgcredit's %s column",
						name, RelationGetRelationName(rel), RoleName(role)),
				 errdetail("Its type is %s; the %s column must be of type %s (domains and other user-defined types are refused).",
						   format_type_be(a->atttypid), RoleName(role), AllowedTypes(role)),
				 attaching ? 0 :
				 errhint("Detach the table with pgcredit.detach() before changing the column's type.")));
	if (a->attgenerated != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("column \"%s\" of relation \"%s\" cannot be pgcredit's %s column",
						name, RelationGetRelationName(rel), RoleName(role)),
				 errdetail("It is a generated column, and pgcredit's trigger sees a row before its generated columns are computed.")));
	return att;
}

/*
 * SQL: pgcredit._check_attach_column(tbl, column, role) checks a column
 * as the guard will, for attach_orders() and attach_receivables().
 */
Datum
pgc_check_attach_column(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *name = NameStr(*PG_GETARG_NAME(1));
	char	   *role = text_to_cstring(PG_GETARG_TEXT_PP(2));
	PgcColumnRole r;
	Relation	rel;

	if (strcmp(role, "customer") == 0)
		r = PGC_COL_CUSTOMER;
	else if (strcmp(role, "amount") == 0)
		r = PGC_COL_AMOUNT;
	else if (strcmp(role, "open-state") == 0)
		r = PGC_COL_OPEN;
	else if (strcmp(role, "hold") == 0)
		r = PGC_COL_HOLD;
	else if (strcmp(role, "currency") == 0)
		r = PGC_COL_CURRENCY;
	else
		r = PGC_COL_DATE;
	rel = table_open(relid, AccessShareLock);
	(void) pgc_check_column(rel, name, r, true);
	table_close(rel, AccessShareLock);
	PG_RETURN_VOID();
}

/*
 * A customer key as pgcredit stores it: the same text for the same
 * customer whatever the column type, its scale or the session's settings.
 * Numbers lose trailing fractional zeros (1, 1.0 and 1.00 are one
 * customer), char(n) loses its padding (as char(n) comparison ignores it).
 */
char *
pgc_customer_key(Datum value, Oid typid)
{
	switch (typid)
	{
		case TEXTOID:
		case VARCHAROID:
			return TextDatumGetCString(value);
		case BPCHAROID:
			{
				char	   *s = TextDatumGetCString(value);
				int			len = strlen(s);

				while (len > 0 && s[len - 1] == ' ')
					len--;
				s[len] = '\0';
				return s;
			}
		case INT2OID:
			return psprintf("%d", (int) DatumGetInt16(value));
		case INT4OID:
			return psprintf("%d", DatumGetInt32(value));
		case INT8OID:
			return psprintf(INT64_FORMAT, DatumGetInt64(value));
		case NUMERICOID:
			return DatumGetCString(DirectFunctionCall1(numeric_out,
													   DirectFunctionCall1(numeric_trim_scale, value)));
		case UUIDOID:
			return DatumGetCString(DirectFunctionCall1(uuid_out, value));
	}
	elog(ERROR, "pgcredit: unexpected customer column type %s", format_type_be(typid));
	return NULL;				/* keep compiler quiet */
}

/* An amount column's value as numeric: integer types are converted */
Datum
pgc_amount_numeric(Datum value, Oid typid)
{
	switch (typid)
	{
		case INT2OID:
			return NumericGetDatum(int64_to_numeric(DatumGetInt16(value)));
		case INT4OID:
			return NumericGetDatum(int64_to_numeric(DatumGetInt32(value)));
		case INT8OID:
			return NumericGetDatum(int64_to_numeric(DatumGetInt64(value)));
	}
	return value;
}

/* The quoted schema of an operator, to name it as OPERATOR(schema.op) */
static const char *
OperatorSchema(Oid opr)
{
	HeapTuple	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(opr));
	Oid			nsp;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for operator %u", opr);
	nsp = ((Form_pg_operator) GETSTRUCT(tup))->oprnamespace;
	ReleaseSysCache(tup);
	return quote_identifier(get_namespace_name(nsp));
}

/* A relation's name qualified with its schema, quoted for SQL */
static char *
QualifiedName(Relation rel)
{
	return quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
									  RelationGetRelationName(rel));
}

/* ----------------------------------------------------------------------
 * Reading attached tables
 * ----------------------------------------------------------------------
 */

/*
 * A customer key given as text, as a value of the customer column's type,
 * for an index lookup; false when no value of that type has that key.
 * Only digits and the characters the types print are let through to the
 * input function, which then cannot fail.
 */
static bool
KeyValue(const char *key, Oid typid, Datum *out)
{
	const char *p = key;
	int			digits = 0;

	switch (typid)
	{
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			*out = CStringGetTextDatum(key);
			return true;
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case NUMERICOID:
			if (*p == '-')
				p++;
			for (; *p >= '0' && *p <= '9'; p++)
				digits++;
			if (typid == NUMERICOID && *p == '.' && digits > 0)
				for (p++; *p >= '0' && *p <= '9'; p++)
					digits++;
			if (*p != '\0' || digits == 0 || digits > 1000)
				return false;
			if (typid == NUMERICOID)
			{
				*out = DirectFunctionCall3(numeric_in, CStringGetDatum(key),
										   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
				return true;
			}
			else
			{
				int64		v;
				char	   *end;

				errno = 0;
				v = strtoll(key, &end, 10);
				if (errno != 0 ||
					(typid == INT2OID && (v < PG_INT16_MIN || v > PG_INT16_MAX)) ||
					(typid == INT4OID && (v < PG_INT32_MIN || v > PG_INT32_MAX)))
					return false;
				*out = typid == INT2OID ? Int16GetDatum((int16) v) :
					typid == INT4OID ? Int32GetDatum((int32) v) : Int64GetDatum(v);
				return true;
			}
		case UUIDOID:
			if (strlen(key) != 36)
				return false;
			for (int i = 0; i < 36; i++)
			{
				char		c = key[i];
				bool		dash = (i == 8 || i == 13 || i == 18 || i == 23);

				if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
					return false;
			}
			*out = DirectFunctionCall1(uuid_in, CStringGetDatum(key));
			return true;
	}
	return false;
}

static int
AttachmentOrder(const ListCell *a, const ListCell *b)
{
	Oid			x = ((PgcAttachment *) lfirst(a))->relid;
	Oid			y = ((PgcAttachment *) lfirst(b))->relid;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* The attachments to read: one table's, or all of one kind or both */
static List *
ListAttachments(const char *kind, Oid only)
{
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *result = NIL;

	if (OidIsValid(only))
	{
		PgcAttachment *att = palloc(sizeof(PgcAttachment));

		if (!ReadAttachment(only, att))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("table \"%s\" is not attached", get_rel_name(only))));
		return list_make1(att);
	}
	rel = OpenAttachments();
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while ((tup = systable_getnext(scan)) != NULL)
	{
		PgcAttachment *att = palloc(sizeof(PgcAttachment));

		ParseAttachment(tup, rel, att);
		if (kind == NULL || (strcmp(kind, "orders") == 0) == att->is_orders)
			result = lappend(result, att);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	list_sort(result, AttachmentOrder);
	return result;
}

/*
 * Whether an open-state value is one of the open values: compared as its
 * type prints it (out is the type's output function), numbers without
 * trailing fractional zeros, as attaching stored the open values.
 */
bool
pgc_is_open_value(Datum value, Oid typid, FmgrInfo *out, char **open_values, int n_open_values)
{
	char	   *s;

	if (typid == NUMERICOID)
		value = DirectFunctionCall1(numeric_trim_scale, value);
	s = OutputFunctionCall(out, value);
	for (int i = 0; i < n_open_values; i++)
		if (strcmp(s, open_values[i]) == 0)
			return true;
	return false;
}

/*
 * The part of an order's amount that uses credit: the amount less its
 * prepaid or secured part, never below 0; a credit (a negative amount)
 * whole.  A prepaid part that is NULL counts as 0; one that is negative,
 * NaN or infinite is an error.
 */
Numeric
pgc_credit_part(Numeric amount, Datum prepaid, bool prepaid_null, Oid prepaid_type)
{
	Numeric		p;
	Numeric		part;

	if (prepaid_null || pgc_numeric_sign(amount) <= 0)
		return amount;
	p = DatumGetNumeric(pgc_amount_numeric(prepaid, prepaid_type));
	if (numeric_is_nan(p) || numeric_is_inf(p))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("prepaid part of an order must be a finite number"),
				 numeric_is_nan(p) ? errdetail("The prepaid part is NaN.") :
				 errdetail("The prepaid part is infinite.")));
	if (pgc_numeric_sign(p) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("prepaid part of an order must not be negative"),
				 errdetail("The prepaid part is %s.",
						   pgc_numeric_text(p))));
	if (pgc_numeric_cmp(p, amount) >= 0)
		return int64_to_numeric(0);
	part = numeric_sub_opt_error(amount, p, NULL);
	return part;
}

/*
 * The columns an attachment reads, in the order _attached_items() takes
 * them from a row: customer, amount, open state, hold, due, invoice
 * amount, invoice date, payment date, prepaid part, delivery date,
 * currency, rate date.  0 for a column not given.
 */
#define ITEM_COLUMNS 12
#define ITEM_KEY_COLUMNS 8

typedef struct ItemColumns
{
	AttrNumber	att[ITEM_COLUMNS];
	Oid			type[ITEM_COLUMNS];
	FmgrInfo	open_out;		/* output function of the open-state column */
	/* with item keys asked for: the table's primary key, if it has one */
	int			nkeys;
	AttrNumber	key_att[ITEM_KEY_COLUMNS];
	char	   *key_name[ITEM_KEY_COLUMNS];
	FmgrInfo	key_out[ITEM_KEY_COLUMNS];
} ItemColumns;

/*
 * Rows wanted by _attached_items_keyed(..., open_on): only the items open
 * on that day (a due date, invoiced by then, and paid after it, or not
 * paid and open now), so that the rows never open on it are neither
 * keyed nor stored
 */
typedef struct ItemFilter
{
	bool		open_on_set;
	DateADT		open_on;
	/* with a sink, the rows go to it (without keys), not to the tuplestore */
	PgcItemSink sink;
	void	   *sink_arg;
} ItemFilter;

/* Where the attachment's columns are in rel, checked, with their types */
static void
FindItemColumns(PgcAttachment *att, Relation rel, ItemColumns *c)
{
	const char *names[ITEM_COLUMNS] = {
		att->customer_column, att->amount_column, att->open_column, att->hold_column,
		att->due_column, att->invoice_amount_column, att->invoiced_column, att->paid_column,
		att->prepaid_column, att->delivery_column, att->currency_column, att->rate_date_column
	};
	const PgcColumnRole roles[ITEM_COLUMNS] = {
		PGC_COL_CUSTOMER, PGC_COL_AMOUNT, PGC_COL_OPEN, PGC_COL_HOLD,
		PGC_COL_DATE, PGC_COL_AMOUNT, PGC_COL_DATE, PGC_COL_DATE, PGC_COL_AMOUNT, PGC_COL_DATE,
		PGC_COL_CURRENCY, PGC_COL_DATE
	};

	for (int i = 0; i < ITEM_COLUMNS; i++)
	{
		c->att[i] = names[i] ? pgc_attached_column(rel, names[i], roles[i]) : 0;
		c->type[i] = c->att[i] ?
			TupleDescAttr(RelationGetDescr(rel), c->att[i] - 1)->atttypid : InvalidOid;
	}
	if (c->att[2])
	{
		Oid			out;
		bool		varlena;

		getTypeOutputInfo(c->type[2], &out, &varlena);
		fmgr_info(out, &c->open_out);
	}
	c->nkeys = 0;
}

/*
 * The primary key columns of rel (a partition has its partitioned table's
 * key columns), at most max of them, with their output functions in cxt:
 * held orders and receivable items are named by them.  Returns how many
 * columns the key has, which may be more than max, or 0 without a key.
 */
int
pgc_row_key_load(Relation rel, int max, AttrNumber *atts, char **names, FmgrInfo *outs,
				 MemoryContext cxt)
{
	Bitmapset  *pk = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_PRIMARY_KEY);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	int			x = -1;
	int			n = 0;

	while ((x = bms_next_member(pk, x)) >= 0 && n < max)
	{
		AttrNumber	a = x + FirstLowInvalidHeapAttributeNumber;
		Form_pg_attribute f = TupleDescAttr(RelationGetDescr(rel), a - 1);
		Oid			out;
		bool		varlena;

		atts[n] = a;
		names[n] = pstrdup(NameStr(f->attname));
		getTypeOutputInfo(f->atttypid, &out, &varlena);
		fmgr_info_cxt(out, &outs[n], cxt);
		n++;
	}
	MemoryContextSwitchTo(old);
	return bms_num_members(pk);
}

/*
 * A row's primary key as a JSON object of text values, as
 * held_order.row_key and collection_action_item.item_key have it
 */
char *
pgc_row_key_json(int nkeys, char **names, FmgrInfo *outs, const Datum *values, const bool *nulls)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < nkeys; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, names[i]);
		appendStringInfoString(&buf, ": ");
		if (nulls[i])
			appendStringInfoString(&buf, "null");
		else
			escape_json(&buf, OutputFunctionCall(&outs[i], values[i]));
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* The items of a table are named by its primary key: none beyond its limit */
static void
FindItemKey(Relation rel, ItemColumns *c)
{
	c->nkeys = pgc_row_key_load(rel, ITEM_KEY_COLUMNS, c->key_att, c->key_name, c->key_out,
								CurrentMemoryContext);
	if (c->nkeys > ITEM_KEY_COLUMNS)
		c->nkeys = 0;
}

/* An item's primary key as a JSON object */
static Datum
ItemKeyJsonb(ItemColumns *c, Datum *keys, bool *nulls)
{
	return DirectFunctionCall1(jsonb_in,
							   CStringGetDatum(pgc_row_key_json(c->nkeys, c->key_name, c->key_out,
																keys, nulls)));
}

/*
 * One row of an attached table, given its raw column values in the order
 * of ItemColumns, into the tuplestore as _attached_items() returns it:
 * relid, kind, customer, amount, counts, held, due, invoice amount,
 * invoice date, payment date.  Rows without a customer (or, with key,
 * of another customer) are left out.
 */
static void
StoreItem(PgcAttachment *att, ItemColumns *c, Datum *raw, bool *null, const char *key,
		  Datum *keys, bool *key_nulls, const ItemFilter *filter,
		  Tuplestorestate *store, TupleDesc outdesc)
{
	Datum		v[12];
	bool		n[12];
	char	   *customer;
	bool		open;
	bool		held;

	if (null[0])
		return;
	customer = pgc_customer_key(raw[0], c->type[0]);
	if (key != NULL && strcmp(key, customer) != 0)
		return;
	memset(n, 0, sizeof(n));
	v[0] = ObjectIdGetDatum(att->relid);
	v[1] = CStringGetTextDatum(att->is_orders ? "orders" : "receivables");
	v[2] = CStringGetTextDatum(customer);
	n[3] = null[1];
	if (!n[3])
		v[3] = pgc_amount_numeric(raw[1], c->type[1]);
	/* an order's prepaid part uses no credit */
	if (!n[3] && c->att[8])
		v[3] = NumericGetDatum(pgc_credit_part(DatumGetNumeric(v[3]), raw[8], null[8], c->type[8]));
	open = !c->att[2] ||
		(!null[2] && pgc_is_open_value(raw[2], c->type[2], &c->open_out,
									   att->open_values, att->n_open_values));
	held = c->att[3] && !null[3] && DatumGetBool(raw[3]);
	v[4] = BoolGetDatum(open && !held && !n[3]);
	v[5] = BoolGetDatum(held);
	v[6] = raw[4];
	n[6] = null[4];
	/* without an invoice amount column, the open amount stands for it */
	v[7] = c->att[5] ? (null[5] ? (Datum) 0 : pgc_amount_numeric(raw[5], c->type[5])) : v[3];

	/*
	 * a row that counts, in its account's currency, as the guard adds it; the
	 * invoice amount stays as the table holds it
	 */
	if (open && !held && !n[3] && c->att[10])
		v[3] = NumericGetDatum(pgc_fx_row_amount(customer, DatumGetNumeric(v[3]),
												 raw[10], null[10], c->type[10],
												 raw[11], null[11], false));
	if (!c->att[5] && !n[3] && c->att[8])
		v[7] = pgc_amount_numeric(raw[1], c->type[1]);
	n[7] = c->att[5] ? null[5] : n[3];
	v[8] = raw[6];
	n[8] = null[6];
	v[9] = raw[7];
	n[9] = null[7];

	/*
	 * An open order beyond its table's horizon does not count yet: counts
	 * says no and counts_from (version 1.1 on) gives the day it starts to
	 * count, the guard's rule (guard_horizon.c)
	 */
	n[10] = true;
	if (DatumGetBool(v[4]) && c->att[9] && !null[9])
	{
		DateADT		from;

		if (pgc_horizon_beyond(DatumGetDateADT(raw[9]), att->horizon_days, &from))
		{
			v[4] = BoolGetDatum(false);
			v[10] = DateADTGetDatum(from);
			n[10] = false;
		}
	}
	if (filter->open_on_set)
	{
		bool		paid_after = !null[7] && DatumGetDateADT(raw[7]) > filter->open_on;

		if (null[4] ||
			(!null[6] && DatumGetDateADT(raw[6]) > filter->open_on) ||
			!(paid_after || (null[7] && DatumGetBool(v[4]))))
			return;
	}
	if (filter->sink)
	{
		filter->sink(filter->sink_arg, v, n);
		return;
	}
	/* _attached_items_keyed(): the item's primary key, when it has one */
	if (outdesc->natts > 11)
	{
		n[11] = c->nkeys == 0;
		if (!n[11])
			v[11] = ItemKeyJsonb(c, keys, key_nulls);
	}
	tuplestore_putvalues(store, outdesc, v, n);
}

/*
 * Whether Citus manages a relation (pg_dist_partition names it): its rows
 * are then in shards on other nodes, not in its own heap
 */
static bool
IsCitusTable(Oid relid)
{
	Relation	r;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	if (!pgc_citus_installed())
		return false;
	r = table_open(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE), AccessShareLock);
	scan = systable_beginscan(r, InvalidOid, false, NULL, 0, NULL);
	while (!found && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, 1, RelationGetDescr(r), &isnull);

		found = !isnull && DatumGetObjectId(d) == relid;
	}
	systable_endscan(scan);
	table_close(r, AccessShareLock);
	return found;
}

/*
 * One customer's rows of one attached table, read as its owner (an index
 * lookup through the planner, so the owner's code may run: as the owner,
 * in a security-restricted operation), into the tuplestore.
 */
static void
ReadAttachedTable(PgcAttachment *att, const char *key, LOCKMODE lockmode,
				  const ItemFilter *filter, Tuplestorestate *store, TupleDesc outdesc)
{
	Relation	rel = table_open(att->relid, lockmode);
	ItemColumns c;
	StringInfoData sql;
	Datum		keyval;
	PgcActAs	act;
	Portal		portal;
	MemoryContext outer = CurrentMemoryContext;

	FindItemColumns(att, rel, &c);
	if (outdesc != NULL && outdesc->natts > 11)
		FindItemKey(rel, &c);
	if (key != NULL && !KeyValue(key, c.type[0], &keyval))
	{
		table_close(rel, NoLock);
		return;					/* no row of this table can have that key */
	}

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (int i = 0; i < ITEM_COLUMNS; i++)
		appendStringInfo(&sql, "%s%s", i > 0 ? ", " : "",
						 c.att[i] ? quote_identifier(NameStr(TupleDescAttr(RelationGetDescr(rel),
																		   c.att[i] - 1)->attname))
						 : "NULL");
	for (int i = 0; i < c.nkeys; i++)
		appendStringInfo(&sql, ", %s", quote_identifier(c.key_name[i]));
	/* a partitioned table is read with its partitions; a plain one alone */
	appendStringInfo(&sql, " FROM %s%s",
					 rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE ? "" : "ONLY ",
					 QualifiedName(rel));
	if (key != NULL)
		appendStringInfo(&sql, " WHERE %s OPERATOR(pg_catalog.=) $1",
						 quote_identifier(att->customer_column));

	pgc_act_as(&act, rel->rd_rel->relowner, true);
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "pgcredit: SPI_connect failed");
		portal = SPI_cursor_open_with_args(NULL, sql.data, key != NULL ? 1 : 0, &c.type[0], &keyval,
										   NULL, true, 0);
		for (;;)
		{
			SPI_cursor_fetch(portal, true, 1000);
			if (SPI_processed == 0)
				break;
			for (uint64 i = 0; i < SPI_processed; i++)
			{
				Datum		raw[ITEM_COLUMNS + ITEM_KEY_COLUMNS];
				bool		null[ITEM_COLUMNS + ITEM_KEY_COLUMNS];
				MemoryContext spi = MemoryContextSwitchTo(outer);

				for (int j = 0; j < ITEM_COLUMNS + c.nkeys; j++)
					raw[j] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, j + 1, &null[j]);
				StoreItem(att, &c, raw, null, key, raw + ITEM_COLUMNS, null + ITEM_COLUMNS,
						  filter, store, outdesc);
				MemoryContextSwitchTo(spi);
			}
			SPI_freetuptable(SPI_tuptable);
		}
		SPI_cursor_close(portal);
		SPI_finish();
	}
	PG_CATCH();
	{
		pgc_act_abandon(&act);
		PG_RE_THROW();
	}
	PG_END_TRY();
	pgc_act_done(&act);
	table_close(rel, NoLock);
}

/*
 * Every row of one attached table, or of one partition of it, read with
 * a plain table scan under the calling statement's snapshot.  No code of
 * the table owner's runs (no planner, no policies, no expressions): only
 * the built-in types' own functions, on the columns pgcredit accepts.
 */
static void
ScanOneTable(PgcAttachment *att, Relation rel, const ItemFilter *filter,
			 Tuplestorestate *store, TupleDesc outdesc)
{
	ItemColumns c;
	TableScanDesc scan;
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext, "pgcredit row",
												 ALLOCSET_SMALL_SIZES);
	MemoryContext old;

	FindItemColumns(att, rel, &c);
	if (outdesc != NULL && outdesc->natts > 11)
		FindItemKey(rel, &c);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		Datum		raw[ITEM_COLUMNS];
		bool		null[ITEM_COLUMNS];
		Datum		keys[ITEM_KEY_COLUMNS];
		bool		key_nulls[ITEM_KEY_COLUMNS];

		CHECK_FOR_INTERRUPTS();
		for (int j = 0; j < ITEM_COLUMNS; j++)
		{
			null[j] = true;
			raw[j] = (Datum) 0;
			if (c.att[j])
				raw[j] = slot_getattr(slot, c.att[j], &null[j]);
		}
		for (int j = 0; j < c.nkeys; j++)
			keys[j] = slot_getattr(slot, c.key_att[j], &key_nulls[j]);
		old = MemoryContextSwitchTo(rowcxt);
		StoreItem(att, &c, raw, null, NULL, keys, key_nulls, filter, store, outdesc);
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowcxt);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	MemoryContextDelete(rowcxt);
}

/*
 * Every row of an attached table: the table itself, or each leaf
 * partition of a partitioned one (locked as the table is).
 */
static void
ScanAttachedTable(PgcAttachment *att, LOCKMODE lockmode, const ItemFilter *filter,
				  Tuplestorestate *store, TupleDesc outdesc)
{
	Relation	rel;

	/*
	 * A table Citus distributes holds no rows here: they are in its shards on
	 * the workers, read with a statement Citus runs there, as the table's
	 * owner (doc/citus.md)
	 */
	if (IsCitusTable(att->relid))
	{
		ReadAttachedTable(att, NULL, lockmode, filter, store, outdesc);
		return;
	}
	rel = table_open(att->relid, lockmode);

	if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
	{
		List	   *parts = find_all_inheritors(att->relid, lockmode, NULL);
		ListCell   *lc;

		/* the partitions have the parent's columns: check them there */
		(void) pgc_attached_column(rel, att->customer_column, PGC_COL_CUSTOMER);
		foreach(lc, parts)
		{
			Relation	part;

			if (get_rel_relkind(lfirst_oid(lc)) != RELKIND_RELATION)
				continue;
			part = table_open(lfirst_oid(lc), NoLock);
			ScanOneTable(att, part, filter, store, outdesc);
			table_close(part, NoLock);
		}
	}
	else
		ScanOneTable(att, rel, filter, store, outdesc);
	table_close(rel, NoLock);
}

/*
 * SQL: pgcredit._attached_items(kind text, customer text, relid regclass,
 * lock_tables boolean): the rows of the attached tables, read as each
 * table's owner.  kind NULL reads orders and receivables; customer NULL
 * every customer; relid NULL every attached table; lock_tables takes a
 * SHARE lock on each table until the end of the transaction, holding its
 * writers while exposure is recomputed.
 */
Datum
pgc_attached_items(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *kind = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *key = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	Oid			only = PG_ARGISNULL(2) ? InvalidOid : PG_GETARG_OID(2);
	bool		lock = !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);
	ItemFilter	filter;
	List	   *atts;
	ListCell   *lc;

	/* _attached_items_keyed() only: the day the items must be open on */
	filter.open_on_set = PG_NARGS() > 4 && !PG_ARGISNULL(4);
	filter.open_on = filter.open_on_set ? PG_GETARG_DATEADT(4) : 0;
	filter.sink = NULL;
	filter.sink_arg = NULL;
	InitMaterializedSRF(fcinfo, 0);
	atts = ListAttachments(kind, only);

	/*
	 * One customer's rows go through an index lookup, as the table's owner;
	 * all rows through a plain heap scan, which runs no code of the owner's
	 */
	foreach(lc, atts)
	{
		if (key != NULL)
			ReadAttachedTable((PgcAttachment *) lfirst(lc), key,
							  lock ? ShareLock : AccessShareLock, &filter,
							  rsinfo->setResult, rsinfo->setDesc);
		else
			ScanAttachedTable((PgcAttachment *) lfirst(lc),
							  lock ? ShareLock : AccessShareLock, &filter,
							  rsinfo->setResult, rsinfo->setDesc);
	}
	return (Datum) 0;
}

/*
 * Every row of the attached tables of one kind ("orders", "receivables"),
 * as _attached_items() returns it (its first eleven columns), handed to
 * sink instead of a tuplestore: for C code that aggregates the rows as
 * they are read (receivable_book.c).  The tables are read as
 * _attached_items() reads them for every customer, with plain heap
 * scans that run no code of their owners'.
 */
void
pgc_scan_attached_items(const char *kind, PgcItemSink sink, void *arg)
{
	ItemFilter	filter;
	List	   *atts = ListAttachments(kind, InvalidOid);
	ListCell   *lc;

	filter.open_on_set = false;
	filter.open_on = 0;
	filter.sink = sink;
	filter.sink_arg = arg;
	foreach(lc, atts)
		ScanAttachedTable((PgcAttachment *) lfirst(lc), AccessShareLock, &filter, NULL, NULL);
}

/*
 * SQL: the same, from version 1.1 on, with one more column: counts_from,
 * the day an order beyond its table's horizon starts to count.  The rows
 * are built for the row type the SQL declaration gives, so the symbol of
 * 1.0 keeps returning its ten columns.
 */
Datum
pgc_attached_items_v2(PG_FUNCTION_ARGS)
{
	return pgc_attached_items(fcinfo);
}

/*
 * SQL: pgcredit._attached_items_keyed(), from version 1.1 on: the same
 * rows with a twelfth column, item_key, the row's primary key as a JSON
 * object (NULL for a table without one), for collections, which follow
 * each item; with a fifth argument, open_on, only the items open on that
 * day.  The other callers do not pay for building the keys.
 */
Datum
pgc_attached_items_v3(PG_FUNCTION_ARGS)
{
	return pgc_attached_items(fcinfo);
}

/* ----------------------------------------------------------------------
 * Changing attached tables
 * ----------------------------------------------------------------------
 */

/* Run one statement as the owner of rel; returns SPI's result code */
static int
RunAsOwner(Relation rel, const char *sql, int nargs, Oid *types, Datum *values,
		   bool read_only)
{
	PgcActAs	act;
	int			rc;

	pgc_act_as(&act, rel->rd_rel->relowner, true);
	PG_TRY();
	{
		rc = SPI_execute_with_args(sql, nargs, types, values, NULL, read_only, 0);
		if (rc < 0)
			elog(ERROR, "pgcredit: statement on \"%s\" failed: %s",
				 RelationGetRelationName(rel), SPI_result_code_string(rc));
	}
	PG_CATCH();
	{
		pgc_act_abandon(&act);
		PG_RE_THROW();
	}
	PG_END_TRY();
	pgc_act_done(&act);
	return rc;
}

/*
 * SQL: pgcredit._clear_hold_mark(tbl, row_key, customer, amount, currency,
 * rate_date) clears the hold mark of a held row, as the table's owner, if
 * the row still is what was held: the same customer and amount, still
 * marked held, and on a table with a currency column, the same currency
 * (NULL: the account's) and, for a row in a currency, the same rate date;
 * amount is then in the row's currency.  Returns 'released', 'gone' (no
 * row has the key) or 'changed'; NULL when any of the first four is NULL.
 * A database still at version 1.0 declares the first four only.
 */
Datum
pgc_clear_hold_mark(PG_FUNCTION_ARGS)
{
	Oid			relid;
	Jsonb	   *row_key;
	char	   *customer;
	Numeric		amount;
	char	   *currency = NULL;
	bool		has_rate_date = false;
	DateADT		rate_date = 0;
	PgcAttachment att;
	Relation	rel;
	Bitmapset  *pk;
	StringInfoData sql;
	const char *name;
	int			x = -1;
	bool		first = true;
	Oid			types[1] = {JSONBOID};
	Datum		values[1];
	AttrNumber	cust_att,
				amount_att,
				hold_att,
				prepaid_att = 0;
	Oid			cust_type,
				amount_type,
				prepaid_type = InvalidOid;
	const char *result;

	for (int i = 0; i < 4; i++)
		if (PG_ARGISNULL(i))
			PG_RETURN_NULL();
	relid = PG_GETARG_OID(0);
	row_key = PG_GETARG_JSONB_P(1);
	customer = text_to_cstring(PG_GETARG_TEXT_PP(2));
	amount = PG_GETARG_NUMERIC(3);
	if (PG_NARGS() >= 6)
	{
		if (!PG_ARGISNULL(4))
			currency = text_to_cstring(PG_GETARG_TEXT_PP(4));
		has_rate_date = !PG_ARGISNULL(5);
		if (has_rate_date)
			rate_date = PG_GETARG_DATEADT(5);
	}

	if (!pgc_attachment_find(relid, &att) || !att.hold_mode)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is not attached in hold mode", get_rel_name(relid))));

	rel = table_open(relid, RowExclusiveLock);
	name = QualifiedName(rel);
	cust_att = pgc_attached_column(rel, att.customer_column, PGC_COL_CUSTOMER);
	amount_att = pgc_attached_column(rel, att.amount_column, PGC_COL_AMOUNT);
	hold_att = pgc_attached_column(rel, att.hold_column, PGC_COL_HOLD);
	cust_type = TupleDescAttr(RelationGetDescr(rel), cust_att - 1)->atttypid;
	amount_type = TupleDescAttr(RelationGetDescr(rel), amount_att - 1)->atttypid;
	if (att.prepaid_column)
	{
		prepaid_att = pgc_attached_column(rel, att.prepaid_column, PGC_COL_AMOUNT);
		prepaid_type = TupleDescAttr(RelationGetDescr(rel), prepaid_att - 1)->atttypid;
	}

	/* the row by its primary key, compared with each key type's equality */
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT t.ctid, t.%s, t.%s, t.%s, %s%s, ",
					 quote_identifier(att.customer_column), quote_identifier(att.amount_column),
					 quote_identifier(att.hold_column), prepaid_att ? "t." : "",
					 prepaid_att ? quote_identifier(att.prepaid_column) : "NULL");
	/* the row's currency as text (char(n) loses its padding), its rate date */
	if (att.currency_column)
		appendStringInfo(&sql, "t.%s::pg_catalog.text, t.%s",
						 quote_identifier(att.currency_column), quote_identifier(att.rate_date_column));
	else
		appendStringInfoString(&sql, "NULL::pg_catalog.text, NULL::pg_catalog.date");
	appendStringInfo(&sql, " FROM ONLY %s t, pg_catalog.jsonb_populate_record(NULL::%s, $1) k WHERE ",
					 name, name);
	pk = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_PRIMARY_KEY);
	if (pk == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" has no primary key", RelationGetRelationName(rel))));
	while ((x = bms_next_member(pk, x)) >= 0)
	{
		AttrNumber	a = x + FirstLowInvalidHeapAttributeNumber;
		Form_pg_attribute f = TupleDescAttr(RelationGetDescr(rel), a - 1);
		TypeCacheEntry *tc = lookup_type_cache(f->atttypid, TYPECACHE_EQ_OPR);
		const char *col = quote_identifier(NameStr(f->attname));

		if (!OidIsValid(tc->eq_opr))
			elog(ERROR, "pgcredit: no equality operator for the key column \"%s\"", NameStr(f->attname));
		appendStringInfo(&sql, "%st.%s OPERATOR(%s.%s) k.%s", first ? "" : " AND ", col,
						 OperatorSchema(tc->eq_opr), get_opname(tc->eq_opr), col);
		first = false;
	}
	appendStringInfoString(&sql, " FOR UPDATE OF t");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pgcredit: SPI_connect failed");
	values[0] = JsonbPGetDatum(row_key);
	RunAsOwner(rel, sql.data, 1, types, values, false);
	if (SPI_processed == 0)
		result = "gone";
	else
	{
		HeapTuple	t = SPI_tuptable->vals[0];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		v;
		bool		same = true;
		ItemPointerData tid = *(ItemPointer) DatumGetPointer(SPI_getbinval(t, d, 1, &isnull));

		v = SPI_getbinval(t, d, 2, &isnull);
		same = !isnull && strcmp(pgc_customer_key(v, cust_type), customer) == 0;
		v = SPI_getbinval(t, d, 3, &isnull);
		if (same && !isnull)
		{
			/* the hold recorded the part of the order that uses credit */
			Numeric		held = DatumGetNumeric(pgc_amount_numeric(v, amount_type));
			bool		pnull;
			Datum		p = SPI_getbinval(t, d, 5, &pnull);

			if (prepaid_att)
				held = pgc_credit_part(held, p, pnull, prepaid_type);
			same = pgc_numeric_cmp(held, amount) == 0;
		}
		else
			same = false;
		v = SPI_getbinval(t, d, 4, &isnull);
		same = same && !isnull && DatumGetBool(v);
		/* in the currency it was held in, at the rate date it was held with */
		if (same)
		{
			bool		cnull;
			bool		dnull;
			Datum		c = SPI_getbinval(t, d, 6, &cnull);
			Datum		r = SPI_getbinval(t, d, 7, &dnull);

			if (currency == NULL)
				same = cnull;
			else
				same = !cnull && strcmp(TextDatumGetCString(c), currency) == 0 &&
					dnull == !has_rate_date &&
					(dnull || DatumGetDateADT(r) == rate_date);
		}
		if (!same)
			result = "changed";
		else
		{
			Oid			tidtype[1] = {TIDOID};
			Datum		tidval[1];

			tidval[0] = PointerGetDatum(&tid);
			resetStringInfo(&sql);
			appendStringInfo(&sql, "UPDATE ONLY %s SET %s = false WHERE ctid OPERATOR(pg_catalog.=) $1",
							 name, quote_identifier(att.hold_column));
			RunAsOwner(rel, sql.data, 1, tidtype, tidval, false);
			result = SPI_processed == 1 ? "released" : "changed";
		}
	}
	SPI_finish();
	table_close(rel, NoLock);
	(void) hold_att;
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

/*
 * SQL: pgcredit._table_triggers(tbl, install) creates (install true) or
 * drops pgcredit's triggers on an attached table, as the table's owner.
 * The triggers take no arguments: the guard reads pgcredit.attachment.
 */
/*
 * pgcredit's triggers on an attached table.  The guard's row trigger
 * keeps exposure; inserted rows are confirmed once stored, and what a
 * statement's rows never stored counted is taken out when the statement
 * ends (guard_pending.c); TRUNCATE recomputes exposure.
 */
typedef struct GuardTrigger
{
	const char *name;
	const char *when;
	const char *run;
} GuardTrigger;

static const GuardTrigger triggers[] = {
	{"zz_pgcredit_guard", "BEFORE INSERT OR UPDATE OR DELETE",
	"FOR EACH ROW EXECUTE FUNCTION pgcredit.exposure_trigger()"},
	{"zz_pgcredit_confirm", "AFTER INSERT",
	"FOR EACH ROW EXECUTE FUNCTION pgcredit.exposure_trigger()"},
	{"zz_pgcredit_insert_begin", "BEFORE INSERT",
	"FOR EACH STATEMENT EXECUTE FUNCTION pgcredit.exposure_trigger()"},
	{"zz_pgcredit_insert_end", "AFTER INSERT",
	"FOR EACH STATEMENT EXECUTE FUNCTION pgcredit.exposure_trigger()"},
	{"zz_pgcredit_truncate", "AFTER TRUNCATE",
	"FOR EACH STATEMENT EXECUTE FUNCTION pgcredit.exposure_truncate_trigger()"},
};

Datum
pgc_table_triggers(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	bool		install = PG_GETARG_BOOL(1);
	Relation	rel = table_open(relid, ShareRowExclusiveLock);
	char	   *name = QualifiedName(rel);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pgcredit: SPI_connect failed");
	for (int i = 0; i < lengthof(triggers); i++)
		RunAsOwner(rel, install ?
				   psprintf("CREATE TRIGGER %s %s ON %s %s", triggers[i].name, triggers[i].when,
							name, triggers[i].run) :
				   psprintf("DROP TRIGGER IF EXISTS %s ON %s", triggers[i].name, name),
				   0, NULL, NULL, false);
	SPI_finish();
	table_close(rel, NoLock);
	PG_RETURN_VOID();
}
