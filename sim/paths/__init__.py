"""The three paths of seed 000 (section 2): institutional participation, discourse
construction and practice sharing, the actions every state can choose, and the synergy
between them. Each path module holds its parameters (the scenario's `paths.<name>`), the
view of the arrays it reads and writes, `apply(view, actors)` and `potential(view, actors)`
(the expected gain a best-responding state weighs)."""

PATHS: tuple[str, ...] = ("institutional", "discourse", "practice")
