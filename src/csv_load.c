/*-------------------------------------------------------------------------
 *
 * csv_load.c
 *	  pgcredit.load_csv(), load_csv_file(): load CSV exports into a table,
 *	  accounting for every row.
 *
 * The file is read with libcsv (csv_reader.c), record by record, in
 * pieces, so that memory stays bounded whatever its size.  The header is
 * matched to the table's columns; each field of a type the loader knows
 * (integers, numbers, dates, booleans, text) is checked and brought to
 * canonical form (csv_field.c), and a row with a bad field is rejected
 * with its line, column, raw value and reason, while the rows around it
 * go on.
 *
 * Good rows go to the table through PostgreSQL's own COPY machinery, in
 * batches, each inside a subtransaction: triggers (pgcredit's guard
 * included), constraints, defaults, indexes and partitions work as for
 * COPY.  When a batch fails on a row (a constraint, a refusal by a
 * trigger, a value the type's input function refuses), the batch is
 * rolled back and split in halves until the failing rows are alone; they
 * are rejected with PostgreSQL's message, the others load.  A clean file
 * thus costs one subtransaction per batch, and each bad row about
 * log2(batch) more COPY runs.
 *
 * Every row read is either loaded or rejected: the run is recorded in
 * pgcredit.import_run, its rejects in pgcredit.import_reject.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "commands/copy.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_relation.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"

#include "pgcredit.h"
#include "csv_field.h"
#include "csv_reader.h"

PG_FUNCTION_INFO_V1(load_csv_text);
PG_FUNCTION_INFO_V1(load_csv_bytea);
PG_FUNCTION_INFO_V1(load_csv_file);

/*
 * Rows sent to COPY at a time, and at most this many bytes of them: COPY
 * sets up its insert buffers for every batch, so batches are large; a
 * failing batch is split in halves, so a bad row costs about twice a batch.
 */
#define LOAD_BATCH_ROWS		32768
#define LOAD_BATCH_BYTES	(16 * 1024 * 1024)
/* Input read from a file at a time */
#define LOAD_CHUNK			65536
/* Longest raw value kept in a reject */
#define REJECT_RAW_MAX		1000

/* How the loader treats a column's values */
typedef enum FieldKind
{
	FK_TEXT,					/* taken as written */
	FK_INT16,
	FK_INT32,
	FK_INT64,
	FK_NUMBER,					/* numeric, real, double precision */
	FK_DATE,
	FK_BOOL,
	FK_OTHER					/* trimmed, left to the type's input function */
} FieldKind;

/* One target column fed from the file */
typedef struct LoadColumn
{
	int			field;			/* index of the file field */
	AttrNumber	attnum;
	char	   *name;
	FieldKind	kind;
	bool		notnull;
} LoadColumn;

/* The options of one load, checked */
typedef struct LoadOptions
{
	char		delimiter;		/* 0: detect */
	char		quote;
	bool		header;
	Jsonb	   *column_map;
	ArrayType  *columns;
	CsvDateStyle date_style;
	bool		decimal_comma;
	const char **true_words;
	const char **false_words;
	char	  **null_markers;
	int			n_null_markers;
	bool		all_or_nothing;
	int64		max_rejects;	/* -1: no limit */
	int			encoding;		/* of the bytes; -1 for text input */
	size_t		max_field;
} LoadOptions;

typedef struct LoadState
{
	Relation	rel;
	LoadOptions *opt;
	Oid			owner;			/* pgcredit's owner, for the bookkeeping */
	int64		run_id;

	/* the mapping, known after the header */
	bool		mapped;
	int			nfields;		/* fields a record must have */
	int			ncols;
	LoadColumn *cols;
	List	   *attnames;		/* for COPY */
	List	   *ignored;		/* header names that match no column */

	/* rows waiting for COPY, as COPY text lines */
	StringInfoData batch;
	int			batch_rows;
	int		   *row_start;		/* offset of each row in batch, plus the end */
	long	   *row_line;

	/* counts */
	int64		rows_read;
	int64		rows_loaded;
	int64		rows_rejected;
	bool		stopped;		/* max_rejects reached */

	/* rejects, until they are written */
	Tuplestorestate *rejects;
	TupleDesc	reject_desc;
	ResourceOwner rejects_owner;	/* owns their spill file, if any */

	MemoryContext rowcxt;		/* reset for every record */
	MemoryContext readercxt;	/* the reader's memory */
	StringInfoData scratch;
} LoadState;

/* The bytes COPY reads next; see ReadBatchForCopy() */
static const char *copy_src = NULL;
static size_t copy_left = 0;

static MemoryContext reader_cxt = NULL;

static void *
ReaderRealloc(void *p, size_t n)
{
	if (n > MaxAllocSize)
		return NULL;
	if (p == NULL)
		return MemoryContextAlloc(reader_cxt, n);
	return repalloc(p, n);
}

static void
ReaderFree(void *p)
{
	pfree(p);
}

/* ----------------------------------------------------------------------
 * Options
 * ----------------------------------------------------------------------
 */

static char
SingleByteOption(text *t, const char *name)
{
	char	   *s = text_to_cstring(t);

	if (strcmp(name, "delimiter") == 0 && strcmp(s, "\\t") == 0)
		return '\t';
	if (strlen(s) != 1 || (unsigned char) s[0] >= 0x80 || s[0] == '\n' || s[0] == '\r')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a single one-byte character", name),
				 errdetail("The %s given is \"%s\".", name, s),
				 errhint("For a tab, give E'\\t'.")));
	return s[0];
}

/* A text[] option as a NULL-terminated list of C strings */
static const char **
WordList(ArrayType *arr, const char *name, int *count)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	const char **words;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional array", name)));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	words = palloc0(sizeof(char *) * (n + 1));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain null", name)));
		words[i] = TextDatumGetCString(elems[i]);
	}
	if (count)
		*count = n;
	return words;
}

static const char *const default_true[] = {"true", "t", "yes", "y", "1", "on", NULL};
static const char *const default_false[] = {"false", "f", "no", "n", "0", "off", NULL};

/*
 * The options, from the arguments after the content: delimiter, quote,
 * header, column_map, columns, date_style, decimal_comma, true_words,
 * false_words, null_markers, all_or_nothing, max_rejects, encoding,
 * max_field_size.
 */
