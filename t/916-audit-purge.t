# sql/audit-purge.sh (the image's audit-purge, the CronJob's command):
# the events past the retention go, in batches that each say what they
# did, and the newer ones stay; a bad setting is refused before any work.
use strict;
use warnings;
use Test::More;
use t::lib::Fixtures;

my $conninfo = $ENV{TEST_NGINX_PG_CONNINFO} or die "TEST_NGINX_PG_CONNINFO\n";
my $mark = 'purge-test';

users_sql("DELETE FROM audit_events WHERE request_id = '$mark'");
users_sql("INSERT INTO audit_events (at, event, request_id)"
          . " SELECT now() - (g || ' days')::interval, 'logout', '$mark'"
          . " FROM generate_series(85, 96) g");

my $out = `AUDIT_RETENTION_DAYS=90 AUDIT_PURGE_BATCH=2 sql/audit-purge.sh '$conninfo' 2>&1`;
is($?, 0, 'the purge succeeds') or diag $out;
is(users_sql("SELECT string_agg(extract(day FROM now() - at)::text, ','"
             . " ORDER BY at DESC) FROM audit_events WHERE request_id = '$mark'"),
   '85,86,87,88,89', 'the 7 events 90 days old or older are gone, the 5 newer stay')
    or diag $out;
my @batches = $out =~ /^audit-purge: deleted (\d+) events older than 90 days/mg;
is_deeply(\@batches, [2, 2, 2, 1], 'in batches of 2, each reported')
    or diag $out;
like($out, qr/^audit-purge: done, 7 deleted$/m, 'and the total');

for my $bad ('AUDIT_RETENTION_DAYS=0', 'AUDIT_RETENTION_DAYS=ninety',
             'AUDIT_PURGE_BATCH=-5') {
    my $said = `$bad sql/audit-purge.sh '$conninfo' 2>&1`;
    is($? >> 8, 2, "$bad is refused")
        and like($said, qr/a whole number of at least 1/, '... saying why');
}
is(users_sql("SELECT count(*) FROM audit_events WHERE request_id = '$mark'"),
   5, 'a refused run deleted nothing');

done_testing();
