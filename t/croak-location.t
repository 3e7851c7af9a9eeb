# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Every croak of every public method names the caller's file and line (the
# line of the call in this file, not a line inside Linux/Event/*.pm or a
# Usage: line of xsubpp), and says what went wrong with which argument.
#
# Each case is one line: here(__LINE__, qr/text/, 'what', sub { the call }).
# The call sits on the line __LINE__ gives, so the expected location is
# "at <this file> line <that line>." at the end of $@.
use v5.36;
use Test::More;
use Socket qw(AF_INET);
use POSIX ();

use Linux::Event;
use Linux::Event::Loop;
use Linux::Event::Reactor;
use Linux::Event::Proactor;
use Linux::Event::Clock;
use Linux::Event::Timer;
use Linux::Event::Scheduler;
use Linux::Event::Signal;
use Linux::Event::Wakeup;
use Linux::Event::Pid;
use Linux::Event::Watcher;
use Linux::Event::Error;
use Linux::Event::Operation;
use Linux::Event::Reactor::Backend::Epoll;
use Linux::Event::Backend::Epoll;
use Linux::Event::Stream;
use Linux::Event::Stream::Codec;
use Linux::Event::Stream::Codec::Line;
use Linux::Event::Stream::Codec::Netstring;
use Linux::Event::Stream::Codec::U32BE;
use Linux::Event::Listen;
use Linux::Event::Connect;
use Linux::Event::Fork;
use Linux::Event::Datagram;
use PerlIO::evloop;
use FindBin ();
use lib "$FindBin::Bin/lib";
use EvlTest ();

my $file = __FILE__;
my @cases;

sub here ($line, $re, $what, $code) {
    push @cases, [ $line, $re, $what, $code ];
    return;
}

my $loop  = Linux::Event->new;
my $eng   = $loop->impl;
my $ploop = Linux::Event::Loop->new(model => 'proactor', backend => 'fake');
my $pro   = $ploop->impl;
my $clock = Linux::Event::Clock->new(clock => 'monotonic');
my $sched = $loop->sched;
my $sig   = Linux::Event::Signal->new(loop => $loop);
my $pidw  = Linux::Event::Pid->new(loop => $loop);
my $be    = Linux::Event::Reactor::Backend::Epoll->new;
my $timer = Linux::Event::Timer->new;
pipe(my $r, my $w) or die "pipe: $!";
pipe(my $r2, my $w2) or die "pipe: $!";
my $watcher = $loop->watch($r2, read => sub { });
my $op      = $ploop->after(10);
my $fork    = Linux::Event::Fork->new($loop);
my $stream  = Linux::Event::Stream->new(loop => $loop, fh => $w2);
my $closed  = do { pipe(my $cr, my $cw) or die; close $cr; $cr };
my $regular = do { open(my $fh, '<', '/dev/null') or die; $fh };
my $cb      = sub { };
my $ioloop  = do { pipe(my $ar, my $aw) or die; binmode($ar, ':evloop') or die; $ar };

# ---- Linux::Event and Linux::Event::Loop
here(__LINE__, qr/^model is required and must be 'reactor' or 'proactor'/, 'Loop->new without model', sub { Linux::Event::Loop->new });
here(__LINE__, qr/^unknown model 'bogus' \(reactor or proactor\) at /, 'Loop->new bad model', sub { Linux::Event::Loop->new(model => 'bogus') });
here(__LINE__, qr/^unknown model 'bogus'/, 'Linux::Event->new bad model', sub { Linux::Event->new(model => 'bogus') });
here(__LINE__, qr/^unknown backend 'poll'/, 'Linux::Event->new bad backend', sub { Linux::Event->new(backend => 'poll') });
here(__LINE__, qr/^unknown args: bar, foo/, 'Linux::Event->new unknown args', sub { Linux::Event->new(foo => 1, bar => 2) });
here(__LINE__, qr/^backend must be fake or uring/, 'proactor loop bad backend', sub { Linux::Event::Loop->new(model => 'proactor', backend => 'epoll') });
here(__LINE__, qr/^loop model 'proactor' does not support watch\(\)/, 'watch on a proactor loop', sub { $ploop->watch($r, read => $cb) });
here(__LINE__, qr/^loop model 'reactor' does not support read\(\)/, 'read on a reactor loop', sub { $loop->read(fh => $r, len => 1) });
here(__LINE__, qr/^seconds is required/, 'loop->after(undef, cb)', sub { $loop->after(undef, $cb) });
here(__LINE__, qr/^cb is required/, 'loop->after(1) without cb', sub { $loop->after(1) });
here(__LINE__, qr/^cb is required/, 'loop->after(1, undef)', sub { $loop->after(1, undef) });
here(__LINE__, qr/^cb must be a coderef/, 'loop->after(1, "x")', sub { $loop->after(1, 'x') });
here(__LINE__, qr/^seconds is required/, 'loop->after()', sub { $loop->after });
here(__LINE__, qr/^deadline_seconds is required/, 'loop->at(undef, cb)', sub { $loop->at(undef, $cb) });
here(__LINE__, qr/^cb is required/, 'loop->at(1) without cb', sub { $loop->at(1) });
here(__LINE__, qr/^cb must be a coderef/, 'loop->at(1, [])', sub { $loop->at(1, []) });
here(__LINE__, qr/^fh is required/, 'loop->watch(undef)', sub { $loop->watch(undef, read => $cb) });
here(__LINE__, qr/^unknown args: bogus/, 'loop->watch unknown key', sub { $loop->watch($r, bogus => 1) });
here(__LINE__, qr/^read must be a coderef or undef/, 'loop->watch read type', sub { $loop->watch($r, read => 1) });
here(__LINE__, qr/^write must be a coderef or undef/, 'loop->watch write type', sub { $loop->watch($r, write => 1) });
here(__LINE__, qr/^error must be a coderef or undef/, 'loop->watch error type', sub { $loop->watch($r, error => 1) });
here(__LINE__, qr/^fh has no fileno/, 'loop->watch closed fh', sub { $loop->watch($closed, read => $cb) });
here(__LINE__, qr/^fh has no fileno/, 'loop->watch({}) (no handle)', sub { $loop->watch({}, read => $cb) });
here(__LINE__, qr/^fh has no fileno/, 'loop->watch(sub) (no handle)', sub { $loop->watch(sub { }, read => $cb) });
here(__LINE__, qr/^unwatch: fh is not a file handle/, 'loop->unwatch({}) (no handle)', sub { $loop->unwatch({}) });
here(__LINE__, qr/^Odd name\/value argument for subroutine 'Linux::Event::Reactor::watch'/, 'loop->watch odd args', sub { $loop->watch($r, 'read') });
here(__LINE__, qr/^Too many arguments for subroutine 'Linux::Event::Reactor::stop' \(got 2; expected 1\)/, 'loop->stop(1)', sub { $loop->stop(1) });
here(__LINE__, qr/^Too many arguments for subroutine 'Linux::Event::Reactor::after' \(got 4; expected at most 3\)/, 'loop->after with a third argument', sub { $loop->after(1, $cb, 'x') });
here(__LINE__, qr/^Too few arguments for subroutine 'Linux::Event::Reactor::stop' \(got 0; expected 1\)/, 'Reactor::stop as a function', sub { Linux::Event::Reactor::stop() });
here(__LINE__, qr/^Too many arguments for subroutine 'Linux::Event::Watcher::enable_read' \(got 2; expected 1\)/, 'watcher->enable_read(1)', sub { $watcher->enable_read(1) });
here(__LINE__, qr/^Too many arguments for subroutine 'Linux::Event::Stream::write' \(got 3; expected at most 2\)/, 'stream->write("a", "b")', sub { $stream->write('a', 'b') });
here(__LINE__, qr/^fd already watched: \d+/, 'backend->watch a watched fd', sub { $be->watch($r, 1, $cb); $be->watch($r, 1, $cb) });
here(__LINE__, qr/^signal is required/, 'loop->signal()', sub { $loop->signal });
here(__LINE__, qr/^cb is required/, 'loop->signal(INT)', sub { $loop->signal('INT') });
here(__LINE__, qr/^cb must be a coderef/, 'loop->signal(INT, 1)', sub { $loop->signal('INT', 1) });
here(__LINE__, qr/^unknown signal 'NOPE'/, 'loop->signal(NOPE)', sub { $loop->signal('NOPE', $cb) });
here(__LINE__, qr/^no signals provided/, 'loop->signal([])', sub { $loop->signal([], $cb) });
here(__LINE__, qr/^signal must be a number, string, or arrayref/, 'loop->signal({})', sub { $loop->signal({}, $cb) });
here(__LINE__, qr/^signal is undef/, 'loop->signal([undef])', sub { $loop->signal([undef], $cb) });
here(__LINE__, qr/^signal must be a string or integer/, 'loop->signal([[]])', sub { $loop->signal([ [] ], $cb) });
here(__LINE__, qr/^unknown args: bogus/, 'loop->signal unknown key', sub { $loop->signal('INT', $cb, bogus => 1) });
here(__LINE__, qr/^Odd name\/value argument for subroutine 'Linux::Event::Signal::signal'/, 'loop->signal odd options', sub { $loop->signal('USR1', $cb, 'data') });
here(__LINE__, qr/^pid is required/, 'loop->pid()', sub { $loop->pid });
here(__LINE__, qr/^callback is required/, 'loop->pid(1)', sub { $loop->pid($$) });
here(__LINE__, qr/^callback is required/, 'loop->pid(1, "x")', sub { $loop->pid($$, 'x') });
here(__LINE__, qr/^pid must be a positive integer/, 'loop->pid(-1)', sub { $loop->pid(-1, $cb) });
here(__LINE__, qr/^pid must be a positive integer/, 'loop->pid(abc)', sub { $loop->pid('abc', $cb) });
here(__LINE__, qr/^unknown opts: bogus/, 'loop->pid unknown key', sub { $loop->pid($$, $cb, bogus => 1) });
here(__LINE__, qr/^Odd name\/value argument for subroutine 'Linux::Event::Pid::pid'/, 'loop->pid odd options', sub { $loop->pid($$, $cb, 'data') });
here(__LINE__, qr/^Too many arguments for subroutine 'Linux::Event::Reactor::waker'/, 'loop->waker(cb)', sub { $loop->waker($cb) });
here(__LINE__, qr/^cmd or child is required/, 'loop->fork()', sub { $loop->fork });
here(__LINE__, qr/^cmd must be an arrayref/, 'loop->fork(cmd => "x")', sub { $loop->fork(cmd => 'x') });
here(__LINE__, qr/^unknown args: bogus/, 'loop->fork_helper unknown key', sub { $loop->fork_helper(bogus => 1) });
here(__LINE__, qr/^max_children must be a non-negative integer/, 'loop->fork_helper bad max', sub { $loop->fork_helper(max_children => -1) });

