"""Train a network with STDP on images, compress it batch by batch, measure it, and record everything in a trace."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from snntrace.model import Dataset
from snntrace.sim.compression import Compressor
from snntrace.sim.config import SimConfig
from snntrace.sim.datasets import ImageSet, load_dataset
from snntrace.sim.labels import assign_labels, predict
from snntrace.sim.network import Network
from snntrace.sim.recording import Recorder, layer_names

Progress = Callable[[int], None]


@dataclass
class BatchResult:
    """Measurements taken at the end of one batch (after its compression step)."""

    epoch: int
    batch: int
    samples_seen: int
    accuracy: float
    compression_rate: list[float]
    threshold: list[float]
    remaining_synapses: list[int]
    firing_rate: list[float]  # Hz per trained layer, over the batch's presentations


class Evaluation(NamedTuple):
    """A test pass: accuracy, predictions, spikes per layer over every presentation and how long they lasted (ms),
    and spikes per layer in each sample's first presentation (at the base input rate)."""

    accuracy: float
    predictions: np.ndarray
    spikes: np.ndarray
    presented_ms: float
    first_spikes: np.ndarray


@dataclass
class RunResult:
    """The outcome of a run: final test accuracy, compression, firing rates and per-batch history."""

    config: SimConfig
    accuracy: float
    compression_rate: list[float]  # per projection
    test_firing_rate: list[float]  # Hz per trained layer over the final test pass (every presentation, boosts too)
    train_firing_rate: list[float]  # Hz per trained layer over all training presentations
    batches: list[BatchResult] = field(default_factory=list)
    train_seconds: float = 0.0
    train_samples: int = 0
    test_samples: int = 0
    trace: Path | None = None
    # Hz per trained layer over the test pass's first presentations only (base input rate, no boost): the boosts
    # repeat a sample until the output fires min_spikes times, which pins test_firing_rate near that floor.
    test_base_firing_rate: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Return JSON-compatible values."""
        return {
            "config": self.config.to_dict(),
            "accuracy": self.accuracy,
            "compression_rate": self.compression_rate,
            "test_firing_rate": self.test_firing_rate,
            "test_base_firing_rate": self.test_base_firing_rate,
            "train_firing_rate": self.train_firing_rate,
            "train_seconds": self.train_seconds,
            "train_samples": self.train_samples,
            "test_samples": self.test_samples,
            "batches": [b.__dict__ for b in self.batches],
            "trace": None if self.trace is None else str(self.trace),
        }


class Simulation:
    """One seeded run: data, network, compression schedule and (optionally) a trace recorder."""

    def __init__(self, config: SimConfig, data: ImageSet | None = None):
        self.config = config.validate()
        # independent streams, so that e.g. recording more or evaluating more never changes what is learnt
        self.rng_data, self.rng_weights, self.rng_train = (np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(3))
        data = data if data is not None else load_dataset(config.dataset, config.data_dir)
        self.data = data.subset(config.train_samples, config.test_samples, self.rng_data)
        self.n_classes = len(self.data.classes)
        self.network = Network(config, int(np.prod(self.data.shape)), self.rng_weights)
        self.compressors = [
            Compressor(config.compression, alpha=config.alpha, beta=config.beta, theta_max=config.theta_max, static_threshold=config.static_threshold, layer=k)
            for k in range(len(self.network.layers))
        ]
        self.total_synapses = [layer.n_inputs * layer.n_neurons for layer in self.network.layers]
        n_out = self.network.layers[-1].n_neurons
        window = min(config.label_samples, len(self.data.train_labels) * config.epochs)
        self._label_counts = np.zeros((window, n_out), dtype=np.uint16)
        self._label_classes = np.full(window, -1, dtype=np.int64)
        self._label_filled = 0
        self.neuron_labels = np.full(n_out, -1)
        self.recorder: Recorder | None = None
        self.t = 0.0  # ms

    # -- helpers -------------------------------------------------------------------------------------------------------
    def _remember(self, counts: np.ndarray, label: int) -> None:
        slot = self._label_filled % len(self._label_classes)
        self._label_counts[slot] = np.minimum(counts, np.iinfo(np.uint16).max)
        self._label_classes[slot] = label
        self._label_filled += 1

    def _relabel(self) -> None:
        filled = min(self._label_filled, len(self._label_classes))
        self.neuron_labels = assign_labels(self._label_counts[:filled].astype(np.float64), self._label_classes[:filled], self.n_classes)

    def evaluate(self, images: np.ndarray, labels: np.ndarray, seed: int = 0) -> Evaluation:
        """Classify images with a frozen copy of the network (state untouched)."""
        frozen = self.network.frozen_copy()
        rng = np.random.default_rng([self.config.seed, 2, seed])
        counts = np.zeros((len(labels), self.network.layers[-1].n_neurons))
        spikes = np.zeros(len(frozen.layers))
        first = np.zeros(len(frozen.layers))
        presented = 0.0
        t = 0.0
        for k, image in enumerate(images):
            shown = frozen.present(image, t, rng, learn=False)
            counts[k] = shown.counts
            spikes += [len(s[0]) for s in shown.spikes]
            first += shown.first
            presented += shown.attempts * self.config.presentation
            t = shown.next_t
        predictions = predict(counts, self.neuron_labels, self.n_classes)
        return Evaluation(float(np.mean(predictions == labels)), predictions, spikes, presented, first)

    def _firing_rates(self, spikes: np.ndarray, presented_ms: float) -> list[float]:
        sizes = np.array([layer.n_neurons for layer in self.network.layers], dtype=np.float64)
        return (spikes / sizes / max(presented_ms / 1000.0, 1e-12)).tolist()

    # -- the run ---------------------------------------------------------------------------------------------------------
    def run(self, trace: str | Path | None = None, *, overwrite: bool = False, progress: Progress | None = None) -> RunResult:
        """Train, compress and test; write the trace to ``trace`` if given. ``progress(n)`` is told of n more samples."""
        config = self.config
        if trace is not None:
            dataset = Dataset(self.data.name, classes=self.data.classes, source=self.data.source, license=self.data.license)
            self.recorder = Recorder(trace, config, image_shape=self.data.shape, dataset=dataset, overwrite=overwrite)
        complete = False
        try:
            result = self._run(progress)
            complete = True
        finally:
            if self.recorder is not None:
                self.recorder.close(complete=complete)
        result.trace = None if trace is None else Path(trace)
        return result

    def _run(self, progress: Progress | None) -> RunResult:
        config, rec, net = self.config, self.recorder, self.network
        names = layer_names(config)
        images, labels = self.data.train_images, self.data.train_labels
        eval_n = min(config.eval_samples, len(self.data.test_labels))
        if rec is not None:
            for k, layer in enumerate(net.layers):
                rec.weights(0.0, k, layer.weights, layer.mask)
        batches: list[BatchResult] = []
        total_spikes = np.zeros(len(net.layers))
        total_presented = 0.0
        seen = 0
        started = time.perf_counter()
        activity = [(0.0, 0.0) for _ in net.layers]
        for epoch in range(config.epochs):
            order = self.rng_train.permutation(len(labels))
            for b, chunk in enumerate(np.array_split(order, config.batches)):
                batch_spikes = np.zeros(len(net.layers))
                batch_presented = 0.0
                for index in chunk:
                    keep_inputs = rec is not None and (config.record_input == "all" or (config.record_input == "sampled" and seen % config.input_every == 0))
                    membrane = rec is not None and config.v_neurons > 0 and seen % config.v_every == 0
                    shown = net.present(images[index], self.t, self.rng_train, learn=True, keep_inputs=keep_inputs, record_membrane=membrane)
                    label = int(labels[index])
                    prediction = int(predict(shown.counts, self.neuron_labels, self.n_classes)[0]) if (self.neuron_labels >= 0).any() else None
                    self._remember(shown.counts, label)
                    spikes = np.array([len(s[0]) for s in shown.spikes], dtype=np.float64)
                    batch_spikes += spikes
                    batch_presented += shown.attempts * config.presentation
                    if rec is not None:
                        for name, (ts, ns) in zip(names, shown.spikes):
                            rec.spikes(name, ts, ns)
                        for ev_t, ev_i in shown.inputs:
                            rec.spikes("input", ev_t, ev_i)
                        for name, (ts, values) in zip(names, shown.membrane):
                            rec.membrane(name, ts, values)
                        rec.sample(int(index), shown.t_start, shown.t_end, label, "train", prediction)
                    self.t = shown.next_t
                    seen += 1
                    if rec is not None and seen % config.activity_every == 0:
                        for k, layer in enumerate(net.layers):
                            updates, total = layer.clock[1] - activity[k][0], layer.clock[2] - activity[k][1]
                            rec.metric("weight_updates", updates, self.t, seen, projection=k)
                            rec.metric("mean_abs_dw", total / updates if updates else 0.0, self.t, seen, projection=k)
                            activity[k] = (layer.clock[1], layer.clock[2])
                    if progress is not None:
                        progress(1)
                total_spikes += batch_spikes
                total_presented += batch_presented
                self._relabel()
                step = epoch * config.batches + b
                last_of_epoch = b == config.batches - 1
                if rec is not None:
                    rec.flush()  # spikes and samples of this batch are final: publish them before the snapshots
                    for k, layer in enumerate(net.layers):
                        rec.weights(self.t, k, layer.weights, layer.mask)
                prunes = []
                if config.schedule == "batch" or last_of_epoch:
                    prunes = [c.step(layer.weights, layer.mask) for c, layer in zip(self.compressors, net.layers)]
                accuracy = self.evaluate(self.data.test_images[:eval_n], self.data.test_labels[:eval_n], seed=step)[0]
                remaining = [layer.synapses for layer in net.layers]
                compression = [1.0 - r / total for r, total in zip(remaining, self.total_synapses)]
                thresholds = [c.threshold for c in self.compressors]
                rates = self._firing_rates(batch_spikes, batch_presented)
                batches.append(BatchResult(epoch, b, seen, accuracy, compression, thresholds, remaining, rates))
                if rec is not None:
                    for k, (layer, pruned) in enumerate(zip(net.layers, prunes)):
                        if pruned is not None:
                            rec.prune(self.t, k, pruned, config.compression, offset=1)
                            rec.weights(self.t, k, layer.weights, layer.mask, offset=1)
                    rec.metric("accuracy", accuracy, self.t, step, offset=1)
                    for k in range(len(net.layers)):
                        rec.metric("compression_rate", compression[k], self.t, step, offset=1, projection=k)
                        rec.metric("remaining_synapses", remaining[k], self.t, step, offset=1, projection=k)
                        if self.compressors[k].active:
                            rec.metric("threshold", thresholds[k], self.t, step, offset=1, projection=k)
                        rec.metric("firing_rate", rates[k], self.t, step, offset=1, population=names[k])
                    if last_of_epoch:
                        rec.event("epoch_end", self.t, {"epoch": epoch, "samples": len(order)}, offset=1)
                    rec.flush()
        train_seconds = time.perf_counter() - started
        accuracy, test_rates, base_rates = self._test(progress)
        return RunResult(
            config=config,
            accuracy=accuracy,
            compression_rate=[1.0 - layer.synapses / total for layer, total in zip(net.layers, self.total_synapses)],
            test_firing_rate=test_rates,
            train_firing_rate=self._firing_rates(total_spikes, total_presented),
            batches=batches,
            train_seconds=train_seconds,
            train_samples=seen,
            test_samples=len(self.data.test_labels),
            test_base_firing_rate=base_rates,
        )

    def _test(self, progress: Progress | None) -> tuple[float, list[float], list[float]]:
        """Score the whole test set (on the trace timeline when recording with test_in_trace); return the accuracy,
        the firing rates over every presentation and over first presentations only."""
        config, rec, net = self.config, self.recorder, self.network
        images, labels = self.data.test_images, self.data.test_labels
        if rec is None or not config.test_in_trace:
            done = self.evaluate(images, labels, seed=1 << 20)
            base = self._firing_rates(done.first_spikes, len(labels) * config.presentation)
            return done.accuracy, self._firing_rates(done.spikes, done.presented_ms), base
        names = layer_names(config)
        # Start on the next presentation slot: past the last batch's events (one tick after its end), and on the
        # training windows' grid, so the report can class spikes by lookup instead of a range join.
        slot = config.presentation + config.rest
        self.t = (math.floor(self.t / slot) + 1) * slot
        t_start = self.t
        counts = np.zeros((len(labels), net.layers[-1].n_neurons))
        spikes = np.zeros(len(net.layers))
        first = np.zeros(len(net.layers))
        presented = 0.0
        rng = np.random.default_rng([config.seed, 1])
        for k, image in enumerate(images):
            shown = net.present(image, self.t, rng, learn=False, keep_inputs=config.record_input == "all")
            counts[k] = shown.counts
            spikes += [len(s[0]) for s in shown.spikes]
            first += shown.first
            presented += shown.attempts * config.presentation
            for name, (ts, ns) in zip(names, shown.spikes):
                rec.spikes(name, ts, ns)
            for ev_t, ev_i in shown.inputs:
                rec.spikes("input", ev_t, ev_i)
            prediction = int(predict(shown.counts, self.neuron_labels, self.n_classes)[0])
            rec.sample(k, shown.t_start, shown.t_end, int(labels[k]), "test", prediction)
            self.t = shown.next_t
            if progress is not None:
                progress(1)
        predictions = predict(counts, self.neuron_labels, self.n_classes)
        accuracy = float(np.mean(predictions == labels))
        rates = self._firing_rates(spikes, presented)
        step = config.epochs * config.batches
        rec.flush()
        rec.metric("test_accuracy", accuracy, self.t, step)
        for k, name in enumerate(names):
            rec.metric("test_firing_rate", rates[k], self.t, step, population=name)
        rec.event("test_end", self.t, {"samples": len(labels), "accuracy": accuracy, "started": int(rec.ticks(t_start))})
        rec.advance(self.t)
        return accuracy, rates, self._firing_rates(first, len(labels) * config.presentation)
