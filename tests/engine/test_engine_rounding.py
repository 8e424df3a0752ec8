"""The engine's gradients round as the rules are written, to the last bit.

L-BFGS on an ill-conditioned NIST problem follows its gradient to the last bit: summing a scalar
parameter's share with a dot product instead of numpy's pairwise sum moved MGH17 from converging
in 75 steps to 1000 steps without converging. A speed-up that changes how a rule rounds shows up
here first, against the same formulas written out with numpy in the rules' own order."""

from __future__ import annotations

import numpy as np

from workbench import engine as ad


def _thurber():
    rng = np.random.default_rng(1)   # noise of many sizes: a dot product would round 5 of the 7 sums otherwise
    x = np.sort(rng.uniform(-3.0, 2.0, 37))
    y = (1288 + 1491 * x + 583 * x ** 2 + 75 * x ** 3) / (1 + 0.966 * x + 0.398 * x ** 2 + 0.0497 * x ** 3)
    return x, x * x, x * x * x, y + rng.normal(0, 5, 37) * 10 ** rng.uniform(-2, 2, 37)


def test_scalar_parameters_of_a_rational_model_round_as_their_rules_are_written():
    x, x2, x3, y = _thurber()
    b = (1300.0, 1500.0, 500.0, 75.0, 1.0, 0.4, 0.05)

    def loss(b1, b2, b3, b4, b5, b6, b7):
        r = (b1 + b2 * x + b3 * x2 + b4 * x3) / (1.0 + b5 * x + b6 * x2 + b7 * x3) - y
        return ad.sum(r * r)
    value, grads = ad.value_and_grad(loss, tuple(range(7)))(*b)

    num = b[0] + b[1] * x + b[2] * x2 + b[3] * x3
    den = 1.0 + b[4] * x + b[5] * x2 + b[6] * x3
    q = num / den
    r = q - y
    g_r = 1.0 * r + 1.0 * r                  # r·r: ḡ·b and ḡ·a, added
    g_num = g_r / den                         # a/b: ā = ḡ/b
    g_den = -g_r * q / den                    # b̄ = −ḡ·y/b
    pairwise = np.add.reduce
    expected = (pairwise(g_num), pairwise(g_num * x), pairwise(g_num * x2), pairwise(g_num * x3),
                pairwise(g_den * x), pairwise(g_den * x2), pairwise(g_den * x3))
    assert value == np.add.reduce(r * r)
    for got, want in zip(grads, expected):
        assert got == want                     # bit for bit


def test_tanh_and_sigmoid_rules_round_as_written():
    x = np.linspace(-2.0, 2.0, 11)
    w = np.random.default_rng(2).normal(size=11) * 10 ** np.linspace(-3, 3, 11)   # the adjoint ḡ
    t = np.tanh(x)
    assert np.array_equal(ad.grad(lambda v: ad.sum(ad.tanh(v) * w))(x), w * (1.0 - t * t))
    s = ad.sigmoid(x)
    assert np.array_equal(ad.grad(lambda v: ad.sum(ad.sigmoid(v) * w))(x), w * (s * (1.0 - s)))


def test_numpys_row_sums_are_its_sums_of_each_row_alone():
    """What ``pullback``'s waiting shares rely on: one call summing the rows of a stack gives each
    row's pairwise sum bit for bit, at every length up to the longest share that waits."""
    from workbench.engine.pullback import _BATCHED

    rng = np.random.default_rng(3)
    for length in [*range(1, 140), 255, 256, 257, 1000, 4095, _BATCHED]:
        rows = rng.normal(size=(5, length)) * 10 ** rng.uniform(-8, 8, size=(5, length))
        together = np.add.reduce(np.array(list(rows)), 1)
        assert [float(t) for t in together] == [float(np.add.reduce(row, None)) for row in rows], length


def _both_ways(f, point):
    """f's gradient by a transform (whose scalar leaves' shares wait) and by ``Tensor.backward``
    (which sums each share at once)."""
    _, grads = ad.value_and_grad(f, tuple(range(len(point))))(*point)
    leaves = [ad.Tensor(np.array(v), requires_grad=True) for v in point]
    f(*leaves).backward()
    return [float(g) for g in grads], [leaf.grad for leaf in leaves]


def test_scalar_leaves_waiting_to_be_summed_get_the_search_paths_bits():
    """The transforms let a scalar's shares wait and sum them together (``pullback``'s ``leaves``);
    ``Tensor.backward`` sums each at once. Same bits either way: shares of one length summed in one
    call; parameters used several times, through another scalar, with shares of different lengths
    and one longer than any that waits."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=37) * 10 ** rng.uniform(-6, 6, 37)   # magnitudes a dot product would round apart
    x2, z, long = x * x, rng.normal(size=5), rng.normal(size=5000)

    def one_length(a, b, c, d, e):
        return ad.sum((a + b * x + c * x2) / (1.0 + d * x + e * x2))
    got, want = _both_ways(one_length, (1.5, -0.3, 2.0, 0.2, 0.01))
    assert got == want   # bit for bit

    def mixed(a, b, c, d):
        return (ad.sum(a * x + b * x * x + a) + ad.sum(c * z) * a + ad.sum(d * long) + a * b * c
                + ad.sum(ad.exp(b * z)))
    got, want = _both_ways(mixed, (0.7, -1.3, 2.1, 0.01))
    assert got == want
