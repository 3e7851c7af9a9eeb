# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# IO::Async::LoopTests, group 'timer', against IO::Async::Loop::LinuxEvent.
use v5.36;
use IO::Async::LoopTests;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 120;

run_tests('IO::Async::Loop::LinuxEvent', 'timer');
