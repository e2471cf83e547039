"""python -m evaluation.calibrate [--data DIR]: the language stage's norms.

From langid/all.tsv sentences that make eval does not score, for each language langdetect
knows:

- FIT_NORMS: the median fit (services.language.detect.fit_excess with no norm: mean
  surprise per trigram) on 40 paragraphs of about 300 characters;
- FUNCTION_WORDS: its FUNCTION_WORDS_TOP most frequent (lower-cased) words, and
  FUNCTION_WORD_FLOORS: the 1st percentile of their share of the words of texts of
  FUNCTION_WORDS_MIN_WORDS words made of those sentences (detect.function_word_share).

And for each language Newsflow names (lingua's too) written with an alphabet,
ALPHABETS: the letters its words use (LETTER_MIN_SHARE of their letters or more).

Paste the printed dicts into services/language/detect.py.
"""

from __future__ import annotations

import argparse
import random
import statistics
from collections import Counter, defaultdict
from pathlib import Path

from evaluation.__main__ import DEFAULT_DATA
from evaluation.langid import langdetect_languages, named_languages, read_samples, select
from services.language import detect

PARAGRAPHS = 40
PARAGRAPH_CHARS = 300


FLOOR_QUANTILE = 0.01
# Languages written without spaces between words (Chinese, Japanese: 3-5 "words" a
# sentence in the data, other languages 11 or more) have no function words to count.
MIN_WORDS_PER_SENTENCE = 8


def unscored_sentences(data: Path, per_cell: int = 150) -> dict[str, list[str]]:
    """langid/all.tsv sentences per language, less those make eval scores."""
    samples = read_samples(data / "langid" / "all.tsv")
    scored = {(s.lang, s.kind, s.text) for s in select(samples, per_cell)}
    sentences: dict[str, list[str]] = defaultdict(list)
    for s in samples:
        if s.kind == "sentences" and (s.lang, s.kind, s.text) not in scored:
            sentences[s.lang].append(s.text)
    return sentences


def norms(data: Path, per_cell: int = 150) -> dict[str, float]:
    sentences = unscored_sentences(data, per_cell)
    saved, detect.FIT_NORMS = detect.FIT_NORMS, dict.fromkeys(langdetect_languages(), 0.0)
    try:
        out: dict[str, float] = {}
        for lang in sorted(set(sentences) & langdetect_languages()):
            texts = sentences[lang][:]
            random.Random(lang).shuffle(texts)
            values = []
            for _ in range(PARAGRAPHS):
                paragraph = ""
                while len(paragraph) < PARAGRAPH_CHARS and texts:
                    paragraph = f"{paragraph} {texts.pop()}".strip()
                trigrams, value = detect.fit_excess(paragraph, lang)
                if value is not None and trigrams:
                    values.append(value)
            if values:
                out[lang] = round(statistics.median(values), 3)
        return out
    finally:
        detect.FIT_NORMS = saved


def function_words(data: Path, per_cell: int = 150) -> tuple[dict[str, str], dict[str, float]]:
    """({code: its most frequent words, space-separated}, {code: floor of their share})."""
    sentences = unscored_sentences(data, per_cell)
    words: dict[str, str] = {}
    floors: dict[str, float] = {}
    for lang in sorted(set(sentences) & langdetect_languages()):
        counts = Counter(w for text in sentences[lang] for w in detect.lower_words(text))
        if sum(counts.values()) < MIN_WORDS_PER_SENTENCE * len(sentences[lang]):
            continue
        top = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        words[lang] = " ".join(sorted(top[: detect.FUNCTION_WORDS_TOP]))
        texts = sentences[lang][:]
        random.Random(lang).shuffle(texts)
        shares = []
        while texts:
            text = ""
            while len(detect.lower_words(text)) < detect.FUNCTION_WORDS_MIN_WORDS and texts:
                text = f"{text} {texts.pop()}".strip()
            if len(detect.lower_words(text)) >= detect.FUNCTION_WORDS_MIN_WORDS:
                shares.append(detect.function_word_share(text, words[lang].split()))
        if shares:
            shares.sort()
            floors[lang] = round(shares[int(FLOOR_QUANTILE * len(shares))], 3)
    return words, floors


# Letters of the language: at least this share of the letters of its (uncapitalised) words.
LETTER_MIN_SHARE = 0.0005
# Languages written with an alphabet (Chinese and Japanese use thousands of characters).
MAX_ALPHABET = 100


def alphabets(data: Path, per_cell: int = 150) -> dict[str, str]:
    """{code: the letters its words use, sorted} for the languages Newsflow names."""
    sentences = unscored_sentences(data, per_cell)
    out: dict[str, str] = {}
    for lang in sorted(set(sentences) & named_languages()):
        counts = detect.letter_counts(" ".join(sentences[lang]))
        total = sum(counts.values())
        letters = sorted(ch for ch, n in counts.items() if n >= LETTER_MIN_SHARE * total)
        if len(letters) <= MAX_ALPHABET:
            out[lang] = "".join(letters)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m evaluation.calibrate")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    data = parser.parse_args().data
    print("FIT_NORMS =", norms(data))
    words, floors = function_words(data)
    print("FUNCTION_WORDS =", words)
    print("FUNCTION_WORD_FLOORS =", floors)
    print("ALPHABETS =", alphabets(data))


if __name__ == "__main__":
    main()
