package t::harness::Server;

# One nginx instance under a private server root, the way openresty's
# Test::Nginx runs it: the nginx.conf
# layout, the server root's life cycle, start, stop by pid, reload, and the
# error log. Both the local Test::Nginx::Socket runner and t::lib::Scenario use
# it, so a block and a scenario run nginx with the same nginx.conf.
#
# Loaded as t::harness::Server, i.e. through "-I." (the project root), so
# that t::lib::Scenario finds it even when the real Test::Nginx is installed and
# t/harness is not on @INC.

use strict;
use warnings;

use File::Basename ();
use File::Path ();
use File::Spec ();
use POSIX ();
use Time::HiRes ();

# Like the real harness, the server root is known (and exported) as soon as
# the harness is loaded, so a test's Perl header can already use it.
our $DefaultRoot = File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT} || 't/servroot');
$ENV{TEST_NGINX_SERVER_ROOT} = $DefaultRoot;

my %OPTION = map { $_ => 1 } qw(
    root binary port client_port workers master worker_connections log_level
    env root_location stop_timeout sleep valgrind valgrind_report
);

# valgrind report files already truncated by this process
my %ReportStarted;

sub new {
    my ($class, %opt) = @_;
    my @bad = grep { !$OPTION{$_} } sort keys %opt;
    die "t::harness::Server: unknown option(s) @bad\n" if @bad;

    my $user = $ENV{TEST_NGINX_WORKER_USER};
    die "bad TEST_NGINX_WORKER_USER \"$user\"\n"
        if defined $user && $user !~ /^\w+(?:\s+\w+)?$/;

    my $port = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
    my $self = bless {
        root               => $DefaultRoot,
        binary             => $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx',
        port               => $port,
        client_port        => $ENV{TEST_NGINX_CLIENT_PORT} || $port,
        workers            => 1,
        master             => ($ENV{TEST_NGINX_MASTER_PROCESS} // '') eq 'on',
        worker_connections => 64,
        log_level          => $ENV{TEST_NGINX_LOG_LEVEL} || 'debug',
        env                => [],
        root_location      => 1,
        stop_timeout       => $ENV{TEST_NGINX_TIMEOUT} || 3,
        sleep              => $ENV{TEST_NGINX_SLEEP} || 0.015,
        valgrind           => $ENV{TEST_NGINX_USE_VALGRIND},
        %opt,
    }, $class;
    $self->{valgrind_report} //= $ENV{TEST_NGINX_VALGRIND_REPORT}
        // "$self->{root}_valgrind/" . File::Basename::basename($0) . '.log';
    $self->{user} = $user // ($> == 0 ? 'root' : undef);
    return $self;
}

sub port        { $_[0]{port} }
sub client_port { $_[0]{client_port} }
sub sleep_time  { $_[0]{sleep} }
sub error_log   { "$_[0]{root}/logs/error.log" }
sub pid_file    { "$_[0]{root}/logs/nginx.pid" }

# Replaces every $TEST_NGINX_NAME by that environment variable. An
# undefined one is an error, as in the real harness (which bails out).
sub expand_env {
    my ($text) = @_;
    return $text unless defined $text;
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        $ENV{$1} // die "No environment $1 defined.\n"
    }ge;
    return $text;
}

