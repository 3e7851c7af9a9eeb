# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

require PerlIO::evloop;
require Linux::Event::Loop;

sub new ($class, %args) {

    # Linux::Event 0.010's POD, README and companions all rely on a reactor default.
    $args{model} = 'reactor' if !defined $args{model};
    return Linux::Event::Loop->new(%args);
}

1;
__END__

=head1 NAME

Linux::Event - event loops for Linux (epoll reactor, io_uring proactor) over libevloop

=head1 SYNOPSIS

    use v5.36;
    use Linux::Event;

    my $loop = Linux::Event->new;            # a reactor loop

    $loop->after(0.5, sub ($loop) { $loop->stop });

    $loop->watch($fh, read => sub ($loop, $fh, $watcher) {
        my $n = sysread($fh, my $buf, 65536);
        $watcher->cancel if !$n;
    });

    $loop->run;

=head1 DESCRIPTION

The front door.  C<< Linux::Event->new(%args) >> is
C<< Linux::Event::Loop->new(%args) >>, with C<< model => 'reactor' >>
when no C<model> is given.  Everything else is documented in
L<Linux::Event::Loop> (the facade), L<Linux::Event::Reactor> (the
readiness engine) and L<Linux::Event::Proactor> (the completion engine).

All of it is backed by libevloop, a C event-loop core: watcher dispatch,
timers, signals, wakeups and child exits run in C and call your Perl
callbacks directly.  No Linux::Epoll, Linux::FD or IO::Uring is needed.

=head1 ERRORS

Bad arguments croak, in every module of the distribution, with the text
each module documents, and the message names the file and line of your
call (not a line inside Linux::Event), so C<$@> ends with
C<at your-program.pl line N.>.

=head1 SEE ALSO

L<Linux::Event::Loop>, L<Linux::Event::Reactor>, L<Linux::Event::Watcher>,
L<Linux::Event::Signal>, L<Linux::Event::Wakeup>, L<Linux::Event::Pid>,
L<Linux::Event::Clock>, L<Linux::Event::Timer>, L<Linux::Event::Scheduler>

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
