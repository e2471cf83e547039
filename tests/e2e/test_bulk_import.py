"""Bulk import of real-world data: a batch of 100 with 3 bad articles stores the other 97.

Like Elasticsearch's `_bulk`, a bad article refuses only itself: the answer is 202 with
`errors: true` and one item per article, the refused ones with their index and reason.
A title with a line break (common in scraped titles) is accepted, as a single line.
"""

import secrets
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from shared.ids import article_id

pytestmark = pytest.mark.e2e

WaitFinal = Callable[..., dict[str, dict[str, Any]]]

SIZE = 100
BROKEN_TITLE = 17  # accepted: its line breaks become spaces
BAD = {
    23: ("text", "blank"),  # empty text
    51: ("title", "control_character"),  # a BEL (U+0007) in the title
    88: ("published_at", None),  # a list where a date is expected (a wrong type)
}


def article(run: str, i: int) -> dict[str, Any]:
    return {
        "external_id": f"bulk-{run}-{i:03d}",
        "title": f"Dépêche {i}",
        "source": "Alpha-News",
        "text": f"PARIS, 3 mars (AFP) - Le président Emmanuel Macron a reçu le chancelier "
        f"Olaf Scholz à l'Élysée pour parler de l'Ukraine. Dépêche numéro {i}.",
    }


def test_a_batch_with_bad_articles_stores_the_others(
    api: httpx.Client, wait_final: WaitFinal
) -> None:
    run = secrets.token_hex(4)
    articles = [article(run, i) for i in range(SIZE)]
    articles[BROKEN_TITLE]["title"] = "Sommet franco-allemand :\r\n  Macron et\tScholz\n"
    articles[23]["text"] = ""
    articles[51]["title"] = "Alerte\u0007 info"
    articles[88]["published_at"] = ["2025-03-03"]

    answer = api.post("/articles/batch", json={"articles": articles}, timeout=120)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert (body["errors"], body["accepted"], body["refused"]) == (True, SIZE - 3, 3)
    items = body["items"]
    assert [item["index"] for item in items] == list(range(SIZE))

    refused = {item["index"]: item for item in items if item["error"] is not None}
    assert set(refused) == set(BAD)
    for index, (field, kind) in BAD.items():
        error = refused[index]["error"]
        assert refused[index]["id"] is None and refused[index]["status"] == "refused"
        assert error["field"] == field, error
        assert error["loc"] == ["body", "articles", index, field]
        assert error["reason"], error
        if kind is not None:
            assert error["type"] == kind, error
    print(f"\nBULK refused: {[(i, refused[i]['error']) for i in sorted(refused)]}")

    ids = body["ids"]
    expected = [
        article_id(a["text"], a["external_id"]) for i, a in enumerate(articles) if i not in BAD
    ]
    assert ids == expected and len(set(ids)) == SIZE - 3
    final = wait_final(ids)
    stored = [aid for aid, a in final.items() if a["status"] == "stored"]
    assert len(stored) == SIZE - 3, {a: f["error"] for a, f in final.items() if a not in stored}

    normalised = final[article_id(articles[BROKEN_TITLE]["text"], f"bulk-{run}-017")]
    assert normalised["title"] == "Sommet franco-allemand : Macron et Scholz"
    # The refused articles were never accepted: unknown to the API.
    for index in BAD:
        would_be = article_id(str(articles[index]["text"]), articles[index]["external_id"])
        assert api.get(f"/articles/{would_be}").status_code == 404
