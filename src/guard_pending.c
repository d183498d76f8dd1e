/*-------------------------------------------------------------------------
 *
 * guard_pending.c
 *	  Inserted rows the guard has seen before they were stored.
 *
 * A BEFORE INSERT row trigger also fires for rows that are never stored:
 * INSERT ... ON CONFLICT DO NOTHING skips a row that conflicts, DO UPDATE
 * turns it into an update of the existing row (whose BEFORE UPDATE
 * trigger the guard handles as any update), and a later BEFORE trigger
 * may drop it.  So what the guard does for an inserted row is remembered
 * here until the row is known to be stored:
 *
 *	- a positive amount is added to exposure (and checked) at once, as it
 *	  must be for the check to serialise with other orders; an AFTER
 *	  INSERT row trigger confirms it once the row is stored, and whatever
 *	  is left unconfirmed when the statement ends is taken out again;
 *	- a held row's hold is recorded (with its alert) only once the row is
 *	  stored;
 *	- a credit (a negative amount) only lowers exposure once its row is
 *	  stored, in the AFTER INSERT row trigger: a credit that is never
 *	  stored can never make room for an order.
 *
 * Statement triggers count the INSERT statements in progress (one may run
 * inside another's triggers); when the outermost one ends, everything
 * left is undone.  A transaction that commits with entries left (rows
 * inserted straight into a partition, whose statement triggers are not
 * pgcredit's) undoes them before it commits.  An aborted (sub)transaction
 * forgets its entries: its changes of exposure are rolled back with it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/memutils.h"

#include "pgcredit.h"
#include "guard_pending.h"

/* The entries, oldest first, and the statements in progress */
static PgcPending *head = NULL;
static PgcPending *tail = NULL;

/* The INSERT statements in progress: the subtransaction each started in */
#define MAX_STATEMENTS 1024
static SubTransactionId statements[MAX_STATEMENTS];
static int	nstatements = 0;
static bool callbacks_registered = false;

/* A (sub)transaction abort forgets what it did */
static void
PendingXact(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_COMMIT || event == XACT_EVENT_PREPARE)
	{
		head = tail = NULL;		/* the memory goes with TopTransactionContext */
		nstatements = 0;
	}
}

static void
PendingSubXact(SubXactEvent event, SubTransactionId mySubid,
			   SubTransactionId parentSubid, void *arg)
{
	PgcPending *p;
	PgcPending *keep = NULL;
	PgcPending *last = NULL;

	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	for (p = head; p != NULL; p = p->next)
	{
		/* drop what the aborted subtransaction or one below it wrote */
		if (p->subxid >= mySubid)
			continue;
		if (last)
			last->next = p;
		else
			keep = p;
		last = p;
	}
	if (last)
		last->next = NULL;
	head = keep;
	tail = last;

	/*
	 * An error ends the statements it interrupted without their AFTER
	 * STATEMENT triggers.
	 */
	while (nstatements > 0 && statements[nstatements - 1] >= mySubid)
		nstatements--;
}

static void
Register(void)
{
	if (!callbacks_registered)
	{
		RegisterXactCallback(PendingXact, NULL);
		RegisterSubXactCallback(PendingSubXact, NULL);
		callbacks_registered = true;
	}
}

/* Remember what the BEFORE INSERT trigger did for a row */
void
pgc_pending_add(PgcPendingKind kind, Oid relid, Oid owner, bool is_orders,
				const char *customer, Numeric amount, const char *why,
				void *trials)
{
	MemoryContext old;
	PgcPending *p;

	Register();
	old = MemoryContextSwitchTo(TopTransactionContext);
	p = palloc0(sizeof(PgcPending));
	p->kind = kind;
	p->relid = relid;
	p->owner = owner;
	p->is_orders = is_orders;
	p->customer = pstrdup(customer);
	p->amount = (Numeric) DatumGetPointer(datumCopy(NumericGetDatum(amount), false, -1));
	p->why = why ? pstrdup(why) : NULL;
	p->trials = trials;			/* already in TopTransactionContext */
	p->subxid = GetCurrentSubTransactionId();
	if (tail)
		tail->next = p;
	else
		head = p;
	tail = p;
	MemoryContextSwitchTo(old);
}

/*
 * Take the oldest entry that a stored row confirms: same table, customer,
 * amount and kind (rows alike are interchangeable).  NULL when none does.
 */
PgcPending *
pgc_pending_take(PgcPendingKind kind, Oid relid, const char *customer, Numeric amount)
{
	PgcPending *prev = NULL;

	for (PgcPending *p = head; p != NULL; prev = p, p = p->next)
	{
		if (p->kind != kind || p->relid != relid || strcmp(p->customer, customer) != 0 ||
			pgc_numeric_cmp(p->amount, amount) != 0)
			continue;
		if (prev)
			prev->next = p->next;
		else
			head = p->next;
		if (tail == p)
			tail = prev;
		p->next = NULL;
		return p;
	}
	return NULL;
}

/* Take every entry left, oldest first */
PgcPending *
pgc_pending_take_all(void)
{
	PgcPending *all = head;

	head = tail = NULL;
	return all;
}

/* An INSERT statement on an attached table starts */
void
pgc_pending_statement_start(void)
{
	Register();
	if (nstatements >= MAX_STATEMENTS)
		ereport(ERROR,
				(errcode(ERRCODE_STATEMENT_TOO_COMPLEX),
				 errmsg("too many nested INSERT statements on attached tables"),
				 errdetail("pgcredit follows at most %d at once.", MAX_STATEMENTS)));
	statements[nstatements++] = GetCurrentSubTransactionId();
}

/* It ends: true when it was the outermost, and what is left is to undo */
bool
pgc_pending_statement_end(void)
{
	if (nstatements > 0)
		nstatements--;
	return nstatements == 0 && head != NULL;
}
