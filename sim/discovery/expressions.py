"""The outcome language of `sim discover`: small arithmetic and logic over a sweep's metrics.

Parsed with Python's `ast` and checked against a whitelist, then evaluated with numpy over
the runs table: nothing is ever handed to `eval`, and no name other than a metric (or abs,
min, max as calls) can be reached. Grammar (docs/discovery.md):

    expr     := or
    or       := and ("or" and)*
    and      := not ("and" not)*
    not      := "not" not | compare
    compare  := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)*      (chained: a < b < c)
    sum      := product (("+" | "-") product)*
    product  := unary (("*" | "/") unary)*
    unary    := ("-" | "+") unary | atom
    atom     := NUMBER | METRIC | 'METRIC' | ("abs" | "min" | "max") "(" sum ("," sum)* ")" | "(" expr ")"

An expression is either a number (arithmetic) or a condition (a comparison, and/or/not of
conditions); the two do not mix (`a + (b > 1)` is refused). A metric whose name is not an
identifier (it has '.' or '-') is written in quotes.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from sim.errors import SimError, did_you_mean, printable

MAX_LENGTH = 2000
MAX_DEPTH = 60
FUNCTIONS = {"abs": (1, 1), "min": (2, 64), "max": (2, 64)}
EXPECTED = "a metric, a number, + - * /, a comparison, and/or/not, or abs/min/max(...)"

Kind = Literal["number", "condition"]

_ARITH: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_REFUSED_OPS = {
    ast.Pow: "** (power)",
    ast.FloorDiv: "// (floor division)",
    ast.Mod: "% (remainder)",
    ast.MatMult: "@",
    ast.BitAnd: "& (write and)",
    ast.BitOr: "| (write or)",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.Invert: "~ (write not)",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
}
_OP_TEXT = {
    ast.Pow: "**",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.In: "in",
    ast.NotIn: "not",
    ast.Is: "is",
    ast.IsNot: "is",
}
_NODE_NAMES = {
    ast.Attribute: "an attribute",
    ast.Subscript: "an index [...]",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.Lambda: "a lambda",
    ast.IfExp: "an if-else",
    ast.NamedExpr: "an assignment (:=)",
    ast.Starred: "a starred value",
    ast.JoinedStr: "an f-string",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "a slice",
}


class ExpressionError(SimError):
    """A problem in the outcome expression, at a column of it (counted from 1)."""

    def __init__(self, text: str, column: int, message: str) -> None:
        self.text, self.column, self.message = text, column, message
        shown = printable(text)
        super().__init__(f"--outcome, column {column}: {message}\n  {shown}\n  {' ' * (max(column, 1) - 1)}^")


@dataclass(frozen=True)
class Outcome:
    """A checked expression: what it computes (a number or a condition) and the metrics it reads."""

    text: str
    tree: ast.expr
    kind: Kind
    metrics: tuple[str, ...]


def _column(text: str, node: ast.AST) -> int:
    """The 1-based character column of a node (ast counts UTF-8 bytes)."""
    col = getattr(node, "col_offset", 0) or 0
    return len(text.encode("utf-8")[:col].decode("utf-8", errors="ignore")) + 1


def _op_column(text: str, node: ast.BinOp | ast.Compare, op_text: str) -> int:
    """The column of an operator between two operands (ast does not locate operators)."""
    left = node.left
    start = len(text.encode("utf-8")[: getattr(left, "end_col_offset", 0) or 0].decode("utf-8", "ignore"))
    found = text.find(op_text, start)
    return found + 1 if found >= 0 else _column(text, node)


class _Checker:
    def __init__(self, text: str, metrics: Sequence[str]) -> None:
        self.text = text
        self.known = list(metrics)
        self.used: list[str] = []

    def fail(self, node: ast.AST, message: str, column: int | None = None) -> ExpressionError:
        return ExpressionError(self.text, column or _column(self.text, node), message)

    def found(self, node: ast.AST, what: str) -> ExpressionError:
        return self.fail(node, f"expected {EXPECTED}, found {what}")

    def metric(self, node: ast.AST, name: str) -> Kind:
        if name not in self.known:
            if name in FUNCTIONS:
                raise self.fail(node, f"{name} is a function: write {name}(...)")
            known = ", ".join(self.known) or "none"
            raise self.fail(
                node,
                f"unknown metric {name!r}{did_you_mean(name, self.known)} (the sweep's metrics: {known})",
            )
        if name not in self.used:
            self.used.append(name)
        return "number"

    def want(self, node: ast.expr, kind: Kind, depth: int, why: str) -> None:
        got = self.check(node, depth + 1)
        if got != kind:
            what = "a number" if kind == "number" else "a condition (a comparison)"
            found = "a condition" if got == "condition" else "a number"
            raise self.fail(node, f"{why} expected {what}, found {found}")

    def check(self, node: ast.expr, depth: int = 0) -> Kind:
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nested more than {MAX_DEPTH} deep")
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or v is None:
                raise self.found(node, f"{v} (write a comparison)")
            if isinstance(v, (int, float)):
                try:
                    finite = bool(np.isfinite(float(v)))
                except OverflowError:  # a whole number too large for a float: 1 and 400 zeros
                    finite = False
                if not finite:
                    raise self.fail(node, "expected a finite number (at most about 1.8e308)")
                return "number"
            if isinstance(v, str):  # a quoted metric name
                return self.metric(node, v)
            raise self.found(node, f"a {type(v).__name__} constant")
        if isinstance(node, ast.Name):
            return self.metric(node, node.id)
        if isinstance(node, ast.BinOp):
            op = type(node.op)
            if op not in _ARITH:
                col = _op_column(self.text, node, _OP_TEXT.get(op, ""))
                raise self.fail(node, f"expected {EXPECTED}, found {_REFUSED_OPS.get(op, op.__name__)}", col)
            sym = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}[op]
            self.want(node.left, "number", depth, f"{sym}:")
            self.want(node.right, "number", depth, f"{sym}:")
            return "number"
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, (ast.USub, ast.UAdd)):
                self.want(
                    node.operand, "number", depth, "unary minus:" if isinstance(node.op, ast.USub) else "+:"
                )
                return "number"
            if isinstance(node.op, ast.Not):
                self.want(node.operand, "condition", depth, "not:")
                return "condition"
            raise self.found(node, _REFUSED_OPS.get(type(node.op), type(node.op).__name__))
        if isinstance(node, ast.Compare):
            for cmp in node.ops:
                if type(cmp) not in _COMPARE:
                    col = _op_column(self.text, node, _OP_TEXT.get(type(cmp), ""))
                    raise self.fail(
                        node,
                        f"expected {EXPECTED}, found {_REFUSED_OPS.get(type(cmp), type(cmp).__name__)}",
                        col,
                    )
            for operand in [node.left, *node.comparators]:
                self.want(operand, "number", depth, "a comparison:")
            return "condition"
        if isinstance(node, ast.BoolOp):
            word = "and" if isinstance(node.op, ast.And) else "or"
            for value in node.values:
                self.want(value, "condition", depth, f"{word}:")
            return "condition"
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name not in FUNCTIONS:
                shown = name or ast.unparse(node.func)
                raise self.fail(
                    node, f"expected {EXPECTED}, found a call of {shown!r} (only abs, min and max)"
                )
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                raise self.fail(node, f"{name}: takes plain arguments only (no name=value, no *)")
            lo, hi = FUNCTIONS[name]
            if not lo <= len(node.args) <= hi:
                need = "one argument" if lo == hi else f"at least {lo} arguments"
                raise self.fail(node, f"{name}: takes {need}, got {len(node.args)}")
            for arg in node.args:
                self.want(arg, "number", depth, f"{name}:")
            return "number"
        what = _NODE_NAMES.get(type(node), f"a {type(node).__name__}")
        if isinstance(node, ast.Attribute):
            dotted = ast.unparse(node)
            hint = (
                f" (a metric named {dotted!r} is written in quotes: '{dotted}')"
                if dotted in self.known
                else ""
            )
            dot = self.text.find(
                ".", len(self.text.encode()[: node.value.end_col_offset or 0].decode(errors="ignore"))
            )
            raise self.fail(node, f"expected {EXPECTED}, found {what} (.{node.attr}){hint}", dot + 1 or None)
        raise self.found(node, what)


def parse(text: str, metrics: Sequence[str]) -> Outcome:
    """Check an outcome expression against the sweep's metric names; every problem is an
    `ExpressionError` with its column."""
    if not text.strip():
        raise ExpressionError(text, 1, f"empty: expected {EXPECTED}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(text[:80] + "...", 1, f"longer than {MAX_LENGTH} characters")
    bad = next((i for i, c in enumerate(text) if not c.isprintable()), None)
    if bad is not None:
        raise ExpressionError(text, bad + 1, "expected one line of printable characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        lead = len(text) - len(text.lstrip())
        if not exc.offset:  # Python's offset 0: the text ended where more was needed (`a >`, `a and`)
            raise ExpressionError(
                text, len(text.rstrip()) + 1, f"the expression ends too early; expected {EXPECTED}"
            ) from None
        why = (exc.msg or "invalid syntax").removesuffix("?")
        raise ExpressionError(
            text, exc.offset + lead, f"not an expression ({why}); expected {EXPECTED}"
        ) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError(text, 1, "too deeply nested or not readable") from None
    lead = len(text) - len(text.lstrip())
    checker = _Checker(text, metrics)
    if lead:  # columns of the stripped text, shifted back to the text as given
        checker.text = text.strip()
    try:
        kind = checker.check(tree.body)
    except ExpressionError as exc:
        raise ExpressionError(text, exc.column + lead, exc.message) from None
    except RecursionError:
        raise ExpressionError(text, 1, "too deeply nested") from None
    return Outcome(text, tree.body, kind, tuple(checker.used))


def evaluate(outcome: Outcome, columns: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The expression over every run at once: (values, valid). `valid` is False where a metric
    the expression reads is missing (NaN: a failed run, a lever not yet started) or where the
    arithmetic is not finite (a division by zero); a condition's values there are False."""
    with np.errstate(all="ignore"):
        values, valid = _eval(outcome.tree, columns)
    if outcome.kind == "condition":
        values = np.asarray(values, dtype=bool) & valid
    return np.asarray(values), np.asarray(valid, dtype=bool)


