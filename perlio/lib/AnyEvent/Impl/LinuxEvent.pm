# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package AnyEvent::Impl::LinuxEvent;
use v5.36;

our $VERSION = '0.200';

use AnyEvent ();
use Time::HiRes ();

# Never another model in our place: AnyEvent would log the failed require
# and fall back to autodetection, so a failed load ends the program here.
BEGIN {
    if (!eval { require Linux::Event::Loop; 1 }) {
        my $err = $@;
        AnyEvent::log(fatal => "AnyEvent::Impl::LinuxEvent: cannot load Linux::Event: $err");
        die "AnyEvent::Impl::LinuxEvent: cannot load Linux::Event: $err";    # log may return
    }
}

# One loop for every AnyEvent watcher: the process's shared reactor.
# perlio/xs/anyevent.xs (AE::timer's one-shot timers) reads its engine.
my $LOOP = Linux::Event::Loop->default;
our $ENGINE = $LOOP->impl;

sub loop ($class = undef) { return $LOOP }

# ---------------------------------------------------------------- io
# The loop has one watcher per fd; AnyEvent allows any number per fd and
# direction.  Per fd: [ loop watcher, {key => read cb}, {key => write cb} ].
# A direction with one AnyEvent watcher gets its callback as the loop
# watcher's handler (no dispatch in Perl); with more, a dispatcher calls
# each.
my %FD;
my $SEQ = 0;
my $DONE;    # global destruction: the loop may be gone
END { $DONE = 1 }

sub _fd_of ($fh) {
    return $fh if !ref $fh && $fh =~ /\A[0-9]+\z/;
    my $fd = fileno $fh;
    Carp::croak("AnyEvent->io: fh has no fileno") if !defined $fd;
    return $fd;
}

# Points direction $dir (1 read, 2 write) of $rec at what its set needs.
sub _route ($rec, $dir) {
    my $set = $rec->[$dir];
    my $w   = $rec->[0];
    my $n   = keys %$set;
    if (!$n) {
        $dir == 1 ? $w->disable_read : $w->disable_write;
        return;
    }
    my $h;
    if ($n == 1) {
        ($h) = values %$set;
        if (ref $h ne 'CODE') {
            my $obj = $h;
            $h = sub { $obj->() }
        }
    } else {

        # keys: callbacks may add or drop watchers of this fd meanwhile.
        $h = sub {
            for (keys %$set) { my $cb = $set->{$_} or next; $cb->() }
        };
    }
    $dir == 1 ? $w->on_read($h)->enable_read : $w->on_write($h)->enable_write;
    return;
}

sub _ae_io : prototype($$$) ($fh, $write, $cb) {
    my $fd  = (!ref $fh && $fh =~ /\A[0-9]+\z/) ? $fh : _fd_of($fh);
    my $rec = $FD{$fd};
    if (!$rec || !$rec->[0]->is_active) {
        $rec = $FD{$fd} = [$LOOP->watch($fd), {}, {}];
    }
    my $key = ++$SEQ;
    my $dir = $write ? 2 : 1;
    $rec->[$dir]{$key} = $cb;
    _route($rec, $dir);
    return bless [$rec, $dir, $key], 'AnyEvent::Impl::LinuxEvent::io';
}

sub AnyEvent::Impl::LinuxEvent::io::DESTROY {
    my ($self) = @_;
    return if $DONE;
    my ($rec, $dir, $key) = @$self;
    delete $rec->[$dir]{$key};
    my $w = $rec->[0];
    if (%{ $rec->[$dir] } || %{ $rec->[3 - $dir] }) {
        _route($rec, $dir);
        return;
    }
    $w->cancel;
    my $fd = $w->fd;
    delete $FD{$fd} if defined $fd && $FD{$fd} && $FD{$fd} == $rec;
    return;
}

sub io ($class, %arg) { return _ae_io($arg{fh}, $arg{poll} eq 'w', $arg{cb}) }

