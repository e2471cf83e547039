"""What `newsflow submit` reads: directories, files and JSON lines, as article objects."""

import io
import json
from pathlib import Path

import pytest

from cli.files import InputError, check_paths, read_inputs
from tests.conftest import SEEDS


def read(paths: list[str], stdin: bytes = b"") -> list[tuple[str, object, object]]:
    return [(i.origin, i.article, i.error) for i in read_inputs(paths, io.BytesIO(stdin))]


def test_a_directory_gives_its_txt_html_and_json_files_recursively(tmp_path: Path) -> None:
    (tmp_path / "b" / "deep").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "a.txt").write_text("Premier article.")
    (tmp_path / "b" / "page.HTML").write_text("<html><p>Une page.</p></html>")
    (tmp_path / "b" / "deep" / "one.json").write_text(json.dumps({"text": "Objet.", "title": "T"}))
    for ignored in ("notes.md", "data.csv", "lines.jsonl", "page.htm", "b/deep/image.png"):
        (tmp_path / ignored).write_text("not an article")
    (tmp_path / ".secret.txt").write_text("hidden file")
    (tmp_path / ".hidden" / "c.txt").write_text("hidden directory")

    found = read([str(tmp_path)])

    assert found == [
        (str(tmp_path / "a.txt"), {"text": "Premier article."}, None),
        (
            str(tmp_path / "b" / "page.HTML"),
            {"text": "<html><p>Une page.</p></html>", "format": "html"},
            None,
        ),
        (
            str(tmp_path / "b" / "deep" / "one.json"),
            {"text": "Objet.", "title": "T"},
            None,
        ),
    ]


def test_the_seeds_directory_is_read_as_it_is() -> None:
    found = read([str(SEEDS)])
    files = sorted(SEEDS.glob("*.txt"))
    assert len(found) == len(files) >= 2
    for (origin, article, error), path in zip(found, files, strict=True):
        assert origin == str(path) and error is None
        assert article == {"text": path.read_text(encoding="utf-8")}


def test_json_lines_from_stdin_and_a_file_keep_their_line_numbers(tmp_path: Path) -> None:
    lines = tmp_path / "more.jsonl"
    lines.write_text('{"text": "Trois."}\n')
    stdin = b'{"text": "Un.", "external_id": "a-1"}\n\n   \n{"text": "Deux."}\n'

    found = read(["-", str(lines)], stdin)

    assert found == [
        ("<stdin>:1", {"text": "Un.", "external_id": "a-1"}, None),
        ("<stdin>:4", {"text": "Deux."}, None),
        (f"{lines}:1", {"text": "Trois."}, None),
    ]


def test_unreadable_lines_and_files_are_reported_not_sent(tmp_path: Path) -> None:
    (tmp_path / "latin1.txt").write_bytes("Café".encode("latin-1"))
    (tmp_path / "broken.json").write_text("{nope")
    stdin = b'{"text": "ok"}\n{"text": \n["a list"]\n"\xff"\n'

    found = read(["-", str(tmp_path)], stdin)

    assert [(origin, article) for origin, article, _ in found] == [
        ("<stdin>:1", {"text": "ok"}),
        ("<stdin>:2", None),
        ("<stdin>:3", None),
        ("<stdin>:4", None),
        (str(tmp_path / "broken.json"), None),
        (str(tmp_path / "latin1.txt"), None),
    ]
    errors = [error for _, _, error in found]
    assert "invalid JSON" in str(errors[1]) and "JSON object, not list" in str(errors[2])
    assert "not UTF-8" in str(errors[3]) and "invalid JSON" in str(errors[4])
    assert "not UTF-8" in str(errors[5])


def test_a_json_file_may_hold_a_list_or_a_batch_body(tmp_path: Path) -> None:
    (tmp_path / "list.json").write_text(json.dumps([{"text": "A"}, {"text": "B"}]))
    (tmp_path / "batch.json").write_text(json.dumps({"articles": [{"text": "C"}]}))
    found = read([str(tmp_path / "list.json"), str(tmp_path / "batch.json")])
    assert [(origin.rsplit("/", 1)[-1], article) for origin, article, _ in found] == [
        ("list.json[0]", {"text": "A"}),
        ("list.json[1]", {"text": "B"}),
        ("batch.json[0]", {"text": "C"}),
    ]


def test_a_named_file_is_text_unless_its_suffix_says_otherwise(tmp_path: Path) -> None:
    (tmp_path / "article.md").write_text("# Titre\n\nTexte.")
    (tmp_path / "page.htm").write_text("<p>x</p>")
    found = read([str(tmp_path / "article.md"), str(tmp_path / "page.htm")])
    assert [article for _, article, _ in found] == [
        {"text": "# Titre\n\nTexte."},
        {"text": "<p>x</p>", "format": "html"},
    ]


def test_paths_are_checked_before_anything_is_sent(tmp_path: Path) -> None:
    check_paths([str(tmp_path), "-"])
    with pytest.raises(InputError, match="no such file"):
        check_paths([str(tmp_path / "missing.txt")])
    with pytest.raises(InputError, match="only once"):
        check_paths(["-", "-"])
    with pytest.raises(InputError, match="at least one"):
        check_paths([])
