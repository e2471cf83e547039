"""Turning an HTTP body into validated articles: size, content type, shape, fields.

Every rule answers with a JSON 4xx naming the problem, before anything reaches Redis.
HTML is not parsed here (the gateway carries no HTML or NLP library): it is only
recognised and marked `format: "html"`, and the ingest worker extracts its text.
"""

import json
import re
from typing import Any

from fastapi import Request
from pydantic import ValidationError

from services.gateway.errors import ApiError
from services.gateway.schemas import (
    Accepted,
    ArticleSubmission,
    BatchAccepted,
    BatchItem,
    ItemError,
    Limits,
)

JSON = "application/json"
TEXT = "text/plain"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})

# --- body size -------------------------------------------------------------------


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes `limit` (before reading it all)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(
            413, ["body"], f"body is {declared} bytes; the limit is {limit}", "too_large"
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, ["body"], f"body exceeds the limit of {limit} bytes", "too_large")
    return bytes(body)


# --- content type, binary data, encoding -------------------------------------------


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def unsupported(kind: str, accepted: str) -> ApiError:
    binary = kind.startswith(("image/", "audio/", "video/", "font/")) or kind in {
        "application/octet-stream",
        "application/pdf",
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/msword",
        "multipart/form-data",
    }
    reason = "binary data is not accepted, only an article's text; " if binary else ""
    return ApiError(
        415,
        ["header", "content-type"],
        f"unsupported content type {kind or '(none)'!r}: {reason}send {accepted}",
        "unsupported_media_type",
    )


# Leading bytes of common binary formats: a clear message instead of "invalid UTF-8".
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Office document"),
    (b"\x1f\x8b", "gzip data"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x7fELF", "an executable"),
    (b"OggS", "an Ogg file"),
)
_BINARY_SAMPLE = 8192
# Bytes that never occur in text (all C0 controls but tab, line feed, form feed, return).
_BINARY_BYTES = bytes(set(range(32)) - {9, 10, 12, 13})


def reject_binary(body: bytes) -> None:
    """422 for a body that is clearly not text: a known file signature, UTF-16, or
    a sample where control bytes are frequent (a single stray NUL is left to the
    field check below, which names the field and position)."""
    for signature, what in _SIGNATURES:
        if body.startswith(signature):
            raise ApiError(
                422, ["body"], f"body is binary data ({what}); send the article's text", "binary"
            )
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ApiError(
            422, ["body"], "body is UTF-16 text; send it encoded as UTF-8", "invalid_encoding"
        )
    sample = body[:_BINARY_SAMPLE]
    controls = sum(sample.count(byte) for byte in _BINARY_BYTES)
    if sample and (controls > 8 and controls * 20 > len(sample)):
        raise ApiError(
            422, ["body"], "body is binary data, not text; send the article's text", "binary"
        )


def decode_utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(
            422, ["body"], f"body is not valid UTF-8 (byte {exc.start})", "invalid_encoding"
        ) from exc


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(decode_utf8(body))
    except json.JSONDecodeError as exc:
        raise ApiError(
            422, ["body"], f"invalid JSON: {exc.msg} at {exc.pos}", "json_invalid"
        ) from exc
    except RecursionError as exc:
        raise ApiError(422, ["body"], "invalid JSON: nested too deeply", "json_invalid") from exc


# --- HTML --------------------------------------------------------------------------

_HTML_START = re.compile(
    r"\A\ufeff?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])",
    re.IGNORECASE | re.DOTALL,
)
_HTML_TAG = re.compile(
    r"</?(?:a|abbr|article|aside|b|blockquote|body|br|button|caption|code|div|em|figcaption"
    r"|figure|footer|form|h[1-6]|head|header|hr|i|iframe|img|input|label|li|link|main|meta"
    r"|nav|noscript|ol|option|p|picture|pre|script|section|select|small|source|span|strong"
    r"|style|sub|sup|svg|table|tbody|td|th|thead|time|title|tr|u|ul)(?:\s[^<>]*)?/?>",
    re.IGNORECASE,
)
_MIN_TAGS = 5
_CHARS_PER_TAG = 300


def looks_like_html(text: str) -> bool:
    """An HTML document (doctype or <html> first), or text dense with HTML tags
    (at least 5, and one per 300 characters on average)."""
    if _HTML_START.match(text[:4096]):
        return True
    for tags, _ in enumerate(_HTML_TAG.finditer(text), start=1):
        if tags >= _MIN_TAGS and tags * _CHARS_PER_TAG >= len(text):
            return True
    return False


# --- fields --------------------------------------------------------------------------

