#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Issue 14, item 6: the protocol framers as Stream codecs (Delimiter,
# Fixed, LengthPrefix with every width, both byte orders and an
# adjustment, Varint), run by the C framers.  Every codec's wire bytes,
# cut at every position (and byte by byte), come out as the same messages
# through a real socketpair Stream, on the reactor and on proactor loops;
# the codec's own decode agrees; write_message encodes; oversize and
# malformed frames and a frame cut short by EOF end the stream with a
# clear last_error, after the replies written before them reached the
# peer (the issue 17 rule); bad constructor options and messages that do
# not fit croak.
use v5.36;
use Test::More;
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
use IO::Handle;
use Linux::Event;
use Linux::Event::Stream;
use Linux::Event::Stream::Codec::Delimiter;
use Linux::Event::Stream::Codec::Fixed;
use Linux::Event::Stream::Codec::LengthPrefix;
use Linux::Event::Stream::Codec::Varint;
use FindBin ();
use lib "$FindBin::Bin/lib";
use EvlTest ();

# The Stream may close on a framing error before the peer wrote everything.
$SIG{PIPE} = "IGNORE";

sub pair {
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
    $_->autoflush(1) for $a, $b;
    return ($a, $b);
}

sub run_until ($loop, $cond, $secs = 10) {
    my $t0 = time;
    while (!$cond->()) {
        $loop->run_once(0.01);
        die 'timeout' if time - $t0 > $secs;
    }
}

sub spin ($loop) { $loop->run_once(0) for 1 .. 3 }

my @loops = (
    [reactor         => Linux::Event->new(model => 'reactor')],
    ['proactor fake' => Linux::Event->new(model => 'proactor', backend => 'fake')],
);
my $uring = EvlTest::uring_loop(sub { Linux::Event->new(model => 'proactor', backend => 'uring') });
push @loops, ['proactor uring' => $uring] if $uring;

my $D  = 'Linux::Event::Stream::Codec::Delimiter';
my $F  = 'Linux::Event::Stream::Codec::Fixed';
my $LP = 'Linux::Event::Stream::Codec::LengthPrefix';
my $V  = 'Linux::Event::Stream::Codec::Varint';

my @msgs   = ('hello', '', 'x' x 200, "bin\0\r\n\xff");
my @codecs = (
    [
        'delimiter CRLFCRLF' => sub { $D->new(delimiter => "\r\n\r\n") },
        ['GET /', '', 'a' x 130, "b\r\nc"]
    ],
    ['delimiter NUL' => sub { $D->new(delimiter => "\0") }, ['one', '', 'three']],
    ['fixed 16'      => sub { $F->new(size => 16) }, ['a' x 16, "\0" x 16, '0123456789abcdef']],
    (
        map {
            my $b = $_;
            map {
                my $e = $_;
                [
                    "length_prefix $b $e" => sub { $LP->new(bytes => $b, endian => $e) },
                    [@msgs[0, 1, 3], $b == 1 ? 'y' x 255 : 'y' x 300]
                ]
            } qw(big little)
        } 1,
        2, 4,
        8
    ),
    [
        'length_prefix 2 little adjust -2' =>
            sub { $LP->new(bytes => 2, endian => 'little', adjust => -2) },
        \@msgs
    ],
    ['length_prefix 4 adjust 1' => sub { $LP->new(bytes => 4, adjust => 1) }, ['a', 'bb', 'ccc']],
    ['varint'                   => sub { $V->new }, [@msgs, 'z' x 20000]],
);

# The wire bytes: encode through the codec's own sub.
sub wire ($codec, $list) {
    return join '', map { $codec->{encode}->($codec, $_) } @$list;
}

