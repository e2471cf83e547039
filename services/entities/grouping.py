"""Mentions of one document grouped into entities: canonical name, count, salience.

Mentions with the same label and the same folded surface form ("TRUMP", "Trump")
are one entity; a PER mention that is the last part of a longer PER name
("Poutine", "Vladimir Poutine") joins that name's entity. The canonical name is
the longest form (ties: the most frequent, then the first seen), with words broken
across lines joined.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from services.entities.postprocess import fold, surname_parts, unbreak
from shared.envelope import Entity, EntityGroup, Span


def group_entities(entities: Sequence[Entity]) -> list[EntityGroup]:
    """Groups ordered by mention count (desc), then first position."""
    if not entities:
        return []
    keys: list[tuple[str, str]] = [(str(e.label), fold(e.text)) for e in entities]

    # A PER surname joins the longest PER name it ends; ambiguous surnames
    # (two different full names end with it) stay on their own.
    owners: dict[str, set[tuple[str, str]]] = {}
    for label, folded in set(keys):
        if label == "PER":
            for part in surname_parts(folded):
                owners.setdefault(part, set()).add((label, folded))

    def root(key: tuple[str, str]) -> tuple[str, str]:
        label, folded = key
        if label == "PER" and folded in owners:
            candidates = owners[folded]
            longest = max(candidates, key=lambda k: (len(k[1]), k[1]))
            # Unambiguous: every candidate is a part of the longest one (or is it).
            if all(c == longest or c[1] in surname_parts(longest[1]) for c in candidates):
                return longest
        return key

    members: dict[tuple[str, str], list[int]] = {}
    for index, key in enumerate(keys):
        members.setdefault(root(key), []).append(index)

    total = len(entities)
    groups: list[EntityGroup] = []
    for (label, _), indexes in members.items():
        forms = Counter(entities[i].text for i in indexes)
        first_index = {entities[i].text: n for n, i in reversed(list(enumerate(indexes)))}
        name = min(
            forms,
            key=lambda form: (
                -len(form),
                form.isupper(),  # "Vladimir Poutine" before "VLADIMIR POUTINE"
                -forms[form],
                first_index[form],
            ),
        )
        mentions = sorted(
            (Span(start=entities[i].start, end=entities[i].end) for i in indexes),
            key=lambda s: s.start,
        )
        groups.append(
            EntityGroup(
                name=unbreak(name),  # the name as a reader writes it, not as typeset
                label=label,
                count=len(indexes),
                salience=round(len(indexes) / total, 4),
                first_start=mentions[0].start,
                mentions=mentions,
            )
        )
    groups.sort(key=lambda g: (-g.count, g.first_start))
    return groups


__all__ = ["group_entities"]
