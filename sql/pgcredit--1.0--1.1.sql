-- pgcredit 1.0 to 1.1: every catalog change since release 1.0.  A fresh
-- 1.1 (built from sql/install/) and 1.0 updated with this script must hold
-- the same catalog: test/t/upgrade.pl compares them.

\echo Use "ALTER EXTENSION pgcredit UPDATE" to load this file. \quit
