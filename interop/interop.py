"""Third-party clients against a live Tessera: PyJWT (PyJWKClient), jwcrypto, and a minimal
Django + djangorestframework-simplejwt resource server configured with JWK_URL.

Started by interop/run.sh; exits non-zero on the first failure."""

import base64
import os
import json
import subprocess
import sys
import tempfile

import requests

BIN = sys.argv[1]
PASSWORD = "password1-long-enough"
AUDIENCE = "tessera"


def check(cond, what):
    if not cond:
        raise SystemExit(f"FAIL: {what}")
    print(f"ok: {what}")


def start_server(data_dir):
    create = subprocess.run(
        [BIN, "--data-dir", data_dir, "user", "create", "--username", "user1",
         "--email", "user1@example.com", "--password-stdin"],
        input=PASSWORD + "\n", text=True, capture_output=True)
    check(create.returncode == 0, f"tessera user create ({create.stderr.strip()})")
    log = open(f"{data_dir}/server.log", "w")
    proc = subprocess.Popen(
        [BIN, "--data-dir", data_dir, "--output", "json", "serve", "--bind", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=log, text=True,
        env={**os.environ, "TESSERA_LOG_FILTER": "debug"})
    line = proc.stdout.readline()
    url = json.loads(line)["listening"]
    return proc, url


def tamper(token):
    header, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["user_id"] = 999
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{sig}"


def pyjwt_checks(url, access):
    import jwt

    client = jwt.PyJWKClient(f"{url}/.well-known/jwks.json")
    key = client.get_signing_key_from_jwt(access)
    claims = jwt.decode(access, key.key, algorithms=["RS256"], audience=AUDIENCE, issuer=url)
    check(claims["user_id"] == 1 and claims["token_type"] == "access", "PyJWT verifies the access token from the JWKS")
    check(jwt.get_unverified_header(access)["typ"] == "at+jwt", "PyJWT sees typ at+jwt")
    try:
        jwt.decode(tamper(access), key.key, algorithms=["RS256"], audience=AUDIENCE, issuer=url)
        check(False, "PyJWT refuses a tampered token")
    except jwt.InvalidSignatureError:
        check(True, "PyJWT refuses a tampered token")
    try:
        jwt.decode(access, key.key, algorithms=["RS256"], audience="someone-else", issuer=url)
        check(False, "PyJWT refuses the wrong audience")
    except jwt.InvalidAudienceError:
        check(True, "PyJWT refuses the wrong audience")


def jwcrypto_checks(url, access):
    from jwcrypto import jwk, jwt as jjwt
    from jwcrypto.common import JWException

    keyset = jwk.JWKSet.from_json(requests.get(f"{url}/jwks", timeout=5).text)
    token = jjwt.JWT(jwt=access, key=keyset, check_claims={"iss": url, "aud": AUDIENCE, "exp": None})
    claims = json.loads(token.claims)
    check(claims["sub"] == "1", "jwcrypto verifies the access token with the JWKS")
    try:
        jjwt.JWT(jwt=tamper(access), key=keyset)
        check(False, "jwcrypto refuses a tampered token")
    except JWException:
        check(True, "jwcrypto refuses a tampered token")


def legacy_decoder_checks(access, refresh):
    # drf_remotejwt decodes the header with the standard alphabet and no padding.
    for name, token in (("access", access), ("refresh", refresh)):
        header = json.loads(base64.b64decode(token.split(".")[0]))
        check("alg" in header, f"the {name} header decodes with plain b64decode")


def simplejwt_checks(url, access):
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="interop-only",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": [
                "rest_framework_simplejwt.authentication.JWTStatelessUserAuthentication"
            ],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
        },
        SIMPLE_JWT={
            "ALGORITHM": "RS256",
            "JWK_URL": f"{url}/.well-known/jwks.json",
            "AUDIENCE": AUDIENCE,
            "ISSUER": url,
            "USER_ID_CLAIM": "user_id",
            "AUTH_HEADER_TYPES": ("Bearer",),
        },
    )
    django.setup()
    from django.test import Client
    from django.urls import path
    from rest_framework.response import Response
    from rest_framework.views import APIView

    class WhoAmI(APIView):
        def get(self, request):
            return Response({"user_id": request.user.id})

    global urlpatterns
    urlpatterns = [path("api/whoami/", WhoAmI.as_view())]

    client = Client()
    res = client.get("/api/whoami/", HTTP_AUTHORIZATION=f"Bearer {access}")
    check(res.status_code == 200 and res.json()["user_id"] in (1, "1"),
          f"simplejwt resource server accepts Tessera's token ({res.status_code})")
    res = client.get("/api/whoami/", HTTP_AUTHORIZATION=f"Bearer {tamper(access)}")
    check(res.status_code == 401, f"simplejwt resource server refuses a tampered token ({res.status_code})")


urlpatterns = []


def metrics_checks(url):
    # The official Python client's OpenMetrics parser reads /metrics.
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
    res = requests.get(f"{url}/metrics", timeout=10)
    families = {f.name: f for f in text_string_to_metric_families(res.text)}
    issued = {s.labels.get("grant"): s.value for s in families["tessera_tokens_issued"].samples
              if s.name == "tessera_tokens_issued_total"}
    check(issued.get("password") == 1 and issued.get("refresh_token") == 1,
          f"prometheus_client parses /metrics: tokens issued by grant {issued}")
    check("tessera_http_request_duration_seconds" in families, "the latency histogram parses")


def openapi_checks(url):
    # openapi-spec-validator checks the document against the OpenAPI 3.1 schema.
    from openapi_spec_validator import validate
    doc = requests.get(f"{url}/openapi.json", timeout=10).json()
    validate(doc)
    check(doc["openapi"].startswith("3.1") and "/admin/api/users" in doc["paths"],
          "openapi-spec-validator accepts /openapi.json (OpenAPI 3.1)")


def main():
    with tempfile.TemporaryDirectory() as data_dir:
        proc, url = start_server(data_dir)
        try:
            res = requests.post(f"{url}/auth/token/", json={"username": "user1", "password": PASSWORD}, timeout=10)
            check(res.status_code == 200, "login through /auth/token/")
            check(res.headers["Content-Type"] == "application/json", "Content-Type is exactly application/json")
            pair = res.json()
            legacy_decoder_checks(pair["access"], pair["refresh"])
            pyjwt_checks(url, pair["access"])
            jwcrypto_checks(url, pair["access"])
            simplejwt_checks(url, pair["access"])
            requests.post(f"{url}/auth/token/refresh/", json={"refresh": pair["refresh"]}, timeout=10)
            metrics_checks(url)
            openapi_checks(url)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        logged = open(f"{data_dir}/server.log").read()
        check("request" in logged, "the server logged the requests (debug level)")
        for secret in (PASSWORD, pair["access"], pair["refresh"], pair["access"].split(".")[2]):
            check(secret not in logged, "no password or token in the debug log")
    print("interop: all checks passed")


if __name__ == "__main__":
    main()
