#!/usr/bin/python3
"""Tables of a bench/run or bench/soak run.

    report.py machine COMMAND            JSON about this machine, now
    report.py build DIR [--readme FILE]  read DIR/manifest.jsonl and the raw
                                         outputs it names; write DIR/results.json
                                         and DIR/results.md, print the Markdown;
                                         with --readme, put it in FILE between
                                         the "latest results" markers

The manifest has one JSON object a line, written by bench/lib.sh: a "kind"
(wrk, pgbench, argon2, timing, rest, rss, statuses, config), a "group" (ceiling,
module, peer, storm-module, conns, users, soak, pair-<scenario>...) and a "key"
(in a pair group: c<round> for the ceiling, m<round> for the module).
"""
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

# Targets of the issue: (scenario key, ceiling share) and peer multiples.
CEILING_SHARE = {"healthz": 0.9, "users_me": 0.6, "put_profile_me": 0.7, "login": 0.9,
                 "refresh": 0.6}
# p99 bounds (ms) at a number of connections: the median p99 of the
# module's measurements of the scenario (single shot and paired rounds)
P99_MS = {"refresh": (20, 50)}
PEER_MULTIPLE = {"users_me": 20, "put_profile_me": 20}
PEER_P99_DIVISOR = {"users_me": 10}
STORM_P99_FACTOR = 2
BASELINE_SHARE = 0.95    # of the --baseline build, paired rounds
# bench/run --keys (bench/keys.sh): each variant's share of its base in
# paired rounds, "min" at least the share, "within" at most that far from 1
KEYS_TARGETS = {"users_me": ("min", 0.95), "jwks": ("min", 0.80), "login": ("within", 0.05)}
# bench/run --guard: users_auth's share of the same location unguarded, and
# the revocation propagation bounds between two instances
GUARD_SHARE = {"guard_return": 0.8, "guard_proxy": 0.9}
GUARD_PROPAGATION_P99_MS = 100
# bench/run --observe: with the audit log or the metrics, the share of the
# same requests without them (paired rounds), and a scrape's p99 under load
OBSERVE_SHARE = {"audit_put_profile_me": ("users_audit on", "off", 0.90),
                 "audit_register": ("users_audit on", "off", 0.90),
                 "metrics_users_me": ("the metrics zone", "none", 0.97)}
METRICS_SCRAPE_P99_MS = 5
GUARD_PROPAGATION_MAX_MS = 1000
README_BEGIN = "<!-- latest results: written by bench/run -->"
README_END = "<!-- end of latest results -->"

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def sh(*cmd: str) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip()
    except OSError:
        return ""


def machine(command: str) -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in open("/proc/meminfo")
                  if line.startswith("MemTotal"))
    os_name = next((line.split("=", 1)[1].strip().strip('"')
                    for line in open("/etc/os-release") if line.startswith("PRETTY_NAME")), "")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    commit = sh("git", "-C", root, "rev-parse", "--short", "HEAD")
    if sh("git", "-C", root, "status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": command,
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "os": os_name,
        "kernel": platform.release(),
        "nginx": sh("nginx", "-v").replace("nginx version: ", ""),
        "postgresql": sh("/usr/lib/postgresql/15/bin/postgres", "--version"),
        "wrk": sh("wrk", "-v").splitlines()[0] if sh("wrk", "-v") else "",
        "commit": commit,
        "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
    }


# --- parsing ------------------------------------------------------------------

def ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    return float(m.group(1)) * UNITS[m.group(2)]


def parse_wrk(text: str) -> dict:
    out = {"rps": 0.0, "p50_ms": None, "p99_ms": None, "requests": 0,
           "socket_errors": 0, "non_2xx": 0}
    for line in text.splitlines():
        line = line.strip()
        if m := re.match(r"(50|99)%\s+(\S+)$", line):
            out[f"p{m.group(1)}_ms"] = ms(m.group(2))
        elif m := re.match(r"Requests/sec:\s+([\d.]+)", line):
            out["rps"] = float(m.group(1))
        elif m := re.match(r"(\d+) requests in", line):
            out["requests"] = int(m.group(1))
        elif line.startswith("Socket errors:"):
            out["socket_errors"] = sum(int(n) for n in re.findall(r"\d+", line))
        elif m := re.match(r"Non-2xx or 3xx responses: (\d+)", line):
            out["non_2xx"] = int(m.group(1))
    out["errors"] = out["socket_errors"] + out["non_2xx"]
    # what the ratios use: a fast 503 is not throughput
    if out["requests"]:
        out["rps_2xx"] = out["rps"] * (out["requests"] - out["non_2xx"]) / out["requests"]
    return out


