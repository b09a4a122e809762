"""Settings read from the environment.

Two shapes: ``DJANGO_ENV=development`` (the default: SQLite under ``var/``, a file-system Celery broker,
console email, a throw-away secret) and ``DJANGO_ENV=production`` (a secret is required, secure cookies,
HSTS, a content security policy). Everything else is an environment variable with a sane default.
"""

import hashlib
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in ("development", "production"):
    raise ImproperlyConfigured(f"DJANGO_ENV must be 'development' or 'production', not {DJANGO_ENV!r}.")
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env.bool("DEBUG", default=not PRODUCTION)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if PRODUCTION or not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production settings refuse to start without a secret: "
            "set the SECRET_KEY environment variable to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    # Development only: a fixed, obviously unsafe key so that sessions survive restarts.
    SECRET_KEY = "dev-insecure-secret-key-do-not-use-in-production-0123456789abcdef"  # noqa: S105

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Reverse proxies (addresses or CIDR ranges) whose X-Forwarded-For and X-Forwarded-Proto are believed.
# Empty: the platform faces the Internet directly and those headers are ignored (smsplatform/client_ip.py).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "import_export",
    "smsplatform",
    "billing",
    "compliance",
    "contacts",
    "campaigns",
    "analytics",
]

MIDDLEWARE = [
    "smsplatform.middleware.UntrustedForwardedHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "smsplatform.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "smsplatform.middleware.CurrentOrganisationMiddleware",
]

ROOT_URLCONF = "smsplatform.urls"
WSGI_APPLICATION = "smsplatform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "smsplatform.context_processors.organisation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'smsplatform.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, two workers and beat write at once under `make run`: WAL lets readers go on while one writes,
    # the busy timeout makes a writer wait instead of failing with "database is locked", and IMMEDIATE
    # transactions take the write lock up front so that two writers never deadlock on an upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, Celery ----------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    # Zero-setup default for `make run`: messages are files under var/broker, shared by every process.
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "UTC"

# --- Auth -------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "smsplatform.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
# The password-reset link works for this long, and once (the token is bound to the password hash).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=2 * 60 * 60)

