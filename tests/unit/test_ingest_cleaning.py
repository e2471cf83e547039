"""Ingest cleaning: normalisation, paragraphs, title, boilerplate, hash, seeds."""

from pathlib import Path

import pytest

from services.ingest.cleaning import clean_article, normalise_text
from shared.envelope import ArticleInput, CleanArticle
from shared.ids import sha256_hex

SEEDS = Path(__file__).resolve().parents[2] / "seeds"

BODY_1 = "Le gouvernement a présenté mardi un nouveau plan pour l'énergie."
BODY_2 = "Les syndicats ont salué une avancée, mais restent prudents."
BODY_3 = "Le texte sera examiné au Parlement la semaine prochaine."


def clean(text: str, title: str | None = None) -> CleanArticle:
    return clean_article(ArticleInput(text=text, title=title))


def assert_consistent(article: CleanArticle, raw: str) -> None:
    """Paragraph and removed offsets point at exactly the right text."""
    chunks = [article.text[p.start : p.end] for p in article.paragraphs]
    assert [p.index for p in article.paragraphs] == list(range(len(article.paragraphs)))
    assert "\n\n".join(chunks) == article.text
    for chunk in chunks:
        assert chunk and chunk == chunk.strip() and "\n\n" not in chunk
    normalised = normalise_text(raw)
    for item in article.removed:
        assert normalised[item.start : item.end] == item.text
    assert [r.start for r in article.removed] == sorted(r.start for r in article.removed)


def removed_reasons(article: CleanArticle) -> dict[str, str]:
    return {item.text: item.reason for item in article.removed}


# --- normalisation --------------------------------------------------------------


def test_special_spaces_become_plain_spaces_and_zero_width_chars_vanish() -> None:
    raw = "a\u00a0b\u202fc\u2009d\u3000e\u200bf\ufeffg\u00adh\u200ei"
    assert normalise_text(raw) == "a b c d efghi"


def test_crlf_and_cr_become_newlines() -> None:
    assert normalise_text("a\r\nb\rc\u2028d") == "a\nb\nc\nd"


def test_control_chars_are_stripped_but_tabs_become_spaces() -> None:
    assert normalise_text("a\x00b\x07c\x1b\x7f\td") == "abc d"


def test_inline_whitespace_collapsed_and_lines_stripped() -> None:
    assert normalise_text("  a  \t b   \n\tc d\t \n") == "a b\nc d"


def test_blank_line_runs_collapse_to_one() -> None:
    assert normalise_text("\n\n a\n\n\n\n\nb\n \n\t\n\nc\n\n\n") == "a\n\nb\n\nc"


def test_text_is_nfc() -> None:
    assert normalise_text("e\u0301te\u0301") == "été"


def test_typographic_characters_are_kept() -> None:
    text = "« Bonjour » dit l’élu — c’est „gut“ … “fine”"
    assert normalise_text(text) == text


def test_clean_article_applies_normalisation() -> None:
    raw = "Titre\r\n\r\nLe\u00a0chef   de l\u2019e\u0301tat\u200b a parlé.\r\n"
    article = clean(raw)
    assert article.title == "Titre"
    assert article.text == "Le chef de l’état a parlé."


# --- paragraphs -----------------------------------------------------------------


def test_paragraphs_split_on_blank_lines_with_exact_offsets() -> None:
    raw = f"Headline here\n\n{BODY_1}\n\n\n\n{BODY_2}\n\n{BODY_3}"
    article = clean(raw)
    assert article.text == f"{BODY_1}\n\n{BODY_2}\n\n{BODY_3}"
    assert [article.text[p.start : p.end] for p in article.paragraphs] == [BODY_1, BODY_2, BODY_3]
    assert article.paragraphs[1].start == len(BODY_1) + 2
    assert_consistent(article, raw)