def parse_pgbench(text: str) -> dict:
    out = {"rps": 0.0, "errors": 0}
    if m := re.search(r"tps = ([\d.]+) \(without initial connection time\)", text):
        out["rps"] = float(m.group(1))
    if m := re.search(r"number of failed transactions: (\d+)", text):
        out["errors"] += int(m.group(1))
    out["errors"] += len(re.findall(r"client \d+ aborted", text))
    return out


def load(run_dir: str) -> dict:
    data = {"machine": {}, "config": {}, "ceiling": {}, "scenarios": {}, "storm": {},
            "conns": {}, "users": {}, "soak": {}, "pairs": {}, "keys": {},
            "guard": {}, "observe": {}}
    machine_file = os.path.join(run_dir, "machine.json")
    if os.path.exists(machine_file):
        data["machine"] = json.load(open(machine_file))
    data["machine"]["loadavg_at_end"] = open("/proc/loadavg").read().split()[:3]
    statuses = {}  # request id -> {status: count}, from the module's access log
    times = {}     # request id -> [route times], from the same log
    measured = []
    for line in open(os.path.join(run_dir, "manifest.jsonl")):
        e = json.loads(line)
        kind, group, key = e["kind"], e.pop("group", None), e.pop("key", None)
        raw = open(os.path.join(run_dir, e["file"])).read() if "file" in e else ""
        if kind == "config":
            data["config"] = e
            continue
        if kind == "statuses":
            for count, rid, status in (line.split() for line in raw.splitlines()):
                statuses.setdefault(rid, {})[status] = int(count)
            continue
        if kind == "times":
            for rid, method, route, count, p50, p99, top in (
                    line.split() for line in raw.splitlines()):
                times.setdefault(rid, []).append(
                    {"route": f"{method} {route}", "count": int(count), "p50_ms": int(p50),
                     "p99_ms": int(p99), "max_ms": int(top)})
            continue
        if kind == "wrk":
            e.update(parse_wrk(raw))
            measured.append(e)
        elif kind == "pgbench":
            e.update(parse_pgbench(raw))
        elif kind == "guard_propagation":
            e.update(json.loads(raw))
        elif kind in ("argon2", "timing"):
            e.update(json.loads(raw))
            if kind == "argon2":
                e["rps"] = e["theoretical_per_s"]
        if group in ("module", "peer"):
            data["scenarios"].setdefault(group, {})[key] = e
        elif group.startswith("storm-"):
            data["storm"].setdefault(group[len("storm-"):], {})[key] = e
        elif group.startswith("pair-"):
            data["pairs"].setdefault(group[len("pair-"):], {})[key] = e
        elif group.startswith("keys-"):
            data["keys"].setdefault(group[len("keys-"):], {})[key] = e
        elif group == "soak":
            e["key"] = key
            data["soak"].setdefault(kind, []).append(e)
        else:
            data[group][key] = e
    for e in measured:
        if e.get("request_id") in statuses:
            e["statuses"] = statuses[e["request_id"]]
        if e.get("request_id") in times:
            e["route_times"] = sorted(times[e["request_id"]], key=lambda t: -t["count"])
    return data


# --- derived numbers ----------------------------------------------------------

def ok_rps(s: dict) -> float:
    return s.get("rps_2xx", s.get("rps", 0.0))


def ceiling_of(data: dict, name: str):
    """Requests per second of a ceiling; "a+b" is the lower of the two."""
    values = [data["ceiling"].get(n, {}).get("rps") for n in name.split("+")]
    return min(values) if values and all(values) else None


def pair_rounds(pair: dict) -> range:
    return range(1, sum(1 for k in pair if re.fullmatch(r"c\d+", k)) + 1)


def pair_ratios(pair: dict) -> list:
    """The module's share of its ceiling in each round of a pair."""
    out = []
    for r in pair_rounds(pair):
        c, m = pair.get(f"c{r}"), pair.get(f"m{r}")
        if c and m and ok_rps(c):
            out.append(ok_rps(m) / ok_rps(c))
    return out


def pair_costs(pair: dict) -> list:
    """Per round of a pair: the CPU time per request of the base ("c") over
    that of the other half ("m"), the share the second would have of the
    first on CPU alone; the workers', and the database's where the round
    recorded it (in_turn)."""
    out = []
    for r in pair_rounds(pair):
        e = pair.get(f"cpu{r}")
        if not e:
            continue
        c = e["c_ticks"] + e.get("c_db_ticks", 0)
        m = e["m_ticks"] + e.get("m_db_ticks", 0)
        if min(c, m, e["c_requests"], e["m_requests"]) > 0:
            out.append((c / e["c_requests"]) / (m / e["m_requests"]))
    return out