# Pins a few encodings byte for byte.
is(wire($LP->new(bytes => 2, endian => 'little'), ['abc']), "\x03\x00abc", 'LE 2-byte prefix');
is(wire($LP->new(bytes => 2), ['abc']), "\x00\x03abc", 'BE 2-byte prefix');
is(wire($LP->new(bytes => 2, adjust => -2), ['abc']),
    "\x00\x05abc", 'adjust -2: the field counts itself');
is(wire($V->new, ['a' x 300]), "\xac\x02" . 'a' x 300, 'varint 300 = AC 02');
is(wire($D->new(delimiter => '||'), ['ab']), 'ab||', 'delimiter appended');

for my $c (@codecs) {
    my ($name, $make, $list) = @$c;
    my $codec = $make->();
    my $bytes = wire($codec, $list);

    # The codec's own decode, whole and cut anywhere.
    for my $cut (0 .. length $bytes) {
        my ($buf, @out) = (substr($bytes, 0, $cut));
        my ($ok) = $codec->{decode}->($codec, \$buf, \@out);
        $buf .= substr($bytes, $cut);
        ($ok) = $codec->{decode}->($codec, \$buf, \@out) if $ok;
        if (!$ok || "@out" ne "@$list" || length $buf) {
            fail("$name: decode cut at $cut");
            last;
        }
    }
    pass("$name: decode agrees at every cut");

    for my $l (@loops) {
        my ($lname, $loop) = @$l;

        # Every cut on the reactor; byte by byte and whole everywhere.
        my @plans = ([map { 1 } 1 .. length $bytes], [length $bytes]);
        push @plans, map { [$_, length($bytes) - $_] } 1 .. length($bytes) - 1
            if $lname eq 'reactor' && length $bytes < 2000;
        my $bad = 0;
        for my $plan (@plans) {
            my ($a, $b) = pair();
            my @got;
            my $s = Linux::Event::Stream->new(
                loop       => $loop,
                fh         => $a,
                codec      => $codec,
                on_message => sub ($s, $m, $d) { push @got, $m }
            );
            my $off = 0;
            for my $n (@$plan) {
                syswrite($b, substr($bytes, $off, $n)) == $n or die "write: $!";
                $off += $n;
                spin($loop);
            }
            run_until($loop, sub { @got >= @$list });
            $bad++ unless "@got" eq "@$list" && !defined $s->last_error;
            $s->close;
        }
        is($bad, 0, "$name, $lname: the same messages for " . scalar(@plans) . ' chunkings');

        # write_message encodes with the codec.
        my ($a, $b) = pair();
        my $s = Linux::Event::Stream->new(
            loop       => $loop,
            fh         => $a,
            codec      => $make->(),
            on_message => sub { }
        );
        $s->write_message($_) for @$list;
        run_until($loop, sub { $s->buffered_bytes == 0 });
        $b->blocking(0);
        my $in = '';
        run_until($loop, sub { sysread($b, $in, 65536, length $in); length $in >= length $bytes });
        is($in, $bytes, "$name, $lname: write_message sends the codec's encoding");
        $s->close;
    }
}

