/*-------------------------------------------------------------------------
 *
 * csv_field.h
 *	  Turning the text of a CSV field, as real exports write it, into the
 *	  form PostgreSQL's input functions accept: integers, numbers with
 *	  decimal commas and digit grouping, dates in several orders, words
 *	  for true and false.
 *
 * Plain C with no PostgreSQL dependency, built as it is by test/fuzz.
 * Each function writes its canonical form into out (at least
 * CSV_FIELD_OUT_SIZE(len) bytes, NUL-terminated) and returns NULL, or
 * returns the reason the field was refused.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCREDIT_CSV_FIELD_H
#define PGCREDIT_CSV_FIELD_H

#include <stdbool.h>
#include <stddef.h>

#define CSV_FIELD_OUT_SIZE(len)	((len) + 16)

typedef enum CsvDateStyle
{
	CSV_DATE_ISO,				/* 2013-01-31 */
	CSV_DATE_MDY,				/* 1/31/2013 */
	CSV_DATE_DMY				/* 31.1.2013 or 31/1/2013 */
} CsvDateStyle;

/* An integer of bits (16, 32, 64) bits */
extern const char *csv_field_integer(const char *s, size_t len, int bits, char *out);

/*
 * A decimal number: optional sign or accounting parentheses, an optional
 * currency sign ($, €, £), digits grouped by thousands ("," or with
 * decimal_comma "." and spaces), a decimal point ("." or with
 * decimal_comma ","), an exponent.  NaN and infinity are refused.
 */
extern const char *csv_field_number(const char *s, size_t len, bool decimal_comma, char *out);

/* A calendar date in the given order; ISO 8601 (2013-01-31) is always accepted */
extern const char *csv_field_date(const char *s, size_t len, CsvDateStyle style, char *out);

/*
 * A boolean: words compared without regard to case or surrounding
 * spaces.  true_words and false_words are NULL-terminated lists.
 */
extern const char *csv_field_boolean(const char *s, size_t len, const char *const *true_words,
									 const char *const *false_words, char *out);

/* Whether the bytes hold a NUL */
extern bool csv_field_has_nul(const char *s, size_t len);

#endif
