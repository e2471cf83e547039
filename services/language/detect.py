"""Paragraph and document language: langdetect and lingua combined, deterministic.

Two detectors with different training data and different errors vote on every
paragraph (a weighted product of their probabilities, measured with make eval):

- langdetect's character 1-3-gram profiles, scored with the exact naive Bayes product
  (langdetect itself samples n-grams at random): over all the n-grams of a short text,
  over EXACT_MAX_NGRAMS of them spread evenly over a long one, so that the cost does
  not grow with length. Profiles are loaded in a fixed order. The n-grams are
  langdetect's own, extracted word by word (services/language/ngrams.py).
- lingua in low-accuracy mode (trigram models, about 1 ms a call, ~100 MB): better on
  single words and word pairs, so it weighs more on short texts. A long paragraph on
  which langdetect is already certain is not given to lingua
  (LANGDETECT_ALONE_LETTERS): there the two agree, and lingua is the dearer; nor is a
  sentence langdetect is as sure is in the document's language (AGREED_ALONE_LETTERS).

Both are deterministic, so the same text gives the same code and confidence in
every process. The document language is a length-weighted vote of its paragraphs.
"""

import math
import re
import unicodedata
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache, partial
from importlib import metadata
from pathlib import Path
from typing import Any

from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

from services.language import ngrams as ngrams_of
from shared.envelope import LanguageResult, ParagraphLanguage

UNDETERMINED = "und"

# Legacy or region-tagged codes langdetect (or its profiles) may emit -> ISO 639-1.
_CODE_FIXES = {"iw": "he", "in": "id", "ji": "yi", "jw": "jv"}


def letter_count(text: str) -> int:
    """Letters only: digits, punctuation and whitespace carry no language signal."""
    return sum(n for ch, n in _char_counts(text).items() if ch.isalpha())


@lru_cache(maxsize=64)
def _char_counts(text: str) -> dict[str, int]:
    """How often each character occurs (the few paragraphs in hand are asked again and
    again: letters, scripts). Read only."""
    return Counter(text)


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


@cache
def _version(package: str) -> str:
    # Read once per process: importlib.metadata parses the package's METADATA each call
    # (milliseconds a call: 7% of the stage on the bench articles, profiled).
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

# Texts with more known n-grams than this (about 200 letters) are scored on this many
# of them, spread evenly over the text (the seed shifts which): the cost stays bounded.
# It replaced langdetect's random sampler (7 trials of up to 10,000 draws, in Python:
# 60% of the stage on the bench articles); make eval figures did not fall.
EXACT_MAX_NGRAMS = 600
_ALPHA = 0.5  # langdetect's default smoothing


@lru_cache(maxsize=1)
def _codes() -> tuple[str, ...]:
    return tuple(normalise_code(lang) for lang in _factory().langlist)


@lru_cache(maxsize=20_000)
def _log_probs(ngram: str) -> "array[float]":
    weight = _ALPHA / 10_000  # langdetect's alpha / BASE_FREQ
    return array("d", (math.log(p + weight) for p in _factory().word_lang_prob_map[ngram]))


def _sum_by_code(values: Iterable[float]) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for code, value in zip(_codes(), values, strict=True):
        out[code] += value  # zh-cn + zh-tw -> zh
    return dict(out)


@lru_cache(maxsize=1)
def _known_ngrams() -> frozenset[str]:
    return frozenset(_factory().word_lang_prob_map)


