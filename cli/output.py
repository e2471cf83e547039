"""How results are written: rich tables and panels for people, JSON lines and CSV for
programs. Data goes to standard output; progress and messages go to standard error.

CSV export (one row per article, loadable with pandas.read_csv): CSV_COLUMNS, where
`entities` is a JSON array of the article's distinct entities,
`[{"name": "Vladimir Poutine", "label": "PER", "count": 3}, ...]`
(`df["entities"].map(json.loads)`), and `mentions` the number of entity mentions.
"""

import csv
import json
import sys
from collections import Counter
from collections.abc import Iterable
from types import TracebackType
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from cli.client import Article, ArticleSummary, EntityCount
from cli.submit import Outcome

CSV_COLUMNS = [
    "id",
    "status",
    "title",
    "language",
    "language_confidence",
    "source",
    "url",
    "external_id",
    "published_at",
    "received_at",
    "stored_at",
    "duplicate_of",
    "entities_status",
    "mentions",
    "entities",
    "error_stage",
    "error_reason",
    "text",
]


def stdout() -> Console:
    return Console(highlight=False)


def stderr() -> Console:
    return Console(stderr=True, highlight=False)


def error(message: str) -> None:
    """One line on standard error."""
    stderr().print(Text(f"newsflow: {message}", style="red"), soft_wrap=True)


def note(message: str) -> None:
    stderr().print(Text(message), soft_wrap=True)


def json_line(value: Any, out: TextIO | None = None) -> None:
    (out or sys.stdout).write(json.dumps(value, ensure_ascii=False) + "\n")


# --- progress ------------------------------------------------------------------------


class ProgressBars:
    """The submit command's bars on standard error: articles submitted, then (with
    --wait) articles stored, with the failures counted beside."""

    def __init__(self, enabled: bool = True) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[extra]}"),
            console=stderr(),
            disable=not enabled,
        )
        self._submitted: TaskID | None = None
        self._stored: TaskID | None = None
        self._failed = 0

    def __enter__(self) -> "ProgressBars":
        self._progress.start()
        self._submitted = self._progress.add_task("submitted", total=None, extra="")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def submitted(self, count: int) -> None:
        if self._submitted is not None:
            self._progress.advance(self._submitted, count)

    def waiting(self, total: int) -> None:
        if self._submitted is not None:  # every input is read: the bar is complete
            done = self._progress.tasks[self._submitted].completed
            self._progress.update(self._submitted, total=done)
        self._stored = self._progress.add_task("stored", total=total, extra="")

    def finished(self, stored: bool) -> None:
        if self._stored is None:
            return
        if stored:
            self._progress.advance(self._stored, 1)
        else:
            self._failed += 1
            self._progress.update(self._stored, extra=f"failed {self._failed}")


# --- submit --------------------------------------------------------------------------


def summary(outcome: Outcome, out: Console) -> None:
    """The end of `submit`: the counts on one line, then each refused or failed article."""
    if outcome.waited:
        counts = (
            f"stored: {outcome.stored}  failed: {len(outcome.failed)}  "
            f"duplicates: {outcome.duplicates}  refused: {len(outcome.refused)}"
        )
        if outcome.pending:
            counts += f"  not final: {len(outcome.pending)}"
    else:
        counts = (
            f"accepted: {len(outcome.accepted)}  duplicates: {outcome.duplicates}  "
            f"refused: {len(outcome.refused)}"
        )
    out.print(Text(counts), soft_wrap=True)
    for refused in outcome.refused:
        out.print(Text(f"refused  {refused.origin}  {refused.reason}"), soft_wrap=True)
    for failed in outcome.failed:
        reason = failed.reason or "failed before (newsflow get ID says why)"
        out.print(Text(f"failed   {failed.id}  {failed.origin}  {reason}"), soft_wrap=True)
    if outcome.waited:
        for pending in outcome.pending:
            line = f"pending  {pending.id}  {pending.origin}  {pending.status}"
            out.print(Text(line), soft_wrap=True)


# --- reading -------------------------------------------------------------------------


def _cell(value: Any) -> Text:
    return Text("" if value is None else str(value))


