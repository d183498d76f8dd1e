/*-------------------------------------------------------------------------
 *
 * csv_field.c
 *	  Canonical forms of CSV fields for PostgreSQL's input functions.
 *
 * The loader checks every field of a known type here, before the row
 * goes to the table, so that a bad value is refused with the reason and
 * the column named, and the rows around it load.  The output is what the
 * type's own input function reads without surprise: plain digits, a
 * point for decimals, ISO dates, t and f.
 *
 *-------------------------------------------------------------------------
 */
#include "csv_field.h"

#include <stdint.h>
#include <string.h>

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Cut spaces off both ends */
static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && is_space(**s))
	{
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_space((*s)[*len - 1]))
		(*len)--;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char
lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

bool
csv_field_has_nul(const char *s, size_t len)
{
	return memchr(s, '\0', len) != NULL;
}

const char *
csv_field_integer(const char *s, size_t len, int bits, char *out)
{
	bool		neg = false;
	uint64_t	v = 0;
	uint64_t	limit;
	size_t		i = 0;
	size_t		o = 0;

	trim(&s, &len);
	if (len == 0)
		return "empty value for an integer";
	if (s[0] == '+' || s[0] == '-')
	{
		neg = s[0] == '-';
		i++;
	}
	if (i == len)
		return "not an integer";
	limit = bits == 16 ? 32767u : bits == 32 ? 2147483647u : INT64_MAX;
	if (neg)
		limit++;
	for (; i < len; i++)
	{
		if (!is_digit(s[i]))
			return "not an integer";
		if (v > (limit - (uint64_t) (s[i] - '0')) / 10)
			return "integer out of range";
		v = v * 10 + (uint64_t) (s[i] - '0');
	}
	if (neg && v != 0)
		out[o++] = '-';
	/* print v */
	{
		char		buf[24];
		int			n = 0;

		do
		{
			buf[n++] = (char) ('0' + v % 10);
			v /= 10;
		} while (v > 0);
		while (n > 0)
			out[o++] = buf[--n];
	}
	out[o] = '\0';
	return NULL;
}

/* Skip a currency sign at s[*i]: $, or the UTF-8 of € and £ */
static void
skip_currency(const char *s, size_t len, size_t *i)
{
	if (*i < len && s[*i] == '$')
		(*i)++;
	else if (*i + 2 < len && (unsigned char) s[*i] == 0xE2 &&
			 (unsigned char) s[*i + 1] == 0x82 && (unsigned char) s[*i + 2] == 0xAC)
		*i += 3;
	else if (*i + 1 < len && (unsigned char) s[*i] == 0xC2 && (unsigned char) s[*i + 1] == 0xA3)
		*i += 2;
}

const char *
csv_field_number(const char *s, size_t len, bool decimal_comma, char *out)
{
	char		point = decimal_comma ? ',' : '.';
	size_t		i = 0;
	size_t		o = 0;
	bool		neg = false;
	bool		parens = false;
	int			intdigits = 0;
	int			group = -1;		/* digits since a separator, -1 before any */
	bool		grouped = false;
	bool		any = false;

	trim(&s, &len);
	if (len == 0)
		return "empty value for a number";
	if (len >= 3 && (lower(s[0]) == 'n' && lower(s[1]) == 'a' && lower(s[2]) == 'n'))
		return "not a finite number";
	if (s[0] == '(' && s[len - 1] == ')')
	{
		parens = true;
		s++;
		len -= 2;
		trim(&s, &len);
	}
	skip_currency(s, len, &i);
	if (i < len && (s[i] == '+' || s[i] == '-'))
	{
		neg = s[i] == '-';
		i++;
	}
	skip_currency(s, len, &i);
	if (i < len && (lower(s[i]) == 'i' || lower(s[i]) == 'n'))
		return "not a finite number";
	if (parens && neg)
		return "not a number";
	if (parens || neg)
		out[o++] = '-';

	/* integer part, with optional grouping */
	for (; i < len; i++)
	{
		char		c = s[i];

		if (is_digit(c))
		{
			out[o++] = c;
			intdigits++;
			any = true;
			if (group >= 0)
				group++;
		}
		else if (decimal_comma && (c == ' ' || c == '\'') &&
				 (i + 1 >= len || !is_digit(s[i + 1])))
			break;				/* a space before a currency sign, not a group */
		else if ((!decimal_comma && c == ',') ||
				 (decimal_comma && (c == '.' || c == ' ' || c == '\'')))
		{
			/* a group separator: three digits must follow each */
			if (intdigits == 0 || (group >= 0 && group != 3) || (!grouped && intdigits > 3))
				return "misplaced digit group separator";
			grouped = true;
			group = 0;
		}
		else
			break;
	}
	if (grouped && group != 3)
		return "misplaced digit group separator";

	/* fraction */
	if (i < len && s[i] == point)
	{
		i++;
		out[o++] = '.';
		for (; i < len && is_digit(s[i]); i++)
		{
			out[o++] = s[i];
			any = true;
		}
	}
	if (!any)
		return "not a number";

	/* exponent */
	if (i < len && (s[i] == 'e' || s[i] == 'E'))
	{
		bool		digits = false;

		out[o++] = 'e';
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			out[o++] = s[i++];
		for (; i < len && is_digit(s[i]); i++)
		{
			out[o++] = s[i];
			digits = true;
		}
		if (!digits)
			return "not a number";
	}

	/* a currency sign may also follow the figure */
	while (i < len && s[i] == ' ')
		i++;
	skip_currency(s, len, &i);
	if (i != len)
		return "not a number";
	out[o] = '\0';
	return NULL;
}

