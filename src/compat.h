/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  The one place where pgcredit adapts to PostgreSQL major versions.
 *
 * pgcredit is developed against PostgreSQL 15 and builds unchanged on
 * later releases; anything that differs between majors is wrapped here
 * behind PG_VERSION_NUM so the C files never test the version themselves.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCREDIT_COMPAT_H
#define PGCREDIT_COMPAT_H

#if PG_VERSION_NUM < 150000
#error "pgcredit requires PostgreSQL 15 or later"
#endif

#include "access/genam.h"
#include "access/heapam.h"
#include "lib/stringinfo.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"
#include "utils/datetime.h"

/* A read-only StringInfo over existing bytes (initReadOnlyStringInfo in 17) */
static inline void
pgc_init_read_buffer(StringInfo buf, char *data, int len)
{
#if PG_VERSION_NUM >= 170000
	initReadOnlyStringInfo(buf, data, len);
#else
	buf->data = data;
	buf->len = len;
	buf->maxlen = len;
	buf->cursor = 0;
#endif
}

/* The module initialiser, which fmgr.h declares from 16 on */
#if PG_VERSION_NUM < 160000
extern PGDLLEXPORT void _PG_init(void);
#endif

/*
 * DecodeDateTime without raising for a bad field: 16 added the argument
 * that carries what the error message names.  A NULL tzp refuses a time
 * zone in the input instead of looking its name up.
 */
static inline int
pgc_decode_datetime(char **field, int *ftype, int nf, int *dtype,
					struct pg_tm *tm, fsec_t *fsec)
{
#if PG_VERSION_NUM >= 160000
	DateTimeErrorExtra extra;

	return DecodeDateTime(field, ftype, nf, dtype, tm, fsec, NULL, &extra);
#else
	return DecodeDateTime(field, ftype, nf, dtype, tm, fsec, NULL);
#endif
}

/* index_beginscan: 18 added the scan instrumentation argument */
static inline IndexScanDesc
pgc_index_beginscan(Relation heap, Relation index, Snapshot snapshot,
					int nkeys, int norderbys)
{
#if PG_VERSION_NUM >= 180000
	return index_beginscan(heap, index, snapshot, NULL, nkeys, norderbys);
#else
	return index_beginscan(heap, index, snapshot, nkeys, norderbys);
#endif
}

/* Which indexes a new row version written by pgc_heap_update needs entries in */
typedef enum PgcIndexUpdate
{
	PGC_INDEXES_NONE,			/* a heap-only tuple: none */
	PGC_INDEXES_ALL,
	PGC_INDEXES_SUMMARIZING		/* the summarizing ones only (16 on) */
} PgcIndexUpdate;

/*
 * heap_update, waiting for a concurrent writer and with no crosscheck
 * snapshot.  From 16 on heap_update says which indexes need entries; before,
 * a version that is not heap-only needs entries in all of them.
 */
static inline TM_Result
pgc_heap_update(Relation rel, ItemPointer otid, HeapTuple tup, CommandId cid,
				TM_FailureData *tmfd, LockTupleMode *lockmode,
				PgcIndexUpdate *indexes)
{
	TM_Result	res;
#if PG_VERSION_NUM >= 160000
	TU_UpdateIndexes update_indexes = TU_None;

	res = heap_update(rel, otid, tup, cid, InvalidSnapshot, true,
					  tmfd, lockmode, &update_indexes);
	if (update_indexes == TU_All)
		*indexes = PGC_INDEXES_ALL;
	else if (update_indexes == TU_Summarizing)
		*indexes = PGC_INDEXES_SUMMARIZING;
	else
		*indexes = PGC_INDEXES_NONE;
#else
	res = heap_update(rel, otid, tup, cid, InvalidSnapshot, true,
					  tmfd, lockmode);
	*indexes = HeapTupleIsHeapOnly(tup) ? PGC_INDEXES_NONE : PGC_INDEXES_ALL;
#endif
	return res;
}

/* Exact money sums are kept in 128-bit integers */
#ifndef HAVE_INT128
#error "pgcredit requires a compiler with 128-bit integers (gcc or clang on a 64-bit platform)"
#endif

/*
 * Pin a block through the buffer that held it last, without the buffer
 * mapping lookup, when that buffer holds it still (16 names the file by
 * RelFileLocator)
 */
static inline bool
pgc_read_recent_buffer(Relation rel, BlockNumber block, Buffer recent)
{
#if PG_VERSION_NUM >= 160000
	return ReadRecentBuffer(rel->rd_locator, MAIN_FORKNUM, block, recent);
#else
	return ReadRecentBuffer(rel->rd_node, MAIN_FORKNUM, block, recent);
#endif
}

/* The check of a page read under an old snapshot, gone in 17 */
static inline void
pgc_test_for_old_snapshot(Snapshot snap, Relation rel, Page page)
{
#if PG_VERSION_NUM < 170000
	TestForOldSnapshot(snap, rel, page);
#endif
}

#endif							/* PGCREDIT_COMPAT_H */