def spread_sample(items: Sequence[str], size: int, seed: int = 0) -> list[str]:
    """`size` of the items, evenly spread from first to last (all when no more); the
    seed shifts the positions (seed 0 takes the first item)."""
    n = len(items)
    if n <= size:
        return list(items)
    return [items[(i * n + seed) // size % n] for i in range(size)]


def langdetect_probabilities(text: str, seed: int = 0) -> dict[str, float]:
    """{code: probability} over langdetect's languages; {} when it has no n-gram."""
    prepared = ngrams_of.prepare(text)
    ngrams = ngrams_of.extract_ngrams(prepared, _known_ngrams())
    if not ngrams:
        return {}
    if len(ngrams) > EXACT_MAX_NGRAMS:
        ngrams = spread_sample(ngrams, EXACT_MAX_NGRAMS, seed)
    # Per language, the sum of its log-probabilities over the n-grams, in their order
    # (zip and sum run in C: the same sums as a loop, a tenth of the time).
    totals = [sum(column) for column in zip(*map(_log_probs, ngrams), strict=True)]
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


@lru_cache(maxsize=1)
def _lingua_all() -> Any:
    """lingua over all its languages (75), low-accuracy mode, or None.

    It names languages langdetect lacks (Yoruba, Xhosa, Zulu, Shona, Ganda...).
    """
    try:
        from lingua import LanguageDetectorBuilder
    except ImportError:  # pragma: no cover - lingua is in the language extra
        return None
    return LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()


def preload() -> None:
    """Load langdetect's profiles and build lingua's detectors (once per process)."""
    _factory()
    _lingua()
    _lingua_all()


def lingua_probabilities(text: str, *, all_languages: bool = False) -> dict[str, float]:
    """{code: confidence} from lingua over langdetect's languages, or over all its own."""
    detector = _lingua_all() if all_languages else _lingua()
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
# A paragraph of this many letters or more on which langdetect is this sure is not
# scored by lingua too (lingua costs more than langdetect there, and on such paragraphs
# the two agree): it gets langdetect's answer. make eval figures were checked unchanged.
LANGDETECT_ALONE_LETTERS = 200
LANGDETECT_ALONE_PROBABILITY = 0.9999
# A shorter paragraph (from this many letters: a sentence) on which langdetect is as sure
# is not scored by lingua either when its language is the document's, the one langdetect
# is that sure of on over half of the document's letters (certain_language): the body of
# an article agrees with itself; a foreign line is still scored by both.
AGREED_ALONE_LETTERS = 30
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
    text: str, seed: int, expected: Sequence[str] | None = None, agreed: str | None = None
) -> tuple[str, float] | None:
    """Top (code, probability) for text, or None when nothing can decide. `agreed`: the
    document's language by langdetect (certain_language), see AGREED_ALONE_LETTERS."""
    letters = letter_count(text)
    langdetect = _langdetect_cached(text, seed)
    top = min(langdetect, key=lambda c: (-langdetect[c], c)) if langdetect else None
    certain = top is not None and langdetect[top] >= LANGDETECT_ALONE_PROBABILITY
    alone = certain and (
        letters >= LANGDETECT_ALONE_LETTERS
        or (agreed is not None and top == agreed and letters >= AGREED_ALONE_LETTERS)
    )
    lingua = {} if alone else lingua_probabilities(text)
    probabilities = combine(langdetect, lingua, letters, expected)
    if not probabilities:
        return None
    # Highest probability; ties (rare) to the lower code: deterministic.
    code = min(probabilities, key=lambda c: (-probabilities[c], c))
    return code, round(probabilities[code], 4)


@lru_cache(maxsize=256)
def _langdetect_cached(text: str, seed: int) -> dict[str, float]:
    """langdetect_probabilities, kept for the paragraphs in hand (certain_language asks
    first, _best_language then). Read only."""
    return langdetect_probabilities(text, seed)


def certain_language(paragraphs: Sequence[str], seed: int = 0) -> str | None:
    """The language langdetect is certain of (LANGDETECT_ALONE_PROBABILITY) on over half
    of the document's letters, else None."""
    weights: dict[str, int] = defaultdict(int)
    total = 0
    for text in paragraphs:
        letters = letter_count(text)
        total += letters
        if letters < AGREED_ALONE_LETTERS:
            continue
        probabilities = _langdetect_cached(text, seed)
        if probabilities:
            code = min(probabilities, key=lambda c: (-probabilities[c], c))
            if probabilities[code] >= LANGDETECT_ALONE_PROBABILITY:
                weights[code] += letters
    for code, letters in weights.items():
        if 2 * letters > total:
            return code
    return None


# --- honesty: is the best language really the text's language? -----------------------------
#
# Both detectors always name one of their languages, even for a text in a language they
# do not know (Hausa comes back as Indonesian, Oromo as Somali). Three checks, none fitted
# to particular languages, turn such answers into "und" with a reason:
#
# - script: most letters in a script no supported language is written in (Ethiopic, Sinhala).
# - fit: how surprising the text's letter trigrams are under langdetect's profile of the
#   best language (mean -log P, capitalised words skipped: names belong to no language),
#   minus that language's norm, the median on texts in the language. A text in the
#   language scores about 0; in an unknown relative, 1 to 3 (nats per trigram).
#   Checked on texts of news-paragraph length and on the document's text as a whole.
# - a language only lingua knows is named only when the text fits no langdetect language,
#   lingua is confident and its answer is stable over the text's windows of words (an
#   unknown language spreads over its neighbours: Hausa windows go yo / id / ms / sn),
#   or when the text's letters are that language's and not the closest one's (ALPHABETS).
# - function words: a long text in a language's close relative can fit its trigrams
#   (Nigerian Pidgin fits English) but not its most frequent words (Pidgin says "di",
#   "dey", "wey" for "the", "is", "that"). From FUNCTION_WORDS_MIN_WORDS words, a text
#   whose share of the language's FUNCTION_WORDS is under FUNCTION_WORDS_MARGIN times
#   that language's floor (the share 99% of its own texts of that length reach) does not
#   fit it either.

REASON_NO_LETTERS = "no_letters"
REASON_NO_SIGNAL = "no_signal"
REASON_LOW_CONFIDENCE = "low_confidence"
REASON_SCRIPT = "unsupported_script"  # + ":<script>", e.g. "unsupported_script:ethiopic"
REASON_UNKNOWN = "unknown_language"  # + ":closest=<code>"

# Scripts (first word of a letter's Unicode name) of the languages the detectors know.
SUPPORTED_SCRIPTS = frozenset(
    [
        "LATIN",
        "CYRILLIC",
        "GREEK",
        "ARABIC",
        "HEBREW",
        "DEVANAGARI",
        "BENGALI",
        "GURMUKHI",
        "GUJARATI",
        "TAMIL",
        "TELUGU",
        "KANNADA",
        "MALAYALAM",
        "THAI",
        "CJK",
        "HIRAGANA",
        "KATAKANA",
        "HANGUL",
        "ARMENIAN",
        "GEORGIAN",
    ]
)
# Names of letters that belong to no one script ("MODIFIER LETTER APOSTROPHE", ...).
_NEUTRAL_SCRIPTS = frozenset({"MODIFIER", "FULLWIDTH", "HALFWIDTH", "COMBINING"})

# Fit thresholds (nats per trigram above the norm). From FIT_MIN_TRIGRAMS trigrams
# (about 250 letters: a news paragraph) a text scoring FIT_MAX fits no langdetect
# language: a language only lingua knows, else "und". From FIT_SHORT_TRIGRAMS, a
# sentence scoring FIT_MAX_SHORT may go to a language only lingua knows, never to "und":
# on a sentence the score varies too much (Japanese, Hebrew, Greek sentences of make
# eval failed 1.5). Fitted on the even articles of news-langid/dev.jsonl and langid/all.tsv
# texts make eval does not score; checked on the odd articles.
FIT_MIN_TRIGRAMS = 200
FIT_MAX = 0.9
FIT_SHORT_TRIGRAMS = 30
FIT_MAX_SHORT = 1.5
_FIT_FLOOR = 1e-6
# A language only lingua knows: its confidence, window size (words) and share of windows.
LINGUA_ONLY_MIN_CONFIDENCE = 0.9
WINDOW_WORDS = 20
WINDOW_MIN_SHARE = 0.5
# Unstable windows (a Yoruba text without tone marks reads as Tagalog, Swahili, Yoruba by
# turns): lingua's answer for the whole text still stands when the letters the text uses
# (this share of its letters or more: a stray letter of a name or loanword does not
# count) are all in that language's ALPHABETS and not all in those of the langdetect
# language the text came closest to. Fitted on the even articles of news-langid/dev.jsonl
# (0.002 to 0.005 keep every other language out, 0.01 lets a Hausa article in as Yoruba);
# checked on the odd ones.
TEXT_LETTER_MIN_SHARE = 0.005

_WORD_RE = re.compile(r"\w+")
_LETTERS_RE = re.compile(r"[^\W\d_]+")

# Function words: the FUNCTION_WORDS_TOP most frequent words of each language and the
# floor of their share (python -m evaluation.calibrate, below), checked from
# FUNCTION_WORDS_MIN_WORDS words (short texts and headlines never are) against
# FUNCTION_WORDS_MARGIN x floor. Margin fitted on the even articles of
# news-langid/dev.jsonl (news in the named languages >= 0.88 x floor: Swahili, English
# >= 1.04; Nigerian Pidgin <= 0.66 but one article, 0.86); checked on the odd ones
# (named >= 0.95, Pidgin <= 0.73).
FUNCTION_WORDS_TOP = 40
FUNCTION_WORDS_MIN_WORDS = 100
FUNCTION_WORDS_MARGIN = 0.75

# Median fit (nats per trigram) of langdetect's profile of each language on 300-character
# paragraphs of langid/all.tsv sentences in that language that make eval does not score
# (python -m evaluation.calibrate). Languages without a norm are not fit-checked.
FIT_NORMS: dict[str, float] = {
    "af": 7.273,
    "ar": 8.47,
    "bg": 7.857,
    "bn": 11.845,
    "ca": 7.041,
    "cs": 8.535,
    "cy": 7.024,
    "da": 7.62,
    "de": 7.237,
    "el": 8.237,
    "en": 7.412,
    "es": 7.208,
    "et": 7.458,
    "fa": 8.047,
    "fi": 7.507,
    "fr": 7.272,
    "gu": 12.73,
    "he": 8.378,
    "hi": 12.036,
    "hr": 7.804,
    "hu": 8.516,
    "id": 7.086,
    "it": 7.08,
    "ja": 8.773,
    "ko": 12.249,
    "lt": 7.657,
    "lv": 7.752,
    "mk": 7.507,
    "mr": 12.287,
    "nl": 7.434,
    "pa": 12.181,
    "pl": 8.264,
    "pt": 7.501,
    "ro": 7.247,
    "ru": 8.492,
    "sk": 8.528,
    "sl": 7.525,
    "so": 6.908,
    "sq": 7.394,
    "sv": 7.833,
    "sw": 7.282,
    "ta": 12.533,
    "te": 12.378,
    "th": 11.463,
    "tl": 6.544,
    "tr": 8.056,
    "uk": 8.567,
    "ur": 8.056,
    "vi": 6.741,
    "zh": 13.816,
}

# Most frequent words of each language, and the floor of their share of the words
# of a text of FUNCTION_WORDS_MIN_WORDS words (python -m evaluation.calibrate).
# Letters of each language's words (python -m evaluation.calibrate).
ALPHABETS: dict[str, str] = {
    "af": "abcdefghijklmnoprstuvwyêë",
    "ar": "ءآأؤإئابةتثجحخدذرزسشصضطظعغـفقكلمنهوىي",
    "az": "abcdefghiklmnopqrstuvxyzçöüğışəаә",
    "be": "iабвгдежзйклмнопрстуфхцчшыьэюяёіў",
    "bg": "абвгдежзийклмнопрстуфхцчшщъюя",
    "bn": "অআইউএওকখগঘঙচছজঝঞটঠডণতথদধনপফবভমযরলশষসহৎড়য়",
    "bs": "abcdefghijklmnoprstuvzćčđšž",
    "ca": "abcdefghijlmnopqrstuvwxyzàçèéíòóú",
    "cs": "abcdefghijklmnoprstuvxyzáéíúýąčěľňřšůž",
    "cy": "abcdefghiklmnoprstuwyâãå",
    "da": "abcdefghijklmnoprstuvyåæø",
    "de": "abcdefghijklmnoprstuvwzßäöü",
    "el": "eoάέήίαβγδεζηθικλμνξοπρςστυφχψωόύώ",
    "en": "abcdefghijklmnopqrstuvwxyz",
    "eo": "abcdefghijklmnoprstuvxzĉĝĵŝŭ",
    "es": "abcdefghijlmnopqrstuvxyz",
    "et": "abdefghijklmnoprstuväõöü",
    "eu": "abcdefghijklmnoprstuxz",
    "fa": "آئابتثجحخدذرزسشصضطظعغفقلمنهويپچژکگی",
    "fi": "adefghijklmnoprstuvyäö",
    "fr": "abcdefghijlmnopqrstuvxyzàâèéêîô",
    "ga": "abcdefghilmnoprstuáéíóú",
    "gu": "acdefhilmnoprstઅઆઇઈઉએઓકખગઘચછજઝઞટઠડઢણતથદધનપફબભમયરલળવશષસહ",
    "he": "אבגדהוזחטיךכלםמןנסעףפץצקרשת",
    "hi": "aimotअआइईउएऐओऔकखगघचछजझञटठडढणतथदधनपफबभमयरलवशषसहड़",
    "hr": "abcdefghijklmnoprstuvzćčđšž",
    "hu": "abcdefghijklmnoprstuvyzáéíóõöúûüőű",
    "hy": "aաբգդեզէըթժիլխծկհձղճմյնշոչպջռսվտրցւփքօֆև",
    "id": "abcdefghijklmnoprstuvwy",
    "is": "abcdefghijklmnoprstuvxyáæéíðóöúýþ",
    "it": "abcdefghilmnopqrstuvzàèìù",
    "ka": "აბგდევზთიკლმნოპჟრსტუფქღყშჩცძწჭხჯჰ",
    "kk": "iабвгдежзийклмнопрстуфхцшыьэяіғқңүұәө",
    "la": "abcdefghiklmnopqrstuvxyâ",
    "lg": "abdefghijklmnoprstuvwyzâ",
    "lt": "abcdefghijklmnoprstuvyząčėęįšūųž",
    "lv": "abcdefghijklmnoprstuvzāēģīķļņšūž",
    "mi": "aeghiklmnoprstuwāēīōū",
    "mk": "eабвгдежзиклмнопрстуфхцчшѓјњќ",
    "mn": "vабвгдежзийклмнопрстухцчшыьэюяёїүө",
    "mr": "otअआइईउऊएकखगघचछजझञटठडढणतथदधनपफबभमयरऱलळवशषसह",
    "ms": "abcdefghijklmnoprstuvwy",
    "nl": "abcdefghijklmnoprstuvwxyz",
    "nn": "abcdefghijklmnoprstuvyåæòø",
    "pa": "ਅਆਇਈਉਊਏਐਓਕਖਗਘਚਛਜਝਟਠਡਢਣਤਥਦਧਨਪਫਬਭਮਯਰਲਵਸ਼ਸਹਜ਼ੜਫ਼",
    "pl": "abcdefghijklmnoprstuwyzóąćęłńśźż",
    "pt": "abcdefghijlmnopqrstuvxzàáãçéêíóõú",
    "ro": "abcdefghijlmnoprstuvxz½âîïăďşţż",
    "ru": "абвгдежзийклмнопрстуфхцчшщыьэюя",
    "sk": "abcdefghijklmnoprstuvxyzáäéíóôúýčďľňšťž",
    "sl": "abcdefghijklmnoprstuvzčšž",
    "sn": "abcdefghijklmnoprstuvwyz",
    "so": "abcdefghijklmnoqrstuwxy",
    "sq": "abcdefghijklmnopqrstuvxyzçë",
    "sr": "hmsабвгдежзиклмнопрстуфхцчшђјљњћ",
    "st": "abcdefghijklmnopqrstuwy",
    "sv": "abcdefghijklmnoprstuvxyäåö",
    "sw": "abcdefghijklmnoprstuvwyz",
    "ta": "eintஃஅஆஇஉஊஎஏஒஓகஙசஜஞடணதநனபமயரறலளழவஷஸஹ",
    "te": "అఆఇఈఉఎఏఐఒకఖగఘచజఞటడణతథదధనపఫబభమయరలళవశషసహ",
    "th": "aetกขคงจฉชซญฎฏฐฒณดตถทธนบปผฝพฟภมยรฤลวศษสหอฯะาำเแโใไ",
    "tl": "abcdefghiklmnoprstuwy",
    "tn": "abdefghijklmnoprstuwy",
    "tr": "abcdefghijklmnoprstuvyzçðöüýþğış",
    "ts": "abcdefghijklmnoprstuvwxyz",
    "uk": "iабвгдежзийклмнопрстуфхцчшщьюяєії",
    "ur": "efilmnorsآئابتثجحخدذرزسشصضطظعغفقلمنويٹپچڈڑکگںھہیے",
    "vi": ("abcdeghiklmnopqrstuvxyàáâãéêìíòóôùúýăđĩũơưạảấầẩẫậắằặẹẻẽếềểễệỉịọỏốồổỗộớờởợụủứừửữự"),
    "xh": "abcdefghijklmnopqrstuvwxyz",
    "yo": "abcdefghijklmnoprstuwyàáèéìíòóùúńṣẹọ",
    "zu": "abcdefghijklmnopqrstuvwxyz",
}

FUNCTION_WORDS: dict[str, str] = {
    "af": (
        "aan as by daar dat deur die dit ek en gaan het hierdie hulle hy in is jou jy "
        "kan maar met my n na nie om ons ook oor op sal se sy te van vir was wat word"
    ),
    "ar": (
        "أن أو إلى إن ا التي الحلقة الذي العمل الله الى اون بعد بعض بين ذلك على عن في "
        "قد كان كل كما لا لاين لم م ما مباشرة مسلسل مشاهدة مع من هذا هذه هو هي و ي "
        "يوتيوب"
    ),
    "bg": (
        "а бъде българия в вече всички г да до е един за и или има като които който "
        "към му на най не но от още по през при с са се си след те това той трябва че "
        "ще"
    ),
    "bn": (
        "অন আপন আম ই এব ও ক কর করত খ গ চ ছ জ জন ট ড ত থ দ ধ ন প পর ব ভ ম মন য র রত ল "
        "শ ষ স সম হ হব হয় য়"
    ),
    "ca": (
        "a al altres amb aquest aquesta col com d de del dels el els en es fer ha han "
        "hi i l la les més no o on per que s se ser si també tot un una va és"
    ),
    "cs": (
        "a aby ale bude by byl bylo co do i jak jako je jeho jen jsem jsou k která "
        "které který na nebo o od po pro při s se si tak také to u v ve z za že"
    ),
    "cy": (
        "a ac afon am ar cael cymru ei enw eu fe fel fod gan gyda hefyd hyd i l mae "
        "mewn n neu o oedd ond r rhwng roedd sy tua un wedi y ym yn yng yr yw ã"
    ),
    "da": (
        "af at blev de den der det du eller en er et for fra han har her hvor i ikke "
        "jeg kan man mange med men når og også om på skal som så til var ved vi vil "
        "være"
    ),
    "de": (
        "aber als am an auch auf aus bei das dem den der des die ein eine einem einer "
        "er es für ich im in ist mit nach nicht nur oder sich sie sind und von werden "
        "wie wir wird zu"
    ),
    "el": (
        "ένα έχει ή ήταν αλλά αν από αυτό για δεν είναι η θα και μ μας με μια να ο οι "
        "που σας σε στα στη στην στις στο τα τη την της τις το τον του τους των ότι"
    ),
    "en": (
        "a after all an and are as at be but by can for from has have he i if in is "
        "it not of on or s that the their they this to was we which will with you "
        "your"
    ),
    "es": (
        "a al como con de del educacin el en es esta este ha la las lo los ms muy no "
        "noticias o para pero por que relacionadas se ser si son su sus te todo tu un "
        "una y ya"
    ),
    "et": (
        "aga eesti ei et hea ja juba ka kas kes kui kuid kõik ma mida midagi mis nii "
        "ning nüüd ole oleks olema oli oma on pole saab seda see sest siis ta tuleb "
        "veel väga või võib ära üle"
    ),
    "fa": (
        "آن از است اند او ای ایران این با باشد بر برای به بود بوده تا خود دارد در را "
        "سال شد شده شهر شود عنوان قرار می نام نیز ها های و واقع کرد کند که یا یک یکی"
    ),
    "fi": (
        "aikana ei eikä eli että hyvin hän ja jo joka jos jossa koko kuin kuitenkin "
        "kun kuuluu lisäksi mukaan mutta myös n niiden niin noin ole oli ollut on "
        "ovat se sekä sen siten suomen tai tämä voi vuoden vuonna"
    ),
    "fr": (
        "a au avec c ce cette d dans de des du en est et il l la le les mais n ne "
        "nous on ou par pas plus pour qu que qui s se sont sur un une à être"
    ),
    "gu": (
        "અન આ આવ એક ઓ ક કર ખ ગ ગમ ચ છ જ ટ ડ ણ ત થ દ ધ ન પ પર ફ બ ભ મ મન ય યન ર રત લ વ શ શન ષ સ હ હત"
    ),
    "he": (
        "או אותו אחד אך אשר את ב ביותר בין בית בשנת ג גם ה הוא היא היה היו הייתה הם "
        "הן ו זה זו ידי יותר יש כ כאשר כדי כי כל ל לא לאחר מספר עד על עם של"
    ),
    "hi": (
        "अपन इस ई ए एक और क कर करन ख ग च छ ज ट ड त थ द ध न नह प पर फ ब भ म य यह र रत "
        "रह ल व वह श ष स ह"
    ),
    "hr": (
        "a ali bi bio biti da dana do godina godine i ili iz je kako kao koja koje "
        "koji mogu na nakon ne o od po prema s sa se su sve tako te to u uz za će što"
    ),
    "hu": (
        "a aki amely az azt be csak de egy el ez ezt ha hogy is kell ki két lehet "
        "magyar majd meg mert minden mint már még nagy nagyon nem pedig s sem után "
        "vagy van volt én és így"
    ),
    "id": (
        "ada adalah agung akan aku anak anda atau bahwa beberapa dalam dan dapat dari "
        "dengan di ia ini itu juga karena ke kemudian ki lebih maka menjadi mereka "
        "namun oleh orang pada pun sebagai sudah telah tetapi tidak untuk yang"
    ),
    "it": (
        "a al all alla anche che con d da dal dei del dell della delle di e gli ha i "
        "il in l la le ma marino nel non per più rimini san si sono stato sul un una "
        "è"
    ),
    "ko": (
        "가 개 것 것으로 것은 것이 것이다 고 그러나 년 는 대한 대해 더 뒤 등 또 를 만 "
        "말했다 미국 밝혔다 수 억 월 위해 을 의 이 이날 일 있는 있다 전 지난 최근 한 "
        "한다 함께 했다"
    ),
    "lt": (
        "apie ar arba bei bet buvo būti daug gali galima iki ir iš jau jie jis jūsų "
        "jų kad kai kaip lietuvos m metu mūsų ne nuo o pat per po prie savo su tai "
        "taip tik turi yra į"
    ),
    "lv": (
        "ar arī bet bija būs es gada gan ir ja jau jo ka kad kas ko kā lai latvijas "
        "līdz man mums mūsu nav ne no par pēc savu tad tas tiek tikai to tā un uz vai "
        "var vēl"
    ),
    "mk": (
        "а беше бил била биле во време ги го година да дека до други е за и или има "
        "како кои кој која може на не но од по под поради се со според така тоа тој "
        "што ја ќе"
    ),
    "mr": (
        "अस असत आण आह क कर करण ख ग घ च ज झ ट ठ ड ण त तर थ द ध न प पर फ ब भ म य र ल ळ "
        "व वर श ष स सर ह"
    ),
    "nl": (
        "aan als bij dat de deze die dit door een eerst en er familie het hij in is "
        "maar met na naam naar niet of om ook op te tot uit van voor was werd worden "
        "wordt ze zich zijn"
    ),
    "pa": (
        "ਅ ਅਤ ਆ ਆਪਣ ਇ ਇਸ ਇਹ ਈ ਕ ਕਰ ਕਰਨ ਖ ਗ ਘ ਚ ਜ ਟ ਡ ਣ ਤ ਤਰ ਥ ਦ ਧ ਨ ਨਹ ਪ ਫ ਬ ਭ ਮ ਰ ਰਹ "
        "ਲ ਲਈ ਵ ਸ਼ ਸ ਹ ਹਨ"
    ),
    "pl": (
        "a ale bo być będzie co czy dla do i ich jak jednak jego jest już które który "
        "ma na nie o od oraz po przez przy roku się są tego tej też to tylko tym w z "
        "za że"
    ),
    "pt": (
        "a ao as cabo com como da das de do dos e em foi já mais mas muito na no nos "
        "não o os ou para pelo por que se ser seu sua também tem um uma verde à é"
    ),
    "ro": (
        "a acest al am au ca care ce cu că dar de din este fi fost i in la mai n ne "
        "nu o pe pentru poate prin s sa sau se si sunt să un va în ďż şi"
    ),
    "ru": (
        "а был были было в все для до его ее если еще же за и из или их к как мне мы "
        "на не ни но о он они от по с так то только ты у что это я"
    ),
    "sk": (
        "a aby aj ako ale alebo bola by do ho ich je jeho k keď ktoré ktorý len na "
        "nie o od po pre pri s sa si sme som sú tak to už v vo z za čo že"
    ),
    "sl": (
        "ali bi bo da do ga in iz je kar ki ko kot lahko med na ne ni o od pa po pri "
        "s se sem si smo so tako tem ter to tudi v z za če še že"
    ),
    "so": (
        "aad aan ah ahaa ahaan ama ay ayaa badan dadka dalka ee in iyo ka kala kale "
        "ku la laga lagu leh loo mid oo si sida soo tahay u ugu uu waa wax waxa waxaa "
        "waxaana waxay wuxuu yahay"
    ),
    "sq": (
        "ai ajo deri dhe do duke e edhe gjatë i ishte janë ka kjo ku këtë me mund më "
        "ne nga një nuk në pas por prej për që se shumë si së te tij tyre të u vitin "
        "është"
    ),
    "sv": (
        "alla andra att av de den det detta du där eller en ett finns från för han "
        "har här i inte jag kan man med men när och olika om på sig ska som så till "
        "var vi vid är"
    ),
    "sw": (
        "ambayo au baada cha eneo hadi hata hii hivyo idadi ilikuwa jina kama katika "
        "kutoka kuwa kwa kwenye la lakini lugha miaka mji moja mwaka na nchini ni "
        "pamoja pia vya wa wakati wakazi wake watu ya yake za zaidi"
    ),
    "ta": (
        "அத அம ஆக ஆண இத இந இர உள என ஒர க கப கர கள ங ச ட டத ண த தத தம தல ந ன ப பட பத ம "
        "மற ய ர ற றத ல ள ழ வ வர ஸ"
    ),
    "te": (
        "అ అన ఈ ఉ ఉన ఒక క కల గ చ జ ట డ ణ త తర థ ద ధ న ప పర ఫ బ భ మ మర య ర రమ ల లక లన ళ వ వర శ ష స హ"
    ),
    "th": (
        "ก กษา ข ค คร ง งหว จ ช ณ ด ต ท ทยาล ธ น นท นธ บ บร ป ผ พ ม ย ร ล ว ศ ส ห หน "
        "อ อง า เป เม เร เวลา ได"
    ),
    "tl": (
        "ang at ay bilang dahil hanggang hindi iba ibang isa isang ito kanilang "
        "kanyang kung lamang maaaring mas may mga mula na naging nang ng ni nito niya "
        "noong o pag pang para pilipinas rin sa si siya unang upang"
    ),
    "tr": (
        "a bilgi bir bu büyük da daha de e en eğitim genel gibi göre her iki ile "
        "ilgili ise için kadar ne nin o olan olarak olmak prof sonra sosyal "
        "tarafından türkiye ve veya yeni yer çok önemli üniversitesi şekilde"
    ),
    "uk": (
        "а або але був в вона від він для до з за й його лише на не по про р та так "
        "також то того тому у україни це цього чи ще що я як які є і із її"
    ),
    "ur": (
        "ا اس ان اور اپنے ایک بات بھی تو تھا تھے جس جو ساتھ سے لئے لیکن لیے میں نہ "
        "نہیں نے و وقت وہ پر کا کر کرنے کو کہ کہا کی کیا کے ہو ہی ہیں ہے یہ"
    ),
    "vi": (
        "bạn cho chính chỉ các có công của hiện hàng học hợp khi không là một người "
        "nhiều nhà như những năm ra sự thành thông thể trong tại việc và về với đã đó "
        "được đến để đồng động"
    ),
}
FUNCTION_WORD_FLOORS: dict[str, float] = {
    "af": 0.336,
    "ar": 0.089,
    "bg": 0.28,
    "bn": 0.67,
    "ca": 0.267,
    "cs": 0.139,
    "cy": 0.312,
    "da": 0.268,
    "de": 0.216,
    "el": 0.272,
    "en": 0.279,
    "es": 0.304,
    "et": 0.124,
    "fa": 0.269,
    "fi": 0.103,
    "fr": 0.32,
    "gu": 0.62,
    "he": 0.069,
    "hi": 0.678,
    "hr": 0.189,
    "hu": 0.204,
    "id": 0.158,
    "it": 0.279,
    "ko": 0.049,
    "lt": 0.098,
    "lv": 0.15,
    "mk": 0.274,
    "mr": 0.652,
    "nl": 0.33,
    "pa": 0.657,
    "pl": 0.159,
    "pt": 0.289,
    "ro": 0.261,
    "ru": 0.198,
    "sk": 0.14,
    "sl": 0.182,
    "so": 0.235,
    "sq": 0.314,
    "sv": 0.276,
    "sw": 0.244,
    "ta": 0.693,
    "te": 0.691,
    "th": 0.205,
    "tl": 0.384,
    "tr": 0.087,
    "uk": 0.137,
    "ur": 0.22,
    "vi": 0.126,
}


def script_of(char: str) -> str:
    """First word of the character's Unicode name: LATIN, CYRILLIC, ETHIOPIC, CJK..."""
    return unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]


