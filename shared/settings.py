"""One settings class for every service, read from the environment (see .env.example)."""

from functools import lru_cache

from pydantic import Field, SecretStr, computed_field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
        "/tmp/newsflow-worker-health.json",
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

    log_level: str = "INFO"
    log_json: bool = True

    @computed_field  # type: ignore[prop-decorator]
    @property
    def database_url(self) -> str:
        return (
            f"postgresql+psycopg://{self.postgres_user}:{self.postgres_password}"
            f"@{self.postgres_host}:{self.postgres_port}/{self.postgres_db}"
        )

    def api_key_list(self) -> list[str]:
        return [key.strip() for key in self.api_keys.get_secret_value().split(",") if key.strip()]

    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    def spacy_models(self) -> dict[str, str]:
        return {"fr": self.spacy_model_fr, "en": self.spacy_model_en}


@lru_cache
def get_settings() -> Settings:
    return Settings()
