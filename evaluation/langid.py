"""Language identification: accuracy per kind and language, mixed documents, determinism.

Data: langid/all.tsv with columns lang, kind (sentences | word-pairs | single-words), text.
Scored over the languages both the data and langdetect cover. Detectors, side by side:
stock langdetect (``langdetect.detect`` as most people call it, unseeded), Newsflow's
language stage (``detect_language``, the function the worker calls), and lingua (the
reference to beat; dev dependency only).
"""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.language.detect import UNDETERMINED, detect_language, normalise_code
from shared.settings import Settings

KINDS = ("single-words", "word-pairs", "sentences")

Detect = Callable[[str], str]


@dataclass(frozen=True)
class Sample:
    lang: str
    kind: str
    text: str


def langdetect_languages() -> set[str]:
    """ISO 639-1 codes langdetect has profiles for (zh-cn/zh-tw -> zh)."""
    from langdetect.detector_factory import PROFILES_DIRECTORY

    return {normalise_code(p.name) for p in Path(PROFILES_DIRECTORY).iterdir()}


def read_samples(path: Path) -> list[Sample]:
    samples: list[Sample] = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in reader:
            if len(row) < 3 or row[0] == "lang":
                continue
            samples.append(Sample(normalise_code(row[0]), row[1], "\t".join(row[2:])))
    return samples


def select(samples: list[Sample], per_cell: int | None, seed: int = 0) -> list[Sample]:
    """A seeded random sample of `per_cell` texts per (language, kind); all if None."""
    cells: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for sample in samples:
        cells[(sample.lang, sample.kind)].append(sample)
    chosen: list[Sample] = []
    for key in sorted(cells):
        cell = cells[key]
        if per_cell is not None and len(cell) > per_cell:
            cell = random.Random(f"{seed}:{key[0]}:{key[1]}").sample(cell, per_cell)
        chosen.extend(cell)
    return chosen


# --- detectors -------------------------------------------------------------------------------


def stock_langdetect() -> Detect:
    from langdetect import detect
    from langdetect.lang_detect_exception import LangDetectException

    def run(text: str) -> str:
        try:
            return normalise_code(detect(text))
        except LangDetectException:
            return UNDETERMINED

    return run


def newsflow(settings: Settings | None = None) -> Detect:
    settings = settings or Settings()

    def run(text: str) -> str:
        return newsflow_result(text, settings)[0]

    return run


def newsflow_result(text: str, settings: Settings) -> tuple[str, float]:
    result = detect_language(
        [text],
        min_chars=settings.language_min_chars,
        min_confidence=settings.language_min_confidence,
        seed=settings.language_seed,
    )
    return result.code, result.confidence


def lingua(languages: Sequence[str], *, low_accuracy: bool = False) -> Detect | None:
    """lingua restricted to the evaluated languages it knows, or None if not installed."""
    try:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder
    except ImportError:
        return None
    known = []
    for code in languages:
        iso = getattr(IsoCode639_1, code.upper(), None)
        if iso is not None:
            known.append(Language.from_iso_code_639_1(iso))
    builder = LanguageDetectorBuilder.from_languages(*known)
    if low_accuracy:
        builder = builder.with_low_accuracy_mode()
    detector = builder.build()

    def run(text: str) -> str:
        language = detector.detect_language_of(text)
        if language is None:
            return UNDETERMINED
        return str(language.iso_code_639_1.name).lower()

    return run


def detectors(
    languages: Sequence[str], settings: Settings, names: Sequence[str]
) -> dict[str, Detect]:
    factories: dict[str, Callable[[], Detect | None]] = {
        "langdetect": stock_langdetect,
        "newsflow": lambda: newsflow(settings),
        "lingua-high": lambda: lingua(languages),
        "lingua-low": lambda: lingua(languages, low_accuracy=True),
    }
    built: dict[str, Detect] = {}
    for name in names:
        detector = factories[name]()
        if detector is not None:
            built[name] = detector
    return built


# --- accuracy --------------------------------------------------------------------------------


