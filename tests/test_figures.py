"""The run and comparison reports' figures, fast: the palette tells its colours apart, the
state-forum membership rebuilt from the events is the one the run recorded, and every figure
exists with its data and a caption that quotes that data."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text

from sim.report.base import FOCUS_COLOURS, GREY, Palette, Report, delta_e, label_ends, plt, regions_of
from sim.report.run_report import (
    _scenario,
    default_region,
    figures,
    load_run,
    memberships,
    network_snapshot,
    palette_for,
    region_dependence,
)

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "data" / "small.yaml"


def sim(*args: str, cwd: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "sim", *args, "--quiet"], capture_output=True, text=True, cwd=cwd
    )
    assert r.returncode == 0, r.stderr


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """The baseline to 2031 (its joins start in 2024), a short replicated baseline, and the
    four-state test world."""
    tmp = tmp_path_factory.mktemp("runs")
    sim("run", "--out", "base", cwd=tmp)
    sim("run", "--steps", "12", "--replications", "2", "--out", "rep", cwd=tmp)
    sim("run", str(SMALL), "--out", "small", cwd=tmp)
    return {"base": tmp / "base", "rep": tmp / "rep", "small": tmp / "small"}


def build(folder: Path, out: Path) -> dict[str, str]:
    """Every figure of a run folder into `out`: name -> caption."""
    out.mkdir()
    t = load_run(folder)
    rep = Report("test", out)
    figures(rep, t, palette_for(t, regions_of(folder)), _scenario(folder))
    for fig in rep.figures:
        assert (out / fig.file).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (out / fig.file).with_suffix(".csv").exists()
        assert fig.caption
    return {Path(f.file).stem: f.caption for f in rep.figures}


# ----------------------------------------------------------------------------- palette
def test_focus_colours_are_told_apart_from_each_other_and_from_grey():
    for a, b in itertools.combinations(FOCUS_COLOURS, 2):
        assert delta_e(a, b) > 20, (a, b)
    for a in FOCUS_COLOURS:
        assert delta_e(a, GREY) > 20, a
    assert delta_e("#000000", "#ffffff") == pytest.approx(100, abs=0.1)  # the Lab conversion's scale


def test_palette_keeps_one_colour_per_state_and_greys_out_the_rest():
    names = [f"k{i}" for i in range(len(FOCUS_COLOURS))] + ["A", "B", "C", "D", "E"]
    regions = {"A": "North", "B": "North", "C": "South", "D": "South", "E": "South"}
    pal = Palette(names, regions, focus=["C", "k3", "k0"])
    assert [pal(f"k{i}") for i in range(len(FOCUS_COLOURS))] == list(FOCUS_COLOURS)  # by place, not rank
    assert pal.line("D") == GREY and pal.line("k3") == FOCUS_COLOURS[3] and pal.line("k5") == GREY
    assert pal("D") == pal("D") and pal("D") != pal("E")  # shades of one hue, fixed
    assert delta_e(pal("C"), pal("D")) > 10  # a state the figure is about: its region's full hue
    assert delta_e(pal("B"), pal("D")) > 10  # two regions, two hues
    assert len(Palette(list("abcdefghij"), focus=list("abcdefghij")).focus) == len(FOCUS_COLOURS)


def test_two_states_of_a_region_a_figure_is_about_get_two_colours():
    names = [f"k{i}" for i in range(len(FOCUS_COLOURS))] + ["A", "B"]
    pal = Palette(names, {"A": "North", "B": "North"}, focus=["A", "B"])
    assert delta_e(pal("A"), pal("B")) > 10


def test_a_state_keeps_its_colour_whatever_its_rank():
    names = ["United States", "China", "European Union", "Japan", "Canada"]
    before = Palette(names, focus=["China", "United States", "Japan"])
    after = Palette(names, focus=["Japan", "Canada", "European Union"])  # another run, other leaders
    assert all(before(s) == after(s) for s in names)


def test_end_labels_never_overlap():
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.set_ylim(0, 1)
    label_ends(ax, [(f"s{k}", 0.5 + 0.001 * k, "k") for k in range(8)], fontsize=8)
    fig.canvas.draw()
    boxes = sorted(
        (Text.get_window_extent(t) for t in ax.texts), key=lambda b: b.y0
    )  # the text, not its line
    assert len(boxes) == 8
    for lower, upper in itertools.pairwise(boxes):
        assert upper.y0 >= lower.y1 - 0.5
    plt.close(fig)


# ----------------------------------------------------------------------------- membership
@pytest.mark.parametrize("name", ["base", "small"])
def test_membership_rebuilt_from_events_matches_the_recorded_counts(runs, name):
    t = load_run(runs[name])
    sc = _scenario(runs[name])
    founders = {f["name"]: f["members"] for f in sc["forums"]}
    forums = t["forums"]
    steps = sorted(forums.step.unique())
    members = memberships(founders, t["events"], steps)
    rebuilt = pd.DataFrame(
        [(k, f, len(members[k].get(f, ()))) for k in steps for f in founders], columns=["step", "forum", "n"]
    )
    both = forums.merge(rebuilt, on=["step", "forum"])
    assert len(both) == len(forums)
    assert (both["members"] == both["n"]).all(), both[both["members"] != both["n"]].head()
    if name == "base":  # the check has something to check: members joined during the run
        assert (t["events"].event == "join").sum() > 5
        assert forums[forums.step == forums.step.max()].members.sum() > sum(map(len, founders.values()))


def test_network_snapshot_reads_presidencies_links_and_brokers_of_its_year(runs):
    t = load_run(runs["base"])
    snap = network_snapshot(t, _scenario(runs["base"]), 2022)
    ev = t["events"]
    pres = ev[(ev.event == "presidency") & (ev.year >= 2022) & (ev.year < 2023)]
    assert sorted(snap["presidencies"]) == sorted(zip(pres.state, pres.forum, strict=True))
    assert snap["step"] == int(t["states"][t["states"].year == 2023.0].step.iloc[0])
    src = t["influence_sources"]
    brokers = set(src[(src.source == "brokerage") & (src.year > 2022) & (src.year <= 2023)].state)
    assert set(snap["brokers"]) == brokers and brokers
    model = t["model"].set_index("step")
    for a, b, v in snap["links"]:
        assert model.loc[snap["step"], f"alignment[{a}~{b}]"] == pytest.approx(v)
    assert "Hiroshima Friends Group" not in snap["members"]  # created in 2024


# ----------------------------------------------------------------------------- figures
def test_run_figures_exist_and_captions_quote_their_data(runs, tmp_path):
    caps = build(runs["base"], tmp_path / "report")
    assert {"influence_share", "influence_stock", "punching_ratio", "influence_by_source", "action_mix",
            "positions", "forum_texts", "alignment", "forum_network_2016", "forum_network_2022",
            "forum_network_2030", "emulation_network", "dependence_network", "dependence_layers",
            "lever_export_controls", "sea_ecosystem"} <= set(caps)  # fmt: skip
    share = pd.read_csv(tmp_path / "report" / "influence_share.csv")
    last = share[share.year == share.year.max()].sort_values("mean", ascending=False)
    lead = last.iloc[0]
    assert f"{lead.state} leads with {lead['mean']:.2f}" in caps["influence_share"]
    assert "n = 1" in caps["influence_share"] and "DFFT" in caps["influence_share"]
    src = pd.read_csv(tmp_path / "report" / "influence_by_source.csv").set_index("state")
    first = src.index[0]
    main = src.drop(columns="total").loc[first]
    assert (
        f"{first}: {main.idxmax()} {main.max() / src.loc[first, 'total']:.0%}" in caps["influence_by_source"]
    )
    assert (src["total"].diff().dropna() <= 1e-9).all()  # sorted by the stock
    dep = pd.read_csv(tmp_path / "report" / "dependence_layers.csv")
    assert "Southeast Asia" in caps["dependence_layers"] and "others" in set(dep.supplier)
    base_end = dep[(dep.layer == "base") & (dep.year == dep.year.max()) & (dep.supplier != "others")]
    top = base_end.sort_values("mean").iloc[-1]
    assert f"base layer: {top.supplier} {top['mean']:.2f}" in caps["dependence_layers"]
    net = pd.read_csv(tmp_path / "report" / "forum_network_2022.csv")
    for s, f in net[net.kind == "presidency"][["a", "b"]].itertuples(index=False):
        assert f"{s} ({f})" in caps["forum_network_2022"]
    pos = pd.read_csv(tmp_path / "report" / "positions.csv")
    assert set(pos.dimension) == {"hardness", "data_openness", "rights", "development", "security"}
    assert {"state", "forum text"} == set(pos.kind)


def test_influence_stock_caption_dates_its_peak_as_a_point_in_time(runs, tmp_path):
    # a year in the tables is the end of a step: the peak at 2031.0 is 'at the end of 2030', not 'in 2031.00'
    caps = build(runs["base"], tmp_path / "report")
    stock = pd.read_csv(tmp_path / "report" / "influence_stock.csv")
    share = pd.read_csv(tmp_path / "report" / "influence_share.csv")
    top = share[share.year == share.year.max()].nlargest(6, "mean").state  # the six leading states
    shown = stock[stock.state.isin(top)]
    peak = shown.loc[shown["mean"].idxmax()]
    when = f"the end of {int(peak.year) - 1}" if float(peak.year).is_integer() else f"{peak.year:.2f}"
    assert f"The highest point: {peak.state}, {peak['mean']:.2f} at {when}." in caps["influence_stock"]


def test_region_dependence_is_the_mean_over_the_region_with_absent_rows_as_zero(runs):
    t = load_run(runs["base"])
    dep = t["dependence"].assign(replication=0)
    members = ["Singapore", "Indonesia", "Vietnam", "Thailand", "Malaysia", "Philippines"]
    mean = region_dependence(dep, members, [0])
    row = mean[(mean.layer == "technical") & (mean.supplier == "China")].iloc[-1]
    d = dep[(dep.layer == "technical") & (dep.supplier == "China") & (dep.year == row.year)]
    assert row.share == pytest.approx(d[d.state.isin(members)].share.sum() / len(members))
    sums = mean.groupby(["layer", "year"]).share.sum()
    assert ((sums > 0.98) & (sums < 1.0 + 1e-9)).all()  # shares of supply: add up to 1, less the crumbs
    pal = Palette(["A", "B", "C"], {"A": "X", "B": "Y", "C": "Y"})
    assert default_region(pal, ["A", "B", "C"]) == "Y"


def test_replicated_figures_draw_bands_and_state_n(runs, tmp_path):
    caps = build(runs["rep"], tmp_path / "report")
    assert {"positions", "dependence_layers", "influence_by_source"} <= set(caps)
    assert any(name.startswith("forum_network_") for name in caps)
    for name in ("influence_share", "positions", "dependence_layers", "alignment"):
        assert "n = 2" in caps[name], name
        data = pd.read_csv(tmp_path / "report" / f"{name}.csv")
        assert np.isfinite(data["lo"]).any() and (data["n"] == 2).any(), name
    pos = pd.read_csv(tmp_path / "report" / "positions.csv")
    assert pos[pos.kind == "forum text"].who.nunique() == 4  # the four forums of greatest weight, once each
    assert "From the first of 2 seeds" in next(c for k, c in caps.items() if k.startswith("forum_network_"))


def test_a_world_without_southeast_asia_takes_its_largest_region(runs, tmp_path):
    caps = build(runs["small"], tmp_path / "report")
    assert "positions" in caps and "dependence_layers" in caps
    assert re.search(r"Who supplies (North|South) ", caps["dependence_layers"])


def test_a_world_without_linked_forums_or_levers_has_no_alignment_figure_and_no_nan(tmp_path):
    """Two states, one forum, no links, no levers: the alignment index is undefined, so the
    report says so instead of drawing empty panels captioned 'goes from nan to nan'."""
    import yaml

    sc = yaml.safe_load(SMALL.read_text(encoding="utf-8"))
    sc["states"] = sc["states"][:2]
    sc["forums"] = [{"name": "F1", "members": ["A", "B"], "inclusiveness": 0.1}]
    sc.pop("levers")
    (tmp_path / "two.yaml").write_text(yaml.safe_dump(sc), encoding="utf-8")
    sim("run", "two.yaml", "--out", "two", cwd=tmp_path)
    (tmp_path / "report").mkdir()
    t = load_run(tmp_path / "two")
    rep = Report("test", tmp_path / "report")
    figures(rep, t, palette_for(t, regions_of(tmp_path / "two")), _scenario(tmp_path / "two"))
    caps = {Path(f.file).stem: f.caption for f in rep.figures}
    assert "alignment" not in caps and "influence_share" in caps
    assert not any(re.search(r"\bnan\b", c, re.I) for c in caps.values()), caps
    assert any("alignment index of linked forums is undefined" in x for x in rep.sections)


def test_compare_figures_quote_the_differences(runs, tmp_path):
    a = runs["small"]
    sim("run", str(SMALL), "--out", str(tmp_path / "b"), "--set", "levers.EC.severity=0.0", cwd=tmp_path)
    from sim.report.compare import compare_report

    index = compare_report(a, tmp_path / "b", out=tmp_path / "cmp")
    html = index.read_text()
    d = pd.read_csv(index.parent / "diff_influence_share.csv").sort_values("diff")
    up = d.iloc[-1]
    assert f"Largest gain: {up.state} " in html
    for name in ("diff_influence_share", "influence_paths", "diff_over_time", "diff_world"):
        assert (index.parent / f"{name}.png").exists(), name
    # the time of the widest gap is a point in time (2022.0: the end of 2021), not 'in 2022.00'
    assert re.search(r"The paths part most for \w+ \([\d.]+ at (the end of \d{4}|\d{4}\.\d\d)\)\.", html)
    assert not re.search(r"\([\d.]+ in \d{4}\.\d\d\)", html)


def test_compare_of_worlds_without_linked_forums_says_the_alignment_is_undefined(tmp_path):
    """Identical paths and an undefined alignment index: no state is named as 'parting most',
    and the alignment difference is called undefined, not left blank."""
    import yaml

    from sim.report.compare import compare_report

    sc = yaml.safe_load(SMALL.read_text(encoding="utf-8"))
    sc["forums"] = [{"name": "F1", "members": ["A", "B", "C", "D"], "inclusiveness": 0.1}]
    sc.pop("levers")
    (tmp_path / "w.yaml").write_text(yaml.safe_dump(sc), encoding="utf-8")
    sim("run", "w.yaml", "--out", "a", cwd=tmp_path)
    sim("run", "w.yaml", "--out", "b", cwd=tmp_path)
    caps = {}
    index = compare_report(tmp_path / "a", tmp_path / "b", out=tmp_path / "cmp")
    for fig in re.findall(r'<figure id="(\w+)">.*?<figcaption>(.*?)</figcaption>', index.read_text(), re.S):
        caps[fig[0]] = fig[1]
    assert "parts most" not in caps["influence_paths"] and "part most" not in caps["influence_paths"]
    assert "forum alignment index undefined;" in caps["diff_world"]


def test_influence_by_source_names_discourse_once_and_tells_its_colours_apart(runs, tmp_path):
    from sim.report.run_report import SOURCE_COLOURS

    caps = build(runs["base"], tmp_path / "report")
    cap = caps["influence_by_source"]
    src = pd.read_csv(tmp_path / "report" / "influence_by_source.csv")
    states = pd.read_parquet(runs["base"] / "states.parquet").state.nunique()
    assert len(src) == 12 < states
    assert f"The 12 largest influence stocks of the {states} states at the end of 2030" in cap
    assert "discourse" in src.columns and cap.count("discourse (drafting forum texts)") == 1
    assert cap.count("drafting") == 1  # the source is named by its name in the data
    assert delta_e(SOURCE_COLOURS["cocreation"], SOURCE_COLOURS["hosting"]) > 50
    assert min(delta_e(a, b) for a, b in itertools.combinations(SOURCE_COLOURS.values(), 2)) > 20


def test_compare_compute_caption_labels_and_units(tmp_path, monkeypatch):
    """diff_compute: a caption made of the data, each bar's label beyond its whisker; the
    final-year table gives compute and market their units."""
    from sim.cli import main
    from sim.report import base

    world = tmp_path / "world"
    world.mkdir()
    (world / "small.yaml").write_text(SMALL.read_text())
    (world / "b.yaml").write_text("extends: small.yaml\nname: b\nlevers:\n  - {name: EC, severity: 0.0}\n")
    figs = {}
    save = base.Report.save

    def keep(self, fig, name, title, caption, data):
        figs[name] = (fig, caption, data)
        save(self, fig, name, title, caption, data)

    monkeypatch.setattr(base.Report, "save", keep)
    out = tmp_path / "cmp"
    args = [str(world / "small.yaml"), str(world / "b.yaml"), "--replications", "4", "--out", str(out)]
    assert main(["compare", *args, "--report", "--quiet"]) == 0
    fig, caption, data = figs["diff_compute"]
    first = data.iloc[0]
    assert re.match(
        r"Compute at the end of \d{4}, b relative to small \(100 x \(B / A - 1\), per paired replication, "
        r"then averaged over 4\), for the (one state|\d+ states) whose compute differs by more than 0\.5%: ",
        caption,
    ), caption
    assert f"{first.state} {first['mean']:+.1f}% [{first.lo:+.1f}, {first.hi:+.1f}]" in caption
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    ax = fig.axes[0]
    canvas = FigureCanvasAgg(fig)  # the report closed the figure: draw it again, as saved
    canvas.draw()
    renderer = canvas.get_renderer()
    labels = [t for t in ax.texts if t.get_text().endswith("%")]
    assert len(labels) == len(data)
    for (_, row), label in zip(data.iterrows(), labels, strict=True):
        box = label.get_window_extent(renderer)
        whisker = ax.transData.transform((row.hi if row["mean"] >= 0 else row.lo, 0))[0]
        assert (box.x0 > whisker) if row["mean"] >= 0 else (box.x1 < whisker), label.get_text()
        assert ax.get_window_extent(renderer).x1 >= box.x1  # inside the axes
    page = (out / "report" / "index.html").read_text()
    assert "compute (relative units)" in page and "market (relative units)" in page
    assert "Compute and market are in the scenario&#x27;s relative units" in page


def test_a_lever_series_that_stops_early_is_quoted_at_its_own_last_point(runs, tmp_path, monkeypatch):
    """The lever caption quotes each lever's last value; a series that stops before the run's
    end says where it stops instead of passing for the value at the end."""
    from sim.report import base
    from sim.report.replicate import until

    t = load_run(runs["base"])
    p = t["powers"]
    ec = p[(p.type == "export_controls") & (p.metric == "compute_gap")]
    first = ec.lever.iloc[0]
    stop = float(sorted(ec[ec.lever == first].year.unique())[-5])
    t["powers"] = p[~((p.lever == first) & (p.year > stop))]
    caps = {}
    save = base.Report.save

    def keep(self, fig, name, title, caption, data):
        caps[name] = caption
        save(self, fig, name, title, caption, data)

    monkeypatch.setattr(base.Report, "save", keep)
    (tmp_path / "r").mkdir()
    figures(
        Report("test", tmp_path / "r"), t, palette_for(t, regions_of(runs["base"])), _scenario(runs["base"])
    )
    cap = caps["lever_export_controls"]
    assert f"{first} " in cap and f"(at {until(stop)}, where its series stops)" in cap
    assert cap.count("where its series stops") == 1  # the other controls run to the end


def test_the_compute_caption_says_when_a_state_is_averaged_over_fewer_replications(tmp_path, monkeypatch):
    """A replication where A's compute is 0 has no ratio and is left out of that state's mean;
    the caption says over how many replications that state is averaged."""
    from sim.cli import main
    from sim.report import base, replicate

    world = tmp_path / "world"
    world.mkdir()
    (world / "small.yaml").write_text(SMALL.read_text())
    (world / "b.yaml").write_text("extends: small.yaml\nname: b\nlevers:\n  - {name: EC, severity: 0.0}\n")
    caps = {}
    save, interval = base.Report.save, replicate.group_interval

    def keep(self, fig, name, title, caption, data):
        caps[name] = (caption, data)
        save(self, fig, name, title, caption, data)

    def one_ratio_missing(df, keys, value="value", level=replicate.LEVEL):
        if keys == ["state"] and value == "value":  # the compute ratios: the most changed state
            first = df.groupby("state")[value].mean().abs().idxmax()  # loses one replication
            df = df.drop(index=df[df.state == first].index[:1])
        return interval(df, keys, value, level)

    monkeypatch.setattr(base.Report, "save", keep)
    monkeypatch.setattr(replicate, "group_interval", one_ratio_missing)
    args = [
        str(world / "small.yaml"),
        str(world / "b.yaml"),
        "--replications",
        "4",
        "--out",
        str(tmp_path / "c"),
    ]
    assert main(["compare", *args, "--report", "--quiet"]) == 0
    caption, data = caps["diff_compute"]
    short = data[data.n < 4]
    for s in short.state:
        assert "(over 3 of 4: A's compute is 0 in the others)" in caption.split(f"{s} ", 1)[1].split(";")[0]
    assert len(short) == 1 and caption.count("of 4: A's compute is 0") == 1