def pair_cost_of(pair: dict) -> str:
    """Whose CPU time pair_costs read for this pair."""
    db = any("c_db_ticks" in e for k, e in pair.items() if k.startswith("cpu"))
    return "the workers' and the database's" if db else "the workers'"


# The storm's two /healthz probes, by the prefix of their keys: the target
# is checked on the paced one (bench/run says why)
STORM_PROBES = {"paced-": "paced", "": "full speed"}


def storm_rounds(storm: dict, probe: str) -> list:
    """Each round of a target's login storm seen by one probe, with its p99 ratio."""
    out = []
    for r in range(1, len(storm) + 1):
        idle, busy = (storm.get(f"{probe}{k}{r}") for k in ("idle", "storm"))
        login = storm.get(f"login{r}")
        if idle and busy and idle["p99_ms"] and busy["p99_ms"]:
            out.append({"round": r, "idle": idle, "storm": busy, "login": login or {},
                        "ratio": busy["p99_ms"] / idle["p99_ms"]})
    return out


def checks(data: dict) -> list:
    """The issue's targets: (what, measured, bound, met)."""
    module, peer = data["scenarios"].get("module", {}), data["scenarios"].get("peer", {})
    out = []
    for key, share in CEILING_SHARE.items():
        s = module.get(key)
        ratios = pair_ratios(data["pairs"].get(key, {}))
        if s and ratios:
            x = statistics.median(ratios)
            out.append((f"{s['label']} >= {share:.0%} of its ceiling ({s['ceiling']}), "
                        f"median of {len(ratios)} paired rounds",
                        f"{x:.0%}", f"{share:.0%}", x >= share))
            continue
        ceiling = s and ceiling_of(data, s["ceiling"])
        if s and ceiling:
            out.append((f"{s['label']} >= {share:.0%} of its ceiling ({s['ceiling']})",
                        f"{ok_rps(s) / ceiling:.0%}", f"{share:.0%}", ok_rps(s) >= share * ceiling))
    for key, (bound, conns) in P99_MS.items():
        runs = [module.get(key)] + [m for k, m in sorted(data["pairs"].get(key, {}).items())
                                    if k.startswith("m")]
        runs = [s for s in runs if s and s.get("connections") == conns
                and s.get("p99_ms") is not None]
        if runs:
            x = statistics.median(s["p99_ms"] for s in runs)
            out.append((f"{runs[0]['label']} p99 <= {bound} ms at {conns} connections, "
                        f"median of {len(runs)} measurements",
                        fmt_ms(x), f"{bound} ms", x <= bound))
    for key, multiple in PEER_MULTIPLE.items():
        if key in module and key in peer and ok_rps(peer[key]):
            x = ok_rps(module[key]) / ok_rps(peer[key])
            out.append((f"{module[key]['label']} >= {multiple}x the peer",
                        f"{x:.1f}x", f"{multiple}x", x >= multiple))
    for key, divisor in PEER_P99_DIVISOR.items():
        if key in module and key in peer and module[key]["p99_ms"]:
            x = peer[key]["p99_ms"] / module[key]["p99_ms"]
            out.append((f"{module[key]['label']} p99 <= 1/{divisor} of the peer's",
                        f"1/{x:.1f}", f"1/{divisor}", x >= divisor))
    for key, pair in data["pairs"].items():
        ratios = pair_ratios(pair)
        if key.startswith("baseline-") and ratios:
            x = statistics.median(ratios)
            out.append((f"{pair['m1']['label']} >= {BASELINE_SHARE:.0%} of the --baseline "
                        f"build ({data['config'].get('baseline', '?')}), median of "
                        f"{len(ratios)} paired rounds", f"{x:.0%}", f"{BASELINE_SHARE:.0%}",
                        x >= BASELINE_SHARE))
    out += guard_checks(data)
    out += observe_checks(data)
    storm = data["storm"].get("module", {})
    rounds = storm_rounds(storm, "paced-")
    if rounds:
        x = statistics.median(r["ratio"] for r in rounds)
        full = storm_rounds(storm, "")
        pace = rounds[0]["idle"].get("pace_ms")
        out.append((f"GET /healthz p99 during a login storm <= 2x idle, paced probe "
                    f"(a request every {pace} ms a connection), median of {len(rounds)} rounds",
                    f"{x:.2f}x (rounds: " + fmt_ratios(rounds)
                    + ("; full-speed probe: " + fmt_ratios(full) if full else "") + ")",
                    f"{STORM_P99_FACTOR}x", x <= STORM_P99_FACTOR))
    if module:
        bad = [s["label"] for s in module.values() if s.get("kind") == "wrk" and s["errors"]]
        bad += [s["label"] for s in storm.values() if s["errors"]]
        bad += [s["label"] for g in ("conns", "users") for s in data[g].values() if s["errors"]]
        bad += [f"{s['label']} (paired)" for p in data["pairs"].values() for s in p.values()
                if s.get("errors")]
        out.append(("no errors, no non-2xx", ", ".join(bad) or "none", "none", not bad))
    conns = sorted(data["conns"].values(), key=lambda s: s["connections"])
    if len(conns) > 1 and conns[0]["p99_ms"]:
        base = conns[0]
        worst = max(conns[1:], key=lambda s: (s["p99_ms"] / base["p99_ms"])
                    / (s["connections"] / base["connections"]))
        growth = worst["p99_ms"] / base["p99_ms"]
        allowed = worst["connections"] / base["connections"]
        # a p99 made of fast 503s says nothing of the latency of service
        failing = [str(s["connections"]) for s in conns if s["errors"]]
        out.append((f"p99 grows at most linearly with connections ({base['connections']} to "
                    f"{conns[-1]['connections']}), without errors",
                    f"x{growth:.1f} at {worst['connections']}"
                    + (f"; errors at {', '.join(failing)}" if failing else ""),
                    f"x{allowed:g}", growth <= allowed and not failing))
    out += keys_checks(data)
    return out


