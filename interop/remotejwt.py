"""drf_remotejwt's client app (PyPI drf-remotejwt 0.3.2, `remotejwt_client` + its
`remotejwt_user` model), unchanged, in a Django client-service pointed at a live Tessera
by REMOTE_AUTH_SERVICE_URL: login through its proxy, protected calls that create the
local user from /auth/users/{id}/, refresh and verify through its TokenManager.

What drf_remotejwt itself cannot do is printed as NOTE lines (README, "drf_remotejwt").
Started by interop/run.sh after interop.py (Django can be configured once per process)."""

import subprocess
import sys
import tempfile

import requests

from interop import BIN, PASSWORD, check, start_server


def configure(url):
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="interop-only",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "rest_framework",
            "remotejwt_user",
            "remotejwt_client",
        ],
        AUTH_USER_MODEL="remotejwt_user.User",
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        # As a DEFAULT_AUTHENTICATION_CLASSES entry, drf_remotejwt 0.3.2 hits a circular
        # import (its authentication module imports rest_framework.generics); set per view.
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": [],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
        },
        # drf_remotejwt's README settings, pointed at Tessera.
        REMOTE_JWT={
            "AUTH_HEADER_TYPES": ("Bearer",),
            "AUTH_HEADER_NAME": "Authorization",
            "REMOTE_AUTH_SERVICE_URL": url,
            "REMOTE_AUTH_SERVICE_TOKEN_PATH": "/auth/token/",
            "REMOTE_AUTH_SERVICE_REFRESH_PATH": "/auth/token/refresh/",
            "REMOTE_AUTH_SERVICE_VERIFY_PATH": "/auth/token/verify/",
            "REMOTE_AUTH_SERVICE_USER_PATH": "/auth/users/{user_id}/",
            "USER_ID_FIELD": "id",
            "USER_ID_CLAIM": "user_id",
        },
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


urlpatterns = []


def routes():
    from django.urls import include, path
    from rest_framework.response import Response
    from rest_framework.views import APIView
    from remotejwt_client.authentication import RemoteJWTAuthentication

    class Test(APIView):
        authentication_classes = [RemoteJWTAuthentication]

        def get(self, request):
            return Response({"id": request.user.id, "email": request.user.email})

    global urlpatterns
    urlpatterns = [
        path("auth/", include("remotejwt_client.urls")),
        path("api/test/", Test.as_view()),
    ]


def run(url):
    configure(url)
    routes()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from remotejwt_client.utils import TokenManager

    User = get_user_model()
    client = Client()

    # Login through drf_remotejwt's proxy view: e-mail + password, local user created.
    res = client.post("/auth/token/", {"email": "user1@example.com", "password": PASSWORD},
                      content_type="application/json")
    check(res.status_code == 200, f"login through drf_remotejwt's proxy ({res.status_code} {res.content[:200]})")
    pair = res.json()
    check(User.objects.filter(email="user1@example.com").exists(),
          "drf_remotejwt created its local user at login")

    # Protected call: the client's header quirk is `Bearer: <jwt>`.
    res = client.get("/api/test/", HTTP_AUTHORIZATION=f"Bearer: {pair['access']}")
    check(res.status_code == 200 and res.json()["email"] == "user1@example.com",
          f"protected call with drf_remotejwt's RemoteJWTAuthentication ({res.status_code})")

    res = client.get("/api/test/")
    check(res.status_code in (401, 403), f"no token, no entry ({res.status_code})")

    # A user it has never seen: created from /auth/users/{id}/ with every key returned.
    create = subprocess.run(
        [BIN, "--data-dir", DATA_DIR, "user", "create", "--username", "user2",
         "--email", "user2@example.com", "--password-stdin"],
        input=PASSWORD + "\n", text=True, capture_output=True)
    check(create.returncode == 0, "second user created at the authority")
    direct = requests.post(f"{url}/auth/token/", json={"email": "user2@example.com", "password": PASSWORD},
                           timeout=10).json()
    res = client.get("/api/test/", HTTP_AUTHORIZATION=f"Bearer: {direct['access']}")
    check(res.status_code == 200 and res.json() == {"id": 2, "email": "user2@example.com"},
          f"first protected call creates the local user from /auth/users/2/ ({res.status_code} {res.content[:200]})")
    local = User.objects.get(id=2)
    check(local.is_active and not local.is_staff, "the local copy carries the authority's flags")

    # Refresh and verify through its TokenManager (the calls its views make).
    manager = TokenManager()
    fresh = manager.refresh(pair["refresh"])
    check("access" in fresh and "refresh" in fresh, "TokenManager.refresh against Tessera")
    check(manager.verify(fresh["access"]) == {}, "TokenManager.verify against Tessera")
    try:
        manager.refresh(pair["refresh"])
        check(False, "a reused refresh token is refused")
    except Exception as e:  # rest_framework.exceptions.AuthenticationFailed
        check(type(e).__name__ == "AuthenticationFailed", "a reused refresh token is refused")

    # Its proxy views for refresh/verify cap the token at 255 characters (its serializers).
    res = client.post("/auth/token/refresh/", {"refresh": fresh["refresh"]}, content_type="application/json")
    print(f"NOTE: drf_remotejwt's /auth/token/refresh/ proxy view answers {res.status_code} for a "
          f"{len(fresh['refresh'])}-character refresh token (its serializer's max_length=255); "
          "TokenManager.refresh, which the view would call, works (checked above)")

    # drf_remotejwt's authentication lets a request in whatever status /auth/token/verify/
    # answers, as long as the Content-Type is exactly application/json. Tessera's refusals
    # say `application/json; charset=utf-8`, which it does not take for a yes.
    import base64, json
    header, payload, sig = fresh["access"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["user_id"] = 2
    forged = ".".join([header, base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode(), sig])
    verdict = requests.post(f"{url}/auth/token/verify/", json={"token": forged}, timeout=10)
    check(verdict.status_code == 401 and verdict.headers["Content-Type"] == "application/json; charset=utf-8",
          "Tessera refuses a token whose user_id was swapped (401, JSON with charset)")
    res = client.get("/api/test/", HTTP_AUTHORIZATION=f"Bearer: {forged}")
    check(res.status_code in (401, 403),
          f"drf_remotejwt refuses the forged token naming an existing user ({res.status_code})")

DATA_DIR = None


def main():
    global DATA_DIR
    with tempfile.TemporaryDirectory() as data_dir:
        DATA_DIR = data_dir
        proc, url = start_server(data_dir)
        try:
            run(url)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print("remotejwt interop: all checks passed")


if __name__ == "__main__":
    main()
