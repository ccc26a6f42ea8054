# The first superuser: retried until it exists, never an escalation of
# somebody else's account, and a start that says when it cannot be made.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep);
use t::lib::Scenario;
use t::lib::Fixtures;

my $email = 'admin@example.com';    # the suite's users_first_superuser

sub superusers {
    users_sql("SELECT count(*) FROM users WHERE lower(email) = '$email' AND is_superuser");
}

subtest 'a failed creation is retried on a timer' => sub {
    users_sql("DELETE FROM users WHERE lower(email) = '$email'");
    # refuses the insert, on an open connection, until it is dropped
    users_sql("ALTER TABLE users ADD CONSTRAINT test_no_admin"
              . " CHECK (lower(email) <> '$email') NOT VALID");
    start_nginx(master => 1, workers => 1);
    sleep 0.5 * time_factor();
    like(error_log_text(), qr/creating the first superuser "\Q$email\E" failed, retrying in \d+ ms/,
         'the failure is logged with the retry');
    users_sql("ALTER TABLE users DROP CONSTRAINT test_no_admin");
    my $found;
    for (1 .. 40) {
        last if ($found = superusers()) == 1;
        sleep 0.25 * time_factor();
    }
    is($found, 1, 'created within 10 s of the database accepting it, without a request');
    nginx_stop();
};

subtest 'an address that belongs to an ordinary user is not escalated' => sub {
    my $id = users_fixture(email => $email);
    for my $start (1, 2) {
        start_nginx(master => 1, workers => 2);
        my $log = '';
        for (1 .. 20) {
            last if ($log = error_log_text()) =~ /not a superuser/;
            sleep 0.25 * time_factor();
        }
        like($log, qr/\[error\].*the first superuser's address "\Q$email\E" belongs to a user who is not a superuser/,
             "start $start: the error log names the problem");
        nginx_stop();
    }
    is(users_sql("SELECT is_superuser FROM users WHERE id = $id"), 'f', 'nothing was escalated');
    users_sql("DELETE FROM users WHERE id = $id");
};

done_testing();
