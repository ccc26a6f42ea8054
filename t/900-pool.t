# The PostgreSQL pool under conditions a data-driven block cannot set up:
# the server stopped and started under a running nginx, every connection
# busy, large results, clients leaving mid-query, reloads.
use strict;
use warnings;
use Test::More;
use POSIX ();
use Time::HiRes qw(time sleep);
use t::lib::Scenario;
use t::lib::Fixtures;

my $admin = users_fixture(email => 'pool-admin@example.com', superuser => 1);
my $admin_token = users_token($admin);
my %auth = (Authorization => "Bearer $admin_token");

sub no_alerts {
    my ($what) = @_;
    my $log = error_log_text();
    my @bad = grep { /\[(alert|crit|emerg)\]|exited on signal/ }
        split /\n/, $log;
    ok(!@bad, "$what: no alert, crit or crash in the error log")
        or diag join "\n", @bad[0 .. ($#bad < 4 ? $#bad : 4)];
}

# /readyz's status once it is 200, or after 20 tries a quarter second apart
# (times the time factor)
sub ready {
    my $status;
    for (1 .. 20) {
        $status = (http_request(GET => '/readyz'))[0];
        last if $status == 200;
        sleep 0.25 * time_factor();
    }
    return $status;
}

subtest 'readiness follows PostgreSQL without a restart of nginx' => sub {
    start_nginx(master => 1, workers => 2, http_config => <<'_EOC_');
users_readyz_timeout 1500ms;
_EOC_
    # the connections prepare every statement first, which one-byte socket
    # I/O (scripts/mockeagain.sh) stretches past the readiness timeout
    is(ready(), 200, 'ready at first');

    pg_ctl('stop');
    my $t0 = time;
    my ($status, undef, $body) = http_request(GET => '/readyz');
    my $took = time - $t0;
    is($status, 503, 'PostgreSQL stopped: 503');
    is($body, '{"detail":"db not ready"}', '... with the contract body');
    cmp_ok($took, '<', 2 * time_factor(),
           "... within 2 s (took ${\ sprintf '%.3f', $took} s)");

    my @statuses = concurrent_requests(10, sub {
        (http_request(GET => '/readyz'))[0]
    });
    is_deeply(\@statuses, [(503) x 10], 'every request during the outage: 503');
    is((http_request(GET => '/healthz'))[0], 200, 'liveness does not care');

    pg_ctl('start');
    my $back = time;
    my $ready;
    while (time - $back < 5 * time_factor()) {
        $ready = (http_request(GET => '/readyz'))[0];
        last if $ready == 200;
        sleep 0.1;
    }
    my $recovered = time - $back;
    is($ready, 200, 'ready again');
    cmp_ok($recovered, '<', 2 * time_factor(),
           "... within 2 s of PostgreSQL starting (took "
           . sprintf('%.3f', $recovered) . ' s)');
    is((http_request(GET => '/users/me', \%auth))[0], 200,
       'authenticated requests work again');
    no_alerts('outage');
    nginx_stop();
};

subtest 'a burst of concurrent /readyz requests is all answered' => sub {
    start_nginx(master => 1, workers => 2);
    my @statuses = concurrent_requests(50, sub {
        (http_request(GET => '/readyz'))[0]
    });
    is_deeply(\@statuses, [(200) x 50], '50 concurrent /readyz: 200');
    no_alerts('burst');
    nginx_stop();
};

subtest 'an exhausted pool answers 503 with Retry-After' => sub {
    start_nginx(http_config => <<'_EOC_');
users_pg_pool size=1 queue=1 queue_timeout=500ms;
users_pg_query_timeout 1500ms;
_EOC_
    # the one connection prepares every statement first, which one-byte
    # socket I/O (scripts/mockeagain.sh) stretches past the 500 ms queue
    is(ready(), 200, 'connected');
    my $locker = lock_users(3);

    my @results = concurrent_requests(3, sub {
        my ($i) = @_;
        sleep 0.2 * $i;    # in order: one runs, one waits, one overflows
        my ($status, $headers, $body) = http_request(GET => '/users/me', \%auth);
        return [$status, $headers->{'retry-after'}, $body];
    });
    waitpid $locker, 0;

    my ($running, $waiting, $overflow) = @results;
    is($overflow->[0], 503, 'the queue is full: 503 at once');
    is($overflow->[1], 1, '... with Retry-After: 1');
    is($overflow->[2], '{"detail":"Service temporarily unavailable"}',
       '... and a JSON detail');
    is($waiting->[0], 503, 'waiting past queue_timeout: 503');
    is($running->[0], 503, 'a statement past its timeout: 503');
    like(error_log_text(), qr/wait queue is full/, 'the overflow is logged');

    is((http_request(GET => '/users/me', \%auth))[0], 200,
       'the connection is still usable afterwards');
    no_alerts('exhaustion');
    nginx_stop();
};

subtest 'a client that leaves while its query runs poisons nothing' => sub {
    start_nginx(http_config => <<'_EOC_');
users_pg_pool size=1 queue=8 queue_timeout=3s;
_EOC_
    is((http_request(GET => '/readyz'))[0], 200, 'connected');
    my $locker = lock_users(1);

    for (1 .. 3) {
        my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
            PeerPort => $ENV{TEST_NGINX_SERVER_PORT} // 1984) or die $!;
        print $sock "GET /users/me HTTP/1.1\r\nHost: localhost\r\n"
            . "Authorization: Bearer $admin_token\r\n\r\n";
        close $sock;
    }
    waitpid $locker, 0;
    sleep 0.3;

    my @statuses = map { (http_request(GET => '/users/me', \%auth))[0] } 1 .. 5;
    is_deeply(\@statuses, [(200) x 5], 'later requests are served');
    no_alerts('abandoned queries');
    nginx_stop();
};

subtest 'a result of 1000 rows is read without stalling' => sub {
    users_sql(q{INSERT INTO users (email, hashed_password)
                SELECT 'pool-bulk-' || g || '@example.com', 'x'
                FROM generate_series(1, 1100) g
                ON CONFLICT DO NOTHING});
    start_nginx();
    my $t0 = time;
    my ($status, undef, $body) = http_request(GET => '/users?limit=1000',
                                              \%auth);
    my $took = time - $t0;
    is($status, 200, 'limit=1000: 200');
    my $users = json_decode($body);
    is(scalar @$users, 1000, '... 1000 users');
    my @ids = map { $_->{id} } @$users;
    is_deeply(\@ids, [sort { $a <=> $b } @ids], '... ordered by id');
    # under scripts/mockeagain.sh each of the 250 kB, both ways, is a few
    # system calls and an event-loop turn: there only a stall until a
    # timer (the query timeout, 5 s) would show
    my $bound = ($ENV{MOCKEAGAIN} ? 5 : 2) * time_factor();
    cmp_ok($took, '<', $bound, "... without stalling (took "
           . sprintf('%.3f', $took) . ' s)');
    no_alerts('large result');
    nginx_stop();
};

subtest 'reload and graceful stop leave no alert' => sub {
    start_nginx(master => 1, workers => 2);
    my @before = concurrent_requests(10, sub {
        (http_request(GET => '/users/me', \%auth))[0]
    });
    is_deeply(\@before, [(200) x 10], 'served before the reload');
    nginx_reload();
    my @after = concurrent_requests(10, sub {
        (http_request(GET => '/users/me', \%auth))[0]
    });
    is_deeply(\@after, [(200) x 10], 'served after the reload');
    nginx_stop();
    no_alerts('reload and stop');
    unlike(error_log_text(), qr/open socket/, 'no socket left open at exit');
};

done_testing();