static bool
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Read up to maxdigits digits at s[*i]; -1 when there are none or too many */
static int
read_number(const char *s, size_t len, size_t *i, int maxdigits, int *ndigits)
{
	int			v = 0;
	int			n = 0;

	while (*i < len && is_digit(s[*i]))
	{
		if (++n > maxdigits)
			return -1;
		v = v * 10 + (s[*i] - '0');
		(*i)++;
	}
	*ndigits = n;
	return n == 0 ? -1 : v;
}

const char *
csv_field_date(const char *s, size_t len, CsvDateStyle style, char *out)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int			a,
				b,
				c;
	int			na,
				nb,
				nc;
	char		sep;
	size_t		i = 0;
	int			y,
				m,
				d;

	trim(&s, &len);
	if (len == 0)
		return "empty value for a date";
	a = read_number(s, len, &i, 4, &na);
	if (a < 0 || i >= len)
		return "not a date";
	sep = s[i];
	if (sep != '-' && sep != '/' && sep != '.')
		return "not a date";
	i++;
	b = read_number(s, len, &i, 2, &nb);
	if (b < 0 || i >= len || s[i] != sep)
		return "not a date";
	i++;
	c = read_number(s, len, &i, 4, &nc);
	if (c < 0)
		return "not a date";
	/* a time of midnight may follow, as spreadsheets write it */
	if (i < len)
	{
		const char *rest = s + i;
		size_t		restlen = len - i;

		if (!((restlen == 9 && memcmp(rest, " 00:00:00", 9) == 0) ||
			  (restlen == 6 && memcmp(rest, " 00:00", 6) == 0)))
			return "not a date";
	}

	if (na == 4)
	{
		/* year first: ISO order, whatever the style */
		if (sep == '.' || nc > 2)
			return "not a date";
		y = a;
		m = b;
		d = c;
	}
	else
	{
		if (nc != 4)
			return "year must have four digits";
		if (na > 2)
			return "not a date";
		if (style == CSV_DATE_ISO)
			return "date not in ISO form (year-month-day); set date_style";
		y = c;
		if (style == CSV_DATE_MDY)
		{
			m = a;
			d = b;
		}
		else
		{
			d = a;
			m = b;
		}
	}
	if (y < 1)
		return "year out of range";
	if (m < 1 || m > 12)
		return "month out of range";
	if (d < 1 || d > mdays[m - 1] + (m == 2 && leap(y) ? 1 : 0))
		return "day out of range for its month";
	out[0] = (char) ('0' + y / 1000);
	out[1] = (char) ('0' + y / 100 % 10);
	out[2] = (char) ('0' + y / 10 % 10);
	out[3] = (char) ('0' + y % 10);
	out[4] = '-';
	out[5] = (char) ('0' + m / 10);
	out[6] = (char) ('0' + m % 10);
	out[7] = '-';
	out[8] = (char) ('0' + d / 10);
	out[9] = (char) ('0' + d % 10);
	out[10] = '\0';
	return NULL;
}

static bool
word_matches(const char *s, size_t len, const char *word)
{
	size_t		wl = strlen(word);

	if (wl != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (lower(s[i]) != lower(word[i]))
			return false;
	return true;
}

const char *
csv_field_boolean(const char *s, size_t len, const char *const *true_words,
				  const char *const *false_words, char *out)
{
	trim(&s, &len);
	for (int i = 0; true_words[i]; i++)
		if (word_matches(s, len, true_words[i]))
		{
			strcpy(out, "t");
			return NULL;
		}
	for (int i = 0; false_words[i]; i++)
		if (word_matches(s, len, false_words[i]))
		{
			strcpy(out, "f");
			return NULL;
		}
	return "not one of the words for true or false";
}
