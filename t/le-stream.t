#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Stream: the contract of API-companions §3, with the seed's
# bugs fixed (no SIGPIPE death, no leaked fds/objects, no lost messages).
# LE_STREAM_MODEL=proactor runs it on a proactor loop (t/le-stream-proactor.t).
use v5.36;
use Test::More;
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
use IO::Handle;
use Errno qw(EPIPE);
use Linux::Event;
use Linux::Event::Stream;

sub pair {
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
    $_->autoflush(1) for $a, $b;
    return ($a, $b);
}

# Runs the loop until $cond->() is true (bounded by a timer).
sub run_until ($loop, $cond, $secs = 5) {
    my $t0 = time;
    while (!$cond->()) {
        $loop->run_once(0.05);
        die "timeout" if time - $t0 > $secs;
    }
}

my $model = $ENV{LE_STREAM_MODEL} // 'reactor';
my $loop = Linux::Event->new(model => $model);
note("model $model");

# Reads $n bytes from the peer $fh, running the loop meanwhile (a
# proactor writes through completions, so the bytes may still be on
# their way when a callback has returned).
sub readn ($fh, $n, $secs = 5) {
    my $got = '';
    $fh->blocking(0);
    my $t0 = time;
    while (length $got < $n) {
        my $r = sysread($fh, $got, $n - length $got, length $got);
        last if defined $r && $r == 0;
        next if $r;
        die "timeout" if time - $t0 > $secs;
        $loop->run_once(0.01);
    }
    $fh->blocking(1);
    return $got;
}

# -- constructor croaks, in the contract's order
{
    my ($a) = pair();
    my @cases = (
        [ {}, qr/^new\(\): missing loop/ ],
        [ { loop => $loop }, qr/^new\(\): missing fh/ ],
        [ { loop => $loop, fh => $a, on_read => 1 }, qr/^on_read must be a coderef/ ],
        [ { loop => $loop, fh => $a, on_message => 1 }, qr/^on_message must be a coderef/ ],
        [ { loop => $loop, fh => $a, on_error => [] }, qr/^on_error must be a coderef/ ],
        [ { loop => $loop, fh => $a, on_close => 'x' }, qr/^on_close must be a coderef/ ],
        [ { loop => $loop, fh => $a, codec => 'line', decoder => {} },
          qr/^use either codec or decoder\/encoder, not both/ ],
        [ { loop => $loop, fh => $a, on_message => sub {}, on_read => sub {} },
          qr/^on_read is not used when on_message is provided; use on_message \+ codec/ ],
        [ { loop => $loop, fh => $a, on_message => sub {} },
          qr/^new\(\): missing codec \(required with on_message\)/ ],
        [ { loop => $loop, fh => $a, on_message => sub {}, codec => 'xml' },
          qr/^unknown codec alias: xml/ ],
        [ { loop => $loop, fh => $a, on_message => sub {}, codec => [] },
          qr/^codec must be a hashref \(or blessed hashref\)/ ],
        [ { loop => $loop, fh => $a, on_message => sub {}, decoder => sub {} },
          qr/^codec must be a hashref \(or blessed hashref\)/ ],
        [ { loop => $loop, fh => $a, on_message => sub {}, codec => { encode => sub {} } },
          qr/^codec->\{decode\} must be a coderef/ ],
        [ { loop => $loop, fh => $a, on_message => sub {}, codec => { decode => sub {} } },
          qr/^codec->\{encode\} must be a coderef/ ],
        [ { loop => $loop, fh => $a, zed => 1, alpha => 2 }, qr/^unknown options: alpha, zed/ ],
    );
    for my $c (@cases) {
        eval { Linux::Event::Stream->new(%{ $c->[0] }) };
        like($@, $c->[1], "croak $c->[1]");
    }
}

# -- raw mode: chunks in order, data passed last, write-behind
{
    my ($a, $b) = pair();
    my $got = '';
    my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, data => 'D',
        on_read => sub ($s, $bytes, $data) { $got .= $bytes; is($data, 'D', 'data last') if $got eq 'hello' });
    syswrite($b, 'hello');
    run_until($loop, sub { length $got >= 5 });
    is($got, 'hello', 'raw on_read');
    is($s->write('back'), 1, 'write returns 1');
    is($s->write(undef), 1, 'write(undef) is 1');
    is($s->write(''), 1, "write('') is 1");
    if ($model eq 'reactor') {
        sysread($b, my $buf, 100);
        is($buf, 'back', 'written at once');
    } else {
        is(readn($b, 4), 'back', 'written');
    }
    is($s->buffered_bytes, 0, 'nothing buffered');
    is($s->is_closed, '', 'is_closed false is empty string');
    is($s->last_error, undef, 'no last_error');
    is($s->fh, $a, 'fh');
    $s->close;
    ok($s->is_closed, 'closed');
    is($s->write('x'), 0, 'write after close is 0');
}

