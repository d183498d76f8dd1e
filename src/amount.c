/*-------------------------------------------------------------------------
 *
 * amount.c
 *	  Exact sums of numeric amounts on 128-bit integers.
 *
 * Amounts are read from numeric's stored form (a header and base-10000
 * digits, unchanged on disk since PostgreSQL 14) without going through
 * numeric arithmetic: an amount with at most PGC_MAX_FAST_SCALE decimals
 * and fewer than 18 significant digits becomes an int64 scaled by
 * 10^dscale.  Anything else takes the slow path through numeric, so no
 * amount is ever refused for its size or precision, only NaN and infinity.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

#include "pgcredit.h"
#include "amount.h"

/* Stored numeric header bits */
#define NUM_FLAGS_MASK			0xC000
#define NUM_NEG					0x4000
#define NUM_SHORT				0x8000
#define NUM_SPECIAL				0xC000
#define NUM_NAN					0xC000
#define NUM_SHORT_NEG			0x2000
#define NUM_SHORT_DSCALE_MASK	0x1F80
#define NUM_SHORT_DSCALE_SHIFT	7
#define NUM_SHORT_WEIGHT_NEG	0x0040
#define NUM_SHORT_WEIGHT_MASK	0x003F
#define NUM_DSCALE_MASK			0x3FFF
#define NUM_NBASE				10000

/* Largest magnitude kept on the integer path, and the digits to reach it */
#define FAST_LIMIT		INT64CONST(999999999999999999)
#define FAST_MAX_DIGITS	9

/* 10^n for n from 0 to 18 (amount.h) */
const int64 pgc_pow10_64[19] = {
	INT64CONST(1), INT64CONST(10), INT64CONST(100), INT64CONST(1000),
	INT64CONST(10000), INT64CONST(100000), INT64CONST(1000000),
	INT64CONST(10000000), INT64CONST(100000000), INT64CONST(1000000000),
	INT64CONST(10000000000), INT64CONST(100000000000),
	INT64CONST(1000000000000), INT64CONST(10000000000000),
	INT64CONST(100000000000000), INT64CONST(1000000000000000),
	INT64CONST(10000000000000000), INT64CONST(100000000000000000),
	INT64CONST(1000000000000000000)
};

/* 10^n as int128, for n up to 38 */
static int128
Pow10_128(int n)
{
	int128		r = 1;

	Assert(n >= 0 && n <= 38);
	while (n >= 18)
	{
		r *= pgc_pow10_64[18];
		n -= 18;
	}
	return r * pgc_pow10_64[n];
}

/*
 * Read a numeric datum into *a.  NaN and infinity are refused: an amount
 * must be a number.  "what" names the calling function in the error.
 */
