"""Language detection: und rules, length-weighted vote, code normalisation, determinism."""

import json
import os
import subprocess
import sys
from array import array
from pathlib import Path

import pytest

from services.language import detect
from services.language.detect import (
    SHORT_MIN_CONFIDENCE,
    detect_language,
    detect_paragraph,
    detector_name,
    fit_excess,
    is_detectable,
    letter_count,
    normalise_code,
    unsupported_script,
    vote,
)

ROOT = Path(__file__).resolve().parents[2]

FR_1 = (
    "Le gouvernement a présenté mardi un nouveau plan pour l'énergie, qui prévoit "
    "la construction de six réacteurs et une hausse des investissements publics."
)
FR_2 = (
    "Les syndicats ont salué une avancée, mais restent prudents sur le calendrier "
    "et demandent des garanties pour les salariés des centrales existantes."
)
EN_FOOTER = "Subscribe to our newsletter for more news."
DE_1 = "Die Bundesregierung hat am Dienstag einen neuen Plan für die Energiepolitik vorgestellt."
# langdetect hesitates on this one: its confidence depends on the seed.
AMBIGUOUS = "Taxi Bus Metro Radio Video Piano"


def test_letter_count_ignores_digits_punctuation_and_spaces() -> None:
    assert letter_count("12 345, -- !?") == 0
    assert letter_count("Élysée 2024 !") == 6
    assert is_detectable("a" * 20, 20)
    assert not is_detectable("a" * 19 + " 1234567890 ...", 20)


@pytest.mark.parametrize(
    ("raw", "code"),
    [("fr", "fr"), ("EN", "en"), ("zh-cn", "zh"), ("zh-tw", "zh"), ("pt_BR", "pt"), ("iw", "he")],
)
def test_codes_are_iso_639_1(raw: str, code: str) -> None:
    assert normalise_code(raw) == code


def test_vote_is_weighted_by_letters_and_confidence() -> None:
    assert vote([("fr", 1.0, 200), ("en", 1.0, 40)]) == ("fr", round(200 / 240, 4))
    # Two short English lines still lose to one long French paragraph.
    assert vote([("en", 1.0, 30), ("fr", 0.9, 300), ("en", 1.0, 30)])[0] == "fr"
    # Confidence weighs in: 100 sure letters beat 150 unsure ones.
    assert vote([("de", 0.5, 150), ("nl", 1.0, 100)]) == ("nl", round(100 / 175, 4))


def test_vote_ignores_undetermined_and_ties_go_to_first_seen() -> None:
    assert vote([("und", 0.0, 500), ("fr", 0.8, 50)]) == ("fr", 1.0)
    assert vote([("und", 0.0, 100)]) == ("und", 0.0)
    assert vote([]) == ("und", 0.0)
    assert vote([("it", 1.0, 100), ("es", 1.0, 100)]) == ("it", 0.5)
    assert vote([("es", 1.0, 100), ("it", 1.0, 100)]) == ("es", 0.5)


def test_short_boilerplate_in_another_language_does_not_flip_the_document() -> None:
    result = detect_language([FR_1, EN_FOOTER, FR_2])
    assert result.code == "fr"
    assert [p.code for p in result.paragraphs] == ["fr", "en", "fr"]
    assert [p.index for p in result.paragraphs] == [0, 1, 2]
    assert 0.5 < result.confidence < 1.0  # the footer's share is not the winner's
    assert all(0.0 < p.confidence <= 1.0 for p in result.paragraphs)


def test_symbols_digits_and_tiny_texts_are_und_with_zero_confidence() -> None:
    result = detect_language([FR_1, "12 345 678 901 234 567", "-- ?! ©", "OK"])
    assert result.code == "fr"
    assert result.confidence == 1.0
    assert [(p.code, p.confidence) for p in result.paragraphs[1:]] == [("und", 0.0)] * 3


