-- Shadow rules: judged beside the live rules on every order, never
-- stopping one, and recorded in pgcredit.rule_trial when they would have
-- stopped it (which order, which rule, the figures).  A rule tried this
-- way goes live with set_rule_action().
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT setval('pgcredit.credit_rule_id_seq', 100, false);

CREATE TABLE sh_order (id serial PRIMARY KEY, customer text NOT NULL,
                       amount numeric(12,2) NOT NULL);
SELECT kind, mode FROM pgcredit.attach_orders('sh_order', 'customer', 'amount');
SELECT customer, credit_limit FROM pgcredit.open_account('S1', 1000, risk_tier => 'C');
SELECT customer, credit_limit FROM pgcredit.open_account('S2', 1000, risk_tier => 'A');

-- a stricter policy to try for a week: tier C at half its limit, and no
-- order above 300 for anyone
SELECT id, kind, scope, scope_value, action, share
FROM pgcredit.add_rule('utilisation', 'shadow', 'half the limit for tier C', share => 0.5,
                       scope => 'tier', scope_value => 'C');
SELECT id, kind, scope, action, amount
FROM pgcredit.add_rule('largest_order', 'shadow', 'orders above 300 need a look', amount => 300);

-- every order goes in; the ones the rules would have stopped are recorded
INSERT INTO sh_order (customer, amount) VALUES ('S1', 250);   -- stopped by neither
INSERT INTO sh_order (customer, amount) VALUES ('S1', 400);   -- 650 of 1000 used, and above 300
INSERT INTO sh_order (customer, amount) VALUES ('S2', 400);   -- tier A: only the largest order rule
INSERT INTO sh_order (customer, amount) VALUES ('S2', 100);   -- stopped by neither
SELECT count(*) AS orders, sum(amount) AS total FROM sh_order;
SELECT rule_id, kind, customer, relid::regclass AS order_table, amount, sqlstate, figures
FROM pgcredit.rule_trial ORDER BY id;

-- an order a live rule refuses leaves no trial behind
INSERT INTO sh_order (customer, amount) VALUES ('S1', 500);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS trials FROM pgcredit.rule_trial;

-- what the trial says, rule by rule
SELECT r.id, r.kind, count(t.id) AS would_have_stopped, sum(t.amount) AS of_orders_worth
FROM pgcredit.credit_rule r LEFT JOIN pgcredit.rule_trial t ON t.rule_id = r.id
WHERE r.action = 'shadow' GROUP BY r.id, r.kind ORDER BY r.id;

-- switched on, the rule stops what it recorded
SELECT action FROM pgcredit.set_rule_action(101, 'refuse', 'tried for a week');
INSERT INTO sh_order (customer, amount) VALUES ('S2', 301);
\echo :LAST_ERROR_SQLSTATE
SELECT action FROM pgcredit.set_rule_action(101, 'shadow', 'back to trial');
INSERT INTO sh_order (customer, amount) VALUES ('S2', 301);
SELECT count(*) AS trials FROM pgcredit.rule_trial;

-- readers read the trials, admins clear them, the application sees nothing
CREATE ROLE regress_sh_reader IN ROLE pgcredit_reader;
CREATE ROLE regress_sh_admin IN ROLE pgcredit_admin;
CREATE ROLE regress_sh_app;
GRANT INSERT ON sh_order TO regress_sh_app;
GRANT USAGE ON SEQUENCE sh_order_id_seq TO regress_sh_app;
SET ROLE regress_sh_app;
INSERT INTO sh_order (customer, amount) VALUES ('S1', 302);
SELECT count(*) FROM pgcredit.rule_trial;
SET ROLE regress_sh_reader;
SELECT count(*) AS trials FROM pgcredit.rule_trial;
DELETE FROM pgcredit.rule_trial;
SET ROLE regress_sh_admin;
DELETE FROM pgcredit.rule_trial WHERE rule_id = 100;
RESET ROLE;
SELECT rule_id, count(*) FROM pgcredit.rule_trial GROUP BY rule_id ORDER BY 1;
DROP ROLE regress_sh_reader;
DROP ROLE regress_sh_admin;
REVOKE ALL ON sh_order FROM regress_sh_app;
REVOKE ALL ON SEQUENCE sh_order_id_seq FROM regress_sh_app;
DROP ROLE regress_sh_app;

-- a trial is recorded once per order stored: an INSERT whose row is
-- never stored (ON CONFLICT DO NOTHING, DO UPDATE) leaves none of its
-- own; the update that DO UPDATE makes instead is judged as any update
DELETE FROM pgcredit.rule_trial;
SELECT customer, credit_limit FROM pgcredit.open_account('S3', 10000, risk_tier => 'A');
INSERT INTO sh_order (id, customer, amount) VALUES (1000, 'S3', 100);
INSERT INTO sh_order (id, customer, amount) VALUES (1000, 'S3', 350) ON CONFLICT (id) DO NOTHING;
SELECT count(*) AS trials FROM pgcredit.rule_trial;
INSERT INTO sh_order (id, customer, amount) VALUES (1000, 'S3', 350)
ON CONFLICT (id) DO UPDATE SET amount = EXCLUDED.amount;
SELECT rule_id, customer, amount FROM pgcredit.rule_trial ORDER BY id;
INSERT INTO sh_order (id, customer, amount) VALUES (1000, 'S3', 320)
ON CONFLICT (id) DO UPDATE SET amount = EXCLUDED.amount;
SELECT rule_id, customer, amount FROM pgcredit.rule_trial ORDER BY id;
-- rows inserted by one statement each get their own
INSERT INTO sh_order (id, customer, amount) VALUES (1001, 'S3', 400), (1002, 'S3', 50), (1003, 'S3', 401);
SELECT rule_id, customer, amount FROM pgcredit.rule_trial ORDER BY id;
SELECT open_orders, order_count FROM pgcredit.exposure WHERE customer = 'S3';

SELECT relid FROM pgcredit.detach('sh_order');
DROP TABLE sh_order;
DELETE FROM pgcredit.credit_rule WHERE NOT builtin;
DELETE FROM pgcredit.rule_trial;
DELETE FROM pgcredit.audit_log WHERE customer IN ('S1', 'S2', 'S3') OR action LIKE '%rule%';
DELETE FROM pgcredit.exposure WHERE customer IN ('S1', 'S2', 'S3');
DELETE FROM pgcredit.account WHERE customer IN ('S1', 'S2', 'S3');
