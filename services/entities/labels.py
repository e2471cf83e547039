"""Model entity labels -> the pipeline's four labels (PER, ORG, LOC, MISC).

The French models use WikiNER labels (PER/LOC/ORG/MISC), the English ones
OntoNotes. Numeric and temporal OntoNotes types are not named entities for our
purposes and are dropped (None).
"""

from typing import Literal, get_args

EntityLabel = Literal["PER", "ORG", "LOC", "MISC"]
ENTITY_LABELS: frozenset[str] = frozenset(get_args(EntityLabel))

LABEL_MAP: dict[str, EntityLabel] = {
    # WikiNER / CoNLL: already ours.
    "PER": "PER",
    "ORG": "ORG",
    "LOC": "LOC",
    "MISC": "MISC",
    # OntoNotes (en_core_web_*).
    "PERSON": "PER",
    "GPE": "LOC",
    "FAC": "LOC",
    "NORP": "MISC",
    "EVENT": "MISC",
    "WORK_OF_ART": "MISC",
    "LAW": "MISC",
    "LANGUAGE": "MISC",
    "PRODUCT": "MISC",
}

DROPPED_LABELS: frozenset[str] = frozenset(
    {"DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"}
)


def normalise_label(model_label: str) -> EntityLabel | None:
    """Our label for a model label, or None for dropped and unknown labels.

    Unknown labels are dropped rather than guessed as MISC: a new model's
    numeric type would otherwise leak in. unknown_labels() reports them at load.
    """
    return LABEL_MAP.get(model_label.strip().upper())


def unknown_labels(model_labels: tuple[str, ...] | list[str]) -> list[str]:
    """Labels of a model that the table neither maps nor drops on purpose."""
    return sorted(
        label
        for label in model_labels
        if label.strip().upper() not in LABEL_MAP and label.strip().upper() not in DROPPED_LABELS
    )
