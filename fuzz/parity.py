#!/usr/bin/python3
"""Compare the C validator with the FastAPI peer's pydantic models.

    fuzz/parity.py [CASES] [SEED]     (Debian's python3-pydantic 1.10,
                                       python3-email-validator)

Generates JSON bodies for the five routes from mutated values, validates
each with app/schemas.py of the peer (PEER_DIR, default
../shared/peers/fastapi) and with fuzz/out/parity (fuzz/build.sh), and
compares the 422 lists [field, msg, type].  Bodies that only hold ASCII
must agree except for the known differences below; bodies with other
characters are only counted, as the C checks approximate Unicode tables
(IDNA mappings, general categories) that they do not carry.

Known differences, on purpose or accepted:
- pydantic's URL "extra characters" message quotes the extra text; the C
  message stops before it (its checks return static messages).
- theme that is not a string: pydantic's Literal says value_error.const,
  the C validator type_error.str as for every string field.
- timezone "localtime": Python's zoneinfo lists that file, tzdata does not.
- e-mail domains with "xn--" labels: email-validator decodes the punycode,
  the C check takes any such label.
"""
import json
import os
import random
import subprocess
import sys

top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.environ.get("PEER_DIR", os.path.join(top, "..", "shared", "peers", "fastapi")))

from app import schemas  # noqa: E402
from pydantic import ValidationError  # noqa: E402

MODELS = ["UserCreate", "UserUpdateMe", "UserUpdate", "ProfileUpdate", "PreferencesUpdate"]
FIELDS = [
    [("email", "email"), ("password", "text"), ("name", "text")],
    [("email", "email"), ("name", "text"), ("password", "text"), ("current_password", "text")],
    [("email", "email"), ("name", "text"), ("password", "text"), ("is_active", "bool"),
     ("is_superuser", "bool")],
    [("name", "text"), ("bio", "text"), ("avatar_url", "url"), ("location", "text"),
     ("website", "url"), ("phone", "phone")],
    [("theme", "theme"), ("language", "language"), ("timezone", "timezone"),
     ("notifications_email", "bool"), ("notifications_sms", "bool"),
     ("privacy_public_profile", "bool")],
]
SEEDS = {
    "email": ["alice@example.com", "a.b+c@sub.example.co.uk", "\u00fc\u00f1@ex\u00e4mple.com",
              "x@a-b.io", "a@b.c", "a@1.2.3.4", "!#$%&'*+-/=?^_`{|}~@ex.com", "a@ex.test",
              "a@ex.local", "\"q\"@ex.com", "a@[1.2.3.4]", "x@y.onion", "a" * 64 + "@b.co"],
    "url": ["http://example.com", "https://u:p@h.example.com:8080/a/b?c=d#e", "http://[::1]:80/",
            "HTTP://X.COM", "http://\u00e9.com/", "http://a_b.c", "http://1.2.3.4", "ftp://x",
            "example.com", "http://x:99999", "http://a.b.", "http://a@b@c/d"],
    "language": ["en", "en-US", "zh-Hant-TW", "sr-Latn-RS", "de-CH-1901", "es-419", "x-private",
                 "en-GB-oed", "i-klingon", "en-a-bbb-x-a", "sgn-BE-FR", "zh-yue-HK", "de-1996"],
    "timezone": ["UTC", "Europe/Paris", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "EST5EDT",
                 "Zulu", "GMT", "US/Pacific"],
    "phone": ["+1 (555) 123-4567", "555.1234", ""],
    "theme": ["light", "dark", "system"],
    "text": ["Alice", "", "x" * 10, "\u00e9" * 5, "password123", "p" * 128],
}
PIECES = list("abcxyzABCXYZ0129-._@:/?#[]%+!$&'*=^`{|}~()<>,;\"\\ \t") + [
    "\u00e9", "\u00a0", "\u3000", "\u200b", "\U0001f600", "\u0301", "\x7f", "\x01", "\u00ff",
    "--", "..", "://", "http", "https", "x-", ".test", "Latn"]


def mutate(s):
    s = list(s)
    for _ in range(random.randint(0, 3)):
        op = random.random()
        if op < 0.4:
            s.insert(random.randint(0, len(s)), random.choice(PIECES))
        elif op < 0.7 and s:
            del s[random.randrange(len(s))]
        elif op < 0.85 and s:
            s[random.randrange(len(s))] = random.choice(PIECES)
        elif s:
            i = random.randrange(len(s))
            j = random.randint(i, len(s))
            s[i:i] = s[i:j]
    return "".join(s)


def value(kind):
    r = random.random()
    if r < 0.05:
        return None
    if r < 0.08:
        return random.choice([1, 1.5, True, [], {}, "true"])
    if kind == "bool":
        return random.choice([True, False])
    return mutate(random.choice(SEEDS[kind]))


def body(table):
    d = {name: value(kind) for name, kind in FIELDS[table] if random.random() < 0.6}
    if random.random() < 0.05:
        d[random.choice(["zz", "is_active", "id"])] = 1
    return d


def peer(table, d):
    try:
        getattr(schemas, MODELS[table]).validate(d)
        return []
    except ValidationError as e:
        return [[str(x["loc"][-1]),
                 "URL invalid, extra characters found after valid URL"
                 if x["type"] == "value_error.url.extra" else x["msg"],
                 x["type"]] for x in e.errors()]


def known(d):
    return (not isinstance(d.get("theme", ""), (str, type(None)))
            or d.get("timezone") == "localtime"
            or "xn--" in str(d.get("email", "")))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    random.seed(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    cases = []
    for _ in range(n):
        table = random.randrange(len(MODELS))
        d = body(table)
        try:
            raw = json.dumps(d, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            continue
        cases.append((table, d, raw))
    lines = "".join("%d %s\n" % (t, raw.hex()) for t, _, raw in cases)
    out = subprocess.run([os.path.join(top, "fuzz", "out", "parity")], input=lines.encode(),
                         capture_output=True, check=True).stdout.decode().splitlines()
    bad = unicode = 0
    for (table, d, _), line in zip(cases, out):
        got = json.loads(line.split(" ", 1)[1])
        want = peer(table, d)
        if got == want or known(d):
            continue
        if not all(v.isascii() for v in d.values() if isinstance(v, str)):
            unicode += 1
            continue
        bad += 1
        if bad <= 20:
            print("%s %s\n  peer: %s\n  C:    %s" % (MODELS[table], json.dumps(d), want, got))
    print("parity: %d bodies, %d differ (ASCII), %d differ with other characters"
          % (len(cases), bad, unicode))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
