"""The sweep report's figures: which figures each design gets, the t intervals and their n,
no band without replications, small multiples with one panel per level, captions that carry
the numbers of the data they describe. Fast: small synthetic sweep folders (and one tiny real
sweep of tests/data/small.yaml)."""

from __future__ import annotations

import itertools
import json
import re
from html import unescape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from sim.report import sweep_report as sr
from sim.report.base import plt

SMALL = Path(__file__).resolve().parent / "data" / "small.yaml"
YEARS = [2020.0, 2021.0, 2022.0, 2023.0]


def make_sweep(
    folder: Path,
    design: str,
    points: list[dict[str, float]],
    reps: int,
    value=lambda p, r, year: 0.0,
    series: bool = True,
    samples: int | None = None,
) -> Path:
    """A finished sweep folder as `sim sweep` writes it (manifest, runs.parquet, series/) with
    metric y = value(point params, replication, year); its final value is the last year's."""
    folder.mkdir(parents=True)
    rows, srows = [], []
    for k, (pt, r) in enumerate(itertools.product(range(len(points)), range(reps))):
        run_id = f"r{k:04d}"
        params = {f"param:{n}": v for n, v in points[pt].items()}
        final = value(points[pt], r, YEARS[-1])
        rows.append({"run_id": run_id, "index": k, "point": pt, "replication": r, "seed": k, **params,
                     "y": final, "status": "ok", "error": "", "traceback": "", "steps_run": 12})  # fmt: skip
        srows += [(run_id, 4 * j, yr, "y", value(points[pt], r, yr)) for j, yr in enumerate(YEARS)]
    pd.DataFrame(rows).to_parquet(folder / "runs.parquet")
    if series:
        (folder / "series").mkdir()
        s = pd.DataFrame(srows, columns=["run_id", "step", "year", "metric", "value"])
        s.to_parquet(folder / "series" / "part-000000.parquet")
    manifest = {"experiment": "t", "design": design, "points": len(points), "replications": reps,
                "runs": len(rows), "metrics": {"y": "model.alignment_index"}, "status": "finished",
                "samples": samples}  # fmt: skip
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


class Spy:
    """Stands in for the Report: keeps each figure open, with its caption and data."""

    def __init__(self) -> None:
        self.saved: dict[str, tuple] = {}

    def save(self, fig, name: str, title: str, caption: str, data: pd.DataFrame) -> None:
        self.saved[name] = (fig, caption, data)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def grid(a: list[float], b: list[float]) -> list[dict[str, float]]:
    return [{"a": x, "b": y} for x, y in itertools.product(a, b)]


NOISE = [0.0, 1.0, 3.0]  # replication r adds NOISE[r]: at every point n = 3, sd = sqrt(7/3)


def linear(p, r, year):
    return p["a"] + 10 * p.get("b", 0) + NOISE[r % 3] + (year - 2020)


def figures(index: Path) -> dict[str, str]:
    """name -> caption of every figure of a report page."""
    text = index.read_text()
    found = re.findall(r'<figure id="([^"]+)">.*?<figcaption>(.*?) <a href', text, re.S)
    return {name: unescape(c) for name, c in found}


# ----------------------------------------------------------------------------- whole reports
@pytest.mark.parametrize(
    ("design", "expected"),
    [
        ("factorial", {"series_y", "response_y", "heatmap_y"}),
        ("lhs", {"series_y", "response_y"}),
        ("sobol", {"series_y", "response_y", "sensitivity_y"}),
        ("morris", {"series_y", "response_y", "sensitivity_y"}),
    ],
)
def test_each_design_gets_its_figures_with_data_and_captions(tmp_path, design, expected):
    rng = np.random.default_rng(1)
    if design == "factorial":
        points, reps = grid([1.0, 2.0, 3.0], [0.0, 0.5]), 3
    else:
        points, reps = [{"a": float(x), "b": float(y)} for x, y in rng.uniform(0, 1, (40, 2))], 1
    folder = make_sweep(tmp_path / "sw", design, points, reps, linear, samples=8)
    if design == "sobol":
        pd.DataFrame({"parameter": ["a", "b"], "S1": [0.1, 0.8], "S1_conf": [0.05, 0.1], "ST": [0.15, 0.9],
                      "ST_conf": [0.04, 0.1]}).to_csv(folder / "sensitivity-y.csv", index=False)  # fmt: skip
    if design == "morris":
        pd.DataFrame({"parameter": ["a", "b"], "mu_star": [1.0, 10.0], "mu_star_conf": [0.2, 1.0],
                      "sigma": [0.1, 0.5], "mu": [1.0, 10.0]}).to_csv(folder / "sensitivity-y.csv", index=False)  # fmt: skip
    index = sr.sweep_report(folder)
    caps = figures(index)
    assert set(caps) == expected
    for name, caption in caps.items():
        png = index.parent / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000, name
        assert not pd.read_csv(index.parent / f"{name}.csv").empty, name
        assert len(caption) > 40, (name, caption)
        assert "see the response figures" not in caption  # the old caption that contradicted its plot
    text = index.read_text()
    assert "Varied parameters" in text and "Provenance" in text and "Failed runs (0)" in text


