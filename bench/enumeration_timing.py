"""User enumeration by timing: for login, password reset and sign-up, the median answer time
when the account exists vs when it does not, interleaved (A B A B …) against one live
Tessera so machine drift cancels. Each flow is its own interleaved block, and reset and sign-up requests are spaced
so that their background work (after the answer) is done before the next request.
Throttling is off (it would answer 429 before hashing);
mail goes to a local aiosmtpd (pip install aiosmtpd), started here.

Usage: python bench/enumeration_timing.py [path/to/tessera] [rounds]"""

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import requests

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/tessera"
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 200
PASSWORD = "first password 1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    smtpd = shutil.which("aiosmtpd") or sys.exit("aiosmtpd not found: pip install aiosmtpd")
    with tempfile.TemporaryDirectory() as data:
        smtp_port = free_port()
        mail = subprocess.Popen([smtpd, "-n", "-l", f"127.0.0.1:{smtp_port}", "-c",
                                 "aiosmtpd.handlers.Sink"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        env = {**os.environ, "TESSERA_THROTTLE__ENABLED": "false", "TESSERA_SIGNUP__ENABLED": "true",
               "TESSERA_MAIL__SMTP_URL": f"smtp://127.0.0.1:{smtp_port}"}
        subprocess.run([BIN, "--data-dir", data, "user", "create", "--username", "user1", "--email",
                        "user1@example.com", "--password-stdin"], input=PASSWORD + "\n", text=True,
                       check=True, capture_output=True, env=env)
        proc = subprocess.Popen([BIN, "--data-dir", data, "--output", "json", "serve", "--bind",
                                 "127.0.0.1:0", "--log-format", "json"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, env=env)
        url = json.loads(proc.stdout.readline())["listening"]
        counter = iter(range(10**9))
        # (flow, case, path, body factory, expected status). Each flow runs in its own
        # interleaved block; after each reset or sign-up request the script waits for the
        # background work (hash, writes, mail) to finish, so the next answer is not
        # measured against the previous one's leftovers.
        cases = [
            ("login", "no such account", "/auth/token/", lambda: {"username": "nobody", "password": "x" * 16}, 401),
            ("login", "account exists", "/auth/token/", lambda: {"username": "user1", "password": "x" * 16}, 401),
            ("reset", "no such account", "/auth/users/reset_password/", lambda: {"email": "nobody@example.com"}, 202),
            ("reset", "account exists", "/auth/users/reset_password/", lambda: {"email": "user1@example.com"}, 202),
            ("sign-up", "new address", "/auth/users/",
             lambda: {"email": f"new{next(counter)}@example.com", "password": "a fine long password"}, 202),
            ("sign-up", "address taken", "/auth/users/",
             lambda: {"email": "user1@example.com", "password": "a fine long password"}, 202),
        ]
        session = requests.Session()
        times = {(flow, case): [] for flow, case, *_ in cases}
        try:
            for _ in range(10):  # warm-up
                for _, _, path, body, _ in cases:
                    session.post(url + path, json=body())
            for flow in ["login", "reset", "sign-up"]:
                settle = 0 if flow == "login" else 0.08
                block = [c for c in cases if c[0] == flow]
                for _ in range(ROUNDS):
                    for _, case, path, body, status in block:
                        payload = body()
                        start = time.perf_counter()
                        res = session.post(url + path, json=payload)
                        times[(flow, case)].append(time.perf_counter() - start)
                        assert res.status_code == status, (flow, case, res.status_code, res.text)
                        time.sleep(settle)
        finally:
            proc.terminate()
            mail.terminate()
        print(f"rounds={ROUNDS}")
        for flow in ["login", "reset", "sign-up"]:
            (ca, a), (cb, b) = [(case, statistics.median(v) * 1000) for (f, case), v in times.items() if f == flow]
            print(f"{flow:8} {ca}: {a:.2f} ms, {cb}: {b:.2f} ms, difference {a - b:+.2f} ms "
                  f"({(a / b - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main()
