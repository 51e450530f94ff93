"""Influence by source: every credited gain is in the ledger with its source and target, and
the ledger adds up to the influence stock, step by step and state by state."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

from sim import influence
from sim.fields import PerYear
from sim.model import RuleMakingModel
from sim.model.core import SOURCES


@pytest.fixture(scope="module")
def baseline():
    return RuleMakingModel(seed=3).run()


def test_the_ledger_adds_up_to_each_steps_gain(baseline):
    m = baseline
    t = m.tables()
    src, st = t["influence_sources"], t["states"]
    d = PerYear("share").to_step(m.scenario.influence.decay, m.scenario.model.steps_per_year)
    infl = st.pivot(index="step", columns="state", values="influence")
    expected = (infl - (1 - d) * infl.shift(1)).iloc[1:]
    got = src.groupby(["step", "state"]).gain.sum().unstack(fill_value=0.0)
    got = got.reindex(index=expected.index, columns=expected.columns, fill_value=0.0)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), atol=1e-12)
    assert set(src.source) <= set(SOURCES) and len(set(src.source)) >= 8
    assert set(src.target_type) <= {"", "forum", "link", "state"}


def test_the_stock_by_source_sums_to_the_influence_stock(baseline):
    m = baseline
    w = m.world
    totals = m.ledger.totals(m.steps + 1, w.N)
    d = PerYear("share").to_step(m.scenario.influence.decay, m.scenario.model.steps_per_year)
    stock = influence.stock_by_source(totals, d)
    np.testing.assert_allclose(stock[-1].sum(axis=1), w.influence, rtol=1e-10)


def test_sources_and_targets_are_the_right_ones(raw):
    """A drafter's gain is on the forum it drafted in; a sharer's on the states it moved; a
    host's draft is split into discourse and hosting in the ratio 1 : multiplier - 1."""
    from conftest import build, isolate, only

    isolate(raw)
    only(raw, "B", "discourse")
    raw["forums"][0]["members"] = ["A"]  # B can draft only in F2
    raw["forums"][1]["presidency"] = {2020: "B"}
    m = build(raw)
    m.step()
    t = m.tables()["influence_sources"]
    assert set(t.state) == {"B"} and set(t.target) == {"F2"} and set(t.target_type) == {"forum"}
    by = t.groupby("source").gain.sum()
    assert by["hosting"] == pytest.approx(by["discourse"] * (2.0 - 1.0))  # presidency_multiplier 2
    r = copy.deepcopy(raw)
    only(r, "A", "practice")
    r["states"][0]["partners"] = ["C"]
    m = build(r)
    m.step()
    t = m.tables()["influence_sources"]
    assert set(t.source) == {"practice"} and set(t.target_type) == {"state"} and "A" not in set(t.target)


def test_the_table_is_written_with_a_run(tmp_path):
    from sim.runner import RunTask, run_one, write_run

    out = write_run(run_one(RunTask("baseline", 2, 8)), tmp_path / "r", "test")
    import pandas as pd

    t = pd.read_parquet(out / "influence_sources.parquet")
    assert list(t.columns) == ["step", "year", "state", "source", "target_type", "target", "gain"]
    assert len(t) > 0 and yaml.safe_load((out / "scenario.resolved.yaml").read_text())["influence"]


def test_large_matrices_keep_only_their_non_zero_cells_and_read_as_small_ones(monkeypatch):
    """A matrix above the size limit is stored as its non-zero cells at once (12 bytes each);
    read back, its entries are those of the same matrix kept whole, in the same order."""
    from sim.engine import ledger as ledger_mod

    rng = np.random.default_rng(5)
    a = rng.random((30, 40))
    a[a < 0.6] = 0.0
    cols = rng.permutation(60)[:40]

    def filled(limit: int) -> ledger_mod.Ledger:
        monkeypatch.setattr(ledger_mod, "_KEEP_WHOLE", limit)
        lg = ledger_mod.Ledger(60, 3, SOURCES)
        lg.reset(2)
        lg.add(0, SOURCES[0], np.array([4, 5]), np.array([0.5, 0.0]), "forum", np.array([1, 2]))
        lg.add_matrix(1, "practice", a, "state", cols)
        lg.add_matrix(None, "practice", a[:, :7], "state")
        return lg

    whole, cells = filled(10**9), filled(100)
    assert isinstance(cells._parts[1], ledger_mod._Cells)
    assert cells._parts[1].flat.dtype == np.int32 and cells._parts[1].amounts.size == np.count_nonzero(a)
    np.testing.assert_array_equal(whole.gains, cells.gains)
    for x, y in zip(whole.entries(), cells.entries(), strict=True):
        np.testing.assert_array_equal(x, y)
    steps, states, src, kind, tgt, amt = whole.entries()
    t, s = np.nonzero(a)
    n = 1 + t.size
    np.testing.assert_array_equal(states[1:n], cols[s])
    np.testing.assert_array_equal(tgt[1:n], t)
    np.testing.assert_array_equal(amt[1:n], a[t, s])
    t7, s7 = np.nonzero(a[:, :7])  # a matrix without a column map: column j is state j
    np.testing.assert_array_equal(states[n:], s7)
    np.testing.assert_array_equal(tgt[n:], t7)
    np.testing.assert_array_equal(amt[n:], a[t7, s7])
    assert set(steps) == {2} and amt.size == 1 + t.size + t7.size
    assert (kind[1:] == 3).all() and (src[1:] == SOURCES.index("practice")).all()


