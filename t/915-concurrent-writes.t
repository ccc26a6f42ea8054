# Concurrent writes: nothing lost, races decided by the database.
use strict;
use warnings;
use Test::More;
use t::lib::Scenario;
use t::lib::Fixtures;

my $admin = users_fixture(email => 'cc-admin@example.com', superuser => 1);
my $json = { 'Content-Type' => 'application/json' };

subtest 'two PUTs giving two users the same email: one 200, one 409' => sub {
    my @ids = map { users_fixture(email => "cc-$_\@example.com") } 1 .. 2;
    users_sql("DELETE FROM users WHERE lower(email) = 'cc-same\@example.com'");
    start_nginx(master => 1, workers => 2);
    my %auth = (%$json, Authorization => 'Bearer ' . users_token($admin));
    my @statuses = sort { $a <=> $b } concurrent_requests(2, sub {
        my ($i) = @_;
        (http_request(PUT => "/users/$ids[$i]", \%auth,
            '{"email":"CC-Same@example.com"}'))[0];
    });
    is_deeply(\@statuses, [200, 409], 'one 200, one 409');
    is(users_sql("SELECT count(*) FROM users WHERE lower(email) = 'cc-same\@example.com'"),
       1, 'one user has it');
    nginx_stop();
};

subtest '20 concurrent preference PUTs all survive' => sub {
    my $id = users_fixture(email => 'cc-prefs@example.com');
    my %auth = (%$json, Authorization => 'Bearer ' . users_token($id));
    my @bodies = (
        '{"theme":"dark"}', '{"language":"fr-CA"}', '{"timezone":"Asia/Tokyo"}',
        '{"notifications_email":false}', '{"notifications_sms":true}',
        '{"privacy_public_profile":false}',
    );
    start_nginx(master => 1, workers => 2);
    my @statuses = concurrent_requests(20, sub {
        my ($i) = @_;
        (http_request(PUT => '/profile/me/preferences', \%auth,
            $bodies[$i % @bodies]))[0];
    });
    is_deeply(\@statuses, [(200) x 20], 'every PUT answered 200');
    my (undef, undef, $body) = http_request(GET => '/profile/me/preferences', \%auth);
    is_deeply(json_decode($body), {
        theme => 'dark', language => 'fr-CA', timezone => 'Asia/Tokyo',
        notifications_email => JSON::PP::false, notifications_sms => JSON::PP::true,
        privacy_public_profile => JSON::PP::false,
    }, 'the stored object reflects every one of them');
    nginx_stop();
};

done_testing();
