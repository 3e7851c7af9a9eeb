# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Children start with no loop signal blocked also when the program was
# compiled before Linux::Event was loaded, as a program switched to the
# loop by PERL_ANYEVENT_MODEL, MOJO_REACTOR or IO_ASYNC_LOOP is: its
# system, exec and fork ops were compiled before the loop wrapped them,
# and their children inherited SIGTERM blocked (a supervisor's
# kill TERM => $pid was ignored).
#
# A child perl compiles system, exec and fork in the main program, a
# named sub and an anonymous sub, then requires Linux::Event, blocks TERM
# and USR1 through a subscription, and runs them; each child writes its
# SigBlk line to a file.
use v5.36;
use Test::More;
use File::Temp ();

my $dir    = File::Temp->newdir;
my $script = <<'EOF';
use v5.36;
use POSIX ();
my $out = shift;

sub sigblk () {
    open(my $s, '<', '/proc/self/status') or die "status: $!";
    return join '', grep {/^SigBlk/} <$s>;
}
sub named_system ($f) { system("grep SigBlk /proc/self/status > $f") == 0 or die "system: $?" }
my $anon_system = sub ($f) { system("grep SigBlk /proc/self/status > $f") == 0 or die "system: $?" };
sub named_exec ($f) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open(STDOUT, '>', $f) or POSIX::_exit(1);
        { no warnings 'exec'; exec 'grep', 'SigBlk', '/proc/self/status' }
        POSIX::_exit(2);
    }
    waitpid($pid, 0);
}
sub named_fork ($f) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open(my $o, '>', $f) or POSIX::_exit(1);
        print {$o} sigblk();
        close $o;
        POSIX::_exit(0);
    }
    waitpid($pid, 0);
}

require Linux::Event;    # late: everything above is compiled already
my $loop = Linux::Event->new;
my $sub  = $loop->signal_subscribe([qw(TERM USR1)], sub { });
print "parent ", sigblk();
named_system("$out/named-system");
$anon_system->("$out/anon-system");
named_exec("$out/exec");
named_fork("$out/fork");
system("grep SigBlk /proc/self/status > $out/main-system") == 0 or die "system: $?";
EOF

my $inc  = join ' ', map { "-I'$_'" } grep { !ref } @INC;
my $path = "$dir/late.pl";
open(my $fh, '>', $path) or die "$path: $!";
print {$fh} $script;
close $fh;
my $parent = qx{"$^X" $inc "$path" "$dir" 2>&1};
is($?, 0, 'the program ran') or diag($parent);
like($parent, qr/^parent SigBlk:\s*0*[1-9a-f]/m, 'the loop blocked its signals in the program');

for my $case (qw(named-system anon-system exec fork main-system)) {
    my $got = '(no output)';
    if (open(my $f, '<', "$dir/$case")) { local $/; $got = <$f> }
    like($got, qr/^SigBlk:\s*0+$/m, "$case: the child has nothing blocked");
}

done_testing;
