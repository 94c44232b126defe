#!/usr/bin/env python3
"""bench/compare.sh's bookkeeping.
  compare_report.py row WRK_OUTPUT SCENARIO SYSTEM   → one row on stdout
  compare_report.py raw NAME < criterion output       → a reference row (µs)
  compare_report.py report ROWS CHART.svg RUN VERSIONS IDLE_RSS_KB PEAK_RSS_KB
                                                       → Markdown on stdout, chart written
Rows: "SCENARIO SYSTEM req/s p50_ms p99_ms non2xx socket_errors"; "raw NAME µs"
(rs256_sign: raw RS256 signing; argon2id: one hash with the default parameters).
"""
import re
import statistics
import sys

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def latency(text, pct):
    m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)\b", text)
    return float(m.group(1)) * UNITS[m.group(2)] if m else float("nan")


def row(path, scenario, system):
    t = open(path).read()
    m = re.search(r"Requests/sec:\s+([\d.]+)", t)
    rps = float(m.group(1)) if m else 0.0
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
    socket_errors = sum(int(g) for g in sock.groups()) if sock else 0
    print(scenario, system, rps, latency(t, 50), latency(t, 99),
          int(bad.group(1)) if bad else 0, socket_errors)


def raw(name):
    t = sys.stdin.read()
    m = re.search(r"time:\s+\[[\d.]+ \S+ ([\d.]+) (ns|µs|us|ms|s)\b", t)
    us = float(m.group(1)) * {"ns": 0.001, "µs": 1, "us": 1, "ms": 1000, "s": 1e6}[m.group(2)]
    print("raw", name, us)


SYSTEM_LABEL = {
    "sqlite": "Tessera (SQLite)",
    "postgres": "Tessera (PostgreSQL)",
    "simplejwt": "simplejwt + gunicorn",
    "oidc-provider": "node oidc-provider",
    "oidc-provider-jwt": "node oidc-provider (JWT)",
    "client-service": "client service + tessera-client",
    "unverified": "client service, no verification",
}
COLORS = {
    "sqlite": "#1f6feb", "postgres": "#6ea8fe", "simplejwt": "#2da44e",
    "oidc-provider": "#d29922", "oidc-provider-jwt": "#f0c674",
    "client-service": "#8250df", "unverified": "#c297ff",
}


