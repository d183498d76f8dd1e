/*-------------------------------------------------------------------------
 *
 * guard_move.h
 *	  Following an UPDATE that moves a row to another partition
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCREDIT_GUARD_MOVE_H
#define PGCREDIT_GUARD_MOVE_H

#include "executor/tuptable.h"
#include "nodes/execnodes.h"
#include "utils/numeric.h"
#include "utils/relcache.h"

/* The partition constraint of one relation, prepared once per statement */
typedef struct PgcPartitionCheck
{
	bool		built;
	ExprState  *check;			/* NULL: not a partition, rows never leave */
	ExprContext *econtext;
	Oid			root;			/* the partitioned table at the top */
} PgcPartitionCheck;

extern bool pgc_move_leaves(PgcPartitionCheck *pc, MemoryContext mcxt,
							Relation rel, TupleTableSlot *newslot);

/* What a moving row was, for its insert half */
typedef struct PgcMovedRow
{
	bool		counts;			/* its old contribution */
	char	   *customer;
	Numeric		amount;
	Oid			relid;			/* the partition it left */
	char	   *held_key;		/* its primary key as JSON, when it was held */
} PgcMovedRow;

extern void pgc_move_begin(PgcPartitionCheck *pc, Relation rel, ItemPointer tid,
						   const PgcMovedRow *row);
extern bool pgc_move_expects_delete(Relation rel, ItemPointer tid);
extern bool pgc_move_deleted(Relation rel, ItemPointer tid);
extern bool pgc_move_inserted(PgcPartitionCheck *pc, MemoryContext mcxt, Relation rel,
							  PgcMovedRow *row);

#endif