def _n(columns: Mapping[str, Any]) -> int:
    return len(next(iter(columns.values()))) if columns else 0


def _eval(node: ast.expr, columns: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str):
            v = np.asarray(columns[node.value], dtype=float)
            return v, np.isfinite(v)
        n = _n(columns)
        return np.full(n, float(node.value)), np.ones(n, dtype=bool)  # type: ignore[arg-type]
    if isinstance(node, ast.Name):
        v = np.asarray(columns[node.id], dtype=float)
        return v, np.isfinite(v)
    if isinstance(node, ast.BinOp):
        (a, va), (b, vb) = _eval(node.left, columns), _eval(node.right, columns)
        r = _ARITH[type(node.op)](a, b)
        return r, va & vb & np.isfinite(r)
    if isinstance(node, ast.UnaryOp):
        a, va = _eval(node.operand, columns)
        if isinstance(node.op, ast.Not):
            return ~a.astype(bool), va
        return (-a if isinstance(node.op, ast.USub) else a), va
    if isinstance(node, ast.Compare):
        operands = [_eval(x, columns) for x in [node.left, *node.comparators]]
        result = np.ones(len(operands[0][0]), dtype=bool)
        for op, (a, _), (b, _) in zip(node.ops, operands, operands[1:], strict=False):
            result &= _COMPARE[type(op)](a, b)
        return result, np.logical_and.reduce([v for _, v in operands])
    if isinstance(node, ast.BoolOp):
        parts = [_eval(x, columns) for x in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        return combine.reduce([p.astype(bool) for p, _ in parts]), np.logical_and.reduce(
            [v for _, v in parts]
        )
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = [_eval(x, columns) for x in node.args]
        valid = np.logical_and.reduce([v for _, v in args])
        if node.func.id == "abs":
            return np.abs(args[0][0]), valid
        reduce = np.minimum.reduce if node.func.id == "min" else np.maximum.reduce
        return reduce([a for a, _ in args]), valid
    raise AssertionError(f"unchecked node {type(node).__name__}")  # parse() admits no other node
