"""Body parsing and validation of the gateway, on requests built in memory."""

import asyncio
from collections.abc import Iterator

import pytest
from starlette.requests import Request

from services.gateway.errors import ApiError
from services.gateway.intake import parse_batch, parse_single, read_body


def request(body: bytes, content_type: str | None, chunk: int = 1 << 16) -> Request:
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type is not None:
        headers.append((b"content-type", content_type.encode()))
    chunks: Iterator[bytes] = iter([body[i : i + chunk] for i in range(0, len(body), chunk)])

    async def receive() -> dict[str, object]:
        part = next(chunks, b"")
        return {"type": "http.request", "body": part, "more_body": bool(part)}

    scope = {"type": "http", "method": "POST", "path": "/articles", "headers": headers}
    return Request(scope, receive)


def error(exc: pytest.ExceptionInfo[ApiError]) -> tuple[int, list[object]]:
    return exc.value.status_code, exc.value.detail[0]["loc"]  # type: ignore[return-value]


def test_plain_text_body_becomes_article() -> None:
    article = parse_single(request(b"", "text/plain; charset=utf-8"), b"Bonjour", 100)
    assert article.text == "Bonjour"


def test_json_body_with_all_fields() -> None:
    body = (
        b'{"text": "t", "title": "T", "url": "https://x.org/a", "source": "x",'
        b' "published_at": "2025-02-25T10:00:00Z", "external_id": "e1"}'
    )
    article = parse_single(request(body, "application/json"), body, 100)
    assert (article.title, article.external_id) == ("T", "e1")
    assert article.published_at is not None and article.published_at.year == 2025


@pytest.mark.parametrize(
    ("body", "ctype", "expected"),
    [
        (b'{"text": " "}', "application/json", (422, ["body", "text"])),
        (b'{"title": "t"}', "application/json", (422, ["body", "text"])),
        (b'{"text": "t", "extra": 1}', "application/json", (422, ["body", "extra"])),
        (
            b'{"text": "t", "title": "' + b"x" * 1001 + b'"}',
            "application/json",
            (422, ["body", "title"]),
        ),
        (b'["text"]', "application/json", (422, ["body"])),
        (b"{oops", "application/json", (422, ["body"])),
        (b"\xc3\x28", "text/plain", (422, ["body"])),
        (b"abc", "application/xml", (415, ["header", "content-type"])),
        (b"abc", None, (415, ["header", "content-type"])),
        (b"x" * 101, "text/plain", (422, ["body", "text"])),
    ],
)
def test_bad_single_bodies(body: bytes, ctype: str | None, expected: tuple[int, list]) -> None:
    with pytest.raises(ApiError) as exc:
        parse_single(request(body, ctype), body, max_text_chars=100)
    assert error(exc) == expected


def test_body_over_limit_is_413_before_reading_it_all() -> None:
    big = b"x" * 5000
    with pytest.raises(ApiError) as exc:
        asyncio.run(read_body(request(big, "text/plain", chunk=100), limit=1000))
    assert error(exc) == (413, ["body"])
    assert asyncio.run(read_body(request(b"x" * 1000, "text/plain"), limit=1000)) == b"x" * 1000


def test_batch_accepts_object_or_array_and_keeps_order() -> None:
    body = b'{"articles": [{"text": "a"}, {"text": "b"}]}'
    assert [a.text for a in parse_batch(request(body, "application/json"), body, 10, 100)] == [
        "a",
        "b",
    ]
    body = b'[{"text": "c"}]'
    assert [a.text for a in parse_batch(request(body, "application/json"), body, 10, 100)] == ["c"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"articles": [{"text": "a"}, {"text": ""}]}', (422, ["body", "articles", 1, "text"])),
        (b'{"articles": []}', (422, ["body", "articles"])),
        (
            b'{"articles": [' + b",".join([b'{"text": "a"}'] * 11) + b"]}",
            (422, ["body", "articles"]),
        ),
        (b'{"items": []}', (422, ["body"])),
    ],
)
def test_bad_batches(body: bytes, expected: tuple[int, list]) -> None:
    with pytest.raises(ApiError) as exc:
        parse_batch(request(body, "application/json"), body, max_items=10, max_text_chars=100)
    assert error(exc) == expected
