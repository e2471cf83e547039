"""Gateway read queries against a real PostgreSQL, on data written by the storage repository."""

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import InternalError
from sqlalchemy.orm import Session, sessionmaker

from services.gateway import queries
from services.storage.repository import store_failure, upsert_article
from shared.db.session import make_engine, make_session_factory
from tests.integration.conftest import store
from tests.integration.test_storage_repository import (
    BOILERPLATE,
    KREMLIN_ENTITIES,
    KREMLIN_TITLE,
    MOSCOW_DATELINE,
    make_envelope,
)

pytestmark = pytest.mark.integration

# A small corpus: French articles on two stories, one English, one of undecided language.
CORPUS: dict[str, dict[str, Any]] = {
    "fr-kremlin": {"dateline": MOSCOW_DATELINE},
    "fr-paris": {
        "title": "Paris accueille un sommet sur l'intelligence artificielle",
        "paragraphs": [
            "PARIS, 10 février (AFP) - Emmanuel Macron a ouvert lundi à Paris un sommet "
            "consacré à l'intelligence artificielle.",
            "Les dirigeants de Google et de Mistral AI sont attendus au Grand Palais.",
        ],
        "entities": [
            ("PARIS", "LOC", "LOC"),
            ("AFP", "ORG", "ORG"),
            ("Emmanuel Macron", "PER", "PER"),
            ("Paris", "LOC", "LOC"),
            ("Google", "ORG", "ORG"),
            ("Mistral AI", "ORG", "ORG"),
            ("Grand Palais", "LOC", "LOC"),
        ],
    },
    "fr-mines": {
        "title": "Les mines de lithium relancées dans l'Allier",
        "paragraphs": [
            "Le groupe Imerys veut extraire du lithium de la terre de l'Allier d'ici 2028.",
            "Des habitants de Paris et d'Échassières s'inquiètent pour l'eau.",
        ],
        "entities": [
            ("Imerys", "ORG", "ORG"),
            ("Allier", "LOC", "LOC"),
            ("Paris", "PER", "PER"),  # a (wrong) PER reading of the same text
            ("Échassières", "LOC", "LOC"),
        ],
    },
    "en-trump": {
        "title": "Trump says rare earth deal with Ukraine is close",
        "paragraphs": [
            "WASHINGTON (Reuters) - President Donald Trump said on Tuesday that a deal on "
            "rare earth minerals was close.",
        ],
        "entities": [
            ("WASHINGTON", "LOC", "GPE"),
            ("Reuters", "ORG", "ORG"),
            ("Donald Trump", "PER", "PERSON"),
            ("Ukraine", "LOC", "GPE"),
        ],
        "language": "en",
    },
    "und-short": {
        "title": None,
        "paragraphs": ["Kremlin terres 2025."],
        "entities": [],
        "language": "und",
    },
}
STORED_IDS = list(CORPUS)