void
pgc_amount_read(Datum d, PgcAmount *a, const char *what)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(d);
	const char *p = VARDATA_ANY(v);
	Size		len = VARSIZE_ANY_EXHDR(v);
	const char *digits;
	uint16		h;
	int			weight;
	int			ndigits;
	bool		neg;
	int128		acc = 0;
	int			exp10;

	memcpy(&h, p, sizeof(uint16));
	if ((h & NUM_FLAGS_MASK) == NUM_SPECIAL)
	{
		if (h == NUM_NAN)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("amount must not be NaN"),
					 errdetail("pgcredit.%s received a NaN amount.", what),
					 errhint("Correct or exclude the row; NULL amounts are skipped.")));
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("amount must be finite"),
				 errdetail("pgcredit.%s received an infinite amount.", what),
				 errhint("Correct or exclude the row; NULL amounts are skipped.")));
	}

	if (h & NUM_SHORT)
	{
		neg = (h & NUM_SHORT_NEG) != 0;
		a->dscale = (h & NUM_SHORT_DSCALE_MASK) >> NUM_SHORT_DSCALE_SHIFT;
		weight = ((h & NUM_SHORT_WEIGHT_NEG) ? ~NUM_SHORT_WEIGHT_MASK : 0) |
			(h & NUM_SHORT_WEIGHT_MASK);
		digits = p + sizeof(uint16);
		ndigits = (len - sizeof(uint16)) / sizeof(int16);
	}
	else
	{
		int16		w;

		neg = (h & NUM_FLAGS_MASK) == NUM_NEG;
		a->dscale = h & NUM_DSCALE_MASK;
		memcpy(&w, p + sizeof(uint16), sizeof(int16));
		weight = w;
		digits = p + sizeof(uint16) + sizeof(int16);
		ndigits = (len - sizeof(uint16) - sizeof(int16)) / sizeof(int16);
	}

	a->datum = PointerGetDatum(v);
	a->fast = false;
	a->val = 0;
	if (a->dscale > PGC_MAX_FAST_SCALE || ndigits > FAST_MAX_DIGITS)
		return;
	if (ndigits == 0)
	{
		a->fast = true;
		return;
	}

	for (int i = 0; i < ndigits; i++)
	{
		int16		dg;

		memcpy(&dg, digits + i * sizeof(int16), sizeof(int16));
		acc = acc * NUM_NBASE + dg;
	}

	/* acc holds the digits; shift it to units of 10^-dscale */
	exp10 = 4 * (weight - (ndigits - 1)) + a->dscale;
	if (exp10 > 0)
	{
		if (exp10 > 18 || acc > FAST_LIMIT)
			return;
		acc *= pgc_pow10_64[exp10];
	}
	else if (exp10 < 0)
	{
		if (-exp10 > 18 || acc % pgc_pow10_64[-exp10] != 0)
			return;
		acc /= pgc_pow10_64[-exp10];
	}
	if (acc > FAST_LIMIT)
		return;

	a->val = neg ? -(int64) acc : (int64) acc;
	a->fast = true;
}

/* -1, 0 or 1 as a < b, a = b or a > b */
int
pgc_numeric_cmp(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(a),
											 NumericGetDatum(b)));
}

/* Sign of a numeric: -1, 0 or 1 */
int
pgc_numeric_sign(Numeric n)
{
	return pgc_numeric_cmp(n, int64_to_numeric(0));
}

/* A numeric as numeric_out prints it, for messages */
char *
pgc_numeric_text(Numeric n)
{
	return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(n)));
}

/* Sign of an amount: -1, 0 or 1 */
int
pgc_amount_sign(const PgcAmount *a)
{
	if (a->fast)
		return (a->val > 0) - (a->val < 0);
	return pgc_numeric_sign(DatumGetNumeric(a->datum));
}

/* An amount as double, for weights that need no exactness */
double
pgc_amount_double(const PgcAmount *a)
{
	if (a->fast)
		return (double) a->val / (double) pgc_pow10_64[a->dscale];
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, a->datum));
}

