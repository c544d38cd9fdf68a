"""Django settings. Everything comes from the environment; nothing connects at import time.

ZHONGSHU_HOME          folder holding an embedded instance's data (default ./zhongshu-data)
ZHONGSHU_DATABASE_URL  database (default: SQLite in WAL mode under ZHONGSHU_HOME)
ZHONGSHU_REDIS_URL     when set, background work uses Redis (scale-out); else SQLite under ZHONGSHU_HOME
ZHONGSHU_SECRET_KEY    signing key; generated once into ZHONGSHU_HOME/secret.key when unset
ZHONGSHU_PII_KEY       key of the keyed hash for ID numbers; defaults to one derived from the secret key
ZHONGSHU_CREDENTIALS_KEY  key encrypting platform tokens at rest; defaults to one derived from the secret key
ZHONGSHU_PUBLIC_URL    the address people and platforms reach this hub at (https://hub.example.com); OAuth
                       callbacks and push URLs are built from it, and its host is served (default
                       http://127.0.0.1:8000, or the port `zhongshu serve` listens on)
ZHONGSHU_ALLOWED_HOSTS further host names to serve, comma-separated (besides localhost and the public URL's)
ZHONGSHU_LOGIN_FAILURE_LIMIT     wrong passwords (one user from one address) before sign-in locks (default 5)
ZHONGSHU_LOGIN_COOLOFF_MINUTES   how long such a lock lasts (default 15)
ZHONGSHU_MAX_BODY_BYTES   largest request body answered (default 2621440, 2.5 MB); larger: JSON 413
ZHONGSHU_METRICS_TOKEN    bearer token of GET /metrics (Prometheus); unset: /metrics answers 404
ZHONGSHU_WEBHOOK_ALLOW_PRIVATE  1: outgoing webhooks may go to private/loopback/link-local addresses
                       (demo, tests); unset: such subscriber URLs are refused (request forgery guard)
ZHONGSHU_SANDBOX       name of a sandbox (`zhongshu sandbox create NAME`; same as `zhongshu --sandbox NAME`):
                       the home becomes ZHONGSHU_HOME/sandboxes/NAME, the database the one named in its
                       sandbox.json, and the keys its own (ZHONGSHU_*_KEY and ZHONGSHU_DATABASE_URL ignored)
ZHONGSHU_QUEUE_DEADLINE_MS  a request that waited longer for a thread is answered 503 at once (default 500; 0: off)
ZHONGSHU_REQUEST_BUDGET_MS  an API request's time budget from its queueing; a wait for the database past it
                       is answered 503 + Retry-After with nothing written (default 1000; 0: none)
ZHONGSHU_PUSH_QUEUE_DEADLINE_MS  the queue deadline of platform pushes (/api/v1/push/…; default 1500;
                       0: as ZHONGSHU_QUEUE_DEADLINE_MS); their budget is at least this + 500 ms
ZHONGSHU_WEBHOOK_RETRY_SCHEDULE seconds before each webhook attempt, comma-separated (default
                       0,5,300,1800,7200,18000,36000,50400,72000,86400: immediately … 24 h)
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

HOME = Path(os.environ.get("ZHONGSHU_HOME", "zhongshu-data")).resolve()
INSTANCE_HOME = HOME  # the instance's own home, also when a sandbox of it is in use
SANDBOX = os.environ.get("ZHONGSHU_SANDBOX", "").strip()
_SANDBOX_DATABASE_URL = ""
if SANDBOX:
    import json

    from django.core.exceptions import ImproperlyConfigured

    HOME = INSTANCE_HOME / "sandboxes" / SANDBOX
    try:
        _SANDBOX_DATABASE_URL = json.loads((HOME / "sandbox.json").read_text())["database_url"]
    except (OSError, ValueError, KeyError) as exc:
        raise ImproperlyConfigured(
            f"no sandbox {SANDBOX!r} under {INSTANCE_HOME} (zhongshu sandbox create {SANDBOX})"
        ) from exc
    # nothing of a sandbox reaches a platform: no message-service listeners, SF at a closed local port
    # (its shops' api_base_url and waybill accounts are rewritten by `sandbox create`: zhongshu.sandbox)
    os.environ.update(
        ZHONGSHU_TAOBAO_TMC="0",
        ZHONGSHU_PDD_MESSAGES="0",
        ZHONGSHU_SF_URL="http://127.0.0.1:9/zhongshu-sandbox/",
    )

# The home holds receivers' names, phones and addresses, the queue and the secret key: the folder is
# the owner's only (0700), and so is everything the hub creates (0600 files: the SQLite databases and
# their -wal/-shm, which SQLite gives the database's mode, keys, locks, exports).
os.umask(0o077)
HOME.mkdir(mode=0o700, parents=True, exist_ok=True)


def _close_home() -> None:
    """Tighten a home an older version left readable by others (0755 folder, 0644 files)."""
    try:
        if HOME.stat().st_mode & 0o077:
            HOME.chmod(0o700)
        for path in [*HOME.glob("*.sqlite3*"), HOME / "secret.key"]:
            if path.is_file() and path.stat().st_mode & 0o077:
                path.chmod(0o600)
    except PermissionError:  # not ours (a read-only mount): leave it as the owner set it
        pass


_close_home()


def _secret_key() -> str:
    if os.environ.get("ZHONGSHU_SECRET_KEY") and not SANDBOX:
        return os.environ["ZHONGSHU_SECRET_KEY"]
    path = HOME / "secret.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
PII_KEY = ("" if SANDBOX else os.environ.get("ZHONGSHU_PII_KEY", "")) or "pii:" + SECRET_KEY
# encrypts platform tokens at rest; a sandbox has its own keys, all derived from its secret.key
CREDENTIALS_KEY = "" if SANDBOX else os.environ.get("ZHONGSHU_CREDENTIALS_KEY", "")
DEBUG = os.environ.get("ZHONGSHU_DEBUG", "") == "1"


def _csv(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


# Host header: requests naming another host get 400, so no link is ever built from a forged Host.
_PUBLIC = os.environ.get("ZHONGSHU_PUBLIC_URL", "").strip().rstrip("/")
PUBLIC_URL = _PUBLIC or "http://127.0.0.1:8000"  # `zhongshu serve --port N` puts its own port here
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
CSRF_TRUSTED_ORIGINS = _csv("ZHONGSHU_CSRF_TRUSTED_ORIGINS")
if _PUBLIC:
    _public = urlsplit(_PUBLIC)
    _host = _public.hostname or ""
    ALLOWED_HOSTS.append(f"[{_host}]" if ":" in _host else _host)  # an IPv6 address in brackets
    CSRF_TRUSTED_ORIGINS.insert(0, f"{_public.scheme}://{_public.netloc}")  # behind a TLS-ending proxy
ALLOWED_HOSTS += [h for h in _csv("ZHONGSHU_ALLOWED_HOSTS") if h not in ALLOWED_HOSTS]

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
    "ninja",  # serves Swagger UI from its own static files: /api/docs works with no internet
    # django-axes, before zhongshu.core: its failed-login handler runs before the hub's audit of it
    "zhongshu.core.apps.LoginGuardConfig",
    "zhongshu.core",
    "zhongshu.catalog",
    "zhongshu.shops",
    "zhongshu.channels",
    "zhongshu.inventory",
    "zhongshu.routing",
    "zhongshu.orders",
    "zhongshu.rules",
    "zhongshu.fulfilment",
    "zhongshu.shipping",
    "zhongshu.peak",
    "zhongshu.webhooks",
    "zhongshu.monitor",
    "zhongshu.console",  # last: wires the apps together for the order workbench
]

MIDDLEWARE = [
    "zhongshu.core.overload.QueueDeadlineMiddleware",  # 503 + Retry-After when a request waited too long
    "zhongshu.core.middleware.ServerTimingMiddleware",  # Server-Timing on API answers (app, db, lock)
    "zhongshu.core.middleware.RequestGuardMiddleware",  # JSON 413 over MAX_BODY_BYTES; NUL in the URL
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "zhongshu.core.middleware.ChineseFirstLocaleMiddleware",  # Chinese unless switched (not by browser)
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a locked-out sign-in into the lockout page
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


# Django's SQLite backend whose write transactions queue per process on a lock (zhongshu.core.sqlite)
SQLITE_ENGINE = "zhongshu.core.sqlite"


def _database(url: str | None) -> dict:
    if url:
        db = dj_database_url.parse(url, conn_max_age=60)
        if db["ENGINE"].endswith("sqlite3"):
            db["ENGINE"] = SQLITE_ENGINE
            db["OPTIONS"] = _sqlite_options()
        return db
    return {
        "ENGINE": SQLITE_ENGINE,
        "NAME": str(HOME / "zhongshu.sqlite3"),
        "OPTIONS": _sqlite_options(),
        # kept open between requests, as with a database URL: opening one (PRAGMAs, Django's SQL
        # functions, the writers' lock file) cost ~3 ms CPU per request, half of a push's
        "CONN_MAX_AGE": 60,
    }


def _sqlite_options() -> dict:
    # IMMEDIATE: a write transaction takes the write lock at BEGIN, so two writers queue on
    # busy_timeout instead of deadlocking on a read->write upgrade.
    return {
        "transaction_mode": "IMMEDIATE",
        "timeout": 60,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }


DATABASES = {"default": _database(_SANDBOX_DATABASE_URL or os.environ.get("ZHONGSHU_DATABASE_URL"))}
if DATABASES["default"]["ENGINE"] == SQLITE_ENGINE:
    # a file, not :memory:, so that concurrent test threads share one test database
    DATABASES["default"]["TEST"] = {"NAME": str(HOME / "test-zhongshu.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("ZHONGSHU_REDIS_URL", "")
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.PriorityRedisHuey",
        "name": os.environ.get("ZHONGSHU_QUEUE_NAME", "zhongshu") + (f"-sandbox-{SANDBOX}" * bool(SANDBOX)),
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

# Password guessing: after AXES_FAILURE_LIMIT wrong passwords for one user from one address, every
# sign-in of that pair (even with the right password) is refused for the cool-off. Failures and locks
# are kept by django-axes (admin: 登录尝试 / 登录失败记录) and on the audit timeline (core/login_guard.py);
# `zhongshu unlock` or the admin's 解除锁定 lifts a lock early.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out user before any password check
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("ZHONGSHU_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("ZHONGSHU_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # a guesser cannot lock others out
AXES_RESET_ON_SUCCESS = True  # a successful sign-in forgets the earlier typos
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_ENABLE_ADMIN = False  # the hub registers the axes tables in Unfold's look (core/admin.py)
AXES_LOCKOUT_CALLABLE = "zhongshu.core.login_guard.lockout_response"  # a Chinese page, HTTP 429
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False

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

METRICS_TOKEN = os.environ.get("ZHONGSHU_METRICS_TOKEN", "")  # /metrics (core/metrics.py); unset: 404

# Outgoing webhooks (zhongshu.webhooks): the request forgery guard, the retry schedule, the timeout.
WEBHOOK_ALLOW_PRIVATE = os.environ.get("ZHONGSHU_WEBHOOK_ALLOW_PRIVATE", "") == "1"
WEBHOOK_RETRY_SCHEDULE = [float(s) for s in _csv("ZHONGSHU_WEBHOOK_RETRY_SCHEDULE")] or [
    0,
    5,
    300,
    1800,
    7200,
    18000,
    36000,
    50400,
    72000,
    86400,
]
WEBHOOK_TIMEOUT = 5.0  # seconds per request (connect, read, write each)

# Seconds a platform connector waits for an answer (0: each platform client's own default, 10–30 s).
# `zhongshu loadtest` sets it for the sandbox server it starts, so answers its platform doubles delay
# count as timeouts within a short run.
PLATFORM_TIMEOUT = float(os.environ.get("ZHONGSHU_PLATFORM_TIMEOUT") or 0)
WEBHOOK_CONCURRENCY = 8  # requests in flight per sending worker
WEBHOOK_KEEP_DAYS = 30  # delivered deliveries are forgotten after this many days (dead letters stay)

# Largest request body (bytes) answered; larger ones get a JSON 413. Django's default, 2.5 MB.
MAX_BODY_BYTES = int(os.environ.get("ZHONGSHU_MAX_BODY_BYTES", 2_621_440))
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_BODY_BYTES

# Overload (core/overload.py): a request that waited longer than this for a thread is answered 503
# with Retry-After at once (0: never); the request itself then runs at most a service time longer.
QUEUE_DEADLINE_MS = float(os.environ.get("ZHONGSHU_QUEUE_DEADLINE_MS", "500"))
QUEUE_RETRY_AFTER_S = int(os.environ.get("ZHONGSHU_QUEUE_RETRY_AFTER", "1"))
# The time budget of an API request, from the moment it was queued: waits for the database inside it
# (SQLite's write lock, PostgreSQL's lock and statement timeouts) are capped by what is left, and a
# request that runs out is answered 503 + Retry-After with nothing written (0: no budget).
REQUEST_BUDGET_MS = float(os.environ.get("ZHONGSHU_REQUEST_BUDGET_MS", "1000"))
# Platform pushes (/api/v1/push/…) wait longer before they are shed: a push costs ~2 ms and the
# platform waits seconds for its acknowledgement, while a 503 costs it a retry (and may slow its
# deliveries); their budget is this plus 500 ms when that is longer than REQUEST_BUDGET_MS.
PUSH_QUEUE_DEADLINE_MS = float(os.environ.get("ZHONGSHU_PUSH_QUEUE_DEADLINE_MS", "1500"))

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
