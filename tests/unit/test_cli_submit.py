"""`newsflow submit`, run through Typer's CliRunner against the fake gateway: batching,
Retry-After, --wait and its summary, exit statuses."""

import json
import re
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner, Result

from cli.main import app
from tests.conftest import SEEDS
from tests.unit.fake_gateway import FakeGateway, article_id, error

SUMMARY = re.compile(
    r"stored: (\d+)  failed: (\d+)  duplicates: (\d+)  refused: (\d+)(?:  not final: (\d+))?"
)


class Clock:
    """Time that passes only when the command sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def run(gateway: FakeGateway, args: list[str], clock: Clock | None = None, **kw: Any) -> Result:
    clock = clock or Clock()
    runtime = gateway.runtime(sleep=clock.sleep, clock=clock)
    return CliRunner().invoke(app, ["submit", "--no-progress", *args], obj=runtime, **kw)


def counts(result: Result) -> tuple[int, ...]:
    found = SUMMARY.search(result.stdout)
    assert found, result.stdout
    return tuple(int(g) if g is not None else 0 for g in found.groups())


def texts(tmp_path: Path, count: int, prefix: str = "Article") -> Path:
    for i in range(count):
        (tmp_path / f"{i:03d}.txt").write_text(f"{prefix} numéro {i}.")
    return tmp_path


def test_articles_go_in_batches_of_the_servers_size(tmp_path: Path) -> None:
    gateway = FakeGateway(max_batch=3)
    result = run(gateway, [str(texts(tmp_path, 7))])

    assert result.exit_code == 0, result.output
    assert [len(b) for b in gateway.batches] == [3, 3, 1]
    sent = [a["text"] for batch in gateway.batches for a in batch]
    assert sent == [f"Article numéro {i}." for i in range(7)]
    assert "accepted: 7  duplicates: 0  refused: 0" in result.stdout


def test_batch_size_option_is_capped_by_the_server(tmp_path: Path) -> None:
    gateway = FakeGateway(max_batch=4)
    run(gateway, ["--batch-size", "2", str(texts(tmp_path, 5))])
    assert [len(b) for b in gateway.batches] == [2, 2, 1]

    gateway = FakeGateway(max_batch=4)
    run(gateway, ["--batch-size", "100", str(tmp_path)])
    assert [len(b) for b in gateway.batches] == [4, 1]


def test_a_batch_the_server_finds_too_large_is_split_and_sent_again(tmp_path: Path) -> None:
    gateway = FakeGateway(max_batch=None, max_batch_articles_413=2)
    result = run(gateway, [str(texts(tmp_path, 5))])
    assert result.exit_code == 0, result.output
    assert [len(b) for b in gateway.batches] == [2, 1, 2]  # 5 -> 2 + 3 -> 2 + (1 + 2)
    assert "accepted: 5" in result.stdout


def test_retry_after_on_429_and_503_is_waited_for(tmp_path: Path) -> None:
    gateway = FakeGateway()
    limited = error(429, "rate limit exceeded", "rate_limited")
    limited.headers["Retry-After"] = "12"
    down = error(503, "a backend is unavailable", "service_unavailable")
    down.headers["Retry-After"] = "5"
    gateway.queued["POST /articles/batch"] = [limited, down]
    clock = Clock()

    result = run(gateway, [str(texts(tmp_path, 2))], clock)

    assert result.exit_code == 0, result.output
    assert clock.sleeps == [12.0, 5.0]
    assert len(gateway.calls("POST", "/articles/batch")) == 3
    assert "accepted: 2" in result.stdout


def test_a_rate_limit_that_never_ends_exits_3_with_one_line(tmp_path: Path) -> None:
    gateway = FakeGateway()
    limited = error(429, "rate limit exceeded", "rate_limited")
    limited.headers["Retry-After"] = "60"
    gateway.queued["POST /articles/batch"] = [limited] * 20
    clock = Clock()

    result = run(gateway, [str(texts(tmp_path, 2))], clock)

    assert result.exit_code == 3
    assert clock.sleeps == [60.0] * 5
    [line] = result.stderr.strip().splitlines()
    assert "HTTP 429, still after 6 attempts: rate limit exceeded" in line
    assert result.stdout == ""


def test_wait_follows_every_article_and_sums_up(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Un article qui sera stocké.")
    (tmp_path / "b.txt").write_text("Un article qui échouera : POISON.")
    (tmp_path / "c.txt").write_text("Un article déjà connu.")
    (tmp_path / "d.txt").write_text("   ")  # refused: blank text
    gateway = FakeGateway(
        outcomes={"POISON": ("failed", "entities: SoftTimeLimitExceeded: too long")},
        known={article_id("Un article déjà connu."): "stored"},
        polls_in_flight=2,
    )
    clock = Clock()

    result = run(gateway, ["--wait", str(tmp_path)], clock)

    assert result.exit_code == 1, result.output
    assert counts(result) == (2, 1, 1, 1, 0)
    poison = article_id("Un article qui échouera : POISON.")
    assert (
        f"failed   {poison}  {tmp_path / 'b.txt'}  entities: SoftTimeLimitExceeded: too long"
        in result.stdout
    )
    assert f"refused  {tmp_path / 'd.txt'}  text: text must not be empty" in result.stdout
    # The known duplicate was stored already: never polled. The others: until final.
    assert gateway.polls == {article_id("Un article qui sera stocké."): 3, poison: 3}
    assert clock.sleeps == [1.0, 1.0]


def test_exit_0_when_every_article_is_stored() -> None:
    gateway = FakeGateway()
    result = run(gateway, ["--wait", str(SEEDS)])
    assert result.exit_code == 0, result.output
    seeds = sorted(SEEDS.glob("*.txt"))
    assert counts(result) == (len(seeds), 0, 0, 0, 0)


def test_submitting_again_counts_duplicates_and_still_exits_0() -> None:
    known = {article_id(p.read_text(encoding="utf-8")): "stored" for p in SEEDS.glob("*.txt")}
    result = run(FakeGateway(known=known), ["--wait", str(SEEDS)])
    assert result.exit_code == 0, result.output
    assert counts(result) == (len(known), 0, len(known), 0, 0)


def test_a_refused_article_exits_1_even_without_wait(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("Texte.")
    (tmp_path / "empty.txt").write_text("")
    result = run(FakeGateway(), [str(tmp_path)])
    assert result.exit_code == 1
    assert "accepted: 1  duplicates: 0  refused: 1" in result.stdout
    assert f"refused  {tmp_path / 'empty.txt'}  text: text must not be empty" in result.stdout


def test_json_lines_from_stdin(tmp_path: Path) -> None:
    lines = [
        {"text": "Premier.", "title": "Un", "external_id": "x-1"},
        {"text": "Deuxième.", "url": "https://example.org/2"},
    ]
    stdin = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n{broken\n"
    gateway = FakeGateway()

    result = run(gateway, ["-"], input=stdin)

    assert result.exit_code == 1  # the broken line is refused
    assert gateway.batches == [lines]
    assert "accepted: 2  duplicates: 0  refused: 1" in result.stdout
    assert "refused  <stdin>:3  invalid JSON" in result.stdout


def test_an_article_still_in_flight_at_the_timeout_exits_1(tmp_path: Path) -> None:
    (tmp_path / "slow.txt").write_text("Bloqué : STUCK.")
    gateway = FakeGateway(outcomes={"STUCK": ("language_detected", None)})
    clock = Clock()

    result = run(gateway, ["--wait", "--timeout", "10", str(tmp_path)], clock)

    assert result.exit_code == 1
    assert counts(result) == (0, 0, 0, 0, 1)
    assert "pending" in result.stdout and "language_detected" in result.stdout
    assert sum(clock.sleeps) >= 10 and clock.now < 12


def test_progress_goes_to_stderr_and_stdout_holds_only_the_summary(tmp_path: Path) -> None:
    gateway = FakeGateway()
    runtime = gateway.runtime(sleep=lambda _: None)
    result = CliRunner().invoke(app, ["submit", "--wait", str(texts(tmp_path, 3))], obj=runtime)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines() == ["stored: 3  failed: 0  duplicates: 0  refused: 0"]
    assert "submitted" in result.stderr and "stored" in result.stderr


def test_a_missing_path_is_a_usage_error_and_nothing_is_sent(tmp_path: Path) -> None:
    gateway = FakeGateway()
    result = run(gateway, [str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert "no such file or directory" in result.output
    assert gateway.requests == []


def test_an_unreachable_gateway_exits_3_naming_newsflow_url(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    gateway = FakeGateway()
    runtime = gateway.runtime()
    runtime.transport = httpx.MockTransport(refuse)
    result = CliRunner().invoke(app, ["submit", str(texts(tmp_path, 1))], obj=runtime)
    assert result.exit_code == 3
    [line] = result.stderr.strip().splitlines()
    assert "cannot reach Newsflow" in line and "NEWSFLOW_URL" in line


def test_resubmitting_an_article_that_failed_exits_1_even_without_wait(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Déjà échoué.")
    gateway = FakeGateway(known={article_id("Déjà échoué."): "failed"})
    result = run(gateway, [str(tmp_path)])
    assert result.exit_code == 1
    assert "accepted: 1  duplicates: 1  refused: 0" in result.stdout
    assert f"failed   {article_id('Déjà échoué.')}  {tmp_path / 'a.txt'}  failed before" in (
        result.stdout
    )

    waited = run(gateway, ["--wait", str(tmp_path)])
    assert waited.exit_code == 1
    assert counts(waited) == (0, 1, 1, 0, 0)
    assert "entities: known failure" in waited.stdout
