#!/usr/bin/python3
"""Revocation propagation between two instances on one database.

    revocation.py A_URL B_GUARDED_URL FIRST_USER COUNT PASSWORD

For each of COUNT seeded users (user<FIRST_USER>@bench.example on): log in
on instance A, check that B's guarded location lets the token in (204),
then log out through A's API (which bumps the user's token_version and
NOTIFYs) and poll B's guarded location on a kept-alive connection until it
answers 401. Each revocation is timed from the moment the logout is sent
(what a user would see: the time until the token stops working elsewhere)
and, beside it, from A's 204 (the commit: what LISTEN/NOTIFY alone adds).
A revocation not seen within TIMEOUT_S counts as such and as that time.
Prints JSON. Standard library only.
"""
import http.client
import json
import statistics
import sys
import time
import urllib.parse

TIMEOUT_S = 5.0


def conn(url: str) -> http.client.HTTPConnection:
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=10)


def request(c, method: str, path: str, body=None, headers=None):
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    return r.status, data


def pct(values: list, q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * q))]


def main() -> None:
    a_url, b_url, first, count, password = sys.argv[1:6]
    first, count = int(first), int(count)
    b_path = urllib.parse.urlsplit(b_url).path
    a, b = conn(a_url), conn(b_url)
    from_send, from_commit, logout_ms, failures, polls = [], [], [], [], []
    for i in range(first, first + count):
        form = urllib.parse.urlencode({"username": f"user{i}@bench.example",
                                       "password": password})
        status, data = request(a, "POST", "/auth/login", form,
                               {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 200:
            failures.append(f"user{i}: login {status}")
            continue
        auth = {"Authorization": "Bearer " + json.loads(data)["access_token"]}
        # B must know the token as good first, or a 401 proves nothing
        status, _ = request(b, "GET", b_path, headers=auth)
        if status != 204:
            failures.append(f"user{i}: B answered {status} before the logout")
            continue
        t0 = time.perf_counter()
        status, _ = request(a, "POST", "/auth/logout", headers=auth)
        t1 = time.perf_counter()
        if status != 204:
            failures.append(f"user{i}: logout {status}")
            continue
        n = 0
        while True:
            status, _ = request(b, "GET", b_path, headers=auth)
            n += 1
            t2 = time.perf_counter()
            if status == 401 or t2 - t0 > TIMEOUT_S:
                break
        if status != 401:
            failures.append(f"user{i}: still {status} after {TIMEOUT_S} s")
        from_send.append((t2 - t0) * 1000)
        from_commit.append((t2 - t1) * 1000)
        logout_ms.append((t1 - t0) * 1000)
        polls.append(n)
    out = {"revocations": len(from_send), "failures": failures}
    for name, v in (("from_send", from_send), ("from_commit", from_commit),
                    ("logout", logout_ms)):
        if v:
            out[name] = {"p50_ms": round(statistics.median(v), 3),
                         "p99_ms": round(pct(v, 0.99), 3), "max_ms": round(max(v), 3)}
    # polls that still saw 204 after the logout was answered: 1 means B
    # already refused the token on the first request after A's answer
    out["polls_max"] = max(polls, default=0)
    out["first_poll_refused"] = sum(1 for n in polls if n == 1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
