"""Body parsing and validation of the gateway, on requests built in memory."""

import asyncio
import json
from collections.abc import Iterator

import pytest
from starlette.requests import Request

from services.gateway.errors import ApiError
from services.gateway.intake import (
    batch_answer,
    looks_like_html,
    parse_batch,
    parse_single,
    read_body,
    validate_article,
)
from services.gateway.schemas import Accepted, ArticleSubmission, ItemError, Limits

LIMITS = Limits(text=100, title=50, url=80, external_id=20)


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
    article = parse_single(request(b"", "text/plain; charset=utf-8"), b"Bonjour", LIMITS)
    assert article.text == "Bonjour"


def test_json_body_with_all_fields() -> None:
    body = (
        b'{"text": "t", "title": "T", "url": "https://x.org/a", "source": "x",'
        b' "published_at": "2025-02-25T10:00:00Z", "external_id": "e1"}'
    )
    article = parse_single(request(body, "application/json"), body, LIMITS)
    assert (article.title, article.external_id) == ("T", "e1")
    assert article.published_at is not None and article.published_at.year == 2025


@pytest.mark.parametrize(
    ("body", "ctype", "expected"),
    [
        (b'{"text": " "}', "application/json", (422, ["body", "text"])),
        (b'{"title": "t"}', "application/json", (422, ["body", "text"])),
        (b'{"text": "t", "extra": 1}', "application/json", (422, ["body", "extra"])),
        (
            b'{"text": "t", "title": "' + b"x" * 51 + b'"}',
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
        parse_single(request(body, ctype), body, LIMITS)
    assert error(exc) == expected


def test_body_over_limit_is_413_before_reading_it_all() -> None:
    big = b"x" * 5000
    with pytest.raises(ApiError) as exc:
        asyncio.run(read_body(request(big, "text/plain", chunk=100), limit=1000))
    assert error(exc) == (413, ["body"])
    assert asyncio.run(read_body(request(b"x" * 1000, "text/plain"), limit=1000)) == b"x" * 1000


def texts(body: bytes) -> list[str]:
    parsed = parse_batch(request(body, "application/json"), body, 10, LIMITS)
    return [a.text if isinstance(a, ArticleSubmission) else "refused" for a in parsed]


def test_batch_accepts_object_or_array_and_keeps_order() -> None:
    assert texts(b'{"articles": [{"text": "a"}, {"text": "b"}]}') == ["a", "b"]
    assert texts(b'[{"text": "c"}]') == ["c"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"articles": []}', (422, ["body", "articles"])),
        (b'{"articles": {"text": "a"}}', (422, ["body", "articles"])),
        (b'{"articles": [{"text": "a"}], "x": 1}', (422, ["body"])),
        (b"[{oops", (422, ["body"])),
        (
            b'{"articles": [' + b",".join([b'{"text": "a"}'] * 11) + b"]}",
            (422, ["body", "articles"]),
        ),
        (b'{"items": []}', (422, ["body"])),
    ],
)
def test_bad_batches(body: bytes, expected: tuple[int, list]) -> None:
    with pytest.raises(ApiError) as exc:
        parse_batch(request(body, "application/json"), body, max_items=10, limits=LIMITS)
    assert error(exc) == expected


def single(body: bytes, ctype: str = "application/json") -> tuple[int, list[object], str]:
    with pytest.raises(ApiError) as exc:
        parse_single(request(body, ctype), body, LIMITS)
    detail = exc.value.detail[0]
    return exc.value.status_code, detail["loc"], detail["type"]  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("body", "ctype", "expected"),
    [
        # Limits: each one its own setting.
        (
            b'{"text": "t", "url": "https://x.org/' + b"a" * 80 + b'"}',
            "application/json",
            (422, ["body", "url"], "too_long"),
        ),
        (
            b'{"text": "t", "external_id": "' + b"e" * 21 + b'"}',
            "application/json",
            (422, ["body", "external_id"], "too_long"),
        ),
        # Control characters: NUL anywhere; none at all in one-line fields.
        (
            b'{"text": "a\\u0000b"}',
            "application/json",
            (422, ["body", "text"], "control_character"),
        ),
        (b"a\x00b", "text/plain", (422, ["body", "text"], "control_character")),
        (
            b'{"text": "a\\u001bb"}',
            "application/json",
            (422, ["body", "text"], "control_character"),
        ),
        (
            b'{"text": "a\\u0085b"}',
            "application/json",
            (422, ["body", "text"], "control_character"),
        ),
        (
            b'{"text": "t", "title": "a\\u0007b"}',
            "application/json",
            (422, ["body", "title"], "control_character"),
        ),
        (
            b'{"text": "t", "title": "a\\n\\u001fb"}',
            "application/json",
            (422, ["body", "title"], "control_character"),
        ),
        (
            b'{"text": "t", "title": "a\\u0000"}',
            "application/json",
            (422, ["body", "title"], "control_character"),
        ),
        (
            b'{"text": "t", "source": "a\\u2028b"}',
            "application/json",
            (422, ["body", "source"], "control_character"),
        ),
        (
            b'{"text": "t", "external_id": "a\\rb"}',
            "application/json",
            (422, ["body", "external_id"], "control_character"),
        ),
        (
            b'{"text": "t", "external_id": "   "}',
            "application/json",
            (422, ["body", "external_id"], "blank"),
        ),
        (
            b'{"text": "t", "external_id": "a\\u200bb"}',
            "application/json",
            (422, ["body", "external_id"], "not_printable"),
        ),
        # Lone surrogates (JSON escapes) are not text.
        (b'{"text": "a\\ud800b"}', "application/json", (422, ["body", "text"], "invalid_unicode")),
        # URLs: absolute http(s) with a host, no whitespace.
        (
            b'{"text": "t", "url": "ftp://x.org/a"}',
            "application/json",
            (422, ["body", "url"], "url_invalid"),
        ),
        (
            b'{"text": "t", "url": "/a/b"}',
            "application/json",
            (422, ["body", "url"], "url_invalid"),
        ),
        (
            b'{"text": "t", "url": "https://"}',
            "application/json",
            (422, ["body", "url"], "url_invalid"),
        ),
        (
            b'{"text": "t", "url": "javascript:alert(1)"}',
            "application/json",
            (422, ["body", "url"], "url_invalid"),
        ),
        (
            b'{"text": "t", "url": "https://x.org/a b"}',
            "application/json",
            (422, ["body", "url"], "url_invalid"),
        ),
        # Wrong shapes and types.
        (b'{"text": 12}', "application/json", (422, ["body", "text"], "string_type")),
        (
            b'{"text": "t", "title": ["a"]}',
            "application/json",
            (422, ["body", "title"], "string_type"),
        ),
        (
            b'{"text": "t", "published_at": "yesterday"}',
            "application/json",
            (422, ["body", "published_at"], "datetime_from_date_parsing"),
        ),
        (
            b'{"text": "t", "format": "pdf"}',
            "application/json",
            (422, ["body", "format"], "literal_error"),
        ),
        (b'"just a string"', "application/json", (422, ["body"], "object_type")),
        (b"[" * 100_000, "application/json", (422, ["body"], "json_invalid")),
        # Binary data: 415 by content type, 422 when sent as text.
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "text/plain", (422, ["body"], "binary")),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "text/plain", (422, ["body"], "binary")),
        (b"PK\x03\x04\x14\x00\x00\x00", "text/plain", (422, ["body"], "binary")),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "application/json", (422, ["body"], "binary")),
        (bytes(range(256)) * 4, "text/plain", (422, ["body"], "binary")),
        ("Bonjour".encode("utf-16"), "text/plain", (422, ["body"], "invalid_encoding")),
        (b"\x89PNG\r\n", "image/png", (415, ["header", "content-type"], "unsupported_media_type")),
        (
            b"\x00\x01",
            "application/octet-stream",
            (415, ["header", "content-type"], "unsupported_media_type"),
        ),
        (
            b"%PDF-1.7",
            "application/pdf",
            (415, ["header", "content-type"], "unsupported_media_type"),
        ),
        (
            b"text=a",
            "application/x-www-form-urlencoded",
            (415, ["header", "content-type"], "unsupported_media_type"),
        ),
    ],
)
def test_input_hardening(body: bytes, ctype: str, expected: tuple[int, list, str]) -> None:
    assert single(body, ctype) == expected