# ---------------------------------------------------------------- timers
# The guard holds the loop's timer id in a box the callbacks share
# (never the guard itself: dropping it must cancel).
# _ae_timer (AE::timer) is an XSUB: one-shot timers with a code ref are
# the loop's C timers, guarded by an ...::timer1 object whose XS DESTROY
# cancels; everything else comes here.
sub _ae_timer_pl {
    my ($after, $interval, $cb) = @_;
    $after //= 0;

    # A callback may be any object with &{} overloading (a condvar).
    if (ref $cb ne 'CODE') {
        my $obj = $cb;
        $cb = sub { $obj->() }
    }
    return bless [$LOOP->after($after, $cb)], 'AnyEvent::Impl::LinuxEvent::timer' if !$interval;
    my $box = [];
    if ($after == $interval) {
        $box->[0] = $LOOP->every($interval, $cb);
    } else {
        $box->[0] = $LOOP->after(
            $after,
            sub {
                $box->[0] = $LOOP->every($interval, $cb);
                $cb->();
            }
        );
    }
    return bless $box, 'AnyEvent::Impl::LinuxEvent::timer';
}

sub AnyEvent::Impl::LinuxEvent::timer::DESTROY ($self) {
    $LOOP->cancel($self->[0]) if !$DONE;
    return;
}

