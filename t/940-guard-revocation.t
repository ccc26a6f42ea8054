# Revocation everywhere at once: two nginx instances on one database, the
# way two pods run. What instance A revokes, instance B refuses within a
# second, on a guarded location and on the API's own routes; with B's
# listeners killed or PostgreSQL restarted, no revoked token is accepted at
# any moment, and the fast path (no query per guarded request) comes back.
# A session ended in the database is refused by both within a second, its
# user's other sessions and tokens without a session untouched.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use t::lib::Scenario;
use t::lib::Fixtures;

my $json = { 'Content-Type' => 'application/json' };

my %conf = (master => 1, workers => 2, config => <<'_EOC_');
users_request_id on;
include $TEST_NGINX_CONF_DIR/users_locations.conf;
location = /guarded {
    users_auth user;
    return 200 "in $users_user_id\n";
}
location = /admin {
    users_auth superuser;
    return 200 "admin\n";
}
location / {
    users_api not_found;
}
_EOC_

start_nginx(%conf);
my $b = start_peer(%conf);

sub bearer { { Authorization => "Bearer $_[0]" } }
sub on_a { (http_request(@_))[0] }
sub on_b { (http_request_on($b, @_))[0] }

# how many times B's listeners have come in step (one per worker at start)
sub in_step_count {
    my ($log) = $b->read_log(0);
    return scalar(() = $log =~ /revocation listener in step/g);
}

sub wait_in_step {
    my ($n, $what) = @_;
    my $deadline = time + 10 * time_factor();
    sleep 0.05 while in_step_count() < $n && time < $deadline;
    ok(in_step_count() >= $n, "B's listeners in step ($what)");
}

wait_in_step(2, 'start');

# B answers $path with $status within a second of now
sub refused_within_a_second {
    my ($method, $path, $token, $status, $what) = @_;
    my $start = time;
    my $got;
    while (1) {
        $got = on_b($method, $path, bearer($token));
        last if $got == $status || time - $start > 1;
        sleep 0.01;
    }
    is($got, $status, sprintf "%s: B answers %s %s with %d (after %.3f s)",
       $what, $method, $path, $status, time - $start);
}

