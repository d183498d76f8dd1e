/*-------------------------------------------------------------------------
 *
 * guard_pending.h
 *	  Inserted rows the guard has seen before they were stored
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCREDIT_GUARD_PENDING_H
#define PGCREDIT_GUARD_PENDING_H

#include "utils/numeric.h"

/* What the BEFORE INSERT trigger did for a row that may yet not be stored */
typedef enum PgcPendingKind
{
	PGC_PENDING_APPLIED,		/* its amount was added to exposure */
	PGC_PENDING_HELD,			/* held; its hold is recorded once stored */
	PGC_PENDING_CREDIT			/* a credit, to apply once stored */
} PgcPendingKind;

typedef struct PgcPending
{
	PgcPendingKind kind;
	Oid			relid;			/* the table or partition the row goes to */
	Oid			owner;			/* pgcredit's owner, who undoes it */
	bool		is_orders;
	char	   *customer;
	Numeric		amount;
	char	   *why;			/* held rows: why the row was held */
	void	   *trials;			/* shadow trials, recorded once stored */
	SubTransactionId subxid;
	struct PgcPending *next;
} PgcPending;

extern void pgc_pending_add(PgcPendingKind kind, Oid relid, Oid owner, bool is_orders,
							const char *customer, Numeric amount, const char *why,
							void *trials);
extern PgcPending *pgc_pending_take(PgcPendingKind kind, Oid relid, const char *customer,
									Numeric amount);
extern PgcPending *pgc_pending_take_all(void);
extern void pgc_pending_statement_start(void);
extern bool pgc_pending_statement_end(void);

#endif							/* PGCREDIT_GUARD_PENDING_H */