sub timer ($class, %arg) { return _ae_timer($arg{after} // 0, $arg{interval}, $arg{cb}) }

# ---------------------------------------------------------------- signals, children, idle
# Each is a Linux::Event::Subscription; dropping it cancels.
sub _ae_signal : prototype($$) ($sig, $cb) {
    my $sub = $LOOP->signal_subscribe($sig, sub { $cb->() });
    return bless [$sub], 'AnyEvent::Impl::LinuxEvent::sub';
}

sub _ae_child : prototype($$) ($pid, $cb) {

    # A pid that is no unreaped child of ours never exits for us: as
    # with EV, the watcher then simply never fires.
    my $sub = eval {
        $LOOP->child($pid, sub { $cb->($_[1], $_[2]) });
    };
    return bless [$sub], 'AnyEvent::Impl::LinuxEvent::sub';
}

sub _ae_idle : prototype($) ($cb) {
    return bless [$LOOP->idle(sub { $cb->() })], 'AnyEvent::Impl::LinuxEvent::sub';
}

sub AnyEvent::Impl::LinuxEvent::sub::DESTROY ($self) {
    return if $DONE;
    $self->[0]->cancel if $self->[0];
    return;
}

sub signal ($class, %arg) { return _ae_signal($arg{signal}, $arg{cb}) }
sub child  ($class, %arg) { return _ae_child($arg{pid}, $arg{cb}) }
sub idle   ($class, %arg) { return _ae_idle($arg{cb}) }

# ---------------------------------------------------------------- time and waiting
# AnyEvent's now is the wall clock as of the loop's iteration (EV::now).
sub now        ($class = undef) { return _ae_now() }
sub now_update ($class = undef) { _ae_now_update(); return }
sub time       ($class = undef) { return Time::HiRes::time() }

sub _poll ($class = undef) { $LOOP->run_once; return }

{
    no warnings 'redefine';    ## no critic (ProhibitNoWarnings): we replace AnyEvent's defaults
    *AnyEvent::CondVar::Base::_wait = sub { $LOOP->run_once until exists $_[0]{_ae_sent} };

    # AnyEvent's recv refuses a wait inside a wait; the loop nests
    # run_once, so a recv inside a callback just runs the loop further.
    *AnyEvent::CondVar::Base::recv = sub {
        $_[0]->_wait if !$_[0]{_ae_sent};
        Carp::croak($_[0]{_ae_croak}) if $_[0]{_ae_croak};
        return wantarray ? @{ $_[0]{_ae_sent} } : $_[0]{_ae_sent}[0];
    };

    *AE::io         = \&_ae_io;
    *AE::timer      = \&_ae_timer;
    *AE::signal     = \&_ae_signal;
    *AE::child      = \&_ae_child;
    *AE::idle       = \&_ae_idle;
    *AE::now        = \&_ae_now;                                        # XS (perlio/xs/anyevent.xs)
    *AE::now_update = sub : prototype() { _ae_now_update(); return };
    *AE::time       = \&Time::HiRes::time;
}

1;
__END__

=head1 NAME

AnyEvent::Impl::LinuxEvent - AnyEvent on the Linux::Event reactor (libevloop)

=head1 SYNOPSIS

    PERL_ANYEVENT_MODEL=LinuxEvent perl your-anyevent-program

    # or: load Linux::Event first, AnyEvent's autodetection then picks it
    use Linux::Event;
    use AnyEvent;

    my $cv = AE::cv;
    my $t  = AE::timer 0.1, 0, sub { $cv->send('done') };
    say $cv->recv;

=head1 DESCRIPTION

An L<AnyEvent> model whose watchers live in the process's shared
L<Linux::Event::Loop> reactor (C<< Linux::Event::Loop->default >>, also
returned by C<< AnyEvent::Impl::LinuxEvent->loop >>).  Running that loop
(C<< $loop->run >>), a condvar's C<recv>, C<< Mojo::IOLoop->start >> on
L<Mojo::Reactor::LinuxEvent>, ... each drives every framework's watchers.

=head2 Selecting it

C<PERL_ANYEVENT_MODEL=LinuxEvent>, or load L<Linux::Event> (or
L<Linux::Event::Loop>) before AnyEvent detects its model: loading it
registers this model in C<@AnyEvent::REGISTRY>, ahead of AnyEvent's own
list.  If Linux::Event cannot be loaded, selecting this model ends the
program with C<AnyEvent::Impl::LinuxEvent: cannot load Linux::Event: ...>
(AnyEvent's C<fatal> log level): it never lets AnyEvent fall back to
another model.

=head2 What it does natively

=over 4

=item io

Handles or fd numbers; any number of watchers per fd and direction,
multiplexed onto the loop's one watcher per fd (the fd is watched by
number; directions with no watcher left are disabled, the loop watcher
goes when the last AnyEvent watcher of the fd does).

=item timer

The loop's C timer heap: C<after> for one-shot timers, C<every>
(drift-free, missed ticks coalesce) for C<interval>, started after the
first C<after> when it differs from the interval.

=item signal

C<signal_subscribe> (signalfd): any number of watchers per signal,
C<%SIG> handlers keep working beside them; AnyEvent::Base's C<%SIG> and
pipe fallback is never used.

=item child

The loop's C<child> (pid 0: every child), reaped through its SIGCHLD
subscription; the callback gets C<($pid, $status)>.  A pid that is not
an unreaped child of this process gives a watcher that never fires.

=item idle, now, now_update, time

The loop's idle watchers; C<now> is the loop's wall clock of the current
iteration (C<< $loop->time >>), C<now_update> refreshes it, C<time> is
C<Time::HiRes::time>.

=item waiting

C<_poll> and condvar waits run one C<run_once> at a time, so a C<recv>
inside a callback (nested wait) works.

=back

The C<AE::io>, C<AE::timer>, C<AE::signal>, C<AE::child>, C<AE::idle>,
C<AE::now>, C<AE::now_update> and C<AE::time> fast paths are defined
directly, as L<AnyEvent::Impl::EV> does.

=head2 Differences from AnyEvent::Impl::EV

An exception in a callback propagates out of the wait (C<recv>,
C<< $loop->run >>) after the loop has finished the callback's batch,
where EV warns and carries on.  A child watcher whose pid is not an
unreaped child of this process never fires (EV would fire if such a pid
were reaped later).  As with every AnyEvent model, close a handle only
after its watchers are gone.  The loop has one watcher per fd, shared by
all AnyEvent watchers of that fd: Linux::Event or Mojo code watching the
same fd on the same loop replaces it.

=head1 SEE ALSO

L<AnyEvent>, L<Linux::Event::Loop>, L<Mojo::Reactor::LinuxEvent>

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
