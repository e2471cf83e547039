"""One settings class for every service, read from the environment (see .env.example)."""

from functools import lru_cache

from pydantic import Field, computed_field
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
    status_ttl_seconds: int = Field(
        7 * 24 * 3600, description="How long Redis keeps an article's in-flight status"
    )

    # Delivery: the visibility timeout must exceed the longest task time limit,
    # or Redis redelivers a task that is still running.
    task_time_limit: int = 300
    task_soft_time_limit: int = 240
    visibility_timeout: int = 3600
    max_retries: int = 8
    retry_backoff_max: int = 60
    worker_concurrency: int = 1

    # Language stage
    language_min_chars: int = Field(
        20, description="Shorter paragraphs count as undecidable ('und') on their own"
    )
    language_min_confidence: float = 0.5
    language_seed: int = 0

    # Entities stage: spaCy pipeline per language code
    spacy_model_fr: str = "fr_core_news_md"
    spacy_model_en: str = "en_core_web_sm"

    log_level: str = "INFO"
    log_json: bool = True

    @computed_field  # type: ignore[prop-decorator]
    @property
    def database_url(self) -> str:
        return (
            f"postgresql+psycopg://{self.postgres_user}:{self.postgres_password}"
            f"@{self.postgres_host}:{self.postgres_port}/{self.postgres_db}"
        )

    def spacy_models(self) -> dict[str, str]:
        return {"fr": self.spacy_model_fr, "en": self.spacy_model_en}


@lru_cache
def get_settings() -> Settings:
    return Settings()
