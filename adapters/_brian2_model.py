"""Describe Brian2 objects for a trace: populations, projections, SI units, the tick grid and the refusals.

Shared by the live recorder and the post-hoc path of :mod:`snntrace.adapters.brian2`. Brian2 objects are read
through their public attributes and ``variables`` only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import brian2
import numpy as np
from brian2 import NeuronGroup, PoissonGroup, SpikeGeneratorGroup, Synapses, get_device, get_unit, prefs, second
from brian2.core.namespace import DEFAULT_CONSTANTS, DEFAULT_UNITS
from brian2.core.spikesource import SpikeSource
from brian2.core.variables import Constant
from brian2.devices.device import RuntimeDevice
from brian2.groups.subgroup import Subgroup
from brian2.units.fundamentalunits import Quantity
from brian2.utils.stringtools import get_identifiers

from snntrace.errors import SnntraceError
from snntrace.model import Population, Projection
from snntrace.writer import TraceWriter

#: Code generation targets the live recorder is verified with (``auto`` picks one of them).
RUNTIME_TARGETS = ("numpy", "cython", "auto")
_INPUT_TYPES = (PoissonGroup, SpikeGeneratorGroup)
# Relative tolerance when checking that a duration is a whole number of ticks (Brian's own Clock.epsilon_dt).
_GRID_TOLERANCE = 1e-4


class Brian2AdapterError(SnntraceError, ValueError):
    """The Brian2 adapter cannot record what it was asked to; the code says why (BR001-BR009)."""

    code = "BR001"


def fail(code: str, message: str, obj: Any = None) -> Brian2AdapterError:
    """Return an adapter error located at a Brian2 object (raise it)."""
    location = f"brian2:{obj.name}" if getattr(obj, "name", None) else None
    return Brian2AdapterError(message, code=code, location=location)


# -- the simulator set-up --------------------------------------------------------------------------------------------
def target_name() -> str:
    """Return the name of the configured code generation target (a string or a CodeObject class)."""
    target = prefs.codegen.target
    if isinstance(target, str):
        return target
    return str(getattr(target, "class_name", None) or getattr(target, "__name__", target))


def check_live_recording_possible() -> None:
    """Refuse live recording on a standalone device or an unverified code generation target."""
    device = get_device()
    if not isinstance(device, RuntimeDevice):
        raise Brian2AdapterError(
            f"live recording needs Brian2's runtime device, but the device is {type(device).__name__}: a standalone "
            "device runs the whole simulation in generated code, so nothing can drain its monitors while it runs. "
            "Record with SpikeMonitor/StateMonitor and convert after device.build() with write_trace()",
            code="BR001",
        )
    name = target_name()
    if name not in RUNTIME_TARGETS:
        raise Brian2AdapterError(
            f"live recording is supported with the numpy and cython code generation targets, not {name!r}; set "
            "prefs.codegen.target = 'numpy' (or 'cython'), or convert existing monitors with write_trace()",
            code="BR002",
        )


# -- groups ----------------------------------------------------------------------------------------------------------
def parent(group: Any) -> tuple[Any, int]:
    """Return the population a (sub)group belongs to and the index offset of its first neuron."""
    if isinstance(group, Subgroup):
        # Brian flattens nested subgroups: source is always the full group (a weak proxy to it) and start absolute.
        return group.source, int(group.start)
    return group, 0


def require_spike_source(group: Any, what: str, *, spiking: bool = False) -> None:
    """Refuse an object that is not a group of neurons (NeuronGroup, PoissonGroup, SpikeGeneratorGroup, slices)."""
    if not isinstance(group, SpikeSource) or isinstance(group, Synapses):
        raise fail(
            "BR003",
            f"{what}: {type(group).__name__} {getattr(group, 'name', group)!r} is not a group of neurons; give a "
            "NeuronGroup, PoissonGroup, SpikeGeneratorGroup or a slice of one",
            group,
        )
    if spiking and "spike" not in getattr(group, "events", {"spike": None}):
        raise fail(
            "BR004", f"{what}: {group.name!r} has no threshold, so it never spikes; give it threshold=...", group
        )


def require_variable(owner: Any, variable: str, what: str) -> None:
    """Refuse a variable the object does not have, listing the ones it has."""
    if variable not in owner.variables:
        known = (
            ", ".join(
                sorted(v for v in owner.variables if not v.startswith("_") and v not in ("t", "dt", "t_in_timesteps"))
            )
            or "none"
        )
        raise fail(
            "BR004",
            f"{what}: {type(owner).__name__} {owner.name!r} has no variable {variable!r}; it has: {known}",
            owner,
        )


def unit_of(owner: Any, variable: str) -> str:
    """Return the SI unit symbol of a variable ("1" when dimensionless)."""
    dim = owner.variables[variable].dim
    return "1" if dim.is_dimensionless else str(get_unit(dim))


def _parameters(group: Any, code: list[str], run_namespace: dict[str, Any] | None) -> dict[str, Any]:
    # External constants the model refers to (tau, Vt...): Brian resolves them from the group's namespace or the
    # namespace of the run() call, as it does for the simulation itself.
    identifiers = set(group.equations.identifiers) if getattr(group, "equations", None) is not None else set()
    for text in code:
        identifiers |= get_identifiers(text)
    # Unit names (mV, ms...) and Brian's constants (pi, e) are not parameters of the model.
    identifiers -= set(group.variables) | set(DEFAULT_UNITS) | set(DEFAULT_CONSTANTS)
    parameters: dict[str, Any] = {}
    for name in sorted(identifiers):
        try:
            resolved = group.resolve_all([name], run_namespace or {})[name]
        except Exception:  # noqa: BLE001, S112 - an unresolvable name is Brian's error to report when it runs, not ours
            continue
        if isinstance(resolved, Constant) and np.ndim(resolved.value) == 0:
            value = float(np.asarray(resolved.value))
            if np.isfinite(value):
                unit = "1" if resolved.dim.is_dimensionless else str(get_unit(resolved.dim))
                parameters[name] = {"value": value, "unit": unit}
    return parameters


def describe_population(group: Any, role: str | None, run_namespace: dict[str, Any] | None) -> Population:
    """Return the trace population of a Brian2 group: name, size, role and model text with parameters in SI."""
    model: dict[str, Any] = {"name": group.__class__.__name__}  # __class__: groups may be weak proxies
    if isinstance(group, NeuronGroup):
        model["equations"] = str(group.equations)
        code = []
        if "spike" in group.events:
            model["threshold"] = str(group.events["spike"])
            code.append(model["threshold"])
        if "spike" in group.event_codes:
            model["reset"] = str(group.event_codes["spike"])
            code.append(model["reset"])
        refractory = group._refractory
        if refractory is not False and refractory is not None:
            model["refractory"] = str(refractory)
            if isinstance(refractory, str):
                code.append(refractory)
        parameters = _parameters(group, code, run_namespace)
        if parameters:
            model["parameters"] = parameters
    if role is None and isinstance(group, _INPUT_TYPES):
        role = "input"
    return Population(name=group.name, size=len(group), role=role, model=model)


# -- synapses --------------------------------------------------------------------------------------------------------
def _writes(code: str, variable: str) -> bool:
    return re.search(rf"(^|[\n;])\s*{re.escape(variable)}\s*(=|\+=|-=|\*=|/=)(?!=)", code) is not None


def is_plastic(synapses: Synapses, variable: str) -> bool:
    """Return whether the synapses change ``variable`` while running (pathway code or differential equation)."""
    if any(_writes(pathway.code, variable) for pathway in synapses._pathways):
        return True
    for equations in (synapses.equations, getattr(synapses, "event_driven", None)):
        if equations is not None and variable in equations.diff_eq_names:
            return True
    return False


def describe_projection(synapses: Synapses, variable: str | None, learning_rule: str | None) -> Projection:
    """Return the trace projection of a Synapses object (endpoints resolved to their full groups)."""
    pre, _ = parent(synapses.source)
    post, _ = parent(synapses.target)
    plastic = is_plastic(synapses, variable) if variable is not None and variable in synapses.variables else None
    return Projection(
        name=synapses.name,
        pre=pre.name,
        post=post.name,
        synapses=len(synapses),
        plastic=plastic,
        learning_rule=learning_rule,
    )


def synapse_model(synapses: Synapses) -> dict[str, str]:
    """Return the model text of a Synapses object (equations and pathway code) for the trace annotations."""
    model = {"equations": str(synapses.equations)}
    if getattr(synapses, "event_driven", None) is not None:
        model["event_driven"] = str(synapses.event_driven)
    for pathway in synapses._pathways:
        model[f"on_{pathway.prepost}" if pathway.objname == pathway.prepost else f"on_{pathway.objname}"] = pathway.code
    return model


def weight_snapshot(synapses: Synapses, variable: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (pre, post, value) of every synapse, indices in the full pre/post groups, values in SI."""
    states = synapses.get_states(["i", "j", variable], units=False)
    _, pre_offset = parent(synapses.source)
    _, post_offset = parent(synapses.target)
    # Copies: the weights change in place as the run goes on, and a buffered snapshot must not change with them.
    pre = np.array(states["i"], dtype=np.int64) + pre_offset
    post = np.array(states["j"], dtype=np.int64) + post_offset
    return pre, post, np.array(states[variable], dtype=np.float64, copy=True)


