"""Step 8: micrograd's demo on this engine (reference solution).

micrograd's README expression, and its 2-16-16-1 MLP trained on the two moons with the max-margin
loss and L2 regularisation by plain gradient descent, as its demo notebook does. The moons are
made here with numpy (sklearn is not a dependency), deterministically; the weights are drawn as
micrograd draws them (Python's ``random`` seeded with 1337, neuron by neuron).
"""

import random

import numpy as np

from workbench import engine as ad


def readme_expression(a_value: float = -4.0, b_value: float = 2.0):
    """micrograd's README example, line for line; returns (g, a, b) after g.backward()."""
    a = ad.Tensor(a_value, requires_grad=True)
    b = ad.Tensor(b_value, requires_grad=True)
    c = a + b
    d = a * b + b ** 3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    return g, a, b


def moons(n_samples: int = 100, noise: float = 0.1, seed: int = 0):
    """Two interleaving half circles, labels -1 and +1 (as sklearn's make_moons, y·2 − 1)."""
    half = n_samples // 2
    angle_out, angle_in = np.linspace(0, np.pi, n_samples - half), np.linspace(0, np.pi, half)
    X = np.concatenate([np.stack([np.cos(angle_out), np.sin(angle_out)], axis=1),
                        np.stack([1 - np.cos(angle_in), 1 - np.sin(angle_in) - 0.5], axis=1)])
    X = X + np.random.default_rng(seed).normal(scale=noise, size=X.shape)
    y = np.concatenate([-np.ones(n_samples - half), np.ones(half)])
    return X, y


def micrograd_weights(sizes=(2, 16, 16, 1), seed: int = 1337):
    """[(W, b), ...] drawn in micrograd's order: each neuron's weights, uniform in (−1, 1); b = 0."""
    random.seed(seed)
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        W = np.array([[random.uniform(-1, 1) for _ in range(n_in)] for _ in range(n_out)]).T
        layers.append((W, np.zeros(n_out)))
    return layers


def mlp(params, X):
    """Scores of the MLP: ReLU on every layer but the last."""
    h = X
    for k, (W, b) in enumerate(params):
        h = h @ W + b
        if k < len(params) - 1:
            h = ad.relu(h)
    return ad.reshape(h, (-1,))


# ---- the exercise: the loss and the training loop ---------------------------------------------

def loss_and_accuracy(params, X, y, alpha: float = 1e-4):
    """micrograd's demo loss: mean max-margin hinge plus alpha·Σ p²; and the accuracy."""
    scores = mlp(params, X)
    data_loss = ad.mean(ad.relu(1.0 - y * scores))
    reg_loss = alpha * sum(ad.sum(W * W) + ad.sum(b * b) for W, b in params)
    accuracy = float(np.mean((y > 0) == (scores.data > 0)))
    return data_loss + reg_loss, accuracy


def train(X, y, steps: int = 100, report=print):
    """Gradient descent with micrograd's learning-rate schedule; returns [(loss, accuracy), ...]."""
    params = [(ad.Tensor(W, requires_grad=True), ad.Tensor(b, requires_grad=True)) for W, b in micrograd_weights()]
    history = []
    for k in range(steps):
        total, accuracy = loss_and_accuracy(params, X, y)
        total.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for W, b in params:
            for p in (W, b):
                p.data = p.data - learning_rate * p.grad
                p.grad = None
        history.append((total.item(), accuracy))
        if report is not None and (k % 10 == 0 or k == steps - 1):
            report(f"step {k} loss {total.item():.6f}, accuracy {accuracy * 100:.0f}%")
    return history
