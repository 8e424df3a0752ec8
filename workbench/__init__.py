"""workbench: a command-line optimization workbench with its own autodiff engine.

Importing the package stays cheap: nothing here pulls in pandas or matplotlib, so
``workbench --help`` starts fast. Heavy modules are imported where they are used.
"""

__version__ = "0.1.0"
