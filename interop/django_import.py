"""`tessera import django` against a real Django project: Django (on PostgreSQL) makes users
with each of its password hashers, `manage.py dumpdata auth.user` writes them out, Tessera
imports the dump (and, separately, reads Django's auth_user table directly), and every user
then logs in to Tessera with the password Django hashed; the hash is replaced by Argon2id.

Started by interop/run.sh after interop.py (Django can be configured once per process)."""

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests

from interop import BIN, check, start_server

PG_URL = os.environ.get("TESSERA_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
DB_NAME = f"tessera_django_{os.getpid()}"
HASHERS = ["pbkdf2_sha256", "pbkdf2_sha1", "argon2", "bcrypt_sha256", "bcrypt"]
# username -> (hasher, password); each logs in to Tessera afterwards.
USERS = {f"user_{h}": (h, f"{h} password, long enough") for h in HASHERS}


def with_db(url, name):
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def configure_django():
    import django
    from django.conf import settings

    parts = urlsplit(with_db(PG_URL, DB_NAME))
    settings.configure(
        SECRET_KEY="interop-only",
        USE_TZ=True,
        # simplejwt's defaults: HS256 signed with SECRET_KEY, as most deployments run it.
        SIMPLE_JWT={"USER_ID_FIELD": "id", "USER_ID_CLAIM": "user_id"},
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
        DATABASES={"default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": DB_NAME, "USER": parts.username or "postgres",
            "HOST": parts.hostname or "127.0.0.1", "PORT": parts.port or 5432,
        }},
        PASSWORD_HASHERS=[f"django.contrib.auth.hashers.{c}" for c in [
            "PBKDF2PasswordHasher", "PBKDF2SHA1PasswordHasher", "Argon2PasswordHasher",
            "BCryptSHA256PasswordHasher", "BCryptPasswordHasher"]],
    )
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)


def make_users():
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from django.utils import timezone as dj_tz

    for name, (hasher, password) in USERS.items():
        User.objects.create(username=name, email=f"{name}@example.com",
                            password=make_password(password, hasher=hasher),
                            first_name="First", last_name=hasher, is_staff=(hasher == "argon2"),
                            last_login=dj_tz.now())
    User.objects.create_superuser("root", "root@example.com", "root password, long enough")
    User.objects.create(username="inactive", email="inactive@example.com", is_active=False,
                        password=make_password("inactive password 1", hasher="pbkdf2_sha256"))
    unusable = User(username="sso_only", email="sso_only@example.com")
    unusable.set_unusable_password()
    unusable.save()
    # Tessera needs an e-mail address per user: this one is refused, with the reason.
    User.objects.create(username="no_email", email="",
                        password=make_password("no email password 1"))
    return {u.username: u for u in User.objects.all()}


def tessera_import(data_dir, *source):
    run = subprocess.run([BIN, "--data-dir", data_dir, "--output", "json", "import", "django",
                          *source], capture_output=True, text=True)
    check(run.returncode == 0, f"tessera import django {source[0]} ({run.stderr.strip()})")
    return json.loads(run.stdout)


def login(url, username, password):
    return requests.post(f"{url}/auth/token/", json={"username": username, "password": password},
                         timeout=30)


def stored_hash(data_dir, username):
    with sqlite3.connect(f"{data_dir}/tessera.db") as db:
        return db.execute("SELECT password_hash FROM users WHERE username = ?",
                          (username,)).fetchone()[0]


def check_logins(url, data_dir, django_users):
    for name, (hasher, password) in USERS.items():
        check(stored_hash(data_dir, name).startswith(hasher + "$"),
              f"{name}: the Django {hasher} hash was imported as it is")
        answer = login(url, name, password)
        check(answer.status_code == 200, f"{name} logs in with the password Django hashed "
                                         f"({answer.status_code} {answer.text[:80]})")
        check(stored_hash(data_dir, name).startswith("$argon2id$"),
              f"{name}: the hash became Argon2id at that login")
        check(login(url, name, password).status_code == 200, f"{name} logs in again (Argon2id)")
        check(login(url, name, password + "x").status_code == 401, f"{name}: a wrong password fails")
    root = login(url, "root", "root password, long enough")
    check(root.status_code == 200, "the superuser logs in")
    me = requests.get(f"{url}/auth/users/me/",
                      headers={"Authorization": f"Bearer {root.json()['access']}"}, timeout=10).json()
    original = django_users["root"]
    check(me["is_superuser"] and me["is_staff"] and me["email"] == "root@example.com",
          "flags and e-mail came across")
    joined = original.date_joined.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    check(me["date_joined"][:19] == joined[:19], f"date_joined kept ({me['date_joined']} vs {joined})")
    staff = requests.get(f"{url}/auth/users/{USER_IDS['user_argon2']}/",
                         headers={"Authorization": f"Bearer {root.json()['access']}"}, timeout=10)
    check(staff.status_code == 200 and staff.json()["is_staff"] and staff.json()["last_login"],
          "is_staff and last_login came across")
    check(login(url, "inactive", "inactive password 1").status_code == 401,
          "an inactive Django user stays unable to log in")
    check(stored_hash(data_dir, "sso_only").startswith("!"), "an unusable password is kept as such")
    check(login(url, "sso_only", "").status_code in (400, 401), "and nobody logs in with it")


