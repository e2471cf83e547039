"""Turn a submitted article into a CleanArticle: pure text processing, no I/O.

Steps: normalise unicode and whitespace, drop page chrome line by line (site
banners, repeated titles, comment counters, share/related/ad prompts), pick the
title, split the body into paragraphs with offsets, and read the wire dateline.
``Removed`` offsets point into the normalised text returned by ``normalise_text``.
"""

import re
import unicodedata
from dataclasses import dataclass

from services.ingest.dateline import parse_dateline
from shared.envelope import ArticleInput, CleanArticle, Dateline, Paragraph, Removed
from shared.ids import sha256_hex

# --- normalisation -----------------------------------------------------------

_LINE_BREAKS = {"\r\n": "\n", "\r": "\n", "\x0b": "\n", "\x0c": "\n", "\x85": "\n"}
_LINE_BREAK_RE = re.compile("|".join(map(re.escape, _LINE_BREAKS)))
_TRANSLATE = str.maketrans(
    {
        **dict.fromkeys(
            # NBSP, narrow NBSP, en/em/thin/hair spaces, ideographic space, ...
            map(
                ord,
                "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
                "\u2008\u2009\u200a\u202f\u205f\u3000",
            ),
            " ",
        ),
        # Zero-width space, word joiner, BOM, soft hyphen, bidi marks: invisible noise.
        # ZWJ/ZWNJ are kept: they change how emoji and some scripts render.
        **dict.fromkeys(
            map(
                ord,
                "\u200b\u2060\ufeff\u00ad\u180e\u200e\u200f\u061c"
                "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
            ),
            None,
        ),
        ord("\u2028"): "\n",
        ord("\u2029"): "\n\n",
    }
)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_INLINE_WS_RE = re.compile(r"[ \t]+")


def normalise_text(text: str) -> str:
    """NFC, plain spaces and ``\\n`` only, lines stripped, at most one blank line in a row."""
    text = _LINE_BREAK_RE.sub(lambda m: _LINE_BREAKS[m.group()], text)
    text = _CONTROL_RE.sub("", text.translate(_TRANSLATE))
    # NFC after the removals: dropping a zero-width char can make a new composable pair.
    text = unicodedata.normalize("NFC", text)
    lines: list[str] = []
    for raw_line in text.split("\n"):
        line = _INLINE_WS_RE.sub(" ", raw_line).strip()
        if line or (lines and lines[-1]):
            lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _normalise_title(title: str | None) -> str | None:
    if title is None:
        return None
    return " ".join(normalise_text(title).split()) or None


def _fold(text: str) -> str:
    """Case, punctuation and whitespace folded, to spot a repeated title."""
    return " ".join(re.findall(r"[^\W_]+", text.casefold()))


# --- boilerplate rules ---------------------------------------------------------

_GENERIC_TLDS = (
    "com|org|net|info|biz|news|media|online|site|press|blog|live|world|today|tv|fm|io|co"
    "|eu|int|gov|edu|app|tech"
)
# Labels any case; country-code TLDs lower-case only so "U.S" or "Mr.Smith" never match.
_DOMAIN_RE = re.compile(
    r"(?<![\w@.\-])(?:https?://)?(?:www\.)?"
    r"(?:(?i:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?)\.)+"
    rf"(?:(?i:{_GENERIC_TLDS})|[a-z]{{2}})"
    r"(?![\w\-])(?:/[^\s]*)?"
)
# Glyphs that separate a site name from its slogan; dashes, tildes and » only with spaces.
_STRONG_SEPARATORS = "➤►▶⮞→⇒|¦·•★✦"
_SEPARATOR_RE = re.compile(rf"[{_STRONG_SEPARATORS}]|(?:^|\s)(?:[-–—~»]|--|::)(?=\s|$)")
_ARROW_BRAND_RE = re.compile(r"^(?P<brand>[^➤►▶⮞→⇒]{1,40}?)\s*[➤►▶⮞→⇒]\s*\S")
_SENTENCE_END = (".", "!", "?", "…")
_BANNER_MAX_LEN = 100


def _has_separator(text: str) -> bool:
    # » is also a closing guillemet; only count it when no quote was opened.
    if "«" in text:
        text = text.replace("»", "")
    return _SEPARATOR_RE.search(text) is not None


