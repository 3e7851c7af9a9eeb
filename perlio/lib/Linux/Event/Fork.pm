# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Fork;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use Carp qw(croak);
use Scalar::Util qw(looks_like_number);
use Hash::Util::FieldHash qw(fieldhash);

require PerlIO::evloop;
require Linux::Event::Fork::Child;
require Linux::Event::Fork::Request;

# ------------------------------------------------------------ $loop->fork

# Linux::Event::Loop, ::Reactor and ::Proactor have fork() (a spawn through
# the loop's own helper) and fork_helper() (that helper, made on first
# use) as methods of their own, which load this module and go to these.
fieldhash my %DEFAULT_HELPER;

# `use Linux::Event::Fork max_children => N`, as Linux::Event::Fork 0.005
# took it: the limit of the loops' own helpers made from then on.
my %IMPORTED;

sub import ($class, %args) {
    return if !%args;
    my $max = delete $args{max_children};
    croak "unknown args: " . join(", ", sort keys %args) if %args;
    $IMPORTED{max_children} = _check_max($max);
    return;
}

sub _loop_fork ($loop, %spec) {
    my $helper = $DEFAULT_HELPER{$loop} //= __PACKAGE__->new($loop, %IMPORTED);
    return $helper->spawn(%spec);
}

sub _loop_fork_helper ($loop, %args) {
    my $helper = $DEFAULT_HELPER{$loop};
    return $DEFAULT_HELPER{$loop} = __PACKAGE__->new($loop, %IMPORTED, %args) if !$helper;
    my $max = delete $args{max_children};
    croak "unknown args: " . join(", ", sort keys %args) if %args;
    $helper->max_children($max) if defined $max;
    return $helper;
}

# ------------------------------------------------------------ the helper

sub _check_max ($n) {
    croak "max_children must be a non-negative integer"
        if !defined $n || ref $n || $n !~ /\A[0-9]+\z/;
    return 0 + $n;
}

