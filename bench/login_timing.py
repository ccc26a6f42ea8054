#!/usr/bin/python3
"""Median time of a failed login for known and for unknown emails.

    login_timing.py BASE_URL N FIRST_KNOWN PASSWORD

Sends N logins with a wrong password for seeded accounts
user<FIRST_KNOWN..FIRST_KNOWN+N-1>@bench.example and N for emails that do not
exist, interleaved (so drift in the machine's load hits both alike), one at a
time over one keep-alive connection, and prints JSON.  Each account fails
once, far below the failed-login throttle.  The contract wants both 401s to
take the same time, so that timing does not tell which emails exist.
"""
import http.client
import json
import statistics
import sys
import time
import urllib.parse
import uuid


def main() -> None:
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    url = urllib.parse.urlsplit(sys.argv[1])
    n, first = int(sys.argv[2]), int(sys.argv[3])
    wrong = "wrong-" + sys.argv[4]
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    times = {"known": [], "unknown": []}
    statuses = {}

    def attempt(kind: str, email: str) -> None:
        body = urllib.parse.urlencode({"username": email, "password": wrong})
        t0 = time.perf_counter()
        conn.request("POST", "/auth/login", body,
                     {"Content-Type": "application/x-www-form-urlencoded"})
        resp = conn.getresponse()
        resp.read()
        times[kind].append(time.perf_counter() - t0)
        key = f"{kind} {resp.status}"
        statuses[key] = statuses.get(key, 0) + 1

    for i in range(n):
        attempt("known", f"user{first + i}@bench.example")
        attempt("unknown", f"nobody-{uuid.uuid4().hex}@bench.example")

    known = statistics.median(times["known"]) * 1000
    unknown = statistics.median(times["unknown"]) * 1000
    print(json.dumps({
        "n": n,
        "known_median_ms": round(known, 3),
        "unknown_median_ms": round(unknown, 3),
        "ratio_unknown_to_known": round(unknown / known, 3),
        "statuses": statuses,
    }))


if __name__ == "__main__":
    main()
