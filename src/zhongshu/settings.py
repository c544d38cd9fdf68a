"""Django settings. Everything comes from the environment; nothing connects at import time.

ZHONGSHU_HOME          folder holding an embedded instance's data (default ./zhongshu-data)
ZHONGSHU_DATABASE_URL  database (default: SQLite in WAL mode under ZHONGSHU_HOME)
ZHONGSHU_REDIS_URL     when set, background work uses Redis (scale-out); else SQLite under ZHONGSHU_HOME
ZHONGSHU_SECRET_KEY    signing key; generated once into ZHONGSHU_HOME/secret.key when unset
ZHONGSHU_PII_KEY       key of the keyed hash for ID numbers; defaults to one derived from the secret key
ZHONGSHU_CREDENTIALS_KEY  key encrypting platform tokens at rest; defaults to one derived from the secret key
"""

import os
import secrets
from pathlib import Path

import dj_database_url

HOME = Path(os.environ.get("ZHONGSHU_HOME", "zhongshu-data")).resolve()
HOME.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    if os.environ.get("ZHONGSHU_SECRET_KEY"):
        return os.environ["ZHONGSHU_SECRET_KEY"]
    path = HOME / "secret.key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
PII_KEY = os.environ.get("ZHONGSHU_PII_KEY", "pii:" + SECRET_KEY)
CREDENTIALS_KEY = os.environ.get("ZHONGSHU_CREDENTIALS_KEY", "")  # encrypts platform tokens at rest
DEBUG = os.environ.get("ZHONGSHU_DEBUG", "") == "1"
ALLOWED_HOSTS = os.environ.get("ZHONGSHU_ALLOWED_HOSTS", "*").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("ZHONGSHU_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "zhongshu.notify",  # first: its admin header (alert bell) overrides unfold's userlinks template
    "unfold",
    "unfold.contrib.filters",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "huey.contrib.djhuey",
    "zhongshu.core",
    "zhongshu.catalog",
    "zhongshu.channels",
    "zhongshu.inventory",
    "zhongshu.routing",
    "zhongshu.orders",
    "zhongshu.rules",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "zhongshu.core.middleware.ChineseFirstLocaleMiddleware",  # Chinese unless switched (not by browser)
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "zhongshu.urls"
WSGI_APPLICATION = "zhongshu.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database(url: str | None) -> dict:
    if url:
        db = dj_database_url.parse(url, conn_max_age=60)
        if db["ENGINE"].endswith("sqlite3"):
            db["OPTIONS"] = _sqlite_options()
        return db
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(HOME / "zhongshu.sqlite3"),
        "OPTIONS": _sqlite_options(),
    }


def _sqlite_options() -> dict:
    # IMMEDIATE: a write transaction takes the write lock at BEGIN, so two writers queue on
    # busy_timeout instead of deadlocking on a read->write upgrade.
    return {
        "transaction_mode": "IMMEDIATE",
        "timeout": 60,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }


DATABASES = {"default": _database(os.environ.get("ZHONGSHU_DATABASE_URL"))}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # a file, not :memory:, so that concurrent test threads share one test database
    DATABASES["default"]["TEST"] = {"NAME": str(HOME / "test-zhongshu.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("ZHONGSHU_REDIS_URL", "")
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.PriorityRedisHuey",
        "name": os.environ.get("ZHONGSHU_QUEUE_NAME", "zhongshu"),
        "url": REDIS_URL,
        "immediate": False,
        "consumer": {"workers": 4, "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "zhongshu",
        "filename": str(HOME / "queue.sqlite3"),
        "immediate": os.environ.get("ZHONGSHU_QUEUE_IMMEDIATE", "") == "1",
        "consumer": {"workers": 2, "worker_type": "thread"},
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [Path(__file__).parent / "locale"]

STATIC_URL = "/static/"
STATIC_ROOT = HOME / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise serves from the finders; the folder only has to exist
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
LOGIN_URL = "/admin/login/"
LOGIN_REDIRECT_URL = "/admin/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"pii": {"()": "zhongshu.core.pii.PiiLogFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["pii"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("ZHONGSHU_LOG_LEVEL", "INFO")},
    # httpx logs whole URLs at INFO, and some platforms put the access token in the query string
    "loggers": {
        "huey": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

from zhongshu.admin_site import UNFOLD  # noqa: E402,F401  (admin look and navigation)
