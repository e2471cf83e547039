"""NER training data: TSV (IOB2) -> spaCy Docs, document grouping, gzip, MISC-less sources.

Inline fixtures only: the licensed training data is never read by the tests."""

import gzip
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, DocBin
from spacy.training import Example

from models.ner.data import (
    Sentence,
    SourceDoc,
    chunk_documents,
    could_be_unannotated_misc,
    gold_spans,
    group_sentences,
    iob2_spans,
    parse_lines,
    read_tsv,
    split_tail,
    to_doc,
    to_docbin,
)
from models.ner.sources import parse_sources_table, source_info

TSV = """# doc = d1
Angela\tB-PER
Merkel\tI-PER
besucht\tO
Paris\tB-LOC
.\tO

Die\tO
Bundesliga\tB-MISC
startet\tO
.\tO
# doc = d2
Siemens\tB-ORG
AG\tI-ORG
wächst\tO
"""

NO_DOCS = "Roma\tB-LOC\n\nIl\tO\nPapa\tO\nparla\tO\n\nFine\tO\n"


def sentence(text: str) -> Sentence:
    tokens, tags = zip(*(pair.split("/") for pair in text.split()), strict=True)
    return Sentence(tuple(tokens), tuple(tags))


def test_documents_and_sentences_are_read() -> None:
    docs = list(parse_lines(TSV.splitlines(keepends=True)))
    assert [d.doc_id for d in docs] == ["d1", "d2"]
    assert [len(d.sentences) for d in docs] == [2, 1]
    assert docs[0].sentences[1].tokens == ("Die", "Bundesliga", "startet", ".")
    assert docs[1].sentences[0].tags == ("B-ORG", "I-ORG", "O")
    assert docs[0].n_tokens == 9


def test_a_file_without_doc_lines_is_one_document() -> None:
    docs = list(parse_lines(NO_DOCS.splitlines()))
    assert len(docs) == 1
    assert docs[0].doc_id == ""
    assert len(docs[0].sentences) == 3


def test_a_token_that_starts_with_a_hash_is_a_token() -> None:
    (doc,) = parse_lines(["#\tO\n", "tag\tO\n"])
    assert doc.sentences[0].tokens == ("#", "tag")


@pytest.mark.parametrize("line", ["no-tab-here", "Paris\tB-CITY", "Paris\tX-LOC", "\tO"])
def test_malformed_lines_are_rejected(line: str) -> None:
    with pytest.raises(ValueError, match="line 1"):
        list(parse_lines([line]))


def test_gzip_files_read_like_plain_ones(tmp_path: Path) -> None:
    plain = tmp_path / "x-train.tsv"
    plain.write_text(TSV, encoding="utf-8")
    packed = tmp_path / "x-train.tsv.gz"
    with gzip.open(packed, "wt", encoding="utf-8") as handle:
        handle.write(TSV)
    assert read_tsv(packed) == read_tsv(plain)
    assert read_tsv(packed)[1].sentences[0].tokens[2] == "wächst"


@pytest.mark.parametrize(
    ("tags", "spans"),
    [
        (["B-PER", "I-PER", "O", "B-LOC"], [(0, 2, "PER"), (3, 4, "LOC")]),
        (["B-PER", "B-PER"], [(0, 1, "PER"), (1, 2, "PER")]),  # two adjacent names
        (["O", "I-ORG", "I-ORG"], [(1, 3, "ORG")]),  # I- after O starts an entity
        (["B-ORG", "I-LOC"], [(0, 1, "ORG"), (1, 2, "LOC")]),  # type change starts one
        (["O", "O"], []),
    ],
)
def test_iob2_tags_become_spans(tags: list[str], spans: list[tuple[int, int, str]]) -> None:
    assert iob2_spans(tags) == spans


def test_sentences_are_grouped_into_bounded_documents() -> None:
    sentences = [sentence("a/O b/O c/O")] * 5 + [sentence(" ".join(["x/O"] * 10))]
    groups = group_sentences(sentences, max_tokens=7)
    assert [sum(len(s.tokens) for s in g) for g in groups] == [6, 6, 3, 10]
    assert [s for g in groups for s in g] == sentences  # order kept, nothing dropped


def test_groups_never_cross_source_documents() -> None:
    docs = [SourceDoc("a", (sentence("x/O"),)), SourceDoc("b", (sentence("y/O"),))]
    pieces = list(chunk_documents(docs, max_tokens=100))
    assert [p.doc_id for p in pieces] == ["a", "b"]


def test_held_out_part_is_whole_documents_at_the_end() -> None:
    docs = [SourceDoc(str(i), (sentence("x/O"),)) for i in range(20)]
    train, held = split_tail(docs, 0.1)
    assert [d.doc_id for d in held] == ["18", "19"]
    assert len(train) == 18


def test_held_out_part_of_a_file_without_documents_is_its_last_sentences() -> None:
    only = SourceDoc("", tuple(sentence(f"s{i}/O") for i in range(10)))
    train, held = split_tail([only], 0.1)
    assert [s.tokens for s in held[0].sentences] == [("s9",)]
    assert len(train[0].sentences) == 9


