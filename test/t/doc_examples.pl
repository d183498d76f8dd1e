# Every SQL example of README.md and doc/*.md runs, and shows what psql
# prints for it.
#
# How a markdown file is read:
#   - Each ```sql block is run, in the order of the file, in a database of
#     the file's own, by one psql session (psql -X -q, statements read from
#     standard input, standard error merged into standard output as
#     pg_regress does).  The runner creates the extension first unless a
#     block of the file runs CREATE EXTENSION pgcredit itself.
#   - A ```text block that follows a ```sql block (blank lines between them
#     allowed) is what psql prints for it: result tables in psql's default
#     aligned format with their "(N rows)" footers, NOTICE, WARNING and
#     ERROR lines with their DETAIL and HINT.  Command tags are not printed
#     (-q), nor CONTEXT lines (SHOW_CONTEXT=never: they name PL/pgSQL line
#     numbers, which are no part of what an application sees).  It must match exactly, except trailing spaces on a line
#     and blank lines at the end.
#   - A ```sql block with no ```text block after it must print no ERROR
#     and no WARNING.
#   - Markers, on a line of their own before a block:
#       <!-- doc-test: no-run -->  the next ```sql block is shown, not run
#                                  (it needs a server set up otherwise, a
#                                  file on the server, a second session)
#       <!-- doc-test: sample -->  the blocks after it run in a new database
#                                  holding the sample ledger of make demo
#                                  (test/demo/ledger.sql over
#                                  $SHARED_DATA/accounts-receivable.csv),
#                                  in a new psql session.  Without the
#                                  sample they are skipped, and the test
#                                  says so.
#   - Other fences (```sh, ```, ```text not after a ```sql block) are not run.
#
# Roles are shared by the cluster: roles a file creates are dropped after
# it (with its database), so files do not see each other's.  Examples must
# not depend on today's date: they give as_of dates or set pgcredit.as_of.
#
# Run by make test through prove; by hand, as a user that may run initdb:
#   PERL5LIB=$PGXS/src/test/perl PATH=$PGBIN:$PATH TESTDIR=/tmp/x \
#   PGCREDIT_DESTDIR=/tmp/dest prove test/t/doc_examples.pl
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Spec;
use File::Temp qw(tempdir);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $root = File::Spec->rel2abs(dirname(__FILE__) . '/../..');
my @files = ("$root/README.md", sort glob("$root/doc/*.md"));
my $sample = ($ENV{SHARED_DATA} // "$root/../shared/data/ibm-ar")
  . '/accounts-receivable.csv';
my $tmp = tempdir(CLEANUP => 1);

# The node: test/perl/PgCreditTest.pm when it is there, otherwise a node
# of our own that finds a build installed under $PGCREDIT_DESTDIR.
my $node;
if (-f "$root/test/perl/PgCreditTest.pm")
{
	unshift @INC, "$root/test/perl";
	require PgCreditTest;
	$node = PgCreditTest::node('doc_examples');
}
else
{
	$node = PostgreSQL::Test::Cluster->new('doc_examples');
	$node->init(extra => [ '--locale=C.UTF-8' ]);
	$node->append_conf('postgresql.conf',
		"extension_destdir = '$ENV{PGCREDIT_DESTDIR}'")
	  if $ENV{PGCREDIT_DESTDIR};
	$node->start;
}

# The blocks of a markdown file: a list of { line, sql, expected, run,
# sample } in file order.
sub parse_markdown
{
	my ($path) = @_;
	open my $fh, '<', $path or die "cannot read $path: $!";
	my @lines = <$fh>;
	close $fh;
	my (@blocks, $fence, $body, $start, $no_run, $sample_next, $last_sql);
	my $after_sql = 0;    # only blank lines since the end of a sql block
	for my $i (0 .. $#lines)
	{
		my $l = $lines[$i];
		if (defined $fence)
		{
			if ($l =~ /^```\s*$/)
			{
				if ($fence eq 'sql')
				{
					push @blocks,
					  {
						line => $start,
						sql => $body,
						run => !$no_run,
						sample => $sample_next
					  };
					$last_sql = $blocks[-1];
					$after_sql = 1;
					$no_run = $sample_next = 0;
				}
				elsif ($fence eq 'text' && $last_sql)
				{
					$last_sql->{expected} = $body;
					$last_sql = undef;
				}
				undef $fence;
				next;
			}
			$body .= $l;
			next;
		}
		if ($l =~ /^```(\w*)\s*$/)
		{
			$fence = $1;
			$body = '';
			$start = $i + 1;
			$last_sql = undef unless $fence eq 'text' && $after_sql;
			$after_sql = 0;
			next;
		}
		next if $l =~ /^\s*$/;
		$after_sql = 0;
		$last_sql = undef;
		$no_run = 1 if $l =~ /<!--\s*doc-test:\s*no-run\s*-->/;
		$sample_next = 1 if $l =~ /<!--\s*doc-test:\s*sample\s*-->/;
	}
	die "$path: unclosed code block from line $start\n" if defined $fence;
	return @blocks;
}

# Run psql on a database with the given standard input; return what it
# printed, standard error merged.
sub psql_run
{
	my ($db, $in) = @_;
	my $out = '';
	IPC::Run::run(
		[ 'psql', '-X', '-q', '-v', 'SHOW_CONTEXT=never', '-d', $node->connstr($db) ],
		'<', \$in, '>&', \$out);
	return $out;
}

sub normalise
{
	my ($text) = @_;
	$text =~ s/[ \t]+$//mg;
	$text =~ s/\n+\z//;
	return $text . "\n";
}

sub show_diff
{
	my ($want, $got) = @_;
	for ([ expected => $want ], [ actual => $got ])
	{
		open my $fh, '>', "$tmp/$_->[0]" or die "cannot write $tmp/$_->[0]: $!";
		print $fh $_->[1];
		close $fh;
	}
	return scalar `diff -u $tmp/expected $tmp/actual`;
}

my $marker = '@@doc-test block@@';
# the roles that exist before any file runs stay
my %keep_role = map { $_ => 1 } split /\n/,
  $node->safe_psql('postgres', 'SELECT rolname FROM pg_roles');

# Create a database for a file (a second one, "_sample", when the file
# loads the sample ledger), with the extension unless the file creates it.
sub new_database
{
	my ($db, $create_extension) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION pgcredit') if $create_extension;
}

# Run blocks in one psql session on a database and compare each one's
# output with what the file shows.
sub run_blocks
{
	my ($name, $db, @blocks) = @_;
	my $script = '';
	for my $i (0 .. $#blocks)
	{
		$script .= "\\echo '$marker $i'\n$blocks[$i]{sql}";
		# a block whose last statement lacks its semicolon would swallow
		# the next marker
		$script .= "\n;\n" unless $blocks[$i]{sql} =~ /;\s*(--[^\n]*)?\s*\z/;
	}
	my $out = psql_run($db, $script);
	my @parts = split /^\Q$marker\E (\d+)\n/m, $out;
	my $before = shift @parts;
	is($before, '', "$name: nothing printed before the first block")
	  or diag $before;
	my %got = @parts;
	for my $i (0 .. $#blocks)
	{
		my $b = $blocks[$i];
		my $got = $got{$i} // '';
		my $where = "$name line $b->{line}";
		if (defined $b->{expected})
		{
			my $want = normalise($b->{expected});
			$got = normalise($got);
			ok($want eq $got, "$where: output as shown")
			  or diag "$where: psql printed otherwise:\n"
			  . show_diff($want, $got);
		}
		else
		{
			ok($got !~ /^(ERROR|WARNING|FATAL|PANIC):/m,
				"$where: runs without an error")
			  or diag "$where:\n$b->{sql}\nprinted:\n$got";
		}
	}
}

for my $path (@files)
{
	my $name = File::Spec->abs2rel($path, $root);
	my @blocks = grep { $_->{run} } parse_markdown($path);
	if (!@blocks)
	{
		note "$name: no SQL example";
		next;
	}
	(my $db = "regress_doc_" . lc $name) =~ s/[^a-z0-9]+/_/g;
	my @dbs = ($db);
	my $own_create =
	  grep { $_->{sql} =~ /CREATE\s+EXTENSION\s+pgcredit\b/i } @blocks;

	# The blocks before the sample marker, and those after it.
	my @first = @blocks;
	my @with_sample;
	for my $i (0 .. $#blocks)
	{
		next unless $blocks[$i]{sample};
		@first = @blocks[ 0 .. $i - 1 ];
		@with_sample = @blocks[ $i .. $#blocks ];
		last;
	}
	if (@first)
	{
		new_database($db, !$own_create);
		run_blocks($name, $db, @first);
	}
	if (@with_sample)
	{
	  SKIP:
		{
			skip "$name: the sample ledger $sample is absent; the examples "
			  . "from line $with_sample[0]{line} on are not run", 1
			  unless -r $sample;
			push @dbs, "${db}_sample";
			new_database("${db}_sample", 1);
			my $in = do { local (@ARGV, $/) = $sample; <> };
			my $out = '';
			my $ok = IPC::Run::run(
				[
					'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1',
					'-f', "$root/test/demo/ledger.sql",
					'-d', $node->connstr("${db}_sample")
				],
				'<', \$in, '>&', \$out);
			ok($ok, "$name: sample ledger loaded for line $with_sample[0]{line}")
			  or diag $out;
			run_blocks($name, "${db}_sample", @with_sample);
		}
	}

	$node->safe_psql('postgres', "DROP DATABASE IF EXISTS $_ WITH (FORCE)")
	  for @dbs;
	for my $role (split /\n/,
		$node->safe_psql('postgres', 'SELECT rolname FROM pg_roles'))
	{
		next if $keep_role{$role} || $role =~ /^pgcredit_/;
		$node->safe_psql('postgres', qq{DROP ROLE "$role"});
	}
}

$node->stop;
done_testing();
