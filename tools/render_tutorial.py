"""Execute docs/tutorial.ipynb and render it, with its outputs, as docs/tutorial.md.

    .venv/bin/python tools/render_tutorial.py

The notebook is read into memory and executed by nbclient, with the `python3` kernel of this
interpreter (ipykernel's; jupyter_client starts it with this `sys.executable`), in a temporary
folder that is deleted afterwards: the notebook file is never rewritten, and the run writes
nothing into the repository. The kernel draws with matplotlib-inline's backend (Agg
underneath: no display needed), whatever MPLBACKEND says here, so the figures become outputs;
its matplotlib and IPython folders are temporary too.

docs/tutorial.md gets the markdown cells as they are, each code cell as a ```python block and
its text outputs (printed text, a result's plain-text form) as ``` blocks of at most MAX_LINES
lines. Figures are written as docs/img/tutorial/cell-<n>.png (n counts the code cells from 1,
as Jupyter's execution counts do in a fresh run) and linked; figures of earlier renderings are
removed. tests/test_tutorial.py checks that the code blocks of docs/tutorial.md are the
notebook's code cells, and (slow) that the notebook executes.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"
MARKDOWN = ROOT / "docs" / "tutorial.md"
IMAGES = ROOT / "docs" / "img" / "tutorial"
CELL_TIMEOUT = 600  # seconds per cell
MAX_LINES = 60  # of one text output in the rendered page
INLINE = "module://matplotlib_inline.backend_inline"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
FENCE = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)


def execute(
    notebook: Path, workdir: Path, timeout: int = CELL_TIMEOUT, env: dict[str, str] | None = None
) -> tuple[Any, float]:
    """Execute the notebook (read into memory) with its kernel's working folder `workdir` and
    `env` added to its environment; return the executed notebook and the wall time in seconds.
    A cell that fails raises nbclient's CellExecutionError, which shows the cell and the
    traceback."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    home = workdir / ".kernel"  # the kernel's own files: connection file, matplotlib, IPython
    (home / "mpl").mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "MPLBACKEND": INLINE,
        "MPLCONFIGDIR": str(home / "mpl"),
        "IPYTHONDIR": str(home / "ipython"),
        **(env or {}),
    }
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    km = client.create_kernel_manager()
    km.connection_file = str(home / "kernel.json")
    if len(str(home / "ipc")) < 90:  # a socket's path has at most 107 bytes (ipc-<port> is added)
        km.transport, km.ip = "ipc", str(home / "ipc")  # local sockets in the temporary folder, not TCP
    t0 = time.perf_counter()
    client.execute(env=env)
    return nb, time.perf_counter() - t0


def code_blocks(markdown: str) -> list[str]:
    """The ```python blocks of a markdown text, in order."""
    return [block.rstrip("\n") for block in FENCE.findall(markdown)]


def _text(text: str | list[str]) -> str:
    text = "".join(text) if isinstance(text, list) else text
    lines = ANSI.sub("", text).rstrip().splitlines()
    if len(lines) > MAX_LINES:
        lines = [*lines[:MAX_LINES], f"... ({len(lines) - MAX_LINES} more lines)"]
    return "\n".join(line.rstrip() for line in lines)


def render(nb: Any, seconds: float) -> tuple[str, dict[str, bytes]]:
    """The markdown page of an executed notebook and its figures (file name -> PNG)."""
    import mesa

    import sim

    parts = [
        "<!-- Generated from docs/tutorial.ipynb by tools/render_tutorial.py: edit the notebook, then run\n"
        "     `.venv/bin/python tools/render_tutorial.py`. -->",
        "*This page is the notebook [`tutorial.ipynb`](tutorial.ipynb), executed, with its outputs.*",
    ]
    images: dict[str, bytes] = {}
    n = 0
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            parts.append(cell.source.strip("\n"))
            continue
        if cell.cell_type != "code":
            continue
        n += 1
        parts.append(f"```python\n{cell.source.strip(chr(10))}\n```")
        streams: list[str] = []
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                if out.name == "stdout":
                    streams.append("".join(out.text))
                else:
                    print(f"code cell {n} wrote to stderr (left out):\n{_text(out.text)}", file=sys.stderr)
                continue
            if streams:
                parts.append(f"```\n{_text(''.join(streams))}\n```")
                streams = []
            data = out.get("data", {})
            if "image/png" in data:
                name = f"cell-{n}.png" if f"cell-{n}.png" not in images else f"cell-{n}-{len(images) + 1}.png"
                images[name] = base64.b64decode(data["image/png"])
                parts.append(f"![Figure of code cell {n}](img/tutorial/{name})")
            elif "text/plain" in data:
                parts.append(f"```\n{_text(data['text/plain'])}\n```")
        if streams:
            parts.append(f"```\n{_text(''.join(streams))}\n```")
    parts.append(
        f"*Executed by `tools/render_tutorial.py` on {dt.date.today().isoformat()} in {seconds:.0f} s "
        f"(Python {platform.python_version()}, sim {sim.__version__}, Mesa {mesa.__version__}).*"
    )
    return "\n\n".join(parts) + "\n", images


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="render-tutorial-") as tmp:
        nb, seconds = execute(NOTEBOOK, Path(tmp))
    page, images = render(nb, seconds)
    IMAGES.mkdir(parents=True, exist_ok=True)
    for old in IMAGES.glob("cell-*.png"):
        old.unlink()
    for name, png in images.items():
        (IMAGES / name).write_bytes(png)
    MARKDOWN.write_text(page, encoding="utf-8")
    print(
        f"executed {NOTEBOOK.relative_to(ROOT)} in {seconds:.0f} s; wrote {MARKDOWN.relative_to(ROOT)} "
        f"and {len(images)} figures in {IMAGES.relative_to(ROOT)}/"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
