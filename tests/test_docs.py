"""The model document names every scenario parameter with its default value."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim import forums, growth, influence, policies
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
    ("framework_settings", forums.FrameworkParams),
    ("growth_settings", growth.GrowthSettings),
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
                "policy.forgetting", "policy.noise", "policy.mix", "`activity`", "`actions`"):  # fmt: skip
        assert key in DOC, key
    assert "| `policy.temperature` | softmax temperature | 1.0 |" in DOC
    assert policies.LearningPolicy.model_fields["temperature"].default == 1.0
