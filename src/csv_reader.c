/*-------------------------------------------------------------------------
 *
 * csv_reader.c
 *	  Streaming CSV records out of bytes with libcsv.
 *
 * libcsv does the quoting rules; this file adds what a loader needs on
 * top: input arriving in pieces of any size, the physical line each
 * record starts on (input is fed to libcsv a line at a time, and newlines
 * inside quoted fields are counted), a bound on the size of one field so
 * that a malformed file cannot take unbounded memory, byte-order marks,
 * and a guess of the delimiter.
 *
 * No PostgreSQL headers: test/fuzz builds this file as it is.
 *
 *-------------------------------------------------------------------------
 */
#include "csv_reader.h"

#include <stdint.h>
#include <string.h>

/* libcsv's parser state "inside a field" (libcsv.c: FIELD_BEGUN), stable since 3.0 */
#define LIBCSV_FIELD_BEGUN	2

static void *(*reader_realloc) (void *, size_t) = realloc;
static void (*reader_free) (void *) = free;

/* The field size bound of the parse under way; libcsv's hooks take no argument */
static size_t current_limit = SIZE_MAX;

void
csv_reader_set_allocator(void *(*realloc_fn) (void *, size_t), void (*free_fn) (void *))
{
	reader_realloc = realloc_fn;
	reader_free = free_fn;
}

/* libcsv's buffer may not grow past the field bound (plus a block of slack) */
static void *
bounded_realloc(void *p, size_t n)
{
	if (n > current_limit + 128)
		return NULL;
	return reader_realloc(p, n);
}

static void
reader_free_hook(void *p)
{
	if (p)
		reader_free(p);
}

const char *
csv_reader_strerror(CsvReaderError e)
{
	switch (e)
	{
		case CSV_READER_OK:
			return "no error";
		case CSV_READER_STOPPED:
			return "reading stopped";
		case CSV_READER_FIELD_TOO_LONG:
			return "a field is longer than the largest field allowed";
		case CSV_READER_UNTERMINATED:
			return "the input ends inside a quoted field";
		case CSV_READER_UTF16:
			return "the input is UTF-16";
		case CSV_READER_NO_MEMORY:
			return "out of memory";
	}
	return "unknown error";
}

bool
csv_reader_init(CsvReader *r, char delimiter, char quote, size_t max_field,
				CsvRecordFn on_record, void *arg)
{
	memset(r, 0, sizeof(CsvReader));
	if (csv_init(&r->parser, CSV_STRICT_FINI | CSV_APPEND_NULL | CSV_EMPTY_IS_NULL) != 0)
		return false;
	csv_set_delim(&r->parser, (unsigned char) delimiter);
	csv_set_quote(&r->parser, (unsigned char) quote);
	csv_set_realloc_func(&r->parser, bounded_realloc);
	csv_set_free_func(&r->parser, reader_free_hook);
	r->on_record = on_record;
	r->arg = arg;
	r->max_field = max_field;
	r->line = 1;
	return true;
}

void
csv_reader_free(CsvReader *r)
{
	csv_free(&r->parser);
	reader_free_hook(r->arena);
	reader_free_hook(r->offsets);
	reader_free_hook(r->fields);
	r->arena = NULL;
	r->offsets = NULL;
	r->fields = NULL;
}

static bool
grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t		newcap;
	void	   *q;

	if (need <= *cap)
		return true;
	newcap = *cap ? *cap : 16;
	while (newcap < need)
		newcap *= 2;
	q = reader_realloc(*p, newcap * elem);
	if (q == NULL)
		return false;
	*p = q;
	*cap = newcap;
	return true;
}

static long
count_newlines(const void *data, size_t len)
{
	const unsigned char *c = data;
	long		n = 0;

	for (size_t i = 0; c && i < len; i++)
		if (c[i] == '\n')
			n++;
	return n;
}

