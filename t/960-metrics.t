# users_metrics across workers and reloads: the zone is shared, so any
# worker's scrape is the sum of all; a reload that keeps the zone keeps the
# counts, and the workers it replaces keep adding to them.
use strict;
use warnings;
use Test::More;
use t::lib::Scenario;
use t::lib::Fixtures;

my $config = <<'_EOC_';
include $TEST_NGINX_CONF_DIR/users_locations.conf;
location = /metrics {
    users_metrics;
}
location = /private {
    users_auth user;
    return 204;
}
location = /admin-only {
    users_auth superuser;
    return 204;
}
location / {
    users_api not_found;
}
_EOC_

# one connection a worker: the pool's gauges add up to at most the workers
my $http_config = "users_pg_pool size=1;\n";

sub scrape {
    my ($status, undef, $body) = http_request(GET => '/metrics');
    return defined $status && $status == 200 ? $body : '';
}

# the connections every live worker holds, by the gauges
sub connections {
    my $body = scrape();
    my $n = 0;
    $n += $1 while $body =~ /^users_pg_connections_\w+ (-?\d+)$/mg;
    return $n;
}

# a series' value in a scrape (0 when absent)
sub value {
    my ($body, $series) = @_;
    return $body =~ /^\Q$series\E (-?\d+)$/m ? $1 : 0;
}

sub healthz_count {
    my ($status, undef, $body) = http_request(GET => '/metrics');
    return undef unless defined $status && $status == 200;
    return $body =~ /^users_http_requests_total\{route="healthz",method="GET",code="200"\} (\d+)$/m
        ? $1 : 0;
}

subtest 'two workers: every scrape is the sum' => sub {
    start_nginx(master => 1, workers => 2, config => $config,
                http_config => $http_config);
    my @workers = nginx_workers(2);
    my @statuses = concurrent_requests(40, sub {
        my @s;
        push @s, (http_request(GET => '/healthz'))[0] for 1 .. 5;
        return \@s;
    });
    is(scalar(grep { $_ == 200 } map { @$_ } @statuses), 200, '200 requests answered');

    my (%served, $log);
    $log = error_log_text();
    $served{$1}++ while $log =~ /(\d+)#\d+: \*\d+ users metrics: "healthz"/g;
    note('requests per worker: ' . join ', ', map { "$_: $served{$_}" } sort keys %served);
    cmp_ok(scalar(keys %served), '==', 2, 'both workers served some');

    # ten scrapes land on either worker: each sees all 200
    my @counts = map { healthz_count() } 1 .. 10;
    is_deeply(\@counts, [(200) x 10], 'each scrape counts all 200');

    # each into a block of its own: no cache line written by both
    my %block = error_log_text() =~ /users metrics: worker (\d+) adds to block (\d+)/g;
    is_deeply(\%block, {0 => 0, 1 => 1}, 'each worker adds to its own block');
};

subtest 'promtool check metrics' => sub {
    plan skip_all => 'no promtool (Debian package prometheus)'
        unless grep { -x "$_/promtool" } split /:/, $ENV{PATH};
    http_request(POST => '/auth/login', {'Content-Type' => 'application/x-www-form-urlencoded'},
                 'username=metrics-nobody@example.com&password=wrongpassword');
    my (undef, undef, $body) = http_request(GET => '/metrics');
    open my $check, '|-', 'promtool check metrics >/dev/null 2>&1' or die "promtool: $!\n";
    print $check $body;
    ok(close($check), 'promtool accepts the scrape (names, types, units)');
};

subtest 'a reload keeps the zone and the counts' => sub {
    nginx_reload();
    is(healthz_count(), 200, 'the count survives the reload');
    http_request(GET => '/healthz') for 1 .. 3;
    is(healthz_count(), 203, 'and the new workers add to it');

    # the workers it replaced closed their connections, and said so
    http_request(GET => '/readyz') for 1 .. 4;
    my $n;
    for (1 .. 20) {
        $n = connections();
        last if $n >= 1 && $n <= 2;
        select undef, undef, undef, 0.25 * time_factor();
    }
    cmp_ok($n, '>=', 1, 'the pools are counted');
    cmp_ok($n, '<=', 2, 'no connection of the old workers is left counted');
    like(scrape(), qr/^users_password_hashes_in_flight 0\n(?s:.*)^users_pg_requests_waiting 0$/m,
         'nothing in flight at rest');
};

