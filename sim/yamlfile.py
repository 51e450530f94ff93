"""Reading the user's YAML files (scenarios, experiments, claims, calibrations) defensively.

Every file the program reads as input goes through `read_yaml`, which refuses, each with one
located error and never a traceback:
- anything but a regular file (a device such as /dev/zero, a FIFO, a folder), and files over
  `MAX_FILE_BYTES`, before reading them;
- text that is not UTF-8 (a UTF-8 byte-order mark is allowed; UTF-16/32 and Latin-1 are named);
- duplicate keys in a mapping (YAML would silently keep the last);
- values YAML cannot build (an impossible date such as 2020-02-30, an integer of thousands of
  digits);
- nesting deeper than `MAX_DEPTH`, and documents that expand (through aliases) to more than
  `MAX_NODES` values.
The limits are documented in docs/reliability.md.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import yaml

from sim.errors import Problem, ScenarioError, printable

MAX_FILE_BYTES = 5_000_000  # the packaged baseline is 24 kB
MAX_DEPTH = 64  # the deepest shipped file nests 6 levels
MAX_NODES = 1_000_000  # values after expanding aliases (the baseline has about 3,000)


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, too-deep nesting, and values it cannot build."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> dict:
        """Refuse a key written twice in one mapping. Keys brought in by a merge (`<<: *anchor`)
        may be overridden, as YAML intends; SafeLoader flattens those merges afterwards."""
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: let SafeLoader report it
                break
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first at line {first.start_mark.line + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:  # e.g. 2020-02-30, or 5000 digits
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {node.value!r:.40}: {exc}", node.start_mark
            ) from None


def _where(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""


def _count_nodes(data: Any) -> int:
    """Values in `data` with shared (aliased) parts counted each time they are used; stops
    counting at MAX_NODES + 1."""
    n = 0
    stack = [data]
    while stack and n <= MAX_NODES:
        x = stack.pop()
        n += 1
        if isinstance(x, dict):
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return n


@dataclass(frozen=True)
class Where:
    """Where a value was written: a file and a line (1-based; 0 when not from a file: a `--set`,
    a default), and the same for the parts of a mapping (by key) or a list (by position)."""

    file: str
    line: int = 0
    kids: Union[dict[str, Where], list[Where], None] = None  # noqa: UP007

    def kid(self, part: object) -> Where | None:
        """The part `part` (a key or a list position) of this value, if it was written."""
        if isinstance(self.kids, dict):
            return self.kids.get(str(part))
        if isinstance(self.kids, list) and isinstance(part, int) and 0 <= part < len(self.kids):
            return self.kids[part]
        return None

    def at(self, loc: tuple[object, ...]) -> Where:
        """The deepest written value along `loc` (a value not written: the mapping it is missing
        from)."""
        w = self
        for part in loc:
            k = w.kid(part)
            if k is None:
                if isinstance(part, str) and "[" in part:
                    continue  # a union branch in a pydantic location, not a key
                break
            w = k
        return w

    @property
    def shown(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


def _located(node: yaml.Node, shown: str) -> Where:
    """The `Where` tree of a composed YAML node, each use of an alias a tree of its own (so a
    change to one use, a `--set` or a `replace:`, is recorded for that use only). Called once
    the document is known to expand to at most MAX_NODES values."""
    line = node.start_mark.line + 1
    kids: dict[str, Where] | list[Where] | None = None
    if isinstance(node, yaml.MappingNode):
        kids = {}
        for key, value in node.value:  # merges (`<<`) already flattened: later keys win
            if isinstance(key, yaml.ScalarNode):
                sub = _located(value, shown)
                kids[str(key.value)] = Where(shown, key.start_mark.line + 1, sub.kids)
    elif isinstance(node, yaml.SequenceNode):
        kids = [_located(v, shown) for v in node.value]
    return Where(shown, line, kids)


def _unshared(data: Any) -> Any:
    """`data` with every mapping and list its own object: YAML aliases (`policy: *learning`
    in twenty states) share one, and a change to one state's value must not change them all."""
    if isinstance(data, dict):
        return {k: _unshared(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_unshared(v) for v in data]
    return data


def parse_yaml(text: str, shown: str) -> Any:
    """Parse YAML text (already decoded) with the checks above; `shown` names it in errors."""
    return parse_yaml_located(text, shown)[0]


def parse_yaml_located(text: str, shown: str) -> tuple[Any, Where | None]:
    """`parse_yaml`, and where each value was written (None for an empty document)."""
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        what = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        kind = "YAML error" if isinstance(exc, yaml.constructor.ConstructorError) else "YAML syntax error"
        raise ScenarioError([Problem(shown, _where(exc), f"{kind}: {printable(what)}")]) from None
    except yaml.reader.ReaderError as exc:  # a control character such as NUL
        line = text.count("\n", 0, exc.position) + 1
        raise ScenarioError(
            [Problem(shown, f"line {line}", f"character {exc.character!r} is not allowed in YAML text")]
        ) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(shown, "", f"YAML error: {type(exc).__name__}")]) from None
    except RecursionError:
        raise ScenarioError([Problem(shown, "", "YAML nested too deeply")]) from None
    if _count_nodes(data) > MAX_NODES:
        raise ScenarioError([Problem(shown, "", f"more than {MAX_NODES:,} values once aliases are expanded")])
    if node is None:
        return data, None
    return _unshared(data), _located(node, shown)


def _decode(raw: bytes, shown: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ScenarioError([Problem(shown, "", "the file is UTF-16 text; save it as UTF-8")])
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        hint = " (UTF-16?)" if b"\x00" in raw[:200] else " (Latin-1 or another legacy encoding?)"
        raise ScenarioError(
            [
                Problem(
                    shown,
                    f"line {line}, column {col}",
                    f"not UTF-8 text: byte 0x{raw[exc.start]:02x}{hint}; save the file as UTF-8",
                )
            ]
        ) from None


def read_yaml(path: str | Path, shown: str | None = None) -> dict:
    """The top-level mapping of a YAML input file (an empty file is an empty mapping)."""
    return read_yaml_located(path, shown)[0]


def read_yaml_located(path: str | Path, shown: str | None = None) -> tuple[dict, Where]:
    """`read_yaml`, and where in the file each value was written."""
    path = Path(path)
    shown = str(path) if shown is None else shown
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ScenarioError([Problem(shown, "", "file not found")]) from None
    except OSError as exc:
        raise ScenarioError([Problem(shown, "", f"cannot read file ({exc.strerror})")]) from None
    except ValueError:  # a NUL byte in the name
        raise ScenarioError([Problem(shown, "", "not a usable file name")]) from None
    if not stat.S_ISREG(st.st_mode):
        raise ScenarioError([Problem(shown, "", "not a regular file")])
    if st.st_size > MAX_FILE_BYTES:
        raise ScenarioError(
            [Problem(shown, "", f"{st.st_size:,} bytes; input files are limited to {MAX_FILE_BYTES:,}")]
        )
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError([Problem(shown, "", f"cannot read file ({exc.strerror})")]) from None
    if len(raw) > MAX_FILE_BYTES:  # grew after the stat
        raise ScenarioError([Problem(shown, "", f"input files are limited to {MAX_FILE_BYTES:,} bytes")])
    data, where = parse_yaml_located(_decode(raw, shown), shown)
    if data is None:
        return {}, Where(shown, 1, {})
    if not isinstance(data, dict):
        got = type(data).__name__
        raise ScenarioError([Problem(shown, "", f"expected a mapping at the top level, got {got}")])
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        raise ScenarioError([Problem(shown, str(bad[0]), "expected a text key")])
    assert where is not None
    return data, where
