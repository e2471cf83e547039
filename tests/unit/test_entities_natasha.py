"""Russian NER through natasha, run as a spaCy component by the entities core."""

from importlib import metadata

from services.entities.extract import extract_entities, resolve_model

TEXT = (
    "МОСКВА, 5 марта. Президент России Владимир Путин провёл в Кремле переговоры с "
    "премьер-министром Индии Нарендрой Моди. Центральный банк России сохранил ставку."
)


def test_natasha_finds_names_with_offsets_into_the_text() -> None:
    result = extract_entities(TEXT, "ru", {"ru": "natasha"})
    assert result.status == "extracted"
    assert (result.model, result.model_version) == ("ru_natasha_ner", metadata.version("natasha"))
    found = {(e.text, e.label) for e in result.entities}
    assert {("Владимир Путин", "PER"), ("Нарендрой Моди", "PER")} <= found
    assert any(label == "ORG" for _, label in found)
    for entity in result.entities:
        assert TEXT[entity.start : entity.end] == entity.text
    # The surname-first group: one Putin, however often named.
    assert any(g.name == "Владимир Путин" for g in result.groups)


def test_natasha_resolves_only_when_installed() -> None:
    assert resolve_model("natasha") == "natasha"
