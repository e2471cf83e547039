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


class NatashaNER:
    """Sets doc.ents from natasha's spans. Its models load once, when the component is made."""

    labels = LABELS

    def __init__(self) -> None:
        from natasha import NewsEmbedding, NewsNERTagger, Segmenter

        self.segmenter = Segmenter()
        self.tagger = NewsNERTagger(NewsEmbedding())

    def __call__(self, doc: Doc) -> Doc:
        from natasha import Doc as NatashaDoc

        found = NatashaDoc(doc.text)
        found.segment(self.segmenter)
        found.tag_ner(self.tagger)
        spans = []
        for span in found.spans:
            aligned = doc.char_span(span.start, span.stop, label=span.type, alignment_mode="expand")
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
