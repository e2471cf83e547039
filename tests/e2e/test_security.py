"""The live gateway's door: API keys, and every bad input of issue #4 refused with its 4xx.

Each request is printed as the equivalent curl command (the key as $NEWSFLOW_API_KEY,
never its value) with the answer's status and body, for the closing note.
"""

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest

from shared.ids import article_id
from tests.e2e.conftest import API_KEY

pytestmark = pytest.mark.e2e

KEY = {"X-API-Key": API_KEY}
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
PAGE = """<!DOCTYPE html><html lang="fr"><head><title>Terres rares : accord en vue</title>
<script>var ads = "Alpha-News";</script></head><body>
<nav><a href="/">Accueil</a> <a href="/monde">Monde</a></nav>
<article><h1>Terres rares : accord en vue</h1>
<p>KIEV, 26 février (Reuters) - L'Ukraine et les États-Unis se sont entendus sur les
termes d'un accord portant sur l'exploitation des terres rares ukrainiennes.</p>
<p>Volodymyr Zelensky doit se rendre à Washington vendredi pour le signer avec
Donald Trump, a indiqué un responsable à Kiev.</p></article>
<footer>© 2025 Alpha-News. Tous droits réservés.</footer></body></html>"""


def curl(method: str, path: str, headers: dict[str, str], body: bytes | None) -> str:
    parts = ["curl", "-s", "-X", method, f"$GW{path}"]
    for name, value in headers.items():
        shown = value.replace(API_KEY, "$NEWSFLOW_API_KEY")
        parts += ["-H", f'"{name}: {shown}"' if "$" in shown else shlex.quote(f"{name}: {value}")]
    if body is not None:
        printable = all(32 <= b < 127 for b in body) and len(body) <= 300
        if printable:
            parts += ["-d", shlex.quote(body.decode())]
        else:
            parts += ["--data-binary", f"@<{len(body)} bytes: {body[:24]!r}…>"]
    return " ".join(parts)


def call(
    api: httpx.Client, method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> httpx.Response:
    """The request without the client's default key: each case sends exactly `headers`."""
    request = api.build_request(method, path, content=body, headers=headers)
    if "X-API-Key" not in headers:
        del request.headers["X-API-Key"]
    answer = api.send(request)
    shown = answer.text if len(answer.text) <= 400 else answer.text[:400] + "…"
    print(f"\n$ {curl(method, path, headers, body)}\n→ {answer.status_code} {shown}")
    return answer


def as_json(data: Any) -> bytes:
    return json.dumps(data).encode()


JSON = {**KEY, "Content-Type": "application/json"}
TEXT = {**KEY, "Content-Type": "text/plain; charset=utf-8"}


@dataclass
class Bad:
    name: str
    status: int
    loc: list[str | int]
    body: bytes
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))
    path: str = "/articles"
    # The id the article would have had: must stay unknown (it never entered the pipeline).
    would_be: str | None = None


def bad_json(name: str, data: dict[str, Any], loc: list[str | int]) -> Bad:
    text = data.get("text") if isinstance(data.get("text"), str) else ""
    ext = data.get("external_id") if isinstance(data.get("external_id"), str) else None
    would_be = article_id(text, ext) if text.strip() or (ext and ext.strip()) else None
    return Bad(name, 422, loc, as_json(data), would_be=would_be)


