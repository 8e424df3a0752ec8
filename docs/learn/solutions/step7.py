"""Step 7: this engine: a primitive of your own, its rules checked (reference solution)."""

import numpy as np

from workbench import engine as ad

# softsign(x) = x / (1 + |x|), f'(x) = 1 / (1 + |x|)²
softsign = ad.Primitive("softsign", lambda x: x / (1.0 + np.abs(x)),
                        lambda g, y, x: g / (1.0 + ad.abs(x)) ** 2,     # vjp: x̄ = ḡ·f'(x)
                        lambda t, y, x: t / (1.0 + ad.abs(x)) ** 2,     # jvp: ẏ = f'(x)·ẋ
                        elementwise=True)
