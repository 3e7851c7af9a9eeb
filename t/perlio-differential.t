#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Blocking handles behave exactly like :perlio.  Seeded random sequences of
# operations (readline with every kind of $/, getc, ungetc, eof, read, print,
# printf, seek, tell, truncate, binmode, :pop and push back, dup, autoflush,
# flush, close) run once over :perlio and once over :evloop, on files, pipes
# and sockets.  Every result, $! of every failure, every warning, and the
# bytes that reach the other end are recorded; the two transcripts must be
# identical.  A failing seed is printed; rerun one with EVL_DIFF_SEED=n.
# EVL_DIFF_ITERS=k multiplies the number of sequences (0.05 for valgrind);
# EVL_DIFF_SHOW=1 prints both transcripts side by side.
use strict;
use warnings;
use Test::More;
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC SHUT_WR);
use lib 't/lib';
use EvlTest qw(temp_path read_all_raw);

my $mult = $ENV{EVL_DIFF_ITERS} || 1;
my %count = (file => 1500 * $mult, pipe => 400 * $mult, socket => 400 * $mult);
my @only = defined $ENV{EVL_DIFF_SEED} ? ($ENV{EVL_DIFF_SEED}) : ();

my $path = temp_path();

# ------------------------------------------------------------------ generation

sub rnd { int(rand($_[0])) }
sub pick { $_[rnd(scalar @_)] }

# Text with many lines, blank lines (paragraph mode), CRs, and the
# multi-character separators' pieces.
sub gen_text {
    my ($max) = @_;
    my $len = rnd(3) ? rnd($max) : rnd(40);
    my @atoms = ("\n", "\n\n", "\r\n", "ab", "a", "b", "x", "word", " ", "\0", "\xff",
                 "line of text", "z" x rnd(300));
    my $s = '';
    $s .= pick(@atoms) while length($s) < $len;
    return substr($s, 0, $len);
}

my @RS = ("\n", "", undef, "ab", "\r\n", "x", "\n\n");

sub gen_op {
    my ($kind, $can_r, $can_w, $depth) = @_;
    my @menu;
    if ($can_r) {
        push @menu, (['readline', pick(@RS, \(1 + rnd(40)))]) x 6;
        push @menu, ['readline_list', pick(@RS)] if !rnd(4);
        push @menu, (['getc']) x 2, ['ungetc', pick(10, 65, 0, 255, 13)], ['eof'];
        push @menu, (['read', pick(1, 2, 7, 100, 5000, 9000, 20000), pick(0, 0, 3)]) x 2;
    }
    if ($can_w) {
        push @menu, (['print', gen_text(pick(50, 500, 9000))]) x 4;
        push @menu, ['printf', '%s-%05d|%x' . pick("\n", ''), gen_text(30), rnd(99999), rnd(1e6)];
        push @menu, ['autoflush', rnd(2)], ['flush'];
        push @menu, ['truncate', rnd(3000)] if $kind eq 'file' && !rnd(3);
    }
    push @menu, ['tell'], ['seek', pick(0, rnd(400), rnd(12000), -rnd(50)), pick(0, 0, 1, 2)];
    push @menu, ['binmode_raw'];
    push @menu, ['pop_push'] if $kind eq 'file';
    if ($depth == 0 && !rnd(3)) {
        my @modes = $can_r && $can_w ? ('+<&', '<&', '>&') : $can_r ? ('<&') : ('>&');
        my $m = pick(@modes);
        my ($dr, $dw) = ($m =~ /</ ? 1 : 0, $m =~ /\+|>/ ? 1 : 0);
        push @menu, ['dup', $m, [map { gen_op($kind, $dr, $dw, 1) } 1 .. 1 + rnd(4)]];
    }
    push @menu, ['reopen'] if $kind eq 'file' && $depth == 0 && !rnd(8);
    return pick(@menu);
}

# ------------------------------------------------------------------ execution

my @log;        # the transcript of the current run
sub rec { push @log, join('|', map { defined $_ ? $_ : '<undef>' } @_) }
sub fail_rec { my ($what, $ok) = @_; rec($what, $ok ? 'ok' : 'fail:' . ($! + 0)) }

sub show { my $s = shift; return '<undef>' unless defined $s; $s =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge; $s }

