"""The web page (services/gateway/web/) at the HTTP edge, without Redis or PostgreSQL.

Sign-in, the session cookie, CSRF, the CSP and PUBLIC_READ are checked on the real app
(offline settings). Where a page needs the database, `app.state.gateway` is replaced by a
stand-in answering the service layer's own models; the highlight builder is pure.
"""

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from services.gateway.schemas import (
    Accepted,
    Article,
    ArticleEntity,
    ArticleEntityGroup,
    ArticleInFlight,
    ArticleLanguage,
    ArticleMetadata,
    ArticleSubmission,
    ArticleSummary,
    EntityCount,
    Failure,
    Mention,
    ModelInfo,
    ParagraphLanguageOut,
    Redriven,
    RedrivenAll,
)
from services.gateway.web import render
from services.gateway.web.routes import CSP
from services.gateway.web.session import COOKIE
from tests.unit.offline import API_KEY, offline_settings

TEXT = (
    "MOSCOU, 25 février (Reuters) - Le président Vladimir Poutine a parlé de <script>"
    "alert(1)</script> avec Gazprom.\n\nThe Kremlin said in Moscow that it was open."
)


def _span(text: str, part: str) -> tuple[int, int]:
    start = text.index(part)
    return start, start + len(part)


def stored_article(text: str = TEXT, aid: str = "a1") -> Article:
    entities = []
    for part, label, model_label in (
        ("MOSCOU", "LOC", "LOC"),
        ("Vladimir Poutine", "PER", "PER"),
        ("Gazprom", "ORG", "ORG"),
        ("Moscow", "LOC", "GPE"),
    ):
        start, end = _span(text, part)
        entities.append(
            ArticleEntity(text=part, label=label, model_label=model_label, start=start, end=end)
        )
    second = text.index("The Kremlin")
    moscou, moscow = entities[0], entities[3]
    return Article(
        id=aid,
        status="stored",
        title="Le Kremlin <b>et</b> les terres rares",
        text=text,
        metadata=ArticleMetadata(
            source="Reuters",
            url="https://example.org/a?x=1&y=2",
            external_id=None,
            published_at=None,
            received_at=datetime(2026, 2, 25, 10, 0, tzinfo=UTC),
            stored_at=datetime(2026, 2, 25, 10, 1, tzinfo=UTC),
            content_hash=None,
            duplicate_of=None,
            dateline=None,
            removed=[],
        ),
        language=ArticleLanguage(
            code="fr",
            confidence=0.99,
            detector="lingua",
            paragraphs=[
                ParagraphLanguageOut(index=0, code="fr", confidence=0.99, start=0, end=second - 2),
                ParagraphLanguageOut(
                    index=1, code="en", confidence=0.97, start=second, end=len(text)
                ),
            ],
        ),
        entities=entities,
        entity_groups=[
            ArticleEntityGroup(
                name="Moscou",
                label="LOC",
                count=2,
                salience=0.5,
                first_start=moscou.start,
                mentions=[
                    Mention(start=moscou.start, end=moscou.end),
                    Mention(start=moscow.start, end=moscow.end),
                ],
            )
        ],
        entities_status="ok",
        entities_reason=None,
        model=ModelInfo(name="fr_core_news_md", version="3.8.0"),
        error=None,
    )


class StandInGateway:
    """The Gateway methods the web page calls, answering fixed service-layer models."""

    def __init__(self) -> None:
        self.articles: dict[str, Article | ArticleInFlight] = {"a1": stored_article()}
        self.accepted: list[ArticleSubmission] = []
        self.redriven: list[str] = []

    def list_articles(self, **filters: Any) -> tuple[list[ArticleSummary], str | None]:
        self.filters = filters
        item = ArticleSummary(
            id="a1",
            status="stored",
            title="<i>Poutine</i>",
            source="Reuters",
            language="fr",
            stored_at=datetime(2026, 2, 25, 10, 1, tzinfo=UTC),
            entity_count=1234,
            error=None,
        )
        if filters.get("status") == "failed":
            item = item.model_copy(
                update={"status": "failed", "error": Failure(stage="entities", reason="boom")}
            )
        return [item], None

    def list_entities(self, **_: Any) -> list[EntityCount]:
        return [EntityCount(text="Vladimir Poutine", label="PER", article_count=3)]

    def article(self, aid: str) -> Article | ArticleInFlight | None:
        return self.articles.get(aid)

    def accept(self, submissions: list[ArticleSubmission]) -> list[Accepted]:
        self.accepted.extend(submissions)
        return [Accepted(id=f"new{i}", status="queued") for i, _ in enumerate(submissions)]

    def redrive(self, aid: str) -> Redriven:
        self.redriven.append(aid)
        return Redriven(id=aid, status="queued", stage="entities", redriven=True)

    def redrive_all(self, limit: int) -> RedrivenAll:
        return RedrivenAll(redriven=0, skipped=0, ids=[])


