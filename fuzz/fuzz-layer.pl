# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# fuzz-layer.pl - the Perl half of fuzz/fuzz-layer.c (compiled into it as a
# string; see fuzz/include.am).  EvlFuzzLayer::run($input) decodes the
# fuzz input into a handle kind and a sequence of operations, runs it once
# over :perlio and once over :evloop (or :evloop:evline), and returns ''
# when the two transcripts (every result, $! of every failure, every
# warning, and the bytes that end up in the file or at the peer) agree, or
# a description of the first difference.  t/perlio-differential.t is the
# seeded-random sibling of this; the documented differences of
# PerlIO::evloop's POD are left out here as there, each where it is made.
#
# Input: byte 0 is the set-up (kind, :evline or not, file open mode),
# byte 1 the length of the initial content; then each operation is one
# selector byte and the argument bytes it takes.  Text arguments are made
# of atoms picked by input bytes, so short inputs can still make long
# lines, blank lines, CRs and NULs.
package EvlFuzzLayer;
use v5.36;
use Errno qw(EAGAIN);
use Fcntl qw(SEEK_SET SEEK_CUR SEEK_END);
use File::Temp ();
use IO::Handle ();
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC SHUT_WR);

$SIG{PIPE} = 'IGNORE';    # :perlio raises SIGPIPE where :evloop returns EPIPE

our $DIR = File::Temp->newdir('evl-fuzz-layer-XXXXXX', TMPDIR => 1);
my $path = "$DIR/f";      # $DIR: removed when perl exits

# A pipe holds 64 KiB and nobody reads it before the end: bytes written
# into a pipe or socket (either way) stay below that, so no write blocks.
use constant WIRE_CAP => 48 * 1024;

my @ATOMS = (
    "\n", "\n\n", "\r\n", "a", "b", "ab", "x", "word", " ", "\0", "\xff",
    "line of text", "z" x 40, "z" x 300, "Q" x 2000, "\n" x 5
);
my @RS     = ("\n", "", undef, "ab", "\r\n", "x", "\n\n", \1, \2, \7, \40, \300, \9000);
my @READ_N = (1, 2, 7, 100, 5000, 9000, 20000, 0);
my @MODES  = ('<', '+<', '>', '+>', '>>', '+>>');
my @KINDS  = qw(file file pipe_r pipe_w socket socket);

# ------------------------------------------------------------------ decoding

my ($in, $pos);
sub byte () { $pos < length $in ? ord(substr($in, $pos++, 1)) : 0 }
sub more () { $pos < length $in }

sub text ($n) {
    my $s = '';
    for (1 .. $n) {
        my $b = byte();
        $s .= $b >= 0xf0 ? chr(byte()) : $ATOMS[$b % @ATOMS];
    }
    return $s;
}

my @OPS = qw(readline readline readline readline_list getc eof read read sysread
    print print printf syswrite flush autoflush tell seek seek ungetc truncate
    pop_push evline reopen blocking peer_write peer_write peer_shut peer_read);

sub decode ($data) {
    ($in, $pos) = ($data, 0);
    my $b0 = byte();
    my %p  = (
        kind   => $KINDS[$b0 % @KINDS],
        evline => ($b0 >> 3) & 1,
        mode   => $MODES[($b0 >> 4) % @MODES]
    );
    $p{content} = text(byte() % 64);

    # What a pipe or socket is prefilled with must fit in it (WIRE_CAP).
    $p{content} = substr($p{content}, 0, WIRE_CAP) if $p{kind} ne 'file';
    $p{r}       = $p{kind} eq 'pipe_w' ? 0 : $p{kind} ne 'file' || $p{mode} =~ /\+|</ ? 1 : 0;
    $p{w}       = $p{kind} eq 'pipe_r' ? 0 : $p{kind} ne 'file' || $p{mode} =~ /\+|>/ ? 1 : 0;
    my @ops;
    while (more() && @ops < 64) {
        my $name = $OPS[byte() % @OPS];
        my @a;
        if ($name eq 'readline' || $name eq 'readline_list') {
            @a = (byte() % @RS);
        } elsif ($name eq 'read' || $name eq 'sysread') {
            @a = ($READ_N[byte() % @READ_N], byte() % 3 ? 0 : 3);
        } elsif ($name eq 'print' || $name eq 'syswrite' || $name eq 'peer_write') {
            @a = (text(byte() % 32));
        } elsif ($name eq 'printf') {
            @a = ('%s-%05d|%x' . (byte() & 1 ? "\n" : ''), text(byte() % 8), byte() * 97, byte());
        } elsif ($name eq 'seek') {
            my $b = byte();
            @a = ((0, 1, 5, 100, 4000, 9000, 70000, -3)[$b % 8], ($b >> 3) % 3);
        } elsif ($name eq 'truncate') {
            @a = (byte() * 37);
        } elsif ($name =~ /^(autoflush|blocking)$/) {
            @a = (byte() & 1);
        } elsif ($name eq 'ungetc') {
            @a = ((10, 65, 0, 255, 13)[byte() % 5]);
        }
        push @ops, [$name, @a];
    }
    $p{ops} = \@ops;
    return \%p;
}

