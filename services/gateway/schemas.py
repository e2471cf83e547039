"""Request and response models of the HTTP API.

Character rules live here; length limits are settings (MAX_*_CHARS), checked in intake.py.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from shared.envelope import ArticleInput
from shared.ids import normalise_for_id
from shared.settings import Settings


@dataclass(frozen=True)
class Limits:
    """Longest accepted value of each field, in characters (MAX_*_CHARS settings)."""

    text: int = 500_000
    title: int = 1000
    url: int = 2048
    external_id: int = 256

    @classmethod
    def from_settings(cls, settings: Settings) -> "Limits":
        return cls(
            text=settings.max_text_chars,
            title=settings.max_title_chars,
            url=settings.max_url_chars,
            external_id=settings.max_external_id_chars,
        )


# Text may hold tab, line feed, form feed (page breaks from PDF tools) and carriage return.
_TEXT_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
# Single-line fields: no control character at all, no line or paragraph separator.
_LINE_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# A title's whitespace: ASCII blanks and every line break (CR, LF, VT, FF, NEL, U+2028/9).
# Runs of it become one space; no-break and other typographic spaces are kept as sent.
_TITLE_SPACE = re.compile(r"[\t\n\x0b\x0c\r \x85\u2028\u2029]+")
_HTTP_URL: TypeAdapter[AnyHttpUrl] = TypeAdapter(AnyHttpUrl)


def _no_forbidden(value: str, pattern: re.Pattern[str], what: str) -> str:
    found = pattern.search(value)
    if found:
        raise PydanticCustomError(
            "control_character",
            f"contains control character U+{ord(found.group()):04X} at position "
            f"{found.start()}; {what}",
        )
    return value


def normalise_title(value: str) -> str:
    """Line breaks and runs of whitespace as single spaces, the ends stripped."""
    return _TITLE_SPACE.sub(" ", value).strip(" ")  # not strip(): it eats \x1c-\x1f


class ArticleSubmission(ArticleInput):
    """An article as submitted: `text` is required, everything else optional."""

    text: str = Field(
        description="The article body: plain text, or HTML (converted to text by ingest)."
    )
    title: str | None = Field(
        None,
        description="One line: line breaks and runs of whitespace become one space, the ends "
        "are stripped; other control characters are refused. Limit: MAX_TITLE_CHARS.",
    )
    url: str | None = Field(
        None,
        description="Absolute http(s) URL with a host. Limit: MAX_URL_CHARS.",
        json_schema_extra={"format": "uri"},
    )
    source: str | None = Field(None, max_length=256, description="One line.")
    external_id: str | None = Field(
        None,
        description="Your id for the article; it makes the Newsflow id. Printable, one line. "
        "Limit: MAX_EXTERNAL_ID_CHARS.",
    )

    @field_validator("text")
    @classmethod
    def text_is_text(cls, value: str) -> str:
        if not normalise_for_id(value):
            raise PydanticCustomError("blank", "text must not be empty")
        return _no_forbidden(
            value,
            _TEXT_FORBIDDEN,
            "text may hold tab, line feed, form feed and carriage return only",
        )

    @field_validator("title")
    @classmethod
    def title_one_line(cls, value: str | None) -> str | None:
        """Line breaks and runs of whitespace become one space (titles copied from pages
        and feeds carry them); any other control character is refused. Blank: no title."""
        if value is None:
            return None
        value = normalise_title(value)
        return _no_forbidden(value, _LINE_FORBIDDEN, "a title is one line of text") or None

    @field_validator("source")
    @classmethod
    def single_line(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return _no_forbidden(value, _LINE_FORBIDDEN, "it must be a single line")

    @field_validator("external_id")
    @classmethod
    def external_id_printable(cls, value: str | None) -> str | None:
        if value is None:
            return None
        _no_forbidden(value, _LINE_FORBIDDEN, "it must be a single line")
        if not value.strip():
            raise PydanticCustomError("blank", "external_id must not be empty or only whitespace")
        if not value.isprintable():
            bad = next(ch for ch in value if not ch.isprintable())
            raise PydanticCustomError(
                "not_printable",
                f"external_id contains the non-printable character U+{ord(bad):04X}",
            )
        return value

    @field_validator("url")
    @classmethod
    def url_is_http(cls, value: str | None) -> str | None:
        if value is None:
            return None
        _no_forbidden(value, _LINE_FORBIDDEN, "a URL is one line")
        if any(ch.isspace() for ch in value):
            raise PydanticCustomError(
                "url_invalid", "url must not contain whitespace (percent-encode it)"
            )
        try:
            parsed = _HTTP_URL.validate_python(value)
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"]
            raise PydanticCustomError(
                "url_invalid", f"url must be an absolute http(s) URL with a host: {reason}"
            ) from exc
        if not parsed.host:
            raise PydanticCustomError(
                "url_invalid", "url must be an absolute http(s) URL with a host"
            )
        return value  # kept as sent: the URL the user knows


def submission_schema(limits: Limits) -> dict[str, Any]:
    """ArticleSubmission's JSON schema with this deployment's length limits."""
    schema = ArticleSubmission.model_json_schema()
    properties = schema["properties"]
    for field, limit in (
        ("text", limits.text),
        ("title", limits.title),
        ("url", limits.url),
        ("external_id", limits.external_id),
    ):
        target = properties[field]
        for option in target.get("anyOf", [target]):
            if option.get("type") == "string":
                option["maxLength"] = limit
    properties["text"]["minLength"] = 1
    return schema


# --- write answers ----------------------------------------------------------------


class Accepted(BaseModel):
    id: str
    status: str = Field(description="queued, or the known article's status when a duplicate")
    duplicate: bool = False


class Redriven(BaseModel):
    """One re-drive: the article's status now, the stage it goes back to, and whether this call
    sent it (False: it was already in flight again, or another call is sending it)."""

    id: str
    status: str
    stage: str | None
    redriven: bool


class RedrivenAll(BaseModel):
    """`POST /articles/retry-failed`: how many failed articles were sent again, and which."""

    redriven: int
    skipped: int
    ids: list[str]


class ItemError(BaseModel):
    """Why one article of a batch was refused (the same rules as POST /articles)."""

    field: str | None = Field(
        description="The refused field inside the article (`title`, `expected_languages.0`); "
        "null when the article itself is wrong (not an object)"
    )
    reason: str = Field(description="The problem, in words")
    type: str = Field(description="Machine-readable: control_character, string_type, ...")
    loc: list[str | int] = Field(description='Full location, e.g. ["body", "articles", 3, "title"]')


class BatchItem(BaseModel):
    """The outcome of the article at `index`: accepted (id, status) or refused (error)."""

    index: int = Field(description="Position of the article in the submitted list, from 0")
    id: str | None = Field(None, description="Newsflow id; null when refused")
    status: str = Field(
        description="queued (accepted now), the known status (duplicate), or refused"
    )
    duplicate: bool = False
    error: ItemError | None = Field(None, description="Set when, and only when, refused")


class BatchAccepted(BaseModel):
    """202 for a well-formed batch, whatever each article's outcome (like Elasticsearch
    `_bulk`): check `errors`, then the `items` whose `error` is set."""

    errors: bool = Field(description="true when at least one article was refused")
    accepted: int = Field(description="Articles accepted, duplicates included")
    refused: int
    ids: list[str] = Field(description="Ids of the accepted articles, in submission order")
    items: list[BatchItem] = Field(description="One per submitted article, in order")


# --- read answers -------------------------------------------------------------------


def _utc_iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


# Always UTC, ISO 8601 with an offset (+00:00), whatever the database session's time zone.
Timestamp = Annotated[
    datetime,
    PlainSerializer(_utc_iso, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class Failure(BaseModel):
    """Where and why an article failed (the dead-letter record)."""

    stage: str | None
    reason: str | None
    attempts: int | None = None
    last_error_at: Timestamp | None = None


class ParagraphLanguageOut(BaseModel):
    index: int
    code: str | None
    confidence: float | None
    start: int
    end: int


class ArticleLanguage(BaseModel):
    code: str = Field(description='ISO 639-1, or "und" when undecidable')
    confidence: float | None
    detector: str | None
    reason: str | None = Field(None, description='Why the code is "und"')
    paragraphs: list[ParagraphLanguageOut]


class ArticleEntity(BaseModel):
    """One mention, with offsets into the article's clean `text`."""

    text: str
    label: str = Field(description="PER, ORG, LOC or MISC")
    model_label: str = Field(description="The label the NER model gave")
    start: int
    end: int


