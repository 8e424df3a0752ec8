"""A fit's objective summed over row chunks, so memory beyond the data is O(chunk × parameters).

``ChunkedObjective(objective, chunk_rows)`` answers what optimizers ask (``optim``'s protocol)
without ever holding an n × p matrix:

* least squares: for each chunk the engine gives the residuals r_c and their Jacobian J_c
  (forward mode), and a QR of the chunk's [J_c | r_c] keeps only its (p+1) × (p+1) triangle;
  stacking the triangles and factoring again (TSQR) gives R with Q·R = [J | r] for all rows.
  ``residuals_and_jacobian`` then returns R's last column and the rest, a problem with exactly
  the same JᵀJ, Jᵀr and ‖r‖ as the full one: Levenberg–Marquardt, which reads only those
  through an SVD, takes the same steps (to rounding), and never forms JᵀJ;
* ``residuals``: the chunks' residual norms (their norm is ‖r‖, all a trial step needs);
* ``value_and_grad``: the loss as a weighted sum of chunk means (sums for sse) and the
  penalty once, for L-BFGS and the first-order optimizers (minibatches use the rows given);
* ``model_jacobian_factor``: the triangle of √w·∂prediction/∂x, for uncertainties.

``map_chunks`` is where the chunks are visited; the Dask executor (``workbench.pipeline.dask_sums``)
replaces it to compute the same triangles where the data's partitions live.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from workbench.pipeline.objective import FitObjective

DEFAULT_CHUNK_ROWS = 65536


def stack_triangles(triangles: list[np.ndarray]) -> np.ndarray:
    """The R factor of the rows of all ``triangles`` stacked (each the R of some rows)."""
    if len(triangles) == 1:
        return triangles[0]
    return np.linalg.qr(np.vstack(triangles), mode="r")


CHOLESKY_QR_MAX_CONDITION = 1e6     # equilibrated; CholeskyQR2 is exact to rounding well below 1/√ε ≈ 1e8


def triangle(matrix: np.ndarray) -> np.ndarray:
    """R of a QR factorization of ``matrix`` (rows beyond the columns are not kept).

    A tall chunk is factored by CholeskyQR2 (Fukaya et al. 2014): R₁ from the Cholesky factor of
    the equilibrated Gram matrix, Q₁ = A·R₁⁻¹, then R = R₂·R₁ with R₂ from Q₁ᵀQ₁. Matrix products
    only, several times faster than Householder QR on tall, thin blocks, and as accurate when the
    columns are far from dependent (checked on R₁); otherwise, and for short blocks, Householder.
    Q₁ is A times the explicit inverse of the small equilibrated R₁ (a product, where a solve with
    one right-hand side per row costs as much as all the rest): its error, ε·cond(R₁) ≤ 1e-10, is
    what the second pass removes."""
    rows, columns = matrix.shape
    if rows < 4 * columns or not np.all(np.isfinite(matrix)):
        return np.linalg.qr(matrix, mode="r")
    try:
        gram = matrix.T @ matrix
        norms = np.sqrt(np.diag(gram))
        if np.any(norms == 0):
            raise np.linalg.LinAlgError("a zero column")
        first = np.linalg.cholesky(gram / np.outer(norms, norms)).T
        if np.linalg.cond(first) > CHOLESKY_QR_MAX_CONDITION:
            raise np.linalg.LinAlgError("too close to dependent columns for the Gram matrix")
        orthogonal = matrix @ (np.linalg.inv(first) / norms[:, None])
        return np.linalg.cholesky(orthogonal.T @ orthogonal).T @ (first * norms)
    except np.linalg.LinAlgError:
        return np.linalg.qr(matrix, mode="r")


def design_triangle(part: FitObjective, x: np.ndarray) -> np.ndarray:
    """R of [√w·J | √w·(y − prediction)] over ``part``'s rows at ``x``, J = ∂prediction/∂x: for a
    model linear in x this is the whole least-squares problem (``linear_solve``), and R's first
    p columns are the factor its uncertainties need. J is the model's design matrix when it has
    one (``FitObjective.prediction_and_design``)."""
    prediction, jacobian = part.prediction_and_design(x)
    augmented = np.empty((part.n_rows, jacobian.shape[1] + 1), order="F")     # filled a column at a time
    augmented[:, :-1] = jacobian
    np.subtract(part.target, prediction, out=augmented[:, -1])
    if part.weights is not None:
        augmented *= np.sqrt(part.weights)[:, None]
    return triangle(augmented)


def one_blas_thread():
    """BLAS limited to one thread while the chunks are visited (threadpoolctl, a dependency for
    this alone). A chunk's products (65,536 × 22) gain nothing from a second thread (a triangle:
    9.0 ms on one, 11.8 ms on two) and lose four times that when the cores are shared with other
    work (median 40 ms at a load of 8 on 2 cores): the threads wait for each other."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")


