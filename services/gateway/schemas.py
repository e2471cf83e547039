"""Request and response models of the HTTP API.

Character rules live here; length limits are settings (MAX_*_CHARS), checked in intake.py.
"""

import re
from dataclasses import dataclass
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, Field, TypeAdapter, ValidationError, field_validator
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


class ArticleSubmission(ArticleInput):
    """An article as submitted: `text` is required, everything else optional."""

    text: str = Field(
        description="The article body: plain text, or HTML (converted to text by ingest)."
    )
    title: str | None = Field(None, description="One line. Limit: MAX_TITLE_CHARS.")
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

    @field_validator("title", "source")
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


class Accepted(BaseModel):
    id: str
    status: str
    duplicate: bool = False


class BatchAccepted(BaseModel):
    ids: list[str]
    items: list[Accepted]
