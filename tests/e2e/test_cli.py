"""The `newsflow` command line against the whole stack: the seeds directory, as it is,
submitted with --wait; then again, when every seed is a duplicate already stored.

The command runs as a user runs it, in its own process (`python -m cli`, what the
`newsflow` entry point calls), configured by NEWSFLOW_URL and NEWSFLOW_API_KEY only.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from shared.ids import article_id
from tests.conftest import ROOT, SEEDS
from tests.e2e.conftest import API_KEY

pytestmark = pytest.mark.e2e

SUMMARY = re.compile(r"^stored: (\d+)  failed: (\d+)  duplicates: (\d+)  refused: (\d+)$", re.M)


def newsflow(api: httpx.Client, config_home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "NEWSFLOW_URL": str(api.base_url),
        "NEWSFLOW_API_KEY": API_KEY,
        "XDG_CONFIG_HOME": str(config_home),  # empty: no developer's config file is read
    }
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )


def summary(done: subprocess.CompletedProcess[str]) -> tuple[int, ...]:
    found = SUMMARY.search(done.stdout)
    assert found, f"no summary:\n{done.stdout}\n{done.stderr}"
    return tuple(int(count) for count in found.groups())


def test_submit_the_seeds_with_wait(api: httpx.Client, tmp_path: Path) -> None:
    seeds = sorted(SEEDS.glob("*.txt"))
    assert seeds
    ids = [article_id(path.read_text(encoding="utf-8"), None) for path in seeds]
    args = ("submit", str(SEEDS), "--wait", "--timeout", "300", "--no-progress")

    first = newsflow(api, tmp_path, *args)

    assert first.returncode == 0, f"{first.stdout}\n{first.stderr}"
    stored, failed, duplicates, refused = summary(first)
    assert (stored, failed, refused) == (len(seeds), 0, 0)
    # Other tests of the session may have sent the seeds already: then they are duplicates.
    assert 0 <= duplicates <= len(seeds)

    again = newsflow(api, tmp_path, *args)

    assert again.returncode == 0, f"{again.stdout}\n{again.stderr}"
    assert summary(again) == (len(seeds), 0, len(seeds), 0)

    # What the command says is stored is stored, with its language and entities.
    shown = newsflow(api, tmp_path, "get", ids[0], "--json")
    assert shown.returncode == 0, shown.stderr
    article = json.loads(shown.stdout)
    assert article["status"] == "stored" and article["language"]["code"] == "fr"
    assert article["entities"], article
