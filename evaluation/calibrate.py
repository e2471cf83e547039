"""python -m evaluation.calibrate [--data DIR]: the language stage's FIT_NORMS.

For each language langdetect knows, the median fit (services.language.detect.fit_excess
with no norm: mean surprise per trigram) on 40 paragraphs of about 300 characters made of
langid/all.tsv sentences in that language that make eval does not score. Paste the
printed dict into services/language/detect.py.
"""

from __future__ import annotations

import argparse
import random
import statistics
from collections import defaultdict
from pathlib import Path

from evaluation.__main__ import DEFAULT_DATA
from evaluation.langid import langdetect_languages, read_samples, select
from services.language import detect

PARAGRAPHS = 40
PARAGRAPH_CHARS = 300


def norms(data: Path, per_cell: int = 150) -> dict[str, float]:
    samples = read_samples(data / "langid" / "all.tsv")
    scored = {(s.lang, s.kind, s.text) for s in select(samples, per_cell)}
    sentences: dict[str, list[str]] = defaultdict(list)
    for s in samples:
        if s.kind == "sentences" and (s.lang, s.kind, s.text) not in scored:
            sentences[s.lang].append(s.text)
    saved, detect.FIT_NORMS = detect.FIT_NORMS, dict.fromkeys(langdetect_languages(), 0.0)
    try:
        out: dict[str, float] = {}
        for lang in sorted(set(sentences) & langdetect_languages()):
            texts = sentences[lang][:]
            random.Random(lang).shuffle(texts)
            values = []
            for _ in range(PARAGRAPHS):
                paragraph = ""
                while len(paragraph) < PARAGRAPH_CHARS and texts:
                    paragraph = f"{paragraph} {texts.pop()}".strip()
                trigrams, value = detect.fit_excess(paragraph, lang)
                if value is not None and trigrams:
                    values.append(value)
            if values:
                out[lang] = round(statistics.median(values), 3)
        return out
    finally:
        detect.FIT_NORMS = saved


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m evaluation.calibrate")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    print(norms(parser.parse_args().data))


if __name__ == "__main__":
    main()