def test_lines_of_one_block_stay_one_paragraph_when_text_has_blank_lines() -> None:
    raw = f"Headline here\n\n{BODY_1}\n{BODY_2}\n\n{BODY_3}"
    article = clean(raw)
    chunks = [article.text[p.start : p.end] for p in article.paragraphs]
    assert chunks == [f"{BODY_1}\n{BODY_2}", BODY_3]
    assert_consistent(article, raw)


def test_each_line_is_a_paragraph_when_there_are_no_blank_lines() -> None:
    raw = f"Headline here\n{BODY_1}\n{BODY_2}\n{BODY_3}"
    article = clean(raw)
    assert article.title == "Headline here"
    assert [article.text[p.start : p.end] for p in article.paragraphs] == [BODY_1, BODY_2, BODY_3]
    assert article.text == f"{BODY_1}\n\n{BODY_2}\n\n{BODY_3}"
    assert_consistent(article, raw)


def test_empty_text_gives_empty_article() -> None:
    article = clean(" \n\u00a0\n ")
    assert (article.text, article.paragraphs, article.title) == ("", [], None)


# --- title ------------------------------------------------------------------------


def test_title_field_is_normalised_and_body_keeps_first_line() -> None:
    article = clean(f"{BODY_1}\n\n{BODY_2}", title="  Big\u00a0 news \n today ")
    assert article.title == "Big news today"
    assert article.text.startswith(BODY_1)
    assert article.removed == []


def test_blank_title_field_falls_back_to_first_line() -> None:
    article = clean(f"Headline here\n\n{BODY_1}", title=" \u00a0 ")
    assert article.title == "Headline here"
    assert article.text == BODY_1


def test_title_from_first_line_is_removed_from_body_but_not_logged_as_boilerplate() -> None:
    raw = f"Headline here\n\n{BODY_1}\n\n{BODY_2}"
    article = clean(raw)
    assert article.title == "Headline here"
    assert "Headline here" not in article.text
    assert article.removed == []


@pytest.mark.parametrize(
    "repeat",
    [
        "Russia opens talks on rare earths",
        "RUSSIA OPENS TALKS ON RARE EARTHS!",
        "Russia  opens talks — on rare-earths.",
    ],
)
def test_title_repeated_on_next_line_is_removed(repeat: str) -> None:
    raw = f"Russia opens talks on rare earths\n\n{repeat}\n\n{BODY_1}"
    article = clean(raw)
    assert article.title == "Russia opens talks on rare earths"
    assert article.text == BODY_1
    assert [(r.reason, r.text) for r in article.removed] == [
        ("repeated_title", " ".join(repeat.split()))
    ]
    assert_consistent(article, raw)


def test_text_starting_with_the_given_title_drops_that_line() -> None:
    raw = f"Russia opens talks\n{BODY_1}\n\n{BODY_2}"
    article = clean(raw, title="Russia opens talks")
    assert article.title == "Russia opens talks"
    assert article.text == f"{BODY_1}\n\n{BODY_2}"
    assert removed_reasons(article) == {"Russia opens talks": "repeated_title"}
    assert article.removed[0].start == 0
    assert_consistent(article, raw)


def test_second_line_that_differs_from_title_is_kept() -> None:
    raw = f"Russia opens talks\n\nRussia opens talks with the United States\n\n{BODY_1}"
    article = clean(raw)
    assert article.text.startswith("Russia opens talks with the United States")
    assert article.removed == []


def test_punctuation_only_title_does_not_remove_punctuation_lines() -> None:
    article = clean(f"***\n\n{BODY_1}", title="—")
    assert article.text == f"***\n\n{BODY_1}"
    assert article.removed == []


def test_single_line_text_is_body_not_title() -> None:
    article = clean(BODY_1)
    assert article.title is None
    assert article.text == BODY_1


def test_first_line_that_is_a_dateline_paragraph_is_not_the_title() -> None:
    raw = f"PARIS (AFP) - {BODY_1}\n\n{BODY_2}"
    article = clean(raw)
    assert article.title is None
    assert article.text.startswith("PARIS (AFP) - ")


