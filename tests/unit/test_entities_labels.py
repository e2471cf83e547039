"""Entity labels: WikiNER/CoNLL and OntoNotes labels -> PER/ORG/LOC/MISC or dropped."""

import pytest

from services.entities.labels import DROPPED_LABELS, ENTITY_LABELS, normalise_label, unknown_labels


@pytest.mark.parametrize(
    ("model_label", "label"),
    [
        # WikiNER (French models) and CoNLL pass through.
        ("PER", "PER"),
        ("ORG", "ORG"),
        ("LOC", "LOC"),
        ("MISC", "MISC"),
        # OntoNotes (English models).
        ("PERSON", "PER"),
        ("GPE", "LOC"),
        ("FAC", "LOC"),
        ("NORP", "MISC"),
        ("EVENT", "MISC"),
        ("WORK_OF_ART", "MISC"),
        ("LAW", "MISC"),
        ("LANGUAGE", "MISC"),
        ("PRODUCT", "MISC"),
        # Tolerant of case and stray whitespace.
        ("person", "PER"),
        (" gpe ", "LOC"),
    ],
)
def test_mapped_labels(model_label: str, label: str) -> None:
    assert normalise_label(model_label) == label


@pytest.mark.parametrize(
    "model_label", ["DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"]
)
def test_numeric_and_temporal_labels_are_dropped(model_label: str) -> None:
    assert model_label in DROPPED_LABELS
    assert normalise_label(model_label) is None


def test_unknown_labels_are_dropped_and_reported() -> None:
    assert normalise_label("NUM") is None
    assert normalise_label("") is None
    assert unknown_labels(["PERSON", "DATE", "NUM", "EMAIL"]) == ["EMAIL", "NUM"]


def test_every_result_is_one_of_the_four_labels() -> None:
    assert {"PER", "ORG", "LOC", "MISC"} == ENTITY_LABELS
    ontonotes = ["PERSON", "ORG", "GPE", "LOC", "FAC", "NORP", "EVENT", "WORK_OF_ART", "LAW"]
    assert {normalise_label(label) for label in ontonotes} <= ENTITY_LABELS