# -- time -----------------------------------------------------------------------------------------------------------
def clock_time(clock: Any) -> float:
    """Return a clock's current time in seconds."""
    return float(clock.variables["t"].get_value()[0])


def clock_dt(clock: Any) -> float:
    """Return a clock's step in seconds."""
    return float(clock.variables["dt"].get_value()[0])


def seconds(value: Any, what: str) -> float:
    """Return a duration or time in seconds from a Brian quantity (or a plain number of seconds)."""
    if isinstance(value, Quantity):
        if value.dim != second.dim or np.ndim(value) != 0:
            raise Brian2AdapterError(f"{what} must be a time (e.g. 100*ms), got {value}", code="BR005")
        return float(np.asarray(value))
    value = float(value)
    if not np.isfinite(value):
        raise Brian2AdapterError(f"{what} must be a finite time, got {value}", code="BR005")
    return value


def whole_ticks(duration: float, resolution: float, what: str, obj: Any = None) -> int:
    """Return ``duration`` as a whole number of ticks, refusing one that falls between ticks."""
    ratio = duration / resolution
    steps = round(ratio)
    if steps < 1 or abs(ratio - steps) > _GRID_TOLERANCE * max(1.0, steps):
        raise fail(
            "BR005",
            f"{what} ({duration:g} s) is not a whole multiple of the trace's time resolution ({resolution:g} s); use "
            "durations and clocks that are multiples of the finest dt",
            obj,
        )
    return steps