static LoadOptions *
ReadOptions(FunctionCallInfo fcinfo, bool bytes)
{
	LoadOptions *o = palloc0(sizeof(LoadOptions));
	int			a = 2;

#define ARG_NULL(i) PG_ARGISNULL(i)
	o->delimiter = ARG_NULL(a) ? 0 : SingleByteOption(PG_GETARG_TEXT_PP(a), "delimiter");
	a++;
	o->quote = ARG_NULL(a) ? '"' : SingleByteOption(PG_GETARG_TEXT_PP(a), "quote");
	a++;
	if (o->delimiter != 0 && o->delimiter == o->quote)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("delimiter and quote must differ")));
	o->header = ARG_NULL(a) ? true : PG_GETARG_BOOL(a);
	a++;
	o->column_map = ARG_NULL(a) ? NULL : PG_GETARG_JSONB_P(a);
	a++;
	o->columns = ARG_NULL(a) ? NULL : PG_GETARG_ARRAYTYPE_P(a);
	a++;
	if (ARG_NULL(a))
		o->date_style = CSV_DATE_ISO;
	else
	{
		char	   *s = text_to_cstring(PG_GETARG_TEXT_PP(a));

		if (pg_strcasecmp(s, "ISO") == 0 || pg_strcasecmp(s, "YMD") == 0)
			o->date_style = CSV_DATE_ISO;
		else if (pg_strcasecmp(s, "MDY") == 0 || pg_strcasecmp(s, "US") == 0)
			o->date_style = CSV_DATE_MDY;
		else if (pg_strcasecmp(s, "DMY") == 0 || pg_strcasecmp(s, "European") == 0)
			o->date_style = CSV_DATE_DMY;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid date_style \"%s\"", s),
					 errhint("The date styles are ISO (2013-01-31), MDY (1/31/2013) and DMY (31.1.2013 or 31/1/2013).")));
	}
	a++;
	o->decimal_comma = ARG_NULL(a) ? false : PG_GETARG_BOOL(a);
	a++;
	o->true_words = ARG_NULL(a) ? (const char **) default_true
		: WordList(PG_GETARG_ARRAYTYPE_P(a), "true_words", NULL);
	a++;
	o->false_words = ARG_NULL(a) ? (const char **) default_false
		: WordList(PG_GETARG_ARRAYTYPE_P(a), "false_words", NULL);
	a++;
	if (ARG_NULL(a))
	{
		o->null_markers = palloc0(sizeof(char *) * 2);
		o->null_markers[0] = "";
		o->n_null_markers = 1;
	}
	else
		o->null_markers = (char **) WordList(PG_GETARG_ARRAYTYPE_P(a), "null_markers",
											 &o->n_null_markers);
	a++;
	o->all_or_nothing = ARG_NULL(a) ? false : PG_GETARG_BOOL(a);
	a++;
	o->max_rejects = ARG_NULL(a) ? -1 : PG_GETARG_INT64(a);
	if (o->max_rejects < -1 || (!ARG_NULL(a) && o->max_rejects < 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_rejects must not be negative"),
				 errhint("NULL means no limit.")));
	a++;
	if (ARG_NULL(a))
		o->encoding = bytes ? PG_UTF8 : -1;
	else
	{
		char	   *s = text_to_cstring(PG_GETARG_TEXT_PP(a));

		if (!bytes)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("encoding applies to bytea content and files only"),
					 errdetail("Text content is already in the database encoding.")));
		o->encoding = pg_char_to_encoding(s);
		if (o->encoding < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid encoding \"%s\"", s)));
		if (!PG_VALID_BE_ENCODING(o->encoding) && o->encoding != PG_UTF8)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("encoding \"%s\" is not supported for CSV files", s),
					 errdetail("In this encoding a byte of a multibyte character can look like a delimiter or quote."),
					 errhint("Convert the file to UTF-8 first.")));
	}
	a++;
	if (ARG_NULL(a))
		o->max_field = 64 * 1024 * 1024;
	else
	{
		int64		m = PG_GETARG_INT64(a);

		if (m < 1 || m > (int64) (MaxAllocSize / 2))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("max_field_size must be between 1 and %zu bytes", MaxAllocSize / 2)));
		o->max_field = (size_t) m;
	}
#undef ARG_NULL
	return o;
}

/* ----------------------------------------------------------------------
 * The mapping of the file's fields to the table's columns
 * ----------------------------------------------------------------------
 */

/* A name as the header matching compares it: lower case letters and digits */
static char *
NormalName(const char *s, size_t len)
{
	char	   *out = palloc(len + 1);
	size_t		o = 0;

	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c >= 'A' && c <= 'Z')
			out[o++] = (char) (c - 'A' + 'a');
		else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80)
			out[o++] = (char) c;
	}
	out[o] = '\0';
	return out;
}

static FieldKind
KindOf(Oid type)
{
	switch (getBaseType(type))
	{
		case INT2OID:
			return FK_INT16;
		case INT4OID:
			return FK_INT32;
		case INT8OID:
			return FK_INT64;
		case NUMERICOID:
		case FLOAT4OID:
		case FLOAT8OID:
			return FK_NUMBER;
		case DATEOID:
			return FK_DATE;
		case BOOLOID:
			return FK_BOOL;
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case NAMEOID:
			return FK_TEXT;
		default:
			return FK_OTHER;
	}
}

/*
 * The attribute of the target named name, checked for loading; map_key is
 * the column_map key that names it, NULL when the columns option does
 */
static Form_pg_attribute
TargetColumn(LoadState *st, const char *name, const char *map_key)
{
	TupleDesc	desc = RelationGetDescr(st->rel);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || strcmp(NameStr(att->attname), name) != 0)
			continue;
		if (att->attgenerated)
			ereport(ERROR,
					(errcode(ERRCODE_GENERATED_ALWAYS),
					 errmsg("column \"%s\" of relation \"%s\" is a generated column",
							name, RelationGetRelationName(st->rel)),
					 map_key ?
					 errdetail("The column_map entry for \"%s\" names it.", map_key) :
					 errdetail("The columns option names it."),
					 errhint("Leave it out of the mapping; PostgreSQL computes it.")));
		return att;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("column \"%s\" of relation \"%s\" does not exist",
					name, RelationGetRelationName(st->rel)),
			 map_key ?
			 errdetail("The column_map entry for \"%s\" names it.", map_key) :
			 errdetail("The columns option names it.")));
	return NULL;
}

