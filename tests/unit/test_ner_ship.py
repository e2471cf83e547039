"""Shipping trained pipelines: what is a pipeline, the 60 MB budget, the reproduce line."""

import json
from pathlib import Path
from typing import Any

import pytest

from models.ner import ship
from models.ner.card import CARD_JSON, CARD_MD


def make_pipeline(folder: Path, lang: str, weights: int, restrictions: list[str]) -> None:
    folder.mkdir(parents=True)
    (folder / "config.cfg").write_text("[nlp]\n", encoding="utf-8")
    (folder / "meta.json").write_text(
        json.dumps({"lang": lang, "name": "newsflow_ner", "version": "1.2.0"}), encoding="utf-8"
    )
    (folder / "ner").mkdir()
    (folder / "ner" / "model").write_bytes(b"\0" * weights)
    card: dict[str, Any] = {
        "lang": lang,
        "data": [
            {"file": f"{lang}/conll03-train.tsv", "role": "train", "domain": "news"},
            {"file": f"{lang}/conll03-dev.tsv", "role": "dev", "domain": "news"},
        ],
        "licence_restrictions": restrictions,
        "evaluation": {
            f"{lang}/conll03-dev.tsv": {"micro_core": {"f1": 0.71234}, "micro": {"f1": 0.6}}
        },
        "size_mb": round(weights / 1e6, 2),
        "words_per_second": 12345,
        "overrides": {"training.max_steps": 5000},
        "seed": 0,
        "training": {"no_misc_policy": "mask"},
    }
    (folder / CARD_JSON).write_text(json.dumps(card), encoding="utf-8")
    (folder / CARD_MD).write_text("# card\n" * 1000, encoding="utf-8")


def test_recipe_folder_is_not_a_pipeline(tmp_path: Path) -> None:
    recipe = tmp_path / "ner"
    recipe.mkdir()
    (recipe / "config.cfg").write_text("[nlp]\n", encoding="utf-8")
    make_pipeline(tmp_path / "de", "de", 10, [])
    assert list(ship.shipped(tmp_path)) == ["de"]


def test_ship_copies_and_stamps_the_card(tmp_path: Path) -> None:
    build, root = tmp_path / "build", tmp_path / "models"
    make_pipeline(build / "xx" / "pipeline", "xx", 100, [])
    target = ship.ship("xx", build=build, root=root)
    card = json.loads((target / CARD_JSON).read_text(encoding="utf-8"))
    assert card["package"] == "xx_newsflow_ner" and card["version"] == "1.2.0"
    assert card["reproduce"] == (
        "make train-ner LANG=xx TRAIN_DATA=xx/conll03-train.tsv MAX_STEPS=5000 "
        "NER_ARGS='--version 1.2.0'"
    )
    with pytest.raises(SystemExit):
        ship.ship("yy", build=build, root=root)


def test_reproduce_line_carries_checkpoint_width_and_rows() -> None:
    card = {
        "lang": "de",
        "data": [
            {"file": "de/conll03-train.tsv", "role": "train"},
            {"file": "de/conll03-dev.tsv", "role": "train"},
            {"file": "de/wikineural-train.tsv.gz", "role": "train"},
        ],
        "overrides": {
            "training.max_steps": 9000,
            "components.tok2vec.model.encode.width": 96,
            "components.tok2vec.model.embed.rows": [10000, 2000, 4000, 1000],
        },
        "training": {"no_misc_policy": "mask", "checkpoint": "model-last"},
        "version": "1.1.0",
    }
    assert ship.reproduce_command(card) == (
        "make train-ner LANG=de MAX_STEPS=9000 "
        "NER_ARGS='--version 1.1.0 --checkpoint last --width 96 --rows 10000,2000,4000,1000'"
    )


def test_budget_counts_weights_not_cards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_pipeline(tmp_path / "de", "de", 40_000, [])
    make_pipeline(tmp_path / "es", "es", 30_000, [])
    monkeypatch.setattr(ship, "MAX_TOTAL_BYTES", 80_000)
    assert ship.check(tmp_path) == 0
    monkeypatch.setattr(ship, "MAX_TOTAL_BYTES", 60_000)
    assert ship.check(tmp_path) == 1
    assert "over the budget" in capsys.readouterr().err


def test_readme_table_names_licences(tmp_path: Path) -> None:
    make_pipeline(
        tmp_path / "de",
        "de",
        10,
        [
            "de/conll03-train.tsv: RESEARCH-ONLY (CoNLL (research use))",
            "de/wikineural-train.tsv.gz: NON-COMMERCIAL (CC BY-NC-SA 4.0)",
        ],
    )
    make_pipeline(tmp_path / "pt", "pt", 10, [])
    rows = ship.table(tmp_path).splitlines()
    assert "NON-COMMERCIAL (wikineural-train); RESEARCH-ONLY (conll03-train)" in rows[2]
    assert "0.712" in rows[2] and "`de/conll03-dev.tsv (news)`" in rows[2]
    assert "permissive data only" in rows[3]


def test_readme_quotes_the_news_part_of_a_mixed_dev_set() -> None:
    card = {
        "data": [{"file": "de/germeval-dev.tsv", "role": "dev", "domain": "mixed"}],
        "evaluation": {
            "de/germeval-dev.tsv": {"micro_core": {"f1": 0.61}},
            "de/germeval-dev.tsv [news]": {"micro_core": {"f1": 0.667}},
            "de/germeval-dev.tsv [wikipedia]": {"micro_core": {"f1": 0.56}},
        },
    }
    name, scores = ship.best_dev(card)
    assert name == "de/germeval-dev.tsv [news] (news)"
    assert scores["micro_core"]["f1"] == 0.667