class Mention(BaseModel):
    start: int
    end: int


class ArticleEntityGroup(BaseModel):
    """One entity of the article: its mentions grouped under a canonical name."""

    name: str
    label: str
    count: int
    salience: float
    first_start: int
    mentions: list[Mention] = Field(default_factory=list)


class ArticleDateline(BaseModel):
    place: str | None = None
    date: str | None = None
    agency: str | None = None


class RemovedText(BaseModel):
    """Boilerplate taken out by ingest; offsets into the raw (normalised) text."""

    start: int
    end: int
    text: str
    reason: str


class ArticleMetadata(BaseModel):
    source: str | None
    url: str | None
    external_id: str | None
    published_at: Timestamp | None
    received_at: Timestamp | None
    stored_at: Timestamp | None
    content_hash: str | None
    duplicate_of: str | None
    dateline: ArticleDateline | None
    removed: list[RemovedText]


class ModelInfo(BaseModel):
    name: str
    version: str | None


class Article(BaseModel):
    """A stored (or failed) article, as PostgreSQL holds it."""

    id: str
    status: str
    title: str | None
    text: str | None
    metadata: ArticleMetadata
    language: ArticleLanguage | None
    entities: list[ArticleEntity]
    entity_groups: list[ArticleEntityGroup]
    entities_status: str | None
    entities_reason: str | None
    model: ModelInfo | None
    error: Failure | None


