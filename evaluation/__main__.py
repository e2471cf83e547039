"""python -m evaluation [--data DIR] [--limit N] [--out FILE] [--only langid|ner|ner-languages ...]
[--ner-data DIR] [--ner-model LANG=PATH ...] [--ner-languages de,es] [--ner-lang-docs N]"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from evaluation import langid, ner, ner_languages
from evaluation.report import render
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "eval"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m evaluation", description="Score Newsflow's language and entity code."
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("NEWSFLOW_EVAL_DATA") or DEFAULT_DATA),
        help="labelled data directory (default: $NEWSFLOW_EVAL_DATA or ../shared/eval)",
    )
    parser.add_argument(
        "--limit",
        "--per-language",
        dest="limit",
        type=int,
        default=150,
        help="langid texts per language and kind (0: all); default 150",
    )
    parser.add_argument("--ner-docs", type=int, default=0, help="documents per NER file (0: all)")
    parser.add_argument("--mixed-docs", type=int, default=300, help="mixed-language documents")
    parser.add_argument(
        "--determinism", type=int, default=300, help="texts for the two-process check (0: off)"
    )
    parser.add_argument(
        "--detectors",
        default="langdetect,newsflow,lingua-high,lingua-low",
        help="comma-separated: langdetect, newsflow, lingua-high, lingua-low",
    )
    parser.add_argument(
        "--french-models",
        default="fr_core_news_sm,fr_core_news_md",
        help="French spaCy models compared side by side",
    )
    parser.add_argument(
        "--ner-data",
        type=Path,
        default=None,
        help="NER dev data per language (default: train/ner beside --data, ../shared/train/ner)",
    )
    parser.add_argument(
        "--ner-model",
        action="append",
        default=[],
        metavar="LANG=PATH",
        help="spaCy model for a language, over the configured ones (repeatable)",
    )
    parser.add_argument(
        "--ner-languages", default="", help="comma-separated languages for NER per language"
    )
    parser.add_argument(
        "--ner-lang-docs", type=int, default=0, help="documents per NER dev set (0: all)"
    )
    parser.add_argument(
        "--rule-docs",
        type=int,
        default=300,
        help="documents per language for the rule gains (each rule is one more run; 0: all)",
    )
    parser.add_argument(
        "--only", choices=["langid", "ner", "ner-languages"], action="append", default=None
    )
    parser.add_argument("--out", type=Path, default=ROOT / "eval-results.json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data: Path = args.data
    if not data.is_dir():
        print(f"eval data not found: {data} (set EVAL_DATA=... or --data)", file=sys.stderr)
        return 2
    parts = args.only or ["langid", "ner", "ner-languages"]
    started = time.perf_counter()

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    results: dict[str, Any] = {
        "meta": {
            "data": str(data),
            "langid_per_language_and_kind": args.limit or None,
            "ner_docs_per_file": args.ner_docs or None,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        }
    }
    if "langid" in parts:
        results["langid"] = langid.evaluate(
            data,
            per_cell=args.limit or None,
            detector_names=[d.strip() for d in args.detectors.split(",") if d.strip()],
            mixed_docs=args.mixed_docs,
            determinism_texts=args.determinism,
            log=log,
        )
    if "langid" in parts:
        results["news_langid"] = langid.evaluate_news(data, log=log)
    if "ner" in parts:
        results["ner"] = ner.evaluate(
            data,
            max_docs=args.ner_docs or None,
            french_models=[m.strip() for m in args.french_models.split(",") if m.strip()],
            log=log,
        )
    if "ner-languages" in parts:
        models = {
            **Settings().spacy_models(),
            **ner_languages.parse_model_overrides(args.ner_model),
        }
        results["ner_languages"] = ner_languages.evaluate(
            args.ner_data or data.resolve().parent / "train" / "ner",
            models,
            languages=[x.strip() for x in args.ner_languages.split(",") if x.strip()] or None,
            max_docs=args.ner_lang_docs or None,
            rule_docs=args.rule_docs or None,
            log=log,
        )
    results["meta"]["wall_seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(render(results))
    print(f"\nFigures written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