# -- catalogue and samples -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    """One input sample presented from ``start`` to ``end`` (Brian times or seconds), with its label."""

    index: int
    start: Any
    end: Any
    label: int | None = None
    split: str = "train"
    prediction: int | None = None


class Catalogue:
    """Populations and projections in order of first mention, each described once."""

    def __init__(self, roles: dict[str, str] | None):
        self.roles = dict(roles or {})
        self.groups: dict[str, Any] = {}
        self.synapses: dict[str, tuple[Synapses, str | None, str | None]] = {}

    def add_group(self, group: Any) -> str:
        """Declare the full group of ``group``; return its population name."""
        full, _ = parent(group)
        self.groups.setdefault(full.name, full)
        return full.name

    def add_synapses(self, synapses: Synapses, variable: str | None = None, learning_rule: str | None = None) -> str:
        """Declare a projection (and its end groups); return its name."""
        self.add_group(synapses.source)
        self.add_group(synapses.target)
        known = self.synapses.get(synapses.name)
        if known is None or (known[1] is None and variable is not None):
            self.synapses[synapses.name] = (synapses, variable, learning_rule)
        return synapses.name

    def add(self, obj: Any) -> None:
        """Declare a group or Synapses object without recording it."""
        if isinstance(obj, Synapses):
            self.add_synapses(obj)
        else:
            require_spike_source(obj, "describe")
            self.add_group(obj)

    def populations(self, namespace: dict[str, Any] | None) -> list[Population]:
        """Return the declared populations (model constants resolved in ``namespace``)."""
        return [describe_population(g, self.roles.get(name), namespace) for name, g in self.groups.items()]

    def projections(self) -> list[Projection]:
        """Return the declared projections."""
        return [describe_projection(s, variable, rule) for s, variable, rule in self.synapses.values()]

    def annotations(self, extra: dict[str, Any] | None) -> dict[str, Any]:
        """Return the trace annotations: Brian2 version, device, target and the synapse models."""
        device = get_device()
        brian = {
            "version": brian2.__version__,
            "device": type(device).__name__,
            "codegen_target": target_name(),
        }
        if self.synapses:
            brian["synapses"] = {name: synapse_model(s) for name, (s, _, _) in self.synapses.items()}
        return {"brian2": brian, **dict(extra or {})}


def resolution_of(dts: Iterable[float], what: str) -> float:
    """Return the finest of these clock steps, refusing any step that is not a whole number of it."""
    dts = [float(d) for d in dts]
    resolution = min(dts)
    for dt in dts:
        whole_ticks(dt, resolution, f"{what}: a clock dt")
    return resolution


def write_samples(writer: TraceWriter, samples: Sequence[tuple[int, float, float, Any, str, Any]]) -> None:
    """Write (index, start s, end s, label, split, prediction) rows, one call per split."""
    for split in sorted({s[4] for s in samples}):
        rows = [s for s in samples if s[4] == split]
        predictions = [s[5] for s in rows]
        writer.write_samples(
            [s[0] for s in rows],
            writer.to_ticks([s[1] for s in rows]),
            writer.to_ticks([s[2] for s in rows]),
            label=np.array([s[3] for s in rows], dtype=object),
            split=split,
            prediction=None if all(p is None for p in predictions) else np.array(predictions, dtype=object),
        )
