/*-------------------------------------------------------------------------
 *
 * guard_due.h
 *	  A customer's open receivables by due date (pgcredit.receivable_due)
 *	  and the disputed ones among them (pgcredit.dispute_due), kept and
 *	  read by the guard without an SQL statement
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCREDIT_GUARD_DUE_H
#define PGCREDIT_GUARD_DUE_H

#include "access/attnum.h"
#include "utils/date.h"
#include "utils/numeric.h"
#include "utils/snapshot.h"

extern bool pgc_due_available(void);
extern bool pgc_bucket_change(Oid table, Oid pkey, AttrNumber amount_att, AttrNumber items_att,
							  const char *customer, DateADT day, Numeric amount, int items);
extern void pgc_due_change(const char *customer, DateADT due, Numeric amount, int items);
extern void pgc_dispute_due_change(const char *customer, DateADT due, Numeric amount, int items);
extern void pgc_due_overdue(const char *customer, DateADT cutoff, Snapshot snap, bool disputes,
							bool *any, Numeric *sum);
extern DateADT pgc_due_cutoff(int32 days);

#endif							/* PGCREDIT_GUARD_DUE_H */