static void
AddColumn(LoadState *st, int field, Form_pg_attribute att)
{
	for (int i = 0; i < st->ncols; i++)
		if (st->cols[i].attnum == att->attnum)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_COLUMN),
					 errmsg("column \"%s\" is fed by two fields of the file",
							NameStr(att->attname)),
					 errdetail("Fields %d and %d both map to it.", st->cols[i].field + 1, field + 1),
					 errhint("Map one of them elsewhere with column_map, or list the columns.")));
	st->cols[st->ncols].field = field;
	st->cols[st->ncols].attnum = att->attnum;
	st->cols[st->ncols].name = pstrdup(NameStr(att->attname));
	st->cols[st->ncols].kind = KindOf(att->atttypid);
	st->cols[st->ncols].notnull = att->attnotnull;
	st->ncols++;
	st->attnames = lappend(st->attnames, makeString(st->cols[st->ncols - 1].name));
}

/* Look a header name up in column_map: the column it names, or NULL */
static char *
MappedName(LoadState *st, const char *header)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *want = NormalName(header, strlen(header));
	char	   *found = NULL;
	char	   *key = NULL;

	if (st->opt->column_map == NULL)
		return NULL;
	it = JsonbIteratorInit(&st->opt->column_map->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			key = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE && key != NULL)
		{
			if (strcmp(NormalName(key, strlen(key)), want) == 0)
			{
				if (v.type != jbvString)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("column_map must map header names to column names"),
							 errdetail("The value for \"%s\" is not a string.", key)));
				found = pnstrdup(v.val.string.val, v.val.string.len);
			}
			key = NULL;
		}
	}
	return found;
}

/*
 * Every column_map key must name a header field (a typo would load nothing
 * into it), and no two keys the same one (only one of them would count).
 */
static void
CheckMapKeys(LoadState *st, char **headers, int n)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	List	   *seen = NIL;

	if (st->opt->column_map == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(st->opt->column_map))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column_map must be a JSON object"),
				 errhint("For example '{\"Customer No\": \"customer\"}'.")));
	it = JsonbIteratorInit(&st->opt->column_map->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		bool		known = false;
		char	   *key;
		char	   *normal;
		ListCell   *lc;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		normal = NormalName(key, strlen(key));

		/* two keys for one header: MappedName would use one of them silently */
		foreach(lc, seen)
		{
			const char *other = lfirst(lc);

			if (strcmp(NormalName(other, strlen(other)), normal) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("column_map has two keys for the same header name"),
						 errdetail("The keys \"%s\" and \"%s\" are the same name once case and characters other than letters and digits are ignored, as header names are matched.",
								   other, key),
						 errhint("Keep one of them.")));
		}
		seen = lappend(seen, key);

		for (int i = 0; i < n && !known; i++)
			known = strcmp(normal, NormalName(headers[i], strlen(headers[i]))) == 0;
		if (!known)
		{
			StringInfoData names;

			initStringInfo(&names);
			for (int i = 0; i < n; i++)
				appendStringInfo(&names, "%s\"%s\"", i ? ", " : "", headers[i]);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column_map names \"%s\", which is not in the header", key),
					 errdetail("The header names %s.", names.data)));
		}
	}
}

/* Columns the file must feed: NOT NULL without a default */
static void
CheckRequired(LoadState *st)
{
	TupleDesc	desc = RelationGetDescr(st->rel);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		bool		fed = false;

		if (att->attisdropped || !att->attnotnull || att->atthasdef || att->attidentity ||
			att->attgenerated)
			continue;
		for (int c = 0; c < st->ncols && !fed; c++)
			fed = st->cols[c].attnum == att->attnum;
		if (!fed)
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("no field of the file feeds required column \"%s\" of relation \"%s\"",
							NameStr(att->attname), RelationGetRelationName(st->rel)),
					 errdetail("The column is NOT NULL and has no default."),
					 errhint("Name a field of the file after it, or map one to it with column_map.")));
	}
}

/* Build the mapping from the header record */
static void
MapHeader(LoadState *st, const CsvRecord *rec)
{
	char	  **headers = palloc(sizeof(char *) * Max(rec->nfields, 1));
	TupleDesc	desc = RelationGetDescr(st->rel);
	StringInfoData names;

	st->cols = palloc0(sizeof(LoadColumn) * Max(rec->nfields, 1));
	for (int i = 0; i < rec->nfields; i++)
	{
		headers[i] = pnstrdup(rec->fields[i].data, rec->fields[i].len);
		if (st->opt->encoding >= 0)
		{
			if (!pg_verify_mbstr(st->opt->encoding, headers[i], strlen(headers[i]), true))
				ereport(ERROR,
						(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
						 errmsg("the header of the CSV content is not valid in encoding \"%s\"",
								pg_encoding_to_char(st->opt->encoding)),
						 errhint("Give the file's encoding with the encoding option.")));
			headers[i] = pg_any_to_server(headers[i], strlen(headers[i]), st->opt->encoding);
		}
	}
	CheckMapKeys(st, headers, rec->nfields);

	for (int i = 0; i < rec->nfields; i++)
	{
		char	   *mapped = MappedName(st, headers[i]);
		char	   *want;
		bool		matched = false;

		if (mapped != NULL)
		{
			AddColumn(st, i, TargetColumn(st, mapped, headers[i]));
			continue;
		}
		want = NormalName(headers[i], strlen(headers[i]));
		for (int a = 0; a < desc->natts && !matched && want[0] != '\0'; a++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, a);

			if (att->attisdropped || att->attgenerated)
				continue;
			if (strcmp(NormalName(NameStr(att->attname), strlen(NameStr(att->attname))), want) == 0)
			{
				AddColumn(st, i, att);
				matched = true;
			}
		}
		if (!matched)
			st->ignored = lappend(st->ignored, headers[i]);
	}

	if (st->ncols == 0)
	{
		initStringInfo(&names);
		for (int i = 0; i < rec->nfields; i++)
			appendStringInfo(&names, "%s\"%s\"", i ? ", " : "", headers[i]);
		ereport(ERROR,
				(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
				 errmsg("no field of the CSV header matches a column of relation \"%s\"",
						RelationGetRelationName(st->rel)),
				 errdetail("The header names %s.", names.data),
				 errhint("Map header names to columns with column_map, for example '{\"Customer No\": \"customer\"}'.")));
	}
	st->nfields = rec->nfields;
}

