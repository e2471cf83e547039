"""What the templates show, built from the service's answers: an article's text cut into
paragraphs and entity marks, and dates and numbers formatted for people (Babel).

Nothing here produces HTML: the text is split at the entity offsets into plain pieces, and
the templates escape every piece (Jinja2 autoescape). No NLP either: the offsets are the
ones the entities stage stored.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from babel.dates import format_datetime
from babel.numbers import format_decimal

from services.gateway.schemas import Article, ArticleEntity, ArticleEntityGroup

LOCALE = "en"
LABELS = {
    "PER": "person",
    "ORG": "organisation",
    "LOC": "place",
    "MISC": "other",
}


@dataclass(frozen=True)
class Piece:
    """A run of the text: plain (`label` None) or one entity mention."""

    text: str
    label: str | None = None
    model_label: str | None = None
    start: int = 0
    end: int = 0

    @property
    def anchor(self) -> str:
        """The mark's id, which an entity group's link targets."""
        return f"m-{self.start}-{self.end}"


@dataclass
class Block:
    """A paragraph: its pieces, and its language when it differs from the document's."""

    pieces: list[Piece] = field(default_factory=list)
    language: str | None = None


@dataclass(frozen=True)
class Group:
    """An entity group beside the text, with the anchors of its mentions."""

    name: str
    label: str
    count: int
    salience: float
    anchors: list[str]

    @property
    def first_anchor(self) -> str:
        return self.anchors[0] if self.anchors else ""


def _pieces(text: str, start: int, end: int, entities: list[ArticleEntity]) -> list[Piece]:
    """text[start:end] as plain pieces and marks, for the entities inside it (sorted,
    overlapping ones after the first left out)."""
    pieces: list[Piece] = []
    at = start
    for entity in entities:
        if entity.start < at or entity.end > end or entity.start >= entity.end:
            continue  # overlaps the previous mark, or leaves this block
        if entity.start > at:
            pieces.append(Piece(text[at : entity.start], start=at, end=entity.start))
        pieces.append(
            Piece(
                text[entity.start : entity.end],
                label=entity.label,
                model_label=entity.model_label,
                start=entity.start,
                end=entity.end,
            )
        )
        at = entity.end
    if at < end:
        pieces.append(Piece(text[at:end], start=at, end=end))
    return pieces


def blocks(article: Article) -> list[Block]:
    """The article's clean text as paragraphs of pieces: the language stage's paragraphs
    when it recorded them (any text between them that is not blank becomes a paragraph of
    its own), else blank-line separated paragraphs."""
    text = article.text or ""
    if not text:
        return []
    entities = sorted(
        (e for e in article.entities if 0 <= e.start < e.end <= len(text)),
        key=lambda e: (e.start, -e.end),
    )
    document = article.language.code if article.language else None
    ranges: list[tuple[int, int, str | None]] = []
    paragraphs = (
        sorted(article.language.paragraphs, key=lambda p: p.start) if article.language else []
    )
    if paragraphs:
        at = 0
        for p in paragraphs:
            p_start, p_end = max(p.start, at), min(p.end, len(text))
            if p_start >= p_end:
                continue
            if text[at:p_start].strip():
                ranges.append((at, p_start, None))
            ranges.append((p_start, p_end, p.code))
            at = p_end
        if text[at:].strip():
            ranges.append((at, len(text), None))
    else:
        at = 0
        for part in text.split("\n\n"):
            if part.strip():
                ranges.append((at, at + len(part), None))
            at += len(part) + 2
    result = []
    for start, end, code in ranges:
        # Leading and trailing line breaks are layout, not content.
        while start < end and text[start] in "\r\n":
            start += 1
        while end > start and text[end - 1] in "\r\n":
            end -= 1
        if start == end:
            continue
        marked = code if code and code != document and code != "und" else None
        result.append(Block(pieces=_pieces(text, start, end, entities), language=marked))
    return result


def groups(article: Article) -> list[Group]:
    """Entity groups, most salient first, each with the anchors of its mentions."""

    def anchors(group: ArticleEntityGroup) -> list[str]:
        found = [f"m-{m.start}-{m.end}" for m in sorted(group.mentions, key=lambda m: m.start)]
        return found or [
            f"m-{e.start}-{e.end}" for e in article.entities if e.start == group.first_start
        ]

    ordered = sorted(article.entity_groups, key=lambda g: (-g.salience, g.first_start))
    return [
        Group(name=g.name, label=g.label, count=g.count, salience=g.salience, anchors=anchors(g))
        for g in ordered
    ]


def when(value: datetime | str | None) -> str:
    """A moment for people, in UTC ("Feb 25, 2026, 10:31:07 AM UTC"); '' when unknown."""
    if value is None:
        return ""
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    assert isinstance(moment, datetime)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(moment, "medium", tzinfo=UTC, locale=LOCALE) + " UTC"


def iso(value: datetime | str | None) -> str:
    """The machine-readable moment of a <time datetime=...>."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def number(value: float | int | None, digits: int = 0) -> str:
    """A number for people: grouped thousands, at most `digits` decimals."""
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=LOCALE)
