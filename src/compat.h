/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  The one place where pgcredit adapts to PostgreSQL major versions.
 *
 * pgcredit is developed against PostgreSQL 15 and builds unchanged on
 * later releases; anything that differs between majors is wrapped here
 * behind PG_VERSION_NUM so the C files never test the version themselves.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCREDIT_COMPAT_H
#define PGCREDIT_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 150000
#error "pgcredit requires PostgreSQL 15 or later"
#endif

#endif							/* PGCREDIT_COMPAT_H */