/* The mapping without a header: the columns option, or every column in order */
static void
MapPositions(LoadState *st)
{
	TupleDesc	desc = RelationGetDescr(st->rel);

	if (st->opt->column_map != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column_map needs a header"),
				 errhint("Without a header, list the columns in the order of the fields with columns.")));
	if (st->opt->columns != NULL)
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n;

		deconstruct_array(st->opt->columns, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
		st->cols = palloc0(sizeof(LoadColumn) * Max(n, 1));
		for (int i = 0; i < n; i++)
			if (!nulls[i])
				AddColumn(st, i, TargetColumn(st, TextDatumGetCString(elems[i]), NULL));
		st->nfields = n;
	}
	else
	{
		st->cols = palloc0(sizeof(LoadColumn) * Max(desc->natts, 1));
		for (int a = 0; a < desc->natts; a++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, a);

			if (!att->attisdropped && !att->attgenerated)
				AddColumn(st, st->nfields++, att);
		}
	}
	if (st->ncols == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no column to load"),
				 errhint("List at least one column of the table in columns.")));
}

/* ----------------------------------------------------------------------
 * Rejects
 * ----------------------------------------------------------------------
 */

static void
Reject(LoadState *st, long line, const char *column, const char *raw, size_t rawlen,
	   const char *reason)
{
	Datum		values[4];
	bool		nulls[4] = {false, column == NULL, raw == NULL, false};
	MemoryContext old = MemoryContextSwitchTo(st->rowcxt);

	values[0] = Int64GetDatum(line);
	values[1] = column ? CStringGetTextDatum(column) : (Datum) 0;
	if (raw)
	{
		char	   *r = pnstrdup(raw, Min(rawlen, REJECT_RAW_MAX));

		/* the raw bytes may not be valid text: keep what can be shown */
		if (!pg_verify_mbstr(GetDatabaseEncoding(), r, strlen(r), true))
			r = "(not valid in the database encoding)";
		values[2] = CStringGetTextDatum(r);
	}
	values[3] = CStringGetTextDatum(reason);
	{
		/*
		 * A spill file must outlive the subtransactions of the load, which an
		 * all-or-nothing load rolls back: the function's owner keeps it.
		 */
		ResourceOwner save = CurrentResourceOwner;

		CurrentResourceOwner = st->rejects_owner;
		tuplestore_putvalues(st->rejects, st->reject_desc, values, nulls);
		CurrentResourceOwner = save;
	}
	MemoryContextSwitchTo(old);
	st->rows_rejected++;
	if (st->opt->max_rejects >= 0 && st->rows_rejected > st->opt->max_rejects)
		st->stopped = true;
}

/* A whole record as text, for a reject that concerns no single field */
static char *
RecordText(LoadState *st, const CsvRecord *rec)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < rec->nfields && buf.len < REJECT_RAW_MAX; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, st->opt->delimiter);
		appendBinaryStringInfo(&buf, rec->fields[i].data,
							   Min(rec->fields[i].len, REJECT_RAW_MAX));
	}
	return buf.data;
}

/* ----------------------------------------------------------------------
 * Rows into COPY text format
 * ----------------------------------------------------------------------
 */

static void
AppendEscaped(StringInfo buf, const char *s, size_t len)
{
	size_t		start = 0;

	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];
		const char *esc;

		switch (c)
		{
			case '\\':
				esc = "\\\\";
				break;
			case '\t':
				esc = "\\t";
				break;
			case '\n':
				esc = "\\n";
				break;
			case '\r':
				esc = "\\r";
				break;
			default:
				continue;
		}
		appendBinaryStringInfo(buf, s + start, i - start);
		appendStringInfoString(buf, esc);
		start = i + 1;
	}
	appendBinaryStringInfo(buf, s + start, len - start);
}

static bool
IsNullMarker(LoadState *st, const CsvField *f)
{
	for (int i = 0; i < st->opt->n_null_markers; i++)
	{
		const char *m = st->opt->null_markers[i];

		if (m[0] == '\0' ? f->bare_empty : (strlen(m) == f->len && memcmp(m, f->data, f->len) == 0))
			return true;
	}
	return false;
}

/*
 * Check one record and add it to the batch, or reject it.  Returns false
 * when the record was rejected.
 */
static bool
AddRecord(LoadState *st, const CsvRecord *rec)
{
	StringInfo	batch = &st->batch;
	int			start = batch->len;

	if (rec->nfields != st->nfields)
	{
		Reject(st, rec->line, NULL, RecordText(st, rec), SIZE_MAX,
			   psprintf(rec->last_line > rec->line
						? "expected %d fields, found %d (the record spans lines %ld to %ld: is a quote unbalanced?)"
						: "expected %d fields, found %d",
						st->nfields, rec->nfields, rec->line, rec->last_line));
		return false;
	}

	for (int c = 0; c < st->ncols; c++)
	{
		LoadColumn *col = &st->cols[c];
		const CsvField *f = &rec->fields[col->field];
		const char *s = f->data;
		size_t		len = f->len;
		const char *why = NULL;
		char	   *out;

		if (c > 0)
			appendStringInfoChar(batch, '\t');
		if (IsNullMarker(st, f))
		{
			if (col->notnull)
				why = "missing value for a required column";
			else
			{
				appendStringInfoString(batch, "\\N");
				continue;
			}
		}
		else if (csv_field_has_nul(s, len))
			why = "contains a NUL byte";
		else if (st->opt->encoding >= 0)
		{
			if (!pg_verify_mbstr(st->opt->encoding, s, (int) len, true))
				why = psprintf("not valid %s", pg_encoding_to_char(st->opt->encoding));
			else if (st->opt->encoding != GetDatabaseEncoding())
			{
				s = pg_any_to_server(s, (int) len, st->opt->encoding);
				len = strlen(s);
			}
		}

		if (why == NULL)
		{
			if (col->kind != FK_TEXT && col->kind != FK_OTHER)
				enlargeStringInfo(&st->scratch, (int) CSV_FIELD_OUT_SIZE(len));
			out = st->scratch.data;
			switch (col->kind)
			{
				case FK_TEXT:
					out = NULL;
					break;
				case FK_INT16:
					why = csv_field_integer(s, len, 16, out);
					break;
				case FK_INT32:
					why = csv_field_integer(s, len, 32, out);
					break;
				case FK_INT64:
					why = csv_field_integer(s, len, 64, out);
					break;
				case FK_NUMBER:
					why = csv_field_number(s, len, st->opt->decimal_comma, out);
					break;
				case FK_DATE:
					why = csv_field_date(s, len, st->opt->date_style, out);
					break;
				case FK_BOOL:
					why = csv_field_boolean(s, len, st->opt->true_words,
											st->opt->false_words, out);
					break;
				case FK_OTHER:
					while (len > 0 && (*s == ' ' || *s == '\t'))
						s++, len--;
					while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
						len--;
					out = NULL;
					break;
			}
			if (why == NULL)
			{
				if (out != NULL)
					appendStringInfoString(batch, out);
				else
					AppendEscaped(batch, s, len);
				continue;
			}
		}
		/* a bad field: the row goes no further */
		batch->len = start;
		batch->data[start] = '\0';
		Reject(st, rec->line, col->name, f->data, f->len, why);
		return false;
	}
	appendStringInfoChar(batch, '\n');
	st->row_line[st->batch_rows] = rec->line;
	st->row_start[st->batch_rows] = start;
	st->batch_rows++;
	st->row_start[st->batch_rows] = batch->len;
	return true;
}

