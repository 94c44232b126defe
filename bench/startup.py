#!/usr/bin/env python3
"""Start-up to ready: spawn `tessera serve` (release build, SQLite) and poll /readyz until
it answers 200; median of RUNS. Two cases: a first start (empty data directory: creates
the database, generates and seals an RS256 key and the refresh MAC key) and a restart
(existing data directory). Reference in the same run: spawning `tessera --version` to
exit (the process start floor).
Usage: python3 bench/startup.py [path/to/release/tessera] [RUNS]"""

import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/tessera"
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 15


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ready(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=0.2)
        c.request("GET", "/readyz")
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except OSError:
        return False


def start(data_dir):
    port = free_port()
    env = {**os.environ, "TESSERA_LOG_FILTER": "warn"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([BIN, "--data-dir", data_dir, "serve", "--bind", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    while not ready(port):
        if proc.poll() is not None:
            raise SystemExit("server exited")
        time.sleep(0.0005)
    elapsed = time.perf_counter() - t0
    proc.terminate()
    proc.wait(timeout=10)
    return elapsed * 1000


def version():
    t0 = time.perf_counter()
    subprocess.run([BIN, "--version"], stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - t0) * 1000


first, again, floor = [], [], []
for _ in range(RUNS):
    d = tempfile.mkdtemp()
    try:
        first.append(start(d))
        again.append(start(d))
    finally:
        shutil.rmtree(d)
    floor.append(version())
ref = statistics.median(floor)
print(f"runs={RUNS}; reference: `tessera --version` spawn-to-exit, same run: {ref:.1f} ms\n")
print("| case | median ms | p90 ms | ratio to reference |")
print("|---|---|---|---|")
for name, xs in (("first start (new database, key generated)", first), ("restart (existing data)", again)):
    xs = sorted(xs)
    print(f"| {name} | {statistics.median(xs):.1f} | {xs[int(len(xs) * 0.9) - 1]:.1f} | {statistics.median(xs) / ref:.1f} |")
