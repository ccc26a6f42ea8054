# A password lives in a worker's memory only while it is needed: after the
# request, no copy the module made or read (body buffers, the part read
# with the headers, decoded values, jansson's strings) is left, not even in
# memory given back to the allocator.
use strict;
use warnings;
no warnings "portable";    # 64-bit addresses in /proc/PID/maps
use Test::More;
use t::lib::Scenario;
use t::lib::Fixtures;

plan skip_all => 'valgrind keeps its own copies of freed memory'
    if $ENV{TEST_NGINX_USE_VALGRIND};

$ENV{TEST_NGINX_TIMEOUT} = 30 * time_factor();

# how often $needle occurs in the readable, writable memory of $pid
sub occurrences {
    my ($pid, $needle) = @_;
    open my $maps, '<', "/proc/$pid/maps" or die "maps: $!\n";
    open my $mem, '<:raw', "/proc/$pid/mem" or die "mem: $!\n";
    my $n = 0;
    while (<$maps>) {
        my ($from, $to, $perms) = /^([0-9a-f]+)-([0-9a-f]+) (\S+)/ or next;
        next unless $perms =~ /^rw/;
        my $len = hex($to) - hex($from);
        next if $len > 1 << 30;    # sanitizers' shadow reservations
        sysseek($mem, hex($from), 0) or next;
        my $got = sysread($mem, my $bytes, $len) or next;
        $n += () = $bytes =~ /\Q$needle\E/g;
    }
    return $n;
}

my @secrets = map { sprintf 'Wipe%d-%08x', $_, int rand 0xffffffff } 1 .. 4;

subtest 'no plaintext password is left in the worker' => sub {
    start_nginx(master => 1, workers => 1);
    my ($worker) = nginx_workers(1);
    my $email = "wipe-$$\@example.com";
    my $json = { 'Content-Type' => 'application/json' };
    my $form = { 'Content-Type' => 'application/x-www-form-urlencoded' };
    users_sql("DELETE FROM users WHERE lower(email) = '$email'");

    is((http_request(POST => '/auth/register', $json,
        qq({"email":"$email","password":"$secrets[0]"})))[0], 201, 'register');
    my ($status, undef, $body) = http_request(POST => '/auth/login', $form,
        "username=$email&password=$secrets[0]");
    is($status, 200, 'login');
    my $token = json_decode($body)->{access_token};
    is((http_request(POST => '/auth/login', $form,
        "username=$email&password=$secrets[1]"))[0], 401, 'a wrong password');
    is((http_request(PUT => '/users/me', { %$json, Authorization => "Bearer $token" },
        qq({"password":"$secrets[2]","current_password":"$secrets[0]"})))[0],
       200, 'a password change');
    is((http_request(POST => '/auth/register', $json,
        qq({"email":"not an email","password":"$secrets[3]"})))[0], 422,
       'a refused registration');

    for my $i (0 .. $#secrets) {
        is(occurrences($worker, $secrets[$i]), 0, "password $i: no copy left");
    }
    nginx_stop();
};

done_testing();
