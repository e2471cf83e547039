"""A small in-memory stand-in for the Redis commands the metrics use (fakeredis is not a
dependency): strings, hashes, lists and sorted sets, pipelines, and a count of round trips.
`down = True` makes every round trip fail as an unreachable Redis does.

The status store's event script (shared/status.py PUBLISH_SCRIPT) is emulated in Python
(`published`): its stream entries land in `data[STREAM]` as (id, fields) pairs. The script
itself runs against real Redis in tests/integration/test_events.py."""

import fnmatch
from collections.abc import Callable, Iterator
from typing import Any

import redis

from shared.events import PUBLISHED_FIELD, should_publish


class FakeRedis:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.round_trips = 0
        self.scans = 0
        self.down = False

    # --- plumbing ----------------------------------------------------------------------

    def _trip(self) -> None:
        if self.down:
            raise redis.exceptions.ConnectionError("Redis is down (fake)")
        self.round_trips += 1

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        command = getattr(self, f"_{name}")

        def call(*args: Any, **kwargs: Any) -> Any:
            self._trip()
            return command(*args, **kwargs)

        return call

    def pipeline(self, transaction: bool = True) -> "FakePipeline":
        return FakePipeline(self)

    def _eval(self, script: str, numkeys: int, *keys_and_args: Any) -> Any:
        """Only the status store's event script (shared/status.py PUBLISH_SCRIPT)."""
        from shared.status import PUBLISH_SCRIPT

        assert script == PUBLISH_SCRIPT, "the fake runs only the status store's script"
        return self.published(list(keys_and_args[:numkeys]), list(keys_and_args[numkeys:]))

    def published(self, keys: list[str], args: list[Any]) -> str | None:
        """PUBLISH_SCRIPT: the event once per status and run, to the stream and the index."""
        status_key, stream, index, _trimmed = keys
        status, _min_id, _ttl, *pairs = (str(arg) for arg in args)
        done = "" if status == "queued" else self._hash(status_key).get(PUBLISHED_FIELD, "")
        if not should_publish(status, done):
            return None
        self._hash(status_key)[PUBLISHED_FIELD] = f"{done}|{status}|"
        entries = self.data.setdefault(stream, [])
        entry_id = f"{len(entries) + 1}-0"
        entries.append((entry_id, dict(zip(pairs[::2], pairs[1::2], strict=True))))
        self._rpush(index, entry_id)
        return entry_id

    def scan_iter(self, match: str = "*", count: int = 10) -> Iterator[str]:
        self._trip()
        self.scans += 1
        yield from [key for key in list(self.data) if fnmatch.fnmatchcase(key, match)]

    # --- commands (called through __getattr__ or a pipeline) ------------------------------

    def _set(self, key: str, value: Any, ex: int | None = None) -> bool:
        # As a client with decode_responses reads it back.
        self.data[key] = value.decode() if isinstance(value, bytes) else str(value)
        return True

    def _get(self, key: str) -> str | None:
        value = self.data.get(key)
        return None if value is None else str(value)

    def _hash(self, key: str) -> dict[str, str]:
        return self.data.setdefault(key, {})  # type: ignore[no-any-return]

    def _hincrby(self, key: str, field: str, amount: int = 1) -> int:
        value = int(self._hash(key).get(field, "0")) + amount
        self._hash(key)[field] = str(value)
        return value

    def _hincrbyfloat(self, key: str, field: str, amount: float = 1.0) -> float:
        value = float(self._hash(key).get(field, "0")) + amount
        self._hash(key)[field] = repr(value)
        return value

    def _hgetall(self, key: str) -> dict[str, str]:
        return dict(self.data.get(key, {}))

    def _hset(self, key: str, mapping: dict[str, Any]) -> int:
        self._hash(key).update({k: str(v) for k, v in mapping.items()})
        return len(mapping)

    def _hsetnx(self, key: str, field: str, value: Any) -> bool:
        if field in self._hash(key):
            return False
        self._hash(key)[field] = str(value)
        return True

    def _expire(self, key: str, seconds: int) -> bool:
        return key in self.data

    def _delete(self, *keys: str) -> int:
        return sum(1 for key in keys if self.data.pop(key, None) is not None)

    def _incr(self, key: str) -> int:
        self.data[key] = int(self.data.get(key, 0)) + 1
        return int(self.data[key])

    def _decr(self, key: str) -> int:
        self.data[key] = int(self.data.get(key, 0)) - 1
        return int(self.data[key])

    def _rpush(self, key: str, *values: str) -> int:
        items = self.data.setdefault(key, [])
        items.extend(values)
        return len(items)

    def _llen(self, key: str) -> int:
        return len(self.data.get(key, []))

    def _zset(self, key: str) -> dict[str, float]:
        return self.data.setdefault(key, {})  # type: ignore[no-any-return]

    def _zadd(self, key: str, mapping: dict[str, float]) -> int:
        new = sum(1 for member in mapping if member not in self._zset(key))
        self._zset(key).update(mapping)
        return new

    def _zrem(self, key: str, *members: str) -> int:
        return sum(1 for member in members if self._zset(key).pop(member, None) is not None)

    def _zcard(self, key: str) -> int:
        return len(self.data.get(key, {}))

    def _zrange(self, key: str, start: int, end: int, withscores: bool = False) -> list[Any]:
        ordered = sorted(self.data.get(key, {}).items(), key=lambda item: (item[1], item[0]))
        picked = ordered[start : None if end == -1 else end + 1]
        return picked if withscores else [member for member, _ in picked]

    def _zremrangebyscore(self, key: str, low: str | float, high: float) -> int:
        floor = float("-inf") if low == "-inf" else float(low)
        gone = [m for m, score in self._zset(key).items() if floor <= score <= high]
        for member in gone:
            del self._zset(key)[member]
        return len(gone)


class FakePipeline:
    """Queues commands; execute() is one round trip."""

    def __init__(self, client: FakeRedis) -> None:
        self.client = client
        self.queued: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Callable[..., "FakePipeline"]:
        if name.startswith("_"):
            raise AttributeError(name)
        command = getattr(self.client, f"_{name}")

        def queue(*args: Any, **kwargs: Any) -> FakePipeline:
            self.queued.append((command, args, kwargs))
            return self

        return queue

    def __len__(self) -> int:
        return len(self.queued)

    def execute(self) -> list[Any]:
        self.client._trip()
        results = [command(*args, **kwargs) for command, args, kwargs in self.queued]
        self.queued = []
        return results
