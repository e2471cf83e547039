import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.envelope import ArticleEnvelope, ArticleInput, EntitiesResult, Entity


def make() -> ArticleEnvelope:
    return ArticleEnvelope(
        id="a" * 32,
        received_at=datetime(2025, 2, 25, tzinfo=UTC),
        input=ArticleInput(text="Bonjour", published_at=datetime(2025, 2, 25, tzinfo=UTC)),
        entities=EntitiesResult(
            status="extracted",
            entities=[Entity(text="CNN", label="ORG", model_label="ORG", start=0, end=3)],
        ),
    )


def test_message_round_trip_is_json_safe() -> None:
    envelope = make()
    message = json.loads(json.dumps(envelope.to_message()))
    assert ArticleEnvelope.from_message(message) == envelope
    assert message["schema_version"] == 1


def test_unknown_schema_version_is_refused() -> None:
    message = make().to_message()
    message["schema_version"] = 2
    with pytest.raises(ValidationError):
        ArticleEnvelope.from_message(message)


def test_entity_label_is_one_of_four() -> None:
    with pytest.raises(ValidationError):
        Entity(text="x", label="GPE", model_label="GPE", start=0, end=1)  # type: ignore[arg-type]