def score_accuracy(samples: list[Sample], detect: Detect) -> dict[str, Any]:
    correct: dict[tuple[str, str], int] = defaultdict(int)
    total: dict[tuple[str, str], int] = defaultdict(int)
    started = time.perf_counter()
    for sample in samples:
        key = (sample.kind, sample.lang)
        total[key] += 1
        correct[key] += detect(sample.text) == sample.lang
    elapsed = time.perf_counter() - started
    kinds: dict[str, Any] = {}
    for kind in KINDS:
        per_language = {
            lang: round(correct[(k, lang)] / n, 4)
            for (k, lang), n in sorted(total.items())
            if k == kind and n
        }
        if per_language:
            kinds[kind] = {
                "mean": round(sum(per_language.values()) / len(per_language), 4),
                "per_language": per_language,
                "samples": sum(n for (k, _), n in total.items() if k == kind),
            }
    return {
        "kinds": kinds,
        "ms_per_call": round(1000 * elapsed / max(len(samples), 1), 3),
    }


# --- mixed documents -------------------------------------------------------------------------


@dataclass(frozen=True)
class MixedDoc:
    paragraphs: list[str]
    labels: list[str]
    main: str  # the language with the most letters


def build_mixed_docs(samples: list[Sample], count: int, seed: int = 0) -> list[MixedDoc]:
    """Documents of paragraphs (2-3 sentences each) in two languages, interleaved."""
    sentences: dict[str, list[str]] = defaultdict(list)
    for sample in samples:
        if sample.kind == "sentences" and len(sample.text) >= 30:
            sentences[sample.lang].append(sample.text)
    langs = sorted(lang for lang, items in sentences.items() if len(items) >= 6)
    if len(langs) < 2:
        return []
    rng = random.Random(seed)
    docs: list[MixedDoc] = []
    for _ in range(count):
        first, second = rng.sample(langs, 2)
        n_first, n_second = rng.choice([(3, 2), (2, 2), (3, 1), (2, 1)])
        order = [first] * n_first + [second] * n_second
        rng.shuffle(order)
        paragraphs = [" ".join(rng.sample(sentences[lang], rng.choice([2, 3]))) for lang in order]
        letters: dict[str, int] = defaultdict(int)
        for lang, para in zip(order, paragraphs, strict=True):
            letters[lang] += sum(ch.isalpha() for ch in para)
        docs.append(MixedDoc(paragraphs, order, max(letters, key=lambda k: letters[k])))
    return docs


def build_boilerplate_docs(samples: list[Sample], count: int, seed: int = 1) -> list[MixedDoc]:
    """Body in one language plus one short line in another (a counter, a share prompt)."""
    sentences: dict[str, list[str]] = defaultdict(list)
    short: dict[str, list[str]] = defaultdict(list)
    for sample in samples:
        if sample.kind == "sentences" and len(sample.text) >= 30:
            sentences[sample.lang].append(sample.text)
        elif sample.kind == "word-pairs":
            short[sample.lang].append(sample.text)
    langs = sorted(lang for lang in sentences if len(sentences[lang]) >= 6 and short.get(lang))
    if len(langs) < 2:
        return []
    rng = random.Random(seed)
    docs: list[MixedDoc] = []
    for _ in range(count):
        body, other = rng.sample(langs, 2)
        paragraphs = [
            " ".join(rng.sample(sentences[body], 2)) for _ in range(rng.choice([1, 2, 3]))
        ]
        line = rng.choice(short[other])
        position = rng.choice([0, len(paragraphs)])
        paragraphs.insert(position, line)
        labels = [body] * len(paragraphs)
        labels[position] = other
        docs.append(MixedDoc(paragraphs, labels, body))
    return docs


