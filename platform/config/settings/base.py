"""PerceptLab settings, read from the environment (see `.env.example`).

Everything is configured here; there is nothing that exists "only in production". Without any
environment the project runs on embedded defaults: SQLite and a filesystem Celery broker under
`var/`, so `make demo` needs no server.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_database, env_int, env_list, env_secret, env_str
from config.local_state import BASE_DIR, celery_dir, dev_secret_path, static_root, var_dir

# Importing settings writes nothing: the folders under VAR_DIR and the development secret key are
# made by the entry points (config.local_state.prepare: manage.py, wsgi, Celery workers, tests).
VAR_DIR = var_dir()

# ---------------------------------------------------------------------------------------------
# Core
# ---------------------------------------------------------------------------------------------
# Development default, as in healthchecks: production sets DEBUG=False and must then set SECRET_KEY.
DEBUG = env_bool("DEBUG", True)


def _secret_key() -> str:
    key = env_secret("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set in the environment (or SECRET_KEY_FILE) when DEBUG is off."
        )
    # Development: the key that config.local_state.prepare generated (reading it writes nothing).
    path = dev_secret_path()
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. In development run through manage.py or the WSGI app, which "
        f"generate one in {path} (config.local_state.prepare), or set SECRET_KEY."
    )


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Public base URL, used in links handed to recruiters (Prolific/MTurk) and printed by the demo.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "common",
    "studies",
    "crowd",
    "analysis",
    "duels",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "common.uploads.UploadLimitMiddleware",  # before CSRF: it reads multipart bodies first
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "platform" / "templates"],
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

# ---------------------------------------------------------------------------------------------
# Database: SQLite under var/ unless DATABASE_URL is set (postgres://user@host:5432/name).
# https://docs.djangoproject.com/en/5.2/ref/databases/#sqlite-notes
# ---------------------------------------------------------------------------------------------
_SQLITE_DEFAULT = {
    "ENGINE": "django.db.backends.sqlite3",
    "NAME": str(VAR_DIR / "db.sqlite3"),
}
DATABASES = {"default": env_database("DATABASE_URL", _SQLITE_DEFAULT)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the demo's web process and Celery worker read while the other writes;
    # IMMEDIATE transactions take the write lock up front instead of failing on upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
    DATABASES["default"].setdefault("TEST", {})
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env_int("DB_CONN_MAX_AGE", 60, minimum=0))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# ---------------------------------------------------------------------------------------------
# Static and media files. Static files are built (frontend bundle + admin) and served by
# whitenoise; media (uploads, stimuli, exports) go through Django's storage API so a shared
# volume or S3-compatible storage can replace the local folder without code changes.
# ---------------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = static_root()
STATICFILES_DIRS = [p for p in [BASE_DIR / "frontend" / "dist"] if p.exists()]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))  # storage creates it on save
MEDIA_URL = "/media/"
# Media on an S3-compatible object store (AWS S3, MinIO, Ceph, …) when a bucket is named: then
# web and workers on any host share nothing but PostgreSQL, Redis and the bucket
# (docs/operations.md). Needs the `s3` extra (django-storages with boto3).
MEDIA_S3_BUCKET = env_str("MEDIA_S3_BUCKET", "")
_MEDIA_STORAGE = (
    {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": MEDIA_S3_BUCKET,
            "endpoint_url": env_str("MEDIA_S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("MEDIA_S3_REGION", "") or None,
            "access_key": env_str("MEDIA_S3_ACCESS_KEY_ID", "") or None,
            "secret_key": env_secret("MEDIA_S3_SECRET_ACCESS_KEY"),
            "location": env_str("MEDIA_S3_PREFIX", ""),
            # Private objects: every download goes through a view that checks permissions.
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
    if MEDIA_S3_BUCKET
    else {"BACKEND": "django.core.files.storage.FileSystemStorage"}
)
STORAGES = {
    "default": _MEDIA_STORAGE,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Uploads: Django's own limits apply to form fields; image/zip limits are our own.
# https://docs.djangoproject.com/en/5.2/ref/files/uploads/#upload-handlers
# `common.uploads.LimitedUploadHandler` enforces each view's byte limit while the body streams in
# (413 naming the limit, nothing stored); files above FILE_UPLOAD_MAX_MEMORY_SIZE go to a
# temporary file on disk, never into memory. A view that declares no limit takes
# PERCEPTLAB_MAX_UPLOAD_BYTES (no other view takes files).
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 10
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "common.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
PERCEPTLAB_MAX_UPLOAD_BYTES = env_int("PERCEPTLAB_MAX_UPLOAD_BYTES", 5 * 1024 * 1024, minimum=1024)
# Uploaded LPIPS lin weights are a few KB.
PERCEPTLAB_MAX_WEIGHTS_BYTES = env_int(
    "PERCEPTLAB_MAX_WEIGHTS_BYTES", 5 * 1024 * 1024, minimum=1024
)
PERCEPTLAB_MAX_IMAGE_BYTES = env_int("PERCEPTLAB_MAX_IMAGE_BYTES", 50 * 1024 * 1024, minimum=1024)
PERCEPTLAB_MAX_ZIP_BYTES = env_int("PERCEPTLAB_MAX_ZIP_BYTES", 500 * 1024 * 1024, minimum=1024)
PERCEPTLAB_MAX_ZIP_MEMBERS = env_int("PERCEPTLAB_MAX_ZIP_MEMBERS", 2000, minimum=1)
# Pillow refuses images above twice this many pixels (a decompression bomb) and warns above it;
# we treat the warning as a refusal too.
PERCEPTLAB_MAX_IMAGE_PIXELS = env_int("PERCEPTLAB_MAX_IMAGE_PIXELS", 64_000_000, minimum=4096)

# Dataset imports: a BAPPS-layout .zip uploaded to `POST /api/datasets/import/` (at most
# PERCEPTLAB_MAX_IMPORT_BYTES, expanding to at most PERCEPTLAB_MAX_IMPORT_EXPANDED_BYTES), or a
# folder under PERCEPTLAB_IMPORT_ROOT on the workers. Empty (the default): archives only, no
# server paths. The worker checks the path; outside the root and missing give the same error.
PERCEPTLAB_MAX_IMPORT_BYTES = env_int(
    "PERCEPTLAB_MAX_IMPORT_BYTES", 2 * 1024 * 1024 * 1024, minimum=1024
)
PERCEPTLAB_MAX_IMPORT_EXPANDED_BYTES = env_int(
    "PERCEPTLAB_MAX_IMPORT_EXPANDED_BYTES", 8 * 1024 * 1024 * 1024, minimum=1024
)
PERCEPTLAB_MAX_IMPORT_MEMBERS = env_int("PERCEPTLAB_MAX_IMPORT_MEMBERS", 500_000, minimum=1)
PERCEPTLAB_IMPORT_ROOT = env_str("PERCEPTLAB_IMPORT_ROOT", "")
# Weight files researchers may name by file name in fits and score runs (trunk checkpoints, LPIPS
# lin weights, DISTS' alpha/beta): this folder on the workers only. Empty (the default): only the
# named choices (ImageNet weights from the torch hub cache, a random trunk, shipped lin weights).
PERCEPTLAB_WEIGHTS_DIR = env_str("PERCEPTLAB_WEIGHTS_DIR", "")
# Workers' temporary folders (exports, imports, fits) live under this folder, one per worker
# process, locked while the process lives; a worker starting (and every new folder) removes
# those of processes that died. Files written to storage by a task killed before it recorded
# them (stimuli) are removed once older than PERCEPTLAB_ORPHAN_GRACE_S.
PERCEPTLAB_SCRATCH_DIR = env_str("PERCEPTLAB_SCRATCH_DIR", "")  # "": <system temp>/perceptlab
PERCEPTLAB_ORPHAN_GRACE_S = env_int("PERCEPTLAB_ORPHAN_GRACE_S", 3600, minimum=0)

# Training steps for the networks behind model-backed distortions (CNN autoencoders, SR net,
# colourisers); 0 uses the library's CPU-feasible defaults.
PERCEPTLAB_MODEL_STEPS = env_int("PERCEPTLAB_MODEL_STEPS", 0, minimum=0)
# Trunk weights for LPIPS fits and scores started from the admin: "imagenet" (torch hub cache),
# a checkpoint path on the workers, or "random" (a seeded random trunk; the offline demo uses it).
PERCEPTLAB_DEFAULT_TRUNK = env_str("PERCEPTLAB_DEFAULT_TRUNK", "imagenet")
# Metrics the admin's "score baselines" action runs.
PERCEPTLAB_BASELINE_METRICS = env_list(
    "PERCEPTLAB_BASELINE_METRICS", ["l2", "psnr", "ssim", "lpips-alex"]
)

# ---------------------------------------------------------------------------------------------
# Django REST framework and the OpenAPI schema
# https://www.django-rest-framework.org/api-guide/settings/
# ---------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous request then gets 401 with a WWW-Authenticate header.
        # Keys are stored hashed (common.tokens); DRF's authtoken kept them in clear.
        "common.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["common.permissions.IsResearcher"],
    "DEFAULT_PAGINATION_CLASS": "common.pagination.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "common.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "crowd_entry": env_str("THROTTLE_CROWD_ENTRY", "30/minute"),
        "crowd_answer": env_str("THROTTLE_CROWD_ANSWER", "600/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Proxies in front of gunicorn whose X-Forwarded-For entries are trusted for client addresses
    # (rate limits). 0: use the connection's address and ignore the header, which a client can
    # write itself. Behind one reverse proxy that appends the client address, set 1.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0, minimum=0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PerceptLab API",
    "DESCRIPTION": "Design perceptual-similarity studies, collect 2AFC/JND judgments, score metrics.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and Swagger UI list every endpoint and field: researchers only, unless opened.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"]
    if env_bool("PERCEPTLAB_PUBLIC_API_DOCS", False)
    else ["common.permissions.IsResearcher"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Serve Swagger UI from our own static files: workers and CI machines may be offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "StudyKindEnum": [("2afc", "2AFC"), ("jnd", "JND"), ("both", "2AFC and JND")],
        "TrialKindEnum": [("2afc", "2afc"), ("jnd", "jnd")],
        "StudyStatusEnum": "studies.models.Study.Status",
        "DatasetStatusEnum": "analysis.models.Dataset.Status",
        "RunStatusEnum": "analysis.models.RunStatus",
        "ExportKindEnum": "analysis.models.Export.Kind",
        "ExportStatusEnum": "analysis.models.Export.Status",
    },
}

# ---------------------------------------------------------------------------------------------
# Celery. REDIS_URL selects Redis as broker and result store; without it, kombu's filesystem
# transport under var/ lets the demo run a real worker with no server.
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
# ---------------------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
CELERY_DIR = celery_dir()
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    # Redis re-delivers a message that was not acknowledged within this many seconds (a worker
    # died): it must exceed the longest task, since acks_late tasks are acknowledged at the end.
    # A dead worker's job is taken up again by the sweeper (below) long before that.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 6 * 3600, minimum=1)
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_DIR / "broker"),
        "data_folder_out": str(CELERY_DIR / "broker"),
        "processed_folder": str(CELERY_DIR / "processed"),
        "store_processed": False,
        # fanout exchanges (worker remote control) would otherwise land in the current directory
        "control_folder": str(CELERY_DIR / "control"),
    }
    CELERY_RESULT_BACKEND = f"file://{CELERY_DIR / 'results'}"
CELERY_TASK_SERIALIZER = "json"
# Cache (rate limits): Redis when configured, so limits hold across web processes; else per process.
# A cache outage never fails a request (common.throttling); the timeouts bound the wait on it.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "studies.tasks.*": {"queue": "stimuli"},
    "analysis.tasks.fit_*": {"queue": "gpu"},
    "analysis.tasks.score_*": {"queue": "gpu"},
    "analysis.tasks.validate_*": {"queue": "gpu"},  # uploaded weights are loaded with torch
    "analysis.tasks.*": {"queue": "default"},
    "duels.tasks.*": {"queue": "stimuli"},  # pool rendering, scoring and MAD synthesis (torch)
}
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 4 * 3600, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 4 * 3600 - 60, minimum=5)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # long tasks: do not hoard messages another worker could run
CELERY_TASK_TRACK_STARTED = True
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Jobs (common.jobs; docs/operations.md). Every requested job is a row in the outbox
# (`common.Job`) written with the job's own row; a running job beats every HEARTBEAT seconds; the
# sweeper (Celery beat, run by the worker started with --beat, and at every worker's start)
# re-queues a job whose heartbeat is older than STALE seconds under its next attempt and publishes
# jobs a broker outage left unsent. A job whose worker was lost MAX_ATTEMPTS times is failed.
PERCEPTLAB_JOB_HEARTBEAT_SECONDS = env_int("PERCEPTLAB_JOB_HEARTBEAT_SECONDS", 20, minimum=1)
PERCEPTLAB_JOB_STALE_SECONDS = env_int("PERCEPTLAB_JOB_STALE_SECONDS", 120, minimum=3)
PERCEPTLAB_JOB_SWEEP_SECONDS = env_int("PERCEPTLAB_JOB_SWEEP_SECONDS", 30, minimum=1)
PERCEPTLAB_JOB_MAX_ATTEMPTS = env_int("PERCEPTLAB_JOB_MAX_ATTEMPTS", 3, minimum=1)
# Finished and given-up jobs are deleted by the sweeper this many days after they ended (their
# objects keep their own status and error); 0 keeps them for ever.
PERCEPTLAB_JOB_RETENTION_DAYS = env_int("PERCEPTLAB_JOB_RETENTION_DAYS", 30, minimum=0)
if PERCEPTLAB_JOB_STALE_SECONDS < 3 * PERCEPTLAB_JOB_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        f"PERCEPTLAB_JOB_STALE_SECONDS={PERCEPTLAB_JOB_STALE_SECONDS} must be at least 3 times "
        f"PERCEPTLAB_JOB_HEARTBEAT_SECONDS={PERCEPTLAB_JOB_HEARTBEAT_SECONDS}, or live jobs "
        "would be taken for dead."
    )
CELERY_BEAT_SCHEDULE = {
    "sweep-jobs": {
        "task": "common.tasks.sweep_jobs",
        "schedule": float(PERCEPTLAB_JOB_SWEEP_SECONDS),
        # A sweep that waited out a broker outage is worthless: the next one comes anyway.
        "options": {"expires": float(PERCEPTLAB_JOB_SWEEP_SECONDS), "ignore_result": True},
    }
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")  # beat's last-run times

# ---------------------------------------------------------------------------------------------
# Security
# ---------------------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = env_bool(
    "SESSION_COOKIE_SECURE", not DEBUG and SITE_URL.startswith("https")
)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Origins allowed to frame the worker-facing pages (common.framing): MTurk shows an
# ExternalQuestion in an iframe on its own site. Every other page stays unframeable.
# Hosts an MTurk link's turkSubmitTo may name (the browser POSTs the assignment there at the end).
PERCEPTLAB_TURK_SUBMIT_HOSTS = env_list(
    "PERCEPTLAB_TURK_SUBMIT_HOSTS", ["www.mturk.com", "workersandbox.mturk.com"]
)
# Exact origins ("http://127.0.0.1:8123") also accepted as turkSubmitTo, for browser tests whose
# stand-in MTurk is a local plain-http server. Tests set it; it is not read from the environment
# and stays empty in every deployment.
PERCEPTLAB_TURK_SUBMIT_TEST_ORIGINS: list[str] = []
PERCEPTLAB_FRAME_ANCESTORS = env_list(
    "PERCEPTLAB_FRAME_ANCESTORS", ["https://www.mturk.com", "https://workersandbox.mturk.com"]
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
