"""`sim explore`: the settings the controls make (slider values, levers switched off), the runs,
the variant file it saves (accepted by `sim validate`, rerunning the same settings), its
errors, the Mesa SolaraViz page, and (slow) the page in a real browser, offline."""

from __future__ import annotations

import math
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim.errors import ScenarioError, SimError
from sim.explore.state import (
    Settings,
    load_setup,
    overrides,
    patch,
    run,
    save_variant,
    scenario_of,
    seeds_of,
    shipped_scenarios,
)

ROOT = Path(__file__).resolve().parents[1]
SMALL = Path(__file__).resolve().parent / "data" / "small.yaml"
sys.path.insert(0, str(ROOT / "tools"))


def sim(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


@pytest.fixture(scope="module")
def baseline():
    return load_setup("baseline")


@pytest.fixture
def small(tmp_path) -> Path:
    """The small test world, with a state whose fixed mix names its export controls."""
    raw = yaml.safe_load(SMALL.read_text())
    raw["states"][0]["actions"] = ["institutional", "discourse", "practice", "export_controls"]
    raw["states"][0]["policy"] = {"kind": "fixed", "mix": {"institutional": 1, "export_controls": 1}}
    path = tmp_path / "world" / "small.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


# ----------------------------------------------------------------------------- sliders
def test_sliders_are_the_declared_parameters_at_the_scenarios_values(baseline):
    from sim.scenario.uncertain import declaration

    assert [k.key for k in baseline.knobs] == [p.key for p in declaration().parameters]
    sc = baseline.scenario
    synergy = baseline.knob("model.synergy")
    assert synergy.default == sc.model.synergy and synergy.unit == "multiplier" and synergy.meaning
    eu = baseline.knob("levers.EU AI Act.emulation_rate")
    assert eu.lever == "EU AI Act" and eu.log and eu.default == 4.0
    for knob in baseline.knobs:
        assert knob.available and knob.low <= knob.default <= knob.high
        # a slider left where it starts is the scenario's value: no override
        assert knob.value(knob.position(knob.default)) == pytest.approx(knob.default, rel=1e-3)
        assert knob.value(0) == knob.low and knob.value(1) == knob.high


def test_a_log_slider_moves_on_the_log_scale(baseline):
    knob = baseline.knob("membership.join_rate")  # loguniform 0.02-2
    assert knob.log
    assert knob.value(0.5) == pytest.approx(math.sqrt(knob.low * knob.high), rel=1e-3)
    assert knob.position(0.2) == pytest.approx(0.5)
    lin = baseline.knob("model.synergy")  # uniform 0-3
    assert lin.value(0.5) == pytest.approx(1.5) and lin.position(3.0) == 1.0


def test_a_slider_the_scenario_lacks_is_off(small):
    setup = load_setup(str(small))
    assert not setup.knob("levers.EU AI Act.emulation_rate").available
    assert not setup.knob("forums.GPAI.admission.threshold").available
    assert setup.knob("model.synergy").available
    with pytest.raises(SimError, match="no such item"):
        patch(setup, Settings({"forums.GPAI.admission.threshold": 0.7}))


# ----------------------------------------------------------------------------- settings -> overrides
def test_only_moved_sliders_override_and_a_dropped_levers_sliders_do_nothing(baseline):
    unchanged = {k.key: k.default for k in baseline.knobs}
    assert overrides(baseline, Settings(unchanged)) == []
    assert patch(baseline, Settings(unchanged)) == {}
    s = Settings({"model.synergy": 2.5, "levers.EU AI Act.peer_effect": 2.0, "membership.cost": 0.1})
    assert overrides(baseline, s) == [("levers.EU AI Act.peer_effect", 2.0), ("model.synergy", 2.5)]
    assert patch(baseline, s) == {
        "levers": [{"name": "EU AI Act", "peer_effect": 2.0}],
        "model": {"synergy": 2.5},
    }
    off = Settings({"levers.EU AI Act.peer_effect": 2.0}, frozenset({"EU AI Act"}))
    assert overrides(baseline, off) == []
    p = patch(baseline, off)
    assert p["levers"] == [{"name": "EU AI Act", "drop": True}]
    # the EU may no longer choose its regulation (as the shipped no_brussels_effect says)
    assert p["states"] == [{"name": "European Union", "actions": ["institutional", "discourse", "practice"]}]
    sc = scenario_of(baseline, off)
    assert "EU AI Act" not in [lv.name for lv in sc.levers]
    assert sc.model.synergy == baseline.scenario.model.synergy


def test_switching_off_levers_matches_the_shipped_counterfactual(baseline):
    from sim.scenario.loader import load_scenario, resolved_dict

    controls = frozenset(lv.name for lv in baseline.levers if lv.type == "export_controls")
    assert len(controls) == 4
    mine = resolved_dict(scenario_of(baseline, Settings(off=controls)))
    shipped = resolved_dict(load_scenario("no_export_controls"))
    for d in (mine, shipped):
        d.pop("name"), d.pop("description")
    assert mine == shipped


def test_a_wielder_keeps_its_lever_type_while_it_has_another_lever_of_it(baseline):
    one = patch(baseline, Settings(off=frozenset({"ENFORCE Act"})))
    assert one == {"levers": [{"name": "ENFORCE Act", "drop": True}]}


def test_a_fixed_mix_that_names_a_dropped_lever_type_loses_it(small):
    setup = load_setup(str(small))
    p = patch(setup, Settings(off=frozenset({"EC"})))
    assert p["states"] == [
        {"name": "A", "actions": ["institutional", "discourse", "practice"],
         "policy": {"kind": "fixed", "mix": {"export_controls": 0.0}}}
    ]  # fmt: skip
    sc = scenario_of(setup, Settings(off=frozenset({"EC"})))
    assert sc.states[0].policy.mix["institutional"] == 1


def test_bad_settings_are_refused(baseline):
    with pytest.raises(SimError, match="outside the slider's range"):
        patch(baseline, Settings({"model.synergy": 9.0}))
    with pytest.raises(SimError, match="not a slider"):
        patch(baseline, Settings({"model.nothing": 1.0}))
    with pytest.raises(SimError, match="no lever named 'Nope'"):
        patch(baseline, Settings(off=frozenset({"Nope"})))
    for n in (0, 11):
        with pytest.raises(SimError, match="seeds"):
            patch(baseline, Settings(seeds=n))
    with pytest.raises(SimError, match="expected a number"):
        patch(baseline, Settings({"model.synergy": float("nan")}))
    with pytest.raises(SimError, match="no shipped scenario of that name"):
        load_setup("no_such_scenario")


# ----------------------------------------------------------------------------- runs and figures
def test_runs_use_the_seeds_of_replications_and_the_settings_change_the_results(small, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    import matplotlib

    matplotlib.use("Agg")
    from sim.explore import figures
    from sim.report.replicate import seeds

    setup = load_setup(str(small))
    assert seeds_of(setup, 3) == seeds(setup.base_seed, 3)
    a = run(setup, Settings(seeds=2))
    b = run(setup, Settings({"model.synergy": 3.0}, frozenset({"EC"}), seeds=2))
    assert a.seeds == b.seeds and sorted(a.states["seed"].unique()) == sorted(a.seeds)
    assert "EC off" in b.text and "model.synergy=3" in b.text and "2 seeds" in b.text
    assert not np.allclose(a.states["influence_share"], b.states["influence_share"])
    for name, draw in figures.FIGURES.items():
        pa, pb = draw(a), draw(b, a)
        assert pa.startswith(b"\x89PNG") and pb.startswith(b"\x89PNG"), name
        assert pa != pb, name


def test_figures_use_the_reports_colours_and_the_tables_years(baseline, tmp_path, monkeypatch):
    """A state has its reports' colour in every figure, before and after a change that reorders
    the leaders; the scenario as it is is drawn per state in its colour, thin and dashed; the
    x axes span the recorded years and the titles name the last one as the reports do."""
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    from matplotlib.colors import to_hex

    from sim.explore import figures
    from sim.explore.state import leaders
    from sim.report.base import Palette

    a = run(baseline, Settings(seeds=2))
    b = run(baseline, Settings({"model.synergy": 3.0}, frozenset({"EU AI Act"}), seeds=2))
    names = [st.name for st in baseline.scenario.states]
    assert a.names == names and a.regions["Japan"] == baseline.scenario.states[names.index("Japan")].region
    report = Palette(names, a.regions)  # as the run report builds it: scenario order, regions
    for state in names[:8]:  # the strong colours: by place in the scenario, never by rank
        assert figures.palette(a)(state) == figures.palette(b, a)(state) == report(state), state

    def colour(line) -> str:
        return to_hex(line.get_color())

    fig = figures.DRAW["influence"](b, a)
    ax = fig.axes[0]
    solid = [ln for ln in ax.lines if ln.get_linestyle() == "-"]
    dashed = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    top = leaders(b, figures.LEADING)
    pal = figures.palette(b, a)
    assert [colour(ln) for ln in solid] == [colour(ln) for ln in dashed] == [to_hex(pal(s)) for s in top]
    assert all(d.get_linewidth() < s.get_linewidth() for s, d in zip(solid, dashed, strict=True))
    assert "the scenario as it is" in " ".join(t.get_text() for t in ax.get_legend().get_texts())
    years = b.states["year"]
    assert ax.get_xlim() == (years.min(), years.max())
    end = f"the end of {int(years.max()) - 1}"
    assert end in ax.get_title()
    assert figures.DRAW["punching"](b, a).axes[0].get_title().startswith(f"Punching ratio at {end}")
    bars = figures.DRAW["punching"](b).axes[0].patches
    assert len({to_hex(p.get_facecolor()) for p in bars}) == len(bars)  # one colour per state
    assert figures.DRAW["alignment"](b, a).axes[0].get_xlim() == (years.min(), years.max())


# ----------------------------------------------------------------------------- the variant file
def test_a_saved_variant_validates_and_reruns_the_same_settings(baseline, tmp_path):
    from sim.runner import RunTask, run_one

    s = Settings(
        {"model.synergy": 2.2, "levers.EU AI Act.emulation_rate": 1.5}, frozenset({"PGIAI"}), seeds=1
    )
    path = save_variant(baseline, s, tmp_path / "out", "mine")
    assert path == tmp_path / "out" / "mine.yaml"
    text = path.read_text()
    assert text.startswith("# Written by sim explore (sim ")
    doc = yaml.safe_load(text)
    assert doc["extends"] == "baseline.yaml" and doc["name"] == "mine"
    assert {"name": "PGIAI", "drop": True} in doc["levers"]
    assert [f.name for f in path.parent.iterdir()] == ["mine.yaml"]  # no partial file left
    r = sim("validate", str(path), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    explored = run(baseline, s)
    rerun = run_one(RunTask(scenario=str(path), seed=explored.seeds[0]))
    cols = ["year", "state", "influence_share", "punching_ratio"]
    got = rerun.tables["states"][cols].reset_index(drop=True)
    want = explored.states[cols].reset_index(drop=True)
    assert got.equals(want)


def test_the_rerun_command_names_the_file_as_it_can_be_run_from_here(baseline, tmp_path, monkeypatch):
    from sim.explore.state import rerun_command, shown_path

    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    inside = save_variant(baseline, Settings({"model.synergy": 2.0}, seeds=2), here / "sub", "v")
    command = "sim run sub/v.yaml --replications 2"
    assert f"# Rerun the explorer's 2 seed(s): {command}\n" in inside.read_text()
    assert rerun_command(inside, 2) == command
    r = sim("validate", command.split()[2], cwd=here)  # as typed where sim explore was started
    assert r.returncode == 0, r.stderr
    outside = save_variant(baseline, Settings({"model.synergy": 2.0}), tmp_path / "my dir", "v")
    assert shown_path(outside) == str(outside.resolve()) and Path(shown_path(outside)).is_absolute()
    assert f"sim run '{outside.resolve()}' --replications 3" in outside.read_text()  # quoted: a space


def test_a_variant_of_a_users_scenario_extends_it_by_a_relative_path(small):
    setup = load_setup(str(small))
    path = save_variant(setup, Settings({"model.synergy": 0.5}), small.parent, "v")
    assert yaml.safe_load(path.read_text())["extends"] == "small.yaml"
    above = save_variant(setup, Settings({"model.synergy": 0.5}), small.parent.parent, "v")
    assert yaml.safe_load(above.read_text())["extends"] == "world/small.yaml"
    from sim.scenario.loader import load_scenario

    assert load_scenario(path).model.synergy == 0.5


def test_saving_refuses_without_writing(baseline, small, tmp_path, monkeypatch):
    target = tmp_path / "taken.yaml"
    target.write_text("mine\n")
    with pytest.raises(SimError, match="already exists"):
        save_variant(baseline, Settings({"model.synergy": 2.0}), tmp_path, "taken")
    assert target.read_text() == "mine\n"
    for bad in ("", "../up", "a b", ".hidden"):
        with pytest.raises(SimError, match="variant name"):
            save_variant(baseline, Settings(), tmp_path, bad)
    with pytest.raises(SimError, match="not a folder"):
        save_variant(baseline, Settings(), target, "x")
    # a user's scenario outside the chosen folder cannot be extended from there
    elsewhere = tmp_path / "elsewhere"
    with pytest.raises(SimError, match="saved in that file's folder"):
        save_variant(load_setup(str(small)), Settings({"model.synergy": 2.0}), elsewhere, "v")
    assert not elsewhere.exists()
    # a variant the loader refuses is never renamed into place, and leaves no partial file
    from sim.explore import state

    setup = load_setup(str(small))
    monkeypatch.setattr(state, "patch", lambda *a: {"model": {"synergy": -1.0}})
    with pytest.raises(ScenarioError, match="synergy"):
        save_variant(setup, Settings(), small.parent, "refused")
    assert sorted(p.name for p in small.parent.iterdir()) == ["small.yaml"]


# ----------------------------------------------------------------------------- the command
def test_without_the_viz_extra_the_command_says_how_to_install_it(tmp_path):
    code = (
        "import sys; sys.modules['solara'] = None; from sim.cli import main; "
        "sys.exit(main(['explore', '--no-browser']))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert r.returncode == 2
    assert "pip install -e '.[viz]'" in r.stderr and "Traceback" not in r.stderr


def test_bad_arguments_are_refused_before_serving(tmp_path):
    r = sim("explore", "no_such_scenario", "--no-browser", cwd=tmp_path)
    assert r.returncode == 2 and "no such scenario file" in r.stderr and "Traceback" not in r.stderr
    # a broken scenario is reported as `sim validate` reports it: file, line, key, expected / found
    broken = tmp_path / "broken.yaml"
    text = SMALL.read_text().replace("end_year: 2021,", "end_year: 2021, synergy: lots,", 1)
    broken.write_text(text)
    line = next(i for i, x in enumerate(text.splitlines(), 1) if "synergy: lots" in x)
    r = sim("explore", str(broken), "--no-browser", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert f"broken.yaml:{line}: model.synergy: expected a number, got 'lots'" in r.stderr, r.stderr
    (tmp_path / "unclosed.yaml").write_text("name: x\nmodel: {synergy: [1\n")
    r = sim("explore", "unclosed.yaml", "--no-browser", cwd=tmp_path)
    assert r.returncode == 2 and "unclosed.yaml: line 3" in r.stderr and "YAML syntax error" in r.stderr
    r = sim("explore", str(tmp_path), "--no-browser", cwd=tmp_path)
    assert r.returncode == 2 and "is a folder" in r.stderr
    r = sim("explore", " ", "--no-browser", cwd=tmp_path)
    assert r.returncode == 2 and "scenario: empty" in r.stderr
    r = sim("explore", "--port", "70000", "--no-browser", cwd=tmp_path)
    assert r.returncode == 2 and "--port" in r.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        r = sim("explore", "--port", str(port), "--no-browser", cwd=tmp_path)
    assert r.returncode == 2 and "cannot listen" in r.stderr and "Traceback" not in r.stderr
    assert "baseline" in shipped_scenarios()


@pytest.mark.parametrize("tty", [True, False])
def test_the_stop_message_is_a_line_of_its_own(tty, monkeypatch):
    """On a terminal Ctrl-C leaves `^C` on the current line: the message starts a new one."""
    import argparse
    import io

    import sim.explore.serve as serve_module
    from sim.explore.cli import command

    class Err(io.StringIO):
        def isatty(self) -> bool:
            return tty

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(serve_module, "serve", interrupted)
    err = Err()
    monkeypatch.setattr(sys, "stderr", err)
    args = argparse.Namespace(port=0, scenario=str(SMALL), mesa=False, host="127.0.0.1", no_browser=True)
    assert command(args, []) == 130
    assert err.getvalue() == ("\n" if tty else "") + "sim explore: stopped\n"


def test_the_offline_environment_serves_the_assets_locally():
    from sim.explore.serve import NO_CDN, offline_environment

    env = offline_environment("sim.explore.app", "baseline", "/tmp")
    assert env["SOLARA_ASSETS_PROXY"] == "true"  # the page loads assets from this server
    assert env["SOLARA_ASSETS_CDN"] == NO_CDN and "127.0.0.1" in NO_CDN
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "false" and env["SOLARA_MODE"] == "production"
    import solara_assets  # noqa: F401  (the pinned package of the assets)
    from solara.server import settings

    cdn = Path(settings.assets.proxy_cache_dir)
    assert (cdn / "@widgetti" / "solara-vuetify-app@10.1.1" / "dist").is_dir()
    assert (cdn / "requirejs@2.3.6" / "require.js").is_file()


def test_the_mesa_page_builds_and_its_sliders_set_the_model(monkeypatch):
    monkeypatch.setenv("SIM_EXPLORE_SCENARIO", str(SMALL))
    import importlib

    import sim.explore.mesa_page as mp

    mp = importlib.reload(mp)
    from mesa.visualization.solara_viz import _check_model_params

    setup = load_setup(str(SMALL))
    assert mp.page is not None
    params = {mp.param_name(k.key): k.default for k in setup.knobs if k.available}
    _check_model_params(mp.ExploredModel.__init__, params)  # what SolaraViz checks
    model = mp.ExploredModel(str(SMALL), seed=1, model__synergy=2.0)
    assert model.scenario.model.synergy == 2.0
    model.step()
    assert "influence_share[A]" in model.datacollector.get_model_vars_dataframe().columns
    from sim.report.base import FOCUS_COLOURS

    assert list(mp.colours(setup).values()) == [
        c.lower() for c in FOCUS_COLOURS[: len(setup.scenario.states)]
    ]


# ----------------------------------------------------------------------------- in a real browser
@pytest.mark.slow
def test_the_page_works_offline_in_a_real_browser(tmp_path):
    """The page asks nothing of any host but this one; moving a slider and running changes
    the figures; Ctrl-C stops the server cleanly."""
    import time

    import screenshot_explore as drive

    if not os.path.exists(drive.CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs it with apt")
        pytest.skip("no browser: Debian's chromium is missing (apt-get install chromium, as .ci/run does)")
    pytest.importorskip("playwright.sync_api", reason="playwright is missing (requirements/dev.txt)")
    from playwright.sync_api import expect

    server = drive.start(cwd=tmp_path)
    try:
        with drive.browser() as b:
            watch = drive.Watch()
            t0 = time.perf_counter()
            page = drive.open_page(b, server.url, watch)
            loaded = time.perf_counter() - t0
            before = drive.status(page)
            assert "as the scenario is" in before and "3 seeds" in before
            shots = {name: drive.figure(page, name) for name in ("influence", "punching", "alignment")}
            drive.move_slider(page, "model.synergy")  # to the end of its range: 3
            # 10 seeds (and the scenario as it is on them): a run of seconds, long enough to watch
            seeds = page.locator(".sim-seeds").first.get_by_role("slider")
            seeds.focus()
            seeds.press("End")
            t1 = time.perf_counter()
            run = page.get_by_role("button", name="Run", exact=True)
            run.click()
            # the run is in a thread: the page says so, keeps the last figures, and takes no second Run
            page.locator(".sim-running").first.wait_for(timeout=10_000)
            # the widgets are updated one by one: wait for each state rather than read it once;
            # nothing else that asks for a run (Reset, the scenario menu) takes a click meanwhile
            reset = page.get_by_role("button", name="Reset", exact=True)
            menu = page.locator(".sim-scenario").first
            expect(run).to_be_disabled(timeout=5_000)
            expect(reset).to_be_disabled(timeout=5_000)
            expect(menu).to_have_class(re.compile("v-input--is-disabled"), timeout=5_000)
            assert drive.status(page) == before
            assert "running 10 seeds" in page.locator(".sim-running").first.inner_text()
            after = drive.wait_for_status(page, before)
            ran = time.perf_counter() - t1
            page.locator(".sim-running").first.wait_for(state="detached", timeout=10_000)
            expect(run).to_be_enabled(timeout=10_000)
            expect(reset).to_be_enabled(timeout=10_000)
            expect(menu).not_to_have_class(re.compile("v-input--is-disabled"), timeout=10_000)
            assert "model.synergy=3" in after and "10 seeds" in after, after
            changed = {}
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:  # the images arrive just after the status line
                changed = {n: drive.figure(page, n) != s for n, s in shots.items()}
                if all(changed.values()):
                    break
                page.wait_for_timeout(250)
            assert all(changed.values()), changed
            for width in (1400, 1600):  # a lever's label may wrap: its switch grows, none overlaps
                page.set_viewport_size({"width": width, "height": 1000})
                page.wait_for_timeout(300)
                n = page.locator(".sim-lever").count()
                boxes = [page.locator(".sim-lever").nth(k).bounding_box() for k in range(n)]
                labels = [page.locator(".sim-lever label").nth(k).bounding_box() for k in range(n)]
                assert n == 11 and any(lb["height"] > 30 for lb in labels), width  # some labels wrap
                for k in range(n - 1):
                    assert labels[k]["y"] + labels[k]["height"] <= boxes[k + 1]["y"] + 0.5, (width, k)
            page.set_viewport_size(drive.VIEWPORT)
            if os.environ.get("SIM_EXPLORE_SCREENSHOT"):
                page.screenshot(path=str(drive.SCREENSHOT))
            assert watch.requests and not watch.foreign, watch.foreign
            assert any(u.startswith("ws://") for u in watch.requests)  # the widgets' channel
            assert not watch.errors, watch.errors
            print(f"page load {loaded:.1f} s; Run clicked to status shown {ran:.2f} s; {after}")
    finally:
        code, err = drive.stop(server)
    assert code == 130, err
    assert "Traceback" not in err and "sim explore: stopped" in err


@pytest.mark.slow
def test_the_mesa_page_works_offline_in_a_real_browser(tmp_path):
    import screenshot_explore as drive

    if not os.path.exists(drive.CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs it with apt")
        pytest.skip("no browser: Debian's chromium is missing (apt-get install chromium, as .ci/run does)")
    pytest.importorskip("playwright.sync_api", reason="playwright is missing (requirements/dev.txt)")
    server = drive.start(str(SMALL), "--mesa", cwd=tmp_path)
    try:
        with drive.browser() as b:
            watch = drive.Watch()
            page = b.new_page(viewport=drive.VIEWPORT)
            watch.attach(page)
            page.goto(server.url)
            page.get_by_text("model.synergy").first.wait_for(timeout=90_000)
            step = page.get_by_role("button", name="Step").first
            step.wait_for(timeout=30_000)
            step.click()
            step.click()
            page.locator("img").first.wait_for(timeout=30_000)  # Mesa's plots of the model's series
            assert watch.requests and not watch.foreign, watch.foreign
            assert not watch.errors, watch.errors
    finally:
        code, err = drive.stop(server)
    assert code == 130 and "Traceback" not in err, err
