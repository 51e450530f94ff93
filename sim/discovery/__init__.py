"""Scenario discovery on a finished sweep: where in parameter space an outcome holds (PRIM, CART)."""