# ------------------------------------------------------------------ execution

my (@log, %st);

sub rec (@v) {
    push @log, join('|', map { defined $_ ? $_ : '<undef>' } @v);
}
sub fail_rec ($what, $ok) { rec($what, $ok ? 'ok' : 'fail:' . ($! + 0)) }

sub show ($s) {
    return '<undef>' unless defined $s;
    return '\\' . $$s if ref $s;
    $s =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
    return $s;
}

my %READS  = map { $_ => 1 } qw(readline readline_list getc eof read ungetc);
my %WRITES = map { $_ => 1 } qw(print printf syswrite);

# Reading from the handle (anything but a file) while the peer may still
# send: only non-blocking, or it could wait forever.  A blocking read
# first closes the peer's sending side, in both runs alike.
sub before_read ($fh) {
    if ($st{peer_w} && !$st{nonblock}) {
        peer_shut();
    }
}

sub peer_shut () {
    return unless $st{peer_w};
    if ($st{kind} eq 'socket') {
        shutdown($st{peer_w}, SHUT_WR);
        $st{peer_w} = undef;
    } else {
        close($st{peer_w});
        $st{peer_w} = undef;
    }
}

# The bytes a non-blocking read got.  :evline returns whole lines only on
# a non-blocking handle (POD, ":evline"), so there its reads are compared
# as one byte stream (collected here, recorded at the end) rather than
# read by read; $st{evline} says the plan has :evline, in both runs, so
# both record alike.
# Whether reads are compared as one byte stream (see nb_result): on a
# non-blocking :evline handle, and on any handle once a read was made
# non-blocking: :perlio takes EAGAIN for an error on the handle and its
# later reads, blocking again or not, can come back short or empty where
# :evloop's go on (POD "Non-blocking handles"); the bytes, in order,
# must still be the same.
sub as_stream () {
    $st{nb_read} = 1 if $st{nonblock};
    return ($st{evline} && $st{nonblock}) || $st{nb_read};
}

sub nb_result ($what, $bytes, $n) {
    if (as_stream()) {
        $st{nb_bytes} .= $bytes if defined $bytes;
        return;
    }
    rec($what, defined $n ? (show($bytes), $n) : ('undef:' . ($! + 0)));
}

