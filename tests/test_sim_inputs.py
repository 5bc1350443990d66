"""Simulator inputs: configuration validation, data sets (bundled, IDX folders, Debian's), Poisson encoding, labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from snntrace.errors import SnntraceError, UsageError
from snntrace.sim.config import SimConfig, load_config
from snntrace.sim.datasets import DEBIAN_FASHION_MNIST, DatasetError, load_bundled, load_dataset, read_idx
from snntrace.sim.encoding import poisson_events
from snntrace.sim.labels import assign_labels, predict
from tests._sim_fixtures import idx_folder


# -- configuration ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"compression": "prune"}, "compression must be one of none, static, pp, pp-dswr"),
        ({"dataset": "mnist"}, "dataset must be one of bundled, fashion-mnist, idx"),
        ({"schedule": "daily"}, "schedule must be one of batch, epoch"),
        ({"record_input": "some"}, "record_input must be one of none, sampled, all"),
        ({"neurons": (100, 0)}, "neurons must be positive"),
        ({"tau_m": -1.0}, "tau_m must be a positive number"),
        ({"batches": 0}, "batches must be a positive integer"),
        ({"theta_max": 1.5}, "theta_max must be a weight between 0 and 1"),
        ({"dataset": "idx"}, "dataset 'idx' needs data_dir"),
        ({"train_samples": 0}, "train_samples must be at least 1"),
    ],
)
def test_invalid_configuration_is_refused_with_the_valid_alternatives(changes, message):
    with pytest.raises(UsageError) as info:
        SimConfig(**changes).validate()
    assert message in info.value.message
    assert info.value.location == next(iter(changes)) or info.value.location == "data_dir"


def test_configuration_loads_from_toml_and_json_with_overrides(tmp_path):
    (tmp_path / "run.toml").write_text('neurons = [400, 100]\ncompression = "pp"\nalpha = 0.02\n')
    config = load_config(tmp_path / "run.toml", alpha=0.03, seed=None)
    assert (config.neurons, config.compression, config.alpha, config.seed) == ((400, 100), "pp", 0.03, 0)
    (tmp_path / "run.json").write_text(json.dumps({"neurons": "50", "epochs": 2}))
    assert load_config(tmp_path / "run.json").neurons == (50,)


def test_unknown_or_malformed_configuration_files_are_usage_errors(tmp_path):
    (tmp_path / "bad.toml").write_text("neurons = 10\nlearning_rate = 3\n")
    with pytest.raises(UsageError, match="unknown parameter.*learning_rate.*valid:.*alpha"):
        load_config(tmp_path / "bad.toml")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(UsageError, match="not valid JSON"):
        load_config(tmp_path / "broken.json")
    with pytest.raises(UsageError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


# -- data sets -------------------------------------------------------------------------------------------------------------
def test_bundled_data_is_real_balanced_fashion_mnist():
    data = load_bundled()
    assert data.train_images.shape == (3000, 28, 28) and data.test_images.shape == (1000, 28, 28)
    assert np.bincount(data.train_labels).tolist() == [300] * 10
    assert np.bincount(data.test_labels).tolist() == [100] * 10
    assert data.license == "MIT" and data.classes[9] == "Ankle boot"
    assert 0.2 < data.train_images.mean() / 255 < 0.4  # Fashion-MNIST's mean intensity is about 0.29


@pytest.mark.skipif(not DEBIAN_FASHION_MNIST.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_bundled_images_are_the_first_of_each_class_of_debians_files():
    full = load_dataset("fashion-mnist")
    assert full.train_images.shape == (60000, 28, 28) and full.test_images.shape == (10000, 28, 28)
    with np.load(Path(__file__).resolve().parent.parent / "snntrace/sim/data/fashion-mnist-subset.npz") as bundled:
        index = bundled["train_source_index"]
        np.testing.assert_array_equal(full.train_images[index], bundled["train_images"])
        np.testing.assert_array_equal(full.test_labels[bundled["test_source_index"]], bundled["test_labels"])


@pytest.mark.parametrize("gz", [True, False])
def test_idx_folders_load_gzipped_or_not(tmp_path, gz):
    images, labels = idx_folder(tmp_path, gz=gz)
    data = load_dataset("idx", tmp_path)
    np.testing.assert_array_equal(data.train_images, images)
    np.testing.assert_array_equal(data.test_labels, labels[:10])
    assert data.classes == tuple("0123456789")


def test_missing_or_corrupt_idx_files_raise_dataset_errors(tmp_path):
    with pytest.raises(DatasetError, match="no train-images"):
        load_dataset("idx", tmp_path)
    (tmp_path / "x.idx").write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x05")
    with pytest.raises(DatasetError, match="truncated"):
        read_idx(tmp_path / "x.idx")
    (tmp_path / "y.idx").write_bytes(b"PK\x03\x04")
    with pytest.raises(DatasetError, match="magic"):
        read_idx(tmp_path / "y.idx")
    assert issubclass(DatasetError, SnntraceError) and DatasetError.code == "SIM001"


def test_a_subset_is_seeded():
    data = load_bundled()
    a = data.subset(100, 20, np.random.default_rng(1))
    b = data.subset(100, 20, np.random.default_rng(1))
    np.testing.assert_array_equal(a.train_labels, b.train_labels)
    assert len(a.train_labels) == 100 and len(a.test_labels) == 20


# -- encoding and labels ---------------------------------------------------------------------------------------------------
def test_poisson_encoding_fires_each_pixel_at_its_rate_in_time_order():
    image = np.zeros((28, 28), dtype=np.uint8)
    image[0, :4] = [255, 128, 64, 0]
    rng = np.random.default_rng(0)
    counts = np.zeros(784)
    for _ in range(400):
        times, lines = poisson_events(image, 63.75, 350.0, 1000.0, rng)
        assert np.all(np.diff(times) >= 0) and (len(times) == 0 or (times[0] >= 1000.0 and times[-1] < 1350.0))
        counts += np.bincount(lines, minlength=784)
    expected = np.array([255, 128, 64]) / 255 * 63.75 * 0.35
    np.testing.assert_allclose(counts[:3] / 400, expected, rtol=0.08)
    assert counts[3:].sum() == 0, "black pixels never fire"


def test_neurons_get_the_class_they_answer_most_and_vote_for_it():
    counts = np.array([[5, 0, 1], [4, 1, 0], [0, 3, 0], [1, 6, 0]], dtype=float)
    labels = np.array([0, 0, 1, 1])
    neuron_labels = assign_labels(counts, labels, 3)
    assert neuron_labels.tolist() == [0, 1, 0]
    assert predict(np.array([[0, 4, 0], [3, 0, 1], [0, 0, 0]]), neuron_labels, 3).tolist() == [1, 0, -1]


def test_the_simulator_imports_only_the_writer_model_and_errors_of_snntrace():
    import ast

    import snntrace.sim

    allowed = {"snntrace.model", "snntrace.errors"}
    for path in Path(snntrace.sim.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("snntrace"):
                module = node.module
                if module == "snntrace":
                    assert {a.name for a in node.names} <= {"TraceWriter", "__version__"}, path
                else:
                    assert module in allowed or module.startswith("snntrace.sim"), f"{path.name} imports {module}"
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("snntrace") and not a.name.startswith("snntrace.sim") for a in node.names), path
