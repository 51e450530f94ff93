"""Outputs recorded into preallocated arrays during a run, turned into tables at the end.

Recording costs a few array copies per step; no DataFrame is built until `tables()` (all the
tables) or `table(name)` (one). The influence indicators (shares, punching ratio, rule
alignment) and forum alignment are computed from the recorded stocks by their home modules
(`sim.influence`, `sim.forums`). `RecorderView` shows the same tables through Mesa's
DataCollector interface (the model's `datacollector`). Every column is described in
docs/outputs.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import mesa
import numpy as np
import pandas as pd

from sim import forums, influence
from sim.engine.events import EventLog
from sim.engine.ledger import Ledger
from sim.engine.types import AnyArray, Array, IntArray
from sim.engine.world import LAYERS, RESOURCES, World
from sim.model.agents import ForumAgent, StateAgent

STATE_SERIES = ("influence", "reputation", "openness")
# the tables of a run, in the order `Recorder.tables` gives them (`powers` is the levers' own)
TABLES = ("states", "forums", "model", "events", "dependence", "ecosystem", "emulation", "influence_sources")


def labels(values: Sequence[str], idx: IntArray) -> Any:
    """values[idx] as the same column as from an object array of the strings (pandas' string
    type when pandas infers it), built by taking from the few distinct values (several times
    faster). A negative index counts from the end, as in numpy. No rows: an object array, as
    before (pandas keeps it as object, written as Parquet's null type)."""
    idx = np.asarray(idx)
    if idx.size == 0:
        return np.empty(0, dtype=object)
    return pd.Series(list(values)).array.take(idx)


NO_SOURCES = "no influence_sources table: the run kept no ledger entries (ledger_entries=False)"


class Recorder:
    def __init__(self, w: World, n_steps: int, with_stack: bool, with_sources: bool = True) -> None:
        """`with_sources=False`: the run keeps no ledger entries, so it has no influence_sources
        table."""
        t = n_steps + 1
        self.w = w
        self.with_sources = with_sources
        self.n = 0
        self.s = {k: np.full((t, w.N), np.nan) for k in STATE_SERIES}
        self.res = np.full((t, w.N, 3), np.nan)
        self.market = np.full((t, w.N), np.nan)
        self.followers = np.zeros((t, w.N), dtype=np.int64)
        self.action = np.full((t, w.N), -1, dtype=np.int64)
        self.pos = np.full((t, w.N, w.D), np.nan)
        self.text = np.full((t, w.F, w.D), np.nan)
        self.members = np.zeros((t, w.F), dtype=np.int64)
        self.membership = np.zeros((t, w.N, w.F), dtype=bool)  # who belongs to which active forum
        self.weight = np.full((t, w.F), np.nan)
        self.active = np.zeros((t, w.F), dtype=bool)
        self.dependence = np.zeros((t, *w.dependence.shape)) if with_stack else None

    def record(self, k: int, followers: IntArray) -> None:
        w, s = self.w, self.s
        s["influence"][k] = w.influence
        s["reputation"][k] = w.reputation
        s["openness"][k] = w.openness
        self.res[k] = w.res
        self.market[k] = w.market
        self.followers[k] = followers
        self.action[k] = w.action
        self.pos[k] = w.pos
        self.text[k] = w.text
        self.members[k] = w.members.sum(axis=0)
        self.membership[k] = w.live_members()
        self.weight[k] = w.weight
        self.active[k] = w.active
        if self.dependence is not None:
            self.dependence[k] = w.dependence
        self.n = k + 1

    # ------------------------------------------------------------------ derived series
    def derived(self) -> dict[str, Array]:
        """[T, N] influence indicators of the recorded steps."""
        t = self.n
        return influence.indicators(
            self.s["influence"][:t],
            self.res[:t],
            self.pos[:t],
            self.text[:t],
            self.weight[:t],
            self.active[:t],
        )

    def alignment(self) -> Array:
        """[T, L] alignment of each linked forum pair (NaN while either is inactive)."""
        t = self.n
        return forums.alignment(self.text[:t], self.active[:t], self.w.link_a, self.w.link_b)

    def ecosystem(self, dep: Array, years: Array) -> pd.DataFrame:
        """Mean technical-layer (model) shares of each supplier among each region's states."""
        w = self.w
        parts: list[tuple[IntArray, int, IntArray, Array]] = []  # steps, region, suppliers, shares
        for r, region in enumerate(w.region_names):
            buyers = np.flatnonzero(w.region == r)
            if not region or buyers.size == 0:
                continue
            share = dep[:, 1, buyers, :].mean(axis=1)  # [T, supplier]
            st_, su = np.nonzero(share >= 0.01)
            parts.append((st_, r, su, share[st_, su]))
        if not parts:
            return pd.DataFrame(columns=["step", "year", "region", "supplier", "share"])
        st_ = np.concatenate([p[0] for p in parts]).astype(np.int64)
        return pd.DataFrame(
            {
                "step": st_,
                "year": years[st_],
                "region": labels(w.region_names, np.concatenate([np.full(p[0].size, p[1]) for p in parts])),
                "supplier": labels(w.names, np.concatenate([p[2] for p in parts])),
                "share": np.concatenate([p[3] for p in parts]),
            }
        )

    # ------------------------------------------------------------------ tables
    def names(self) -> tuple[str, ...]:
        """The tables of this run, in the order `tables` gives them (the stack's only with it,
        influence_sources only with the ledger's entries)."""
        stack = ("dependence", "ecosystem")
        return tuple(
            n
            for n in TABLES
            if (self.dependence is not None or n not in stack)
            and (self.with_sources or n != "influence_sources")
        )

    def _steps(self) -> tuple[IntArray, Array]:
        steps = np.arange(self.n)
        return steps, np.array([self.w.calendar.year_at(int(k)) for k in steps])

    def states_table(self, derived: dict[str, Array] | None = None) -> pd.DataFrame:
        """`states.parquet`: one row per step and state (step-major, states in scenario order)."""
        w, t = self.w, self.n
        steps, years = self._steps()
        states: dict[str, AnyArray] = {
            "step": np.repeat(steps, w.N),
            "year": np.repeat(years, w.N),
            "state": labels(w.names, np.tile(np.arange(w.N), t)),
            "action": labels([*w.actions, "none"], self.action[:t].ravel()),  # -1: none
        }
        for key, series in (self.derived() if derived is None else derived).items():
            states[key] = series.ravel()
        states["followers"] = self.followers[:t].ravel()
        for c, name in enumerate(RESOURCES):
            states[name] = self.res[:t, :, c].ravel()
        states["market"] = self.market[:t].ravel()
        states["reputation"] = self.s["reputation"][:t].ravel()
        states["openness"] = self.s["openness"][:t].ravel()
        for d, dim in enumerate(w.norms):
            states[f"position_{dim}"] = self.pos[:t, :, d].ravel()
        return pd.DataFrame(states)

    def forums_table(self) -> pd.DataFrame:
        """`forums.parquet`: one row per step and forum."""
        w, t = self.w, self.n
        steps, years = self._steps()
        forum_cols: dict[str, AnyArray] = {
            "step": np.repeat(steps, w.F),
            "year": np.repeat(years, w.F),
            "forum": labels(w.forum_names, np.tile(np.arange(w.F), t)),
            "active": self.active[:t].ravel(),
            "members": self.members[:t].ravel(),
            "weight": self.weight[:t].ravel(),
        }
        for d, dim in enumerate(w.norms):
            forum_cols[dim] = self.text[:t, :, d].ravel()
        return pd.DataFrame(forum_cols)

    def model_table(self, derived: dict[str, Array] | None = None) -> pd.DataFrame:
        """`model.parquet`: one row per step."""
        steps, years = self._steps()
        model_cols: dict[str, AnyArray] = {"step": steps, "year": years}
        align = self.alignment()
        with np.errstate(all="ignore"):
            valid = ~np.isnan(align)
            n_valid = valid.sum(axis=1)
            overall = np.where(n_valid > 0, np.nansum(align, axis=1) / np.maximum(n_valid, 1), np.nan)
        model_cols["alignment_index"] = overall
        for j, name in enumerate(self.w.link_names):
            model_cols[f"alignment[{name}]"] = align[:, j]
        shares = (self.derived() if derived is None else derived)["influence_share"]
        model_cols["influence_hhi"] = influence.herfindahl(shares)
        return pd.DataFrame(model_cols)

    def dependence_table(self) -> pd.DataFrame:
        """`dependence.parquet` (with the stack): shares of at least 0.001."""
        if self.dependence is None:
            raise KeyError("no dependence table: the run has no AI stack")
        w = self.w
        _, years = self._steps()
        dep = self.dependence[: self.n]
        st_, la, bu, su = np.nonzero(dep >= 1e-3)
        return pd.DataFrame(
            {
                "step": st_.astype(np.int64),
                "year": years[st_],
                "layer": labels(LAYERS, la),
                "state": labels(w.names, bu),
                "supplier": labels(w.names, su),
                "share": dep[st_, la, bu, su],
            },
            copy=False,  # every array is new (none is a view of the recorder's)
        )

    def emulation_table(self, follow_threshold: float) -> pd.DataFrame:
        """`emulation.parquet`: who emulates whom at the end: each follower, the sharer that
        moved it most, and how much."""
        follower, leader, pull = influence.leaders(self.w.received, follow_threshold)
        return pd.DataFrame(
            {
                "follower": labels(self.w.names, follower),
                "leader": labels(self.w.names, leader),
                "received": pull,
            }
        )

    def table(self, name: str, log: EventLog, follow_threshold: float, ledger: Ledger) -> pd.DataFrame:
        """One table of `tables`, built alone (what `RecorderView` reads)."""
        if name == "states":
            return self.states_table()
        if name == "forums":
            return self.forums_table()
        if name == "model":
            return self.model_table()
        if name == "events":
            return log.table()
        if name == "dependence":
            return self.dependence_table()
        if name == "ecosystem":
            if self.dependence is None:
                raise KeyError("no ecosystem table: the run has no AI stack")
            return self.ecosystem(self.dependence[: self.n], self._steps()[1])
        if name == "emulation":
            return self.emulation_table(follow_threshold)
        if name == "influence_sources":
            if not self.with_sources:
                raise KeyError(NO_SOURCES)
            return ledger.table(self._steps()[1], self.w.names, self.w.forum_names, self.w.link_names)
        raise KeyError(f"unknown table {name!r} (tables: {', '.join(self.names())})")

    def tables(
        self, log: EventLog, follow_threshold: float, ledger: Ledger, names: Sequence[str] | None = None
    ) -> dict[str, pd.DataFrame]:
        """The tables `names` (default: all of this run's, in `names()` order), the influence
        indicators computed once for the states and model tables."""
        want = list(self.names()) if names is None else list(names)
        derived = self.derived() if {"states", "model"} & set(want) else None
        out: dict[str, pd.DataFrame] = {}
        for name in want:
            if name == "states":
                out[name] = self.states_table(derived)
            elif name == "model":
                out[name] = self.model_table(derived)
            else:
                out[name] = self.table(name, log, follow_threshold, ledger)
        return out


# ----------------------------------------------------------------------------- Mesa's view
class _Lazy(Mapping[Any, Any]):
    """A read-only mapping whose values are made on first use (from `make`) and kept."""

    def __init__(self, keys: Sequence[Any], make: Callable[[Any], Any]) -> None:
        self._keys = list(keys)
        self._known = set(self._keys)
        self._make = make
        self._made: dict[Any, Any] = {}

    def __getitem__(self, key: Any) -> Any:
        if key not in self._known:
            raise KeyError(key)
        if key not in self._made:
            self._made[key] = self._make(key)
        return self._made[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


class RecorderView(mesa.DataCollector):
    """The model's `datacollector`: Mesa's DataCollector interface over what the model records
    anyway, so nothing is collected during the run and nothing is built until it is read.

    - `get_model_vars_dataframe()`: one row per step (index `Step`, 0 = the start): the columns
      of `model.parquet` (year, alignment_index, alignment[F~G], influence_hhi) and
      `influence_share[<state>]` for each state;
    - `get_agent_vars_dataframe()`: one row per step and state (index `Step`, `AgentID`, the
      state agent's `unique_id`): the columns of `states.parquet`, `state` first;
    - `get_agenttype_vars_dataframe(StateAgent | ForumAgent)`: the states' rows as above, or
      one row per step and forum (the columns of `forums.parquet`, `forum` first);
    - `get_table_dataframe(name)`: any output table as `sim run` writes it (`tables`: the names);
    - `model_vars`, `_agent_records`, `agent_reporters`: what `mesa.batch_run` reads, so its
      rows carry the state's name and indicators.
    Frames are rebuilt when the model has stepped since they were made. The view is read-only:
    `collect` does nothing (the model records every step itself) and `add_table_row` refuses.
    Mesa's `DataCollector.__init__` is not called: its attributes are read-only properties here.
    """

    def __init__(
        self,
        recorder: Recorder,
        table: Callable[[str], pd.DataFrame],
        names: Sequence[str],
        state_ids: Sequence[int],
        forum_ids: Sequence[int],
    ) -> None:
        self._rec = recorder
        self._table = table
        self._names = tuple(names)
        self._state_ids = np.asarray(state_ids, dtype=np.int64)
        self._forum_ids = np.asarray(forum_ids, dtype=np.int64)
        self._at = -1  # the recorder's step count when `_cache` was filled
        self._cache: dict[str, Any] = {}
        self._validated = True
        self._agenttype_records: dict[int, Any] = {}  # Mesa's, unused: records come from the arrays

    # ------------------------------------------------------------------ building
    def _get(self, key: str, make: Callable[[], Any]) -> Any:
        if self._rec.n != self._at:  # the model has stepped: everything is made again
            self._cache = {}
            self._at = self._rec.n
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def _recorded(self, name: str) -> pd.DataFrame:
        if name not in self._names:
            if name == "influence_sources" and not self._rec.with_sources:
                raise KeyError(NO_SOURCES)
            raise KeyError(f"unknown table {name!r} (tables: {', '.join(self._names)})")
        frame: pd.DataFrame = self._get(f"table:{name}", lambda: self._table(name))
        return frame

    def _per_agent(self, name: str, label: str, ids: IntArray) -> pd.DataFrame:
        """A states or forums table indexed by (Step, AgentID), its name column first."""

        def make() -> pd.DataFrame:
            df = self._recorded(name)
            steps = df["step"].to_numpy()
            index = pd.MultiIndex.from_arrays([steps, np.tile(ids, self._rec.n)], names=["Step", "AgentID"])
            cols = [label, *(c for c in df.columns if c not in ("step", label))]
            return df[cols].set_axis(index, axis=0)

        frame: pd.DataFrame = self._get(f"agents:{name}", make)
        return frame

    def _model_frame(self) -> pd.DataFrame:
        def make() -> pd.DataFrame:
            model = self._recorded("model")
            states = self._recorded("states")
            n = len(self._state_ids)
            share = states["influence_share"].to_numpy().reshape(len(model), n)
            names = states["state"].iloc[:n].tolist()
            cols = {c: model[c].to_numpy() for c in model.columns if c != "step"}
            cols.update({f"influence_share[{s}]": share[:, i] for i, s in enumerate(names)})
            return pd.DataFrame(cols, index=pd.Index(model["step"].to_numpy(), name="Step"))

        frame: pd.DataFrame = self._get("model_vars_frame", make)
        return frame

    # ------------------------------------------------------------------ what batch_run reads
    @property
    def model_vars(self) -> dict[str, list[Any]]:
        """Each model-level series as a list indexed by step (Mesa's `model_vars`)."""
        made: dict[str, list[Any]] = self._get(
            "model_vars", lambda: {str(c): s.tolist() for c, s in self._model_frame().items()}
        )
        return made

    @property
    def model_reporters(self) -> dict[str, str]:
        """The model-level series, each with the table it comes from."""
        names = [str(c) for c in self._model_frame().columns]
        return {c: ("states" if c.startswith("influence_share[") else "model") for c in names}

    @property
    def agent_reporters(self) -> dict[str, str]:
        """The per-state columns, in record order, each with the table it comes from."""
        return dict.fromkeys(self._per_agent("states", "state", self._state_ids).columns, "states")

    @property
    def agenttype_reporters(self) -> dict[type, dict[str, str]]:
        forum_cols = self._per_agent("forums", "forum", self._forum_ids).columns
        return {StateAgent: self.agent_reporters, ForumAgent: dict.fromkeys(forum_cols, "forums")}

    @property
    def _agent_records(self) -> Mapping[int, list[tuple[Any, ...]]]:
        """step -> [(step, AgentID, state, year, action, ...)] per state (Mesa's records), each
        step's list made when it is first read."""

        def make() -> _Lazy:
            frame = self._per_agent("states", "state", self._state_ids)
            n = len(self._state_ids)

            def records(k: int) -> list[tuple[Any, ...]]:
                rows = frame.iloc[k * n : (k + 1) * n].itertuples(index=True, name=None)
                return [(int(step), int(agent), *values) for (step, agent), *values in rows]

            return _Lazy(range(self._rec.n), records)

        made: Mapping[int, list[tuple[Any, ...]]] = self._get("agent_records", make)
        return made

    @property
    def tables(self) -> Mapping[str, dict[str, list[Any]]]:
        """Every output table as {column: values} (Mesa's `tables`), made when read."""
        made: Mapping[str, dict[str, list[Any]]] = self._get(
            "tables", lambda: _Lazy(self._names, lambda name: self._recorded(name).to_dict("list"))
        )
        return made

    # ------------------------------------------------------------------ Mesa's methods
    def collect(self, model: Any) -> None:
        """Nothing to do: the model records every step itself."""

    def add_table_row(self, table_name: str, row: Any, ignore_missing: bool = False) -> None:
        raise TypeError(
            "the model's datacollector is a read-only view of what the model records; to collect "
            "more, give your subclass of RuleMakingModel its own mesa.DataCollector"
        )

    def get_model_vars_dataframe(self) -> pd.DataFrame:
        return self._model_frame().copy()

    def get_agent_vars_dataframe(self) -> pd.DataFrame:
        return self._per_agent("states", "state", self._state_ids).copy()

    def get_agenttype_vars_dataframe(self, agent_type: type) -> pd.DataFrame:
        if isinstance(agent_type, type) and issubclass(agent_type, StateAgent):
            return self.get_agent_vars_dataframe()
        if isinstance(agent_type, type) and issubclass(agent_type, ForumAgent):
            return self._per_agent("forums", "forum", self._forum_ids).copy()
        raise ValueError(f"agent type {agent_type!r}: the model's agents are StateAgent and ForumAgent")

    def get_table_dataframe(self, table_name: str) -> pd.DataFrame:
        return self._recorded(table_name).copy()
