-- The role matrix: every function, table, view, sequence and type of
-- pgcredit against every kind of role, allowed or refused.  The decisions
-- are written below by hand, from README.md ("Roles and security",
-- "Security model", "Who may see and do what"); the objects and their
-- privileges are read from the catalog.  An object without a decision, a
-- decision without an object, and a privilege that differs from its
-- decision each print a row, and the expected output has none: a new
-- function, table or view fails this test until it is decided here.
-- It runs in a database of its own, so that it sees a fresh install.
\set SHOW_CONTEXT never
\set regress_db :DBNAME
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_matrix;
CREATE DATABASE regress_matrix;
\c regress_matrix
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;

-- The roles: one with nothing, an application (DML on an attached table,
-- nothing of pgcredit's), and a member of each of pgcredit's roles.
CREATE ROLE regress_m_nobody;
CREATE ROLE regress_m_app;
CREATE ROLE regress_m_reader IN ROLE pgcredit_reader;
CREATE ROLE regress_m_controller IN ROLE pgcredit_controller;
CREATE ROLE regress_m_admin IN ROLE pgcredit_admin;
CREATE ROLE regress_m_sales IN ROLE pgcredit_sales;
CREATE ROLE regress_m_collector IN ROLE pgcredit_collector;

-- rank: the tier each role holds (0 PUBLIC only, 1 reader, 2 controller, 3 admin);
-- pgcredit_sales and pgcredit_collector stand apart, members of none of
-- them (rank 0)
CREATE TEMP TABLE m_role (role name PRIMARY KEY, label text NOT NULL, rank int NOT NULL, n int NOT NULL);
INSERT INTO m_role VALUES
  ('regress_m_nobody', 'nobody', 0, 1), ('regress_m_app', 'app', 0, 2),
  ('regress_m_reader', 'reader', 1, 3), ('regress_m_controller', 'controller', 2, 4),
  ('regress_m_admin', 'admin', 3, 5), ('regress_m_sales', 'sales', 0, 6),
  ('regress_m_collector', 'collector', 0, 7);

-- A decision names the lowest tier that holds a privilege; pgcredit's
-- roles are nested (reader < controller < admin), so every higher tier
-- holds it too.  "owner": nobody but pgcredit_owner (and superusers).
-- "sales": pgcredit_sales, and reader and every tier above it;
-- "controller+sales": pgcredit_sales, and controller and admin;
-- "collector": pgcredit_collector, and reader and every tier above it.
CREATE TEMP TABLE m_tier (tier text PRIMARY KEY, rank int NOT NULL);
INSERT INTO m_tier VALUES ('public', 0), ('reader', 1), ('controller', 2), ('admin', 3), ('owner', 4),
  ('sales', 1), ('controller+sales', 2), ('collector', 1);

----------------------------------------------------------------------
-- Decisions: functions (EXECUTE), by signature
----------------------------------------------------------------------
CREATE TEMP TABLE decided_function (signature text PRIMARY KEY, execute text NOT NULL REFERENCES m_tier);
INSERT INTO decided_function VALUES
  -- analytics functions and aggregates: every role (they run as the caller)
  ('pgcredit.aging_bucket(date,date,integer[])', 'public'),
  ('pgcredit.aging_bands(integer[])', 'public'),
  -- the aggregates' state type: its input and output, as any type's
  ('pgcredit.agg_state_in(cstring)', 'public'),
  ('pgcredit.agg_state_out(pgcredit.agg_state)', 'public'),
  ('pgcredit.agg_state_recv(internal)', 'public'),
  ('pgcredit.agg_state_send(pgcredit.agg_state)', 'public'),
  ('pgcredit.days_past_due(date,date)', 'public'),
  ('pgcredit.exposure_over_limit(numeric,numeric)', 'public'),
  ('pgcredit.exposure_over_limit(numeric,numeric,numeric)', 'public'),
  ('pgcredit.amount_sum(numeric)', 'public'),
  ('pgcredit.aging(numeric,date,date)', 'public'),
  ('pgcredit.aging(numeric,date,date,integer[])', 'public'),
  ('pgcredit.dso(numeric,date,date,date)', 'public'),
  ('pgcredit.dso(numeric,date,date,date,integer)', 'public'),
  ('pgcredit.dso_countback(numeric,date,date,date)', 'public'),
  ('pgcredit.best_possible_dso(numeric,date,date,date,date)', 'public'),
  ('pgcredit.best_possible_dso(numeric,date,date,date,date,integer)', 'public'),
  ('pgcredit.average_days_delinquent(numeric,date,date,date,date)', 'public'),
  ('pgcredit.average_days_delinquent(numeric,date,date,date,date,integer)', 'public'),
  ('pgcredit.dso_report(numeric,date,date,date,date)', 'public'),
  ('pgcredit.dso_report(numeric,date,date,date,date,integer)', 'public'),
  ('pgcredit.credit_score(numeric,date,date,date)', 'public'),
  ('pgcredit.credit_score(numeric,date,date,date,integer)', 'public'),
  ('pgcredit.credit_score_explain(numeric,date,date,date)', 'public'),
  ('pgcredit.credit_score_explain(numeric,date,date,date,integer)', 'public'),
  ('pgcredit.concentration_hhi(numeric)', 'public'),
  ('pgcredit.concentration_top_share(numeric,integer)', 'public'),
  -- risk functions open to every role ("Who may see and do what")
  ('pgcredit.as_of()', 'public'),
  -- an application learns the id of the hold its own write caused
  ('pgcredit.last_held_order_id()', 'public'),
  ('pgcredit.combined_score(numeric,numeric,numeric)', 'public'),
  ('pgcredit.risk_tier(numeric)', 'public'),
  ('pgcredit.risk_tier(numeric,text)', 'public'),
  -- the CSV loader acts as the caller ("Who may load"); load_csv_file
  -- checks pg_read_server_files itself
  ('pgcredit.load_csv(regclass,text,text,text,boolean,jsonb,text[],text,boolean,text[],text[],text[],boolean,bigint,text,bigint)', 'public'),
  ('pgcredit.load_csv(regclass,bytea,text,text,boolean,jsonb,text[],text,boolean,text[],text[],text[],boolean,bigint,text,bigint)', 'public'),
  ('pgcredit.load_csv_file(regclass,text,text,text,boolean,jsonb,text[],text,boolean,text[],text[],text[],boolean,bigint,text,bigint)', 'public'),
  -- the guard's triggers: attaching creates them as the table's owner,
  -- who needs EXECUTE; on a table that is not attached they refuse (55000)
  ('pgcredit.exposure_trigger()', 'public'),
  ('pgcredit.exposure_truncate_trigger()', 'public'),
  -- pgcredit_reader
  ('pgcredit.verify_exposure()', 'reader'),
  ('pgcredit.verify_account_copy()', 'reader'),
  ('pgcredit.verify_receivable_due()', 'reader'),
  ('pgcredit.verify_order_horizon()', 'reader'),
  -- the horizon's today, which pgcredit.future_orders reads as its reader
  ('pgcredit._horizon_today()', 'reader'),
  ('pgcredit.receivable_stats(date)', 'reader'),
  ('pgcredit.receivable_stats(date,text)', 'reader'),
  ('pgcredit.portfolio_stats(date)', 'reader'),
  ('pgcredit.external_score_now(date)', 'reader'),
  ('pgcredit.external_score_now(date,text)', 'reader'),
  ('pgcredit.customer_risk_at(date)', 'reader'),
  ('pgcredit.customer_risk_at(date,text)', 'reader'),
  -- the function forms of views, and the flat name of a table the views show
  ('pgcredit.aging_by_customer_at(date)', 'reader'),
  ('pgcredit.held_orders_at(date)', 'reader'),
  ('pgcredit.portfolio_at(date)', 'reader'),
  ('pgcredit.cover_book_at(date)', 'reader'),
  ('pgcredit._qualified_name(oid)', 'reader'),
  ('pgcredit.watchlist_at(date)', 'reader'),
  ('pgcredit.recommend_limit(text,date)', 'reader'),
  -- helpers that the risk views call as their reader
  ('pgcredit._newly_overdue(date,integer,integer)', 'reader'),
  ('pgcredit._settings_or_default()', 'reader'),
  ('pgcredit._combine(numeric,numeric,numeric,numeric,numeric,numeric)', 'reader'),
  ('pgcredit._effective_limit(numeric,numeric,date,date,date)', 'reader'),
  -- helpers that pending_requests calls as its reader (a controller)
  ('pgcredit._person()', 'controller'),
  ('pgcredit._request_size(text,text,numeric,bigint)', 'controller'),
  ('pgcredit._in_book_currency(text,numeric)', 'controller'),
  ('pgcredit._covering_authority(text,text,numeric,numeric)', 'controller'),
  ('pgcredit._may_approve(text,text,numeric,numeric)', 'controller'),
  -- the verdict on an order without writing: sales applications too
  ('pgcredit.check_order(text,numeric,regclass,numeric,text,date,date)', 'sales'),
  -- one customer's credit status, for the same applications
  ('pgcredit.credit_status(text)', 'sales'),
  -- pgcredit_controller
  ('pgcredit.open_account(text,numeric,numeric,integer,text,date,text)', 'controller'),
  -- credit groups: controllers change them; readers verify
  ('pgcredit.create_group(text,numeric,numeric,text,text,text)', 'controller'),
  ('pgcredit.set_group_limit(text,numeric,text,numeric)', 'controller'),
  ('pgcredit.set_group_parent(text,text,text)', 'controller'),
  ('pgcredit.join_group(text,text,text)', 'controller'),
  ('pgcredit.leave_group(text,text)', 'controller'),
  ('pgcredit.drop_group(text,text)', 'controller'),
  ('pgcredit.verify_group_exposure()', 'reader'),
  -- cover: controllers record it, admins set the policy, readers read
  -- and verify (cover_at and customer_cover_at read what readers may)
  ('pgcredit.add_cover(text,text,text,numeric,text,date,date,numeric,numeric,text,text,text)', 'controller'),
  ('pgcredit.decide_cover(bigint,text,text,numeric,date,text)', 'controller'),
  ('pgcredit.change_cover(bigint,text,numeric,numeric,numeric,date,date,text,text)', 'controller'),
  ('pgcredit.end_cover(bigint,text,date)', 'controller'),
  ('pgcredit.set_cover_policy(text,boolean,numeric,text,boolean,integer)', 'admin'),
  ('pgcredit.verify_cover()', 'reader'),
  ('pgcredit.cover_at(date)', 'reader'),
  ('pgcredit.cover_at(date,text)', 'reader'),
  ('pgcredit.customer_cover_at(date)', 'reader'),
  ('pgcredit._cover_value(numeric,numeric,numeric)', 'reader'),
  -- exposure categories: admins add categories (as they attach tables),
  -- controllers set sub-limits; readers verify
  ('pgcredit.add_category(text,text,text)', 'admin'),
  ('pgcredit.set_category_limit(text,numeric,text,text,numeric)', 'controller'),
  ('pgcredit.verify_category_exposure()', 'reader'),
  ('pgcredit.set_credit_limit(text,numeric,text)', 'controller'),
  ('pgcredit.set_tolerance(text,numeric,text)', 'controller'),
  ('pgcredit.set_temporary_limit(text,numeric,date,text,date)', 'controller'),
  ('pgcredit.clear_temporary_limit(text,text)', 'controller'),
  ('pgcredit.set_status(text,text,text)', 'controller'),
  ('pgcredit.place_hold(text,text)', 'controller'),
  ('pgcredit.block_account(text,text)', 'controller'),
  ('pgcredit.release_hold(text,text)', 'controller'),
  ('pgcredit.update_account(text,text,integer,text,date)', 'controller'),
  ('pgcredit.override_block(text,text)', 'controller'),
  ('pgcredit.release_held_order(bigint,text)', 'controller'),
  ('pgcredit.refresh_scores(date)', 'controller'),
  ('pgcredit.refresh_book(date)', 'controller'),
  ('pgcredit.write_off(text,numeric,date,text)', 'controller'),
  ('pgcredit.record_recovery(bigint,numeric,date,text)', 'controller'),
  ('pgcredit.set_provision_settings(text,integer,numeric,text)', 'controller'),
  ('pgcredit.set_provision_rates(numeric,numeric,numeric,numeric,numeric,text)', 'controller'),
  ('pgcredit.refresh_provision_matrix(date)', 'controller'),
  ('pgcredit.roll_rates(date,integer)', 'reader'),
  ('pgcredit.expected_credit_loss_at(date)', 'reader'),
  ('pgcredit.provision_at(date)', 'reader'),
  ('pgcredit.altman_z2(numeric,numeric,numeric,numeric,numeric,numeric,numeric)', 'reader'),
  ('pgcredit.altman_zone(numeric)', 'reader'),
  ('pgcredit.financial_score_now(date,text)', 'reader'),
  ('pgcredit.payment_predictions_at(date)', 'reader'),
  ('pgcredit.cash_forecast_at(date,integer)', 'reader'),
  ('pgcredit.evaluate_payment_predictions(date)', 'reader'),
  -- policy replay: controllers keep drafts, readers replay them
  ('pgcredit.create_policy_draft(text,text)', 'controller'),
  ('pgcredit.drop_policy_draft(text)', 'controller'),
  ('pgcredit.draft_limits_from_tiers(text,date)', 'controller'),
  ('pgcredit.replay_policy(text,date,date)', 'reader'),
  ('pgcredit.replay_policy_customers(text,date,date)', 'reader'),
  ('pgcredit.replay_policy_orders(text,date,date)', 'reader'),
  -- Citus: attach the shards where they are now, after shards moved
  ('pgcredit.citus_sync()', 'admin'),
  ('pgcredit.citus_exposure()', 'reader'),
  -- which attached tables are distributed: the risk views ask, as their reader
  ('pgcredit._citus_shells()', 'reader'),
  -- the workers' exposure, for the risk views on a coordinator, as their reader
  ('pgcredit._citus_exposure_at(date,text)', 'reader'),
  ('pgcredit._citus_category_exposure()', 'reader'),
  ('pgcredit._citus_receivable_due(date)', 'reader'),
  ('pgcredit._citus_verify(text)', 'reader'),
  ('pgcredit._citus_history_row(text,timestamp with time zone)', 'reader'),
  ('pgcredit._exposure_history_row(text,timestamp with time zone)', 'reader'),
  ('pgcredit._exposure_now(text)', 'reader'),
  ('pgcredit._combine(numeric,numeric,numeric,numeric,numeric,numeric,numeric,numeric)', 'reader'),
  ('pgcredit.combined_score(numeric,numeric,numeric,numeric)', 'reader'),
  ('pgcredit.apply_tier_policy(text,text)', 'controller'),
  -- approvals: controllers ask, approve (with authority) and reject
  -- a sales user may ask for a limit too, never approve one
  ('pgcredit.request_limit(text,numeric,text,date,date)', 'controller+sales'),
  ('pgcredit.request_release(bigint,text)', 'controller'),
  ('pgcredit.request_override(text,text)', 'controller'),
  ('pgcredit.request_unblock(text,text)', 'controller'),
  ('pgcredit.approve_request(bigint,text)', 'controller'),
  ('pgcredit.reject_request(bigint,text)', 'controller'),
  ('pgcredit.expire_requests()', 'controller'),
  ('pgcredit.reevaluate_held_orders()', 'controller'),
  ('pgcredit.reject_held_order(bigint,text)', 'controller'),
  -- pgcredit_admin
  ('pgcredit.advance_horizon(date)', 'admin'),
  ('pgcredit.attach_orders(regclass,name,name,name,text[],text,name,name,name,name,text,name,integer,name)', 'admin'),
  ('pgcredit.set_order_date_column(regclass,name)', 'admin'),
  -- run as the caller, who must own the table
  ('pgcredit.create_customer_index(regclass)', 'admin'),
  ('pgcredit._has_customer_index(regclass,name)', 'admin'),
  ('pgcredit.attach_receivables(regclass,name,name,name,name,text[],name,name,name,name,name,text)', 'admin'),
  ('pgcredit.detach(regclass)', 'admin'),
  ('pgcredit.set_no_account_policy(text,numeric,numeric,text)', 'admin'),
  ('pgcredit.set_max_days_past_due(integer,text)', 'admin'),
  ('pgcredit.set_time_zone(text,text)', 'admin'),
  -- the credit policy: rules
  ('pgcredit.add_rule(text,text,text,text,text,integer,numeric,numeric,numeric,integer,text[],date,date,text[],text,text)', 'admin'),
  ('pgcredit.set_rule_action(bigint,text,text)', 'admin'),
  ('pgcredit.set_rule_validity(bigint,date,date,text)', 'admin'),
  ('pgcredit.set_rule_exclusions(bigint,text[],text)', 'admin'),
  ('pgcredit.drop_rule(bigint,text)', 'admin'),
  ('pgcredit.rebuild_exposure()', 'admin'),
  -- internal helpers and the triggers of pgcredit's own tables: nobody
  -- (the functions above call them as pgcredit_owner; a trigger function
  -- needs no EXECUTE to fire)
  ('pgcredit._actor()', 'owner'),
  ('pgcredit._audit(text,text,jsonb,jsonb,text)', 'owner'),
  ('pgcredit._check_reason(text)', 'owner'),
  ('pgcredit._check_amount(text,numeric)', 'owner'),
  ('pgcredit._lock_exposure(text)', 'owner'),
  -- group_member_risk calls it as its reader
  ('pgcredit._group_chain(text)', 'reader'),
  ('pgcredit._groups_changed()', 'owner'),
  ('pgcredit._group_exists(text)', 'owner'),
  ('pgcredit._group_check(text,numeric,text)', 'owner'),
  ('pgcredit._move_customer_group(text,text,text,text)', 'owner'),
  ('pgcredit._actual_group_exposure()', 'owner'),
  ('pgcredit._rebuild_group_exposure()', 'owner'),
  ('pgcredit._check_cover_dates(date,date)', 'owner'),
  ('pgcredit._check_share(numeric)', 'owner'),
  ('pgcredit._cover_alerts(date)', 'owner'),
  ('pgcredit._cover_approval(pgcredit.cover)', 'owner'),
  ('pgcredit._cover_copy(text)', 'owner'),
  ('pgcredit._cover_refresh(text)', 'owner'),
  ('pgcredit._cover_window(text,date)', 'owner'),
  ('pgcredit._lock_cover(bigint)', 'owner'),
  ('pgcredit._rebuild_cover()', 'owner'),
  ('pgcredit._category_limits_changed()', 'owner'),
  ('pgcredit._category_exists(text)', 'owner'),
  ('pgcredit._category_standing(text,text)', 'owner'),
  ('pgcredit._actual_category_exposure(boolean)', 'owner'),
  ('pgcredit._rebuild_category_exposure()', 'owner'),
  ('pgcredit._change_account(text,jsonb,text,text)', 'owner'),
  ('pgcredit._attached_items(text,text,regclass,boolean)', 'owner'),
  ('pgcredit._check_attach_column(regclass,name,text)', 'owner'),
  ('pgcredit._table_triggers(regclass,boolean)', 'owner'),
  ('pgcredit._clear_hold_mark(regclass,jsonb,text,numeric,text,date)', 'owner'),
  ('pgcredit._actual_exposure(boolean)', 'owner'),
  ('pgcredit._actual_receivable_due(boolean)', 'owner'),
  ('pgcredit._actual_order_horizon(boolean)', 'owner'),
  ('pgcredit._column_type(regclass,name,text)', 'owner'),
  ('pgcredit._attach(regclass,text,name,name,name,name,text[],text,name,name,name,name,name,name,name,text,name,integer)', 'owner'),
  ('pgcredit._close_held_order(oid,jsonb,text)', 'owner'),
  ('pgcredit._ddl_guard()', 'owner'),
  ('pgcredit._in_inheritance(regclass)', 'owner'),
  ('pgcredit._move_held_order(oid,jsonb,oid,jsonb)', 'owner'),
  ('pgcredit._record_hold(oid,jsonb,text,numeric,text)', 'owner'),
  ('pgcredit._record_hold_fx(oid,jsonb,text,numeric,text,numeric,text,date)', 'owner'),
  ('pgcredit.items_past_due(text,integer)', 'owner'),
  ('pgcredit._check_day(date)', 'owner'),
  ('pgcredit._receivable_items_sql(boolean)', 'owner'),
  ('pgcredit._receivable_book(date)', 'owner'),
  ('pgcredit._receivable_stats_computed(date,text)', 'owner'),
  ('pgcredit._receivable_book_kept(date,integer,integer)', 'owner'),
  ('pgcredit._book_rows(date,text[],integer,integer)', 'owner'),
  ('pgcredit._disputes_out_of_score(date)', 'owner'),
  ('pgcredit._book_patch_limit(bigint)', 'owner'),
  ('pgcredit._book_changes(date,boolean,integer,integer)', 'owner'),
  ('pgcredit._book_changed()', 'owner'),
  ('pgcredit._check_loss(text,numeric,date)', 'owner'),
  ('pgcredit._provision_settings()', 'owner'),
  ('pgcredit._payment_history()', 'owner'),
  ('pgcredit._payment_model(text[],date[],date[],numeric,numeric,numeric)', 'owner'),
  ('pgcredit._recency_weight(integer,numeric)', 'owner'),
  ('pgcredit._check_draft_name(text)', 'owner'),
  ('pgcredit._check_replay(text,date,date)', 'owner'),
  ('pgcredit._draft(text)', 'owner'),
  ('pgcredit._replay_accounts(text)', 'owner'),
  ('pgcredit._replay_losses(date)', 'owner'),
  ('pgcredit._replay_rules(text)', 'owner'),
  ('pgcredit._replay_walk(text,date,date,boolean)', 'owner'),
  ('pgcredit._receivable_portfolio(date)', 'owner'),
  ('pgcredit._receivable_newly_overdue(date,integer,integer)', 'owner'),
  ('pgcredit._note_customer_index(regclass,name)', 'owner'),
  -- Citus: the statements run on other nodes (as the owner of citus:
  -- pgcredit's functions alone, never a role), the policy feed's triggers
  ('pgcredit._cluster_exec(text)', 'owner'),
  ('pgcredit._cluster_query(text)', 'owner'),
  ('pgcredit._attach_shard(text,text,jsonb,boolean)', 'owner'),
  ('pgcredit._citus_attach(pgcredit.attachment)', 'owner'),
  ('pgcredit._citus_check_attach(regclass,name,text)', 'owner'),
  ('pgcredit._citus_coordinator()', 'owner'),
  ('pgcredit._citus_detach(regclass)', 'owner'),
  ('pgcredit._citus_enable()', 'owner'),
  ('pgcredit._citus_installed()', 'owner'),
  ('pgcredit._citus_no_groups()', 'owner'),
  ('pgcredit._citus_on_shards(regclass,text,text)', 'owner'),
  ('pgcredit._citus_on_workers(text)', 'owner'),
  ('pgcredit._citus_rebuild_here()', 'owner'),
  ('pgcredit._citus_table(regclass)', 'owner'),
  ('pgcredit._citus_verify_exposure()', 'owner'),
  ('pgcredit._citus_check_order(text,numeric,regclass,numeric,text,date,date)', 'owner'),
  ('pgcredit._citus_ask(text,text)', 'owner'),
  ('pgcredit._citus_revalue_here(text)', 'owner'),
  ('pgcredit._citus_shard_of(text,regclass)', 'owner'),
  ('pgcredit._detach_shard(text)', 'owner'),
  ('pgcredit._drop_guard_triggers(regclass)', 'owner'),
  ('pgcredit._citus_run(text[],integer[],text[],text,text)', 'owner'),
  ('pgcredit._citus_rows(text)', 'owner'),
  ('pgcredit._citus_shell_triggers(regclass,boolean)', 'owner'),
  ('pgcredit._policy_apply()', 'owner'),
  ('pgcredit._policy_apply_row(name,text,jsonb,jsonb)', 'owner'),
  ('pgcredit._policy_fed()', 'owner'),
  ('pgcredit._policy_feed()', 'owner'),
  ('pgcredit._policy_key(regclass)', 'owner'),
  ('pgcredit._policy_send(name,text,jsonb,jsonb)', 'owner'),
  ('pgcredit._policy_tables()', 'owner'),
  -- the planner support of the per-customer functions: the planner calls it
  ('pgcredit._customer_support(internal)', 'owner'),
  ('pgcredit._notify_alert()', 'owner'),
  ('pgcredit._alert_on_hold()', 'owner'),
  ('pgcredit._account_import_row()', 'owner'),
  ('pgcredit._tier_policy_replace()', 'owner'),
  ('pgcredit._auto_watch(date)', 'owner'),
  ('pgcredit._grant_override(text,text)', 'owner'),
  ('pgcredit._audit_approval_data()', 'owner'),
  ('pgcredit._check_approval(text,text,numeric,bigint)', 'owner'),
  ('pgcredit._apply_request(pgcredit.approval_request)', 'owner'),
  ('pgcredit._file_request(pgcredit.approval_request)', 'owner'),
  ('pgcredit._pending_request(bigint)', 'owner'),
  ('pgcredit._obsolete_release_requests()', 'owner'),
  ('pgcredit._rules_changed()', 'owner'),
  ('pgcredit._settings_changed()', 'owner'),
  ('pgcredit._check_rule(pgcredit.credit_rule)', 'owner'),
  ('pgcredit._change_rule(bigint,jsonb,text,text)', 'owner'),
  ('pgcredit._overdue_amount(text,integer)', 'owner'),
  ('pgcredit._record_trial(bigint,text,text,oid,numeric,text,text,text,text,text)', 'owner'),
  ('pgcredit._tier(numeric,text,numeric,numeric,numeric,numeric,numeric)', 'owner'),
  -- currencies: readers convert as the guard does; admins set the base
  -- currency and revalue; controllers set accounts' and groups' currencies
  ('pgcredit.fx_convert(numeric,text,text,date)', 'reader'),
  ('pgcredit.set_base_currency(text,text)', 'admin'),
  ('pgcredit.revalue_exposure(text)', 'admin'),
  ('pgcredit.set_account_currency(text,text,text)', 'controller'),
  ('pgcredit.set_group_currency(text,text,text)', 'controller'),
  ('pgcredit._check_currency_code(text,text)', 'owner'),
  ('pgcredit._check_currency_columns(regclass,name,name,text)', 'owner'),
  ('pgcredit._effective_currency(text)', 'owner'),
  ('pgcredit._check_group_currency()', 'owner'),
  ('pgcredit._fx_rate_changed()', 'owner'),
  ('pgcredit._account_changed()', 'owner'),
  ('pgcredit._audit_fx_rate()', 'owner'),
  ('pgcredit._stamp_fx_rate()', 'owner'),
  -- collections: admins set the dunning policies, controllers give a
  -- customer its own (or none) and run the day; readers preview the
  -- day's actions and read where each customer stands
  ('pgcredit.create_dunning_policy(text,text,numeric,integer,text)', 'admin'),
  ('pgcredit.alter_dunning_policy(text,text,numeric,integer,text)', 'admin'),
  ('pgcredit.drop_dunning_policy(text,text)', 'admin'),
  ('pgcredit.set_dunning_level(text,integer,integer,text,text,text,text)', 'admin'),
  ('pgcredit.drop_dunning_level(text,integer,text)', 'admin'),
  ('pgcredit.set_tier_dunning_policy(text,text,text)', 'admin'),
  ('pgcredit.set_customer_dunning_policy(text,text,text)', 'controller'),
  ('pgcredit.exempt_from_dunning(text,text)', 'controller'),
  ('pgcredit.run_collections(date)', 'controller'),
  ('pgcredit.due_collection_actions(date)', 'reader'),
  ('pgcredit.collection_status_at(date)', 'reader'),
  ('pgcredit._attached_items_keyed(text,text,regclass,boolean,date)', 'owner'),
  ('pgcredit._check_name(text,text)', 'owner'),
  ('pgcredit._dunning_policies(date,text[])', 'owner'),
  ('pgcredit._dunning_policy_row(text)', 'owner'),
  ('pgcredit._open_items_at(date)', 'owner'),
  ('pgcredit._dunning_items(date)', 'owner'),
  ('pgcredit._set_dunning_exception(text,text,boolean,text)', 'owner'),
  -- the worklist: collectors and readers read it; controllers assign
  -- collectors, admins decide whether collectors see only their own
  ('pgcredit.collection_worklist_at(date)', 'collector'),
  ('pgcredit.assign_collector(text,name,text)', 'controller'),
  ('pgcredit.set_worklist_by_assignment(boolean,text)', 'admin'),
  -- the exposure history: readers ask what the guard judged by at a time,
  -- administrators turn the history off and on
  ('pgcredit.exposure_at(text,timestamp with time zone)', 'reader'),
  ('pgcredit.set_exposure_history(boolean,text)', 'admin'),
  ('pgcredit._exposure_history_row()', 'owner'),
  ('pgcredit._exposure_history_seed()', 'owner'),
  -- customer_risk_at calls it as its reader
  ('pgcredit._exposure_state_at(date,text)', 'reader'),
  ('pgcredit._tier_weight(text)', 'owner'),
  -- early-payment terms: admins define the terms, the default and the
  -- cost of capital, controllers give a customer its own; readers read
  -- the opportunities, the discounts taken and their economics
  ('pgcredit.create_payment_terms(text,numeric,integer,integer,text,text)', 'admin'),
  ('pgcredit.drop_payment_terms(text,text)', 'admin'),
  ('pgcredit.set_default_payment_terms(text,text,date)', 'admin'),
  ('pgcredit.set_cost_of_capital(numeric,text)', 'admin'),
  ('pgcredit.set_customer_payment_terms(text,text,text,date)', 'controller'),
  ('pgcredit.discount_opportunities_at(date)', 'reader'),
  ('pgcredit.discounts_taken_at(date,integer)', 'reader'),
  ('pgcredit.discount_economics_at(date,integer)', 'reader'),
  ('pgcredit._check_known_customer(text)', 'owner'),
  ('pgcredit._check_valid_from(date)', 'owner'),
  ('pgcredit._payment_terms_row(text)', 'owner'),
  ('pgcredit._items_with_terms()', 'owner'),
  ('pgcredit._period_start(date,integer)', 'owner'),
  -- late fees: admins set the policies and the tiers' policies,
  -- controllers give a customer its own (or none) and record what was
  -- posted or waived; readers read the proposals
  ('pgcredit.create_late_fee_policy(text,numeric,text,integer,numeric,numeric,numeric,text)', 'admin'),
  ('pgcredit.drop_late_fee_policy(text,text)', 'admin'),
  ('pgcredit.set_tier_late_fee_policy(text,text,text)', 'admin'),
  ('pgcredit.set_customer_late_fee_policy(text,text,text)', 'controller'),
  ('pgcredit.exempt_from_late_fees(text,text)', 'controller'),
  ('pgcredit.post_late_fee(regclass,jsonb,numeric,date,text)', 'controller'),
  ('pgcredit.waive_late_fee(regclass,jsonb,date,text)', 'controller'),
  ('pgcredit.late_fee_proposals_at(date)', 'reader'),
  ('pgcredit._late_fee_policy_row(text)', 'owner'),
  ('pgcredit._set_late_fee_exception(text,text,boolean,text)', 'owner'),
  ('pgcredit._late_fee_policies(date,text[])', 'owner'),
  ('pgcredit._late_fees_at(date)', 'owner'),
  ('pgcredit._settle_late_fee(regclass,jsonb,numeric,date,text,text)', 'owner'),
  -- disputes: controllers open and close them; readers read them and
  -- verify the disputed buckets (the view disputes reads the items as
  -- its reader)
  ('pgcredit.open_dispute(regclass,jsonb,text,date)', 'controller'),
  ('pgcredit.resolve_dispute(bigint,text,date)', 'controller'),
  ('pgcredit.write_off_dispute(bigint,text,date)', 'controller'),
  ('pgcredit.verify_dispute_due()', 'reader'),
  ('pgcredit._dispute_items()', 'reader'),
  ('pgcredit._disputes_changed()', 'owner'),
  ('pgcredit._dispute_key(jsonb)', 'owner'),
  ('pgcredit._dispute_item(regclass,jsonb)', 'owner'),
  ('pgcredit._dispute_share(text,date,numeric,integer)', 'owner'),
  ('pgcredit._actual_dispute_due(regclass)', 'owner'),
  ('pgcredit._dispute_shares(regclass,integer)', 'owner'),
  ('pgcredit._rebuild_dispute_due()', 'owner'),
  ('pgcredit._check_dispute_day(text,date)', 'owner'),
  ('pgcredit._dispute_lock(regclass,jsonb,text[])', 'owner'),
  ('pgcredit._close_dispute(bigint,text,text,date)', 'owner'),
  ('pgcredit._disputed_items_at(date)', 'owner'),
  ('pgcredit._receivable_items_disputed_sql(boolean)', 'owner'),
  -- promises to pay and payment plans: controllers record and cancel
  -- them, run_collections() decides them; readers read their record and
  -- the instalments
  ('pgcredit.record_promise(text,numeric,date,text,date)', 'controller'),
  ('pgcredit.cancel_promise(bigint,text)', 'controller'),
  ('pgcredit.create_payment_plan(text,jsonb,text,jsonb,date,integer)', 'controller'),
  ('pgcredit.cancel_payment_plan(bigint,text)', 'controller'),
  ('pgcredit.broken_promises_at(date)', 'reader'),
  ('pgcredit.promise_record_at(date)', 'reader'),
  ('pgcredit.plan_instalments_at(date)', 'reader'),
  ('pgcredit._check_arrangement(text,text,date)', 'owner'),
  ('pgcredit._decide_plans(date)', 'owner'),
  ('pgcredit._decide_promises(date)', 'owner'),
  ('pgcredit._items_with_plans_at(date)', 'owner'),
  ('pgcredit._latest_collection_day()', 'owner'),
  ('pgcredit._open_items_of(text,date)', 'owner'),
  ('pgcredit._open_on(numeric,boolean,numeric,date,date,date)', 'owner'),
  ('pgcredit._plan_instalments(bigint,numeric)', 'owner');
-- By rule, not listed: the support functions of pgcredit's aggregates
-- that take an argument of type internal (no SQL call can pass one) are
-- executable by every role, like their aggregates.

----------------------------------------------------------------------
-- Decisions: tables and views (SELECT, INSERT, UPDATE, DELETE)
----------------------------------------------------------------------
CREATE TEMP TABLE decided_relation (relation text PRIMARY KEY, kind text NOT NULL,
  sel text NOT NULL REFERENCES m_tier, ins text NOT NULL REFERENCES m_tier,
  upd text NOT NULL REFERENCES m_tier, del text NOT NULL REFERENCES m_tier);
INSERT INTO decided_relation VALUES
  -- credit control: read by readers, written through the functions only
  ('pgcredit.account',              'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.exposure',             'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.receivable_due',       'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.order_horizon',        'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.future_orders',        'view',  'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.credit_group',         'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.group_member',         'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.group_exposure',       'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.cover',                'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.cover_policy',         'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.exposure_category',    'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.category_exposure',    'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.category_limit',       'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.settings',             'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.attachment',           'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.held_order',           'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.override',             'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.audit_log',            'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.credit_rule',          'table', 'reader', 'owner', 'owner', 'owner'),
  -- what shadow rules would have done: admins clear it once read
  ('pgcredit.rule_trial',           'table', 'reader', 'owner', 'owner', 'admin'),
  -- CSV loads: every role reads its own runs (row-level security),
  -- readers all of them; the loader writes them as pgcredit_owner
  ('pgcredit.import_run',           'table', 'public', 'owner', 'owner', 'owner'),
  ('pgcredit.import_reject',        'table', 'public', 'owner', 'owner', 'owner'),
  -- bureau scores: controllers write them
  ('pgcredit.external_score',       'table', 'reader', 'controller', 'controller', 'controller'),
  -- accounts loaded from CSV go through the account functions
  ('pgcredit.account_import',       'view',  'controller', 'controller', 'owner', 'owner'),
  -- risk: written by pgcredit's functions and triggers alone
  ('pgcredit.score_history',        'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.alert',                'table', 'reader', 'owner', 'owner', 'owner'),
  -- losses: written by write_off(), write_off_dispute(), record_recovery()
  ('pgcredit.write_off',            'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.recovery',             'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.losses',               'view',  'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.write_off_post_mortem', 'view', 'reader', 'owner', 'owner', 'owner'),
  -- customers' yearly figures: controllers load them (load_csv), as scores
  ('pgcredit.financial_statement',  'table', 'reader', 'controller', 'controller', 'controller'),
  ('pgcredit.financial_ratios',     'view',  'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.payment_predictions',  'view',  'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.cash_forecast',        'view',  'reader', 'owner', 'owner', 'owner'),
  -- draft policies: a controller's sandbox, made and dropped by the
  -- functions, edited with SQL; nothing live reads them
  ('pgcredit.policy_draft',         'table', 'reader', 'owner', 'owner', 'owner'),
  -- Citus: the workers' exposure, read live on the coordinator
  ('pgcredit.cluster_exposure',     'view',  'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.policy_draft_limit',   'table', 'reader', 'controller', 'controller', 'controller'),
  ('pgcredit.policy_draft_rule',    'table', 'reader', 'controller', 'controller', 'controller'),
  ('pgcredit.policy_draft_tier',    'table', 'reader', 'controller', 'controller', 'controller'),
  -- expected credit loss: settings and rates through the functions
  ('pgcredit.provision_settings',   'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.provision_rate',       'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.provision_matrix',     'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.expected_credit_loss', 'view',  'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.provision',            'view',  'reader', 'owner', 'owner', 'owner'),
  -- the kept book: written by refresh_book() and the triggers alone
  ('pgcredit.book_state',           'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.book_cache',           'table', 'reader', 'owner', 'owner', 'owner'),
  -- the settings of the risk scores, edited by admins with SQL
  ('pgcredit.risk_settings',        'table', 'reader', 'admin', 'admin', 'admin'),
  ('pgcredit.external_score_scale', 'table', 'reader', 'admin', 'admin', 'admin'),
  ('pgcredit.tier_policy',          'table', 'reader', 'admin', 'admin', 'admin'),
  -- exchange rates: admins (or a treasury job as one) write them, audited by trigger
  ('pgcredit.fx_rate',              'table', 'reader', 'admin', 'admin', 'admin'),
  -- approvals: persons, thresholds and authority edited by admins with
  -- SQL (audited by trigger); requests written by the functions alone;
  -- the pending requests read by those who may approve
  ('pgcredit.person_login',         'table', 'reader', 'admin', 'admin', 'admin'),
  ('pgcredit.approval_policy',      'table', 'reader', 'admin', 'admin', 'admin'),
  ('pgcredit.approval_authority',   'table', 'reader', 'admin', 'admin', 'admin'),
  ('pgcredit.approval_request',     'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.pending_requests',     'view',  'controller', 'owner', 'owner', 'owner'),
  -- the risk views
  ('pgcredit.customer_risk',        'view',  'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.group_risk',           'view',  'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.group_member_risk',    'view',  'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.customer_cover',       'view',  'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.cover_book',           'view',  'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.cover_policy_in_force', 'view', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.exposure_breakdown',   'view',  'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.category_totals',      'view',  'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.aging_by_customer',    'view',  'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.portfolio',            'view',  'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.held_orders',          'view',  'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.limit_history',        'view',  'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.watchlist',            'view',  'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.tier_churn',           'view',  'reader', 'owner', 'owner', 'owner'),
  -- collections: read by readers, written through the functions only
  ('pgcredit.dunning_policy',       'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.dunning_level',        'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.dunning_assignment',   'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.dunning_exception',    'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.dunning_status',       'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.collection_state',     'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.collection_run',       'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.collection_action',    'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.collection_action_item', 'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.collection_status',    'view',  'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.collector_assignment', 'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.collection_worklist',  'view',  'collector', 'owner', 'owner', 'owner'),
  -- early-payment terms and late fees: read by readers, written through
  -- the functions only
  ('pgcredit.payment_terms',        'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.default_terms',        'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.customer_terms',       'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.discount_settings',    'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.discount_opportunities', 'view', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.discounts_taken',      'view',  'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.discount_economics',   'view',  'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.late_fee_policy',      'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.late_fee_assignment',  'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.late_fee_exception',   'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.late_fee',             'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.late_fee_proposals',   'view',  'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.collection_dispute',   'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.dispute_due',          'table', 'reader', 'owner', 'owner', 'owner'),
  -- the exposure history: written by the guard and the trigger only
  ('pgcredit.exposure_history',     'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.receivables_by_dispute', 'view', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.disputes',             'view',  'reader', 'owner', 'owner', 'owner'),
  -- promises to pay and payment plans: read by readers, written through
  -- the functions only
  ('pgcredit.promise_to_pay',       'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.promise_item',         'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.payment_plan',         'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.payment_plan_item',    'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.plan_instalment',      'table', 'reader', 'owner', 'owner', 'owner'),
  ('pgcredit.promise_record',       'view',  'reader', 'owner', 'owner', 'owner');
-- By rule, not listed: TRUNCATE, REFERENCES and TRIGGER on any of them
-- belong to the owner alone.

----------------------------------------------------------------------
-- Decisions: sequences (USAGE, SELECT, UPDATE) and types (USAGE)
----------------------------------------------------------------------
CREATE TEMP TABLE decided_sequence (sequence text PRIMARY KEY,
  usage text NOT NULL REFERENCES m_tier, sel text NOT NULL REFERENCES m_tier,
  upd text NOT NULL REFERENCES m_tier);
INSERT INTO decided_sequence VALUES
  -- numbers are drawn by pgcredit's own inserts only
  ('pgcredit.held_order_id_seq',    'owner', 'owner', 'owner'),
  ('pgcredit.audit_log_id_seq',     'owner', 'owner', 'owner'),
  ('pgcredit.import_run_id_seq',    'owner', 'owner', 'owner'),
  ('pgcredit.import_reject_id_seq', 'owner', 'owner', 'owner'),
  ('pgcredit.alert_id_seq',         'owner', 'owner', 'owner'),
  ('pgcredit.approval_request_id_seq', 'owner', 'owner', 'owner'),
  ('pgcredit.cover_id_seq',         'owner', 'owner', 'owner'),
  -- the guard's book versions (the guard draws them as pgcredit's owner)
  ('pgcredit.book_version_seq',     'owner', 'owner', 'owner'),
  ('pgcredit.write_off_id_seq',     'owner', 'owner', 'owner'),
  ('pgcredit.recovery_id_seq',      'owner', 'owner', 'owner'),
  -- identity columns: an admin's INSERT draws the number through the
  -- table, needing no right on the sequence
  ('pgcredit.approval_authority_id_seq', 'owner', 'owner', 'owner'),
  ('pgcredit.credit_rule_id_seq',   'owner', 'owner', 'owner'),
  ('pgcredit.rule_trial_id_seq',    'owner', 'owner', 'owner'),
  ('pgcredit.collection_action_id_seq', 'owner', 'owner', 'owner'),
  ('pgcredit.late_fee_id_seq',      'owner', 'owner', 'owner'),
  ('pgcredit.collection_dispute_id_seq', 'owner', 'owner', 'owner'),
  ('pgcredit.promise_to_pay_id_seq', 'owner', 'owner', 'owner'),
  ('pgcredit.payment_plan_id_seq',  'owner', 'owner', 'owner'),
  ('pgcredit.policy_draft_rule_id_seq', 'owner', 'owner', 'owner');
CREATE TEMP TABLE decided_type (type text PRIMARY KEY, usage text NOT NULL REFERENCES m_tier);
INSERT INTO decided_type VALUES
  -- the results of public aggregates and of recommend_limit()
  ('pgcredit.aging_profile', 'public'),
  ('pgcredit.aging_by_band', 'public'),
  ('pgcredit.dso_result', 'public'),
  ('pgcredit.credit_score_parts', 'public'),
  ('pgcredit.limit_recommendation', 'public'),
  -- the aggregates' transition state
  ('pgcredit.agg_state', 'public');

----------------------------------------------------------------------
-- The catalog: every object of schema pgcredit, its privileges for
-- each role, and what was decided
----------------------------------------------------------------------
CREATE TEMP VIEW m_object AS
SELECT 'function' AS class, p.oid, p.oid::regprocedure::text AS object
FROM pg_proc p WHERE p.pronamespace = 'pgcredit'::regnamespace
UNION ALL
SELECT CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'relation' END, c.oid, c.oid::regclass::text
FROM pg_class c
WHERE c.relnamespace = 'pgcredit'::regnamespace
  AND c.relkind NOT IN ('i', 'I', 'c', 't')            -- indexes have no privileges; types below
UNION ALL
SELECT 'type', t.oid, t.oid::regtype::text
FROM pg_type t LEFT JOIN pg_class c ON c.oid = t.typrelid
WHERE t.typnamespace = 'pgcredit'::regnamespace
  AND NOT (t.typcategory = 'A' AND t.typelem <> 0)    -- arrays follow their element
  AND coalesce(c.relkind, 'c') = 'c';                 -- a table's row type follows the table

CREATE TEMP VIEW m_privilege (class, privilege) AS VALUES
  ('function', 'EXECUTE'),
  ('relation', 'SELECT'), ('relation', 'INSERT'), ('relation', 'UPDATE'), ('relation', 'DELETE'),
  ('relation', 'TRUNCATE'), ('relation', 'REFERENCES'), ('relation', 'TRIGGER'),
  ('sequence', 'USAGE'), ('sequence', 'SELECT'), ('sequence', 'UPDATE'),
  ('type', 'USAGE');

CREATE TEMP VIEW m_actual AS
SELECT o.class, o.object, p.privilege, r.role, r.label, r.rank, r.n,
       CASE o.class
         WHEN 'function' THEN has_function_privilege(r.role, o.oid, p.privilege)
         WHEN 'relation' THEN has_table_privilege(r.role, o.oid, p.privilege)
         WHEN 'sequence' THEN has_sequence_privilege(r.role, o.oid, p.privilege)
         WHEN 'type'     THEN has_type_privilege(r.role, o.oid, p.privilege)
       END AS allowed
FROM m_object o JOIN m_privilege p USING (class) CROSS JOIN m_role r;

CREATE TEMP VIEW m_decided AS
SELECT 'function' AS class, signature AS object, 'EXECUTE' AS privilege, execute AS tier
FROM decided_function
UNION ALL  -- the rule for aggregates' support functions
SELECT DISTINCT 'function', s.fn::regprocedure::text, 'EXECUTE', 'public'
FROM pg_aggregate a
JOIN pg_proc ap ON ap.oid = a.aggfnoid AND ap.pronamespace = 'pgcredit'::regnamespace
CROSS JOIN LATERAL unnest(ARRAY[a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn,
                               a.aggdeserialfn, a.aggmtransfn, a.aggminvtransfn,
                               a.aggmfinalfn]::oid[]) AS s(fn)
JOIN pg_proc sp ON sp.oid = s.fn
WHERE ('internal'::regtype = ANY (sp.proargtypes::oid[])
       OR 'pgcredit.agg_state'::regtype = ANY (sp.proargtypes::oid[]))
  AND s.fn::regprocedure::text NOT IN (SELECT signature FROM decided_function)
UNION ALL
SELECT 'relation', relation, x.privilege, x.tier
FROM decided_relation,
     LATERAL (VALUES ('SELECT', sel), ('INSERT', ins), ('UPDATE', upd), ('DELETE', del),
                     ('TRUNCATE', 'owner'), ('REFERENCES', 'owner'), ('TRIGGER', 'owner')) x(privilege, tier)
UNION ALL
SELECT 'sequence', sequence, x.privilege, x.tier
FROM decided_sequence, LATERAL (VALUES ('USAGE', usage), ('SELECT', sel), ('UPDATE', upd)) x(privilege, tier)
UNION ALL
SELECT 'type', type, 'USAGE', usage FROM decided_type;

-- (a) Objects without a decision: decide them above (none expected).
SELECT o.class, o.object AS undecided
FROM m_object o
WHERE NOT EXISTS (SELECT FROM m_decided d WHERE d.class = o.class AND d.object = o.object)
ORDER BY 1, 2;

-- (b) Decisions for objects that do not exist (none expected).
SELECT DISTINCT d.class, d.object AS decided_but_missing
FROM m_decided d
WHERE NOT EXISTS (SELECT FROM m_object o WHERE o.class = d.class AND o.object = d.object)
ORDER BY 1, 2;

-- (c) Privileges that differ from their decision (none expected): who
-- was decided, and who actually has it.
SELECT a.object, a.privilege, d.tier AS decided,
       coalesce(string_agg(a.label, ', ' ORDER BY a.n) FILTER (WHERE a.allowed),
                '(no role)') AS actually_allowed
FROM m_actual a
JOIN m_decided d USING (class, object, privilege)
JOIN m_tier t ON t.tier = d.tier
GROUP BY a.class, a.object, a.privilege, d.tier
HAVING bool_or(a.allowed IS DISTINCT FROM (a.rank >= t.rank OR (t.tier IN ('sales', 'controller+sales') AND a.label = 'sales')
                                           OR (t.tier = 'collector' AND a.label = 'collector')))
ORDER BY 1, 2;

----------------------------------------------------------------------
-- Rules of README.md that hold whatever the decisions say
----------------------------------------------------------------------

-- The internal helpers are not executable by PUBLIC (none expected).
SELECT p.oid::regprocedure AS helper_executable_by_public
FROM pg_proc p
WHERE p.pronamespace = 'pgcredit'::regnamespace
  AND (p.proname LIKE '\_%' OR p.proname = 'items_past_due')
  AND has_function_privilege('public', p.oid, 'EXECUTE');

-- PUBLIC writes none of pgcredit's relations (none expected).
SELECT c.oid::regclass AS relation_public_may_write, x.privilege
FROM pg_class c
CROSS JOIN (VALUES ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'), ('REFERENCES'),
                   ('TRIGGER')) x(privilege)
WHERE c.relnamespace = 'pgcredit'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND has_table_privilege('public', c.oid, x.privilege);

-- A SECURITY DEFINER function pins its search_path (none expected).
SELECT p.oid::regprocedure AS definer_without_pinned_path
FROM pg_proc p
WHERE p.pronamespace = 'pgcredit'::regnamespace AND p.prosecdef
  AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pgcredit, pg_temp'], false);

-- Every object is owned by pgcredit_owner (none expected otherwise).
SELECT 'function' AS class, p.oid::regprocedure::text AS object, pg_get_userbyid(p.proowner) AS owner
FROM pg_proc p WHERE p.pronamespace = 'pgcredit'::regnamespace AND p.proowner <> 'pgcredit_owner'::regrole
UNION ALL
SELECT 'relation', c.oid::regclass::text, pg_get_userbyid(c.relowner)
FROM pg_class c WHERE c.relnamespace = 'pgcredit'::regnamespace AND c.relowner <> 'pgcredit_owner'::regrole
UNION ALL
SELECT 'type', t.oid::regtype::text, pg_get_userbyid(t.typowner)
FROM pg_type t WHERE t.typnamespace = 'pgcredit'::regnamespace AND t.typowner <> 'pgcredit_owner'::regrole
ORDER BY 1, 2;

-- Schema pgcredit_cluster holds the policy feed of a Citus cluster
-- (citus.sql), written as the owner of citus alone: no role may use the
-- schema or touch the table, owned by pgcredit_owner (none expected).
SELECT r.label, x.what
FROM m_role r CROSS JOIN LATERAL (VALUES
  ('USAGE on schema pgcredit_cluster', has_schema_privilege(r.role, 'pgcredit_cluster', 'USAGE')),
  ('CREATE on schema pgcredit_cluster', has_schema_privilege(r.role, 'pgcredit_cluster', 'CREATE')),
  ('SELECT on pgcredit_cluster.policy_feed', has_table_privilege(r.role, 'pgcredit_cluster.policy_feed', 'SELECT')),
  ('INSERT on pgcredit_cluster.policy_feed', has_table_privilege(r.role, 'pgcredit_cluster.policy_feed', 'INSERT')),
  ('UPDATE on pgcredit_cluster.policy_feed', has_table_privilege(r.role, 'pgcredit_cluster.policy_feed', 'UPDATE')),
  ('DELETE on pgcredit_cluster.policy_feed', has_table_privilege(r.role, 'pgcredit_cluster.policy_feed', 'DELETE')),
  ('TRUNCATE on pgcredit_cluster.policy_feed', has_table_privilege(r.role, 'pgcredit_cluster.policy_feed', 'TRUNCATE')),
  ('owner of pgcredit_cluster.policy_feed',
   (SELECT c.relowner <> 'pgcredit_owner'::regrole FROM pg_class c WHERE c.oid = 'pgcredit_cluster.policy_feed'::regclass)))
  x(what, granted)
WHERE x.granted
ORDER BY r.n, 2;

-- Objects of the extension that the matrix does not cover: any other
-- kind of object, or one outside schema pgcredit (none expected).
SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS not_in_matrix
FROM pg_depend d
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgcredit')
  AND (d.classid NOT IN ('pg_proc'::regclass, 'pg_class'::regclass, 'pg_type'::regclass)
       OR (pg_identify_object(d.classid, d.objid, d.objsubid)).schema IS DISTINCT FROM 'pgcredit')
  -- event triggers grant nothing to anyone; these are decided: they
  -- refuse DDL that would leave an attached table unguarded
  AND NOT (d.classid = 'pg_event_trigger'::regclass
           AND (SELECT evtname FROM pg_event_trigger WHERE oid = d.objid)
               IN ('pgcredit_ddl_guard', 'pgcredit_drop_guard'))
  -- decided above
  AND pg_describe_object(d.classid, d.objid, d.objsubid)
      NOT IN ('schema pgcredit_cluster', 'table pgcredit_cluster.policy_feed')
ORDER BY 1;

----------------------------------------------------------------------
-- Summary, from the catalog, for a reader to check
----------------------------------------------------------------------

-- How many of pgcredit's functions each role may execute.
SELECT a.label AS role, count(*) FILTER (WHERE a.allowed) AS functions,
       count(*) FILTER (WHERE a.allowed AND NOT has_function_privilege('public', o.oid, 'EXECUTE'))
         AS beyond_public
FROM m_actual a JOIN m_object o USING (class, object)
WHERE a.class = 'function'
GROUP BY a.label, a.n ORDER BY a.n;

-- The functions open to every role.
SELECT kind AS public, count(*) AS n,
       CASE WHEN kind = 'aggregate support' THEN '(taking internal or agg_state)'
            ELSE string_agg(DISTINCT proname, ', ' ORDER BY proname) END AS names
FROM (SELECT p.proname,
             CASE WHEN p.prokind = 'a' THEN 'aggregates'
                  WHEN 'internal'::regtype = ANY (p.proargtypes::oid[])
                       OR ('pgcredit.agg_state'::regtype = ANY (p.proargtypes::oid[])
                           AND p.proname NOT LIKE 'agg_state%') THEN 'aggregate support'
                  ELSE 'functions' END AS kind
      FROM pg_proc p
      WHERE p.pronamespace = 'pgcredit'::regnamespace
        AND has_function_privilege('public', p.oid, 'EXECUTE')) f
GROUP BY kind ORDER BY kind;

-- Every other function: who may execute it (x).
SELECT a.object AS function,
       max(CASE WHEN a.label = 'nobody' AND a.allowed THEN 'x' ELSE '' END) AS nobody,
       max(CASE WHEN a.label = 'app' AND a.allowed THEN 'x' ELSE '' END) AS app,
       max(CASE WHEN a.label = 'reader' AND a.allowed THEN 'x' ELSE '' END) AS reader,
       max(CASE WHEN a.label = 'controller' AND a.allowed THEN 'x' ELSE '' END) AS controller,
       max(CASE WHEN a.label = 'admin' AND a.allowed THEN 'x' ELSE '' END) AS admin,
       max(CASE WHEN a.label = 'sales' AND a.allowed THEN 'x' ELSE '' END) AS sales,
       max(CASE WHEN a.label = 'collector' AND a.allowed THEN 'x' ELSE '' END) AS collector
FROM m_actual a JOIN m_object o USING (class, object)
WHERE a.class = 'function' AND NOT has_function_privilege('public', o.oid, 'EXECUTE')
GROUP BY a.object
ORDER BY count(*) FILTER (WHERE a.allowed) DESC, a.object;

-- Tables, views and sequences: what each role may do, in the letters of
-- \dp (r SELECT, a INSERT, w UPDATE, d DELETE, D TRUNCATE, x REFERENCES,
-- t TRIGGER, U USAGE).
SELECT a.object AS relation,
       CASE min(c.relkind) WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
                           WHEN 'S' THEN 'sequence' ELSE min(c.relkind) END AS kind,
       coalesce(string_agg(l.letter, '' ORDER BY l.n) FILTER (WHERE a.label = 'nobody' AND a.allowed), '-') AS nobody,
       coalesce(string_agg(l.letter, '' ORDER BY l.n) FILTER (WHERE a.label = 'app' AND a.allowed), '-') AS app,
       coalesce(string_agg(l.letter, '' ORDER BY l.n) FILTER (WHERE a.label = 'reader' AND a.allowed), '-') AS reader,
       coalesce(string_agg(l.letter, '' ORDER BY l.n) FILTER (WHERE a.label = 'controller' AND a.allowed), '-') AS controller,
       coalesce(string_agg(l.letter, '' ORDER BY l.n) FILTER (WHERE a.label = 'admin' AND a.allowed), '-') AS admin,
       coalesce(string_agg(l.letter, '' ORDER BY l.n) FILTER (WHERE a.label = 'sales' AND a.allowed), '-') AS sales,
       coalesce(string_agg(l.letter, '' ORDER BY l.n) FILTER (WHERE a.label = 'collector' AND a.allowed), '-') AS collector
FROM m_actual a
JOIN (VALUES (1, 'SELECT', 'r'), (2, 'INSERT', 'a'), (3, 'UPDATE', 'w'), (4, 'DELETE', 'd'),
             (5, 'TRUNCATE', 'D'), (6, 'REFERENCES', 'x'), (7, 'TRIGGER', 't'),
             (0, 'USAGE', 'U')) l(n, privilege, letter) USING (privilege)
JOIN pg_class c ON c.oid = a.object::regclass
WHERE a.class IN ('relation', 'sequence')
GROUP BY a.object
ORDER BY min(c.relkind) = 'S', min(c.relkind) = 'v', 1;

----------------------------------------------------------------------
-- A sample, played as each role: one function of each tier, an internal
-- helper, a table and the risk views, a write of each kind.  All in one
-- transaction rolled back at the end; psql rolls back each failed
-- statement alone (ON_ERROR_ROLLBACK).
----------------------------------------------------------------------
\set ON_ERROR_ROLLBACK on
BEGIN;
-- an order table owned by the superuser, attached, and an account
CREATE TABLE regress_m_order (id serial PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL);
GRANT SELECT, INSERT, UPDATE, DELETE ON regress_m_order TO regress_m_app;
GRANT USAGE ON SEQUENCE regress_m_order_id_seq TO regress_m_app;
SELECT relid FROM pgcredit.attach_orders('regress_m_order', 'customer', 'amount');
SELECT customer, credit_limit FROM pgcredit.open_account('M1', 100);

SET LOCAL ROLE regress_m_nobody;
SELECT pgcredit.aging_bucket('2024-01-01', '2024-03-01') AS analytics;
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();
\echo :LAST_ERROR_SQLSTATE
SELECT credit_limit FROM pgcredit.set_credit_limit('M1', 150, 'matrix');
\echo :LAST_ERROR_SQLSTATE
SELECT max_days_past_due FROM pgcredit.set_max_days_past_due(30, 'matrix');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit._actor();
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS accounts FROM pgcredit.account;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS watchlist FROM pgcredit.watchlist;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.account_import (customer, credit_limit, reason) VALUES ('M2', 10, 'matrix');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.tier_policy SELECT * FROM pgcredit.tier_policy WHERE tier = 'A';
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES ('USD', 'EUR', '2026-01-01', 0.9);
\echo :LAST_ERROR_SQLSTATE
DELETE FROM pgcredit.audit_log;
\echo :LAST_ERROR_SQLSTATE

-- The application: its orders are checked without any right on
-- pgcredit's tables; beyond that it is the role with nothing.
SET LOCAL ROLE regress_m_app;
INSERT INTO regress_m_order (customer, amount) VALUES ('M1', 60);
INSERT INTO regress_m_order (customer, amount) VALUES ('M1', 60);
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.aging_bucket('2024-01-01', '2024-03-01') AS analytics;
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();
\echo :LAST_ERROR_SQLSTATE
SELECT credit_limit FROM pgcredit.set_credit_limit('M1', 150, 'matrix');
\echo :LAST_ERROR_SQLSTATE
SELECT max_days_past_due FROM pgcredit.set_max_days_past_due(30, 'matrix');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit._actor();
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS accounts FROM pgcredit.account;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS watchlist FROM pgcredit.watchlist;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.account_import (customer, credit_limit, reason) VALUES ('M2', 10, 'matrix');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.tier_policy SELECT * FROM pgcredit.tier_policy WHERE tier = 'A';
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES ('USD', 'EUR', '2026-01-02', 0.9);
\echo :LAST_ERROR_SQLSTATE
DELETE FROM pgcredit.audit_log;
\echo :LAST_ERROR_SQLSTATE

-- exposure categories: adding one (admin), setting a sub-limit (controller)
SELECT name FROM pgcredit.add_category('matrix', 'orders');
\echo :LAST_ERROR_SQLSTATE
SELECT credit_limit FROM pgcredit.set_category_limit('orders', 1, 'matrix', 'M1');
\echo :LAST_ERROR_SQLSTATE

SET LOCAL ROLE regress_m_reader;
SELECT pgcredit.aging_bucket('2024-01-01', '2024-03-01') AS analytics;
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();
SELECT credit_limit FROM pgcredit.set_credit_limit('M1', 150, 'matrix');
\echo :LAST_ERROR_SQLSTATE
SELECT max_days_past_due FROM pgcredit.set_max_days_past_due(30, 'matrix');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit._actor();
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS accounts FROM pgcredit.account;
SELECT count(*) AS watchlist FROM pgcredit.watchlist;
INSERT INTO pgcredit.account_import (customer, credit_limit, reason) VALUES ('M2', 10, 'matrix');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.tier_policy SELECT * FROM pgcredit.tier_policy WHERE tier = 'A';
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES ('USD', 'EUR', '2026-01-03', 0.9);
\echo :LAST_ERROR_SQLSTATE
DELETE FROM pgcredit.audit_log;
\echo :LAST_ERROR_SQLSTATE

-- exposure categories: adding one (admin), setting a sub-limit (controller)
SELECT name FROM pgcredit.add_category('matrix', 'orders');
\echo :LAST_ERROR_SQLSTATE
SELECT credit_limit FROM pgcredit.set_category_limit('orders', 1, 'matrix', 'M1');
\echo :LAST_ERROR_SQLSTATE

SET LOCAL ROLE regress_m_controller;
SELECT pgcredit.aging_bucket('2024-01-01', '2024-03-01') AS analytics;
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();
SELECT credit_limit FROM pgcredit.set_credit_limit('M1', 150, 'matrix');
SELECT max_days_past_due FROM pgcredit.set_max_days_past_due(30, 'matrix');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit._actor();
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS accounts FROM pgcredit.account;
SELECT count(*) AS watchlist FROM pgcredit.watchlist;
INSERT INTO pgcredit.account_import (customer, credit_limit, reason) VALUES ('M2', 10, 'matrix');
INSERT INTO pgcredit.tier_policy SELECT * FROM pgcredit.tier_policy WHERE tier = 'A';
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES ('USD', 'EUR', '2026-01-04', 0.9);
\echo :LAST_ERROR_SQLSTATE
DELETE FROM pgcredit.audit_log;
\echo :LAST_ERROR_SQLSTATE

SELECT name FROM pgcredit.add_category('matrix', 'orders');
\echo :LAST_ERROR_SQLSTATE
SELECT credit_limit FROM pgcredit.set_category_limit('orders', 1000, 'matrix', 'M1');

SET LOCAL ROLE regress_m_admin;
SELECT pgcredit.aging_bucket('2024-01-01', '2024-03-01') AS analytics;
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();
SELECT credit_limit FROM pgcredit.set_credit_limit('M1', 200, 'matrix');
SELECT max_days_past_due FROM pgcredit.set_max_days_past_due(30, 'matrix');
SELECT pgcredit._actor();
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS accounts FROM pgcredit.account;
SELECT count(*) AS watchlist FROM pgcredit.watchlist;
INSERT INTO pgcredit.account_import (customer, credit_limit, reason) VALUES ('M3', 10, 'matrix');
INSERT INTO pgcredit.tier_policy SELECT * FROM pgcredit.tier_policy WHERE tier = 'A';
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES ('USD', 'EUR', '2026-01-05', 0.9);
DELETE FROM pgcredit.audit_log;
\echo :LAST_ERROR_SQLSTATE

SELECT name FROM pgcredit.add_category('matrix', 'orders');
SELECT credit_limit FROM pgcredit.set_category_limit('matrix', 1000, 'matrix', 'M1');

-- A sales application: the verdict on any customer's order, and nothing
-- else of pgcredit's (no account, exposure, audit log or rules).
SET LOCAL ROLE regress_m_sales;
SELECT verdict, kind, credit_available FROM pgcredit.check_order('M1', 10);
SELECT verdict, kind, sqlstate, credit_available FROM pgcredit.check_order('M1', 1000);
SELECT count(*) AS accounts FROM pgcredit.account;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS exposure FROM pgcredit.exposure;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS audit FROM pgcredit.audit_log;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS rules FROM pgcredit.credit_rule;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();
\echo :LAST_ERROR_SQLSTATE
SELECT credit_limit FROM pgcredit.set_category_limit('orders', 1, 'matrix', 'M1');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS breakdown FROM pgcredit.exposure_breakdown;
\echo :LAST_ERROR_SQLSTATE
-- it may ask for a limit, and not approve it, nor read the requests
SELECT kind, customer, new_limit, status FROM pgcredit.request_limit('M1', 300, 'the customer asks for more');
SELECT pgcredit.approve_request(1, 'my own');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS requests FROM pgcredit.pending_requests;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- What the sample changed, before it is rolled back: the audit log names
-- the roles (the tier_policy row replaced itself and left no trace).
SELECT action, customer, role_name, reason FROM pgcredit.audit_log
WHERE role_name LIKE 'regress\_m\_%' ORDER BY id;
ROLLBACK;
\unset ON_ERROR_ROLLBACK

\c :regress_db
DROP DATABASE regress_matrix;
-- the roles own nothing and were granted nothing outside the dropped
-- database; DROP OWNED makes sure of it in this one
DROP OWNED BY regress_m_nobody, regress_m_app, regress_m_reader, regress_m_controller, regress_m_admin;
DROP ROLE regress_m_nobody, regress_m_app, regress_m_reader, regress_m_controller, regress_m_admin, regress_m_sales,
  regress_m_collector;
