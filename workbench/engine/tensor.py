"""``Tensor``: a float64 numpy array that remembers how it was computed.

A tensor holds its value (``data``), whether a gradient is wanted for it (``requires_grad``),
the gradient once a backward pass reaches it (``grad``), and, when it is the result of an
operation that was recorded, how it was made: it is its own node of the graph (``_prim``,
``_args``, ``_kw``, ``_inputs``, ``_wanted``; ``recording.py`` sets them), as micrograd's ``Value``
holds its children and its operation. ``tensor._node`` shows them as a ``Node``.

Why ``__slots__``, and why a tensor is its own node: an optimizer evaluates the same small graph
thousands of times, and every operation makes a tensor. Slots make each one smaller and faster to
create than a dict-backed object, and one object per operation is cheaper than two (a tensor and a
separate node): on small arrays, making objects, not numpy, is most of an operation's cost.

Why ``__array_ufunc__ = None``: it tells numpy to hand ``ndarray * tensor`` back to
``Tensor.__rmul__`` instead of looping over the tensor as an object array.
"""

from __future__ import annotations

import operator

import numpy as np

from workbench.engine.errors import EngineError
from workbench.engine.mode import MODE, note_value_dependence


_FLOAT64 = np.dtype(np.float64)


def as_float_array(value, what: str = "Tensor") -> np.ndarray:
    """Convert user data to a float64 array; refuse strings, objects and ragged lists."""
    if type(value) is np.ndarray and value.dtype == _FLOAT64:   # the commonest case: nothing to do
        return value
    if isinstance(value, Tensor):
        return value.data
    if type(value) is float:   # a Python float is a float64 already
        return np.array(value)
    try:
        array = np.asarray(value)
    except ValueError as err:  # ragged nested lists
        raise EngineError(f"{what}: data is ragged or not rectangular ({err})") from None
    if array.dtype.kind in "biuf":
        return array.astype(np.float64, copy=False)
    if array.dtype == object:
        raise EngineError(f"{what}: data is ragged or holds non-numbers (dtype object)")
    raise EngineError(f"{what}: data must be numeric, got dtype {array.dtype} ({array.dtype.kind!r})")


