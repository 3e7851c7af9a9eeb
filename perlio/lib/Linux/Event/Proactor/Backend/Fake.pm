# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Proactor::Backend::Fake;
use v5.36;

use Carp qw(croak);
use Scalar::Util qw(weaken);
use Linux::Event::Error ();

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

# One pending table per kind: token => { op => $op, ...arguments }.
my %TABLE = (
    read     => 'pending_reads',
    write    => 'pending_writes',
    recv     => 'pending_recvs',
    send     => 'pending_sends',
    accept   => 'pending_accepts',
    connect  => 'pending_connects',
    shutdown => 'pending_shutdowns',
    close    => 'pending_closes',
    splice   => 'pending_splices',
    timeout  => 'timers',
);

sub name ($self) { return 'fake' }

sub _new ($class, %arg) {
    croak 'loop is required' unless $arg{loop};

    my $self = bless {
        loop => $arg{loop},
        map { $_ => {} } values %TABLE,
    }, $class;

    # The engine owns its backend; the way back must not be a cycle.
    weaken($self->{loop});
    return $self;
}

sub _loop       ($self) { return $self->{loop} }
sub _next_token ($self) { return $self->{loop}{next_op_id}++ }

sub _record ($self, $kind, $op, %rec) {
    my $token = $self->_next_token;
    $self->{ $TABLE{$kind} }{$token} = { op => $op, %rec };
    return $token;
}

sub _submit_read ($self, $op, %arg) {
    return $self->_record(read => $op, fh => $arg{fh}, len => $arg{len});
}

sub _submit_write ($self, $op, %arg) {
    return $self->_record(
        write => $op,
        fh    => $arg{fh},
        buf   => $arg{buf},
        size  => length($arg{buf})
    );
}

