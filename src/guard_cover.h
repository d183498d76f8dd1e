/*-------------------------------------------------------------------------
 *
 * guard_cover.h
 *	  The cover counted towards a customer's limit, from the copy on its
 *	  exposure row
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCREDIT_GUARD_COVER_H
#define PGCREDIT_GUARD_COVER_H

#include "guard_exposure.h"

extern bool pgc_cover_stale(const PgcExposureRow *x, DateADT today);
extern Numeric pgc_cover_in_force(const PgcExposureRow *x, DateADT today);
extern void pgc_cover_set(PgcExposureRow *x, Numeric counted, bool has_from, DateADT from,
						  bool has_until, DateADT until);

#endif