/* Exact numeric of v * 10^-scale */
Numeric
pgc_int128_numeric(int128 v, int scale)
{
	char		buf[128];
	char		rev[64];
	int			n = 0;
	int			pos = 0;
	uint128		u = v < 0 ? -(uint128) v : (uint128) v;

	do
	{
		rev[n++] = '0' + (int) (u % 10);
		u /= 10;
	} while (u > 0);
	while (n <= scale)
		rev[n++] = '0';

	if (v < 0)
		buf[pos++] = '-';
	for (int i = n - 1; i >= 0; i--)
	{
		buf[pos++] = rev[i];
		if (i == scale && scale > 0)
			buf[pos++] = '.';
	}
	buf[pos] = '\0';

	return DatumGetNumeric(DirectFunctionCall3(numeric_in,
											   CStringGetDatum(buf),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
}

/* Add a numeric to the slow part of a sum, keeping it in mcxt */
void
pgc_sum_add_numeric(PgcSum *s, Numeric n, MemoryContext mcxt)
{
	MemoryContext old = MemoryContextSwitchTo(mcxt);
	Numeric		r;

	if (s->slow)
		r = numeric_add_opt_error(s->slow, n, NULL);
	else
	{
		r = palloc(VARSIZE(n));
		memcpy(r, n, VARSIZE(n));
	}
	MemoryContextSwitchTo(old);
	if (s->slow)
		pfree(s->slow);
	s->slow = r;
}

/* Move the integer part of a sum to its slow part */
static void
SpillFast(PgcSum *s, MemoryContext mcxt)
{
	if (s->fast != 0)
		pgc_sum_add_numeric(s, pgc_int128_numeric(s->fast, s->scale), mcxt);
	s->fast = 0;
}

/* Add v * 10^-scale to a sum */
void
pgc_sum_add_scaled(PgcSum *s, int128 v, int scale, MemoryContext mcxt)
{
	int128		r;

	if (scale > s->scale)
	{
		if (s->fast != 0 &&
			__builtin_mul_overflow(s->fast, Pow10_128(scale - s->scale), &r))
			SpillFast(s, mcxt);
		else
			s->fast *= Pow10_128(scale - s->scale);
		s->scale = scale;
	}
	else if (scale < s->scale)
	{
		if (__builtin_mul_overflow(v, Pow10_128(s->scale - scale), &r))
		{
			pgc_sum_add_numeric(s, pgc_int128_numeric(v, scale), mcxt);
			return;
		}
		v = r;
	}

	if (__builtin_add_overflow(s->fast, v, &r))
	{
		SpillFast(s, mcxt);
		s->fast = v;
	}
	else
		s->fast = r;
}

/* Add amount * mult to a sum; |mult| stays below 2^40 */
void
pgc_sum_add_amount(PgcSum *s, const PgcAmount *a, int64 mult, MemoryContext mcxt)
{
	if (a->fast)
		pgc_sum_add_scaled(s, (int128) a->val * mult, a->dscale, mcxt);
	else
	{
		Numeric		n = DatumGetNumeric(a->datum);

		if (mult != 1)
			n = numeric_mul_opt_error(n, int64_to_numeric(mult), NULL);
		pgc_sum_add_numeric(s, n, mcxt);
	}
}

/* dst += src */
void
pgc_sum_combine(PgcSum *dst, const PgcSum *src, MemoryContext mcxt)
{
	pgc_sum_add_scaled(dst, src->fast, src->scale, mcxt);
	if (src->slow)
		pgc_sum_add_numeric(dst, src->slow, mcxt);
}

/* The exact value of a sum */
Numeric
pgc_sum_numeric(const PgcSum *s)
{
	Numeric		r = pgc_int128_numeric(s->fast, s->scale);

	if (s->slow)
		r = numeric_add_opt_error(r, s->slow, NULL);
	return r;
}

/* Sign of a sum: -1, 0 or 1 */
int
pgc_sum_sign(const PgcSum *s)
{
	if (s->slow == NULL)
		return (s->fast > 0) - (s->fast < 0);
	return pgc_numeric_sign(pgc_sum_numeric(s));
}

/* Write a 128-bit integer as two 64-bit halves */
void
pgc_send_int128(StringInfo buf, int128 v)
{
	uint128		u = (uint128) v;

	pq_sendint64(buf, (int64) (uint64) (u >> 64));
	pq_sendint64(buf, (int64) (uint64) u);
}

/* Read a 128-bit integer written by pgc_send_int128 */
int128
pgc_recv_int128(StringInfo buf)
{
	uint64		hi = (uint64) pq_getmsgint64(buf);
	uint64		lo = (uint64) pq_getmsgint64(buf);

	return (int128) (((uint128) hi << 64) | lo);
}

/* Write a sum for a parallel worker's partial aggregate */
void
pgc_sum_send(StringInfo buf, const PgcSum *s)
{
	pgc_send_int128(buf, s->fast);
	pq_sendint32(buf, s->scale);
	if (s->slow)
	{
		pq_sendint32(buf, VARSIZE(s->slow));
		pq_sendbytes(buf, (const char *) s->slow, VARSIZE(s->slow));
	}
	else
		pq_sendint32(buf, 0);
}

/*
 * Read a sum written by pgc_sum_send, in the current memory context.
 * The bytes may come from anyone (pgcredit.agg_state's input), so each
 * part is checked: the scale within what the integer path uses, and the
 * numeric part read back through its text form, which only a well-formed
 * finite numeric survives.
 */
void
pgc_sum_recv(StringInfo buf, PgcSum *s)
{
	int32		len;

	s->fast = pgc_recv_int128(buf);
	s->scale = pq_getmsgint(buf, 4);
	/* products of two amounts (concentration's squares) have twice the scale */
	if (s->scale < 0 || s->scale > 2 * PGC_MAX_FAST_SCALE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid sum in aggregate state"),
				 errdetail("Its scale %d is not between 0 and %d.", s->scale, 2 * PGC_MAX_FAST_SCALE)));
	len = pq_getmsgint(buf, 4);
	s->slow = len == 0 ? NULL : pgc_recv_numeric(buf, len, "sum in aggregate state");
}

/*
 * Read a numeric of len bytes written raw (its varlena) into an aggregate
 * state, checked as pgc_sum_recv() explains: a plain finite numeric whose
 * header length is its length, read back through its text form.  what
 * names it in the error.
 */
Numeric
pgc_recv_numeric(StringInfo buf, int32 len, const char *what)
{
	struct varlena *raw;
	char	   *text;
	Numeric		n;

	if (len < (int32) (VARHDRSZ + 2 * sizeof(uint16)) || len > 1024 * 1024)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid %s", what),
				 errdetail("Its numeric part has %d bytes.", len)));
	raw = palloc(len);
	memcpy(raw, pq_getmsgbytes(buf, len), len);
	if (!VARATT_IS_4B_U(raw) || VARSIZE(raw) != (Size) len ||
		numeric_is_nan((Numeric) raw) || numeric_is_inf((Numeric) raw))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid %s", what),
				 errdetail("Its numeric part is not a finite numeric of %d bytes.", len)));
	text = DatumGetCString(DirectFunctionCall1(numeric_out, PointerGetDatum(raw)));

	n = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(text),
											ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	/* a special value with stray bits prints as NaN */
	if (numeric_is_nan(n) || numeric_is_inf(n))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid %s", what),
				 errdetail("Its numeric part is not finite.")));
	pfree(raw);
	return n;
}

