/*-------------------------------------------------------------------------
 *
 * agg_state.h
 *	  pgcredit.agg_state: aggregate states that can leave the node.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCREDIT_AGG_STATE_H
#define PGCREDIT_AGG_STATE_H

#include "fmgr.h"

/*
 * A family of states: what its aggregates keep, and the functions that
 * turn one into bytes and back (the parallel aggregate's serialize
 * (internal) -> bytea and deserialize (bytea, internal) -> internal,
 * which check every byte they read)
 */
typedef struct PgcStateFamily
{
	uint8		tag;			/* first byte of the flat form; never 0 */
	const char *name;
	PGFunction	serialize;
	PGFunction	deserialize;
} PgcStateFamily;

extern const PgcStateFamily pgc_amount_sum_family;
extern const PgcStateFamily pgc_aging_family;
extern const PgcStateFamily pgc_credit_score_family;
extern const PgcStateFamily pgc_hhi_family;
extern const PgcStateFamily pgc_top_share_family;
extern const PgcStateFamily pgc_dso_family;

extern Datum pgc_state_trans(FunctionCallInfo fcinfo, const PgcStateFamily *family,
							 PGFunction trans);
extern Datum pgc_state_combine(FunctionCallInfo fcinfo, const PgcStateFamily *family,
							   PGFunction combine);
extern Datum pgc_state_final(FunctionCallInfo fcinfo, const PgcStateFamily *family,
							 PGFunction final);

#endif							/* PGCREDIT_AGG_STATE_H */
