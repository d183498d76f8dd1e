/*-------------------------------------------------------------------------
 *
 * pgcredit.c
 *	  Module entry point of the pgcredit extension.
 *
 * The SQL-callable functions live in one file per concern (aging.c, ...);
 * this file only marks the shared library as a PostgreSQL module.
 *
 *-------------------------------------------------------------------------
 */
#include "pgcredit.h"

PG_MODULE_MAGIC;
