"""Command line: `sim run`, `sim compare`, `sim sweep`, `sim claims`, `sim report`, `sim analyze`,
`sim calibrate`, `sim validate`, `sim schema`, `sim discover`, `sim explore`.

Heavy modules (mesa, numpy, pandas, pydantic) are imported inside the commands, so that
`sim --help` answers at once. Every user error exits with code 2 and a located message,
without a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

EPILOG = """examples:
  sim run                                   run the packaged baseline (2016-2030, quarterly)
  sim run scenarios/no_synergy.yaml --seed 7
  sim run --set model.synergy=0 --set states.Japan.capacities.discourse=0.9
  sim run --replications 30 --workers 2 --report
                                            30 seeds: means, 95% intervals and bands
  sim compare baseline no_export_controls --replications 30 --workers 2 --report
                                            what the change does: B - A on 30 paired seeds
  sim validate my_variant.yaml --explain    check a scenario; print it resolved, each value's origin
  sim validate experiments/claims.yaml      check any input file (experiment, claims, ...) first
  sim schema --out scenario.schema.json     JSON Schema for editors (YAML language server)
  sim sweep experiments/export_control_severity.yaml --workers 2
  sim analyze sensitivity results/sweep-synergy_sobol-XXXXXXXX --metric japan_share
  sim calibrate --quick                     fit to the record of 2016-2022, score 2023-2025 (about 30 s)
  sim calibrate --workers 2                 the full calibration (experiments/calibration.yaml)
