"""User enumeration by timing: median login time for an unknown user vs a wrong password,
interleaved (A B A B …) against a live Tessera so machine drift cancels.

Usage: interop/.venv/bin/python bench/login_timing.py [path/to/tessera] [rounds]"""

import json
import statistics
import subprocess
import sys
import tempfile
import time

import requests

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/tessera"
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 200


def main():
    with tempfile.TemporaryDirectory() as data:
        subprocess.run([BIN, "--data-dir", data, "user", "create", "--username", "user1", "--email",
                        "user1@example.com", "--password-stdin"], input="first password 1\n", text=True, check=True,
                       capture_output=True)
        proc = subprocess.Popen([BIN, "--data-dir", data, "--output", "json", "serve", "--bind", "127.0.0.1:0",
                                 "--log-format", "json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        url = json.loads(proc.stdout.readline())["listening"] + "/auth/token/"
        session = requests.Session()
        cases = {"unknown user": {"username": "nobody", "password": "password2"},
                 "wrong password": {"username": "user1", "password": "password2"}}
        times = {k: [] for k in cases}
        try:
            for _ in range(10):  # warm-up
                for body in cases.values():
                    session.post(url, json=body)
            for _ in range(ROUNDS):
                for name, body in cases.items():
                    start = time.perf_counter()
                    res = session.post(url, json=body)
                    times[name].append(time.perf_counter() - start)
                    assert res.status_code == 401, res.text
        finally:
            proc.terminate()
        medians = {k: statistics.median(v) * 1000 for k, v in times.items()}
        a, b = medians["unknown user"], medians["wrong password"]
        print(f"rounds={ROUNDS} median unknown user={a:.2f} ms, wrong password={b:.2f} ms, "
              f"difference={a - b:+.2f} ms ({(a / b - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main()
