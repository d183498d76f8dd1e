/*-------------------------------------------------------------------------
 *
 * guard_exposure.h
 *	  Direct access to a customer's row of pgcredit.exposure
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCREDIT_GUARD_EXPOSURE_H
#define PGCREDIT_GUARD_EXPOSURE_H

#include "access/htup.h"
#include "utils/date.h"
#include "utils/numeric.h"
#include "utils/relcache.h"

/* credit groups nest at most this deep (pgcredit.create_group) */
#define PGC_MAX_GROUP_DEPTH 4

/* One group of a customer's chain after a change */
typedef struct PgcGroupRow
{
	char	   *group_id;
	Numeric		exposure;		/* the group's exposure after the change */
	Numeric		credit_limit;	/* NULL: no group limit */
	Numeric		tolerance;
} PgcGroupRow;

/* A customer's exposure row after a change, with the settings */
typedef struct PgcExposureRow
{
	Numeric		exposure;		/* receivables + open orders, after the change */
	Numeric		receivables;	/* the two parts of it, after the change */
	Numeric		open_orders;
	bool		has_account;
	Numeric		credit_limit;	/* NULL: no limit set */
	Numeric		tolerance;
	char	   *status;
	char	   *risk_tier;		/* NULL when none */
	bool		has_review;
	DateADT		next_review;
	Numeric		temporary_limit;	/* NULL when none */
	bool		has_temporary_from;
	DateADT		temporary_from;
	DateADT		temporary_until;
	int64		order_count;	/* orders counted before this change */
	Numeric		order_sum;
	char	   *policy;			/* settings: no_account_policy */
	Numeric		default_limit;	/* NULL when not set */
	Numeric		default_tolerance;
	bool		max_days_set;
	int32		max_days;
	bool		history;		/* settings: exposure_history */

	/*
	 * the cover copy (guard_cover.c): cover_counted from cover_from to
	 * cover_until
	 */
	bool		has_cover_copy; /* false in a database without it */
	Numeric		cover_counted;	/* NULL: none */
	bool		has_cover_from;
	DateADT		cover_from;
	bool		has_cover_until;
	DateADT		cover_until;
	int			ngroups;		/* the customer's group chain, top group first */
	PgcGroupRow groups[PGC_MAX_GROUP_DEPTH];
} PgcExposureRow;

extern bool pgc_exposure_add(const char *customer, Numeric d_receivables,
							 Numeric d_orders, int d_count, PgcExposureRow *out);
extern bool pgc_exposure_rule_columns(void);
extern bool pgc_exposure_touch_book(const char *customer);
extern void pgc_book_bumps_reset(void);
extern bool pgc_category_row_add(const char *customer, const char *category, Numeric delta,
								 Numeric *after);
extern void pgc_insert_index_entries(Relation rel, HeapTuple tup);

#endif
