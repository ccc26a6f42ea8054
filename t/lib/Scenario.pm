package t::lib::Scenario;

# Helpers for plain Test::More scenario tests (t/9xx-*.t) that a data-driven
# block cannot express: concurrent clients, PostgreSQL stopped and started
# under a running nginx, configuration reloads. nginx.conf is written by the
# same code as the block runner's (t::harness::Server), with the suite's
# defaults of t::lib::Users, so a scenario runs the module configured
# exactly as the blocks do, in the same server root and on the same port.
#
#   use Test::More;
#   use t::lib::Scenario;
#   start_nginx(master => 1, workers => 2);     # sections default as in t::lib::Users
#   my ($status, $headers, $body) = http_request(GET => '/healthz');
#   my @statuses = concurrent_requests(20, sub { (http_request(GET => '/readyz'))[0] });
#   pg_ctl('stop'); ...; pg_ctl('start');
#   nginx_reload();
#   done_testing();

use strict;
use warnings;

use Exporter 'import';
use JSON::PP ();
use POSIX ();

use t::harness::Client;
use t::harness::Server;
use t::lib::Users ();

our @EXPORT = qw(
    start_nginx nginx_reload nginx_stop http_request concurrent_requests
    error_log_text pg_ctl json_decode time_factor nginx_pid nginx_workers
    start_peer http_request_on in_background wrk_run lock_users
);

my @SECTIONS = qw(main_config http_config config post_main_config);

my $Server;      # the running nginx
my %Sections;    # its configuration and whether t::lib::Users' defaults were
my $Defaults;    # added to it, kept for nginx_reload
my $Owner = $$;  # forked clients must not stop nginx when they exit
my @Peers;       # the other instances of start_peer

# start_nginx(%options): a fresh server root and nginx. Options: the
# sections main_config, http_config, config, post_main_config (text, as in
# a block; t::lib::Users' defaults are added unless defaults => 0), master
# (master_process on), workers, log_level.
sub start_nginx {
    my (%opt) = @_;
    nginx_stop();
    $Defaults = delete $opt{defaults} // 1;
    %Sections = map { $_ => delete $opt{$_} } grep { exists $opt{$_} } @SECTIONS;
    t::lib::Users::add_defaults(\%Sections) if $Defaults;
    # t::lib::Users' router brings its own "location /"
    $Server = t::harness::Server->new(root_location => !$Defaults, %opt);
    # as both harnesses' run_tests() do, which a scenario never calls: its
    # own clients (raw sockets, scripts/openapi-check.pl) find nginx there
    # when TEST_NGINX_PORT moves it off 1984
    $ENV{TEST_NGINX_SERVER_PORT} //= $Server->port;
    $Server->prepare(%Sections);
    $Server->start;
}

# nginx_reload(%sections): HUP, with the given sections replacing the
# running ones (and the defaults added as by start_nginx); returns once the
# new workers run, dies when nginx rejects the configuration. Needs
# start_nginx(master => 1).
sub nginx_reload {
    my (%new) = @_;
    die "nginx_reload: start_nginx first\n" unless $Server;
    if (%new) {
        %Sections = (%Sections, %new);
        t::lib::Users::add_defaults(\%Sections) if $Defaults;
        $Server->write_conf(%Sections);
    }
    $Server->reload;
}

sub nginx_stop {
    for my $server (grep { defined } $Server, splice @Peers) {
        my $res = $server->stop($0);
        die "nginx process $res->{gone} had died before it was stopped (crashed?)\n"
            if $res->{gone};
    }
}

# start_peer(%options): one more nginx instance on the same database and
# secret, the way a second pod runs: its own server root and port (the
# suite's port + 1, + 2, ...), configured as start_nginx's options say
# (the same ones). Call start_nginx first; nginx_stop stops both. Returns
# the instance, for http_request_on.
sub start_peer {
    my (%opt) = @_;
    die "start_peer: start_nginx first\n" unless $Server;
    my $defaults = delete $opt{defaults} // 1;
    my %sections = map { $_ => delete $opt{$_} } grep { exists $opt{$_} } @SECTIONS;
    t::lib::Users::add_defaults(\%sections) if $defaults;
    my $n = @Peers + 1;
    my $peer = t::harness::Server->new(root_location => !$defaults,
        root => "$t::harness::Server::DefaultRoot-peer$n",
        port => $Server->port + $n, client_port => $Server->port + $n, %opt);
    $peer->prepare(%sections);
    $peer->start;
    push @Peers, $peer;
    return $peer;
}

