"""Create .env from .env.example with fresh random secrets (never committed)."""

import secrets
import sys
from pathlib import Path

SECRETS = ("POSTGRES_PASSWORD",)


def main(root: Path) -> None:
    target = root / ".env"
    if target.exists():
        return
    lines = []
    for line in (root / ".env.example").read_text().splitlines():
        key = line.split("=", 1)[0]
        if key in SECRETS:
            line = f"{key}={secrets.token_urlsafe(24)}"
        lines.append(line)
    target.write_text("\n".join(lines) + "\n")
    target.chmod(0o600)
    print(f"wrote {target} with generated secrets ({', '.join(SECRETS)})")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
