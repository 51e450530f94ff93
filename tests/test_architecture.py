"""The package is layered: no import cycle, no import from a lower layer up to a higher one,
and no mechanism that reaches for the model (`tools/architecture.py` defines the layers)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import architecture


def test_no_import_cycle_in_sim():
    assert architecture.cycles(architecture.import_graph()) == []


def test_every_import_points_down_or_across_a_layer():
    assert architecture.upward(architecture.import_graph()) == []


def test_every_module_has_a_layer():
    for m in architecture.modules():
        architecture.layer_of(m)


def test_mechanisms_and_engine_do_not_see_the_model_or_the_scenario():
    g = architecture.import_graph()
    low = [m for m in g if architecture.layer_of(m) <= architecture.layer_of("sim.powers")]
    for m in low:
        reached = {b for b in g.successors(m)}
        assert not {b for b in reached if b.startswith(("sim.model", "sim.scenario"))}, m


def test_a_new_lever_is_one_module_and_one_table_line():
    """The lever types come from one table; the scenario schema and the actions follow it."""
    from sim.powers.registry import LEVERS
    from sim.scenario.schema import ACTION_NAMES

    assert tuple(LEVERS) == ACTION_NAMES[3:]
    for kind, t in LEVERS.items():
        assert t.spec.model_fields["type"].annotation.__args__ == (kind,)
        assert t.spec.role in t.spec.model_fields


def _block(doc: str, marker: str) -> str:
    """The fenced code block that follows an HTML comment marker in a document."""
    after = doc.split(marker, 1)[1]
    return after.split("```python\n", 1)[1].split("```", 1)[0]


def test_a_new_lever_needs_one_module_and_one_table_line(tmp_path):
    """The worked example of docs/architecture.md, done to a copy of the package: its module
    and its table line (with the import) are all it takes for a scenario to use the lever,
    dated or as an action, and for it to act and report."""
    import copy
    import json
    import os
    import shutil
    import subprocess

    import yaml
    from conftest import BASE

    root = Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "architecture.md").read_text(encoding="utf-8")
    pkg = tmp_path / "sim"
    shutil.copytree(root / "sim", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    (pkg / "powers" / "research_fund.py").write_text(
        _block(doc, "<!-- example-module: sim/powers/research_fund.py -->")
    )
    registry = pkg / "powers" / "registry.py"
    text = registry.read_text()
    table = "LEVERS: dict[str, LeverType] = {\n"
    assert table in text
    text = text.replace(table, table + _block(doc, "<!-- example-table-line -->"))
    text = text.replace(
        "from sim.powers import ", "from sim.powers import research_fund\nfrom sim.powers import ", 1
    )
    registry.write_text(text)

    dated = copy.deepcopy(BASE)
    dated["levers"] = [{"type": "research_fund", "funder": "B", "date": "2020-04", "boost": 0.5}]
    as_action = copy.deepcopy(BASE)
    as_action["levers"] = [{"type": "research_fund", "funder": "B"}]
    as_action["states"][1]["actions"] = ["institutional", "research_fund"]
    as_action["states"][1]["policy"] = {"kind": "fixed", "mix": {"research_fund": 1}}
    for name, raw in (("plain", BASE), ("dated", dated), ("action", as_action)):
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(raw))
    script = """
import json, sim
from sim.model import RuleMakingModel
out = {"package": sim.__file__}
for name in ("plain", "dated", "action"):
    m = RuleMakingModel(f"{name}.yaml").run()
    p = m.tables()["powers"]
    out[name] = {"algorithms_B": float(m.world.res[1, 2]), "lever_rows": int((p.type == "research_fund").sum()),
                 "actions_B": sorted(set(m.tables()["states"].query("state == 'B' and step > 0").action))}
print(json.dumps(out))
"""
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    r = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["package"].startswith(str(tmp_path))
    plain, dated_, action = out["plain"], out["dated"], out["action"]
    assert dated_["algorithms_B"] > plain["algorithms_B"] * 1.5  # +50 %/year for 2.75 years
    assert dated_["lever_rows"] > 0 and plain["lever_rows"] == 0
    assert action["actions_B"] == ["research_fund"] and action["algorithms_B"] > plain["algorithms_B"]
