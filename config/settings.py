"""One settings module: every value comes from the environment (see .env.example).

Nothing set gives the embedded default: SQLite, in-memory channel layer, locmem cache, tasks
run in-process with an in-process scheduler, and the broker sandbox. DATABASE_URL and
REDIS_URL switch to the real services; DEBUG=false turns on the production rules.
"""

import hashlib
import os
import socket
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config import env
from config.layers import redis_channel_layer

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env.boolean("DEBUG", default=True)
PRODUCTION = not DEBUG

SECRET_KEY = env.string("SECRET_KEY", required=PRODUCTION) or "dev-only-not-secret-" + "x" * 32
if PRODUCTION and len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters when DEBUG is off.")

ALLOWED_HOSTS = env.csv("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env.csv("CSRF_TRUSTED_ORIGINS", [])

# AES-256-GCM keys for tokens and app secrets (brokers/vault.py). The development fallback is
# derived from the development SECRET_KEY so `make run` needs nothing; production must set it.
FIELD_ENCRYPTION_KEYS = env.encryption_keys(
    "FIELD_ENCRYPTION_KEYS",
    default=None if PRODUCTION else [hashlib.sha256(b"field-key:" + SECRET_KEY.encode()).digest()],
)

SANDBOX_ENABLED = env.boolean("SANDBOX_ENABLED", default=DEBUG)
# Where this installation is reachable; used for redirect URLs shown to traders and as the
# default home of the sandbox brokers.
SITE_URL = env.url("SITE_URL", "http://127.0.0.1:8000", schemes=("http", "https"))
# SEBI 2026: brokers accept API orders only from the static IP registered for the account.
# The public IP this server's orders leave from, shown in each broker's setup help and with
# the order ticket ("" until it is known).
STATIC_EGRESS_IP = env.ip_address("STATIC_EGRESS_IP")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "csp",
    "channels",
    "axes",
    "accounts",
    "brokers",
    "health",
    "portfolio",
    "routing",
    "ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.jsonbody.BoundedJsonBodies",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a locked sign-in into accounts.lockout.locked_out.
    "axes.middleware.AxesMiddleware",
]
if SANDBOX_ENABLED:  # the simulated brokers, and their latency counted from a call's arrival
    INSTALLED_APPS.append("brokers.sandbox")
    MIDDLEWARE.insert(0, "brokers.sandbox.kit.hold_answers")  # (brokers/sandbox/kit.py)

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

DATABASE_URL = env.url(
    "DATABASE_URL",
    f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
    schemes=("sqlite", "postgres", "postgresql", "pgsql"),
)
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
except ValueError:
    raise ImproperlyConfigured("DATABASE_URL could not be parsed.") from None
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL: readers never wait for the writer (the sync's threads, health's hooks, the server).
    # IMMEDIATE: a transaction takes SQLite's one write lock when it begins, so two threads
    # (the in-process scheduler's queue drain and a trader's "send now") never both read a
    # queued row as waiting and both send it; SQLite has no row locks to skip.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL;",
        "transaction_mode": "IMMEDIATE",
    }
    # Tests get a file too, not the in-memory database Django would share between threads
    # through one connection (whose table locks fail at once instead of waiting).
    DATABASES["default"]["TEST"] = {
        "NAME": env.string("TEST_DATABASE_NAME", str(BASE_DIR / "test-db.sqlite3"))
    }
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("TEST", {})["NAME"] = env.string(
        "TEST_DATABASE_NAME", "test_" + str(DATABASES["default"]["NAME"])
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:sign_in"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "accounts:sign_in"

# Sessions end after an idle period: the cookie's age is renewed on every request.
SESSION_IDLE_HOURS = env.integer("SESSION_IDLE_HOURS", 12, minimum=1)
SESSION_COOKIE_AGE = SESSION_IDLE_HOURS * 3600
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Failed password sign-ins (trader and admin) lock one username from one client address for
# SIGN_IN_LOCKOUT_MINUTES after SIGN_IN_MAX_FAILURES; a success or a password reset clears it.
# django-axes counts them (accounts/lockout.py reads these three at each sign-in).
SIGN_IN_MAX_FAILURES = env.integer("SIGN_IN_MAX_FAILURES", 5, minimum=1)
SIGN_IN_LOCKOUT_MINUTES = env.integer("SIGN_IN_LOCKOUT_MINUTES", 15, minimum=1)
# The client's address is the socket's, unless this many proxies of ours stand in front and
# append it to TRUSTED_PROXY_HEADER; then it is read from there, counted from the right.
TRUSTED_PROXY_COUNT = env.integer("TRUSTED_PROXY_COUNT", 0, minimum=0)
TRUSTED_PROXY_HEADER = env.string("TRUSTED_PROXY_HEADER", "X-Forwarded-For")
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked sign-in before the password
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = "accounts.lockout.failure_limit"
AXES_COOLOFF_TIME = "accounts.lockout.cool_off"
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_address"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.locked_out"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failures only: successful sign-ins are not recorded
AXES_VERBOSE = False  # no banner at every start; a lock is still logged (username, address)

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"

LANGUAGE_CODE = "en-in"
TIME_ZONE = "Asia/Kolkata"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.string("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Redis: Celery broker, channel layer, cache; absent means everything in-process ----------
REDIS_URL = env.url("REDIS_URL", None, schemes=("redis", "rediss", "unix"))
CHANNEL_LAYER_MAX_CONNECTIONS = env.integer("CHANNEL_LAYER_MAX_CONNECTIONS", 2000, minimum=1)
# Open /ws/brokers/ sockets one user may hold across every web process (health/sockets.py).
WEBSOCKETS_PER_USER = env.integer("WEBSOCKETS_PER_USER", 20, minimum=1)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.string("CACHE_KEY_PREFIX", "mb"),
        }
    }
    # core (default) or pubsub: config/layers.py says what each costs.
    CHANNEL_LAYER = env.string("CHANNEL_LAYER", "core")
    CHANNEL_LAYERS = {"default": redis_channel_layer(CHANNEL_LAYER, REDIS_URL)}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = "memory://localhost/"  # a host named: kombu warns without one
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True

CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
# A worker process killed mid-task (OOM, a crash) puts its task back on the queue at once
# instead of acknowledging it: with late acks the task then runs again elsewhere.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# How long Redis keeps a task a worker took but never acknowledged (its whole worker killed)
# before handing it to another: longer than any task runs, or a slow one would run twice.
# Workers look for such tasks every few seconds (kombu scans every 10 calls of 10 s by
# default, which would leave a lost task waiting up to 100 s past the timeout).
_VISIBILITY = env.integer("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=5)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": _VISIBILITY,
    "unacked_restore_interval": min(10, max(1, _VISIBILITY // 2)),
    "unacked_restore_throttle": 1,
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The beat schedule run in a thread of the web process (config/asgi.py), for the embedded
# default without Redis or Celery beat: `make run` turns it on. Off unless set, so tests,
# management commands and a web process beside a real beat never start a second scheduler.
INPROCESS_SCHEDULER = env.boolean("INPROCESS_SCHEDULER", default=False)

# --- API ----------------------------------------------------------------------------------
# Every JSON body (the API's, the sandbox's, any view's) is refused with a 400 above these,
# before it is parsed (config/jsonbody.py).
JSON_BODY_MAX_BYTES = env.integer("JSON_BODY_MAX_BYTES", 256 * 1024, minimum=1024)
JSON_BODY_MAX_DEPTH = env.integer("JSON_BODY_MAX_DEPTH", 32, minimum=2)
# Throttles (README, "Throttles"): per trader and per anonymous address on every endpoint,
# plus a scope for each expensive endpoint. Their history lives in the default cache, so with
# REDIS_URL every web process counts against the same budget.
API_THROTTLE_RATES = {
    "anon": env.rate("API_THROTTLE_ANON", "30/min"),
    "user": env.rate("API_THROTTLE_USER", "120/min"),
    "initiate": env.rate("API_THROTTLE_INITIATE", "10/min"),  # a broker login started
    "sync": env.rate("API_THROTTLE_SYNC", "6/min"),  # a portfolio sync: a call to every broker
    "orders": env.rate("API_THROTTLE_ORDERS", "60/min"),  # order writes (placement, changes)
}
# Logins in flight per trader: starting one more drops the oldest (brokers/oauth.py).
OAUTH_PENDING_LOGINS_MAX = env.integer("OAUTH_PENDING_LOGINS_MAX", 10, minimum=1)
REST_FRAMEWORK = {
    "DEFAULT_THROTTLE_CLASSES": [
        # DRF's, reading the client address as the sign-in lockout does (TRUSTED_PROXY_*).
        "config.throttling.AnonRateThrottle",
        "config.throttling.UserRateThrottle",
        "config.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": API_THROTTLE_RATES,
    # The API reads JSON only (415 for anything else), bounded by config/jsonbody.py.
    "DEFAULT_PARSER_CLASSES": ["config.jsonbody.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "accounts.authentication.CachedTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsTrader"],
    "DEFAULT_SCHEMA_CLASS": "config.schema.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "config.api.exception_handler",
}
# The platform's API tokens (accounts/models.py, django-rest-knox): stored as a digest, shown
# once, "mbt_" + 64 hex digits, valid API_TOKEN_DAYS unless the trader picks another lifetime.
API_TOKEN_DAYS = env.integer("API_TOKEN_DAYS", 90, minimum=1)
KNOX_TOKEN_MODEL = "accounts.ApiToken"
# Knox's own migrations create its unused AuthToken table even when the model is swapped out
# (a foreign key to auth_user that breaks flush on PostgreSQL): without them, no table.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=API_TOKEN_DAYS),
    "TOKEN_PREFIX": "mbt_",
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Multi-broker API",
    "DESCRIPTION": (
        "Broker connections, health and the consolidated portfolio of a trader. JSON in and "
        'out; every error is {"error": {"code", "message", "fields"?}}. Calls are '
        "throttled per trader (and per address without credentials), with tighter budgets for "
        "starting a login, starting a sync and order writes: past one, 429 with Retry-After."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Served from our own static files: no CDN anywhere.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Broker hosts: one BROKER_<BROKER>_<HOST>_URL each -------------------------------------
# The real hosts, from docs/brokers/<broker>.md. With the sandbox on, each defaults to the local
# simulator at /sandbox/<broker>, which serves every host of that broker under the real paths.
BROKER_REAL_HOSTS = {
    "zerodha": {"LOGIN": "https://kite.zerodha.com", "API": "https://api.kite.trade"},
    "upstox": {
        "API": "https://api.upstox.com",
        "HFT": "https://api-hft.upstox.com",
        "ASSETS": "https://assets.upstox.com",
    },
    "fyers": {"API": "https://api-t1.fyers.in", "PUBLIC": "https://public.fyers.in"},
    "angelone": {
        "LOGIN": "https://smartapi.angelone.in",
        "API": "https://apiconnect.angelone.in",
        "MASTER": "https://margincalculator.angelbroking.com",
    },
    "groww": {"API": "https://api.groww.in", "ASSETS": "https://growwapi-assets.groww.in"},
    "dhan": {
        "API": "https://api.dhan.co",
        "AUTH": "https://auth.dhan.co",
        "MASTER": "https://images.dhan.co",
    },
    "iifl": {"API": "https://ttblaze.iifl.com"},
}
SANDBOX_BASE_URL = env.url("SANDBOX_BASE_URL", SITE_URL, schemes=("http", "https"))
BROKER_HOSTS = {
    broker: {
        host: env.url(
            f"BROKER_{broker.upper()}_{host}_URL",
            f"{SANDBOX_BASE_URL}/sandbox/{broker}" if SANDBOX_ENABLED else real,
            schemes=("http", "https"),
        )
        for host, real in hosts.items()
    }
    for broker, hosts in BROKER_REAL_HOSTS.items()
}

# --- Content-Security-Policy and Permissions-Policy, on every response ----------------------
# Scripts and styles come from our own static files only: no inline script, no handler
# attribute, no eval (htmx is told so in templates/base.html); a <style> element needs the
# request's nonce. The pages' websocket is same-origin. A login form answers with a redirect
# to the broker's own login page, which form-action must allow. Swagger UI's own needs are
# added on its view only (config/urls.py).
_SITE = urlsplit(SITE_URL)
_BROKER_ORIGINS = sorted(
    {
        f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
        for hosts in BROKER_HOSTS.values()
        for url in hosts.values()
    }
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF, f"{'wss' if _SITE.scheme == 'https' else 'ws'}://{_SITE.netloc}"],
        "form-action": [SELF, *_BROKER_ORIGINS],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}
# Nothing here uses these browser features; no page or embedded frame may ask for them.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
        "xr-spatial-tracking",
    )
}

# --- Operations -----------------------------------------------------------------------------
# /metrics and /readyz answer only `Authorization: Bearer <OPS_TOKEN>` (ops/views.py); unset,
# they refuse everyone.
OPS_TOKEN = env.string("OPS_TOKEN", "")
if OPS_TOKEN and len(OPS_TOKEN) < 24:
    raise ImproperlyConfigured("OPS_TOKEN must be at least 24 characters (a random token).")
# Metrics of several processes (ops/metrics.py): every process writes its figures under
# METRICS_DIR/<host name>/ (prometheus_client's multiprocess files; a folder per host, as
# process ids repeat across containers) and /metrics sums everything under METRICS_DIR. Set
# before prometheus_client is first imported, which happens when the apps load.
METRICS_DIR = env.string("METRICS_DIR", "")
if METRICS_DIR and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _own = Path(METRICS_DIR) / socket.gethostname()
    _own.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_own)

# --- E-mail and logging --------------------------------------------------------------------
EMAIL_BACKEND = env.string(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "alerts@localhost")

LOG_LEVEL = env.string("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(
        f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {LOG_LEVEL!r}."
    )
# plain: one line of text per record; json: one JSON object per line (python-json-logger) with
# time, level, logger, message and the process, for a log collector. Redacted either way.
LOG_FORMAT = env.string("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "config.logging.RedactSecrets"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own console handlers (on under DEBUG) would print its records unmasked,
        # before ours: they are dropped, so each record is printed once, by the root, redacted.
        "django": {"handlers": [], "propagate": True},
        "django.server": {"handlers": [], "propagate": True},
        "django.db.backends": {"level": "WARNING"},
    },
}