def test_overlong_first_line_is_not_the_title() -> None:
    long_line = " ".join([BODY_1] * 6)
    article = clean(f"{long_line}\n\n{BODY_2}")
    assert article.title is None
    assert article.text.startswith(long_line)


# --- boilerplate: site banner -------------------------------------------------------


def test_site_banner_at_top_is_removed_with_offsets() -> None:
    banner = "Alpha-News.org ➤ L'actualité du monde est ici"
    raw = f"{banner}\nLe titre de l'article\n\n{BODY_1}"
    article = clean(raw)
    assert article.title == "Le titre de l'article"
    assert article.text == BODY_1
    assert [(r.text, r.reason, r.start, r.end) for r in article.removed] == [
        (banner, "site_banner", 0, len(banner))
    ]
    assert_consistent(article, raw)


@pytest.mark.parametrize(
    "banner",
    [
        "www.example.com",
        "https://www.example.com/news",
        "Actualités | alpha-news.org",
        "example.co.uk – News you can trust",
        "NEWS.EXAMPLE.COM • Toute l'info, tout le temps",
        "Beta News ➤ Die Welt in Nachrichten",
    ],
)
def test_site_banner_variants_are_removed(banner: str) -> None:
    raw = f"{banner}\nLe titre de l'article\n\n{BODY_1}\n\n{BODY_2}"
    article = clean(raw)
    assert removed_reasons(article) == {banner: "site_banner"}
    assert article.title == "Le titre de l'article"
    assert banner not in article.text
    assert_consistent(article, raw)


def test_site_banner_at_bottom_is_removed() -> None:
    raw = f"Le titre\n\n{BODY_1}\n\n{BODY_2}\n\nAlpha-News.org ➤ L'actualité du monde est ici"
    article = clean(raw)
    assert article.text == f"{BODY_1}\n\n{BODY_2}"
    assert [r.reason for r in article.removed] == ["site_banner"]
    assert_consistent(article, raw)


@pytest.mark.parametrize(
    "sentence",
    [
        "Alpha-News.org a révélé mardi que le Kremlin préparait un accord.",
        "According to example.com, the ministry said the deal was close.",
        "Selon alpha-news.org – qui cite des sources proches du dossier – rien n'est signé.",
    ],
)
def test_first_sentence_mentioning_a_domain_is_kept(sentence: str) -> None:
    article = clean(f"{sentence}\n\n{BODY_1}", title="Le titre")
    assert article.text.startswith(sentence)
    assert article.removed == []


def test_banner_rule_never_empties_the_article() -> None:
    banner = "Alpha-News.org ➤ L'actualité du monde est ici"
    article = clean(banner)
    assert article.text == banner
    assert article.removed == []


def test_banner_shaped_line_in_the_middle_is_kept() -> None:
    middle = "Alpha-News.org ➤ L'actualité du monde est ici"
    article = clean(f"Le titre\n\n{BODY_1}\n\n{middle}\n\n{BODY_2}")
    assert middle in article.text
    assert article.removed == []


def test_headline_with_a_dash_is_not_a_banner() -> None:
    article = clean(f"Ukraine – ce qu'il faut savoir\n\n{BODY_1}")
    assert article.title == "Ukraine – ce qu'il faut savoir"
    assert article.removed == []


# --- boilerplate: comment counters and other chrome -----------------------------------


@pytest.mark.parametrize(
    "counter",
    [
        "Kommentare (0)",
        "Comments (12)",
        "Commentaires (3)",
        "Comentarios (5)",
        "Commenti (1)",
        "Reacties (2)",
        "0 comments",
        "12 Kommentare",
        "Comments: 4",
        "1 comment",
        "Keine Kommentare",
    ],
)
def test_comment_counter_lines_are_removed(counter: str) -> None:
    raw = f"Le titre\n\n{BODY_1}\n\n{BODY_2}\n\n{counter}"
    article = clean(raw)
    assert article.text == f"{BODY_1}\n\n{BODY_2}"
    assert removed_reasons(article) == {counter: "comment_counter"}
    assert_consistent(article, raw)


