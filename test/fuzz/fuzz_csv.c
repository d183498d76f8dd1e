/*-------------------------------------------------------------------------
 *
 * fuzz_csv.c
 *	  libFuzzer target for the CSV reader and the field conversions
 *	  (src/csv_reader.c, src/csv_field.c), built outside the server.
 *
 * The first HEADER_LEN bytes of an input choose the options, the rest is
 * the CSV content:
 *
 *	byte 0	bits 0-2: delimiter , ; tab | (0-3) or detected (4-7)
 *			bit 3: quote ' instead of "
 *			bit 4: a small field bound instead of a large one
 *			bits 5-6: date style ISO, MDY, DMY (3 is DMY too)
 *			bit 7: decimal comma
 *	byte 1	how the content is cut into pieces for the second reading:
 *			bits 0-3 and 7 bound the size of a piece, all bits seed the sizes
 *	byte 2	bits 0-3: the consumer stops after that many records (0: never)
 *			bits 4-7: the small field bound, 1 to 61 bytes
 *	byte 3	bits 0-5: with bit 6 set, a third reading whose allocator
 *			refuses every allocation after that many
 *
 * The content is read twice, whole and in pieces, and the records of the
 * two readings must agree.  Every field goes through every conversion,
 * whose results are checked for form and range independently of
 * csv_field.c.  A broken invariant aborts, which libFuzzer reports as a
 * crash with the input that caused it.
 *
 * Built with -DFUZZ_STRICT (run.sh's default, FUZZ_STRICT=1), the two
 * readings must also end with the same error.  Without it, readings that
 * end with different errors are not compared.  (The strict check found
 * that the reader missed a UTF-16 byte-order mark split after its first
 * byte; it now holds the first two bytes back until it can tell.)
 *
 * The line of an error, which the loader shows, is checked on every
 * reading: within the content, no earlier than the last record handed
 * out, the same whole and in pieces.  (An allocation failing inside a
 * libcsv callback once gave a line before the first:
 * seeds/oom-mid-record-line.input.)
 *
 *-------------------------------------------------------------------------
 */
#include "csv_field.h"
#include "csv_reader.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_LEN	4
#define LARGE_FIELD	((size_t) 1 << 20)
/* how far a field may pass the bound: libcsv's buffer gets one block of slack */
#define FIELD_SLACK	128

/* Report a broken invariant and abort, so that libFuzzer keeps the input */
#define CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "fuzz_csv: invariant failed at line %d: %s\n", \
					__LINE__, #cond); \
			abort(); \
		} \
	} while (0)

static const char *const true_words[] = {"true", "t", "yes", "y", "1", "on", NULL};
static const char *const false_words[] = {"false", "f", "no", "n", "0", "off", NULL};

/* The options one input chose */
typedef struct FuzzOptions
{
	char		delimiter;
	char		quote;
	size_t		max_field;
	CsvDateStyle date_style;
	bool		decimal_comma;
	unsigned	split_seed;
	int			stop_after;		/* 0: never stop */
	int			alloc_budget;	/* -1: no failing allocator */
} FuzzOptions;

/* What one reading saw, for comparing readings */
typedef struct Reading
{
	const FuzzOptions *opt;
	long		max_line;		/* 1 + the newlines of the content */
	uint64_t	hash;
	long		nrecords;
	long		prev_line;		/* line of the last record handed out */
	long		prev_last_line;
	bool		consumer_stopped;
	CsvReaderError error;
	long		error_line;
} Reading;

/*
 * FNV-1a over bytes: a record sequence is compared through its hash so
 * that the first reading need not keep its records.
 */
