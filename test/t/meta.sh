#!/usr/bin/env bash
# Release metadata stays in step: META.json is a valid PGXN META spec 1.0.0
# document, and its version, the control file's default_version and the
# Makefile's EXTVERSION agree, with an install script for that version.
# JSON is checked by the server itself, so no other tool is needed.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/common.sh

control_version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" pgcredit.control)
make_version=$(make -s --no-print-directory PG_CONFIG="$PG_CONFIG" print-EXTVERSION)
[ -f "sql/pgcredit--$control_version.sql" ] ||
	{ echo "no install script for default_version $control_version"; exit 1; }

failed=$(psql -X -At -v ON_ERROR_STOP=1 \
	-v meta="$(cat META.json)" -v control="$control_version" -v make="$make_version" <<'SQL'
WITH m AS (SELECT :'meta'::jsonb AS j)
SELECT name FROM m, LATERAL (VALUES
  ('required keys', j ?& ARRAY['name', 'abstract', 'version', 'maintainer',
                               'license', 'provides', 'meta-spec']),
  ('meta-spec 1.0.0', j #>> '{meta-spec,version}' = '1.0.0'),
  ('name', j ->> 'name' = 'pgcredit'),
  ('semantic version', j ->> 'version' ~ '^\d+\.\d+\.\d+$'),
  ('provides pgcredit', j #>> '{provides,pgcredit,version}' = j ->> 'version'),
  ('provides file exists', j #>> '{provides,pgcredit,file}' = 'sql/pgcredit--' || :'control' || '.sql'),
  ('control version', j ->> 'version' = :'control' || '.0'),
  ('Makefile version', :'make' = :'control'),
  ('prereq PostgreSQL', j #>> '{prereqs,runtime,requires,PostgreSQL}' IS NOT NULL),
  ('prereq libcsv', j #>> '{prereqs,build,requires,libcsv}' IS NOT NULL),
  ('license', j ->> 'license' = 'postgresql'),
  ('resources', jsonb_typeof(j -> 'resources') = 'object')
) AS c(name, ok)
WHERE NOT ok;
SQL
)
if [ -n "$failed" ]; then
	echo "META.json checks failed: $failed"
	exit 1
fi
echo "META.json, pgcredit.control and Makefile agree on version $control_version"
