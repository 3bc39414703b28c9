"""Probe bodies."""

from typing import Literal

from pydantic import BaseModel


class Readiness(BaseModel):
    """Whether each dependency answers."""

    kafka: Literal["up", "down"]
    redis: Literal["up", "down"]