# --- signing keys (bench/run --keys) ------------------------------------------

def keys_pairs(data: dict) -> list:
    """(scenario, variant, base, [(variant's entry, base's entry, ratio)]) of the
    --keys measurements, the rounds in order."""
    out = []
    for scen, ms_ in data["keys"].items():
        variants = {}
        for e in ms_.values():
            variants.setdefault(e["variant"], {})[e["round"]] = e
        for variant, rounds in variants.items():
            base = next(iter(rounds.values()))["base"]
            if variant == base:
                continue
            pairs = [(m, variants.get(base, {}).get(r)) for r, m in sorted(rounds.items())]
            out.append((scen, variant, base, [(m, b, ok_rps(m) / ok_rps(b))
                                              for m, b in pairs if b and ok_rps(b)]))
    return out


def keys_checks(data: dict) -> list:
    out = []
    for scen, variant, base, rounds in keys_pairs(data):
        if scen not in KEYS_TARGETS or not rounds:
            continue
        how, bound = KEYS_TARGETS[scen]
        x = statistics.median(r for _, _, r in rounds)
        what = (f"{rounds[0][0]['label']}: >= {bound:.0%} of {rounds[0][1]['label']}"
                if how == "min" else
                f"{rounds[0][0]['label']}: within {bound:.0%} of {rounds[0][1]['label']}")
        out.append((what + f", median of {len(rounds)} paired rounds", f"{x:.0%}",
                    f">= {bound:.0%}" if how == "min" else f"{1 - bound:.0%}-{1 + bound:.0%}",
                    x >= bound if how == "min" else abs(x - 1) <= bound))
    if data["keys"]:
        bad = [e["label"] for ms_ in data["keys"].values() for e in ms_.values()
               if e.get("errors")]
        out.append(("signing-key scenarios (--keys): no errors, no non-2xx",
                    ", ".join(sorted(set(bad))) or "none", "none", not bad))
    return out


def render_keys(data: dict) -> str:
    rows = []
    for scen, variant, base, rounds in keys_pairs(data):
        rows.append([rounds[0][0]["label"] if rounds else f"{scen} {variant}",
                     rounds[0][1]["label"] if rounds else base,
                     "; ".join(f"{fmt_rps(ok_rps(m))} / {fmt_rps(ok_rps(b))} = {r:.0%}"
                               for m, b, r in rounds) or "-",
                     f"{statistics.median(r for _, _, r in rounds):.0%}" if rounds else "-",
                     "; ".join(f"{fmt_ms(m['p99_ms'])} / {fmt_ms(b['p99_ms'])}"
                               for m, b, _ in rounds) or "-",
                     sum(m.get("errors", 0) + b.get("errors", 0) for m, b, _ in rounds)])
    return ("### Signing keys: paired rounds, order alternating (scenario / base)\n\n"
            + table(["scenario", "base", "rounds (2xx/s)", "median", "p99 (scenario / base)",
                     "errors"], rows))


