# Databases of their own for the bench, stress and fuzz scripts (sourced,
# not run).  Those scripts drop tables, empty pgcredit's accounts and drop
# databases; they do so only in a database they created.  Such a database
# carries a comment that marks it: a script drops or recreates a database
# only when it has that mark, and test/scratch_db.sql, run first by the
# bench and fuzz SQL files, refuses to go on in any database without it
# (test/stress/setup.sql only creates).  So a script pointed at a server,
# or a file run by hand with psql -f, never touches a database of the
# user's.

# The mark; test/scratch_db.sql holds the same text.
SCRATCH_DB_MARK="scratch database of pgcredit's test scripts: they drop and recreate it"

# Print "absent", "ours" or "foreign" for database $1.
scratch_db_state() {
	psql -X -At -d postgres -v ON_ERROR_STOP=1 -v db="$1" -v mark="$SCRATCH_DB_MARK" <<'SQL'
SELECT CASE WHEN d.oid IS NULL THEN 'absent'
            WHEN shobj_description(d.oid, 'pg_database') = :'mark' THEN 'ours'
            ELSE 'foreign' END
FROM (VALUES (1)) AS one LEFT JOIN pg_database d ON d.datname = :'db';
SQL
}

# Create database $1 with the mark, dropping first an earlier one of that
# name that has the mark; refuse when a database of that name exists
# without it.
scratch_db_create() {
	local db=$1 state
	state=$(scratch_db_state "$db")
	case $state in
	absent) ;;
	ours) dropdb "$db" ;;
	*)
		echo "database \"$db\" exists and was not created by pgcredit's test scripts" >&2
		echo "They work only in a database of their own: give another name, or drop that database yourself." >&2
		return 1 ;;
	esac
	psql -X -q -d postgres -v ON_ERROR_STOP=1 -v db="$db" -v mark="$SCRATCH_DB_MARK" <<'SQL'
CREATE DATABASE :"db";
COMMENT ON DATABASE :"db" IS :'mark';
SQL
}

# Drop database $1 if it has the mark.
scratch_db_drop() {
	if [ "$(scratch_db_state "$1")" = ours ]; then dropdb "$1"; fi
}