/*
 * Newlines of the field libcsv is still reading.  Only valid between calls
 * into libcsv: while csv_parse runs (in on_field and on_row) it keeps its
 * position in a local variable, parser.entry_pos is the one of the last
 * return, and entry_buf may already hold a later field over an earlier one.
 */
static long
held_newlines(const CsvReader *r)
{
	return count_newlines(r->parser.entry_buf, r->parser.entry_pos);
}

/*
 * The line the record being read starts on: the current line less the
 * newlines the record holds so far, in the fields handed over and in the
 * field still being read (held).
 */
static long
record_start(const CsvReader *r, long held)
{
	return r->line - r->newlines_in_record - held;
}

/* Stop reading; the first error is kept, with the line its record starts on */
static void
fail(CsvReader *r, CsvReaderError e, long line)
{
	if (r->error == CSV_READER_OK)
	{
		r->error = e;
		r->error_line = line;
	}
	r->stopped = true;
}

/* libcsv: a field is complete */
static void
on_field(void *s, size_t len, void *data)
{
	CsvReader  *r = (CsvReader *) data;
	size_t		fcap = (size_t) r->fields_cap;

	if (r->stopped)
		return;
	if (!grow((void **) &r->offsets, &fcap, (size_t) r->nfields + 1, sizeof(size_t)) ||
		(fcap = (size_t) r->fields_cap,
		 !grow((void **) &r->fields, &fcap, (size_t) r->nfields + 1, sizeof(CsvField))) ||
		!grow((void **) &r->arena, &r->arena_cap, r->arena_len + len + 1, 1))
	{
		/* the field at hand is not counted in newlines_in_record yet */
		fail(r, CSV_READER_NO_MEMORY, record_start(r, count_newlines(s, len)));
		return;
	}
	r->fields_cap = (int) fcap;
	r->offsets[r->nfields] = r->arena_len;
	r->fields[r->nfields].len = len;
	r->fields[r->nfields].bare_empty = (s == NULL);
	if (len > 0)
	{
		memcpy(r->arena + r->arena_len, s, len);
		r->newlines_in_record += count_newlines(s, len);
	}
	r->arena[r->arena_len + len] = '\0';
	r->arena_len += len + 1;
	r->nfields++;
}

/* libcsv: a record is complete */
static void
on_row(int c, void *data)
{
	CsvReader  *r = (CsvReader *) data;
	CsvRecord	rec;

	(void) c;
	if (r->stopped)
		return;
	/* the arena may have moved while the record grew: point fields now */
	for (int i = 0; i < r->nfields; i++)
		r->fields[i].data = r->arena + r->offsets[i];
	rec.fields = r->fields;
	rec.nfields = r->nfields;
	rec.last_line = r->line;
	rec.line = r->line - r->newlines_in_record;
	r->nfields = 0;
	r->arena_len = 0;
	r->newlines_in_record = 0;
	if (!r->on_record(r->arg, &rec))
		fail(r, CSV_READER_STOPPED, rec.line);
}

/* Run libcsv over one piece that holds at most one newline, at its end */
static bool
parse_piece(CsvReader *r, const char *data, size_t len)
{
	size_t		done;

	current_limit = r->max_field;
	done = csv_parse(&r->parser, data, len, on_field, on_row, r);
	current_limit = SIZE_MAX;
	if (done < len && !r->stopped)
	{
		int			e = csv_error(&r->parser);

		fail(r, (e == CSV_ENOMEM || e == CSV_ETOOBIG) &&
			 csv_get_buffer_size(&r->parser) + 1024 >= r->max_field ?
			 CSV_READER_FIELD_TOO_LONG : CSV_READER_NO_MEMORY,
			 record_start(r, held_newlines(r)));
	}
	return !r->stopped;
}

/* Parse bytes, a line at a time so that each record's line is known */
static bool
feed_lines(CsvReader *r, const char *data, size_t len)
{
	size_t		pos = 0;

	while (pos < len)
	{
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t		piece = nl ? (size_t) (nl - (data + pos)) + 1 : len - pos;

		if (!parse_piece(r, data + pos, piece))
			return false;
		pos += piece;
		if (nl)
			r->line++;
	}
	return true;
}

