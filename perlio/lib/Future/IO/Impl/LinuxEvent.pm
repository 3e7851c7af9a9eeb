# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Future::IO::Impl::LinuxEvent;
use v5.36;

our $VERSION = '0.200';

use Carp qw(croak);
use Errno qw(EAGAIN EWOULDBLOCK EINPROGRESS ECHILD);
use Scalar::Util qw(blessed refaddr);
use Socket qw(SOL_SOCKET SO_ERROR);
use Time::HiRes ();

# Never another implementation in our place: without Linux::Event this
# module fails to load, with the reason.
BEGIN {
    eval { require Linux::Event::Loop; 1 }
        or croak "Future::IO::Impl::LinuxEvent: cannot load Linux::Event::Loop: $@";
}
use Future::IO ();
use parent 'Future::IO::ImplBase';

__PACKAGE__->APPLY;

# poll(2)'s bits, for poll() (the values of IO::Poll and <poll.h>).
use constant {
    POLLIN  => 0x001,
    POLLPRI => 0x002,
    POLLOUT => 0x004,
    POLLERR => 0x008,
    POLLHUP => 0x010
};

# Linux::Event::Loop's revents bits.
use constant {
    RX_READABLE => 0x01,
    RX_WRITABLE => 0x02,
    RX_PRIO     => 0x04,
    RX_RDHUP    => 0x08,
    RX_ERR      => 0x40,
    RX_HUP      => 0x80
};

my $LOOP;          # the Linux::Event::Loop every call uses
my %FD;            # reactor: fd => state { fd fh lw r w p }; proactor: fd => { fd fh r w inflight }
my @SUBMIT;        # proactor: states whose queue heads wait for the prepare hook
my $SUBMIT_HOOK;   # proactor: that prepare hook, while @SUBMIT is not empty

