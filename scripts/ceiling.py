"""The in-process ceiling: the stage functions alone, in one process, with no queues.

Runs ingest_impl -> language_impl -> entities_impl (and one envelope JSON round trip, as a
hop costs) over the same articles `make bench` submits (benchmark/corpus.py builds them
both), and prints the CPU milliseconds of each stage per article and the articles per
CPU-second, after loading every model first as the workers do.
Nothing is asserted. `make bench` runs it first and hands its JSON to scripts/bench.py,
which divides the stack's throughput by this ceiling times the cores (the ratio of issue
#12) and compares the stack's CPU per article with it (the pipeline's overhead).
Usage: python scripts/ceiling.py [-n 200] [--corpus french|multilingual]
                                 [--eval-data ../shared/eval] [--json out.json]
"""

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmark import corpus  # noqa: E402  (the same articles as the stack's)

articles = corpus.french  # the French corpus, as the unit tests build it

STAGES = ("ingest", "language", "entities", "envelope_json")


def preload() -> None:
    """What the workers load before their first article (the language detectors, every
    served spaCy pipeline), so that no measured article pays for loading a model: with the
    multilingual corpus, three warm-up articles do not meet every language."""
    from services.entities.extract import load_pipeline
    from services.entities.serving import served_models
    from services.language.detect import preload as preload_detectors
    from shared.settings import Settings

    preload_detectors()
    for model in served_models(Settings()).values():
        load_pipeline(model)


def measure(todo: Sequence[dict[str, str]], warmup: int = 3) -> dict[str, object]:
    """CPU seconds per stage over `todo` (after `warmup` articles that load the models)."""
    from services.entities.tasks import entities_impl
    from services.ingest.tasks import ingest_impl
    from services.language.tasks import language_impl
    from shared.envelope import ArticleEnvelope, ArticleInput
    from shared.settings import Settings

    settings = Settings()
    cpu = dict.fromkeys(STAGES, 0.0)

    def run(item: dict[str, str], account: bool) -> None:
        envelope = ArticleEnvelope(
            id=os.urandom(16).hex(), received_at=datetime.now(UTC), input=ArticleInput(**item)
        )
        steps = (
            ("ingest", lambda e: ingest_impl(e)),
            ("language", lambda e: language_impl(e, settings)),
            ("entities", lambda e: entities_impl(e, settings)),
            (
                "envelope_json",
                lambda e: ArticleEnvelope.from_message(json.loads(json.dumps(e.to_message()))),
            ),
        )
        for stage, step in steps:
            started = time.process_time()
            envelope = step(envelope)
            if account:
                cpu[stage] += time.process_time() - started

    for item in todo[:warmup]:
        run(item, account=False)
    for item in todo:
        run(item, account=True)
    n = len(todo)
    total = sum(cpu.values())
    return {
        "articles": n,
        "cpu_ms_per_article": {stage: round(1000 * cpu[stage] / n, 2) for stage in STAGES},
        "cpu_ms_total_per_article": round(1000 * total / n, 2),
        "articles_per_cpu_second": round(n / total, 2) if total else 0.0,
        "cores": os.cpu_count() or 1,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--corpus", choices=corpus.CORPORA, default="french")
    parser.add_argument(
        "--eval-data", type=Path, default=Path("../shared/eval"), help="read in place"
    )
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the stages' own log lines; errors still raise
    todo = corpus.load(args.corpus, args.n, args.eval_data)
    preload()
    result = {"corpus": args.corpus, **measure(todo)}
    per = result["cpu_ms_per_article"]
    assert isinstance(per, dict)
    print(
        f"in-process ceiling  {result['articles']} {args.corpus} articles, one process, no queues"
    )
    for stage in STAGES:
        print(f"  {stage:<17} {per[stage]:8.1f} ms CPU per article")
    print(f"  {'total':<17} {result['cpu_ms_total_per_article']:8.1f} ms CPU per article")
    print(f"  {'throughput':<17} {result['articles_per_cpu_second']:8.1f} articles per CPU-second")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
