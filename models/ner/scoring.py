"""Entity-level exact-span precision, recall and F1, per label and micro-averaged."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from models.ner.data import TokenSpan

CORE_LABELS: tuple[str, ...] = ("PER", "LOC", "ORG")


@dataclass(frozen=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "p": round(self.precision, 4),
            "r": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "support": self.tp + self.fn,
        }


def count(
    gold: Iterable[Sequence[TokenSpan]],
    predicted: Iterable[Sequence[TokenSpan]],
    labels: Sequence[str],
) -> dict[str, Counts]:
    """Per-label counts over paired documents; spans of other labels are ignored both sides."""
    totals = {label: Counts() for label in labels}
    for gold_doc, pred_doc in zip(gold, predicted, strict=True):
        for label in labels:
            g = {s for s in gold_doc if s[2] == label}
            p = {s for s in pred_doc if s[2] == label}
            totals[label] += Counts(len(g & p), len(p - g), len(g - p))
    return totals


def micro(counts: dict[str, Counts], labels: Sequence[str]) -> Counts:
    total = Counts()
    for label in labels:
        total += counts[label]
    return total


def score(
    gold: Sequence[Sequence[TokenSpan]],
    predicted: Sequence[Sequence[TokenSpan]],
    labels: Sequence[str],
) -> dict[str, object]:
    """per_label, micro over `labels`, and micro over PER/LOC/ORG (micro_core)."""
    counts = count(gold, predicted, labels)
    core = [label for label in CORE_LABELS if label in labels]
    return {
        "labels": list(labels),
        "per_label": {label: c.as_dict() for label, c in counts.items()},
        "micro": micro(counts, labels).as_dict(),
        "micro_core": micro(counts, core).as_dict(),
    }


def format_scores(name: str, result: dict[str, object]) -> str:
    """A small fixed-width table, one row per label then the two micro rows."""
    lines = [f"{name}", f"  {'label':<26}{'P':>7}{'R':>7}{'F1':>7}{'support':>9}"]
    per_label = result["per_label"]
    assert isinstance(per_label, dict)
    rows = [*per_label.items()]
    rows.append((f"micro ({'/'.join(result['labels'])})", result["micro"]))  # type: ignore[arg-type]
    rows.append(("micro (PER/LOC/ORG)", result["micro_core"]))
    for label, s in rows:
        lines.append(f"  {label:<26}{s['p']:>7.3f}{s['r']:>7.3f}{s['f1']:>7.3f}{s['support']:>9}")
    return "\n".join(lines)
