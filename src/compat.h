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
#include "utils/datetime.h"

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

/* The module initialiser, which fmgr.h declares from 16 on */
#if PG_VERSION_NUM < 160000
extern PGDLLEXPORT void _PG_init(void);
#endif

/*
 * DecodeDateTime without raising for a bad field: 16 added the argument
 * that carries what the error message names.  A NULL tzp refuses a time
 * zone in the input instead of looking its name up.
 */
static inline int
pgc_decode_datetime(char **field, int *ftype, int nf, int *dtype,
					struct pg_tm *tm, fsec_t *fsec)
{
#if PG_VERSION_NUM >= 160000
	DateTimeErrorExtra extra;

	return DecodeDateTime(field, ftype, nf, dtype, tm, fsec, NULL, &extra);
#else
	return DecodeDateTime(field, ftype, nf, dtype, tm, fsec, NULL);
#endif
}

/* Exact money sums are kept in 128-bit integers */
#ifndef HAVE_INT128
#error "pgcredit requires a compiler with 128-bit integers (gcc or clang on a 64-bit platform)"
#endif

#endif							/* PGCREDIT_COMPAT_H */