def test_short_text_gets_a_language_only_when_confident(monkeypatch: pytest.MonkeyPatch) -> None:
    # A few words are decided when the detectors agree ...
    assert detect_paragraph("Hund und Katze")[0] == "de"
    assert detect_paragraph("gouvernement")[0] == "fr"
    # ... a unique script is confident even in two characters ...
    assert detect_paragraph("Привет")[0] in {"ru", "bg", "mk", "uk"}
    # ... an ambiguous word is not: its best guess is below SHORT_MIN_CONFIDENCE.
    assert detect_paragraph("Taxi") == ("und", 0.0)
    monkeypatch.setattr(detect, "SHORT_MIN_CONFIDENCE", 0.0)
    code, confidence = detect_paragraph("Taxi")
    assert code != "und" and 0.0 < confidence < SHORT_MIN_CONFIDENCE


def test_below_min_confidence_is_und() -> None:
    assert detect_paragraph(FR_1, min_confidence=1.01) == ("und", 0.0)
    result = detect_language([FR_1, FR_2], min_confidence=1.01)
    assert result.code == "und" and result.confidence == 0.0
    assert {p.code for p in result.paragraphs} == {"und"}


def test_min_chars_decides_which_threshold_applies() -> None:
    text = "Le gouvernement présente un plan"
    # Long enough: min_confidence applies; shorter: SHORT_MIN_CONFIDENCE.
    assert detect_paragraph(text, min_chars=25, min_confidence=1.01) == ("und", 0.0)
    assert detect_paragraph(text, min_chars=50, min_confidence=1.01)[0] == "fr"


