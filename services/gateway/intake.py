"""Turning an HTTP body into validated articles: size, content type, shape, fields."""

import json
from typing import Any

from fastapi import Request
from pydantic import ValidationError

from services.gateway.errors import ApiError
from services.gateway.schemas import ArticleSubmission


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


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


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


def validate_article(data: Any, loc: list[str | int], max_text_chars: int) -> ArticleSubmission:
    if not isinstance(data, dict):
        raise ApiError(422, loc, "an article must be a JSON object", "object_type")
    try:
        article = ArticleSubmission.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field_loc = [*loc, *first["loc"]]
        raise ApiError(422, field_loc, first["msg"], first["type"]) from exc
    if len(article.text) > max_text_chars:
        raise ApiError(
            422,
            [*loc, "text"],
            f"text has {len(article.text)} characters; the limit is {max_text_chars}",
            "too_long",
        )
    return article


def parse_single(request: Request, body: bytes, max_text_chars: int) -> ArticleSubmission:
    kind = media_type(request)
    if kind == "application/json":
        return validate_article(parse_json(body), ["body"], max_text_chars)
    if kind == "text/plain":
        return validate_article({"text": decode_utf8(body)}, ["body"], max_text_chars)
    raise ApiError(
        415,
        ["header", "content-type"],
        f"unsupported content type {kind or '(none)'!r}; send application/json or text/plain",
        "unsupported_media_type",
    )


def parse_batch(
    request: Request, body: bytes, max_items: int, max_text_chars: int
) -> list[ArticleSubmission]:
    kind = media_type(request)
    if kind != "application/json":
        raise ApiError(
            415,
            ["header", "content-type"],
            f"unsupported content type {kind or '(none)'!r}; a batch is application/json",
            "unsupported_media_type",
        )
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
    return [validate_article(item, [*loc, i], max_text_chars) for i, item in enumerate(data)]