def unsupported_script(text: str) -> str | None:
    """The script of most letters when no supported language is written in it, else None."""
    counts: dict[str, int] = defaultdict(int)
    for char, n in _char_counts(text).items():
        if char.isalpha():
            script = script_of(char)
            if script not in _NEUTRAL_SCRIPTS:
                counts[script] += n
    total = sum(counts.values())
    if not total:
        return None
    script = max(counts, key=lambda s: (counts[s], s))
    outside = sum(n for s, n in counts.items() if s not in SUPPORTED_SCRIPTS)
    return script.lower() if 2 * outside > total and script not in SUPPORTED_SCRIPTS else None


def _trigrams(text: str) -> list[str]:
    """langdetect's letter trigrams of the text's words that do not start upper-case."""
    words = " ".join(w for w in _WORD_RE.findall(text) if not w[0].isupper())
    return ngrams_of.extract_trigrams(ngrams_of.prepare(words))


@lru_cache(maxsize=1)
def _code_indices() -> dict[str, tuple[int, ...]]:
    out: dict[str, list[int]] = defaultdict(list)
    for index, code in enumerate(_codes()):
        out[code].append(index)
    return {code: tuple(indices) for code, indices in out.items()}


def fit_excess(text: str, code: str) -> tuple[int, float | None]:
    """(trigrams, mean surprise under `code`'s profile minus its norm); None: no norm."""
    indices = _code_indices().get(code)
    grams = _trigrams(text)
    if indices is None or code not in FIT_NORMS or not grams:
        return len(grams), None
    total = 0.0
    for gram in grams:
        total += _surprise(gram, code)
    return len(grams), total / len(grams) - FIT_NORMS[code]


