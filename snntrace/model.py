"""Plain descriptions of what a trace is about: populations, projections, dataset (manifest entries)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Population:
    """A group of neurons; ``size`` neurons indexed 0..size-1, optionally laid out in ``shape``."""

    name: str
    size: int
    shape: tuple[int, ...] | None = None
    role: str | None = None  # "input", "hidden" or "output"
    model: dict[str, Any] | None = None  # {"name": ..., "equations": ..., "parameters": {...}}
    id: int | None = None

    def to_manifest(self, id_: int) -> dict[str, Any]:
        """Return the manifest entry of this population under id ``id_``."""
        entry: dict[str, Any] = {"id": id_, "name": self.name, "size": int(self.size)}
        if self.shape is not None:
            entry["shape"] = [int(s) for s in self.shape]
        if self.role is not None:
            entry["role"] = self.role
        if self.model is not None:
            entry["model"] = self.model
        return entry


@dataclass(frozen=True)
class Projection:
    """Synapses from population ``pre`` to ``post`` (names or ids)."""

    name: str
    pre: str | int
    post: str | int
    synapses: int | None = None
    plastic: bool | None = None
    learning_rule: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class Dataset:
    """The input data set the network was shown; ``classes`` name the label indices."""

    name: str
    classes: tuple[str, ...] | None = None
    source: str | None = None
    license: str | None = None

    def to_manifest(self) -> dict[str, Any]:
        """Return the manifest entry of this dataset."""
        entry: dict[str, Any] = {"name": self.name}
        if self.classes is not None:
            entry["classes"] = [str(c) for c in self.classes]
        if self.source is not None:
            entry["source"] = self.source
        if self.license is not None:
            entry["license"] = self.license
        return entry


@dataclass(frozen=True)
class Software:
    """A program and its version (the simulator, or the producer that wrote the trace)."""

    name: str
    version: str = ""

    def to_manifest(self) -> dict[str, str]:
        """Return the manifest entry."""
        return {"name": self.name, "version": str(self.version)}


@dataclass
class Recorded:
    """What a producer recorded, so that "not recorded" differs from "recorded, nothing happened"."""

    spikes: set[int] = field(default_factory=set)
    states: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    weights: dict[int, dict[str, Any]] = field(default_factory=dict)
    samples: bool = False
    metrics: set[str] = field(default_factory=set)
    events: set[str] = field(default_factory=set)

    def to_manifest(self) -> dict[str, Any]:
        """Return the manifest ``recorded`` object (deterministic order)."""
        out: dict[str, Any] = {}
        if self.spikes:
            out["spikes"] = sorted(self.spikes)
        if self.states:
            out["states"] = [self.states[k] for k in sorted(self.states)]
        if self.weights:
            out["weights"] = [self.weights[k] for k in sorted(self.weights)]
        if self.samples:
            out["samples"] = True
        if self.metrics:
            out["metrics"] = sorted(self.metrics)
        if self.events:
            out["events"] = sorted(self.events)
        return out