/* ----------------------------------------------------------------------
 * Batches through COPY
 * ----------------------------------------------------------------------
 */

/* COPY's data source: the rows of the range being loaded */
static int
ReadBatchForCopy(void *outbuf, int minread, int maxread)
{
	size_t		n = Min((size_t) maxread, copy_left);

	memcpy(outbuf, copy_src, n);
	copy_src += n;
	copy_left -= n;
	return (int) n;
}

/* Run COPY over rows [from, to) of the batch */
static void
CopyRows(LoadState *st, int from, int to)
{
	ParseState *pstate = make_parsestate(NULL);
	CopyFromState cstate;
	List	   *options;

	addRangeTableEntryForRelation(pstate, st->rel, RowExclusiveLock, NULL, false, false);
	/* the rows are in the database encoding, whatever the client's is */
	options = list_make1(makeDefElem("encoding",
									 (Node *) makeString((char *) GetDatabaseEncodingName()), -1));
	copy_src = st->batch.data + st->row_start[from];
	copy_left = (size_t) (st->row_start[to] - st->row_start[from]);
	cstate = BeginCopyFrom(pstate, st->rel, NULL, NULL, false, ReadBatchForCopy, st->attnames, options);
	(void) CopyFrom(cstate);
	EndCopyFrom(cstate);
	free_parsestate(pstate);
}

/* Whether an error concerns the row (rejected) rather than the load (raised) */
static bool
RowLevelError(int sqlerrcode)
{
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_DATA_EXCEPTION:	/* class 22 */
		case ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION:	/* 23 */
		case ERRCODE_WITH_CHECK_OPTION_VIOLATION:	/* 44 */
		case ERRCODE_PLPGSQL_ERROR: /* P0: a trigger's RAISE */
		case MAKE_SQLSTATE('P', 'C', '0', '0', '0'):	/* pgcredit's guard */
			return true;
		default:
			return false;
	}
}

/* The column an error from COPY names in its context, or NULL */
static char *
ErrorColumn(ErrorData *edata)
{
	const char *p;
	const char *end;

	if (edata->column_name)
		return edata->column_name;
	if (edata->context == NULL || (p = strstr(edata->context, ", column ")) == NULL)
		return NULL;
	p += strlen(", column ");
	end = strchr(p, ':');
	return end ? pnstrdup(p, end - p) : NULL;
}

/* The text of column name in row i of the batch, unescaped, or the whole row */
static char *
RowValue(LoadState *st, int row, const char *name)
{
	const char *s = st->batch.data + st->row_start[row];
	int			len = st->row_start[row + 1] - st->row_start[row] - 1;
	int			want = -1;
	int			field = 0;
	StringInfoData out;

	for (int c = 0; name != NULL && c < st->ncols; c++)
		if (strcmp(st->cols[c].name, name) == 0)
			want = c;
	initStringInfo(&out);
	for (int i = 0; i < len; i++)
	{
		char		ch = s[i];

		if (ch == '\t')
		{
			field++;
			if (want < 0)
				appendStringInfoChar(&out, st->opt->delimiter);
			continue;
		}
		if (want >= 0 && field != want)
			continue;
		if (ch == '\\' && i + 1 < len)
		{
			char		n = s[++i];

			ch = n == 't' ? '\t' : n == 'n' ? '\n' : n == 'r' ? '\r' : n;
			if (n == 'N')
				continue;		/* NULL: shown as an empty field */
		}
		appendStringInfoChar(&out, ch);
	}
	return out.data;
}

/*
 * Load rows [from, to) in a subtransaction.  If it fails on a row, roll it
 * back and load the halves; a row failing alone is rejected.
 */
static void
LoadRange(LoadState *st, int from, int to)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	if (from >= to)
		return;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		CopyRows(st, from, to);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_END_TRY();

	if (edata == NULL)
	{
		st->rows_loaded += to - from;
		return;
	}
	if (!RowLevelError(edata->sqlerrcode))
		ReThrowError(edata);
	if (to - from == 1)
	{
		char	   *column = ErrorColumn(edata);

		Reject(st, st->row_line[from], column, RowValue(st, from, column), SIZE_MAX,
			   edata->message);
		return;
	}
	LoadRange(st, from, from + (to - from) / 2);
	LoadRange(st, from + (to - from) / 2, to);
}

static void
FlushBatch(LoadState *st)
{
	if (st->batch_rows > 0)
		LoadRange(st, 0, st->batch_rows);
	resetStringInfo(&st->batch);
	st->batch_rows = 0;
	st->row_start[0] = 0;
}

