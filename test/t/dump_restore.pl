# pg_dump and pg_restore into a new database keep accounts, settings, the
# audit log, attachments, held orders, imports, scores, exposure and the
# company's exposure categories with their sub-limits, and
# enforcement goes on working in the copy.
use strict;
use warnings;

use Test::More;
use PostgreSQL::Test::Utils;
use PgCreditTest;

my $src = 'regress_dump_src';
my $dst = 'regress_dump_dst';
my $node = PgCreditTest::node('dump_restore');
PgCreditTest::sql($node, 'postgres', "CREATE DATABASE $src");

PgCreditTest::sql($node, $src, q{
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;
CREATE TABLE invoice (id serial PRIMARY KEY, customer text NOT NULL, open_amount numeric NOT NULL, due date NOT NULL);
CREATE TABLE sales_order (id serial PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL,
                          on_hold boolean NOT NULL DEFAULT false);
INSERT INTO invoice (customer, open_amount, due) VALUES ('A', 300, current_date - 40), ('B', 50, current_date);
SELECT pgcredit.attach_receivables('invoice', 'customer', 'open_amount', 'due');
SELECT pgcredit.attach_orders('sales_order', 'customer', 'amount', mode => 'hold', hold_column => 'on_hold');
SELECT pgcredit.open_account('A', 1000, 5);
SELECT pgcredit.open_account('B', 200);
SELECT pgcredit.place_hold('B', 'documents missing');
SELECT pgcredit.set_no_account_policy('deny', reason => 'accounts required');
INSERT INTO sales_order (customer, amount) VALUES ('A', 600), ('A', 500), ('B', 10);
SELECT pgcredit.load_csv('pgcredit.external_score',
  E'customer,source,score,rating,as_of\nA,dnb,71,2A3,2024-06-30\nB,dnb,NaN,,2024-06-30\n');
SELECT pgcredit.load_csv('pgcredit.account_import', E'customer,credit_limit\nC,300\n');
UPDATE pgcredit.tier_policy SET limit_months = 4 WHERE tier = 'A';
INSERT INTO pgcredit.risk_settings (watch_utilisation_pct) VALUES (75);
-- an invoice through the guard, which gives its customer a book version
INSERT INTO invoice (customer, open_amount, due) VALUES ('B', 25, current_date + 10);
SELECT pgcredit.refresh_scores();
SELECT pgcredit.write_off('A', 40, current_date, 'dump test');
SELECT pgcredit.record_recovery((SELECT max(id) FROM pgcredit.write_off), 15, current_date, 'dump test');
SELECT pgcredit.add_category('deliveries', 'orders', 'shipped, not invoiced');
CREATE TABLE delivery (id serial PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL);
SELECT pgcredit.attach_orders('delivery', 'customer', 'amount', category => 'deliveries');
SELECT pgcredit.set_category_limit('deliveries', 100, 'unsecured');
INSERT INTO delivery (customer, amount) VALUES ('C', 50);
SELECT pgcredit.create_dunning_policy('std', 'dump test');
SELECT pgcredit.set_dunning_level('std', 1, 7, 'email', 'first', 'dump test');
SELECT pgcredit.set_dunning_level('std', 2, 30, 'letter', 'second', 'dump test');
SELECT pgcredit.set_dunning_level('std', 3, 90, 'agency', 'third', 'dump test');
SELECT pgcredit.set_tier_dunning_policy('default', 'std', 'dump test');
SELECT count(*) FROM pgcredit.run_collections(current_date);
});

my $dump = PostgreSQL::Test::Utils::tempdir() . '/pgcredit.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $src ],
	'pg_dump of a database using pgcredit');
PgCreditTest::sql($node, 'postgres', "CREATE DATABASE $dst");
$node->command_ok([ 'pg_restore', '-d', $dst, $dump ],
	'pg_restore into a new database');

