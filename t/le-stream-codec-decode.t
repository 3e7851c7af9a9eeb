#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# The built-in codecs' decode subs run libevloop's C framers
# (perlio/xs/codec.xs).  The Perl decoders they replaced are kept below as
# the oracle: for every input, cut at every one and every two places, the
# frames, the error text and what is left in the buffer must be the same.
use v5.36;
use Test::More;
use Linux::Event::Stream::Codec::Line;
use Linux::Event::Stream::Codec::Netstring;
use Linux::Event::Stream::Codec::U32BE;

my %oracle = (
    line => sub ($codec, $bufref, $out) {
        my $max = $codec->{max_line};
        while ((my $i = index($$bufref, "\n")) >= 0) {
            return (0, "line too long (>$max bytes)") if defined $max && $i + 1 > $max;
            my $line = substr($$bufref, 0, $i + 1, '');
            chop $line if $codec->{chomp};
            push @$out, $line;
        }
        return (1);
    },
    netstring => sub ($codec, $bufref, $out) {
        my $max = $codec->{max_frame};
        while (1) {
            my $colon = index($$bufref, ':');
            return (1) if $colon < 0;
            my $digits = substr($$bufref, 0, $colon);
            return (0, 'invalid netstring length') unless $digits =~ /\A[0-9]+\z/;
            my $len = $digits + 0;
            return (0, "frame too large (>$max bytes)") if defined $max && $len > $max;
            return (1) if length($$bufref) < $colon + 1 + $len + 1;
            return (0, 'invalid netstring terminator')
                if substr($$bufref, $colon + 1 + $len, 1) ne ',';
            push @$out, substr($$bufref, $colon + 1, $len);
            substr($$bufref, 0, $colon + 1 + $len + 1, '');
        }
    },
    u32be => sub ($codec, $bufref, $out) {
        my $max = $codec->{max_frame};
        while (length($$bufref) >= 4) {
            my $len = unpack('N', $$bufref);
            return (0, "frame too large (>$max bytes)") if defined $max && $len > $max;
            return (1) if length($$bufref) < 4 + $len;
            push @$out, substr($$bufref, 4, $len);
            substr($$bufref, 0, 4 + $len, '');
        }
        return (1);
    },
);

# Feeds $in in pieces cut at @cuts; stops at the first error.  Returns
# a transcript: frames, the error (if any) and the bytes left.
sub feed ($decode, $codec, $in, @cuts) {
    my ($buf, @out, @ret) = ('');
    my $from = 0;
    for my $to (@cuts, length $in) {
        $buf .= substr($in, $from, $to - $from);
        $from = $to;
        @ret = $decode->($codec, \$buf, \@out);
        last if !$ret[0];
    }
    return join('|', map { "<$_>" } @out) . ' ret=' . join(',', @ret) . " left=<$buf>";
}

sub same_as_oracle ($kind, $codec, $in, $name) {
    my $n = length $in;
    my @splits = ([]);
    for my $i (1 .. $n - 1) {
        push @splits, [$i];
        push @splits, map { [$i, $_] } $i + 1 .. $n - 1;
    }
    my $want = feed($oracle{$kind}, $codec, $in);
    my $bad = 0;
    for my $cuts (@splits) {
        my $got = feed($codec->{decode}, $codec, $in, @$cuts);
        my $ref = feed($oracle{$kind}, $codec, $in, @$cuts);
        next if $got eq $ref;
        $bad++;
        is($got, $ref, "$name, cut at @$cuts") if $bad <= 3;
    }
    (my $show = $want) =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1)/ge;
    ok(!$bad, "$name: $show");
}

# Line.
my $line = Linux::Event::Stream::Codec::Line->new;
same_as_oracle(line => $line, "a\nbc\n\n\rd\r\ntail", 'line: chomped, CR kept, tail waits');
same_as_oracle(line => Linux::Event::Stream::Codec::Line->new(chomp => 0),
    "a\nbc\n\nx", 'line: chomp => 0 keeps the newline');
for my $max (1, 2, 4, 6) {
    my $c = Linux::Event::Stream::Codec::Line->new(max_line => $max);
    same_as_oracle(line => $c, "ab\nabc\nabcdefgh\nz\n", "line: max_line $max");
    same_as_oracle(line => $c, "\nxxxxxxxxxxxxxxxxxxxx", "line: max_line $max, long unterminated tail waits");
}
same_as_oracle(line => Linux::Event::Stream::Codec::Line->new(max_line => 0), "\nab\n",
    'line: max_line 0');

# Netstring.
my $ns = Linux::Event::Stream::Codec::Netstring->new;
same_as_oracle(netstring => $ns, '3:abc,0:,5:he:,o,1:,,', 'netstring: frames, ":" and "," in payloads');
same_as_oracle(netstring => $ns, '01:a,0003:abc,', 'netstring: leading zeros accepted');
same_as_oracle(netstring => $ns, '1:a,3:abcd,', 'netstring: bad terminator');
same_as_oracle(netstring => $ns, '1:a,x:abc,', 'netstring: bad length');
same_as_oracle(netstring => $ns, '1:a,:abc,', 'netstring: empty length');
same_as_oracle(netstring => $ns, '1:a,1a:x,', 'netstring: non-digit in the length');
same_as_oracle(netstring => $ns, '1:a,junk without a colon', 'netstring: no header end yet waits');
same_as_oracle(netstring => $ns, '2:ab,12', 'netstring: partial header waits');
for my $max (1, 3, 10) {
    my $c = Linux::Event::Stream::Codec::Netstring->new(max_frame => $max);
    same_as_oracle(netstring => $c, '0:,1:a,3:abc,12:hello world!,', "netstring: max_frame $max");
}

# U32BE.
my $u = Linux::Event::Stream::Codec::U32BE->new;
my $frames = join '', map { pack('N', length) . $_ } 'abc', '', "\0\n\xff", 'x' x 10;
same_as_oracle(u32be => $u, $frames . "\0\0", 'u32be: frames, partial header waits');
for my $max (1, 3, 10) {
    my $c = Linux::Event::Stream::Codec::U32BE->new(max_frame => $max);
    same_as_oracle(u32be => $c, $frames, "u32be: max_frame $max");
}

# The error texts themselves, as documented.
my @out;
my $buf = '5:abc';
is_deeply([Linux::Event::Stream::Codec::Netstring->new(max_frame => 4)->{decode}->(
    Linux::Event::Stream::Codec::Netstring->new(max_frame => 4), \$buf, \@out)],
    [0, 'frame too large (>4 bytes)'], 'netstring: the frame too large text');
is($buf, '5:abc', 'the bad frame stays in the buffer');

# They are the XS subs, not Perl ones.
require B;
for my $pkg (qw(Line Netstring U32BE)) {
    my $cv = "Linux::Event::Stream::Codec::$pkg"->can('_decode');
    ok(B::svref_2object($cv)->XSUB, "Codec::$pkg\::_decode is XS");
}

# A Stream recognises the codec objects as its C framers still.
require Linux::Event::Stream;
is(Linux::Event::Stream::_c_kind($ns), 'netstring', 'Stream still runs the codec as its C framer');

done_testing;