# --- rendering ----------------------------------------------------------------

def fmt_ms(v) -> str:
    if v is None:
        return "-"
    return f"{v * 1000:.0f} µs" if v < 1 else f"{v:.2f} ms" if v < 100 else f"{v:.0f} ms"


def fmt_ratios(rounds: list) -> str:
    return ", ".join(f"{r['ratio']:.2f}x" for r in rounds)


def fmt_rps(v) -> str:
    return "-" if v is None else f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"


def fmt_errors(s: dict) -> str:
    if s.get("kind") != "wrk":
        return str(s.get("errors", 0))
    if not s["errors"]:
        return "0"
    parts = []
    if s["non_2xx"]:
        # the access log's count also has requests cut short when wrk stops
        seen = {k: v for k, v in sorted(s.get("statuses", {}).items()) if k[0] != "2"}
        parts.append(f"{s['non_2xx']} non-2xx" + (
            " (" + ", ".join(f"{k}: {v}" for k, v in seen.items()) + ")" if seen else ""))
    if s["socket_errors"]:
        parts.append(f"{s['socket_errors']} socket")
    return ", ".join(parts)


def table(header: list, rows: list) -> str:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render(data: dict) -> str:
    m, cfg = data["machine"], data["config"]
    out = []
    if m:
        out.append(f"Run of {m['date']} on {m['cpu']}, {m['cores']} cores, "
                   f"{m['memory_gib']} GiB, {m['os']} (kernel {m['kernel']}); nginx {m['nginx']}, "
                   f"{m['postgresql']}, {m['wrk']}; commit {m['commit']}. Load average "
                   f"{' '.join(m['loadavg_at_start'])} at the start, "
                   f"{' '.join(m['loadavg_at_end'])} at the end (other work on the machine "
                   f"shares its cores).\n\n`{m['command']}`")
    if cfg.get("workload") == "soak":
        out.append(f"{cfg['duration']} s of mixed load at {cfg['connections']} connections over "
                   f"{cfg['wrk_threads']} wrk threads; {cfg['users']:,} seeded users.")
    elif cfg:
        out.append(f"{cfg['duration']} s per measurement, {cfg['connections']} connections "
                   f"over {cfg['wrk_threads']} wrk threads; pgbench at the same number of "
                   f"clients; {cfg['users']:,} seeded users"
                   + (f"; Argon2id threads at nice {cfg['password_priority']}"
                      if cfg.get("password_priority", "default") != "default" else "")
                   + ".")

    module, peer = data["scenarios"].get("module", {}), data["scenarios"].get("peer", {})
    main = module or peer
    if main:
        header = ["scenario", "2xx/s", "p50", "p99", "errors", "ceiling", "of ceiling"]
        if module and peer:
            header += ["peer 2xx/s", "peer p99", "x peer", "peer p99 / p99"]
        rows = []
        for key, s in main.items():
            if s.get("kind") != "wrk":
                continue
            ceiling = ceiling_of(data, s["ceiling"])
            row = [s["label"], fmt_rps(ok_rps(s)), fmt_ms(s["p50_ms"]), fmt_ms(s["p99_ms"]),
                   fmt_errors(s), s["ceiling"],
                   f"{ok_rps(s) / ceiling:.0%}" if ceiling else "-"]
            if module and peer:
                p = peer.get(key, {})
                row += [fmt_rps(ok_rps(p)) if p else "-", fmt_ms(p.get("p99_ms")),
                        f"{ok_rps(s) / ok_rps(p):.1f}x" if p and ok_rps(p) else "-",
                        f"{p['p99_ms'] / s['p99_ms']:.1f}" if p.get("p99_ms") and s["p99_ms"] else "-"]
            rows.append(row)
        title = "module" if module else "FastAPI peer (no module in this run)"
        out.append(f"### Scenarios: {title}\n\n" + table(header, rows))
        if module and peer:
            perrors = [f"{s['label']}: {fmt_errors(s)}" for s in peer.values()
                       if s.get("kind") == "wrk" and s["errors"]]
            if perrors:
                out.append("Peer errors: " + "; ".join(perrors) + ".")

    if data["ceiling"]:
        rows = []
        for key, c in data["ceiling"].items():
            if c["kind"] == "argon2":
                rows.append([f"`{key}`: {c['label']}", fmt_rps(c["rps"]), "-", "-", "0",
                             f"{c['threads']} threads / {c['single_verify_ms']} ms per verify; "
                             f"measured {fmt_rps(c['measured_per_s'])}/s in parallel"])
            else:
                rows.append([f"`{key}`: {c['label']}", fmt_rps(c["rps"]), fmt_ms(c.get("p50_ms")),
                             fmt_ms(c.get("p99_ms")), fmt_errors(c),
                             f"{c.get('connections')} {'clients' if c['kind'] == 'pgbench' else 'connections'}"])
        out.append("### Ceilings\n\n" + table(
            ["ceiling", "req/s", "p50", "p99", "errors", "how"], rows))

    if data["pairs"]:
        rows = []
        for key, pair in data["pairs"].items():
            ratios = pair_ratios(pair)
            rounds = [f"{fmt_rps(ok_rps(pair[f'm{r}']))} / {fmt_rps(ok_rps(pair[f'c{r}']))} = "
                      f"{x:.0%}" for r, x in enumerate(ratios, 1)]
            m = pair.get("m1", {})
            rows.append([m.get("label", key), m.get("ceiling", "-"), "; ".join(rounds) or "-",
                         f"{statistics.median(ratios):.0%}" if ratios else "-",
                         sum(e.get("errors", 0) for e in pair.values())])
        out.append("### Paired rounds: module and ceiling alternating (module / ceiling)\n\n"
                   + table(["scenario", "ceiling", "rounds", "median", "errors"], rows))

    if data["storm"]:
        rows = []
        for target, s in data["storm"].items():
            for probe, name in STORM_PROBES.items():
                for r in storm_rounds(s, probe):
                    h, login = r["storm"], r["login"]
                    rows.append([target, name, r["round"], fmt_ms(r["idle"]["p99_ms"]),
                                 fmt_ms(h["p99_ms"]), f"{r['ratio']:.2f}x",
                                 fmt_rps(ok_rps(r["idle"])), fmt_rps(ok_rps(h)),
                                 fmt_rps(ok_rps(login)) if login else "-",
                                 fmt_errors(h) + " / " + (fmt_errors(login) if login else "-")])
        out.append("### GET /healthz during a login storm\n\n" + table(
            ["target", "probe", "round", "p99 before", "p99 during", "ratio",
             "healthz 2xx/s before", "during", "logins (2xx)/s", "errors (healthz / login)"],
            rows))

    timing = [(t, s["login_timing"]) for t, s in data["scenarios"].items() if "login_timing" in s]
    if timing:
        rows = [[t, fmt_ms(x["known_median_ms"]), fmt_ms(x["unknown_median_ms"]),
                 f"{x['ratio_unknown_to_known']:.3f}", x["n"],
                 ", ".join(f"{k}: {v}" for k, v in x["statuses"].items())] for t, x in timing]
        out.append("### Failed login time, unknown vs known email (median, sequential)\n\n" + table(
            ["target", "known email", "unknown email", "unknown / known", "logins each", "statuses"],
            rows))

    if data["conns"] or data["users"]:
        rows = []
        for group in ("conns", "users"):
            for s in sorted(data[group].values(), key=lambda s: (s["connections"], s["users"])):
                rows.append([f"{s['users']:,}", s["connections"], fmt_rps(ok_rps(s)),
                             fmt_ms(s["p50_ms"]), fmt_ms(s["p99_ms"]), fmt_errors(s),
                             f"{s['rss_kb'] / 1024:.1f} MiB", s["pg_conns"]])
        out.append("### GET /users/me as it scales\n\n" + table(
            ["users", "connections", "2xx/s", "p50", "p99", "errors", "workers' RSS",
             "PostgreSQL connections"], rows))

    rows = []
    for target, scen in data["scenarios"].items():
        rest = scen.get("rest")
        loaded = [s for s in scen.values() if s.get("kind") == "wrk"]
        loaded += list(data["storm"].get(target, {}).values())
        if target == "module":
            loaded += list(data["conns"].values()) + list(data["users"].values())
        if rest and loaded:
            peak = max(loaded, key=lambda s: s["rss_kb"])
            rows.append([target, f"{rest['rss_kb'] / 1024:.1f} MiB",
                         f"{peak['rss_kb'] / 1024:.1f} MiB ({peak['label']})",
                         f"{max(s['rss_max_kb'] for s in loaded) / 1024:.1f} MiB",
                         rest["pg_conns"], max(s["pg_conns"] for s in loaded)])
    if rows:
        out.append("### Resources (all workers)\n\n" + table(
            ["target", "RSS at rest", "RSS under load (peak)", "largest worker",
             "PostgreSQL connections at rest", "under load (peak)"], rows))

    if data["guard"]:
        out.append(render_guard(data))

    if data["soak"]:
        out.append(render_soak(data["soak"]))

    if data["keys"]:
        out.append(render_keys(data))

    met = checks(data)
    if met:
        out.append("### Targets\n\n" + table(
            ["target", "measured", "bound", "met"],
            [[w, v, b, "yes" if ok else "**no**"] for w, v, b, ok in met]))
    return "\n\n".join(out) + "\n"


