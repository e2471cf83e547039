"""Which files to train and evaluate on, and what SOURCES.md says about each of them.

SOURCES.md (in the data folder) has one table row per file: domain, counts, licence, flag.
A MISC count of "-" means the source does not annotate MISC at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SOURCES_FILE = "SOURCES.md"

# Sources known to leave MISC-like names O (SOURCES.md "No-MISC sources"); used when a file is
# missing from the table.
NO_MISC_PREFIXES: tuple[str, ...] = ("wikiann", "uner", "kind", "nerel", "factrueval", "ronec")

# Default training files per language: news first, then WikiNEuRal (Wikipedia, silver, NC) for
# coverage where the news set is small or absent. Relative to the data folder.
DEFAULT_TRAIN: dict[str, tuple[str, ...]] = {
    # CoNLL-2003 de dev is news too, so German trains on it and is scored on GermEval-2014's
    # news sentences (the issue's own German measure) and Wikipedia ones.
    "de": ("de/conll03-train.tsv", "de/conll03-dev.tsv", "de/wikineural-train.tsv.gz"),
    "en": ("en/conll03-train.tsv", "en/wikineural-train.tsv"),
    "es": ("es/conll02-train.tsv", "es/wikineural-train.tsv.gz"),
    "nl": ("nl/conll02-train.tsv", "nl/wikineural-train.tsv.gz"),
    "it": ("it/kind-wikinews-train.tsv", "it/wikineural-train.tsv.gz"),
    "pt": ("pt/uner-bosque-train.tsv", "pt/wikineural-train.tsv.gz"),
    "ru": ("ru/nerel-train.tsv", "ru/wikineural-train.tsv.gz"),
    "pl": ("pl/wikineural-train.tsv.gz", "pl/wikiann-train.tsv"),
    "fr": ("fr/wikineural-train.tsv", "fr/wikiann-train.tsv"),
    "sv": ("sv/swedish-ner-corpus-train.tsv", "sv/uner-talbanken-train.tsv"),
    "da": ("da/uner-ddt-train.tsv",),
    "cs": ("cs/cnec2-train.tsv",),
    "uk": ("uk/ner-uk-train.tsv",),
    "zh": ("zh/uner-gsdsimp-train.tsv",),
    "ar": ("ar/anercorp-train.tsv",),
    "ro": ("ro/ronec-dev.tsv",),
}

HOLDOUT_FRACTION = 0.1

# Languages whose dev files exist but are not a fair news dev set, so the last 10% of the first
# (news) training file is held out as the first dev set too: sv/uner-talbanken-dev.tsv has 23
# entities, too few to choose a checkpoint or quote an F1.
HOLDOUT_EVEN_WITH_DEV: frozenset[str] = frozenset({"sv"})


def holds_out(lang: str, dev_paths: Sequence[Path]) -> bool:
    """Whether training holds out the tail of the first training file as the first dev set."""
    return not dev_paths or lang in HOLDOUT_EVEN_WITH_DEV


@dataclass(frozen=True)
class SourceInfo:
    file: str  # relative to the data folder, e.g. "de/conll03-train.tsv"
    domain: str = "unknown"
    licence: str = "unknown (not in SOURCES.md)"
    flag: str = "unknown"
    misc_annotated: bool = True

    @property
    def restricted(self) -> bool:
        """NON-COMMERCIAL or research-only: a model trained on it inherits the restriction."""
        return self.flag in ("NC", "research-only")


def parse_sources_table(text: str) -> dict[str, SourceInfo]:
    """Rows `| lang | `file` | domain | sentences | tokens | docs | PER | LOC | ORG | MISC |
    licence | flag |` of SOURCES.md, keyed by file."""
    table: dict[str, SourceInfo] = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 12 or not cells[1].startswith("`"):
            continue
        file = cells[1].strip("`")
        table[file] = SourceInfo(
            file=file,
            domain=cells[2],
            licence=cells[10],
            flag=cells[11].strip("*") or "unknown",
            misc_annotated=cells[9] not in ("-", "0"),
        )
    return table


def load_sources(data_dir: Path) -> dict[str, SourceInfo]:
    path = data_dir / SOURCES_FILE
    return parse_sources_table(path.read_text(encoding="utf-8")) if path.is_file() else {}


def relative_name(path: Path, data_dir: Path) -> str:
    try:
        return path.resolve().relative_to(data_dir.resolve()).as_posix()
    except ValueError:
        return path.name


def source_info(file: str, table: dict[str, SourceInfo]) -> SourceInfo:
    """The table's row, or a guess from the file name (MISC from the known no-MISC sources)."""
    if file in table:
        return table[file]
    stem = file.rsplit("/", 1)[-1]
    return SourceInfo(file=file, misc_annotated=not stem.startswith(NO_MISC_PREFIXES))


def default_train_files(lang: str, data_dir: Path) -> list[Path]:
    if lang in DEFAULT_TRAIN:
        return [data_dir / name for name in DEFAULT_TRAIN[lang]]
    return sorted(p for p in (data_dir / lang).glob("*-train.tsv*"))


def dev_files(lang: str, data_dir: Path, exclude: Sequence[Path] = ()) -> list[Path]:
    """The language's `*-dev.tsv[.gz]` files not used for training."""
    excluded = {p.resolve() for p in exclude}
    return sorted(p for p in (data_dir / lang).glob("*-dev.tsv*") if p.resolve() not in excluded)