def test_comment_counter_is_removed_anywhere_as_a_whole_line() -> None:
    raw = f"Le titre\n\n{BODY_1}\nKommentare (3)\n{BODY_2}\n\n{BODY_3}"
    article = clean(raw)
    assert "Kommentare" not in article.text
    assert article.text == f"{BODY_1}\n{BODY_2}\n\n{BODY_3}"
    assert_consistent(article, raw)


@pytest.mark.parametrize(
    "sentence",
    [
        "Die Kommentare (12) unter dem Artikel waren zahlreich und oft wütend.",
        "Comments from the minister (2) were later withdrawn.",
        "Les commentaires du porte-parole ont surpris.",
    ],
)
def test_sentence_containing_comment_words_is_kept(sentence: str) -> None:
    article = clean(f"Le titre\n\n{BODY_1}\n\n{sentence}")
    assert article.text.endswith(sentence)
    assert article.removed == []


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("Share on Facebook", "share_prompt"),
        ("Partager", "share_prompt"),
        ("Partager cet article", "share_prompt"),
        ("Auf Facebook teilen", "share_prompt"),
        ("Facebook Twitter LinkedIn E-mail", "share_prompt"),
        ("Lire aussi", "related_link"),
        ("Lire aussi :", "related_link"),
        ("À lire aussi : Le gaz russe, un dossier brûlant", "related_link"),
        ("Read more: Trump says deal is close", "related_link"),
        ("Mehr zum Thema", "related_link"),
        ("Advertisement", "advertisement"),
        ("- Anzeige -", "advertisement"),
        ("Publicité", "advertisement"),
    ],
)
def test_chrome_lines_are_removed(line: str, reason: str) -> None:
    raw = f"Le titre\n\n{BODY_1}\n\n{line}\n\n{BODY_2}"
    article = clean(raw)
    assert article.text == f"{BODY_1}\n\n{BODY_2}"
    assert removed_reasons(article) == {line: reason}
    assert_consistent(article, raw)


@pytest.mark.parametrize(
    "sentence",
    [
        "Read more about the deal in our explainer published on Monday.",
        "Partager les richesses reste l'objectif affiché du gouvernement.",
        "Share prices fell 3% on Tuesday after the announcement.",
        "Lire aussi les mémoires du général permet de comprendre la décision.",
        "Advertisement revenue dropped sharply last year.",
        "Die Anzeige wurde am Montag bei der Polizei erstattet.",
    ],
)
def test_sentences_starting_like_chrome_are_kept(sentence: str) -> None:
    article = clean(f"Le titre\n\n{BODY_1}\n\n{sentence}")
    assert article.text.endswith(sentence)
    assert article.removed == []


def test_copyright_line_at_the_bottom_is_removed() -> None:
    article = clean(f"Le titre\n\n{BODY_1}\n\n© 2025 Alpha News. Tous droits réservés.")
    assert article.text == BODY_1
    assert [r.reason for r in article.removed] == ["copyright"]


def test_copyright_sentence_is_kept() -> None:
    sentence = "Copyright holders argued that the ruling went too far."
    article = clean(f"Le titre\n\n{BODY_1}\n\n{sentence}")
    assert article.text.endswith(sentence)
    assert article.removed == []


# --- dateline ------------------------------------------------------------------------


def test_dateline_is_read_from_the_first_paragraph_and_stays_in_text() -> None:
    raw = f"Le titre\n\nBERLIN, 3. März (dpa) - {BODY_1}\n\n{BODY_2}"
    article = clean(raw)
    assert article.dateline is not None
    assert (article.dateline.place, article.dateline.date, article.dateline.agency) == (
        "BERLIN",
        "3. März",
        "dpa",
    )
    start, end = article.dateline.place_start, article.dateline.place_end
    assert start is not None and end is not None
    assert article.text[start:end] == "BERLIN"
    assert article.text.startswith("BERLIN, 3. März (dpa) - ")