def test_whole_text_decides_when_no_paragraph_can(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [
        "Le gouvernement a présenté",
        "un nouveau plan",
        "pour l'énergie nucléaire",
        "et les syndicats",
        "restent très prudents",
    ]
    # Short lines undecided on their own (threshold raised for the test) ...
    monkeypatch.setattr(detect, "SHORT_MIN_CONFIDENCE", 1.01)
    result = detect_language(lines, min_chars=30)
    assert {p.code for p in result.paragraphs} == {"und"}
    # ... are decided together.
    assert result.code == "fr"
    assert result.confidence >= 0.5


def test_expected_languages_act_as_a_prior() -> None:
    # An ambiguous short text leans to an expected language ...
    ambiguous = "Taxi Bus Metro"
    assert detect_paragraph(ambiguous, expected=["de"])[0] == "de"
    assert detect_paragraph(ambiguous, expected=["fr"])[0] == "fr"
    # ... but clear evidence for another language still wins.
    assert detect_paragraph(DE_1, expected=["fr"])[0] == "de"
    assert detect_language([FR_1, DE_1], expected=["fr", "de"]).code == "fr"


def test_mixed_document_gets_paragraph_languages_and_a_length_weighted_code() -> None:
    en = (
        "The government presented a new energy plan on Tuesday, with six reactors "
        "and more public investment over the next ten years."
    )
    result = detect_language([FR_1, en, FR_2, "Die Regierung hat einen Plan."])
    assert [p.code for p in result.paragraphs] == ["fr", "en", "fr", "de"]
    assert result.code == "fr"


def test_nothing_decidable_is_und() -> None:
    for paragraphs in ([], [""], ["Oui.", "2024", "--"]):
        result = detect_language(paragraphs)
        assert (result.code, result.confidence) == ("und", 0.0)


def test_other_languages_and_chinese_region_codes() -> None:
    assert detect_language([DE_1]).code == "de"
    chinese = "这是一个关于中国经济发展的新闻报道，政府今天公布了新的能源计划和投资方案。"
    assert detect_language([chinese], min_chars=10).code == "zh"


def test_detector_names_versions_and_seed() -> None:
    name = detect_language([FR_1]).detector
    assert name.startswith("langdetect-1.0.9+lingua-") and name.endswith("/seed=0")
    assert detect_language([FR_1], seed=7).detector == detector_name(7)


def test_same_text_same_answer_in_one_process() -> None:
    paragraphs = [AMBIGUOUS, FR_1, EN_FOOTER]
    for seed in (0, 1, 2):
        first = detect_language(paragraphs, min_confidence=0.1, seed=seed)
        assert detect_language(paragraphs, min_confidence=0.1, seed=seed) == first


def test_same_text_same_answer_across_processes() -> None:
    paragraphs = [AMBIGUOUS, FR_1, EN_FOOTER, DE_1]
    code = (
        "import json, sys\n"
        "from services.language.detect import detect_language\n"
        "paragraphs = json.loads(sys.argv[1])\n"
        "print(json.dumps([detect_language(paragraphs, min_confidence=0.1, seed=s).model_dump()"
        " for s in (0, 3)]))\n"
    )
    outputs = []
    for hash_seed in ("1", "2"):  # different str hashing, dict/set orders
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-c", code, json.dumps(paragraphs)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        outputs.append(json.loads(done.stdout))
    here = [detect_language(paragraphs, min_confidence=0.1, seed=s).model_dump() for s in (0, 3)]
    assert outputs[0] == outputs[1] == here


# --- honest codes: a language Newsflow does not know is "und" with a reason ------------------

YORUBA = (
    "Ìjọba orílẹ̀-èdè Nàìjíríà ti kéde pé àwọn òṣìṣẹ́ ìjọba yóò gba owó oṣù tuntun láti "
    "oṣù tó ń bọ̀, gẹ́gẹ́ bí àdéhùn tí wọ́n ṣe pẹ̀lú àwọn ẹgbẹ́ òṣìṣẹ́ ní ìlú Àbújá."
)
XHOSA = (
    "Urhulumente uthe uza kwakha izikolo ezintsha kweli phondo kulo nyaka, kwaye abantwana "
    "abaninzi baza kufumana ithuba lokufunda kufutshane namakhaya abo."
)
ZULU = (
    "Uhulumeni uthe uzokwakha izikole ezintsha kulesi sifundazwe kulo nyaka, futhi izingane "
    "eziningi zizothola ithuba lokufunda eduze namakhaya azo."
)
# Hausa and Oromo: languages neither detector knows (langdetect said Indonesian and Somali).
HAUSA = (
    "Gwamnatin tarayyar Najeriya ta ce za ta fara biyan ma'aikata sabon albashi daga watan "
    "gobe, bayan tattaunawar da ta yi da kungiyoyin kwadago a birnin Abuja ranar Talata. "
    "Shugaban kungiyar ya ce ma'aikatan sun amince da yarjejeniyar, amma za su sa ido sosai "
    "domin ganin gwamnati ta cika alkawuran da ta dauka."
)
OROMO = (
    "Mootummaan Itiyoophiyaa hojjettoota mootummaaf mindaa haaraa ji'a dhufu irraa eegalee "
    "kaffaluuf murteesseera. Dhaabbileen hojjettootaa waliigaltee kana simataniiru, garuu "
    "mootummaan abdii kenne akka guutu hordofuu akka itti fufan himaniiru. Ministirri "
    "hojii fi dhimmoota hawaasaa akka jedhanitti, jijjiiramni kun hojjettoota kuma dhibba "
    "shan ol ta'an fayyadama, baasiin isaas baajata waggaa itti aanuu keessatti ni hammatama."
)
AMHARIC = "የኢትዮጵያ መንግሥት ለሠራተኞች አዲስ የደመወዝ ጭማሪ ማድረጉን አስታወቀ። ጭማሪው ከሚቀጥለው ወር ጀምሮ ተግባራዊ ይሆናል።"


@pytest.mark.parametrize(("text", "code"), [(YORUBA, "yo"), (XHOSA, "xh"), (ZULU, "zu")])
def test_a_language_only_lingua_knows_gets_its_code(text: str, code: str) -> None:
    result = detect_language([text])
    assert (result.code, result.reason) == (code, None)
    assert result.confidence > 0.5


@pytest.mark.parametrize(
    ("text", "closest"),
    [
        pytest.param(
            HAUSA,
            "id",
            marks=pytest.mark.xfail(
                strict=True,
                reason="known gap: a short Hausa paragraph has too few windows to show that "
                "lingua's Yoruba is unstable (long Hausa articles are und)",
            ),
        ),
        pytest.param(
            OROMO,
            "so",
            marks=pytest.mark.xfail(
                strict=True,
                reason="known gap: this short made-up Oromo paragraph goes to Ganda, the "
                "majority of its 4 windows (dev.jsonl Oromo articles are all und)",
            ),
        ),
    ],
)
def test_an_unknown_language_is_und_with_a_reason_not_its_closest_relative(
    text: str, closest: str
) -> None:
    result = detect_language([text])
    assert (result.code, result.confidence) == ("und", 0.0)
    assert result.reason is not None and result.reason.startswith("unknown_language")
    assert all(p.code == "und" for p in result.paragraphs)


def test_a_script_no_supported_language_uses_is_und_with_a_reason() -> None:
    assert unsupported_script(AMHARIC) == "ethiopic"
    assert unsupported_script(FR_1) is None
    assert unsupported_script("这是一个关于中国经济的新闻") is None
    result = detect_language([AMHARIC])
    assert (result.code, result.reason) == ("und", "unsupported_script:ethiopic")


def test_known_languages_keep_their_code_and_no_reason() -> None:
    for paragraphs, code in (([FR_1, FR_2], "fr"), ([EN_FOOTER * 4], "en"), ([DE_1], "de")):
        result = detect_language(paragraphs)
        assert (result.code, result.reason) == (code, None)
    # An article mostly in an unknown script is und even with a line of English in it.
    result = detect_language([AMHARIC, EN_FOOTER, AMHARIC])
    assert result.code == "und" and result.reason is not None
    assert result.paragraphs[1].code == "en"


def test_fit_tells_a_language_from_an_unknown_relative() -> None:
    trigrams, excess = fit_excess(FR_1 + " " + FR_2, "fr")
    assert trigrams > 100 and excess is not None and abs(excess) < 0.9
    _, oromo_as_somali = fit_excess(OROMO, "so")
    assert oromo_as_somali is not None and oromo_as_somali > 1.5
    assert fit_excess(YORUBA, "yo")[1] is None  # no langdetect profile: not checked


def test_und_reasons_for_nothing_to_detect() -> None:
    assert detect_language([]).reason == "no_letters"
    assert detect_language(["12 345 --"]).reason == "no_letters"
    assert detect_language([FR_1], min_confidence=1.01).reason == "low_confidence"


# Made-up English news with the usual function words, and the same text with the most
# frequent of them swapped the way Nigerian Pidgin says them: its letter trigrams still
# fit English, its function words do not.
EN_NEWS = (
    "The minister of health said on Monday that the number of new cases in the city had "
    "fallen for the third week in a row, and that the hospitals were now able to treat "
    "all of the patients who needed care. She told reporters that it was too early to "
    "lift the restrictions, but that the government would review them at the end of the "
    "month. The opposition has called for an inquiry into the way the crisis was handled, "
    "and it says that the figures for the first weeks of the outbreak are not reliable. "
    "In a statement, the ministry said that it is working with the regional authorities "
    "to improve the data and that it will publish a full report in the coming weeks."
)
PIDGIN_SWAPS = {
    "the": "di",
    "that": "wey",
    "is": "na",
    "was": "bin",
    "a": "one",
    "it": "im",
    "are": "dey",
    "has": "don",
    "will": "go",
    "in": "for",
    "with": "wit",
}


def _swap(text: str, swaps: dict[str, str]) -> str:
    return " ".join(swaps.get(w.lower(), w) for w in text.split())


def test_function_words_tell_english_from_a_relative_that_fits_its_trigrams() -> None:
    pidgin = _swap(EN_NEWS, PIDGIN_SWAPS)
    assert len(detect.lower_words(pidgin)) >= detect.FUNCTION_WORDS_MIN_WORDS
    _, ratio = detect.function_word_ratio(EN_NEWS, "en")
    assert ratio is not None and ratio >= detect.FUNCTION_WORDS_MARGIN
    _, swapped = detect.function_word_ratio(pidgin, "en")
    assert swapped is not None and swapped < detect.FUNCTION_WORDS_MARGIN
    assert detect.fits(*fit_excess(pidgin, "en"))  # the trigram fit alone would say en
    assert (detect_language([EN_NEWS]).code, detect_language([EN_NEWS]).reason) == ("en", None)
    result = detect_language([pidgin])
    assert (result.code, result.reason) == ("und", "unknown_language:closest=en")


def test_function_words_are_not_checked_on_short_texts() -> None:
    short = " ".join(_swap(EN_NEWS, PIDGIN_SWAPS).split()[:60])
    words, ratio = detect.function_word_ratio(short, "en")
    assert words < detect.FUNCTION_WORDS_MIN_WORDS and ratio is not None
    assert detect.function_words_fit(words, ratio)
    assert detect_language([short]).code == "en"
    # No norm (a language written without spaces, or one only lingua knows): not checked.
    assert detect.function_word_ratio(EN_NEWS, "zh")[1] is None
    assert detect.function_word_ratio(EN_NEWS, "yo")[1] is None


# Made-up Yoruba without tone marks (as some news sites write it): only the dots below
# tell it from Tagalog or Swahili.
YORUBA_TONELESS = (
    "Ijoba apapo ti kede pe awon osise yoo bere si ni gba owo osu tuntun lati osu to nbo, "
    "lẹyin ipade ti wọn ṣe pẹlu awọn ẹgbẹ oṣiṣẹ ni ilu Abuja lọjọ Isẹgun."
)
HAUSA_SHORT = (
    "Gwamnatin tarayyar Najeriya ta ce za ta fara biyan ma'aikata sabon albashi daga "
    "watan gobe, bayan tattaunawar da ta yi da kungiyoyin kwadago a birnin Abuja."
)


def test_letters_confirm_a_language_only_lingua_knows() -> None:
    assert detect.alphabet_confirms(YORUBA_TONELESS, "yo", "tl")
    assert not detect.alphabet_confirms(HAUSA_SHORT, "yo", "id")  # z: no Yoruba letter
    assert not detect.alphabet_confirms(FR_1, "yo", "fr")  # é: no Yoruba letter
    assert not detect.alphabet_confirms(EN_NEWS, "xh", "en")  # nothing English lacks
    # Capitalised words (names) do not count; no alphabet, no confirmation.
    assert detect.letter_counts("Zürich ọja") == {"ọ": 1, "j": 1, "a": 1}
    assert not detect.alphabet_confirms(YORUBA_TONELESS, "yo", "zh")


# --- cost: bounded langdetect sample, lingua only where langdetect is not certain -------------

EN_LONG = (
    "The government presented a new energy plan on Tuesday, with six reactors and more "
    "public investment over the next ten years. Unions welcomed the plan but asked for "
    "guarantees for the workers of the existing plants, and the opposition called it late."
)


def test_spread_sample_takes_evenly_spaced_items_and_the_seed_shifts_them() -> None:
    items = [str(i) for i in range(10)]
    assert detect.spread_sample(items, 20) == items
    assert detect.spread_sample(items, 5) == ["0", "2", "4", "6", "8"]
    assert detect.spread_sample(items, 5, seed=5) == ["1", "3", "5", "7", "9"]


def test_a_long_paragraph_is_scored_on_a_bounded_sample_of_its_ngrams(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scored: list[str] = []
    original = detect._log_probs

    def counting(ngram: str) -> "array[float]":
        scored.append(ngram)
        return original(ngram)

    monkeypatch.setattr(detect, "_log_probs", counting)
    long_text = " ".join([FR_1, FR_2] * 10)  # thousands of n-grams
    probabilities = detect.langdetect_probabilities(long_text)
    assert len(scored) == detect.EXACT_MAX_NGRAMS
    assert max(probabilities, key=lambda c: probabilities[c]) == "fr"
    scored.clear()
    detect.langdetect_probabilities(FR_1)  # short: every n-gram
    assert 0 < len(scored) < detect.EXACT_MAX_NGRAMS


def _lingua_asked(monkeypatch: pytest.MonkeyPatch, own_languages_only: bool) -> list[str]:
    """The texts lingua is asked about from now on (over its own languages only, or also
    over all of them: the check of languages only lingua knows)."""
    asked: list[str] = []
    original = detect.lingua_probabilities

    def counting(text: str, *, all_languages: bool = False) -> dict[str, float]:
        if not (own_languages_only and all_languages):
            asked.append(text)
        return original(text, all_languages=all_languages)

    monkeypatch.setattr(detect, "lingua_probabilities", counting)
    return asked


def test_lingua_scores_only_what_langdetect_is_not_certain_of(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = _lingua_asked(monkeypatch, own_languages_only=False)
    long_fr = f"{FR_1} {FR_2}"
    assert letter_count(long_fr) >= detect.LANGDETECT_ALONE_LETTERS > letter_count(FR_1)
    assert detect_paragraph(long_fr)[0] == "fr"
    assert asked == []  # long and certain: langdetect alone
    assert detect_paragraph(FR_1)[0] == "fr"
    assert asked == [FR_1]  # shorter: both detectors


def test_a_long_foreign_paragraph_keeps_its_code_in_a_document_of_long_paragraphs() -> None:
    long_fr = f"{FR_1} {FR_2}"
    result = detect_language([long_fr, EN_LONG, long_fr])
    assert [p.code for p in result.paragraphs] == ["fr", "en", "fr"]
    assert result.code == "fr"
    assert all(p.confidence > 0.9 for p in result.paragraphs)


def _scripted_lingua(
    monkeypatch: pytest.MonkeyPatch, whole: tuple[str, float], per_window: list[str]
) -> list[str]:
    """lingua over all languages answers `whole` for the text, then `per_window` in turn."""
    asked: list[str] = []
    answers = iter(per_window)

    def top(text: str) -> tuple[str, float]:
        asked.append(text)
        return whole if len(asked) == 1 else (next(answers), 0.95)

    monkeypatch.setattr(detect, "_lingua_top", top)
    return asked


def test_lingua_only_language_asks_no_window_once_the_answer_is_settled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = " ".join(f"w{i}" for i in range(10 * detect.WINDOW_WORDS))  # ten windows
    # A langdetect language holds over half the windows after six: None, four not asked.
    asked = _scripted_lingua(monkeypatch, ("yo", 0.99), ["id"] * 6 + ["yo"] * 4)
    assert detect.lingua_only_language(text, "id") is None
    assert len(asked) == 1 + 6
    # Spread answers: after six windows no code can pass half (2 + 4 <= 5); the letters
    # decide (w0 w1 ...: digits and w, not Yoruba's), as they would after all ten.
    asked = _scripted_lingua(
        monkeypatch, ("yo", 0.99), ["id", "yo", "tl", "sw", "ms", "sn", "yo", "yo", "yo", "yo"]
    )
    assert detect.lingua_only_language(text, "id") is None
    assert len(asked) == 1 + 6
    # A language only lingua knows wins: every window is asked (another winner than the
    # whole text's is given its share of the windows as confidence).
    asked = _scripted_lingua(monkeypatch, ("yo", 0.99), ["yo"] * 7 + ["id"] * 3)
    assert detect.lingua_only_language(text, "id") == ("yo", 0.99)
    assert len(asked) == 1 + 10
    asked = _scripted_lingua(monkeypatch, ("sn", 0.99), ["id"] + ["yo"] * 6 + ["id"] * 3)
    assert detect.lingua_only_language(text, "id") == ("yo", 0.6)
    assert len(asked) == 1 + 10


def test_lingua_skips_a_sentence_langdetect_is_certain_is_in_the_documents_language(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = _lingua_asked(monkeypatch, own_languages_only=True)
    assert letter_count(FR_1) < detect.LANGDETECT_ALONE_LETTERS
    assert detect.certain_language([FR_1, FR_2, EN_FOOTER]) == "fr"
    result = detect_language([FR_1, FR_2, EN_FOOTER])
    assert [p.code for p in result.paragraphs] == ["fr", "fr", "en"]
    assert asked == [EN_FOOTER]  # the foreign line is still scored by both detectors
    # Alone, the same sentence has no document to agree with: both detectors.
    asked.clear()
    assert detect_language([FR_1]).code == "fr"
    assert asked == [FR_1]
    # No language holds over half of the letters: every sentence is scored by both.
    asked.clear()
    paragraphs = [FR_1, DE_1, f"{EN_FOOTER} {EN_FOOTER}"]
    assert detect.certain_language(paragraphs) is None
    detect_language(paragraphs)
    assert asked == paragraphs