# -- line codec: messages, encode appends newline, data
{
    my ($a, $b) = pair();
    my @msgs;
    my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, codec => 'line',
        on_message => sub ($s, $msg, $data) { push @msgs, $msg; $s->write_message("re:$msg") });
    syswrite($b, "one\ntw");
    run_until($loop, sub { @msgs >= 1 });
    syswrite($b, "o\r\nthree\n");
    run_until($loop, sub { @msgs >= 3 });
    is_deeply(\@msgs, ['one', "two\r", 'three'], 'lines split, CR kept, chomped');
    my $back = readn($b, length("re:one\nre:two\r\nre:three\n"));
    is($back, "re:one\nre:two\r\nre:three\n", 'write_message encodes with newline');
    $s->close;
}

# -- chomp => 0, max_line, write_message without codec
{
    require Linux::Event::Stream::Codec::Line;
    my ($a, $b) = pair();
    my (@msgs, @err);
    my $c = Linux::Event::Stream::Codec::Line->new(chomp => 0, max_line => 6);
    my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, codec => $c,
        on_message => sub ($s, $m, $d) { push @msgs, $m },
        on_error => sub ($s, $errno, $d) { push @err, $errno });
    syswrite($b, "ab\nabcde\nabcdefgh\nz\n");
    run_until($loop, sub { $s->is_closed });
    is_deeply(\@msgs, ["ab\n", "abcde\n"], 'messages before the framing error are delivered');
    is_deeply(\@err, [0], 'codec error errno 0');
    is($s->last_error, 'codec:line too long (>6 bytes)', 'last_error text');

    # Longer than max_line before its end arrives: the same error, at once
    # (it said max_inbuf_exceeded, naming a limit nowhere near).
    my ($a2, $b2) = pair();
    my @err2;
    my $s2 = Linux::Event::Stream->new(loop => $loop, fh => $a2,
        codec => Linux::Event::Stream::Codec::Line->new(max_line => 100),
        on_message => sub { }, on_error => sub ($s, $errno, $d) { push @err2, $errno });
    syswrite($b2, 'A' x 300);
    run_until($loop, sub { $s2->is_closed });
    is_deeply(\@err2, [0], 'an unended line over max_line: a codec error');
    is($s2->last_error, 'codec:line too long (>100 bytes)', 'an unended line over max_line: its text');

    my ($x) = pair();
    my $raw = Linux::Event::Stream->new(loop => $loop, fh => $x, on_read => sub {});
    eval { $raw->write_message('m') };
    like($@, qr/^write_message\(\) requires a codec \(use on_message mode\)/, 'write_message needs a codec');
    $raw->close;
}

