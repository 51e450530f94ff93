"""Reports of a run, a sweep and a comparison: every figure exists, has its data, and the
pages load in a real browser (Playwright driving Debian's chromium) without errors."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

SMALL = Path(__file__).resolve().parent / "data" / "small.yaml"
pytestmark = pytest.mark.slow  # a sweep, a run and a real browser: run by CI and `dev.py test --all`

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def sim(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=cwd)
    assert r.returncode in (0, 1), r.stderr
    return r


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("reports")
    sim("run", str(SMALL), "--out", "a", "--report", "--quiet", cwd=tmp)
    sim(
        "run",
        str(SMALL),
        "--out",
        "b",
        "--set",
        "levers.EC.severity=0.0",
        "--set",
        "model.synergy=0",
        "--quiet",
        cwd=tmp,
    )
    sim("report", "--compare", "a", "b", cwd=tmp)
    sim("run", str(SMALL), "--replications", "3", "--out", "r", "--report", "--quiet", cwd=tmp)
    exp = {
        "scenario": str(SMALL), "design": "factorial", "replications": 3, "base_seed": 3, "every": 2,
        "vary": {"levers.EC.severity": [0.0, 0.5, 1.0], "model.synergy": [0.0, 1.0]},
        "metrics": {"a_share": "states.influence_share[A]", "cost": "powers.coercion_cost_total[EC]"},
    }  # fmt: skip
    (tmp / "exp.yaml").write_text(yaml.safe_dump(exp))
    sim("sweep", "exp.yaml", "--out", "sw", "--executor", "serial", "--quiet", "--report", cwd=tmp)
    sob = {
        "scenario": str(SMALL), "design": "sobol", "samples": 8, "common_seeds": True,
        "vary": {"levers.EC.severity": {"low": 0, "high": 1}, "model.synergy": {"low": 0, "high": 2}},
        "metrics": {"cost": "powers.coercion_cost_total[EC]"},
    }  # fmt: skip
    (tmp / "sob.yaml").write_text(yaml.safe_dump(sob))
    sim("sweep", "sob.yaml", "--out", "so", "--workers", "2", "--quiet", cwd=tmp)
    sim("analyze", "sensitivity", "so", "--metric", "cost", cwd=tmp)
    sim("report", "so", cwd=tmp)
    return {"run": tmp / "a" / "report", "compare": tmp / "a" / "compare-b", "sweep": tmp / "sw" / "report",
            "sobol": tmp / "so" / "report", "replicated": tmp / "r" / "report"}  # fmt: skip


def images(index: Path) -> list[str]:
    return re.findall(r'<img src="([^"]+)"', index.read_text())


@pytest.mark.parametrize("kind", ["run", "compare", "sweep", "sobol", "replicated"])
def test_every_figure_exists_with_its_data_and_caption(reports, kind):
    index = reports[kind] / "index.html"
    assert index.exists()
    imgs = images(index)
    assert imgs
    for img in imgs:
        png = reports[kind] / img
        assert png.exists() and png.stat().st_size > 1000, img
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.with_suffix(".csv").exists()
    assert index.read_text().count("<figcaption>") == len(imgs)
    assert "Provenance" in index.read_text()


@pytest.mark.parametrize("kind", ["run", "replicated"])
def test_run_report_has_the_required_figures(reports, kind):
    names = {Path(i).stem for i in images(reports[kind] / "index.html")}
    assert {"influence_share", "influence_stock", "punching_ratio", "influence_by_source", "action_mix",
            "positions", "forum_texts", "alignment", "forum_network_2020", "emulation_network",
            "dependence_network", "dependence_layers", "lever_export_controls"} <= names  # fmt: skip
    page = (reports[kind] / "index.html").read_text()
    assert "Final metrics" in page
    assert ("n = 3" if kind == "replicated" else "n = 1") in page


def test_screenshots_of_a_report(reports, tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.skip("no browser: Debian's chromium is missing (apt-get install chromium, as .ci/run does)")
    pytest.importorskip("playwright.sync_api", reason="playwright is missing (requirements/dev.txt)")
    tool = Path(__file__).resolve().parents[1] / "tools" / "screenshots.py"
    out = tmp_path / "shot.png"
    r = subprocess.run([sys.executable, str(tool), str(reports["run"] / "index.html"), str(out), "--height", "900"],
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
    bad = subprocess.run([sys.executable, str(tool), str(tmp_path / "missing.html"), str(out)],
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and "no such file" in bad.stderr


def test_sweep_reports_have_responses_heatmaps_series_and_sensitivity(reports):
    names = {Path(i).stem for i in images(reports["sweep"] / "index.html")}
    assert {"series_a_share", "heatmap_cost", "response_cost"} <= names
    assert "Failed runs (0)" in (reports["sweep"] / "index.html").read_text()
    assert "sensitivity_cost" in {Path(i).stem for i in images(reports["sobol"] / "index.html")}


def test_compare_report_has_difference_plots(reports):
    names = {Path(i).stem for i in images(reports["compare"] / "index.html")}
    assert {"diff_influence_share", "influence_paths", "diff_over_time"} <= names


def test_reports_open_in_a_real_browser(reports):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs it with apt")
        pytest.skip("no browser: Debian's chromium is missing (apt-get install chromium, as .ci/run does)")
    reason = "playwright is missing: `python3 dev.py test` installs it (requirements/dev.txt)"
    sync_api = pytest.importorskip("playwright.sync_api", reason=reason)
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            for kind, folder in reports.items():
                page = browser.new_page()
                errors: list[str] = []
                page.on(
                    "console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None
                )
                page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                page.goto((folder / "index.html").resolve().as_uri())
                page.wait_for_load_state("load")
                widths = page.eval_on_selector_all(
                    "img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)"
                )
                assert widths and all(w > 0 for w in widths), (kind, widths)
                assert not errors, (kind, errors)
                page.close()
        finally:
            browser.close()
