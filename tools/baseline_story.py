"""Print the figures behind the baseline's story (docs/model.md 4.1 and 5) from fresh runs.

    .venv/bin/python tools/baseline_story.py [--seeds 10] [--set KEY=VALUE ...] [--figure]

Runs the packaged baseline at seeds 0..n-1 and prints: who leads the influence ranking in
chosen years, the 2030 shares (mean and 95% t interval), each leading state's main sources
(from the influence-by-source ledger), punching ratios, the US-China distance, how often the
great powers choose their power actions once available, and memberships the forums' rules
exclude; then the calibration notes of 5 (Japan held to one path, synergy off, the
controls' shortfall, Southeast Asia's models), from the variant scenarios at the same seeds.
Every number in 4.1 and 5 comes from this script; `--figure` also redraws
docs/img/baseline_influence_by_source.png (the run report's figure, at the baseline's seed).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.claims.stats import effect_ci  # noqa: E402
from sim.experiments.metrics import Evaluator  # noqa: E402
from sim.model import RuleMakingModel  # noqa: E402
from sim.scenario.loader import load_scenario, parse_assignment  # noqa: E402

BIG = ["United States", "China", "European Union", "Japan"]
YEARS = [2017, 2019, 2021, 2023, 2025, 2027, 2030]
POWERS = {"United States": ["export_controls", "alliance"], "China": ["declaration"],
          "European Union": ["regulation"]}  # fmt: skip
EXCLUDED = [("BRICS", "United States"), ("GPAI", "China"), ("GPAI", "Russia"),
            ("Hiroshima Friends Group", "China"), ("Hiroshima Friends Group", "Russia")]  # fmt: skip


def one_run(seed: int, overrides: list[tuple[str, object]]) -> dict:
    model = RuleMakingModel(load_scenario(ROOT / "scenarios" / "baseline.yaml", overrides, seed=seed))
    model.run()
    t = model.tables()
    st = t["states"]
    out: dict = {"leaders": {}, "shares": {}, "sources": {}, "ratio": {}, "actions": {}, "excluded": []}
    for y in YEARS:
        at = st[st.year == st[st.year <= y + 0.75].year.max()]
        out["leaders"][y] = at.loc[at.influence.idxmax(), "state"]
    last = st[st.step == st.step.max()].set_index("state")
    first = st[st.step == 0].set_index("state")
    out["shares"] = last.influence_share.to_dict()
    out["ratio"] = last.punching_ratio.to_dict()
    pos = [c for c in st.columns if c.startswith("position_")]
    for name, frame in (("distance_2016", first), ("distance_2030", last)):
        a, b = frame.loc["United States", pos].to_numpy(float), frame.loc["China", pos].to_numpy(float)
        out[name] = float(np.linalg.norm(a - b) / np.sqrt(len(pos)))
    led = t["influence_sources"]
    by = led.groupby(["state", "source"]).gain.sum()
    for s in BIG:
        out["sources"][s] = (by[s] / by[s].sum()).to_dict()
    g20 = led[(led.source == "discourse") & (led.state == "China")]
    out["china_g20_drafting"] = float(g20[g20.target == "G20"].gain.sum() / max(g20.gain.sum(), 1e-12))
    for s, acts in POWERS.items():
        d = st[(st.state == s) & (st.step > 0)]
        late = d[d.year >= 2024]
        for a in acts:
            chosen = d[d.action == a]
            first_year = float(chosen.year.min()) if len(chosen) else float("nan")
            out["actions"][f"{s}: {a}"] = (float((late.action == a).mean()), first_year)
    for s in BIG:
        d = st[(st.state == s) & (st.step > 0)]
        out.setdefault("mix", {})[s] = d.action.value_counts(normalize=True).to_dict()
    ev = t["events"]
    adopt = ev[ev.event == "adopt"]
    out["adopters"] = (int((adopt.year <= 2025.75).sum()), len(adopt))
    for forum, state in EXCLUDED:
        if len(ev[(ev.event == "join") & (ev.forum == forum) & (ev.state == state)]):
            out["excluded"].append(f"{state} joins {forum}")
    return out


NOTES = [  # (label, scenario, metric)
    ("Japan's influence share", "baseline", "states.influence_share[Japan]"),
    ("Japan's punching ratio", "baseline", "states.punching_ratio[Japan]"),
    ("Japan, institutional participation only", "japan_single_path_institutional",
     "states.influence_share[Japan]"),
    ("Japan, discourse construction only", "japan_single_path_discourse", "states.influence_share[Japan]"),
    ("Japan, practice sharing only", "japan_single_path_practice", "states.influence_share[Japan]"),
    ("Japan, synergy 0", "no_synergy", "states.influence_share[Japan]"),
    ("China's compute shortfall from its no-control path, peak", "baseline",
     "powers.target_growth_gap[US chip controls 2022]@max:2022..2030"),
    ("the same, 2030", "baseline", "powers.target_growth_gap[US chip controls 2022]"),
    ("China's share of Southeast Asia's models, 2023", "baseline",
     "ecosystem.share[Southeast Asia/China]@2023"),
    ("China's share of Southeast Asia's models, 2030", "baseline", "ecosystem.share[Southeast Asia/China]"),
    ("the US's share of Southeast Asia's models, 2030", "baseline",
     "ecosystem.share[Southeast Asia/United States]"),
]  # fmt: skip


def notes(seeds: int, overrides: list[tuple[str, object]]) -> None:
    print("\ncalibration notes (2030 unless dated): mean [95% interval]")
    models: dict[tuple[str, int], Evaluator] = {}
    for label, scen, metric in NOTES:
        vals = []
        for seed in range(seeds):
            if (scen, seed) not in models:
                m = RuleMakingModel(load_scenario(ROOT / "scenarios" / f"{scen}.yaml", overrides, seed=seed))
                m.run()
                models[(scen, seed)] = Evaluator(m)
            vals.append(models[(scen, seed)].final(metric))
        mean, lo, hi, _ = effect_ci(np.array(vals))
        print(f"  {label:58s} {mean:.3f} [{lo:.3f}, {hi:.3f}]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--figure", action="store_true", help="redraw docs/img/baseline_influence_by_source.png")
    args = ap.parse_args()
    if args.figure:
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "sim", "run", "--quiet", "--report", "--out", f"{tmp}/run"]
            subprocess.run(cmd, check=True, cwd=ROOT)
            png = ROOT / "docs" / "img" / "baseline_influence_by_source.png"
            shutil.copyfile(f"{tmp}/run/report/influence_by_source.png", png)
            print(f"wrote {png.relative_to(ROOT)}")
    overrides = [parse_assignment(a) for a in args.overrides]
    runs = [one_run(s, overrides) for s in range(args.seeds)]
    n = len(runs)
    print(f"baseline, seeds 0..{n - 1}" + (f", {args.overrides}" if args.overrides else ""))
    print("\nleader of the influence ranking (runs of", n, ")")
    for y in YEARS:
        c = Counter(r["leaders"][y] for r in runs)
        print(f"  {y}: " + ", ".join(f"{k} {v}" for k, v in c.most_common()))
    print("\n2030 influence share: mean [95% interval]; punching ratio")
    shares = pd.DataFrame([r["shares"] for r in runs])
    ratios = pd.DataFrame([r["ratio"] for r in runs])
    for s in shares.mean().sort_values(ascending=False).index[:8]:
        m, lo, hi, _ = effect_ci(shares[s].to_numpy())
        print(f"  {s:16s} {m:.3f} [{lo:.3f}, {hi:.3f}]   ratio {ratios[s].mean():.2f}")
    print("\nmain sources of the stock (share of gains 2016-2030, mean over runs)")
    for s in BIG:
        src = pd.DataFrame([r["sources"][s] for r in runs]).fillna(0).mean().sort_values(ascending=False)
        print(f"  {s:16s} " + ", ".join(f"{k} {v:.0%}" for k, v in src.items() if v >= 0.05))
    g20 = np.mean([r["china_g20_drafting"] for r in runs])
    print(f"  China's drafting gains in the G20: {g20:.0%}")
    d0 = np.mean([r["distance_2016"] for r in runs])
    d1 = np.mean([r["distance_2030"] for r in runs])
    print(f"\nUS-China distance (RMS over dimensions): 2016 {d0:.3f}, 2030 {d1:.3f} ({d1 / d0 - 1:+.0%})")
    print("\npower actions: share of steps 2024-2030 (mean), first year chosen (median), runs using it")
    keys = sorted({k for r in runs for k in r["actions"]})
    for k in keys:
        vals = [r["actions"][k] for r in runs]
        first = [v[1] for v in vals if np.isfinite(v[1])]
        when = f"{np.median(first):.2f}" if first else "never"
        print(f"  {k:32s} {np.mean([v[0] for v in vals]):.3f}  from {when}  ({len(first)} runs)")
    print("\naction mix 2016-2030 (mean share of steps)")
    for s in BIG:
        mix = pd.DataFrame([r["mix"][s] for r in runs]).fillna(0).mean().sort_values(ascending=False)
        print(f"  {s:16s} " + ", ".join(f"{k} {v:.2f}" for k, v in mix.items()))
    bad = Counter(e for r in runs for e in r["excluded"])
    print("\nmemberships the forums' rules exclude:", dict(bad) or "none")
    a25 = [r["adopters"][0] for r in runs]
    a30 = [r["adopters"][1] for r in runs]
    print(f"states adopting the EU AI Act (de jure): by end 2025 {np.median(a25):g} (median; "
          f"{min(a25)}-{max(a25)}), by 2030 {np.median(a30):g} ({min(a30)}-{max(a30)})")  # fmt: skip
    notes(args.seeds, overrides)


if __name__ == "__main__":
    main()
