/*-------------------------------------------------------------------------
 *
 * agg_state.c
 *	  pgcredit.agg_state: aggregate states that can leave the node.
 *
 * An aggregate whose transition state is of type internal cannot be
 * split across nodes: Citus combines partial aggregates of the workers on
 * the coordinator only for a state of a real type, which it ships as text
 * (its output and input functions).  pgcredit's aggregates keep their
 * states in the C structures of each family (amount_sum.c, ...), so a
 * state of type agg_state is one of those structures wrapped in an
 * *expanded object*: while the aggregate runs, every transition gets the
 * same read-write pointer back and changes the structure in place, as it
 * did with internal; only when the state leaves the aggregate (to another
 * node, a parallel worker's tuple, its text form) is it flattened, by the
 * family's serialize function, to one tag byte and the serialized bytes.
 * A flat state given to a transition, combine or final function is read
 * back with the family's deserialize function, which checks every byte
 * (the input function accepts text from anyone).
 *
 * The expanded headers of one aggregate context live in one memory
 * context of their own, a child of the aggregate context (PostgreSQL
 * keeps a read-write expanded state without copying when its context is
 * such a child); a context per state, as PostgreSQL's expanded arrays
 * have, would cost a kilobyte a group.  No one deletes a state alone:
 * the executor deletes an expanded state only when a transition returns
 * another, which these never do.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/expandeddatum.h"
#include "utils/memutils.h"

#include "pgcredit.h"
#include "agg_state.h"

PG_FUNCTION_INFO_V1(pgc_agg_state_in);
PG_FUNCTION_INFO_V1(pgc_agg_state_out);
PG_FUNCTION_INFO_V1(pgc_agg_state_recv);
PG_FUNCTION_INFO_V1(pgc_agg_state_send);

extern Datum amount_sum_serialize(PG_FUNCTION_ARGS);
extern Datum amount_sum_deserialize(PG_FUNCTION_ARGS);
extern Datum aging_serialize(PG_FUNCTION_ARGS);
extern Datum aging_deserialize(PG_FUNCTION_ARGS);
extern Datum credit_score_serialize(PG_FUNCTION_ARGS);
extern Datum credit_score_deserialize(PG_FUNCTION_ARGS);
extern Datum hhi_serialize(PG_FUNCTION_ARGS);
extern Datum hhi_deserialize(PG_FUNCTION_ARGS);
extern Datum top_share_serialize(PG_FUNCTION_ARGS);
extern Datum top_share_deserialize(PG_FUNCTION_ARGS);
extern Datum dso_serialize(PG_FUNCTION_ARGS);
extern Datum dso_deserialize(PG_FUNCTION_ARGS);

const PgcStateFamily pgc_amount_sum_family = {1, "amount_sum", amount_sum_serialize,
amount_sum_deserialize};

const PgcStateFamily pgc_aging_family = {2, "aging", aging_serialize, aging_deserialize};

const PgcStateFamily pgc_credit_score_family = {3, "credit_score", credit_score_serialize,
credit_score_deserialize};

const PgcStateFamily pgc_hhi_family = {4, "concentration_hhi", hhi_serialize, hhi_deserialize};
const PgcStateFamily pgc_top_share_family = {5, "concentration_top_share", top_share_serialize,
top_share_deserialize};

const PgcStateFamily pgc_dso_family = {6, "dso", dso_serialize, dso_deserialize};

static const PgcStateFamily *const families[] = {&pgc_amount_sum_family, &pgc_aging_family,
&pgc_credit_score_family, &pgc_hhi_family, &pgc_top_share_family, &pgc_dso_family};

/* A family's state, expanded */
typedef struct ExpandedState
{
	ExpandedObjectHeader hdr;
	const PgcStateFamily *family;
	Datum		state;			/* the family's structure */
	bytea	   *flat;			/* its serialized bytes, while they hold */
} ExpandedState;

static Size StateFlatSize(ExpandedObjectHeader *eohptr);
static void StateFlatten(ExpandedObjectHeader *eohptr, void *result, Size allocated_size);

