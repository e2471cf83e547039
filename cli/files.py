"""What `newsflow submit` reads: files, directories and JSON lines, as article objects.

- a directory: every `.txt`, `.html` and `.json` file below it, recursively, in sorted
  order (hidden files and directories are skipped, symbolic links to directories are not
  followed);
- `.txt` (or any other suffix): the file is the article's text;
- `.html`/`.htm`: a web page, sent with `"format": "html"` (ingest extracts its text);
- `.json`: one article object, a JSON array of them, or `{"articles": [...]}`;
- `.jsonl`/`.ndjson`, or `-` for standard input: JSON lines, one article object a line
  (blank lines are skipped).

An article object has the API's fields (`text`, `title`, `url`, `source`, `published_at`,
`external_id`, `format`, `expected_languages`); the gateway judges them. What cannot be
read here (not UTF-8, not JSON, not an object) becomes an Input with an `error`, reported
with the gateway's refusals.
"""

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

STDIN = "-"
DIRECTORY_SUFFIXES = frozenset({".txt", ".html", ".json"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
JSON_LINES_SUFFIXES = frozenset({".jsonl", ".ndjson"})


class InputError(Exception):
    """A path given on the command line cannot be used (usage error)."""


@dataclass(frozen=True)
class Input:
    """One article to submit, or why it could not be read; `origin` names it for the user
    (a path, `path[2]` in a JSON array, `path:12` or `<stdin>:12` for a JSON line)."""

    origin: str
    article: dict[str, Any] | None = None
    error: str | None = None


def check_paths(paths: Sequence[str]) -> None:
    """Every path exists (and `-` is given at most once), before anything is sent."""
    if not paths:
        raise InputError("give at least one file, directory or - (JSON lines on stdin)")
    if list(paths).count(STDIN) > 1:
        raise InputError("- (standard input) can be given only once")
    for path in paths:
        if path != STDIN and not Path(path).exists():
            raise InputError(f"no such file or directory: {path}")


def directory_files(root: Path) -> Iterator[Path]:
    """The .txt, .html and .json files below `root`, sorted, hidden ones left out."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(folder) / name
            if not name.startswith(".") and path.suffix.lower() in DIRECTORY_SUFFIXES:
                yield path


def _decode(data: bytes, origin: str) -> str | Input:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Input(origin, error=f"not UTF-8 text (byte {exc.start})")


def _article(value: Any, origin: str) -> Input:
    if not isinstance(value, dict):
        return Input(origin, error=f"an article must be a JSON object, not {type(value).__name__}")
    return Input(origin, article=value)


def read_json_file(path: Path) -> Iterator[Input]:
    origin = str(path)
    text = _decode(path.read_bytes(), origin)
    if isinstance(text, Input):
        yield text
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        yield Input(origin, error=f"invalid JSON: {exc}")
        return
    if isinstance(data, dict) and set(data) == {"articles"}:
        data = data["articles"]
    if isinstance(data, list):
        for index, value in enumerate(data):
            yield _article(value, f"{origin}[{index}]")
    else:
        yield _article(data, origin)


def read_json_lines(lines: Iterable[bytes], name: str) -> Iterator[Input]:
    for number, raw in enumerate(lines, start=1):
        origin = f"{name}:{number}"
        line = _decode(raw, origin)
        if isinstance(line, Input):
            yield line
            continue
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Input(origin, error=f"invalid JSON: {exc}")
            continue
        yield _article(value, origin)


def read_file(path: Path) -> Iterator[Input]:
    suffix = path.suffix.lower()
    if suffix == ".json":
        yield from read_json_file(path)
    elif suffix in JSON_LINES_SUFFIXES:
        with path.open("rb") as fh:
            yield from read_json_lines(fh, str(path))
    else:
        text = _decode(path.read_bytes(), str(path))
        if isinstance(text, Input):
            yield text
        elif suffix in HTML_SUFFIXES:
            yield Input(str(path), article={"text": text, "format": "html"})
        else:
            yield Input(str(path), article={"text": text})


def read_inputs(paths: Sequence[str], stdin: BinaryIO) -> Iterator[Input]:
    """The articles of every path, in the order given; lazily, so a large JSON-lines
    file or stream is never held whole in memory."""
    for given in paths:
        if given == STDIN:
            yield from read_json_lines(stdin, "<stdin>")
            continue
        path = Path(given)
        files = directory_files(path) if path.is_dir() else iter([path])
        for file in files:
            try:
                yield from read_file(file)
            except OSError as exc:
                yield Input(str(file), error=f"cannot read: {exc.strerror or exc}")