BAD = [
    # Limits (MAX_BODY_BYTES, MAX_BATCH_SIZE, MAX_TEXT_CHARS, MAX_TITLE_CHARS, ...)
    Bad("body over MAX_BODY_BYTES", 413, ["body"], b"x" * 1_000_001, TEXT),
    Bad(
        "batch over MAX_BATCH_SIZE",
        422,
        ["body", "articles"],
        as_json({"articles": [{"text": f"a{i}"} for i in range(1001)]}),
        path="/articles/batch",
    ),
    bad_json("text over MAX_TEXT_CHARS", {"text": "x" * 500_001}, ["body", "text"]),
    bad_json(
        "title over MAX_TITLE_CHARS", {"text": "t e1", "title": "x" * 1001}, ["body", "title"]
    ),
    bad_json(
        "external_id over MAX_EXTERNAL_ID_CHARS",
        {"text": "t", "external_id": "e" * 257},
        ["body", "external_id"],
    ),
    bad_json(
        "url over MAX_URL_CHARS",
        {"text": "t", "url": "https://example.org/" + "a" * 2048},
        ["body", "url"],
    ),
    # Encodings, control characters, binary data
    Bad("invalid UTF-8", 422, ["body"], b"Caf\xe9 cr\xe8me", TEXT),
    bad_json(
        "NUL in text",
        {"text": "Bonjour\u0000 le monde", "external_id": "sec-nul"},
        ["body", "text"],
    ),
    bad_json(
        "escape char in text",
        {"text": "Bonjour \u001b[31m", "external_id": "sec-esc"},
        ["body", "text"],
    ),
    bad_json(
        "bell in title",  # a line break is normalised to a space; other controls refused
        {"text": "t", "title": "a\u0007b", "external_id": "sec-t"},
        ["body", "title"],
    ),
    bad_json(
        "tab in source", {"text": "t", "source": "a\tb", "external_id": "sec-s"}, ["body", "source"]
    ),
    Bad(
        "NUL in a text/plain body",
        422,
        ["body", "text"],
        b"Bonjour\x00 le monde",
        TEXT,
        would_be=article_id("Bonjour\x00 le monde"),
    ),
    bad_json(
        "lone surrogate", {"text": "Bonjour \ud800", "external_id": "sec-sur"}, ["body", "text"]
    ),
    Bad("PNG sent as text/plain", 422, ["body"], PNG, TEXT),
    Bad("PDF sent as text/plain", 422, ["body"], PDF, TEXT),
    Bad(
        "PNG as image/png",
        415,
        ["header", "content-type"],
        PNG,
        {**KEY, "Content-Type": "image/png"},
    ),
    Bad(
        "PDF as application/octet-stream",
        415,
        ["header", "content-type"],
        PDF,
        {**KEY, "Content-Type": "application/octet-stream"},
    ),
    Bad("no content type", 415, ["header", "content-type"], b"Bonjour", dict(KEY)),
    # JSON of the wrong shape or types, extra fields
    Bad("invalid JSON", 422, ["body"], b'{"text": "Bonjour",}'),
    Bad("JSON array instead of object", 422, ["body"], b'["Bonjour"]'),
    bad_json("text of the wrong type", {"text": 42, "external_id": "sec-type"}, ["body", "text"]),
    bad_json("missing text", {"title": "Titre", "external_id": "sec-missing"}, ["body", "text"]),
    bad_json("blank text", {"text": "  \n "}, ["body", "text"]),
    bad_json(
        "unknown field", {"text": "t", "external_id": "sec-x", "author": "Me"}, ["body", "author"]
    ),
    bad_json(
        "bad published_at",
        {"text": "t", "external_id": "sec-d", "published_at": "hier"},
        ["body", "published_at"],
    ),
    # A bad article of a batch refuses only itself (tests/e2e/test_bulk_import.py);
    # a batch that is not a list is refused whole.
    Bad(
        "batch that is not a list",
        422,
        ["body", "articles"],
        as_json({"articles": {"text": "a"}}),
        path="/articles/batch",
    ),
    # external_id and url malformed
    bad_json(
        "whitespace-only external_id", {"text": "t", "external_id": "   "}, ["body", "external_id"]
    ),
    bad_json(
        "non-printable external_id",
        {"text": "t", "external_id": "a\u200bb"},
        ["body", "external_id"],
    ),
    bad_json(
        "relative url", {"text": "t", "external_id": "sec-u1", "url": "/monde/a"}, ["body", "url"]
    ),
    bad_json(
        "ftp url",
        {"text": "t", "external_id": "sec-u2", "url": "ftp://example.org/a"},
        ["body", "url"],
    ),
    bad_json(
        "javascript url",
        {"text": "t", "external_id": "sec-u3", "url": "javascript:alert(1)"},
        ["body", "url"],
    ),
    bad_json(
        "url without host",
        {"text": "t", "external_id": "sec-u4", "url": "https://"},
        ["body", "url"],
    ),
    bad_json(
        "url with spaces",
        {"text": "t", "external_id": "sec-u5", "url": "https://example.org/a b"},
        ["body", "url"],
    ),
]