# Tessera's ids (its own, not Django's), from `tessera user list`.
USER_IDS = {}


def main():
    admin = psycopg.connect(with_db(PG_URL, "postgres"), autocommit=True)
    admin.execute(f"CREATE DATABASE {DB_NAME}")
    try:
        configure_django()
        django_users = make_users()
        from django.core.management import call_command
        with tempfile.TemporaryDirectory() as tmp:
            dump = f"{tmp}/users.json"
            call_command("dumpdata", "auth.user", output=dump, verbosity=0)

            from_json = f"{tmp}/from-json"
            os.mkdir(from_json)
            first = tessera_import(from_json, "--from-json", dump)
            check(first["created"] == 8 and first["refused"] == 1
                  and "e-mail" in first["errors"][0], f"dumpdata imported: {first}")
            again = tessera_import(from_json, "--from-json", dump)
            check(again["created"] == 0 and again["skipped"] == 8, f"a second run skips all: {again}")
            listing = subprocess.run([BIN, "--data-dir", from_json, "--output", "json", "user", "list"],
                                     capture_output=True, text=True, check=True)
            USER_IDS.update({u["username"]: u["id"] for u in json.loads(listing.stdout)})
            check(all(USER_IDS[u.username] == u.pk for u in django_users.values()
                      if u.username != "no_email"),
                  "every imported user kept its Django id")
            # Django's refresh tokens (simplejwt, HS256 with SECRET_KEY) are exchanged once
            # during the migration window.
            from rest_framework_simplejwt.tokens import RefreshToken
            old_refresh = str(RefreshToken.for_user(django_users["user_pbkdf2_sha256"]))
            until = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            os.environ.update({"TESSERA_TOKENS__LEGACY_HS256_SECRET": "interop-only",
                               "TESSERA_TOKENS__LEGACY_UNTIL": until})
            proc, url = start_server(from_json)
            os.environ.pop("TESSERA_TOKENS__LEGACY_HS256_SECRET")
            os.environ.pop("TESSERA_TOKENS__LEGACY_UNTIL")
            try:
                exchanged = requests.post(f"{url}/auth/token/refresh/", json={"refresh": old_refresh},
                                          timeout=10)
                check(exchanged.status_code == 200,
                      f"a refresh token simplejwt issued is exchanged for Tessera's ({exchanged.text[:80]})")
                me = requests.get(f"{url}/auth/users/me/", timeout=10, headers={
                    "Authorization": f"Bearer {exchanged.json()['access']}"}).json()
                check(me["id"] == django_users["user_pbkdf2_sha256"].pk, "for the same user (same id)")
                again = requests.post(f"{url}/auth/token/refresh/", json={"refresh": old_refresh},
                                      timeout=10)
                check(again.status_code == 401, "and only once")
                check_logins(url, from_json, django_users)
            finally:
                proc.terminate()
                proc.wait()

            from_db = f"{tmp}/from-db"
            os.mkdir(from_db)
            direct = tessera_import(from_db, "--from-db", with_db(PG_URL, DB_NAME))
            check(direct["created"] == 8 and direct["refused"] == 1, f"auth_user read directly: {direct}")
            proc, url = start_server(from_db)
            try:
                for name in ["user_pbkdf2_sha256", "user_bcrypt_sha256"]:
                    check(login(url, name, USERS[name][1]).status_code == 200,
                          f"{name} logs in after --from-db")
            finally:
                proc.terminate()
                proc.wait()
    finally:
        from django.db import connections
        connections.close_all()
        admin.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    print("django import: all checks passed")


if __name__ == "__main__":
    main()
