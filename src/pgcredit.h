/*-------------------------------------------------------------------------
 *
 * pgcredit.h
 *	  Declarations shared by the pgcredit C sources.
 *
 * Everything that depends on the PostgreSQL major version lives in
 * compat.h; this header holds pgcredit's own limits and the input-checking
 * helpers that every SQL entry point uses, so that each kind of bad input
 * is refused with the same message wherever it arrives.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCREDIT_H
#define PGCREDIT_H

#include "access/tupdesc.h"
#include "fmgr.h"
#include "nodes/extensible.h"
#include "utils/array.h"
#include "utils/date.h"

#include "compat.h"
#include "amount.h"

/* Longest customer key pgcredit keeps (its B-tree indexes take ~2700 bytes) */
#define PGC_MAX_CUSTOMER_KEY	1000

/* Aging bands: at most this many bounds, so at most this + 2 labels */
#define PGC_MAX_AGING_BOUNDS	12
#define PGC_MAX_AGING_BANDS		(PGC_MAX_AGING_BOUNDS + 2)

/* Longest band label: "current" or two int32 values around a dash */
#define PGC_MAX_LABEL_LEN		32

/*
 * Parsed aging bounds: the upper day count of each overdue band, with
 * precomputed labels.  Band 0 is "current", band i (1..nbounds) covers
 * (bounds[i-2], bounds[i-1]] days past due, and band nbounds + 1 is
 * everything beyond the last bound.
 */
typedef struct PgcAgingBounds
{
	int			nbounds;
	int32		bounds[PGC_MAX_AGING_BOUNDS];
	char		labels[PGC_MAX_AGING_BANDS][PGC_MAX_LABEL_LEN];
} PgcAgingBounds;

/*
 * The context pgcredit's own C code passes when it runs the transition
 * functions of its aggregates itself, outside an Agg node
 * (receivable_book.c): the memory context the states live in.  SQL
 * cannot pass it, as no SQL value is such a node.
 */
#define PGC_AGG_CALL_NAME	"pgcredit agg call"
typedef struct PgcAggCall
{
	ExtensibleNode node;		/* extnodename PGC_AGG_CALL_NAME */
	MemoryContext cxt;
} PgcAggCall;

/* The aggregate memory context, or an error when not called as an aggregate */
static inline MemoryContext
pgc_agg_context(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext aggcxt;

	if (fcinfo->context && IsA(fcinfo->context, ExtensibleNode) &&
		strcmp(((ExtensibleNode *) fcinfo->context)->extnodename, PGC_AGG_CALL_NAME) == 0)
		return ((PgcAggCall *) fcinfo->context)->cxt;
	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "%s called in non-aggregate context", fname);
	return aggcxt;
}

/* dso.c: a state's receivables, the part not yet due, and its sales */
extern void pgc_dso_state_sums(Datum state, Numeric *receivables, Numeric *not_due,
							   Numeric *sales);

/* aging_agg.c: a state's amount per band, its total and overdue percentage */
extern void pgc_aging_state_figures(Datum state, Numeric *bands, Numeric *total,
									Numeric *overdue_pct);

/*
 * The identity pgcredit code acts as around statements of its own or on a
 * company's table: saved by pgc_act_as(), restored by pgc_act_done().
 */
typedef struct PgcActAs
{
	Oid			userid;
	int			sec_context;
	int			guc_nest;		/* -1 while the search path is not fixed */
} PgcActAs;

/* The search path of every statement pgcredit's C code runs */
#define PGC_SEARCH_PATH		"pg_catalog, pg_temp"

/* pgcredit.c */
extern TupleDesc pgc_result_tupdesc(FunctionCallInfo fcinfo);

/*
 * pgcredit.c: one relcache invalidation callback for the whole module,
 * which calls each of its caches' callbacks.  PostgreSQL has ten slots
 * for such callbacks in a backend, shared by every loaded library; a
 * slot each would leave too few for others (Citus takes some).
 */
typedef void (*PgcRelcacheCallback) (Datum arg, Oid relid);
extern void pgc_register_relcache_callback(PgcRelcacheCallback fn, Datum arg);

/*
 * pgcredit.c: whether Citus is installed in this database (its catalog
 * pg_dist_partition exists; a syscache lookup)
 */
extern bool pgc_citus_installed(void);

/* customer_filter.c: customer filters reach per-customer functions */
extern bool pgc_customer_filter_pushdown;
extern void pgc_customer_filter_init(void);

extern Oid	pgc_function_owner(Oid fn_oid);
extern void pgc_act_as(PgcActAs *save, Oid role, bool restricted);
extern void pgc_act_as_lazily(PgcActAs *save, Oid role, bool restricted);
extern void pgc_act_fix_path(PgcActAs *save);
extern void pgc_act_done(PgcActAs *save);
extern void pgc_act_abandon(PgcActAs *save);

/* aging_band.c */
extern void pgc_parse_aging_bounds(ArrayType *arr, PgcAgingBounds *out);
extern void pgc_default_aging_bounds(PgcAgingBounds *out);
extern void pgc_aging_build_labels(PgcAgingBounds *b);
extern bool pgc_aging_bounds_equal(const PgcAgingBounds *a, const PgcAgingBounds *b);
extern int	pgc_aging_band(const PgcAgingBounds *b, DateADT due, DateADT as_of);

#endif							/* PGCREDIT_H */
