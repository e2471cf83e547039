"""The word-by-word n-gram extraction gives langdetect's own n-grams, in the same order."""

import pytest
from langdetect.utils.ngram import NGram

from services.language import detect, ngrams

TEXTS = [
    "Le gouvernement a présenté mardi un nouveau plan pour l'énergie, à 14h30.",
    "The NATO summit in BRUSSELS: see https://example.org/a?b=1 or write to a.b@example.com",
    "Ông ấy nói rằng Việt Nam sẽ tăng trưởng.  Đây là tin tức.",
    "Москва — столица России, a Latin word or two: OK.",
    "日本語のテキストとEnglish wordsが混ざっています。ひらがなカタカナ漢字",
    "Șantierul din Brașov și țara: ş ţ ș ț",
    "  leading and trailing spaces, single letters a b c D E F, ALLCAPS AbC aBC  ",
    "",
    "!!! 123 ...",
]


def langdetect_own(text: str) -> tuple[str, list[str]]:
    detector = detect._factory().create()
    detector.append(text)
    detector.cleaning_text()
    return detector.text, detector._extract_ngrams()


def langdetect_trigrams(text: str) -> list[str]:
    detector = detect._factory().create()
    detector.append(text)
    detector.cleaning_text()
    ngram = NGram()
    out = []
    for char in detector.text:
        ngram.add_char(char)
        if not ngram.capitalword and len(ngram.grams) >= 3:
            out.append(ngram.grams[-3:])
    return [g for g in out if len(g) == 3]


@pytest.mark.parametrize("text", TEXTS)
def test_prepare_and_ngrams_are_langdetects(text: str) -> None:
    prepared, expected = langdetect_own(text)
    assert ngrams.prepare(text) == prepared
    assert ngrams.extract_ngrams(prepared, detect._known_ngrams()) == expected


@pytest.mark.parametrize("text", TEXTS)
def test_trigrams_are_langdetects(text: str) -> None:
    assert ngrams.extract_trigrams(ngrams.prepare(text)) == langdetect_trigrams(text)


def test_mostly_non_latin_text_loses_its_latin_letters_as_in_langdetect() -> None:
    text = "Это длинный русский текст с одним словом news внутри него."
    assert "news" not in ngrams.prepare(text)
    assert ngrams.prepare(text) == langdetect_own(text)[0]