def test_doc_carries_tokens_sentences_and_entities() -> None:
    vocab = spacy.blank("de").vocab
    source = next(iter(parse_lines(TSV.splitlines())))
    doc = to_doc(vocab, source)
    assert [t.text for t in doc][:4] == ["Angela", "Merkel", "besucht", "Paris"]
    assert [s.start for s in doc.sents] == [0, 5]
    assert gold_spans(doc) == [(0, 2, "PER"), (3, 4, "LOC"), (6, 7, "MISC")]
    assert all(t.ent_iob_ for t in doc)  # a source with MISC: no token is missing


MISC_LESS = "Lei\tO\nguarda\tO\nLa\tO\nDolce\tO\nVita\tO\na\tO\nRoma\tB-LOC\n2024\tO\n.\tO\n"


def test_misc_less_source_leaves_possible_names_missing() -> None:
    vocab = spacy.blank("it").vocab
    (source,) = parse_lines(MISC_LESS.splitlines())
    doc = to_doc(vocab, source, misc_annotated=False)
    iob = {t.text: t.ent_iob_ for t in doc}
    # Capitalised / digit O tokens: unknown (could be an unannotated MISC name).
    assert iob["La"] == iob["Dolce"] == iob["Vita"] == iob["Lei"] == iob["2024"] == ""
    # Lower-case words and punctuation: still certainly outside.
    assert iob["guarda"] == iob["a"] == iob["."] == "O"
    # The source's own entities are kept.
    assert gold_spans(doc) == [(6, 7, "LOC")]
    # What the NER component is trained on: None (missing, "-" in biluo) for unknown tokens.
    example = Example(vocab_doc(doc), doc)
    assert example.get_aligned_ner() == [None, "O", None, None, None, "O", "U-LOC", None, "O"]


def test_same_source_taken_as_annotating_misc_teaches_o() -> None:
    vocab = spacy.blank("it").vocab
    (source,) = parse_lines(MISC_LESS.splitlines())
    doc = to_doc(vocab, source, misc_annotated=True)
    assert None not in Example(vocab_doc(doc), doc).get_aligned_ner()


def test_missing_tokens_survive_the_docbin(tmp_path: Path) -> None:
    nlp = spacy.blank("it")
    (source,) = parse_lines(MISC_LESS.splitlines())
    to_docbin([to_doc(nlp.vocab, source, misc_annotated=False)]).to_disk(tmp_path / "t.spacy")
    (doc,) = DocBin().from_disk(tmp_path / "t.spacy").get_docs(nlp.vocab)
    assert [t.ent_iob_ for t in doc] == ["", "O", "", "", "", "O", "B", "", "O"]
    assert [s.start for s in doc.sents] == [0]


def vocab_doc(doc: Doc) -> Doc:
    """The same words without annotation (the predicted side of an Example)."""
    return Doc(doc.vocab, words=[t.text for t in doc])


@pytest.mark.parametrize(
    ("token", "unknown"),
    [
        ("Olympischen", True),
        ("COVID-19", True),
        ("iPhone", True),
        ("2024", True),
        ("guarda", False),
        (",", False),
        ("l'", False),
    ],
)
def test_which_o_tokens_a_misc_less_source_cannot_vouch_for(token: str, unknown: bool) -> None:
    assert could_be_unannotated_misc(token) is unknown


SOURCES_TABLE = """
| lang | file | domain | sentences | tokens | docs | PER | LOC | ORG | MISC | licence | flag |
|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|
| de | `de/conll03-train.tsv` | news | 11,936 | 206,510 | 553 | 2,773 | 4,236 | 2,424 | 2,288 | CoNLL (research use) | **research-only** |
| it | `it/kind-wikinews-train.tsv` | news | 10,781 | 247,493 |  | 5,292 | 4,747 | 4,420 | - | CC BY-NC 4.0 | **NC** |
| pt | `pt/uner-bosque-train.tsv` | news | 7,018 | 159,844 | 234 | 2,914 | 2,425 | 2,762 | - | CC BY-SA 4.0 | ok |
| **all** | 41 files | | 395,154 | 7,133,310 | | 178,915 | 233,237 | 116,919 | 58,771 | | |
"""  # noqa: E501


def test_sources_table_gives_licence_flag_and_misc_annotation() -> None:
    table = parse_sources_table(SOURCES_TABLE)
    assert set(table) == {
        "de/conll03-train.tsv",
        "it/kind-wikinews-train.tsv",
        "pt/uner-bosque-train.tsv",
    }
    assert table["de/conll03-train.tsv"].misc_annotated
    assert table["de/conll03-train.tsv"].flag == "research-only"
    assert table["de/conll03-train.tsv"].restricted
    assert not table["it/kind-wikinews-train.tsv"].misc_annotated
    assert table["it/kind-wikinews-train.tsv"].flag == "NC"
    assert not table["pt/uner-bosque-train.tsv"].restricted


def test_files_missing_from_the_table_are_judged_by_name() -> None:
    assert not source_info("xx/wikiann-train.tsv", {}).misc_annotated
    assert not source_info("xx/uner-foo-train.tsv", {}).misc_annotated
    assert source_info("xx/conll02-train.tsv", {}).misc_annotated
