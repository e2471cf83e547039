"""Container healthchecks: `python -m shared.healthcheck http URL | celery WORKER`.

Pure stdlib + celery, so checking a heavy worker never imports its NLP libraries.
"""

import socket
import sys
import urllib.request


def check_http(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def check_celery(worker: str) -> bool:
    """Ping this container's own worker node (`-n <worker>@%h`) through the broker."""
    from celery import Celery

    from shared.settings import get_settings

    app = Celery(broker=get_settings().redis_url)
    node = f"{worker}@{socket.gethostname()}"
    try:
        replies = app.control.ping(destination=[node], timeout=8)
    finally:
        app.close()
    return any(node in reply for reply in replies)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in {"http", "celery"}:
        print("usage: python -m shared.healthcheck http URL | celery WORKER", file=sys.stderr)
        return 2
    kind, target = argv
    ok = check_http(target) if kind == "http" else check_celery(target)
    print("healthy" if ok else "unhealthy")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