def guard_requests(data: dict) -> int:
    """Requests answered by guarded locations while statements were counted."""
    module = data["scenarios"].get("module", {})
    n = sum(s["requests"] for k, s in module.items() if k in GUARD_SHARE)
    return n + sum(s["requests"] for k, p in data["pairs"].items() if k in GUARD_SHARE
                   for r, s in p.items() if r.startswith("m"))


def guard_checks(data: dict) -> list:
    """bench/run --guard's targets: (what, measured, bound, met)."""
    out = []
    module = data["scenarios"].get("module", {})
    for key, share in GUARD_SHARE.items():
        s, ratios = module.get(key), pair_ratios(data["pairs"].get(key, {}))
        if s and ratios:
            x = statistics.median(ratios)
            out.append((f"{s['label']} >= {share:.0%} of the same location unguarded, "
                        f"median of {len(ratios)} paired rounds (single shot: "
                        f"{ok_rps(s) / ceiling_of(data, s['ceiling']):.0%})",
                        f"{x:.0%}", f"{share:.0%}", x >= share))
    st = data["guard"].get("statements")
    if st and guard_requests(data):
        n = guard_requests(data)
        out.append((f"database statements per guarded request after warm-up "
                    f"({st['counter']}: {st['statements']} over {n:,} requests; the "
                    f"listener's heartbeat, {st['beat_statements']} in {st['seconds']:.0f} s, "
                    f"apart)", f"{st['statements'] / n:.6f}", "0", st["statements"] == 0))
    p = data["guard"].get("propagation")
    if p and p.get("from_send"):
        f = p["from_send"]
        out.append((f"revocation on instance A refused by instance B, p99 over "
                    f"{p['revocations']} revocations (from the logout's send)",
                    fmt_ms(f["p99_ms"]), fmt_ms(GUARD_PROPAGATION_P99_MS),
                    f["p99_ms"] <= GUARD_PROPAGATION_P99_MS and not p["failures"]))
        out.append((f"the same, max (failures: {len(p['failures'])})", fmt_ms(f["max_ms"]),
                    fmt_ms(GUARD_PROPAGATION_MAX_MS),
                    f["max_ms"] <= GUARD_PROPAGATION_MAX_MS and not p["failures"]))
    return out


