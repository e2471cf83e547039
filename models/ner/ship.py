"""python -m models.ner.ship LANG... | --check | --table

Ships trained pipelines: copies build/ner/<lang>/pipeline (what `make train-ner` wrote) to
models/<lang>/, the folder the entities image installs, and checks the budget: every shipped
pipeline together at most MAX_TOTAL_BYTES (60 MB). `--check` only checks what is shipped;
`--table` prints the README's language table from the shipped cards.

A shipped folder is a plain spaCy pipeline (config.cfg, meta.json, tokenizer, vocab/, tok2vec/,
ner/) named `<lang>_newsflow_ner` at its meta.json version, with its card (card.json and
MODEL_CARD.md): the training data's sha256 checksums, dev F1, size, words/s and licences.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from models.ner.card import CARD_JSON, CARD_MD, ROWS_KEY, WIDTH_KEY, folder_size
from models.ner.sources import DEFAULT_TRAIN

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "models"
BUILD = ROOT / "build" / "ner"
MAX_TOTAL_BYTES = 60_000_000
HELD_OUT = " (last 10% held out)"
CARD_FILES = (CARD_JSON, CARD_MD)


def is_pipeline(folder: Path) -> bool:
    """A spaCy pipeline folder (models/ner, the recipe, has a config.cfg but no meta.json)."""
    return (folder / "config.cfg").is_file() and (folder / "meta.json").is_file()


def shipped(root: Path = SHIPPED) -> dict[str, Path]:
    """{lang: folder} of every shipped pipeline, sorted by language."""
    if not root.is_dir():
        return {}
    return {p.name: p for p in sorted(root.iterdir()) if p.is_dir() and is_pipeline(p)}


def weights_size(folder: Path) -> int:
    """Bytes of the pipeline itself (the card files are documentation, not weights)."""
    return folder_size(folder) - sum(
        (folder / name).stat().st_size for name in CARD_FILES if (folder / name).is_file()
    )


def reproduce_command(card: dict[str, Any]) -> str:
    """The `make train-ner` line that trains this pipeline again."""
    lang = card["lang"]
    train = [d["file"] for d in card["data"] if d["role"] == "train"]
    parts = [f"make train-ner LANG={lang}"]
    if tuple(train) != DEFAULT_TRAIN.get(lang, ()):
        parts.append(f"TRAIN_DATA={','.join(train)}")
    overrides = card.get("overrides", {})
    steps = overrides.get("training.max_steps")
    if steps is not None and steps != 8000:
        parts.append(f"MAX_STEPS={steps}")
    extra = []
    if card.get("version", "1.0.0") != "1.0.0":
        extra.append(f"--version {card['version']}")
    if card.get("seed", 0) != 0:
        extra.append(f"--seed {card['seed']}")
    if card.get("training", {}).get("checkpoint") == "model-last":
        extra.append("--checkpoint last")
    for key, option in ((WIDTH_KEY, "--width"), (ROWS_KEY, "--rows")):
        if key in overrides:
            value = overrides[key]
            text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
            extra.append(f"{option} {text}")
    policy = card.get("training", {}).get("no_misc_policy", "mask")
    if policy != "mask":
        extra.append(f"--no-misc {policy}")
    if extra:
        parts.append(f"NER_ARGS='{' '.join(extra)}'")
    return " ".join(parts)


def ship(lang: str, build: Path = BUILD, root: Path = SHIPPED) -> Path:
    source = build / lang / "pipeline"
    if not is_pipeline(source) or not (source / CARD_JSON).is_file():
        raise SystemExit(f"{source}: no pipeline with a card (run make train-ner LANG={lang})")
    meta = json.loads((source / "meta.json").read_text(encoding="utf-8"))
    card = json.loads((source / CARD_JSON).read_text(encoding="utf-8"))
    card["package"] = f"{meta['lang']}_{meta['name']}"
    card["version"] = meta["version"]
    card["reproduce"] = reproduce_command(card)
    target = root / lang
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    (target / CARD_JSON).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    # The licence the weights inherit, where spaCy tools (spacy info, package) look for it.
    meta["license"] = licence_summary(card)
    (target / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return target


def check(root: Path = SHIPPED) -> int:
    """Print every shipped pipeline's size; non-zero when together over the budget."""
    total = 0
    for lang, folder in shipped(root).items():
        size = weights_size(folder)
        total += size
        print(f"{lang}: {size / 1e6:.2f} MB ({folder.relative_to(root.parent)})")
    print(f"total: {total / 1e6:.2f} MB of {MAX_TOTAL_BYTES / 1e6:.0f} MB")
    if total > MAX_TOTAL_BYTES:
        print("over the budget", file=sys.stderr)
        return 1
    return 0


def best_dev(card: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The dev set the README quotes: news before mixed before Wikipedia."""
    evaluation: dict[str, Any] = card["evaluation"]
    rank = {"news": 0, "mixed": 1}
    domains = {d["file"]: d["domain"] for d in card["data"]}

    def domain(name: str) -> str:
        name = name.replace(HELD_OUT, "")  # a held-out tail has its training file's domain
        file, _, part = name.partition(" [")  # "de/germeval-dev.tsv [news]": a URL subset
        if part.rstrip("]") in ("news", "wikipedia"):
            return "news" if part.startswith("news") else "Wikipedia"
        return str(domains.get(file, "unknown")).split()[0].rstrip(":")

    name = min(evaluation, key=lambda n: rank.get(domain(n), 2))
    return f"{name} ({domain(name)})", evaluation[name]


def licence_summary(card: dict[str, Any]) -> str:
    """ "NON-COMMERCIAL (wikineural-train); RESEARCH-ONLY (conll03-train)" or "permissive"."""
    by_flag: dict[str, list[str]] = {}
    for line in card["licence_restrictions"]:
        file, rest = line.split(": ", 1)
        flag = rest.split(" (", 1)[0]
        by_flag.setdefault(flag, []).append(Path(file).name.split(".")[0])
    unclear = [
        Path(d["file"]).name.split(".")[0]
        for d in card["data"]
        if d["role"] == "train" and d.get("flag") == "unclear"
    ]
    if unclear:
        by_flag["no licence stated"] = unclear
    if not by_flag:
        return "permissive data only"
    return "; ".join(f"{flag} ({', '.join(files)})" for flag, files in sorted(by_flag.items()))


def table(root: Path = SHIPPED) -> str:
    lines = [
        "| language | model (version) | micro F1 PER/LOC/ORG | on (dev set) | licence "
        "| size | words/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for lang, folder in shipped(root).items():
        card = json.loads((folder / CARD_JSON).read_text(encoding="utf-8"))
        dev, result = best_dev(card)
        licence = licence_summary(card)
        lines.append(
            f"| {lang} | `{card.get('package', lang)}` {card.get('version', '?')} "
            f"| {result['micro_core']['f1']:.3f} | `{dev}` | {licence} "
            f"| {card['size_mb']} MB | {card['words_per_second']:,} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.ner.ship", description=__doc__)
    parser.add_argument("langs", nargs="*", help="languages to ship from build/ner/<lang>")
    parser.add_argument("--check", action="store_true", help="only check the size budget")
    parser.add_argument("--table", action="store_true", help="print the README language table")
    args = parser.parse_args(argv)
    if args.table:
        print(table())
        return 0
    for lang in args.langs:
        print(f"shipped {lang} -> {ship(lang).relative_to(ROOT)}")
    return check()


if __name__ == "__main__":
    raise SystemExit(main())
