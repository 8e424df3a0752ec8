"""docs/engine.md stays true: its code runs, its printed output is what the code prints, and the
code it points to exists.

Every ```python block runs, in order, in one namespace (exec is fine here: it runs our own
documentation, never user input). A ```text block right after a python block is the output that
block prints, compared exactly. A ```py block quotes the engine's source: its lines must be in the
file it names, in order. References such as ``backward.py: topological_order`` must name
something that exists in ``workbench/engine/``.
"""

from __future__ import annotations

import ast
import importlib
import io
import re
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from workbench import engine as ad

DOC = Path(__file__).resolve().parents[2] / "docs" / "engine.md"
FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
CODE_REFERENCE = re.compile(r"`(\w+)\.py: (\w+)`")
ENGINE = Path(__file__).resolve().parents[2] / "workbench" / "engine"

# a learner's order (issue 14): the graph, evaluating it, forward mode, reverse mode, the
# implementation, then memory, tapes, checkpoints, higher derivatives, gradient checking
SECTION_ORDER = ["chain rule", "computational graph", "evaluating", "forward mode", "reverse mode",
                 "implementation", "add your own primitive", "memory", "tapes", "checkpoints", "higher",
                 "gradient checking", "workbench graph"]


@dataclass
class Block:
    line: int                 # line of the opening fence in the document
    language: str
    code: str
    expected: str | None = None   # for python blocks: the text block that follows, if any


def read_blocks(text: str) -> list[Block]:
    """Fenced blocks in order; a python block takes the text block right after it as its output."""
    blocks: list[Block] = []
    previous_end = None
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        language, code = match.group(1), match.group(2)
        follows_directly = previous_end is not None and not text[previous_end:match.start()].strip()
        if language == "text" and follows_directly and blocks and blocks[-1].language == "python":
            blocks[-1].expected = code
        else:
            blocks.append(Block(line, language, code))
        previous_end = match.end()
    return blocks


def run_blocks(text: str, source: str) -> None:
    """Run the python blocks of ``text`` in order in one namespace."""
    namespace: dict = {"__name__": "engine_docs"}
    for block in (b for b in read_blocks(text) if b.language == "python"):
        # pad with newlines so a traceback points at the document's own line numbers
        compiled = compile("\n" * block.line + block.code, source, "exec")
        printed = io.StringIO()
        try:
            with redirect_stdout(printed):
                exec(compiled, namespace)  # noqa: S102 - our own documentation
        except Exception as err:
            raise AssertionError(f"{source}: the block at line {block.line} failed: "
                                 f"{type(err).__name__}: {err}") from err
        if block.expected is not None:
            got, want = printed.getvalue().rstrip(), block.expected.rstrip()
            if got != want:
                raise AssertionError(f"{source}: the block at line {block.line} prints\n{got}\n"
                                     f"but the document shows\n{want}")


@pytest.fixture(scope="module")
def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def test_every_code_block_runs_in_order_and_prints_what_the_doc_shows(doc_text):
    run_blocks(doc_text, "docs/engine.md")
    python_blocks = [b for b in read_blocks(doc_text) if b.language == "python"]
    assert len(python_blocks) >= 20


def test_no_block_carries_a_harness_line(doc_text):
    for block in read_blocks(doc_text):
        assert not re.search(r"#\s*needs:|noqa|pragma", block.code), f"harness line in the block at line {block.line}"


def _quoted_in(block: Block, source: str) -> bool:
    """Every line of the quote is a line of ``source``, in order."""
    lines, at = source.splitlines(), 0
    for line in block.code.splitlines():
        try:
            at = lines.index(line, at) + 1
        except ValueError:
            return False
    return True


def test_quoted_source_is_the_engines_own_and_the_loop_fits_on_a_page(doc_text):
    quotes = [b for b in read_blocks(doc_text) if b.language == "py"]
    sources = {path.name: path.read_text(encoding="utf-8") for path in ENGINE.glob("*.py")}
    for block in quotes:
        assert any(_quoted_in(block, text) for text in sources.values()), f"quote at line {block.line}"
    loop = next(b for b in quotes if b.code.startswith("def pullback("))
    assert _quoted_in(loop, sources["pullback.py"]) and len(loop.code.splitlines()) <= 30
    body = sources["pullback.py"].split("def pullback(", 1)[1]
    code_lines = [line for line in body.split('"""', 2)[2].splitlines() if line.strip()]
    assert len(code_lines) == len(loop.code.splitlines()) - 1, "the quote is the whole loop"


def test_every_block_checks_values_unless_it_only_defines_things(doc_text):
    unchecked = []
    for block in read_blocks(doc_text):
        if block.language != "python" or block.expected is not None or "assert" in block.code:
            continue
        tree = ast.parse(block.code)
        if not all(isinstance(s, (ast.Import, ast.ImportFrom, ast.FunctionDef)) for s in tree.body):
            unchecked.append(block.line)
    assert not unchecked, f"python blocks without an assert or a shown output at lines {unchecked}"


def test_sections_come_in_the_order_one_builds_the_engine(doc_text):
    headings = [h.lower() for h in re.findall(r"^#{2,3} (.+)$", doc_text, flags=re.M)]
    positions = []
    for topic in SECTION_ORDER:
        found = [i for i, h in enumerate(headings) if topic in h]
        assert found, f"no heading about {topic!r} in docs/engine.md"
        positions.append(found[0])
    assert positions == sorted(positions), list(zip(SECTION_ORDER, positions))


def test_code_references_name_things_that_exist(doc_text):
    references = CODE_REFERENCE.findall(doc_text)
    assert len(references) >= 25
    for module_name, name in references:
        module = importlib.import_module(f"workbench.engine.{module_name}")
        assert hasattr(module, name), f"docs/engine.md mentions {module_name}.py: {name}, which does not exist"


def test_paper_example_is_worked_with_its_exact_numbers(doc_text):
    for number in ("11.652071455223084", "5.5", "1.7163378145367738"):
        assert number in doc_text
    assert "log(x1) + x1 * x2 - ad.sin(x2)" in doc_text.replace("ad.log", "log")


def test_the_runner_catches_a_wrong_output_and_a_failing_block():
    wrong_output = "```python\nprint(1 + 1)\n```\n\n```text\n3\n```\n"
    with pytest.raises(AssertionError, match="prints\n2\nbut the document shows\n3"):
        run_blocks(wrong_output, "sample.md")
    failing = "text\n\n```python\nx = 1\n```\n\n```python\nassert x == 2\n```\n"
    with pytest.raises(AssertionError, match="block at line 7 failed: AssertionError"):
        run_blocks(failing, "sample.md")
