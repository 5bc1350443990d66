"""Label neurons by their strongest class response and classify samples by the labelled neurons' votes."""

from __future__ import annotations

import numpy as np


def assign_labels(counts: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Return each neuron's class: the one with the highest mean spike count per presented sample (-1 if silent).

    ``counts`` is (samples, neurons) output spike counts, ``labels`` the samples' classes.
    """
    response = np.zeros((n_classes, counts.shape[1]))
    for c in range(n_classes):
        chosen = labels == c
        if chosen.any():
            response[c] = counts[chosen].mean(axis=0)
    assigned = response.argmax(axis=0)
    assigned[response.max(axis=0) == 0] = -1
    return assigned


def predict(counts: np.ndarray, neuron_labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Return the predicted class of each sample (rows of ``counts``): the class whose neurons fired most on average.

    Samples that no labelled neuron answered get -1 (counted as wrong).
    """
    counts = np.atleast_2d(counts)
    scores = np.zeros((counts.shape[0], n_classes))
    for c in range(n_classes):
        members = neuron_labels == c
        if members.any():
            scores[:, c] = counts[:, members].sum(axis=1) / members.sum()
    predicted = scores.argmax(axis=1)
    predicted[scores.max(axis=1) == 0] = -1
    return predicted
