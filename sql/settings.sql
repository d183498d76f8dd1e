-- pgcredit's settings: pgcredit.as_of and pgcredit.import_run are declared
-- when pgcredit's library is loaded, and the prefix "pgcredit." is
-- reserved, so a value that is not a date, or a misspelt name, is an
-- error.  A session loads the library at its first call of one of
-- pgcredit's C functions; until then PostgreSQL takes any pgcredit.* name
-- and value as a placeholder, unchecked.

-- This session has not called pgcredit's C code yet: placeholders.
SET pgcredit.asof = '2024-06-30';    -- misspelt
SHOW pgcredit.asof;
SET pgcredit.as_of = 'soon';         -- not a date
-- pgcredit.as_of() (SQL) reads it and fails as date input does.
SELECT pgcredit.as_of();
\echo :LAST_ERROR_SQLSTATE

-- The first C call loads the library: the misspelt name is removed and
-- the bad value dropped, each with a WARNING; as_of is today again.
SELECT pgcredit.days_past_due('2024-06-01', '2024-06-30');
SHOW pgcredit.asof;
\echo :LAST_ERROR_SQLSTATE
SHOW pgcredit.as_of;
SELECT pgcredit.as_of() = current_date AS today;

-- From now on SET checks names and values.
SET pgcredit.asof = '2024-06-30';
\echo :LAST_ERROR_SQLSTATE
SELECT set_config('pgcredit.as_f', '2024-06-30', false);
\echo :LAST_ERROR_SQLSTATE
SET pgcredit.as_of = 'soon';
\echo :LAST_ERROR_SQLSTATE
SET pgcredit.as_of = '2024-02-30';
\echo :LAST_ERROR_SQLSTATE
SET pgcredit.as_of = 'infinity';
\echo :LAST_ERROR_SQLSTATE
-- a time zone is refused, not looked up
SET pgcredit.as_of = '2024-06-30 Europe/Paris';
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.as_of() = current_date AS still_today;

-- Dates are taken in any form date input takes; empty is today.
SET pgcredit.as_of = '2024-06-30';
SELECT pgcredit.as_of();
SET pgcredit.as_of = 'June 30, 2024';
SELECT pgcredit.as_of();
BEGIN;
SET LOCAL pgcredit.as_of = '2024-01-31';
SELECT pgcredit.as_of();
COMMIT;
SELECT pgcredit.as_of();
SET pgcredit.as_of = '';
SELECT pgcredit.as_of() = current_date AS empty_is_today;
RESET pgcredit.as_of;
SELECT pgcredit.as_of() = current_date AS reset_is_today;

-- pgcredit.import_run is load_csv's (the default of
-- external_score.import_run): empty, or a run number.
SET pgcredit.import_run = 'latest';
\echo :LAST_ERROR_SQLSTATE
SET pgcredit.import_run = '0';
\echo :LAST_ERROR_SQLSTATE
SET pgcredit.import_run = '42';
SHOW pgcredit.import_run;
RESET pgcredit.import_run;

SELECT name, setting, context, vartype, short_desc
FROM pg_settings WHERE name LIKE 'pgcredit.%' ORDER BY name;