# http_request_on($instance, ...): http_request to another instance
sub http_request_on {
    my ($server, @args) = @_;
    return request_to($server, @args);
}

# http_request($method, $path, \%headers, $body): one HTTP/1.1 request on
# its own connection (Connection: close). $body is bytes; Content-Length is
# added for it. Returns ($status, \%headers (lower-case names, repeated ones
# joined with ", "), $body, $error); $status is undef and $error says why
# when no response came.
sub http_request {
    die "http_request: start_nginx first\n" unless $Server;
    return request_to($Server, @_);
}

sub request_to {
    my ($server, $method, $path, $headers, $body) = @_;
    my %given = map { lc $_ => 1 } keys %{ $headers || {} };
    my $req = "$method $path HTTP/1.1\r\n";
    $req .= "Host: localhost\r\n" unless $given{host};
    $req .= "Connection: close\r\n" unless $given{connection};
    $req .= "$_: $headers->{$_}\r\n" for sort keys %{ $headers || {} };
    $req .= 'Content-Length: ' . length($body) . "\r\n" if defined $body;
    $req .= "\r\n" . ($body // '');

    my $r = t::harness::Client::exchange(port => $server->client_port, data => $req,
        timeout => $ENV{TEST_NGINX_TIMEOUT} || 3);
    my $res = t::harness::Client::parse_response($r->{raw}, $method eq 'HEAD');
    my %h;
    for (@{ $res->{headers} }) {
        my $name = lc $_->[0];
        $h{$name} = defined $h{$name} ? "$h{$name}, $_->[1]" : $_->[1];
    }
    my $error = $r->{error} // ($r->{timed_out} ? 'client socket timed out' : $res->{error});
    return ($res->{status}, \%h, $res->{body}, $error);
}

# concurrent_requests($n, sub { my ($i) = @_; ...; return $value }): runs
# the sub in $n forked processes released at the same moment, and returns
# their return values (scalars or JSON-able data), in order of $i. The sub
# must not run Test::More checks: return what is to be checked.
sub concurrent_requests {
    my ($n, $code) = @_;
    my $json = JSON::PP->new->allow_nonref;
    pipe my $go_read, my $go_write or die "pipe: $!\n";
    my @children;
    for my $i (0 .. $n - 1) {
        pipe my $read, my $write or die "pipe: $!\n";
        my $pid = fork // die "fork: $!\n";
        if ($pid == 0) {
            close $read;
            close $go_write;
            sysread $go_read, my $byte, 1;    # EOF once all are forked
            my $value = eval { $code->($i) };
            print $write $json->encode($@ ? { error => "$@" } : { value => $value });
            close $write;
            POSIX::_exit(0);    # no END blocks, no Test::Builder ending
        }
        close $write;
        push @children, [$pid, $read];
    }
    close $go_read;
    close $go_write;
    my @values;
    for my $i (0 .. $#children) {
        my ($pid, $read) = @{ $children[$i] };
        my $out = do { local $/; <$read> };
        waitpid $pid, 0;
        die "concurrent_requests: client $i died without a result\n" unless length $out;
        my $result = $json->decode($out);
        die "concurrent_requests: client $i: $result->{error}" if exists $result->{error};
        push @values, $result->{value};
    }
    return @values;
}

# in_background(sub { ...; return $value }): runs the sub in a child and
# returns a sub that waits for it and returns what it returned (JSON-able),
# so that the parent can act meanwhile (reload, signal, stop PostgreSQL).
sub in_background {
    my ($code) = @_;
    pipe my $read, my $write or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $read;
        my $value = eval { $code->() };
        print $write JSON::PP->new->canonical->encode(
            $@ ? { error => "$@" } : { value => $value });
        close $write;
        POSIX::_exit(0);
    }
    close $write;
    return sub {
        my $out = do { local $/; <$read> };
        waitpid $pid, 0;
        my $r = json_decode($out || '{"error":"no result"}');
        die "background job: $r->{error}" if exists $r->{error};
        return $r->{value};
    };
}

