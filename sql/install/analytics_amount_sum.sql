-- Analytics: the exact sum every aggregate builds on
--
-- Rights: every function and aggregate here keeps PostgreSQL's default,
-- EXECUTE for PUBLIC.  They read only their arguments, so no GRANT or
-- REVOKE follows them; a type here is usable by everyone likewise.

----------------------------------------------------------------------
-- Exact sums of amounts
--
-- Every aggregate below sums numeric amounts exactly on 128-bit integers
-- (falling back to numeric arithmetic for amounts that do not fit), so
-- results never depend on row order or on a parallel plan.  NULL amounts
-- are skipped like sum() skips them; NaN and infinity are errors.
----------------------------------------------------------------------

----------------------------------------------------------------------
-- Aggregate states that can leave the node (src/agg_state.c)
--
-- The aggregates keep their states in C structures; of type agg_state
-- rather than internal, so that Citus can run them as partial aggregates
-- on its workers and combine them on the coordinator.  While an
-- aggregate runs the state is changed in place, as with internal; it is
-- turned into bytes only to leave the node: \x and hexadecimal digits as
-- text, the family's tag byte first.  Input is checked byte by byte.
----------------------------------------------------------------------

CREATE TYPE pgcredit.agg_state;
CREATE FUNCTION pgcredit.agg_state_in(cstring) RETURNS pgcredit.agg_state
AS 'MODULE_PATHNAME', 'pgc_agg_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pgcredit.agg_state_out(pgcredit.agg_state) RETURNS cstring
AS 'MODULE_PATHNAME', 'pgc_agg_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pgcredit.agg_state_recv(internal) RETURNS pgcredit.agg_state
AS 'MODULE_PATHNAME', 'pgc_agg_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pgcredit.agg_state_send(pgcredit.agg_state) RETURNS bytea
AS 'MODULE_PATHNAME', 'pgc_agg_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE pgcredit.agg_state (
  INPUT = pgcredit.agg_state_in, OUTPUT = pgcredit.agg_state_out,
  RECEIVE = pgcredit.agg_state_recv, SEND = pgcredit.agg_state_send,
  INTERNALLENGTH = VARIABLE, ALIGNMENT = int4, STORAGE = extended
);
COMMENT ON TYPE pgcredit.agg_state IS
  'the transition state of pgcredit''s aggregates: a C structure while the aggregate runs, its family''s tag and bytes when it leaves the node (for Citus''s partial aggregates); written \x and hexadecimal digits';
COMMENT ON FUNCTION pgcredit.agg_state_in(cstring) IS 'agg_state from text, checked by reading the state';
COMMENT ON FUNCTION pgcredit.agg_state_out(pgcredit.agg_state) IS 'agg_state as text: \x and two hexadecimal digits a byte';
COMMENT ON FUNCTION pgcredit.agg_state_recv(internal) IS 'agg_state from binary, checked by reading the state';
COMMENT ON FUNCTION pgcredit.agg_state_send(pgcredit.agg_state) IS 'agg_state as binary: its bytes';

CREATE FUNCTION pgcredit.amount_sum_state_trans(pgcredit.agg_state, numeric)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'amount_sum_state_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcredit.amount_sum_state_combine(pgcredit.agg_state, pgcredit.agg_state)
RETURNS pgcredit.agg_state AS 'MODULE_PATHNAME', 'amount_sum_state_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcredit.amount_sum_state_final(pgcredit.agg_state)
RETURNS numeric AS 'MODULE_PATHNAME', 'amount_sum_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE pgcredit.amount_sum(amount numeric) (
  SFUNC = pgcredit.amount_sum_state_trans,
  STYPE = pgcredit.agg_state,
  FINALFUNC = pgcredit.amount_sum_state_final,
  COMBINEFUNC = pgcredit.amount_sum_state_combine,
  PARALLEL = SAFE
);

COMMENT ON AGGREGATE pgcredit.amount_sum(numeric) IS
  'exact sum of amounts, as sum(numeric) but on 128-bit integers; '
  'NaN and infinity are errors';