def _starts_with_separator(text: str) -> bool:
    return text == "" or _SEPARATOR_RE.match(text) is not None


def _is_site_banner(line: str) -> bool:
    """A short top/bottom line naming the site: ``Alpha-News.org ➤ L'actualité ...``."""
    if len(line) >= _BANNER_MAX_LEN:
        return False
    domains = list(_DOMAIN_RE.finditer(line))
    if domains:
        before = line[: domains[0].start()].strip()
        after = line[domains[-1].end() :].strip()
        # Domain first, then nothing or a separator and a slogan (not "X.org said ...").
        if before == "" and _starts_with_separator(after):
            return True
        # Slogan, separator, domain last.
        if after == "" and _starts_with_separator(before[::-1]):
            return True
        # Domain somewhere in a separator-laden line that is not a sentence.
        return _has_separator(line) and not line.endswith(_SENTENCE_END)
    match = _ARROW_BRAND_RE.match(line)
    return (
        match is not None
        and len(match.group("brand").split()) <= 4
        and not line.endswith(_SENTENCE_END)
    )


_COMMENT_WORD = (
    r"(?:comments?|kommentare?|commentaires?|comentarios?|comentários?|commenti|commento"
    r"|reacties|reactie|réactions?|reactions?|responses?|antworten)"
)
_COMMENT_COUNTER_RE = re.compile(
    rf"^(?:{_COMMENT_WORD}\s*[:(\[]?\s*\d+\s*[)\]]?"  # Kommentare (0), Comments: 12
    rf"|\(?\d+\)?\s+{_COMMENT_WORD}"  # 12 Kommentare
    r"|no comments(?: yet)?|keine kommentare|aucun commentaire|sin comentarios"
    r"|nessun commento|geen reacties)$",
    re.IGNORECASE,
)
_NETWORKS = (
    r"(?:facebook|twitter|x|linkedin|whatsapp|telegram|reddit|e-?mail|bluesky|threads"
    r"|messenger|pinterest|flipboard|xing|mastodon|mail)"
)
_SHARE_RE = re.compile(
    r"^(?:"
    r"(?:share|partager|teilen|compartir|condividi|delen|tweet|tweeter)"
    r"(?:\s+(?:this|cet|ce|cette|diesen|den|die|este|esta|questo|dit)?\s*"
    r"(?:article|artikel|story|post|page|beitrag|artículo|articolo|noticia))?"
    rf"(?:\s+(?:on|via|sur|par|auf|per|en|su|op)\s+{_NETWORKS})?"
    rf"|(?:auf|per|via)\s+{_NETWORKS}\s+teilen"
    rf"|(?:{_NETWORKS}|print|imprimer|drucken|copy link|copier le lien|link kopieren)"
    # Separator alternatives are disjoint, so a long line cannot backtrack exponentially.
    rf"(?:(?:\s*[,|·•/]\s*|\s+)(?:{_NETWORKS}|print|imprimer|drucken|copy link|copier le lien"
    r"|link kopieren)){1,}"
    r")\s*:?$",
    re.IGNORECASE,
)
_RELATED_RE = re.compile(
    r"^(?:(?:à\s+)?lire\s+(?:aussi|également)|voir\s+aussi|sur\s+le\s+même\s+sujet"
    r"|read\s+(?:more|also|next)|see\s+also|related(?:\s+(?:articles?|stories|content))?"
    r"|more\s+on\s+this\s+(?:story|topic)|lesen\s+sie\s+(?:auch|mehr)|mehr\s+zum\s+thema"
    r"|auch\s+interessant|leggi\s+anche|lee\s+también|lees\s+ook)"
    # Alone, or as "Lire aussi : <teaser headline>"; never "Read more about ..." in a sentence.
    r"\s*(?::\s*.{0,200})?$",
    re.IGNORECASE,
)
_AD_RE = re.compile(
    r"^(?:advertisement|advertising|publicité|anzeige|werbung|pubblicità|publicidad"
    r"|advertentie|sponsored(?:\s+content)?|contenu\s+sponsorisé)$",
    re.IGNORECASE,
)
_AD_DECORATION = " -–—_*•·|[]()<>"
# Only at the bottom: "© 2025 Alpha-News.org", "Copyright (c) 2025 Reuters".
_COPYRIGHT_RE = re.compile(r"^(?:©|\(c\)\s|copyright\s*(?:©|\(c\)|\d{4}))", re.IGNORECASE)
_COPYRIGHT_MAX_LEN = 150
# Chrome lines are short; longer lines are content (and skip the regexes entirely).
_CHROME_MAX_LEN = 250
# Longer first lines are body text, not a headline.
_TITLE_MAX_LEN = 300


