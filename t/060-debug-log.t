# The debug log at the module's seams, read as a newcomer would read it:
# the route and method, each query parked and resumed, the pool's slots
# changing state, the password task, the token cache, the finalize.  Each
# block asks for "error_log ... debug"; an nginx built without --with-debug
# writes no debug lines, so the file is skipped there.  scripts/asan.sh
# full runs it against nginx built from source --with-debug.
use t::lib::Users;

my $binary = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
my $configure = `$binary -V 2>&1`;
if ($configure !~ /--with-debug/) {
    plan skip_all => "$binary is built without --with-debug";
}

repeat_each(1);

plan tests => repeat_each() * (2 * blocks() + 14);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a query: the slot's states, parked, resumed, finalized
--- log_level: debug
--- request
GET /readyz
--- error_code: 200
--- error_log eval
# the response's filters return NGX_AGAIN (-2) where the client's socket
# takes it in parts (scripts/mockeagain.sh)
['users route "readyz" method "GET"',
 'users pg slot 0: down -> connecting',
 'users pg slot 0: connecting -> preparing',
 'users pg slot 0: preparing -> idle',
 'users pg slot 0: idle -> busy',
 'users query "users_ping" parked, 0 params',
 'users query "users_ping" resumed: PGRES_TUPLES_OK',
 qr/users finalize: (?:0|-2)(?!\d)/]
--- no_error_log
[error]



=== TEST 2: a login: the password verification posted and done
--- log_level: debug
--- request
POST /auth/login
username=debug-nobody@example.com&password=wrongpassword
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 401
--- error_log
users route "auth_login" method "POST"
users query "users_login" parked, 4 params
users password verification posted
users password task done: ok:0 rehashed:0
--- no_error_log
[error]



=== TEST 3: a bearer token not seen before misses the cache
--- log_level: debug
--- request
GET /auth/me
--- more_headers
Authorization: Bearer e30.e30.c2ln
--- error_code: 401
--- error_log
users route "auth_me" method "GET"
users token cache miss
--- no_error_log
[error]