def article_view(article: Article, out: Console) -> None:
    """`newsflow get`: the article's fields, its entities, then its text."""
    meta = article.get("metadata") or {}
    language = article.get("language") or {}
    error_ = article.get("error") or {}
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="bold")
    fields.add_column()
    rows: list[tuple[str, Any]] = [
        ("id", article.get("id")),
        ("status", article.get("status")),
        ("title", article.get("title")),
        ("language", _language(language)),
        ("source", meta.get("source")),
        ("url", meta.get("url")),
        ("external id", meta.get("external_id")),
        ("published", meta.get("published_at")),
        ("stored", meta.get("stored_at")),
        ("duplicate of", meta.get("duplicate_of")),
        ("entities", _entities_status(article)),
        ("failed", f"{error_.get('stage')}: {error_.get('reason')}" if error_ else None),
    ]
    for name, value in rows:
        if value not in (None, ""):
            fields.add_row(name, _cell(value))
    out.print(fields)
    groups = entity_groups(article)
    if groups:
        table = Table("entity", "label", "mentions", title="Entities", title_justify="left")
        for group in groups:
            table.add_row(_cell(group["name"]), _cell(group["label"]), _cell(group["count"]))
        out.print(table)
    if article.get("text"):
        out.print()
        out.print(Text(article["text"]))


def _language(language: dict[str, Any]) -> str | None:
    if not language:
        return None
    confidence = language.get("confidence")
    code = str(language.get("code"))
    return f"{code} ({confidence:.2f})" if isinstance(confidence, int | float) else code


def _entities_status(article: Article) -> str | None:
    status = article.get("entities_status")
    if status is None:
        return None
    reason = article.get("entities_reason")
    model = article.get("model") or {}
    detail = reason or " ".join(str(v) for v in (model.get("name"), model.get("version")) if v)
    return f"{status} ({detail})" if detail else str(status)


def summaries_table(items: Iterable[ArticleSummary], out: Console) -> int:
    table = Table("id", "status", "lang", "stored at", "entities", "title")
    count = 0
    for item in items:
        table.add_row(
            _cell(item["id"]),
            _cell(item["status"]),
            _cell(item["language"]),
            _cell(item["stored_at"]),
            _cell(item["entity_count"]),
            _cell(item["title"]),
        )
        count += 1
    out.print(table)
    return count


def failures_table(items: Iterable[ArticleSummary], out: Console) -> int:
    table = Table("id", "stage", "reason", "attempts", "failed at", "title")
    count = 0
    for item in items:
        failure: dict[str, Any] = dict(item["error"] or {})
        table.add_row(
            _cell(item["id"]),
            _cell(failure.get("stage")),
            _cell(failure.get("reason")),
            _cell(failure.get("attempts")),
            _cell(failure.get("last_error_at")),
            _cell(item["title"]),
        )
        count += 1
    out.print(table)
    return count


def entities_table(items: Iterable[EntityCount], out: Console) -> None:
    table = Table("entity", "label", "articles")
    for item in items:
        table.add_row(_cell(item["text"]), _cell(item["label"]), _cell(item["article_count"]))
    out.print(table)


# --- export --------------------------------------------------------------------------


def entity_groups(article: Article) -> list[dict[str, Any]]:
    """The article's distinct entities: name, label and mention count (from
    `entity_groups`; counted from the mentions for an article stored without them)."""
    groups = article.get("entity_groups") or []
    if groups:
        return [{"name": g["name"], "label": g["label"], "count": g["count"]} for g in groups]
    counts = Counter((e["text"], e["label"]) for e in article.get("entities") or [])
    return [{"name": n, "label": label, "count": c} for (n, label), c in counts.most_common()]


def csv_row(article: Article) -> dict[str, Any]:
    meta = article.get("metadata") or {}
    language = article.get("language") or {}
    error_ = article.get("error") or {}
    return {
        "id": article.get("id"),
        "status": article.get("status"),
        "title": article.get("title"),
        "language": language.get("code"),
        "language_confidence": language.get("confidence"),
        "source": meta.get("source"),
        "url": meta.get("url"),
        "external_id": meta.get("external_id"),
        "published_at": meta.get("published_at"),
        "received_at": meta.get("received_at"),
        "stored_at": meta.get("stored_at"),
        "duplicate_of": meta.get("duplicate_of"),
        "entities_status": article.get("entities_status"),
        "mentions": len(article.get("entities") or []),
        "entities": json.dumps(entity_groups(article), ensure_ascii=False),
        "error_stage": error_.get("stage"),
        "error_reason": error_.get("reason"),
        "text": article.get("text"),
    }


class CsvWriter:
    def __init__(self, out: TextIO) -> None:
        self._writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
        self._writer.writeheader()

    def write(self, article: Article) -> None:
        self._writer.writerow(csv_row(article))


class JsonLinesWriter:
    """One article a line, as GET /articles/{id} gives it (entities and all)."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def write(self, article: Article) -> None:
        json_line(article, self._out)
