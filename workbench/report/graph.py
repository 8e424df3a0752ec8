"""Rendering a DOT graph to SVG or PNG, with or without Graphviz installed.

``render_dot(text, fmt)`` hands the DOT text to Graphviz's ``dot`` program when it is on the
PATH; otherwise (or when ``dot`` fails) it reads the DOT itself and draws a layered layout with
matplotlib, so a picture of the graph never depends on a system package. The fallback reads the
subset of DOT that graph exporters write: node and edge statements with attribute lists, quoted
or plain identifiers, default ``node``/``edge``/``graph`` attributes and ``rankdir``.

The layout is the classic layered one (Sugiyama): each node sits one layer beyond its deepest
input, then a few barycentre sweeps order each layer so that edges cross less, and an operation's
inputs that share a layer are put back in argument order. Repeated edges (``x * x`` uses x twice)
are drawn as separate arcs, each with its argument position. Every step is deterministic, so the
same graph always gives the same picture.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import warnings
from dataclasses import dataclass, field

FORMATS = ("svg", "png")
GRAPHVIZ_TIMEOUT_S = 60
MAX_LABEL_CHARS = 48

_TOKEN = re.compile(r"""
    (?P<space>\s+|//[^\n]*|/\*.*?\*/|\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<arrow>->|--)
  | (?P<punct>[{}\[\];,=:])
  | (?P<ident>[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*|-?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?))
""", re.VERBOSE | re.DOTALL)


@dataclass
class DotGraph:
    """What the fallback layout needs from a DOT text: labelled nodes, directed edges, direction."""

    nodes: dict[str, str] = field(default_factory=dict)    # id -> label, in order of appearance
    edges: list[tuple[str, str]] = field(default_factory=list)   # in order, repeats kept (x*x: two)
    rankdir: str = "TB"
    edge_labels: list[str | None] = field(default_factory=list)  # each edge's label (argument position)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos] == "<":          # an HTML-like label: take it whole, with nesting
            depth, end = 0, pos
            while end < len(text):
                depth += {"<": 1, ">": -1}.get(text[end], 0)
                end += 1
                if depth == 0:
                    break
            out.append(("html", text[pos:end]))
            pos = end
            continue
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ValueError(f"DOT: unexpected character {text[pos]!r} at offset {pos}")
        kind = match.lastgroup
        if kind != "space":
            out.append((kind, match.group()))
        pos = match.end()
    return out


def _value(kind: str, raw: str) -> str:
    """The text of an identifier, quoted string or HTML label, as a label would show it."""
    if kind == "string":
        body = raw[1:-1]
        body = re.sub(r"\\[nlr]", "\n", body)
        return re.sub(r"\\(.)", r"\1", body)
    if kind == "html":
        body = re.sub(r"<br\s*/?>", "\n", raw[1:-1], flags=re.IGNORECASE)
        body = re.sub(r"<[^>]*>", "", body)
        return body.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return raw


def _attributes(tokens, i: int) -> tuple[dict[str, str], int]:
    """Parse ``[a=b, c=d; ...]`` starting at tokens[i] == '['; return attrs and the next index."""
    attrs: dict[str, str] = {}
    i += 1
    while i < len(tokens) and tokens[i][1] != "]":
        if tokens[i][1] in (",", ";"):
            i += 1
            continue
        key = _value(*tokens[i])
        if i + 2 < len(tokens) and tokens[i + 1][1] == "=":
            attrs[key] = _value(*tokens[i + 2])
            i += 3
        else:
            attrs[key] = "true"
            i += 1
    return attrs, i + 1


def _record_text(label: str) -> str:
    """Record-shape labels ``{a|b}`` read as one field per line."""
    return label.replace("{", "").replace("}", "").replace("|", "\n").strip()


def parse_dot(text: str) -> DotGraph:
    """Nodes (with labels), edges and rankdir of a DOT graph; subgraphs are flattened."""
    tokens = _tokens(text)
    graph = DotGraph()
    i = 0
    while i < len(tokens) and tokens[i][1] != "{":     # "strict digraph name {"
        i += 1
    i += 1
    while i < len(tokens):
        kind, raw = tokens[i]
        if raw in ("{", "}", ";", ","):
            i += 1
            continue
        word = raw.lower() if kind == "ident" else None
        if word in ("node", "edge", "graph") and i + 1 < len(tokens) and tokens[i + 1][1] == "[":
            attrs, i = _attributes(tokens, i + 1)
            if word == "graph" and "rankdir" in attrs:
                graph.rankdir = attrs["rankdir"].upper()
            continue
        if word == "subgraph":
            i += 2 if i + 1 < len(tokens) and tokens[i + 1][0] in ("ident", "string") else 1
            continue
        if i + 1 < len(tokens) and tokens[i + 1][1] == "=":     # graph attribute: rankdir=LR
            if _value(kind, raw).lower() == "rankdir":
                graph.rankdir = _value(*tokens[i + 2]).upper()
            i += 3
            continue
        chain = [_value(kind, raw)]
        i += 1
        while i < len(tokens) and tokens[i][1] == ":":       # ports: name:port
            i += 2
        while i + 1 < len(tokens) and tokens[i][0] == "arrow":
            chain.append(_value(*tokens[i + 1]))
            i += 2
            while i < len(tokens) and tokens[i][1] == ":":
                i += 2
        attrs = {}
        if i < len(tokens) and tokens[i][1] == "[":
            attrs, i = _attributes(tokens, i)
        for name in chain:
            graph.nodes.setdefault(name, name)
        if len(chain) == 1 and "label" in attrs:
            graph.nodes[chain[0]] = _record_text(attrs["label"])
        graph.edges += list(zip(chain[:-1], chain[1:]))
        graph.edge_labels += [attrs.get("label")] * (len(chain) - 1)
    return graph


# ---- the layered layout --------------------------------------------------------------------------

def _layers(graph: DotGraph) -> list[list[str]]:
    """Longest-path layering, sources moved next to their first user, then barycentre ordering."""
    inputs: dict[str, list[str]] = {n: [] for n in graph.nodes}
    outputs: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for a, b in graph.edges:
        inputs[b].append(a)
        outputs[a].append(b)
    depth: dict[str, int] = {}
    for start in graph.nodes:                     # iterative DFS: graphs may be deep
        stack = [(start, False)]
        while stack:
            node, expanded = stack.pop()
            if node in depth:
                continue
            if expanded:
                depth[node] = 1 + max((depth.get(p, 0) for p in inputs[node] if p != node), default=-1)
                continue
            stack.append((node, True))
            stack.extend((p, False) for p in inputs[node] if p not in depth and p != node)
    for node in graph.nodes:     # a leaf or constant sits just before the first operation using it
        if not inputs[node] and outputs[node]:
            depth[node] = max(0, min(depth[m] for m in outputs[node]) - 1)
    layers: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for node in graph.nodes:
        layers[depth[node]].append(node)
    for _ in range(4):
        for neighbours, sweep in ((inputs, layers[1:]), (outputs, layers[-2::-1])):
            index = {n: k for layer in layers for k, n in enumerate(layer)}
            for layer in sweep:
                place = {n: k for k, n in enumerate(layer)}
                layer.sort(key=lambda n: (sum(index[m] for m in neighbours[n]) / len(neighbours[n])
                                          if neighbours[n] else place[n]))
    _inputs_in_argument_order(graph, layers)
    return [layer for layer in layers if layer]


def _argument_position(graph: DotGraph, k: int) -> int:
    labels = graph.edge_labels
    label = labels[k] if k < len(labels) else None
    return int(label) if label is not None and label.isdigit() else k


def _inputs_in_argument_order(graph: DotGraph, layers: list[list[str]]) -> None:
    """Within a layer, the inputs of one operation sit left to right in argument order (a − b is
    not b − a), keeping the places the crossing-reduction sweeps gave the group."""
    layer_of = {n: i for i, layer in enumerate(layers) for n in layer}
    by_target: dict[str, list[tuple[int, str]]] = {}
    for k, (a, b) in enumerate(graph.edges):
        by_target.setdefault(b, []).append((_argument_position(graph, k), a))
    for inputs in by_target.values():
        ordered = list(dict.fromkeys(a for _, a in sorted(inputs)))
        for layer in layers:
            members = [a for a in ordered if layer_of.get(a) is not None and layers[layer_of[a]] is layer]
            if len(members) < 2:
                continue
            places = sorted(layer.index(a) for a in members)
            for place, a in zip(places, members):
                layer[place] = a


def _short(label: str) -> str:
    lines = [line if len(line) <= MAX_LABEL_CHARS else line[:MAX_LABEL_CHARS - 1] + "…"
             for line in label.splitlines() or [""]]
    return "\n".join(lines[:6])


def _box_size(label: str, size: float) -> tuple[float, float]:
    """Width and height in inches of a monospaced label with its padding."""
    lines = label.splitlines() or [""]
    return (max(len(line) for line in lines) * 0.6 * size + 14) / 72, (len(lines) * 1.25 * size + 12) / 72


def _positions(layers, labels, size: float, horizontal: bool) -> dict[str, tuple[float, float]]:
    """Box centres in inches: layers one after another, boxes side by side within a layer."""
    gap_within, gap_between = 0.25, 0.45
    pos, along = {}, 0.0
    for layer in layers:
        boxes = [_box_size(labels[n], size) for n in layer]
        thick = max((w if horizontal else h) for w, h in boxes)
        spans = [(h if horizontal else w) for w, h in boxes]
        across = -(sum(spans) + gap_within * (len(spans) - 1)) / 2
        for node, span in zip(layer, spans):
            centre = across + span / 2
            pos[node] = (along + thick / 2, -centre) if horizontal else (centre, -(along + thick / 2))
            across += span + gap_within
        along += thick + gap_between
    return pos


def draw_layered(graph: DotGraph, fmt: str) -> bytes:
    """The graph drawn with matplotlib in layers; returns the image bytes in ``fmt``."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    size = 7.5
    labels = {n: _short(label) for n, label in graph.nodes.items()}
    horizontal = graph.rankdir in ("LR", "RL")
    pos = _positions(_layers(graph), labels, size, horizontal)
    if graph.rankdir in ("RL", "BT"):
        pos = {n: (-x, y) if horizontal else (x, -y) for n, (x, y) in pos.items()}
    half = {n: _box_size(labels[n], size) for n in pos}
    left = min((pos[n][0] - half[n][0] / 2 for n in pos), default=0.0) - 0.2
    right = max((pos[n][0] + half[n][0] / 2 for n in pos), default=1.0) + 0.2
    bottom = min((pos[n][1] - half[n][1] / 2 for n in pos), default=0.0) - 0.2
    top = max((pos[n][1] + half[n][1] / 2 for n in pos), default=1.0) + 0.2
    fig = Figure(figsize=(min(60.0, right - left), min(60.0, top - bottom)))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    ax.axis("off")
    texts = {}
    mono, sans = _families()
    for node, label in labels.items():
        texts[node] = ax.text(*pos[node], label, ha="center", va="center", fontsize=size,
                              family=mono, zorder=3,
                              bbox=dict(boxstyle="round,pad=0.4", facecolor="#eef3fb", edgecolor="#1f5fa8",
                                        linewidth=0.9))
    seen: dict[tuple[str, str], int] = {}
    copies = {edge: graph.edges.count(edge) for edge in set(graph.edges)}
    for k, (a, b) in enumerate(graph.edges):   # after the boxes, so each arrow is clipped to them
        repeat = seen[(a, b)] = seen.get((a, b), -1) + 1   # x*x: the second edge bends the other way
        bend = 0.0 if copies[(a, b)] == 1 else (0.25 if repeat % 2 == 0 else -0.25) * (1 + repeat // 2)
        ax.annotate("", xy=pos[b], xytext=pos[a], zorder=4,
                    arrowprops=dict(arrowstyle="-|>", color="#4a5568", lw=0.8, shrinkA=1, shrinkB=1,
                                    connectionstyle=f"arc3,rad={bend}",
                                    patchA=texts[a].get_bbox_patch(), patchB=texts[b].get_bbox_patch()))
        label = graph.edge_labels[k] if k < len(graph.edge_labels) else None
        if label:
            (xa, ya), (xb, yb) = pos[a], pos[b]
            ax.text((xa + xb) / 2 - bend * (yb - ya) / 2, (ya + yb) / 2 + bend * (xb - xa) / 2, label,
                    fontsize=size - 1, color="#4a5568", ha="center", va="center", zorder=5, family=sans,
                    bbox=dict(boxstyle="circle,pad=0.1", facecolor="white", edgecolor="none"))
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # A glyph no font has (rare: the CJK font covers Japanese names) is drawn as a box, not reported.
        warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)
        fig.savefig(buffer, format=fmt, dpi=110)
    return buffer.getvalue()


def _families() -> tuple[list[str], list[str]]:
    """Font lists for the boxes (monospaced) and the edge labels, each falling back to the CJK
    font the report's plots use (``report.fonts``), so that column names in Japanese are drawn
    rather than shown as empty boxes."""
    from matplotlib import font_manager

    from workbench.report.fonts import font_face

    try:
        cjk = font_face("ja")
        if cjk.family not in {f.name for f in font_manager.fontManager.ttflist}:
            font_manager.fontManager.addfont(str(cjk.regular))
    except (FileNotFoundError, OSError, RuntimeError):
        return ["DejaVu Sans Mono"], ["DejaVu Sans"]
    return ["DejaVu Sans Mono", cjk.family], ["DejaVu Sans", cjk.family]


def with_rankdir(text: str, rankdir: str) -> str:
    """The DOT text laid out in direction ``rankdir`` (TB: inputs at the top, the output below)."""
    replaced, count = re.subn(r"rankdir\s*=\s*\"?[A-Za-z]+\"?", f"rankdir={rankdir}", text, count=1)
    if count:
        return replaced
    return re.sub(r"\{", "{\n  rankdir=" + rankdir + ";", text, count=1)


# ---- Graphviz when present -----------------------------------------------------------------------

def graphviz_binary() -> str | None:
    """Path of Graphviz's ``dot`` program, or None when it is not installed."""
    return shutil.which("dot")


def _graphviz(text: str, fmt: str, binary: str) -> bytes | None:
    try:
        done = subprocess.run([binary, f"-T{fmt}"], input=text.encode("utf-8"), capture_output=True,
                              timeout=GRAPHVIZ_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 and done.stdout else None


def render_dot(text: str, fmt: str = "svg", engine: str = "auto") -> tuple[bytes, str]:
    """Render DOT ``text`` as ``fmt`` (svg or png); returns (bytes, the renderer that drew it).

    ``engine`` is "auto" (Graphviz if installed, else matplotlib), "graphviz" or "matplotlib";
    Graphviz failing for any reason falls back to matplotlib rather than failing.
    """
    if fmt not in FORMATS:
        raise ValueError(f"cannot render a graph as {fmt!r}; formats: {', '.join(FORMATS)}")
    binary = graphviz_binary() if engine in ("auto", "graphviz") else None
    if binary is not None:
        drawn = _graphviz(text, fmt, binary)
        if drawn is not None:
            return drawn, "graphviz"
    return draw_layered(parse_dot(text), fmt), "matplotlib"