@pytest.mark.parametrize("case", BAD, ids=[case.name for case in BAD])
def test_bad_input_is_refused_naming_the_problem(api: httpx.Client, case: Bad) -> None:
    answer = call(api, "POST", case.path, case.headers, case.body)
    assert answer.status_code == case.status, answer.text
    [problem] = answer.json()["detail"]
    assert problem["loc"] == case.loc and problem["msg"] and problem["type"]
    if case.would_be:  # never accepted: unknown to the gateway, Redis and PostgreSQL
        assert api.get(f"/articles/{case.would_be}").status_code == 404


def test_writes_need_a_valid_key(api: httpx.Client) -> None:
    body = as_json({"text": "Un article sans clé.", "external_id": "sec-nokey"})
    ctype = {"Content-Type": "application/json"}
    missing = call(api, "POST", "/articles", ctype, body)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = call(api, "POST", "/articles", {**ctype, "X-API-Key": "not-the-key"}, body)
    assert wrong.status_code == 403
    bearer = call(api, "POST", "/articles", {**ctype, "Authorization": "Bearer not-the-key"}, body)
    assert bearer.status_code == 403
    assert call(api, "POST", "/articles/retry-failed", {}).status_code == 401
    assert call(api, "POST", "/articles/0/retry", {"X-API-Key": "nope"}).status_code == 403
    assert api.get(f"/articles/{article_id('', 'sec-nokey')}").status_code == 404
    good = call(api, "POST", "/articles", {**ctype, "Authorization": f"Bearer {API_KEY}"}, body)
    assert good.status_code in (200, 202), good.text


def test_reads_need_a_key_but_health_does_not(api: httpx.Client) -> None:
    for path in ("/articles", "/entities", "/articles/0123"):
        assert call(api, "GET", path, {}).status_code == 401
        assert call(api, "GET", path, {"X-API-Key": "wrong"}).status_code == 403
    assert call(api, "GET", "/articles?limit=1", KEY).status_code == 200
    for path in ("/health", "/ready", "/openapi.json"):
        assert call(api, "GET", path, {}).status_code == 200


def test_html_is_stored_as_its_text(
    api: httpx.Client,
    wait_final: Callable[..., dict[str, dict[str, Any]]],
    pg: psycopg.Connection[Any],
) -> None:
    page = call(api, "POST", "/articles", {**KEY, "Content-Type": "text/html"}, PAGE.encode())
    assert page.status_code == 202, page.text
    in_json = as_json({"text": PAGE.replace("26 février", "27 février"), "external_id": "sec-html"})
    inline = call(api, "POST", "/articles", JSON, in_json)
    assert inline.status_code == 202, inline.text
    ids = [page.json()["id"], inline.json()["id"]]
    final = wait_final(ids)
    for aid in ids:
        article = final[aid]
        assert article["status"] == "stored", article.get("error")
        assert article["title"] == "Terres rares : accord en vue"
        assert article["text"].startswith("KIEV, 2")
        assert "<" not in article["text"] and "Alpha-News" not in article["text"]
        assert article["language"]["code"] == "fr"
        raw = pg.execute("SELECT raw_text FROM articles WHERE id = %s", (aid,)).fetchone()
        assert raw is not None and "<" not in raw[0], "the raw HTML is not stored"
        print(f"\nHTML {aid}: stored text {article['text'][:80]!r}…, raw_text without markup")
