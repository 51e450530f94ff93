"""Behaviour is unchanged unless a change says so: every output table of 14 fixed runs (each
shipped scenario and a generated world with every policy kind) and of two sweeps has the
content recorded in `tests/golden/hashes.json` (see `tests/golden/golden.py`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(GOLDEN))

import golden  # noqa: E402


def test_outputs_are_byte_identical_to_the_recorded_golden_hashes():
    recorded = json.loads((GOLDEN / "hashes.json").read_text())
    now = golden.compute()
    changed = [
        f"{kind}/{label}/{table}"
        for kind, labels in recorded.items()
        for label, tables in labels.items()
        for table, digest in tables.items()
        if now.get(kind, {}).get(label, {}).get(table) != digest
    ]
    missing = [f"{k}/{lab}" for k in now for lab in now[k] if lab not in recorded.get(k, {})]
    assert not changed and not missing, (
        "outputs differ from the golden record; if the change is deliberate, run "
        f"`python tests/golden/golden.py --write` and add a CHANGELOG line. Changed: {changed}; new: {missing}"
    )
