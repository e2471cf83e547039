"""One settings class for every service, read from the environment (see .env.example)."""

import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, computed_field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.names import QUEUE_ENTITIES, entities_queue
from shared.worker_health import DEFAULT_HEALTH_FILE

# The repo's models/ folder (/app/models in the entities image): one trained spaCy
# pipeline per language, models/<lang>/.
DEFAULT_NER_MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
LANGUAGE_CODE_RE = re.compile(r"[a-z]{2,3}")
ALL_LANGUAGES = "all"
UNDETERMINED = "und"


def language_codes(value: str) -> list[str]:
    """The codes of a comma-separated list ("de, es" -> ["de", "es"]), checked."""
    codes = [code.strip() for code in value.split(",") if code.strip()]
    bad = [code for code in codes if not LANGUAGE_CODE_RE.fullmatch(code)]
    if bad:
        raise ValueError(f"not language codes (2-3 lowercase letters): {bad}")
    return codes


def discover_ner_models(models_dir: Path) -> dict[str, str]:
    """{lang: folder} of every `<models_dir>/<lang>/` that holds a saved spaCy pipeline
    (config.cfg and meta.json; lang = 2-3 lowercase letters, not "und"). Cached per
    folder until the folder changes (its mtime: a language folder added or removed)."""
    try:
        stamp = models_dir.stat().st_mtime_ns
    except OSError:
        return {}
    return dict(_discover(str(models_dir), stamp))