def score_mixed(
    docs: list[MixedDoc], languages: Sequence[str], settings: Settings, names: Sequence[str]
) -> dict[str, Any]:
    """Paragraph-level accuracy and document-level accuracy per detector.

    Stock langdetect is called once per document, as usually done: its one answer
    labels every paragraph. lingua labels each paragraph. Newsflow returns both.
    """
    results: dict[str, Any] = {}
    if not docs:
        return results
    paragraphs_total = sum(len(doc.paragraphs) for doc in docs)
    for name in names:
        para_ok = doc_ok = 0
        started = time.perf_counter()
        if name == "langdetect":
            detect = stock_langdetect()
            for doc in docs:
                code = detect("\n\n".join(doc.paragraphs))
                para_ok += sum(code == label for label in doc.labels)
                doc_ok += code == doc.main
        elif name == "newsflow":
            for doc in docs:
                result = detect_language(
                    doc.paragraphs,
                    min_chars=settings.language_min_chars,
                    min_confidence=settings.language_min_confidence,
                    seed=settings.language_seed,
                )
                para_ok += sum(
                    p.code == label for p, label in zip(result.paragraphs, doc.labels, strict=True)
                )
                doc_ok += result.code == doc.main
        else:
            built = detectors(languages, settings, [name]).get(name)
            if built is None:
                continue
            for doc in docs:
                codes = [built(p) for p in doc.paragraphs]
                para_ok += sum(c == label for c, label in zip(codes, doc.labels, strict=True))
                doc_ok += built("\n\n".join(doc.paragraphs)) == doc.main
        elapsed = time.perf_counter() - started
        results[name] = {
            "paragraph_accuracy": round(para_ok / paragraphs_total, 4),
            "document_accuracy": round(doc_ok / len(docs), 4),
            "ms_per_document": round(1000 * elapsed / len(docs), 2),
        }
    return results


# --- determinism -----------------------------------------------------------------------------


