"""HTML pages submitted as articles: their main text, extracted with trafilatura.

The gateway only marks such input (`format: "html"`); the extraction runs here, in the
ingest worker, so the gateway image stays free of lxml and the raw HTML goes no further:
the envelope leaves ingest with the extracted text as its input.
"""

import trafilatura

from shared.envelope import ArticleInput


class NoTextInHtml(ValueError):
    """The page has no text to process (an article that cannot succeed: not retried)."""


def extract(html: str) -> tuple[str, str | None]:
    """The page's main text (one paragraph per line) and its title, if it has one."""
    document = trafilatura.bare_extraction(
        html,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        deduplicate=True,
    )
    text = (getattr(document, "text", None) or "").strip()
    title = (getattr(document, "title", None) or "").strip() or None
    if not text:
        # Pages too short for main-content detection: all their visible text.
        text = trafilatura.html2txt(html, clean=True).strip()
    if not text:
        raise NoTextInHtml("the HTML page contains no text")
    return text, title


def to_text_input(article: ArticleInput) -> ArticleInput:
    """The same input with the HTML replaced by its text; plain text is returned as is."""
    if article.format != "html":
        return article
    text, title = extract(article.text)
    return article.model_copy(
        update={"text": text, "title": article.title or title, "format": "text"}
    )
