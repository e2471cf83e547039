"""The `newsflow` command line against the whole stack.

The command runs as a user runs it, in its own process (`python -m cli`, what the
`newsflow` entry point calls), configured by NEWSFLOW_URL and NEWSFLOW_API_KEY only.
The seeds directory, as it is, goes in with --wait after the session's `seeds` fixture
stored it (test_pipeline needs the seeds new when it submits them): every seed is a
duplicate, already stored. New articles made from the seeds then go through the whole
pipeline while the command waits for them.
"""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.ids import article_id
from tests.conftest import ROOT, SEEDS
from tests.e2e.conftest import API_KEY

pytestmark = pytest.mark.e2e

SUMMARY = re.compile(r"^stored: (\d+)  failed: (\d+)  duplicates: (\d+)  refused: (\d+)$", re.M)
SEED_FILES = sorted(SEEDS.glob("*.txt"))


def newsflow(api: httpx.Client, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "NEWSFLOW_URL": str(api.base_url),
        "NEWSFLOW_API_KEY": API_KEY,
        "XDG_CONFIG_HOME": str(home),  # empty: no developer's config file is read
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


def test_submit_the_seeds_directory_with_wait(
    api: httpx.Client, seeds: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    assert all(article["status"] == "stored" for article in seeds.values())

    done = newsflow(api, tmp_path, "submit", str(SEEDS), "--wait", "--timeout", "300")

    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert summary(done) == (len(SEED_FILES), 0, len(SEED_FILES), 0)
    assert "stored" in done.stderr  # the progress bars, never on stdout


def test_new_articles_are_followed_until_stored(api: httpx.Client, tmp_path: Path) -> None:
    run = secrets.token_hex(4)
    articles = tmp_path / "articles"
    (articles / "more").mkdir(parents=True)
    texts = [
        f"Dépêche CLI {run} numéro {i}.\n\n{path.read_text(encoding='utf-8')}"
        for i, path in enumerate(SEED_FILES)
    ]
    (articles / "one.txt").write_text(texts[0], encoding="utf-8")
    (articles / "more" / "two.json").write_text(
        json.dumps({"text": texts[1], "title": f"Dépêche {run}", "external_id": f"cli-{run}"}),
        encoding="utf-8",
    )
    (articles / "notes.md").write_text("not an article", encoding="utf-8")

    done = newsflow(
        api, tmp_path, "submit", str(articles), "--wait", "--timeout", "300", "--no-progress"
    )

    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert summary(done) == (2, 0, 0, 0)

    shown = newsflow(api, tmp_path, "get", article_id(texts[1], f"cli-{run}"), "--json")
    assert shown.returncode == 0, shown.stderr
    article = json.loads(shown.stdout)
    assert (article["status"], article["title"]) == ("stored", f"Dépêche {run}")
    assert article["language"]["code"] == "fr" and article["entities"], article