# Accounts on django-allauth (docs/accounts.md): log-in by email, sign-up with the shop's details,
# email verification, password reset, two-factor and the list of one's sessions.
ACCOUNT_ADAPTER = "smsplatform.accounts.adapter.AccountAdapter"
ACCOUNT_FORMS = {
    "signup": "smsplatform.accounts.forms.SignupForm",
    "login": "smsplatform.accounts.forms.LoginForm",
}
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
# "optional": the sandbox loop (import, compose, virtual phone) works at once, so that the first campaign
# takes five minutes; what costs real money (a real send, a purchase) waits for the verified address
# (smsplatform.accounts.verification).
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 3
# Opening the link only shows a button: mail scanners that fetch links must not confirm in our place.
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
# Password reset and log-in answer the same for a known and an unknown address.
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = True
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_SIGNUP_REDIRECT_URL = "dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "smsplatform · "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
# Rate limits (allauth counts in the cache, Redis in every deployment but `make run`). Log-in failures
# are limited per account (the email: 5 in 15 minutes) and per client address (20 an hour; an IPv6 /64
# counts as one); the address is smsplatform.client_ip's, believed behind TRUSTED_PROXIES only.
ACCOUNT_RATE_LIMITS = {
    "login_failed": env.str("LOGIN_FAILED_RATE_LIMIT", default="20/h/ip,5/15m/key"),
    "login": "30/m/ip",
    "signup": env.str("SIGNUP_RATE_LIMIT", default="10/h/ip"),
    "reset_password": "20/h/ip,3/h/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reauthenticate": "10/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "smsplatform"
MFA_RECOVERY_CODE_COUNT = 10
MFA_ADAPTER = "smsplatform.accounts.mfa_adapter.MFAAdapter"
# Sessions are recorded at log-in; tracking "last seen" would write on every request of every page.
USERSESSIONS_TRACK_ACTIVITY = False
# The platform operator's rule (docs/accounts.md): the owners of organisations that reach real handsets
# (a gateway outside SANDBOX_GATEWAYS) must use two-factor before they work in them.
MFA_REQUIRED_FOR_OWNERS_ON_REAL_GATEWAY = env.bool("MFA_REQUIRED_FOR_OWNERS_ON_REAL_GATEWAY", default=False)

# --- Email ------------------------------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="smsplatform <no-reply@localhost>")
# The SMTP server of the SMTP backend (verification, password reset, invitations, alerts).
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=587 if PRODUCTION else 25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=PRODUCTION)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# --- I18n -------------------------------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates and numbers per language (smsplatform/formats/): "3 December 2026", "1,000.00 €" in English.
FORMAT_MODULE_PATH = ["smsplatform.formats"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
IMPORT_MAX_UPLOAD_BYTES = env.int("IMPORT_MAX_UPLOAD_BYTES", default=50 * 1024 * 1024)
# Upload bombs (contacts/importing/guards.py): a workbook whose zip expands beyond these is refused before
# it is parsed; a CSV record longer than this is refused before it is split; uploads are parsed in a
# child process that dies, alone, beyond IMPORT_PARSE_MEMORY_BYTES of extra memory (0: no child).
IMPORT_XLSX_MAX_EXPANDED_BYTES = env.int("IMPORT_XLSX_MAX_EXPANDED_BYTES", default=1024 * 1024 * 1024)
IMPORT_XLSX_MAX_PART_BYTES = env.int("IMPORT_XLSX_MAX_PART_BYTES", default=512 * 1024 * 1024)
IMPORT_XLSX_MAX_RATIO = env.int("IMPORT_XLSX_MAX_RATIO", default=100)
IMPORT_CSV_MAX_RECORD_CHARS = env.int("IMPORT_CSV_MAX_RECORD_CHARS", default=64 * 1024)
IMPORT_PARSE_MEMORY_BYTES = env.int("IMPORT_PARSE_MEMORY_BYTES", default=1024 * 1024 * 1024)
# Import jobs (contacts/jobs): rows per committed chunk (a killed job resumes after the last one), where
# uploaded files live (empty: MEDIA_ROOT/imports, shared by web and worker), PostgreSQL's set-based writes
# (off: the portable ORM writer, slower), and the forked parsing processes per job (0: parse inline).
IMPORT_CHUNK_ROWS = env.int("IMPORT_CHUNK_ROWS", default=10_000)
IMPORT_FILES_ROOT = env.str("IMPORT_FILES_ROOT", default="")
IMPORT_SET_BASED = env.bool("IMPORT_SET_BASED", default=True)
IMPORT_PARSE_PROCESSES = env.int("IMPORT_PARSE_PROCESSES", default=2)

# --- API --------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "smsplatform.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["smsplatform.api.permissions.HasOrganisationRole"],
    "DEFAULT_THROTTLE_CLASSES": ["smsplatform.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "smsplatform.api.pagination.NoCountPagination",
    "DEFAULT_PARSER_CLASSES": [
        "smsplatform.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "smsplatform.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="600/min")
SPECTACULAR_SETTINGS = {
    "TITLE": "smsplatform API",
    "DESCRIPTION": "Public API v1: contacts, lists, imports, opt-outs, campaigns, messages, compliance.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files (the sidecar package), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The same choice sets appear in several serializers; one name each keeps the schema readable.
    "ENUM_NAME_OVERRIDES": {
        "CampaignCategoryEnum": "campaigns.models.Category",
        "MessageCategoryEnum": "campaigns.models.MessageCategory",
        "ConsentBasisEnum": "contacts.models.ConsentBasis",
    },
}

# --- Product ----------------------------------------------------------------------------------------
SIGNUP_FREE_CREDITS = 100
SMS_GATEWAY = env.str("SMS_GATEWAY", default="loopback")
# Gateways whose messages never reach a handset: an organisation sending through one is in the sandbox.
SANDBOX_GATEWAYS = ("loopback", "console")
LOOPBACK_GATEWAY_URL = env.str("LOOPBACK_GATEWAY_URL", default="http://127.0.0.1:8025")
# Signs the webhooks between the gateways (the loopback container included) and the platform. Never the
# Django secret: a process that only needs to sign receipts must not be able to forge sessions.
GATEWAY_WEBHOOK_SECRET = env.str("GATEWAY_WEBHOOK_SECRET", default="")
if not GATEWAY_WEBHOOK_SECRET:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "GATEWAY_WEBHOOK_SECRET is not set. Production settings refuse to start without a webhook "
            "secret of its own (not SECRET_KEY): set it to a long random string, the same for the web, "
            "the workers and the loopback gateway."
        )
    # Development: derived from the development key, so `make run`'s processes agree without setup.
    GATEWAY_WEBHOOK_SECRET = hashlib.sha256(
        b"smsplatform.gateway-webhooks:" + SECRET_KEY.encode()
    ).hexdigest()
elif GATEWAY_WEBHOOK_SECRET == SECRET_KEY:
    raise ImproperlyConfigured("GATEWAY_WEBHOOK_SECRET must differ from SECRET_KEY.")
# Messages per second each gateway accepts (a token bucket in Redis); unlisted gateways are unlimited.
SMS_GATEWAY_RATE_LIMITS = {
    "loopback": env.float("LOOPBACK_RATE_PER_SECOND", default=500.0),
    "twilio": env.float("TWILIO_RATE_PER_SECOND", default=10.0),
}
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")
TWILIO_SEND_CONCURRENCY = env.int("TWILIO_SEND_CONCURRENCY", default=4)  # parallel requests per batch
TWILIO_TIMEOUT = env.float("TWILIO_TIMEOUT", default=15.0)  # seconds per request
# Only to point the adapter at a local fake Twilio in tests; empty means Twilio's own API.
TWILIO_BASE_URL = env.str("TWILIO_BASE_URL", default="")
# (connect, read) seconds; the read timeout is generous because a batch of thousands is one request.
LOOPBACK_GATEWAY_TIMEOUT = (
    env.float("LOOPBACK_CONNECT_TIMEOUT", default=3.0),
    env.float("LOOPBACK_READ_TIMEOUT", default=30.0),
)

# The sending pipeline (docs/architecture.md, "The sending pipeline"): messages per batch task, tries of
# a message on transient gateway errors with a backoff doubled per try from the base (at most 30
# minutes), how long a message may stay `sending` before reconciliation asks the gateway, and after how
# long a pending message whose task was lost is queued again.
CAMPAIGN_BATCH_SIZE = env.int("CAMPAIGN_BATCH_SIZE", default=1000)
CAMPAIGN_MAX_ATTEMPTS = env.int("CAMPAIGN_MAX_ATTEMPTS", default=5)
CAMPAIGN_RETRY_BASE_SECONDS = env.int("CAMPAIGN_RETRY_BASE_SECONDS", default=30)
CAMPAIGN_SENDING_TIMEOUT = env.int("CAMPAIGN_SENDING_TIMEOUT", default=20 * 60)  # seconds
CAMPAIGN_REQUEUE_AFTER = env.int("CAMPAIGN_REQUEUE_AFTER", default=15 * 60)  # seconds
# Composer tests sent free of charge per organisation and day; further tests cost their SMS.
CAMPAIGN_FREE_TESTS_PER_DAY = env.int("CAMPAIGN_FREE_TESTS_PER_DAY", default=10)

SHORT_LINK_DOMAIN = env.str("SHORT_LINK_DOMAIN", default=SITE_URL)
SHORT_LINK_CODE_LENGTH = 8  # characters; the composer counts every link at this length
SHORT_LINK_TTL_DAYS = env.int("SHORT_LINK_TTL_DAYS", default=400)  # 0: links never expire

# The public opt-in form (/f/<slug>/): each request texts a code paid by the shop. Per client address
# (smsplatform.client_ip) an hour; per number a day (the shop's daily cap is on its form, set by the
# operator in the admin). The proof of work: PBKDF2 rounds per try and the range the counter is drawn
# from (a browser tries half of it on average), and how long a challenge may be solved and used.
OPTIN_RATE_LIMIT_PER_HOUR = env.int("OPTIN_RATE_LIMIT_PER_HOUR", default=10)
OPTIN_CODES_PER_NUMBER_PER_DAY = 3
OPTIN_CHALLENGE_COST = env.int("OPTIN_CHALLENGE_COST", default=5000)
OPTIN_CHALLENGE_MAX_NUMBER = env.int("OPTIN_CHALLENGE_MAX_NUMBER", default=1000)
OPTIN_CHALLENGE_LIFETIME = 600  # seconds

# Payments. `fake` confirms any purchase with one click of ours: development and tests only.
PAYMENT_ADAPTERS = ("fake", "stripe")
PAYMENT_ADAPTER = env.str("PAYMENT_ADAPTER", default="stripe" if PRODUCTION else "fake")
if PAYMENT_ADAPTER not in PAYMENT_ADAPTERS:
    raise ImproperlyConfigured(
        f"PAYMENT_ADAPTER must be one of {', '.join(PAYMENT_ADAPTERS)}, not {PAYMENT_ADAPTER!r}."
    )
if PRODUCTION and PAYMENT_ADAPTER == "fake":
    raise ImproperlyConfigured(
        "PAYMENT_ADAPTER=fake gives credits away for free and is refused in production: "
        "use PAYMENT_ADAPTER=stripe with STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET."
    )
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Only to point the client at a local fake Stripe in tests; empty means Stripe's own API.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")

# Prices and invoices. The VAT rate of purchases; the credits per segment of a destination without its
# own price (the operator sets prices per region in the admin); a new organisation's low-balance alert.
BILLING_VAT_RATE = env.str("BILLING_VAT_RATE", default="20.00")
BILLING_DEFAULT_PRICE_PER_SEGMENT = env.int("BILLING_DEFAULT_PRICE_PER_SEGMENT", default=3)
BILLING_LOW_BALANCE_DEFAULT_THRESHOLD = env.int("BILLING_LOW_BALANCE_DEFAULT_THRESHOLD", default=50)
# The issuer printed on every invoice and credit note (French law requires name, address, SIREN and VAT
# number). The defaults are placeholders, fine for development; an empty variable keeps the placeholder,
# and `check --deploy` warns (billing.W002) while a deployment still prints one.
INVOICE_ISSUER_PLACEHOLDERS = {
    "INVOICE_ISSUER_NAME": "smsplatform SAS",
    "INVOICE_ISSUER_ADDRESS": "1 rue de la Paix\n75002 Paris\nFrance",
    "INVOICE_ISSUER_SIREN": "000 000 000",
    "INVOICE_ISSUER_VAT_NUMBER": "FR00000000000",
    "INVOICE_ISSUER_EMAIL": "facturation@example.com",
}
INVOICE_ISSUER_NAME = (
    env.str("INVOICE_ISSUER_NAME", default="") or INVOICE_ISSUER_PLACEHOLDERS["INVOICE_ISSUER_NAME"]
)
# Line breaks of the address are written `\n` in the environment.
INVOICE_ISSUER_ADDRESS = (
    env.str("INVOICE_ISSUER_ADDRESS", default="", multiline=True)
    or INVOICE_ISSUER_PLACEHOLDERS["INVOICE_ISSUER_ADDRESS"]
)
INVOICE_ISSUER_SIREN = (
    env.str("INVOICE_ISSUER_SIREN", default="") or INVOICE_ISSUER_PLACEHOLDERS["INVOICE_ISSUER_SIREN"]
)
INVOICE_ISSUER_VAT_NUMBER = (
    env.str("INVOICE_ISSUER_VAT_NUMBER", default="")
    or INVOICE_ISSUER_PLACEHOLDERS["INVOICE_ISSUER_VAT_NUMBER"]
)
INVOICE_ISSUER_EMAIL = (
    env.str("INVOICE_ISSUER_EMAIL", default="") or INVOICE_ISSUER_PLACEHOLDERS["INVOICE_ISSUER_EMAIL"]
)
INVOICE_ISSUER_CODE = env.str("INVOICE_ISSUER_CODE", default="SMSPLATFORM")  # prefix of invoice numbers

# --- Security ---------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # X-Forwarded-Proto is believed only behind a configured proxy (and only from it: see
    # smsplatform.middleware.UntrustedForwardedHeadersMiddleware); otherwise anyone could claim HTTPS.
    if TRUSTED_PROXIES:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