@lru_cache(maxsize=100_000)
def _surprise(gram: str, code: str) -> float:
    """-log P(gram) under `code`'s profile (its best variant: zh-cn, zh-tw), floored."""
    probs = _factory().word_lang_prob_map.get(gram)
    p = max(probs[i] for i in _code_indices()[code]) if probs is not None else 0.0
    return -math.log(p + _FIT_FLOOR)


def lower_words(text: str) -> list[str]:
    """The text's words (runs of letters), lower-cased."""
    return [w.lower() for w in _LETTERS_RE.findall(text)]


def function_word_share(text: str, words: Iterable[str]) -> float:
    """Share of the text's words that are among `words` (0.0 for no word)."""
    tokens = lower_words(text)
    wanted = frozenset(words)
    return sum(t in wanted for t in tokens) / len(tokens) if tokens else 0.0


def function_word_ratio(text: str, code: str) -> tuple[int, float | None]:
    """(words, share of `code`'s function words / its floor); None: no norm."""
    words = len(lower_words(text))
    floor = FUNCTION_WORD_FLOORS.get(code, 0.0)
    if code not in FUNCTION_WORDS or floor <= 0:
        return words, None
    return words, function_word_share(text, FUNCTION_WORDS[code].split()) / floor


def function_words_fit(words: int, ratio: float | None) -> bool:
    """False when a long enough text has far fewer of the language's function words."""
    return ratio is None or words < FUNCTION_WORDS_MIN_WORDS or ratio >= FUNCTION_WORDS_MARGIN


