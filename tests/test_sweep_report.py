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


def test_interval_note_states_the_multiplier_of_an_interval_it_draws():
    # points with n = 1 have no interval: the stated half-width is that at the smallest n >= 2, never NaN
    note = sr.interval_note(pd.Series([1, 3, 3]))
    assert "n = 1 to 3 replications per point" in note and "nan" not in note
    assert f"half-width {stats.t.ppf(0.975, 2):.2f} x the standard error at n = 3" in note
    assert note.endswith("points with a single value have none.")


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
    # the caption's extremes are the data's: final year 2023.0 (the end of 2022), y = a + 10 b + noise + 3
    assert "At the end of 2022 y is highest at b 0.5, a 4 (12.5) and lowest at b 0, a 1 (4.5)" in caption


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


def test_captions_read_a_year_as_the_end_of_the_year_before(tmp_path):
    """The series' `year` is the end of a step: 2023.0 is the end of 2022, never 'in 2023'."""
    rng = np.random.default_rng(3)
    points = [{"a": float(x), "b": float(y)} for x, y in rng.uniform(0, 1, (20, 2))]
    late = lambda p, r, year: np.nan if year < 2021.0 else linear(p, r, year)  # noqa: E731
    folder = make_sweep(tmp_path / "sw", "lhs", points, 1, late)
    sw, _ = sr.load(folder)
    spy = Spy()
    sr.series_sampled(spy, "y", sr._series(folder, sw), sw)
    caption = spy.saved["series_y"][1]
    assert "from the end of 2020 to the end of 2022; at the end of 2022 half the runs" in caption
    assert "y has no value before the end of 2020." in caption
    assert "2023" not in caption and "in 2022" not in caption
    folder = make_sweep(tmp_path / "fa", "factorial", grid([1.0, 2.0], [0.0, 1.0]), 2, late)
    sw, _ = sr.load(folder)
    sr.series_factorial(spy, "y", sr._series(folder, sw), sw)
    caption = spy.saved["series_y"][1]
    assert "At the end of 2022 y is highest" in caption and "2023" not in caption


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


