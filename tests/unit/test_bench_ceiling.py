"""The in-process ceiling of `make bench` (scripts/ceiling.py): every stage is measured."""

import sys

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))

from ceiling import STAGES, articles, measure


def test_every_stage_is_timed_on_the_bench_articles() -> None:
    result = measure(articles(2), warmup=1)
    per = result["cpu_ms_per_article"]
    assert isinstance(per, dict) and set(per) == set(STAGES)
    # The NLP stages do real work on a French article of about 1,000 characters.
    assert per["language"] > 0 and per["entities"] > 0
    assert result["articles"] == 2
    assert result["articles_per_cpu_second"] > 0
