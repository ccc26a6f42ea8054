# Self-test of the Test::Nginx harness with nginx built-ins only (no module):
# the same file must pass under openresty's Test::Nginx::Socket and under
# the local one in t/harness/.
use Test::Nginx::Socket;

repeat_each(2);

# Assertions per repetition: 3 for most blocks (status, body, one log
# pattern); TEST 2 has +2 (headers), TEST 6 +6 (three requests), TEST 7 +3
# (a pipeline of two), TEST 9 +2, TEST 12 +1 and TEST 14 +2, while TEST 10,
# 11 and 13 have one fewer.
plan tests => repeat_each() * (3 * blocks() + 13);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: return with a body
--- config
    location = /hello {
        return 200 "hello\n";
    }
--- request
GET /hello
--- wait: 0.05
--- response_body
hello
--- no_error_log
[error]



=== TEST 2: response headers, repeated, present and absent
--- config
    location = /h {
        add_header X-Foo bar;
        add_header X-Foo baz;
        return 200 "h\n";
    }
--- request
GET /h
--- response_headers
X-Foo: bar, baz
!X-Bar
Content-Type: text/plain
--- response_body
h



=== TEST 3: a 404 of nginx's own, logged at [error]
--- config
    # only the harness's automatic location /
--- request
GET /nowhere
--- error_code: 404
--- response_body_like: 404 Not Found
--- error_log
No such file or directory



=== TEST 4: error_page to a named location
--- config
    error_page 404 = @nf;
    location @nf {
        return 200 "not found, handled\n";
    }
--- request
GET /missing
--- error_code: 200
--- response_body
not found, handled
--- no_error_log
[alert]



=== TEST 5: a POST body is trimmed and gets its Content-Length
--- config
    location = /post {
        return 200 "$request_method $content_length $http_content_type\n";
    }
--- more_headers
Content-Type: application/json
--- request
POST /post
{"a": 1}
--- response_body
POST 8 application/json
--- no_error_log
[error]



=== TEST 6: a request array, one connection per request
--- config
    location /dav/ {
        root $TEST_NGINX_SERVER_ROOT/html;
        dav_methods PUT DELETE;
        create_full_put_path on;
    }
--- request eval
["PUT /dav/note.txt\nstored text", "GET /dav/note.txt", "DELETE /dav/note.txt"]
--- error_code eval
[201, 200, 204]
--- response_body eval
["", "stored text", ""]
--- no_error_log
[error]



=== TEST 7: pipelined requests on one connection
--- config
    location = /a {
        return 200 "a\n";
    }
    location = /b {
        return 201 "b\n";
    }
--- pipelined_requests eval
["GET /a", "GET /b"]
--- error_code eval
[200, 201]
--- response_body eval
["a\n", "b\n"]
--- no_error_log
[error]



=== TEST 8: more_headers reach nginx, Host is added
--- config
    location = /hdr {
        return 200 "x=$http_x_test host=$host\n";
    }
--- more_headers
X-Test: abc
--- request
GET /hdr
--- response_body
x=abc host=localhost
--- no_error_log
[error]



=== TEST 9: response_headers_like and raw_response_headers_like
--- config
    location = /like {
        return 200 "like\n";
    }
--- request
GET /like
--- response_headers_like
Server: nginx/[\d.]+
Content-Length: \d+
--- raw_response_headers_like: ^HTTP/1.1 200 OK\r\n
--- response_body_like chomp
^like$



=== TEST 10: a body without a trailing newline, error_code_like
--- config
    location = /nonl {
        return 200 "no newline";
    }
--- request
GET /nonl
--- error_code_like: ^2\d\d$
--- response_body chomp
no newline



=== TEST 11: an explicit HTTP/1.0 request line, response_body_unlike
--- config
    location = /old {
        return 200 "$server_protocol\n";
    }
--- request
GET /old HTTP/1.0
--- response_body_unlike: HTTP/1\.1



=== TEST 12: a block's own log level
--- log_level: warn
--- config
    location = /quiet {
        return 200 "quiet\n";
    }
--- request
GET /quiet
--- response_body
quiet
--- no_error_log
[debug]
[notice]



=== TEST 13: keep-alive: the client waits for its timeout, abort makes it no failure
--- config
    location = /ka {
        return 200 "ka\n";
    }
--- more_headers
Connection: keep-alive
--- request
GET /ka
--- timeout: 300ms
--- abort
--- response_body
ka



=== TEST 14: error_log patterns as an eval array with qr//
--- config
    # only the harness's automatic location /
--- request
GET /nofile.txt
--- error_code: 404
--- response_body_like: 404 Not Found
--- error_log eval
[qr/open\(\) ".*nofile\.txt" failed/, "No such file or directory"]
--- no_error_log
[alert]
