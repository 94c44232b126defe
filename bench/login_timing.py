"""Login timing as an enumeration oracle, on every login surface: for each, the answer time
of a login at an account that does not exist vs one at an account that exists with a wrong
password, interleaved (A B A B …) against one live Tessera with throttling off (so every
attempt reaches Argon2id), and a Mann-Whitney U test of the two samples: a small p-value
means the two are told apart by timing alone.

Surfaces: `/auth/token/` by username and by e-mail address, the password grant
(`/oauth/token`), the Flask-style `GET /login` (Basic), and the browser login page
(`POST /oauth/authorize/login`, with its CSRF token).

Usage: python bench/login_timing.py [path/to/tessera] [rounds]
Needs `requests` and `scipy` (pip install requests scipy)."""

import base64
import html
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

import requests
from scipy.stats import mannwhitneyu

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/tessera"
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 300
PASSWORD = "first password 1"
WRONG = "not the password at all"
CB = "http://127.0.0.1:9/cb"


def run(args, stdin="", env=None):
    return subprocess.run([BIN, *args], input=stdin, text=True, check=True,
                          capture_output=True, env=env).stdout


def login_page_form(url):
    """A browser at the login page: its cookies and hidden fields (the CSRF token stays
    good for every post from this browser)."""
    browser = requests.Session()
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": "web", "redirect_uri": CB, "scope": "openid",
        "state": "s", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256"})
    page = browser.get(f"{url}/oauth/authorize?{query}").text
    fields = dict((html.unescape(n), html.unescape(v)) for n, v in
                  re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page))
    return browser, fields


def main():
    with tempfile.TemporaryDirectory() as data:
        # Sign-up on: the Flask-style GET /login exists only then (no mail is sent by a
        # login; the SMTP address is never used).
        env = {**os.environ, "TESSERA_THROTTLE__ENABLED": "false", "TESSERA_LOG_FILTER": "warn",
               "TESSERA_SIGNUP__ENABLED": "true", "TESSERA_MAIL__SMTP_URL": "smtp://127.0.0.1:9"}
        base = ["--data-dir", data]
        run([*base, "user", "create", "--username", "user1", "--email", "user1@example.com",
             "--password-stdin"], PASSWORD + "\n", env)
        secret = json.loads(run([*base, "--output", "json", "client", "create", "--id", "app",
                                 "--grant", "password"], env=env))["client_secret"]
        run([*base, "client", "create", "--id", "web", "--first-party", "--redirect-uri", CB],
            env=env)
        proc = subprocess.Popen([BIN, *base, "--output", "json", "serve", "--bind", "127.0.0.1:0"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        try:
            url = json.loads(proc.stdout.readline())["listening"]
            session = requests.Session()
            browser, fields = login_page_form(url)
            basic = lambda user: {"authorization": "Basic " + base64.b64encode(
                f"{user}:{WRONG}".encode()).decode()}
            # surface → (how to send a login of `who`, the status a failure answers)
            surfaces = {
                "/auth/token/ (username)": (
                    lambda who: session.post(f"{url}/auth/token/", json={"username": who, "password": WRONG}), 401),
                "/auth/token/ (e-mail)": (
                    lambda who: session.post(f"{url}/auth/token/", json={"username": f"{who}@example.com", "password": WRONG}), 401),
                "password grant": (
                    lambda who: session.post(f"{url}/oauth/token", auth=("app", secret), data={
                        "grant_type": "password", "username": who, "password": WRONG}), 400),
                "GET /login (Basic)": (
                    lambda who: session.get(f"{url}/login", headers=basic(who)), 401),
                "login page": (
                    lambda who: browser.post(f"{url}/oauth/authorize/login",
                                             data={**fields, "username": who, "password": WRONG},
                                             allow_redirects=False), 401),
            }
            print(f"{'surface':28} {'unknown':>10} {'known':>10} {'diff':>9} {'p (Mann-Whitney U)':>20}")
            for name, (send, status) in surfaces.items():
                for _ in range(10):  # warm-up
                    send("user1"), send("nobody")
                times = {"nobody": [], "user1": []}
                for i in range(ROUNDS):
                    # Alternate which goes first, so neither always follows the other.
                    order = ("nobody", "user1") if i % 2 == 0 else ("user1", "nobody")
                    for who in order:
                        start = time.perf_counter()
                        res = send(who)
                        times[who].append(time.perf_counter() - start)
                        assert res.status_code == status, (name, who, res.status_code, res.text[:200])
                unknown = statistics.median(times["nobody"]) * 1000
                known = statistics.median(times["user1"]) * 1000
                p = mannwhitneyu(times["nobody"], times["user1"], alternative="two-sided").pvalue
                print(f"{name:28} {unknown:8.2f}ms {known:8.2f}ms {unknown - known:+7.2f}ms {p:20.3g}")
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
