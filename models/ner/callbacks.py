"""spaCy registry entries the training config refers to (pass to `spacy train --code`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from spacy.util import registry

BeforeUpdate = Callable[[Any, dict[str, Any]], None]

# Last step the time-limit callback saw (training.before_update runs before every update).
PROGRESS: dict[str, int] = {}


class TimeLimitReached(Exception):
    """Raised from training.before_update once the time budget is spent. spaCy's loop then
    saves model-last and leaves model-best (the best dev score so far) as it is."""


def time_limit(max_minutes: float, clock: Callable[[], float] = time.monotonic) -> BeforeUpdate:
    """A before_update callback that stops training after `max_minutes` (0 or less: never)."""
    deadline = clock() + max_minutes * 60 if max_minutes > 0 else None

    def before_update(nlp: Any, info: dict[str, Any]) -> None:
        PROGRESS.update(step=int(info.get("step", 0)), epoch=int(info.get("epoch", 0)))
        if deadline is not None and clock() >= deadline:
            raise TimeLimitReached(f"{max_minutes:g} min spent at step {info.get('step')}")

    return before_update


@registry.callbacks("newsflow.ner_time_limit.v1")
def make_time_limit(max_minutes: float = 0) -> BeforeUpdate:
    return time_limit(max_minutes)
