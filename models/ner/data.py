"""NER training data: `token<TAB>IOB2-tag` files (gzip too) -> spaCy `Doc`s and `DocBin`s.

File format (see ../shared/train/ner/SOURCES.md): one token per line, a blank line after each
sentence, `# doc = <id>` before each document where the source has documents. Tags are IOB2 over
PER/LOC/ORG/MISC.

Sources that never annotate MISC (WikiANN, UNER, KIND, NEREL, factRuEval, RONEC) tag MISC-like
names O. With `misc_annotated=False` the O tokens that could be such a name (see
`could_be_unannotated_misc`) become *missing* in the Doc (ENT_IOB 0, biluo "-" in the Example),
so the model is not taught that they are certainly outside every entity. Entities the source
does annotate, and the other O tokens, stay as they are.

The data is read where it lies; only derived DocBins are written, under build/.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from spacy.tokens import Doc, DocBin, Span
from spacy.vocab import Vocab

LABELS: tuple[str, ...] = ("PER", "LOC", "ORG", "MISC")
DOC_MARKER = "# doc"
DEFAULT_MAX_TOKENS = 400

TokenSpan = tuple[int, int, str]  # (start token, end token exclusive, label)


@dataclass(frozen=True)
class Sentence:
    tokens: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class SourceDoc:
    """One document of a source file: `doc_id` is "" where the source has no documents."""

    doc_id: str
    sentences: tuple[Sentence, ...]

    @property
    def n_tokens(self) -> int:
        return sum(len(s.tokens) for s in self.sentences)


# --- reading ---------------------------------------------------------------------------------


def open_text(path: Path) -> io.TextIOBase:
    """A text handle on `path`, gunzipped when the name ends in .gz."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return io.TextIOWrapper(path.open("rb"), encoding="utf-8")


def _doc_id(line: str) -> str:
    _, _, value = line.partition("=")
    return value.strip()


def parse_lines(lines: Iterable[str]) -> Iterator[SourceDoc]:
    """Documents from the lines of one file; a file without `# doc` lines is one document."""
    doc_id = ""
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []

    def close_sentence() -> None:
        if tokens:
            sentences.append(Sentence(tuple(tokens), tuple(tags)))
            tokens.clear()
            tags.clear()

    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if line.startswith(DOC_MARKER):
            close_sentence()
            if sentences:
                yield SourceDoc(doc_id, tuple(sentences))
                sentences = []
            doc_id = _doc_id(line)
        elif not line.strip():
            close_sentence()
        else:
            token, sep, tag = line.rpartition("\t")
            if not sep or not token:
                raise ValueError(f"line {number}: expected token<TAB>tag, got {line!r}")
            check_tag(tag, number)
            tokens.append(token)
            tags.append(tag)
    close_sentence()
    if sentences:
        yield SourceDoc(doc_id, tuple(sentences))


def check_tag(tag: str, line_number: int = 0) -> None:
    prefix, _, label = tag.partition("-")
    if tag != "O" and (prefix not in ("B", "I") or label not in LABELS):
        raise ValueError(f"line {line_number}: unknown tag {tag!r}")


def read_tsv(path: Path) -> list[SourceDoc]:
    with open_text(path) as handle:
        return list(parse_lines(handle))


# --- tags ------------------------------------------------------------------------------------


def iob2_spans(tags: Sequence[str]) -> list[TokenSpan]:
    """Entity spans of one tag sequence. An I-X after O or after another type starts an entity
    (the lenient IOB2 reading; the files were converted that way)."""
    spans: list[TokenSpan] = []
    start, label = -1, ""
    for i, tag in enumerate(tags):
        prefix, _, tag_label = tag.partition("-")
        continues = prefix == "I" and label == tag_label and start >= 0
        if start >= 0 and not continues:
            spans.append((start, i, label))
            start, label = -1, ""
        if prefix in ("B", "I") and not continues:
            start, label = i, tag_label
    if start >= 0:
        spans.append((start, len(tags), label))
    return spans