def test_a_tiny_real_sweep_gets_its_report(tmp_path):
    from sim.experiments.sweep import run_sweep

    exp = {"scenario": str(SMALL), "design": "factorial", "replications": 2, "base_seed": 3, "every": 2,
           "vary": {"levers.EC.severity": [0.0, 1.0], "model.synergy": [0.0, 1.0, 2.0]},
           "metrics": {"cost": "powers.coercion_cost_total[EC]"}}  # fmt: skip
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(exp))
    run_sweep(tmp_path / "exp.yaml", out=tmp_path / "sw", executor="serial", progress=False)
    caps = figures(sr.sweep_report(tmp_path / "sw"))
    assert set(caps) == {"series_cost", "response_cost", "heatmap_cost"}
    # severity has fewer levels: one panel per severity, one line per synergy
    assert caps["series_cost"].startswith(
        "One panel per level of EC.severity, one line per level of model.synergy"
    )
    assert "n = 2 replications per point" in caps["series_cost"]


# ----------------------------------------------------------------------------- intervals
def test_bands_are_t_intervals_with_the_replications_n(tmp_path):
    folder = make_sweep(tmp_path / "sw", "factorial", grid([1.0, 2.0], [0.0, 1.0]), 3, linear)
    sw, _ = sr.load(folder)
    d = sr._series(folder, sw)
    spy = Spy()
    sr.series_factorial(spy, "y", d, sw)
    _, caption, data = spy.saved["series_y"]
    x = np.array(NOISE)
    half = stats.t.ppf(0.975, 2) * x.std(ddof=1) / np.sqrt(3)  # 4.303 x the standard error
    assert np.allclose(data["hi"] - data["mean"], half) and np.allclose(data["mean"] - data["lo"], half)
    assert (data["n"] == 3).all()
    assert "n = 3 replications per point" in caption and "half-width 4.30 x the standard error" in caption
    assert sr.t_multiplier(3) == pytest.approx(stats.t.ppf(0.975, 2))
    assert np.isnan(sr.t_multiplier(1))
    sr.response_factorial(spy, "y", sw)
    _, caption, data = spy.saved["response_y"]
    assert np.allclose(data["hi"] - data["mean"], half)
    assert "n = 3 replications per point" in caption


def test_one_replication_gives_no_band_and_says_why(tmp_path):
    folder = make_sweep(tmp_path / "sw", "factorial", grid([1.0, 2.0], [0.0, 1.0]), 1, linear)
    sw, _ = sr.load(folder)
    spy = Spy()
    sr.series_factorial(spy, "y", sr._series(folder, sw), sw)
    sr.response_factorial(spy, "y", sw)
    for name in ("series_y", "response_y"):
        fig, caption, data = spy.saved[name]
        assert data["lo"].isna().all() and data["hi"].isna().all()
        assert "n = 1 replication per point: no interval can be drawn (it needs n >= 2)" in caption
    fig = spy.saved["series_y"][0]
    assert not any(ax.collections for ax in fig.axes)  # no fill_between band anywhere


