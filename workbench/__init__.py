"""workbench: a command-line optimization workbench with its own autodiff engine.

Importing the package stays cheap: nothing here pulls in pandas or matplotlib, so
``workbench --help`` starts fast. Heavy modules are imported where they are used.
"""

__version__ = "0.1.0"

_API = ("fit", "load", "Fit")       # workbench.fit(...) and friends, from workbench/api.py


def __getattr__(name: str):
    """``workbench.fit``, ``workbench.load`` and ``workbench.Fit``, imported on first use so that
    ``import workbench`` (and the CLI's start) does not pay for them."""
    if name in _API:
        from workbench import api

        return getattr(api, name)
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")
