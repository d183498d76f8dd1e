/*-------------------------------------------------------------------------
 *
 * guard_cover.c
 *	  The cover (guarantees, letters of credit, collateral, deposits and,
 *	  when the policy says so, credit insurance) counted on top of a
 *	  customer's limit, read from the copy on its exposure row.
 *
 * The cover functions (sql/install/cover.sql) copy onto the exposure row
 * the cover counted today, cover_counted, and the days around today over
 * which that sum stays the same, cover_from to cover_until: covers start
 * and end by date, so the copy holds only for those days.  An order on
 * one of them adds cover_counted to the limit without a query.  On any
 * other day (a cover started or ended since the copy was made, and no
 * one changed the customer's cover since) the copy says nothing: the
 * guard makes it again first, with one statement, under the row lock it
 * holds, and the orders after it read the new copy.  An expired cover is
 * never counted for want of a nightly job.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/date.h"
#include "utils/numeric.h"

#include "guard_cover.h"

/* Whether the copy on x says nothing about today: it must be made again */
bool
pgc_cover_stale(const PgcExposureRow *x, DateADT today)
{
	if (!x->has_cover_copy)
		return false;
	return (x->has_cover_from && today < x->cover_from) ||
		(x->has_cover_until && today > x->cover_until);
}

/*
 * The cover counted on top of the customer's limit today; NULL when none.
 * A copy that does not hold today counts nothing (the guard makes it
 * again before it judges; this is the safe side for any other reader).
 */
Numeric
pgc_cover_in_force(const PgcExposureRow *x, DateADT today)
{
	if (!x->has_cover_copy || x->cover_counted == NULL || pgc_cover_stale(x, today))
		return NULL;
	return x->cover_counted;
}

/* Put a copy made afresh on x */
void
pgc_cover_set(PgcExposureRow *x, Numeric counted, bool has_from, DateADT from,
			  bool has_until, DateADT until)
{
	x->has_cover_copy = true;
	x->cover_counted = counted;
	x->has_cover_from = has_from;
	x->cover_from = has_from ? from : 0;
	x->has_cover_until = has_until;
	x->cover_until = has_until ? until : 0;
}
