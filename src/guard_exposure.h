/*-------------------------------------------------------------------------
 *
 * guard_exposure.h
 *	  Direct access to a customer's row of pgcredit.exposure
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCREDIT_GUARD_EXPOSURE_H
#define PGCREDIT_GUARD_EXPOSURE_H

#include "utils/numeric.h"

/* A customer's exposure row after a change, with the settings */
typedef struct PgcExposureRow
{
	Numeric		exposure;		/* receivables + open orders, after the change */
	bool		has_account;
	Numeric		credit_limit;	/* NULL: no limit set */
	Numeric		tolerance;
	char	   *status;
	char	   *policy;			/* settings: no_account_policy */
	Numeric		default_limit;	/* NULL when not set */
	Numeric		default_tolerance;
	bool		max_days_set;
	int32		max_days;
} PgcExposureRow;

extern bool pgc_exposure_add(const char *customer, Numeric d_receivables,
							 Numeric d_orders, PgcExposureRow *out);

#endif