static uint64_t
hash_bytes(uint64_t h, const void *p, size_t len)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < len; i++)
	{
		h ^= c[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

/*
 * Whether s is a canonical integer (no sign but a minus, no leading zero,
 * no "-0") that strtoll reads back within the range of a bits-bit integer.
 */
static bool
integer_ok(const char *s, int bits)
{
	const char *d = s[0] == '-' ? s + 1 : s;
	char	   *end;
	long long	v;
	long long	lo = bits == 16 ? INT16_MIN : bits == 32 ? INT32_MIN : INT64_MIN;
	long long	hi = bits == 16 ? INT16_MAX : bits == 32 ? INT32_MAX : INT64_MAX;

	if (d[0] < '0' || d[0] > '9' || (d[0] == '0' && (d[1] != '\0' || d != s)))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	return errno == 0 && *end == '\0' && v >= lo && v <= hi;
}

/* Whether s matches -?[0-9]*(\.[0-9]*)?(e[+-]?[0-9]+)? with a digit before e */
static bool
number_ok(const char *s)
{
	size_t		i = 0;
	int			digits = 0;

	if (s[i] == '-')
		i++;
	for (; s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (s[i] == '.')
		for (i++; s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	if (digits == 0)
		return false;
	if (s[i] == 'e')
	{
		int			exp_digits = 0;

		i++;
		if (s[i] == '+' || s[i] == '-')
			i++;
		for (; s[i] >= '0' && s[i] <= '9'; i++)
			exp_digits++;
		if (exp_digits == 0)
			return false;
	}
	return s[i] == '\0';
}

/*
 * Whether s is YYYY-MM-DD naming a day that exists, with the leap years
 * of the Gregorian calendar counted here rather than taken from
 * csv_field.c.
 */
static bool
date_ok(const char *s)
{
	int			y, m, d, last;

	for (int i = 0; i < 10; i++)
		if (i == 4 || i == 7 ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
			return false;
	if (s[10] != '\0')
		return false;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (y < 1 || m < 1 || m > 12)
		return false;
	if (m == 2)
		last = 28 + (y % 4 == 0) - (y % 100 == 0) + (y % 400 == 0);
	else if (m == 4 || m == 6 || m == 9 || m == 11)
		last = 30;
	else
		last = 31;
	return d >= 1 && d <= last;
}

/*
 * A converter's output on success: NUL-terminated inside the buffer of
 * CSV_FIELD_OUT_SIZE(len) bytes (which the caller filled with non-NUL).
 */
static void
check_terminated(const char *out, size_t len)
{
	CHECK(memchr(out, '\0', CSV_FIELD_OUT_SIZE(len)) != NULL);
}

/*
 * Run one field through every conversion and check what they produce,
 * alone and against each other.  The field is copied to a buffer of
 * exactly its length, so that AddressSanitizer sees a read past it.
 */
static void
check_field(const FuzzOptions *opt, const CsvField *f)
{
	size_t		len = f->len;
	size_t		size = CSV_FIELD_OUT_SIZE(len);
	char	   *s = malloc(len);
	char	   *out[3];
	char	   *num = malloc(size);
	char	   *again = malloc(size + 16);
	const char *why[3];
	const char *nwhy;
	const char *dwhy;
	const char *iso_why;
	static const int bits[3] = {16, 32, 64};

	CHECK(s && num && again);
	memcpy(s, f->data, len);
	CHECK(csv_field_has_nul(s, len) == (memchr(s, '\0', len) != NULL));

	/* integers: a value that fits 16 bits fits 32 and 64, written the same */
	for (int k = 0; k < 3; k++)
	{
		out[k] = malloc(size);
		CHECK(out[k]);
		memset(out[k], 'x', size);
		why[k] = csv_field_integer(s, len, bits[k], out[k]);
		if (why[k] == NULL)
		{
			check_terminated(out[k], len);
			CHECK(integer_ok(out[k], bits[k]));
			CHECK(csv_field_integer(out[k], strlen(out[k]), bits[k], again) == NULL);
			CHECK(strcmp(again, out[k]) == 0);
		}
		if (k > 0 && why[k - 1] == NULL)
			CHECK(why[k] == NULL && strcmp(out[k - 1], out[k]) == 0);
	}

	/* numbers: any integer is a number of the same value, in both notations */
	for (int dc = 0; dc < 2; dc++)
	{
		memset(num, 'x', size);
		nwhy = csv_field_number(s, len, dc, num);
		if (nwhy == NULL)
		{
			check_terminated(num, len);
			CHECK(number_ok(num));
			CHECK(csv_field_number(num, strlen(num), false, again) == NULL);
			CHECK(strcmp(again, num) == 0);
		}
		if (why[2] == NULL)
			CHECK(nwhy == NULL && strtod(num, NULL) == strtod(out[2], NULL));
	}

	/* dates: what ISO order accepts, the chosen order accepts the same */
	memset(out[0], 'x', size);
	memset(out[1], 'x', size);
	dwhy = csv_field_date(s, len, opt->date_style, out[0]);
	iso_why = csv_field_date(s, len, CSV_DATE_ISO, out[1]);
	if (dwhy == NULL)
	{
		check_terminated(out[0], len);
		CHECK(date_ok(out[0]));
		CHECK(csv_field_date(out[0], strlen(out[0]), CSV_DATE_ISO, again) == NULL);
		CHECK(strcmp(again, out[0]) == 0);
	}
	if (iso_why == NULL)
		CHECK(dwhy == NULL && strcmp(out[0], out[1]) == 0);

	/* booleans */
	memset(out[2], 'x', size);
	if (csv_field_boolean(s, len, true_words, false_words, out[2]) == NULL)
		CHECK(strcmp(out[2], "t") == 0 || strcmp(out[2], "f") == 0);

	for (int k = 0; k < 3; k++)
		free(out[k]);
	free(s);
	free(num);
	free(again);
}

/*
 * The reader's callback: check the record, fold it into the reading's
 * hash, convert its fields, and stop the reader when the options say so.
 */
static bool
on_record(void *arg, const CsvRecord *rec)
{
	Reading    *rd = arg;
	const FuzzOptions *opt = rd->opt;

	/* no record may come after the consumer said stop */
	CHECK(!rd->consumer_stopped);
	CHECK(rec->nfields >= 1 && rec->fields != NULL);
	CHECK(rec->line >= 1 && rec->last_line >= rec->line);
	CHECK(rec->line >= rd->prev_last_line && rec->last_line <= rd->max_line);
	rd->prev_line = rec->line;
	rd->prev_last_line = rec->last_line;

	rd->hash = hash_bytes(rd->hash, &rec->nfields, sizeof(rec->nfields));
	rd->hash = hash_bytes(rd->hash, &rec->line, sizeof(rec->line));
	rd->hash = hash_bytes(rd->hash, &rec->last_line, sizeof(rec->last_line));
	for (int i = 0; i < rec->nfields; i++)
	{
		const CsvField *f = &rec->fields[i];

		CHECK(f->data != NULL && f->data[f->len] == '\0');
		CHECK(!f->bare_empty || f->len == 0);
		CHECK(f->len <= opt->max_field + FIELD_SLACK);
		rd->hash = hash_bytes(rd->hash, &f->len, sizeof(f->len));
		rd->hash = hash_bytes(rd->hash, &f->bare_empty, sizeof(f->bare_empty));
		rd->hash = hash_bytes(rd->hash, f->data, f->len);
		/* the failing-allocator reading only checks memory handling */
		if (opt->alloc_budget < 0)
			check_field(opt, f);
	}
	rd->nrecords++;
	if (opt->stop_after > 0 && rd->nrecords == opt->stop_after)
	{
		rd->consumer_stopped = true;
		return false;
	}
	return true;
}

/* An allocator that refuses everything after a budget of allocations */
static int	budget_left;
static int	refused;

static void *
budget_realloc(void *p, size_t n)
{
	if (budget_left <= 0)
	{
		refused++;
		return NULL;
	}
	budget_left--;
	return realloc(p, n);
}

/*
 * Read data once, fed in pieces whose sizes come from split_seed (the
 * whole at once when whole is set), and check how the reader ends.
 */
static void
read_content(const FuzzOptions *opt, const char *data, size_t len, bool whole,
			 Reading *rd)
{
	CsvReader	r;
	unsigned	state = opt->split_seed * 2654435761u + 1;
	size_t		pos = 0;
	bool		fed_all = true;
	bool		finished;

	memset(rd, 0, sizeof(Reading));
	rd->opt = opt;
	rd->max_line = 1;
	for (size_t i = 0; i < len; i++)
		if (data[i] == '\n')
			rd->max_line++;
	rd->hash = UINT64_C(14695981039346656037);

	CHECK(csv_reader_init(&r, opt->delimiter, opt->quote, opt->max_field, on_record, rd));
	while (pos < len)
	{
		size_t		piece;

		/* pieces of 0 bytes up to a bound the seed sets, from 2 to 1024 */
		state = state * 1103515245u + 12345u;
		piece = whole ? len : (state >> 16) % (((opt->split_seed & 15) + 1) *
											  ((opt->split_seed & 128) ? 64 : 2) + 1);
		if (piece > len - pos)
			piece = len - pos;
		if (!csv_reader_feed(&r, data + pos, piece))
		{
			/* feed says false only once the reader has stopped, for good */
			CHECK(r.stopped && r.error != CSV_READER_OK);
			CHECK(!csv_reader_feed(&r, data + pos, len - pos));
			fed_all = false;
			break;
		}
		pos += piece;
	}
	finished = csv_reader_finish(&r);
	CHECK(finished == (r.error == CSV_READER_OK));
	CHECK(csv_reader_strerror(r.error)[0] != '\0');
	CHECK(!rd->consumer_stopped || r.error == CSV_READER_STOPPED);
	CHECK(r.error != CSV_READER_STOPPED || rd->consumer_stopped);
	CHECK(fed_all || r.error != CSV_READER_OK);
	/*
	 * The line of an error is where its record starts: the refused one for
	 * a stop, else the one being read, which starts where the last record
	 * handed out ends or later (the same line after a lone CR).
	 */
	if (r.error != CSV_READER_OK)
		CHECK(r.error_line >= 1 && r.error_line <= r.line);
	if (r.error == CSV_READER_STOPPED)
		CHECK(r.error_line == rd->prev_line);
	else if (r.error != CSV_READER_OK)
		CHECK(r.error_line >= rd->prev_last_line);
	if (r.error == CSV_READER_UTF16)
		CHECK(rd->nrecords == 0);
	/* with realloc, memory never runs out on 4 kB of input */
	if (opt->alloc_budget < 0)
		CHECK(r.error != CSV_READER_NO_MEMORY);
	rd->error = r.error;
	rd->error_line = r.error_line;
	csv_reader_free(&r);
}

/*
 * libFuzzer's entry point: choose the options, read the content whole
 * and in pieces and compare, then read it again short of memory.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
	static const char delimiters[] = {',', ';', '\t', '|'};
	FuzzOptions opt;
	Reading		whole;
	Reading		pieces;
	const char *data;
	size_t		len;
	size_t		bom;
	char		detected;

	if (size < HEADER_LEN)
		return 0;
	data = (const char *) input + HEADER_LEN;
	len = size - HEADER_LEN;

	/* as the loader does: the byte-order mark off, then the delimiter */
	bom = csv_bom_length(data, len);
	CHECK(bom == 0 || (bom == 3 && len >= 3));
	data += bom;
	len -= bom;
	opt.quote = (input[0] & 8) ? '\'' : '"';
	detected = csv_detect_delimiter(data, len, opt.quote);
	CHECK(memchr(delimiters, detected, sizeof(delimiters)) != NULL);
	opt.delimiter = (input[0] & 7) < 4 ? delimiters[input[0] & 7] : detected;
	opt.max_field = (input[0] & 16) ? 1 + (size_t) (input[2] >> 4) * 4 : LARGE_FIELD;
	opt.date_style = ((input[0] >> 5) & 3) == 0 ? CSV_DATE_ISO :
		((input[0] >> 5) & 3) == 1 ? CSV_DATE_MDY : CSV_DATE_DMY;
	opt.decimal_comma = (input[0] & 128) != 0;
	opt.split_seed = input[1];
	opt.stop_after = input[2] & 15;
	opt.alloc_budget = -1;

	read_content(&opt, data, len, true, &whole);
	read_content(&opt, data, len, false, &pieces);
	CHECK(csv_is_utf16(data, len) == (whole.error == CSV_READER_UTF16));
#ifdef FUZZ_STRICT
	CHECK(whole.error == pieces.error);
#endif
	if (whole.error == pieces.error)
	{
		CHECK(whole.nrecords == pieces.nrecords);
		CHECK(whole.hash == pieces.hash);
		CHECK(whole.error_line == pieces.error_line);
	}

	/* short of memory: the reader must fail cleanly, and not leak */
	if (input[3] & 64)
	{
		Reading		starved;

		opt.alloc_budget = input[3] & 63;
		budget_left = opt.alloc_budget;
		refused = 0;
		csv_reader_set_allocator(budget_realloc, free);
		read_content(&opt, data, len, false, &starved);
		csv_reader_set_allocator(realloc, free);
		if (refused > 0)
			CHECK(starved.error == CSV_READER_NO_MEMORY ||
				  starved.error == CSV_READER_FIELD_TOO_LONG ||
				  starved.error == CSV_READER_STOPPED);
		if (starved.error == CSV_READER_NO_MEMORY)
			CHECK(refused > 0);
	}
	return 0;
}