def make_client(base_url: str = "http://testserver", **overrides: Any) -> TestClient:
    # No write rate limit: Redis is unreachable here, and the limiter is the API's own.
    settings = offline_settings(rate_limit_writes_per_minute=0, **overrides)
    app = create_app(settings)
    app.state.gateway = StandInGateway()
    return TestClient(app, base_url=base_url, follow_redirects=False)


@pytest.fixture()
def client() -> Iterator[TestClient]:
    with make_client() as test_client:
        yield test_client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def signed_in(client: TestClient) -> str:
    """Sign in with the unit-test key; the CSRF token of the new session."""
    token = csrf_of(client.get("/web/sign-in").text)
    answer = client.post(
        "/web/sign-in", data={"csrf_token": token, "api_key": API_KEY, "next": "/web/submit"}
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/web/submit").text)


# --- sign-in and the session cookie --------------------------------------------------


def test_sign_in_sets_an_httponly_samesite_strict_cookie_and_never_echoes_the_key(
    client: TestClient,
) -> None:
    token = csrf_of(client.get("/web/sign-in").text)
    answer = client.post(
        "/web/sign-in", data={"csrf_token": token, "api_key": API_KEY, "next": "/web/failed"}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/web/failed"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Path=/web" in cookie
    assert "Secure" not in cookie  # plain HTTP here
    assert API_KEY not in cookie
    # The cookie is signed, not encrypted: the key must not be in it even base64-encoded.
    import base64

    payload = cookie.split("=", 1)[1].split(".", 1)[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert API_KEY.encode() not in decoded
    page = client.get("/web/failed")
    assert page.status_code == 200
    assert API_KEY not in page.text
    assert "Sign out" in page.text


def test_the_cookie_is_secure_over_https() -> None:
    with make_client(base_url="https://testserver") as client:
        answer = client.get("/web/sign-in")
    assert "Secure" in answer.headers["set-cookie"]


def test_a_wrong_key_is_refused_and_not_echoed(client: TestClient) -> None:
    token = csrf_of(client.get("/web/sign-in").text)
    wrong = "not-the-key-<b>"
    answer = client.post("/web/sign-in", data={"csrf_token": token, "api_key": wrong})
    assert answer.status_code == 403
    assert "not valid" in answer.text
    assert wrong not in answer.text and "not-the-key" not in answer.text
    assert client.get("/web/articles").status_code == 303  # still signed out


def test_sign_in_only_returns_to_pages_of_this_site(client: TestClient) -> None:
    token = csrf_of(client.get("/web/sign-in").text)
    answer = client.post(
        "/web/sign-in",
        data={"csrf_token": token, "api_key": API_KEY, "next": "//evil.example/web/x"},
    )
    assert answer.headers["location"] == "/web/articles"


def test_sign_out_ends_the_session(client: TestClient) -> None:
    token = signed_in(client)
    answer = client.post("/web/sign-out", data={"csrf_token": token})
    assert answer.status_code == 303
    assert client.get("/web/articles").status_code == 303


# --- CSRF ------------------------------------------------------------------------------

CHANGES = [
    ("/web/sign-in", {"api_key": API_KEY}),
    ("/web/sign-out", {}),
    ("/web/submit", {"text": "Bonjour tout le monde."}),
    ("/web/articles/a1/retry", {}),
    ("/web/failed/retry", {}),
]


@pytest.mark.parametrize(("path", "data"), CHANGES)
@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_a_change_without_this_sessions_csrf_token_is_refused(
    client: TestClient, path: str, data: dict[str, str], token: str | None
) -> None:
    signed_in(client)
    form = {**data, **({"csrf_token": token} if token else {})}
    answer = client.post(path, data=form)
    assert answer.status_code == 403
    assert "CSRF" in answer.text
    assert answer.headers["content-security-policy"] == CSP
    gateway: StandInGateway = client.app.state.gateway  # type: ignore[attr-defined]
    assert gateway.accepted == [] and gateway.redriven == []


def test_a_token_of_another_session_is_refused(client: TestClient) -> None:
    with make_client() as other:
        foreign = csrf_of(other.get("/web/sign-in").text)
    signed_in(client)
    answer = client.post("/web/submit", data={"csrf_token": foreign, "text": "Bonjour."})
    assert answer.status_code == 403


def test_submit_and_redrive_with_the_token(client: TestClient) -> None:
    token = signed_in(client)
    answer = client.post(
        "/web/submit",
        data={"csrf_token": token, "text": "Bonjour tout le monde.", "source": "AFP"},
        files=[("files", ("b.txt", b"Guten Tag.", "text/plain"))],
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/web/submitted?ids=new0%2Cnew1"
    gateway: StandInGateway = client.app.state.gateway  # type: ignore[attr-defined]
    assert [(s.text, s.source) for s in gateway.accepted] == [
        ("Bonjour tout le monde.", "AFP"),
        ("Guten Tag.", "AFP"),
    ]
    answer = client.post(
        "/web/articles/a1/retry", data={"csrf_token": token, "next": "/web/failed"}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/web/failed"
    assert gateway.redriven == ["a1"]
    assert "Re-driven from the entities stage." in client.get("/web/failed").text


def test_submit_refusals_come_back_in_the_form(client: TestClient) -> None:
    token = signed_in(client)
    answer = client.post(
        "/web/submit", data={"csrf_token": token, "text": "Bonjour.", "url": "ftp://x"}
    )
    assert answer.status_code == 422
    assert "url:" in answer.text
    assert "Bonjour." in answer.text  # what was typed is kept


# --- reading: sign-in or PUBLIC_READ, CSP --------------------------------------------

READ_PAGES = [
    "/web/articles",
    "/web/articles?q=Poutine&label=PER",
    "/web/articles/a1",
    "/web/entities",
    "/web/failed",
]


@pytest.mark.parametrize("path", READ_PAGES)
def test_pages_lead_to_sign_in_without_a_session(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/web/sign-in?next=%2Fweb%2F")


@pytest.mark.parametrize("path", READ_PAGES)
def test_public_read_lets_reads_through_without_sign_in(path: str) -> None:
    with make_client(public_read=True) as client:
        answer = client.get(path)
        assert answer.status_code == 200, answer.text
        assert "Sign in" in answer.text
        # Writing still needs a sign-in.
        assert client.get("/web/submit").status_code == 303


@pytest.mark.parametrize("path", ["/web/sign-in", *READ_PAGES, "/web/submit"])
def test_pages_carry_the_content_security_policy(client: TestClient, path: str) -> None:
    signed_in(client)
    answer = client.get(path)
    assert answer.status_code == 200
    assert answer.headers["content-security-policy"] == CSP
    assert answer.headers["x-content-type-options"] == "nosniff"
    # No inline script or style: everything comes from /web/static.
    assert "<style" not in answer.text and " style=" not in answer.text
    assert re.findall(r"<script[^>]*>", answer.text) == ['<script src="/web/static/web.js" defer>']


def test_root_leads_to_the_articles_and_static_files_are_served(client: TestClient) -> None:
    assert client.get("/").headers["location"] == "/web/articles"
    assert client.get("/web/static/web.css").status_code == 200
    assert client.get("/web/static/web.js").status_code == 200


def test_the_web_page_is_not_in_the_api_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path == "/" or path.startswith("/web/")]


def test_the_article_list_shows_people_formatted_numbers_escaped(client: TestClient) -> None:
    signed_in(client)
    answer = client.get("/web/articles?entity=Vladimir+Poutine&label=PER&q=kremlin")
    assert "1,234" in answer.text
    assert "&lt;i&gt;Poutine&lt;/i&gt;" in answer.text
    assert "Feb 25, 2026" in answer.text
    gateway: StandInGateway = client.app.state.gateway  # type: ignore[attr-defined]
    assert gateway.filters["entity"] == "Vladimir Poutine"
    assert gateway.filters["label"] == "PER"
    assert gateway.filters["q"] == "kremlin"


# --- the article page and its highlights ---------------------------------------------


def test_the_article_page_escapes_text_and_marks_every_entity(client: TestClient) -> None:
    signed_in(client)
    html = client.get("/web/articles/a1").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;et&lt;/b&gt;" in html  # the title too
    marks = re.findall(r'<mark class="ent ent-(\w+)" id="m-\d+-\d+" data-label="(\w+)"', html)
    assert [label for _, label in marks] == ["LOC", "PER", "ORG", "LOC"]
    assert re.search(r"Vladimir Poutine<span class=\"ent-tag\" lang=\"en\">PER</span></mark>", html)
    assert 'title="LOC (place); model label GPE"' in html
    assert 'lang="en"><span class="ent-tag"' not in html
    assert '<p class="para lang-differs" lang="en">' in html  # the English paragraph
    assert 'data-mentions="m-0-6 m-' in html  # the group names its mentions
    assert "fr_core_news_md 3.8.0" in html
    assert "https://example.org/a?x=1&amp;y=2" in html


def test_an_article_in_flight_updates_itself(client: TestClient) -> None:
    gateway: StandInGateway = client.app.state.gateway  # type: ignore[attr-defined]
    gateway.articles["f1"] = ArticleInFlight(id="f1", status="entities")
    signed_in(client)
    html = client.get("/web/articles/f1").text
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in html
    assert 'data-poll="/web/articles/f1/status"' in html
    status = client.get("/web/articles/f1/status")
    assert status.json() == {"id": "f1", "status": "entities", "final": False, "title": None}


def test_a_failed_article_offers_a_redrive(client: TestClient) -> None:
    gateway: StandInGateway = client.app.state.gateway  # type: ignore[attr-defined]
    failed = stored_article().model_copy(
        update={"status": "failed", "error": Failure(stage="entities", reason="too long")}
    )
    gateway.articles["a1"] = failed
    signed_in(client)
    html = client.get("/web/articles/a1").text
    assert "too long" in html
    assert 'action="/web/articles/a1/retry"' in html
    assert 'name="next" value="/web/articles/a1"' in html


def test_an_unknown_article_is_a_404_page(client: TestClient) -> None:
    signed_in(client)
    answer = client.get("/web/articles/nope")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")


def test_blocks_split_the_text_at_the_entities_and_keep_all_of_it() -> None:
    article = stored_article()
    blocks = render.blocks(article)
    assert [block.language for block in blocks] == [None, "en"]
    pieces = [piece for block in blocks for piece in block.pieces]
    marks = [piece for piece in pieces if piece.label]
    assert [(m.text, m.label) for m in marks] == [
        ("MOSCOU", "LOC"),
        ("Vladimir Poutine", "PER"),
        ("Gazprom", "ORG"),
        ("Moscow", "LOC"),
    ]
    assert "".join(piece.text for piece in pieces) == TEXT.replace("\n\n", "")


def test_overlapping_or_out_of_range_entities_are_left_out() -> None:
    article = stored_article().model_copy(update={"language": None})
    extra = [
        ArticleEntity(text="Vladimir", label="PER", model_label="PER", start=0, end=3),
        ArticleEntity(text="x", label="MISC", model_label="MISC", start=5000, end=5001),
    ]
    article.entities.extend(extra)
    marks = [p for block in render.blocks(article) for p in block.pieces if p.label]
    assert len(marks) == 4


def test_groups_link_to_their_mentions() -> None:
    [group] = render.groups(stored_article())
    start, end = _span(TEXT, "Moscow")
    assert group.anchors == ["m-0-6", f"m-{start}-{end}"]
    assert group.first_anchor == "m-0-6"


def test_formatting_for_people() -> None:
    assert render.number(1234567) == "1,234,567"
    assert render.number(0.4567, 2) == "0.46"
    assert render.when(datetime(2026, 2, 25, 10, 1, 2, tzinfo=UTC)).startswith("Feb 25, 2026")
    assert render.when(None) == ""


def test_the_submitted_page_follows_the_new_articles(client: TestClient) -> None:
    gateway: StandInGateway = client.app.state.gateway  # type: ignore[attr-defined]
    gateway.articles["f1"] = ArticleInFlight(id="f1", status="language", title="Neu")
    signed_in(client)
    html = client.get("/web/submitted?ids=a1,f1,gone").text
    assert 'data-poll="/web/articles/f1/status"' in html
    assert 'data-poll="/web/articles/a1/status"' not in html  # already stored
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in html
    assert ">language</span>" in html and ">stored</span>" in html and ">unknown</span>" in html