/* The reader's callback: one record of the file */
static bool
OnRecord(void *arg, const CsvRecord *rec)
{
	LoadState  *st = (LoadState *) arg;
	MemoryContext old;

	CHECK_FOR_INTERRUPTS();
	old = MemoryContextSwitchTo(st->rowcxt);
	if (!st->mapped)
	{
		MemoryContextSwitchTo(old);
		MapHeader(st, rec);
		CheckRequired(st);
		st->mapped = true;
		return true;
	}
	st->rows_read++;
	AddRecord(st, rec);
	MemoryContextSwitchTo(old);
	MemoryContextReset(st->rowcxt);
	if (st->batch_rows >= LOAD_BATCH_ROWS || st->batch.len >= LOAD_BATCH_BYTES)
		FlushBatch(st);
	return !st->stopped;
}

/* ----------------------------------------------------------------------
 * The run
 * ----------------------------------------------------------------------
 */

/*
 * Run a bookkeeping statement as pgcredit's owner, with the search path
 * fixed: the caller's search path and temporary objects play no part.
 */
static void
OwnerSpi(LoadState *st, const char *sql, int nargs, Oid *types, Datum *values,
		 const char *nulls, int expect)
{
	PgcActAs	act;

	pgc_act_as(&act, st->owner, true);
	PG_TRY();
	{
		if (SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0) != expect)
			elog(ERROR, "pgcredit: bookkeeping statement failed: %s", sql);
	}
	PG_CATCH();
	{
		pgc_act_abandon(&act);
		PG_RE_THROW();
	}
	PG_END_TRY();
	pgc_act_done(&act);
}

/* Check the target and the caller's right to insert into it */
static Relation
OpenTarget(Oid relid)
{
	Relation	rel = table_open(relid, RowExclusiveLock);
	char		kind = rel->rd_rel->relkind;
	AclResult	acl;

	if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE &&
		!(kind == RELKIND_VIEW && rel->trigdesc && rel->trigdesc->trig_insert_instead_row))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot load CSV into \"%s\"", RelationGetRelationName(rel)),
				 errdetail("Only tables, partitioned tables and views with an INSTEAD OF INSERT trigger can be loaded.")));
	acl = pg_class_aclcheck(relid, GetUserId(), ACL_INSERT);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, get_relkind_objtype(kind), RelationGetRelationName(rel));
	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot load CSV into \"%s\"", RelationGetRelationName(rel)),
				 errdetail("Row-level security is enabled for the table."),
				 errhint("Load as a role that bypasses row-level security, or into a table without it.")));
	return rel;
}

/* Write the rejects kept in the tuplestore to pgcredit.import_reject */
static void
WriteRejects(LoadState *st)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(st->reject_desc, &TTSOpsMinimalTuple);
	Oid			types[5] = {INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID};

	tuplestore_rescan(st->rejects);
	while (tuplestore_gettupleslot(st->rejects, true, false, slot))
	{
		Datum		values[5];
		char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
		bool		isnull;

		values[0] = Int64GetDatum(st->run_id);
		for (int i = 0; i < 4; i++)
		{
			values[i + 1] = slot_getattr(slot, i + 1, &isnull);
			if (isnull)
				nulls[i + 1] = 'n';
		}
		OwnerSpi(st, "INSERT INTO pgcredit.import_reject (run_id, line_number, column_name, raw_value, reason) "
				 "VALUES ($1, $2, $3, $4, $5)", 5, types, values, nulls, SPI_OK_INSERT);
		CHECK_FOR_INTERRUPTS();
	}
	ExecDropSingleTupleTableSlot(slot);
}

/* Where the content comes from */
typedef struct LoadSource
{
	const char *data;			/* content in memory, or NULL */
	size_t		len;
	const char *path;			/* or a server file, opened after the checks */
	FILE	   *file;
	const char *describe;		/* for import_run.source */
} LoadSource;

/* Read the next piece of the source into buf; its length, 0 at the end */
static size_t
NextPiece(LoadSource *src, size_t *pos, char *buf, const char **piece)
{
	if (src->path == NULL)
	{
		size_t		n = Min((size_t) LOAD_CHUNK, src->len - *pos);

		*piece = src->data + *pos;
		*pos += n;
		return n;
	}
	else
	{
		size_t		n = fread(buf, 1, LOAD_CHUNK, src->file);

		if (n == 0 && ferror(src->file))
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", src->describe)));
		*piece = buf;
		*pos += n;
		return n;
	}
}

/* The target must be given and exist, and the content be given */
static void
CheckArgs(FunctionCallInfo fcinfo, const char *what)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("target must not be null")));
	/* a regclass given as a number (0, or a dropped table's OID) */
	if (get_rel_name(PG_GETARG_OID(0)) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("target table does not exist"),
				 errdetail("No relation has OID %u.", PG_GETARG_OID(0)),
				 errhint("Name the target table, for example 'invoice' or 'ledger.invoice'.")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
}

/*
 * Check that a load may start here, open the target and the source, and
 * set up the load's state
 */
static LoadState *
BeginLoad(FunctionCallInfo fcinfo, LoadSource *src, LoadOptions *opt)
{
	LoadState  *st = palloc0(sizeof(LoadState));

	if (reader_cxt != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("load_csv cannot run inside another load_csv"),
				 errdetail("A trigger on the target table called it again.")));

	st->opt = opt;
	st->owner = pgc_function_owner(fcinfo->flinfo->fn_oid);
	st->rel = OpenTarget(PG_GETARG_OID(0));
	if (src->path != NULL)
	{
		src->file = AllocateFile(src->path, PG_BINARY_R);
		if (src->file == NULL)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not open file \"%s\" for reading: %m", src->path)));
	}
	st->rowcxt = AllocSetContextCreate(CurrentMemoryContext, "pgcredit load_csv row",
									   ALLOCSET_DEFAULT_SIZES);
	st->readercxt = AllocSetContextCreate(CurrentMemoryContext, "pgcredit load_csv reader",
										  ALLOCSET_DEFAULT_SIZES);
	initStringInfo(&st->batch);
	initStringInfo(&st->scratch);
	st->row_start = palloc(sizeof(int) * (LOAD_BATCH_ROWS + 1));
	st->row_line = palloc(sizeof(long) * LOAD_BATCH_ROWS);
	st->row_start[0] = 0;
	st->reject_desc = CreateTemplateTupleDesc(4);
	TupleDescInitEntry(st->reject_desc, 1, "line_number", INT8OID, -1, 0);
	TupleDescInitEntry(st->reject_desc, 2, "column_name", TEXTOID, -1, 0);
	TupleDescInitEntry(st->reject_desc, 3, "raw_value", TEXTOID, -1, 0);
	TupleDescInitEntry(st->reject_desc, 4, "reason", TEXTOID, -1, 0);
	st->rejects = tuplestore_begin_heap(false, false, work_mem);
	st->rejects_owner = CurrentResourceOwner;
	return st;
}

