"""The original design's production stack as a benchmark peer (bench/compare.sh):
Django + djangorestframework-simplejwt, RS256, refresh rotation with the blacklist on,
SQLite, served by gunicorn. Keys and database come from the environment."""
import os

SECRET_KEY = os.environ["BENCH_DJANGO_SECRET"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "benchsite.urls"
WSGI_APPLICATION = "benchsite.wsgi.application"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["BENCH_DJANGO_DB"]}
}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication"
    ],
}
with open(os.environ["BENCH_JWT_PRIVATE"]) as f:
    _PRIVATE = f.read()
with open(os.environ["BENCH_JWT_PUBLIC"]) as f:
    _PUBLIC = f.read()
SIMPLE_JWT = {
    "ALGORITHM": "RS256",
    "SIGNING_KEY": _PRIVATE,
    "VERIFYING_KEY": _PUBLIC,
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
}