# ---- what the loops host: every, signal_subscribe, child, idle/prepare/check, fd numbers
for my $l ($loop, $ploop) {
    my $m = $l->model;
    here(__LINE__, qr/^every: seconds is required/, "$m every()", sub { $l->every });
    here(__LINE__, qr/^every: seconds must be a number > 0 \(got '0'\)/, "$m every(0)", sub { $l->every(0, $cb) });
    here(__LINE__, qr/^every: cb is required/, "$m every(1)", sub { $l->every(1) });
    here(__LINE__, qr/^every: cb must be a code reference/, "$m every(1, 1)", sub { $l->every(1, 1) });
    here(__LINE__, qr/^signal_subscribe: signal is required/, "$m signal_subscribe()", sub { $l->signal_subscribe });
    here(__LINE__, qr/^signal_subscribe: cb is required/, "$m signal_subscribe(INT)", sub { $l->signal_subscribe('INT') });
    here(__LINE__, qr/^signal_subscribe: no signals provided/, "$m signal_subscribe([])", sub { $l->signal_subscribe([], $cb) });
    here(__LINE__, qr/^signal_subscribe: unknown signal 'NOPE'/, "$m signal_subscribe(NOPE)", sub { $l->signal_subscribe('NOPE', $cb) });
    here(__LINE__, qr/^child: pid is required/, "$m child()", sub { $l->child });
    here(__LINE__, qr/^child: pid must be 0 \(every child\) or a positive integer \(got 'x'\)/, "$m child(x)", sub { $l->child('x', $cb) });
    here(__LINE__, qr/^child: cb is required/, "$m child(0)", sub { $l->child(0) });
    here(__LINE__, qr/^idle: cb is required/, "$m idle()", sub { $l->idle });
    here(__LINE__, qr/^prepare: cb must be a code reference/, "$m prepare(1)", sub { $l->prepare(1) });
    here(__LINE__, qr/^check: cb is required/, "$m check()", sub { $l->check });
}
here(__LINE__, qr/^watch: fd must be a non-negative integer or a file handle \(got '-1'\)/, 'loop->watch(-1)', sub { $loop->watch(-1, read => $cb) });
here(__LINE__, qr/^unwatch: fd must be a non-negative integer or a file handle \(got '-1'\)/, 'loop->unwatch(-1)', sub { $loop->unwatch(-1) });
here(__LINE__, qr/^hangup must be a coderef or undef/, 'loop->watch hangup type', sub { $loop->watch($r, hangup => 1) });
here(__LINE__, qr/^Linux::Event::Loop::watch: fd 999 is not an open file descriptor/, 'loop->watch(999)', sub { $loop->watch(999, read => $cb) });
here(__LINE__, qr/^Linux::Event::Loop::watch: fd 999 is not an open file descriptor/, 'loop->watch(999, read, data)', sub { $loop->watch(999, read => $cb, data => 1, oneshot => 1) });

