# Signing keys: users_jwt_key, verification by kid with that key's
# algorithm only, the JWKS document, and what "nginx -t" refuses.
use t::lib::Users;
use t::lib::Fixtures;
use t::lib::Keys;

our $alice = users_fixture(email => 'keys-alice@example.com', name => 'Alice');
our $pw = users_password();

sub slurp { open my $fh, '<', keys_dir() . "/$_[0]" or die "$_[0]: $!"; local $/; my $s = <$fh>; $s =~ s/[\r\n]+$//; $s }
our $hs1 = slurp('hs1.secret');
our $ed1_pub = slurp('ed1.pub.pem');

# ed1 signs; es1 and hs1 verify; edpub is ed2's public half only
our $keys = <<'_EOC_';
users_jwt_key kid=ed1 alg=EdDSA file:$TEST_NGINX_KEYS/ed1.pem sign;
users_jwt_key kid=es1 alg=ES256 file:$TEST_NGINX_KEYS/es1.pem;
users_jwt_key alg=HS256 kid=hs1 env:USERS_TEST_HS1;
users_jwt_key kid=edpub alg=EdDSA file:$TEST_NGINX_KEYS/ed2.pub.pem;
_EOC_
$ENV{USERS_TEST_HS1} = $hs1;
our $env = "env USERS_TEST_HS1;\n";

our %token = (
    eddsa      => keys_token($alice, key => 'ed1.pem', alg => 'EdDSA', kid => 'ed1'),
    es256      => keys_token($alice, key => 'es1.pem', alg => 'ES256', kid => 'es1'),
    hs256_kid  => users_token($alice, secret => $hs1,
                              header => '{"alg":"HS256","kid":"hs1","typ":"JWT"}'),
    hs256      => users_token($alice),
    verify_only => keys_token($alice, key => 'ed2.pem', alg => 'EdDSA', kid => 'edpub'),
    other_kid  => keys_token($alice, key => 'ed2.pem', alg => 'EdDSA', kid => 'ed1'),
    unknown    => keys_token($alice, key => 'ed1.pem', alg => 'EdDSA', kid => 'nope'),
    es_as_ed   => keys_token($alice, key => 'es1.pem', alg => 'ES256', kid => 'ed1'),
    confusion  => users_token($alice, secret => $ed1_pub,
                              header => '{"alg":"HS256","kid":"ed1","typ":"JWT"}'),
    confusion_nokid => users_token($alice, secret => $ed1_pub),
    hs1_suite  => users_token($alice,
                              header => '{"alg":"HS256","kid":"hs1","typ":"JWT"}'),
    extra_header => users_token($alice, secret => $hs1,
                    header => '{"alg":"HS256","kid":"hs1","typ":"JWT","jku":"x"}'),
    kid_number => users_token($alice, secret => $hs1,
                              header => '{"alg":"HS256","kid":1,"typ":"JWT"}'),
    eddsa_nokid => keys_token($alice, key => 'ed1.pem', alg => 'EdDSA'),
    expired    => keys_token($alice, key => 'es1.pem', alg => 'ES256', kid => 'es1',
                             exp => time - 5),
    tampered   => do {
        my ($h, $c, $s) = split /\./, keys_token($alice, key => 'es1.pem',
                                                 alg => 'ES256', kid => 'es1');
        substr($s, 10, 1) = substr($s, 10, 1) eq 'A' ? 'B' : 'A';
        "$h.$c.$s";
    },
);

repeat_each(1);

# Assertions per block: 3 (status, body, one error log pattern); TEST 11
# checks four requests (+9) and TEST 12 two (+3), TEST 14 and 15 one
# header each (+2); the must_die blocks (TEST 17 to 25) check that nginx
# dies and one message (2 each: -9).
plan tests => repeat_each() * (3 * blocks() + 5);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: an EdDSA token verifies
--- main_config eval: $::env
--- http_config eval: $::keys
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::token{eddsa}"
--- error_code: 200
--- response_body_like: "email" : "keys-alice@example.com"
--- no_error_log
[error]



=== TEST 2: an ES256 token verifies
--- main_config eval: $::env
--- http_config eval: $::keys
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::token{es256}"
--- error_code: 200
--- response_body_like: "email" : "keys-alice@example.com"
--- no_error_log
[error]



=== TEST 3: an HS256 token of a key with a kid verifies
--- main_config eval: $::env
--- http_config eval: $::keys
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::token{hs256_kid}"
--- error_code: 200
--- response_body_like: "email" : "keys-alice@example.com"
--- no_error_log
[error]



=== TEST 4: a token without kid verifies with users_jwt_secret
--- main_config eval: $::env
--- http_config eval: $::keys
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::token{hs256}"
--- error_code: 200
--- response_body_like: "email" : "keys-alice@example.com"
--- no_error_log
[error]



=== TEST 5: a verify-only key (SPKI public key) verifies its tokens
--- main_config eval: $::env
--- http_config eval: $::keys
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::token{verify_only}"
--- error_code: 200
--- response_body_like: "email" : "keys-alice@example.com"
--- no_error_log
[error]



=== TEST 6: a token whose kid names another key is 401
--- main_config eval: $::env
--- http_config eval: $::keys
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::token{other_kid}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- error_log
users token signature of kid "ed1": -5



=== TEST 7: an unknown kid is 401, and no key is tried
--- main_config eval: $::env
--- http_config eval: $::keys
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::token{unknown}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- error_log
users token refused: unknown kid, alg "EdDSA"



=== TEST 8: an ES256 token under an EdDSA key's kid is 401
--- main_config eval: $::env
--- http_config eval: $::keys
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::token{es_as_ed}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- error_log
users token refused: the kid, alg "ES256"



=== TEST 9: HS256 signed with an EdDSA key's public bytes is 401
--- main_config eval: $::env
--- http_config eval: $::keys
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::token{confusion}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- error_log
users token refused: the kid, alg "HS256"



=== TEST 10: HS256 without kid signed with the public bytes is 401
--- main_config eval: $::env
--- http_config eval: $::keys
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::token{confusion_nokid}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- error_log
users token signature of kid "": -5



=== TEST 11: a key's kid with another key's signature, or other headers, is 401
--- main_config eval: $::env
--- http_config eval: $::keys
--- request eval
["GET /auth/me", "GET /auth/me", "GET /auth/me", "GET /auth/me"]
--- more_headers eval
["Authorization: Bearer $::token{hs1_suite}",
 "Authorization: Bearer $::token{extra_header}",
 "Authorization: Bearer $::token{kid_number}",
 "Authorization: Bearer $::token{tampered}"]
--- error_code eval
[401, 401, 401, 401]
--- response_body eval
['{"detail":"Could not validate credentials"}',
 '{"detail":"Could not validate credentials"}',
 '{"detail":"Could not validate credentials"}',
 '{"detail":"Could not validate credentials"}']
--- no_error_log
[error]



=== TEST 12: without users_jwt_secret, a token without kid is 401
--- main_config eval: $::env
--- http_config eval
"# no users_jwt_secret\n$::keys"
--- request eval
["GET /auth/me", "GET /auth/me"]
--- more_headers eval
["Authorization: Bearer $::token{eddsa_nokid}",
 "Authorization: Bearer $::token{hs256}"]
--- error_code eval
[401, 401]
--- response_body eval
['{"detail":"Could not validate credentials"}',
 '{"detail":"Could not validate credentials"}']
--- error_log
users token refused: no kid



=== TEST 13: an expired ES256 token is 401
--- main_config eval: $::env
--- http_config eval: $::keys
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::token{expired}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- no_error_log
[error]



=== TEST 14: login signs with the key marked sign and names it
--- main_config eval: $::env
--- http_config eval: $::keys
--- request eval
"POST /auth/login\nusername=keys-alice\@example.com&password=$::pw"
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 200
--- response_headers
Cache-Control: no-store
--- response_body_like: ^\{"access_token":"eyJhbGciOiJFZERTQSIsImtpZCI6ImVkMSIsInR5cCI6IkpXVCJ9\.[\w-]+\.[\w-]{86}","token_type":"bearer","expires_in":1800,"refresh_token":"[\w-]{64}","refresh_expires_in":604800\}$
--- no_error_log
[error]



=== TEST 15: the JWKS holds the public half of each asymmetric key
--- main_config eval: $::env
--- http_config eval: $::keys
--- request
GET /.well-known/jwks.json
--- error_code: 200
--- response_headers
Cache-Control: public, max-age=300
--- response_body_like: ^\{"keys":\[\{"kty":"OKP","crv":"Ed25519","x":"[\w-]{43}","kid":"ed1","alg":"EdDSA","use":"sig"\},\{"kty":"EC","crv":"P-256","x":"[\w-]{43}","y":"[\w-]{43}","kid":"es1","alg":"ES256","use":"sig"\},\{"kty":"OKP","crv":"Ed25519","x":"[\w-]{43}","kid":"edpub","alg":"EdDSA","use":"sig"\}\]\}$
--- no_error_log
[error]



=== TEST 16: with users_jwt_secret alone, the JWKS is empty
--- request
GET /.well-known/jwks.json
--- error_code: 200
--- response_body: {"keys":[]}
--- no_error_log
[error]



=== TEST 17: nginx -t refuses a P-384 key as ES256, naming the line
--- http_config
users_jwt_key kid=p384 alg=ES256 file:$TEST_NGINX_KEYS/p384.pem;
--- must_die
--- error_log eval
qr/kid "p384": "file:\S+p384\.pem" is not a P-256 key \(alg=ES256\) in \S+nginx\.conf:\d+/



=== TEST 18: nginx -t refuses an Ed25519 key as ES256
--- http_config
users_jwt_key kid=ed alg=ES256 file:$TEST_NGINX_KEYS/ed1.pem;
--- must_die
--- error_log eval
qr/kid "ed": "file:\S+ed1\.pem" is not a P-256 key/



=== TEST 19: nginx -t refuses a file that is no PEM key
--- http_config
users_jwt_key kid=junk alg=EdDSA file:$TEST_NGINX_KEYS/hs1.secret;
--- must_die
--- error_log eval
qr/kid "junk": "file:\S+hs1\.secret" is neither a PEM private key \(PKCS#8\) nor a PEM public key \(SPKI\) \(OpenSSL: [^)]+\) in \S+nginx\.conf:\d+/



=== TEST 20: nginx -t refuses a duplicate kid
--- http_config
users_jwt_key kid=ed1 alg=EdDSA file:$TEST_NGINX_KEYS/ed1.pem;
users_jwt_key kid=ed1 alg=EdDSA file:$TEST_NGINX_KEYS/ed2.pem;
--- must_die
--- error_log eval
qr/duplicate kid "ed1" in \S+nginx\.conf:\d+/



=== TEST 21: nginx -t refuses keys without a signer
--- http_config
# no users_jwt_secret
users_jwt_key kid=ed1 alg=EdDSA file:$TEST_NGINX_KEYS/ed1.pem;
--- must_die
--- error_log
no "users_jwt_key" is marked "sign" and no "users_jwt_secret" is set



=== TEST 22: nginx -t refuses a public-only key marked sign
--- http_config
users_jwt_key kid=pub alg=EdDSA file:$TEST_NGINX_KEYS/ed1.pub.pem sign;
--- must_die
--- error_log eval
qr/kid "pub" is marked "sign" but "file:\S+ed1\.pub\.pem" holds a public key only in \S+nginx\.conf:\d+/



=== TEST 23: nginx -t refuses two signers
--- http_config
users_jwt_key kid=ed1 alg=EdDSA file:$TEST_NGINX_KEYS/ed1.pem sign;
users_jwt_key kid=es1 alg=ES256 file:$TEST_NGINX_KEYS/es1.pem sign;
--- must_die
--- error_log eval
qr/kid "es1" is marked "sign" but kid "ed1" already is: exactly one key signs in \S+nginx\.conf:\d+/



=== TEST 24: nginx -t refuses a short HS256 key and an unknown alg
--- http_config
users_jwt_key kid=short alg=HS256 file:$TEST_NGINX_KEYS/short.secret;
--- must_die
--- error_log eval
qr/kid "short": the secret from "file:\S+short\.secret" is 12 bytes long, at least 32 are needed/



=== TEST 25: nginx -t refuses an unknown alg
--- http_config
users_jwt_key kid=rs alg=RS256 file:$TEST_NGINX_KEYS/ed1.pem;
--- must_die
--- error_log
kid "rs": unknown alg "RS256" (EdDSA, ES256 or HS256)