/*
 * Record the run in pgcredit.import_run before anything loads, so that the
 * record outlives an all-or-nothing rollback, and make its number the
 * transaction's pgcredit.import_run, for the target's triggers to read
 */
static void
RecordRunStart(LoadState *st, LoadSource *src)
{
	Oid			types[4] = {OIDOID, TEXTOID, BOOLOID, NAMEOID};
	Datum		values[4];
	bool		isnull;

	values[0] = ObjectIdGetDatum(RelationGetRelid(st->rel));
	values[1] = CStringGetTextDatum(src->describe);
	values[2] = BoolGetDatum(st->opt->all_or_nothing);
	values[3] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	OwnerSpi(st, "INSERT INTO pgcredit.import_run (target, source, all_or_nothing, status, run_by) "
			 "VALUES ($1, $2, $3, 'running', $4) RETURNING id", 4, types, values, NULL,
			 SPI_OK_INSERT_RETURNING);
	st->run_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_execute(psprintf("SELECT pg_catalog.set_config('pgcredit.import_run', '" INT64_FORMAT "', true)",
						 st->run_id), false, 0);
}

/*
 * Start the reader.  *piece is the first piece of content, *n its length,
 * both moved past a byte-order mark; piece is NULL when the content is
 * empty.  The delimiter, when not given, is guessed from the first piece.
 */
static void
StartReader(LoadState *st, CsvReader *reader, const char **piece, size_t *n)
{
	LoadOptions *opt = st->opt;

	if (piece != NULL)
	{
		size_t		bom = csv_bom_length(*piece, *n);

		*piece += bom;
		*n -= bom;
		if (opt->delimiter == 0)
			opt->delimiter = csv_detect_delimiter(*piece, *n, opt->quote);
	}
	else if (opt->delimiter == 0)
		opt->delimiter = ',';
	if (!csv_reader_init(reader, opt->delimiter, opt->quote, opt->max_field, OnRecord, st))
		elog(ERROR, "pgcredit: could not start the CSV parser");
}

/*
 * The reader stopped on an error: refuse the content, or for an unclosed
 * quote reject what was read into it as one bad record
 */
static void
ReaderFailed(LoadState *st, CsvReader *reader)
{
	if (reader->error == CSV_READER_UTF16)
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("the CSV content is UTF-16"),
				 errhint("Convert it to UTF-8 first.")));
	if (reader->error == CSV_READER_UNTERMINATED)
	{
		Reject(st, reader->error_line, NULL, NULL, 0,
			   "a quoted field in this record is never closed: the rest of the input was read into it");
		st->rows_read++;
	}
	else if (reader->error == CSV_READER_FIELD_TOO_LONG)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a field of the CSV content is longer than %zu bytes", st->opt->max_field),
				 errdetail("The record starts at line %ld.", reader->error_line),
				 errhint("Check for an unbalanced quote, or raise max_field_size.")));
	else
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while reading CSV content")));
}

/*
 * Read the content in pieces, record by record: OnRecord maps the header,
 * and checks, converts and batches every other record.  The last batch
 * loads at the end, whether the reader reached the end or was stopped.
 */
static void
ReadContent(LoadState *st, LoadSource *src)
{
	CsvReader	reader;
	char	   *buf = palloc(LOAD_CHUNK);
	const char *piece;
	size_t		pos = 0;
	size_t		n;
	bool		started = false;

	while ((n = NextPiece(src, &pos, buf, &piece)) > 0)
	{
		if (!started)
		{
			StartReader(st, &reader, &piece, &n);
			started = true;
		}
		if (!csv_reader_feed(&reader, piece, n))
			break;
	}
	if (!started)
		StartReader(st, &reader, NULL, NULL);
	if (!csv_reader_finish(&reader) && reader.error != CSV_READER_STOPPED)
		ReaderFailed(st, &reader);
	csv_reader_free(&reader);
	if (!st->mapped)
		ereport(ERROR,
				(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
				 errmsg("the CSV content is empty"),
				 errdetail("A header line was expected."),
				 errhint("Pass header => false for content without a header.")));
	/* rows read before a stop still load or are rejected: none is lost */
	FlushBatch(st);
}

/*
 * Read and load the content inside a subtransaction, which all_or_nothing
 * rolls back when a row was rejected; the run's status.  Returns in
 * outer_cxt, the memory context the load started in.
 */
