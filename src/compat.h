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

#include "lib/stringinfo.h"

/* A read-only StringInfo over existing bytes (initReadOnlyStringInfo in 17) */
static inline void
pgc_init_read_buffer(StringInfo buf, char *data, int len)
{
#if PG_VERSION_NUM >= 170000
	initReadOnlyStringInfo(buf, data, len);
#else
	buf->data = data;
	buf->len = len;
	buf->maxlen = len;
	buf->cursor = 0;
#endif
}

/* Exact money sums are kept in 128-bit integers */
#ifndef HAVE_INT128
#error "pgcredit requires a compiler with 128-bit integers (gcc or clang on a 64-bit platform)"
#endif

#endif							/* PGCREDIT_COMPAT_H */
