"""The model document names every scenario parameter with its default value."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim import forums, influence, policies
from sim.paths import discourse, institutional, practice
from sim.powers import alliance, brussels_effect, cocreation, declaration, export_controls, stack
from sim.scenario import schema

DOC = (Path(__file__).resolve().parents[1] / "docs" / "model.md").read_text(encoding="utf-8")

PARAMS = [
    ("paths.institutional", institutional.InstitutionalParams),
    ("paths.discourse", discourse.DiscourseParams),
    ("paths.practice", practice.PracticeParams),
    ("influence", influence.InfluenceParams),
    ("membership", forums.MembershipParams),
    ("admission", forums.AdmissionRule),
    ("framework_settings", forums.FrameworkParams),
    ("policy_settings", policies.PolicySettings),
    ("growth", schema.Growth),
    ("stack", stack.StackSettings),
    ("export_controls", export_controls.ExportControlsSpec),
    ("alliance", alliance.AllianceSpec),
    ("regulation", brussels_effect.RegulationSpec),
    ("declaration", declaration.DeclarationSpec),
    ("cocreation", cocreation.CocreationSpec),
    ("pillars", cocreation.Pillars),
]


@pytest.mark.parametrize(("section", "cls"), PARAMS, ids=[p[0] for p in PARAMS])
def test_every_parameter_is_documented_with_its_default(section, cls):
    for name, field in cls.model_fields.items():
        if isinstance(field.default, (int, float)):
            rows = [
                line
                for line in DOC.splitlines()
                if line.startswith("|")
                and (f"`{name}`" in line or f"`{section.split('.')[-1]}.{name}`" in line)
            ]
            assert rows, f"{section}.{name} is not documented"
            shown = (
                (str(field.default).lower(),)
                if isinstance(field.default, bool)
                else (f"{field.default:g}", str(field.default))
            )
            assert any(f"| {x} |" in row for x in shown for row in rows), (
                f"{section}.{name}: default {field.default} not shown in docs/model.md"
            )


def test_model_and_policy_settings_are_documented():
    for key in ("model.synergy", "model.memory", "model.coupling", "policy.temperature", "policy.learning_rate",
                "policy.forgetting", "policy.noise", "policy.mix", "policy.choice", "policy.experimentation",
                "`activity`", "`actions`"):  # fmt: skip
        assert key in DOC, key
    assert "| `policy.temperature` | softmax temperature (`choice: softmax` only) | 1.0 |" in DOC
    assert "| `policy.experimentation` |" in DOC and "| 0.2 |" in DOC
    assert policies.LearningPolicy.model_fields["experimentation"].default == 0.2


@pytest.mark.parametrize(("section", "cls"), PARAMS, ids=[p[0] for p in PARAMS])
def test_every_rate_is_documented_per_year(section, cls):
    """MODEL.md s.10: every rate is stated per year; its row in docs/model.md says so."""
    from sim.fields import per_year_fields

    for name in per_year_fields(cls):
        rows = [
            line
            for line in DOC.splitlines()
            if line.startswith("|") and (f"`{name}`" in line or f"`{section.split('.')[-1]}.{name}`" in line)
        ]
        assert any("per year" in row for row in rows), (
            f"{section}.{name}: its unit (per year) is not documented"
        )


def test_every_rate_of_the_model_is_marked_per_year():
    """No parameter that is a rate or a share of a stock per step escapes the conversion:
    these are the names that must carry a per-year unit."""
    from sim.fields import per_year_fields
    from sim.scenario.schema import ModelSettings

    marked = {f"{s}.{n}" for s, c in PARAMS for n in per_year_fields(c)}
    marked |= {f"model.{n}" for n in per_year_fields(ModelSettings)}
    marked |= {f"policy.{n}" for n in per_year_fields(policies.LearningPolicy)}
    for must in (
        "paths.institutional.engagement_rate", "paths.institutional.engagement_decay",
        "paths.institutional.consensus_rate", "paths.institutional.brokerage_rate", "paths.discourse.draft_rate",
        "paths.practice.share_rate", "paths.practice.capacity_building", "paths.practice.openness_relax",
        "influence.decay", "influence.reputation_weight", "influence.reputation_memory", "influence.anchoring",
        "membership.join_rate", "framework_settings.join_rate", "policy_settings.gain_memory",
        "policy_settings.scale_memory", "stack.switch_rate", "stack.position_pull", "export_controls.efficiency",
        "alliance.join_rate", "regulation.emulation_rate", "regulation.defacto_pull", "declaration.strength",
        "cocreation.rate", "model.memory", "policy.learning_rate", "policy.forgetting",
    ):  # fmt: skip
        assert must in marked, must


def test_the_audit_table_names_tests_that_exist():
    """docs/model.md section 3.12: every test the audit names is a test of the suite."""
    import re

    tests = "\n".join(p.read_text(encoding="utf-8") for p in Path(__file__).parent.glob("test_*.py"))
    section = DOC.split("### 3.12 Audit against the brief", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| s.")]
    assert len(rows) >= 25
    for row in rows:
        names = re.findall(r"`(test_\w+)`", row)
        assert names, row
        for name in names:
            assert f"def {name}(" in tests, f"the audit names {name}, which is not a test"


def test_the_readme_figure_names_the_baseline_it_was_made_from():
    """The caption under the README's figure gives the seed and scenario hash of the run that
    drew it: they must be the packaged baseline's (regenerate the figure when they change)."""
    import re

    from sim.scenario.loader import load_scenario, scenario_hash

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    sc = load_scenario()
    m = re.search(r"seed (\d+), scenario sha256 ([0-9a-f]{8})…", readme)
    assert m, "the README's figure caption lost its seed and scenario hash"
    assert (int(m.group(1)), m.group(2)) == (sc.model.seed, scenario_hash(sc)[:8])