bool
csv_reader_feed(CsvReader *r, const char *data, size_t len)
{
	if (r->stopped)
		return false;
	/* the first two bytes wait until a UTF-16 byte-order mark can be told */
	if (r->head_len < 2)
	{
		while (r->head_len < 2 && len > 0)
		{
			r->head[r->head_len++] = *data++;
			len--;
			r->bytes_seen++;
		}
		if (r->head_len < 2)
			return true;
		if (csv_is_utf16(r->head, 2))
		{
			fail(r, CSV_READER_UTF16, 1);
			return false;
		}
		if (!feed_lines(r, r->head, 2))
			return false;
	}
	r->bytes_seen += len;
	return feed_lines(r, data, len);
}

bool
csv_reader_finish(CsvReader *r)
{
	if (r->stopped)
		return r->error == CSV_READER_OK;
	/* input of a single byte: it cannot be a byte-order mark */
	if (r->head_len == 1 && !feed_lines(r, r->head, 1))
		return r->error == CSV_READER_OK;

	/*
	 * Input that ends inside a quoted field would otherwise be handed out as
	 * a record, the rest of the file in its last field.  libcsv reports it
	 * only in strict mode, which also refuses stray quotes in unquoted fields
	 * (12" pipe), so its state is read here: a field begun, in quotes.
	 */
	if (r->parser.quoted && r->parser.pstate == LIBCSV_FIELD_BEGUN)
	{
		fail(r, CSV_READER_UNTERMINATED, record_start(r, held_newlines(r)));
		return false;
	}
	current_limit = r->max_field;
	if (csv_fini(&r->parser, on_field, on_row, r) != 0 && !r->stopped)
		fail(r, CSV_READER_NO_MEMORY, record_start(r, held_newlines(r)));
	current_limit = SIZE_MAX;
	return r->error == CSV_READER_OK;
}

size_t
csv_bom_length(const char *data, size_t len)
{
	if (len >= 3 && (unsigned char) data[0] == 0xEF &&
		(unsigned char) data[1] == 0xBB && (unsigned char) data[2] == 0xBF)
		return 3;
	return 0;
}

bool
csv_is_utf16(const char *data, size_t len)
{
	return len >= 2 &&
		(((unsigned char) data[0] == 0xFF && (unsigned char) data[1] == 0xFE) ||
		 ((unsigned char) data[0] == 0xFE && (unsigned char) data[1] == 0xFF));
}

char
csv_detect_delimiter(const char *sample, size_t len, char quote)
{
	static const char candidates[] = {',', ';', '\t', '|'};
	enum
	{
		NCAND = 4, MAXLINES = 20
	};
	long		counts[MAXLINES][NCAND];
	int			nlines = 0;
	long		cur[NCAND] = {0};
	bool		in_quotes = false;
	char		best = ',';
	long		best_count = 0;

	for (size_t i = 0; i < len && nlines < MAXLINES; i++)
	{
		char		c = sample[i];

		if (c == quote)
			in_quotes = !in_quotes;
		else if (!in_quotes && c == '\n')
		{
			memcpy(counts[nlines++], cur, sizeof(cur));
			memset(cur, 0, sizeof(cur));
		}
		else if (!in_quotes)
			for (int k = 0; k < NCAND; k++)
				if (c == candidates[k])
					cur[k]++;
	}
	if (nlines == 0)
	{
		/* a single line without its newline */
		memcpy(counts[nlines++], cur, sizeof(cur));
	}

	for (int k = 0; k < NCAND; k++)
	{
		long		n = counts[0][k];
		bool		steady = n > 0;

		for (int l = 1; l < nlines && steady; l++)
			if (counts[l][k] != n && !(l == nlines - 1 && counts[l][k] == 0))
				steady = false;
		if (steady && n > best_count)
		{
			best = candidates[k];
			best_count = n;
		}
	}
	return best;
}