# Bad input: replies to the frames before it go out, then a clear error.
my @bad = (
    [
        'length_prefix oversize' => sub { $LP->new(bytes => 2, max_frame => 8) },
        "\x00\x02ok\x00\x02ab\x00\x64", 'codec:frame too large (>8 bytes)'
    ],
    [
        'length_prefix invalid length' => sub { $LP->new(bytes => 1, adjust => -2) },
        "\x04ok\x04ab\x01", 'codec:invalid length'
    ],
    ['varint invalid' => sub { $V->new }, "\x02ok\x02ab" . "\x80" x 11, 'codec:invalid varint'],
    [
        'varint oversize' => sub { $V->new(max_frame => 4) },
        "\x02ok\x02ab\x05", 'codec:frame too large (>4 bytes)'
    ],
    [
        'delimiter oversize' => sub { $D->new(delimiter => "\r\n", max_frame => 5) },
        "ok\r\nab\r\n" . 'x' x 10, 'codec:frame too large (>5 bytes)'
    ],
    [
        'delimiter truncated at EOF' => sub { $D->new(delimiter => ';') },
        'ok;ab;tail', 'codec:truncated record'
    ],
    ['fixed truncated at EOF' => sub { $F->new(size => 2) }, 'okabx', 'codec:truncated record'],
    [
        'length_prefix truncated' => sub { $LP->new(bytes => 4) },
        "\0\0\0\2ok\0\0\0\2ab\0\0\0\5ab", 'codec:truncated record'
    ],
);
for my $case (@bad) {
    my ($name, $make, $in, $want) = @$case;
    for my $l (@loops) {
        my ($lname, $loop) = @$l;
        for my $cut (0, 1, length($in) - 1) {
            my ($a, $b) = pair();
            my (@err, $closed);
            my $s = Linux::Event::Stream->new(
                loop       => $loop,
                fh         => $a,
                codec      => $make->(),
                on_message => sub ($s, $m, $d) { $s->write("re:$m;") },
                on_error   => sub ($s, $errno, $d) { push @err, $errno },
                on_close   => sub { $closed = 1 }
            );
            if ($cut) {
                syswrite($b, substr($in, 0, $cut));
                spin($loop);
            }
            syswrite($b, substr($in, $cut));
            shutdown($b, 1);
            run_until($loop, sub { $closed });
            my $got = '';
            1 while sysread($b, $got, 4096, length $got);
            is($got, 're:ok;re:ab;',
                "$name, $lname, cut $cut: replies before the error reached the peer")
                and is($s->last_error, $want, "$name, $lname, cut $cut: $want")
                and is_deeply(\@err, [0], "$name, $lname, cut $cut: on_error once, errno 0");
        }
    }
}

# Croaks.
{
    my $f      = quotemeta __FILE__;
    my @croaks = (
        [sub { $F->new(size => 0) }, qr/^size must be a positive integer at $f/],
        [sub { $LP->new(bytes  => 3) }, qr/^bytes must be 1, 2, 4 or 8 at $f/],
        [sub { $LP->new(endian => 'middle') }, qr/^endian must be 'big' or 'little' at $f/],
        [sub { $LP->new(adjust => 1.5) }, qr/^adjust must be an integer at $f/],
        [sub { $D->new(delimiter => '') }, qr/^delimiter must be a string of 1 to 64 bytes at $f/],
        [
            sub { $D->new(delimiter => 'x' x 65) },
            qr/^delimiter must be a string of 1 to 64 bytes at $f/
        ],
        [sub { $V->new(max_frame => 0) }, qr/^max_frame must be a positive integer at $f/],
        [sub { $V->new(bogus     => 1) }, qr/^unknown options: bogus at $f/],
        [
            sub { my $c = $F->new(size => 4); $c->{encode}->($c, 'abc') },
            qr/^encode: a message of 3 bytes does not fit the fixed codec/
        ],
    );
    for my $c (@croaks) {
        ok(!eval { $c->[0]->(); 1 }, "croaks: $c->[1]");
        like($@, $c->[1], '... with its text');
    }
    my ($a, $b) = pair();
    my $s = Linux::Event::Stream->new(
        loop       => $loops[0][1],
        fh         => $a,
        codec      => $LP->new(bytes => 1),
        on_message => sub { }
    );
    ok(!eval { $s->write_message('z' x 256); 1 },
        'write_message of 256 bytes with a 1-byte prefix croaks');
    like(
        $@,
        qr/^write_message\(\): a message of 256 bytes does not fit the codec .* at $f line/,
        '... at the caller'
    );
    ok(!$s->is_closed, '... and the stream stays open');
    is(
        Linux::Event::Stream->new(
            loop       => $loops[0][1],
            fh         => $b,
            codec      => 'varint',
            on_message => sub { }
        )->{c_codec},
        1,
        "codec => 'varint' is the C framer"
    );
}

done_testing;