# The same rows on both sides, and rows there are.
my @same = (
	[ 'accounts'         => 'SELECT * FROM pgcredit.account ORDER BY customer' ],
	[ 'exposure'         => 'SELECT * FROM pgcredit.exposure ORDER BY customer' ],
	[ 'settings'         => 'SELECT * FROM pgcredit.settings' ],
	[ 'attachments'      => 'SELECT relid::text, kind, customer_column, amount_column, due_column, open_column, open_values, mode, hold_column FROM pgcredit.attachment ORDER BY 1' ],
	[ 'held orders'      => 'SELECT * FROM pgcredit.held_order ORDER BY id' ],
	[ 'audit log'        => 'SELECT * FROM pgcredit.audit_log ORDER BY id' ],
	[ 'import runs'      => 'SELECT * FROM pgcredit.import_run ORDER BY id' ],
	[ 'import rejects'   => 'SELECT * FROM pgcredit.import_reject ORDER BY run_id, id' ],
	[ 'external scores'  => 'SELECT * FROM pgcredit.external_score ORDER BY customer' ],
	[ 'tier policy'      => 'SELECT * FROM pgcredit.tier_policy ORDER BY tier' ],
	[ 'risk settings'    => 'SELECT * FROM pgcredit.risk_settings' ],
	[ 'score history'    => 'SELECT * FROM pgcredit.score_history ORDER BY customer, as_of' ],
	[ 'alerts'           => 'SELECT * FROM pgcredit.alert ORDER BY id' ],
	[ 'receivables by due date' => 'SELECT * FROM pgcredit.receivable_due ORDER BY customer, due' ],
	[ 'exposure categories' => 'SELECT name, kind, description, built_in, CASE WHEN NOT built_in THEN created_at END FROM pgcredit.exposure_category ORDER BY name' ],
	[ 'category exposure' => 'SELECT * FROM pgcredit.category_exposure ORDER BY customer, category' ],
	[ 'category sub-limits' => 'SELECT * FROM pgcredit.category_limit ORDER BY category, customer' ],
	[ 'attachment categories' => 'SELECT relid::text, category FROM pgcredit.attachment ORDER BY 1' ],
	[ 'dunning levels'   => 'SELECT * FROM pgcredit.dunning_level ORDER BY policy, level' ],
	[ 'collection actions' => 'SELECT * FROM pgcredit.collection_action ORDER BY id' ],
	[ 'collection items' => 'SELECT action_id, relid::text, item_key, due, amount, level FROM pgcredit.collection_action_item ORDER BY 1, 2, 3' ],
	[ 'collection runs'  => 'SELECT as_of, runs, actions FROM pgcredit.collection_run ORDER BY as_of' ],
	[ 'write-offs'       => 'SELECT * FROM pgcredit.write_off ORDER BY id' ],
	[ 'recoveries'       => 'SELECT * FROM pgcredit.recovery ORDER BY id' ],
	[ 'guard triggers'   => "SELECT tgname, tgrelid::regclass::text FROM pg_trigger WHERE tgname LIKE 'zz_pgcredit%' ORDER BY 1, 2" ]);
for my $c (@same)
{
	my ($what, $q) = @$c;
	my $before = PgCreditTest::sql($node, $src, $q);
	isnt($before, '', "$what: the source database has some");
	is(PgCreditTest::sql($node, $dst, $q), $before, "$what: restored as they were");
}

# Enforcement works in the copy: exposure matches, orders are held or
# refused, a held order is released, new identities continue.
sub copy { return PgCreditTest::sql($node, $dst, "SET client_min_messages = warning;\n" . shift) }

is(copy('SELECT count(*) FROM pgcredit.verify_exposure()'), '0',
	'exposure matches the tables after restore');
# write-off numbers go on after the restore
is(copy(q{SELECT id > (SELECT min(id) FROM pgcredit.write_off) FROM pgcredit.write_off('A', 1, current_date, 'after restore')}),
	't', 'after restore, a write-off takes the next number');
# the kept book is not dumped: the copy computes its book until it keeps
# one; the book versions go on from those the exposure rows hold, so a
# version is never given twice
is(PgCreditTest::sql($node, $src, 'SELECT day = current_date FROM pgcredit.book_state'), 't',
	'the source keeps its book of today');
is(copy('SELECT count(*) FROM pgcredit.book_cache') . '/' . copy('SELECT day IS NULL FROM pgcredit.book_state'),
	'0/t', 'after restore, no book is kept');
