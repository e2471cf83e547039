"""langdetect's text preparation and n-gram extraction, word by word and cached.

langdetect walks a text one character at a time in Python (Detector.append,
cleaning_text, NGram.add_char): on a news paragraph that costs more than scoring it.
The n-grams of a word depend only on the word (its characters, normalised by
NGram.normalize) and on whether a space follows it: NGram's buffer restarts after
every space. So the text is normalised with one str.translate, cut at spaces, and each
word's n-grams come from a cache. The output is the same list, in the same order, as
langdetect's own (tests/unit/test_language_ngrams.py compares them).
"""

import re
from functools import lru_cache

from langdetect.detector import Detector
from langdetect.utils.ngram import NGram

_N = NGram.N_GRAM
_MAX_TEXT_LENGTH = 10_000  # Detector.max_text_length's default
_SPACES_RE = re.compile(" +")
_LATIN_RE = re.compile("[A-z]")  # cleaning_text's 'A' <= ch <= 'z'
# cleaning_text's non-Latin characters: from U+0300 (it means to leave Latin Extended
# Additional out, but compares a block number with a block name: every one counts).
_NON_LATIN_RE = re.compile("[\u0300-\U0010ffff]")


class _Normalised(dict[int, str]):
    """str.translate table: NGram.normalize of each character, computed on first use."""

    def __missing__(self, key: int) -> str:
        value: str = NGram.normalize(chr(key))
        self[key] = value
        return value


_NORMALISED = _Normalised()


def prepare(text: str) -> str:
    """Detector.append then cleaning_text: the text langdetect extracts n-grams from."""
    text = Detector.URL_RE.sub(" ", text)
    text = Detector.MAIL_RE.sub(" ", text)
    text = NGram.normalize_vi(text)
    text = _SPACES_RE.sub(" ", text[:_MAX_TEXT_LENGTH])
    if 2 * len(_LATIN_RE.findall(text)) < len(_NON_LATIN_RE.findall(text)):
        text = _LATIN_RE.sub("", text)
    return text


def _words(text: str) -> list[tuple[str, bool]]:
    """(normalised word, followed by a space) for the prepared text's words."""
    parts = text.translate(_NORMALISED).split(" ")
    last = len(parts) - 1
    return [(part, i < last) for i, part in enumerate(parts) if part]


def _walk(word: str, trailing: bool) -> list[tuple[str, bool]]:
    """NGram's buffer after each character of ' word' (+ ' '), and its capitalword flag."""
    grams = " "
    capital = False
    out = []
    for ch in word + " " if trailing else word:
        last = grams[-1]
        if last == " ":
            grams = " "
            capital = False
        elif len(grams) >= _N:
            grams = grams[1:]
        grams += ch
        capital = ch.isupper() and (last.isupper() or capital)
        out.append((grams, capital))
    return out


@lru_cache(maxsize=50_000)
def _word_ngrams(word: str, trailing: bool, known: frozenset[str]) -> tuple[str, ...]:
    out = []
    for grams, capital in _walk(word, trailing):
        if capital:
            continue
        for n in range(1, _N + 1):
            if len(grams) < n:
                break
            gram = grams[-n:]
            if gram != " " and gram in known:
                out.append(gram)
    return tuple(out)


def extract_ngrams(text: str, known: frozenset[str]) -> list[str]:
    """Detector._extract_ngrams of a prepared text: its 1-3-grams that are in `known`."""
    out: list[str] = []
    for word, trailing in _words(text):
        out.extend(_word_ngrams(word, trailing, known))
    return out


@lru_cache(maxsize=50_000)
def _word_trigrams(word: str, trailing: bool) -> tuple[str, ...]:
    return tuple(
        grams for grams, capital in _walk(word, trailing) if not capital and len(grams) == _N
    )


def extract_trigrams(text: str) -> list[str]:
    """Every trigram NGram's buffer holds over a prepared text, outside capitalised words."""
    out: list[str] = []
    for word, trailing in _words(text):
        out.extend(_word_trigrams(word, trailing))
    return out
