# Every write checks its caller inside the statement that writes: a caller
# revoked, deactivated or demoted while the request waits (here, in the
# password hash queue) changes nothing.
use strict;
use warnings;
use Test::More;
use POSIX ();
use Time::HiRes qw(sleep time);
use t::lib::Scenario;
use t::lib::Fixtures;

# valgrind runs one thread at a time: six 64 MiB hashes take minutes there
plan skip_all => 'not under valgrind' if $ENV{TEST_NGINX_USE_VALGRIND};

$ENV{TEST_NGINX_TIMEOUT} = 60 * time_factor();

my $json = { 'Content-Type' => 'application/json' };
my $form = { 'Content-Type' => 'application/x-www-form-urlencoded' };

# one slow hashing thread: a password change waits behind the blockers
my %conf = (master => 1, workers => 1, main_config => <<'_EOC_', http_config => <<'_EOC_');
load_module $TEST_NGINX_USERS_MODULE;
thread_pool users_argon2 threads=1 max_queue=64;
_EOC_
users_password_cost time=3 memory=64m;
users_login_throttle failures=100 window=60s;
_EOC_

# runs $write in a child while logins hold the hashing thread (about a
# second of work, in the order posted; as much longer as the time factor
# makes the waits), then $meanwhile once the write is parked behind them;
# returns the write's status, after checking that it was still waiting
# when $meanwhile had returned
sub write_while_queued {
    my ($write, $meanwhile) = @_;
    my $blockers = int(6 * time_factor() + 0.5);
    users_fixture(email => 'blocker@example.com');
    pipe my $read, my $write_end or die;
    my $pid = fork // die;
    if ($pid == 0) {
        close $read;
        my @s = concurrent_requests($blockers + 1, sub {
            my ($i) = @_;
            if ($i < $blockers) {
                return (http_request(POST => '/auth/login', $form,
                    'username=blocker@example.com&password=' . users_password()))[0];
            }
            sleep 0.1 * time_factor();
            my $status = $write->();
            return sprintf '%s@%.6f', $status // 'none', time;
        });
        print $write_end "@s";
        close $write_end;
        POSIX::_exit(0);
    }
    close $write_end;
    sleep 0.3 * time_factor();
    $meanwhile->();
    my $meanwhile_done = time;
    my $out = do { local $/; <$read> };
    waitpid $pid, 0;
    my @s = split ' ', $out // '';
    my ($status, $answered) = split /@/, pop @s // '';
    is_deeply(\@s, [(200) x $blockers], "the $blockers blockers logged in");
    cmp_ok($answered // 0, '>', $meanwhile_done,
           'the write was still waiting for its hash meanwhile');
    return $status;
}

subtest 'PUT /users/me of a caller who logged out meanwhile' => sub {
    my $id = users_fixture(email => 'me-writer@example.com', name => 'Before');
    my $token = users_token($id);
    my %auth = (Authorization => "Bearer $token", %$json);
    start_nginx(%conf);
    my $hash = users_sql("SELECT hashed_password FROM users WHERE id = $id");
    my $status = write_while_queued(
        sub { (http_request(PUT => '/users/me', \%auth,
            '{"name":"After","password":"newpassword123","current_password":"'
            . users_password() . '"}'))[0] },
        sub { is((http_request(POST => '/auth/logout', \%auth))[0], 204,
                 'logout while the change waits for a hash') });
    is($status, 401, 'the queued change answers 401');
    is(users_sql("SELECT name FROM users WHERE id = $id"), 'Before', 'the name is unchanged');
    is(users_sql("SELECT hashed_password FROM users WHERE id = $id"), $hash,
       'the password is unchanged');
    nginx_stop();
};

# [what happens meanwhile, its SQL, the body, the status, the target's check]
for my $case (
    ['demoted', 'is_superuser = false', '{"name":"Taken over","password":"newpassword123"}',
     403, 'name', 'Target'],
    ['deactivated', 'is_active = false', '{"is_active":false,"password":"newpassword123"}',
     401, 'is_active', 't'],
) {
    my ($what, $set, $body, $want, $column, $value) = @$case;
    subtest "PUT /users/{id} of a superuser $what meanwhile" => sub {
        my $su = users_fixture(email => 'su-writer@example.com', superuser => 1);
        my $target = users_fixture(email => 'su-target@example.com', name => 'Target');
        my %auth = (Authorization => 'Bearer ' . users_token($su), %$json);
        start_nginx(%conf);
        my $status = write_while_queued(
            sub { (http_request(PUT => "/users/$target", \%auth, $body))[0] },
            sub { users_sql("UPDATE users SET $set WHERE id = $su") });
        is($status, $want, "the queued change answers $want");
        is(users_sql("SELECT $column FROM users WHERE id = $target"), $value,
           "the target's $column is unchanged");
        nginx_stop();
    };
}

done_testing();
