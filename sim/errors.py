"""User-facing errors: located, readable, and free of tracebacks.

A `ScenarioError` carries one or more problems, each as (source, location, message), and
prints as `scenarios/x.yaml: states[3] (Japan).capacities.discourse: expected ..., got 1.7`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass


def printable(text: str) -> str:
    """Text quoted from the input, on one line: control characters (a newline in a key, a NUL)
    shown escaped, so that no input can start a line of its own in an error message."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass(frozen=True)
class Problem:
    source: str  # the file (`file:line` when the line is known), or `--set`
    where: str  # the key path, as the user reads it: `states[3] (Japan).capacities.discourse`
    message: str  # expected ..., got ...
    loc: tuple[object, ...] = ()  # the key path as validated (to find the line later)

    def __str__(self) -> str:
        parts = [p for p in (self.source, self.where) if p]
        return printable(": ".join([*parts, self.message]))


class SimError(Exception):
    """Any error the command line reports without a traceback (exit code 2)."""

    exit_code = 2


class OutputError(SimError):
    """The work could not be finished or saved (a full disk, a lost worker): not the input's
    fault, so exit code 1; what was saved is kept and the message says how to finish."""

    exit_code = 1


class ScenarioError(SimError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(str(self))

    def __str__(self) -> str:
        shown = self.problems[:25]
        lines = [str(p) for p in shown]
        if len(self.problems) > len(shown):
            lines.append(f"... and {len(self.problems) - len(shown)} more problems")
        return "\n".join(lines)


def fmt_location(loc: tuple[object, ...], raw: object) -> str:
    """Render a pydantic location as `states[3] (Japan).capacities.discourse`.

    `raw` is the data that was validated; it is walked alongside `loc` so that list items
    that carry a `name` are shown with it.
    """
    out = ""
    node = raw
    for part in loc:
        if isinstance(part, int) and not isinstance(node, dict):
            out += f"[{part}]"
            item = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                out += f" ({item['name']})"
            node = item
        elif (
            isinstance(part, str)
            and "[" in part
            and part.endswith("]")
            and not (isinstance(node, dict) and part in node)
        ):
            continue  # the branch of a union pydantic tried (`list[...]`): not a key
        else:
            # pydantic adds the discriminator tag ('fixed', 'join') as a location part
            if isinstance(node, dict) and part not in node and node.get("kind", node.get("type")) == part:
                continue
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out


def did_you_mean(name: str, known: list[str]) -> str:
    """' (did you mean 'X'?)' for the closest known name, or ''."""
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown(kind: str, name: str, known: list[str]) -> str:
    return f"unknown {kind} {name!r}{did_you_mean(name, known)}"