# The whole nginx.conf for the given sections (main_config, http_config,
# config, post_main_config) and log level; spec section 7, line for line.
sub conf_text {
    my ($self, %s) = @_;
    my $root = $self->{root};
    my $level = $s{log_level} // $self->{log_level};

    # load_module lines first: a main_config directive may belong to them
    my @modules = grep { length } split /\s+/, $ENV{TEST_NGINX_LOAD_MODULES} // '';
    my $main = @modules ? join(' ', map { "load_module $_;" } @modules) . "\n" : '';
    my %text = (
        main_config      => expand_env($main . ($s{main_config} // '')),
        map { $_ => expand_env($s{$_} // '') }
            qw(http_config config post_main_config),
    );

    # under valgrind nginx stays in the foreground, as our child
    my $daemon = $self->{valgrind} ? 'off' : 'on';
    my $master = $self->{master} ? 'on' : 'off';
    my $env = join '', map { my $v = /\s/ ? "'$_'" : $_; "env $v;\n" }
        @{ $self->{env} };
    my $root_location = !$self->{root_location} ? '' : <<"_EOC_";
        location / {
            root $root/html;
            index index.html index.htm;
        }
_EOC_
    my $user = defined $self->{user} ? "user $self->{user};\n" : '';

    return <<"_EOC_";
worker_processes  $self->{workers};
daemon $daemon;
master_process $master;
error_log $root/logs/error.log $level;
pid       $root/logs/nginx.pid;
env MOCKEAGAIN_VERBOSE;
env MOCKEAGAIN;
env MOCKEAGAIN_WRITE_TIMEOUT_PATTERN;
env LD_PRELOAD;
env LD_LIBRARY_PATH;
env DYLD_INSERT_LIBRARIES;
env DYLD_FORCE_FLAT_NAMESPACE;
$env
$text{main_config}

http {
    access_log $root/logs/access.log;

    client_body_temp_path $root/client_body_temp;
    proxy_temp_path $root/proxy_temp;
    fastcgi_temp_path $root/fastcgi_temp;
    scgi_temp_path $root/scgi_temp;
    uwsgi_temp_path $root/uwsgi_temp;

    default_type text/plain;
    keepalive_timeout  68000ms;

$text{http_config}

    server {
        listen          $self->{port};
        server_name     'localhost';

        client_max_body_size 30M;

$text{config}

$root_location    }
}

$text{post_main_config}

events {
    accept_mutex off;
    worker_connections  $self->{worker_connections};
}
env ASAN_OPTIONS;
env MOCKNOEAGAIN_VERBOSE;
env MOCKNOEAGAIN;
$user
_EOC_
}

# A fresh server root with nginx.conf for these sections (see conf_text),
# after stopping any nginx still running there. Only the folders the
# harness creates are removed; anything else left in the root (a file a
# test wrote there) is an error, as in the real harness.
sub prepare {
    my ($self, %sections) = @_;
    my $root = $self->{root};
    # an nginx left running (TEST_NGINX_NO_CLEAN, an interrupted run)
    $self->stop('nginx left running') if -f $self->pid_file;
    if (-d $root) {
        File::Path::remove_tree(map({ "$root/$_" } qw(conf html logs)),
            glob("$root/*_temp"), glob("$root/*_cache"));
        rmdir $root or die "Can't remove $root (not empty?): $!\n";
    }
    for my $dir ($root, map { "$root/$_" } qw(logs html conf)) {
        mkdir $dir or die "mkdir $dir: $!\n";
    }
    write_file("$root/html/index.html", '<html><head><title>It works!'
        . '</title></head><body>It works!</body></html>');
    $self->write_conf(%sections);
}

sub write_conf {
    my ($self, %sections) = @_;
    write_file("$self->{root}/conf/nginx.conf", $self->conf_text(%sections));
}

# Runs nginx once. Returns its wait status, which is 0 once the daemon has
# forked (it listens by then); under valgrind nginx stays our child and 0
# only means it was launched.
sub launch {
    my $self = shift;
    my $root = $self->{root};
    # checked here: from the child, a failed exec would look like an exit
    # status, which a must_die block would take for success
    die "cannot run the nginx binary $self->{binary}\n" unless -f $self->{binary} && -x _;
    my @cmd = ($self->{binary}, '-e', "$root/logs/error.log",
        '-p', "$root/", '-c', "$root/conf/nginx.conf");
    unshift @cmd, $self->valgrind_command if $self->{valgrind};
    $self->{command} = "@cmd";

    my $pid = fork // die "fork: $!\n";
    if ($pid == 0) {
        # stderr is kept for the start-failure message
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', "$root/logs/nginx.stderr";
        # own process group, so that a stuck nginx and its workers can be
        # killed at once (a daemon gets its own session anyway)
        setpgrp;
        exec { $cmd[0] } @cmd
            or print STDERR "cannot run $cmd[0]: $!\n";
        POSIX::_exit(127);
    }
    if ($self->{valgrind}) {
        $self->{child} = $pid;
        return 0;
    }
    waitpid $pid, 0;
    my $status = $?;
    # the daemon writes its pid file just after its parent exits; without
    # it, the nginx could not be stopped
    poll_until(sub { defined $self->pid }, 5) if $status == 0;
    return $status;
}

sub valgrind_command {
    my $self = shift;
    my $report = $self->{valgrind_report};
    if (!$ReportStarted{$report}++) {
        File::Path::make_path(File::Basename::dirname($report));
        write_file($report, '');
    }
    my @cmd = ('valgrind', '-q', '--num-callers=100',
        "--log-file=$self->{root}/logs/valgrind.%p.log");
    if ($self->{valgrind} =~ /^\d+$/) {
        push @cmd, qw(--tool=memcheck --leak-check=full
            --show-possibly-lost=no --gen-suppressions=all);
        push @cmd, '--suppressions=' . File::Spec->rel2abs('valgrind.suppress')
            if -f 'valgrind.suppress';
    } else {
        push @cmd, split ' ', $self->{valgrind};
    }
    return @cmd;
}

# Starts nginx and returns once it listens; dies with nginx's own messages
# when it does not start.
sub start {
    my $self = shift;
    my $status = $self->launch;
    die $self->start_failure("exited with status " . ($status >> 8)
        . ($status & 127 ? ", signal " . ($status & 127) : ''))
        if $status;
    $self->wait_listening;
}

# Polls the kernel's socket table rather than connecting: a probe
# connection would add its own lines to error.log.
sub wait_listening {
    my $self = shift;
    my $exited;
    my $listening = poll_until(sub {
        return 1 if $self->listening;
        if ($self->{child}) {
            $exited = 'exited under valgrind'
                if waitpid($self->{child}, POSIX::WNOHANG()) == $self->{child};
        } elsif (defined(my $pid = $self->pid)) {
            $exited = "process $pid exited right after starting" unless running($pid);
        }
        return $exited;
    }, $self->{valgrind} ? 120 : 10);
    die $self->start_failure($exited // "does not listen on port $self->{port}")
        if !$listening || $exited;
}

# Calls $done with short, growing sleeps until it returns true (then
# returns that) or $timeout seconds have passed (then returns false).
sub poll_until {
    my ($done, $timeout) = @_;
    my $deadline = Time::HiRes::time() + $timeout;
    my $step = 0.001;
    while (1) {
        my $result = $done->();
        return $result if $result || Time::HiRes::time() > $deadline;
        Time::HiRes::sleep($step);
        $step = $step * 2 > 0.05 ? 0.05 : $step * 2;
    }
}

sub listening {
    my $self = shift;
    my $port = sprintf '%04X', $self->{port};
    for my $table ('/proc/net/tcp', '/proc/net/tcp6') {
        open my $in, '<', $table or next;
        while (<$in>) {
            # local address :port, remote address, state 0A = LISTEN
            return 1 if /^\s*\d+:\s+[0-9A-F]+:$port\s+\S+\s+0A\s/;
        }
    }
    return 0;
}

# nginx prints its start-up errors on stderr and in the -e log; the log has
# them too when nginx died after daemonizing.
sub start_failure {
    my ($self, $what) = @_;
    my @lines = grep { length } split /\n/,
        read_file("$self->{root}/logs/nginx.stderr") // '';
    @lines = grep { /\[(?:emerg|alert|crit)\]/ }
        split /\n/, read_file($self->error_log) // '' unless @lines;
    splice @lines, 0, @lines - 10 if @lines > 10;
    my $first = @lines ? shift @lines : 'no message';
    return join "\n", "nginx $what: $first", "command: $self->{command}", @lines, '';
}

sub pid {
    my $self = shift;
    my $pid = read_file($self->pid_file) // return undef;
    return $pid =~ /^(\d+)\s*$/ ? $1 : undef;
}

# Alive and not a zombie: the daemon is reparented to a PID 1 that may
# never reap it.
sub running {
    my ($pid) = @_;
    return 0 unless kill 0, $pid;
    my $stat = read_file("/proc/$pid/stat") // return 1;
    return $stat !~ /\)\s+Z\s/;
}

# Stops nginx by its pid: QUIT, then KILL of its process group when it
# does not quit in time.
# Returns { gone => pid } when nginx had died before (a crash), and
# { valgrind => report } when valgrind reported something; the report is
# also printed and appended to the valgrind report file, under $label.
sub stop {
    my ($self, $label) = @_;
    my $child = delete $self->{child};
    my $pid = $self->pid // $child;
    my %res;
    if (defined $pid && !running($pid)) {
        # nginx removes its pid file when it exits normally
        $res{gone} = $pid if -f $self->pid_file;
    } elsif (defined $pid) {
        my $wait = $self->{valgrind} ? 60 : $self->{stop_timeout};
        # nginx looks at the signal's flag only after its event loop wakes
        # up: a QUIT that came before its first epoll_wait() would wait for
        # the next event, so it is sent again every 100 ms
        my $sent = 0;
        my $gone = poll_until(sub {
            reap($child);
            return 1 unless running($pid);
            my $now = Time::HiRes::time();
            if ($now - $sent >= 0.1) {
                kill 'QUIT', $pid;
                $sent = $now;
            }
            return 0;
        }, $wait);
        if (!$gone) {
            warn "WARNING: $label - nginx $pid did not quit within ${wait}s; killing it\n";
            kill 'KILL', getpgrp($pid) == $pid ? -$pid : $pid;
            poll_until(sub { reap($child); !running($pid) }, 1);
        }
    }
    waitpid $child, 0 if defined $child;
    unlink $self->pid_file;
    my $report = $self->valgrind_report($label);
    $res{valgrind} = $report if length $report;
    return \%res;
}

# our own child (nginx under valgrind) is a zombie until reaped
sub reap {
    my ($child) = @_;
    waitpid $child, POSIX::WNOHANG() if defined $child;
}

sub valgrind_report {
    my ($self, $label) = @_;
    my $report = '';
    for my $file (sort glob "$self->{root}/logs/valgrind.*.log") {
        my $text = read_file($file) // next;
        $report .= $text if $text =~ /\S/;
    }
    return '' unless length $report;
    warn "WARNING: $label - valgrind report:\n$report";
    open my $out, '>>', $self->{valgrind_report}
        or die "cannot append to $self->{valgrind_report}: $!\n";
    print $out "=== $label\n$report";
    close $out;
    return $report;
}

# Reloads the configuration with HUP and returns once only the new
# configuration is served: the master runs as many new workers as
# configured, and every old worker is gone or shutting down (it has closed
# the listening sockets by then, and says so in its process title). Dies
# when nginx rejects the new configuration. Needs master_process on.
sub reload {
    my $self = shift;
    die "reload needs master_process on\n" unless $self->{master};
    my $pid = $self->pid // die "nginx is not running\n";
    my @old = children($pid);
    my $log_pos = -s $self->error_log // 0;
    kill 'HUP', $pid;
    my $timeout = $self->{valgrind} ? 60 : 10;
    my $rejected;
    my $done = poll_until(sub {
        my ($log) = $self->read_log($log_pos);
        return $rejected = $1 if $log =~ /^(.*\[emerg\].*)$/m;
        die "nginx master $pid is gone\n" unless running($pid);
        my %old = map { $_ => 1 } @old;
        return grep({ !$old{$_} } children($pid)) >= $self->{workers}
            && !grep { running($_) && (read_file("/proc/$_/cmdline") // '')
                !~ /shutting down/ } @old;
    }, $timeout);
    die "nginx rejected the new configuration: $rejected\n" if $rejected;
    die "nginx did not switch to the new configuration within $timeout s\n"
        unless $done;
}

sub children {
    my ($ppid) = @_;
    my @pids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        my $text = read_file($stat) // next;
        # pid (comm) state ppid ...; comm may hold spaces and parentheses
        push @pids, $1 if $text =~ /^(\d+) .*\) \S+ (\d+) /s && $2 == $ppid;
    }
    return @pids;
}

# The error log from byte offset $from: (text, offset after it).
sub read_log {
    my ($self, $from) = @_;
    open my $in, '<', $self->error_log or return ('', $from);
    seek $in, $from, 0;
    local $/;
    my $text = <$in> // '';
    return ($text, $from + length $text);
}

sub read_file {
    my ($path) = @_;
    open my $in, '<', $path or return undef;
    local $/;
    return scalar <$in>;
}

sub write_file {
    my ($path, $text) = @_;
    open my $out, '>', $path or die "cannot write $path: $!\n";
    print $out $text;
    close $out or die "cannot write $path: $!\n";
}

1;
