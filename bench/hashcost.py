#!/usr/bin/python3
"""Argon2id through libsodium, the library the module hashes with.

    hashcost.py hash PASSWORD          print one encoded hash (for seeding)
    hashcost.py ceiling THREADS SECS   time one verify, then THREADS verifies
                                     in parallel for SECS; print JSON

The ceiling is what POST /auth/login can reach at best: every login costs one
verify.  ctypes releases the GIL during the call, so the threads really run in
parallel.  Cost: t=2, m=19 MiB, p=1 (the module's users_password_cost).
"""
import ctypes
import json
import statistics
import sys
import threading
import time

OPSLIMIT = 2
MEMLIMIT = 19 * 1024 * 1024
STRBYTES = 128  # crypto_pwhash_STRBYTES

sodium = ctypes.CDLL("libsodium.so.23")
if sodium.sodium_init() < 0:
    sys.exit("hashcost.py: sodium_init failed")
sodium.crypto_pwhash_str_alg.argtypes = [
    ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulonglong,
    ctypes.c_ulonglong, ctypes.c_size_t, ctypes.c_int]
sodium.crypto_pwhash_str_verify.argtypes = [
    ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulonglong]


def hash_password(password: bytes) -> bytes:
    out = ctypes.create_string_buffer(STRBYTES)
    alg = sodium.crypto_pwhash_alg_argon2id13()
    if sodium.crypto_pwhash_str_alg(out, password, len(password),
                                    OPSLIMIT, MEMLIMIT, alg) != 0:
        sys.exit("hashcost.py: out of memory")
    return out.value


def verify(encoded: bytes, password: bytes) -> None:
    if sodium.crypto_pwhash_str_verify(encoded, password, len(password)) != 0:
        sys.exit("hashcost.py: verify failed")


def ceiling(threads: int, seconds: float) -> dict:
    password = b"benchpassword123"
    encoded = hash_password(password)
    singles = []
    for _ in range(5):
        t0 = time.perf_counter()
        verify(encoded, password)
        singles.append(time.perf_counter() - t0)
    single = statistics.median(singles)

    counts = [0] * threads
    deadline = time.perf_counter() + seconds

    def loop(i: int) -> None:
        while time.perf_counter() < deadline:
            verify(encoded, password)
            counts[i] += 1

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - t0
    return {
        "single_verify_ms": round(single * 1000, 2),
        "threads": threads,
        "theoretical_per_s": round(threads / single, 1),
        "measured_per_s": round(sum(counts) / elapsed, 1),
    }


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "hash":
        print(hash_password(sys.argv[2].encode()).decode())
    elif len(sys.argv) == 4 and sys.argv[1] == "ceiling":
        print(json.dumps(ceiling(int(sys.argv[2]), float(sys.argv[3]))))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
