import unicodedata

from shared.ids import article_id, normalise_for_id


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