# ----------------------------------------------------------------------------- layouts
def test_factorial_series_has_one_panel_per_level_and_a_named_colour_key(tmp_path):
    # a has 4 levels, b 2: one panel per level of b, a line per level of a in each
    folder = make_sweep(tmp_path / "sw", "factorial", grid([1.0, 2.0, 3.0, 4.0], [0.0, 0.5]), 2, linear)
    sw, _ = sr.load(folder)
    spy = Spy()
    sr.series_factorial(spy, "y", sr._series(folder, sw), sw)
    fig, caption, data = spy.saved["series_y"]
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["b = 0", "b = 0.5"]
    assert all(len(ax.get_lines()) == 4 for ax in panels)
    (legend,) = fig.legends
    assert legend.get_title().get_text() == "a"
    assert [t.get_text() for t in legend.get_texts()] == ["1", "2", "3", "4"]
    assert {"param:a", "param:b"} <= set(data.columns)  # the CSV says which point is which
    # the caption's extremes are the data's: final year 2023, y = a + 10 b + noise + 3
    assert "In 2023 y is highest at b 0.5, a 4 (12.5) and lowest at b 0, a 1 (4.5)" in caption


def test_a_single_parameter_gets_a_labelled_line_per_level(tmp_path):
    folder = make_sweep(tmp_path / "sw", "factorial", [{"a": v} for v in (1.0, 2.0, 5.0)], 2, linear)
    sw, _ = sr.load(folder)
    spy = Spy()
    sr.series_factorial(spy, "y", sr._series(folder, sw), sw)
    fig, caption, _ = spy.saved["series_y"]
    (ax,) = fig.axes
    assert len(ax.get_lines()) == 3
    assert sorted(t.get_text() for t in ax.texts) == ["1", "2", "5"]  # direct labels at line ends
    assert caption.startswith("One line per level of a, labelled at its end")


def test_sampled_series_are_percentile_bands_not_a_line_per_run(tmp_path):
    rng = np.random.default_rng(2)
    points = [{"a": float(x), "b": float(y)} for x, y in rng.uniform(0, 1, (60, 2))]
    folder = make_sweep(tmp_path / "sw", "lhs", points, 1, linear)
    sw, _ = sr.load(folder)
    spy = Spy()
    sr.series_sampled(spy, "y", sr._series(folder, sw), sw)
    fig, caption, data = spy.saved["series_y"]
    (ax,) = fig.axes
    assert len(ax.get_lines()) == sr.N_EXAMPLES + 1  # a few runs in grey and the median
    assert len(ax.collections) == 2  # the 50% and 90% bands
    finals = np.array([linear(p, 0, 2023.0) for p in points])
    last = data[data.year == 2023.0].iloc[0]
    assert last["median"] == pytest.approx(np.median(finals))
    assert last["p05"] == pytest.approx(np.quantile(finals, 0.05))
    assert "n = 60 ok runs (60 design points x 1 replication)" in caption
    assert f"between {sr.fmt(np.quantile(finals, 0.25))} and {sr.fmt(np.quantile(finals, 0.75))}" in caption


def test_three_factorial_parameters_fall_back_to_bands_and_say_so(tmp_path):
    points = [{"a": a, "b": b, "c": c} for a, b, c in itertools.product([1.0, 2.0], [0.0, 1.0], [0.0, 1.0])]
    folder = make_sweep(tmp_path / "sw", "factorial", points, 2, linear)
    caps = figures(sr.sweep_report(folder))
    assert set(caps) == {"series_y", "response_y"}  # no heatmap for three parameters
    assert caps["series_y"].startswith("3 parameters are varied, too many for one line per point")
    assert "no interval (the runs at a level differ in the other parameters" in caps["response_y"]


# ----------------------------------------------------------------------------- captions
def test_response_captions_carry_the_data(tmp_path):
    folder = make_sweep(tmp_path / "sw", "factorial", grid([2.0, 4.0, 20.0], [0.4, 0.8]), 3, linear)
    sw, _ = sr.load(folder)
    spy = Spy()
    sr.response_factorial(spy, "y", sw)
    fig, caption, _ = spy.saved["response_y"]
    assert len(fig.axes) == 2  # one panel per parameter
    # mean final y at (a, b) = a + 10 b + mean noise (4/3) + 3
    at = lambda a, b: sr.fmt(a + 10 * b + 4 / 3 + 3)  # noqa: E731
    assert (
        f"As a goes 2 -> 20, y rises at every level of b: at b 0.4 it rises from {at(2, 0.4)} to {at(20, 0.4)}"
        in caption
    )
    assert f"at b 0.8 it rises from {at(2, 0.8)} to {at(20, 0.8)}" in caption


