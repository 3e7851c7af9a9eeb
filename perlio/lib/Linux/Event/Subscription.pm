# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Subscription;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

require PerlIO::evloop;

# cancel, is_active, _signal, _child and _hook are XS
# (perlio/xs/subscribe.xs), which also wraps perl's fork, system and exec
# ops so that children start without the loops' blocked signals.

sub signals ($self) { return @{ $self->{signals} || [] } }
sub pid     ($self) { return $self->{pid} }

1;
__END__

=head1 NAME

Linux::Event::Subscription - a signal subscription, child watcher or iteration hook of a Linux::Event loop

=head1 SYNOPSIS

    my $sub  = $loop->signal_subscribe([qw(INT TERM)], sub ($loop, $signame) { ... });
    my $kid  = $loop->child(0, sub ($loop, $pid, $status) { ... });
    my $idle = $loop->idle(sub ($loop, $idle) { $idle->cancel });
    $sub->cancel;       # 1, then 0
    $sub->is_active;    # 1 or 0

=head1 DESCRIPTION

What C<signal_subscribe>, C<child>, C<idle>, C<prepare> and C<check> of
L<Linux::Event::Reactor> (and of a proactor L<Linux::Event::Loop>)
return.  The loop keeps an active subscription alive by itself: dropping
the object does not end it; C<cancel> does (as does the exit of the one
child a C<child($pid)> watcher waits for, and the loop's end).

=head1 CHILD PROCESSES

A process made by C<fork>, C<system>, backticks, a piped C<open>,
C<exec> or L<Linux::Event::Fork> starts with the signal mask the program
had before any loop blocked a signal.  libevloop's fork handler does
most of it; perl's own C<fork> and C<system> put the parent's mask back
in the child and C<exec> keeps the mask, so once L<PerlIO::evloop> is
loaded those three ops are wrapped (in code compiled from then on: load
L<Linux::Event> before the code that forks; nothing else about them
changes):

=over 4

=item *

C<fork>: the child unblocks the loops' signals at once (a loop it keeps
using blocks its own again when it rebuilds itself).

=item *

C<exec>: the loops' signals still pending are consumed, then unblocked;
blocked again if C<exec> fails.

=item *

C<system>: while it runs, the loops' signals are unblocked and caught by
a handler that only records them; afterwards they are blocked again and
each recorded signal is raised once more, so the loop still reads it.

=back

Without any loop signal blocked, each is perl's op unchanged.

=head1 METHODS

=head2 cancel

1 if it was active (its callback will not run again), else 0.  Safe
from its own callback.

=head2 is_active

1 or 0.  A C<child> watcher inherited by a forked child process is
inactive there (the parent's children are not the child's).

=head2 signals, pid

The signal numbers of a signal subscription; the pid a child watcher
watches (0: every child).

=head1 SEE ALSO

L<Linux::Event::Reactor>, L<Linux::Event::Loop>

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
