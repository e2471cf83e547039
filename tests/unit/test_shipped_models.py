"""The NER pipelines shipped under models/<lang>/: within budget, carded, loadable, named.

Each is what the entities image installs, so these run on every `make test`.
"""

import json
from pathlib import Path

import pytest
import spacy

from models.ner import ship
from models.ner.card import CARD_JSON, CARD_MD
from shared.settings import Settings

SHIPPED = ship.shipped()


def test_pipelines_are_shipped_within_the_budget() -> None:
    assert len(SHIPPED) >= 9, sorted(SHIPPED)
    # With fr and en (spaCy packages) and ru (natasha): entities in 12 languages or more.
    served = Settings(_env_file=None).spacy_models()  # type: ignore[call-arg]
    assert len(served) >= 12 and set(SHIPPED) | {"fr", "en", "ru"} <= set(served)
    total = sum(ship.weights_size(folder) for folder in SHIPPED.values())
    assert total <= ship.MAX_TOTAL_BYTES


@pytest.mark.parametrize("lang", sorted(SHIPPED))
def test_card_records_version_data_checksums_scores_and_licences(lang: str) -> None:
    folder: Path = SHIPPED[lang]
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    card = json.loads((folder / CARD_JSON).read_text(encoding="utf-8"))
    assert (folder / CARD_MD).is_file()
    assert meta["lang"] == card["lang"] == lang
    assert card["package"] == f"{lang}_newsflow_ner" == f"{meta['lang']}_{meta['name']}"
    assert card["version"] == meta["version"]
    train = [d for d in card["data"] if d["role"] == "train"]
    assert train and all(len(d["sha256"]) == 64 for d in card["data"])
    assert card["evaluation"] and card["words_per_second"] > 0
    assert card["reproduce"].startswith(f"make train-ner LANG={lang}")
    restricted = [d["file"] for d in train if d["flag"] in ("NC", "research-only")]
    assert len(card["licence_restrictions"]) == len(restricted)
    assert card["usable_commercially"] is (not restricted)


@pytest.mark.parametrize("lang", sorted(SHIPPED))
def test_pipeline_loads_and_tags_with_our_labels(lang: str) -> None:
    nlp = spacy.load(SHIPPED[lang])
    assert nlp.pipe_names == ["tok2vec", "ner"]
    # MISC only where the training data annotates it (da's does not).
    assert {"PER", "LOC", "ORG"} <= set(nlp.get_pipe("ner").labels) <= {"PER", "LOC", "ORG", "MISC"}
    doc = nlp("Berlin Paris London Moskau Madrid Roma Warszawa Stockholm")
    assert all(ent.label_ in {"PER", "LOC", "ORG", "MISC"} for ent in doc.ents)
