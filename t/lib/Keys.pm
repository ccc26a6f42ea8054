package t::lib::Keys;

# The signing keys of the tests (t/keys/, made with scripts/keygen.sh's
# openssl commands) and an independent JWT implementation, Debian's
# python3-jwt with python3-cryptography: tokens it signs with a private
# key, and its verdict on the module's tokens given only a JWKS document.

use strict;
use warnings;

use Cwd ();
use File::Temp ();
use Exporter 'import';

our @EXPORT = qw(keys_dir keys_token keys_python_verify);

my $DIR = Cwd::abs_path('t/keys');
$ENV{TEST_NGINX_KEYS} = $DIR;

sub keys_dir { $DIR }

# runs Debian's python3 (its packages, whatever python3 PATH finds) with a script and arguments; returns its output, chomped
sub python {
    my ($script, @args) = @_;
    my $tmp = File::Temp->new(SUFFIX => '.py');
    print $tmp $script;
    close $tmp;
    open my $fh, '-|', '/usr/bin/python3', $tmp->filename, @args
        or die "t::lib::Keys: python3: $!\n";
    my $out = do { local $/; <$fh> };
    close $fh or die "t::lib::Keys: python3 failed ($?): $out\n";
    chomp $out;
    return $out;
}

# keys_token($id, key => 'ed1.pem', alg => 'EdDSA', kid => 'ed1' (undef:
# none), exp => now + 600, ver => 0): a token signed by python3-jwt
sub keys_token {
    my ($id, %o) = @_;
    my $now = time;
    my $key = $o{key} =~ m{^/} ? $o{key} : "$DIR/$o{key}";
    return python(<<'_PY_', $key, $o{alg}, $o{kid} // '', $id, $now,
import sys, jwt
key, alg, kid, sub, now, exp, ver = sys.argv[1:]
data = open(key, 'rb').read()
headers = {'kid': kid} if kid else None
print(jwt.encode({'sub': sub, 'iat': int(now), 'exp': int(exp),
                  'ver': int(ver)}, data, algorithm=alg, headers=headers))
_PY_
        $o{exp} // $now + 600, $o{ver} // 0);
}

# keys_python_verify($token, $jwks_json): "ok SUB KID" when python3-jwt
# verifies the token with the key of the JWKS its kid names, else the error
sub keys_python_verify {
    my ($token, $jwks) = @_;
    return python(<<'_PY_', $token, $jwks);
import sys, json, jwt
token, jwks = sys.argv[1:]
try:
    kid = jwt.get_unverified_header(token)['kid']
    jwk = [k for k in json.loads(jwks)['keys'] if k['kid'] == kid][0]
    key = jwt.PyJWK(jwk)
    claims = jwt.decode(token, key.key, algorithms=[jwk['alg']])
    print('ok', claims['sub'], kid)
except Exception as e:
    print('error', type(e).__name__, e)
_PY_
}

1;
