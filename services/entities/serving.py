"""Which languages this entities worker serves, and what loading them costs (pure logic).

ENTITIES_LANGUAGES picks the languages one entities container runs a model for: `all`
(the catch-all: every language with a model except those routed to their own queue by
ENTITIES_ROUTED_LANGUAGES) or a comma list. Settings.entities_queues() says which queues
it consumes. A message in a language with a model that this worker does not serve fails
with LanguageNotServedError through the normal failure path (it can be re-driven); a
language with no model anywhere ("und" included) is skipped by extract_entities.
"""

import resource
from collections.abc import Mapping
from pathlib import Path

from services.entities.extract import ModelNotInstalledError
from shared.settings import Settings


class LanguageNotServedError(RuntimeError):
    """The article's language has a model, but not in this worker (ENTITIES_LANGUAGES)."""


def served_models(settings: Settings, models: Mapping[str, str] | None = None) -> dict[str, str]:
    """{lang: model} of the languages this worker serves, in spacy_models() order: the set
    the worker preloads. A listed language without a model fails the worker at start-up."""
    models = settings.spacy_models() if models is None else models
    served = settings.entities_served_languages(models)
    missing = sorted(served - set(models))
    if missing:
        raise ModelNotInstalledError(
            f"ENTITIES_LANGUAGES={settings.entities_languages} names {missing} but there is "
            f"no spaCy model for them (SPACY_MODEL_FR/EN, or a pipeline folder under "
            f"NER_MODELS_DIR={settings.ner_models_dir}); models: {sorted(models)}"
        )
    return {lang: model for lang, model in models.items() if lang in served}


def check_served(language: str, models: Mapping[str, str], settings: Settings) -> None:
    """Raise LanguageNotServedError when `language` has a model this worker does not run."""
    if language not in models or language in settings.entities_served_languages(models):
        return
    served = settings.entities_languages
    reason = f"{language} is not served by this worker (ENTITIES_LANGUAGES={served}"
    if settings.entities_serves_all() and language in settings.entities_routed():
        reason += f"; ENTITIES_ROUTED_LANGUAGES={settings.entities_routed_languages}"
    raise LanguageNotServedError(reason + ")")


def process_rss_bytes(status_file: Path = Path("/proc/self/status")) -> int:
    """Resident memory of this process now (VmRSS), or its peak where /proc is missing."""
    try:
        for line in status_file.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def mib(size_bytes: int) -> float:
    return round(size_bytes / 2**20, 1)
