"""What a Mesa user tries works: the model's `datacollector` is a `mesa.DataCollector` whose
dataframes agree with the run's tables, and `mesa.batch_run` gives rows that name the state.
And docs/outputs.md lists every column (and manifest key) that `sim run` and `sim sweep` write,
and nothing they no longer write."""

from __future__ import annotations

import json
import re
from pathlib import Path

import mesa
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import build

from sim.model import RuleMakingModel
from sim.model.agents import ForumAgent, StateAgent

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "data" / "small.yaml"
DOC = ROOT / "docs" / "outputs.md"


@pytest.fixture(scope="module")
def run() -> RuleMakingModel:
    model = RuleMakingModel(str(SMALL), seed=3)
    model.run()
    return model


# ----------------------------------------------------------------------------- datacollector
def test_model_vars_are_the_model_table_indexed_by_step(run):
    dc = run.datacollector
    assert isinstance(dc, mesa.DataCollector)
    tables = run.tables()
    mv = dc.get_model_vars_dataframe()
    assert mv.index.name == "Step" and list(mv.index) == list(range(run.steps + 1))
    model = tables["model"]
    pd.testing.assert_frame_equal(
        mv[model.columns[1:]].reset_index(drop=True), model.drop(columns="step"), check_exact=True
    )
    shares = tables["states"].pivot(index="step", columns="state", values="influence_share")
    for name in run.world.names:
        assert mv[f"influence_share[{name}]"].tolist() == shares[name].tolist()
    # what mesa.batch_run reads: lists indexed by step
    assert set(dc.model_vars) == set(mv.columns)
    assert dc.model_vars["influence_hhi"][4] == mv["influence_hhi"].iloc[4]


def test_agent_vars_are_the_states_table_indexed_by_step_and_agent(run):
    dc = run.datacollector
    states = run.tables()["states"]
    av = dc.get_agent_vars_dataframe()
    assert av.index.names == ["Step", "AgentID"] and av.columns[0] == "state"
    assert set(av.columns) == set(states.columns) - {"step"}
    assert len(av) == (run.steps + 1) * run.world.N
    assert av.index.get_level_values("Step").tolist() == states["step"].tolist()
    names = {a.unique_id: a.name for a in run.state_agents}
    assert av.index.get_level_values("AgentID").map(names).tolist() == av["state"].tolist()
    pd.testing.assert_frame_equal(av.reset_index(drop=True), states[list(av.columns)], check_exact=True)
    last = av.xs(run.steps, level="Step").set_index("state")
    assert last.loc["A", "influence"] == run.state("A").influence
    assert list(dc.agent_reporters) == list(av.columns)
    # per type: StateAgent as above, ForumAgent the forums table
    pd.testing.assert_frame_equal(dc.get_agenttype_vars_dataframe(StateAgent), av)
    fv = dc.get_agenttype_vars_dataframe(ForumAgent)
    forums = run.tables()["forums"]
    assert fv.index.names == ["Step", "AgentID"] and fv.columns[0] == "forum"
    pd.testing.assert_frame_equal(fv.reset_index(drop=True), forums[list(fv.columns)], check_exact=True)
    assert set(fv.index.get_level_values("AgentID")) == {a.unique_id for a in run.forum_agents}


def test_every_table_of_the_run_is_a_table_of_the_datacollector(run):
    dc = run.datacollector
    tables = run.tables()
    assert list(dc.tables) == list(tables)
    for name, table in tables.items():
        pd.testing.assert_frame_equal(dc.get_table_dataframe(name), table, check_exact=True)
    assert dc.tables["events"]["event"] == tables["events"]["event"].tolist()
    with pytest.raises(KeyError, match="unknown table"):
        dc.get_table_dataframe("nope")


def test_the_view_follows_the_model_and_is_read_only(raw):
    m = build(raw)
    dc = m.datacollector
    assert len(dc.get_model_vars_dataframe()) == 1 and list(dc._agent_records) == [0]
    m.step()
    m.step()
    assert len(dc.get_model_vars_dataframe()) == 3 and list(dc._agent_records) == [0, 1, 2]
    assert [r[2] for r in dc._agent_records[2]] == ["A", "B", "C", "D"]
    assert dc._agent_records.get(3, []) == []
    dc.collect(m)  # nothing to do: the model records every step itself
    assert len(dc.get_agent_vars_dataframe()) == 3 * 4
    with pytest.raises(TypeError, match="read-only"):
        dc.add_table_row("events", {})
    # a subclass may bring its own DataCollector
    m.datacollector = mesa.DataCollector(model_reporters={"steps": lambda model: model.steps})
    m.datacollector.collect(m)
    assert m.datacollector.get_model_vars_dataframe()["steps"].tolist() == [2]


def test_batch_run_rows_carry_the_state_name():
    params = {"scenario": str(SMALL), "model__synergy": [0.0, 1.0]}
    rows = mesa.batch_run(
        RuleMakingModel, parameters=params, iterations=2, number_processes=1, display_progress=False
    )
    df = pd.DataFrame(rows)
    states = ["A", "B", "C", "D"]
    n_steps = RuleMakingModel(str(SMALL)).n_steps
    # 2 values x 2 iterations, one row per state at the step batch_run reads (the last but one)
    assert len(df) == 2 * 2 * len(states)
    assert df.groupby("RunId")["state"].apply(sorted).tolist() == [states] * 4
    assert set(df["Step"]) == {n_steps - 1} and set(df["iteration"]) == {0, 1}
    assert {"AgentID", "influence_share", "punching_ratio", "alignment_index", "year"} <= set(df.columns)
    direct = RuleMakingModel(str(SMALL), model__synergy=1.0)
    direct.run()
    expected = direct.datacollector.get_agent_vars_dataframe().xs(n_steps - 1, level="Step")
    got = df[(df["model__synergy"] == 1.0) & (df["iteration"] == 1)].set_index("state")
    assert (
        got["influence_share"].tolist()
        == expected.set_index("state").loc[got.index, "influence_share"].tolist()
    )
    once = {"scenario": str(SMALL)}
    every = pd.DataFrame(
        mesa.batch_run(
            RuleMakingModel,
            parameters=once,
            data_collection_period=1,
            number_processes=1,
            display_progress=False,
        )
    )
    assert len(every) == n_steps * len(states) and sorted(set(every["Step"])) == list(range(n_steps))


