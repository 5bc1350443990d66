"""Describe a built Nengo model as snntrace populations and projections, with stable names for unlabelled objects.

Nengo objects map to trace entries as follows (``docs/adapters/nengo.md`` explains why):

- an ``Ensemble`` is a population of ``n_neurons`` neurons (its neuron type becomes the population model);
- a ``Node`` is a population of ``size_out`` value dimensions (role ``input`` when it takes no input);
- a ``Connection`` is a projection between the populations of its pre and post objects;
- a connection whose weight matrix is *not* neuron-to-neuron (decoders of a decoded connection, or the transform of a
  connection leaving a node) gets a second projection ``<connection>.decoders`` (``.transform`` from a node) into a
  *dimension population* ``<connection>.value`` with one member per output dimension, so that ``pre``/``post`` of every
  weight row are indices into real populations.
"""

from __future__ import annotations

import inspect
import numbers
from dataclasses import dataclass

import nengo
import numpy as np
from nengo.builder import Model
from nengo.connection import LearningRule
from nengo.ensemble import Neurons
from nengo.transforms import Dense, NoTransform

from snntrace.errors import SnntraceError
from snntrace.model import Population, Projection


class NengoAdapterError(SnntraceError, ValueError):
    """A Nengo model, probe or argument the adapter cannot turn into a trace (codes NG001-NG006)."""

    code = "NG001"


def _base(obj):
    """Return the object a view (``ens[0]``, ``ens.neurons[:5]``) refers to."""
    return obj.obj if isinstance(obj, nengo.base.ObjView) else obj


def _view_indices(obj, size: int) -> np.ndarray:
    """Return the indices a view selects out of ``size`` (all of them for a plain object)."""
    indices = np.arange(size)
    if isinstance(obj, nengo.base.ObjView):
        return indices[obj.slice]
    return indices


def _jsonable(value):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, nengo.neurons.NeuronType):
        return repr(value)
    return None


def neuron_model(neuron_type: nengo.neurons.NeuronType) -> dict:
    """Return the population ``model`` entry of a Nengo neuron type: its class name and scalar parameters."""
    parameters = {}
    for name, param in inspect.getmembers(type(neuron_type)):
        if isinstance(param, nengo.params.Parameter) and name != "initial_state":
            value = _jsonable(getattr(neuron_type, name))
            if value is not None:
                parameters[name] = value
    return {"name": type(neuron_type).__name__, "parameters": parameters}


@dataclass(frozen=True)
class WeightLayout:
    """Where the rows and columns of a connection's ``weights`` signal go in the trace."""

    projection: str
    pre: np.ndarray  # population index of each column (or of each element, when elementwise)
    post: np.ndarray  # population index of each row
    elementwise: bool  # a scalar or vector transform: element i joins pre[i] to post[i]