# users_pg_requests_waiting counts requests, as the connection gauges count
# the request pools: a revocation listener waiting for its own connection is
# none, and one that a reload replaces while it waits leaves nothing behind
subtest 'a listener waiting for its connection is no request waiting' => sub {
    my $locker = lock_users(2 * time_factor());
    nginx_reload();
    nginx_workers(2);
    my $body;
    for (1 .. 20) {
        $body = scrape();
        last if value($body, 'users_pg_connections_preparing') >= 1;
        select undef, undef, undef, 0.1 * time_factor();
    }
    cmp_ok(value($body, 'users_pg_connections_preparing'), '>=', 1,
           'the new workers\' connections wait for the lock');
    is(value($body, 'users_pg_requests_waiting'), 0,
       'and no request waits, though the listeners do');
    nginx_reload();    # the second set of workers goes while it waits
    waitpid $locker, 0;
    # the new connections prepare every statement first, which one-byte
    # socket I/O (scripts/mockeagain.sh) stretches past a /readyz or two
    my $status;
    for (1 .. 40) {
        $status = (http_request(GET => '/readyz'))[0];
        last if $status == 200;
        select undef, undef, undef, 0.25 * time_factor();
    }
    is($status, 200, 'ready once the lock goes');
    is(value(scrape(), 'users_pg_requests_waiting'), 0, 'none waits after');
};

subtest 'the guard and the revocation state, summed over the workers' => sub {
    my $id = users_fixture(email => 'metrics-guard@example.com');
    my %user = (Authorization => 'Bearer ' . users_token($id));
    my $before = scrape();
    my $in_step;
    for (1 .. 40) {
        $in_step = value(scrape(), 'users_revocation_listeners_in_step');
        last if $in_step == 2;
        select undef, undef, undef, 0.25 * time_factor();
    }
    is($in_step, 2, 'both workers\' listeners in step, none of the workers '
                    . 'the reload replaced');

    my @s = ((map { (http_request(GET => '/private', \%user))[0] } 1 .. 3),
             (map { (http_request(GET => '/private'))[0] } 1 .. 2),
             (http_request(GET => '/admin-only', \%user))[0]);
    is_deeply(\@s, [204, 204, 204, 401, 401, 403], 'three in, three refused');
    my $after = scrape();
    my %moved = map {
        my $series = "users_guard_requests_total{result=\"$_\"}";
        ($_ => value($after, $series) - value($before, $series))
    } qw(allowed unauthorized forbidden error);
    is_deeply(\%moved, {allowed => 3, unauthorized => 2, forbidden => 1, error => 0},
              'each decision counted once, whichever worker made it');

    my $changes = value($after, 'users_revocation_changes_total');
    is((http_request(POST => '/auth/logout', \%user))[0], 204, 'a logout');
    my $now;
    for (1 .. 40) {
        $now = value(scrape(), 'users_revocation_changes_total');
        last if $now > $changes;
        select undef, undef, undef, 0.05 * time_factor();
    }
    is($now - $changes, 1, 'its change applied once, by one of the two workers');
    is((http_request(GET => '/private', \%user))[0], 401, 'and the guard refuses the token');
    nginx_stop();
};

subtest 'a zone too small for a block a worker: they share, and say so' => sub {
    start_nginx(master => 1, workers => 2, config => $config,
                http_config => "users_metrics_zone users_metrics_small 128k;\n"
                               . $http_config);
    nginx_workers(2);
    like(error_log_text(),
         qr/users_metrics_zone "users_metrics_small" holds the counters of 1 of 2 workers/,
         'the notice says how many blocks the zone holds');
    my @statuses = concurrent_requests(20, sub {
        my @s;
        push @s, (http_request(GET => '/healthz'))[0] for 1 .. 5;
        return \@s;
    });
    is(scalar(grep { $_ == 200 } map { @$_ } @statuses), 100, '100 requests answered');
    is_deeply([map { healthz_count() } 1 .. 6], [(100) x 6],
              'one block, both workers: each scrape counts all 100');
    nginx_stop();
};

done_testing();