@lru_cache(maxsize=16)
def _discover(models_dir: str, _stamp: int) -> tuple[tuple[str, str], ...]:
    found = []
    for child in sorted(Path(models_dir).iterdir()):
        if (
            LANGUAGE_CODE_RE.fullmatch(child.name)
            and child.name != UNDETERMINED
            # meta.json too: models/ner/config.cfg is the trainer's config, not a pipeline.
            and (child / "config.cfg").is_file()
            and (child / "meta.json").is_file()
        ):
            found.append((child.name, str(child)))
    return tuple(found)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Connections
    redis_url: str = "redis://localhost:6379/0"
    postgres_host: str = "localhost"
    postgres_port: int = 5432
    postgres_user: str = "newsflow"
    postgres_password: str = "newsflow"
    postgres_db: str = "newsflow"

    # Gateway
    max_body_bytes: int = Field(1_000_000, description="Largest accepted request body")
    max_batch_size: int = 1000
    max_batch_body_bytes: int = Field(
        50_000_000, description="Largest accepted body for POST /articles/batch"
    )
    max_text_chars: int = 500_000
    max_title_chars: int = Field(1000, description="Longest accepted title")
    max_url_chars: int = Field(2048, description="Longest accepted url")
    max_external_id_chars: int = Field(256, description="Longest accepted external_id")

    # Gateway security: API keys (comma-separated; none configured = every protected
    # endpoint refuses), open reads, per-key write rate limit (0: off), CORS origins.
    api_keys: SecretStr = Field(SecretStr(""), description="Comma-separated API keys")
    public_read: bool = Field(False, description="GET endpoints answer without a key")
    rate_limit_writes_per_minute: int = Field(
        600, ge=0, description="Write requests per key and minute (0: no limit)"
    )
    cors_origins: str = Field("", description="Comma-separated origins allowed by CORS")
    status_ttl_seconds: int = Field(
        7 * 24 * 3600, description="How long Redis keeps an article's in-flight status"
    )

    # The web page (services/gateway/web/): the key that signs its session cookie (empty: a
    # random one per process start, so sessions end when the gateway restarts, and each
    # replica signs its own) and how long a sign-in lasts.
    web_session_secret: SecretStr = Field(
        SecretStr(""), description="Signs the web page's session cookie (empty: random)"
    )
    web_session_max_age_seconds: int = Field(
        8 * 3600, gt=0, description="Seconds a web sign-in lasts"
    )

    # Gateway metrics for Prometheus: GET /metrics on the API port needs a key; this second
    # port serves them without one, for scrapers inside the compose network (unpublished).
    metrics_port: int = Field(
        0, ge=0, le=65535, description="Port of the key-less metrics listener (0: none)"
    )
    metrics_host: str = Field("0.0.0.0", description="Address the metrics listener binds")

    # Delivery: the visibility timeout must exceed the longest task time limit,
    # or Redis redelivers a task that is still running.
    task_time_limit: int = 300
    task_soft_time_limit: int = 240
    visibility_timeout: int = 3600
    max_retries: int = Field(8, description="Retries of transient errors (Redis/PostgreSQL down)")
    retry_backoff_max: int = 60
    max_attempts: int = Field(
        3, description="Attempts of an article at a stage that raises a non-transient error"
    )
    max_deliveries: int = Field(
        3, description="Deliveries of one article to one stage that never finished (worker killed)"
    )
    worker_concurrency: int = 1

    # Worker health (shared/worker_health.py): what makes a worker container healthy.
    worker_proc_alive_timeout: float = Field(
        60.0,
        gt=0,
        description="Seconds a new pool process has to report up before Celery kills it",
    )
    worker_startup_timeout: int = Field(
        600, gt=0, description="Seconds the main process may take to load its models"
    )
    worker_pool_start_attempts: int = Field(
        3, ge=1, description="Pool processes failing to start in a row before the worker exits"
    )
    worker_heartbeat_seconds: float = Field(
        5.0, gt=0, description="How often the main process reports its pool"
    )
    worker_heartbeat_timeout: float = Field(
        30.0, gt=0, description="A worker whose report is older than this is dead"
    )
    worker_health_file: str = Field(
        DEFAULT_HEALTH_FILE,
        description="Where the main process writes its report for the container healthcheck",
    )
    pipeline_stall_seconds: float = Field(
        45.0,
        gt=0,
        description="A stage with messages this old and no progress for this long is stuck",
    )

    # Language stage
    language_min_chars: int = Field(
        20, description="Shorter paragraphs count as undecidable ('und') on their own"
    )
    language_min_confidence: float = 0.2
    language_seed: int = 0
    language_expected: str = Field(
        "", description="Comma-separated ISO 639-1 codes expected by default (a prior), e.g. fr,en"
    )

    # Entities stage: spaCy pipeline per language code
    spacy_model_fr: str = "fr_core_news_md"
    spacy_model_en: str = "en_core_web_sm"
    entities_max_chars: int = Field(
        1_000_000,
        gt=0,
        description="Longest text spaCy is run on (nlp.max_length); longer ones fail the stage",
    )
    ner_models_dir: Path = Field(
        DEFAULT_NER_MODELS_DIR,
        description="Folder of our trained pipelines, one <lang>/ each (found at start-up)",
    )
    ner_models: str = Field(
        "ru=natasha",
        description="lang=model pairs that win over everything else, e.g. 'ru=natasha' or "
        "'de=/path/to/pipeline' (a package name, a pipeline folder, or natasha)",
    )
    entities_languages: str = Field(
        ALL_LANGUAGES,
        description="Languages this entities worker serves: comma list, or 'all' (every "
        "language with a model that is not routed to its own queue)",
    )
    entities_routed_languages: str = Field(
        "",
        description="Languages sent to their own queue entities.<lang> instead of 'entities'",
    )
    entities_preload: bool = Field(
        True,
        description="Load the served languages' pipelines in the main process before the "
        "pool forks (shared copy-on-write); false: each pool process loads on first use",
    )
    entities_batch_size: int = Field(
        8,
        ge=1,
        le=64,
        description="Most articles whose NER runs in one nlp.pipe call (1: no batching)",
    )
    entities_batch_wait_ms: int = Field(
        20,
        ge=0,
        le=1000,
        description="How long a batch waits to fill, once the entities worker's pool is "
        "idle, before it starts on what it has",
    )

    # Live events (Redis Streams, shared/events.py) and webhooks (services/webhooks).
    events_retention_minutes: int = Field(
        60,
        gt=0,
        description="Minutes the event streams keep each transition: a client reconnecting "
        "with Last-Event-ID within them misses nothing",
    )
    events_max_clients: int = Field(
        100, ge=1, description="Open SSE streams per gateway process (503 beyond)"
    )
    webhook_allow_private_urls: bool = Field(
        False,
        description="Webhook URLs may resolve to private, loopback and link-local addresses "
        "(local use and tests only: it opens server-side request forgery)",
    )
    webhook_max_attempts: int = Field(
        10, ge=1, description="Attempts of one delivery before it is marked failed"
    )
    webhook_backoff_base_seconds: float = Field(
        10.0, gt=0, description="Wait before the first retry; doubled after each attempt"
    )
    webhook_backoff_max_seconds: float = Field(
        1800.0, gt=0, description="Longest wait between two attempts"
    )
    webhook_timeout_seconds: float = Field(
        10.0, gt=0, description="Time a receiver has to answer one delivery"
    )
    webhook_deliveries_keep_days: int = Field(
        30, ge=1, description="Days finished deliveries stay listed before they are deleted"
    )

    log_level: str = "INFO"
    log_json: bool = True

    @computed_field  # type: ignore[prop-decorator]
    @property
    def database_url(self) -> str:
        return (
            f"postgresql+psycopg://{self.postgres_user}:{self.postgres_password}"
            f"@{self.postgres_host}:{self.postgres_port}/{self.postgres_db}"
        )

    def webhook_retry_problem(self) -> str | None:
        """Why webhook retries cannot work with these settings, None when they can: a retry
        waits in Redis as a Celery countdown, unacknowledged, and past VISIBILITY_TIMEOUT
        Redis would hand it out a second time. The webhooks worker refuses to start then."""
        longest = self.webhook_backoff_max_seconds + self.webhook_timeout_seconds
        if longest < self.visibility_timeout:
            return None
        return (
            f"WEBHOOK_BACKOFF_MAX_SECONDS + WEBHOOK_TIMEOUT_SECONDS ({longest:g}) must stay "
            f"below VISIBILITY_TIMEOUT ({self.visibility_timeout})"
        )

    def api_key_list(self) -> list[str]:
        return [key.strip() for key in self.api_keys.get_secret_value().split(",") if key.strip()]

    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @field_validator("entities_routed_languages")
    @classmethod
    def _check_routed(cls, value: str) -> str:
        if UNDETERMINED in language_codes(value):
            raise ValueError("'und' has no model: it cannot have its own entities queue")
        return value

    @field_validator("entities_languages")
    @classmethod
    def _check_served(cls, value: str) -> str:
        if value.strip() != ALL_LANGUAGES:
            codes = language_codes(value)
            if not codes or ALL_LANGUAGES in codes:
                raise ValueError("ENTITIES_LANGUAGES is 'all' or a comma-separated list of codes")
        return value

    def spacy_models(self) -> dict[str, str]:
        """{lang: model} for every language with a spaCy pipeline: SPACY_MODEL_FR/EN for
        fr/en, and every pipeline folder under NER_MODELS_DIR. A discovered fr/ or en/
        folder replaces the default package, never a SPACY_MODEL_FR/EN that is set.
        NER_MODELS pairs win over all of these."""
        discovered = discover_ner_models(self.ner_models_dir)
        models: dict[str, str] = {}
        for lang, name, value in (
            ("fr", "spacy_model_fr", self.spacy_model_fr),
            ("en", "spacy_model_en", self.spacy_model_en),
        ):
            explicit = name in self.model_fields_set and value
            models[lang] = value if explicit or lang not in discovered else discovered[lang]
        models.update({lang: path for lang, path in discovered.items() if lang not in models})
        models.update(self.ner_model_overrides())
        return models

    def ner_model_overrides(self) -> dict[str, str]:
        """NER_MODELS as {lang: model}: 'ru=natasha, de=/models/de' -> {...}."""
        pairs: dict[str, str] = {}
        for item in filter(None, (part.strip() for part in self.ner_models.split(","))):
            lang, sep, model = (piece.strip() for piece in item.partition("="))
            if not sep or not model or len(language_codes(lang)) != 1:
                raise ValueError(f"NER_MODELS wants lang=model pairs, got {item!r}")
            pairs[lang] = model
        return pairs

    def entities_routed(self) -> frozenset[str]:
        """Languages with their own entities queue (ENTITIES_ROUTED_LANGUAGES)."""
        return frozenset(language_codes(self.entities_routed_languages))

    def entities_serves_all(self) -> bool:
        return self.entities_languages.strip() == ALL_LANGUAGES

    def entities_served_languages(self, models: Mapping[str, str] | None = None) -> frozenset[str]:
        """The languages this entities worker runs a model for. 'all': every language with
        a model except the routed ones (their own workers serve them); a list: exactly
        those. `models`: spacy_models() when the caller has it already."""
        if self.entities_serves_all():
            return frozenset(self.spacy_models() if models is None else models) - (
                self.entities_routed()
            )
        return frozenset(language_codes(self.entities_languages))

    def entities_queues(self) -> list[str]:
        """The queues this entities worker consumes: `entities.<lang>` for each language it
        lists that is routed, and the shared `entities` queue when it serves 'all' or a
        language that is not routed (und and model-less languages wait there too)."""
        routed = self.entities_routed()
        if self.entities_serves_all():
            return [QUEUE_ENTITIES]
        served = self.entities_served_languages()
        own = [entities_queue(lang, routed) for lang in sorted(served & routed)]
        return [QUEUE_ENTITIES, *own] if served - routed else own


@lru_cache
def get_settings() -> Settings:
    return Settings()