def test_binary_is_named_in_the_message() -> None:
    body = b"\x89PNG\r\n\x1a\n\x00\x00"
    with pytest.raises(ApiError) as exc:
        parse_single(request(body, "text/plain"), body, LIMITS)
    assert "PNG" in exc.value.detail[0]["msg"]
    with pytest.raises(ApiError) as exc:
        parse_single(request(body, "application/octet-stream"), body, LIMITS)
    assert "binary" in exc.value.detail[0]["msg"]


def test_text_keeps_tab_newline_return_and_form_feed() -> None:
    body = b'{"text": "a\\tb\\r\\nc\\fd", "title": "Titre \\u00e9t\\u00e9"}'
    article = parse_single(request(body, "application/json"), body, LIMITS)
    assert article.text == "a\tb\r\nc\fd" and article.format == "text"


def test_valid_optional_fields_are_kept_as_sent() -> None:
    body = b'{"text": "t", "url": "HTTP://Example.org:8080/a?b=1#c", "external_id": "ext 1"}'
    article = parse_single(request(body, "application/json"), body, LIMITS)
    assert article.url == "HTTP://Example.org:8080/a?b=1#c" and article.external_id == "ext 1"


PAGE = b"<!DOCTYPE html><html><head><title>T</title></head><body><p>Bonjour</p></body></html>"


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (PAGE, "text/html; charset=utf-8"),
        (b"Just text, but sent as an HTML page.", "text/html"),
        (PAGE, "text/plain"),
        (b"\n  <html lang='fr'><body>Bonjour</body></html>", "text/plain"),
        (b'{"text": "<!doctype html><p>Bonjour</p>"}', "application/json"),
        (b'{"text": "' + b"<p>Un paragraphe.</p>" * 6 + b'"}', "application/json"),
        (b'{"text": "Bonjour", "format": "html"}', "application/json"),
    ],
)
def test_html_is_marked_for_ingest(body: bytes, ctype: str) -> None:
    limits = Limits(text=1000)
    assert parse_single(request(body, ctype), body, limits).format == "html"


