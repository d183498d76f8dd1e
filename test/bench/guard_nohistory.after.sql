-- Configuration "nohistory" of guard.sh: the exposure history on again
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SELECT pgcredit.set_exposure_history(true, 'bench: the history on again');