# ---- Linux::Event::Reactor
here(__LINE__, qr/^unknown args: foo/, 'Reactor->new unknown args', sub { Linux::Event::Reactor->new(foo => 1) });
here(__LINE__, qr/^unknown backend 'poll'/, 'Reactor->new bad backend', sub { Linux::Event::Reactor->new(backend => 'poll') });
here(__LINE__, qr/^backend missing method 'watch'/, 'Reactor->new backend object', sub { Linux::Event::Reactor->new(backend => bless {}, 'Nope') });
here(__LINE__, qr/^clock missing method 'tick'/, 'Reactor->new bad clock', sub { Linux::Event::Reactor->new(clock => bless {}, 'Nope') });
here(__LINE__, qr/^timer missing method 'after'/, 'Reactor->new bad timer', sub { Linux::Event::Reactor->new(timer => bless {}, 'Nope') });
here(__LINE__, qr/^cb is required/, 'reactor->after(1)', sub { $eng->after(1) });
here(__LINE__, qr/^seconds is required/, 'reactor->after()', sub { $eng->after });
here(__LINE__, qr/^cb must be a coderef/, 'reactor->after(1, 1)', sub { $eng->after(1, 1) });
here(__LINE__, qr/^cb is required/, 'reactor->at(1)', sub { $eng->at(1) });
here(__LINE__, qr/^deadline_seconds is required/, 'reactor->at()', sub { $eng->at });
here(__LINE__, qr/^fh is required/, 'reactor->watch("")', sub { $eng->watch('') });
here(__LINE__, qr/^read must be a coderef or undef/, 'reactor->watch read type', sub { $eng->watch($r, read => 'x') });

# ---- Linux::Event::Watcher
here(__LINE__, qr/^read handler must be a coderef or undef/, 'watcher->on_read(1)', sub { $watcher->on_read(1) });
here(__LINE__, qr/^write handler must be a coderef or undef/, 'watcher->on_write(1)', sub { $watcher->on_write(1) });
here(__LINE__, qr/^error handler must be a coderef or undef/, 'watcher->on_error(1)', sub { $watcher->on_error(1) });
here(__LINE__, qr/^unknown args: bogus/, 'Watcher->new unknown args', sub { Linux::Event::Watcher->new(bogus => 1) });
here(__LINE__, qr/^loop is required/, 'Watcher->new without loop', sub { Linux::Event::Watcher->new(fh => $r, fd => 3) });
here(__LINE__, qr/^fh is required/, 'Watcher->new without fh', sub { Linux::Event::Watcher->new(loop => $loop, fd => 3) });
here(__LINE__, qr/^fd is required/, 'Watcher->new without fd', sub { Linux::Event::Watcher->new(loop => $loop, fh => $r) });
here(__LINE__, qr/^read must be a coderef or undef/, 'Watcher->new read type', sub { Linux::Event::Watcher->new(loop => $loop, fh => $r, fd => 3, read => 1) });

# ---- Linux::Event::Scheduler
here(__LINE__, qr/^clock is required/, 'Scheduler->new without clock', sub { Linux::Event::Scheduler->new });
here(__LINE__, qr/^unknown args: bogus/, 'Scheduler->new unknown args', sub { Linux::Event::Scheduler->new(clock => $clock, bogus => 1) });
here(__LINE__, qr/^clock missing method/, 'Scheduler->new bad clock', sub { Linux::Event::Scheduler->new(clock => bless {}, 'Nope') });
here(__LINE__, qr/^deadline_ns is required/, 'sched->at_ns()', sub { $sched->at_ns(undef, $cb) });
here(__LINE__, qr/^callback is required/, 'sched->at_ns(1)', sub { $sched->at_ns(1) });
here(__LINE__, qr/^callback must be a coderef/, 'sched->at_ns(1, 1)', sub { $sched->at_ns(1, 1) });
here(__LINE__, qr/^delta_ns is required/, 'sched->after_ns()', sub { $sched->after_ns(undef, $cb) });
here(__LINE__, qr/^callback is required/, 'sched->after_ns(1)', sub { $sched->after_ns(1) });

# ---- Linux::Event::Signal, ::Wakeup, ::Pid
here(__LINE__, qr/^loop is required/, 'Signal->new without loop', sub { Linux::Event::Signal->new });
here(__LINE__, qr/^unknown args: bogus/, 'Signal->new unknown args', sub { Linux::Event::Signal->new(loop => $loop, bogus => 1) });
here(__LINE__, qr/^signal is required/, 'signal->signal()', sub { $sig->signal });
here(__LINE__, qr/^cb is required/, 'signal->signal(INT)', sub { $sig->signal('INT') });
here(__LINE__, qr/^cb must be a coderef/, 'signal->signal(INT, {})', sub { $sig->signal('INT', {}) });
here(__LINE__, qr/^unknown signal 'SIGBOGUS'/, 'signal->signal(SIGBOGUS)', sub { $sig->signal('SIGBOGUS', $cb) });
here(__LINE__, qr/^loop is required/, 'Wakeup->new without loop', sub { Linux::Event::Wakeup->new });
here(__LINE__, qr/^unknown args: bogus/, 'Wakeup->new unknown args', sub { Linux::Event::Wakeup->new(loop => $loop, bogus => 1) });
here(__LINE__, qr/^signal\(\) increment must be a positive integer/, 'waker->signal(0)', sub { $loop->waker->signal(0) });
here(__LINE__, qr/^signal\(\) increment must be a positive integer/, 'waker->signal(x)', sub { $loop->waker->signal('x') });
here(__LINE__, qr/^signal\(\) increment must be a positive integer/, 'waker->signal(-1)', sub { $loop->waker->signal(-1) });
here(__LINE__, qr/^loop is required/, 'Pid->new without loop', sub { Linux::Event::Pid->new });
here(__LINE__, qr/^unknown args: bogus/, 'Pid->new unknown args', sub { Linux::Event::Pid->new(loop => $loop, bogus => 1) });
here(__LINE__, qr/^pid is required/, 'pid->pid()', sub { $pidw->pid });
here(__LINE__, qr/^callback is required/, 'pid->pid(1)', sub { $pidw->pid(1) });
here(__LINE__, qr/^pid must be a positive integer/, 'pid->pid(0)', sub { $pidw->pid(0, $cb) });

here(__LINE__, qr/^at_ns\(\): the loop is gone/, 'sched->at_ns of a freed loop', sub { my $s = Linux::Event->new->sched; $s->at_ns(1, $cb) });
here(__LINE__, qr/^after_ns\(\): the loop is gone/, 'sched->after_ns of a freed loop', sub { my $s = Linux::Event->new->sched; $s->after_ns(1, $cb) });
here(__LINE__, qr/^signal\(\): the loop is gone/, 'signal of a freed loop', sub { my $s = Linux::Event::Signal->new(loop => Linux::Event->new); $s->signal('USR1', $cb) });
here(__LINE__, qr/^pid\(\): the loop is gone/, 'pid of a freed loop', sub { my $p = Linux::Event::Pid->new(loop => Linux::Event->new); $p->pid($$, $cb) });