def fits(trigrams: int, excess: float | None) -> bool:
    """False when the text is too surprising for the language (enough trigrams to tell)."""
    if excess is None or trigrams < FIT_SHORT_TRIGRAMS:
        return True
    return excess < (FIT_MAX if trigrams >= FIT_MIN_TRIGRAMS else FIT_MAX_SHORT)


def _lingua_top(text: str) -> tuple[str, float] | None:
    probabilities = lingua_probabilities(text, all_languages=True)
    if not probabilities:
        return None
    code = min(probabilities, key=lambda c: (-probabilities[c], c))
    return code, probabilities[code]


def windows(text: str, size: int = WINDOW_WORDS) -> list[str]:
    """The text cut into runs of `size` words (the last one may be shorter)."""
    words = text.split()
    return [" ".join(words[i : i + size]) for i in range(0, len(words), size)]


def letter_counts(text: str) -> dict[str, int]:
    """Lower-cased letters of the text's words that do not start upper-case (names)."""
    counts: dict[str, int] = defaultdict(int)
    for word in _LETTERS_RE.findall(text):
        if not word[0].isupper():
            for char in word.lower():
                counts[char] += 1
    return dict(counts)


def alphabet_confirms(text: str, code: str, closest: str) -> bool:
    """True when the letters the text uses (TEXT_LETTER_MIN_SHARE of its letters or more)
    are all letters of `code` and not all letters of `closest`."""
    if code not in ALPHABETS or closest not in ALPHABETS:
        return False
    counts = letter_counts(text)
    total = sum(counts.values())
    used = {ch for ch, n in counts.items() if n >= TEXT_LETTER_MIN_SHARE * total}
    return bool(used) and used <= set(ALPHABETS[code]) and not used <= set(ALPHABETS[closest])


