"""Paragraph and document language: langdetect and lingua combined, deterministic.

Two detectors with different training data and different errors vote on every
paragraph (a weighted product of their probabilities, measured with make eval):

- langdetect's character 1-3-gram profiles. Short texts are scored with the exact
  naive Bayes product over all their n-grams (langdetect itself samples n-grams at
  random); long ones with langdetect's own seeded sampler, whose cost does not grow
  with length. Profiles are loaded in a fixed order.
- lingua in low-accuracy mode (trigram models, ~0.2 ms a call, ~100 MB): better on
  single words and word pairs, so it weighs more on short texts.

Both are deterministic, so the same text gives the same code and confidence in
every process. The document language is a length-weighted vote of its paragraphs.
"""

import math
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

from shared.envelope import LanguageResult, ParagraphLanguage

UNDETERMINED = "und"

# Legacy or region-tagged codes langdetect (or its profiles) may emit -> ISO 639-1.
_CODE_FIXES = {"iw": "he", "in": "id", "ji": "yi", "jw": "jv"}


def letter_count(text: str) -> int:
    """Letters only: digits, punctuation and whitespace carry no language signal."""
    return sum(1 for ch in text if ch.isalpha())


def is_detectable(text: str, min_chars: int) -> bool:
    return letter_count(text) >= min_chars


def normalise_code(code: str) -> str:
    """'zh-cn'/'zh-tw' -> 'zh'; ISO 639-1 codes pass through lower-cased."""
    primary = code.strip().lower().replace("_", "-").split("-", 1)[0]
    return _CODE_FIXES.get(primary, primary) or UNDETERMINED


@lru_cache(maxsize=1)
def _factory() -> DetectorFactory:
    # Our own factory instead of langdetect's global one, loaded once per process.
    # Profiles are read in sorted order: os.listdir order varies between file
    # systems, and the language index order changes float sums in the detector.
    profiles = sorted(Path(PROFILES_DIRECTORY).iterdir())
    factory = DetectorFactory()
    factory.load_json_profile(
        [p.read_text(encoding="utf-8") for p in profiles if not p.name.startswith(".")]
    )
    return factory


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def detector_name(seed: int) -> str:
    return (
        f"langdetect-{_version('langdetect')}+lingua-{_version('lingua-language-detector')}"
        f"/seed={seed}"
    )


# --- langdetect ----------------------------------------------------------------------------

# Texts with at most this many known n-grams get the exact naive Bayes score;
# longer ones langdetect's sampler (about 2.5 ms whatever the length).
EXACT_MAX_NGRAMS = 600
_ALPHA = 0.5  # langdetect's default smoothing


@lru_cache(maxsize=1)
def _codes() -> tuple[str, ...]:
    return tuple(normalise_code(lang) for lang in _factory().langlist)


@lru_cache(maxsize=20_000)
def _log_probs(ngram: str) -> array:
    weight = _ALPHA / 10_000  # langdetect's alpha / BASE_FREQ
    return array("d", (math.log(p + weight) for p in _factory().word_lang_prob_map[ngram]))


def _sum_by_code(values: Iterable[float]) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for code, value in zip(_codes(), values, strict=True):
        out[code] += value  # zh-cn + zh-tw -> zh
    return dict(out)


def langdetect_probabilities(text: str, seed: int = 0) -> dict[str, float]:
    """{code: probability} over langdetect's languages; {} when it has no n-gram."""
    detector = _factory().create()
    # Seed the detector, not the shared factory class: no global state to race on.
    detector.seed = seed
    detector.append(text)
    detector.cleaning_text()
    ngrams = detector._extract_ngrams()
    if not ngrams:
        return {}
    if len(ngrams) > EXACT_MAX_NGRAMS:
        try:
            detector._detect_block()
        except LangDetectException:
            return {}
        return _sum_by_code(detector.langprob or [])
    totals = [0.0] * len(_codes())
    for ngram in ngrams:
        for j, value in enumerate(_log_probs(ngram)):
            totals[j] += value
    top = max(totals)
    exps = [math.exp(v - top) for v in totals]
    norm = sum(exps)
    return _sum_by_code(e / norm for e in exps)


