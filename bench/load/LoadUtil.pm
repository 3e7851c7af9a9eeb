# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# LoadUtil - what the load and soak scripts of bench/load share: fd and RSS
# readings from /proc, raising RLIMIT_NOFILE, and the verdict line.
package LoadUtil;
use v5.36;
use Carp qw(croak);
use Exporter qw(import);

our @EXPORT_OK = qw(nfds rss_kb raise_nofile verdict);

# Open fds of this process.
sub nfds () {
    opendir(my $d, '/proc/self/fd') or croak "nfds: /proc/self/fd: $!";
    my @f = grep { !/^\.\.?$/ } readdir $d;
    return scalar(@f) - 1;    # the directory handle itself
}

# Resident set size in kB.
sub rss_kb () {
    open(my $f, '<', '/proc/self/status') or croak "rss_kb: /proc/self/status: $!";
    while (<$f>) { return $1 if /^VmRSS:\s+(\d+)/ }
    return 0;
}

# Raises the soft RLIMIT_NOFILE to the hard limit (prlimit(1), util-linux:
# core Perl has no setrlimit) and returns the soft limit now in force.
sub raise_nofile () {
    my ($soft, $hard) = nofile();
    if ($soft ne $hard) {
        system('prlimit', "--pid=$$", "--nofile=$hard:$hard") == 0
            or warn "raise_nofile: prlimit failed; the soft limit stays $soft\n";
        ($soft, $hard) = nofile();
    }
    return $soft eq 'unlimited' ? 1 << 20 : $soft;
}

sub nofile () {
    open(my $f, '<', '/proc/self/limits') or croak "raise_nofile: /proc/self/limits: $!";
    while (<$f>) { return ($1, $2) if /^Max open files\s+(\S+)\s+(\S+)/ }
    croak 'raise_nofile: no "Max open files" in /proc/self/limits';
}

# Prints the checks and exits: 0 if all held, 1 otherwise.
sub verdict ($name, @checks) {
    my $bad = 0;
    for my $c (@checks) {
        my ($ok, $what) = @$c;
        printf "%s: %s %s\n", $name, $ok ? 'ok  ' : 'FAIL', $what;
        $bad++ unless $ok;
    }
    exit($bad ? 1 : 0);
}

1;
