"""Russian NER by natasha (slovnet's NewsNERTagger, MIT; its weights ship inside the wheel)
wrapped as a spaCy component, so the entities stage runs it like any other pipeline.

Configured by model name `natasha` (NER_MODELS=ru=natasha). The pipeline is a blank spaCy
`ru` (tokenizer only) plus this component as "ner": natasha finds PER/LOC/ORG spans with
character offsets, which are aligned to spaCy tokens (a span that cuts a token is widened to
it). It is named `ru_natasha_ner` at natasha's version.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import filter_spans

NATASHA = "natasha"
FACTORY = "newsflow_natasha_ner"
LABELS = ("PER", "LOC", "ORG")


class NatashaTagger:
    """natasha's own news NER: (start, stop, label) character spans of a text, labels in
    LABELS. Its models load once, when the tagger is made."""

    def __init__(self) -> None:
        from natasha import NewsEmbedding, NewsNERTagger, Segmenter

        self.segmenter = Segmenter()
        self.tagger = NewsNERTagger(NewsEmbedding())

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        from natasha import Doc as NatashaDoc

        found = NatashaDoc(text)
        found.segment(self.segmenter)
        found.tag_ner(self.tagger)
        return [(span.start, span.stop, span.type) for span in found.spans if span.type in LABELS]


class NatashaNER:
    """Sets doc.ents from natasha's spans, aligned to spaCy's tokens."""

    labels = LABELS

    def __init__(self) -> None:
        self.tagger = NatashaTagger()

    def __call__(self, doc: Doc) -> Doc:
        spans = []
        for start, stop, label in self.tagger.spans(doc.text):
            aligned = doc.char_span(start, stop, label=label, alignment_mode="expand")
            if aligned is not None:
                spans.append(aligned)
        doc.ents = filter_spans(spans)
        return doc


@Language.factory(FACTORY)
def make_natasha_ner(nlp: Language, name: str) -> NatashaNER:
    return NatashaNER()


def available() -> bool:
    try:
        metadata.version(NATASHA)
    except metadata.PackageNotFoundError:
        return False
    return True


def natasha_pipeline() -> Language:
    nlp = spacy.blank("ru")
    nlp.add_pipe(FACTORY, name="ner")
    meta: dict[str, Any] = nlp.meta
    meta["name"] = "natasha_ner"
    meta["version"] = metadata.version(NATASHA)
    return nlp