# --- lingua --------------------------------------------------------------------------------

# lingua's code for Norwegian Bokmål is nb; langdetect (and Newsflow) say no.
_LINGUA_CODE_FIXES = {"nb": "no"}


@lru_cache(maxsize=1)
def _lingua() -> Any:
    """lingua over langdetect's languages (those it knows), low-accuracy mode, or None."""
    try:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder
    except ImportError:  # pragma: no cover - lingua is in the language extra
        return None
    reverse = {v: k for k, v in _LINGUA_CODE_FIXES.items()}
    languages = []
    for code in sorted(set(_codes())):
        iso = getattr(IsoCode639_1, reverse.get(code, code).upper(), None)
        if iso is not None:
            languages.append(Language.from_iso_code_639_1(iso))
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()


def preload() -> None:
    """Load langdetect's profiles and build lingua's detector (once per process)."""
    _factory()
    _lingua()


def lingua_probabilities(text: str) -> dict[str, float]:
    detector = _lingua()
    if detector is None:
        return {}
    out: dict[str, float] = {}
    for value in detector.compute_language_confidence_values(text):
        code = str(value.language.iso_code_639_1.name).lower()
        out[_LINGUA_CODE_FIXES.get(code, code)] = float(value.value)
    return out


# --- combination ---------------------------------------------------------------------------

_EPSILON = 1e-4  # floor for a language one detector gives (almost) nothing
# Weight of langdetect in the log-linear vote, by letters: lingua is the better of the
# two on single words and word pairs, langdetect on sentences. Fitted on texts of
# langid/all.tsv that make eval does not score (a disjoint sample per language and kind).
_WEIGHTS = ((30, 0.3),)
_WEIGHT_LONG = 0.5
# A prior's weight for languages outside the expected set (1.0 inside it).
PRIOR_OUTSIDE = 0.05


def _langdetect_weight(letters: int) -> float:
    for limit, weight in _WEIGHTS:
        if letters < limit:
            return weight
    return _WEIGHT_LONG


def combine(
    langdetect: dict[str, float],
    lingua: dict[str, float],
    letters: int,
    expected: Sequence[str] | None = None,
) -> dict[str, float]:
    """Normalised weighted geometric mean of the two distributions (times the prior)."""
    if not langdetect and not lingua:
        return {}
    weight = _langdetect_weight(letters) if lingua and langdetect else (1.0 if langdetect else 0.0)
    expected_set = {normalise_code(code) for code in expected or ()}
    scores: dict[str, float] = {}
    for code in sorted(set(langdetect) | set(lingua)):
        score = weight * math.log(langdetect.get(code, 0.0) + _EPSILON) + (1 - weight) * math.log(
            lingua.get(code, 0.0) + _EPSILON
        )
        if expected_set and code not in expected_set:
            score += math.log(PRIOR_OUTSIDE)
        scores[code] = score
    top = max(scores.values())
    exps = {code: math.exp(score - top) for code, score in scores.items()}
    norm = sum(exps.values())
    return {code: value / norm for code, value in exps.items()}


def _best_language(
    text: str, seed: int, expected: Sequence[str] | None = None
) -> tuple[str, float] | None:
    """Top (code, probability) for text, or None when nothing can decide."""
    probabilities = combine(
        langdetect_probabilities(text, seed),
        lingua_probabilities(text),
        letter_count(text),
        expected,
    )
    if not probabilities:
        return None
    # Highest probability; ties (rare) to the lower code: deterministic.
    code = min(probabilities, key=lambda c: (-probabilities[c], c))
    return code, round(probabilities[code], 4)