# -- netstring and u32be, including their errors
{
    my ($a, $b) = pair();
    my @msgs;
    my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, codec => 'netstring',
        on_message => sub ($s, $m, $d) { push @msgs, $m; $s->write_message($m) });
    syswrite($b, "3:abc,0:,02:xy,");
    run_until($loop, sub { @msgs >= 3 });
    is_deeply(\@msgs, ['abc', '', 'xy'], 'netstring frames (leading zero accepted)');
    my $back = readn($b, 14);
    is($back, '3:abc,0:,2:xy,', 'netstring encode');
    syswrite($b, "3:abcX");
    run_until($loop, sub { $s->is_closed });
    is($s->last_error, 'codec:invalid netstring terminator', 'bad terminator');

    my ($c, $d) = pair();
    my $t = Linux::Event::Stream->new(loop => $loop, fh => $c, codec => 'netstring',
        on_message => sub {});
    syswrite($d, "x3:abc,");
    run_until($loop, sub { $t->is_closed });
    is($t->last_error, 'codec:invalid netstring length', 'bad length');

    require Linux::Event::Stream::Codec::Netstring;
    my ($e, $f) = pair();
    my $u = Linux::Event::Stream->new(loop => $loop, fh => $e,
        codec => Linux::Event::Stream::Codec::Netstring->new(max_frame => 4), on_message => sub {});
    syswrite($f, "100:");
    run_until($loop, sub { $u->is_closed });
    is($u->last_error, 'codec:frame too large (>4 bytes)', 'max_frame checked before the payload');

    my ($g, $h) = pair();
    my @m2;
    my $v = Linux::Event::Stream->new(loop => $loop, fh => $g, codec => 'u32be',
        on_message => sub ($s, $m, $d) { push @m2, $m; $s->write_message(uc $m) });
    syswrite($h, pack('N', 3) . 'abc' . pack('N', 0) . pack('N', 2) . 'x');
    run_until($loop, sub { @m2 >= 2 });
    syswrite($h, 'y');
    run_until($loop, sub { @m2 >= 3 });
    is_deeply(\@m2, ['abc', '', 'xy'], 'u32be frames across chunks');
    my $b2 = readn($h, 4 + 3 + 4 + 4 + 2);
    is($b2, pack('N', 3) . 'ABC' . pack('N', 0) . pack('N', 2) . 'XY', 'u32be encode');
    $v->close;

    # A frame cut off by EOF is truncated, not over max_inbuf (issue 17).
    for my $max_frame (undef, 100) {
        require Linux::Event::Stream::Codec::U32BE;
        my ($i, $j) = pair();
        my @m3;
        my $w = Linux::Event::Stream->new(loop => $loop, fh => $i,
            codec => Linux::Event::Stream::Codec::U32BE->new(
                defined $max_frame ? (max_frame => $max_frame) : ()),
            on_message => sub ($s, $m, $d) { push @m3, $m });
        syswrite($j, pack('N', 1) . 'a' . "\0\0\0\x05ab");
        close $j;
        run_until($loop, sub { $w->is_closed });
        is_deeply(\@m3, ['a'], 'u32be: the whole frame before the cut one');
        is($w->last_error, 'codec:truncated frame',
            'u32be frame cut off by EOF: truncated (max_frame ' . ($max_frame // 'undef') . ')');
    }
}

# -- a codec in Perl, with the seed's calling convention
{
    my ($a, $b) = pair();
    my @msgs;
    my $codec = {
        decode => sub ($c, $bufref, $out) {
            while ($$bufref =~ s/\A([^|]*)\|//) { push @$out, $1 }
            return $$bufref =~ /!/ ? (0, 'bang') : (1);
        },
        encode => sub ($c, $m) { "$m|" },
    };
    my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, codec => $codec,
        on_message => sub ($s, $m, $d) { push @msgs, $m; $s->write_message("<$m>") });
    syswrite($b, "a|b|c");
    run_until($loop, sub { @msgs >= 2 });
    syswrite($b, "|d!");
    run_until($loop, sub { $s->is_closed });
    is_deeply(\@msgs, [qw(a b c)], 'perl codec decodes');
    is($s->last_error, 'codec:bang', 'perl codec error text');
}

# -- pause inside on_message loses nothing; resume delivers the rest
{
    my ($a, $b) = pair();
    my @msgs;
    my $s;
    $s = Linux::Event::Stream->new(loop => $loop, fh => $a, codec => 'line',
        on_message => sub ($st, $m, $d) { push @msgs, $m; $st->pause_read if $m eq 'a' });
    syswrite($b, "a\nb\nc\n");
    run_until($loop, sub { @msgs >= 1 });
    $loop->run_once(0.05) for 1 .. 3;
    is_deeply(\@msgs, ['a'], 'paused after a');
    $s->resume_read;
    run_until($loop, sub { @msgs >= 3 });
    is_deeply(\@msgs, [qw(a b c)], 'resume delivers b and c (seed lost them)');
    is($s->pause_read, $s, 'pause_read returns self');
    is($s->resume_read, $s, 'resume_read returns self');
    $s->close;
}

# -- EOF: on_close once, no on_error; queued output still goes out
{
    my ($a, $b) = pair();
    my ($closed, $errors) = (0, 0);
    my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, codec => 'line', data => 7,
        on_message => sub ($s, $m, $d) { $s->write_message("echo:$m") },
        on_error => sub { $errors++ },
        on_close => sub ($s, $d) { $closed++; is($d, 7, 'on_close gets data') });
    syswrite($b, "last\n");
    shutdown($b, 1);
    run_until($loop, sub { $closed });
    is($closed, 1, 'on_close once');
    is($errors, 0, 'no on_error at EOF');
    my $back = '';
    while (sysread($b, my $buf, 100)) { $back .= $buf }
    is($back, "echo:last\n", 'reply written before the close');
    ok(!defined fileno($a), 'close_fh defaults to 1');
}

