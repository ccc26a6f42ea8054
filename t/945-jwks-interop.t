# Signing keys against an independent implementation, and their rotation.
# Debian's python3-jwt with python3-cryptography verifies the module's
# tokens from the JWKS document alone and signs tokens the module must
# take; keys made by scripts/keygen.sh are rotated by reloads under wrk
# (add a key, make it the signer, drop the old one): no request fails,
# old tokens work while their key is in the set, and are 401 once not.
use strict;
use warnings;
use Test::More;
use MIME::Base64 ();
use t::lib::Scenario;
use t::lib::Fixtures;
use t::lib::Keys;

my $tmp = $ENV{TEST_NGINX_TMP} // die "run through scripts/test.sh\n";
my $dir = "$tmp/945-keys";
system('rm', '-rf', $dir);
mkdir $dir or die "$dir: $!";

# scripts/keygen.sh's own JWKs: what the module must publish
my %jwk;
for (['eddsa', 'k-old'], ['es256', 'k-new']) {
    my ($kind, $kid) = @$_;
    $jwk{$kid} = `scripts/keygen.sh $kind $kid $dir/$kid.pem`;
    is($?, 0, "keygen.sh $kind $kid");
    chomp $jwk{$kid};
    is((stat "$dir/$kid.pem")[2] & 07777, 0600, "... $kid.pem is 0600");
}

my $alice = users_fixture(email => 'jwks-alice@example.com', name => 'Alice');
my $pw = users_password();

sub key_line {
    my ($kid, $alg, $sign) = @_;
    return "users_jwt_key kid=$kid alg=$alg file:$dir/$kid.pem"
        . ($sign ? ' sign' : '') . ";\n";
}

sub login {
    my ($status, undef, $body) = http_request(POST => '/auth/login',
        { 'Content-Type' => 'application/x-www-form-urlencoded' },
        "username=jwks-alice\@example.com&password=$pw");
    is($status, 200, 'login') or diag $body;
    return json_decode($body)->{access_token};
}

sub kid_of {
    my ($h) = split /\./, shift;
    $h =~ tr{-_}{+/};
    return json_decode(MIME::Base64::decode_base64($h))->{kid};
}

sub me {
    my ($token) = @_;
    return (http_request(GET => '/users/me',
                         { Authorization => "Bearer $token" }))[0];
}

sub jwks {
    my ($status, $h, $body) = http_request(GET => '/.well-known/jwks.json');
    is($status, 200, 'GET /.well-known/jwks.json');
    is($h->{'cache-control'}, 'public, max-age=300', '... cacheable');
    return $body;
}

# reloads to $http_config while wrk sends $token's requests: wrk's result
sub reload_under_wrk {
    my ($http_config, $token) = @_;
    # with one-byte socket I/O (scripts/mockeagain.sh) the new workers take
    # seconds to prepare their statements: wrk runs on for as long
    my $wrk = wrk_run($ENV{MOCKEAGAIN} ? int(3 * time_factor()) : 3, '/users/me',
                      'Connection: close', "Authorization: Bearer $token");
    select undef, undef, undef, 0.7;
    nginx_reload(http_config => $http_config);
    select undef, undef, undef, 0.5;
    nginx_reload();
    my $r = $wrk->();
    # with one-byte socket I/O (scripts/mockeagain.sh) a closed connection
    # a request and two reloads leave wrk few: some is what matters there
    cmp_ok($r->{requests}, '>', $ENV{MOCKEAGAIN} ? 0 : 20 / time_factor(),
           "wrk: $r->{requests} requests");
    is($r->{non2xx}, 0, '... none answered with an error') or diag $r->{out};
    is(join(' ', @{$r}{qw(connect read write timeout)}), '0 0 0 0',
       '... no socket error') or diag $r->{out};
}

# 1. k-old (EdDSA) signs; no users_jwt_secret
start_nginx(master => 1, workers => 2,
            http_config => "# no users_jwt_secret\n" . key_line('k-old', 'EdDSA', 1));

my $jwks = jwks();
is($jwks, qq({"keys":[$jwk{'k-old'}]}), 'the JWKS is keygen.sh\'s JWK');

my $old = login();
is(kid_of($old), 'k-old', 'the token names k-old');
is(keys_python_verify($old, $jwks), "ok $alice k-old",
   'python3-jwt verifies it with the JWKS alone');
is(me($old), 200, 'the module takes it');

my $py_old = keys_token($alice, key => "$dir/k-old.pem", alg => 'EdDSA',
                        kid => 'k-old');
is(me($py_old), 200, 'the module takes python3-jwt\'s EdDSA token');

# 2. add k-new (ES256) and make it the signer; k-old still verifies
my $both = "# no users_jwt_secret\n" . key_line('k-old', 'EdDSA')
         . key_line('k-new', 'ES256', 1);
SKIP: {
    skip 'wrk is not installed', 3 unless `sh -c 'command -v wrk'`;
    reload_under_wrk($both, $old);
}
nginx_reload(http_config => $both);

$jwks = jwks();
is($jwks, qq({"keys":[$jwk{'k-old'},$jwk{'k-new'}]}), 'the JWKS has both keys');

my $new = login();
is(kid_of($new), 'k-new', 'tokens now name k-new');
is(keys_python_verify($new, $jwks), "ok $alice k-new",
   'python3-jwt verifies the ES256 token with the JWKS alone');
is(me($new), 200, 'the module takes it');
is(me($old), 200, 'k-old\'s token still works while k-old is in the set');

my $py_new = keys_token($alice, key => "$dir/k-new.pem", alg => 'ES256',
                        kid => 'k-new');
is(me($py_new), 200, 'the module takes python3-jwt\'s ES256 token');

# 3. drop k-old after the token lifetime
my $dropped = "# no users_jwt_secret\n" . key_line('k-new', 'ES256', 1);
SKIP: {
    skip 'wrk is not installed', 3 unless `sh -c 'command -v wrk'`;
    reload_under_wrk($dropped, $new);
}
nginx_reload(http_config => $dropped);

is(jwks(), qq({"keys":[$jwk{'k-new'}]}), 'the JWKS has k-new only');
is(me($old), 401, 'k-old\'s token is 401 once k-old is dropped');
is(me($py_old), 401, '... and python3-jwt\'s');
is(me($new), 200, 'k-new\'s token still works');

my @bad = grep { /\[(alert|crit|emerg)\]|exited on signal/ }
    split /\n/, error_log_text();
ok(!@bad, 'no crash, no alert') or diag join "\n", @bad[0 .. ($#bad < 4 ? $#bad : 4)];

nginx_stop();
done_testing();