sub loop ($class) { return $LOOP //= Linux::Event::Loop->default }

sub set_loop ($class, $loop) {
    croak "Future::IO::Impl::LinuxEvent->set_loop: loop must be a Linux::Event::Loop"
        if !(blessed($loop) && $loop->isa('Linux::Event::Loop'));
    croak "Future::IO::Impl::LinuxEvent->set_loop: operations are pending on the current loop"
        if %FD;
    $LOOP = $loop;
    return;
}

sub _proactor ($class) { return $class->loop->model eq 'proactor' }

sub _new_future { return Future::IO::Impl::LinuxEvent::Future->new }

# --- time ---------------------------------------------------------------

sub sleep ($class, $secs) {    ## no critic (ProhibitBuiltinHomonyms)
    my $loop = $class->loop;
    my $f    = _new_future();
    $secs = 0 if $secs < 0;
    if ($loop->model eq 'proactor') {
        my $op =
            $loop->after($secs, on_complete => sub ($op, $res, $d) { $f->done if !$f->is_ready });
        $f->on_cancel(sub { $op->cancel });
    } else {
        my $id = $loop->after($secs, sub ($l) { $f->done });
        $f->on_cancel(sub { $loop->cancel($id) });
    }
    return $f;
}

# Wall clock: the deadline is an epoch time, turned into a delay now.
sub alarm ($class, $epoch) {    ## no critic (ProhibitBuiltinHomonyms)
    return $class->sleep($epoch - Time::HiRes::time());
}

# --- children -----------------------------------------------------------

sub waitpid ($class, $pid) {    ## no critic (ProhibitBuiltinHomonyms)
    my $f   = _new_future();
    my $sub = $class->loop->child(
        $pid,
        sub ($l, $kid, $status) {
            return if $f->is_ready;
            return $f->done($status) if defined $status;
            my $err = $!;
            $f->fail("waitpid: $err\n", waitpid => $pid, $err);
        }
    );
    $f->on_cancel(sub { $sub->cancel });
    return $f;
}

# --- I/O ----------------------------------------------------------------
# Each fd has a queue per direction; the head of a queue is served when
# the fd is ready (reactor) or is the one operation in flight (proactor),
# so operations on one fd complete in the order they were asked for and a
# cancelled one never touches the fd.

sub _state ($class, $fh, $method) {
    my $fd = fileno($fh);
    croak "Future::IO::Impl::LinuxEvent->$method: the handle has no file descriptor"
        if !defined $fd || $fd < 0;
    my $st = $FD{$fd};
    if ($st && !($st->{fh} && refaddr($st->{fh}) == refaddr($fh))) {

        # The number now names another handle: the old one was closed.
        $class->_drop($st);
        $st = undef;
    }
    return $st //= $FD{$fd} = { fd => $fd, fh => $fh, r => [], w => [], p => [] };
}

sub _drop ($class, $st) {
    delete $FD{ $st->{fd} } if ($FD{ $st->{fd} } // 0) == $st;
    $st->{lw}->cancel if $st->{lw};
    delete $st->{lw};
    return;
}

# Queues entry [$future, $code, ...] on direction $dir ('r' or 'w').
sub _enqueue ($class, $st, $dir, $entry) {
    push @{ $st->{$dir} }, $entry;
    my $f = $entry->[0];
    $f->on_cancel(
        sub {
            my $q = $st->{$dir};
            @$q = grep { $_ != $entry } @$q;
            if ($entry->[3]) {    # in flight on the proactor
                $entry->[3]->cancel;
            }
            $class->_update($st);
        }
    );
    $class->_update($st);
    return $f;
}

sub _update ($class, $st) {
    return $class->_pro_update($st) if $class->_proactor;
    my $p      = $st->{p};
    my $want_w = @{ $st->{w} } || grep { $_->[1] & POLLOUT } @$p;

    # Reading is enabled for reads, for polls asking POLLIN or POLLPRI, and
    # for polls of hangups and errors alone (HUP comes to the read side);
    # not for a POLLOUT poll, which unread input would otherwise spin.
    my $want_r = @{ $st->{r} }
        || grep { $_->[1] & (POLLIN | POLLPRI) || !($_->[1] & POLLOUT) } @$p;
    if (!$want_r && !$want_w && !@$p) {
        $class->_drop($st);
        return;
    }
    my $lw = $st->{lw};
    if (!$lw || !$lw->is_active) {
        $lw = $st->{lw} = $class->loop->watch(
            $st->{fh},
            read  => sub ($l, $fh, $w) { $class->_ready($st, 'r', $w->revents) },
            write => sub ($l, $fh, $w) { $class->_ready($st, 'w', $w->revents) },
        );
    }
    $want_r ? $lw->enable_read : $lw->disable_read;
    $want_w ? $lw->enable_write : $lw->disable_write;
    return;
}

sub _poll_bits ($rev) {
    my $m = 0;
    $m |= POLLIN if $rev & (RX_READABLE | RX_RDHUP);
    $m |= POLLPRI if $rev & RX_PRIO;
    $m |= POLLOUT if $rev & RX_WRITABLE;
    $m |= POLLERR if $rev & RX_ERR;
    $m |= POLLHUP if $rev & RX_HUP;
    return $m;
}

sub _ready ($class, $st, $dir, $rev) {
    if (@{ $st->{p} }) {
        my $got = _poll_bits($rev);
        my @keep;
        for my $e (@{ $st->{p} }) {
            my $m = $got & ($e->[1] | POLLERR | POLLHUP);
            if   ($m) { $e->[0]->done($m) if !$e->[0]->is_ready }
            else      { push @keep, $e }
        }
        @{ $st->{p} } = @keep;
    }

    # One operation per readiness report: a blocking handle never blocks.
    my $q = $st->{$dir};
    if (my $e = shift @$q) {
        unshift @$q, $e if !$e->[1]->();
    }
    $class->_update($st);
    return;
}

sub _fail ($f, $what, @args) {
    my $err = $!;
    $f->fail("$what: $err\n", $what => @args, $err);
    return 1;
}

sub sysread ($class, $fh, $length) {    ## no critic (ProhibitBuiltinHomonyms)
    my $st = $class->_state($fh, 'sysread');
    my $f  = _new_future();
    return $class->_pro_io($st, 'r', $f, 'read', fh => $fh, len => $length) if $class->_proactor;
    return $class->_enqueue(
        $st, 'r',
        [
            $f,
            sub {
                my $n = CORE::sysread($fh, my $buf, $length);
                if ($n)         { $f->done($buf); return 1 }
                if (defined $n) { $f->done;       return 1 }
                return 0 if $! == EAGAIN || $! == EWOULDBLOCK;
                return _fail($f, 'sysread', $fh);
            }
        ]
    );
}

sub syswrite ($class, $fh, $data) {    ## no critic (ProhibitBuiltinHomonyms)
    my $st = $class->_state($fh, 'syswrite');
    my $f  = _new_future();
    return $class->_pro_io($st, 'w', $f, 'write', fh => $fh, buf => $data) if $class->_proactor;
    return $class->_enqueue(
        $st, 'w',
        [
            $f,
            sub {
                my $n = CORE::syswrite($fh, $data);
                if (defined $n) { $f->done($n); return 1 }
                return 0 if $! == EAGAIN || $! == EWOULDBLOCK;
                return _fail($f, 'syswrite', $fh);
            }
        ]
    );
}

sub accept ($class, $fh) {    ## no critic (ProhibitBuiltinHomonyms)
    my $st = $class->_state($fh, 'accept');
    my $f  = _new_future();
    return $class->_pro_io($st, 'r', $f, 'accept', fh => $fh) if $class->_proactor;
    return $class->_enqueue(
        $st, 'r',
        [
            $f,
            sub {
                my $new = $fh->accept;
                if ($new) { $f->done($new); return 1 }
                return 0 if $! == EAGAIN || $! == EWOULDBLOCK;
                return _fail($f, 'accept', $fh);
            }
        ]
    );
}

sub connect ($class, $fh, $name) {    ## no critic (ProhibitBuiltinHomonyms)
    my $f = _new_future();
    return $class->_pro_io(
        $class->_state($fh, 'connect'), 'w', $f, 'connect',
        fh   => $fh,
        addr => $name
    ) if $class->_proactor;
    return $f->done if CORE::connect($fh, $name);
    return _fail($f, 'connect', $fh) && $f if $! != EINPROGRESS;
    my $st = $class->_state($fh, 'connect');
    return $class->_enqueue(
        $st, 'w',
        [
            $f,
            sub {
                my $err = $fh->getsockopt(SOL_SOCKET, SO_ERROR);
                if ($err) { local $! = $err; return _fail($f, 'connect', $fh) }
                $f->done;
                return 1;
            }
        ]
    );
}

# poll($fh, $events): a Future of the revents (POLLIN POLLPRI POLLOUT,
# and POLLERR POLLHUP whatever was asked), as poll(2) gives them.
# Future::IO 0.13 has no poll: this is an extension of this class.
sub poll ($class, $fh, $events) {
    croak "Future::IO::Impl::LinuxEvent->poll: needs a reactor loop (the proactor has no readiness)"
        if $class->_proactor;
    croak "Future::IO::Impl::LinuxEvent->poll: events must be an integer mask"
        if !defined $events || $events !~ /\A[0-9]+\z/;
    my $st    = $class->_state($fh, 'poll');
    my $f     = _new_future();
    my $entry = [$f, 0 + $events];
    push @{ $st->{p} }, $entry;
    $f->on_cancel(
        sub {
            @{ $st->{p} } = grep { $_ != $entry } @{ $st->{p} };
            $class->_update($st);
        }
    );
    $class->_update($st);
    return $f;
}

# --- the proactor: io_uring operations ---------------------------------
# The head of each queue is submitted from a prepare hook, just before the
# loop waits: an operation asked for and cancelled before the loop runs
# never reaches the kernel (and never consumes data).

sub _pro_io ($class, $st, $dir, $f, $kind, %args) {
    return $class->_enqueue($st, $dir, [$f, undef, [$kind, %args]]);
}

sub _pro_update ($class, $st) {
    for my $dir (qw(r w)) {
        my $head = $st->{$dir}[0];
        next if !$head || $head->[3] || $st->{queued}{$dir};
        $st->{queued}{$dir} = 1;
        push @SUBMIT, [$st, $dir];
    }
    if (!@{ $st->{r} } && !@{ $st->{w} } && !$st->{queued}{r} && !$st->{queued}{w}) {
        delete $FD{ $st->{fd} } if ($FD{ $st->{fd} } // 0) == $st;
    }
    if (@SUBMIT && !$SUBMIT_HOOK) {
        $SUBMIT_HOOK = $class->loop->prepare(sub { $class->_pro_submit });
    }
    return;
}

sub _pro_submit ($class) {
    my @todo = @SUBMIT;
    @SUBMIT = ();
    if ($SUBMIT_HOOK) { $SUBMIT_HOOK->cancel; undef $SUBMIT_HOOK }
    my $loop = $class->loop;
    for my $item (@todo) {
        my ($st, $dir) = @$item;
        $st->{queued}{$dir} = 0;
        my $e = $st->{$dir}[0] or next;
        next if $e->[3];
        my ($kind, %args) = @{ $e->[2] };
        my $f = $e->[0];
        $e->[3] = $loop->$kind(
            %args,
            on_complete => sub ($op, $res, $data) {
                my $q = $st->{$dir};
                @$q = grep { $_ != $e } @$q;
                $class->_pro_done($f, $kind, $args{fh}, $op, $res) if !$f->is_ready;
                $class->_update($st);
            }
        );
    }
    return;
}

sub _pro_done ($class, $f, $kind, $fh, $op, $res) {
    if (!$res) {
        return if !$op->failed;
        local $! = $op->error->code;
        my $what = $kind eq 'read' ? 'sysread' : $kind eq 'write' ? 'syswrite' : $kind;
        return _fail($f, $what, $fh);
    }
    return $res->{eof} ? $f->done : $f->done($res->{data}) if $kind eq 'read';
    return $f->done($res->{bytes}) if $kind eq 'write';
    return $f->done if $kind eq 'connect';

    # accept: the new socket in the listening socket's class, as
    # IO::Socket's accept gives it.
    my $new = $res->{fh};
    bless $new, ref($fh) if blessed($fh) && !blessed($new);
    return $f->done($new);
}

package Future::IO::Impl::LinuxEvent::Future;    ## no critic (ProhibitMultiplePackages)
use v5.36;
use parent 'Future';

our $VERSION = '0.200';

# get and await drive the loop until this future is ready.  A proactor's
# run_once never waits while nothing at all is alive on the loop (Linux::Event
# 0.010's rule): its engine's _run_once_idle, what its run uses, waits
# even then, for a %SIG handler or another thread's wakeup.
sub await ($self) {
    my $loop = Future::IO::Impl::LinuxEvent->loop;
    if ($loop->model eq 'proactor') {
        my $engine = $loop->impl;
        $engine->_run_once_idle while !$self->is_ready;
    } else {
        $loop->run_once while !$self->is_ready;
    }
    return $self;
}

1;
__END__

=head1 NAME

Future::IO::Impl::LinuxEvent - Future::IO on the Linux::Event loop (epoll or io_uring)

=head1 SYNOPSIS

    use Future::IO;
    use Future::IO::Impl::LinuxEvent;         # now Future::IO's implementation

    my $data = Future::IO->sysread($fh, 4096)->get;   # runs the loop
    Future::IO->sleep(0.5)->get;

    # revents, an extension of this class:
    use Future::IO::Impl::LinuxEvent;
    my $rev = Future::IO::Impl::LinuxEvent->poll($fh, Future::IO::Impl::LinuxEvent::POLLIN)->get;

    # io_uring: reads, writes, accepts and connects become ring operations
    Future::IO::Impl::LinuxEvent->set_loop(Linux::Event::Loop->new(model => 'proactor'));

=head1 DESCRIPTION

A L<Future::IO> implementation over a L<Linux::Event::Loop>, by default
C<< Linux::Event::Loop->default >>, the process's shared reactor: the
same loop L<IO::Async::Loop::LinuxEvent> and Linux::Event code use, so
a C<get> on one of these futures also runs their watchers, and their
C<run> completes these futures.

=head2 Selecting it

C<use Future::IO::Impl::LinuxEvent> (or C<require> it before the first
Future::IO call): it sets C<$Future::IO::IMPL> unless another
implementation was set first (then it warns, as every implementation
does).  If Linux::Event cannot be loaded, loading fails with
C<Future::IO::Impl::LinuxEvent: cannot load Linux::Event::Loop: ...>.

=head2 What it does natively

=over 4

=item sleep, alarm

The loop's C timer heap (reactor) or a timeout operation (proactor).
C<alarm($epoch)> takes a wall-clock time (as Future::IO says) and turns
it into a delay when called.

=item sysread, syswrite, accept, connect

Reactor: one L<Linux::Event::Watcher> per fd; each direction has a queue,
and each readiness report serves the head of the queue, so several
operations on one fd complete in order and a blocking handle never
blocks the loop.  Proactor: the head of each queue is an io_uring
operation (C<read>, C<write>, C<accept>, C<connect>), submitted just
before the loop's next wait; so an operation cancelled before the loop
ran never reaches the kernel.  Errors fail the future as Future::IO
specifies: C<("sysread: $!\n", sysread => $fh, $!)>.

=item waitpid

The loop's C<child> watcher (a pidfd): no SIGCHLD handler, no polling.

=item get, await

The futures are C<Future::IO::Impl::LinuxEvent::Future>, a L<Future>
whose C<await> calls the loop's C<run_once> until it is ready.

=back

=head2 Extensions

=over 4

=item poll($fh, $events)

A future of the revents of C<$fh> for the mask C<$events>
(C<POLLIN POLLPRI POLLOUT>; C<POLLERR> and C<POLLHUP> are reported
whatever was asked), as poll(2) would give them.  Future::IO 0.13 has
no poll: call it on this class.  The constants are this class's
(C<Future::IO::Impl::LinuxEvent::POLLIN>, ...; the values of
L<IO::Poll>).  Reactor only: on a proactor it croaks
C<< Future::IO::Impl::LinuxEvent->poll: needs a reactor loop ... >>.

=item loop, set_loop($loop)

The Linux::Event::Loop in use, and another one (reactor or proactor).
C<set_loop> croaks while operations are pending.

=back

=head2 Differences from Future::IO's default implementation

Any number of handles and operations at once
(C<HAVE_MULTIPLE_FILEHANDLES> is true), and C<waitpid> works.  On the
proactor an operation already handed to the kernel and then cancelled
may have completed first (io_uring's rule): a cancelled read's bytes
are then gone.  An operation cancelled before the loop ran again never
reached the kernel.  A child reaped by someone else's C<waitpid> fails
the future with C<ECHILD> (C<"waitpid: ...\n", waitpid =E<gt> $pid, $!>).

=head1 SEE ALSO

L<Future::IO>, L<Linux::Event::Loop>, L<IO::Async::Loop::LinuxEvent>

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
