/*-------------------------------------------------------------------------
 *
 * guard_dispute.h
 *	  The receivable items with an open dispute, kept in each backend
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCREDIT_GUARD_DISPUTE_H
#define PGCREDIT_GUARD_DISPUTE_H

extern bool pgc_disputes_open(void);
extern bool pgc_disputes_in(Oid relid);
extern bool pgc_disputed(Oid relid, const char *key_json);

#endif							/* PGCREDIT_GUARD_DISPUTE_H */