def could_be_unannotated_misc(token: str) -> bool:
    """An O token that a source without MISC may have left O although it is (part of) a
    MISC-like name: it carries an upper-case letter or a digit (events, works, products:
    'Olympischen', 'Windows', 'COVID-19'). Lower-case words and punctuation stay certain O."""
    return any(c.isupper() or c.isdigit() for c in token)


def missing_mask(sentence: Sentence, misc_annotated: bool) -> list[bool]:
    """True where the tag is unknown: only for sources without MISC, only on O tokens."""
    if misc_annotated:
        return [False] * len(sentence.tokens)
    return [
        tag == "O" and could_be_unannotated_misc(token)
        for token, tag in zip(sentence.tokens, sentence.tags, strict=True)
    ]


# --- grouping --------------------------------------------------------------------------------


def group_sentences(
    sentences: Sequence[Sentence], max_tokens: int = DEFAULT_MAX_TOKENS
) -> list[tuple[Sentence, ...]]:
    """Consecutive sentences in groups of at most `max_tokens` tokens (a longer sentence is
    a group of its own). Order is kept; nothing is dropped."""
    groups: list[tuple[Sentence, ...]] = []
    current: list[Sentence] = []
    size = 0
    for sentence in sentences:
        n = len(sentence.tokens)
        if current and size + n > max_tokens:
            groups.append(tuple(current))
            current, size = [], 0
        current.append(sentence)
        size += n
    if current:
        groups.append(tuple(current))
    return groups


def chunk_documents(
    docs: Iterable[SourceDoc], max_tokens: int = DEFAULT_MAX_TOKENS
) -> Iterator[SourceDoc]:
    """Split each source document into pieces of bounded size; pieces never cross documents."""
    for doc in docs:
        for group in group_sentences(doc.sentences, max_tokens):
            yield SourceDoc(doc.doc_id, group)


def split_tail(
    docs: Sequence[SourceDoc], fraction: float
) -> tuple[list[SourceDoc], list[SourceDoc]]:
    """(train, held-out): the last `fraction` of the documents held out, whole documents only.
    A file with no document markers (one SourceDoc) is split at a sentence boundary instead:
    the trailing sentences, so that at most one unmarked document straddles the cut."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    if len(docs) > 1:
        cut = len(docs) - max(1, round(len(docs) * fraction))
        return list(docs[:cut]), list(docs[cut:])
    if not docs:
        return [], []
    only = docs[0]
    cut = len(only.sentences) - max(1, round(len(only.sentences) * fraction))
    return (
        [SourceDoc(only.doc_id, only.sentences[:cut])],
        [SourceDoc(only.doc_id, only.sentences[cut:])],
    )


# --- spaCy -----------------------------------------------------------------------------------


def to_doc(vocab: Vocab, source: SourceDoc, *, misc_annotated: bool = True) -> Doc:
    """A spaCy Doc with the source's tokens (space-separated), sentence starts and entities;
    unknown tokens (see `missing_mask`) are left missing rather than O."""
    words: list[str] = []
    sent_starts: list[bool | int | None] = []
    spans: list[TokenSpan] = []
    missing: list[int] = []
    for sentence in source.sentences:
        offset = len(words)
        words.extend(sentence.tokens)
        sent_starts.extend(i == 0 for i in range(len(sentence.tokens)))
        spans.extend((offset + s, offset + e, label) for s, e, label in iob2_spans(sentence.tags))
        mask = missing_mask(sentence, misc_annotated)
        missing.extend(offset + i for i, unknown in enumerate(mask) if unknown)
    doc = Doc(vocab, words=words, sent_starts=sent_starts)
    doc.user_data["doc_id"] = source.doc_id
    doc.set_ents(
        [Span(doc, s, e, label=label) for s, e, label in spans],
        missing=[doc[i : i + 1] for i in missing],
        default="outside",
    )
    return doc


def to_docbin(docs: Iterable[Doc]) -> DocBin:
    docbin = DocBin(attrs=["ORTH", "SENT_START", "ENT_IOB", "ENT_TYPE"], store_user_data=True)
    for doc in docs:
        docbin.add(doc)
    return docbin


def gold_spans(doc: Doc) -> list[TokenSpan]:
    return [(ent.start, ent.end, ent.label_) for ent in doc.ents]
