"""Checks that involve more than one key, run on the normalised mapping after ``normalize``.

The schema table knows each key on its own (and which keys apply to which model type, loss or
optimizer); what it cannot say is written here, one small function per rule: bounds against
starting values, what a built-in model needs, which file types can be read, and the pairs of
settings that cannot work together. ``apply_rules`` may also finish normalising (``model.input``
becomes ``model.inputs``).
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Callable

from workbench.config.schema import (EXCEL_SUFFIXES, LEAST_SQUARES_LOSSES, PARQUET_SUFFIXES, SINGLE_INPUT_TYPES,
                                     TEXT_SUFFIXES)
from workbench.errors import InputError

Fail = Callable[[str, str], InputError]


def _data_file(cfg: dict, fail: Fail) -> None:
    data = cfg["data"]
    suffix = PurePath(data["path"]).suffix.lower()
    readable = TEXT_SUFFIXES + EXCEL_SUFFIXES + PARQUET_SUFFIXES
    if not suffix and (PurePath(data["path"]).name in ("", ".", "..") or data["path"].endswith(("/", "\\"))):
        raise fail("data.path", f"{data['path']!r} is a folder: name a data file ({', '.join(readable)})")
    if suffix not in readable:
        if any(mark in data["path"] for mark in "*?["):
            raise fail("data.path", f"a pattern of files must end in one kind of file, such as parts/*.csv, "
                                    f"parts/*.parquet or parts/*.xlsx ({', '.join(readable)}), got {data['path']!r}")
        if not suffix:
            raise fail("data.path", f"{data['path']!r} has no extension: name a data file ({', '.join(readable)}); "
                                    f"for a folder of files, a pattern such as {data['path'].rstrip('/')}/*.csv")
        raise fail("data.path", f"cannot read files with '{suffix}': use {', '.join(readable)} "
                                f"(save .xls or .ods files as .xlsx)")
    if data.get("thousands") is not None and data["thousands"] == data.get("decimal"):
        raise fail("data.thousands", f"must differ from data.decimal (both are {data['decimal']!r})")


def _model_columns(cfg: dict, fail: Fail) -> None:
    model = cfg["model"]
    if "input" in model:
        if "inputs" in model:
            raise fail("model.input", "give input or inputs, not both")
        model["inputs"] = (model.pop("input"),)
    kind = model.get("type")
    if kind is None:
        return
    if not model.get("inputs"):
        raise fail("model.inputs", f"the {kind} model needs its input column(s)")
    if kind in SINGLE_INPUT_TYPES and len(model["inputs"]) != 1:
        raise fail("model.inputs", f"the {kind} model takes exactly one input column, "
                                   f"got {len(model['inputs'])}: {', '.join(model['inputs'])}")
    if not model.get("target"):
        raise fail("model.target", f"the {kind} model needs a target column")
    if model["target"] in model["inputs"]:
        raise fail("model.target", f"column {model['target']!r} cannot be both the target and an input")


def _param_bounds(cfg: dict, fail: Fail) -> None:
    for name, spec in cfg.get("params", {}).items():
        low, high, init = spec.get("min"), spec.get("max"), spec.get("init")
        where = f"params.{name}"
        if low is not None and high is not None and not low < high:
            raise fail(where, f"min ({low:g}) must be below max ({high:g})")
        if init is not None and low is not None and init < low:
            raise fail(where, f"init ({init:g}) is below min ({low:g})")
        if init is not None and high is not None and init > high:
            raise fail(where, f"init ({init:g}) is above max ({high:g})")
        if spec.get("fixed") and init is None:
            raise fail(where, "a fixed parameter needs an init value to be held at")


def _early_stopping(cfg: dict, fail: Fail) -> None:
    if cfg["optimizer"].get("patience") is not None and not cfg.get("validation"):
        raise fail("optimizer.patience", "early stopping watches the validation loss: also set validation "
                                         "(e.g. validation: 0.2)")


def _lm_needs_least_squares(cfg: dict, fail: Fail) -> None:
    loss = cfg["loss"]
    penalty = loss["regularization"]["l1"] or loss["regularization"]["l2"]
    if cfg["optimizer"].get("name") == "lm" and (loss["name"] not in LEAST_SQUARES_LOSSES or penalty):
        what = "has regularization" if loss["name"] in LEAST_SQUARES_LOSSES else f"is {loss['name']}"
        raise fail("optimizer.name", f"the lm optimizer needs a sum-of-squares loss (mse or sse, without "
                                     f"regularization); the loss {what}: use lbfgs or adam")


def _optimizer_settings(cfg: dict, fail: Fail) -> None:
    """What the option tables cannot say key by key (a schedule's warm-up against its length, with
    defaults derived from max_steps), checked by the very code the fit runs."""
    from workbench.optim.options import Options

    settings = {key: value for key, value in cfg["optimizer"].items() if key != "name"}
    try:
        Options.from_mapping({"name": cfg["optimizer"].get("name") or "lbfgs", **settings})
    except InputError as err:
        raise fail(err.where or "optimizer", err.detail) from None


RULES: tuple[Callable[[dict, Fail], None], ...] = (
    _data_file, _model_columns, _param_bounds, _early_stopping, _lm_needs_least_squares, _optimizer_settings,
)


def apply_rules(cfg: dict, source: str) -> dict:
    """Run every rule on the normalised ``cfg`` (changed in place and returned)."""
    def fail(path: str, message: str) -> InputError:
        return InputError(message, where=f"{source}: {path}")

    for rule in RULES:
        rule(cfg, fail)
    return cfg