@pytest.mark.parametrize(
    "body",
    [
        b'{"text": "Use <b> for bold, <i> for italics: a <p> is a paragraph."}',
        b'{"text": "' + b"<p>Un paragraphe.</p>" * 6 + b'", "format": "text"}',
        b'{"text": "Le score: 3 < 5 et 7 > 2. Paris <Reuters> a dit..."}',
    ],
)
def test_text_that_is_not_html_stays_text(body: bytes) -> None:
    limits = Limits(text=1000)
    assert parse_single(request(body, "application/json"), body, limits).format == "text"


def test_looks_like_html_needs_density() -> None:
    assert looks_like_html("<p>a</p>" * 5)
    assert not looks_like_html("<p>" + "x" * 5000 + "</p>" + "<br>" * 4)
    assert looks_like_html("<!-- c -->\n<!DOCTYPE HTML PUBLIC '-//W3C//DTD HTML 4.01//EN'>")


def test_title_line_breaks_and_whitespace_runs_become_single_spaces() -> None:
    body = (
        b'{"text": "t", "title": "  Le Kremlin\\r\\n  d\\u00e9ment\\t\\tles\\u2028rumeurs'
        b'\\u0085\\u00a0ici\\n"}'
    )
    article = parse_single(request(body, "application/json"), body, LIMITS)
    # No-break space kept: typography, not a line break.
    assert article.title == "Le Kremlin dément les rumeurs \u00a0ici"


@pytest.mark.parametrize("title", ["", "   ", "\n\r\n\t"])
def test_blank_title_is_no_title(title: str) -> None:
    article = validate_article({"text": "t", "title": title}, ["body"], LIMITS)
    assert article.title is None


def test_title_ends_keep_other_control_characters_refused() -> None:
    # str.strip() would silently eat U+001F (Python counts it as whitespace): refused instead.
    with pytest.raises(ApiError) as exc:
        validate_article({"text": "t", "title": "a\x1f"}, ["body"], LIMITS)
    assert error(exc) == (422, ["body", "title"])
    assert exc.value.detail[0]["type"] == "control_character"