def test_the_mesa_example_of_the_docs_runs(monkeypatch):
    text = DOC.read_text(encoding="utf-8")
    code = text.split("## 9. For Mesa users", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(ROOT)
    ns: dict = {}
    exec(compile(code, "docs/outputs.md", "exec"), ns)
    n_states = ns["model"].world.N
    assert len(ns["final"]) == 4 * n_states and "state" in ns["final"].columns
    assert len(ns["japan"]) == ns["model"].steps + 1 and len(ns["events"]) > 0


# ----------------------------------------------------------------------------- docs/outputs.md
def documented(kind: str, name: str) -> list[str]:
    """The names listed in the table after `<!-- kind: name -->` in docs/outputs.md (every
    name in backticks in each row's first cell)."""
    text = DOC.read_text(encoding="utf-8")
    marker = f"<!-- {kind}: {name} -->"
    assert marker in text, f"docs/outputs.md has no {marker}"
    rows = []
    for line in text.split(marker, 1)[1].lstrip("\n").splitlines():
        if not line.startswith("|"):
            break
        rows.append(line)
    names = [n for row in rows[2:] for n in re.findall(r"`([^`]+)`", row.split("|")[1])]
    assert names, f"docs/outputs.md: no names listed after {marker}"
    return names


def check_names(actual: list[str], names: list[str], where: str, values: dict[str, list[str]],
                both_ways: bool = True) -> None:  # fmt: skip
    """Every actual name is documented (a documented `<placeholder>` stands for any of its
    `values`, or for anything); with `both_ways`, every documented name is still written."""

    def pattern(doc_name: str) -> re.Pattern[str]:
        parts = re.split(r"(<[^>]+>)", doc_name)
        rx = "".join(
            ("(?:" + "|".join(map(re.escape, values[p[1:-1]])) + ")" if p[1:-1] in values else ".+")
            if p.startswith("<") else re.escape(p)
            for p in parts
        )  # fmt: skip
        return re.compile(rx)

    patterns = {n: pattern(n) for n in names}
    missing = [c for c in actual if not any(p.fullmatch(c) for p in patterns.values())]
    assert not missing, f"docs/outputs.md does not list these {where} columns or keys: {missing}"
    if both_ways:
        gone = [n for n, p in patterns.items() if not any(p.fullmatch(c) for c in actual)]
        assert not gone, f"docs/outputs.md lists {where} columns or keys that are no longer written: {gone}"


def test_outputs_doc_lists_every_column_of_a_short_run(tmp_path):
    from sim.runner import RunTask, run_one, write_run

    result = run_one(RunTask(None, steps=2))  # the packaged baseline: every table, with the stack
    out = write_run(result, tmp_path / "run", "sim run --steps 2")
    model = RuleMakingModel(None, steps=2)
    values = {"dim": list(model.world.norms), "F~G": list(model.world.link_names)}
    files = sorted(p.name for p in out.glob("*.parquet"))
    assert {"states.parquet", "dependence.parquet", "emulation.parquet", "powers.parquet"} <= set(files)
    for f in files:
        check_names(pq.read_schema(out / f).names, documented("columns", f"run/{f}"), f, values)
    manifest = json.loads((out / "manifest.json").read_text())
    check_names(list(manifest), documented("keys", "run/manifest.json"), "manifest.json", values)
    listed = set(re.findall(r"^\| `([^`]+)` \|", DOC.read_text(encoding="utf-8"), re.M))
    assert set(manifest["files"]) | {"manifest.json"} <= listed, (
        "a file of the run is not in the table of files"
    )


def test_outputs_doc_lists_every_column_of_a_sweep(tmp_path):
    from sim.experiments.sweep import run_sweep

    exp = tmp_path / "exp.yaml"
    exp.write_text(
        f"name: doc\nscenario: {SMALL}\ndesign: factorial\nvary: {{model.synergy: [0.0, 1.0]}}\n"
        "metrics: {share: 'states.influence_share[A]', gap: 'powers.compute_gap[EC]@2021'}\nevery: 4\n",
        encoding="utf-8",
    )
    out = tmp_path / "sweep"
    run_sweep(exp, out=out, executor="serial", progress=False)
    values = {"metric": ["share", "gap"], "key": ["model.synergy"]}
    runs = pq.read_schema(out / "runs.parquet").names
    check_names(runs, documented("columns", "sweep/runs.parquet"), "runs.parquet", values)
    series = pq.read_schema(next((out / "series").glob("*.parquet"))).names
    check_names(series, documented("columns", "sweep/series"), "series", values)
    manifest = json.loads((out / "manifest.json").read_text())
    # the manifest also has keys of shards and merges only
    check_names(list(manifest), documented("keys", "sweep/manifest.json"), "manifest.json", values, False)
