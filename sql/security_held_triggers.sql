-- Code of an attached table's owner never runs with pgcredit's rights:
-- when a controller's reevaluate_held_orders() or release_held_order()
-- (both SECURITY DEFINER) clears a hold mark, the table's triggers run
-- as the table's owner, in a security-restricted operation; and they
-- cannot use the override of a release to slip orders past the check.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT coalesce(max(id), 0) AS audit_start FROM pgcredit.audit_log \gset
CREATE ROLE regress_sh_owner LOGIN;
CREATE ROLE regress_sh_ctl LOGIN IN ROLE pgcredit_controller;
GRANT CREATE ON SCHEMA public TO regress_sh_owner;
SET ROLE regress_sh_owner;
CREATE TABLE sh_order (id int PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL,
                       on_hold boolean NOT NULL DEFAULT false);
CREATE TABLE sh_log (who name, outcome text);
CREATE SEQUENCE sh_seq START 100;
-- the owner's trigger: who runs it, and a try at pgcredit's rights (names
-- qualified: the search_path is pinned while it runs)
CREATE FUNCTION sh_spy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    PERFORM pgcredit.set_credit_limit('SH1', 1000000, 'from a trigger');
    INSERT INTO public.sh_log VALUES (current_user, 'limit raised');
  EXCEPTION WHEN OTHERS THEN
    INSERT INTO public.sh_log VALUES (current_user, 'set_credit_limit: ' || SQLSTATE);
  END;
  BEGIN
    SET ROLE pgcredit_owner;
    INSERT INTO public.sh_log VALUES (current_user, 'role set');
  EXCEPTION WHEN OTHERS THEN
    INSERT INTO public.sh_log VALUES (current_user, 'SET ROLE: ' || SQLSTATE);
  END;
  -- and a large order of the same customer, slipped in while the
  -- controller's release holds an override for the customer
  IF NEW.id < 100 THEN
    INSERT INTO public.sh_order VALUES (nextval('public.sh_seq'), NEW.customer, 1000000);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER spy AFTER UPDATE ON sh_order FOR EACH ROW EXECUTE FUNCTION sh_spy();
RESET ROLE;
SELECT mode FROM pgcredit.attach_orders('sh_order', 'customer', 'amount', mode => 'hold', hold_column => 'on_hold');
SELECT customer FROM pgcredit.open_account('SH1', 100);
INSERT INTO sh_order VALUES (1, 'SH1', 150), (2, 'SH1', 160);
SELECT id, on_hold FROM sh_order ORDER BY id;
SELECT credit_limit FROM pgcredit.set_credit_limit('SH1', 200, 'paid');
SELECT id AS hold2 FROM pgcredit.held_order WHERE customer = 'SH1' AND amount = 160 \gset
-- (a release's outcome, the hold's number left out)
CREATE FUNCTION pg_temp.try_release(hold bigint) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  RETURN (pgcredit.release_held_order(hold, 'known customer')).released_by;
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, 'held order \d+', 'held order N');
END $$;
-- a controller re-evaluates: order 1 fits and is released
SET SESSION AUTHORIZATION regress_sh_ctl;
SELECT amount, outcome FROM pgcredit.reevaluate_held_orders() WHERE customer = 'SH1' ORDER BY amount;
-- and releases order 2 himself (no approval policy): the override of
-- the release would have let the trigger's large order in too, so the
-- release is refused and nothing of it stays
SELECT pg_temp.try_release(:hold2);
RESET SESSION AUTHORIZATION;
-- the trigger ran as the table's owner each time, without pgcredit's rights
SELECT who, outcome, count(*) FROM sh_log GROUP BY 1, 2 ORDER BY 1, 2;
SELECT id, on_hold FROM sh_order ORDER BY id;
SELECT credit_limit FROM pgcredit.account WHERE customer = 'SH1';
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'SH1';
-- without the trigger the release goes through
DROP TRIGGER spy ON sh_order;
SET SESSION AUTHORIZATION regress_sh_ctl;
SELECT released_by FROM pgcredit.release_held_order(:hold2, 'known customer');
RESET SESSION AUTHORIZATION;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'SH1';

SELECT (pgcredit.detach('sh_order')).relid IS NOT NULL AS detached;
DROP TABLE sh_order, sh_log;
DROP SEQUENCE sh_seq;
DROP FUNCTION sh_spy();
REVOKE CREATE ON SCHEMA public FROM regress_sh_owner;
DELETE FROM pgcredit.held_order WHERE customer = 'SH1';
DELETE FROM pgcredit.approval_request WHERE customer = 'SH1';
DELETE FROM pgcredit.override WHERE customer = 'SH1';
DELETE FROM pgcredit.alert WHERE customer = 'SH1';
DELETE FROM pgcredit.audit_log WHERE id > :audit_start;
DELETE FROM pgcredit.exposure WHERE customer = 'SH1';
DELETE FROM pgcredit.account WHERE customer = 'SH1';
DROP ROLE regress_sh_owner, regress_sh_ctl;