class Tensor:
    """A float64 array with an optional gradient and, once recorded, how it was made."""

    # ``_prim`` is None for a leaf (made by the user, or computed without recording); for a recorded
    # result, ``_prim``/``_args``/``_kw``/``_inputs``/``_wanted`` are its node (``Node`` says what
    # each holds), set by ``recording.py`` and read only when ``_prim`` is set.
    # ``_rec``/``_slot``: the recording list of the transform that made this tensor (``MODE.made``) and
    # its slot there; set only while a transform records (``recording.py``), read only when ``_rec`` matches
    __slots__ = ("data", "grad", "requires_grad", "_prim", "_args", "_kw", "_inputs", "_wanted", "_tangent",
                 "name", "_rec", "_slot", "__weakref__")
    __array_ufunc__ = None
    __array_priority__ = 1000

    def __init__(self, data, requires_grad: bool = False, name: str | None = None):
        self.data = as_float_array(data)
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self._prim = None
        self._tangent = None
        self._rec = None
        self.name = name

    # ---- plain properties -------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by a recorded operation."""
        return self._prim is None

    @property
    def _node(self) -> "Node | None":
        """How this tensor was made, as a ``Node`` (None for a leaf): for reading and printing."""
        return None if self._prim is None else Node(self)

    def item(self) -> float:
        if MODE.watch is not None and self.requires_grad:
            note_value_dependence("item() or float() made a Python number of a value that depends on "
                                  "the arguments")
        if self.data.size != 1:
            raise EngineError(f"item: only a one-element tensor converts to a number, shape is {self.shape}")
        return float(self.data.reshape(()))

    def numpy(self) -> np.ndarray:
        if MODE.watch is not None and self.requires_grad:
            note_value_dependence("numpy() took the values of a tensor that depends on the arguments")
        return self.data

    def detach(self) -> "Tensor":
        """The same values, cut from the graph: no gradient flows through the result."""
        if MODE.watch is not None and self.requires_grad:
            note_value_dependence("detach() made a constant of a value that depends on the arguments")
        return Tensor(self.data)

    def zero_grad(self) -> None:
        self.grad = None

    def backward(self, grad=None, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad."""
        from workbench.engine.backward import backward

        backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)

    def __repr__(self) -> str:
        flag = ", requires_grad=True" if self.requires_grad else ""
        op = f", op={self._prim.name}" if self._prim is not None else ""
        body = np.array2string(self.data, precision=6, threshold=8, edgeitems=2)
        return f"Tensor({body}{flag}{op})"

    def __len__(self) -> int:
        return len(self.data)

    def __float__(self) -> float:
        return self.item()

    def __bool__(self) -> bool:
        raise EngineError("Tensor: the truth value of a tensor is ambiguous; compare .data or use .item()")

    __hash__ = object.__hash__

    # ---- comparisons give plain boolean arrays: they have no derivative -----------------
    def __lt__(self, other):
        return _compare("<", operator.lt, self, other)

    def __le__(self, other):
        return _compare("<=", operator.le, self, other)

    def __gt__(self, other):
        return _compare(">", operator.gt, self, other)

    def __ge__(self, other):
        return _compare(">=", operator.ge, self, other)

    def __eq__(self, other):
        return _compare("==", operator.eq, self, other)

    def __ne__(self, other):
        return _compare("!=", operator.ne, self, other)


class Node:
    """How a recorded tensor was made, read from the tensor itself: the primitive, its arguments
    (tensors or constants), its options.

    ``inputs`` are the numpy values the forward rule saw, kept so the backward pass can hand them
    to the vjp rules without unwrapping every tensor again. ``args`` and ``inputs`` become
    ``None`` once a backward pass has released the graph: that drops the references to the
    inputs, so intermediate values can be freed.

    ``wanted`` is set when the node is recorded while a transform runs f (``MODE.made``): the
    ``(position, slot, shape)`` of each input that wants an adjoint, by its slot in that recording,
    so the sweep needs no search (``pullback.flatten_made``); None when an input was recorded
    elsewhere, and the sweep must search after all.
    """

    __slots__ = ("tensor",)

    def __init__(self, tensor: Tensor) -> None:
        self.tensor = tensor

    prim = property(lambda self: self.tensor._prim)
    args = property(lambda self: self.tensor._args)
    kw = property(lambda self: self.tensor._kw)
    inputs = property(lambda self: self.tensor._inputs)
    wanted = property(lambda self: self.tensor._wanted)

    @property
    def released(self) -> bool:
        return self.tensor._args is None

    def __repr__(self) -> str:
        state = ", released" if self.released else ""
        return f"<node {self.prim.name}{state}>"


_new_tensor = object.__new__


def leaf(data: np.ndarray, requires_grad: bool = False) -> Tensor:
    """``Tensor(data, requires_grad)`` for a float64 array that needs no checking (engine-internal)."""
    tensor = _new_tensor(Tensor)
    tensor.data, tensor.requires_grad = data, requires_grad
    tensor.grad = tensor._prim = tensor._tangent = tensor.name = tensor._rec = None
    return tensor


def _data(value):
    return value.data if isinstance(value, Tensor) else value


def _compare(symbol: str, compare, tensor: Tensor, other):
    """A comparison of values, refused with the shapes named when they cannot broadcast."""
    if MODE.watch is not None and (tensor.requires_grad or (isinstance(other, Tensor) and other.requires_grad)):
        note_value_dependence(f"a comparison ({symbol}) of values that depend on the arguments (a "
                              f"mask for where, or an if)")
    try:
        return compare(tensor.data, _data(other))
    except (ValueError, TypeError) as err:
        raise EngineError(f"compare ({symbol}): cannot compare shapes {tensor.shape} and "
                          f"{np.shape(_data(other))}: {err}") from None