def _run_in_subprocess(texts: list[str], detector: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "texts.json"
        source.write_text(json.dumps(texts), encoding="utf-8")
        env = {**os.environ, "PYTHONHASHSEED": "random"}
        completed = subprocess.run(
            [sys.executable, "-m", "evaluation.determinism", detector, str(source)],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            cwd=Path(__file__).resolve().parents[1],
        )
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def score_determinism(samples: list[Sample], count: int) -> dict[str, Any]:
    """Share of texts with identical (code, confidence) in two separate processes."""
    rng = random.Random(7)
    texts = [s.text for s in rng.sample(samples, min(count, len(samples)))]
    results: dict[str, Any] = {"texts": len(texts)}
    for detector in ("langdetect", "newsflow"):
        first = _run_in_subprocess(texts, detector)["answers"]
        second = _run_in_subprocess(texts, detector)["answers"]
        same = sum(a == b for a, b in zip(first, second, strict=True))
        results[detector] = round(same / max(len(texts), 1), 4)
    return results


def score_memory(samples: list[Sample]) -> dict[str, Any]:
    """Peak RSS of a fresh process running the language stage's detector on one text
    of every language and kind, so that every model it can load is loaded."""
    first: dict[tuple[str, str], str] = {}
    for sample in samples:
        first.setdefault((sample.lang, sample.kind), sample.text)
    child = _run_in_subprocess(list(first.values()), "newsflow")
    return {"texts": len(first), "peak_rss_mb": child["peak_rss_mb"]}


# --- entry point -----------------------------------------------------------------------------


def evaluate(
    data: Path,
    *,
    per_cell: int | None,
    detector_names: Sequence[str],
    mixed_docs: int,
    determinism_texts: int,
    settings: Settings | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    settings = settings or Settings()
    path = data / "langid" / "all.tsv"
    if not path.is_file():
        return {"skipped": f"{path} not found"}
    supported = langdetect_languages()
    all_samples = [s for s in read_samples(path) if s.lang in supported and s.kind in KINDS]
    languages = sorted({s.lang for s in all_samples})
    samples = select(all_samples, per_cell)
    log(f"langid: {len(samples)} texts, {len(languages)} languages, detectors {detector_names}")

    scores: dict[str, Any] = {}
    for name, detect in detectors(languages, settings, detector_names).items():
        started = time.perf_counter()
        scores[name] = score_accuracy(samples, detect)
        log(f"  {name}: {time.perf_counter() - started:.1f}s")
    mixed = score_mixed(
        build_mixed_docs(all_samples, mixed_docs), languages, settings, detector_names
    )
    boilerplate = score_mixed(
        build_boilerplate_docs(all_samples, mixed_docs), languages, settings, detector_names
    )
    determinism = score_determinism(samples, determinism_texts) if determinism_texts else {}
    memory = score_memory(samples)
    log(f"  language stage peak RSS: {memory['peak_rss_mb']} MB")
    return {
        "languages": languages,
        "per_language_and_kind": per_cell,
        "samples": len(samples),
        "detectors": scores,
        "mixed_documents": {"documents": mixed_docs, "detectors": mixed},
        "boilerplate_line": {"documents": mixed_docs, "detectors": boilerplate},
        "determinism": determinism,
        "memory": memory,
    }


# --- news in many languages (news-langid/dev.jsonl) ------------------------------------------


def named_languages() -> set[str]:
    """Codes Newsflow can answer: langdetect's and lingua's languages."""
    from services.language.detect import _LINGUA_CODE_FIXES

    named = langdetect_languages()
    try:
        from lingua import Language
    except ImportError:
        return named
    for language in Language.all():
        code = str(language.iso_code_639_1.name).lower()
        named.add(_LINGUA_CODE_FIXES.get(code, code))
    return named


def news_detectors(settings: Settings, names: Sequence[str]) -> dict[str, Callable[[str], str]]:
    """Whole-article detectors: Newsflow on ingest's paragraphs, stock langdetect, stock
    lingua (all its languages, low-accuracy mode, as the language stage loads it)."""
    from services.ingest.cleaning import clean_article
    from shared.envelope import ArticleInput

    def run_newsflow(text: str) -> str:
        clean = clean_article(ArticleInput(text=text))
        result = detect_language(
            [clean.text[p.start : p.end] for p in clean.paragraphs],
            min_chars=settings.language_min_chars,
            min_confidence=settings.language_min_confidence,
            seed=settings.language_seed,
        )
        return result.code

    built: dict[str, Callable[[str], str]] = {}
    for name in names:
        if name == "newsflow":
            built[name] = run_newsflow
        elif name == "langdetect":
            built[name] = stock_langdetect()
        elif name == "lingua-low":
            try:
                from lingua import LanguageDetectorBuilder
            except ImportError:
                continue
            detector = LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()

            def run_lingua(text: str, detector: Any = detector) -> str:
                language = detector.detect_language_of(text)
                if language is None:
                    return UNDETERMINED
                return normalise_code(str(language.iso_code_639_1.name))

            built[name] = run_lingua
    return built


def score_news(
    articles: list[tuple[str, str]], detect: Callable[[str], str], named: set[str]
) -> dict[str, Any]:
    """Per language: share right, und, wrong; mean right over the named languages; share of
    articles in other languages answered und (or right)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"right": 0, "und": 0, "wrong": 0})
    started = time.perf_counter()
    for lang, text in articles:
        code = detect(text)
        outcome = "right" if code == lang else "und" if code == UNDETERMINED else "wrong"
        counts[lang][outcome] += 1
    elapsed = time.perf_counter() - started
    per_language = {
        lang: {k: round(v / sum(c.values()), 4) for k, v in c.items()} | {"n": sum(c.values())}
        for lang, c in sorted(counts.items())
    }
    known = [v["right"] for lang, v in per_language.items() if lang in named]
    others = [
        (c["und"] + c["right"], sum(c.values())) for lang, c in counts.items() if lang not in named
    ]
    return {
        "per_language": per_language,
        "named_mean_right": round(sum(known) / len(known), 4) if known else None,
        "others_und_or_right": (
            round(sum(a for a, _ in others) / sum(n for _, n in others), 4) if others else None
        ),
        "ms_per_article": round(1000 * elapsed / max(len(articles), 1), 2),
    }


def evaluate_news(
    data: Path,
    *,
    detector_names: Sequence[str] = ("newsflow", "langdetect", "lingua-low"),
    settings: Settings | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    path = data / "news-langid" / "dev.jsonl"
    if not path.is_file():
        return {"skipped": f"{path} not found"}
    articles = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                articles.append((str(row["lang"]), str(row["text"])))
    named = named_languages()
    languages = sorted({lang for lang, _ in articles})
    log(f"news-langid: {len(articles)} articles, {len(languages)} languages")
    scores = {
        name: score_news(articles, detect, named)
        for name, detect in news_detectors(settings or Settings(), detector_names).items()
    }
    return {
        "articles": len(articles),
        "languages": languages,
        "named": [lang for lang in languages if lang in named],
        "detectors": scores,
    }
