#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Fork: run a command and capture its stdout in chunks, then a
# Perl child (child => sub), both reported by on_exit once the exit was seen
# and every captured pipe reached EOF.
use v5.36;
use Linux::Event;
use Linux::Event::Fork;
use POSIX ();
use IO::Handle;

my $loop = Linux::Event->new;
my $left = 2;
my $out  = '';
$loop->fork(
    cmd       => ['sh', '-c', 'echo hello from sh; echo to stderr >&2; exit 3'],
    on_stdout => sub ($child, $chunk) { $out .= $chunk },
    on_stderr => sub ($child, $chunk) { print "stderr: $chunk" },
    on_exit   => sub ($child, $exit) {
        print "stdout: $out";
        say "sh exited with ", $exit->code;
        $loop->stop unless --$left;
    },
);
$loop->fork(

    # A child sub ends by exec or _exit (returning is an error, exit 127).
    child => sub {
        print "hello from a Perl child, pid $$\n";
        STDOUT->flush;
        POSIX::_exit(0);
    },
    on_stdout => sub ($child, $chunk) { print "perl child says: $chunk" },
    on_exit   => sub ($child, $exit) {
        say "perl child exited with ", $exit->code;
        $loop->stop unless --$left;
    },
);
$loop->run;