sub new ($class, $loop = undef, %args) {
    croak "loop is required" if !$loop || !ref $loop;
    my $max = exists $args{max_children} ? delete $args{max_children} : 0;
    $max = _check_max($max // 0);
    croak "unknown args: " . join(", ", sort keys %args) if %args;
    return bless {
        loop     => $loop,
        max      => $max,
        running  => 0,
        queue    => [],
        on_drain => undef,
    }, $class;
}

sub loop    ($self) { return $self->{loop} }
sub running ($self) { return $self->{running} }
sub queued  ($self) { return scalar @{ $self->{queue} } }

sub max_children ($self, @arg) {
    if (@arg && defined $arg[0]) {
        $self->{max} = _check_max($arg[0]);
        $self->_pump;
        $self->_drain_check;
    }
    return $self->{max};
}

sub _full ($self) {
    return $self->{max} > 0 && $self->{running} >= $self->{max};
}

sub spawn ($self, %spec) {
    _validate(\%spec);
    if ($self->_full) {
        my $req = Linux::Event::Fork::Request->_new(
            fork => $self,
            spec => {%spec},
            tag  => $spec{tag},
            data => $spec{data}
        );
        push @{ $self->{queue} }, $req;
        return $req;
    }
    return $self->_start(\%spec);
}

sub drain ($self, %args) {
    my $cb = delete $args{on_done};
    croak "on_done is required" if !defined $cb;
    croak "on_done must be a coderef" if ref $cb ne 'CODE';
    croak "unknown args: " . join(", ", sort keys %args) if %args;
    $self->{on_drain} = $cb;
    $self->_drain_check;
    return 1;
}

sub cancel_queued ($self, $pred = undef) {
    croak "cancel_queued predicate must be a coderef" if defined $pred && ref $pred ne 'CODE';
    my ($n, @keep) = (0);

    # A predicate may look at (or cancel) other requests: walk a copy.
    for my $req (@{ $self->{queue} }) {
        if (!$req->{cancelled} && (!$pred || $pred->($req))) {
            $req->{cancelled} = 1;
            $n++;
        } else {
            push @keep, $req if !$req->{cancelled};
        }
    }
    @{ $self->{queue} } = @keep;
    $self->_drain_check;
    return $n;
}

# Starts queued requests while there is room (a limit of 0 has room for
# all of them).
sub _pump ($self) {
    my $q = $self->{queue};
    while (@$q && !$self->_full) {
        my $req = shift @$q;
        next if $req->{cancelled};
        $req->{started} = 1;
        $req->{child}   = $self->_start($req->{spec});
    }
    return;
}

sub _drain_check ($self) {
    my $cb = $self->{on_drain};
    return if !$cb || $self->{running} > 0 || @{ $self->{queue} };
    $self->{on_drain} = undef;
    eval { $cb->($self); 1 } or warn "Linux::Event::Fork: drain on_done died: $@";
    return;
}

# ------------------------------------------------------------ checking

my %KNOWN = map { $_ => 1 } qw(
    cmd child on_stdout on_stderr on_exit on_timeout on_start timeout timeout_kill
    capture_stdout capture_stderr stdin stdin_pipe cwd umask env clear_env tag data
    process_group on_stdin_error inherit_stdin stdout_fh stderr_fh pipe_size
);

# Croaks, in Linux::Event 0.010's order, at the first thing wrong with a spec; all
# of it before any pipe or fork.
sub _validate ($s) {
    my ($cmd, $child) = ($s->{cmd}, $s->{child});
    croak "provide exactly one of cmd or child" if defined $cmd && defined $child;
    croak "cmd or child is required" if !defined $cmd && !defined $child;
    if (defined $cmd) {
        croak "cmd must be an arrayref" if ref $cmd ne 'ARRAY' || !@$cmd;
    } else {
        croak "child must be a coderef" if ref $child ne 'CODE';
    }
    for my $k (qw(on_stdout on_stderr on_exit on_timeout on_start on_stdin_error)) {
        croak "$k must be a coderef" if defined $s->{$k} && ref $s->{$k} ne 'CODE';
    }
    for my $k (qw(timeout timeout_kill)) {
        croak "$k must be numeric seconds"
            if defined $s->{$k} && (ref $s->{$k} || !looks_like_number($s->{$k}));
    }
    croak "cwd must be a string" if defined $s->{cwd} && ref $s->{cwd};
    if (defined $s->{umask}) {
        croak "umask must be an integer" if ref $s->{umask} || $s->{umask} !~ /\A\s*[0-9]+\s*\z/;
        croak "umask out of range: $s->{umask}" if $s->{umask} > oct(777);
    }
    croak "env must be a hashref" if defined $s->{env} && ref $s->{env} ne 'HASH';
    croak "pipe_size must be a positive integer"
        if defined $s->{pipe_size} && (ref $s->{pipe_size} || $s->{pipe_size} !~ /\A[1-9][0-9]*\z/);
    for my $k (qw(stdout stderr)) {
        croak "${k}_fh cannot be combined with on_$k or capture_$k"
            if $s->{"${k}_fh"} && (defined $s->{"on_$k"} || $s->{"capture_$k"});
    }
    my @unknown = grep { !$KNOWN{$_} } keys %$s;
    croak "unknown args: " . join(", ", sort @unknown) if @unknown;
    return;
}

# ------------------------------------------------------------ starting

sub _start ($self, $s) {
    my $loop    = $self->{loop};
    my $cap_out = exists $s->{capture_stdout} ? !!$s->{capture_stdout} : defined $s->{on_stdout};
    my $cap_err = exists $s->{capture_stderr} ? !!$s->{capture_stderr} : defined $s->{on_stderr};
    my $stdin   = $s->{stdin};
    my $stdin_mode =
          (defined $stdin || $s->{stdin_pipe}) ? 'pipe'
        : $s->{inherit_stdin} ? 'inherit'
        : 'null';
    my %x = (
        capture_stdout => $cap_out,
        capture_stderr => $cap_err,
        on_stdout      => $s->{on_stdout},
        on_stderr      => $s->{on_stderr},
        on_timeout     => $s->{on_timeout},
        on_stdin_error => $s->{on_stdin_error},
        timeout        => $s->{timeout},
        timeout_kill   => $s->{timeout_kill},
        cwd            => $s->{cwd},
        umask          => $s->{umask},
        process_group  => $s->{process_group},
        stdin_mode     => $stdin_mode,
        pipe_size      => $s->{pipe_size},
        stdout_raw     => $s->{stdout_fh},
        stderr_raw     => $s->{stderr_fh},
    );
    my $env = $s->{env};
    if (defined $s->{cmd}) {
        $x{cmd}       = $s->{cmd};
        $x{clear_env} = $s->{clear_env};
        $x{env}       = [map { "$_=" . ($env->{$_} // '') } sort keys %$env] if $env;
    } elsif ($env || $s->{clear_env}) {

        # %ENV is perl's: set it in the child, after cwd and umask.
        my ($code, $clear) = ($s->{child}, $s->{clear_env});
        $x{child} = sub {
            ## no critic (Variables::RequireLocalizedPunctuationVars): the child keeps it
            %ENV = () if $clear;
            if ($env) {
                $ENV{$_} = $env->{$_} // '' for keys %$env;
            }
            $code->();
        };
    } else {
        $x{child} = $s->{child};
    }

    my %child = (
        loop => $loop,
        tag  => $s->{tag},
        data => $s->{data},
        pid  => undef,
        exit => undef,
        fork => $self,
    );
    my $child   = bless \%child, 'Linux::Event::Fork::Child';
    my $on_exit = $s->{on_exit};
    $x{on_exit} = sub ($c, $status) {
        my $exit = $c->{exit} //=
            Linux::Event::Fork::Exit->new($c->{pid}, $status, %{ $c->{exec_failure} // {} });
        if ($on_exit) {
            eval { $on_exit->($c, $exit); 1 }
                or warn "Linux::Event::Fork: on_exit callback died: $@";
        }
        $self->_finished;
    };
    $child->{pid} = Linux::Event::Fork::XS::spawn($child, $loop, \%x);

    # A failed setup step or exec is known now; the Exit reports it.
    if (my ($errno, $stage) = Linux::Event::Fork::XS::exec_failure($child)) {
        $child->{exec_failure} = { exec_errno => $errno, exec_stage => $stage };
    }
    $self->{running}++;
    for my $fd (1, 2) {
        my $name = $fd == 1 ? 'stdout_fh' : 'stderr_fh';
        next if !$s->{$name};
        my $raw = Linux::Event::Fork::XS::take_fd($child, $fd);

        # Non-blocking already; :evloop:evline makes readline give whole
        # lines, or undef with EAGAIN until more arrives.
        open(my $fh, '<&=', $raw) or croak "fdopen: $!";
        binmode($fh, ':evloop:evline') or croak "binmode: $!";
        $child->{$name} = $fh;
    }

    if (my $on_start = $s->{on_start}) {
        eval { $on_start->($child); 1 } or warn "Linux::Event::Fork: on_start callback died: $@";
    }
    if (defined $stdin) {
        $child->stdin_write($stdin) if length $stdin;
        $child->close_stdin if !$s->{stdin_pipe};
    }
    return $child;
}

# A child of this helper has finished (on_exit done, or cancelled).
sub _finished ($self) {
    $self->{running}-- if $self->{running} > 0;
    $self->_pump;
    $self->_drain_check;
    return;
}

1;
__END__

=head1 NAME

Linux::Event::Fork - run child processes on a Linux::Event loop

=head1 SYNOPSIS

    use v5.36;
    use Linux::Event;

    my $loop = Linux::Event->new;

    $loop->fork(
        cmd       => [ 'ls', '-l', '/' ],
        on_stdout => sub ($child, $chunk) { print $chunk },
        on_exit   => sub ($child, $exit)  { say "exit ", $exit->code; $loop->stop },
    );
    $loop->run;

    # A helper with a limit: at most 4 children at once, the rest queued.
    use Linux::Event::Fork;
    my $fork = Linux::Event::Fork->new($loop, max_children => 4);
    $fork->spawn(cmd => [ 'gzip', '-9', $_ ], tag => $_) for @files;
    $fork->drain(on_done => sub ($fork) { $loop->stop });
    $loop->run;

=head1 DESCRIPTION

Spawns child processes and follows them on a L<Linux::Event> loop:
their output through non-blocking pipes, their exit through a pidfd (no
SIGCHLD handler, nothing else reaped).  The work is done in C
(libevloop's C<evl_child>, see F<evloop-fork.h>): C<cmd> children are
started with C<clone(CLONE_VM|CLONE_VFORK)>, which copies no page tables
however big the perl process is, and exec; C<child> children need a real
C<fork> to run perl code.

C<on_exit> is I<drain-first>: it runs once, after the exit was seen
B<and> every captured pipe reached end of file, so every byte the child
wrote comes before the exit.

=head1 LOADING

C<use Linux::Event::Fork> loads L<Linux::Event::Fork::Child>,
L<Linux::Event::Fork::Request> and L<Linux::Event::Fork::Exit>.  A
program that only uses the loop's own helper need not load it at all:
L<Linux::Event::Loop> and the engines (L<Linux::Event::Reactor>,
L<Linux::Event::Proactor>) have two methods that load it on first use:

=over 4

=item C<< $loop->fork(%spec) >>

C<spawn> through the loop's own helper (see C<fork_helper>).

=item C<< $loop->fork_helper(%args) >>

The loop's own helper, the one C<< $loop->fork >> uses: made on the first
call (of either) with C<%args> as C<new> takes them (no limit by
default); later calls return the same helper, and a C<max_children> in
C<%args> sets its limit.

=back

C<< use Linux::Event::Fork max_children => $n; >> (the form
Linux::Event::Fork 0.005 took) sets the limit the loops' own helpers start
with, for those made after it; C<fork_helper>'s own C<max_children> still
wins.

=head1 THE HELPER

=head2 new($loop, %args)

C<$loop> must be a true reference (else C<loop is required>); spawning
needs a Linux::Event loop (facade or engine).  C<max_children>: 0 (the
default) means no limit, otherwise at most that many children run at
once and further spawns are queued; it must be a non-negative integer
(C<max_children must be a non-negative integer>).  Other keys croak
C<unknown args: a, b>.

=head2 loop, running, queued

The loop; the number of children started by this helper that have not
finished yet (every child counts, with or without a limit); the number
of queued requests.

=head2 max_children([$n])

Getter, and with a defined C<$n> a setter (same check as C<new>).
Setting it starts queued requests at once, in order, while there is
room; 0 means no limit, so it starts them all.  Lowering it never
touches running children.  Returns the limit.

=head2 spawn(%spec)

Checks C<%spec> (croaking at the first problem, before anything is
started), then either starts the child and returns a
L<Linux::Event::Fork::Child>, or, when the limit is reached, queues it
and returns a L<Linux::Event::Fork::Request>.  Starting croaks
C<fork: E<lt>errorE<gt>> (or C<pipe: ...> when out of descriptors) if the
system refuses; nothing is left behind then.

=head2 drain(on_done => $cb)

C<$cb-E<gt>($fork)> once the helper is idle (nothing running, nothing
queued): at once if it is idle now, else after the last child's
C<on_exit>.  One pending callback; a new one replaces it.  Returns 1.
Croaks C<on_done is required>, C<on_done must be a coderef>,
C<unknown args: ...>.

=head2 cancel_queued([$pred])

Cancels and removes every queued request (or those for which
C<$pred-E<gt>($request)> is true).  Returns how many.

=head1 SPAWN OPTIONS

Exactly one of C<cmd> and C<child> (C<provide exactly one of cmd or
child>, C<cmd or child is required>):

=over 4

=item cmd => [ $program, @args ]

Executed directly (no shell), C<$program> looked up on C<PATH> unless it
contains a slash (C<cmd must be an arrayref>).

=item child => sub { ... }

Perl code run in a forked child after the setup below (C<child must be a
coderef>).  It normally ends with C<exec> or C<exit>.

=back

Callbacks (each C<... must be a coderef>):

=over 4

=item on_stdout => sub ($child, $bytes), on_stderr => sub ($child, $bytes)

Raw chunks as they arrive; boundaries are arbitrary.  An exception
leaves C<< $loop->run >>.

=item on_exit => sub ($child, $exit)

Drain-first, with a L<Linux::Event::Fork::Exit>.  An exception is
turned into a warning.

=item on_start => sub ($child)

Right after the start (queued requests: when they really start), before
C<stdin> is written.  An exception is turned into a warning.

=item on_timeout => sub ($child)

When C<timeout> expires, before the SIGTERM.  An exception leaves
C<< $loop->run >>, but the SIGTERM and its escalation still happen.

=item on_stdin_error => sub ($child, $errno)

The child stopped reading its stdin (C<$errno> is EPIPE): what was
queued is dropped and the pipe closed.  Without it the loss is silent.

=back

Output: C<capture_stdout> / C<capture_stderr> default to whether
C<on_stdout> / C<on_stderr> was given.  C<< capture_stdout => 0 >> lets
the child write to the parent's stdout even with C<on_stdout>;
C<< capture_stdout => 1 >> without a callback reads and discards (and
C<on_exit> still waits for its end of file).  Uncaptured stdout and
stderr are the parent's.

Input: C<stdin> is data to write first (even C<''> makes a pipe); with
C<< stdin_pipe => 1 >> the pipe stays open for
L<Linux::Event::Fork::Child/stdin_write> until C<close_stdin>.  Without
either, the child's stdin is F</dev/null>, so it cannot read the
parent's terminal; C<< inherit_stdin => 1 >> gives it the parent's
instead.

Child setup, in this order, after the stdio plumbing: C<umask> (an
integer 0..0777, used as a number: C<"022"> is twenty-two), C<cwd>,
C<clear_env> (empty the environment) then C<env> (a hash overlaid on it;
undef values become empty strings).  Every signal disposition is reset
to the default for C<cmd> (C<child> keeps perl's handlers) and the
signal mask is emptied.  Pipes of other children are not inherited.

A failed setup step, a failed exec, or a C<child> sub that dies or
returns, writes one line to the child's stderr and exits 127:

    Linux::Event::Fork child error: exec(nosuchprog): No such file or directory
    Linux::Event::Fork child error: chdir(/nope): No such file or directory
    Linux::Event::Fork child error: child callback returned
    Linux::Event::Fork child error: boom at script.pl line 12.

A failed setup step or exec is also in the exit object, so a program that
could not start is told apart from one that exited 127 itself:
C<< $exit->exec_errno >> (C<ENOENT>), C<< $exit->exec_error >> (C<No such
file or directory>) and C<< $exit->exec_stage >> (C<exec>, C<chdir>,
...), all undef when the exec succeeded (see
L<Linux::Event::Fork::Exit>).  C<spawn> itself does not croak for it.

Timeouts: C<timeout> (seconds, fractional) arms a timer at the start;
when it expires before the exit, C<on_timeout> runs, then SIGTERM is
sent, and SIGKILL C<timeout_kill> seconds later if the child still
runs.  A timed-out child does not wait for end of file: once its exit is
seen, what its pipes hold is delivered and they are closed, so a
grandchild that keeps the pipe open cannot hold C<on_exit> back; and if
the timeout expires after the exit while a pipe is still held open, the
pipes are cut then.  With C<< process_group => 1 >> the child leads a
process group of its own and the signals go to the whole group.

C<pipe_size> (bytes) asks the kernel for bigger output pipes (it rounds
up to a power of two of pages, and refuses beyond
F</proc/sys/fs/pipe-max-size>, 1 MiB by default, in which case the
default stays).  A child that writes a lot then wakes the parent less
often (about 1.2x the throughput for a 1 MiB pipe here).  Mind that
unprivileged users have a budget for pipe memory
(F</proc/sys/fs/pipe-user-pages-soft>, 64 MiB): past it, every new pipe
of that user gets only two pages.

C<tag> and C<data> are stored on the Child or Request.  Other keys croak
C<unknown args: a, b> (after the type checks).

=head1 READING OUTPUT WITH READLINE

C<on_stdout> gets raw chunks.  For lines, ask for the pipe as a handle
instead: with C<< stdout_fh => 1 >> (or C<stderr_fh>) the parent's end
of the pipe is C<< $child->stdout_fh >>, a non-blocking handle with the
C<:evloop:evline> layers (L<PerlIO::evloop>): readline returns whole
lines, or undef (C<$!> EAGAIN) until more has arrived, and the last,
unterminated line at end of file.  Watch it on the loop:

    my $child = $loop->fork(cmd => [ 'ls', '-l', '/' ], stdout_fh => 1,
                            on_exit => sub ($c, $exit) { ... });
    $loop->watch($child->stdout_fh, read => sub ($loop, $fh, $w) {
        while (defined(my $line = <$fh>)) { print "line: $line" }
        if (eof $fh) { $w->cancel; close $fh }    # the child closed it
    });

The handle is yours: close it when done.  It does not take part in
drain-first (C<on_exit> does not wait for you to read it), and it cannot
be combined with C<on_stdout> / C<capture_stdout>
(C<stdout_fh cannot be combined with on_stdout or capture_stdout>).

=head1 DIFFERENCES FROM LINUX::EVENT 0.010

Fixed: the umask check (a parent umask of 0 failed every spawn), the
busy loop on a widowed stdin pipe, other children's pipe ends inherited
by C<child> children, timeouts that could not bound C<on_exit>,
C<on_timeout> exceptions that cancelled the kill, queued specs checked
only when they start, C<max_children(0)> stalling the queue, silent
C<on_exit>/C<on_start>/drain exceptions (now warnings), C<kill> reaching
a recycled pid, spawn failures leaking pipes or leaving an orphan,
timeouts not checked as numbers, a trailing newline accepted as an
integer.

Changes a program can see:

=over 4

=item *

The child's stdin is F</dev/null> unless C<stdin>, C<stdin_pipe> or
C<inherit_stdin> says otherwise (Linux::Event 0.010 let it read the terminal).

=item *

C<running> counts every child of the helper, with or without a limit,
and C<drain> waits for all of them; a cancelled request leaves the queue
at once, and C<cancel> of a started request returns 0.

=item *

Chunks are as big as the pipe delivers (up to 256 KiB), not 8 KiB.

=item *

New: C<< $child->cancel >>, C<timed_out>, C<stdin_queued>,
C<stdout_fh>/C<stderr_fh>, the spawn options C<process_group>,
C<on_stdin_error>, C<inherit_stdin>, C<stdout_fh>, C<stderr_fh>,
C<pipe_size>, and C<Request> C<is_cancelled>, C<helper>, C<spec>;
C<Exit> C<exit_code>, C<core_dumped>, C<core_dump>, C<raw>,
C<exec_errno>, C<exec_error>, C<exec_stage>; C<< $loop->fork >> and
C<< $loop->fork_helper >> (promised by Linux::Event 0.010's POD, missing
there) without loading this module first.

=back

=head1 SEE ALSO

L<Linux::Event::Fork::Child>, L<Linux::Event::Fork::Request>,
L<Linux::Event::Fork::Exit>, L<Linux::Event>

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
