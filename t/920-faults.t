# Fault injection: PostgreSQL killed or frozen under a running nginx,
# clients that leave, dawdle or send more than they declared, reloads and
# graceful stops under wrk, a worker killed. (An exhausted pool is
# t/900-pool.t's.) Every subtest ends with the same checks: no worker
# crashed and nothing was logged at alert level or above, except the
# crash a subtest caused on purpose.
use strict;
use warnings;
use Test::More;
use IO::Select ();
use IO::Socket::INET ();
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(time sleep);
use t::lib::Scenario;
use t::lib::Fixtures;
use t::harness::Server ();

my $port = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
my $pgdata = ($ENV{TEST_NGINX_PG_DIR} // die "run through scripts/test.sh\n")
    . '/data';

my $alice = users_fixture(email => 'fault-alice@example.com', name => 'Alice');
my $bob = users_fixture(email => 'fault-bob@example.com', name => 'Bob');
my %alice = (Authorization => 'Bearer ' . users_token($alice));
my %bob = (Authorization => 'Bearer ' . users_token($bob));
my $json = { 'Content-Type' => 'application/json' };

# timeouts and time limits, scaled for slow runs (valgrind, mockeagain)
my $F = time_factor();
sub ms { int($_[0] * $F * 1000) . 'ms' }

# a held request waits for the lock, then behind wrk's for the one
# connection: on a busy machine that is more than the clients' default 3 s
# (the server's own limits, queue_timeout and the query timeout, are what
# is under test, and they answer 503 long before this)
$ENV{TEST_NGINX_TIMEOUT} //= 10 * $F;

# the database must be back whatever happens to this file
END {
    local $?;
    if (my @pids = pg_pids()) {
        kill 'CONT', @pids;
    } else {
        eval { pg_ctl('start') };
    }
}

# The postmaster and every process it started.
sub pg_pids {
    open my $in, '<', "$pgdata/postmaster.pid" or return ();
    my ($pid) = <$in> =~ /(\d+)/;
    return () unless $pid && kill 0, $pid;
    return ($pid, t::harness::Server::children($pid));
}

# Nothing crashed, nothing at alert level, but what the caller expects.
sub no_alerts {
    my ($what, $allowed) = @_;
    my @bad = grep { /\[(alert|crit|emerg)\]|exited on signal/ }
        split /\n/, error_log_text();
    @bad = grep { !/$allowed/ } @bad if $allowed;
    ok(!@bad, "$what: no crash, no alert in the error log")
        or diag join "\n", @bad[0 .. ($#bad < 4 ? $#bad : 4)];
}

# Under wrk (alice, a new connection a request) for WRK_SECONDS, four of
# bob's requests held in PostgreSQL (one running, the others queued for
# the connection) while SIGNAL runs: their statuses, and wrk's result to
# wait for.
sub held_through {
    my ($wrk_seconds, $signal) = @_;
    is((http_request(GET => '/users/me', \%alice))[0], 200, 'served at first');
    my $wrk = wrk($wrk_seconds, 'Connection: close',
                  "Authorization: $alice{Authorization}");
    sleep 0.5;
    my $locker = lock_users(1);
    my $held = in_background(sub {
        [concurrent_requests(4, sub {
            (http_request(GET => '/users/me', \%bob))[0]
        })]
    });
    sleep 0.3;
    $signal->();
    my $statuses = $held->();
    waitpid $locker, 0;
    return ($statuses, $wrk);
}

# $n clients, each sending requests one after the other for $seconds:
# [start offset, duration, status, body, content type, error] per request.
sub load {
    my ($n, $seconds, $method, $path, $headers) = @_;
    my $start = time;
    my @per_client = concurrent_requests($n, sub {
        my @out;
        while (time - $start < $seconds) {
            my $t0 = time;
            my ($status, $h, $body, $error) = http_request($method, $path,
                                                           $headers);
            push @out, [$t0 - $start, time - $t0, $status, $body,
                        $h->{'content-type'}, $error];
        }
        return \@out;
    });
    return map { @$_ } @per_client;
}

# Raw exchanges for what http_request cannot do: send in pieces, stop.
sub raw_connect {
    return IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                 Timeout => 3) // die "connect: $!";
}

sub raw_read_all {
    my ($sock, $timeout) = @_;
    my $raw = '';
    my $deadline = time + ($timeout // 3);
    my $select = IO::Select->new($sock);
    while (time < $deadline) {
        last unless $select->can_read($deadline - time);
        my $n = sysread $sock, my $buf, 65536;
        last unless $n;
        $raw .= $buf;
    }
    return $raw;
}

sub statuses {
    my %seen;
    $seen{ $_->[2] // 'none' }++ for @_;
    return join ', ', map { "$_ x$seen{$_}" } sort keys %seen;
}

subtest 'PostgreSQL killed with SIGKILL and restarted under load' => sub {
    start_nginx(master => 1, workers => 2, http_config => <<"_EOC_");
users_pg_pool size=2 queue=64 queue_timeout=${\ ms(1)};
users_pg_connect_timeout ${\ ms(0.5)};
users_pg_query_timeout ${\ ms(1)};
_EOC_
    is((http_request(GET => '/users/me', \%alice))[0], 200, 'served at first');
    my @workers = nginx_workers(2);

    my $wait = in_background(sub {
        [load(6, 4, GET => '/users/me', \%alice)]
    });
    sleep 1;
    my @pids = pg_pids();
    ok(@pids > 1, 'PostgreSQL runs (' . @pids . ' processes)');
    kill 'KILL', @pids;
    t::harness::Server::poll_until(sub { !grep { kill 0, $_ } @pids }, 5);
    sleep 1;
    pg_ctl('start');
    my $restarted = time;
    my @results = @{ $wait->() };

    my @bad = grep { !defined $_->[2] || ($_->[2] != 200 && $_->[2] != 503) }
        @results;
    ok(!@bad, scalar(@results) . ' requests, each 200 or 503 ('
       . statuses(@results) . ')')
        or diag explain [@bad[0 .. ($#bad < 3 ? $#bad : 3)]];
    my @unavailable = grep { ($_->[2] // 0) == 503 } @results;
    ok(@unavailable, 'the outage was seen: ' . @unavailable . ' 503s');
    is_deeply([grep { $_->[3] ne '{"detail":"Service temporarily unavailable"}'
                      || $_->[4] ne 'application/json; charset=utf-8' }
               @unavailable], [], '... each the JSON 503');
    my ($slowest) = sort { $b <=> $a } map { $_->[1] } @results;
    cmp_ok($slowest, '<', 2.5 * $F, sprintf('none took longer than the timeouts '
           . 'allow (slowest %.3f s)', $slowest));

    # each worker comes back when its connections' back-off ends (until
    # then it answers 503 at once): ten 200s in a row say both are back
    my $ok = 0;
    t::harness::Server::poll_until(sub {
        my $status = (http_request(GET => '/users/me', \%alice))[0] // 0;
        $ok = $status == 200 ? $ok + 1 : 0;
        $ok >= 10
    }, 5 * $F);
    ok($ok >= 10, sprintf('recovered by itself, %.1f s after the restart',
                          time - $restarted));
    my @after = load(4, 0.5, GET => '/users/me', \%bob);
    ok(!grep({ ($_->[2] // 0) != 200 } @after),
       'then every request is served: ' . statuses(@after));
    is_deeply([nginx_workers(2)], \@workers, 'no worker was replaced');
    no_alerts('killed PostgreSQL');
    nginx_stop();
};

subtest 'PostgreSQL frozen with SIGSTOP mid-query' => sub {
    start_nginx(http_config => <<"_EOC_");
users_pg_pool size=1 queue=8 queue_timeout=${\ ms(3)};
users_pg_connect_timeout ${\ ms(0.5)};
users_pg_query_timeout ${\ ms(1)};
_EOC_
    is((http_request(GET => '/users/me', \%alice))[0], 200, 'served at first');

    # Alice's statement waits for the lock, then the server freezes
    my $locker = lock_users(1);
    my $wait = in_background(sub {
        my $t0 = time;
        my ($status, $h, $body) = http_request(GET => '/users/me', \%alice);
        return [$status, time - $t0, $body];
    });
    sleep 0.3;
    my @pids = pg_pids();
    kill 'STOP', @pids;
    my ($status, $took, $body) = @{ $wait->() };
    kill 'CONT', @pids;
    waitpid $locker, 0;

    is($status, 503, 'the frozen statement: 503');
    is($body, '{"detail":"Service temporarily unavailable"}', '... as JSON');
    cmp_ok($took, '<', 2 * $F, sprintf('... within the query timeout (%.3f s)',
                                       $took));
    like(error_log_text(), qr/query timed out/, 'the timeout is logged');

    # the connection that timed out must not deliver Alice's late answer
    my @got;
    for (1 .. 3) {
        for my $who ([\%bob, 'fault-bob@example.com'],
                     [\%alice, 'fault-alice@example.com'])
        {
            my ($status, undef, $body) = http_request(GET => '/users/me',
                                                      $who->[0]);
            push @got, ($status // 'none') . ' '
                . ($status && $status == 200 ? json_decode($body)->{email} : '');
        }
    }
    is_deeply(\@got, [('200 fault-bob@example.com', '200 fault-alice@example.com')
                      x 3], 'afterwards each caller gets their own answer');
    no_alerts('frozen PostgreSQL');
    nginx_stop();
};

subtest 'clients that leave mid-request' => sub {
    users_fixture(email => 'fault-leave@example.com');
    start_nginx(master => 1, workers => 1);

    # in the headers, in the body, and while the password hashes
    for my $i (1 .. 3) {
        my $sock = raw_connect();
        print $sock "GET /users/me HTTP/1.1\r\nHost: loc";
        close $sock;

        $sock = raw_connect();
        print $sock "POST /auth/register HTTP/1.1\r\nHost: localhost\r\n"
            . "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            . '{"email":"fault-';
        close $sock;

        $sock = raw_connect();
        print $sock "POST /auth/login HTTP/1.1\r\nHost: localhost\r\n"
            . "Content-Type: application/x-www-form-urlencoded\r\n"
            . "Content-Length: 57\r\n\r\n"
            . "username=fault-leave\@example.com&password=secretpassword123";
        close $sock;
    }
    sleep 0.5 * $F;    # the hashes complete for requests already gone

    my @statuses = map { (http_request(GET => '/users/me', \%alice))[0] } 1 .. 3;
    is_deeply(\@statuses, [200, 200, 200], 'later requests are served');
    my ($status) = http_request(POST => '/auth/login',
        { 'Content-Type' => 'application/x-www-form-urlencoded' },
        'username=fault-leave@example.com&password=secretpassword123');
    is($status, 200, 'and logins work');
    is_deeply([], [grep { /exited/ } split /\n/, error_log_text()],
              'no worker exited');
    no_alerts('clients leaving');
    nginx_stop();
};

subtest 'a body sent slowly, and one that stops' => sub {
    users_sql("DELETE FROM users WHERE email = 'fault-slow\@example.com'");
    start_nginx(http_config => 'client_body_timeout ' . ms(1) . ';');

    my $body = '{"email":"fault-slow@example.com","password":"secretpassword123"}';
    my $sock = raw_connect();
    print $sock "POST /auth/register HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: close\r\nContent-Type: application/json\r\n"
        . 'Content-Length: ' . length($body) . "\r\n\r\n";
    $sock->autoflush(1);
    my $t0 = time;
    for my $piece ($body =~ /(.{1,8})/gs) {
        sleep 0.1;
        print $sock $piece;
    }
    my $raw = raw_read_all($sock, 5 * $F);
    like($raw, qr{^HTTP/1.1 201 }, sprintf('a body trickled over %.1f s: 201',
                                            time - $t0));
    my ($answer) = $raw =~ /\r\n\r\n(.*)\z/s;
    is(eval { json_decode($answer)->{email} }, 'fault-slow@example.com',
       '... the user registered');

    $sock = raw_connect();
    print $sock "POST /auth/register HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: close\r\nContent-Type: application/json\r\n"
        . "Content-Length: 64\r\n\r\n{\"email\":";
    $t0 = time;
    $raw = raw_read_all($sock, 5 * $F);
    my $took = time - $t0;
    ok($raw eq '' || $raw =~ m{^HTTP/1.1 408 .*\r\n\r\n\{"detail":"Request Timeout"\}$}s,
       'a body that stops: closed, or a JSON 408') or diag $raw;
    cmp_ok($took, '<', 3 * $F, sprintf('... after client_body_timeout (%.1f s)',
                                       $took));
    is((http_request(GET => '/users/me', \%alice))[0], 200, 'others are served');
    no_alerts('slow bodies');
    nginx_stop();
};

subtest 'a body longer than its Content-Length' => sub {
    users_sql("DELETE FROM users WHERE email = 'fault-long\@example.com'");
    start_nginx();
    my $body = '{"email":"fault-long@example.com","password":"secretpassword123"}';
    my $sock = raw_connect();
    print $sock "POST /auth/register HTTP/1.1\r\nHost: localhost\r\n"
        . "Content-Type: application/json\r\n"
        . 'Content-Length: ' . length($body) . "\r\n\r\n"
        . $body . ',"name":"Mallory","is_superuser":true}' . "\r\n\r\n";
    my $raw = raw_read_all($sock, 3 * $F);
    like($raw, qr{^HTTP/1.1 201 }, 'the declared body is the request: 201');
    like($raw, qr{\}HTTP/1.1 400 .*\r\n\r\n\{"detail":"Bad Request"\}\z}s,
         'the rest is a bad next request: a JSON 400');
    is(users_sql("SELECT coalesce(name, '-') || ' ' || is_superuser FROM users"
                 . " WHERE email = 'fault-long\@example.com'"),
       '- false', 'nothing after the declared length was applied');

    # and a smaller one: the body waits for the bytes that are missing
    $sock = raw_connect();
    print $sock "POST /auth/register HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: close\r\nContent-Type: application/json\r\n"
        . "Content-Length: 10\r\n\r\n{\"email\":\"fault-long\@example.com\"}";
    $raw = raw_read_all($sock, 3 * $F);
    like($raw, qr{^HTTP/1.1 422 .*"loc":\["body"\]}s,
         'a body cut at its Content-Length is invalid JSON: 422');
    no_alerts('long bodies');
    nginx_stop();
};

# wrk's summary: requests, non-2xx responses, socket errors by kind
sub wrk {
    my ($seconds, @headers) = @_;
    return wrk_run($seconds, '/users/me', @headers);
}

SKIP: {
    skip 'wrk is not installed', 2 unless `sh -c 'command -v wrk'`;

subtest 'reloads under wrk: no request fails' => sub {
    start_nginx(master => 1, workers => 2, http_config => <<"_EOC_");
users_pg_pool size=1 queue=64 queue_timeout=${\ ms(3)};
_EOC_
    my ($statuses, $wrk) = held_through(3, sub {
        nginx_reload();
        sleep 0.5;
        nginx_reload();
    });
    my $r = $wrk->();

    is_deeply($statuses, [200, 200, 200, 200],
              'requests in progress at the reload are answered');
    cmp_ok($r->{requests}, '>', 50 / $F, "wrk: $r->{requests} requests");
    is($r->{non2xx}, 0, '... none answered with an error');
    is(join(' ', @$r{qw(connect read write timeout)}), '0 0 0 0',
       '... no socket error') or diag $r->{out};
    no_alerts('reloads');
    nginx_stop();
};

subtest 'a graceful stop under wrk: what was accepted is answered' => sub {
    start_nginx(master => 1, workers => 1, http_config => <<"_EOC_");
users_pg_pool size=1 queue=64 queue_timeout=${\ ms(3)};
_EOC_
    my $master = nginx_pid();
    my ($statuses, $wrk) = held_through(2, sub { kill 'QUIT', $master });
    my $gone = t::harness::Server::poll_until(sub {
        !t::harness::Server::running($master)
    }, 5 * $F);
    my $r = $wrk->();

    is_deeply($statuses, [200, 200, 200, 200],
              'requests in progress at the signal are answered');
    ok($gone, 'nginx exited once they were');
    is($r->{non2xx}, 0, "wrk: $r->{requests} requests, none answered with an error");
    is($r->{timeout}, 0, '... none timed out') or diag $r->{out};
    no_alerts('graceful stop');
    nginx_stop();
};
}

subtest 'a worker killed with SIGKILL is replaced' => sub {
    start_nginx(master => 1, workers => 2);
    my @before = nginx_workers(2);
    is(scalar @before, 2, 'two workers') or return;
    kill 'KILL', $before[0];
    my @after;
    t::harness::Server::poll_until(sub {
        @after = nginx_workers(2);
        @after == 2 && !grep { $_ == $before[0] } @after
    }, 5 * $F);
    is(scalar(grep { $_ != $before[1] } @after), 1, 'a new worker took its place');
    my @statuses = concurrent_requests(10, sub {
        (http_request(GET => '/users/me', \%alice))[0]
    });
    is_deeply(\@statuses, [(200) x 10], 'the service goes on');
    like(error_log_text(), qr/worker process $before[0] exited on signal 9/,
         'the master saw it');
    no_alerts('killed worker', qr/process $before[0] exited on signal 9/);
    nginx_stop();
};

done_testing();
