"""Figures: several runs of one measurement and of its baseline, reduced to median and spread."""

from dataclasses import dataclass, field
from statistics import median
from typing import Any


@dataclass
class Series:
    """The runs of one measurement."""

    runs: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return median(self.runs) if self.runs else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "median": self.median,
            "min": min(self.runs, default=0.0),
            "max": max(self.runs, default=0.0),
            "runs": self.runs,
        }

    def spread(self) -> str:
        """The median with its min-max range, for the table."""
        low, high = min(self.runs, default=0.0), max(self.runs, default=0.0)
        return f"{_fmt(self.median)} ({_fmt(low)}-{_fmt(high)})"


#: A figure beside its baseline.
COMPARED = "compared"
#: A reference figure with no baseline: the broker's own ceiling.
CEILING = "ceiling"


@dataclass
class Figure:
    """One figure and its baseline, in the same unit (a CEILING has none)."""

    name: str
    unit: str
    measured: Series = field(default_factory=Series)
    baseline: Series = field(default_factory=Series)
    kind: str = COMPARED

    @property
    def ratio(self) -> float:
        """Measured over baseline (medians); above 1 means more of the unit."""
        return self.measured.median / self.baseline.median if self.baseline.median else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "unit": self.unit,
            "measured": self.measured.as_dict(),
            "baseline": self.baseline.as_dict(),
            "ratio": self.ratio,
        }


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"
