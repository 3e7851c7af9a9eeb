# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# The Linux::Event front door and the Linux::Event::Loop facade.
use v5.36;
use Test::More;

use Linux::Event;
use Linux::Event::Loop;

sub dies_like ($code, $re, $name) {
	my $ok = eval { $code->(); 1 };
	ok(!$ok, "$name dies");
	like($@, $re, "$name message");
}

# Linux::Event->new defaults to a reactor; Loop->new does not.
my $loop = Linux::Event->new;
isa_ok($loop, 'Linux::Event::Loop');
is($loop->model, 'reactor', 'Linux::Event->new gives a reactor');
isa_ok($loop->impl, 'Linux::Event::Reactor');
is(ref($loop->{impl}), 'Linux::Event::Reactor', 'facade is a hash with impl');
is($loop->{model}, 'reactor', 'facade hash has model');
is($loop->backend_name, 'epoll', 'backend_name');

dies_like(sub { Linux::Event::Loop->new }, qr/^model is required and must be 'reactor' or 'proactor'/, 'no model');
dies_like(sub { Linux::Event::Loop->new(model => 'select') }, qr/^unknown model 'select'/, 'bad model');
dies_like(sub { Linux::Event::Loop->new(model => 'reactor', backend => 'poll') }, qr/^unknown backend 'poll'/, 'bad backend');
dies_like(sub { Linux::Event::Loop->new(model => 'reactor', foo => 1, bar => 2) }, qr/^unknown args: bar, foo/, 'unknown args sorted');

my $r = Linux::Event::Loop->new(model => 'reactor', backend => 'epoll');
ok($r->can($_), "facade can $_") for qw(watch read after run_once drain_callbacks);
dies_like(sub { $r->read(fh => \*STDIN, len => 1) }, qr/^loop model 'reactor' does not support read\(\)/, 'proactor method on reactor');
dies_like(sub { $r->live_op_count }, qr/^loop model 'reactor' does not support live_op_count\(\)/, 'live_op_count on reactor');

# Constants, on the facade, the engine and the backend.
for my $pkg (qw(Linux::Event::Loop Linux::Event::Reactor Linux::Event::Reactor::Backend::Epoll)) {
	no strict 'refs';
	is_deeply([ map { &{"${pkg}::$_"}() } qw(READABLE WRITABLE PRIO RDHUP ET ONESHOT ERR HUP) ],
		[ 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80 ], "$pkg constants");
}

# Accessors.
isa_ok($r->clock, 'Linux::Event::Clock');
isa_ok($r->timer, 'Linux::Event::Timer');
isa_ok($r->backend, 'Linux::Event::Reactor::Backend::Epoll');
is($r->backend->name, 'epoll', 'backend name');
isa_ok($r->sched, 'Linux::Event::Scheduler');
is($r->is_running, 0, 'is_running 0 outside run');
is_deeply([ $r->stop ], [], 'stop returns an empty list');

# Validation of pluggable parts.
{
	package t::NoTick;  sub new { bless {}, shift } sub now_ns { 0 } sub deadline_in_ns { 0 } sub remaining_ns { 0 }
	package t::NoFh;    sub new { bless {}, shift } sub after { 1 } sub disarm { 1 } sub read_ticks { 0 }
	package t::BadFh;   sub new { bless {}, shift } sub after { 1 } sub disarm { 1 } sub read_ticks { 0 } sub fh { no warnings 'once'; \*t::BadFh::NOPE }
	package t::NoRun;   sub new { bless {}, shift } sub watch { 1 } sub unwatch { 1 }
}
dies_like(sub { Linux::Event::Loop->new(model => 'reactor', clock => t::NoTick->new) }, qr/^clock missing method 'tick'/, 'clock check');
dies_like(sub { Linux::Event::Loop->new(model => 'reactor', timer => t::NoFh->new) }, qr/^timer missing method 'fh'/, 'timer check');
dies_like(sub { Linux::Event::Loop->new(model => 'reactor', timer => t::BadFh->new) }, qr/^timer fh has no fileno/, 'timer fh check');
dies_like(sub { Linux::Event::Loop->new(model => 'reactor', backend => t::NoRun->new) }, qr/^backend missing method 'run_once'/, 'backend check');

# Mock backend, clock and timer are accepted, returned by the accessors,
# and a stop() from a due callback keeps run_once from waiting.
{
	package t::MockClock;
	sub new { bless {}, shift } sub tick { return } sub now_ns { 0 }
	sub deadline_in_ns { int($_[1]) } sub remaining_ns { int($_[1]) }
	package t::MockTimer;
	sub new { pipe(my $r, my $w) or die; bless { fh => $r, w => $w }, shift }
	sub fh { $_[0]{fh} } sub after { 1 } sub disarm { 1 } sub read_ticks { 0 }
	package t::MockBackend;
	sub new { bless { calls => 0 }, shift } sub watch { 1 } sub unwatch { 1 }
	sub run_once { $_[0]{calls}++; die "backend wait entered after stop()" if !$_[1]{running}; 0 }
}
my ($be, $ck, $tm) = (t::MockBackend->new, t::MockClock->new, t::MockTimer->new);
my $m = Linux::Event::Loop->new(model => 'reactor', backend => $be, clock => $ck, timer => $tm);
is($m->backend, $be, 'custom backend kept');
is($m->clock, $ck, 'custom clock kept');
is($m->timer, $tm, 'custom timer kept');
is($m->backend_name, 't::MockBackend', 'backend_name falls back to the class');
$m->impl->{running} = 1;
my $fired = 0;
$m->sched->after_ns(0, sub ($loop) { $fired++; $loop->stop });
my $t0 = time;
ok(eval { $m->run_once(10); 1 }, 'run_once with a stop in a due callback') or diag $@;
cmp_ok(time - $t0, '<', 5, 'and it did not wait');
is($fired, 1, 'the due callback ran');
is($be->{calls}, 0, 'backend run_once never called');

# The facade forwards the watcher hooks.
pipe(my $pr, my $pw) or die;
my $w = $r->watch($pr, read => sub ($l, $fh, $w) { });
is($r->_watcher_update($w), 1, '_watcher_update on an active watcher');
is($r->_watcher_cancel($w), 1, '_watcher_cancel');
is($r->_watcher_update($w), 0, '_watcher_update on an inactive watcher');
is($r->_watcher_cancel($w), 0, '_watcher_cancel again');

done_testing;
