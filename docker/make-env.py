"""Create .env from .env.example with fresh random secrets (never committed).

An existing .env is kept as it is; only secrets it lacks (or leaves empty) are added,
so a new secret in .env.example reaches old checkouts without touching the others.
"""

import secrets
import sys
from pathlib import Path

SECRETS = ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "API_KEYS", "WEB_SESSION_SECRET")


def _values(lines: list[str]) -> dict[str, str]:
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def main(root: Path) -> None:
    target = root / ".env"
    if target.exists():
        lines = target.read_text().splitlines()
    else:
        lines = (root / ".env.example").read_text().splitlines()
    current = _values(lines)
    added = [key for key in SECRETS if not current.get(key)]
    lines = [line for line in lines if line.split("=", 1)[0] not in added]
    lines += [f"{key}={secrets.token_urlsafe(24)}" for key in added]
    if not added and target.exists():
        target.touch()  # up to date: keep make from trying again
        return
    target.write_text("\n".join(lines) + "\n")
    target.chmod(0o600)
    print(f"wrote {target} with generated secrets ({', '.join(added)})")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
