"""The bench's corpora (benchmark/corpus.py): the French one from seeds/, and the
multilingual mix of news, TSV sentences and seeds, built from small files here."""

import json
from pathlib import Path

import pytest

from benchmark.corpus import CORPORA, LANGID, MIX, NEWS, french, load, multilingual


def test_french_articles_are_distinct_and_seed_sized() -> None:
    todo = french(20, prefix="bench-test")
    assert [a["external_id"] for a in todo] == [f"bench-test-{i}" for i in range(20)]
    assert len({a["text"] for a in todo}) == 20
    assert all(500 < len(a["text"]) < 5000 for a in todo)


def test_each_run_gets_fresh_external_ids() -> None:
    first, second = french(3), french(3)
    assert not {a["external_id"] for a in first} & {a["external_id"] for a in second}
    assert [a["text"] for a in first] == [a["text"] for a in second]


@pytest.fixture
def eval_data(tmp_path: Path) -> Path:
    news = tmp_path / NEWS
    news.parent.mkdir(parents=True)
    rows = [
        {"lang": lang, "source": "s", "title": f"{lang} title {k}\n", "text": f"{lang} news {k}"}
        for k in range(2)
        for lang in ("sw", "en")
    ]
    rows.append({"lang": "yo", "source": "s", "title": "", "text": "yo\x92 news"})
    news.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    tsv = tmp_path / LANGID
    tsv.parent.mkdir(parents=True)
    lines = ["lang\tkind\ttext"]
    for lang in ("de", "ja"):
        lines += [f"{lang}\tsentences\t{lang} sentence {k}" for k in range(7)]
        lines += [f"{lang}\tsingle-words\t{lang}word"]
    lines.append("de\tsentences\tcontrol \x92 character")  # refused by the gateway: dropped
    tsv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


def test_multilingual_cycles_news_sentences_and_seeds(eval_data: Path) -> None:
    todo = multilingual(10, eval_data, prefix="m")
    assert [a["external_id"] for a in todo] == [f"m-{i}" for i in range(10)]
    assert MIX == ("news", "langid", "news", "langid", "seed")
    # News one language after another (sorted: en, sw, yo), with the headline as title.
    assert [todo[i]["text"] for i in (0, 2, 5, 7)] == [
        "en news 0",
        "sw news 0",
        "yo  news",
        "en news 1",
    ]
    assert todo[0]["title"] == "en title 0" and todo[0]["source"] == "masakhane-news"
    assert "title" not in todo[5]  # a blank headline is no title
    # TSV articles: five sentences of one language, languages in turn, never a single word.
    assert todo[1]["text"].split("\n\n") == [f"de sentence {k}" for k in range(5)]
    assert todo[3]["text"].split("\n\n") == [f"ja sentence {k}" for k in range(5)]
    assert todo[6]["text"].split("\n\n")[:2] == ["de sentence 5", "de sentence 6"]
    assert all("\x92" not in a["text"] for a in todo)
    # Every fifth article is a French seed article.
    assert todo[4]["text"] == french(1)[0]["text"]
    assert todo[9]["text"].startswith("Dépêche 1.")


def test_load_builds_the_corpus_asked_for(eval_data: Path) -> None:
    assert CORPORA == ("french", "multilingual")
    assert [a["text"] for a in load("french", 2, eval_data)] == [a["text"] for a in french(2)]
    assert load("multilingual", 1, eval_data)[0]["text"] == "en news 0"
    with pytest.raises(ValueError, match="unknown corpus"):
        load("klingon", 1, eval_data)