sub _submit_recv ($self, $op, %arg) {
    return $self->_record(
        recv  => $op,
        fh    => $arg{fh},
        len   => $arg{len},
        flags => ($arg{flags} // 0)
    );
}

sub _submit_send ($self, $op, %arg) {
    return $self->_record(
        send  => $op,
        fh    => $arg{fh},
        buf   => $arg{buf},
        size  => length($arg{buf}),
        flags => ($arg{flags} // 0)
    );
}

sub _submit_accept ($self, $op, %arg) {
    return $self->_record(accept => $op, fh => $arg{fh});
}

sub _submit_connect ($self, $op, %arg) {
    return $self->_record(connect => $op, fh => $arg{fh}, addr => $arg{addr});
}

sub _submit_shutdown ($self, $op, %arg) {
    return $self->_record(shutdown => $op, fh => $arg{fh}, how => $arg{how});
}

sub _submit_close ($self, $op, %arg) {
    return $self->_record(close => $op, fh => $arg{fh});
}

sub _submit_splice ($self, $op, %arg) {
    return $self->_record(
        splice => $op,
        in_fh  => $arg{in_fh},
        out_fh => $arg{out_fh},
        len    => $arg{len},
        flags  => ($arg{flags} // 0)
    );
}

sub _submit_timeout ($self, $op, %arg) {
    croak 'deadline_ns is required' unless exists $arg{deadline_ns};
    return $self->_record(timeout => $op, deadline_ns => $arg{deadline_ns});
}

sub _cancel_op ($self, $op) {
    return 0 if $op->is_terminal;

    my $token = $op->_backend_token;
    return 0 unless defined $token;

    my $table = $TABLE{ $op->kind };
    delete $self->{$table}{$token} if defined $table;

    my $active = $self->{loop}->_unregister_op($token);
    return 0 unless $active;

    $op->_settle_cancelled;
    return 1;
}

# Settles every timer whose deadline has passed, earliest first (equal
# deadlines in submission order), and returns how many.  Pending I/O is
# only ever settled by the _fake_complete_* hooks.
sub _complete_backend_events ($self) {
    my $loop   = $self->{loop};
    my $now_ns = $loop->_now_ns;
    my $timers = $self->{timers};
    my $count  = 0;

    my @due = sort { $timers->{$a}{deadline_ns} <=> $timers->{$b}{deadline_ns} || $a <=> $b }
        grep { $timers->{$_}{deadline_ns} <= $now_ns } keys %{$timers};

    for my $token (@due) {
        next unless delete $timers->{$token};
        my $op = $loop->_unregister_op($token);
        next unless $op;
        next unless $op->is_pending;
        $op->_settle_success({ expired => 1 });
        $count++;
    }
    return $count;
}

# The earliest timer deadline, or undef: what run() waits for.
sub _next_deadline_ns ($self) {
    my $min;
    for my $rec (values %{ $self->{timers} }) {
        $min = $rec->{deadline_ns} if !defined($min) || $rec->{deadline_ns} < $min;
    }
    return $min;
}

# The hooks.  Each settles at once (only the callback is deferred) and
# returns the op.  Checks come before anything is taken, so a hook that
# croaks leaves the op pending and registered.
sub _peek ($self, $kind, $token) {
    my $rec = $self->{ $TABLE{$kind} }{$token}
        or croak "no pending $kind for token $token";
    exists $self->{loop}{ops_by_token}{$token}
        or croak "no registered op for token $token";
    return $rec;
}

sub _take ($self, $kind, $token) {
    $self->_peek($kind, $token);
    my $rec = delete $self->{ $TABLE{$kind} }{$token};
    my $op  = $self->{loop}->_unregister_op($token)
        or croak "no registered op for token $token";
    return ($rec, $op);
}

sub _complete_chunk ($self, $kind, $token, $chunk) {
    croak 'token is required' unless defined $token;
    croak 'chunk must be defined' unless defined $chunk;
    my $rec = $self->_peek($kind, $token);
    croak "fake $kind chunk exceeds requested len for token $token"
        if length($chunk) > $rec->{len};
    my (undef, $op) = $self->_take($kind, $token);
    $op->_settle_success(
        {
            bytes => length($chunk),
            data  => $chunk,
            eof   => (length($chunk) == 0 ? 1 : 0),
        }
    );
    return $op;
}

sub _complete_bytes ($self, $kind, $token, $bytes) {
    croak 'token is required' unless defined $token;
    croak 'bytes is required' unless defined $bytes;
    croak 'bytes must be non-negative' if $bytes < 0;
    my $rec = $self->_peek($kind, $token);
    croak "fake $kind bytes exceeds submitted buffer size for token $token"
        if $bytes > $rec->{size};
    my (undef, $op) = $self->_take($kind, $token);
    $op->_settle_success({ bytes => $bytes });
    return $op;
}

sub _complete_empty ($self, $kind, $token) {
    croak 'token is required' unless defined $token;
    my (undef, $op) = $self->_take($kind, $token);
    $op->_settle_success({});
    return $op;
}

sub _complete_error ($self, $kind, $token, %arg) {
    croak 'token is required' unless defined $token;
    croak 'code is required' unless exists $arg{code};
    my $error = _fake_error(%arg);
    my (undef, $op) = $self->_take($kind, $token);
    $op->_settle_error($error);
    return $op;
}

sub _fake_complete_read_success ($self, $token = undef, $chunk = undef) {
    return $self->_complete_chunk(read => $token, $chunk);
}

sub _fake_complete_recv_success ($self, $token = undef, $chunk = undef) {
    return $self->_complete_chunk(recv => $token, $chunk);
}

sub _fake_complete_write_success ($self, $token = undef, $bytes = undef) {
    return $self->_complete_bytes(write => $token, $bytes);
}

sub _fake_complete_send_success ($self, $token = undef, $bytes = undef) {
    return $self->_complete_bytes(send => $token, $bytes);
}

sub _fake_complete_accept_success ($self, $token = undef, $fh = undef, $addr = undef) {
    croak 'token is required' unless defined $token;
    croak 'fh is required' unless defined $fh;
    my (undef, $op) = $self->_take(accept => $token);
    $op->_settle_success({ fh => $fh, addr => $addr });
    return $op;
}

sub _fake_complete_connect_success ($self, $token = undef) {
    return $self->_complete_empty(connect => $token);
}

sub _fake_complete_shutdown_success ($self, $token = undef) {
    return $self->_complete_empty(shutdown => $token);
}

sub _fake_complete_close_success ($self, $token = undef) {
    return $self->_complete_empty(close => $token);
}

for my $kind (qw(read write recv send accept connect shutdown close)) {
    no strict 'refs';
    *{"_fake_complete_${kind}_error"} = sub ($self, $token = undef, %arg) {
        return $self->_complete_error($kind, $token, %arg);
    };
}

# Splice hooks: on the backend only; 1 if settled, 0 if there was no
# such pending splice or registered op.
sub _fake_complete_splice_success ($self, $token = undef, $bytes = undef) {
    return 0 unless defined $token && delete $self->{pending_splices}{$token};
    my $op = $self->{loop}->_unregister_op($token) or return 0;
    $op->_settle_success({ bytes => $bytes });
    return 1;
}

sub _fake_complete_splice_error ($self, $token = undef, %arg) {
    return 0 unless defined $token && delete $self->{pending_splices}{$token};
    my $op = $self->{loop}->_unregister_op($token) or return 0;
    $op->_settle_error(_fake_error(%arg));
    return 1;
}

sub _fake_error (%arg) {
    return Linux::Event::Error->new(
        code    => $arg{code},
        name    => $arg{name},
        message => $arg{message},
    );
}

1;

__END__

=head1 NAME

Linux::Event::Proactor::Backend::Fake - deterministic test backend of Linux::Event::Proactor

=head1 SYNOPSIS

  my $loop = Linux::Event::Proactor->new;              # backend => 'fake'
  my $op   = $loop->read(fh => $anything, len => 10, on_complete => $cb);
  $loop->_fake_complete_read_success($op->_backend_token, 'hello');
  $loop->run_once;                                     # runs $cb

=head1 DESCRIPTION

Performs no I/O and accepts any value as a handle.  Each submission is
recorded in a pending table for its kind and gets a token from the
engine's C<next_op_id> (1, 2, 3, ...).  Timers (C<after>, C<at>) settle in
C<run_once> once their deadline has passed on the engine's clock, earliest
first; everything else is settled only by the test hooks below, which
settle at once (the callback is still deferred to the queue) and return
the op.  C<cancel> settles cancelled at once and returns 1.

=head1 TEST HOOKS

Also reachable through the engine (C<< $loop->_fake_complete_... >>),
except the splice ones.

=over 4

=item _fake_complete_read_success($token, $chunk), _fake_complete_recv_success

C<< { bytes => length, data => $chunk, eof => 1|0 } >>.  Croak
C<token is required>, C<chunk must be defined>,
C<no pending KIND for token T>, C<no registered op for token T>, or
C<fake KIND chunk exceeds requested len for token T>.

=item _fake_complete_write_success($token, $bytes), _fake_complete_send_success

C<< { bytes => $bytes } >>.  Croak C<bytes is required>,
C<bytes must be non-negative>, or
C<fake KIND bytes exceeds submitted buffer size for token T>.

=item _fake_complete_accept_success($token, $fh, $addr)

C<< { fh => $fh, addr => $addr } >>; croaks C<fh is required>.

=item _fake_complete_{connect,shutdown,close}_success($token)

C<< {} >>.

=item _fake_complete_KIND_error($token, code => ..., name => ..., message => ...)

Settles with a L<Linux::Event::Error>; croaks C<code is required>.

=item _fake_complete_splice_success($token, $bytes), _fake_complete_splice_error($token, %error)

Return 1, or 0 when there is no such pending splice; no other checks.

=back

A hook that croaks leaves the operation pending and registered.

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
