"""GET /entities: distinct entities across stored articles."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.gateway.routes.deps import AUTH_RESPONSES, GatewayDep
from services.gateway.schemas import EntityList
from services.gateway.security import require_read

router = APIRouter(
    prefix="/entities",
    tags=["entities"],
    dependencies=[Depends(require_read)],
    responses=AUTH_RESPONSES,
)


@router.get("", response_model=EntityList)
def list_entities(
    gateway: GatewayDep,
    label: Annotated[str | None, Query(pattern="^(PER|ORG|LOC|MISC)$")] = None,
    q: Annotated[str | None, Query(description="Prefix of the entity text")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> EntityList:
    """Distinct entities across stored articles, with how many articles mention each."""
    return EntityList(items=gateway.list_entities(label=label, q=q, limit=limit))