static const ExpandedObjectMethods state_methods = {StateFlatSize, StateFlatten};

/*
 * The context the expanded headers of an aggregate context live in: one
 * per aggregate context, forgotten when that context is reset
 */
typedef struct StateHome
{
	MemoryContext aggcxt;
	MemoryContext home;
	struct StateHome *next;
} StateHome;

static StateHome *homes = NULL;

static void
ForgetHome(void *arg)
{
	StateHome **p = &homes;

	while (*p != NULL)
	{
		if (*p == (StateHome *) arg)
		{
			StateHome  *gone = *p;

			*p = gone->next;
			pfree(gone);
			return;
		}
		p = &(*p)->next;
	}
}

static MemoryContext
HomeOf(MemoryContext aggcxt)
{
	StateHome  *h;
	MemoryContextCallback *cb;

	if (homes != NULL && homes->aggcxt == aggcxt)
		return homes->home;
	for (h = homes; h != NULL; h = h->next)
		if (h->aggcxt == aggcxt)
			return h->home;
	h = MemoryContextAlloc(TopMemoryContext, sizeof(StateHome));
	h->aggcxt = aggcxt;
	h->home = AllocSetContextCreate(aggcxt, "pgcredit aggregate states", ALLOCSET_DEFAULT_SIZES);
	h->next = homes;
	homes = h;
	/* reset or deleted with the aggregate context, it is forgotten */
	cb = MemoryContextAlloc(aggcxt, sizeof(MemoryContextCallback));
	cb->func = ForgetHome;
	cb->arg = h;
	MemoryContextRegisterResetCallback(aggcxt, cb);
	return h->home;
}

/* Call a family's serialize or deserialize as its aggregate would */
static Datum
CallInAgg(PGFunction fn, MemoryContext cxt, int nargs, Datum a0)
{
	PgcAggCall	call;

	LOCAL_FCINFO(fc, 2);
	Datum		result;

	memset(&call, 0, sizeof(call));
	call.node.type = T_ExtensibleNode;
	call.node.extnodename = PGC_AGG_CALL_NAME;
	call.cxt = cxt;
	InitFunctionCallInfoData(*fc, NULL, nargs, InvalidOid, (Node *) &call, NULL);
	fc->args[0].value = a0;
	fc->args[0].isnull = false;
	fc->args[1].value = (Datum) 0;
	fc->args[1].isnull = false;
	result = fn(fc);
	if (fc->isnull)
		elog(ERROR, "pgcredit: an aggregate state's function returned NULL");
	return result;
}

static const PgcStateFamily *
FamilyOfTag(uint8 tag)
{
	for (int i = 0; i < lengthof(families); i++)
		if (families[i]->tag == tag)
			return families[i];
	return NULL;
}

static ExpandedState *
NewState(const PgcStateFamily *family, MemoryContext aggcxt)
{
	MemoryContext home = HomeOf(aggcxt);
	ExpandedState *es = MemoryContextAllocZero(home, sizeof(ExpandedState));

	EOH_init_header(&es->hdr, &state_methods, home);
	es->family = family;
	return es;
}

/* The family's structure read from a flat state (tag byte, then its bytes) */
static Datum
StateFromFlat(const PgcStateFamily *family, const char *data, int len, MemoryContext cxt)
{
	bytea	   *payload;
	MemoryContext old;
	Datum		state;

	if (len < 1 || (uint8) data[0] != family->tag)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("aggregate state is not one of %s", family->name),
				 errdetail("It is of a family with tag %d; %s's tag is %d.",
						   len < 1 ? 0 : (int) (uint8) data[0], family->name, family->tag)));
	old = MemoryContextSwitchTo(cxt);
	payload = palloc(VARHDRSZ + len - 1);
	SET_VARSIZE(payload, VARHDRSZ + len - 1);
	memcpy(VARDATA(payload), data + 1, len - 1);
	state = CallInAgg(family->deserialize, cxt, 2, PointerGetDatum(payload));
	MemoryContextSwitchTo(old);
	return state;
}