# -- peer gone: EPIPE is an error, not a SIGPIPE death
{
    my ($a, $b) = pair();
    my @err;
    my $closed = 0;
    my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, on_read => sub {},
        on_error => sub ($s, $e, $d) { push @err, $e }, on_close => sub { $closed++ });
    close $b;
    my $r = $s->write('x' x 100);
    run_until($loop, sub { $closed }) unless $closed;
    ok(@err && ($err[0] == EPIPE || $err[0] == Errno::ECONNRESET()), "error errno $err[0]");
    like($s->last_error, qr/^io:(32|104)$/, 'last_error io:errno');
    is($closed, 1, 'closed once');
}

# -- max_inbuf bounds the undecoded leftover, not the decoded bytes
{
    my ($a, $b) = pair();
    my @msgs;
    my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, codec => 'line', max_inbuf => 10,
        on_message => sub ($s, $m, $d) { push @msgs, $m });
    syswrite($b, "a\nb\nc\nd\ne\nf\n");
    run_until($loop, sub { @msgs >= 6 });
    is(scalar @msgs, 6, 'many small lines in one read are fine');
    syswrite($b, 'x' x 40);
    run_until($loop, sub { $s->is_closed });
    is($s->last_error, 'codec:max_inbuf_exceeded:10', 'unterminated input beyond max_inbuf');
}

# -- watermarks, close_after_drain
{
    my ($a, $b) = pair();
    my $closed = 0;
    my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, on_read => sub {},
        high_watermark => 1000, low_watermark => 100, on_close => sub { $closed++ });
    $s->write('x' x 4_000_000);
    ok($s->buffered_bytes > 1000, 'bytes queued behind a full socket');
    ok($s->is_write_blocked, 'write-blocked above the high watermark');
    is($s->close_after_drain, $s, 'close_after_drain returns self');
    ok($s->is_closing, 'closing');
    is($s->write('more'), 0, 'writes refused while closing');
    my $n = 0;
    $b->blocking(0);
    while (!$closed) {
        $loop->run_once(0.01);
        while (my $r = sysread($b, my $buf, 1 << 20)) { $n += $r; last if $r < (1 << 20) }
    }
    is($n, 4_000_000, 'every byte written before the close');
    ok(!$s->is_write_blocked, 'no longer blocked');
    is($closed, 1, 'closed after drain');

    my ($c) = pair();
    my $sync = 0;
    my $t = Linux::Event::Stream->new(loop => $loop, fh => $c, on_read => sub {}, on_close => sub { $sync++ });
    $t->close_after_drain;
    is($sync, 1, 'close_after_drain with nothing queued closes synchronously');
}

# -- exceptions from callbacks propagate out of the loop; the loop survives
{
    my ($a, $b) = pair();
    my $n = 0;
    my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, codec => 'line',
        on_message => sub ($s, $m, $d) { $n++; die "boom\n" if $m eq 'die' });
    syswrite($b, "die\n");
    my $err;
    for (1 .. 50) { last if $n; eval { $loop->run_once(0.05); 1 } or do { $err = $@; last } }
    is($err, "boom\n", 'exception propagates');
    syswrite($b, "ok\n");
    run_until($loop, sub { $n >= 2 });
    is($n, 2, 'stream keeps working');
    $s->close;
}

# -- no leaks: 200 streams closed by EOF leave the fd count flat
{
    sub nfds { opendir(my $d, '/proc/self/fd') or return -1; my @f = readdir $d; scalar @f }
    my $before = nfds();
    for (1 .. 200) {
        my ($a, $b) = pair();
        my $done = 0;
        Linux::Event::Stream->new(loop => $loop, fh => $a, on_read => sub {}, on_close => sub { $done++ });
        close $b;
        run_until($loop, sub { $done });
    }
    is(nfds(), $before, 'fd count flat after 200 EOF-closed streams');
}

done_testing;
