/*-------------------------------------------------------------------------
 *
 * guard_horizon.h
 *	  Orders beyond the horizon (pgcredit.order_horizon): orders delivered
 *	  further ahead than their table's horizon_days, kept out of exposure
 *	  by the day they start to count
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCREDIT_GUARD_HORIZON_H
#define PGCREDIT_GUARD_HORIZON_H

#include "utils/date.h"
#include "utils/numeric.h"

extern DateADT pgc_horizon_day(void);
extern bool pgc_horizon_beyond(DateADT delivery, int32 horizon_days, DateADT *counts_from);
extern bool pgc_horizon_change(const char *customer, DateADT counts_from, Numeric amount, int items);

/* pgcredit.horizon_today (pgcredit.c): a superuser's stand-in for today */
extern bool pgc_horizon_today_set;
extern DateADT pgc_horizon_today_value;

#endif							/* PGCREDIT_GUARD_HORIZON_H */