def _window_counts(parts: Sequence[str]) -> dict[str, int] | None:
    """lingua's top code per window, counted; None once a langdetect language (or "und")
    holds over WINDOW_MIN_SHARE of the windows (lingua_only_language then says None
    whatever the rest say). Stops early, the counts partial, once no code can pass that
    share any more (lingua_only_language then looks only at the letters). lingua over all
    its languages is the dearest call of the stage: windows not asked change no answer."""
    counts: dict[str, int] = defaultdict(int)
    share = WINDOW_MIN_SHARE * len(parts)
    known = set(_codes())
    for done, part in enumerate(parts, 1):
        code = (_lingua_top(part) or (UNDETERMINED, 0.0))[0]
        counts[code] += 1
        if counts[code] > share and (code in known or code == UNDETERMINED):
            return None
        if max(counts.values()) + len(parts) - done <= share:
            break
    return counts


def lingua_only_language(text: str, closest: str | None = None) -> tuple[str, float] | None:
    """A language langdetect lacks that lingua names confidently for the text and for
    most of its windows of words (the plurality, over half of them), or for the text
    only when the text's letters are that language's and not all those of `closest`
    (the langdetect language it came closest to), else None."""
    top = _lingua_top(text)
    if top is None or top[1] < LINGUA_ONLY_MIN_CONFIDENCE:
        return None
    code, confidence = top
    parts = windows(text)
    if len(parts) > 1:
        counts = _window_counts(parts)
        if counts is None:
            return None
        code = min(counts, key=lambda c: (-counts[c], c))
        if counts[code] <= WINDOW_MIN_SHARE * len(parts):
            if (
                closest is not None
                and top[0] not in set(_codes())
                and alphabet_confirms(text, top[0], closest)
            ):
                return top[0], round(top[1], 4)
            return None
        if code != top[0]:
            confidence = counts[code] / len(parts)
    if code in set(_codes()) or code == UNDETERMINED:
        return None
    return code, round(confidence, 4)


