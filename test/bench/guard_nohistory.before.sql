-- Configuration "nohistory" of guard.sh: the guard of "pgcredit" with the
-- exposure history off, so that the history's cost per order shows
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SELECT pgcredit.set_exposure_history(false, 'bench: the guard without its history');
