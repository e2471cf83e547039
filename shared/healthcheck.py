"""Container healthchecks: `python -m shared.healthcheck http URL | celery WORKER [FILE]`.

Docker runs this every few seconds in every container, so it imports the standard library
and nothing else: no settings (pydantic), no Celery, no NLP. Importing the settings alone
cost about 0.5 CPU-second per check, a fifth of an idle stack's CPU (issue #12). A worker
is checked through the report its main process writes (shared/worker_health.py), which
says whether a pool process is up, how long the report stays fresh (the worker's
WORKER_HEARTBEAT_TIMEOUT), and is rewritten only while the worker's event loop runs
connected to the broker. FILE is the worker's WORKER_HEALTH_FILE (compose passes it).
"""

import http.client
import sys
from urllib.parse import urlsplit

from shared.worker_health import DEFAULT_HEALTH_FILE, check_report_file


def check_http(url: str) -> str | None:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=5)
    try:
        connection.request("GET", parts.path or "/")
        status = connection.getresponse().status
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()
    return None if status == 200 else f"HTTP {status}"


def check_worker(worker: str, report_file: str = DEFAULT_HEALTH_FILE) -> str | None:
    return check_report_file(report_file, stage=worker)


def main(argv: list[str]) -> int:
    if not (2 <= len(argv) <= 3 and argv[0] in {"http", "celery"}) or (
        argv[0] == "http" and len(argv) != 2
    ):
        print(
            "usage: python -m shared.healthcheck http URL | celery WORKER [FILE]", file=sys.stderr
        )
        return 2
    kind, target, *rest = argv
    problem = check_http(target) if kind == "http" else check_worker(target, *rest)
    print("healthy" if problem is None else f"unhealthy: {problem}")
    return 0 if problem is None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
