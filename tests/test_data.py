"""The record in data/: every number traceable to a cited source (guide: data/ rules)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

DATA = Path(__file__).resolve().parents[1] / "data"
CSVS = sorted(p for p in DATA.glob("*.csv") if p.name != "sources.csv")


@pytest.mark.parametrize("csv", CSVS, ids=[p.stem for p in CSVS])
def test_every_data_file_has_a_sidecar_that_cites_its_sources(csv):
    side = yaml.safe_load(csv.with_suffix(".yaml").read_text(encoding="utf-8"))
    assert side.get("title") and side.get("description"), csv.name
    sources = side.get("sources") or []
    assert sources, f"{csv.name}: no sources"
    for s in sources:
        assert s.get("publisher") and s.get("title") and s.get("supports"), (csv.name, s.get("id"))
    assert side.get("maps_to"), f"{csv.name}: the sidecar must say how the file maps to the model"


@pytest.mark.parametrize("csv", [p for p in CSVS if p.stem != "seed_figures"], ids=lambda p: p.stem)
def test_every_row_names_sources_that_exist_and_dates_that_are_ordered(csv):
    known = set(pd.read_csv(DATA / "sources.csv").source_id)
    df = pd.read_csv(csv, dtype=str)
    for i, row in df.iterrows():
        ids = [s for s in str(row["source_ids"]).split(";") if s]
        assert ids and set(ids) <= known, (csv.name, i, set(ids) - known)
        if isinstance(row.get("date_min"), str) and isinstance(row.get("date_max"), str):
            assert row["date_min"] <= row["date_max"], (csv.name, i)
    assert df.iso3.str.fullmatch(r"[A-Z]{3}").all(), csv.name


def test_the_seed_figures_cite_a_seed_line_and_bound_their_values():
    df = pd.read_csv(DATA / "seed_figures.csv")
    assert df.seed.notna().all() and df.seed_line.notna().all()
    both = df.value_min.notna() & df.value_max.notna()
    assert (df.value_min[both] <= df.value_max[both]).all()
    has_value = df.value.notna() & both
    assert ((df.value_min <= df.value) & (df.value <= df.value_max))[has_value].all()


@pytest.mark.parametrize("csv", [p for p in CSVS if p.stem != "seed_figures"], ids=lambda p: p.stem)
def test_every_date_reads_and_lies_inside_its_range(csv):
    from sim.calibration.observed import _has_date, event_span, read_data

    df = read_data(csv)
    for _, row in df.iterrows():
        if _has_date(row):
            lo, hi = event_span(row, str(csv))  # raises, located, on a bad date or an inverted range
            assert 2015 <= lo <= hi <= 2027, (csv.name, row.name + 2)