class ChunkedObjective:
    """``objective`` evaluated over row chunks of at most ``chunk_rows`` (see the module docstring)."""

    def __init__(self, objective: FitObjective, chunk_rows: int = DEFAULT_CHUNK_ROWS):
        self.base = objective
        self.n_params, self.n_rows = objective.n_params, objective.n_rows
        self.chunk_rows = max(int(chunk_rows), 1)
        self.bounds = [(i, min(i + self.chunk_rows, self.n_rows)) for i in range(0, self.n_rows, self.chunk_rows)]
        self._unpenalized = dataclasses.replace(objective.loss, l1=0.0, l2=0.0)

    def chunk(self, start: int, stop: int) -> FitObjective:
        """The objective on rows [start, stop): views of the data, the whole fit's residual scale."""
        base, rows = self.base, slice(start, stop)
        weights = None if base.weights is None else base.weights[rows]
        part = FitObjective(base.model, self._unpenalized, {k: v[rows] for k, v in base.columns.items()},
                            base.target[rows], weights, base.free, base.fixed)
        part._ls_scale = base._ls_scale
        part._tapes = {"loss": None, "residuals": None}     # a tape per chunk would hold every chunk's data
        return part

    def map_chunks(self, function) -> list:
        with one_blas_thread():
            return [function(self.chunk(start, stop)) for start, stop in self.bounds]

    # ---- least squares -------------------------------------------------------------------
    def residuals_and_jacobian(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        def augmented(part: FitObjective) -> np.ndarray:
            r, jac = part.residuals_and_jacobian(x)
            return triangle(np.column_stack([jac, r]))

        reduced = stack_triangles(self.map_chunks(augmented))
        return reduced[:, -1].copy(), reduced[:, :-1].copy()

    def residuals(self, x: np.ndarray) -> np.ndarray:
        return np.array(self.map_chunks(lambda part: float(np.linalg.norm(part.residuals(x)))))

    def model_jacobian_factor(self, x: np.ndarray) -> np.ndarray:
        """R with RᵀR = Jᵀ W J, J = ∂prediction/∂x (the matrix uncertainties are computed from)."""
        def factor(part: FitObjective) -> np.ndarray:
            jac = part.model_jacobian(x)
            if part.weights is not None:
                jac = jac * np.sqrt(part.weights)[:, None]
            return triangle(jac)

        return stack_triangles(self.map_chunks(factor))

    # ---- any loss -------------------------------------------------------------------------
    def value_and_grad(self, x: np.ndarray, batch: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        if batch is not None:
            return self.base.value_and_grad(x, batch)
        mean = self.base.loss.name != "sse"
        parts = self.map_chunks(lambda part: (part.n_rows, *part.value_and_grad(x)))
        value, grad = 0.0, np.zeros(self.n_params)
        for rows, part_value, part_grad in parts:
            share = rows / self.n_rows if mean else 1.0
            value += share * part_value
            grad += share * part_grad
        penalty, penalty_grad = self._penalty(x)
        return value + penalty, grad + penalty_grad

    def loss_value(self, x: np.ndarray) -> float:
        """The loss at ``x`` without its gradient (a final loss, a start loss): the chunks' losses
        weighted as in ``value_and_grad``, the penalty once."""
        mean = self.base.loss.name != "sse"
        parts = self.map_chunks(lambda part: (part.n_rows, part.loss_value(x)))
        value = sum((rows / self.n_rows if mean else 1.0) * part_value for rows, part_value in parts)
        return value + self._penalty(x)[0]

    def summed_hessian(self, x: np.ndarray, rows_factor: float) -> np.ndarray:
        """The Hessian of ``rows_factor`` × the loss (the summed loss uncertainties need), as the
        sum of the chunks' Hessians (a mean loss weighted by its rows; each a weighted product of
        its design for a logistic regression, ``glm_hessian``) and the penalty's once."""
        mean, n_rows = self.base.loss.name != "sse", self.n_rows     # locals: Dask ships the closure

        def part_hessian(part: FitObjective) -> np.ndarray:
            return part.summed_hessian(x, rows_factor * part.n_rows / n_rows if mean else rows_factor)

        total = np.sum(self.map_chunks(part_hessian), axis=0)
        return total + self.base.penalty_hessian(x, rows_factor)

    def _penalty(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        loss, base = self.base.loss, self.base
        if not (loss.l1 or loss.l2):
            return 0.0, np.zeros(self.n_params)
        leaves = base.leaves(x)
        return base.value_and_gradient_of(loss.penalty(base._penalized(leaves), 0.0), leaves)


def optimizer_objective(objective: FitObjective, chunk_rows: int | None, scheduler: str | None = None,
                        partitions: list | None = None, weights_column: str | None = None):
    """What the optimizer sees: the objective itself when its rows fit in one chunk, else chunked
    (the chunks' sums computed by Dask tasks when a ``scheduler`` address is given; with
    ``partitions``, one per file of a glob, the workers read the files themselves)."""
    chunk_rows = chunk_rows or DEFAULT_CHUNK_ROWS
    if scheduler:
        from workbench.pipeline.dask_sums import DaskChunkedObjective

        return DaskChunkedObjective(objective, chunk_rows, scheduler, partitions, weights_column)
    if objective.n_rows <= chunk_rows:
        return objective
    return ChunkedObjective(objective, chunk_rows)