def observe_checks(data: dict) -> list:
    """bench/run --observe's targets: (what, measured, bound, met)."""
    out = []
    for key, (on, off, share) in OBSERVE_SHARE.items():
        pair = data["pairs"].get(key, {})
        # by throughput, then (pairs of instances) by the workers' CPU time
        # per request in the same rounds
        for what, ratios in ((f"{pair.get('m1', {}).get('label')} with {on} >= "
                              f"{share:.0%} of {off}, median of", pair_ratios(pair)),
                             (f"... the same rounds by {pair_cost_of(pair)} CPU time "
                              f"per request, {off} over {on}, median of",
                              pair_costs(pair))):
            if ratios:
                x = statistics.median(ratios)
                out.append((f"{what} {len(ratios)} paired rounds ("
                             + ", ".join(f"{r:.0%}" for r in ratios) + ")",
                             f"{x:.0%}", f"{share:.0%}", x >= share))
    scrapes = scrape_rounds(data["observe"])
    if scrapes:
        p99s = [m["p99_ms"] for m, _ in scrapes]
        ceilings = [c["p99_ms"] for _, c in scrapes if c]
        x = statistics.median(p99s)
        pace = scrapes[0][0].get("pace_ms")
        label = (f"{scrapes[0][0]['label'].split(' (')[0]} under load"
                 + (f", a scrape every {pace} ms" if pace else "")
                 + f": p99, median of {len(p99s)} rounds ("
                 + ", ".join(fmt_ms(v) for v in p99s) + ")")
        if ceilings:
            label += (f"; its ceiling, return 200 of its size in the same workers "
                      f"under the same load: {fmt_ms(statistics.median(ceilings))} ("
                      + ", ".join(fmt_ms(v) for v in ceilings) + ")")
        out.append((label, fmt_ms(x), fmt_ms(METRICS_SCRAPE_P99_MS),
                    x <= METRICS_SCRAPE_P99_MS
                    and not any(m["errors"] for m, _ in scrapes)))
    return out


