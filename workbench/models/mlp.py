"""A small neural network: a multilayer perceptron for regression or binary classification.

Inputs and target are standardised inside the model (means and standard deviations of the
training data are stored as constants), because gradient methods on raw spreadsheet units
(prices in thousands next to rates in percent) train badly. Weights start with Glorot-uniform
values from the config's seed, so the same seed gives the same network.
"""

from __future__ import annotations

import numpy as np

from workbench.models.base import Model, ParamInfo

ACTIVATIONS = ("tanh", "relu", "sigmoid", "softplus")


class MLPModel(Model):
    def __init__(self, inputs, target, hidden, activation, columns, y, seed: int, binary: bool = False):
        rng = np.random.default_rng(seed)
        sizes = [len(inputs)] + list(hidden) + [1]
        params = []
        for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            params.append(ParamInfo(f"W{layer}", (fan_in, fan_out), rng.uniform(-limit, limit, (fan_in, fan_out)),
                                    f"weights of layer {layer}"))
            params.append(ParamInfo(f"b{layer}", (fan_out,), np.zeros(fan_out), f"biases of layer {layer}",
                                    offset=True))
        super().__init__("mlp", target, tuple(inputs), tuple(params), binary=binary)
        self.hidden, self.activation = tuple(hidden), activation
        X = np.column_stack([columns[c] for c in inputs])
        self.x_mean, self.x_scale = X.mean(axis=0), np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
        self.y_mean = 0.0 if binary else float(np.mean(y))
        self.y_scale = 1.0 if binary else (float(np.std(y)) or 1.0)

    def forward(self, params, columns):
        from workbench import engine as ad

        X = np.column_stack([columns[c] for c in self.inputs])
        h = (X - self.x_mean) / self.x_scale
        act = getattr(ad, self.activation)
        n_layers = len(self.hidden) + 1
        for layer in range(1, n_layers + 1):
            h = h @ params[f"W{layer}"] + params[f"b{layer}"]
            if layer < n_layers:
                h = act(h)
        return h[:, 0] * self.y_scale + self.y_mean

    def describe(self) -> str:
        shape = " → ".join(str(n) for n in [len(self.inputs), *self.hidden, 1])
        return f"{self.target} = MLP({', '.join(self.inputs)}; {shape}, {self.activation})"
