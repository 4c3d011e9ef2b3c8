"""search_service settings: everything from environment variables (see .env.example).

The settings both services share are defined once in servicekit/settings.py and imported here by name (``X as X``:
there for Django, which reads this module's uppercase names, imported ones included); the rest is search_service's.
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from servicekit.settings import (
    ALLOWED_HOSTS,
    DEBUG,
    database,
    env,
    refuse_unsafe_settings,
    secret_key,
    shared_apps,
    shared_middleware,
    shared_rest_framework,
    shared_storages,
    spectacular_settings,
)
from servicekit.settings import CSRF_COOKIE_SECURE as CSRF_COOKIE_SECURE
from servicekit.settings import CSRF_FAILURE_VIEW as CSRF_FAILURE_VIEW
from servicekit.settings import CSRF_TRUSTED_ORIGINS as CSRF_TRUSTED_ORIGINS
from servicekit.settings import DATA_UPLOAD_MAX_MEMORY_SIZE as DATA_UPLOAD_MAX_MEMORY_SIZE
from servicekit.settings import DEFAULT_AUTO_FIELD as DEFAULT_AUTO_FIELD
from servicekit.settings import LANGUAGE_CODE as LANGUAGE_CODE
from servicekit.settings import LOGGING as LOGGING
from servicekit.settings import METRICS_ALLOWED_NETWORKS as METRICS_ALLOWED_NETWORKS
from servicekit.settings import METRICS_TOKEN as METRICS_TOKEN
from servicekit.settings import SECURE_CONTENT_TYPE_NOSNIFF as SECURE_CONTENT_TYPE_NOSNIFF
from servicekit.settings import SECURE_HSTS_INCLUDE_SUBDOMAINS as SECURE_HSTS_INCLUDE_SUBDOMAINS
from servicekit.settings import SECURE_HSTS_PRELOAD as SECURE_HSTS_PRELOAD
from servicekit.settings import SECURE_HSTS_SECONDS as SECURE_HSTS_SECONDS
from servicekit.settings import SECURE_PROXY_SSL_HEADER as SECURE_PROXY_SSL_HEADER
from servicekit.settings import SECURE_REDIRECT_EXEMPT as SECURE_REDIRECT_EXEMPT
from servicekit.settings import SECURE_SSL_REDIRECT as SECURE_SSL_REDIRECT
from servicekit.settings import SESSION_COOKIE_SECURE as SESSION_COOKIE_SECURE
from servicekit.settings import STATIC_URL as STATIC_URL
from servicekit.settings import TEMPLATES as TEMPLATES
from servicekit.settings import TIME_ZONE as TIME_ZONE
from servicekit.settings import USE_I18N as USE_I18N
from servicekit.settings import USE_TZ as USE_TZ
from servicekit.settings import WHITENOISE_AUTOREFRESH as WHITENOISE_AUTOREFRESH
from servicekit.settings import WHITENOISE_USE_FINDERS as WHITENOISE_USE_FINDERS
from servicekit.settings import X_FRAME_OPTIONS as X_FRAME_OPTIONS

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = secret_key("SEARCH_SECRET_KEY", DEBUG)
INSTALLED_APPS = [
    *(app for app in shared_apps() if app != "django.contrib.admin"),  # no admin on the internal service (urls.py)
    "django.contrib.postgres",
    "search_service.encoders",
    "search_service.stickers",
    "search_service.ranking",
    "search_service.adapters",
]
MIDDLEWARE = shared_middleware()
ROOT_URLCONF = "search_service.config.urls"
WSGI_APPLICATION = "search_service.config.wsgi.application"
DATABASES = {"default": database("SEARCH_DATABASE_URL")}
STATIC_ROOT = env.path("SEARCH_STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))

# Shared token sticker_service sends as "Authorization: Bearer <token>"; empty = no check (DEBUG only).
SEARCH_SERVICE_TOKEN = env.str("SEARCH_SERVICE_TOKEN", default="")
# Without DEBUG: no empty service token, no development secret, no wildcard host (servicekit/settings.py).
refuse_unsafe_settings(
    DEBUG,
    required={"SEARCH_SERVICE_TOKEN": SEARCH_SERVICE_TOKEN},
    secrets={},
    database_urls={"SEARCH_DATABASE_URL": env.str("SEARCH_DATABASE_URL")},
    allowed_hosts=ALLOWED_HOSTS,
)
REST_FRAMEWORK = {
    **shared_rest_framework(),
    "DEFAULT_AUTHENTICATION_CLASSES": ["search_service.core.service_auth.ServiceTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["search_service.core.service_auth.HasServiceToken"],
}
SPECTACULAR_SETTINGS = {
    **spectacular_settings(
        title="Sticker Search internal search API",
        description="Ranks stickers for a text with a CLIP-style model over a pgvector index.",
    ),
    "SERVE_PERMISSIONS": ["search_service.core.service_auth.HasServiceToken"],
    "SERVE_AUTHENTICATION": ["search_service.core.service_auth.ServiceTokenAuthentication"],
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- model (encoders app) ---
# open_clip model name ("ViT-B-32", "hf-hub:org/repo", "local-dir:/path"); empty = the offline default model.
SEARCH_MODEL_NAME = env.str("SEARCH_MODEL_NAME", default="")
# open_clip pretrained tag ("laion2b_s34b_b79k", "openai") or a checkpoint file; ignored for local-dir/hf-hub.
SEARCH_MODEL_PRETRAINED = env.str("SEARCH_MODEL_PRETRAINED", default="")
SEARCH_DEVICE = env.str("SEARCH_DEVICE", default="auto")  # auto = cuda when available, else cpu
SEARCH_TORCH_THREADS = env.int("SEARCH_TORCH_THREADS", default=0)  # 0 = torch's default
# Serving runtime: "auto" = ONNX Runtime when SEARCH_ONNX_DIR holds a current export of the model (export_onnx)
# and SEARCH_DEVICE is auto or cpu, else torch; "onnx" = refuse to start without one; "torch" = open_clip.
SEARCH_RUNTIME = env.str("SEARCH_RUNTIME", default="auto")
SEARCH_ONNX_DIR = env.path("SEARCH_ONNX_DIR", default=str(BASE_DIR.parent / ".data" / "onnx"))
SEARCH_TEXT_CACHE_SIZE = env.int("SEARCH_TEXT_CACHE_SIZE", default=2048)  # query embeddings kept per process
# Redis shared by all workers for query embeddings (behind the per-process LRU); empty = off. Failures and
# timeouts fall back to encoding the text (encoders/text_cache.py).
SEARCH_REDIS_URL = env.str("SEARCH_REDIS_URL", default="")
SEARCH_REDIS_TIMEOUT = env.float("SEARCH_REDIS_TIMEOUT", default=0.1)  # seconds per Redis call
SEARCH_REDIS_TTL = env.int("SEARCH_REDIS_TTL", default=30 * 24 * 3600)  # seconds a cached embedding is kept

# --- ranking ---
# 0.7: picked by benchmarks/quality.py on held-out emoji (keyword and description queries alike).
SEARCH_TEXT_WEIGHT = env.float("SEARCH_TEXT_WEIGHT", default=0.7)
# HNSW build (m, ef_construction) and search breadth (ef_search, the same for every page: stable pages; 0 = by
# the catalogue's size, ranking.selectors.ef_search_for); measured by benchmarks/vector_scan.py, docs/ranking.md.
SEARCH_HNSW_M = env.int("SEARCH_HNSW_M", default=32)
SEARCH_HNSW_EF_CONSTRUCTION = env.int("SEARCH_HNSW_EF_CONSTRUCTION", default=400)
SEARCH_HNSW_EF_SEARCH = env.int("SEARCH_HNSW_EF_SEARCH", default=0)
# Catalogues up to this many stickers (of the loaded model) are ranked by an exact scan instead of HNSW.
SEARCH_EXACT_MAX_STICKERS = env.int("SEARCH_EXACT_MAX_STICKERS", default=3000)
# PostgreSQL statement_timeout of ranking queries, ms (below sticker_service's 2.5 s deadline); 0 = none.
SEARCH_STATEMENT_TIMEOUT_MS = env.int("SEARCH_STATEMENT_TIMEOUT_MS", default=2000)
# Largest absolute per-request boost added to a listed sticker's score (POST /api/search/ "boosts").
SEARCH_BOOST_MAX = env.float("SEARCH_BOOST_MAX", default=0.2)
# Full text fused with the vector score (docs/ranking.md): score = vector score + SEARCH_LEXICAL_WEIGHT * lexical
# score (0..1); 0 turns the full text off. A query word held by at most SEARCH_LEXICAL_MAX_MATCHES stickers is
# looked up in the full-text index and raises every sticker holding it; a more common word raises the stickers among
# the SEARCH_LEXICAL_NEAREST nearest by the vector score. A query word found in no title/tag is replaced by the
# lexicon's words at least SEARCH_LEXICAL_TYPO_SIMILARITY alike (pg_trgm similarity) or starting with it
# ("birthdy", "cupcak").
SEARCH_LEXICAL_WEIGHT = env.float("SEARCH_LEXICAL_WEIGHT", default=0.2)
SEARCH_LEXICAL_MAX_MATCHES = env.int("SEARCH_LEXICAL_MAX_MATCHES", default=500)
SEARCH_LEXICAL_TYPO_SIMILARITY = env.float("SEARCH_LEXICAL_TYPO_SIMILARITY", default=0.35)
SEARCH_LEXICAL_NEAREST = env.int("SEARCH_LEXICAL_NEAREST", default=400)
# Seconds a search's results are reused for the same query in this process (0 = off); see ranking/result_cache.py.
SEARCH_RESULT_CACHE_TTL = env.float("SEARCH_RESULT_CACHE_TTL", default=0.0)
SEARCH_RESULT_CACHE_SIZE = env.int("SEARCH_RESULT_CACHE_SIZE", default=4096)  # searches kept per process

# --- query adapters (adapters app) ---
# Seconds a process serves an adapter version before looking for a newer one (0 = on every search).
SEARCH_ADAPTER_REFRESH = env.float("SEARCH_ADAPTER_REFRESH", default=10.0)
# sticker_service's base URL and an admin API token: `python -m search_service train_query_adapter` pulls the votes
# from there.
SEARCH_FEEDBACK_URL = env.str("SEARCH_FEEDBACK_URL", default="http://127.0.0.1:8000")
SEARCH_FEEDBACK_TOKEN = env.str("SEARCH_FEEDBACK_TOKEN", default="")

# --- sticker images (stickers app) ---
SEARCH_MEDIA_ROOT = env.str("SEARCH_MEDIA_ROOT", default=str(BASE_DIR.parent / ".data" / "media" / "stickers"))
SEARCH_MEDIA_URL = env.str("SEARCH_MEDIA_URL", default="/media/stickers/")
SEARCH_SERVE_MEDIA = env.bool("SEARCH_SERVE_MEDIA", default=True)
SEARCH_UPLOAD_MAX_BYTES = env.int("SEARCH_UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
SEARCH_MAX_IMAGE_PIXELS = env.int("SEARCH_MAX_IMAGE_PIXELS", default=25_000_000)
# 16: an indexing process with the default model stays under 1.5 GB with room for larger images (peak 1325 MB at 16,
# 1481 MB at 24, 1580 MB at 32 on 512 px stickers: benchmarks/RESULTS.md "Peak memory of an indexing process").
SEARCH_INDEX_BATCH_SIZE = env.int("SEARCH_INDEX_BATCH_SIZE", default=16)

# --- scale-out (docs/scale.md) ---
# Bulk indexing on Celery workers (index_images DIR --queue enqueues, `celery -A search_service.config.celery worker`
# runs stickers/tasks.py). Redis is the broker and keeps the batches' results for the enqueuing command's progress.
SEARCH_CELERY_BROKER_URL = env.str("SEARCH_CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
SEARCH_CELERY_QUEUE = env.str("SEARCH_CELERY_QUEUE", default="index")
# Seconds after which Redis hands a batch whose worker vanished (killed, machine lost) to another worker;
# longer than any batch takes (a batch running longer is handed out twice: harmless, by content hash).
SEARCH_CELERY_VISIBILITY_TIMEOUT = env.int("SEARCH_CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_URL = SEARCH_CELERY_BROKER_URL
CELERY_RESULT_BACKEND = SEARCH_CELERY_BROKER_URL
CELERY_RESULT_EXPIRES = 7 * 24 * 3600
CELERY_TASK_DEFAULT_QUEUE = SEARCH_CELERY_QUEUE
CELERY_TASK_ACKS_LATE = True  # a batch is acknowledged once stored, not when it is taken
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # a killed worker process's batch goes back to the queue
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # a worker holds one batch at a time
# Every 10 s a worker hands back batches unacknowledged for longer than the visibility timeout.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": SEARCH_CELERY_VISIBILITY_TIMEOUT,
    "unacked_restore_throttle": 1,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Read replica (PostgreSQL streaming replication) for ranking and catalogue reads; empty = everything on the
# primary. Skipped (reads go to the primary) while unreachable or replaying more than MAX_LAG seconds behind,
# checked at most every CHECK_INTERVAL seconds per process (core/db_router.py).
SEARCH_DATABASE_REPLICA_URL = env.str("SEARCH_DATABASE_REPLICA_URL", default="")
SEARCH_DATABASE_REPLICA_MAX_LAG = env.float("SEARCH_DATABASE_REPLICA_MAX_LAG", default=5.0)
SEARCH_DATABASE_REPLICA_CHECK_INTERVAL = env.float("SEARCH_DATABASE_REPLICA_CHECK_INTERVAL", default=1.0)
if SEARCH_DATABASE_REPLICA_URL:
    DATABASES["replica"] = database("SEARCH_DATABASE_REPLICA_URL")
    # A replica that does not answer is skipped: a short connect timeout keeps searches inside their budget.
    DATABASES["replica"]["OPTIONS"]["connect_timeout"] = 1
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}  # tests: the replica is the test database
DATABASE_ROUTERS = ["search_service.core.db_router.ReplicaRouter"]
# Key prefix of what search_service keeps in Redis (SEARCH_REDIS_URL): the published index version and the
# shared search results (ranking/result_cache.py).
SEARCH_REDIS_KEY_PREFIX = env.str("SEARCH_REDIS_KEY_PREFIX", default="search")

STORAGES = {
    **shared_storages(),
    "stickers": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": SEARCH_MEDIA_ROOT, "base_url": SEARCH_MEDIA_URL, "allow_overwrite": True},
    },
}

if SEARCH_RUNTIME not in ("auto", "onnx", "torch"):
    raise ImproperlyConfigured("SEARCH_RUNTIME must be auto, onnx or torch.")
if not 0.0 <= SEARCH_TEXT_WEIGHT <= 1.0:
    raise ImproperlyConfigured("SEARCH_TEXT_WEIGHT must be between 0 and 1.")
if not 0 <= SEARCH_HNSW_EF_SEARCH <= 1000:
    raise ImproperlyConfigured("SEARCH_HNSW_EF_SEARCH must be 0 (by catalogue size) or 1..1000 (pgvector's range).")
if SEARCH_RESULT_CACHE_TTL < 0 or SEARCH_RESULT_CACHE_SIZE < 1:
    raise ImproperlyConfigured("SEARCH_RESULT_CACHE_TTL must be >= 0 and SEARCH_RESULT_CACHE_SIZE >= 1.")
if SEARCH_REDIS_TIMEOUT <= 0 or SEARCH_REDIS_TTL < 1:
    raise ImproperlyConfigured("SEARCH_REDIS_TIMEOUT must be > 0 and SEARCH_REDIS_TTL >= 1 (seconds).")
if not (
    2 <= SEARCH_HNSW_M <= 100
    and 4 <= SEARCH_HNSW_EF_CONSTRUCTION <= 1000
    and SEARCH_HNSW_EF_CONSTRUCTION >= 2 * SEARCH_HNSW_M
):
    raise ImproperlyConfigured(
        "SEARCH_HNSW_M must be 2..100 and SEARCH_HNSW_EF_CONSTRUCTION 4..1000 and at least "
        "2 * SEARCH_HNSW_M (pgvector's ranges)."
    )
if SEARCH_EXACT_MAX_STICKERS < 0 or SEARCH_STATEMENT_TIMEOUT_MS < 0 or not 0 <= SEARCH_BOOST_MAX <= 10:
    raise ImproperlyConfigured(
        "SEARCH_EXACT_MAX_STICKERS and SEARCH_STATEMENT_TIMEOUT_MS must be >= 0, SEARCH_BOOST_MAX 0..10."
    )
if not (
    0 <= SEARCH_LEXICAL_WEIGHT <= 10
    and 1 <= SEARCH_LEXICAL_MAX_MATCHES <= 10000
    and 0 < SEARCH_LEXICAL_TYPO_SIMILARITY <= 1
    and 1 <= SEARCH_LEXICAL_NEAREST <= 1000
):
    raise ImproperlyConfigured(
        "SEARCH_LEXICAL_WEIGHT must be 0..10, SEARCH_LEXICAL_MAX_MATCHES 1..10000, SEARCH_LEXICAL_NEAREST 1..1000 "
        "and SEARCH_LEXICAL_TYPO_SIMILARITY in (0, 1]."
    )
if SEARCH_TEXT_CACHE_SIZE < 0 or SEARCH_TORCH_THREADS < 0:
    raise ImproperlyConfigured("SEARCH_TEXT_CACHE_SIZE and SEARCH_TORCH_THREADS must be >= 0.")
if SEARCH_DATABASE_REPLICA_MAX_LAG <= 0 or SEARCH_DATABASE_REPLICA_CHECK_INTERVAL < 0:
    raise ImproperlyConfigured("SEARCH_DATABASE_REPLICA_MAX_LAG must be > 0, ..._CHECK_INTERVAL >= 0 (seconds).")
if SEARCH_CELERY_VISIBILITY_TIMEOUT < 1:
    raise ImproperlyConfigured("SEARCH_CELERY_VISIBILITY_TIMEOUT must be >= 1 (seconds).")
if SEARCH_ADAPTER_REFRESH < 0:
    raise ImproperlyConfigured("SEARCH_ADAPTER_REFRESH must be >= 0 (seconds).")
if not SEARCH_MEDIA_URL.endswith("/"):
    raise ImproperlyConfigured("SEARCH_MEDIA_URL must end with a slash.")
