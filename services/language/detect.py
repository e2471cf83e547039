"""Paragraph and document language with langdetect, made deterministic.

langdetect samples n-grams at random; with a fixed seed and profiles loaded in a
fixed order, the same text gives the same code and confidence in every process.
"""

from collections import defaultdict
from functools import lru_cache
from importlib import metadata
from pathlib import Path

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


@lru_cache(maxsize=1)
def _langdetect_version() -> str:
    try:
        return metadata.version("langdetect")
    except metadata.PackageNotFoundError:
        return "unknown"


def detector_name(seed: int) -> str:
    return f"langdetect-{_langdetect_version()}/seed={seed}"


def _best_language(text: str, seed: int) -> tuple[str, float] | None:
    """Top (code, probability) for text, or None when langdetect cannot decide."""
    detector = _factory().create()
    # Seed the detector, not the shared factory class: no global state to race on.
    detector.seed = seed
    try:
        detector.append(text)
        probabilities = detector.get_probabilities()
    except LangDetectException:
        return None
    if not probabilities:
        return None
    best = probabilities[0]
    return normalise_code(best.lang), round(float(best.prob), 4)


def detect_paragraph(
    text: str, *, min_chars: int = 20, min_confidence: float = 0.5, seed: int = 0
) -> tuple[str, float]:
    """(code, confidence) of one paragraph; ("und", 0.0) if too short or undecidable."""
    if not is_detectable(text, min_chars):
        return UNDETERMINED, 0.0
    best = _best_language(text, seed)
    if best is None or best[1] < min_confidence:
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
    min_confidence: float = 0.5,
    seed: int = 0,
) -> LanguageResult:
    """Language of each paragraph and of the document (ISO 639-1, or "und")."""
    results: list[ParagraphLanguage] = []
    ballots: list[tuple[str, float, int]] = []
    for index, paragraph in enumerate(paragraphs):
        code, confidence = detect_paragraph(
            paragraph, min_chars=min_chars, min_confidence=min_confidence, seed=seed
        )
        results.append(ParagraphLanguage(index=index, code=code, confidence=confidence))
        ballots.append((code, confidence, letter_count(paragraph)))

    code, confidence = vote(ballots)
    if code == UNDETERMINED:
        # Many short paragraphs (a list, a photo caption feed) may each be too
        # short but decidable together: one try on the joined text.
        code, confidence = detect_paragraph(
            "\n\n".join(paragraphs),
            min_chars=min_chars,
            min_confidence=min_confidence,
            seed=seed,
        )
    return LanguageResult(
        code=code, confidence=confidence, paragraphs=results, detector=detector_name(seed)
    )


__all__ = [
    "UNDETERMINED",
    "detect_language",
    "detect_paragraph",
    "detector_name",
    "is_detectable",
    "letter_count",
    "normalise_code",
    "vote",
]
