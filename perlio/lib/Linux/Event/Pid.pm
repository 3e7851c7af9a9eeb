# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Pid;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use Carp qw(croak);
use Scalar::Util qw(weaken);

require PerlIO::evloop;
require Linux::Event::Reactor;

my $next_token = 0;

sub new ($class, %args) {
    my $loop = delete $args{loop};
    croak "loop is required" if !$loop;
    croak "unknown args: " . join(", ", sort keys %args) if %args;
    my $self = bless { loop => $loop }, $class;
    weaken($self->{loop});
    return $self;
}

sub loop ($self) { return $self->{loop} }

sub pid ($self, $pid = undef, $cb = undef, @opt) {

    # The signature's own check, but named from the caller's line (the
    # loop's pid() calls this one).
    croak "Odd name/value argument for subroutine 'Linux::Event::Pid::pid'" if @opt % 2;
    my %opt = @opt;
    croak "pid is required" if !defined $pid;
    croak "callback is required" if !$cb || ref($cb) ne 'CODE';
    my @bad = grep { $_ ne 'data' && $_ ne 'reap' } keys %opt;
    croak "unknown opts: " . join(", ", sort @bad) if @bad;
    croak "pid must be a positive integer" if ref($pid) || $pid !~ /\A\d+\z/ || $pid < 1;
    my $reap   = exists $opt{reap} ? ($opt{reap} ? 1 : 0) : 1;
    my $engine = Linux::Event::Reactor::_engine_of($self->{loop})
        or croak "pid(): the loop is gone";
    my $token = ++$next_token;
    $engine->_pid_start(0 + $pid, $cb, $opt{data}, $reap, $token);
    my $sub = bless { engine => $engine, pid => 0 + $pid, token => $token },
        'Linux::Event::Pid::Subscription';
    weaken($sub->{engine});
    return $sub;
}

package Linux::Event::Pid::Subscription;

our $VERSION = '0.200';

sub pid ($self) { return $self->{pid} }

sub is_active ($self) {
    my $engine = $self->{engine} or return 0;
    return $engine->_pid_active($self->{pid}, $self->{token});
}

sub cancel ($self) {
    my $engine = $self->{engine} or return 0;
    return $engine->_pid_cancel($self->{pid}, $self->{token});
}

1;
__END__

=head1 NAME

Linux::Event::Pid - child exit notification through pidfds

=head1 SYNOPSIS

    my $sub = $loop->pid($pid, sub ($loop, $pid, $status, $data) {
        say "exit code ", $status >> 8 if defined $status;
    }, data => $x, reap => 1);

=head1 DESCRIPTION

C<< $loop->pid(...) >> forwards here (one adaptor per loop;
C<< new(loop => $loop) >> croaks C<loop is required> or
C<unknown args: ...>, and holds the loop weakly).

=head2 pid($pid, $cb, data => $d, reap => $bool)

Croaks C<pid is required>, C<callback is required>,
C<unknown opts: ...>, C<pid must be a positive integer>, and
C<pid(): cannot watch pid N: ...> when the kernel refuses a pidfd (no such
process).  C<reap> defaults to 1.

When the process exits, C<< $cb->($loop, $pid, $status, $data) >> runs
once and the subscription ends by itself.  C<$status> is the raw wait
status (as C<$?>: use POSIX's C<WIFEXITED>, C<WEXITSTATUS>, ...), reaped
with C<waitid(P_PIDFD)> (no SIGCHLD handler).  With C<< reap => 0 >> the
child is left for you to reap and C<$status> is undef.  If the status
cannot be collected (the process is not our child, or something else
reaped it first) C<$status> is undef and C<$!> says why: it never dies
inside the loop.

A second subscription for the same pid replaces the first.  Any number
of C<< $loop->child($pid, ...) >> watchers (and C<child(0)>) may watch the
same process besides: each child is reaped once and this subscription
still gets its status.  In a forked child the parent's subscriptions are
dropped (no callback).

=head1 Linux::Event::Pid::Subscription

C<cancel> (1 the first time, 0 afterwards and after the callback ran),
C<is_active> (1 or 0), C<pid>.

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
