# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Proactor::Backend::Uring;
use v5.36;

use Carp qw(croak);
use Scalar::Util qw(weaken);

use PerlIO::evloop ();    # _submit_*, _cancel_op, _complete_backend_events are XS

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use constant DEFAULT_SUBMIT_BATCH_SIZE  => 0;
use constant DEFAULT_PROVIDED_BUF_SIZE  => 4096;
use constant DEFAULT_PROVIDED_BUF_COUNT => 512;
use constant DEFAULT_PROVIDED_BUF_GROUP => 0;
use constant MAX_ENTRIES                => 32768;    # the kernel's IORING_MAX_ENTRIES

sub name ($self) { return 'uring' }

sub _positive_int ($v) { return defined($v) && !ref($v) && $v =~ /\A[0-9]+\z/ && $v >= 1 }

sub _is_power_of_two ($class, $n) {
    return 0 if !defined $n || $n < 1;
    return ($n & ($n - 1)) == 0 ? 1 : 0;
}

sub _new ($class, %arg) {
    croak 'loop is required' unless $arg{loop};
    my $loop = $arg{loop};

    my $queue_size = $arg{queue_size} // $loop->{queue_size} // 64;
    croak 'queue_size must be a positive integer' unless _positive_int($queue_size);
    croak 'queue_size must be at most ' . MAX_ENTRIES if $queue_size > MAX_ENTRIES;

    my $cqe_entries = $arg{cqe_entries};
    if (defined $cqe_entries) {
        croak 'cqe_entries must be a positive integer' unless _positive_int($cqe_entries);
    }

    my $submit_batch_size = $arg{submit_batch_size} // DEFAULT_SUBMIT_BATCH_SIZE;
    if ($submit_batch_size) {
        croak 'submit_batch_size must be a positive integer'
            unless _positive_int($submit_batch_size);
    }

    my $provided_buffer_size  = $arg{provided_buffer_size}  // DEFAULT_PROVIDED_BUF_SIZE;
    my $provided_buffer_count = $arg{provided_buffer_count} // DEFAULT_PROVIDED_BUF_COUNT;
    my $provided_buffer_group = $arg{provided_buffer_group} // DEFAULT_PROVIDED_BUF_GROUP;

    croak 'provided_buffer_size must be a positive integer'
        unless _positive_int($provided_buffer_size);
    croak 'provided_buffer_count must be a positive integer'
        unless _positive_int($provided_buffer_count);
    croak 'provided_buffer_group must be a non-negative integer'
        if !defined($provided_buffer_group)
        || ref($provided_buffer_group)
        || $provided_buffer_group !~ /\A[0-9]+\z/;
    croak 'provided_buffer_size must be a power of two'
        unless $class->_is_power_of_two($provided_buffer_size);
    croak 'provided_buffer_count must be a power of two'
        unless $class->_is_power_of_two($provided_buffer_count);

    # libevloop sizes the completion queue at twice the submission queue.
    my $entries = $queue_size;
    if (defined $cqe_entries) {
        my $half = int(($cqe_entries + 1) / 2);
        $entries = $half if $half > $entries;
        $entries = MAX_ENTRIES if $entries > MAX_ENTRIES;
    }

    my $self = bless {
        loop                  => $loop,
        queue_size            => $queue_size,
        cqe_entries           => $cqe_entries,
        sqpoll                => $arg{sqpoll},
        ring_entries          => $entries,
        submit_batch_size     => $submit_batch_size,
        provided_buffer_size  => $provided_buffer_size,
        provided_buffer_count => $provided_buffer_count,
        provided_buffer_group => $provided_buffer_group,

        # No provided-buffer group and no multishot sources: every
        # accept and recv is its own one-shot request (see DESCRIPTION).
        provided_buffers => undef,
        accept_sources   => {},
        recv_sources     => {},
    }, $class;
    weaken($self->{loop});
    return $self;
}

sub _loop ($self) { return $self->{loop} }

1;

__END__

=head1 NAME

Linux::Event::Proactor::Backend::Uring - io_uring backend of Linux::Event::Proactor

=head1 SYNOPSIS

  my $loop = Linux::Event::Proactor->new(backend => 'uring', queue_size => 256);

=head1 DESCRIPTION

Operations are io_uring requests made by libevloop (C, liburing); this
module needs no IO::Uring.  Completions are reaped in C, which settles the
L<Linux::Event::Operation> and queues its callback; C<run_once> runs the
queue.  How each kind is carried out:

=over 4

=item read, write

At the current file position.  A read gets a buffer of C<len> bytes and
returns what arrived.  A write to a socket is sent with MSG_NOSIGNAL.

=item recv, send

recv(2)/send(2) with the given flags; send always adds MSG_NOSIGNAL, so a
closed peer gives an C<EPIPE> error instead of SIGPIPE.

=item accept

One request per call (several pending accepts on one listener each take
one connection).  The result's C<fh> is a new close-on-exec Perl socket
handle, C<addr> the peer's packed address.

=item connect, shutdown, splice

One request each (splice at the current positions, flags passed on).

=item close

Perl's handle is closed at once (flushed as close() does) after its
descriptor was duplicated; the kernel closes the duplicate, which releases
the file unless another operation still holds it: an operation in flight
on the same file (a C<recv> waiting for data) keeps it open until that
operation completes or is cancelled, as io_uring does, so cancel it first
when the peer should see the connection end.  Perl therefore never closes
that descriptor number later.

=item timeout

An absolute deadline on the loop's timer heap (one kernel timeout per
loop); expiry is a success, C<< { expired => 1 } >>.

=back

Tokens come from the engine's C<next_op_id>.  C<run_once> never blocks
while callbacks are queued or when nothing is in flight.  C<cancel> is
synchronous (see L<Linux::Event::Proactor/Cancellation>).  When the engine
is freed, requests still in the kernel are cancelled and reaped first.

=head1 OPTIONS

=over 4

=item queue_size

Submission queue entries (default: the engine's, 64); croaks
C<queue_size must be a positive integer> or
C<queue_size must be at most 32768>.

=item cqe_entries

Completion queue entries wanted (the queue is made large enough: twice
the submission queue); C<cqe_entries must be a positive integer>.

=item sqpoll

Accepted and ignored (libevloop does not use a polling thread).

=item submit_batch_size

0 (default) or a positive integer (C<submit_batch_size must be a positive
integer>).  Requests are always handed to the kernel at the next
C<run_once>, or at once when the submission queue is full; the value is
kept for compatibility.

=item provided_buffer_size, provided_buffer_count, provided_buffer_group

Checked as in the original (C<... must be a positive integer>,
C<... must be a power of two>, C<... must be a non-negative integer>) and
kept in the backend hash; no provided-buffer group is registered, since
every recv reads into its own buffer.  C<provided_buffers> is undef and
C<accept_sources> / C<recv_sources> stay empty.

=back

=head1 SEE ALSO

L<Linux::Event::Proactor>, L<Linux::Event::Proactor::Backend>

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