def report(rows_path, chart, run, versions, idle_kb, peak_kb):
    rows = [l.split() for l in open(rows_path) if l.strip()]
    raw_us = statistics.median(float(r[2]) for r in rows if r[0] == "raw" and r[1] == "rs256_sign")
    raw_2cores = 2 * 1e6 / raw_us
    hashes = [float(r[2]) for r in rows if r[0] == "raw" and r[1] == "argon2id"]
    hash_ms = statistics.median(hashes) / 1000 if hashes else float("nan")
    hash_limit = 2 * 1000 / hash_ms
    cells = {}
    for r in rows:
        if r[0] == "raw":
            continue
        cells.setdefault((r[0], r[1]), []).append(
            (float(r[2]), float(r[3]), float(r[4]), int(r[5]), int(r[6])))
    med = {k: (statistics.median(v[0] for v in vs), statistics.median(v[1] for v in vs),
               statistics.median(v[2] for v in vs), sum(v[3] for v in vs), sum(v[4] for v in vs),
               len(vs))
           for k, vs in cells.items()}
    scenarios = list(dict.fromkeys(k[0] for k in med))
    print(f"{run}; {versions}")
    print(f"\nRaw RS256 signing (criterion `raw_aws_lc/RS256_sign`, median of the rounds' medians): "
          f"{raw_us:.1f} µs = {1e6 / raw_us:.0f}/s per core, {raw_2cores:.0f}/s on both cores. "
          f"One Argon2id hash (m=19456 KiB, t=2, p=1; criterion `password/argon2id_default`): "
          f"{hash_ms:.2f} ms, so at most {hash_limit:.0f} logins/s on both cores.\n")
    print("| scenario | system | req/s | p50 ms | p99 ms | non-2xx | socket errors | Tessera (SQLite) ÷ this |")
    print("|---|---|---|---|---|---|---|---|")
    for s in scenarios:
        base = med.get((s, "sqlite"), med.get((s, "client-service")))
        for (sc, system), (rps, p50, p99, bad, sock, n) in med.items():
            if sc != s:
                continue
            ratio = f"{base[0] / rps:.2f}" if base and rps else "–"
            print(f"| {s} | {SYSTEM_LABEL.get(system, system)} | {rps:.0f} | {p50:.2f} | {p99:.2f} | {bad} | {sock} | {ratio} |")

    def rps(s, system):
        return med.get((s, system), (float("nan"),))[0]

    targets = [
        ("password logins ≥ 90 % of cores ÷ single-hash time", rps("login", "sqlite") / hash_limit, 0.9),
        ("verify ≥ 30× simplejwt", rps("verify", "sqlite") / rps("verify", "simplejwt"), 30),
        ("verify ≥ 2× oidc-provider introspection", rps("verify", "sqlite") / rps("introspect", "oidc-provider"), 2),
        ("refresh (SQLite, synchronous=FULL) ≥ 15× simplejwt", rps("refresh", "sqlite") / rps("refresh", "simplejwt"), 15),
        ("refresh ≥ 60 % of raw RS256 signing on both cores", rps("refresh", "sqlite") / raw_2cores, 0.6),
        ("client_credentials ≥ 60 % of raw RS256 signing on both cores", rps("client_credentials", "sqlite") / raw_2cores, 0.6),
        ("client_credentials ≥ oidc-provider issuing RS256 JWTs", rps("client_credentials", "sqlite") / rps("client_credentials", "oidc-provider-jwt"), 1),
        ("refresh ≥ oidc-provider refresh (one RS256 signature each)", rps("refresh", "sqlite") / rps("refresh", "oidc-provider"), 1),
        ("JWKS ≥ 3× oidc-provider", rps("jwks", "sqlite") / rps("jwks", "oidc-provider"), 3),
        ("discovery ≥ 3× oidc-provider", rps("discovery", "sqlite") / rps("discovery", "oidc-provider"), 3),
        ("tessera-client protected endpoint ÷ unverified (information)", rps("protected", "client-service") / rps("protected", "unverified"), None),
    ]
    print("\n| target | measured | goal | met |")
    print("|---|---|---|---|")
    for name, value, goal in targets:
        if value != value:  # NaN: scenario not run
            continue
        met = "–" if goal is None else ("yes" if value >= goal else "**no**")
        print(f"| {name} | {value:.2f} | {'' if goal is None else goal} | {met} |")
    idle, peak = int(idle_kb) / 1024, int(peak_kb) / 1024
    # The hash memory is capped: max_concurrent_hashes (2) × memory_kib (19456 KiB), kept
    # by the hashing threads once they have worked (service/argon2_memory.rs).
    hash_mb = 2 * 19456 / 1024
    print(f"| Tessera (SQLite) idle RSS ≤ 20 MB | {idle:.1f} MB | 20 | {'yes' if idle <= 20 else '**no**'} |")
    print(f"| Tessera (SQLite) peak RSS over the run, less the capped hash memory ({hash_mb:.0f} MB), ≤ 64 MB | "
          f"{peak - hash_mb:.1f} MB (peak {peak:.1f} MB) | 64 | {'yes' if peak - hash_mb <= 64 else '**no**'} |")
    draw(chart, med, scenarios)


def draw(chart, med, scenarios):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = list(dict.fromkeys(k[1] for k in med))
    fig, ax = plt.subplots(figsize=(10, 0.5 + 0.32 * len(med) + 0.3 * len(scenarios)))
    y, ticks, labels = 0, [], []
    drawn = set()
    for s in reversed(scenarios):
        here = [sys_ for sys_ in reversed(systems) if (s, sys_) in med]
        start = y
        for system in here:
            value = med[(s, system)][0]
            label = SYSTEM_LABEL.get(system, system) if system not in drawn else None
            drawn.add(system)
            ax.barh(y, value, color=COLORS.get(system, "#888"), label=label)
            ax.text(value * 1.05, y, f"{value:,.0f}", va="center", fontsize=7)
            y += 1
        ticks.append((start + y - 1) / 2)
        labels.append(s)
        y += 0.8
    ax.set_xscale("log")
    ax.set_yticks(ticks, labels)
    ax.set_xlabel("requests/s (median of rounds, log scale)")
    ax.set_title("Throughput per scenario and system (bench/compare.sh)")
    handles, names = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], names[::-1], fontsize=7, loc="lower right")
    ax.grid(axis="x", which="both", alpha=0.2)
    fig.tight_layout()
    fig.savefig(chart, format="svg", metadata={"Date": None})


if __name__ == "__main__":
    {"row": lambda: row(*sys.argv[2:5]), "raw": lambda: raw(sys.argv[2]),
     "report": lambda: report(*sys.argv[2:8])}[sys.argv[1]]()