/* num rounded to scale decimals */
Numeric
pgc_numeric_round(Numeric num, int scale)
{
	return DatumGetNumeric(DirectFunctionCall2(numeric_round,
											   NumericGetDatum(num),
											   Int32GetDatum(scale)));
}

/* num / den rounded to scale decimals; den must not be zero */
Numeric
pgc_numeric_div_round(Numeric num, Numeric den, int scale)
{
	return pgc_numeric_round(numeric_div_opt_error(num, den, NULL), scale);
}

/*
 * Refuse a NaN or infinite numeric argument that is not an amount (a
 * limit, a tolerance); "name" is the SQL argument name.
 */
void
pgc_check_finite(Numeric n, const char *name)
{
	if (numeric_is_nan(n) || numeric_is_inf(n))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number", name),
				 numeric_is_nan(n) ?
				 errdetail("%s is NaN.", name) :
				 errdetail("%s is infinite.", name)));
}

/*
 * What a credit limit allows with its tolerance: limit * (1 + tolerance /
 * 100), exactly (dividing by 100 is a shift of two decimal places).
 */
Numeric
pgc_limit_with_tolerance(Numeric limit, Numeric tolerance_pct)
{
	if (pgc_numeric_sign(tolerance_pct) == 0)
		return limit;
	return numeric_add_opt_error(limit,
								 numeric_mul_opt_error(numeric_mul_opt_error(limit, tolerance_pct, NULL),
													   int64_div_fast_to_numeric(1, 2), NULL),
								 NULL);
}

/* -num */
Numeric
pgc_numeric_negate(Numeric num)
{
	return DatumGetNumeric(DirectFunctionCall1(numeric_uminus, NumericGetDatum(num)));
}
