"""View models of the report: plain dataclasses the template renders without computing anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from snntrace.reader import Trace


@dataclass(frozen=True)
class Fact:
    """One line of an information card."""

    label: str
    value: str


@dataclass(frozen=True)
class Chart:
    """One Vega-Lite spec and the page element it is drawn into."""

    key: str  # element id of the chart container; also the key of the view in window.snntraceViews
    title: str
    spec: dict[str, Any]
    follows_window: bool = True  # the page sets this spec's ``win`` parameter from the overview brush


@dataclass(frozen=True)
class Table:
    """A small table of text cells (e.g. check results), rendered escaped as an HTML table."""

    columns: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Section:
    """One report module: a question, its facts, charts and notes about what it could not show."""

    key: str
    title: str
    question: str
    facts: list[Fact] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    table: Table | None = None


@dataclass(frozen=True)
class Omission:
    """A module left out because the trace does not record what it needs."""

    title: str
    reason: str


@dataclass(frozen=True)
class Page:
    """Everything the template needs, already computed and formatted."""

    title: str
    version: str
    spec_version: str
    sections: list[Section]
    omissions: list[Omission]
    page_data: dict[str, Any]
    static_png: str | None
    static_note: str | None
    bundle: str
    script: str
    style: str
    csp: str


@dataclass
class Plan:
    """Sizes that keep the page under its byte budget; relaxed step by step when the page is too large."""

    bin_ticks: int
    raw_spikes: int = 100_000  # embed raw spikes for the raster while they are at most this many rows
    cells: int = 40_000  # rows allowed per dense time x neuron dataset
    receptive_fields: int = 16  # post neurons whose final weights are drawn
    scrub_cells: int = 16_000  # rows of the snapshot scrubber (neurons x snapshots x pre size)
    level: int = 0

    def relax(self) -> bool:
        """Shrink the next attempt; return False when nothing is left to shrink."""
        self.level += 1
        if self.raw_spikes:
            self.raw_spikes = 0
            return True
        if self.level > 13:  # bins double from level 3 on (reports/__init__.py): up to 11 times
            return False
        self.cells = max(500, self.cells // 2)
        self.receptive_fields = max(1, self.receptive_fields // 2)
        self.scrub_cells = max(1_000, self.scrub_cells // 2)
        return True


@dataclass
class Context:
    """What every module reads: the trace, the shown populations, time binning, the size plan and the brush."""

    trace: Trace
    populations: list[int]
    plan: Plan
    window: tuple[float, float]
    cache: dict[Any, Any] = field(default_factory=dict)
    base_bin: int = 0  # finest bin aggregated from the spikes; coarser ones are re-aggregated from it

    def __post_init__(self) -> None:
        if not self.base_bin:
            self.base_bin = self.plan.bin_ticks

    @property
    def bin_ticks(self) -> int:
        """Return the overview's bin width in ticks."""
        return self.plan.bin_ticks

    @property
    def duration(self) -> float:
        """Return the run length in seconds (at least one tick)."""
        return max(self.trace.duration_ticks, 1) * self.trace.resolution

    def cached(self, key: Any, compute):
        """Return ``compute()`` once per key (aggregates are reused by modules and by later size attempts)."""
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]