static const char *
LoadContent(LoadState *st, LoadSource *src, MemoryContext outer_cxt)
{
	ResourceOwner outer_owner = CurrentResourceOwner;
	const char *status;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(outer_cxt);

	reader_cxt = st->readercxt;
	PG_TRY();
	{
		csv_reader_set_allocator(ReaderRealloc, ReaderFree);
		ReadContent(st, src);
		reader_cxt = NULL;
		csv_reader_set_allocator(realloc, free);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		reader_cxt = NULL;
		csv_reader_set_allocator(realloc, free);
		/* close the load's subtransaction before the error goes on */
		MemoryContextSwitchTo(outer_cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(outer_cxt);
		CurrentResourceOwner = outer_owner;
		ReThrowError(edata);
	}
	PG_END_TRY();

	if (st->opt->all_or_nothing && st->rows_rejected > 0)
	{
		RollbackAndReleaseCurrentSubTransaction();
		st->rows_loaded = 0;
		status = "rolled back";
	}
	else
	{
		ReleaseCurrentSubTransaction();
		status = st->stopped ? "stopped" : st->rows_rejected > 0 ? "partial" : "complete";
	}
	MemoryContextSwitchTo(outer_cxt);
	CurrentResourceOwner = outer_owner;
	return status;
}

/*
 * Record the run's outcome in pgcredit.import_run.  Returns the updated
 * row as load_csv's result, of type result_desc, allocated in result_cxt.
 */
static HeapTuple
RecordRunEnd(LoadState *st, const char *status, TupleDesc result_desc,
			 MemoryContext result_cxt)
{
	LoadOptions *opt = st->opt;
	Oid			types[8] = {INT8OID, TEXTOID, INT8OID, INT8OID, INT8OID, TEXTARRAYOID, TEXTOID, TEXTOID};
	Datum		values[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	Datum	   *ign = palloc(sizeof(Datum) * Max(list_length(st->ignored), 1));
	ListCell   *lc;
	int			k = 0;
	char		delim[2] = {opt->delimiter, '\0'};
	TupleDesc	spi_desc;
	Datum	   *rv;
	bool	   *rn;
	MemoryContext old;
	HeapTuple	result;

	foreach(lc, st->ignored)
		ign[k++] = CStringGetTextDatum((char *) lfirst(lc));
	values[0] = Int64GetDatum(st->run_id);
	values[1] = CStringGetTextDatum(status);
	values[2] = Int64GetDatum(st->rows_read);
	values[3] = Int64GetDatum(st->rows_loaded);
	values[4] = Int64GetDatum(st->rows_rejected);
	values[5] = PointerGetDatum(construct_array(ign, k, TEXTOID, -1, false, TYPALIGN_INT));
	values[6] = CStringGetTextDatum(delim);
	values[7] = CStringGetTextDatum(opt->encoding >= 0 ? pg_encoding_to_char(opt->encoding)
									: GetDatabaseEncodingName());
	OwnerSpi(st, "UPDATE pgcredit.import_run SET status = $2, rows_read = $3, rows_loaded = $4, "
			 "rows_rejected = $5, ignored_columns = $6, delimiter = $7, encoding = $8, "
			 "finished_at = pg_catalog.clock_timestamp() WHERE id = $1 RETURNING *",
			 8, types, values, nulls, SPI_OK_UPDATE_RETURNING);

	/* the row, as the function's declared type */
	spi_desc = SPI_tuptable->tupdesc;
	rv = palloc(sizeof(Datum) * spi_desc->natts);
	rn = palloc(sizeof(bool) * spi_desc->natts);
	if (spi_desc->natts != result_desc->natts)
		elog(ERROR, "pgcredit: import_run does not match load_csv's result type");
	heap_deform_tuple(SPI_tuptable->vals[0], spi_desc, rv, rn);
	old = MemoryContextSwitchTo(result_cxt);
	result_desc = BlessTupleDesc(result_desc);
	for (int i = 0; i < spi_desc->natts; i++)
		if (!rn[i])
			rv[i] = datumCopy(rv[i], TupleDescAttr(spi_desc, i)->attbyval,
							  TupleDescAttr(spi_desc, i)->attlen);
	result = heap_form_tuple(result_desc, rv, rn);
	MemoryContextSwitchTo(old);
	return result;
}

/* When rows were rejected, say how many and where to see why */
static void
ReportRejects(LoadState *st)
{
	if (st->rows_rejected == 0)
		return;
	ereport(NOTICE,
			(errmsg("%lld of %lld rows rejected", (long long) st->rows_rejected,
					(long long) st->rows_read),
			 st->opt->all_or_nothing ?
			 errdetail("Nothing was loaded (all_or_nothing).") :
			 st->stopped ?
			 errdetail("Loading stopped after max_rejects rejects.") :
			 errdetail("The other rows were loaded."),
			 errhint("SELECT * FROM pgcredit.import_reject WHERE run_id = %lld shows why.",
					 (long long) st->run_id)));
}

/*
 * One load: check the target, record the run, map the header (or the
 * columns given), read, convert and load the content, record the rejects
 * and the outcome.  Returns the import_run row.
 */
static Datum
RunLoad(FunctionCallInfo fcinfo, LoadSource *src, bool bytes)
{
	LoadOptions *opt = ReadOptions(fcinfo, bytes);
	MemoryContext outer_cxt = CurrentMemoryContext;
	TupleDesc	result_desc;
	LoadState  *st;
	const char *status;
	HeapTuple	result;

	if (get_call_result_type(fcinfo, NULL, &result_desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "pgcredit: load_csv must return a composite type");
	st = BeginLoad(fcinfo, src, opt);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pgcredit: SPI_connect failed");
	RecordRunStart(st, src);
	if (!opt->header)
	{
		MapPositions(st);
		CheckRequired(st);
		st->mapped = true;
	}
	status = LoadContent(st, src, outer_cxt);
	WriteRejects(st);
	result = RecordRunEnd(st, status, result_desc, outer_cxt);
	ReportRejects(st);
	SPI_finish();
	tuplestore_end(st->rejects);
	table_close(st->rel, NoLock);
	return HeapTupleGetDatum(result);
}

/*
 * Load content passed as an argument: text (already in the database
 * encoding) or bytea (bytes in the encoding option's encoding).
 */
static Datum
LoadArgument(FunctionCallInfo fcinfo, bool bytes)
{
	struct varlena *content;
	LoadSource	src = {0};

	CheckArgs(fcinfo, "content");
	content = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(1));
	src.data = VARDATA_ANY(content);
	src.len = VARSIZE_ANY_EXHDR(content);
	src.describe = bytes ? "bytea" : "text";
	return RunLoad(fcinfo, &src, bytes);
}

/* load_csv(target regclass, content text, ...) */
Datum
load_csv_text(PG_FUNCTION_ARGS)
{
	return LoadArgument(fcinfo, false);
}

/* load_csv(target regclass, content bytea, ...) */
Datum
load_csv_bytea(PG_FUNCTION_ARGS)
{
	return LoadArgument(fcinfo, true);
}

/* load_csv_file(target regclass, path text, ...): a file on the server */
Datum
load_csv_file(PG_FUNCTION_ARGS)
{
	char	   *path;
	LoadSource	src = {0};
	Datum		result;

	CheckArgs(fcinfo, "path");
	path = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to load CSV from a server file"),
				 errdetail("Only roles with privileges of the \"pg_read_server_files\" role may read files on the server."),
				 errhint("Pass the content instead, with pgcredit.load_csv().")));
	src.path = path;
	src.describe = psprintf("file %s", path);
	result = RunLoad(fcinfo, &src, true);
	FreeFile(src.file);
	return result;
}
