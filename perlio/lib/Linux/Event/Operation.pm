# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Operation;
use v5.36;

use PerlIO::evloop ();    # every method is XS (perlio/xs/operation.xs)

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

1;

__END__

=head1 NAME

Linux::Event::Operation - one in-flight operation of a Linux::Event::Proactor

=head1 SYNOPSIS

  my $op = $loop->read(
      fh          => $fh,
      len         => 4096,
      data        => $ctx,
      on_complete => sub ($op, $result, $ctx) {
          return if $op->is_cancelled;
          if ($op->failed) {
              warn $op->error->message;
              return;
          }
          print $result->{data};
      },
  );

  $op->cancel;

=head1 DESCRIPTION

Operations are made by the proactor's methods; programs do not build them.
An operation starts C<pending> and settles exactly once, as C<done>
(successfully or with an error) or C<cancelled>.  Settling twice croaks
C<operation already terminal>.  The object is opaque (its state lives in C).

=head1 METHODS

=head2 loop

The owning L<Linux::Event::Proactor> engine (not the L<Linux::Event::Loop>
facade); undef once the engine is gone.

=head2 kind

C<read write recv send accept connect shutdown close splice timeout>.

=head2 data

The user data; undef after C<detach> and after the callback has run.

=head2 state

C<'pending'>, C<'done'> or C<'cancelled'>.

=head2 result

The success hash (see L<Linux::Event::Proactor/OPERATIONS>); undef
otherwise.

=head2 error

A L<Linux::Event::Error> when the operation failed; undef otherwise.

=head2 is_pending, is_done, is_cancelled, is_terminal, success, failed

1 or 0.  C<success> is done without an error, C<failed> done with one.

=head2 on_complete($cb)

Sets the callback, called as C<< $cb->($op, $result_or_undef, $data) >>.
Croaks C<callback is required>, C<callback must be a coderef>, or
C<callback already set> while one is set.  On a terminal operation the
callback is queued, never run inline; this also holds after an earlier
callback has run (the new one gets its own run, with C<data> already
cleared).  A detached operation never runs callbacks.  Returns C<$op>.

=head2 cancel

Cancels through the engine (see L<Linux::Event::Proactor/Cancellation>).
Returns 1 if the operation ended cancelled, 0 if it was already terminal
(or, with io_uring, had completed first).

=head2 detach

Drops the callback and the data at once; no callback will run.  The
operation still settles and records its state, result and error.  Returns
C<$op>.

=head1 PRIVATE METHODS

Used by the engine, its backends and the tests:
C<_new(loop, kind, data, callback)>, C<_settle_success($result)>,
C<_settle_error($error)>, C<_settle_cancelled>, C<_backend_token>,
C<_set_backend_token($token)>, C<_run_callback>, C<_has_callback>,
C<_queue_callback_if_needed>.  Settling queues the callback if there is
one, not detached, not queued and not yet run; running it marks it run,
calls it, then drops the callback and the data.

=head1 SEE ALSO

L<Linux::Event::Proactor>, L<Linux::Event::Error>

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