def verify(text: str, code: str, confidence: float) -> tuple[str, float, str | None]:
    """Keep (code, confidence) if the text fits the language; else a language only lingua
    knows that it names stably, else ("und", 0.0, reason)."""
    trigrams, excess = fit_excess(text, code)
    words_fit = function_words_fit(*function_word_ratio(text, code))
    if words_fit and fits(trigrams, excess):
        return code, confidence, None
    other = lingua_only_language(text, code)
    if other is not None:
        return other[0], other[1], None
    if words_fit and trigrams < FIT_MIN_TRIGRAMS:
        return code, confidence, None  # a sentence: too short to call it no language
    return UNDETERMINED, 0.0, f"{REASON_UNKNOWN}:closest={code}"


# A paragraph shorter than min_chars letters (a few words: a caption, a short line)
# is decided with this confidence instead of min_confidence: on a word or two the
# combined probability is spread over close languages, yet right about 70% of the
# time above it (make eval); below it, "und".
SHORT_MIN_CONFIDENCE = 0.2
# Under this many letters (an initial, "OK", a symbol) only a near-certain answer.
TINY_LETTERS = 3
TINY_MIN_CONFIDENCE = 0.9


def explain_paragraph(
    text: str,
    *,
    min_chars: int = 20,
    min_confidence: float = 0.2,
    seed: int = 0,
    expected: Sequence[str] | None = None,
    agreed: str | None = None,
) -> tuple[str, float, str | None]:
    """(code, confidence, None), or ("und", 0.0, reason): see detect_paragraph. `agreed`:
    the document's language by langdetect (certain_language), if any."""
    letters = letter_count(text)
    if letters == 0:
        return UNDETERMINED, 0.0, REASON_NO_LETTERS
    script = unsupported_script(text)
    if script is not None:
        return UNDETERMINED, 0.0, f"{REASON_SCRIPT}:{script}"
    best = _best_language(text, seed, expected, agreed)
    if best is None:
        return UNDETERMINED, 0.0, REASON_NO_SIGNAL
    if letters >= min_chars:
        threshold = min_confidence
    elif letters >= TINY_LETTERS:
        threshold = SHORT_MIN_CONFIDENCE
    else:
        threshold = TINY_MIN_CONFIDENCE
    if best[1] < threshold:
        return UNDETERMINED, 0.0, REASON_LOW_CONFIDENCE
    if letters < min_chars:
        return best[0], best[1], None
    return verify(text, *best)


