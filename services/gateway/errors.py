"""JSON errors that name the field and the problem, in FastAPI's own `detail` shape."""

from collections.abc import Sequence

from fastapi import Request
from fastapi.responses import JSONResponse


class ApiError(Exception):
    def __init__(self, status_code: int, loc: Sequence[str | int], msg: str, type_: str) -> None:
        super().__init__(msg)
        self.status_code = status_code
        self.detail = [{"loc": list(loc), "msg": msg, "type": type_}]


async def api_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail})
