"""About the service rather than any one account: health, counts, ICE servers."""

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel

from ephem.api.deps import ActionsDep, Me
from ephem.core.ice import ice_servers_for
from ephem.core.settings import get_settings

router = APIRouter(prefix="/api")


class HealthOut(BaseModel):
    ok: bool = True


class StatsOut(BaseModel):
    online: int
    searching: int


class IceServersOut(BaseModel):
    ice_servers: list[dict]


@router.get("/health", response_model=HealthOut)
def health() -> HealthOut:
    return HealthOut()


@router.head("/health", include_in_schema=False)
def health_head() -> Response:
    return Response()  # load balancers' health checks use HEAD


@router.get("/stats", response_model=StatsOut)
async def stats(actions: ActionsDep) -> StatsOut:
    """How many accounts are online and how many are searching (an addition to the contract)."""
    return StatsOut(**await actions.stats())


@router.get("/ice-servers", response_model=IceServersOut)
def ice_servers(me: Me) -> IceServersOut:
    return IceServersOut(ice_servers=ice_servers_for(get_settings(), me.id))