@pytest.fixture()
def corpus(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    # One transaction per article: distinct stored_at, in CORPUS order.
    for article_id, spec in CORPUS.items():
        store(sessions, make_envelope(article_id, **spec))
    failed = make_envelope("failed-1", title="Article illisible").to_message()
    with sessions.begin() as session:
        store_failure(session, "failed-1", "ingest", "ValueError: empty text", failed, attempts=3)
    return sessions


def list_ids(sessions: sessionmaker[Session], **filters: Any) -> list[str]:
    with sessions() as session:
        items, _ = queries.list_articles(session, limit=100, **filters)
    return [item.id for item in items]


# --- get_article ----------------------------------------------------------------------


def test_get_article_shape(corpus: sessionmaker[Session]) -> None:
    with corpus() as session:
        found = queries.get_article(session, "fr-kremlin")
    assert found is not None
    # The response model's JSON: the shape clients have always read.
    article = found.model_dump(mode="json")
    assert json.loads(found.model_dump_json()) == article

    assert set(article) == {
        "id", "status", "title", "text", "metadata", "language", "entities",
        "entity_groups", "entities_status", "entities_reason", "model", "error",
    }  # fmt: skip
    assert article["id"] == "fr-kremlin"
    assert article["status"] == "stored"
    assert article["title"] == KREMLIN_TITLE
    assert article["text"].startswith("MOSCOU, 25 février (Reuters)")

    meta = article["metadata"]
    assert meta["source"] == "Alpha-News.org"
    assert meta["url"] == "https://alpha-news.org/fr-kremlin"
    assert meta["external_id"] is None
    assert meta["published_at"] == "2025-02-25T08:00:00+00:00"
    assert meta["received_at"] == "2025-02-25T09:30:00+00:00"
    assert datetime.fromisoformat(meta["stored_at"]).tzinfo is not None
    assert len(meta["content_hash"]) == 64
    assert meta["dateline"] == {"place": "MOSCOU", "date": "25 février", "agency": "Reuters"}
    assert meta["removed"] == [
        {"start": 0, "end": len(BOILERPLATE), "text": BOILERPLATE, "reason": "site_banner"}
    ]

    lang = article["language"]
    assert (lang["code"], lang["confidence"], lang["detector"]) == ("fr", 0.97, "langdetect-1.0.9")
    assert [(p["index"], p["code"]) for p in lang["paragraphs"]] == [
        (0, "fr"),
        (1, "fr"),
        (2, "fr"),
    ]
    first = lang["paragraphs"][0]
    assert set(first) == {"index", "code", "confidence", "start", "end"}
    assert article["text"][first["start"] : first["end"]].endswith("conclure des accords.")

    assert [(e["text"], e["label"]) for e in article["entities"]] == [
        (t, label) for t, label, _ in KREMLIN_ENTITIES
    ]
    for entity in article["entities"]:
        assert set(entity) == {"text", "label", "model_label", "start", "end"}
        assert article["text"][entity["start"] : entity["end"]] == entity["text"]
    groups = article["entity_groups"]
    assert [(g["name"], g["label"], g["count"]) for g in groups] == [
        (t, label, 1) for t, label, _ in KREMLIN_ENTITIES
    ]
    assert set(groups[0]) == {"name", "label", "count", "salience", "first_start", "mentions"}
    for group in groups:
        for mention in group["mentions"]:
            assert article["text"][mention["start"] : mention["end"]] == group["name"]
    assert article["entities_status"] == "extracted"
    assert article["entities_reason"] is None
    assert article["model"] == {"name": "fr_core_news_md", "version": "3.8.0"}
    assert article["error"] is None


def test_get_failed_article(corpus: sessionmaker[Session]) -> None:
    with corpus() as session:
        found = queries.get_article(session, "failed-1")
    assert found is not None
    article = found.model_dump(mode="json")
    assert article["status"] == "failed"
    error = article["error"]
    assert (error["stage"], error["reason"]) == ("ingest", "ValueError: empty text")
    assert error["attempts"] == 3
    assert error["last_error_at"] is not None
    assert article["title"] == "Article illisible"
    assert article["text"] is None
    assert article["language"] is None
    assert article["entities"] == []
    assert article["entity_groups"] == []
    assert article["model"] is None
    assert article["metadata"]["dateline"] is None
    assert article["metadata"]["removed"] == []


def test_get_unknown_article(corpus: sessionmaker[Session]) -> None:
    with corpus() as session:
        assert queries.get_article(session, "nope") is None
        assert queries.count_article_rows(session, "nope") == 0
        assert queries.count_article_rows(session, "fr-paris") == 1


def test_get_article_sees_later_writes_in_the_same_session(sessions: sessionmaker[Session]) -> None:
    store(sessions, make_envelope("a1"))
    with sessions() as reader:
        assert queries.get_article(reader, "a1").title == KREMLIN_TITLE  # type: ignore[union-attr]
        reader.rollback()
        store(sessions, make_envelope("a1", title="Titre corrigé"))
        assert queries.get_article(reader, "a1").title == "Titre corrigé"  # type: ignore[union-attr]


# --- list_articles --------------------------------------------------------------------


def test_list_all_newest_first_with_summaries(corpus: sessionmaker[Session]) -> None:
    with corpus() as session:
        summaries, next_cursor = queries.list_articles(session)
    items = [summary.model_dump(mode="json") for summary in summaries]
    assert next_cursor is None
    assert [i["id"] for i in items] == ["failed-1", *reversed(STORED_IDS)]
    by_id = {i["id"]: i for i in items}
    assert by_id["fr-paris"] == {
        "id": "fr-paris",
        "status": "stored",
        "title": CORPUS["fr-paris"]["title"],
        "language": "fr",
        "source": "Alpha-News.org",  # every corpus article's (make_envelope's default)
        "stored_at": by_id["fr-paris"]["stored_at"],
        "entity_count": 7,
        "error": None,
    }
    assert by_id["fr-kremlin"]["entity_count"] == len(KREMLIN_ENTITIES)
    assert by_id["und-short"]["entity_count"] == 0
    assert by_id["failed-1"]["language"] is None
    assert by_id["failed-1"]["error"]["stage"] == "ingest"
    assert by_id["failed-1"]["error"]["attempts"] == 3
    stamps = [datetime.fromisoformat(i["stored_at"]) for i in items]
    assert stamps == sorted(stamps, reverse=True)


def test_filter_by_language_and_status(corpus: sessionmaker[Session]) -> None:
    assert list_ids(corpus, language="fr") == ["fr-mines", "fr-paris", "fr-kremlin"]
    assert list_ids(corpus, language="en") == ["en-trump"]
    assert list_ids(corpus, language="de") == []
    assert list_ids(corpus, status="failed") == ["failed-1"]
    assert list_ids(corpus, status="stored") == list(reversed(STORED_IDS))
    assert list_ids(corpus, status="stored", language="und") == ["und-short"]


def test_filter_by_entity_is_case_insensitive_and_exact(corpus: sessionmaker[Session]) -> None:
    assert list_ids(corpus, entity="paris") == ["fr-mines", "fr-paris"]
    assert list_ids(corpus, entity="PARIS") == ["fr-mines", "fr-paris"]
    assert list_ids(corpus, entity="donald trump") == ["en-trump", "fr-kremlin"]
    assert list_ids(corpus, entity="Trump") == []  # exact, not a substring
    assert list_ids(corpus, entity="échassières") == ["fr-mines"]
    assert list_ids(corpus, entity="%") == []


def test_filter_by_label_and_entity_on_the_same_row(corpus: sessionmaker[Session]) -> None:
    assert list_ids(corpus, label="PER") == ["en-trump", "fr-mines", "fr-paris", "fr-kremlin"]
    assert list_ids(corpus, label="MISC") == []
    assert list_ids(corpus, entity="paris", label="LOC") == ["fr-paris"]
    assert list_ids(corpus, entity="paris", label="PER") == ["fr-mines"]
    # Imerys (ORG) and a PER both occur in fr-mines, but not as one entity.
    assert list_ids(corpus, entity="imerys", label="PER") == []


def test_full_text_search_in_french_uses_stemming(corpus: sessionmaker[Session]) -> None:
    # "terre" finds "terres" (fr-kremlin) and "terre" (fr-mines) through the French stemmer.
    assert list_ids(corpus, q="terre") == ["fr-mines", "fr-kremlin"]
    assert list_ids(corpus, q="terres rares") == ["fr-kremlin"]
    assert list_ids(corpus, q='"terres rares"') == ["fr-kremlin"]
    assert list_ids(corpus, q="Kremlin -Trump") == ["und-short"]
    assert list_ids(corpus, q="intelligence artificielle") == ["fr-paris"]
    assert list_ids(corpus, q="relancée") == ["fr-mines"]  # title words are searchable


def test_full_text_search_in_other_languages(corpus: sessionmaker[Session]) -> None:
    assert list_ids(corpus, q="minerals") == ["en-trump"]  # English stemmer: mineral
    assert list_ids(corpus, q="mineral") == ["en-trump"]
    # Undetected language: indexed with 'simple', so the literal word matches.
    assert list_ids(corpus, q="terres", language="und") == ["und-short"]
    assert list_ids(corpus, q="terre", language="und") == []  # no stemming there
    assert list_ids(corpus, q="terre", language="fr") == ["fr-mines", "fr-kremlin"]
    assert list_ids(corpus, q="terre", language="en") == []


def test_full_text_search_edge_cases(corpus: sessionmaker[Session]) -> None:
    assert list_ids(corpus, q="   ") == list_ids(corpus)  # blank: no filter
    assert list_ids(corpus, q="la de du") == []  # French stop words only: an empty query
    assert list_ids(corpus, q="!!! --") == []
    assert list_ids(corpus, q="'; DROP TABLE articles; --") == []
    assert list_ids(corpus, q="terre", entity="russie", label="LOC") == ["fr-kremlin"]


def test_pagination_walks_every_row_once(sessions: sessionmaker[Session]) -> None:
    expected: list[str] = []
    # Batches stored in one transaction share stored_at: the id breaks the tie.
    for batch in range(4):
        ids = [f"b{batch}-{n:02d}" for n in range(6)]
        with sessions.begin() as session:
            for article_id in ids:
                upsert_article(session, make_envelope(article_id))
        expected = sorted(ids, reverse=True) + expected

    for limit in (1, 5, 6, 7, 23, 24, 25):
        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            with sessions() as session:
                items, cursor = queries.list_articles(session, limit=limit, cursor=cursor)
            pages += 1
            assert len(items) <= limit
            seen.extend(i.id for i in items)
            if cursor is None:
                break
        assert seen == expected, limit
        assert pages == max(1, -(-len(expected) // limit)), limit


def test_pagination_with_filters_and_new_rows(corpus: sessionmaker[Session]) -> None:
    with corpus() as session:
        page1, cursor = queries.list_articles(session, language="fr", limit=2)
    assert [i.id for i in page1] == ["fr-mines", "fr-paris"]
    assert cursor is not None
    # A newer article arriving between pages does not shift the next page.
    store(corpus, make_envelope("fr-new"))
    with corpus() as session:
        page2, cursor2 = queries.list_articles(session, language="fr", limit=2, cursor=cursor)
    assert [i.id for i in page2] == ["fr-kremlin"]
    assert cursor2 is None


def test_cursor_round_trip() -> None:
    stamp = datetime(2025, 2, 25, 9, 30, 0, 123456, tzinfo=UTC)
    cursor = queries.encode_cursor(stamp, "abc")
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor
    assert queries.decode_cursor(cursor) == (stamp, "abc")


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor!",
        "%%%%",
        "é",
        _b64("not json"),
        _b64("{}"),
        _b64("[]"),
        _b64('["2025-02-25T09:30:00+00:00"]'),
        _b64('["2025-02-25T09:30:00+00:00", 5]'),
        _b64('["yesterday", "abc"]'),
        _b64('["2025-02-25T09:30:00", "abc"]'),  # no time zone
        _b64('["2025-02-25T09:30:00+00:00", "abc", "extra"]'),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_malformed_cursor_raises_value_error(sessions: sessionmaker[Session], cursor: str) -> None:
    with sessions() as session, pytest.raises(ValueError, match="cursor"):
        queries.list_articles(session, cursor=cursor)


def test_invalid_limit_raises_value_error(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        with pytest.raises(ValueError):
            queries.list_articles(session, limit=0)
        with pytest.raises(ValueError):
            queries.list_entities(session, limit=0)


# --- list_entities --------------------------------------------------------------------


def entity_counts(sessions: sessionmaker[Session], **filters: Any) -> list[tuple[str, str, int]]:
    with sessions() as session:
        rows = queries.list_entities(session, **filters)
    return [(r.text, r.label, r.article_count) for r in rows]


def test_list_entities_counts_distinct_articles(corpus: sessionmaker[Session]) -> None:
    # Mentioned twice in one article still counts one article.
    store(
        corpus,
        make_envelope(
            "fr-peskov",
            title="Peskov encore",
            paragraphs=["Dmitri Peskov a répété que Dmitri Peskov ne commenterait pas."],
            entities=[("Dmitri Peskov", "PER", "PER"), ("Dmitri Peskov", "PER", "PER")],
        ),
    )
    counts = entity_counts(corpus, limit=500)
    # Most mentioned first; ties by text (in the database collation, so compared as sets).
    assert [c[2] for c in counts] == sorted((c[2] for c in counts), reverse=True)
    assert set(counts[:3]) == {
        ("Dmitri Peskov", "PER", 2),
        ("Donald Trump", "PER", 2),
        ("Reuters", "ORG", 2),
    }
    assert ("Paris", "LOC", 1) in counts and ("Paris", "PER", 1) in counts
    assert ("PARIS", "LOC", 1) in counts  # distinct text as written
    assert len(counts) == len(set(counts)) == 19


def test_list_entities_filters(corpus: sessionmaker[Session]) -> None:
    per = entity_counts(corpus, label="PER")
    assert per[0] == ("Donald Trump", "PER", 2)
    assert sorted(per[1:]) == [
        ("Dmitri Peskov", "PER", 1),
        ("Emmanuel Macron", "PER", 1),
        ("Paris", "PER", 1),
    ]
    assert sorted(entity_counts(corpus, q="pa")) == [
        ("PARIS", "LOC", 1),
        ("Paris", "LOC", 1),
        ("Paris", "PER", 1),
    ]
    assert sorted(entity_counts(corpus, q="PA", label="LOC")) == [
        ("PARIS", "LOC", 1),
        ("Paris", "LOC", 1),
    ]
    assert entity_counts(corpus, q="éch") == [("Échassières", "LOC", 1)]
    assert entity_counts(corpus, q="ÉCH") == [("Échassières", "LOC", 1)]
    assert entity_counts(corpus, q="aris") == []  # prefix, not substring
    assert entity_counts(corpus, q="%") == []  # LIKE wildcards are literal
    assert entity_counts(corpus, q="_aris") == []
    assert sorted(entity_counts(corpus, limit=2)) == [
        ("Donald Trump", "PER", 2),
        ("Reuters", "ORG", 2),
    ]


def test_list_entities_ignores_articles_not_stored(corpus: sessionmaker[Session]) -> None:
    with corpus.begin() as session:
        session.execute(text("UPDATE articles SET status = 'failed' WHERE id = 'en-trump'"))
    assert ("Donald Trump", "PER", 1) in entity_counts(corpus, label="PER")
    assert entity_counts(corpus, q="ukraine") == []


def test_entity_prefix_search_can_use_the_index(corpus: sessionmaker[Session]) -> None:
    with corpus() as session:
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            session.scalars(
                text(
                    "EXPLAIN SELECT 1 FROM entities "
                    "WHERE lower(text) LIKE lower('pa') || '%' ESCAPE '\\'"
                )
            )
        )
    assert "ix_entities_lower_text" in plan


# --- the gateway only reads -----------------------------------------------------------


def test_read_only_engine_refuses_writes(pg_url: str, corpus: sessionmaker[Session]) -> None:
    reader = make_engine(pg_url, read_only=True)
    try:
        with make_session_factory(reader)() as session:
            assert queries.get_article(session, "fr-paris") is not None
            with pytest.raises(InternalError, match="read-only"):
                session.execute(text("DELETE FROM articles"))
    finally:
        reader.dispose()
    with corpus() as session:
        assert queries.count_article_rows(session, "fr-paris") == 1
