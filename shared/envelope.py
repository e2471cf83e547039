"""The message every stage receives and passes on: a versioned pydantic model.

Each stage fills in its own section and sends the whole envelope to the next
stage, so a redelivered message carries everything needed to redo the work.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION: Literal[1] = 1


class Status(StrEnum):
    QUEUED = "queued"
    INGESTED = "ingested"
    LANGUAGE_DETECTED = "language_detected"
    ENTITIES_EXTRACTED = "entities_extracted"
    STORED = "stored"
    FAILED = "failed"


class ArticleInput(BaseModel):
    """What the user submitted, as accepted by the gateway."""

    model_config = ConfigDict(extra="forbid")

    text: str
    title: str | None = None
    url: str | None = None
    source: str | None = None
    published_at: datetime | None = None
    external_id: str | None = None
    # "html": `text` is an HTML page; ingest extracts its text and sets "text" again.
    format: Literal["text", "html"] = "text"
    # Optional prior: ISO 639-1 codes the article is expected to be in (e.g. ["fr", "en"]).
    expected_languages: list[str] | None = None


class Span(BaseModel):
    start: int
    end: int


class Paragraph(Span):
    index: int


class Removed(Span):
    """Boilerplate taken out by ingest; offsets are into the *raw* (normalised) text."""

    text: str
    reason: str


class Dateline(BaseModel):
    place: str | None = None
    date: str | None = None
    agency: str | None = None
    # Offsets of the dateline place inside the clean text, when it is there.
    place_start: int | None = None
    place_end: int | None = None


class CleanArticle(BaseModel):
    title: str | None
    text: str
    paragraphs: list[Paragraph]
    dateline: Dateline | None = None
    removed: list[Removed] = Field(default_factory=list)
    content_hash: str
    # Another article (other id, e.g. another external_id) with the same clean text,
    # accepted first: the same wire story syndicated by several sites.
    duplicate_of: str | None = None


class ParagraphLanguage(BaseModel):
    index: int
    code: str
    confidence: float


class LanguageResult(BaseModel):
    code: str  # ISO 639-1, or "und" when undecidable
    confidence: float
    paragraphs: list[ParagraphLanguage]
    detector: str
    # Why the code is "und" (e.g. "unsupported_script:ethiopic", "unknown_language:closest=so",
    # "low_confidence"); None when a language was named. Optional: older envelopes lack it.
    reason: str | None = None


class Entity(BaseModel):
    text: str
    label: Literal["PER", "ORG", "LOC", "MISC"]
    model_label: str
    start: int
    end: int


class EntityGroup(BaseModel):
    """One entity of the document: its mentions grouped under a canonical name."""

    name: str  # canonical name: the longest form ("Vladimir Poutine" for "Poutine")
    label: Literal["PER", "ORG", "LOC", "MISC"]
    count: int  # mentions
    salience: float  # share of the document's mentions
    first_start: int  # offset of the first mention in the clean text
    mentions: list[Span] = Field(default_factory=list)


class EntitiesResult(BaseModel):
    status: Literal["extracted", "skipped"]
    reason: str | None = None
    model: str | None = None
    model_version: str | None = None
    entities: list[Entity] = Field(default_factory=list)
    groups: list[EntityGroup] = Field(default_factory=list)


class ArticleEnvelope(BaseModel):
    schema_version: Literal[1] = SCHEMA_VERSION
    id: str
    received_at: datetime
    input: ArticleInput
    clean: CleanArticle | None = None
    language: LanguageResult | None = None
    entities: EntitiesResult | None = None

    def to_message(self) -> dict[str, object]:
        """JSON-safe dict for Celery's JSON serializer."""
        return self.model_dump(mode="json")

    @classmethod
    def from_message(cls, message: dict[str, object]) -> "ArticleEnvelope":
        return cls.model_validate(message)


class FailureRecord(BaseModel):
    """The dead-letter record: a stage gave up on an article (shared/pipeline.py
    `on_failure` sends it, the storage stage writes it to PostgreSQL). It carries the
    message the stage failed on, so an operator can re-drive the article from there."""

    id: str
    stage: str
    reason: str
    attempts: int | None = None
    failed_at: datetime | None = Field(None, description="None: storage stamps its own time")
    message: dict[str, Any] = Field(default_factory=dict)

    @field_validator("failed_at", mode="before")
    @classmethod
    def unreadable_time_is_none(cls, value: object) -> object:
        # A record is never refused for its time alone: losing it would lose the article.
        if value is None or isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(str(value))
        except ValueError:
            return None

    @field_validator("message", mode="before")
    @classmethod
    def no_message_is_empty(cls, value: object) -> object:
        # Not an envelope (None, a list): recorded without it, never refused.
        return value if isinstance(value, dict) else {}

    def to_message(self) -> dict[str, Any]:
        """JSON-safe dict for Celery's JSON serializer."""
        return self.model_dump(mode="json")
