"""A small numpy classifier: a one-hidden-layer ReLU MLP (or softmax regression).

Parameters are a list of arrays ``[W1, b1, W2, b2]`` (``[W, b]`` without a hidden
layer), which pickle compactly and average element-wise for FedAvg. numpy keeps the
tasks light (milliseconds, no framework start-up) and the same on every executor.
"""

from __future__ import annotations

import itertools

import numpy as np

Params = list[np.ndarray]


def init_params(features: int, hidden: int, classes: int, seed: int) -> Params:
    """He-initialised weights, zero biases."""
    rng = np.random.default_rng([seed, 3])
    sizes = [features, hidden, classes] if hidden else [features, classes]
    params: Params = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        params.append(rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out)))
        params.append(np.zeros(fan_out))
    return params


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def forward(params: Params, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Class probabilities and the layer inputs (for the backward pass)."""
    inputs = [x]
    h = x
    layers = len(params) // 2
    for layer in range(layers):
        w, b = params[2 * layer], params[2 * layer + 1]
        h = h @ w + b
        if layer < layers - 1:
            h = np.maximum(h, 0.0)
            inputs.append(h)
    return _softmax(h), inputs


def loss_and_grads(params: Params, x: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
    """Mean cross-entropy of a batch and its gradient for every parameter."""
    probs, inputs = forward(params, x)
    n = len(y)
    loss = float(-np.log(probs[np.arange(n), y] + 1e-12).mean())
    delta = probs
    delta[np.arange(n), y] -= 1.0
    delta /= n
    grads: Params = [np.empty(0)] * len(params)
    for layer in reversed(range(len(params) // 2)):
        w = params[2 * layer]
        grads[2 * layer] = inputs[layer].T @ delta
        grads[2 * layer + 1] = delta.sum(axis=0)
        if layer:
            delta = (delta @ w.T) * (inputs[layer] > 0)
    return loss, grads


def predict(params: Params, x: np.ndarray) -> np.ndarray:
    """Most likely class of each sample."""
    probs, _ = forward(params, x)
    return probs.argmax(axis=1)
