package t::lib::Fixtures;

# Test data made directly in the suite's PostgreSQL and tokens signed with
# the suite's secret, so that data-driven blocks can act as known users
# without chaining requests. Works under the real Test::Nginx and the local
# harness alike: it only needs psql and Perl's core modules.

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256 hmac_sha384 hmac_sha512);
use MIME::Base64 qw(encode_base64);
use Exporter 'import';

our @EXPORT = qw(users_sql users_fixture users_token users_b64url
                 users_password users_old_hash);

# The hash of users_password() at the module's default cost (Argon2id,
# t=2, m=19 MiB), made once with libsodium's crypto_pwhash_str.
our $PASSWORD = 'secretpassword123';
my $HASH = '$argon2id$v=19$m=19456,t=2,p=1$6PEwoZG+TO9JIUn+WdeMVA'
    . '$WCdFR7ZEOHl/Vke2oklkwQzv5M8m77wQbl+aINnoZZM';

# The same password at an older, cheaper cost (t=1, m=8 MiB): a login must
# upgrade it.
my $OLD_HASH = '$argon2id$v=19$m=8192,t=1,p=1$hcbMEgZGZmWEchvI1pOEhA'
    . '$WQpot9t48rCodisI7TkMmNEDMRaaT6+tw1BEcbtGjnc';

sub users_password { $PASSWORD }
sub users_old_hash { $OLD_HASH }

sub env_or_die {
    my $name = shift;
    my $value = $ENV{$name};
    die "t::lib::Fixtures: $name is not set (run the suite with scripts/test.sh)\n"
        unless defined $value && length $value;
    return $value;
}

# Runs SQL and returns psql's unaligned, tuples-only output, chomped.
sub users_sql {
    my ($sql) = @_;
    my $conninfo = env_or_die('TEST_NGINX_PG_CONNINFO');
    open my $fh, '-|', 'psql', $conninfo, '-X', '-qAt', '-v',
        'ON_ERROR_STOP=1', '-c', $sql
        or die "t::lib::Fixtures: cannot run psql: $!\n";
    local $/;
    my $out = <$fh> // '';
    close $fh or die "t::lib::Fixtures: psql failed on: $sql\n";
    $out =~ s/\s+\z//;
    return $out;
}

sub quote {
    my $s = shift;
    return 'NULL' unless defined $s;
    $s =~ s/'/''/g;
    return "'$s'";
}

# users_fixture(email => ..., superuser => 0, active => 1, name => undef,
#               hash => <users_password's>, version => 0, preferences => '{}')
# (Re)creates the user and returns its id.
sub users_fixture {
    my %o = @_;
    my $email = $o{email} or die "t::lib::Fixtures: users_fixture needs email\n";
    # and its failed logins: an address reused by another test starts over
    users_sql('DELETE FROM users WHERE lower(email) = lower('
              . quote($email) . '); DELETE FROM login_attempts'
              . ' WHERE account = users_login_key(' . quote($email) . ')');
    return users_sql(sprintf(
        'INSERT INTO users (email, name, hashed_password, is_superuser,'
        . ' is_active, token_version, preferences)'
        . ' VALUES (%s, %s, %s, %s, %s, %d, %s) RETURNING id',
        quote($email), quote($o{name}), quote($o{hash} // $HASH),
        $o{superuser} ? 'true' : 'false',
        (exists $o{active} && !$o{active}) ? 'false' : 'true',
        $o{version} // 0, quote($o{preferences} // '{}')));
}

sub users_b64url {
    my $s = encode_base64(shift, '');
    $s =~ tr{+/}{-_};
    $s =~ s/=+$//;
    return $s;
}

# users_token($id, ver => 0, exp => now + 600, alg => 'HS256',
#             header => '{"alg":...}', claims => '{...}', secret => ...)
# A token as the module issues it, or forged in one chosen way.
sub users_token {
    my ($id, %o) = @_;
    my $secret = $o{secret};
    unless (defined $secret) {
        my $file = env_or_die('TEST_NGINX_JWT_SECRET_FILE');
        open my $fh, '<', $file or die "t::lib::Fixtures: $file: $!\n";
        local $/;
        $secret = <$fh>;
        $secret =~ s/[\r\n]+$//;
    }
    my $now = time;
    my $alg = $o{alg} // 'HS256';
    my $header = $o{header} // qq({"alg":"$alg","typ":"JWT"});
    my $claims = $o{claims} // sprintf(
        '{"sub":"%s","iat":%d,"exp":%d,"ver":%d}',
        $id, $now, $o{exp} // $now + 600, $o{ver} // 0);
    my $input = users_b64url($header) . '.' . users_b64url($claims);
    # HS384/HS512 are really signed with the secret: they must fail for
    # their algorithm, not for a bad signature
    my %mac = (HS384 => \&hmac_sha384, HS512 => \&hmac_sha512);
    my $mac = $mac{$alg} // \&hmac_sha256;
    my $sig = $alg eq 'none' ? '' : users_b64url($mac->($input, $secret));
    return "$input.$sig";
}

1;
