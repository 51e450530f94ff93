"""Scenario files: schema, loading (with `extends` and `--set`), validation, hashing."""

from sim.scenario.loader import load_scenario, resolved_yaml, scenario_hash
from sim.scenario.schema import Scenario

__all__ = ["Scenario", "load_scenario", "resolved_yaml", "scenario_hash"]
