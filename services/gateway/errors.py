"""JSON errors that name the field and the problem, in FastAPI's own `detail` shape."""

import logging
from collections.abc import Mapping, Sequence

import redis.exceptions
from fastapi import Request
from fastapi.responses import JSONResponse
from kombu.exceptions import OperationalError as BrokerError
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError as DatabaseError

log = logging.getLogger(__name__)

# Redis, the broker or PostgreSQL unreachable: the client should retry, nothing was accepted.
BACKEND_ERRORS: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    BrokerError,
    DatabaseError,
)


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ApiErrors(BaseModel):
    """Every error answer: what went wrong, where (`loc`), and a machine-readable `type`."""

    detail: list[ErrorItem]


class ApiError(Exception):
    def __init__(
        self,
        status_code: int,
        loc: Sequence[str | int],
        msg: str,
        type_: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(msg)
        self.status_code = status_code
        self.detail = [{"loc": list(loc), "msg": msg, "type": type_}]
        self.headers = dict(headers or {})


async def api_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(
        status_code=exc.status_code, content={"detail": exc.detail}, headers=exc.headers
    )


async def backend_unavailable_handler(request: Request, exc: Exception) -> JSONResponse:
    log.error("backend unavailable", extra={"path": request.url.path, "error": repr(exc)})
    detail = [
        {
            "loc": [],
            "msg": "a backend (Redis or PostgreSQL) is unavailable; nothing was changed, retry",
            "type": "service_unavailable",
        }
    ]
    return JSONResponse(status_code=503, content={"detail": detail}, headers={"Retry-After": "5"})