# wrk_run($seconds, $path, @headers): wrk (2 threads, 8 connections) on
# $path in the background; the returned sub waits for it and returns
# {requests, non2xx, connect, read, write, timeout, out}.
sub wrk_run {
    my ($seconds, $path, @headers) = @_;
    my $port = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
    my @cmd = ('wrk', '-t2', '-c8', "-d${seconds}s",
               '--timeout', 3 * time_factor() . 's',
               map({ ('-H', $_) } @headers), "http://127.0.0.1:$port$path");
    return in_background(sub {
        my $out = `@{[ join ' ', map { "'$_'" } @cmd ]} 2>&1`;
        my %r = (out => $out, requests => 0, non2xx => 0, connect => 0,
                 read => 0, write => 0, timeout => 0);
        $r{requests} = $1 if $out =~ /(\d+) requests in/;
        $r{non2xx} = $1 if $out =~ /Non-2xx or 3xx responses: (\d+)/;
        @r{qw(connect read write timeout)} = ($1, $2, $3, $4)
            if $out =~ /connect (\d+), read (\d+), write (\d+), timeout (\d+)/;
        return \%r;
    });
}

# lock_users($seconds): a psql session holding an exclusive lock on users
# for that long, in the background; statements reading users, and the
# PREPAREs of a new connection, wait for it. Returns its pid to waitpid.
sub lock_users {
    my ($seconds) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        # if exec fails, no exit: END blocks belong to the parent
        { exec 'psql', $ENV{TEST_NGINX_PG_CONNINFO}, '-X', '-q', '-c',
              "BEGIN; LOCK TABLE users; SELECT pg_sleep($seconds); COMMIT;" }
        POSIX::_exit(1);
    }
    select undef, undef, undef, 0.3;    # let it take the lock
    return $pid;
}

sub error_log_text {
    die "error_log_text: start_nginx first\n" unless $Server;
    return ($Server->read_log(0))[0];
}

# pg_ctl('stop' | 'start'): the test cluster of $TEST_NGINX_PG_DIR, through
# scripts/pg.sh (run from the project root, as prove is). Returns its output.
sub pg_ctl {
    my ($cmd) = @_;
    die "pg_ctl: 'start' or 'stop'\n" unless ($cmd // '') =~ /^(?:start|stop)$/;
    my $dir = $ENV{TEST_NGINX_PG_DIR} // die "pg_ctl: TEST_NGINX_PG_DIR is not set\n";
    open my $out, '-|', 'scripts/pg.sh', $cmd, $dir
        or die "pg_ctl: cannot run scripts/pg.sh: $!\n";
    my $text = do { local $/; <$out> } // '';
    close $out or die "pg_ctl: scripts/pg.sh $cmd failed (status $?)\n";
    return $text;
}

# The master's pid, from its pid file. nginx listens before it writes the
# file (and under valgrind well before), so this waits for it; undef when
# it does not come.
sub nginx_pid {
    my $pid;
    t::harness::Server::poll_until(sub { $pid = $Server && $Server->pid },
                                   5 * time_factor());
    return $pid;
}

# nginx_workers($n): the workers' pids, sorted, once there are $n of them
# (any number for 0); needs start_nginx(master => 1).
sub nginx_workers {
    my ($n) = @_;
    my @pids;
    # a worker just forked may not have its title yet (and under valgrind
    # it never shows one: there every child of the master is a worker)
    t::harness::Server::poll_until(sub {
        my $master = nginx_pid() // return 0;
        @pids = sort { $a <=> $b }
            grep { $ENV{TEST_NGINX_USE_VALGRIND}
                   || (t::harness::Server::read_file("/proc/$_/cmdline") // '')
                      =~ /worker process/ }
            t::harness::Server::children($master);
        !$n || @pids == $n
    }, 5 * time_factor());
    return @pids;
}

# How many times slower than usual nginx runs (scripts/valgrind.sh and
# scripts/mockeagain.sh set TEST_NGINX_TIME_FACTOR): timing checks and
# timeouts a scenario configures are multiplied by it.
sub time_factor {
    my $f = $ENV{TEST_NGINX_TIME_FACTOR};
    return defined $f && $f =~ /^\d+(?:\.\d+)?$/ && $f > 0 ? $f : 1;
}

sub json_decode {
    my ($text) = @_;
    return JSON::PP->new->utf8->allow_nonref->decode($text);
}

END {
    if ($$ == $Owner && !$ENV{TEST_NGINX_NO_CLEAN}) {
        local $?;    # keep Test::Builder's exit status
        $_->stop($0) for grep { defined } $Server, @Peers;
    }
}

1;
