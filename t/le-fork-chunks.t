# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Fork: what on_stdout's $_[1] is.  On a reactor the chunk
# SV takes over the read buffer (no copy) and is reused while callbacks
# let it go; whatever a callback does with it (keep a reference, copy it,
# change it, grow it) must not show in any other chunk.
use v5.36;
use Test::More;

use Linux::Event;
use Linux::Event::Fork;

my $loop = Linux::Event->new;

# 4 MB of numbered lines: every byte is checkable.
my $script = 'for my $i (1 .. 400_000) { printf "%09d\n", $i } exit 0';
my $expect = join '', map { sprintf "%09d\n", $_ } 1 .. 400_000;

sub capture ($cb, @opt) {
	my $exit;
	$loop->fork(cmd => [ $^X, '-e', $script ], on_stdout => $cb, @opt,
		on_exit => sub ($c, $e) { $exit = $e; $loop->stop });
	$loop->run;
	is($exit->code, 0, 'child exit 0');
}

{
	my $all = '';
	capture(sub { $all .= $_[1] });
	ok($all eq $expect, 'appending $_[1]: every byte in order');
}
{
	# A bigger pipe: chunks up to the read size, reads that can fill the
	# buffer to the last byte.
	my ($all, $max) = ('', 0);
	capture(sub { $all .= $_[1]; $max = length $_[1] if length $_[1] > $max },
		pipe_size => 1 << 20);
	ok($all eq $expect, 'pipe_size 1 MiB: every byte in order');
	note("largest chunk $max");
}
{
	my @copies;
	capture(sub { push @copies, $_[1] });
	ok(join('', @copies) eq $expect, 'copies of $_[1] (shared buffers) stay intact');
	cmp_ok(scalar @copies, '>', 1, 'in several chunks');
}
{
	my @refs;
	capture(sub { push @refs, \$_[1] });
	ok(join('', map { $$_ } @refs) eq $expect, 'references to $_[1] keep their chunk');
	my %distinct = map { 0 + $_ => 1 } @refs;
	is(scalar keys %distinct, scalar @refs, 'a kept SV is never reused');
}
{
	my $all = '';
	capture(sub {
		my $orig = $_[1];
		substr($_[1], 0, 1) = 'X' if length $_[1];   # in place
		$_[1] .= "tail" x 10;                           # grown
		$all .= $orig;
	});
	ok($all eq $expect, 'changing $_[1] in place or growing it does not leak into other chunks');
}
{
	my ($all, @m) = ('');
	capture(sub ($c, $chunk) { $all .= $chunk; push @m, $1 if $chunk =~ /^(\d+)/ });
	ok($all eq $expect, 'signature copies');
	is($m[0], '000000001', 'a capture from the first chunk survives the later ones');
}
{
	my $all = '';
	my $n = 0;
	capture(sub { $all .= $_[1]; $_[1] = ++$n });   # replaced by a number
	ok($all eq $expect, 'a callback that assigns a number to $_[1]');
}

done_testing;