# ---- Linux::Event::Clock, ::Timer
here(__LINE__, qr/^clock must be 'monotonic'/, 'Clock->new bad clock', sub { Linux::Event::Clock->new(clock => 'realtime') });
here(__LINE__, qr/^deadline_after requires seconds/, 'clock->deadline_after()', sub { $clock->deadline_after });
here(__LINE__, qr/^remaining_ns requires deadline_ns/, 'clock->remaining_ns()', sub { $clock->remaining_ns });
here(__LINE__, qr/^expired_ns requires deadline_ns/, 'clock->expired_ns()', sub { $clock->expired_ns });
here(__LINE__, qr/^Only one of after\/every may be supplied/, 'Timer->new after+every', sub { Linux::Event::Timer->new(after => 1, every => 1) });
here(__LINE__, qr/^Unknown option\(s\): bogus/, 'Timer->new unknown', sub { Linux::Event::Timer->new(bogus => 1) });
here(__LINE__, qr/^clock must be 'monotonic', 'realtime' or 'boottime'/, 'Timer->new bad clock', sub { Linux::Event::Timer->new(clock => 'tai') });
here(__LINE__, qr/^timerfd must be an object/, 'Timer->new timerfd type', sub { Linux::Event::Timer->new(timerfd => 1) });
here(__LINE__, qr/^timerfd missing required method 'set_timeout'/, 'Timer->new timerfd methods', sub { Linux::Event::Timer->new(timerfd => bless {}, 'Nope') });
here(__LINE__, qr/^seconds is required/, 'timer->after()', sub { $timer->after });
here(__LINE__, qr/^seconds must be numeric/, 'timer->after(x)', sub { $timer->after('x') });
here(__LINE__, qr/^interval is required/, 'timer->every()', sub { $timer->every });
here(__LINE__, qr/^interval must be > 0/, 'timer->every(0)', sub { $timer->every(0) });

# ---- Linux::Event::Proactor, ::Operation, ::Error
here(__LINE__, qr/^backend must be fake or uring/, 'Proactor->new bad backend', sub { Linux::Event::Proactor->new(backend => 'epoll') });
here(__LINE__, qr/^clock must provide tick\(\)/, 'Proactor->new bad clock', sub { Linux::Event::Proactor->new(clock => bless {}, 'Nope') });
here(__LINE__, qr/^after requires seconds/, 'ploop->after()', sub { $ploop->after(undef) });
here(__LINE__, qr/^after requires seconds/, 'ploop->after() without arguments', sub { $ploop->after });
here(__LINE__, qr/^at requires deadline/, 'ploop->at() without arguments', sub { $ploop->at });
here(__LINE__, qr/^after requires seconds/, 'proactor->after() without arguments', sub { $pro->after });
here(__LINE__, qr/^unknown argument: bogus/, 'ploop->after unknown', sub { $ploop->after(1, bogus => 1) });
here(__LINE__, qr/^on_complete must be a coderef/, 'ploop->after on_complete', sub { $ploop->after(1, on_complete => 1) });
here(__LINE__, qr/^at requires deadline/, 'ploop->at()', sub { $ploop->at(undef) });
here(__LINE__, qr/^unknown argument: bogus/, 'ploop->at unknown', sub { $ploop->at(1, bogus => 1) });
here(__LINE__, qr/^unknown argument: bogus/, 'ploop->read unknown', sub { $ploop->read(fh => $r, len => 1, bogus => 1) });
here(__LINE__, qr/^fh is required/, 'ploop->read without fh', sub { $ploop->read(len => 1) });
here(__LINE__, qr/^len is required/, 'ploop->read without len', sub { $ploop->read(fh => $r) });
here(__LINE__, qr/^len must be defined/, 'ploop->read len undef', sub { $ploop->read(fh => $r, len => undef) });
here(__LINE__, qr/^len must be non-negative/, 'ploop->read len -1', sub { $ploop->read(fh => $r, len => -1) });
here(__LINE__, qr/^len must be non-negative/, 'ploop->read len NaN', sub { $ploop->read(fh => $r, len => 'nan') });
here(__LINE__, qr/^len must be non-negative/, 'ploop->recv len NaN', sub { $ploop->recv(fh => $r, len => 'nan') });
here(__LINE__, qr/^len must be non-negative/, 'ploop->splice len NaN', sub { $ploop->splice(in_fh => $r, out_fh => $w, len => 'nan') });
here(__LINE__, qr/^Odd name\/value argument for subroutine 'Linux::Event::Proactor::read'/, 'ploop->read dangling key', sub { $ploop->read(fh => $r, len => 1, 'on_complete') });
here(__LINE__, qr/^Odd name\/value argument for subroutine 'Linux::Event::Proactor::write'/, 'ploop->write dangling key', sub { $ploop->write(fh => $w, buf => 'x', 'data') });
here(__LINE__, qr/^Odd name\/value argument for subroutine 'Linux::Event::Proactor::close'/, 'ploop->close dangling key', sub { $ploop->close(fh => $w, 'on_complete') });
here(__LINE__, qr/^on_complete must be a coderef/, 'ploop->read on_complete', sub { $ploop->read(fh => $r, len => 1, on_complete => 1) });
here(__LINE__, qr/^buf is required/, 'ploop->write without buf', sub { $ploop->write(fh => $w) });
here(__LINE__, qr/^buf must be defined/, 'ploop->write buf undef', sub { $ploop->write(fh => $w, buf => undef) });
here(__LINE__, qr/^flags must be an integer/, 'ploop->send flags', sub { $ploop->send(fh => $w, buf => 'x', flags => 'x') });
here(__LINE__, qr/^flags must be defined/, 'ploop->recv flags undef', sub { $ploop->recv(fh => $r, len => 1, flags => undef) });
here(__LINE__, qr/^addr is required/, 'ploop->connect without addr', sub { $ploop->connect(fh => $w) });
here(__LINE__, qr/^how is required/, 'ploop->shutdown without how', sub { $ploop->shutdown(fh => $w) });
here(__LINE__, qr/^how must be 'read', 'write', 'both'/, 'ploop->shutdown bad how', sub { $ploop->shutdown(fh => $w, how => 'sideways') });
here(__LINE__, qr/^in_fh is required/, 'ploop->splice without in_fh', sub { $ploop->splice(out_fh => $w, len => 1) });
here(__LINE__, qr/^out_fh is required/, 'ploop->splice without out_fh', sub { $ploop->splice(in_fh => $r, len => 1) });
here(__LINE__, qr/^fh is required/, 'ploop->close without fh', sub { $ploop->close });
here(__LINE__, qr/^fh is required/, 'ploop->accept without fh', sub { $ploop->accept });
here(__LINE__, qr/^on_complete must be a coderef/, 'proactor->read on_complete', sub { $pro->read(fh => $r, len => 1, on_complete => 'x') });
here(__LINE__, qr/^callback is required/, 'op->on_complete()', sub { $op->on_complete });
here(__LINE__, qr/^callback must be a coderef/, 'op->on_complete(1)', sub { $op->on_complete(1) });
here(__LINE__, qr/^callback already set/, 'op->on_complete twice', sub { $op->on_complete($cb); $op->on_complete($cb) });
here(__LINE__, qr/^code is required/, 'Error->new without code', sub { Linux::Event::Error->new(name => 'X') });