def batch(body: bytes, max_items: int = 10) -> list[ArticleSubmission | ItemError]:
    return parse_batch(request(body, "application/json"), body, max_items, LIMITS)


def test_a_bad_article_refuses_only_itself() -> None:
    body = json.dumps(
        {
            "articles": [
                {"text": "a"},
                {"text": "b", "url": "nope"},
                {"text": "c", "title": "Ligne\nsuivante"},
                {"text": ""},
                {"text": "d", "title": "bip\x07"},
                {"text": "e", "published_at": 12.5e40},
                "just a string",
                {"text": "f", "expected_languages": ["fr", 3]},
                {"text": "g", "colour": "red"},
            ]
        }
    ).encode()
    parsed = batch(body)
    assert len(parsed) == 9
    assert [p.text for p in parsed if isinstance(p, ArticleSubmission)] == ["a", "c"]
    assert parsed[2].title == "Ligne suivante"  # type: ignore[union-attr]
    refused = {i: p for i, p in enumerate(parsed) if isinstance(p, ItemError)}
    assert {i: (e.field, e.type) for i, e in refused.items()} == {
        1: ("url", "url_invalid"),
        3: ("text", "blank"),
        4: ("title", "control_character"),
        5: ("published_at", refused[5].type),
        6: (None, "object_type"),
        7: ("expected_languages.1", "string_type"),
        8: ("colour", "extra_forbidden"),
    }
    assert refused[1].loc == ["body", "articles", 1, "url"]
    assert refused[6].loc == ["body", "articles", 6]
    assert "U+0007" in refused[4].reason
    assert all(e.reason for e in refused.values())


def test_batch_as_a_bare_array_locates_items_without_articles() -> None:
    [ok, bad] = batch(b'[{"text": "fine"}, {"text": 3}]')
    assert isinstance(ok, ArticleSubmission)
    assert isinstance(bad, ItemError)
    assert (bad.field, bad.type, bad.loc) == ("text", "string_type", ["body", 1, "text"])


def test_batch_of_only_bad_articles_is_still_parsed_item_by_item() -> None:
    parsed = batch(b'{"articles": [{"text": ""}, {"title": "x"}]}')
    assert [(p.field, p.type) for p in parsed] == [  # type: ignore[union-attr]
        ("text", "blank"),
        ("text", "missing"),
    ]


def test_batch_that_is_not_json_is_refused_whole() -> None:
    body = b'{"articles": [{"text": "a"}, {"text": "b", "url": "nope"}]}'
    with pytest.raises(ApiError) as exc:
        parse_batch(request(body, "text/plain"), body, 10, LIMITS)
    assert error(exc) == (415, ["header", "content-type"])


def test_batch_answer_keeps_order_and_counts() -> None:
    parsed = batch(b'[{"text": "a"}, {"text": ""}, {"text": "b"}, {"text": "c", "x": 1}]')
    accepted = [
        Accepted(id="id-a", status="queued"),
        Accepted(id="id-b", status="stored", duplicate=True),
    ]
    answer = batch_answer(parsed, accepted)
    assert (answer.errors, answer.accepted, answer.refused) == (True, 2, 2)
    assert answer.ids == ["id-a", "id-b"]
    assert [(i.index, i.id, i.status, i.duplicate) for i in answer.items] == [
        (0, "id-a", "queued", False),
        (1, None, "refused", False),
        (2, "id-b", "stored", True),
        (3, None, "refused", False),
    ]
    assert answer.items[0].error is None
    assert answer.items[1].error is not None and answer.items[1].error.field == "text"
    assert answer.items[3].error is not None and answer.items[3].error.field == "x"


def test_batch_answer_without_errors() -> None:
    parsed = batch(b'[{"text": "a"}]')
    answer = batch_answer(parsed, [Accepted(id="id-a", status="queued")])
    assert (answer.errors, answer.accepted, answer.refused, answer.ids) == (False, 1, 0, ["id-a"])


def test_batch_answer_refuses_mismatched_outcomes() -> None:
    parsed = batch(b'[{"text": "a"}]')
    with pytest.raises(ValueError, match="more outcomes"):
        batch_answer(parsed, [Accepted(id="1", status="queued"), Accepted(id="2", status="q")])
    with pytest.raises(StopIteration):
        batch_answer(parsed, [])
