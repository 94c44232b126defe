"""What a second factor adds to a login of the Django API: the time from the first
request to the token pair, for users with the password alone (A, the reference) and for
users with TOTP (B: `POST /auth/token/` answers mfa_required, then `POST
/auth/token/mfa/` with the code), interleaved A B A B against one live Tessera (release
build, SQLite, throttling off so nothing waits). Codes come from pyotp; each user logs in
once per 30-second step (a code's step is accepted once), so a round is one login of
every user and rounds are a step apart.

Usage: python bench/mfa_login.py [path/to/tessera] [users] [rounds]
Needs `requests` and `pyotp` (pip install requests pyotp)."""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import pyotp
import requests

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/tessera"
USERS = int(sys.argv[2]) if len(sys.argv) > 2 else 40
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 5
PASSWORD = "bench password 1"


def run(args, stdin="", env=None):
    return subprocess.run([BIN, *args], input=stdin, text=True, check=True,
                          capture_output=True, env=env).stdout


def p99(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * 0.99))]


def main():
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "TESSERA_THROTTLE__ENABLED": "false", "TESSERA_LOG_FILTER": "warn"}
        base = ["--data-dir", data]
        names = [f"p{i}" for i in range(USERS)] + [f"m{i}" for i in range(USERS)]
        for name in names:
            run([*base, "user", "create", "--username", name, "--email", f"{name}@example.com",
                 "--password-stdin"], PASSWORD + "\n", env)
        proc = subprocess.Popen([BIN, *base, "--output", "json", "serve", "--bind", "127.0.0.1:0"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        try:
            url = json.loads(proc.stdout.readline())["listening"]
            http = requests.Session()
            secrets = {}
            for i in range(USERS):
                name = f"m{i}"
                access = http.post(f"{url}/auth/token/", json={"username": name, "password": PASSWORD}).json()["access"]
                auth = {"authorization": f"Bearer {access}"}
                begun = http.post(f"{url}/auth/users/me/totp/", json={"current_password": PASSWORD}, headers=auth).json()
                totp = pyotp.TOTP(begun["secret"])
                res = http.post(f"{url}/auth/users/me/totp/confirm/", json={"code": totp.now()}, headers=auth)
                assert res.status_code == 200, res.text
                secrets[name] = totp
            # The enrolment's code used each user's current step: start on the next one.
            time.sleep(30 - time.time() % 30 + 0.5)
            a, b, second = [], [], []
            for r in range(ROUNDS):
                step_start = time.time()
                # After the wait for the next step the first login of a round is cold
                # (measured: it alone set A's p99): one discarded login warms the server.
                http.post(f"{url}/auth/token/", json={"username": "p0", "password": PASSWORD})
                for i in range(USERS):
                    t0 = time.perf_counter()
                    res = http.post(f"{url}/auth/token/", json={"username": f"p{i}", "password": PASSWORD})
                    a.append(time.perf_counter() - t0)
                    assert res.status_code == 200, res.text
                    name = f"m{i}"
                    t0 = time.perf_counter()
                    first = http.post(f"{url}/auth/token/", json={"username": name, "password": PASSWORD})
                    t1 = time.perf_counter()
                    done = http.post(f"{url}/auth/token/mfa/", json={
                        "mfa_token": first.json()["mfa_token"], "code": secrets[name].now()})
                    t2 = time.perf_counter()
                    assert first.status_code == 401 and done.status_code == 200, (first.text, done.text)
                    b.append(t2 - t0)
                    second.append(t2 - t1)
                assert time.time() - step_start < 28, "a round must fit in one 30 s step"
                if r + 1 < ROUNDS:
                    time.sleep(30 - time.time() % 30 + 0.5)
            ms = lambda xs: (statistics.median(xs) * 1000, p99(xs) * 1000)
            (am, ap), (bm, bp), (sm, sp) = ms(a), ms(b), ms(second)
            print(f"{'login':40} {'n':>5} {'median ms':>10} {'p99 ms':>9} {'median ratio':>13}")
            print(f"{'A: password only (reference)':40} {len(a):5} {am:10.2f} {ap:9.2f} {1:13.2f}")
            print(f"{'B: password + TOTP (two requests)':40} {len(b):5} {bm:10.2f} {bp:9.2f} {bm / am:13.2f}")
            print(f"{'   of which POST /auth/token/mfa/':40} {len(second):5} {sm:10.2f} {sp:9.2f} {sm / am:13.2f}")
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