# A paragraph shorter than min_chars letters (a few words: a caption, a short line)
# is decided with this confidence instead of min_confidence: on a word or two the
# combined probability is spread over close languages, yet right about 70% of the
# time above it (make eval); below it, "und".
SHORT_MIN_CONFIDENCE = 0.2
# Under this many letters (an initial, "OK", a symbol) only a near-certain answer.
TINY_LETTERS = 3
TINY_MIN_CONFIDENCE = 0.9


def detect_paragraph(
    text: str,
    *,
    min_chars: int = 20,
    min_confidence: float = 0.2,
    seed: int = 0,
    expected: Sequence[str] | None = None,
) -> tuple[str, float]:
    """(code, confidence) of one paragraph, or ("und", 0.0) when not sure enough.

    At least `min_chars` letters: needs `min_confidence`. Fewer: needs
    SHORT_MIN_CONFIDENCE, and under TINY_LETTERS letters TINY_MIN_CONFIDENCE
    (a unique script, e.g. "日本"). Digits and symbols alone are never a language.
    `expected` (ISO 639-1 codes) is a prior: other languages need stronger evidence.
    """
    letters = letter_count(text)
    if letters == 0:
        return UNDETERMINED, 0.0
    best = _best_language(text, seed, expected)
    if best is None:
        return UNDETERMINED, 0.0
    if letters >= min_chars:
        threshold = min_confidence
    elif letters >= TINY_LETTERS:
        threshold = SHORT_MIN_CONFIDENCE
    else:
        threshold = TINY_MIN_CONFIDENCE
    if best[1] < threshold:
        return UNDETERMINED, 0.0
    return best


def vote(paragraphs: list[tuple[str, float, int]]) -> tuple[str, float]:
    """Length-weighted vote over (code, confidence, letters) of the paragraphs.

    Weight = letters x confidence, so a short line in another language (a
    subscription footer, a quoted phrase) cannot outvote the body. Returns the
    winning code and its share of the total weight, or ("und", 0.0).
    """
    weights: dict[str, float] = defaultdict(float)
    first_seen: dict[str, int] = {}
    for position, (code, confidence, letters) in enumerate(paragraphs):
        if code == UNDETERMINED or confidence <= 0 or letters <= 0:
            continue
        weights[code] += letters * confidence
        first_seen.setdefault(code, position)
    total = sum(weights.values())
    if total <= 0:
        return UNDETERMINED, 0.0
    # Ties (rare with float weights) go to the language seen first: deterministic.
    code = min(weights, key=lambda c: (-weights[c], first_seen[c]))
    return code, round(weights[code] / total, 4)


def detect_language(
    paragraphs: list[str],
    *,
    min_chars: int = 20,
    min_confidence: float = 0.2,
    seed: int = 0,
    expected: Sequence[str] | None = None,
) -> LanguageResult:
    """Language of each paragraph and of the document (ISO 639-1, or "und")."""
    results: list[ParagraphLanguage] = []
    ballots: list[tuple[str, float, int]] = []
    for index, paragraph in enumerate(paragraphs):
        code, confidence = detect_paragraph(
            paragraph,
            min_chars=min_chars,
            min_confidence=min_confidence,
            seed=seed,
            expected=expected,
        )
        results.append(ParagraphLanguage(index=index, code=code, confidence=confidence))
        ballots.append((code, confidence, letter_count(paragraph)))

    code, confidence = vote(ballots)
    if code == UNDETERMINED and len(paragraphs) > 1:
        # Many short paragraphs (a list, a photo caption feed) may each be too
        # short but decidable together: one try on the joined text.
        code, confidence = detect_paragraph(
            "\n\n".join(paragraphs),
            min_chars=min_chars,
            min_confidence=min_confidence,
            seed=seed,
            expected=expected,
        )
    return LanguageResult(
        code=code, confidence=confidence, paragraphs=results, detector=detector_name(seed)
    )


__all__ = [
    "UNDETERMINED",
    "combine",
    "detect_language",
    "detect_paragraph",
    "detector_name",
    "is_detectable",
    "langdetect_probabilities",
    "letter_count",
    "lingua_probabilities",
    "normalise_code",
    "vote",
]
