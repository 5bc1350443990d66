"""Parameters of a simulation run: one validated dataclass, loadable from JSON or TOML.

Times are in milliseconds, rates in Hz; the membrane potential and thresholds are dimensionless (one input spike
through a synapse of weight w adds w to the potential). Defaults follow the seed work (Diehl & Cook 2015 timing,
N2S3 simplified-STDP constants) with the firing threshold scaled to Fashion-MNIST's input.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from snntrace.errors import UsageError

DATASETS = ("bundled", "fashion-mnist", "idx")
STRATEGIES = ("none", "static", "pp", "pp-dswr")
SCHEDULES = ("batch", "epoch")
INPUT_RECORDING = ("none", "sampled", "all")


@dataclass
class SimConfig:
    """Everything that defines a run; :meth:`validate` checks it and names valid alternatives on error."""

    # data
    dataset: str = "bundled"
    data_dir: str | None = None
    train_samples: int | None = None  # None: the whole training set
    test_samples: int | None = None  # None: the whole test set
    eval_samples: int = 1000  # test images scored after each batch (the final accuracy uses all test samples)
    # network: neurons per trained layer, input first (a stack when more than one)
    neurons: tuple[int, ...] = (100,)
    # input encoding
    max_rate: float = 63.75
    presentation: float = 350.0
    rest: float = 150.0
    boost_rate: float = 32.0  # added to max_rate when the output emits fewer than min_spikes spikes
    min_spikes: int = 5
    max_boosts: int = 4
    # neurons
    tau_m: float = 100.0
    v_thresh: float = 20.0
    refractory: float = 5.0
    inhibition: float = 10.0
    theta_plus: float = 0.2
    tau_theta: float = 1e7
    # simplified STDP
    t_stdp: float = 50.0
    a_plus: float = 0.01
    a_minus: float = 0.005
    b_plus: float = 1.5
    b_minus: float = 2.5
    w_init_mean: float = 0.5
    w_init_std: float = 0.25
    # training
    epochs: int = 1
    batches: int = 6  # per epoch
    label_samples: int = 10000  # most recent training samples used to label the neurons
    seed: int = 0
    # compression
    compression: str = "none"
    schedule: str = "batch"
    alpha: float = 0.05
    beta: float = 0.1
    theta_max: float = 0.3
    static_threshold: float = 0.2
    # recording
    record_input: str = "sampled"
    input_every: int = 100  # with record_input="sampled": input spikes of every n-th training sample
    v_neurons: int = 10  # membrane potential of the first n neurons of each trained layer
    v_every: int = 10  # ... during every n-th training sample
    v_interval: float = 5.0  # ... sampled every v_interval ms
    activity_every: int = 200  # weight_updates / mean_abs_dw every n training samples
    test_in_trace: bool = True  # present the final test pass on the trace timeline (spikes, samples)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.neurons, (int, float, str)):
            self.neurons = parse_neurons(self.neurons)
        else:
            self.neurons = tuple(int(n) for n in self.neurons)

    @property
    def period(self) -> float:
        """Return the time taken by one presentation plus the rest after it, in ms."""
        return self.presentation + self.rest

    def replace(self, **changes: Any) -> SimConfig:
        """Return a validated copy with some fields changed."""
        return dataclasses.replace(self, **changes).validate()

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as JSON-compatible values."""
        out = dataclasses.asdict(self)
        out["neurons"] = list(self.neurons)
        return out

    def validate(self) -> SimConfig:
        """Check every field; raise :class:`UsageError` naming the field and the accepted values."""
        _choice("dataset", self.dataset, DATASETS)
        _choice("compression", self.compression, STRATEGIES)
        _choice("schedule", self.schedule, SCHEDULES)
        _choice("record_input", self.record_input, INPUT_RECORDING)
        if self.dataset == "idx" and not self.data_dir:
            raise UsageError("dataset 'idx' needs data_dir (--data-dir), a folder of IDX files", location="data_dir")
        if not self.neurons or any(n < 1 for n in self.neurons):
            raise UsageError(f"neurons must be positive layer sizes, got {list(self.neurons)}", location="neurons")
        for name in ("train_samples", "test_samples"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UsageError(f"{name} must be at least 1 (or unset for the whole set), got {value}", location=name)
        for name in ("epochs", "batches", "label_samples", "input_every", "v_every", "activity_every", "eval_samples"):
            _positive(name, getattr(self, name), integer=True)
        for name in ("min_spikes", "max_boosts", "v_neurons"):
            if int(getattr(self, name)) < 0:
                raise UsageError(f"{name} must be 0 or more, got {getattr(self, name)}", location=name)
        for name in ("max_rate", "presentation", "tau_m", "v_thresh", "tau_theta", "t_stdp", "v_interval"):
            _positive(name, getattr(self, name))
        for name in ("rest", "boost_rate", "refractory", "inhibition", "theta_plus", "a_plus", "a_minus", "w_init_std"):
            _non_negative(name, getattr(self, name))
        for name in ("b_plus", "b_minus", "alpha", "beta"):
            _finite(name, getattr(self, name))
        for name in ("w_init_mean", "theta_max", "static_threshold"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 <= value <= 1):
                raise UsageError(f"{name} must be a weight between 0 and 1, got {value!r}", location=name)
        if self.alpha < 0 or self.beta < 0:
            raise UsageError("alpha and beta must be 0 or more", location="alpha" if self.alpha < 0 else "beta")
        return self


def parse_neurons(value: float | str) -> tuple[int, ...]:
    """Parse layer sizes given as ``100`` or ``"400,100"``."""
    try:
        if isinstance(value, str):
            return tuple(int(part) for part in value.replace(" ", "").split(",") if part)
        return (int(value),)
    except ValueError:
        raise UsageError(f"neurons must be an integer or comma-separated integers such as 400,100, got {value!r}", location="neurons") from None


def load_config(path: str | Path | None = None, **overrides: Any) -> SimConfig:
    """Read a JSON or TOML configuration file (keys are :class:`SimConfig` fields), apply overrides, validate."""
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read the configuration: {exc.strerror}", location=str(path)) from exc
        is_toml = path.suffix.lower() == ".toml"
        try:
            if is_toml:
                try:
                    import tomllib
                except ImportError:  # Python 3.10
                    raise UsageError("TOML configurations need Python 3.11 or later; use JSON", location=str(path)) from None
                values = tomllib.loads(text)
            else:
                values = json.loads(text)
        except ValueError as exc:  # JSONDecodeError and TOMLDecodeError are ValueErrors
            if isinstance(exc, UsageError):
                raise
            raise UsageError(f"the configuration is not valid {'TOML' if is_toml else 'JSON'}: {exc}", location=str(path)) from exc
        if not isinstance(values, dict):
            raise UsageError("the configuration must be an object of parameters", location=str(path))
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(SimConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise UsageError(f"unknown parameter(s) {', '.join(unknown)}; valid: {', '.join(sorted(known - {'extra'}))}", location=unknown[0])
    try:
        return SimConfig(**values).validate()
    except UsageError:
        raise
    except (TypeError, ValueError) as exc:  # e.g. a string where a number belongs
        raise UsageError(f"bad parameter value: {exc}") from exc


def _choice(name: str, value: Any, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise UsageError(f"{name} must be one of {', '.join(valid)}; got {value!r}", location=name)


def _finite(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UsageError(f"{name} must be a finite number, got {value!r}", location=name)


def _positive(name: str, value: Any, *, integer: bool = False) -> None:
    _finite(name, value)
    if value <= 0 or (integer and int(value) != value):
        raise UsageError(f"{name} must be a positive {'integer' if integer else 'number'}, got {value!r}", location=name)


def _non_negative(name: str, value: Any) -> None:
    _finite(name, value)
    if value < 0:
        raise UsageError(f"{name} must be 0 or more, got {value!r}", location=name)