def test_a_run_without_ledger_entries_gives_every_other_output_unchanged():
    """`ledger_entries=False` (sweeps, calibrations) keeps only each step's gains: the run is
    the same, its tables are the same but for influence_sources, which it refuses by name."""
    import pandas as pd

    full = RuleMakingModel(seed=4, steps=16).run()
    lean = RuleMakingModel(seed=4, steps=16, ledger_entries=False).run()
    a, b = full.tables(), lean.tables()
    assert set(a) - set(b) == {"influence_sources"} and set(b) <= set(a)
    for name in b:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)
    np.testing.assert_array_equal(full.world.influence, lean.world.influence)
    assert "influence_sources" not in lean.recorder.names() and lean.ledger._parts == []
    with pytest.raises(KeyError, match="kept no ledger entries"):
        lean.table("influence_sources")
    with pytest.raises(KeyError, match="kept no ledger entries"):  # Mesa's DataCollector face
        lean.datacollector.get_table_dataframe("influence_sources")


@pytest.mark.parametrize("keep", [True, False])
def test_a_misspelt_source_or_target_kind_fails_whether_or_not_entries_are_kept(keep):
    """A run without entries (a sweep's) checks a credit's source and target kind as a full
    run does, so a misspelt name cannot pass in sweeps and fail only in `sim run`."""
    from sim.engine.ledger import Ledger

    lg = Ledger(4, 3, SOURCES, keep=keep)
    one = np.ones((4, 2))
    with pytest.raises(KeyError, match="unknown ledger source 'practise'"):
        lg.add(0, "practise", np.array([0]), np.array([1.0]))
    with pytest.raises(KeyError, match="unknown ledger source 'practise'"):
        lg.add_matrix(0, "practise", one, "state", np.array([0, 1]))
    with pytest.raises(KeyError, match="unknown ledger target kind 'states'"):
        lg.add_matrix(0, SOURCES[0], one, "states", np.array([0, 1]))
    with pytest.raises(KeyError, match="unknown ledger target kind 'states'"):
        lg.add(0, SOURCES[0], np.array([0]), np.array([1.0]), "states")
    np.testing.assert_array_equal(lg.gains, 0.0)  # nothing was credited before the check
    lg.add_matrix(0, SOURCES[0], one, "state", np.array([0, 1]))
    assert lg.gains[:2, 0].tolist() == [4.0, 4.0] and len(lg._parts) == int(keep)


