"""Liveness and readiness probes."""

import asyncio

from fastapi import APIRouter
from redis.exceptions import RedisError

from api.circuit import CircuitOpen
from api.deps import PublisherDep, RedisDep
from api.problems import Problem, problem_responses
from api.schemas.health import Readiness
from ostock.views.client import RedisClient

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live", summary="The process serves requests")
async def live() -> dict[str, str]:
    return {"status": "live"}


@router.get(
    "/ready",
    summary="Kafka and Redis answer",
    response_model=Readiness,
    responses=problem_responses(503),
)
async def ready(publisher: PublisherDep, redis: RedisDep) -> Readiness:
    """200 when both answer within their timeouts, else 503 naming what is down; one
    whose circuit is open (api.circuit) is down without being asked."""
    kafka_up, redis_up = await asyncio.gather(publisher.reachable(), _pings(redis))
    checks = Readiness(kafka="up" if kafka_up else "down", redis="up" if redis_up else "down")
    down = [name for name, state in checks.model_dump().items() if state == "down"]
    if down:
        raise Problem(503, f"Unavailable: {', '.join(down)}.", checks=checks.model_dump())
    return checks


async def _pings(redis: RedisClient) -> bool:
    try:
        return bool(await redis.ping())
    except (RedisError, CircuitOpen):
        return False