my $max_version = PgCreditTest::sql($node, $src, 'SELECT max(book_version) FROM pgcredit.exposure');
isnt($max_version, '', 'the source gave book versions');
is(copy(q{INSERT INTO invoice (customer, open_amount, due) VALUES ('B', 5, current_date + 30);
          SELECT book_version > } . $max_version . q{ FROM pgcredit.exposure WHERE customer = 'B'}),
	't', 'after restore, a change gets a book version above every one given before');
copy(q{DELETE FROM invoice WHERE customer = 'B' AND open_amount = 5});
is(copy(q{SELECT whole FROM pgcredit.refresh_book()}), 't', 'the copy keeps its book anew');
is(copy(q{SELECT count(*) FROM (
            (SELECT * FROM pgcredit.receivable_stats(current_date)
             EXCEPT ALL SELECT * FROM pgcredit._receivable_stats_computed(current_date, NULL))
            UNION ALL
            (SELECT * FROM pgcredit._receivable_stats_computed(current_date, NULL)
             EXCEPT ALL SELECT * FROM pgcredit.receivable_stats(current_date))) x}),
	'0', 'and reads it as computed');
# the items keep the levels they reached: nothing is dunned again, the
# day already run adds nothing, and the collection action numbers go on
is(copy('SELECT count(*) FROM pgcredit.due_collection_actions(current_date + 1)'), '0',
	'after restore, no item is dunned again for a level it was sent');
is(copy('SELECT count(*) FROM pgcredit.run_collections(current_date)'), '0',
	'after restore, running the day already run adds nothing');
is(copy(q{INSERT INTO invoice (customer, open_amount, due) VALUES ('A', 20, current_date - 8);
SELECT customer || ' ' || level || ' ' || items FROM pgcredit.due_collection_actions(current_date + 1)}),
	'A 1 1', 'after restore, a new item of A is due at level 1, alone');
is(copy('SELECT count(*) FROM pgcredit.verify_receivable_due()'), '0',
	'the receivables by due date match the tables after restore');
is(copy('SELECT count(*) FROM pgcredit.verify_category_exposure()'), '0',
	'the company categories match the tables after restore');
is(copy(q{DO $$BEGIN INSERT INTO delivery (customer, amount) VALUES ('C', 51);
          EXCEPTION WHEN SQLSTATE 'PC018' THEN RAISE NOTICE 'PC018'; END$$;
          SELECT amount FROM pgcredit.category_exposure WHERE customer = 'C'}),
	'50', 'a delivery over the category sub-limit is refused in the copy');
copy(q{INSERT INTO delivery (customer, amount) VALUES ('C', 50)});
is(copy(q{SELECT amount FROM pgcredit.category_exposure WHERE customer = 'C'}),
	'100', 'a delivery within it adds to the category in the copy');
is(copy(q{INSERT INTO sales_order (customer, amount) VALUES ('A', 1000) RETURNING on_hold}),
	't', 'an order over the limit is held in the copy');
copy(q{INSERT INTO sales_order (customer, amount) VALUES ('Z', 1)});
is(copy(q{SELECT why FROM pgcredit.held_order WHERE customer = 'Z'}),
	'customer without a credit account',
	'the deny policy for customers without an account is kept');
copy(q{SELECT pgcredit.release_held_order(
         (SELECT min(id) FROM pgcredit.held_order WHERE released_at IS NULL), 'restored copy test')});
is(copy('SELECT count(*) FROM pgcredit.verify_exposure()'), '0',
	'exposure matches the tables after a release in the copy');
cmp_ok(copy(q{SELECT count(*) FROM pgcredit.audit_log WHERE reason = 'restored copy test'}),
	'>', 0, 'the release is audited in the copy');
my $last_run = copy('SELECT max(id) FROM pgcredit.import_run');
cmp_ok(copy(q{SELECT (pgcredit.load_csv('pgcredit.account_import', E'customer,credit_limit\nD,400\n')).id}),
	'>', $last_run, 'import run numbers continue after restore');
is(copy(q{SELECT credit_limit FROM pgcredit.account WHERE customer = 'D'}),
	'400', 'account_import loads accounts in the copy');

$node->stop;
done_testing();
