"""The tutorial (docs/tutorial.ipynb): its rendering, docs/tutorial.md, cannot drift from it
(fast), and it executes without an error, writing only into a temporary folder (slow: about
half a minute)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import render_tutorial

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"
MARKDOWN = ROOT / "docs" / "tutorial.md"
RERENDER = "the rendered tutorial is out of date: run `.venv/bin/python tools/render_tutorial.py`"


def _cells(kind: str) -> list[dict]:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    return [c for c in nb["cells"] if c["cell_type"] == kind]


def _source(cell: dict) -> str:
    src = cell["source"]
    return ("".join(src) if isinstance(src, list) else src).strip("\n")


def test_the_rendered_tutorial_has_the_notebooks_code():
    rendered = render_tutorial.code_blocks(MARKDOWN.read_text(encoding="utf-8"))
    assert rendered == [_source(c) for c in _cells("code")], RERENDER


def test_the_rendered_tutorial_has_the_notebooks_text():
    page = MARKDOWN.read_text(encoding="utf-8")
    for cell in _cells("markdown"):
        assert _source(cell) in page, RERENDER


def test_the_rendered_tutorials_figures_are_there_and_no_others():
    linked = set(re.findall(r"\]\(img/tutorial/([^)]+)\)", MARKDOWN.read_text(encoding="utf-8")))
    on_disk = {p.name for p in (ROOT / "docs" / "img" / "tutorial").glob("*.png")}
    assert linked and linked == on_disk, RERENDER


def test_the_notebook_is_committed_without_outputs():
    # outputs belong in docs/tutorial.md; in the notebook they would hold temporary paths and times
    for cell in _cells("code"):
        assert not cell.get("outputs") and cell.get("execution_count") is None, (
            "clear the notebook's outputs before committing (Jupyter: Edit > Clear Outputs of All Cells)"
        )


@pytest.mark.slow
def test_the_tutorial_notebook_executes(tmp_path):
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    nb, seconds = render_tutorial.execute(NOTEBOOK, tmp_path, env={"TMPDIR": str(tmp)})

    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    texts = [
        "".join(o.text) if o.output_type == "stream" else o.get("data", {}).get("text/plain", "")
        for o in outputs
    ]
    text = "\n".join(texts)
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 2  # the two figures
    assert "us_steps_back.yaml: ok" in text  # the variant validates
    assert re.search(r"severity: 0.6 +# us_steps_back.yaml:\d+", text)  # --explain: where values come from
    assert re.search(r"leakage: 0.1 +# sim/scenarios/baseline.yaml:\d+", text)
    # the comparison: B - A with 95% intervals for every state, and the table read back from compare.csv
    assert "mean over 30 paired replications and 95% t interval (n = 30)" in text
    number = r"[+-]?[0-9.e+-]+"
    assert re.search(rf"\| United States \|.*\| {number} \[{number}, {number}\] \|", text)
    table = next(t for t in texts if "excludes 0" in t)
    assert all(col in table for col in ("mean_a", "mean_b", "diff", "lo", "hi"))
    assert "is exactly 0 up to 2025.00" in text  # paired runs agree until the changes (the prose says so)
    assert "policy event only" in text
    # everything the notebook wrote went into its temporary folder, which it deleted at the end
    assert list(tmp.iterdir()) == []
    assert {p.name for p in tmp_path.iterdir()} == {"tmp", ".kernel"}
    print(f"the tutorial executed in {seconds:.0f} s")
