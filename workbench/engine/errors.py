"""The engine's one error type.

Every mistake a user can make with the engine (shapes that do not broadcast, a backward pass
without a seed on a non-scalar, a second backward through a released graph, non-numeric data,
asking for a gradient of something that does not require one) raises ``EngineError`` at the
call where the mistake was made, with the operation and the shapes in the message. It is a
``ValueError`` so code that already catches bad values keeps working.
"""


class EngineError(ValueError):
    """A misuse of the autodiff engine, named by operation and shapes."""