def detect_paragraph(
    text: str,
    *,
    min_chars: int = 20,
    min_confidence: float = 0.2,
    seed: int = 0,
    expected: Sequence[str] | None = None,
) -> tuple[str, float]:
    """(code, confidence) of one paragraph, or ("und", 0.0) when not sure enough.

    At least `min_chars` letters: needs `min_confidence`, and must fit the language
    (verify). Fewer: needs SHORT_MIN_CONFIDENCE, and under TINY_LETTERS letters
    TINY_MIN_CONFIDENCE (a unique script, e.g. "日本"). Digits and symbols alone are
    never a language, nor a script no supported language uses.
    `expected` (ISO 639-1 codes) is a prior: other languages need stronger evidence.
    """
    code, confidence, _ = explain_paragraph(
        text, min_chars=min_chars, min_confidence=min_confidence, seed=seed, expected=expected
    )
    return code, confidence


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


def _majority_reason(reasons: list[tuple[str | None, int]]) -> str:
    """The reason given for the most letters (the first one on a tie)."""
    weights: dict[str, int] = {}
    for reason, letters in reasons:
        if reason is not None:
            weights[reason] = weights.get(reason, 0) + letters
    if not weights:
        return REASON_NO_LETTERS
    return max(weights, key=lambda r: weights[r])


def _unknown_letters(answers: list[tuple[str, float, str | None]], letters: list[int]) -> int:
    """Letters of paragraphs in an unknown language or an unsupported script."""
    return sum(
        n
        for (_, _, reason), n in zip(answers, letters, strict=True)
        if reason is not None and reason.startswith((REASON_UNKNOWN, REASON_SCRIPT))
    )


def detect_language(
    paragraphs: list[str],
    *,
    min_chars: int = 20,
    min_confidence: float = 0.2,
    seed: int = 0,
    expected: Sequence[str] | None = None,
) -> LanguageResult:
    """Language of each paragraph and of the document (ISO 639-1, or "und" and a reason).

    The document's code is the paragraphs' vote; the text of the paragraphs that voted
    for it must then fit it as a whole (verify): one long text tells better than its
    paragraphs whether it is in the language or in an unknown relative.
    """
    explain = partial(
        explain_paragraph,
        min_chars=min_chars,
        min_confidence=min_confidence,
        seed=seed,
        expected=expected,
    )
    agreed = certain_language(paragraphs, seed) if len(paragraphs) > 1 else None
    answers = [explain(p, agreed=agreed) for p in paragraphs]
    letters = [letter_count(p) for p in paragraphs]
    code, confidence = vote(
        [(c, conf, n) for (c, conf, _), n in zip(answers, letters, strict=True)]
    )
    reason: str | None = None
    if code == UNDETERMINED and len(paragraphs) > 1:
        # Many short paragraphs (a list, a photo caption feed) may each be too
        # short but decidable together: one try on the joined text.
        code, confidence, reason = explain("\n\n".join(paragraphs))
    elif code != UNDETERMINED and _unknown_letters(answers, letters) > confidence * sum(
        n * conf for (c, conf, _), n in zip(answers, letters, strict=True) if c != UNDETERMINED
    ):
        # More letters in no known language (or script) than weight for the winner.
        code = UNDETERMINED
    elif code != UNDETERMINED:
        voters = [p for p, answer in zip(paragraphs, answers, strict=True) if answer[0] == code]
        checked, _, reason = verify("\n\n".join(voters), code, confidence)
        if checked != code:
            answers = [
                (checked, 0.0 if checked == UNDETERMINED else a[1], reason) if a[0] == code else a
                for a in answers
            ]
            code = checked
    if code == UNDETERMINED:
        confidence = 0.0
        reason = reason or _majority_reason(
            [(a[2], n) for a, n in zip(answers, letters, strict=True)]
        )
    results = [
        ParagraphLanguage(index=i, code=c, confidence=conf)
        for i, (c, conf, _) in enumerate(answers)
    ]
    return LanguageResult(
        code=code,
        confidence=confidence,
        paragraphs=results,
        detector=detector_name(seed),
        reason=reason,
    )


__all__ = [
    "UNDETERMINED",
    "combine",
    "detect_language",
    "detect_paragraph",
    "detector_name",
    "explain_paragraph",
    "fit_excess",
    "function_word_ratio",
    "function_word_share",
    "is_detectable",
    "langdetect_probabilities",
    "letter_count",
    "lingua_only_language",
    "lingua_probabilities",
    "normalise_code",
    "unsupported_script",
    "verify",
    "vote",
]
