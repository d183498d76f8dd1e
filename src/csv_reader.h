/*-------------------------------------------------------------------------
 *
 * csv_reader.h
 *	  Streaming CSV records out of bytes with libcsv, with the physical
 *	  line each record starts on.
 *
 * Plain C with no PostgreSQL dependency, so that the fuzz harness in
 * test/fuzz can build and exercise exactly this code outside the server.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCREDIT_CSV_READER_H
#define PGCREDIT_CSV_READER_H

#include <stdbool.h>
#include <stddef.h>

#include <csv.h>

/* One field of a record, as read */
typedef struct CsvField
{
	const char *data;			/* NUL-terminated, but may contain NUL bytes */
	size_t		len;
	bool		bare_empty;		/* empty and not written in quotes */
} CsvField;

/* One record handed to the consumer */
typedef struct CsvRecord
{
	const CsvField *fields;
	int			nfields;
	long		line;			/* physical line the record starts on, from 1 */
	long		last_line;		/* line it ends on */
} CsvRecord;

/* The consumer's callback: return false to stop reading */
typedef bool (*CsvRecordFn) (void *arg, const CsvRecord *rec);

/* Reasons the reader stops before the end */
typedef enum CsvReaderError
{
	CSV_READER_OK = 0,
	CSV_READER_STOPPED,			/* the consumer asked to stop */
	CSV_READER_FIELD_TOO_LONG,	/* a field grew past max_field */
	CSV_READER_UNTERMINATED,	/* the input ends inside a quoted field */
	CSV_READER_UTF16,			/* a UTF-16 byte-order mark */
	CSV_READER_NO_MEMORY
} CsvReaderError;

typedef struct CsvReader
{
	struct csv_parser parser;
	CsvRecordFn on_record;
	void	   *arg;
	size_t		max_field;

	/* the record being assembled: field bytes in one growing arena */
	char	   *arena;
	size_t		arena_len;
	size_t		arena_cap;
	size_t	   *offsets;
	CsvField   *fields;
	int			nfields;
	int			fields_cap;
	long		newlines_in_record;

	long		line;			/* line being read, from 1 */
	size_t		bytes_seen;
	/* the first bytes, held until a byte-order mark can be told */
	char		head[2];
	int			head_len;
	bool		stopped;
	CsvReaderError error;		/* the first error; the reader stops on it */

	/*
	 * With an error, the line the record being read starts on, from 1 and at
	 * most line; for CSV_READER_STOPPED, the line of the refused record.
	 */
	long		error_line;
} CsvReader;

/*
 * Where the reader and libcsv get their memory: realloc and free by
 * default; the server passes functions allocating in a memory context.
 * realloc_fn(NULL, n) must allocate.
 */
extern void csv_reader_set_allocator(void *(*realloc_fn) (void *, size_t),
									 void (*free_fn) (void *));

/*
 * Start a reader.  delimiter and quote are single bytes; max_field bounds
 * the size of one field (and so the memory a malformed file can take).
 */
extern bool csv_reader_init(CsvReader *r, char delimiter, char quote, size_t max_field,
							CsvRecordFn on_record, void *arg);

/* Feed the next bytes of the input; false when reading has stopped */
extern bool csv_reader_feed(CsvReader *r, const char *data, size_t len);

/* The input is complete: hand out the last record; false on error */
extern bool csv_reader_finish(CsvReader *r);
extern void csv_reader_free(CsvReader *r);
extern const char *csv_reader_strerror(CsvReaderError e);

/*
 * Guess the delimiter among ',' ';' tab and '|' from the first lines of a
 * sample: the one found the same number of times, and most often, on
 * every complete line (outside quotes).  ',' when nothing is found.
 */
extern char csv_detect_delimiter(const char *sample, size_t len, char quote);

/* Length of a UTF-8 byte-order mark at the start of data, or 0 */
extern size_t csv_bom_length(const char *data, size_t len);

/* Whether data starts with a UTF-16 byte-order mark */
extern bool csv_is_utf16(const char *data, size_t len);

#endif
