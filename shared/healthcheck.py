"""Container healthchecks: `python -m shared.healthcheck http URL | celery WORKER`.

Pure stdlib plus the settings, so checking a heavy worker never imports its NLP
libraries, nor Celery: a worker is checked through the report its main process writes
(shared/worker_health.py), which says whether a pool process is up and is fresh only
while the worker's event loop runs connected to the broker.
"""

import sys
import urllib.request

from shared.settings import get_settings
from shared.worker_health import check_report_file


def check_http(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return None if response.status == 200 else f"HTTP {response.status}"
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"


def check_worker(worker: str) -> str | None:
    settings = get_settings()
    return check_report_file(
        settings.worker_health_file, settings.worker_heartbeat_timeout, stage=worker
    )


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in {"http", "celery"}:
        print("usage: python -m shared.healthcheck http URL | celery WORKER", file=sys.stderr)
        return 2
    kind, target = argv
    problem = check_http(target) if kind == "http" else check_worker(target)
    print("healthy" if problem is None else f"unhealthy: {problem}")
    return 0 if problem is None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
