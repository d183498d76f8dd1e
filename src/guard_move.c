/*-------------------------------------------------------------------------
 *
 * guard_move.c
 *	  Following an UPDATE that moves a row to another partition.
 *
 * PostgreSQL carries out such an update as a delete from the old
 * partition and an insert into the new one, and fires the BEFORE UPDATE
 * row trigger on the old partition, then BEFORE DELETE there, then BEFORE
 * INSERT on the new one.  Counted naively the change would be applied
 * three times.  Instead:
 *
 *	- BEFORE UPDATE sees that the new row fails its partition's constraint,
 *	  so the row will leave: it applies nothing and remembers the row's old
 *	  contribution (pgc_move_begin);
 *	- BEFORE DELETE of that same row removes the old contribution as any
 *	  delete does, and notes that the move's insert comes next
 *	  (pgc_move_deleted);
 *	- BEFORE INSERT into a partition of the same table, in the same command,
 *	  adds the new contribution, and hands back the old one
 *	  (pgc_move_inserted) so that the guard checks it as the update it is:
 *	  only a raise of the customer's exposure is checked.
 *
 * If another trigger cancels the delete, nothing was applied; if it
 * cancels the insert, the row is gone and so is its contribution.  The
 * remembered move dies with its (sub)transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/partition.h"
#include "executor/executor.h"
#include "optimizer/optimizer.h"
#include "partitioning/partdesc.h"
#include "utils/datum.h"
#include "utils/memutils.h"
#include "utils/partcache.h"
#include "utils/rel.h"

#include "pgcredit.h"
#include "guard_move.h"

typedef enum MoveState
{
	MOVE_NONE,
	MOVE_EXPECT_DELETE,
	MOVE_EXPECT_INSERT
} MoveState;

typedef struct PendingMove
{
	MoveState	state;
	Oid			relid;			/* the partition the row leaves */
	ItemPointerData tid;
	Oid			root;
	CommandId	cid;			/* command counter after the delete's change */
	PgcMovedRow row;
} PendingMove;

static PendingMove pending;
static bool callbacks_registered = false;

static void
ForgetMove(XactEvent event, void *arg)
{
	pending.state = MOVE_NONE;
}

static void
ForgetMoveSub(SubXactEvent event, SubTransactionId mySubid,
			  SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		pending.state = MOVE_NONE;
}

static void
Prepare(PgcPartitionCheck *pc, MemoryContext mcxt, Relation rel)
{
	MemoryContext old;
	List	   *qual;

	if (pc->built)
		return;
	old = MemoryContextSwitchTo(mcxt);
	pc->check = NULL;
	pc->root = InvalidOid;
	if (rel->rd_rel->relispartition)
	{
		List	   *ancestors = get_partition_ancestors(RelationGetRelid(rel));

		pc->root = llast_oid(ancestors);
		qual = RelationGetPartitionQual(rel);
		if (qual != NIL)
		{
			qual = (List *) expression_planner((Expr *) qual);
			pc->check = ExecInitCheck(qual, NULL);
			pc->econtext = CreateStandaloneExprContext();
		}
	}
	MemoryContextSwitchTo(old);
	pc->built = true;
}

/* Whether an updated row fails its partition's constraint and will move */
bool
pgc_move_leaves(PgcPartitionCheck *pc, MemoryContext mcxt, Relation rel,
				TupleTableSlot *newslot)
{
	bool		fits;

	if (!rel->rd_rel->relispartition)
		return false;
	Prepare(pc, mcxt, rel);
	if (pc->check == NULL)
		return false;
	pc->econtext->ecxt_scantuple = newslot;
	fits = ExecCheck(pc->check, pc->econtext);
	ResetExprContext(pc->econtext);
	return !fits;
}

void
pgc_move_begin(PgcPartitionCheck *pc, Relation rel, ItemPointer tid,
			   const PgcMovedRow *row)
{
	MemoryContext old;

	if (!callbacks_registered)
	{
		RegisterXactCallback(ForgetMove, NULL);
		RegisterSubXactCallback(ForgetMoveSub, NULL);
		callbacks_registered = true;
	}
	old = MemoryContextSwitchTo(TopTransactionContext);
	pending.state = MOVE_EXPECT_DELETE;
	pending.relid = RelationGetRelid(rel);
	pending.tid = *tid;
	pending.root = pc->root;
	pending.row.counts = row->counts;
	pending.row.customer = row->counts ? pstrdup(row->customer) : NULL;
	pending.row.amount = row->counts ?
		(Numeric) DatumGetPointer(datumCopy(NumericGetDatum(row->amount), false, -1)) : NULL;
	pending.row.relid = RelationGetRelid(rel);
	pending.row.held_key = row->held_key ? pstrdup(row->held_key) : NULL;
	MemoryContextSwitchTo(old);
}

/* Whether a delete about to be applied is the first half of a move */
bool
pgc_move_expects_delete(Relation rel, ItemPointer tid)
{
	return pending.state == MOVE_EXPECT_DELETE &&
		pending.relid == RelationGetRelid(rel) &&
		ItemPointerEquals(&pending.tid, tid);
}

/*
 * Called after a delete's change of exposure has been applied; true when
 * the delete is the first half of a move.
 */
bool
pgc_move_deleted(Relation rel, ItemPointer tid)
{
	if (pending.state == MOVE_EXPECT_DELETE &&
		pending.relid == RelationGetRelid(rel) &&
		ItemPointerEquals(&pending.tid, tid))
	{
		pending.state = MOVE_EXPECT_INSERT;
		pending.cid = GetCurrentCommandId(false);
		return true;
	}
	return false;
}

bool
pgc_move_inserted(PgcPartitionCheck *pc, MemoryContext mcxt, Relation rel,
				  PgcMovedRow *row)
{
	bool		match;

	if (pending.state != MOVE_EXPECT_INSERT)
		return false;
	Prepare(pc, mcxt, rel);
	match = pc->root == pending.root && GetCurrentCommandId(false) == pending.cid;
	pending.state = MOVE_NONE;
	if (!match)
		return false;
	*row = pending.row;
	return true;
}