class NetworkMap:
    """Names, populations and projections of the network a Nengo ``Simulator`` was built from."""

    def __init__(self, model: Model):
        if model.toplevel is None:
            raise NengoAdapterError(
                "the simulator was built from a Model without a Network; nothing to describe", code="NG006"
            )
        self.model = model
        self.names: dict[object, str] = {}
        self._used: set[str] = set()
        self._connections: list[nengo.Connection] = []
        self._walk(model.toplevel, "")
        self._name_connections()
        self._value_populations: dict[nengo.Connection, str] = {}
        self._weight_projections: dict[nengo.Connection, str] = {}

    # -- names ---------------------------------------------------------------------------------------------------------
    def _unique(self, name: str) -> str:
        candidate, k = name, 2
        while candidate in self._used:
            candidate, k = f"{name}#{k}", k + 1
        self._used.add(candidate)
        return candidate

    def _walk(self, network: nengo.Network, prefix: str) -> None:
        # Position inside the parent network is stable for a model built by the same code, unlike ids or hashes.
        for kind, objects in (("ensemble", network.ensembles), ("node", network.nodes)):
            for i, obj in enumerate(objects):
                self.names[obj] = self._unique(prefix + (obj.label or f"{kind}{i}"))
        for i, sub in enumerate(network.networks):
            self._walk(sub, prefix + (sub.label or f"network{i}") + ".")
        self._connections.extend(network.connections)

    def _name_connections(self) -> None:
        pending = list(self._connections)
        while pending:
            # A connection into a learning rule is named after the learned connection, so name those later.
            ready = [
                c
                for c in pending
                if not isinstance(_base(c.post), LearningRule) or _base(c.post).connection in self.names
            ]
            if not ready:
                raise NengoAdapterError("connections into learning rules form a cycle", code="NG006")
            for conn in ready:
                self.names[conn] = self._unique(
                    conn.label or f"{self.object_name(conn.pre)}->{self.object_name(conn.post)}"
                )
                for rule in self.learning_rules(conn):
                    self.names[rule] = f"{self.names[conn]}.{type(rule.learning_rule_type).__name__}"
            pending = [c for c in pending if c not in self.names]

    @staticmethod
    def learning_rules(conn: nengo.Connection) -> list[LearningRule]:
        """Return the learning rules of a connection as a list."""
        rules = conn.learning_rule
        if rules is None:
            return []
        if isinstance(rules, LearningRule):
            return [rules]
        return list(rules.values()) if isinstance(rules, dict) else list(rules)

    def object_name(self, obj) -> str:
        """Return the trace name of a Nengo object (views and ``Neurons`` take their base object's name)."""
        obj = _base(obj)
        if isinstance(obj, Neurons):
            return f"{self.names[obj.ensemble]}.neurons"
        return self.names[obj]

    def population_of(self, obj) -> str:
        """Return the population an ensemble, its neurons, a node, or a learning rule's target belongs to."""
        obj = _base(obj)
        if isinstance(obj, Neurons):
            return self.names[obj.ensemble]
        if isinstance(obj, LearningRule):
            return self.population_of(obj.connection.post_obj)
        return self.names[obj]

    # -- trace entries ---------------------------------------------------------------------------------------------------
    def populations(self) -> list[Population]:
        """Return one population per ensemble and node, then the dimension populations of decoded weight probes."""
        out = []
        inputs = {_base(c.post) for c in self._connections}
        for obj, name in self.names.items():
            if isinstance(obj, nengo.Ensemble):
                out.append(Population(name, obj.n_neurons, model=neuron_model(obj.neuron_type)))
            elif isinstance(obj, nengo.Node):
                role = "input" if obj.size_in == 0 and obj not in inputs and obj.size_out > 0 else None
                out.append(
                    Population(
                        name, obj.size_out, role=role, model={"name": "Node", "parameters": {"size_in": obj.size_in}}
                    )
                )
        for conn, name in self._value_populations.items():
            out.append(
                Population(
                    name,
                    conn.size_out,
                    model={
                        "name": "Dimensions",
                        "parameters": {"connection": self.names[conn], "post": self.object_name(conn.post)},
                    },
                )
            )
        return out

    def projections(self) -> list[Projection]:
        """Return one projection per connection, then the decoder projections of decoded weight probes."""
        out = []
        for conn in self._connections:
            rules = self.learning_rules(conn)
            synapses = None
            if self._neural_pre(conn) and self._neural_post(conn):
                built = self.model.params[conn].weights
                if built is not None and np.ndim(built) == 2:
                    synapses = int(np.size(built))
            out.append(
                Projection(
                    self.names[conn],
                    self.population_of(conn.pre),
                    self.population_of(conn.post),
                    synapses=synapses,
                    plastic=bool(rules),
                    learning_rule=", ".join(type(r.learning_rule_type).__name__ for r in rules) or None,
                )
            )
        for conn, name in self._weight_projections.items():
            rules = self.learning_rules(conn)
            out.append(
                Projection(
                    name,
                    self.population_of(conn.pre),
                    self._value_populations[conn],
                    plastic=bool(rules),
                    learning_rule=", ".join(type(r.learning_rule_type).__name__ for r in rules) or None,
                )
            )
        return out

    # -- weights -------------------------------------------------------------------------------------------------------
    @staticmethod
    def _neural_pre(conn: nengo.Connection) -> bool:
        pre = conn.pre_obj
        return isinstance(pre, Neurons) or (
            isinstance(pre, nengo.Ensemble) and not isinstance(pre.neuron_type, nengo.Direct)
        )

    @staticmethod
    def _neural_post(conn: nengo.Connection) -> bool:
        post = conn.post_obj
        return isinstance(post, Neurons) or (
            isinstance(post, nengo.Ensemble) and conn.solver.weights and isinstance(conn.pre_obj, nengo.Ensemble)
        )

    def weight_layout(self, conn: nengo.Connection, shape: tuple[int, ...], probe_name: str) -> WeightLayout:
        """Map the rows and columns of ``Probe(conn, "weights")`` to pre/post indices of trace populations.

        Registers the dimension population and decoder projection when the rows are decoded dimensions; call it
        before :meth:`populations` and :meth:`projections`.
        """
        where = f"probe {probe_name!r} on {self.names[conn]!r}"
        if not isinstance(conn.transform, (Dense, NoTransform)):
            raise NengoAdapterError(
                f"{where}: weights of a {type(conn.transform).__name__} transform have no synapse layout; "
                "only Dense and NoTransform connections can be recorded (or ignore this probe)",
                code="NG003",
            )
        pre = conn.pre_obj
        if isinstance(pre, Neurons):
            columns = _view_indices(conn.pre, pre.ensemble.n_neurons)
        elif self._neural_pre(conn):
            columns = np.arange(pre.n_neurons)  # decoders read every neuron; pre slices select decoded dimensions
        elif conn.function is None and isinstance(pre, nengo.Node):
            columns = _view_indices(conn.pre, pre.size_out)
        else:
            raise NengoAdapterError(
                f"{where}: the columns are outputs of a function of {self.object_name(conn.pre)!r}, "
                "which is not a population in the trace (or ignore this probe)",
                code="NG003",
            )
        post = conn.post_obj
        if isinstance(post, Neurons):
            rows, projection = _view_indices(conn.post, post.ensemble.n_neurons), self.names[conn]
        elif self._neural_post(conn):
            rows, projection = np.arange(post.n_neurons), self.names[conn]
        else:
            rows = np.arange(conn.size_out)
            if conn not in self._weight_projections:
                suffix = "decoders" if self._neural_pre(conn) else "transform"
                self._value_populations[conn] = self._unique(f"{self.names[conn]}.value")
                self._weight_projections[conn] = self._unique(f"{self.names[conn]}.{suffix}")
            projection = self._weight_projections[conn]
        elementwise = len(shape) < 2
        expected = (len(rows),) if elementwise else (len(rows), len(columns))
        if (elementwise and len(rows) != len(columns)) or (shape and tuple(shape) != expected):
            raise NengoAdapterError(
                f"{where}: weights of shape {tuple(shape)} do not match {len(rows)} post x {len(columns)} pre indices",
                code="NG003",
            )
        return WeightLayout(projection, columns, rows, elementwise)