_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _reject_surrogates(value: Any, loc: list[str | int]) -> None:
    """JSON's \\ud800 escapes decode to lone surrogates, which are not text."""
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        if found:
            raise ApiError(
                422,
                loc,
                f"contains an unpaired surrogate U+{ord(found.group()):04X} "
                f"at position {found.start()}; send valid Unicode",
                "invalid_unicode",
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_surrogates(key, loc)
            _reject_surrogates(item, [*loc, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _reject_surrogates(item, [*loc, index])


def _check_length(value: str | None, field: str, limit: int, loc: list[str | int]) -> None:
    if value is not None and len(value) > limit:
        raise ApiError(
            422,
            [*loc, field],
            f"{field} has {len(value)} characters; the limit is {limit}",
            "too_long",
        )


def validate_article(
    data: Any, loc: list[str | int], limits: Limits, html: bool = False
) -> ArticleSubmission:
    """One article: shape, types, unknown fields, lengths, characters; HTML marked.

    `html`: the body was sent as text/html, so the text is HTML whatever it looks like.
    """
    if not isinstance(data, dict):
        raise ApiError(422, loc, "an article must be a JSON object", "object_type")
    _reject_surrogates(data, loc)
    # Lengths first, so a huge value is refused for its size before it is parsed.
    for field, limit in (
        ("text", limits.text),
        ("title", limits.title),
        ("url", limits.url),
        ("external_id", limits.external_id),
    ):
        value = data.get(field)
        _check_length(value if isinstance(value, str) else None, field, limit, loc)
    try:
        article = ArticleSubmission.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field_loc = [*loc, *first["loc"]]
        msg = first["msg"].removeprefix("Value error, ")
        raise ApiError(422, field_loc, msg, first["type"]) from exc
    if html:
        article = article.model_copy(update={"format": "html"})
    elif "format" not in article.model_fields_set and looks_like_html(article.text):
        # Sent as text but is HTML: converted by ingest. `"format": "text"` opts out.
        article = article.model_copy(update={"format": "html"})
    return article


def parse_single(request: Request, body: bytes, limits: Limits) -> ArticleSubmission:
    kind = media_type(request)
    if kind == JSON:
        reject_binary(body)
        return validate_article(parse_json(body), ["body"], limits)
    if kind == TEXT or kind in HTML_TYPES:
        reject_binary(body)
        text = decode_utf8(body)
        return validate_article({"text": text}, ["body"], limits, html=kind in HTML_TYPES)
    raise unsupported(kind, "application/json, text/plain or text/html")


def parse_batch(
    request: Request, body: bytes, max_items: int, limits: Limits
) -> list[ArticleSubmission | ItemError]:
    """The batch's articles, in order, each one validated or refused on its own.

    A problem of the batch itself (not JSON, not a list, empty, too many articles) raises
    ApiError and refuses everything; a bad article only refuses itself (an ItemError at
    its index), like Elasticsearch's `_bulk`.
    """
    kind = media_type(request)
    if kind != JSON:
        raise unsupported(kind, 'application/json: {"articles": [...]}')
    reject_binary(body)
    data = parse_json(body)
    loc: list[str | int] = ["body"]
    if isinstance(data, dict) and set(data) == {"articles"}:
        data, loc = data["articles"], ["body", "articles"]
    if not isinstance(data, list):
        raise ApiError(
            422, loc, 'a batch is {"articles": [...]} or a JSON array of articles', "list_type"
        )
    if not data:
        raise ApiError(422, loc, "a batch needs at least one article", "too_short")
    if len(data) > max_items:
        raise ApiError(
            422, loc, f"batch has {len(data)} articles; the limit is {max_items}", "too_long"
        )
    return [_validate_item(item, [*loc, i], limits) for i, item in enumerate(data)]


def _validate_item(
    data: Any, loc: list[str | int], limits: Limits
) -> ArticleSubmission | ItemError:
    try:
        return validate_article(data, loc, limits)
    except ApiError as exc:
        return item_error(exc, len(loc))


def item_error(exc: ApiError, depth: int) -> ItemError:
    """An article's refusal as a batch item error; `depth`: length of the article's loc."""
    [detail] = exc.detail
    loc = list(detail["loc"])
    inside = loc[depth:]
    return ItemError(
        field=".".join(str(part) for part in inside) or None,
        reason=detail["msg"],
        type=detail["type"],
        loc=loc,
    )


def batch_answer(
    parsed: list[ArticleSubmission | ItemError], accepted: list[Accepted]
) -> BatchAccepted:
    """Merge the refused articles and the outcomes of the accepted ones (in the same order
    as the valid articles of `parsed`) into one item per submitted article."""
    outcomes = iter(accepted)
    items: list[BatchItem] = []
    for index, article in enumerate(parsed):
        if isinstance(article, ItemError):
            items.append(BatchItem(index=index, status="refused", error=article))
        else:
            done = next(outcomes)
            items.append(
                BatchItem(index=index, id=done.id, status=done.status, duplicate=done.duplicate)
            )
    if next(outcomes, None) is not None:
        raise ValueError("more outcomes than valid articles")
    ids = [item.id for item in items if item.id is not None]
    return BatchAccepted(
        errors=len(ids) < len(items),
        accepted=len(ids),
        refused=len(items) - len(ids),
        ids=ids,
        items=items,
    )


# --- query and path parameters --------------------------------------------------------

_PARAM_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")


def check_params(request: Request) -> None:
    """No control character (NUL above all: PostgreSQL refuses it) in any query or path
    parameter; 422 naming the parameter instead of a database error."""
    located = [
        *(("path", name, str(value)) for name, value in request.path_params.items()),
        *(("query", name, value) for name, value in request.query_params.multi_items()),
    ]
    for where, name, value in located:
        found = _PARAM_FORBIDDEN.search(value) or _SURROGATE.search(value)
        if found:
            raise ApiError(
                422,
                [where, name],
                f"contains control character U+{ord(found.group()):04X} at position "
                f"{found.start()}",
                "control_character",
            )