def test_a_sensitivity_table_without_rows_is_refused_and_nothing_is_written(tmp_path):
    rng = np.random.default_rng(4)
    points = [{"a": float(x), "b": float(y)} for x, y in rng.uniform(0, 1, (12, 2))]
    folder = make_sweep(tmp_path / "sw", "sobol", points, 1, linear, series=False)
    (folder / "sensitivity-y.csv").write_text("parameter,S1,S1_conf,ST,ST_conf\n")
    with pytest.raises(
        sr.SimError, match=r"sensitivity-y.csv: a table of `sim analyze sensitivity` without rows"
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


# ----------------------------------------------------------------------------- categorical factors
POLICIES = {"learn_slowly": {"kind": "learning"}, "best": {"kind": "best_response"},
            "talk": {"kind": "fixed", "mix": {"discourse": 1}}}  # fmt: skip


@pytest.fixture(scope="module")
def categorical_factorial(tmp_path_factory) -> Path:
    """A real factorial sweep of tests/data/small.yaml crossing a numeric factor with a
    categorical one (levels declared in a non-alphabetical order), replicated, with series."""
    from sim.experiments.sweep import run_sweep

    tmp = tmp_path_factory.mktemp("catfact")
    exp = {"scenario": str(SMALL), "design": "factorial", "replications": 3, "base_seed": 3, "every": 2,
           "vary": {"model.synergy": [0.0, 2.0], "states.B.policy": {"levels": POLICIES}},
           "metrics": {"b_share": "states.influence_share[B]"}}  # fmt: skip
    (tmp / "exp.yaml").write_text(yaml.safe_dump(exp, sort_keys=False))
    run_sweep(tmp / "exp.yaml", out=tmp / "sw", executor="serial", progress=False)
    return tmp / "sw"


def _policy_groups(folder: Path, metric: str = "b_share") -> pd.DataFrame:
    runs = pd.read_parquet(folder / "runs.parquet")
    return runs.groupby("param:states.B.policy")[metric].agg(["mean", "std", "count"])


def test_a_categorical_factor_is_listed_by_its_level_names(categorical_factorial):
    index = sr.sweep_report(categorical_factorial, force=True)
    text = unescape(index.read_text())
    row = re.search(r"<code>states\.B\.policy</code></td><td[^>]*>([^<]*)</td>", text)
    assert row and row.group(1) == "3 levels: learn_slowly, best, talk"  # as declared, not sorted
    caps = figures(index)
    assert set(caps) == {"series_b_share", "response_b_share", "heatmap_b_share"}
    # synergy has fewer levels: its panels; a qualitative colour per policy, named in the legend
    assert caps["series_b_share"].startswith(
        "One panel per level of model.synergy, one line per level of B.policy (a colour per level)."
    )
    assert "(see the sensitivity indices" not in " ".join(caps.values())
    sw, _ = sr.load(categorical_factorial)
    s = sr._series(categorical_factorial, sw)
    spy = Spy()
    sr.series_factorial(spy, "b_share", s[s.metric == "b_share"], sw)
    fig = spy.saved["series_b_share"][0]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == list(POLICIES)
    assert [ax.get_title() for ax in fig.axes] == ["model.synergy = 0", "model.synergy = 2"]


def test_factorial_response_of_a_categorical_factor_has_no_line_and_names_its_extremes(categorical_factorial):
    sw, _ = sr.load(categorical_factorial)
    assert sw.is_categorical("param:states.B.policy") and not sw.is_categorical("param:model.synergy")
    assert sw.levels["param:states.B.policy"] == list(POLICIES)
    spy = Spy()
    sr.response_factorial(spy, "b_share", sw)
    fig, caption, _ = spy.saved["response_b_share"]
    cat_ax = next(ax for ax in fig.axes if ax.get_xlabel() == "B.policy")
    assert [t.get_text() for t in cat_ax.get_xticklabels()] == list(POLICIES)
    # every series on the categorical panel: markers only, no line joining the unordered levels
    lines = [ln for ln in cat_ax.get_lines() if len(ln.get_xdata()) == len(POLICIES)]
    assert lines and all(ln.get_linestyle() == "None" for ln in lines)
    # the numeric panel keeps its lines along model.synergy, one per policy, named in the legend
    num_ax = next(ax for ax in fig.axes if ax.get_xlabel() == "model.synergy")
    assert any(ln.get_linestyle() == "-" for ln in num_ax.get_lines())
    assert sorted(t.get_text() for t in num_ax.get_legend().get_texts()) == sorted(POLICIES)
    # the caption's extremes at synergy 0 are the data's, with their t intervals and n
    runs = pd.read_parquet(categorical_factorial / "runs.parquet")
    at0 = runs[runs["param:model.synergy"] == 0.0].groupby("param:states.B.policy")["b_share"]
    means, sds, ns = at0.mean(), at0.std(), at0.count()
    top = means.idxmax()
    half = stats.t.ppf(0.975, ns[top] - 1) * sds[top] / np.sqrt(ns[top])
    d = sr.digits(means.max(), means.min())
    assert (
        f"at model.synergy 0 it is highest with B.policy = {top} ({sr.fmt_d(means[top], d)} "
        f"[{sr.fmt_d(means[top] - half, d)}, {sr.fmt_d(means[top] + half, d)}], n = 3) and lowest with "
        f"{means.idxmin()} ({sr.fmt_d(means.min(), d)}"
    ) in caption
    assert "goes learn_slowly ->" not in caption and "rises" not in caption.split("Across")[1]


def test_factorial_series_with_categorical_colours_uses_level_names(tmp_path):
    # one categorical factor: a line per level, labelled by name, qualitative colours
    folder = make_sweep(tmp_path / "sw", "factorial", [{"k": v} for v in ["zeta", "alpha", "mid"]], 3,
                        lambda p, r, year: {"zeta": 1.0, "alpha": 3.0, "mid": 2.0}[p["k"]] + NOISE[r])  # fmt: skip
    sw, _ = sr.load(folder)
    assert sw.levels["param:k"] == ["zeta", "alpha", "mid"]  # order met in the runs: the design's
    s = sr._series(folder, sw)
    spy = Spy()
    sr.series_factorial(spy, "y", s[s.metric == "y"], sw)
    fig, caption, _ = spy.saved["series_y"]
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["alpha", "mid", "zeta"]
    assert [ln.get_color() for ln in ax.get_lines()] == sr.QUALITATIVE[:3]
    assert "dark = low" not in caption and "highest at k alpha" in caption
    sr.response_factorial(spy, "y", sw)
    fig, caption, _ = spy.saved["response_y"]
    assert all(ln.get_linestyle() == "None" for ln in fig.axes[0].get_lines() if len(ln.get_xdata()) == 3)
    half = stats.t.ppf(0.975, 2) * np.sqrt(7 / 3) / np.sqrt(3)
    m = 3 + 4 / 3
    assert caption.startswith(
        f"y is highest with k = alpha ({sr.fmt(m)} [{sr.fmt(m - half)}, {sr.fmt(m + half)}], n = 3) "
        f"and lowest with zeta ({sr.fmt(m - 2)}"
    )


@pytest.fixture(scope="module")
def categorical_lhs(tmp_path_factory) -> Path:
    """A real LHS sweep with a categorical factor (the manifest's problem lists its levels)."""
    tmp = tmp_path_factory.mktemp("catlhs")
    exp = {"scenario": str(SMALL), "design": "lhs", "samples": 24, "base_seed": 5,
           "vary": {"model.synergy": {"low": 0, "high": 2}, "states.B.policy": {"levels": POLICIES}},
           "metrics": {"b_share": "states.influence_share[B]", "b_res": "states.resource_share[B]"}}  # fmt: skip
    (tmp / "exp.yaml").write_text(yaml.safe_dump(exp, sort_keys=False))
    from sim.experiments.sweep import run_sweep

    run_sweep(tmp / "exp.yaml", out=tmp / "sw", executor="serial", progress=False)
    return tmp / "sw"


def test_sampled_response_of_a_categorical_factor(categorical_lhs):
    manifest = json.loads((categorical_lhs / "manifest.json").read_text())
    assert manifest["problem"]["levels"]["states.B.policy"] == list(POLICIES)
    sw, _ = sr.load(categorical_lhs)
    spy = Spy()
    sr.response_sampled(spy, "b_share", sw)
    fig, caption, data = spy.saved["response_b_share"]
    ax = next(ax for ax in fig.axes if ax.get_xlabel() == "B.policy")
    assert [t.get_text() for t in ax.get_xticklabels()] == list(POLICIES)
    assert not any(ln.get_linestyle() == "-" and len(ln.get_xdata()) > 1 for ln in ax.get_lines())
    g = _policy_groups(categorical_lhs)
    top, low = g["mean"].idxmax(), g["mean"].idxmin()
    d = sr.digits(g["mean"].max(), g["mean"].min())
    half = stats.t.ppf(0.975, g["count"][top] - 1) * g["std"][top] / np.sqrt(g["count"][top])
    assert (
        f"b_share is highest with B.policy = {top} ({sr.fmt_d(g['mean'][top], d)} "
        f"[{sr.fmt_d(g['mean'][top] - half, d)}, {sr.fmt_d(g['mean'][top] + half, d)}], "
        f"n = {g['count'][top]}) and lowest with {low} ({sr.fmt_d(g['mean'][low], d)}"
    ) in caption
    assert "(bins learn_slowly" not in caption and "best ->" not in caption
    rows = data[data.parameter == "B.policy"]
    assert list(rows.x) == list(POLICIES) and rows[["lo", "hi"]].notna().all().all()
    # an LHS has no sensitivity indices and cannot get them: no hint at all
    assert "sensitivity" not in caption


def test_the_sensitivity_hint_only_where_it_applies(tmp_path):
    rng = np.random.default_rng(2)
    points = [{"a": float(x), "b": float(y)} for x, y in rng.uniform(0, 1, (30, 2))]
    caps = {}
    for design, csv in [("lhs", False), ("sobol", False), ("sobol", True)]:
        folder = make_sweep(tmp_path / f"{design}{csv}", design, points, 1, linear, series=False, samples=8)
        if csv:
            pd.DataFrame({"parameter": ["a", "b"], "S1": [0.1, 0.8], "S1_conf": [0.05, 0.1], "ST": [0.15, 0.9],
                          "ST_conf": [0.04, 0.1]}).to_csv(folder / "sensitivity-y.csv", index=False)  # fmt: skip
        caps[design, csv] = figures(sr.sweep_report(folder))["response_y"]
    assert "sensitivity" not in caps["lhs", False]
    assert "run `sim analyze sensitivity` on this sobol sweep" in caps["sobol", False]
    assert "see the sensitivity indices of y below" in caps["sobol", True]


def test_a_constant_metric_is_worded_as_constant(tmp_path):
    assert sr.trend([0.0513, 0.0513, 0.0513], [0, 1, 2], "x") == "stays at 0.0513 throughout"
    assert sr.trend([0.0513, 0.0513 * (1 + 1e-12), 0.0513], [0, 1, 2]) == "stays at 0.0513 throughout"
    # not constant, but equal to 3 digits: enough digits to tell the numbers apart
    assert sr.trend([0.05128, 0.05134, 0.05127], [0, 1, 2], "x", ref=1e-4) == (
        "falls from 0.05128 to 0.05127, peaking at 0.05134 at x 1"
    )
    same = pd.DataFrame({"level": ["p", "q"], "mean": [0.0513, 0.0513], "lo": [0.05, 0.05], "hi": [0.06, 0.06],
                         "n": [3, 3]})  # fmt: skip
    assert sr.extremes(same, "k", "y") == "y stays at 0.0513 throughout, at every level of k"
    rng = np.random.default_rng(4)
    points = [
        {"a": float(x), "k": k} for x, k in zip(rng.uniform(0, 1, 30), ["p", "q", "r"] * 10, strict=True)
    ]
    folder = make_sweep(tmp_path / "sw", "lhs", points, 1, lambda p, r, year: 0.0513, series=False)
    caption = figures(sr.sweep_report(folder))["response_y"]
    assert "y stays at 0.0513 throughout" in caption
    assert "at both ends" not in caption and "peaking" not in caption and "highest" not in caption
