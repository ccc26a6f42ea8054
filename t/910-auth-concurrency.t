# Authentication under concurrency and over time: racing registrations,
# the login throttle, the event loop while passwords hash, rehashing,
# revocation within the same second, a full thread pool.
use strict;
use warnings;
use Test::More;
use POSIX ();
use Time::HiRes qw(time sleep);
use t::lib::Scenario;
use t::lib::Fixtures;

# hashes run at a lower priority than everything else on a busy machine
$ENV{TEST_NGINX_TIMEOUT} = 30 * time_factor();

my $form = { 'Content-Type' => 'application/x-www-form-urlencoded' };
my $json = { 'Content-Type' => 'application/json' };

sub login {
    my ($email, $password) = @_;
    $password //= users_password();
    my ($status, $headers, $body, $error) = http_request(POST => '/auth/login',
        $form, "username=$email&password=$password");
    diag "login $email: $error" if defined $error;
    return ($status, $headers, $body);
}

# every registration hashes first: under valgrind, one thread at a time
# and each hash seconds long, 50 would take minutes
my $racers = $ENV{TEST_NGINX_USE_VALGRIND} ? 10 : 50;

subtest "$racers concurrent registrations of one email: one 201, the rest 409" => sub {
    users_sql("DELETE FROM users WHERE email ILIKE 'race-1\@example.com'");
    start_nginx(master => 1, workers => 2);
    my @statuses = concurrent_requests($racers, sub {
        my ($i) = @_;
        # the same address in other cases: one account either way
        my $email = $i % 2 ? 'race-1@example.com' : 'RACE-1@example.com';
        (http_request(POST => '/auth/register', $json,
            qq({"email":"$email","password":"secretpassword123"})))[0];
    });
    is(scalar(grep { defined && $_ == 201 } @statuses), 1, 'exactly one 201');
    is(scalar(grep { defined && $_ == 409 } @statuses), $racers - 1,
        'the rest 409, never a 500')
        or diag explain [map { $_ // 'no answer' } @statuses];
    is(users_sql("SELECT count(*) FROM users WHERE lower(email) = 'race-1\@example.com'"),
       1, 'one row');
    nginx_stop();
};

subtest 'failed logins are throttled per account, before any hash' => sub {
    users_fixture(email => 'thr-a@example.com');
    users_fixture(email => 'thr-b@example.com');
    start_nginx(master => 1, workers => 2, http_config => <<'_EOC_');
users_login_throttle zone=users_login:1m failures=3 window=60s;
_EOC_
    my @first = map { (login('thr-a@example.com', 'wrong-password'))[0] } 1 .. 3;
    is_deeply(\@first, [401, 401, 401], 'three failures: 401');
    my ($status, $headers, $body) = login('thr-a@example.com');
    is($status, 429, 'then even the right password: 429');
    is($body, '{"detail":"Too many failed login attempts"}', '... with the detail');
    like($headers->{'retry-after'} // '', qr/^\d+$/, '... and Retry-After');
    cmp_ok($headers->{'retry-after'} // 0, '<=', 60, '... within the window');
    is((login('THR-A@example.com'))[0], 429, 'the account, whatever its case');
    is((login('thr-b@example.com'))[0], 200, 'other accounts are not affected');

    my @unknown = map { (login('thr-nobody@example.com'))[0] } 1 .. 4;
    is_deeply(\@unknown, [401, 401, 401, 429],
              'unknown emails are counted the same way');

    # a success resets the count
    login('thr-b@example.com', 'wrong-password') for 1 .. 2;
    is((login('thr-b@example.com'))[0], 200, 'two failures, then a success');
    my @again = map { (login('thr-b@example.com', 'wrong-password'))[0] } 1 .. 3;
    is_deeply(\@again, [401, 401, 401], 'the count started over');
    nginx_stop();
};

subtest 'the event loop is not blocked while passwords hash' => sub {
    # valgrind runs one thread at a time: hashing threads stall the loop
    plan skip_all => 'not under valgrind' if $ENV{TEST_NGINX_USE_VALGRIND};
    # under scripts/mockeagain.sh a /healthz response is hundreds of
    # event-loop turns, each waiting for a core the hashing threads hold:
    # its time measures the scheduler, not the loop
    plan skip_all => 'not under mockeagain' if $ENV{MOCKEAGAIN};
    users_fixture(email => 'loop@example.com');
    start_nginx(http_config => <<'_EOC_');
users_password_cost time=4 memory=64m;
_EOC_
    # a loop that hashed would hold /healthz for at least one hash
    my $t0 = time;
    is((login('loop@example.com'))[0], 200, 'one login');
    my $one = time - $t0;
    my $pid = fork // die;
    if ($pid == 0) {
        # a few slow logins keep both hashing threads busy
        concurrent_requests(6, sub { (login('loop@example.com'))[0] });
        # not exit: Test::Nginx's END block would stop the nginx under test
        POSIX::_exit(0);
    }
    sleep 0.2;
    my $worst = 0;
    for (1 .. 10) {
        my $t0 = time;
        my ($status, undef, undef, $error) = http_request(GET => "/healthz");
        my $took = time - $t0;
        $worst = $took if $took > $worst;
        die "healthz: " . ($status // $error) unless ($status // 0) == 200;
        sleep 0.02;
    }
    waitpid $pid, 0;
    cmp_ok($worst, '<', $one / 2, sprintf('/healthz answered in at most '
        . '%.1f ms while logins were hashing (one login: %.1f ms)',
        $worst * 1000, $one * 1000));
    nginx_stop();
};

# nice values, field 19 of /proc/PID/task/TID/stat, by thread
sub thread_nice {
    my ($pid) = @_;
    my %nice;
    for my $stat (glob "/proc/$pid/task/*/stat") {
        my ($tid) = $stat =~ m{/task/(\d+)/};
        my $text = t::harness::Server::read_file($stat) // next;
        # the thread's name, in parentheses, may hold spaces
        $nice{$tid} = (split ' ', substr($text, rindex($text, ')') + 2))[16];
    }
    return %nice;
}

subtest 'Argon2id threads run at users_password_priority' => sub {
    users_fixture(email => 'nice@example.com');
    for my $case ([undef, 19], [7, 7]) {
        my ($set, $want) = @$case;
        my $what = defined $set ? "users_password_priority $set" : 'the default';
        start_nginx(master => 1, workers => 1, http_config => defined $set
            ? "users_password_priority $set;\n" : undef);
        is((login('nice@example.com'))[0], 200, "$what: a login");
        my ($worker) = nginx_workers(1);
        my %nice = thread_nice($worker);
        is($nice{$worker}, 0, "$what: the event loop keeps its priority");
        is(scalar(grep { $_ == $want } values %nice), 1,
           "$what: the thread that hashed runs at nice $want")
            or diag explain \%nice;
        nginx_stop();
    }
    # not under valgrind, like the blocks' must_die: nginx keeps its first
    # pool when the configuration is refused
    eval {
        start_nginx(valgrind => 0,
                    http_config => "users_password_priority 20;\n");
    };
    like($@ . error_log_text(), qr/must be between 0 and 19/,
         'nginx refuses a nice value out of 0..19');
    nginx_stop();
};

subtest 'a login upgrades a hash made with older parameters' => sub {
    my $id = users_fixture(email => 'rehash@example.com',
                           hash => users_old_hash());
    start_nginx();
    is((login('rehash@example.com'))[0], 200, 'login with the old hash');
    like(users_sql("SELECT hashed_password FROM users WHERE id = $id"),
         qr/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/, 'the hash now has today\'s cost');
    is((login('rehash@example.com'))[0], 200, 'and still verifies');
    nginx_stop();
};

subtest 'logout revokes a token issued in the same second' => sub {
    users_fixture(email => 'same-second@example.com');
    start_nginx();
    my (undef, undef, $body) = login('same-second@example.com');
    my $old = json_decode($body)->{access_token};
    my %old = (Authorization => "Bearer $old");
    is((http_request(GET => '/auth/me', \%old))[0], 200, 'the token works');
    is((http_request(POST => '/auth/logout', \%old))[0], 204, 'logout');
    is((http_request(GET => '/auth/me', \%old))[0], 401, 'the token is revoked');
    (undef, undef, $body) = login('same-second@example.com');
    my $new = json_decode($body)->{access_token};
    is((http_request(GET => '/auth/me', { Authorization => "Bearer $new" }))[0],
       200, 'a new login in the same second works');
    is((http_request(GET => '/auth/me', \%old))[0], 401, 'the old one stays revoked');
    nginx_stop();
};

subtest 'a token the worker remembers still expires' => sub {
    my $id = users_fixture(email => 'expiring@example.com');
    start_nginx();
    # made once nginx runs: a slow start (valgrind) must not expire it
    my $token = users_token($id, exp => time + 2 * time_factor());
    my %auth = (Authorization => "Bearer $token");
    is((http_request(GET => '/auth/me', \%auth))[0], 200, 'valid: 200');
    is((http_request(GET => '/auth/me', \%auth))[0], 200, 'again, remembered: 200');
    sleep 3 * time_factor();
    is((http_request(GET => '/auth/me', \%auth))[0], 401, 'expired: 401');
    nginx_stop();
};

subtest 'a full password queue is 503, not 500' => sub {
    # valgrind runs one thread at a time: hashing threads stall the loop
    plan skip_all => 'not under valgrind' if $ENV{TEST_NGINX_USE_VALGRIND};
    users_fixture(email => 'queue@example.com');
    start_nginx(main_config => <<'_EOC_', http_config => <<'_EOC_');
load_module $TEST_NGINX_USERS_MODULE;
thread_pool users_argon2 threads=1 max_queue=1;
_EOC_
users_password_cost time=3 memory=32m;
_EOC_
    my @statuses = concurrent_requests(8, sub { (login('queue@example.com'))[0] });
    my %seen;
    $seen{$_}++ for @statuses;
    ok($seen{503}, "some logins were refused with 503 ($seen{503} of 8)");
    ok(!$seen{500}, 'none with 500');
    is(($seen{200} // 0) + ($seen{503} // 0), 8, 'the others succeeded');
    nginx_stop();
};

subtest 'the first superuser is created once, and can log in' => sub {
    users_sql("DELETE FROM users WHERE lower(email) = 'admin\@example.com'");
    # created once each worker 0 has connected and prepared its statements
    # (seconds under scripts/mockeagain.sh's one-byte socket I/O)
    my $created = sub {
        my $n = 0;
        for (1 .. 40) {
            $n = users_sql("SELECT count(*) FROM users"
                           . " WHERE lower(email) = 'admin\@example.com'");
            last if $n > 0;
            sleep 0.25 * time_factor();
        }
        return $n;
    };
    start_nginx(master => 1, workers => 2);
    $created->();
    nginx_stop();
    start_nginx(master => 1, workers => 2);
    $created->();
    sleep 0.5;
    is(users_sql("SELECT count(*) FROM users WHERE lower(email) = 'admin\@example.com'"
                 . " AND is_superuser"), 1, 'one superuser row');
    my ($status, undef, $body) = login('admin@example.com', 'adminpassword123');
    is($status, 200, 'it logs in');
    my $token = json_decode($body)->{access_token};
    is((http_request(GET => '/users?limit=1',
        { Authorization => "Bearer $token" }))[0], 200, 'and administers');
    nginx_stop();
};

done_testing();
