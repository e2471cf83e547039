import unicodedata

from shared.ids import article_id, article_id_of_task, normalise_for_id, task_id


def test_id_ignores_whitespace_and_unicode_form() -> None:
    composed = "Le président a déclaré mardi."
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert article_id(composed) == article_id("  " + decomposed.replace(" ", " \n\t ") + "\n")


def test_id_changes_with_content() -> None:
    assert article_id("Texte A") != article_id("Texte B")


def test_external_id_wins_over_text() -> None:
    assert article_id("one text", "feed-42") == article_id("another text", "feed-42")
    assert article_id("one text", "feed-42") != article_id("one text")
    assert article_id("one text", "  ") == article_id("one text")


def test_id_is_32_hex_chars() -> None:
    aid = article_id("x")
    assert len(aid) == 32 and int(aid, 16) >= 0


def test_normalise_for_id_collapses_whitespace() -> None:
    assert normalise_for_id(" a \n\n b\t c ") == "a b c"


def test_task_ids_carry_the_article_id() -> None:
    aid = article_id("Texte A")
    assert article_id_of_task(task_id(aid)) == aid
    assert article_id_of_task("d3b07384-not-ours") is None
    assert article_id_of_task(aid) is None  # no random part: not a task_id()
