/*-------------------------------------------------------------------------
 *
 * guard_category.h
 *	  A customer's exposure per company category, kept by the guard beside
 *	  its exposure row, and the category sub-limits
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCREDIT_GUARD_CATEGORY_H
#define PGCREDIT_GUARD_CATEGORY_H

#include "executor/spi.h"
#include "utils/numeric.h"

#include "guard_rules.h"

/* A customer's exposure in one category and the sub-limit in force */
typedef struct PgcCategoryStanding
{
	Numeric		amount;			/* exposure in the category (with the order) */
	Numeric		credit_limit;	/* NULL: no sub-limit */
	Numeric		tolerance;
	Numeric		others;			/* built-in category: the company categories
								 * of its kind */
} PgcCategoryStanding;

/*
 * Run one of the guard's kept statements under its SPI connection, with
 * the latest snapshot.  Supplied by the guard (guard.c).
 */
extern void pgc_guard_run(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types,
						  Datum *values, bool read_only, int expect);

/* A statement prepared once a backend and kept (guard.c) */
extern SPIPlanPtr pgc_keep_plan(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types);

extern void pgc_category_add(const char *customer, const char *category, Numeric delta,
							 Numeric *after);
extern bool pgc_category_has_limits(const char *category);
extern bool pgc_category_sub_limit(const char *customer, const char *category,
								   const char *builtin_kind, PgcCategoryStanding *s);
extern void pgc_category_judge(const char *category, const PgcCategoryStanding *s,
							   Numeric delta, const PgcExposureRow *x, PgcVerdict *v);

#endif