# ---- the Fake backend's test hooks (through the proactor and on the backend)
here(__LINE__, qr/^token is required/, 'fake read success without token', sub { $pro->_fake_complete_read_success(undef, 'x') });
here(__LINE__, qr/^no pending read for token 999/, 'fake read success unknown token', sub { $pro->_fake_complete_read_success(999, 'x') });
here(__LINE__, qr/^token is required/, 'fake write success without token', sub { $pro->_fake_complete_write_success(undef, 1) });
here(__LINE__, qr/^bytes is required/, 'fake write success without bytes', sub { my $t = $pro->{next_op_id}; $ploop->write(fh => $w, buf => 'x'); $pro->_fake_complete_write_success($t, undef) });
here(__LINE__, qr/^token is required/, 'fake accept success without token', sub { $pro->_fake_complete_accept_success(undef, $r) });
here(__LINE__, qr/^token is required/, 'fake read success without arguments', sub { $pro->_fake_complete_read_success });
here(__LINE__, qr/^token is required/, 'fake connect success without arguments', sub { $pro->_fake_complete_connect_success });
here(__LINE__, qr/^token is required/, 'fake accept success without arguments', sub { $pro->_fake_complete_accept_success });
here(__LINE__, qr/^token is required/, 'fake close error without arguments', sub { $pro->_fake_complete_close_error });
here(__LINE__, qr/^code is required/, 'fake read error without code', sub { my $t = $pro->{next_op_id}; $ploop->read(fh => $r, len => 1); $pro->_fake_complete_read_error($t, name => 'X') });
here(__LINE__, qr/^deadline_ns is required/, 'fake _submit_timeout without deadline', sub { $pro->{backend}->_submit_timeout($op) });
here(__LINE__, qr/^loop is required/, 'Fake->_new without loop', sub { Linux::Event::Proactor::Backend::Fake->_new });

