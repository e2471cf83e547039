"""The `newsflow` command: thin Typer commands over cli.client.Client.

Exit statuses: 0 done; 1 `submit`: some article was refused, failed, or is not final
when --timeout ends; 2 usage error (bad option, missing path); 3 the request could not
be done (gateway unreachable, API key missing or wrong, unknown id, HTTP error, 429/503
still after the retries, unreadable config file).
"""

import functools
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, BinaryIO, ParamSpec, TypeVar

import httpx
import typer
from rich.progress import Progress, SpinnerColumn, TextColumn

from cli import output
from cli.client import ENTITIES_LIMIT, Client, NewsflowError
from cli.config import ConfigError, load_config
from cli.files import InputError, check_paths, read_inputs
from cli.submit import Submitter

EXIT_NOT_ALL_STORED = 1
EXIT_FAILED = 3

app = typer.Typer(
    name="newsflow",
    help="Submit articles to Newsflow, follow them, search and export the results.\n\n"
    "Configuration: NEWSFLOW_URL and NEWSFLOW_API_KEY, or `url` and `api_key` in "
    "~/.config/newsflow/config.toml ($XDG_CONFIG_HOME); the environment wins.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@dataclass
class Runtime:
    """What the commands take from the outside world; tests replace parts of it
    (`CliRunner().invoke(app, args, obj=Runtime(transport=..., sleep=...))`)."""

    environ: Mapping[str, str] | None = None  # None: os.environ
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    stdin: BinaryIO | None = None  # None: sys.stdin's bytes
    poll_interval: float = 1.0

    def client(self) -> Client:
        config = load_config(os.environ if self.environ is None else self.environ)
        return Client(config.url, config.api_key, transport=self.transport, sleep=self.sleep)


class Label(StrEnum):
    PER = "PER"
    ORG = "ORG"
    LOC = "LOC"
    MISC = "MISC"


class Status(StrEnum):
    stored = "stored"
    failed = "failed"


class Format(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


P = ParamSpec("P")
R = TypeVar("R")


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """A failed request ends the command with one line on stderr and exit status 3."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (NewsflowError, ConfigError) as exc:
            output.error(str(exc))
            raise typer.Exit(EXIT_FAILED) from None
        except BrokenPipeError:
            # `newsflow export | head`: the reader left; say nothing more.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(0) from None

    return run


def runtime(ctx: typer.Context) -> Runtime:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Runtime) else Runtime()


# --- options shared by search and export ----------------------------------------------

LanguageOpt = Annotated[
    str | None, typer.Option("--language", help="ISO 639-1 code, e.g. fr (or und)")
]
EntityOpt = Annotated[
    str | None, typer.Option("--entity", help="Articles mentioning this entity (exact, any case)")
]
LabelOpt = Annotated[Label | None, typer.Option("--label", help="Entity label")]
StatusOpt = Annotated[Status | None, typer.Option("--status", help="stored or failed")]
QueryOpt = Annotated[
    str | None, typer.Option("-q", "--query", help="Full-text search (web search syntax)")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON lines instead of a table")]


def filters(
    language: str | None,
    entity: str | None,
    label: Label | None,
    status: Status | None,
    q: str | None,
) -> dict[str, str | None]:
    """The query parameters of GET /articles."""
    return {
        "language": language,
        "entity": entity,
        "label": label.value if label else None,
        "status": status.value if status else None,
        "q": q,
    }


# --- commands ----------------------------------------------------------------------------


@app.command()
@reports_errors
def submit(
    ctx: typer.Context,
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Files, directories (their .txt, .html and .json files, recursively), "
            ".jsonl files, or - for JSON lines on stdin",
            metavar="PATH",
            show_default=False,
        ),
    ],
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow every article until stored or failed")
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=0, help="With --wait: stop waiting after this many seconds"),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option("--batch-size", min=1, help="Articles per request (default: the server's)"),
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bars on stderr")
    ] = True,
) -> None:
    """Submit articles in batches; with --wait, follow them and print a summary.

    Exit status 0 when every article was accepted (with --wait: stored), 1 otherwise."""
    rt = runtime(ctx)
    try:
        check_paths(paths)
    except InputError as exc:
        raise typer.BadParameter(str(exc), param_hint="PATH") from None
    stdin = rt.stdin if rt.stdin is not None else sys.stdin.buffer
    with rt.client() as client:
        submitter = Submitter(
            client, sleep=rt.sleep, clock=rt.clock, poll_interval=rt.poll_interval
        )
        size = submitter.batch_size(batch_size)  # asks the server: fails early if unreachable
        try:
            with output.ProgressBars(enabled=progress) as bars:
                submitter.reporter = bars
                submitter.submit(read_inputs(paths, stdin), size)
                if wait:
                    submitter.wait(timeout)
        except NewsflowError:
            if submitter.outcome.accepted or submitter.outcome.refused:
                output.note("before the error:")
                output.summary(submitter.outcome, output.stderr())
            raise
    output.summary(submitter.outcome, output.stdout())
    raise typer.Exit(submitter.outcome.exit_code)


@app.command()
@reports_errors
def get(
    ctx: typer.Context,
    article_id: Annotated[str, typer.Argument(metavar="ID", help="The article's id")],
    as_json: Annotated[bool, typer.Option("--json", help="The API's JSON, as it is")] = False,
) -> None:
    """Show one article: status, language, entities, text (or where it is in flight)."""
    with runtime(ctx).client() as client:
        article = client.article(article_id)
    if as_json:
        output.json_line(article)
    else:
        output.article_view(article, output.stdout())


@app.command()
@reports_errors
def search(
    ctx: typer.Context,
    language: LanguageOpt = None,
    entity: EntityOpt = None,
    label: LabelOpt = None,
    status: StatusOpt = None,
    q: QueryOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Search stored (and failed) articles, newest first."""
    with runtime(ctx).client() as client:
        items = client.articles(filters(language, entity, label, status, q), limit=limit)
        if as_json:
            for item in items:
                output.json_line(item)
        else:
            output.summaries_table(items, output.stdout())


@app.command()
@reports_errors
def entities(
    ctx: typer.Context,
    label: LabelOpt = None,
    q: Annotated[
        str | None, typer.Option("-q", "--query", help="Beginning of the entity text")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=ENTITIES_LIMIT)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Distinct entities across stored articles, most mentioned first."""
    with runtime(ctx).client() as client:
        items = client.entities(label=label.value if label else None, q=q, limit=limit)
    if as_json:
        for item in items:
            output.json_line(item)
    else:
        output.entities_table(items, output.stdout())


@app.command()
@reports_errors
def failed(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Failed articles with the stage and reason of their failure."""
    with runtime(ctx).client() as client:
        items = client.articles({"status": "failed"}, limit=limit)
        if as_json:
            for item in items:
                output.json_line(item)
        else:
            output.failures_table(items, output.stdout())


@app.command()
@reports_errors
def retry(
    ctx: typer.Context,
    article_id: Annotated[
        str | None, typer.Argument(metavar="ID", help="A failed article's id")
    ] = None,
    all_failed: Annotated[bool, typer.Option("--all", help="Every failed article")] = False,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=10_000, help="With --all: at most this many")
    ] = 1000,
) -> None:
    """Re-drive a failed article (or --all) from the stage that failed."""
    if (article_id is None) == (not all_failed):
        raise typer.BadParameter("give an ID or --all (not both)", param_hint="ID")
    out = output.stdout()
    with runtime(ctx).client() as client:
        if article_id is not None:
            answer = client.retry(article_id)
            done = "re-driven" if answer["redriven"] else "already in flight, left alone"
            out.print(f"{answer['id']}: {done} (stage {answer['stage']})", highlight=False)
        else:
            summary = client.retry_failed(limit)
            out.print(
                f"re-driven: {summary['redriven']}  skipped (in flight): {summary['skipped']}",
                highlight=False,
            )
            for aid in summary["ids"]:
                out.print(aid, highlight=False)


@app.command()
@reports_errors
def export(
    ctx: typer.Context,
    fmt: Annotated[Format, typer.Option("--format", help="jsonl: the API's articles; csv")] = (
        Format.jsonl
    ),
    language: LanguageOpt = None,
    entity: EntityOpt = None,
    label: LabelOpt = None,
    status: StatusOpt = None,
    q: QueryOpt = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="A count on stderr")
    ] = True,
) -> None:
    """Every matching article with its entities, to standard output.

    jsonl: each article as GET /articles/{id} gives it. csv: one row per article; the
    `entities` column is a JSON array of {name, label, count}."""
    writer: Any = (
        output.CsvWriter(sys.stdout) if fmt is Format.csv else output.JsonLinesWriter(sys.stdout)
    )
    bar = Progress(
        SpinnerColumn(),
        TextColumn("exported {task.completed} articles"),
        console=output.stderr(),
        disable=not progress,
        transient=True,
    )
    count = 0
    with runtime(ctx).client() as client, bar:
        task = bar.add_task("export", total=None)
        for summary in client.articles(filters(language, entity, label, status, q)):
            writer.write(client.article(summary["id"]))
            count += 1
            bar.advance(task)
    sys.stdout.flush()
    output.note(f"exported {count} articles")
