#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# The proactor (io_uring): a write and a read as operations whose
# completions call back with ($op, $result, $data).
use v5.36;
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
use Linux::Event::Loop;

my $loop = Linux::Event::Loop->new(model => 'proactor');    # uring backend
socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";

$loop->write(
    fh          => $a,
    buf         => "hello through io_uring\n",
    on_complete => sub ($op, $result, $data) {
        die $op->error->message if $op->failed;
        say "wrote $result->{bytes} bytes";
    }
);
$loop->read(
    fh          => $b,
    len         => 4096,
    data        => 'reader',
    on_complete => sub ($op, $result, $data) {
        die $op->error->message if $op->failed;
        print "$data read: $result->{data}";
    }
);
$loop->run_once while $loop->live_op_count;
$loop->drain_callbacks;