def test_every_credit_source_and_target_kind_written_in_the_code_is_the_ledgers():
    """Read from the source, whatever a scenario fires: every `ledger.add` / `add_matrix` /
    `pulls.add_target` call names a known source and target kind (by a literal or a module's
    NAME), and every credited pull channel's ledger source is a known one."""
    import ast
    import importlib
    from pathlib import Path

    import sim
    from sim.engine.ledger import TARGET_KINDS

    where = {"add": (1, "source", 4, "target_kind"), "add_matrix": (1, "source", 3, "target_kind"),
             "add_target": (4, "kind", None, None)}  # fmt: skip
    root = Path(sim.__file__).parent
    found: list[tuple[str, str, str]] = []
    for path in sorted(root.rglob("*.py")):
        module = importlib.import_module("sim." + ".".join(path.relative_to(root).with_suffix("").parts))
        for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
                continue
            receiver = ast.unparse(call.func.value)
            if call.func.attr not in where or not ("ledger" in receiver or "pulls" in receiver):
                continue
            s_at, s_kw, k_at, k_kw = where[call.func.attr]
            kw = {k.arg: k.value for k in call.keywords}
            for at, name, known in ((s_at, s_kw, SOURCES), (k_at, k_kw, TARGET_KINDS)):
                node = call.args[at] if at is not None and len(call.args) > at else kw.get(name)
                if isinstance(node, ast.Constant):
                    value = node.value
                elif isinstance(node, ast.Name) and isinstance(getattr(module, node.id, None), str):
                    value = getattr(module, node.id)
                else:
                    continue  # a channel's source (checked below) or a value passed through
                found.append((f"{path.name}:{call.lineno}", name or "", value))
                assert value in known, f"{path.name}:{call.lineno}: {name} {value!r} is not one of {known}"
    assert {v for _, n, v in found if n in ("source", "kind")} >= {"frameworks", "reputation", "hosting"}
    assert len(found) >= 12, found  # the calls were found (a renamed method would leave none)
    m = RuleMakingModel(seed=1, steps=1)
    channels = [*m.pulls.text_channels.values(), *m.pulls.pos_channels.values(), m.pulls.link_channel]
    assert {c.ledger_source for c in channels if c.credit is not None} <= set(SOURCES)


def test_an_empty_emulation_table_keeps_its_column_types(tmp_path):
    """No state follows anyone: the emulation table has no rows, and its name columns stay
    object columns (Parquet's null type), as they were before names were taken by index."""
    import pandas as pd
    import pyarrow.parquet as pq

    from sim.runner import RunTask, run_one, write_run

    res = run_one(RunTask("baseline", 1, 4, overrides=(("influence.follow_threshold", 1000.0),)))
    t = res.tables["emulation"]
    assert len(t) == 0 and t["follower"].dtype == object and t["leader"].dtype == object
    out = write_run(res, tmp_path / "r", "test")
    schema = pq.read_schema(out / "emulation.parquet")
    assert str(schema.field("follower").type) == "null" and str(schema.field("leader").type) == "null"
    full = run_one(RunTask("baseline", 1, 4)).tables["emulation"]
    assert len(full) > 0 and pd.api.types.is_string_dtype(full["follower"])


@pytest.mark.parametrize("limit", [1 << 16, 3])
def test_the_table_is_the_entries_labelled(monkeypatch, limit):
    """`table` (filled part by part, codes in their final types) gives the entries labelled:
    a forum named like a state, a forum named "", a target of -1, matrices kept whole or as
    cells, with and without a column map."""
    import pandas as pd

    from sim.engine import ledger as ledger_mod

    monkeypatch.setattr(ledger_mod, "_KEEP_WHOLE", limit)
    rng = np.random.default_rng(8)
    names, forums, links = ["A", "B", "C", "D"], ["B", "", "F"], ["B~F"]
    lg = ledger_mod.Ledger(4, 3, SOURCES)
    for step in range(3):
        lg.reset(step)
        lg.add(0, "discourse", np.array([0, 1, 2]), np.array([0.5, 0.0, 0.25]), "forum", np.array([0, 1, -1]))
        lg.add(None, "reputation", np.array([3]), np.array([0.1]))
        lg.add(1, "brokerage", np.array([2]), np.array([0.3]), "link", np.array([0]))
        m = rng.random((4, 2)) * (rng.random((4, 2)) < 0.6)
        lg.add_matrix(2, "practice", m, "state", np.array([3, 1]))
        lg.add_matrix(None, "discourse", rng.random((3, 4)), "forum")
    years = np.array([2016.0, 2016.25, 2016.5])
    got = lg.table(years, names, forums, links)
    steps, states, src, kind, tgt, amt = lg.entries()
    labels = ["", *forums, *links, *names]
    offset = np.array([0, 1, 1 + len(forums), 1 + len(forums) + len(links)])
    where = np.where(kind == 0, 0, offset[kind] + np.maximum(tgt, 0))
    uniq = list(dict.fromkeys(labels))
    expected = pd.DataFrame(
        {
            "step": steps,
            "year": years[steps],
            "state": pd.Categorical([names[i] for i in states], categories=names),
            "source": pd.Categorical([SOURCES[i] for i in src], categories=SOURCES),
            "target_type": pd.Categorical(
                [ledger_mod.TARGET_KINDS[i] for i in kind], categories=ledger_mod.TARGET_KINDS
            ),
            "target": pd.Categorical([labels[i] for i in where], categories=uniq),
            "gain": amt,
        }
    )
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert set(got.target) >= {"B", "", "B~F", "D"} and len(got) == amt.size > 40
