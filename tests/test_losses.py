"""Losses: values against their closed forms, stability, weights, regularization, and exact gradients."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from workbench import engine as ad
from workbench.losses import Loss

PRED = np.array([0.5, -1.0, 2.0, 4.0])
TARGET = np.array([0.0, 0.0, 1.0, 1.0])
R = PRED - TARGET

CLOSED_FORMS = {
    "mse": np.mean(R**2),
    "sse": np.sum(R**2),
    "mae": np.mean(np.abs(R)),
    "huber": np.mean(np.where(np.abs(R) <= 1.0, 0.5 * R**2, np.abs(R) - 0.5)),
    "soft_l1": np.mean(2 * (np.sqrt(1 + R**2) - 1)),
    "log_cosh": np.mean(np.log(np.cosh(R))),
    "cross_entropy": np.mean(np.log1p(np.exp(PRED)) - TARGET * PRED),
}


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_loss_value_matches_its_closed_form(name):
    value = Loss(name=name)(ad.Tensor(PRED), TARGET)
    assert float(value.data) == pytest.approx(CLOSED_FORMS[name], rel=1e-13)


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_loss_gradient_is_exact(name):
    report = ad.gradcheck(lambda p: Loss(name=name, delta=0.7)(p, TARGET), PRED + 0.013)
    assert report.passed, str(report)


def test_huber_delta_switches_between_quadratic_and_linear():
    loss = Loss(name="huber", delta=2.0)
    r = np.array([1.0, 3.0])
    assert float(loss(ad.Tensor(r), np.zeros(2)).data) == pytest.approx((0.5 * 1.0 + 2.0 * (3.0 - 1.0)) / 2)


def test_cross_entropy_on_logits_is_finite_at_extreme_logits():
    logits = np.array([-1e3, 1e3, -1e3, 1e3])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        value, grad = ad.value_and_grad(lambda z: Loss(name="cross_entropy")(z, y))(logits)
    assert value == pytest.approx(2e3 / 4)
    assert np.all(np.isfinite(grad)) and grad == pytest.approx([0.0, 0.0, -0.25, 0.25])


def test_cross_entropy_on_probabilities():
    p = np.array([0.9, 0.2])
    y = np.array([1.0, 0.0])
    value = Loss(name="cross_entropy", from_logits=False)(ad.Tensor(p), y)
    assert float(value.data) == pytest.approx(-np.mean(np.log([0.9, 0.8])))


def test_weights_multiply_each_rows_penalty():
    w = np.array([1.0, 0.0, 2.0, 0.5])
    value = Loss(name="mse")(ad.Tensor(PRED), TARGET, weights=w)
    assert float(value.data) == pytest.approx(np.mean(w * R**2))


def test_regularization_adds_l1_and_l2_penalties():
    theta = ad.Tensor(np.array([1.0, -2.0]))
    value = Loss(name="mse", l1=0.1, l2=0.01)(ad.Tensor(PRED), TARGET, flat_params=[theta])
    assert float(value.data) == pytest.approx(np.mean(R**2) + 0.1 * 3.0 + 0.01 * 5.0)
    assert not Loss(name="mse", l2=0.01).is_least_squares and Loss(name="sse").is_least_squares