/*
 * The expanded state behind datum d: itself when it is one (read-write or
 * read-only), else a new one in aggcxt read from its flat form
 */
static ExpandedState *
StateOf(Datum d, const PgcStateFamily *family, MemoryContext aggcxt)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);
	ExpandedState *es;

	if (VARATT_IS_EXTERNAL_EXPANDED(v))
	{
		es = (ExpandedState *) DatumGetEOHP(d);
		if (es->hdr.eoh_methods != &state_methods || es->family != family)
			elog(ERROR, "pgcredit: expanded datum is not a state of %s", family->name);
		return es;
	}
	v = PG_DETOAST_DATUM_PACKED(d);
	es = NewState(family, aggcxt);
	es->state = StateFromFlat(family, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), aggcxt);
	return es;
}

static Size
StateFlatSize(ExpandedObjectHeader *eohptr)
{
	ExpandedState *es = (ExpandedState *) eohptr;

	if (es->flat == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(es->hdr.eoh_context);

		es->flat = DatumGetByteaPP(CallInAgg(es->family->serialize, es->hdr.eoh_context, 1,
											 es->state));
		MemoryContextSwitchTo(old);
	}
	return VARHDRSZ + 1 + VARSIZE_ANY_EXHDR(es->flat);
}

static void
StateFlatten(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	ExpandedState *es = (ExpandedState *) eohptr;
	Size		len = VARSIZE_ANY_EXHDR(es->flat);

	Assert(allocated_size == VARHDRSZ + 1 + len);
	SET_VARSIZE(result, allocated_size);
	((uint8 *) VARDATA(result))[0] = es->family->tag;
	memcpy(VARDATA(result) + 1, VARDATA_ANY(es->flat), len);
}

/* ----------------------------------------------------------------------
 * The aggregates' support functions, around the families' own
 * ----------------------------------------------------------------------
 */

/*
 * A transition: the family's transition run on the structure behind
 * argument 0 (none on the first row), the same read-write state returned
 */
Datum
pgc_state_trans(FunctionCallInfo fcinfo, const PgcStateFamily *family, PGFunction trans)
{
	MemoryContext aggcxt = pgc_agg_context(fcinfo, family->name);
	ExpandedState *es = PG_ARGISNULL(0) ? NULL : StateOf(PG_GETARG_DATUM(0), family, aggcxt);
	Datum		state;

	fcinfo->args[0].value = es ? es->state : (Datum) 0;
	fcinfo->args[0].isnull = es == NULL;
	state = trans(fcinfo);
	if (fcinfo->isnull)
	{
		if (es != NULL)
			elog(ERROR, "pgcredit: %s's transition lost its state", family->name);
		PG_RETURN_NULL();
	}
	if (es == NULL)
		es = NewState(family, aggcxt);
	es->state = state;
	es->flat = NULL;
	return EOHPGetRWDatum(&es->hdr);
}

/* Two states combined into the first (either may be NULL or flat) */
Datum
pgc_state_combine(FunctionCallInfo fcinfo, const PgcStateFamily *family, PGFunction combine)
{
	MemoryContext aggcxt = pgc_agg_context(fcinfo, family->name);
	ExpandedState *s1 = PG_ARGISNULL(0) ? NULL : StateOf(PG_GETARG_DATUM(0), family, aggcxt);
	ExpandedState *s2 = PG_ARGISNULL(1) ? NULL : StateOf(PG_GETARG_DATUM(1), family, aggcxt);
	Datum		state;

	if (s2 == NULL)
	{
		if (s1 == NULL)
			PG_RETURN_NULL();
		return EOHPGetRWDatum(&s1->hdr);
	}
	fcinfo->args[0].value = s1 ? s1->state : (Datum) 0;
	fcinfo->args[0].isnull = s1 == NULL;
	fcinfo->args[1].value = s2->state;
	fcinfo->args[1].isnull = false;
	state = combine(fcinfo);
	if (fcinfo->isnull)
		elog(ERROR, "pgcredit: %s's combine lost its state", family->name);
	if (s1 == NULL)
		s1 = NewState(family, aggcxt);
	s1->state = state;
	s1->flat = NULL;
	return EOHPGetRWDatum(&s1->hdr);
}

