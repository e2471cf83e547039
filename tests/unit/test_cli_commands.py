"""`newsflow get | search | entities | failed | retry | export` against the fake gateway."""

import csv
import io
import json
from typing import Any

from typer.testing import CliRunner, Result

from cli.main import app
from cli.output import CSV_COLUMNS
from tests.unit.fake_gateway import FakeGateway, failed_article, stored_article

WIDE = {"COLUMNS": "250"}  # rich tables: no truncated cells


def run(gateway: FakeGateway, *args: str, **kw: Any) -> Result:
    return CliRunner().invoke(app, list(args), obj=gateway.runtime(), env=WIDE, **kw)


def test_get_json_is_the_apis_json() -> None:
    article = stored_article("a" * 32)
    result = run(FakeGateway(stored=[article]), "get", "a" * 32, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == article


def test_get_shows_the_article_its_entities_and_text() -> None:
    article = stored_article("a" * 32, title="Le Kremlin [officiel]", text="MOSCOU - Texte.")
    result = run(FakeGateway(stored=[article]), "get", "a" * 32)
    assert result.exit_code == 0, result.output
    for shown in ("Le Kremlin [officiel]", "fr (0.99)", "Vladimir Poutine", "MOSCOU - Texte."):
        assert shown in result.stdout


def test_get_an_unknown_id_exits_3_with_one_line_on_stderr() -> None:
    result = run(FakeGateway(), "get", "nope")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "newsflow: HTTP 404: path.article_id: no article with this id"
    ]


def test_search_sends_the_filters_and_prints_json_lines() -> None:
    gateway = FakeGateway(stored=[stored_article(f"id{i}") for i in range(5)], page_size=2)
    result = run(
        gateway,
        "search",
        "--language=fr",
        "--entity",
        "Vladimir Poutine",
        "--label",
        "PER",
        "--status",
        "stored",
        "-q",
        "terres rares",
        "--limit",
        "3",
        "--json",
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["id0", "id1", "id2"]
    assert set(lines[0]) == {
        "id",
        "status",
        "title",
        "source",
        "language",
        "stored_at",
        "entity_count",
        "error",
    }
    params = gateway.calls("GET", "/articles")[0].url.params
    assert dict(params) == {
        "language": "fr",
        "entity": "Vladimir Poutine",
        "label": "PER",
        "status": "stored",
        "q": "terres rares",
        "limit": "3",
    }


def test_search_refuses_an_unknown_label_before_calling() -> None:
    gateway = FakeGateway()
    result = run(gateway, "search", "--label", "PERSON")
    assert result.exit_code == 2
    assert gateway.requests == []


def test_search_prints_a_table() -> None:
    gateway = FakeGateway(stored=[stored_article("b" * 32, title="Sommet à Moscou")])
    result = run(gateway, "search")
    assert result.exit_code == 0, result.output
    assert "b" * 32 in result.stdout and "Sommet à Moscou" in result.stdout


def test_entities_with_a_label_as_json_lines() -> None:
    gateway = FakeGateway()
    result = run(gateway, "entities", "--label", "LOC", "-q", "Mos", "--json")
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"text": "Moscou", "label": "LOC", "article_count": 1}
    ]
    params = gateway.calls("GET", "/entities")[0].url.params
    assert (params["label"], params["q"], params["limit"]) == ("LOC", "Mos", "50")


def test_failed_lists_failed_articles_with_their_reason() -> None:
    gateway = FakeGateway(
        stored=[
            stored_article("s" * 32),
            failed_article("f" * 32, "entities", "LanguageNotServedError: de is not served"),
        ]
    )
    result = run(gateway, "failed")
    assert result.exit_code == 0, result.output
    assert "f" * 32 in result.stdout and "LanguageNotServedError" in result.stdout
    assert "s" * 32 not in result.stdout
    assert gateway.calls("GET", "/articles")[0].url.params["status"] == "failed"


def test_retry_one_or_all() -> None:
    gateway = FakeGateway(stored=[failed_article("f" * 32, "ingest", "boom")])
    one = run(gateway, "retry", "f" * 32)
    assert one.exit_code == 0, one.output
    assert one.stdout.strip() == f"{'f' * 32}: re-driven (stage ingest)"

    every = run(gateway, "retry", "--all", "--limit", "10")
    assert every.exit_code == 0, every.output
    assert every.stdout.splitlines() == ["re-driven: 1  skipped (in flight): 0", "f" * 32]
    assert gateway.calls("POST", "/articles/retry-failed")[0].url.params["limit"] == "10"


def test_retry_needs_exactly_one_of_id_and_all() -> None:
    gateway = FakeGateway()
    assert run(gateway, "retry").exit_code == 2
    assert run(gateway, "retry", "x", "--all").exit_code == 2
    assert gateway.requests == []


def test_retry_of_an_article_that_did_not_fail_exits_3() -> None:
    result = run(FakeGateway(stored=[stored_article("s" * 32)]), "retry", "s" * 32)
    assert result.exit_code == 3
    assert "409" in result.stderr and "only failed articles can be re-driven" in result.stderr


def many(count: int) -> list[dict[str, Any]]:
    return [
        stored_article(f"{i:032d}", title=f"Titre, {i}", text=f"Ligne un ; « {i} »\nLigne, deux")
        for i in range(count)
    ]


def test_export_jsonl_follows_cursors_and_writes_only_data_to_stdout() -> None:
    articles = many(7)
    gateway = FakeGateway(stored=articles, page_size=3)

    result = run(gateway, "export", "--format", "jsonl", "--language", "fr")

    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == articles
    pages = gateway.calls("GET", "/articles")
    assert [p.url.params.get("cursor") for p in pages] == [None, "3", "6"]
    assert all(p.url.params["language"] == "fr" for p in pages)
    assert "exported 7 articles" in result.stderr


def test_export_csv_parses_back_one_row_per_article() -> None:
    articles = many(5)
    gateway = FakeGateway(stored=articles, page_size=2)

    result = run(gateway, "export", "--format", "csv", "--no-progress")

    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == CSV_COLUMNS
    assert [row["id"] for row in rows] == [a["id"] for a in articles]
    first = rows[0]
    assert first["text"] == "Ligne un ; « 0 »\nLigne, deux" and first["title"] == "Titre, 0"
    assert (first["language"], first["status"], first["mentions"]) == ("fr", "stored", "3")
    assert json.loads(first["entities"]) == [
        {"name": "Vladimir Poutine", "label": "PER", "count": 2},
        {"name": "Moscou", "label": "LOC", "count": 1},
    ]
    assert first["duplicate_of"] == "" and first["error_reason"] == ""


def test_export_csv_of_nothing_is_just_the_header() -> None:
    result = run(FakeGateway(), "export", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout == ",".join(CSV_COLUMNS) + "\n"


def test_a_missing_key_says_where_to_set_it() -> None:
    gateway = FakeGateway()
    runtime = gateway.runtime(environ={"NEWSFLOW_API_KEY": ""})
    result = CliRunner().invoke(app, ["search"], obj=runtime)
    assert result.exit_code == 3
    [line] = result.stderr.strip().splitlines()
    assert "no API key" in line and "NEWSFLOW_API_KEY" in line
