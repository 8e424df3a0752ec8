"""How L-BFGS ends once the loss only rounds (issue 15): few evaluations, same optimum, a true verdict.

At a million rows a mean loss carries a few ulps of summation noise; near the minimum every
line-search trial then lands within rounding of the start and the old search spent its 30
evaluations, twice (a steepest-descent restart), before saying "at a minimum to rounding precision".
"""

from __future__ import annotations

import hashlib

import numpy as np

from workbench.optim import Options, minimize
from workbench.optim.linesearch import FLAT_TRIALS, strong_wolfe

EPS = np.finfo(float).eps


class NoisyQuadratic:
    """0.3 + ½(x−b)'A(x−b) with its last bits scrambled (±1.5 ε relative), as a mean over many rows
    is; the gradient is exact. The scramble is a hash of x, so runs repeat exactly."""

    def __init__(self, n: int = 6):
        rng = np.random.default_rng(1)
        q, _ = np.linalg.qr(rng.normal(size=(n, n)))
        self.A = q @ np.diag(np.logspace(0, 2, n)) @ q.T
        self.b = rng.normal(size=n)
        self.n_params, self.n_rows = n, None

    def value_and_grad(self, x, batch=None):
        d = x - self.b
        f = 0.3 + 0.5 * float(d @ self.A @ d)
        u = int.from_bytes(hashlib.blake2b(x.tobytes(), digest_size=4).digest(), "little") / 2 ** 32
        return f + 3.0 * (u - 0.5) * EPS * f, self.A @ d


def test_a_run_bound_by_rounding_stops_within_a_few_evaluations_of_its_last_step():
    # ftol = 0 leaves only the rounding test to end the run; the old search took 90 evaluations
    # for these 27 steps (30 + 30 in two failed searches), the same point and message.
    problem = NoisyQuadratic()
    result = minimize(problem, np.zeros(6), Options(name="lbfgs", ftol=0.0, gtol=1e-14))
    assert result.status == "converged" and result.success
    assert "at a minimum to rounding precision" in result.message
    assert result.nfev <= result.nit + 1 + 2 * FLAT_TRIALS
    assert result.nit == 27 and result.nfev == 33
    np.testing.assert_allclose(result.x, problem.b, atol=1e-9)
    assert abs(result.fun - 0.3) <= 4 * EPS * 0.3


def test_the_run_repeats_to_the_last_bit():
    first = minimize(NoisyQuadratic(), np.zeros(6), Options(name="lbfgs", ftol=0.0, gtol=1e-14))
    second = minimize(NoisyQuadratic(), np.zeros(6), Options(name="lbfgs", ftol=0.0, gtol=1e-14))
    assert first.nfev == second.nfev and np.array_equal(first.x, second.x)


def test_a_search_that_sees_only_rounding_gives_up_after_a_few_trials():
    # A line whose every value is the start's plus an ulp and whose slope never turns.
    value0 = 0.3

    def phi(alpha):
        return value0 + EPS * value0, None, -1e-20

    search = strong_wolfe(phi, value0, -1e-20, alpha0=1.0)
    assert not search.success and search.flat
    assert search.evaluations == FLAT_TRIALS


def test_a_step_that_misses_sufficient_decrease_by_rounding_only_is_accepted_where_the_slope_says_so():
    # phi(a) = 0.3 + 1e-18·(a − ½)²/2: the decrease (1e-19) is far below 0.3's rounding (5e-17),
    # so sufficient decrease fails on rounding; the exact slope still places the minimum at ½.
    value0, curvature = 0.3, 1e-18

    def phi(alpha):
        return value0 + (EPS * value0 if alpha > 0 else 0.0), None, curvature * (alpha - 0.5)

    slope0 = phi(0.0)[2]
    search = strong_wolfe(phi, value0, slope0, alpha0=1.0)
    assert search.success and not search.flat
    assert abs(search.slope) <= 0.9 * abs(slope0)
    assert search.value <= value0 + 4 * EPS * value0
    assert search.evaluations == 2 and 0.4 <= search.alpha <= 0.6


def test_a_search_with_a_visible_decrease_is_unchanged():
    # The rounding rules must not touch an ordinary search: (a − 3)², accepted at its minimum.
    def phi(alpha):
        return (alpha - 3.0) ** 2, None, 2.0 * (alpha - 3.0)

    search = strong_wolfe(phi, 9.0, -6.0, alpha0=1.0)
    assert search.success and not search.flat
    assert search.value <= 9.0 + 1e-4 * search.alpha * -6.0
    assert abs(search.slope) <= 0.9 * 6.0