sub run_op ($fh, $op, $layer) {
    my ($name, @a) = @$op;
    $! = 0;
    if ($READS{$name} && !$st{r}) {
        return;
    }
    if (($WRITES{$name}) && !$st{w}) {
        return;
    }
    if ($st{kind} ne 'file' && $WRITES{$name}) {
        my $len = $name eq 'printf' ? 40 + length($a[1]) : length($a[0]);
        return rec("$name skipped: wire cap") if $st{wired} + $len > WIRE_CAP;
        $st{wired} += $len;
    }

    # C's rule for update streams, which PerlIOBuf relies on too: input is
    # not directly followed by output without a seek (t/perlio-differential.t).
    if ($st{kind} eq 'file') {
        if ($st{reading} && $WRITES{$name}) {
            seek($fh, 0, SEEK_CUR);
            $st{reading} = 0;
        }
        $st{reading} = 1 if $READS{$name};
        $st{reading} = 0 if $WRITES{$name} || $name =~ /^(seek|reopen)$/;
    }
    $st{ungot} = 0 if ($READS{$name} && $name ne 'ungetc') || $name =~ /^(seek|reopen|pop_push)$/;
    if ($name eq 'readline') {

        before_read($fh);
        local $/ = $RS[$a[0]];
        my $l = readline($fh);
        $st{readahead} = 1;
        if (as_stream()) {
            nb_result('readline', $l, defined $l ? length $l : undef);
        } else {
            rec('readline', show($/), defined $l ? show($l) : 'undef:' . ($! + 0), $.);
        }
    } elsif ($name eq 'readline_list') {

        # In list context readline reads to EOF: blocking only.
        return rec('readline_list skipped: non-blocking') if $st{nonblock};
        before_read($fh);
        local $/ = $RS[$a[0]];
        my @l = readline($fh);
        $st{readahead} = 1;
        if ($st{nb_read}) { $st{nb_bytes} .= join '', @l }
        else              { rec('readline_list', show($/), scalar(@l), show(join '', @l)) }
    } elsif ($name eq 'getc') {
        before_read($fh);
        my $c = getc($fh);
        $st{readahead} = 1;
        nb_result('getc', $c, defined $c ? 1 : undef);
    } elsif ($name eq 'eof') {

        # eof() is false on an idle non-blocking socket (POD, "Non-blocking
        # handles"); :perlio says true.
        return rec('eof skipped: non-blocking') if $st{nonblock} || $st{nb_read};
        before_read($fh);
        $st{readahead} = 1;
        rec('eof', eof($fh) ? 1 : 0);
    } elsif ($name eq 'read') {
        before_read($fh);
        my $buf = 'XYZ';
        my $n   = read($fh, $buf, $a[0], $a[1]);
        $st{readahead} = 1;
        if (as_stream()) {
            nb_result('read', defined $n ? substr($buf, $a[1]) : undef, $n);
        } else {
            rec('read', $a[0], defined $n ? $n : 'undef:' . ($! + 0), show($buf));
        }
    } elsif ($name eq 'sysread') {

        # Once the buffer layer has read ahead, what is left for sysread
        # depends on the read size, which differs on purpose (64 KiB
        # reads from files and non-blocking fds, POD "Blocking handles").
        return rec('sysread skipped: read ahead') if $st{readahead} || !$st{r};
        before_read($fh);
        my $buf = '';
        my $n   = sysread($fh, $buf, $a[0] || 1);
        if (as_stream()) {
            nb_result('sysread', $buf, $n);
        } else {
            rec('sysread', defined $n ? $n : 'undef:' . ($! + 0), show($buf));
        }
    } elsif ($name eq 'print') {
        fail_rec('print', print {$fh} $a[0]);
    } elsif ($name eq 'printf') {
        fail_rec('printf', printf {$fh} $a[0], @a[1 .. $#a]);
    } elsif ($name eq 'syswrite') {
        my $n = syswrite($fh, $a[0]);
        rec('syswrite', defined $n ? $n : 'undef:' . ($! + 0));
    } elsif ($name eq 'flush') {
        fail_rec('flush', $fh->flush);
    } elsif ($name eq 'autoflush') {
        $fh->autoflush($a[0]);
        rec('autoflush', $a[0]);
    } elsif ($name eq 'tell') {

        # tell on a pipe or socket is the buffer layer's count of bytes
        # moved (lseek fails); once non-blocking, :evloop counts a print
        # it queued where :perlio counts what the kernel took (POD,
        # "Non-blocking handles": print always succeeds by queueing).
        return rec('tell skipped: was non-blocking') if $st{nb_ever};
        rec('tell', tell($fh));
    } elsif ($name eq 'seek') {
        return if $st{kind} ne 'file';
        my $ok = seek($fh, $a[0], $a[1]);
        $st{readahead} = 0 if $ok;
        fail_rec("seek $a[0] $a[1]", $ok);
    } elsif ($name eq 'ungetc') {

        # Pushing back in front of offset 0 leaves :perlio's position
        # negative, and its next flush seeks or writes garbage.
        return unless $st{kind} eq 'file' && $st{r};
        return rec('ungetc skipped') unless tell($fh) > 0;
        rec('ungetc', $fh->ungetc($a[0]));
        $st{ungot} = 1;
    } elsif ($name eq 'truncate') {
        return unless $st{kind} eq 'file' && $st{w};

        # :evline reads on to EOF to know an unterminated tail is the last
        # line (POD ":evline"), so it may have met EOF where :perlio has
        # not yet; EOF is sticky on :unix under both until a seek, and a
        # file grown behind it then shows the difference.  With :evline
        # the file is only cut, not grown (both runs flush to compare).
        if ($st{evline}) {
            fail_rec('flush', $fh->flush);
            return rec('truncate skipped: would grow the file') if $a[0] > -s $path;
        }
        fail_rec('truncate', truncate($fh, $a[0]));
    } elsif ($name eq 'pop_push') {

        # The top layer comes off and goes back on: :perlio, :evloop or
        # :evline (files only: elsewhere :pop gives read-ahead back to
        # :unix on purpose, POD "Blocking handles", where :perlio drops
        # it).  A :pending left by ungetc stays.
        return unless $st{kind} eq 'file';

        # In an :evline plan :pop would take :evline off, which holds no
        # buffer, where the :perlio run's takes its buffer layer off (and
        # a new one starts from the fd's position, where a sysread left
        # it): not the same operation.  The evline op covers :evline.
        return rec('pop_push skipped: evline') if $st{evline};
        my @before = PerlIO::get_layers($fh);
        return rec('pop skipped') if $before[-1] eq 'pending';
        fail_rec('pop', binmode($fh, ':pop'));
        fail_rec('push', binmode($fh, ":$before[-1]"));

        # The pop flushed the buffer layer, which seeks: as good as a
        # seek for the update-stream rule above (a pop_push that was
        # skipped is not).
        ($st{readahead}, $st{reading}) = (0, 0);
        rec('layers kept', join(',', PerlIO::get_layers($fh)) eq join(',', @before) ? 1 : 0);
    } elsif ($name eq 'evline') {

        # :evline off and on again; the :perlio run records the same.  A
        # :pending from ungetc on top stays (:pop would take it instead).
        return unless $st{evline};

        # Off by default before: a paragraph readline after :pop found
        # :evloop's EOF flag over unread bytes, and binmode's flush left
        # :evloop idle, so a pushed-back byte went into its buffer and the
        # next :pop dropped it (t/perlio-evline-pop-after-eof.t,
        # t/perlio-evline-toggle-ungetc.t).  EVL_FUZZ_LAYER_TOGGLE=0 still
        # leaves it out.
        return rec('evline toggle skipped')
            if defined $ENV{EVL_FUZZ_LAYER_TOGGLE} && !$ENV{EVL_FUZZ_LAYER_TOGGLE};

        # binmode(:pop) flushes :evloop first; the :perlio run flushes
        # too.  (It shows: after a sysread on a file the buffer layer's
        # idea of the position is one read behind, under :perlio as under
        # :evloop, and a flush seeks there.)
        fail_rec('flush', $fh->flush);
        if ($layer eq 'perlio') {
            rec('evline toggle');
            return;
        }
        my @l = PerlIO::get_layers($fh);
        if ($l[-1] eq 'pending') {

            # nothing
        } elsif ($l[-1] eq 'evline') {
            binmode($fh, ':pop') or return rec('evline pop failed:' . ($! + 0));
        } elsif ($l[-1] eq 'evloop') {
            binmode($fh, ':evline') or return rec('evline push failed:' . ($! + 0));
        }
        rec('evline toggle');
    } elsif ($name eq 'reopen') {
        return unless $st{kind} eq 'file';
        fail_rec('close', close($fh));
        my $ok = open(my $new,
            '+<' . ($layer eq 'perlio' ? '' : $st{evline} ? ':evloop:evline' : ':evloop'), $path);
        ($st{r}, $st{w}, $st{readahead}, $st{reading}) = (1, 1, 0, 0);
        fail_rec('reopen', $ok);
        return $new;    # the handle from now on (run_seq takes it)
    } elsif ($name eq 'blocking') {
        return unless $st{kind} eq 'socket';

        # Non-blocking writes go to a socket that holds all of WIRE_CAP, so
        # they never see EAGAIN (where :evloop queues and :perlio fails).
        $fh->blocking($a[0] ? 0 : 1);
        $st{nonblock} = $a[0];
        $st{nb_ever} ||= $a[0];
        rec('nonblock', $a[0]);
    } elsif ($name eq 'peer_write') {
        return unless $st{peer_w};
        return rec('peer_write skipped: wire cap') if $st{fed} + length($a[0]) > WIRE_CAP;
        $st{fed} += length $a[0];
        syswrite($st{peer_w}, $a[0]) == length $a[0] or die "peer write: $!";
    } elsif ($name eq 'peer_shut') {
        peer_shut();
    } elsif ($name eq 'peer_read') {

        # What has reached the peer so far: the flush points are the same
        # (POD, "Blocking handles").
        return unless $st{peer_r};
        my $got = '';
        $st{peer_r}->blocking(0);
        1 while sysread($st{peer_r}, $got, 65536, length $got);
        $st{peer_r}->blocking(1);
        $st{peer_got} .= $got;
        rec('peer_read', length $got);
    } else {
        die "unknown op $name";
    }
}

sub run_seq ($p, $layer) {
    @log = ();
    %st  = (
        kind     => $p->{kind},
        r        => $p->{r},
        w        => $p->{w},
        wired    => 0,
        fed      => 0,
        nb_bytes => '',
        peer_got => '',
        evline   => $p->{evline}
    );
    my $ev   = $layer ne 'perlio';
    my $push = $p->{evline} ? ':evloop:evline' : ':evloop';
    local $SIG{__WARN__} = sub ($w) { $w =~ s/ at \S+ line \d+.*//s; rec('warn', $w) };
    my $fh;
    if ($p->{kind} eq 'file') {
        open(my $init, '>:raw', $path) or die "$path: $!";
        print $init $p->{content};
        close $init;
        open($fh, $p->{mode} . ($ev ? $push : ''), $path) or die "open $p->{mode}: $!";
    } elsif ($p->{kind} eq 'pipe_r') {
        pipe(my $r, my $w) or die "pipe: $!";
        syswrite($w, $p->{content}) == length $p->{content} or die "prefill: $!";
        $st{fed} = length $p->{content};    # counts against WIRE_CAP, as for a socket
        ($fh, $st{peer_w}) = ($r, $w);
    } elsif ($p->{kind} eq 'pipe_w') {
        pipe(my $r, my $w) or die "pipe: $!";
        ($fh, $st{peer_r}) = ($w, $r);
    } else {
        socketpair($fh, my $peer, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
        syswrite($peer, $p->{content}) == length $p->{content} or die "prefill: $!";
        $st{fed} = length $p->{content};
        ($st{peer_w}, $st{peer_r}) = ($peer, $peer);
    }
    if ($ev && $p->{kind} ne 'file') {
        binmode($fh, $push) or die "binmode $push: $!";
    }
    for my $op (@{ $p->{ops} }) {
        my $new = run_op($fh, $op, $layer);
        $fh = $new if ref $new eq 'GLOB';

        # :perlio flags the handle on EAGAIN (then a read of 0 bytes or
        # a slurp at EOF returns undef, close false), :evloop does not
        # (POD "Non-blocking handles"; STYLE "Errors"): both clear it
        # after every step that may have met one.  ($! does not always
        # tell: a read that got bytes before the EAGAIN succeeds.)
        $fh->clearerr if $st{nonblock} || $! == EAGAIN;
    }

    # The end: the rest of the input read as one blocking slurp (the
    # non-blocking :evline bytes in front of it), then close.
    if ($st{r}) {
        $fh->blocking(1) if $st{nonblock};
        $st{nonblock} = 0;
        before_read($fh);
        local $/;
        my $rest = readline($fh);

        # With :evline the non-blocking reads may have stopped short of a
        # line the slurp then takes: only the bytes in order compare.
        # After non-blocking reads :perlio is no reference: it takes
        # EAGAIN for an error, and its later reads (this slurp too) can
        # drop bytes the peer sent.  Those runs compare up to here.
        if    ($st{nb_read}) { rec('rest not compared: non-blocking reads') }
        elsif ($st{evline})  { rec('rest', show($st{nb_bytes} . ($rest // ''))) }
        else                 { rec('rest', show($st{nb_bytes}), show($rest)) }
    }
    fail_rec('close', close($fh));
    if ($p->{kind} eq 'file') {
        open(my $r, '<:raw', $path) or die "$path: $!";
        local $/;
        rec('file', show(scalar readline $r));
    } elsif ($st{peer_r}) {
        peer_shut();
        my $all = '';
        1 while sysread($st{peer_r}, $all, 65536, length $all);
        rec('peer got', show($st{peer_got} . $all));
    }
    %st = ();
    return [@log];
}

sub run ($data) {
    my $p    = decode($data);
    my $want = run_seq($p, 'perlio');
    my $got  = run_seq($p, $p->{evline} ? 'evline' : 'evloop');
    return '' if join("\n", @$want) eq join("\n", @$got);
    my $i = 0;
    $i++ while $i < @$want && $i < @$got && $want->[$i] eq $got->[$i];
    my $ops = join ' ; ', map {
        join ' ',
            map { show($_ // 'undef') }
            @$_
    } @{ $p->{ops} };
    return
          "$p->{kind} mode $p->{mode} evline $p->{evline}: transcripts differ at step $i\n"
        . "  perlio: "
        . ($want->[$i] // '<end>') . "\n"
        . "  evloop: "
        . ($got->[$i] // '<end>') . "\n"
        . "  before: "
        . join(' ; ', @$want[($i > 3 ? $i - 3 : 0) .. $i - 1]) . "\n"
        . "  content: "
        . show($p->{content}) . "\n"
        . "  ops: $ops\n";
}

1;
