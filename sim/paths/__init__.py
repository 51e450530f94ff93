"""The three paths of seed 000 (section 2): institutional participation, discourse
construction and practice sharing. Each module exposes `apply(model, actors)` and
`potential(model)` and is registered as an action in `sim.actions`."""
