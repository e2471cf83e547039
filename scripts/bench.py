"""Throughput and latency of a running Newsflow (`make up` first), end to end.

Submits N distinct articles built from seeds/ in batches, polls until every one is
stored or failed, and prints figures: nothing is asserted. Traffic goes only to the
gateway URL given (default: the local stack).
Usage: python scripts/bench.py [--url http://127.0.0.1:8000] [-n 200] [--batch 50]
                               [--langid ../shared/eval/langid/all.tsv]
--langid builds the articles from the sentences of a lingua-style TSV (lang, kind, text),
one language after another, so that every language model of the workers gets loaded.
"""

import argparse
import csv
import json
import statistics
import sys
import time
import unicodedata
import uuid
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed import call  # the stdlib-only client of make seed

ROOT = Path(__file__).resolve().parent.parent


def articles(n: int) -> list[dict[str, str]]:
    paragraphs = [
        block.strip()
        for path in sorted((ROOT / "seeds").glob("*.txt"))
        for block in path.read_text(encoding="utf-8").split("\n\n")
        if len(block) > 150
    ]
    run = uuid.uuid4().hex[:8]  # fresh ids each run: nothing is deduplicated away
    return [
        {
            "external_id": f"bench-{run}-{i}",
            "text": "\n\n".join(
                [f"Dépêche {i}.", *(paragraphs[(i + k) % len(paragraphs)] for k in range(3))]
            ),
        }
        for i in range(n)
    ]


def multilingual_articles(n: int, path: Path) -> list[dict[str, str]]:
    """N articles of 5 sentences each, cycling through the languages of the TSV."""
    by_language: dict[str, list[str]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            text = "\t".join(row[2:])
            # Control characters (U+0092 in some lines) are refused by the gateway (422).
            if row[1:2] == ["sentences"] and not any(unicodedata.category(c) == "Cc" for c in text):
                by_language.setdefault(row[0], []).append(text)
    languages = sorted(by_language)
    run = uuid.uuid4().hex[:8]
    out = []
    for i in range(n):
        sentences = by_language[languages[i % len(languages)]]
        k = (i // len(languages)) * 5
        out.append(
            {
                "external_id": f"bench-{run}-{i}",
                "text": "\n\n".join(sentences[(k + j) % len(sentences)] for j in range(5)),
            }
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--langid", type=Path, help="TSV of sentences in many languages")
    parser.add_argument(
        "--ceiling", type=Path, help="scripts/ceiling.py's JSON: print the stack/ceiling ratio"
    )
    args = parser.parse_args()

    todo = multilingual_articles(args.n, args.langid) if args.langid else articles(args.n)
    chars = sum(len(a["text"]) for a in todo)
    submitted: list[str] = []
    start = time.monotonic()
    for i in range(0, len(todo), args.batch):
        body = json.dumps({"articles": todo[i : i + args.batch]}).encode()
        code, answer = call("POST", f"{args.url}/articles/batch", body, "application/json")
        if code != 202:
            print(f"batch refused: HTTP {code} {answer}", file=sys.stderr)
            return 1
        submitted.extend(answer["ids"])
    submit_s = time.monotonic() - start

    # Latency is the server's own: metadata.stored_at - metadata.received_at. Polling
    # only finds out when an article settled, so it walks the pending articles in
    # submission order and stops at a few unsettled ones: the bench's own requests must
    # not take the CPU the stack is being measured on.
    done: set[str] = set()
    received: dict[str, datetime] = {}  # the gateway's received_at, per stored article
    stored_at: dict[str, datetime] = {}
    failed = 0
    deadline = start + args.timeout
    while len(done) < len(submitted) and time.monotonic() < deadline:
        misses = 0
        for aid in [a for a in submitted if a not in done]:
            _, article = call("GET", f"{args.url}/articles/{aid}")
            meta = article.get("metadata") or {}
            settled = article.get("status") == "failed" or meta.get("stored_at")
            if not settled:
                misses += 1
                if misses >= 3:
                    break
                continue
            done.add(aid)
            if article["status"] == "failed":
                failed += 1
                continue
            stored_at[aid] = datetime.fromisoformat(meta["stored_at"])
            received[aid] = datetime.fromisoformat(meta["received_at"])
        time.sleep(0.5)
    first_received = min(received.values()) if received else None
    total_s = (
        (max(stored_at.values()) - first_received).total_seconds()
        if stored_at and first_received
        else time.monotonic() - start
    )

    spread = sorted((stored_at[a] - received[a]).total_seconds() for a in stored_at)
    q = statistics.quantiles(spread, n=20) if len(spread) >= 2 else spread * 19
    print(f"articles            {args.n} ({chars / args.n:.0f} chars each on average)")
    print(f"settled             {len(done)} ({failed} failed, {args.n - len(done)} unsettled)")
    print(f"submit time         {submit_s:.2f} s ({args.n / submit_s:.0f} articles/s accepted)")
    print(f"end-to-end time     {total_s:.2f} s ({len(stored_at) / total_s:.1f} articles/s stored)")
    if spread:
        print(f"latency p50 / p95   {statistics.median(spread):.2f} s / {q[18]:.2f} s")
    print("(server clocks: first received_at to last stored_at; latency per article")
    print(" is stored_at - received_at, so polling does not blur it)")
    if args.ceiling and args.ceiling.is_file() and total_s > 0:
        ceiling = json.loads(args.ceiling.read_text(encoding="utf-8"))
        best = ceiling["articles_per_cpu_second"] * ceiling["cores"]
        stack = len(stored_at) / total_s
        print(
            f"stack / ceiling     {stack:.1f} / ({ceiling['articles_per_cpu_second']:.1f} x "
            f"{ceiling['cores']} cores) = {stack / best:.2f}"
            if best
            else "no ceiling"
        )
    return 0 if len(done) == args.n else 1


if __name__ == "__main__":
    sys.exit(main())
