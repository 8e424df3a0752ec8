"""Reading YAML that can never hurt the machine: bounded size, depth, aliases and numbers.

``load_yaml_file(path, limits=None, source=None)`` and ``load_yaml_text(text, source, limits=None)``
return the YAML value (any type) or raise ``InputError`` naming the file, the line and, where it
can, the dotted key. Everything is read with PyYAML's safe loader, which builds plain data and
never objects; on top of it, composing a node checks the limits *before* anything is expanded:

* the file's size (checked before it is read; only regular files are read, so a FIFO never hangs);
* how deep mappings and lists nest (so a 300-deep ``[[[...]]]`` never reaches Python's recursion
  limit);
* how many nodes the document holds once every alias is expanded: each anchored node remembers
  its expanded size, so a "billion laughs" alias bomb is refused after a few aliases, long before
  anything is copied; an alias to the collection that contains it is refused too;
* the length of one scalar, and the length of an integer (Python refuses to convert more than
  4300 digits; a float overflows past 309);
* keys given twice in one mapping (YAML would silently keep the last).

The limits are set by whoever runs the workbench, never by the file: the environment variables
in ``YamlLimits.ENV`` override the defaults (the README lists them).
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from workbench.errors import InputError, env_limit

__all__ = ["YamlLimits", "load_yaml_file", "load_yaml_text", "shorten", "regular_file_problem"]


@dataclass(frozen=True)
class YamlLimits:
    max_bytes: int = 1_000_000          # a config is a page of text; sweeps a few pages
    max_depth: int = 50                 # real configs nest 4 levels
    max_nodes: int = 50_000             # counted with every alias expanded
    max_scalar_chars: int = 100_000
    max_int_digits: int = 300           # above ~309 digits a number is not a float any more

    ENV = {"max_bytes": "WORKBENCH_YAML_MAX_BYTES", "max_depth": "WORKBENCH_YAML_MAX_DEPTH",
           "max_nodes": "WORKBENCH_YAML_MAX_NODES", "max_scalar_chars": "WORKBENCH_YAML_MAX_SCALAR",
           "max_int_digits": "WORKBENCH_YAML_MAX_INT_DIGITS"}

    @classmethod
    def from_env(cls) -> YamlLimits:
        """The defaults, each overridden by its environment variable when that is set."""
        return cls(**{f.name: env_limit(cls.ENV[f.name], f.default) for f in fields(cls)})

    def hint(self, name: str) -> str:
        return f"the limit is {getattr(self, name):,} (raise it with {self.ENV[name]})"


def shorten(text: str, width: int = 60) -> str:
    """``text`` on one line and at most ``width`` characters, for echoing input in a message."""
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[:width - 3] + "..."


def regular_file_problem(path: Path, noun: str = "file") -> str | None:
    """Why ``path`` cannot be read as a ``noun`` (missing, a folder, a FIFO, a device), or None."""
    try:
        mode = path.stat().st_mode            # follows symlinks: a link to a regular file is fine
    except FileNotFoundError:
        return f"{noun} not found"
    except OSError as err:
        return f"cannot read the {noun}: {err.strerror or err}"
    if stat.S_ISDIR(mode):
        return f"is a folder, not a {noun}"
    if not stat.S_ISREG(mode):
        kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or
                stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
        return f"is {kind}; only regular files are read"
    return None


def _read_bounded(path: Path, source: str, limits: YamlLimits, noun: str) -> str:
    problem = regular_file_problem(path, noun)
    if problem is not None:
        raise InputError(problem, where=source)
    try:
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise InputError(f"the file is {size:,} bytes; {limits.hint('max_bytes')}", where=source)
        with open(path, "rb") as handle:
            data = handle.read(limits.max_bytes + 1)
    except OSError as err:
        raise InputError(f"cannot read the {noun}: {err.strerror or err}", where=source) from None
    if len(data) > limits.max_bytes:              # it grew between stat and read
        raise InputError(f"the file is over {limits.max_bytes:,} bytes; {limits.hint('max_bytes')}", where=source)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(f"not a text file (byte {err.start} is not UTF-8); YAML is text", where=source) from None


def load_yaml_file(path: Path | str, limits: YamlLimits | None = None, source: str | None = None,
                   noun: str = "YAML file") -> Any:
    """The YAML value in the file at ``path`` (``None`` for an empty file); ``InputError`` otherwise.

    ``noun`` names the file in messages ("config file not found", "is a folder, not a sweep file").
    """
    path = Path(path)
    source = source or str(path)
    limits = limits or YamlLimits.from_env()
    return load_yaml_text(_read_bounded(path, source, limits, noun), source, limits)


def load_yaml_text(text: str, source: str, limits: YamlLimits | None = None) -> Any:
    """The YAML value of ``text``; every problem is an ``InputError`` prefixed with ``source``."""
    import yaml

    from workbench.config.yaml_nodes import LimitedLoader, reject_duplicate_keys

    limits = limits or YamlLimits.from_env()
    if len(text) > limits.max_bytes:
        raise InputError(f"the text is {len(text):,} characters; {limits.hint('max_bytes')}", where=source)
    try:
        loader = LimitedLoader(text, limits, source)      # the reader refuses control characters here
    except yaml.YAMLError as err:
        raise syntax_error(err, source) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        reject_duplicate_keys(node, source)
        return loader.construct_document(node)
    except yaml.YAMLError as err:
        raise syntax_error(err, source) from None
    finally:
        loader.dispose()


def syntax_error(err: Any, source: str) -> InputError:
    """One line for a PyYAML error: the problem and its line and column."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    context, context_mark = getattr(err, "context", None), getattr(err, "context_mark", None)
    if context and context_mark is not None and context_mark is not mark:
        problem += f" ({context} at line {context_mark.line + 1})"
    if "\\t" in problem or "\t" in problem:
        problem += "; indent with spaces, not tabs"
    kind = "YAML value error" if type(err).__name__ == "ConstructorError" else "YAML syntax error"
    return InputError(f"{kind}{at}: {shorten(problem, 200)}", where=source)