"""


def _parser() -> argparse.ArgumentParser:
    from sim import __version__

    p = argparse.ArgumentParser(
        prog="sim",
        description="Agent-based simulation of international rule-making competition in AI governance.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"sim {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser("run", help="run one scenario and write its results")
    r.add_argument("scenario", nargs="?", help="scenario YAML (default: the packaged baseline)")
    r.add_argument("--seed", type=int, help="random seed (default: the scenario's model.seed)")
    r.add_argument("--steps", type=int, help="number of steps (default: the scenario's run length)")
    r.add_argument("--out", help="output directory (default: results/<scenario>-<timestamp>)")
    r.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a scenario value, e.g. states.Japan.capacities.discourse=0.9 (repeatable)",
    )
    r.add_argument(
        "--replications",
        type=int,
        metavar="N",
        help="run N seeds (derived from --seed or the scenario's model.seed) and report means with 95%% "
        "t intervals; every table gets `replication` and `seed` columns",
    )
    r.add_argument("--workers", type=int, default=1, help="with --replications: worker processes (default 1)")
    r.add_argument("--quiet", action="store_true", help="do not print the summary table (nor a progress bar)")
    r.add_argument("--report", action="store_true", help="also write the plotted report (DIR/report)")
    r.add_argument(
        "--allow-large", action="store_true", help="run even above the size limits (docs/reliability.md)"
    )

    c = sub.add_parser(
        "compare",
        help="what a change does: two scenarios on the same seeds, differences B - A with 95%% intervals",
    )
    c.add_argument(
        "scenario_a", metavar="A", help="scenario YAML or a shipped scenario's name (the reference)"
    )
    c.add_argument("scenario_b", metavar="B", help="scenario YAML or a shipped scenario's name (the change)")
    c.add_argument(
        "--replications", type=int, default=30, metavar="N", help="paired seeds (default 30; 1: no intervals)"
    )
    c.add_argument(
        "--seed", type=int, help="base seed the replications' seeds derive from (default: A's model.seed)"
    )
    c.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    c.add_argument("--steps", type=int, help="number of steps of every run (default: each scenario's own)")
    c.add_argument("--out", help="output folder (default: results/compare-<A>-vs-<B>-<timestamp>)")
    c.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a scenario value on both sides (repeatable)",
    )
    c.add_argument("--quiet", action="store_true", help="no progress bar and no summary table")
    c.add_argument("--report", action="store_true", help="also write the plotted report (DIR/report)")
    c.add_argument(
        "--allow-large", action="store_true", help="run even above the size limits (docs/reliability.md)"
    )

    sw = sub.add_parser("sweep", help="run an experiment: many runs over varied parameters")
    sw.add_argument("experiment", help="experiment YAML, or a shipped experiment's name (synergy_sobol, ...)")
    sw.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    sw.add_argument(
        "--executor",
        choices=["local", "dask", "serial"],
        default=None,
        help="where runs execute (default: local processes; dask when --scheduler is given)",
    )
    sw.add_argument(
        "--scheduler",
        help="dask.distributed scheduler address: runs on that cluster (implies --executor dask)",
    )
    sw.add_argument("--out", help="output folder (default: results/sweep-<name>-<hash>)")
    sw.add_argument("--resume", action="store_true", help="finish an interrupted sweep in --out")
    sw.add_argument(
        "--shard",
        metavar="I/N",
        help="run only shard I of N, counted from 1 (1/4 ... 4/4): the runs whose index k has "
        "k %% N == I - 1, with the whole sweep's seeds and run ids, into a folder of its own "
        "(default: results/sweep-<name>-<hash>-shard-I-of-N); for job arrays",
    )
    sw.add_argument(
        "--merge",
        nargs="+",
        metavar="DIR",
        help="run nothing: combine the finished shard folders DIR... into one sweep folder "
        "(--out; default results/sweep-<name>-<hash>), as if the sweep had run in one go",
    )
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    sw.add_argument("--report", action="store_true", help="also write the plotted report (DIR/report)")
    sw.add_argument(
        "--allow-large", action="store_true", help="run even above the size limits (docs/reliability.md)"
    )

    cl = sub.add_parser("claims", help="test the source papers' claims (MODEL.md s.8) with replications")
    cl.add_argument(
        "--file", default=None, help="claims file, or a shipped one's name (default: the shipped claims.yaml)"
    )
    cl.add_argument("--replications", type=int, help="replications per claim (default: the file's)")
    cl.add_argument("--workers", type=int, default=2)
    cl.add_argument("--out", help="output folder (default: results/claims-<timestamp>)")
    cl.add_argument("--quick", action="store_true", help="few replications and scan points (for CI)")
    cl.add_argument("--quiet", action="store_true", help="no progress bar")
    cl.add_argument("--progress", action="store_true", help=argparse.SUPPRESS)  # the default now; kept
    cl.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a scenario value in every run of every claim, e.g. model.steps_per_year=12",
    )

    rp = sub.add_parser("report", help="write a plotted HTML report of a run or sweep folder")
    rp.add_argument("folder", nargs="?", help="a run or sweep output folder")
    rp.add_argument(
        "--compare",
        nargs=2,
        metavar=("DIR_A", "DIR_B"),
        help="compare two run folders, B - A (one seed each: for intervals use `sim compare`)",
    )
    rp.add_argument("--out", help="with --compare: output folder (default DIR_A/compare-<DIR_B>)")
    rp.add_argument("--force", action="store_true", help="replace a report folder that sim did not write")

    an = sub.add_parser("analyze", help="analyse a finished sweep")
    an_sub = an.add_subparsers(dest="analysis", metavar="ANALYSIS", required=True)
    se = an_sub.add_parser("sensitivity", help="Sobol or Morris indices of a metric (SALib)")
    se.add_argument("sweep_dir")
    se.add_argument("--metric", required=True)

    ca = sub.add_parser(
        "calibrate", help="fit uncertain parameters to the record (ABC-SMC) and score forecasts"
    )
    ca.add_argument(
        "file",
        nargs="?",
        default="calibration",
        help="calibration YAML, or a shipped one's name (default: the shipped calibration.yaml)",
    )
    ca.add_argument("--quick", action="store_true", help="small population and few generations (for CI)")
    ca.add_argument(
        "--workers", type=int, default=1, help="Dask workers on this machine (default 1: one core)"
    )
    ca.add_argument("--scheduler", help="dask.distributed scheduler address (runs on that cluster)")
    ca.add_argument("--out", help="output folder (default: results/calibrate-<name>-<timestamp>)")

    v = sub.add_parser(
        "validate",
        help="check any input file (scenario, experiment, claims, calibration, parameters) and report "
        "every problem, without running anything",
    )
    v.add_argument("scenario", help="the file (a scenario may also be a shipped scenario's name)")
    v.add_argument(
        "--kind",
        choices=["scenario", "experiment", "claims", "calibration", "parameters"],
        help="what the file is (default: told from its keys)",
    )
    v.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE")
    v.add_argument(
        "--explain",
        action="store_true",
        help="print the fully resolved scenario, each value with the file and line it came from "
        "(or --set, or default)",
    )

    sc = sub.add_parser("schema", help="write the scenario file's JSON Schema (for editors) or its reference")
    sc.add_argument("--format", choices=["json", "markdown"], default="json")
    sc.add_argument("--out", help="write to this file instead of printing")
    sc.add_argument("--force", action="store_true", help="replace the --out file if it exists")

    from sim.discovery.cli import register as register_discover
    from sim.explore.cli import register as register_explore

    register_discover(sub)
    register_explore(sub)
    return p


def _cmd_calibrate(args: argparse.Namespace, argv: list[str]) -> int:
    from pathlib import Path

    from sim.calibration.run import calibrate
    from sim.errors import SimError
    from sim.provenance import command_line

    if args.workers < 1:
        raise SimError(f"--workers: expected a positive whole number, got {args.workers}")
    from sim.shipped import shipped_input

    args.file = shipped_input(args.file)
    if not Path(args.file).exists():
        raise SimError(f"{args.file}: calibration file not found")
    out = calibrate(args.file, args.out, args.quick, args.workers, args.scheduler, command=command_line(argv))
    print((out / "scores.md").read_text())
    print(f"wrote {out}: posterior.parquet, calibrated.yaml, scores.csv and report/index.html")
    return 0


def _cmd_run(args: argparse.Namespace, argv: list[str]) -> int:
    from pathlib import Path

    from sim.errors import SimError
    from sim.io import check_writable
    from sim.limits import check_run
    from sim.provenance import command_line
    from sim.runner import RunTask, default_out, run_one, scenario_of, summary, write_run
    from sim.scenario.loader import parse_assignment

    if args.steps is not None and args.steps < 1:
        raise SimError(f"--steps: expected a positive whole number, got {args.steps}")
    if args.seed is not None and args.seed < 0:
        raise SimError(f"--seed: expected a non-negative whole number, got {args.seed}")
    if args.out and Path(args.out).exists():
        raise SimError(f"{args.out}: output directory already exists; choose another --out")
    if args.replications is not None:
        return _run_replicated(args, argv)
    overrides = tuple(parse_assignment(a) for a in args.overrides)
    task = RunTask(args.scenario, args.seed, args.steps, overrides)
    sc = scenario_of(task)  # every check before any work: the scenario, its size, the output
    check_run(len(sc.states), sc.n_steps, args.allow_large)
    check_writable(Path(args.out) if args.out else Path("results"))
    result = run_one(task, sc)
    out = Path(args.out) if args.out else default_out(result, assignments=args.overrides)
    write_run(result, out, command_line(argv))
    if not args.quiet:
        print(summary(result))
    print(f"wrote {out}")
    if args.report:
        from sim.report.run_report import run_report

        print(f"report: {run_report(out)}")
    return 0


def _one_thread_each() -> None:
    import os

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # one thread per process: the workers are the parallelism


def _run_replicated(args: argparse.Namespace, argv: list[str]) -> int:
    """`sim run --replications N`: every check first, then N seeds into one folder."""
    from pathlib import Path

    _one_thread_each()
    from sim.io import check_writable
    from sim.provenance import command_line
    from sim.report.replicate import check_counts, load_sides, run_replicated
    from sim.runner import run_name, stamped_out
    from sim.scenario.loader import parse_assignment

    check_counts(args.replications, args.workers, args.seed, args.steps)
    overrides = tuple(parse_assignment(a) for a in args.overrides)
    (side,) = load_sides(
        [args.scenario], args.steps, overrides, args.allow_large, replications=args.replications
    )
    check_writable(Path(args.out) if args.out else Path("results"))
    out = Path(args.out) if args.out else stamped_out(run_name(side.name, args.overrides))
    rep = run_replicated(
        side, args.replications, args.seed, args.steps, overrides, args.workers, not args.quiet, out,
        command_line(argv),
    )  # fmt: skip
    if not args.quiet:
        print(rep.text, end="")
    print(f"wrote {out} ({args.replications} replications, {rep.wall_seconds:.1f} s)")
    if args.report:
        from sim.report.run_report import run_report

        print(f"report: {run_report(out)}")
    return 0


def _cmd_compare(args: argparse.Namespace, argv: list[str]) -> int:
    """`sim compare A B`: every check first (both scenarios, the numbers, the output), then
    the 2N runs, then the folder, atomically."""
    from pathlib import Path

    _one_thread_each()
    from sim.errors import SimError
    from sim.io import check_writable
    from sim.provenance import command_line
    from sim.report.replicate import check_counts, check_overlap, compare_runs, load_sides
    from sim.runner import run_name, stamped_out
    from sim.scenario.loader import parse_assignment

    check_counts(args.replications, args.workers, args.seed, args.steps)
    if args.out and Path(args.out).exists():
        raise SimError(f"{args.out}: output directory already exists; choose another --out")
    overrides = tuple(parse_assignment(a) for a in args.overrides)
    sides = load_sides(
        [args.scenario_a, args.scenario_b],
        args.steps,
        overrides,
        args.allow_large,
        tables=False,
        replications=args.replications,
    )
    check_overlap(*sides)
    check_writable(Path(args.out) if args.out else Path("results"))
    run = compare_runs(
        sides, args.replications, args.seed, args.steps, overrides, args.workers, not args.quiet
    )
    from sim.report.compare import write_compare

    name = run_name(f"compare-{sides[0].name}-vs-{sides[1].name}", args.overrides)
    out = Path(args.out) if args.out else stamped_out(name)
    out, text = write_compare(run, out, command_line(argv), report=args.report)
    if not args.quiet:
        print(text, end="")
    n = 2 * args.replications
    print(
        f"wrote {out} ({n} runs, {run.wall_seconds:.1f} s)"
        + (f"; report: {out / 'report' / 'index.html'}" if args.report else "")
    )
    return 0


def _cmd_sweep(args: argparse.Namespace, argv: list[str]) -> int:
    import os

    from sim.shipped import shipped_input

    args.experiment = shipped_input(args.experiment)

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # one thread per process: the workers are the parallelism
    from sim.errors import SimError
    from sim.experiments.sweep import merge_shards, run_sweep
    from sim.provenance import command_line

    if args.merge is not None:
        for flag, given in (("--shard", args.shard is not None), ("--resume", args.resume)):
            if given:
                raise SimError(
                    f"--merge: cannot be combined with {flag} (a merge cut short is finished by the same "
                    "--merge command)"
                )
        m = merge_shards(
            args.experiment, args.merge, args.out, command_line(argv), allow_large=args.allow_large
        )
        print(
            f"merged {m.shards} shards: {m.total} runs, {m.ok} ok, {m.failed} failed ({m.copied} parts "
            f"copied, {m.wall_seconds:.1f} s); wrote {m.out}"
        )
        if args.report:
            from sim.report.sweep_report import sweep_report

            print(f"report: {sweep_report(m.out)}")
        return _sweep_failures(m.failed, m.failures)
    if args.workers < 1:
        raise SimError(f"--workers: expected a positive whole number, got {args.workers}")
    if args.scheduler and args.executor not in (None, "dask"):
        raise SimError(
            f"--scheduler: runs on a Dask cluster, so it needs --executor dask, not {args.executor}"
        )
    executor = args.executor or ("dask" if args.scheduler else "local")
    s = run_sweep(
        args.experiment,
        out=args.out,
        workers=args.workers,
        executor=executor,
        scheduler=args.scheduler,
        resume=args.resume,
        progress=not args.quiet,
        command=command_line(argv),
        allow_large=args.allow_large,
        shard=args.shard,
    )
    print(
        (f"shard {s.shard}: " if s.shard else "")
        + f"{s.total} runs: {s.ok} done now, {s.skipped} done before, {s.failed} failed "
        f"({s.wall_seconds:.1f} s); wrote {s.out}"
    )
    if args.report:
        from sim.report.sweep_report import sweep_report

        print(f"report: {sweep_report(s.out)}")
    return _sweep_failures(s.failed, s.failures)


def _sweep_failures(failed: int, failures: list[tuple[str, str]]) -> int:
    """List failed runs (exit code 1), or 0."""
    if not failed:
        return 0
    for run_id, err in failures[:10]:
        print(f"  failed {run_id}: {err}", file=sys.stderr)
    if failed > 10:
        print(f"  ... and {failed - 10} more (see runs.parquet, status == 'failed')", file=sys.stderr)
    return 1


def _cmd_claims(args: argparse.Namespace, argv: list[str]) -> int:
    import os
    from pathlib import Path

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    from sim.claims.run import run_claims
    from sim.errors import SimError
    from sim.provenance import command_line
    from sim.shipped import shipped_input

    path = Path(shipped_input(args.file or "claims"))
    if not path.exists():
        raise SimError(f"{path}: claims file not found (use --file)")
    if args.replications is not None and args.replications < 2:
        raise SimError(f"--replications: expected at least 2, got {args.replications}")
    from sim.scenario.loader import parse_assignment

    overrides = dict(parse_assignment(a) for a in args.overrides)
    _, out = run_claims(
        path,
        args.out,
        args.replications,
        max(1, args.workers),
        args.quick,
        not args.quiet,
        command_line(argv),
        overrides=overrides,
    )
    print((out / "claims.md").read_text())
    print(f"wrote {out}/claims.csv, claims.md and report/index.html")
    failed = json.loads((out / "manifest.json").read_text()).get("failed_runs", 0)
    if failed:
        print(f"warning: {failed} runs failed (see claims_runs.parquet, column error)", file=sys.stderr)
        return 1
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sim.errors import SimError

    if args.compare:
        from sim.report.compare import compare_report

        run_a, run_b = args.compare
        print(compare_report(run_a, run_b, out=args.out, force=args.force))
        return 0
    if not args.folder:
        raise SimError("report: give a run or sweep folder, or --compare DIR_A DIR_B")
    folder = Path(args.folder)
    if (folder / "runs.parquet").exists() or (folder / "parts").exists():
        from sim.report.sweep_report import sweep_report

        print(sweep_report(folder, force=args.force))
    else:
        from sim.report.run_report import run_report

        print(run_report(folder, force=args.force))
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    from sim.experiments.analysis import sensitivity

    df, out = sensitivity(args.sweep_dir, args.metric)
    print(df.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    print(f"wrote {out}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from sim.errors import SimError
    from sim.scenario.loader import parse_assignment
    from sim.validate import validate_file

    if args.explain:
        from sim.scenario.explain import explain
        from sim.validate import a_kind, file_kind

        kind = args.kind or file_kind(args.scenario)
        if kind != "scenario":
            raise SimError(f"--explain: shows a scenario, and {args.scenario} is {a_kind(kind)} file")
        overrides = [parse_assignment(a) for a in args.overrides]
        sys.stdout.write(explain(args.scenario, overrides))
        return 0
    print(validate_file(args.scenario, args.overrides, args.kind))
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from sim.scenario.jsonschema import reference_markdown, schema_json

    text = schema_json() if args.format == "json" else reference_markdown()
    if not args.out:
        sys.stdout.write(text)
        return 0
    from pathlib import Path

    from sim.errors import SimError
    from sim.io import write_text

    if Path(args.out).exists() and not args.force:
        raise SimError(f"{args.out}: exists; give --force to replace it, or another --out")
    write_text(Path(args.out), text)
    print(f"wrote {args.out}")
    return 0


def _dispatch(args: argparse.Namespace, argv: list[str]) -> int:
    """The command asked for; its output is flushed here, so that a reader that went away is
    noticed inside `main` (not when Python flushes at exit)."""
    rc = _command(args, argv)
    sys.stdout.flush()
    return rc


def _command(args: argparse.Namespace, argv: list[str]) -> int:
    if args.command == "run":
        return _cmd_run(args, argv)
    if args.command == "compare":
        return _cmd_compare(args, argv)
    if args.command == "sweep":
        return _cmd_sweep(args, argv)
    if args.command == "analyze":
        return _cmd_analyze(args)
    if args.command == "report":
        return _cmd_report(args)
    if args.command == "claims":
        return _cmd_claims(args, argv)
    if args.command == "calibrate":
        return _cmd_calibrate(args, argv)
    if args.command == "schema":
        return _cmd_schema(args)
    if args.command == "discover":
        from sim.discovery.cli import command as discover

        return discover(args, argv)
    if args.command == "explore":
        from sim.explore.cli import command as explore

        return explore(args, argv)
    return _cmd_validate(args)


def _stdout_gone() -> bool:
    """Whether stdout's reader went away; if so, stdout is pointed at /dev/null, so that
    flushing it at exit raises no second broken pipe."""
    import contextlib
    import os

    try:
        sys.stdout.flush()
        return False
    except BrokenPipeError:
        pass
    with contextlib.suppress(OSError, ValueError, AttributeError):  # not a file (a test's capture)
        fd = sys.stdout.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    return True


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else ["sim", *argv])
    parser = _parser()
    args = parser.parse_args(argv[1:])
    if args.command is None:
        parser.print_help()
        return 2
    from sim.errors import SimError

    try:
        return _dispatch(args, argv)
    except SimError as exc:
        print(f"error: {exc}" if "\n" not in str(exc) else f"error:\n{exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError as exc:
        if _stdout_gone():  # the reader of the output went away (`sim run ... | head`): quietly,
            return 141  # as a process stopped by SIGPIPE (128 + 13); what was written is complete
        print(f"error: {exc.strerror or exc}", file=sys.stderr)  # another pipe (a worker's)
        return 1
    except OSError as exc:  # a full disk, a folder that vanished: said plainly, never a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except MemoryError:
        print("error: out of memory (see the size limits in docs/reliability.md)", file=sys.stderr)
        return 1
    except RecursionError:
        print("error: input nested too deeply", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.command == "sweep":
            print("interrupted; finished runs are kept: run the same command to resume", file=sys.stderr)
        else:
            print("interrupted; no output was left behind", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line for the user, the traceback on request
        import os
        import traceback

        if os.environ.get("SIM_DEBUG"):
            traceback.print_exc()
        print(
            f"internal error (a bug in sim, please report it): {type(exc).__name__}: {str(exc)[:300]}"
            + ("" if os.environ.get("SIM_DEBUG") else "; set SIM_DEBUG=1 to see the traceback"),
            file=sys.stderr,
        )
        return 1
