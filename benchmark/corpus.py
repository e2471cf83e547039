"""The articles of a bench run. The ceiling (scripts/ceiling.py) and the stack (bench.py)
build the same corpus from the same files, so they are measured on the same texts.

- `french`: N articles of three paragraphs each from seeds/*.txt (about 1,000 characters),
  the figures the README has compared since the first bench.
- `multilingual`: real news and many languages, in a fixed cycle of five: a news article
  of MasakhaNEWS (eval/news-langid/dev.jsonl: 16 languages, headline and body, taken one
  language after another), five sentences of one language of eval/langid/all.tsv (79
  languages, one after another), a news article again, a TSV article again, and a French
  seed article. Every language model of the workers gets loaded; news bodies run from a
  few hundred to 28,000 characters, as real traffic does.

The evaluation data is read in place (EVAL_DATA, `../shared/eval` from the Makefile).
Every article gets a fresh external_id per run, so nothing is deduplicated away.
"""

import csv
import json
import re
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
NEWS = Path("news-langid") / "dev.jsonl"
LANGID = Path("langid") / "all.tsv"
CORPORA = ("french", "multilingual")
# The multilingual corpus cycles through these sources (40% news, 40% TSV, 20% seeds).
MIX = ("news", "langid", "news", "langid", "seed")
SENTENCES_PER_ARTICLE = 5

Article = dict[str, str]

# What the gateway refuses in a text (services/gateway/schemas.py): C0/C1 controls other
# than tab, line feed, form feed and carriage return.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def run_prefix(kind: str = "bench") -> str:
    """A prefix of external ids that no earlier run used."""
    return f"{kind}-{uuid.uuid4().hex[:8]}"


def seed_paragraphs(seeds: Path = SEEDS) -> list[str]:
    return [
        block.strip()
        for path in sorted(seeds.glob("*.txt"))
        for block in path.read_text(encoding="utf-8").split("\n\n")
        if len(block) > 150
    ]


def french_text(i: int, paragraphs: list[str]) -> str:
    """Article i of the French corpus: a dateline and three seed paragraphs."""
    return "\n\n".join(
        [f"Dépêche {i}.", *(paragraphs[(i + k) % len(paragraphs)] for k in range(3))]
    )


def french(n: int, prefix: str | None = None, seeds: Path = SEEDS) -> list[Article]:
    prefix = prefix or run_prefix()
    paragraphs = seed_paragraphs(seeds)
    return [{"external_id": f"{prefix}-{i}", "text": french_text(i, paragraphs)} for i in range(n)]


def news_by_language(path: Path) -> dict[str, list[Article]]:
    """MasakhaNEWS articles (headline as title, body as text), by language, in file order."""
    out: dict[str, list[Article]] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            row = json.loads(line)
            text = _FORBIDDEN.sub(" ", row["text"]).strip()
            if not text:
                continue
            article = {"text": text, "source": "masakhane-news"}
            title = _FORBIDDEN.sub(" ", row.get("title") or "").strip()
            if title:
                article["title"] = title
            out.setdefault(row["lang"], []).append(article)
    return out


def sentences_by_language(path: Path) -> dict[str, list[str]]:
    """The `sentences` rows of a lingua-style TSV (lang, kind, text), by language."""
    out: dict[str, list[str]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            text = "\t".join(row[2:])
            # Control characters (U+0092 in some lines) are refused by the gateway (422).
            if row[1:2] == ["sentences"] and not any(unicodedata.category(c) == "Cc" for c in text):
                out.setdefault(row[0], []).append(text)
    return out


def round_robin(i: int, groups: Mapping[str, Sequence[object]]) -> tuple[str, int]:
    """The i-th pick of one group after another (sorted keys): (key, round)."""
    keys = sorted(groups)
    return keys[i % len(keys)], i // len(keys)


def multilingual(
    n: int, eval_data: Path, prefix: str | None = None, seeds: Path = SEEDS
) -> list[Article]:
    prefix = prefix or run_prefix()
    news = news_by_language(eval_data / NEWS)
    sentences = sentences_by_language(eval_data / LANGID)
    paragraphs = seed_paragraphs(seeds)
    taken = dict.fromkeys(MIX, 0)  # articles taken so far from each source
    out: list[Article] = []
    for i in range(n):
        source = MIX[i % len(MIX)]
        k = taken[source]
        taken[source] += 1
        if source == "news":
            lang, r = round_robin(k, news)
            article = dict(news[lang][r % len(news[lang])])
        elif source == "langid":
            lang, r = round_robin(k, sentences)
            pool = sentences[lang]
            start = r * SENTENCES_PER_ARTICLE
            text = "\n\n".join(pool[(start + j) % len(pool)] for j in range(SENTENCES_PER_ARTICLE))
            article = {"text": text}
        else:
            article = {"text": french_text(k, paragraphs)}
        article["external_id"] = f"{prefix}-{i}"
        out.append(article)
    return out


def load(corpus: str, n: int, eval_data: Path, prefix: str | None = None) -> list[Article]:
    """N articles of `corpus` (one of CORPORA)."""
    if corpus == "french":
        return french(n, prefix)
    if corpus == "multilingual":
        return multilingual(n, eval_data, prefix)
    raise ValueError(f"unknown corpus {corpus!r}: one of {', '.join(CORPORA)}")
