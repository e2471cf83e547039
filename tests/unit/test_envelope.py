import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.envelope import (
    ArticleEnvelope,
    ArticleInput,
    EntitiesResult,
    Entity,
    FailureRecord,
)


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


def test_failure_record_round_trip_is_json_safe() -> None:
    record = FailureRecord(
        id="a" * 32,
        stage="language",
        reason="ValueError: ingest did not run",
        attempts=3,
        failed_at=datetime(2025, 2, 25, 9, 30, tzinfo=UTC),
        message=make().to_message(),
    )
    wire = json.loads(json.dumps(record.to_message()))
    assert set(wire) == {"id", "stage", "reason", "attempts", "failed_at", "message"}
    assert FailureRecord.model_validate(wire) == record
    assert ArticleEnvelope.from_message(wire["message"]) == make()


def test_failure_record_reads_older_and_partial_records() -> None:
    # As sent before the model existed: failed_at an isoformat string with an offset.
    old = FailureRecord.model_validate(
        {"id": "x", "stage": "ingest", "reason": "r", "failed_at": "2025-02-25T09:30:00+00:00"}
    )
    assert old.failed_at == datetime(2025, 2, 25, 9, 30, tzinfo=UTC)
    assert (old.attempts, old.message) == (None, {})
    # Never refused for its time or message: a lost record would lose the article.
    odd = FailureRecord.model_validate(
        {"id": "x", "stage": "ingest", "reason": "r", "failed_at": "hier", "message": None}
    )
    assert (odd.failed_at, odd.message) == (None, {})
    with pytest.raises(ValidationError):
        FailureRecord.model_validate({"id": "x", "reason": "r"})  # no stage
