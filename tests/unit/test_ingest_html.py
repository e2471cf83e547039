"""HTML submitted as an article: ingest extracts the text; the HTML goes no further."""

from datetime import UTC, datetime

import pytest

from services.ingest.html import NoTextInHtml, extract, to_text_input
from services.ingest.tasks import ingest_impl
from shared.envelope import ArticleEnvelope, ArticleInput

PAGE = """<!DOCTYPE html>
<html lang="fr"><head><title>Le Kremlin salue les discussions | Alpha-News</title>
<meta property="og:title" content="Le Kremlin salue les discussions">
<style>body { color: red }</style><script>var tracking = "Alpha-News";</script></head>
<body>
<nav><a href="/">Accueil</a> <a href="/monde">Monde</a> <a href="/sport">Sport</a></nav>
<article>
<h1>Le Kremlin salue les discussions</h1>
<p>MOSCOU, 25 février (Reuters) - Le Kremlin a déclaré mardi que les discussions avec
Washington avançaient, au lendemain d'un entretien entre les deux délégations.</p>
<p>Dmitri Peskov a ajouté que Vladimir Poutine était prêt à parler à Donald Trump
&laquo;&nbsp;dès que possible&nbsp;&raquo;, sans donner de date.</p>
</article>
<footer>© 2025 Alpha-News. Tous droits réservés. <a href="/cgu">CGU</a></footer>
</body></html>"""


def test_extract_keeps_the_article_and_drops_the_page() -> None:
    text, title = extract(PAGE)
    assert title == "Le Kremlin salue les discussions"
    assert "Dmitri Peskov a ajouté que Vladimir Poutine" in text
    assert "« dès que possible »" in text.replace("\xa0", " ")
    for chrome in ("<p>", "tracking", "color: red", "Accueil", "Tous droits réservés"):
        assert chrome not in text


def test_a_short_fragment_still_gives_its_text() -> None:
    text, _ = extract("<p>Bonjour <b>tout</b> le monde.</p><p>Deux.</p>")
    assert "Bonjour tout le monde." in text and "<" not in text


@pytest.mark.parametrize("html", ["<html><body><script>x()</script></body></html>", "<br><hr>"])
def test_a_page_without_text_is_an_error(html: str) -> None:
    with pytest.raises(NoTextInHtml):
        extract(html)


def test_plain_text_input_is_untouched() -> None:
    article = ArticleInput(text="<p>not parsed</p>")
    assert to_text_input(article) is article


def test_ingest_carries_the_text_not_the_html() -> None:
    envelope = ArticleEnvelope(
        id="a" * 32,
        received_at=datetime.now(UTC),
        input=ArticleInput(text=PAGE, format="html", url="https://alpha-news.org/a"),
    )
    done = ingest_impl(envelope)
    assert done.input.format == "text" and "<" not in done.input.text  # storage's raw_text
    assert done.input.url == "https://alpha-news.org/a"
    assert done.clean is not None
    assert done.clean.title == "Le Kremlin salue les discussions"
    assert done.clean.text.startswith("MOSCOU, 25 février (Reuters)")
    assert done.clean.dateline is not None and done.clean.dateline.place is not None


def test_a_given_title_wins_over_the_page_title() -> None:
    article = ArticleInput(text=PAGE, format="html", title="Mon titre")
    assert to_text_input(article).title == "Mon titre"
