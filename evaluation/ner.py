"""Named entities: entity-level exact-span precision, recall and F1, per label and micro.

Datasets (read in place, never copied):
- ner/conll2003_en/eng.testa: CoNLL-2003 IOB1 (token POS chunk NER), PER/ORG/LOC/MISC.
  Each sentence's tokens are joined by spaces; sentences become paragraphs ("\\n\\n").
- ner/hipe2022/*-dev-{fr,en,de}.tsv: HIPE-2022 TSV (historical newspapers, OCR noise).
  Text is rebuilt from TOKEN and the NoSpaceAfter flag (line ends become spaces);
  coarse labels pers/loc/org -> PER/LOC/ORG, other gold types (prod, time) are not
  scored and neither is predicted MISC: only the labels both sides have.

Systems, side by side on the same documents:
- raw:<model>      the full spaCy pipeline, labels mapped to ours, spans as the model gives.
- pruned:<model>   the pipeline Newsflow loads (NER-only), spans as the model gives.
- newsflow:<model> extract_entities: the entities worker's function, post-processing included.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from services.entities.extract import (
    extract_entities,
    load_pipeline,
    model_entities,
    resolve_model,
)
from services.entities.labels import normalise_label
from services.language.detect import detect_language
from shared.settings import Settings

Span3 = tuple[int, int, str]


@dataclass
class NerDoc:
    doc_id: str
    language: str
    text: str
    gold: list[Span3]
    paragraphs: list[tuple[int, int]]
    tokens: int = 0


@dataclass
class Dataset:
    name: str
    language: str
    docs: list[NerDoc]
    labels: tuple[str, ...]
    notes: list[str] = field(default_factory=list)


# --- readers ---------------------------------------------------------------------------------


class _Builder:
    """Accumulates text, paragraph spans and gold entities token by token."""

    def __init__(self, doc_id: str, language: str) -> None:
        self.doc = NerDoc(doc_id, language, "", [], [])
        self.parts: list[str] = []
        self.length = 0
        self.paragraph_start = 0
        self.open: tuple[int, str] | None = None  # (start, label) of the entity being read
        self.last_end = 0
        self.pending_space = False

    def _write(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)

    def token(self, token: str, tag: str, *, space_after: bool = True) -> None:
        """tag: "O", "B-X" or "I-X" (IOB2 semantics; convert IOB1 before calling)."""
        if self.pending_space:
            self._write(" ")
        start = self.length
        prefix, _, label = tag.partition("-")
        if self.open is not None and (prefix != "I" or label != self.open[1]):
            self.doc.gold.append((self.open[0], self.last_end, self.open[1]))
            self.open = None
        if prefix in ("B", "I") and self.open is None:
            self.open = (start, label)
        self._write(token)
        self.last_end = self.length
        self.doc.tokens += 1
        self.pending_space = space_after

    def close_entity(self) -> None:
        if self.open is not None:
            self.doc.gold.append((self.open[0], self.last_end, self.open[1]))
            self.open = None

    def paragraph_break(self) -> None:
        self.close_entity()
        if self.length > self.paragraph_start:
            self.doc.paragraphs.append((self.paragraph_start, self.length))
            self._write("\n\n")
            self.paragraph_start = self.length
        self.pending_space = False

    def finish(self) -> NerDoc | None:
        self.paragraph_break()
        text = "".join(self.parts)
        if text.endswith("\n\n"):
            text = text[:-2]
        self.doc.text = text
        if not text.strip():
            return None
        return self.doc


def read_conll(path: Path, language: str = "en") -> list[NerDoc]:
    """CoNLL-2003 (IOB1): a tag I-X after O or another type starts an entity."""
    docs: list[NerDoc] = []
    builder = _Builder(f"{path.name}#0", language)
    previous = "O"
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("-DOCSTART-"):
            done = builder.finish()
            if done is not None:
                docs.append(done)
            builder = _Builder(f"{path.name}#{len(docs)}", language)
            previous = "O"
            continue
        if not line:
            builder.paragraph_break()
            previous = "O"
            continue
        columns = line.split()
        token, tag = columns[0], columns[-1]
        prefix, _, label = tag.partition("-")
        if prefix == "I" and not (previous != "O" and previous.partition("-")[2] == label):
            tag = f"B-{label}"
        builder.token(token, tag)
        previous = tag
    done = builder.finish()
    if done is not None:
        docs.append(done)
    return docs


HIPE_LABELS = {"pers": "PER", "per": "PER", "loc": "LOC", "org": "ORG"}


def read_hipe(path: Path) -> list[NerDoc]:
    docs: list[NerDoc] = []
    builder: _Builder | None = None
    language = "und"
    columns = ["TOKEN", "NE-COARSE-LIT"]
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            continue
        if raw.startswith("#") and "\t" not in raw:
            key, _, value = raw.lstrip("# ").partition("=")
            key, value = key.strip(), value.strip()
            if key == "hipe2022:document_id":
                if builder is not None and (done := builder.finish()) is not None:
                    docs.append(done)
                builder = _Builder(value, language)
            elif key == "hipe2022:language":
                language = value
                if builder is not None:
                    builder.doc.language = value
            continue
        cells = raw.split("\t")
        if cells[0] == "TOKEN":
            columns = cells
            continue
        if builder is None:
            builder = _Builder(f"{path.name}#0", language)
        row = dict(zip(columns, cells, strict=False))
        tag = row.get("NE-COARSE-LIT", "O") or "O"
        prefix, _, coarse = tag.partition("-")
        label = HIPE_LABELS.get(coarse.lower())
        flags = row.get("MISC", "")
        builder.token(
            row.get("TOKEN", cells[0]),
            f"{prefix}-{label}" if label and prefix in ("B", "I") else "O",
            space_after="NoSpaceAfter" not in flags,
        )
    if builder is not None and (done := builder.finish()) is not None:
        docs.append(done)
    return docs


# --- scoring ---------------------------------------------------------------------------------


def prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def score(
    gold: Iterable[Sequence[Span3]], predicted: Iterable[Sequence[Span3]], labels: Sequence[str]
) -> dict[str, Any]:
    counts: dict[str, list[int]] = {label: [0, 0, 0] for label in labels}
    for gold_doc, pred_doc in zip(gold, predicted, strict=True):
        gold_set = {g for g in gold_doc if g[2] in counts}
        pred_set = {p for p in pred_doc if p[2] in counts}
        for label in labels:
            g = {s for s in gold_set if s[2] == label}
            p = {s for s in pred_set if s[2] == label}
            counts[label][0] += len(g & p)
            counts[label][1] += len(p - g)
            counts[label][2] += len(g - p)
    per_label = {label: prf(*c) for label, c in counts.items()}
    micro = prf(*(sum(c[i] for c in counts.values()) for i in range(3)))
    return {"micro": micro, "per_label": per_label}


# --- systems ---------------------------------------------------------------------------------

Predict = Callable[[NerDoc], list[Span3]]


def raw_system(model: str) -> Predict:
    """The full spaCy pipeline as shipped, labels mapped to ours, spans untouched."""
    import spacy

    package = resolve_model(model)
    if package is None:
        raise OSError(f"spaCy model {model!r} is not installed")
    nlp = spacy.load(package)

    def run(doc: NerDoc) -> list[Span3]:
        spans: list[Span3] = []
        for ent in nlp(doc.text).ents:
            label = normalise_label(ent.label_)
            if label is not None:
                spans.append((ent.start_char, ent.end_char, label))
        return spans

    return run


def pruned_system(model: str) -> Predict:
    """The NER-only pipeline Newsflow loads, before any post-processing."""
    nlp = load_pipeline(model)

    def run(doc: NerDoc) -> list[Span3]:
        return [(e.start, e.end, e.label) for e in model_entities(doc.text, nlp)]

    return run


def newsflow_system(model: str, settings: Settings) -> Predict:
    def run(doc: NerDoc) -> list[Span3]:
        paragraph_texts = [doc.text[s:e] for s, e in doc.paragraphs]
        language = detect_language(
            paragraph_texts,
            min_chars=settings.language_min_chars,
            min_confidence=settings.language_min_confidence,
            seed=settings.language_seed,
        )
        result = extract_entities(
            doc.text,
            doc.language,
            {doc.language: model},
            paragraphs=doc.paragraphs,
            paragraph_languages=[p.code for p in language.paragraphs],
        )
        return [(e.start, e.end, e.label) for e in result.entities]

    return run


def run_system(dataset: Dataset, predict: Predict) -> dict[str, Any]:
    started = time.perf_counter()
    predictions = [predict(doc) for doc in dataset.docs]
    elapsed = time.perf_counter() - started
    result = score((d.gold for d in dataset.docs), predictions, dataset.labels)
    words = sum(d.tokens for d in dataset.docs)
    result["words_per_second"] = round(words / elapsed) if elapsed > 0 else None
    result["seconds"] = round(elapsed, 2)
    return result


# --- datasets --------------------------------------------------------------------------------


def load_datasets(data: Path, max_docs: int | None) -> list[Dataset]:
    datasets: list[Dataset] = []
    conll = data / "ner" / "conll2003_en" / "eng.testa"
    if conll.is_file():
        docs = read_conll(conll)
        datasets.append(
            Dataset("conll2003-en-dev", "en", docs[:max_docs], ("PER", "ORG", "LOC", "MISC"))
        )
    hipe_dir = data / "ner" / "hipe2022"
    by_language: dict[str, list[NerDoc]] = defaultdict(list)
    sources: dict[str, list[str]] = defaultdict(list)
    for path in sorted(hipe_dir.glob("*-dev-*.tsv")) if hipe_dir.is_dir() else []:
        language = path.stem.rsplit("-", 1)[-1]
        docs = read_hipe(path)
        by_language[language].extend(docs[:max_docs])
        sources[language].append(path.name)
    for language in sorted(by_language):
        datasets.append(
            Dataset(
                f"hipe2022-{language}-dev",
                language,
                by_language[language],
                ("PER", "LOC", "ORG"),
                notes=sources[language],
            )
        )
    return datasets


def language_accuracy(dataset: Dataset, settings: Settings) -> dict[str, Any]:
    """Newsflow's document language on each document, against the dataset's language."""
    correct = 0
    started = time.perf_counter()
    for doc in dataset.docs:
        result = detect_language(
            [doc.text[s:e] for s, e in doc.paragraphs],
            min_chars=settings.language_min_chars,
            min_confidence=settings.language_min_confidence,
            seed=settings.language_seed,
        )
        correct += result.code == doc.language
    elapsed = time.perf_counter() - started
    return {
        "documents": len(dataset.docs),
        "accuracy": round(correct / max(len(dataset.docs), 1), 4),
        "ms_per_article": round(1000 * elapsed / max(len(dataset.docs), 1), 2),
    }


def models_for(language: str, settings: Settings, french_models: Sequence[str]) -> list[str]:
    if language == "fr":
        return list(french_models)
    configured = settings.spacy_models().get(language)
    return [configured] if configured else []


def evaluate(
    data: Path,
    *,
    max_docs: int | None,
    french_models: Sequence[str] = ("fr_core_news_sm", "fr_core_news_md"),
    settings: Settings | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    settings = settings or Settings()
    results: dict[str, Any] = {}
    for dataset in load_datasets(data, max_docs):
        entry: dict[str, Any] = {
            "language": dataset.language,
            "documents": len(dataset.docs),
            "words": sum(d.tokens for d in dataset.docs),
            "gold_entities": sum(len(d.gold) for d in dataset.docs),
            "labels": list(dataset.labels),
            "files": dataset.notes,
            "language_detection": language_accuracy(dataset, settings),
            "systems": {},
        }
        models = models_for(dataset.language, settings, french_models)
        if not models:
            skipped = extract_entities("", dataset.language, settings.spacy_models())
            entry["skipped"] = skipped.reason or "no model"
            log(f"ner {dataset.name}: entities skipped ({entry['skipped']})")
            results[dataset.name] = entry
            continue
        for model in models:
            for kind, factory in (
                ("raw", partial(raw_system, model)),
                ("pruned", partial(pruned_system, model)),
                ("newsflow", partial(newsflow_system, model, settings)),
            ):
                name = f"{kind}:{model}"
                entry["systems"][name] = run_system(dataset, factory())
                micro = entry["systems"][name]["micro"]
                log(
                    f"ner {dataset.name} {name}: P {micro['precision']:.3f} "
                    f"R {micro['recall']:.3f} F1 {micro['f1']:.3f}"
                )
        results[dataset.name] = entry
    return results
