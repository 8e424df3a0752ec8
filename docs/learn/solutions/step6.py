"""Step 6: higher derivatives: the backward pass recorded, then differentiated (reference solution)."""

from workbench import engine as ad


def second_derivative(f, x: float) -> float:
    """f''(x): the gradient of the gradient (the rules run on tensors, so they record)."""
    return float(ad.grad(ad.grad(f))(ad.Tensor(x)).item())


def hvp(f, x, v):
    """∇²f(x)·v without the Hessian: the gradient of the directional derivative ⟨∇f(x), v⟩."""
    return ad.grad(lambda y: ad.sum(ad.grad(f)(y) * v))(ad.Tensor(x)).data