class ArticleInFlight(BaseModel):
    """An accepted article still in the pipeline (or re-driven), from its live status."""

    id: str
    status: str
    title: str | None = None
    error: Failure | None = None
    accepted_at: Timestamp | None = None
    updated_at: Timestamp | None = None


class ArticleSummary(BaseModel):
    """One article in a list or search result."""

    id: str
    status: str
    title: str | None
    source: str | None = Field(description="Where the article came from, as submitted")
    language: str | None
    stored_at: Timestamp | None
    entity_count: int
    error: Failure | None


class ArticlePage(BaseModel):
    items: list[ArticleSummary]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page"
    )


class EntityCount(BaseModel):
    """A distinct entity (text and label) and how many stored articles mention it."""

    text: str
    label: str
    article_count: int


class EntityList(BaseModel):
    items: list[EntityCount]


# --- webhooks -----------------------------------------------------------------------

WebhookEvent = Literal["stored", "failed"]


class WebhookCreate(BaseModel):
    """A receiver to call when articles end `stored` or `failed`."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1,
        max_length=2048,
        description="http(s) URL that receives a signed JSON POST per event. Its host must "
        "resolve to public addresses only (unless WEBHOOK_ALLOW_PRIVATE_URLS)",
        json_schema_extra={"format": "uri"},
    )
    events: list[WebhookEvent] = Field(
        min_length=1, max_length=2, description="The events it wants: stored, failed"
    )
    secret: str | None = Field(
        None,
        min_length=16,
        max_length=256,
        description="The HMAC-SHA256 key of the Newsflow-Signature header (printable). "
        "Omitted: one is generated and returned once, in this answer",
    )

    @field_validator("events")
    @classmethod
    def distinct(cls, value: list[WebhookEvent]) -> list[WebhookEvent]:
        return list(dict.fromkeys(value))

    @field_validator("url", "secret")
    @classmethod
    def one_line(cls, value: str | None) -> str | None:
        if value is not None and not value.isprintable():
            raise PydanticCustomError("not_printable", "must be printable, on one line")
        return value


class Webhook(BaseModel):
    """A registered webhook; its secret is never shown again after registration."""

    id: str
    url: str
    events: list[str]
    created_at: Timestamp


class WebhookCreated(Webhook):
    secret: str = Field(description="The signing secret: store it, it is not shown again")


class WebhookList(BaseModel):
    items: list[Webhook]


class Delivery(BaseModel):
    """One event sent (or being sent) to one webhook."""

    id: str = Field(description="Also the Newsflow-Delivery header and the body's `id`")
    webhook_id: str
    event: str = Field(description="stored or failed")
    event_id: str = Field(description="The event's id, as in GET /events")
    article_id: str
    status: Literal["pending", "retrying", "delivered", "failed"]
    attempts: int
    last_status_code: int | None = Field(description="HTTP status of the last attempt")
    last_error: str | None = Field(description="Why the last attempt failed")
    created_at: Timestamp
    updated_at: Timestamp
    next_attempt_at: Timestamp | None = Field(description="When it is tried again, if it is")
    delivered_at: Timestamp | None


class DeliveryCounts(BaseModel):
    """All of a webhook's deliveries (not only the page's)."""

    deliveries: int
    pending: int
    retrying: int
    delivered: int
    failed: int
    attempts: int = Field(description="HTTP attempts made, retries included")
    retried: int = Field(description="Deliveries that took more than one attempt")


class DeliveryPage(BaseModel):
    items: list[Delivery] = Field(description="Newest first")
    counts: DeliveryCounts
