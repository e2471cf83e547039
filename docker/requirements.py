"""Print pyproject.toml's requirements for the given extras, one per line.

Images install dependencies from this output before copying the code, so a code
change does not reinstall packages, and pyproject.toml stays the single list.
Usage: python requirements.py PYPROJECT [EXTRA ...]
With no extra, the base list: the command line's (cli/), never installed in an image; the
images install the extra `server` (what every service shares), then their service's extra.
"""

import sys
import tomllib


def requirements(pyproject: str, extras: list[str]) -> list[str]:
    with open(pyproject, "rb") as fh:
        project = tomllib.load(fh)["project"]
    if not extras:
        return list(project["dependencies"])
    optional = project["optional-dependencies"]
    return [req for extra in extras for req in optional[extra]]


if __name__ == "__main__":
    print("\n".join(requirements(sys.argv[1], sys.argv[2:])))
