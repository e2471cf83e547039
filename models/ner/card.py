"""Model card of a trained NER pipeline: `card.json` (machine-readable) and `MODEL_CARD.md`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from models.ner.sources import SourceInfo

CARD_JSON = "card.json"
CARD_MD = "MODEL_CARD.md"

# Config overrides a card records besides steps and seed (train.py --width / --rows).
WIDTH_KEY = "components.tok2vec.model.encode.width"
ROWS_KEY = "components.tok2vec.model.embed.rows"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def restrictions(infos: Sequence[SourceInfo]) -> list[str]:
    """One line per training file whose licence restricts the model (NC / research-only)."""
    return [
        f"{info.file}: {'NON-COMMERCIAL' if info.flag == 'NC' else 'RESEARCH-ONLY'}"
        f" ({info.licence})"
        for info in infos
        if info.restricted
    ]


def data_entry(info: SourceInfo, sha256: str, role: str, note: str = "") -> dict[str, Any]:
    entry: dict[str, Any] = {
        "file": info.file,
        "role": role,
        "sha256": sha256,
        "domain": info.domain,
        "licence": info.licence,
        "flag": info.flag,
        "misc_annotated": info.misc_annotated,
    }
    if note:
        entry["note"] = note
    return entry


def build_card(
    *,
    lang: str,
    data: Sequence[dict[str, Any]],
    licence_flags: Sequence[str],
    evaluation: dict[str, Any],
    size_bytes: int,
    words_per_second: float,
    spacy_version: str,
    seed: int,
    config_sha256: str,
    overrides: dict[str, Any],
    training: dict[str, Any],
) -> dict[str, Any]:
    """The card as a plain dict (what card.json holds); pure, so tests can check it."""
    return {
        "name": f"newsflow-ner-{lang}",
        "lang": lang,
        "labels": ["PER", "LOC", "ORG", "MISC"],
        "pipeline": ["tok2vec", "ner"],
        "licence_restrictions": list(licence_flags),
        "usable_commercially": not licence_flags,
        "data": list(data),
        "evaluation": evaluation,
        "size_bytes": size_bytes,
        "size_mb": round(size_bytes / 1e6, 2),
        "words_per_second": round(words_per_second),
        "spacy_version": spacy_version,
        "seed": seed,
        "config_sha256": config_sha256,
        "overrides": overrides,
        "training": training,
    }


def _f1(result: dict[str, Any], label: str) -> str:
    per_label = result["per_label"]
    return f"{per_label[label]['f1']:.3f}" if label in per_label else "n/a"


def render_markdown(card: dict[str, Any]) -> str:
    lines = [f"# {card['name']}", ""]
    if card["licence_restrictions"]:
        lines += [
            "**LICENCE WARNING: trained on restricted data; the model inherits it.**",
            "",
            *[f"- **{flag}**" for flag in card["licence_restrictions"]],
            "",
        ]
    else:
        lines += ["Trained only on data with permissive licences.", ""]
    lines += [
        f"spaCy {card['spacy_version']}, pipeline {' + '.join(card['pipeline'])}, "
        f"labels {'/'.join(card['labels'])}, seed {card['seed']}, "
        f"config sha256 `{card['config_sha256'][:16]}`.",
        f"Size on disk {card['size_mb']} MB; {card['words_per_second']} words/s (CPU).",
        "",
        "## Data",
        "",
        "| role | file | domain | licence | flag | MISC annotated | sha256 |",
        "|---|---|---|---|---|---|---|",
    ]
    for d in card["data"]:
        lines.append(
            f"| {d['role']} | `{d['file']}` | {d['domain']} | {d['licence']} | {d['flag']} "
            f"| {'yes' if d['misc_annotated'] else 'no'} | `{d['sha256'][:16]}` |"
        )
    notes = [d for d in card["data"] if d.get("note")]
    lines += ["", *[f"- `{d['file']}`: {d['note']}" for d in notes]]
    lines += [
        "",
        "## Dev F1 (exact spans)",
        "",
        "| dev set | PER | LOC | ORG | MISC | micro (all scored) | micro PER/LOC/ORG |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, result in card["evaluation"].items():
        lines.append(
            f"| {name} | {_f1(result, 'PER')} | {_f1(result, 'LOC')} | {_f1(result, 'ORG')} "
            f"| {_f1(result, 'MISC')} | {result['micro']['f1']:.3f} "
            f"| {result['micro_core']['f1']:.3f} |"
        )
    lines += ["", "## Training", "", "```json", json.dumps(card["training"], indent=2), "```"]
    if card["overrides"]:
        lines += ["", "Config overrides: `" + json.dumps(card["overrides"]) + "`"]
    return "\n".join(lines) + "\n"


def write_card(folder: Path, card: dict[str, Any]) -> None:
    (folder / CARD_JSON).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (folder / CARD_MD).write_text(render_markdown(card), encoding="utf-8")