def test_dateline_after_a_removed_title_points_into_clean_text() -> None:
    raw = f"Alpha-News.org ➤ Info\nLe titre\nLe titre\n\n  WASHINGTON (AP) — {BODY_1}"
    article = clean(raw)
    assert article.dateline is not None
    start, end = article.dateline.place_start, article.dateline.place_end
    assert start is not None and end is not None
    assert article.text[start:end] == "WASHINGTON"


def test_dateline_only_in_first_paragraph() -> None:
    article = clean(f"Le titre\n\n{BODY_1}\n\nPARIS (AFP) - {BODY_2}")
    assert article.dateline is None


# --- content hash ----------------------------------------------------------------------


def test_content_hash_is_sha256_of_clean_text() -> None:
    article = clean(f"Le titre\n\n{BODY_1}\n\n{BODY_2}")
    assert article.content_hash == sha256_hex(article.text)
    assert len(article.content_hash) == 64
    assert all(c in "0123456789abcdef" for c in article.content_hash)


def test_content_hash_ignores_whitespace_and_unicode_variants() -> None:
    plain = clean(f"Le titre\n\n{BODY_1}\n\n{BODY_2}")
    spaced = BODY_1.replace(" ", "\u00a0 ")
    decomposed = BODY_2.replace("é", "e\u0301")
    variant = clean(f"\r\n  Le titre  \r\n\r\n\r\n\r\n{spaced}\t\r\n\r\n{decomposed}\n\n\n")
    assert variant.text == plain.text
    assert variant.content_hash == plain.content_hash


def test_content_hash_changes_with_content() -> None:
    assert clean(f"T\n\n{BODY_1}").content_hash != clean(f"T\n\n{BODY_2}").content_hash


# --- seeds end to end ---------------------------------------------------------------------


def test_seed_000_banner_title_and_dateline() -> None:
    raw = (SEEDS / "000_a204d967c10c7bac.txt").read_text(encoding="utf-8")
    article = clean_article(ArticleInput(text=raw))
    assert article.title == (
        "Le Kremlin affirme que la Russie possède de nombreuses terres rares dont les "
        "États-Unis ont besoin et est ouvert à la coopération."
    )
    assert article.text.startswith("MOSCOU, 25 février (Reuters) - Le Kremlin a déclaré mardi")
    assert article.text.endswith("n'étaient pas une préoccupation pour la Russie.")
    assert [(r.reason, r.text) for r in article.removed] == [
        ("site_banner", "Alpha-News.org ➤ L'actualité du monde est ici")
    ]
    assert "Alpha-News.org" not in article.text
    assert article.dateline is not None
    assert article.dateline.model_dump() == {
        "place": "MOSCOU",
        "date": "25 février",
        "agency": "Reuters",
        "place_start": 0,
        "place_end": 6,
    }
    assert len(article.paragraphs) == 11
    assert article.content_hash == sha256_hex(article.text)
    assert_consistent(article, raw)


def test_seed_002_repeated_title_subheadings_and_comment_counter() -> None:
    raw = (SEEDS / "002_8c30e152aa6e20cc.txt").read_text(encoding="utf-8")
    article = clean_article(ArticleInput(text=raw))
    title = (
        "La Russie est ouverte à la coopération économique avec les États-Unis dans les "
        "matières premières critiques"
    )
    assert article.title == title
    assert title not in article.text
    assert article.text.startswith("La Russie a déclaré qu'elle était ouverte")
    assert article.text.endswith("complétés par Lauren Kent et Michael Williams.")
    assert [(r.reason, r.text) for r in article.removed] == [
        ("repeated_title", title),
        ("comment_counter", "Kommentare (0)"),
    ]
    assert "Kommentare" not in article.text
    chunks = [article.text[p.start : p.end] for p in article.paragraphs]
    for subheading in (
        "Coopération entre les États-Unis et la Russie",
        "Occurrence de terres rares en Russie",
        "CONFIANCE ENTRE TRUMP et POUTINE",
    ):
        assert subheading in chunks
    assert len(chunks) == 14
    assert article.dateline is None
    assert_consistent(article, raw)
