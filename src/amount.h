/*-------------------------------------------------------------------------
 *
 * amount.h
 *	  Exact sums of numeric amounts, faster than numeric arithmetic.
 *
 * An amount is read straight from numeric's stored digits into a 64-bit
 * integer scaled by 10^dscale; sums are kept as 128-bit integers, each at
 * its own scale.  Amounts that do not fit (more than 16 decimal places, or
 * too large) and sums that would overflow fall back to numeric arithmetic,
 * so no input ever loses a digit.  Integer sums are associative, so results
 * do not depend on row order or on how a parallel plan splits the rows.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCREDIT_AMOUNT_H
#define PGCREDIT_AMOUNT_H

#include "lib/stringinfo.h"
#include "utils/numeric.h"

/* 10^n for n from 0 to 18 */
extern const int64 pgc_pow10_64[19];

/* Largest scale the integer path handles */
#define PGC_MAX_FAST_SCALE	16

/* One amount, as read from a numeric datum */
typedef struct PgcAmount
{
	Datum		datum;			/* the numeric itself, for the slow path */
	int			dscale;			/* its display scale */
	bool		fast;			/* true when val holds it */
	int64		val;			/* amount * 10^dscale */
} PgcAmount;

/* An exact running sum */
typedef struct PgcSum
{
	int128		fast;			/* integer part of the sum, scaled by 10^scale */
	int32		scale;
	Numeric		slow;			/* what did not fit, or NULL */
} PgcSum;

extern void pgc_amount_read(Datum d, PgcAmount *a, const char *what);
extern int	pgc_numeric_cmp(Numeric a, Numeric b);
extern int	pgc_numeric_sign(Numeric n);
extern char *pgc_numeric_text(Numeric n);
extern int	pgc_amount_sign(const PgcAmount *a);
extern double pgc_amount_double(const PgcAmount *a);

extern void pgc_sum_add_amount(PgcSum *s, const PgcAmount *a, int64 mult,
							   MemoryContext mcxt);
extern void pgc_sum_add_scaled(PgcSum *s, int128 v, int scale,
							   MemoryContext mcxt);
extern void pgc_sum_add_numeric(PgcSum *s, Numeric n, MemoryContext mcxt);
extern void pgc_sum_combine(PgcSum *dst, const PgcSum *src, MemoryContext mcxt);
extern int	pgc_sum_sign(const PgcSum *s);
extern Numeric pgc_sum_numeric(const PgcSum *s);
extern void pgc_send_int128(StringInfo buf, int128 v);
extern int128 pgc_recv_int128(StringInfo buf);
extern void pgc_sum_send(StringInfo buf, const PgcSum *s);
extern void pgc_sum_recv(StringInfo buf, PgcSum *s);
extern Numeric pgc_recv_numeric(StringInfo buf, int32 len, const char *what);

extern void pgc_check_finite(Numeric n, const char *name);
extern Numeric pgc_int128_numeric(int128 v, int scale);
extern Numeric pgc_numeric_div_round(Numeric num, Numeric den, int scale);
extern Numeric pgc_numeric_round(Numeric num, int scale);
extern Numeric pgc_numeric_negate(Numeric num);
extern Numeric pgc_limit_with_tolerance(Numeric limit, Numeric tolerance_pct);

/*
 * Add amount * mult to a sum, inline for the common case of an amount on
 * the integer path at the sum's scale; anything else goes through
 * pgc_sum_add_amount.
 */
static inline void
pgc_sum_add(PgcSum *s, const PgcAmount *a, int64 mult, MemoryContext mcxt)
{
	int128		r;

	if (likely(a->fast && a->dscale == s->scale) &&
		!__builtin_add_overflow(s->fast, (int128) a->val * mult, &r))
		s->fast = r;
	else
		pgc_sum_add_amount(s, a, mult, mcxt);
}

#endif							/* PGCREDIT_AMOUNT_H */
