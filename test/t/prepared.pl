# Two-phase commit: an INSERT ... ON CONFLICT straight into a partition of
# an attached table leaves a row that was counted but never stored; it is
# settled when the transaction is prepared (PREPARE TRANSACTION), so that
# exposure equals the tables once COMMIT PREPARED is done.  A node of its
# own, with max_prepared_transactions set.
use strict;
use warnings;

use Test::More;
use PgCreditTest;

my $node = PgCreditTest::node('prepared',
	conf => 'max_prepared_transactions = 5');
PgCreditTest::sql($node, 'postgres', q{
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;
CREATE TABLE p_part (id int, region text, customer text, amount numeric NOT NULL,
                     PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE p_north PARTITION OF p_part FOR VALUES IN ('north');
SELECT count(*) FROM pgcredit.attach_orders('p_part', 'customer', 'amount');
INSERT INTO p_north VALUES (1, 'north', 'P', 100);
BEGIN;
INSERT INTO p_north VALUES (1, 'north', 'P', 700) ON CONFLICT DO NOTHING;
PREPARE TRANSACTION 't1';
});
is(PgCreditTest::sql($node, 'postgres', 'SELECT gid FROM pg_prepared_xacts'),
	't1', 'the transaction is prepared');
PgCreditTest::sql($node, 'postgres', "COMMIT PREPARED 't1'");

is(PgCreditTest::sql($node, 'postgres', 'SELECT sum(amount) FROM p_part'),
	'100', 'the conflicting row was not stored');
is( PgCreditTest::sql($node, 'postgres',
		"SELECT open_orders FROM pgcredit.exposure WHERE customer = 'P'"),
	'100', 'exposure counts only the stored row after COMMIT PREPARED');
is(PgCreditTest::sql($node, 'postgres', 'SELECT count(*) FROM pgcredit.verify_exposure()'),
	'0', 'verify_exposure() finds no mismatch');

$node->stop;
done_testing();