def _chrome_reason(line: str) -> str | None:
    """Reason for a whole line that is page chrome wherever it sits, else None."""
    if len(line) > _CHROME_MAX_LEN:
        return None
    if _COMMENT_COUNTER_RE.match(line):
        return "comment_counter"
    if _SHARE_RE.match(line):
        return "share_prompt"
    if _RELATED_RE.match(line):
        return "related_link"
    if _AD_RE.match(line.strip(_AD_DECORATION)):
        return "advertisement"
    return None


# --- assembly -------------------------------------------------------------------


@dataclass
class _Line:
    start: int  # offsets into the normalised text
    end: int
    text: str
    block: int  # index of the blank-line separated block it belongs to
    keep: bool = True


def _split_lines(text: str) -> list[_Line]:
    lines: list[_Line] = []
    block = 0
    offset = 0
    for raw in text.split("\n"):
        if raw:
            lines.append(_Line(offset, offset + len(raw), raw, block))
        elif lines:
            block += 1
        offset += len(raw) + 1
    return lines


def clean_article(article: ArticleInput) -> CleanArticle:
    normalised = normalise_text(article.text)
    lines = _split_lines(normalised)
    removed: list[Removed] = []

    def remove(line: _Line, reason: str) -> None:
        line.keep = False
        removed.append(Removed(start=line.start, end=line.end, text=line.text, reason=reason))

    def kept() -> list[_Line]:
        return [line for line in lines if line.keep]

    for line in lines:
        reason = _chrome_reason(line.text)
        if reason:
            remove(line, reason)

    # Site banners only at the very top or bottom: the same words mid-article are content.
    # The last remaining line is never taken, so a rule cannot empty the article.
    top = kept()
    for line in top[:-1]:
        if not _is_site_banner(line.text):
            break
        remove(line, "site_banner")
    bottom = kept()
    for line in reversed(bottom[1:]):
        if _is_site_banner(line.text):
            remove(line, "site_banner")
        elif _COPYRIGHT_RE.match(line.text) and len(line.text) < _COPYRIGHT_MAX_LEN:
            remove(line, "copyright")
        else:
            break

    title = _normalise_title(article.title)
    body = kept()
    if title is None and len(body) > 1:
        first = body[0].text
        if len(first) <= _TITLE_MAX_LEN and parse_dateline(first) is None:
            # The headline: becomes the title, is not body and is not boilerplate.
            title = first
            body[0].keep = False
    folded_title = _fold(title) if title is not None else ""
    if folded_title:
        for line in kept():
            if _fold(line.text) != folded_title:
                break
            remove(line, "repeated_title")

    body = kept()
    if len({line.block for line in body}) == 1:
        # No blank lines in the body: each line is a paragraph.
        chunks = [line.text for line in body]
    else:
        by_block: dict[int, list[str]] = {}
        for line in body:
            by_block.setdefault(line.block, []).append(line.text)
        chunks = ["\n".join(block_lines) for block_lines in by_block.values()]

    paragraphs: list[Paragraph] = []
    offset = 0
    for index, chunk in enumerate(chunks):
        paragraphs.append(Paragraph(index=index, start=offset, end=offset + len(chunk)))
        offset += len(chunk) + 2
    text = "\n\n".join(chunks)

    dateline: Dateline | None = None
    if paragraphs:
        dateline = parse_dateline(chunks[0])
        if dateline is not None and dateline.place_start is not None:
            shift = paragraphs[0].start
            dateline.place_start += shift
            if dateline.place_end is not None:
                dateline.place_end += shift

    removed.sort(key=lambda item: item.start)
    return CleanArticle(
        title=title,
        text=text,
        paragraphs=paragraphs,
        dateline=dateline,
        removed=removed,
        content_hash=sha256_hex(text),
    )
