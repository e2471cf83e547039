"""Model card of a trained NER pipeline: licences inherited, data hashes, dev F1, size, seed."""

import hashlib
import json
from pathlib import Path
from typing import Any

from models.ner.card import (
    CARD_JSON,
    CARD_MD,
    build_card,
    data_entry,
    restrictions,
    sha256_file,
    write_card,
)
from models.ner.scoring import score
from models.ner.sources import SourceInfo

NEWS = SourceInfo("de/conll03-train.tsv", "news", "CoNLL (research use)", "research-only")
WIKI = SourceInfo("de/wikineural-train.tsv.gz", "Wikipedia", "CC BY-NC-SA 4.0", "NC")
OPEN = SourceInfo("pt/uner-bosque-train.tsv", "news", "CC BY-SA 4.0", "ok", misc_annotated=False)


def card_for(infos: list[SourceInfo]) -> dict[str, Any]:
    result = score(
        [[(0, 1, "PER"), (2, 3, "MISC")]], [[(0, 1, "PER")]], ["PER", "LOC", "ORG", "MISC"]
    )
    return build_card(
        lang="de",
        data=[data_entry(info, "ab" * 32, "train") for info in infos],
        licence_flags=restrictions(infos),
        evaluation={"de/conll03-dev.tsv": result},
        size_bytes=3_410_000,
        words_per_second=20000.4,
        spacy_version="3.8.18",
        seed=7,
        config_sha256="cd" * 32,
        overrides={"nlp.lang": "de"},
        training={"train_seconds": 780.0, "stopped_by": "time limit"},
    )


def test_restricted_licences_are_flagged_by_kind() -> None:
    assert restrictions([NEWS, WIKI, OPEN]) == [
        "de/conll03-train.tsv: RESEARCH-ONLY (CoNLL (research use))",
        "de/wikineural-train.tsv.gz: NON-COMMERCIAL (CC BY-NC-SA 4.0)",
    ]
    assert restrictions([OPEN]) == []


def test_card_records_data_scores_size_and_provenance() -> None:
    card = card_for([NEWS, WIKI])
    assert card["usable_commercially"] is False
    assert [d["file"] for d in card["data"]] == [NEWS.file, WIKI.file]
    assert card["data"][0]["sha256"] == "ab" * 32
    assert card["data"][1]["flag"] == "NC"
    assert card["evaluation"]["de/conll03-dev.tsv"]["per_label"]["PER"]["f1"] == 1.0
    assert card["size_mb"] == 3.41
    assert card["words_per_second"] == 20000
    assert (card["seed"], card["spacy_version"], card["config_sha256"]) == (7, "3.8.18", "cd" * 32)


def test_markdown_warns_about_restricted_data_and_shows_f1(tmp_path: Path) -> None:
    write_card(tmp_path, card_for([NEWS, WIKI]))
    text = (tmp_path / CARD_MD).read_text(encoding="utf-8")
    assert "LICENCE WARNING" in text
    assert "NON-COMMERCIAL" in text and "RESEARCH-ONLY" in text
    assert "| de/conll03-dev.tsv | 1.000 | 0.000 | 0.000 | 0.000 | 0.667 | 1.000 |" in text
    assert "3.41 MB" in text and "seed 7" in text
    assert json.loads((tmp_path / CARD_JSON).read_text(encoding="utf-8")) == card_for([NEWS, WIKI])


def test_permissive_card_has_no_warning(tmp_path: Path) -> None:
    write_card(tmp_path, card_for([OPEN]))
    text = (tmp_path / CARD_MD).read_text(encoding="utf-8")
    assert "WARNING" not in text
    assert "| train | `pt/uner-bosque-train.tsv` | news | CC BY-SA 4.0 | ok | no |" in text


def test_data_files_are_identified_by_sha256(tmp_path: Path) -> None:
    path = tmp_path / "x.tsv"
    path.write_bytes(b"Paris\tB-LOC\n")
    assert sha256_file(path) == hashlib.sha256(b"Paris\tB-LOC\n").hexdigest()