def test_heatmap_writes_values_in_cells_and_picks_a_diverging_map_for_both_signs(tmp_path):
    folder = make_sweep(tmp_path / "sw", "factorial", grid([-3.0, 0.0, 3.0], [0.0, 1.0]), 1,
                        lambda p, r, year: p["a"] * (1 + p["b"]))  # fmt: skip
    sw, _ = sr.load(folder)
    spy = Spy()
    sr.heatmap(spy, "y", sw)
    fig, caption, _ = spy.saved["heatmap_y"]
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == sorted(["-3", "-6", "0", "0", "3", "6"])
    assert ax.get_xlabel() == "b" and ax.get_ylabel() == "a"
    assert ax.images[0].get_cmap().name == "RdBu_r"
    assert (
        "diverging" in caption
        and "Highest 6 at a 3, b 1." in caption
        and "Lowest -6 at a -3, b 1." in caption
    )


def test_sensitivity_is_sorted_names_the_leader_and_flags_unclear_indices(tmp_path):
    rng = np.random.default_rng(3)
    points = [{"a": float(x), "b": float(y)} for x, y in rng.uniform(0, 1, (24, 2))]
    folder = make_sweep(tmp_path / "sw", "sobol", points, 1, linear, series=False, samples=8)
    csv = folder / "sensitivity-y.csv"
    pd.DataFrame({"parameter": ["a", "b", "c"], "S1": [0.02, 0.7, 0.3], "S1_conf": [0.05, 0.1, 0.1],
                  "ST": [0.03, 0.8, 0.35], "ST_conf": [0.01, 0.12, 0.1]}).to_csv(csv, index=False)  # fmt: skip
    sw, _ = sr.load(folder)
    spy = Spy()
    sr.sensitivity(spy, csv, sw)
    fig, caption, data = spy.saved["sensitivity_y"]
    assert list(data.parameter) == ["a", "c", "b"]  # ascending, so the largest is drawn at the top
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["a", "c", "b"]
    assert "Most influential: b (ST 0.8 ± 0.12)" in caption
    assert "Intervals that include zero (as wide as the index itself): a (S1 0.02 ± 0.05)" in caption
    assert "(N = 8)" in caption


def test_trend_words():
    assert sr.trend([1.0, 2.0, 3.0], [0, 1, 2], "x") == "rises from 1 to 3"
    assert sr.trend([3.0, 5.0, 1.0], [0, 1, 2], "x") == "falls from 3 to 1, peaking at 5 at x 1"
    assert sr.trend([1.0, 1.001, 1.0], [0, 1, 2]) == "stays at 1"
    assert sr.trend([1.0, 1.2], [0, 1], ref=10.0) == "stays at 1"  # small against the sweep's spread


def test_direct_labels_do_not_overlap():
    ys = np.array([1.0, 1.01, 1.02, 5.0])
    out = sr._spread(ys, 0.5)
    assert np.all(np.diff(np.sort(out)) >= 0.5 - 1e-12)
    assert list(np.argsort(out)) == list(np.argsort(ys))


def test_a_broken_sensitivity_table_is_refused_and_nothing_is_written(tmp_path):
    rng = np.random.default_rng(4)
    points = [{"a": float(x), "b": float(y)} for x, y in rng.uniform(0, 1, (12, 2))]
    folder = make_sweep(tmp_path / "sw", "sobol", points, 1, linear, series=False)
    pd.DataFrame({"parameter": ["a", "b"], "S1": [0.1, 0.2]}).to_csv(
        folder / "sensitivity-y.csv", index=False
    )
    with pytest.raises(
        sr.SimError,
        match=r"sensitivity-y.csv: not a table of `sim analyze sensitivity` \(no column S1_conf, ST, ST_conf\)",
    ):
        sr.sweep_report(folder)
    assert not (folder / "report").exists()


def test_many_levels_of_one_parameter_get_a_colour_bar_that_names_it(tmp_path):
    points = [{"a": float(v)} for v in range(12)]
    folder = make_sweep(tmp_path / "sw", "factorial", points, 2, linear)
    sw, _ = sr.load(folder)
    spy = Spy()
    sr.series_factorial(spy, "y", sr._series(folder, sw), sw)
    fig, caption, _ = spy.saved["series_y"]
    ax, bar = fig.axes
    assert len(ax.get_lines()) == 12 and not ax.texts  # too many for direct labels
    assert bar.get_ylabel() == "a"
    assert caption.startswith("One line per level of a (colour bar, dark = low)")