# both workers of B have seen the user and keep it
sub warm {
    my ($token, $path) = @_;
    is(on_b(GET => $path // '/guarded', bearer($token)), 200, "B lets the token in")
        for 1 .. 4;
}

subtest 'a known user costs no query on B' => sub {
    my $id = users_fixture(email => 'rev-fast@example.com');
    my $token = users_token($id);
    my ($before) = $b->read_log(0);
    warm($token);
    my ($after) = $b->read_log(length $before);
    my $loads = () = $after =~ /users guard: checking user $id\b/g;
    my $hits = () = $after =~ /users state of user $id: known/g;
    ok($loads <= 2, "at most one load per worker ($loads)");
    ok($hits >= 2, "the others answered from shared memory ($hits)");
};

subtest 'logout on A' => sub {
    my $id = users_fixture(email => 'rev-logout@example.com');
    my $token = users_token($id);
    warm($token);
    is(on_b(GET => '/auth/me', bearer($token)), 200, 'the API on B too');
    is(on_b(GET => '/auth/verify', bearer($token)), 204, 'and /auth/verify');
    is(on_a(POST => '/auth/logout', bearer($token)), 204, 'logged out on A');
    refused_within_a_second(GET => '/guarded', $token, 401, 'logout');
    is(on_b(GET => '/auth/me', bearer($token)), 401, 'and the API on B');
    is(on_b(GET => '/auth/verify', bearer($token)), 401, 'and /auth/verify');
};

subtest 'password change on A' => sub {
    my $id = users_fixture(email => 'rev-password@example.com');
    my $token = users_token($id);
    warm($token);
    is(on_a(PUT => '/users/me', { %{ bearer($token) }, %$json },
            '{"password":"anothersecret123","current_password":"'
            . users_password() . '"}'), 200, 'password changed on A');
    refused_within_a_second(GET => '/guarded', $token, 401, 'password change');
    is(on_b(GET => '/users/me', bearer($token)), 401, 'and the API on B');
};

my $root = users_fixture(email => 'rev-root@example.com', superuser => 1);
my $root_token = users_token($root);

subtest 'deactivation on A' => sub {
    my $id = users_fixture(email => 'rev-inactive@example.com');
    my $token = users_token($id);
    warm($token);
    is(on_a(PUT => "/users/$id", { %{ bearer($root_token) }, %$json },
            '{"is_active":false}'), 200, 'deactivated on A');
    refused_within_a_second(GET => '/guarded', $token, 401, 'deactivation');
    is(on_b(GET => '/profile/me', bearer($token)), 401, 'and the API on B');
};

subtest 'demotion on A' => sub {
    my $id = users_fixture(email => 'rev-demoted@example.com', superuser => 1);
    my $token = users_token($id);
    warm($token, '/admin');
    is(on_b(GET => '/users', bearer($token)), 200, 'a superuser route on B');
    is(on_a(PUT => "/users/$id", { %{ bearer($root_token) }, %$json },
            '{"is_superuser":false}'), 200, 'demoted on A');
    refused_within_a_second(GET => '/admin', $token, 403, 'demotion');
    is(on_b(GET => '/users', bearer($token)), 403, 'and the API on B');
    is(on_b(GET => '/guarded', bearer($token)), 200, 'still a user');
};

# revokes with SQL while $gap runs, and asks B all along: never a 200 once
# the revocation has committed
sub never_accepted_across {
    my ($what, $gap) = @_;
    my $id = users_fixture(email => "rev-gap-$what\@example.com");
    my $token = users_token($id);
    warm($token);
    my $steps = in_step_count();
    $gap->();
    users_sql("UPDATE users SET token_version = token_version + 1 WHERE id = $id");
    my %seen;
    my $end = time + 3 * time_factor();
    while (time < $end) {
        $seen{ on_b(GET => '/guarded', bearer($token)) // 'none' }++;
        sleep 0.02;
    }
    ok(!$seen{200}, "$what: the revoked token was never let in ("
       . join(', ', map { "$_ x$seen{$_}" } sort keys %seen) . ')');
    wait_in_step($steps + 2, "again after $what");
    my $fresh = users_fixture(email => "rev-after-$what\@example.com");
    my ($before) = $b->read_log(0);
    warm(users_token($fresh));
    my ($after) = $b->read_log(length $before);
    my $hits = () = $after =~ /users state of user $fresh: known/g;
    ok($hits >= 2, "$what: the fast path is back ($hits answers from memory)");
}

# a session of the user, as a login makes one, and an access token of it
sub session_of {
    my ($id) = @_;
    return users_sql("INSERT INTO sessions (user_id, expires_at,"
        . " refresh_expires_at, refresh_hash) VALUES ($id,"
        . " now() + interval '1 day', now() + interval '1 day',"
        . " decode(md5(random()::text), 'hex')) RETURNING id");
}

sub session_token {
    my ($id, $sid) = @_;
    return users_token($id, claims => sprintf(
        '{"exp":%d,"iat":%d,"sid":"%s","sub":"%s","ver":0}',
        time + 600, time, $sid, $id));
}

# the listeners' backends: the last statement each ran is the catch-up
my $LISTENERS = "FROM pg_stat_activity WHERE query LIKE '%FROM auth_changes%'"
    . " AND pid <> pg_backend_pid()";

sub listener_count { users_sql("SELECT count(*) $LISTENERS") }

# SQL run first in the same statement, then the kill; how many were killed
sub kill_listeners {
    my ($before) = @_;
    # committed first: in the kill's transaction it would commit after the
    # killed listeners may have connected again
    users_sql($before) if $before;
    return users_sql("SELECT count(pg_terminate_backend(pid)) $LISTENERS");
}

sub end_session {
    users_sql("UPDATE sessions SET ended_at = now(),"
              . " refresh_expires_at = now() WHERE id = '$_[0]'");
}

# what a request for the token gets on A and on B, from every worker
sub answers_on_both {
    my ($token, $guarded, $me, $verify, $what) = @_;
    for my $on ([A => \&on_a], [B => \&on_b]) {
        my ($name, $ask) = @$on;
        for (1 .. 3) {
            is($ask->(GET => '/guarded', bearer($token)), $guarded,
               "$what: $name /guarded");
            is($ask->(GET => '/users/me', bearer($token)), $me,
               "$what: $name /users/me");
            is($ask->(GET => '/auth/verify', bearer($token)), $verify,
               "$what: $name /auth/verify");
        }
    }
}

subtest 'a session ended' => sub {
    my $id = users_fixture(email => 'rev-session@example.com');
    my ($ended, $other) = (session_of($id), session_of($id));
    my $token = session_token($id, $ended);
    my $kept = session_token($id, $other);
    my $plain = users_token($id);
    answers_on_both($_, 200, 200, 204, 'before') for $token, $kept, $plain;
    my ($before) = $b->read_log(0);

    end_session($ended);
    my $start = time;
    for my $on ([A => \&on_a], [B => \&on_b]) {
        my ($name, $ask) = @$on;
        for my $path ('/guarded', '/users/me') {
            my $got;
            while (1) {
                $got = $ask->(GET => $path, bearer($token));
                last if $got == 401 || time - $start > 1;
                sleep 0.01;
            }
            is($got, 401, sprintf "%s answers GET %s with 401 (%.3f s after"
               . " the end)", $name, $path, time - $start);
        }
    }

    answers_on_both($token, 401, 401, 401, 'the ended session');
    answers_on_both($kept, 200, 200, 204, 'another session');
    answers_on_both($plain, 200, 200, 204, 'no session');

    my ($after) = $b->read_log(length $before);
    like($after, qr/users state of user $id: known, session ended/,
         'B refused it from shared memory');
    unlike($after, qr/users state of user $id loaded/, 'without a query');
};

subtest 'a session ended while the listeners are down' => sub {
    my $id = users_fixture(email => 'rev-session-gap@example.com');
    my ($ended, $other) = (session_of($id), session_of($id));
    my $token = session_token($id, $ended);
    my $kept = session_token($id, $other);
    warm($token);
    my $steps = in_step_count();
    my ($before) = $b->read_log(0);
    # this test's statements as a superuser, whom the limit below lets in
    local $ENV{TEST_NGINX_PG_CONNINFO}
        = $ENV{TEST_NGINX_PG_CONNINFO} =~ s/\buser=\S+/user=postgres/r;
    # the listeners killed and kept from coming back (their role may
    # connect no more; the pools' connections stay) until both paths were
    # seen: they try again within a second, sooner than a request a byte
    # at a time (mockeagain) ends
    my $n = kill_listeners("ALTER DATABASE users CONNECTION LIMIT 0");
    ok($n >= 4, "the listeners of both instances killed ($n)");
    end_session($ended);
    my %seen;
    my $end = time + 3 * time_factor();
    while (time < $end) {
        $seen{ on_b(GET => $_, bearer($token)) // 'none' }++
            for '/guarded', '/users/me';
        sleep 0.02;
    }
    ok(!$seen{200} && !$seen{'none'}, 'the ended session was never let in ('
       . join(', ', map { "$_ x$seen{$_}" } sort keys %seen) . ')');
    users_sql("ALTER DATABASE users CONNECTION LIMIT -1");
    wait_in_step($steps + 2, 'again after the session ended');
    # A's too, before the next subtest kills them all again
    my $deadline = time + 10 * time_factor();
    sleep 0.05 while listener_count() < 4 && time < $deadline;
    cmp_ok(listener_count(), '>=', 4, 'the listeners of both instances back');
    my ($after) = $b->read_log(length $before);
    like($after, qr/users state of user $id loaded: .* session ended:1/,
         'the database refused it while the listeners were down');
    like($after, qr/users auth: session "$ended" asked of the database/,
         'the API asked the database too');

    ($before) = $b->read_log(0);
    answers_on_both($token, 401, 401, 401, 'after the catch-up');
    answers_on_both($kept, 200, 200, 204, 'another session');
    ($after) = $b->read_log(length $before);
    like($after, qr/users state of user $id: known, session ended/,
         'the catch-up put the ended session in shared memory');
};

subtest 'listeners killed with pg_terminate_backend' => sub {
    never_accepted_across(terminated => sub {
        my $n = kill_listeners();
        ok($n >= 4, "the listeners of both instances killed ($n)");
    });
    like(($b->read_log(0))[0], qr/revocation listener down/,
         'B said the fast path was off');
};

subtest 'PostgreSQL restarted' => sub {
    never_accepted_across(restarted => sub {
        pg_ctl('stop');
        pg_ctl('start');
    });
};

unlike(error_log_text(), qr/\[(alert|crit)\]|exited on signal/, 'A: no alert or crash');
unlike(($b->read_log(0))[0], qr/\[(alert|crit)\]|exited on signal/, 'B: no alert or crash');

nginx_stop();
done_testing();