# Runs one op on $fh ($layer: 'perlio' or 'evloop').
sub run_op {
    my ($fh, $op, $layer, $ctx) = @_;
    my ($name, @a) = @$op;
    $! = 0;
    if ($name eq 'readline') {
        local $/ = $a[0];
        my $l = readline($fh);
        rec('readline', show($a[0]), defined $l ? show($l) : 'undef:' . ($! + 0), $.);
    } elsif ($name eq 'readline_list') {
        local $/ = $a[0];
        my @l = readline($fh);
        rec('readline_list', show($a[0]), scalar(@l), show(join '', @l));
    } elsif ($name eq 'getc') {
        my $c = getc($fh);
        rec('getc', defined $c ? show($c) : 'undef:' . ($! + 0));
    } elsif ($name eq 'ungetc') {
        # Pushing back in front of offset 0 leaves :perlio's position
        # negative, and its next flush seeks or writes garbage.
        if (tell($fh) > 0) {
            rec('ungetc', $fh->ungetc($a[0]));
        } else {
            rec('ungetc skipped');
        }
    } elsif ($name eq 'eof') {
        rec('eof', eof($fh) ? 1 : 0);
    } elsif ($name eq 'read') {
        my $buf = 'XYZ';
        my $n = read($fh, $buf, $a[0], $a[1]);
        rec('read', $a[0], defined $n ? $n : 'undef:' . ($! + 0), show($buf));
    } elsif ($name eq 'print') {
        fail_rec('print', print {$fh} $a[0]);
    } elsif ($name eq 'printf') {
        fail_rec('printf', printf {$fh} $a[0], @a[1 .. $#a]);
    } elsif ($name eq 'autoflush') {
        $fh->autoflush($a[0]);
        rec('autoflush', $a[0]);
    } elsif ($name eq 'flush') {
        fail_rec('flush', $fh->flush);
    } elsif ($name eq 'truncate') {
        fail_rec('truncate', truncate($fh, $a[0]));
    } elsif ($name eq 'tell') {
        rec('tell', tell($fh));
    } elsif ($name eq 'seek') {
        fail_rec("seek $a[0] $a[1]", seek($fh, $a[0], $a[1]));
    } elsif ($name eq 'binmode_raw') {
        fail_rec('binmode', binmode($fh));
        rec('layers', scalar(my @l = PerlIO::get_layers($fh)));
    } elsif ($name eq 'pop_push') {
        # :pop takes off a :pending left by ungetc, not the buffer layer.
        my @top = PerlIO::get_layers($fh);
        return rec('pop skipped') if $top[-1] eq 'pending';
        fail_rec('pop', binmode($fh, ':pop'));
        fail_rec('push', binmode($fh, ":$layer"));
        rec('layers', scalar(my @l = PerlIO::get_layers($fh)));
    } elsif ($name eq 'dup') {
        my $ok = open(my $d, $a[0], $fh);
        fail_rec("dup $a[0]", $ok);
        if ($ok) {
            run_op($d, $_, $layer, $ctx) for @{ $a[1] };
            fail_rec('close dup', close($d));
        }
    } elsif ($name eq 'reopen') {
        fail_rec('close', close($fh));
        my $ok = open($_[0], $layer eq 'evloop' ? '+<:evloop' : '+<', $ctx->{path});
        fail_rec('reopen', $ok);
    } else {
        die "unknown op $name";
    }
}

my @MODES = ('<', '+<', '>', '+>', '>>', '+>>');

# C's rule for update streams, which PerlIOBuf relies on too: input is not
# directly followed by output without a seek.  :perlio breaks without it
# (after an ungetc it writes its uninitialised buffer to the file), and
# there is nothing to agree with in that.
my %READS = map { $_ => 1 } qw(readline readline_list getc ungetc eof read);
my %WRITES = map { $_ => 1 } qw(print printf);
sub stdio_rule {
    my ($ops) = @_;
    my @out;
    my $reading = 0;
    for my $op (@$ops) {
        if ($op->[0] eq 'dup') {
            $op = [$op->[0], $op->[1], stdio_rule($op->[2])];
            $reading = 0;
        }
        push @out, ['seek', 0, 1] if $reading && $WRITES{ $op->[0] };
        $reading = 1 if $READS{ $op->[0] };
        $reading = 0 if $WRITES{ $op->[0] } || $op->[0] =~ /^(seek|reopen|pop_push)$/;
        push @out, $op;
    }
    return \@out;
}

sub plan_seq {
    my ($kind, $seed) = @_;
    srand($seed);
    my %p = (kind => $kind);
    if ($kind eq 'file') {
        $p{content} = gen_text(pick(100, 3000, 20000));
        $p{mode} = pick(@MODES);
        ($p{r}, $p{w}) = ($p{mode} =~ /\+|</ ? 1 : 0, $p{mode} =~ /\+|>/ ? 1 : 0);
    } elsif ($kind eq 'pipe') {
        # Either end of a pipe; what the reader gets was written in full
        # first (a pipe holds 64 KiB), so chunking is the same both runs.
        $p{content} = gen_text(pick(100, 3000, 40000));
        ($p{r}, $p{w}) = rnd(3) ? (1, 0) : (0, 1);
    } else {
        $p{content} = gen_text(pick(100, 3000, 40000));
        ($p{r}, $p{w}) = (1, 1);
    }
    $p{ops} = stdio_rule([map { gen_op($kind, $p{r}, $p{w}, 0) } 1 .. 5 + rnd(35)]);
    return \%p;
}

sub run_seq {
    my ($p, $layer) = @_;
    @log = ();
    local $SIG{__WARN__} = sub { my $w = shift; $w =~ s/ at \S+ line \d+.*//s; rec('warn', $w) };
    my $ev = $layer eq 'evloop';
    my ($fh, $peer);
    my $ctx = { path => $path };
    if ($p->{kind} eq 'file') {
        open(my $init, '>:raw', $path) or die "$path: $!";
        print $init $p->{content};
        close $init;
        open($fh, $p->{mode} . ($ev ? ':evloop' : ''), $path) or die "open $p->{mode}: $!";
    } elsif ($p->{kind} eq 'pipe') {
        pipe(my $r, my $w) or die "pipe: $!";
        if ($p->{r}) {
            syswrite($w, $p->{content}) == length $p->{content} or die "prefill: $!";
            close $w;
            $fh = $r;
        } else {
            ($fh, $peer) = ($w, $r);
        }
        binmode($fh, ':evloop') or die "binmode: $!" if $ev;
    } else {
        socketpair($fh, $peer, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
        syswrite($peer, $p->{content}) == length $p->{content} or die "prefill: $!";
        shutdown($peer, SHUT_WR);
        binmode($fh, ':evloop') or die "binmode: $!" if $ev;
    }
    run_op($fh, $_, $layer, $ctx) for @{ $p->{ops} };
    fail_rec('close', close($fh));
    if ($p->{kind} eq 'file') {
        rec('file', show(read_all_raw($path)));
    } elsif ($peer) {
        my $all = '';
        1 while sysread($peer, $all, 65536, length $all);
        rec('peer got', show($all));
    }
    return [@log];
}

# ------------------------------------------------------------------ compare

my $failures = 0;
for my $kind (qw(file pipe socket)) {
    my @seeds = @only ? @only : (1 .. $count{$kind});
    my $bad = 0;
    for my $seed (@seeds) {
        my $p = plan_seq($kind, $seed);
        my $want = run_seq($p, 'perlio');
        my $got = run_seq($p, 'evloop');
        if ($ENV{EVL_DIFF_SHOW}) {
            diag("mode $p->{mode}") if $p->{mode};
            diag(sprintf "%-60.60s %s %s", $want->[$_] // '', ($want->[$_] // '') eq ($got->[$_] // '') ? '  ' : '!=', $got->[$_] // '') for 0 .. $#$want;
        }
        next if join("\n", @$want) eq join("\n", @$got);
        $bad++;
        if ($failures++ < 5) {
            my $i = 0;
            $i++ while $i < @$want && $i < @$got && $want->[$i] eq $got->[$i];
            diag("$kind seed $seed differs at step $i (EVL_DIFF_SEED=$seed):\n"
                 . "  perlio: " . ($want->[$i] // '<end>') . "\n"
                 . "  evloop: " . ($got->[$i] // '<end>') . "\n"
                 . "  before: " . join(' ; ', @$want[($i > 3 ? $i - 3 : 0) .. $i - 1]));
        }
    }
    is($bad, 0, "$kind: " . scalar(@seeds) . " random sequences give the same results over :evloop as over :perlio");
}

done_testing;