# ---- Linux::Event::Reactor::Backend::Epoll (and its old name)
here(__LINE__, qr/^unknown args: bogus/, 'Backend::Epoll->new unknown', sub { Linux::Event::Reactor::Backend::Epoll->new(bogus => 1) });
here(__LINE__, qr/^unknown args: bogus/, 'Linux::Event::Backend::Epoll->new unknown', sub { Linux::Event::Backend::Epoll->new(bogus => 1) });
here(__LINE__, qr/^fh is required/, 'be->watch()', sub { $be->watch });
here(__LINE__, qr/^mask is required/, 'be->watch(fh)', sub { $be->watch($w) });
here(__LINE__, qr/^cb is required/, 'be->watch(fh, 1)', sub { $be->watch($w, 1) });
here(__LINE__, qr/^cb must be a coderef/, 'be->watch(fh, 1, 1)', sub { $be->watch($w, 1, 1) });
here(__LINE__, qr/^fh has no fileno/, 'be->watch(closed)', sub { $be->watch($closed, 1, $cb) });
here(__LINE__, qr/^mask is required/, 'be->modify(fh)', sub { $be->modify($r) });
here(__LINE__, qr/^Couldn't add filehandle to epoll set: /, 'be->watch(regular file)', sub { $be->watch($regular, 1, $cb) });

# ---- Linux::Event::Stream and its codecs
here(__LINE__, qr/^new\(\): missing loop/, 'Stream->new without loop', sub { Linux::Event::Stream->new(fh => $w) });
here(__LINE__, qr/^new\(\): missing fh/, 'Stream->new without fh', sub { Linux::Event::Stream->new(loop => $loop) });
here(__LINE__, qr/^on_read must be a coderef/, 'Stream->new on_read type', sub { Linux::Event::Stream->new(loop => $loop, fh => $w, on_read => 1) });
here(__LINE__, qr/^use either codec or decoder\/encoder, not both/, 'Stream->new codec+decoder', sub { Linux::Event::Stream->new(loop => $loop, fh => $w, codec => 'line', decoder => 'line') });
here(__LINE__, qr/^on_read is not used when on_message is provided/, 'Stream->new on_read+on_message', sub { Linux::Event::Stream->new(loop => $loop, fh => $w, on_read => $cb, on_message => $cb, codec => 'line') });
here(__LINE__, qr/^new\(\): missing codec/, 'Stream->new on_message without codec', sub { Linux::Event::Stream->new(loop => $loop, fh => $w, on_message => $cb) });
here(__LINE__, qr/^unknown codec alias: bogus/, 'Stream->new bad codec alias', sub { Linux::Event::Stream->new(loop => $loop, fh => $w, on_message => $cb, codec => 'bogus') });
here(__LINE__, qr/^codec must be a hashref/, 'Stream->new codec type', sub { Linux::Event::Stream->new(loop => $loop, fh => $w, on_message => $cb, codec => [1]) });
here(__LINE__, qr/^codec->\{decode\} must be a coderef/, 'Stream->new codec decode', sub { Linux::Event::Stream->new(loop => $loop, fh => $w, on_message => $cb, codec => {}) });
here(__LINE__, qr/^unknown options: bogus/, 'Stream->new unknown', sub { Linux::Event::Stream->new(loop => $loop, fh => $w, bogus => 1) });
here(__LINE__, qr/^new\(\): loop is not a Linux::Event loop/, 'Stream->new loop type', sub { Linux::Event::Stream->new(loop => 1, fh => $w) });
here(__LINE__, qr/^new\(\): fh has no fileno/, 'Stream->new closed fh', sub { Linux::Event::Stream->new(loop => $loop, fh => $closed) });
here(__LINE__, qr/^new\(\): fh has no fileno/, 'Stream->new fh a string', sub { Linux::Event::Stream->new(loop => $loop, fh => 'abc') });
here(__LINE__, qr/^new\(\): fh has no fileno/, 'Stream->new fh a hash', sub { Linux::Event::Stream->new(loop => $loop, fh => {}) });
here(__LINE__, qr/^write_message\(\) requires a codec/, 'stream->write_message raw', sub { $stream->write_message('x') });
here(__LINE__, qr/^codec is required/, 'Codec::validate()', sub { Linux::Event::Stream::Codec::validate(undef) });
here(__LINE__, qr/^codec is required/, 'Codec::validate without arguments', sub { Linux::Event::Stream::Codec::validate() });
here(__LINE__, qr/^codec must be a hashref/, 'Codec::validate([])', sub { Linux::Event::Stream::Codec::validate([]) });
here(__LINE__, qr/^codec->\{decode\} must be a CODE ref/, 'Codec::validate({})', sub { Linux::Event::Stream::Codec::validate({}) });
here(__LINE__, qr/^codec->\{decode\} must be a CODE ref/, 'Codec::make_codec()', sub { Linux::Event::Stream::Codec::make_codec() });
here(__LINE__, qr/^codec must be a hashref/, 'line codec decode with no codec', sub { my $c = Linux::Event::Stream::Codec::Line->new; my $b = ''; $c->{decode}->(1, \$b, []) });
here(__LINE__, qr/^decode: \(codec, \\\$buffer, \\\@out\) expected/, 'line codec decode with a bad buffer', sub { my $c = Linux::Event::Stream::Codec::Line->new; $c->{decode}->($c, 'x', 'y') });
here(__LINE__, qr/^unknown options: bogus/, 'Codec::Line->new unknown', sub { Linux::Event::Stream::Codec::Line->new(bogus => 1) });
here(__LINE__, qr/^unknown options: bogus/, 'Codec::Netstring->new unknown', sub { Linux::Event::Stream::Codec::Netstring->new(bogus => 1) });
here(__LINE__, qr/^unknown options: bogus/, 'Codec::U32BE->new unknown', sub { Linux::Event::Stream::Codec::U32BE->new(bogus => 1) });

# ---- Linux::Event::Listen, ::Connect
here(__LINE__, qr/^loop is required/, 'Listen->new without loop', sub { Linux::Event::Listen->new(on_accept => $cb) });
here(__LINE__, qr/^on_accept is required/, 'Listen->new without on_accept', sub { Linux::Event::Listen->new(loop => $loop) });
here(__LINE__, qr/^on_accept must be a code reference/, 'Listen->new on_accept type', sub { Linux::Event::Listen->new(loop => $loop, on_accept => 1) });
here(__LINE__, qr/^on_error must be a code reference/, 'Listen->new on_error type', sub { Linux::Event::Listen->new(loop => $loop, on_accept => $cb, on_error => 1) });
here(__LINE__, qr/^max_accept_per_tick must be a positive integer/, 'Listen->new max_accept_per_tick', sub { Linux::Event::Listen->new(loop => $loop, on_accept => $cb, max_accept_per_tick => 0) });
here(__LINE__, qr/^unknown option\(s\): bogus/, 'Listen->new unknown', sub { Linux::Event::Listen->new(loop => $loop, on_accept => $cb, bogus => 1) });
here(__LINE__, qr/^host and port must be provided together/, 'Listen->new host only', sub { Linux::Event::Listen->new(loop => $loop, on_accept => $cb, host => '127.0.0.1') });
here(__LINE__, qr/^either fh, host\/port, or path is required/, 'Listen->new no address', sub { Linux::Event::Listen->new(loop => $loop, on_accept => $cb) });
here(__LINE__, qr/^path cannot be combined with host\/port/, 'Listen->new path+host', sub { Linux::Event::Listen->new(loop => $loop, on_accept => $cb, path => '/x', host => 'h', port => 1) });
here(__LINE__, qr/^provide either fh/, 'Listen->new fh+path', sub { Linux::Event::Listen->new(loop => $loop, on_accept => $cb, fh => $r, path => '/x') });
here(__LINE__, qr/^fh is not a listening socket/, 'Listen->new fh not listening', sub { Linux::Event::Listen->new(loop => $loop, on_accept => $cb, fh => $r) });
here(__LINE__, qr/^fh is not a listening socket \(no file descriptor\)/, 'Listen->new fh a hash', sub { Linux::Event::Listen->new(loop => $loop, on_accept => $cb, fh => {}) });
here(__LINE__, qr/^fh is not a listening socket \(no file descriptor\)/, 'Listen->new fh a string', sub { Linux::Event::Listen->new(loop => $loop, on_accept => $cb, fh => 'abc') });
here(__LINE__, qr/^fh is not a listening socket \(no file descriptor\)/, 'Listen->new fh closed', sub { Linux::Event::Listen->new(loop => $loop, on_accept => $cb, fh => $closed) });
here(__LINE__, qr/^loop is not a Linux::Event loop/, 'Listen->new loop a string', sub { Linux::Event::Listen->new(loop => 'x', on_accept => $cb, host => '127.0.0.1', port => 0) });
here(__LINE__, qr/^on_accept is required/, 'Listen->listen without on_accept', sub { Linux::Event::Listen->listen($loop) });
here(__LINE__, qr/^loop is required/, 'Listen->listen without arguments', sub { Linux::Event::Listen->listen });
here(__LINE__, qr/^loop is required/, 'Connect->new without loop', sub { Linux::Event::Connect->new(host => '127.0.0.1', port => 1) });
here(__LINE__, qr/^loop is not a Linux::Event loop/, 'Connect->new loop a hash', sub { Linux::Event::Connect->new(loop => {}, host => '127.0.0.1', port => 1) });
here(__LINE__, qr/^nonblocking must be true/, 'Connect->new nonblocking', sub { Linux::Event::Connect->new(loop => $loop, nonblocking => 0, host => '127.0.0.1', port => 1) });
here(__LINE__, qr/^on_connect must be a coderef/, 'Connect->new on_connect type', sub { Linux::Event::Connect->new(loop => $loop, on_connect => 1, host => '127.0.0.1', port => 1) });
here(__LINE__, qr/^timeout_s must be a number >= 0/, 'Connect->new timeout_s', sub { Linux::Event::Connect->new(loop => $loop, timeout_s => -1, host => '127.0.0.1', port => 1) });
here(__LINE__, qr/^exactly one address mode is required/, 'Connect->new no address', sub { Linux::Event::Connect->new(loop => $loop) });
here(__LINE__, qr/^host is required/, 'Connect->new port only', sub { Linux::Event::Connect->new(loop => $loop, port => 1) });
here(__LINE__, qr/^port is required/, 'Connect->new host only', sub { Linux::Event::Connect->new(loop => $loop, host => '127.0.0.1') });
here(__LINE__, qr/^port must be an integer/, 'Connect->new port type', sub { Linux::Event::Connect->new(loop => $loop, host => '127.0.0.1', port => 'x') });
here(__LINE__, qr/^port out of range/, 'Connect->new port range', sub { Linux::Event::Connect->new(loop => $loop, host => '127.0.0.1', port => 70000) });
here(__LINE__, qr/^unix must be a non-empty string/, 'Connect->new unix empty', sub { Linux::Event::Connect->new(loop => $loop, unix => '') });
here(__LINE__, qr/^family is required in sockaddr mode/, 'Connect->new sockaddr family', sub { Linux::Event::Connect->new(loop => $loop, sockaddr => 'x') });
here(__LINE__, qr/^unknown option\(s\): bogus/, 'Connect->new unknown', sub { Linux::Event::Connect->new(loop => $loop, host => '127.0.0.1', port => 1, bogus => 1) });

# ---- Linux::Event::Datagram
my $dgram = Linux::Event::Datagram->new(loop => $loop, host => '127.0.0.1');
socketpair(my $st1, my $st2, Socket::AF_UNIX(), Socket::SOCK_STREAM(), 0) or die "socketpair: $!";
here(__LINE__, qr/^new\(\): missing loop/, 'Datagram->new without loop', sub { Linux::Event::Datagram->new(port => 0) });
here(__LINE__, qr/^new\(\): unknown options: bogus/, 'Datagram->new unknown', sub { Linux::Event::Datagram->new(loop => $loop, port => 0, bogus => 1) });
here(__LINE__, qr/^new\(\): on_datagram must be a coderef/, 'Datagram->new on_datagram type', sub { Linux::Event::Datagram->new(loop => $loop, port => 0, on_datagram => 1) });
here(__LINE__, qr/^new\(\): port must be an integer between 0 and 65535/, 'Datagram->new port', sub { Linux::Event::Datagram->new(loop => $loop, port => 70000) });
here(__LINE__, qr/^new\(\): peer_port is required with peer_host/, 'Datagram->new peer_host alone', sub { Linux::Event::Datagram->new(loop => $loop, peer_host => '127.0.0.1') });
here(__LINE__, qr/^new\(\): peer_host is required with peer_port/, 'Datagram->new peer_port alone', sub { Linux::Event::Datagram->new(loop => $loop, peer_port => 9) });
here(__LINE__, qr/^new\(\): peer_host goes with host\/port or fh/, 'Datagram->new path and peer_host', sub { Linux::Event::Datagram->new(loop => $loop, path => '/nonexistent/x', peer_host => '127.0.0.1', peer_port => 9) });
here(__LINE__, qr/^new\(\): batch must be an integer between 1 and 1024/, 'Datagram->new batch', sub { Linux::Event::Datagram->new(loop => $loop, port => 0, batch => 0) });
here(__LINE__, qr/^new\(\): give one of fh, path, or host\/port/, 'Datagram->new fh and port', sub { Linux::Event::Datagram->new(loop => $loop, port => 0, fh => $st1) });
here(__LINE__, qr/^new\(\): give fh, path, host\/port or a peer/, 'Datagram->new nothing', sub { Linux::Event::Datagram->new(loop => $loop) });
here(__LINE__, qr/^new\(\): family must be/, 'Datagram->new family', sub { Linux::Event::Datagram->new(loop => $loop, port => 0, family => 'ipx') });
here(__LINE__, qr/^new\(\): multicast group 'nope' is not a numeric/, 'Datagram->new multicast', sub { Linux::Event::Datagram->new(loop => $loop, port => 0, multicast => 'nope') });
here(__LINE__, qr/^new\(\): loop is not a Linux::Event loop/, 'Datagram->new loop type', sub { Linux::Event::Datagram->new(loop => 1, port => 0) });
here(__LINE__, qr/^new\(\): Protocol wrong type for socket/, 'Datagram->new stream fh', sub { Linux::Event::Datagram->new(loop => $loop, fh => $st1) });
here(__LINE__, qr/^send\(\): bytes must be defined/, 'dgram->send(undef)', sub { $dgram->send(undef) });
here(__LINE__, qr/^send\(\): bytes must be a byte string/, 'dgram->send(wide)', sub { $dgram->send("\x{263a}") });
here(__LINE__, qr/^send_to\(\): peer_addr must be a packed sockaddr/, 'dgram->send_to(bad addr)', sub { $dgram->send_to('x', 'y') });
here(__LINE__, qr/^send_to\(\): peer_addr must be a packed sockaddr/, 'dgram->send_to(undef addr)', sub { $dgram->send_to('x') });
here(__LINE__, qr/^join_multicast\(\): group must be a numeric/, 'dgram->join_multicast(name)', sub { $dgram->join_multicast('example.org') });
here(__LINE__, qr/^leave_multicast\(\): interface 'a\/b' is not/, 'dgram->leave_multicast(bad if)', sub { $dgram->leave_multicast('239.1.1.1', 'a/b') });
here(__LINE__, qr/^unpack_addr\(\): peer_addr must be a packed sockaddr/, 'Datagram::unpack_addr(undef)', sub { Linux::Event::Datagram::unpack_addr(undef) });
here(__LINE__, qr/^pack_addr\(\): host must be a numeric/, 'Datagram::pack_addr(name)', sub { Linux::Event::Datagram::pack_addr('example.org', 1) });
here(__LINE__, qr/^send\(\): not a Linux::Event::Datagram object/, 'Datagram::send on a non-object', sub { Linux::Event::Datagram::send({}, 'x') });

# ---- Linux::Event::Fork
here(__LINE__, qr/^loop is required/, 'Fork->new without loop', sub { Linux::Event::Fork->new });
here(__LINE__, qr/^unknown args: bogus/, 'Fork->new unknown', sub { Linux::Event::Fork->new($loop, bogus => 1) });
here(__LINE__, qr/^max_children must be a non-negative integer/, 'Fork->new max_children', sub { Linux::Event::Fork->new($loop, max_children => 'x') });
here(__LINE__, qr/^max_children must be a non-negative integer/, 'fork->max_children(x)', sub { $fork->max_children('x') });
here(__LINE__, qr/^cmd or child is required/, 'fork->spawn()', sub { $fork->spawn });
here(__LINE__, qr/^provide exactly one of cmd or child/, 'fork->spawn cmd+child', sub { $fork->spawn(cmd => ['true'], child => $cb) });
here(__LINE__, qr/^cmd must be an arrayref/, 'fork->spawn cmd string', sub { $fork->spawn(cmd => 'true') });
here(__LINE__, qr/^child must be a coderef/, 'fork->spawn child type', sub { $fork->spawn(child => 1) });
here(__LINE__, qr/^on_exit must be a coderef/, 'fork->spawn on_exit type', sub { $fork->spawn(cmd => ['true'], on_exit => 1) });
here(__LINE__, qr/^timeout must be numeric seconds/, 'fork->spawn timeout', sub { $fork->spawn(cmd => ['true'], timeout => 'x') });
here(__LINE__, qr/^cwd must be a string/, 'fork->spawn cwd', sub { $fork->spawn(cmd => ['true'], cwd => []) });
here(__LINE__, qr/^umask must be an integer/, 'fork->spawn umask', sub { $fork->spawn(cmd => ['true'], umask => 'x') });
here(__LINE__, qr/^umask out of range: 4096/, 'fork->spawn umask range', sub { $fork->spawn(cmd => ['true'], umask => 4096) });
here(__LINE__, qr/^env must be a hashref/, 'fork->spawn env', sub { $fork->spawn(cmd => ['true'], env => []) });
here(__LINE__, qr/^pipe_size must be a positive integer/, 'fork->spawn pipe_size', sub { $fork->spawn(cmd => ['true'], pipe_size => 0) });
here(__LINE__, qr/^unknown args: bogus/, 'fork->spawn unknown', sub { $fork->spawn(cmd => ['true'], bogus => 1) });
here(__LINE__, qr/^on_done is required/, 'fork->drain()', sub { $fork->drain });
here(__LINE__, qr/^on_done must be a coderef/, 'fork->drain on_done type', sub { $fork->drain(on_done => 1) });
here(__LINE__, qr/^unknown args: bogus/, 'fork->drain unknown', sub { $fork->drain(on_done => $cb, bogus => 1) });
here(__LINE__, qr/^cancel_queued predicate must be a coderef/, 'fork->cancel_queued(1)', sub { $fork->cancel_queued(1) });
here(__LINE__, qr/^unknown args: bogus/, 'Fork::Exit->new unknown', sub { Linux::Event::Fork::Exit->new(1, 0, bogus => 1) });

# ---- PerlIO::evloop::attach
here(__LINE__, qr/^PerlIO::evloop::attach: the first argument is not a file handle/, 'attach(1, loop)', sub { PerlIO::evloop::attach(1, $loop) });
here(__LINE__, qr/^PerlIO::evloop::attach: the handle has no :evloop layer/, 'attach(plain fh, loop)', sub { PerlIO::evloop::attach($r, $loop) });
here(__LINE__, qr/^PerlIO::evloop::attach: the second argument is not a Linux::Event loop/, 'attach(fh, 1)', sub { PerlIO::evloop::attach($ioloop, 1) });
here(__LINE__, qr/^PerlIO::evloop::attach: the second argument is not a Linux::Event loop/, 'attach(fh)', sub { PerlIO::evloop::attach($ioloop) });
here(__LINE__, qr/^PerlIO::evloop::attach: the handle is not open/, 'attach(closed fh, loop)', sub { PerlIO::evloop::attach($closed, $loop) });

# ---- methods called on something that is not their object (the XS type checks)
here(__LINE__, qr/^Linux::Event::Loop::run: no loop/, 'Loop::run without a loop', sub { Linux::Event::Loop::run() });
here(__LINE__, qr/^Linux::Event::Loop::run: not a loop/, 'Loop::run on a string', sub { Linux::Event::Loop::run('x') });
here(__LINE__, qr/^Linux::Event::Reactor: not a reactor engine/, 'Reactor::run on a plain object', sub { Linux::Event::Reactor::run(bless {}, 'Linux::Event::Reactor') });
here(__LINE__, qr/^not a Linux::Event::Watcher/, 'Watcher::cancel on a string', sub { Linux::Event::Watcher::cancel('x') });
here(__LINE__, qr/^not a Linux::Event::Operation/, 'Operation::cancel on a string', sub { Linux::Event::Operation::cancel('x') });
here(__LINE__, qr/^not a Linux::Event::Clock/, 'Clock::tick on a string', sub { Linux::Event::Clock::tick('x') });
here(__LINE__, qr/^not a Linux::Event::Stream object/, 'Stream::write on a string', sub { Linux::Event::Stream::write('x', 'y') });
here(__LINE__, qr/^not a Linux::Event::Wakeup/, 'Wakeup::signal on a string', sub { Linux::Event::Wakeup::signal('x') });
here(__LINE__, qr/^not a Linux::Event::Proactor/, 'Proactor::read on a string', sub { Linux::Event::Proactor::read('x', fh => $r, len => 1) });

# ---- from inside a callback the loop runs, and from a package of the program
here(__LINE__, qr/^cb is required/, 'after(1) inside a timer callback', sub { my $l = Linux::Event->new; $l->after(0, sub ($lp) { $lp->after(1) }); $l->run_once(1) });
here(__LINE__, qr/^fh is required/, 'watch() inside a timer callback', sub { my $l = Linux::Event->new; $l->after(0, sub ($lp) { $lp->watch(undef) }); $l->run_once(1) });
here(My::App::line_of('model'), qr/^unknown model 'nope'/, 'Loop->new from a sub of package My::App', sub { My::App::make_loop('nope') });
here(My::App::line_of('watch'), qr/^read must be a coderef or undef/, 'watch from a sub of package My::App', sub { My::App::watch_bad($loop, $r) });
here(My::App::line_of('attach'), qr/^PerlIO::evloop::attach: the second argument/, 'attach from a sub of package My::App', sub { My::App::attach_bad($ioloop) });
here(__LINE__, qr/^unknown model 'nope'/, 'a subclass of Linux::Event::Loop', sub { My::Loop->new(model => 'nope') });

# ---- the io_uring backend (its options, and what only its submit checks)
if (EvlTest::has('uring')) {
    here(__LINE__, qr/^queue_size must be a positive integer/, 'uring queue_size 0', sub { Linux::Event::Loop->new(model => 'proactor', backend => 'uring', queue_size => 0) });
    here(__LINE__, qr/^cqe_entries must be a positive integer/, 'uring cqe_entries x', sub { Linux::Event::Proactor->new(backend => 'uring', cqe_entries => 'x') });
    here(__LINE__, qr/^provided_buffer_size must be a power of two/, 'uring provided_buffer_size 3', sub { Linux::Event::Proactor->new(backend => 'uring', provided_buffer_size => 3) });
    here(__LINE__, qr/^submit_batch_size must be a positive integer/, 'uring submit_batch_size -1', sub { Linux::Event::Proactor->new(backend => 'uring', submit_batch_size => -1) });
    my $uloop = eval { Linux::Event::Loop->new(model => 'proactor', backend => 'uring') };
    if ($uloop) {
        here(__LINE__, qr/^fh is not an open file handle/, 'uring read from a string', sub { $uloop->read(fh => 'nope', len => 1) });
        here(__LINE__, qr/^fh is not an open file handle/, 'uring read from a closed fh', sub { $uloop->read(fh => $closed, len => 1) });
        here(__LINE__, qr/^flags must be non-negative/, 'uring recv flags -1', sub { $uloop->recv(fh => $r, len => 1, flags => -1) });
        here(__LINE__, qr/^Wide character in buf/, 'uring write wide chars', sub { $uloop->write(fh => $w, buf => "\x{263a}") });
        here(__LINE__, qr/^addr must be a packed socket address/, 'uring connect addr', sub { $uloop->connect(fh => $w, addr => '') });
        here(__LINE__, qr/^out_fh is not an open file handle/, 'uring splice out_fh', sub { $uloop->splice(in_fh => $r, out_fh => 'x', len => 1) });
    }
}

for my $case (@cases) {
    my ($line, $re, $what, $code) = @$case;
    my $ok  = eval { $code->(); 1 };
    my $err = $ok ? '(no error)' : "$@";
    ok(!$ok, "$what croaks");
    like($err, $re, "$what: the message");
    like($err, qr/ at \Q$file\E line $line\.(?:\n|, <[^>]*> (?:line|chunk) \d+\.\n)\z/,
        "$what: at the caller's line $line");
}

done_testing;

package My::App;
my %line;
sub line_of ($what) { return $line{$what} }
sub make_loop ($model) { BEGIN { $line{model} = __LINE__ + 1 }
    return Linux::Event::Loop->new(model => $model);
}
sub watch_bad ($l, $fh) { BEGIN { $line{watch} = __LINE__ + 1 }
    return $l->watch($fh, read => 'not code');
}
sub attach_bad ($fh) { BEGIN { $line{attach} = __LINE__ + 1 }
    return PerlIO::evloop::attach($fh, 'not a loop');
}

package My::Loop;
use parent -norequire, 'Linux::Event::Loop';
