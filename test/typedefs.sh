#!/usr/bin/env bash
# Write typedefs.list, the type names pg_bsd_indent must know to lay out
# pgcredit's C sources (make indent reads it): every typedef name that
# src/ defines, and every typedef name of the server headers, libcsv and
# the C library that src/ uses.  make typedefs runs this; run it after
# adding a type, then make indent.
#
#   PG_CONFIG  pg_config of the server whose headers are read (default pg_config)
set -euo pipefail
cd "$(dirname "$0")/.."

PG_CONFIG=${PG_CONFIG:-pg_config}
server=$("$PG_CONFIG" --includedir-server)
sources=$(find src -name '*.[ch]' | sort)

# Headers whose typedefs src/ may use: the server's, libcsv's, and the
# C library's that src/ includes
headers=$(find "$server" -name '*.h' | sort)
for h in /usr/include/csv.h /usr/include/stdio.h /usr/include/stdint.h \
	/usr/include/x86_64-linux-gnu/bits/types.h \
	/usr/include/x86_64-linux-gnu/bits/stdint-intn.h \
	/usr/include/x86_64-linux-gnu/bits/stdint-uintn.h \
	/usr/include/x86_64-linux-gnu/bits/types/FILE.h \
	/usr/lib/gcc/x86_64-linux-gnu/*/include/stddef.h; do
	[ -f "$h" ] && headers="$headers $h"
done

# Types that only other server versions define, used in compat.h
extra="DateTimeErrorExtra IndexScanInstrumentation TU_UpdateIndexes"

EXTRA=$extra perl -e '
	use strict;
	use warnings;

	# The names a file declares with typedef: the last identifier before
	# the closing semicolon, or the name of a function pointer type
	sub typedef_names
	{
		my ($path) = @_;
		open(my $fh, "<", $path) or die "$path: $!";
		local $/;
		my $text = <$fh>;
		close($fh);
		$text =~ s{/\*.*?\*/}{ }gs;
		$text =~ s{//[^\n]*}{}g;
		$text =~ s{\\\n}{ }g;
		$text =~ s{^\s*#[^\n]*}{}mg;
		my @names;
		while ($text =~ /\btypedef\b/g)
		{
			my $start = pos($text);
			my $depth = 0;
			my $i;
			for ($i = $start; $i < length($text); $i++)
			{
				my $c = substr($text, $i, 1);
				$depth++ if $c eq "{";
				$depth-- if $c eq "}";
				last if $c eq ";" && $depth == 0;
			}
			my $body = substr($text, $start, $i - $start);
			pos($text) = $i;
			$body =~ s{\b(?:pg_attribute_\w+|__attribute__)\s*\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)}{}g;
			if ($body =~ /\(\s*\*\s*(\w+)\s*\)\s*\(/)
			{
				push @names, $1;
			}
			elsif ($body =~ /(\w+)\s*(?:\[[^\]]*\]\s*)*$/)
			{
				push @names, $1;
			}
		}
		return @names;
	}

	my ($nsources, @files) = @ARGV;
	my @sources = splice(@files, 0, $nsources);
	my %used;
	my %names;
	for my $src (@sources)
	{
		open(my $fh, "<", $src) or die "$src: $!";
		local $/;
		my $text = <$fh>;
		# code only: no comments, strings or character constants
		$text =~ s{/\*.*?\*/}{ }gs;
		$text =~ s{//[^\n]*}{}g;
		$text =~ s{"(?:[^"\\\n]|\\.)*"}{""}g;
		$text =~ s{\x27(?:[^\x27\\\n]|\\.)*\x27}{0}g;
		$used{$_} = 1 for $text =~ /\b([A-Za-z_]\w*)\b/g;
		$names{$_} = 1 for typedef_names($src);
	}
	for my $h (@files)
	{
		$used{$_} && ($names{$_} = 1) for typedef_names($h);
	}
	$names{$_} = 1 for grep { $used{$_} } split(" ", $ENV{EXTRA});
	print "$_\n" for sort keys %names;
' "$(echo "$sources" | wc -w)" $sources $headers > typedefs.list
echo "typedefs.list: $(wc -l < typedefs.list) names"
