"""The optimizer's view of a fit: one function of one flat vector of free parameters.

The model speaks in named parameters (``a``, ``W1``); optimizers speak in a flat float64 vector
``x``. This module translates, and builds from the engine the three things optimizers ask for:

* ``value_and_grad(x)``: the loss and its gradient, by reverse mode (one backward pass, whatever
  the number of parameters);
* ``residuals(x)``: for least squares, scaled so that ½‖r‖² equals the user's loss (mse or sse),
  which makes every optimizer report the same number in the same units;
* ``residuals_and_jacobian(x)``: the exact residual Jacobian by forward mode, all parameter
  directions in one sweep (one column per parameter, never one pass per data row).

Store versus rebuild: an optimizer calls these hundreds of times on a graph whose structure never
changes, so each is recorded once as an engine tape (``ad.record``) and replayed without building
Python objects, after checking the replay against the ordinary path once (``Tape.verify``). The
engine refuses a tape whose recording compared values of the parameters (a ``where`` on them):
``tape.frozen`` names it, and the ordinary path is used.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from workbench import engine as ad
from workbench.errors import InputError
from workbench.losses import Loss
from workbench.models import Model, ParamInfo
from workbench.pipeline import glm_hessian

LOSS_VALUES_PER_ROW = 4      # residual, weighted residual, penalty per row, and the sum's input


def evaluation_elements(n_rows: int, values_per_row: int) -> int:
    """About how many numbers one evaluation of the loss with its gradient holds at once: each
    row-sized intermediate of the model (``Model.values_per_row``) and of the loss, and its adjoint."""
    return 2 * n_rows * (values_per_row + LOSS_VALUES_PER_ROW)


class FitObjective:
    """Loss of ``model`` on fixed data as a function of the free parameters' flat vector."""

    def __init__(self, model: Model, loss: Loss, columns: Mapping[str, np.ndarray], target: np.ndarray,
                 weights: np.ndarray | None, free: list[ParamInfo], fixed: Mapping[str, np.ndarray]):
        self.model, self.loss = model, loss
        self.columns = {k: np.asarray(v, dtype=float) for k, v in columns.items()}
        self.target = np.asarray(target, dtype=float)
        self.weights = None if weights is None else np.asarray(weights, dtype=float)
        self.free = list(free)
        self.fixed = {k: np.asarray(v, dtype=float) for k, v in fixed.items()}
        self.slices, start = [], 0
        for p in self.free:
            self.slices.append(slice(start, start + p.size))
            start += p.size
        self.n_params = start
        self.n_rows = len(self.target)
        self._ls_scale = np.sqrt(2.0 * loss.scale(self.n_rows)) if loss.is_least_squares else None
        self._tapes: dict[str, object] = {}

    # ---- unpacking -------------------------------------------------------------------------
    def unpack(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Named arrays of every parameter (free ones from ``x``, fixed ones as configured)."""
        values = dict(self.fixed)
        for p, s in zip(self.free, self.slices):
            values[p.name] = np.asarray(x[s], dtype=float).reshape(p.shape)
        return values

    # ---- evaluation ----------------------------------------------------------------------
    def predict(self, params: Mapping[str, object], columns: Mapping[str, np.ndarray] | None = None):
        """Model output on ``columns`` (the fit's rows by default), broadcast to one per row."""
        columns = self.columns if columns is None else columns
        out = self.model.forward(params, columns)
        n = len(next(iter(columns.values()))) if columns else self.n_rows
        if np.shape(out.data if isinstance(out, ad.Tensor) else out) != (n,):
            out = ad.broadcast_to(out, (n,)) if isinstance(out, ad.Tensor) else np.broadcast_to(out, (n,))
        return out

    def _loss_expr(self, tensors: Mapping[str, object], rows=None):
        columns, target, weights = self.columns, self.target, self.weights
        if rows is not None:
            columns = {k: v[rows] for k, v in columns.items()}
            target = target[rows]
            weights = None if weights is None else weights[rows]
        params = dict(self.fixed)
        params.update(tensors)
        return self.loss(self.predict(params, columns), target, weights, self._penalized(tensors))

    def value_and_grad(self, x: np.ndarray, batch: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        tape = self._tape("loss", x) if batch is None else None
        if tape is not None:
            value, grads = tape.value_and_grad(*self._primals(x))
            return float(value), np.concatenate([np.ravel(g) for g in grads])
        leaves = self.leaves(x)
        return self.value_and_gradient_of(self._loss_expr(leaves, batch), leaves)

    def leaves(self, x: np.ndarray) -> dict:
        """The free parameters at ``x`` as engine leaves, by name, shaped as the model declares."""
        return {p.name: ad.Tensor(np.asarray(x[s]).reshape(p.shape), requires_grad=True)
                for p, s in zip(self.free, self.slices)}

    def value_and_gradient_of(self, total, leaves: dict) -> tuple[float, np.ndarray]:
        """``total``'s value and its gradient with respect to ``leaves`` as one flat vector."""
        if not isinstance(total, ad.Tensor) or not total.requires_grad:
            return float(np.asarray(getattr(total, "data", total))), np.zeros(self.n_params)
        collected = ad.backprop(total)
        grad = np.zeros(self.n_params)
        for p, s in zip(self.free, self.slices):
            adjoint = collected.get(id(leaves[p.name]))
            if adjoint is not None:
                grad[s] = np.ravel(adjoint[1])
        return float(total.data), grad

    def loss_value(self, x: np.ndarray, columns=None, target=None, weights=None) -> float:
        """The loss at ``x`` without recording; pass other rows' columns (validation) if wanted."""
        if columns is None:
            columns, target, weights = self.columns, self.target, self.weights
        with ad.no_grad():
            params = self.unpack(x)
            value = self.loss(self.predict(params, columns), target, weights, self._penalized(params))
        return float(np.asarray(getattr(value, "data", value)))

    def _penalized(self, values: Mapping[str, object]) -> list:
        """What regularization penalizes: every free parameter but the model's offsets, each
        times its input's spread when the loss standardizes (``ParamInfo``)."""
        return [values[p.name] * p.input_scale if self.loss.standardize else values[p.name]
                for p in self.free if not p.offset]

    def loss_of_flat(self, v):
        """The loss as an engine expression of one flat tensor ``v`` (for Hessians)."""
        tensors = {p.name: ad.reshape(v[s], p.shape) for p, s in zip(self.free, self.slices)}
        return self._loss_expr(tensors)

    # ---- least squares -------------------------------------------------------------------
    def _scaled_residual(self, prediction):
        r = prediction - self.target
        if self.weights is not None:
            r = r * np.sqrt(self.weights)
        return r * self._ls_scale

    def residuals(self, x: np.ndarray) -> np.ndarray:
        tape = self._tape("residuals", x)
        if tape is not None:
            return np.asarray(tape.forward(*self._primals(x)), dtype=float)
        with ad.no_grad():
            pred = self.predict(self.unpack(x))
        pred = pred.data if isinstance(pred, ad.Tensor) else np.asarray(pred)
        return self._scaled_residual(pred)

    def _residual_of(self, *free_tensors):
        params = dict(self.fixed)
        params.update({p.name: t for p, t in zip(self.free, free_tensors)})
        return self._scaled_residual(self.predict(params))

    def _loss_of(self, *free_tensors):
        return self._loss_expr({p.name: t for p, t in zip(self.free, free_tensors)})

    def _primals(self, x: np.ndarray) -> list[np.ndarray]:
        return [np.asarray(x[s], dtype=float).reshape(p.shape) for p, s in zip(self.free, self.slices)]

    def _tape(self, kind: str, x: np.ndarray):
        """The tape for ``kind`` ("loss" or "residuals"), recorded at the first ``x`` asked for,
        or None where a tape is unsafe or its replay disagrees with the ordinary path."""
        if kind not in self._tapes:
            self._tapes[kind] = self._record(kind, x)
        return self._tapes[kind]

    def _record(self, kind: str, x: np.ndarray):
        if kind == "residuals" and self._ls_scale is None:
            return None
        function = self._residual_of if kind == "residuals" else self._loss_of
        primals = self._primals(x)
        try:
            with np.errstate(all="ignore"):
                tape = ad.record(function, *primals, argnums=tuple(range(len(primals))))
                ok = not tape.frozen and tape.verify(*primals)
        except Exception:  # noqa: BLE001 - the ordinary path below is always correct
            return None
        return tape if ok else None

    def residuals_and_jacobian(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.refuse_large_jacobian()
        tape = self._tape("residuals", x)
        if tape is not None:
            r, jacs = tape.jacobian_forward(*self._primals(x))
        else:
            with ad.no_grad():
                r, jacs = ad.forward_jacobians(self._residual_of, self._primals(x))
        jac = np.concatenate([j.reshape(self.n_rows, -1) for j in jacs], axis=1) if jacs else \
            np.zeros((self.n_rows, 0))
        return np.asarray(r, dtype=float), jac

    def model_jacobian(self, x: np.ndarray) -> np.ndarray:
        """∂prediction/∂x (unscaled, unweighted): for uncertainties and confidence bands."""
        self.refuse_large_jacobian(where="uncertainties")
        _, jac = self.residuals_and_jacobian(x) if self._ls_scale is not None else (None, None)
        if jac is not None:
            w = np.sqrt(self.weights)[:, None] if self.weights is not None else 1.0
            return jac / (self._ls_scale * w)
        return self.prediction_and_design(x)[1]

    def prediction_and_design(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The prediction at ``x`` and J = ∂prediction/∂x (rows × free parameters). A model that
        hands back its design matrix (``design_matrix``, prediction = X·θ in ``params`` order: the
        built-in linear, logistic and polynomial models) gives both by one product; any other by
        the engine's forward mode, one tangent per parameter through every operation."""
        values = self.unpack(x)
        design_matrix = getattr(self.model, "design_matrix", None)
        if design_matrix is not None and self.columns:
            names = self.model.param_names
            design = design_matrix(self.columns)
            prediction = design @ np.array([float(values[name]) for name in names])
            free = [names.index(p.name) for p in self.free]
            return prediction, design if free == list(range(len(names))) else design[:, free]

        def prediction_of(*free_tensors):
            params = dict(self.fixed)
            params.update({p.name: t for p, t in zip(self.free, free_tensors)})
            return self.predict(params)

        with ad.no_grad():
            prediction, jacs = ad.forward_jacobians(prediction_of, [values[p.name] for p in self.free])
        jacobian = np.concatenate([j.reshape(self.n_rows, -1) for j in jacs], axis=1) if jacs else \
            np.zeros((self.n_rows, 0))
        return np.asarray(getattr(prediction, "data", prediction), dtype=float), jacobian

    # ---- Hessians (uncertainties of losses other than least squares) ----------------------
    def summed_hessian(self, x: np.ndarray, rows_factor: float) -> np.ndarray:
        """The Hessian of ``rows_factor`` × the loss at ``x``, penalty included: for cross-entropy
        on a logit linear in the parameters one weighted product of the design (``glm_hessian``),
        otherwise the engine's exact Hessian of the whole expression."""
        if not glm_hessian.applies(self.model, self.loss):
            return ad.hessian(lambda v: self.loss_of_flat(v) * rows_factor)(x)
        logits, design = self.prediction_and_design(x)
        hessian = glm_hessian.logit_hessian(design, logits, self.weights, rows_factor / self.n_rows)
        return hessian + self.penalty_hessian(x, rows_factor)

    def penalty_hessian(self, x: np.ndarray, factor: float) -> np.ndarray:
        """The Hessian of ``factor`` × the regularization penalty alone (zeros without one)."""
        if not (self.loss.l1 or self.loss.l2):
            return np.zeros((self.n_params, self.n_params))

        def penalty_of(v):
            tensors = {p.name: ad.reshape(v[s], p.shape) for p, s in zip(self.free, self.slices)}
            return self.loss.penalty(self._penalized(tensors), v[0] * 0.0) * factor

        return ad.hessian(penalty_of)(x)

    # ---- memory ----------------------------------------------------------------------------
    def forward_jacobian_elements(self, rows: int | None = None) -> int:
        """Numbers the forward-mode Jacobian holds: the identity it starts from (parameters²) and
        one tangent per parameter for every row-sized intermediate (no adjoints: half an evaluation);
        over ``rows`` at once (all by default; a chunked fit takes one chunk at a time)."""
        rows = self.n_rows if rows is None else rows
        return self.n_params * (self.n_params + evaluation_elements(rows, self.model.values_per_row) // 2)

    def jacobian_fits(self, rows: int | None = None) -> bool:
        """True when the forward-mode Jacobian over ``rows`` rows (all by default) is within the
        model size limit, i.e. ``refuse_large_jacobian`` would let it through."""
        try:
            self.refuse_large_jacobian(rows=rows)
        except InputError:
            return False
        return True

    def refuse_large_jacobian(self, where: str = "optimizer.name", rows: int | None = None) -> None:
        """InputError before a forward-mode Jacobian larger than the model size limit is allocated."""
        from workbench.models.limits import check_evaluation

        rows = self.n_rows if rows is None else rows
        check_evaluation(self.forward_jacobian_elements(rows), rows=rows, where=where,
                         what=f"the forward-mode Jacobian of {self.n_params:,} parameters")
