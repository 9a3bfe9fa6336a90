"""One settings module: every value comes from the environment (see .env.example).

Nothing set gives the embedded default: SQLite, in-memory channel layer, locmem cache, tasks
run in-process with an in-process scheduler, and the broker sandbox. DATABASE_URL and
REDIS_URL switch to the real services; DEBUG=false turns on the production rules.
"""

import hashlib
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config import env

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
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "channels",
    "accounts",
    "brokers",
    "health",
    "portfolio",
    "routing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]
if SANDBOX_ENABLED:  # the simulated brokers' injected latency, counted from a call's arrival
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
    DATABASES["default"]["OPTIONS"] = {"init_command": "PRAGMA journal_mode=WAL;"}
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
SIGN_IN_MAX_FAILURES = env.integer("SIGN_IN_MAX_FAILURES", 5, minimum=1)
SIGN_IN_LOCKOUT_MINUTES = env.integer("SIGN_IN_LOCKOUT_MINUTES", 15, minimum=1)

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
STATIC_ROOT = BASE_DIR / "staticfiles"
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

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.string("CACHE_KEY_PREFIX", "mb"),
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8 caps an async pool at 100 connections; thousands of sockets
                # need more or the 101st websocket fails.
                # Its receive loop blocks in BZPOPMIN for 5 s; redis-py 8's default 5 s socket
                # timeout would cut that read short under load and close every socket (1011).
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "max_connections": CHANNEL_LAYER_MAX_CONNECTIONS,
                        "socket_timeout": 30,
                        "socket_connect_timeout": 5,
                    }
                ],
                "prefix": env.string("CHANNEL_LAYER_PREFIX", "mb"),
                "capacity": 1500,
                "expiry": 30,
            },
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True

CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The in-process scheduler runs the beat schedule when there is no Redis; off for tests and
# management commands, on for the web process (config/asgi.py).
INPROCESS_SCHEDULER = env.boolean("INPROCESS_SCHEDULER", default=not REDIS_URL)

# --- API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "accounts.authentication.CachedTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsTrader"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "config.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Multi-broker API",
    "DESCRIPTION": "Broker connections, health and the consolidated portfolio of a trader.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Served from our own static files: no CDN anywhere.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Broker hosts: one BROKER_<BROKER>_<HOST>_URL each -------------------------------------
# The real hosts, from shared/brokers/*.md. With the sandbox on, each defaults to the local
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
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "config.logging.RedactSecrets"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}
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
