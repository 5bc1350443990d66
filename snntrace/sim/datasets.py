"""Image data sets available offline: the bundled Fashion-MNIST subset, Debian's full Fashion-MNIST, IDX folders."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snntrace.errors import SnntraceError

BUNDLED = Path(__file__).resolve().parent / "data" / "fashion-mnist-subset.npz"
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
DIGIT_CLASSES = tuple(str(d) for d in range(10))
FASHION_SOURCE = "https://github.com/zalandoresearch/fashion-mnist"


class DatasetError(SnntraceError, OSError):
    """A data set cannot be found or read."""

    code = "SIM001"


@dataclass(frozen=True)
class ImageSet:
    """Training and test images (uint8, n x height x width) with integer labels and where they come from."""

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    classes: tuple[str, ...]
    source: str
    license: str | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """Return the height and width of one image."""
        return tuple(self.train_images.shape[1:])

    def subset(self, train: int | None, test: int | None, rng: np.random.Generator) -> ImageSet:
        """Return a copy keeping ``train`` / ``test`` random images of each split (None keeps the split whole)."""

        def pick(images, labels, n):
            if n is None or n >= len(labels):
                return images, labels
            keep = np.sort(rng.choice(len(labels), size=n, replace=False))
            return images[keep], labels[keep]

        train_images, train_labels = pick(self.train_images, self.train_labels, train)
        test_images, test_labels = pick(self.test_images, self.test_labels, test)
        return ImageSet(self.name, train_images, train_labels, test_images, test_labels, self.classes, self.source, self.license)


def load_dataset(dataset: str = "bundled", data_dir: str | Path | None = None) -> ImageSet:
    """Load a data set by name: ``bundled``, ``fashion-mnist`` (Debian's install path or ``data_dir``) or ``idx``."""
    if dataset == "bundled":
        return load_bundled()
    if dataset == "fashion-mnist":
        folder = Path(data_dir) if data_dir else DEBIAN_FASHION_MNIST
        if not folder.is_dir():
            raise DatasetError(
                "Fashion-MNIST not found; install Debian's dataset-fashion-mnist package or pass --data-dir DIR "
                "holding the IDX files (or use --dataset bundled)",
                location=str(folder),
            )
        return load_idx_folder(folder, name="Fashion-MNIST", classes=FASHION_CLASSES)
    if dataset == "idx":
        if not data_dir:
            raise DatasetError("dataset 'idx' needs --data-dir DIR holding the IDX files", location="data_dir")
        folder = Path(data_dir)
        fashion = "fashion" in folder.resolve().as_posix().lower()
        return load_idx_folder(folder, name="Fashion-MNIST" if fashion else folder.resolve().name, classes=FASHION_CLASSES if fashion else None)
    raise DatasetError(f"unknown dataset {dataset!r}; valid: bundled, fashion-mnist, idx", location="dataset")


def load_bundled() -> ImageSet:
    """Load the 3,000 + 1,000 Fashion-MNIST images shipped with snntrace."""
    with np.load(BUNDLED) as data:
        return ImageSet(
            name="Fashion-MNIST (bundled subset)",
            train_images=data["train_images"],
            train_labels=data["train_labels"].astype(np.int64),
            test_images=data["test_images"],
            test_labels=data["test_labels"].astype(np.int64),
            classes=FASHION_CLASSES,
            source=FASHION_SOURCE,
            license="MIT",
        )


def load_idx_folder(folder: str | Path, *, name: str, classes: tuple[str, ...] | None = None) -> ImageSet:
    """Load ``train-images``/``train-labels``/``t10k-images``/``t10k-labels`` IDX files (gzipped or not)."""
    folder = Path(folder)
    arrays = {}
    for key, stem, kind in (
        ("train_images", "train-images", "idx3"),
        ("train_labels", "train-labels", "idx1"),
        ("test_images", "t10k-images", "idx3"),
        ("test_labels", "t10k-labels", "idx1"),
    ):
        candidates = sorted(p for p in folder.glob(f"{stem}*{kind}*") if p.is_file())
        if not candidates:
            raise DatasetError(f"no {stem} {kind} file (e.g. {stem}-{kind}-ubyte.gz) in {folder}", location=str(folder))
        arrays[key] = read_idx(candidates[0])
    if arrays["train_images"].ndim != 3 or len(arrays["train_images"]) != len(arrays["train_labels"]):
        raise DatasetError("training images and labels do not match (expected n x height x width images, n labels)", location=str(folder))
    if arrays["test_images"].ndim != 3 or len(arrays["test_images"]) != len(arrays["test_labels"]):
        raise DatasetError("test images and labels do not match", location=str(folder))
    n_classes = int(max(arrays["train_labels"].max(), arrays["test_labels"].max())) + 1
    if classes is None:
        classes = DIGIT_CLASSES if n_classes <= 10 else tuple(str(c) for c in range(n_classes))
    return ImageSet(
        name=name,
        train_images=arrays["train_images"],
        train_labels=arrays["train_labels"].astype(np.int64),
        test_images=arrays["test_images"],
        test_labels=arrays["test_labels"].astype(np.int64),
        classes=tuple(classes),
        source=str(folder.resolve()),
    )


def read_idx(path: str | Path) -> np.ndarray:
    """Return the uint8 array stored in an IDX file (gzipped when its first bytes say so)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise DatasetError(f"cannot read IDX file: {exc}", location=str(path)) from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DatasetError("not an unsigned-byte IDX file (bad magic number)", location=str(path))
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim))
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(shape)):
        raise DatasetError(f"IDX file is truncated: header says {shape}", location=str(path))
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape)
