# The shipped configurations pass "nginx -t" with the module, and the
# migration runner is idempotent and safe when run twice at once.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use POSIX ();

my $nginx = $ENV{TEST_NGINX_BINARY} // '/usr/sbin/nginx';
my $module = $ENV{TEST_NGINX_USERS_MODULE} or die "run through scripts/test.sh\n";
my $prefix = tempdir(CLEANUP => 1);

local $ENV{DATABASE_URL} = $ENV{TEST_NGINX_PG_CONNINFO};
local $ENV{SECRET_KEY} = 'x' x 48;
local $ENV{FIRST_SUPERUSER_EMAIL} = 'admin@example.com';
local $ENV{FIRST_SUPERUSER_PASSWORD} = 'adminpassword123';

# (conf/nginx.prod.conf loads the packaged module: the image test checks it)
my $out = `$nginx -t -q -p $prefix/ -c $ENV{PWD}/conf/nginx.conf -g 'load_module $module;' 2>&1`;
is($?, 0, 'nginx -t accepts conf/nginx.conf') or diag $out;

{
    local $ENV{SECRET_KEY} = 'short';
    $out = `$nginx -t -p $prefix/ -c $ENV{PWD}/conf/nginx.conf -g 'load_module $module;' 2>&1`;
    isnt($?, 0, 'nginx -t refuses a short JWT secret');
    like($out, qr/at least 32 are needed/, '... and says why');
}

# a fresh database, migrated twice at once, then once more
my $db = "users_migrate_$$";
(my $admin = $ENV{TEST_NGINX_PG_CONNINFO}) =~ s/user=\S+/user=postgres/;
system('psql', $admin, '-X', '-qc', "CREATE DATABASE $db OWNER users") == 0
    or die "createdb failed\n";
(my $conninfo = $ENV{TEST_NGINX_PG_CONNINFO}) =~ s/dbname=\S+/dbname=$db/;

my @pids = map {
    my $pid = fork // die;
    if (!$pid) { exec('sql/migrate.sh', $conninfo) or POSIX::_exit(1) }
    $pid;
} 1 .. 2;
my @rc = map { waitpid($_, 0); $? } @pids;
is_deeply(\@rc, [0, 0], 'two migrations at once both succeed');
is(system('sql/migrate.sh', $conninfo), 0, 'a third one has nothing to do');

my @files = map { m{/(\d{4}_[^/]+)\.sql$} } glob 'sql/[0-9]*.sql';
my $applied = `psql '$conninfo' -X -qAt -c 'SELECT version FROM schema_migrations ORDER BY version'`;
is_deeply([split /\n/, $applied], \@files, 'each migration applied and recorded once');

system('psql', $admin, '-X', '-qc', "DROP DATABASE $db");

done_testing();