/* The final function on the structure behind argument 0 */
Datum
pgc_state_final(FunctionCallInfo fcinfo, const PgcStateFamily *family, PGFunction final)
{
	MemoryContext aggcxt = pgc_agg_context(fcinfo, family->name);
	ExpandedState *es = PG_ARGISNULL(0) ? NULL : StateOf(PG_GETARG_DATUM(0), family, aggcxt);

	fcinfo->args[0].value = es ? es->state : (Datum) 0;
	fcinfo->args[0].isnull = es == NULL;
	return final(fcinfo);
}

/* ----------------------------------------------------------------------
 * The type's input and output: the tag and bytes as hexadecimal text
 * (\x then two digits a byte, as bytea prints), checked by reading the
 * state back on input
 * ----------------------------------------------------------------------
 */

/* A flat state checked: its family known and its bytes a state of it */
static bytea *
CheckedFlat(const char *data, int len)
{
	/* volatile: read in the error handler below, after a longjmp */
	const PgcStateFamily *volatile family = len >= 1 ? FamilyOfTag((uint8) data[0]) : NULL;
	MemoryContext volatile cxt;
	bytea	   *flat;

	if (family == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid aggregate state"),
				 errdetail(len < 1 ? "The state is empty." : "Its first byte names no family of pgcredit's aggregates.")));
	cxt = AllocSetContextCreate(CurrentMemoryContext, "pgcredit state check", ALLOCSET_SMALL_SIZES);
	PG_TRY();
	{
		(void) StateFromFlat(family, data, len, cxt);
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(cxt);
		e = CopyErrorData();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid aggregate state of %s", family->name),
				 e->detail ? errdetail("Reading it failed: %s: %s", e->message, e->detail) :
				 errdetail("Reading it failed: %s.", e->message)));
	}
	PG_END_TRY();
	MemoryContextDelete(cxt);
	flat = palloc(VARHDRSZ + len);
	SET_VARSIZE(flat, VARHDRSZ + len);
	memcpy(VARDATA(flat), data, len);
	return flat;
}

Datum
pgc_agg_state_in(PG_FUNCTION_ARGS)
{
	char	   *s = PG_GETARG_CSTRING(0);
	size_t		n = strlen(s);
	bytea	   *raw;

	if (n < 2 || s[0] != '\\' || s[1] != 'x' || (n - 2) % 2 != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type agg_state"),
				 errdetail("An aggregate state is written \\x and two hexadecimal digits a byte.")));
	raw = DatumGetByteaPP(DirectFunctionCall1(byteain, CStringGetDatum(s)));
	PG_RETURN_BYTEA_P(CheckedFlat(VARDATA_ANY(raw), VARSIZE_ANY_EXHDR(raw)));
}

Datum
pgc_agg_state_out(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(0));
	size_t		len = VARSIZE_ANY_EXHDR(v);
	const uint8 *p = (const uint8 *) VARDATA_ANY(v);
	char	   *out = palloc(3 + 2 * len);
	static const char hex[] = "0123456789abcdef";

	out[0] = '\\';
	out[1] = 'x';
	for (size_t i = 0; i < len; i++)
	{
		out[2 + 2 * i] = hex[p[i] >> 4];
		out[3 + 2 * i] = hex[p[i] & 15];
	}
	out[2 + 2 * len] = '\0';
	PG_RETURN_CSTRING(out);
}

Datum
pgc_agg_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			len = buf->len - buf->cursor;
	const char *data = pq_getmsgbytes(buf, len);

	PG_RETURN_BYTEA_P(CheckedFlat(data, len));
}

Datum
pgc_agg_state_send(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(0));
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}
