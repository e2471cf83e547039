"""Submit articles to a running Newsflow and print where each one ends up.

Standard library only, so `make seed` needs nothing installed.
Usage: python scripts/seed.py [--url http://127.0.0.1:8000] FILE...
The API key is NEWSFLOW_API_KEY, else the first of API_KEYS (environment, then .env).
"""

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmark.stack import api_key  # noqa: E402  (standard library only, as this script)

FINAL = {"stored", "failed"}
KEY = api_key(ROOT)


def call(method: str, url: str, body: bytes | None = None, ctype: str = "") -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method=method)
    if ctype:
        request.add_header("Content-Type", ctype)
    if KEY:
        request.add_header("X-API-Key", KEY)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--timeout", type=float, default=180)
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    if not KEY:
        print(
            "no API key: set NEWSFLOW_API_KEY or API_KEYS (make up writes one into .env)",
            file=sys.stderr,
        )
        return 1

    ids: dict[str, str] = {}
    for path in args.files:
        code, answer = call(
            "POST", f"{args.url}/articles", path.read_bytes(), "text/plain; charset=utf-8"
        )
        if code not in (200, 202):
            print(f"{path.name}: HTTP {code} {answer}", file=sys.stderr)
            return 1
        ids[path.name] = answer["id"]

    deadline = time.monotonic() + args.timeout
    results: dict[str, dict] = {}
    while len(results) < len(ids) and time.monotonic() < deadline:
        for name, article_id in ids.items():
            if name not in results:
                _, article = call("GET", f"{args.url}/articles/{article_id}")
                if article.get("status") in FINAL:
                    results[name] = article
        time.sleep(0.5)

    print(f"{'file':<28} {'id':<34} {'status':<10} {'lang':<5} {'conf':>5} {'entities':>8}")
    ok = True
    for name, article_id in ids.items():
        article = results.get(name, {"status": "timeout"})
        language = article.get("language") or {}
        print(
            f"{name:<28} {article_id:<34} {article['status']:<10} "
            f"{language.get('code', '-'):<5} {language.get('confidence', 0):>5.2f} "
            f"{len(article.get('entities') or []):>8}"
        )
        if article["status"] != "stored":
            ok = False
            print(f"  error: {article.get('error')}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