def scrape_rounds(observe: dict) -> list:
    """(the scrape of /metrics, its ceiling) of each round under load."""
    out = []
    for r in range(1, 100):
        m = observe.get(f"metrics_scrape_r{r}")
        if not m or m.get("p99_ms") is None:
            break
        out.append((m, observe.get(f"scrape_ceiling_r{r}")))
    return out


def render_guard(data: dict) -> str:
    """The statements and propagation of bench/run --guard; the guarded
    locations themselves are rows of the scenarios, ceilings and paired
    rounds tables."""
    out = []
    st = data["guard"].get("statements")
    if st:
        n = guard_requests(data)
        out.append(table(["statements (module's role, but the heartbeat)", "guarded requests",
                          "per request", "listener heartbeat", "per second a worker",
                          "counter"],
                         [[st["statements"], f"{n:,}",
                           f"{st['statements'] / n:.6f}" if n else "-",
                           f"{st['beat_statements']} in {st['seconds']:.0f} s",
                           f"{st['beat_statements'] / st['seconds'] / max(st['workers'], 1):.2f}",
                           st["counter"]]]))
    p = data["guard"].get("propagation")
    if p:
        rows = [[name, fmt_ms(p[k]["p50_ms"]), fmt_ms(p[k]["p99_ms"]), fmt_ms(p[k]["max_ms"])]
                for k, name in (("from_send", "logout sent on A -> 401 on B"),
                                ("from_commit", "logout answered by A -> 401 on B"),
                                ("logout", "the logout request on A"))
                if k in p]
        out.append(table(["revocations: " + str(p["revocations"]), "p50", "p99", "max"], rows)
                   + f"\n\nB refused the token on its first request after A's answer in "
                   f"{p['first_poll_refused']} of {p['revocations']}; at most "
                   f"{p['polls_max']} polls; failures: "
                   + ("; ".join(p["failures"][:5]) or "none") + ".")
    return "### Guard (users_auth): statements and revocation propagation\n\n" + "\n\n".join(out)


def render_soak(soak: dict) -> str:
    out = []
    for s in soak.get("wrk", []):
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(s.get("statuses", {}).items()))
        out.append(table(["workload", "requests", "2xx/s", "p50", "p99", "errors",
                          "statuses (access log)"],
                         [[s["label"], f"{s['requests']:,}", fmt_rps(ok_rps(s)),
                           fmt_ms(s["p50_ms"]), fmt_ms(s["p99_ms"]), fmt_errors(s), statuses]]))
        if s.get("route_times"):
            out.append("Server time per route (nginx's $request_time from the access log, "
                       "in whole milliseconds; wrk's latency above is of all routes "
                       "together):\n\n" + table(
                           ["route", "requests", "p50", "p99", "max"],
                           [[t["route"], f"{t['count']:,}", f"{t['p50_ms']} ms",
                             f"{t['p99_ms']} ms", f"{t['max_ms']} ms"]
                            for t in s["route_times"]]))
    samples = soak.get("rss", [])
    if samples:
        first, last = samples[0], samples[-1]
        out.append(table(["when", "workers' RSS", "largest worker", "PostgreSQL connections"],
                         [[s["label"], f"{s['rss_kb'] / 1024:.1f} MiB",
                           f"{s['rss_max_kb'] / 1024:.1f} MiB", s["pg_conns"]] for s in samples]))
        out.append(f"Workers' RSS from start to end: {(last['rss_kb'] - first['rss_kb']) / 1024:+.1f} MiB.")
    return "### Soak\n\n" + "\n\n".join(out)


def update_readme(path: str, markdown: str) -> None:
    text = open(path).read()
    start, end = text.index(README_BEGIN), text.index(README_END)
    text = text[:start + len(README_BEGIN)] + "\n\n" + markdown + "\n" + text[end:]
    open(path, "w").write(text)


def main() -> None:
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "machine":
        print(json.dumps(machine(args[1]), indent=1))
    elif len(args) in (2, 4) and args[0] == "build":
        run_dir = args[1]
        data = load(run_dir)
        data["checks"] = [{"target": w, "measured": v, "bound": b, "met": ok}
                          for w, v, b, ok in checks(data)]
        markdown = render(data)
        json.dump(data, open(os.path.join(run_dir, "results.json"), "w"), indent=1)
        open(os.path.join(run_dir, "results.md"), "w").write(markdown)
        print(markdown)
        if len(args) == 4 and args[2] == "--readme":
            update_readme(args[3], markdown)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
