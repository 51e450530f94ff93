"""Command line: `sim run`, `sim validate`.

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
  sim validate scenarios/baseline.yaml      check a scenario without running it
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
    r.add_argument("--quiet", action="store_true", help="do not print the summary table")
    r.add_argument("--report", action="store_true", help="also write the plotted report (DIR/report)")
    r.add_argument(
        "--allow-large", action="store_true", help="run even above the size limits (docs/reliability.md)"
    )

    sw = sub.add_parser("sweep", help="run an experiment: many runs over varied parameters")
    sw.add_argument("experiment", help="experiment YAML (experiments/*.yaml)")
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
    cl.add_argument("--file", default=None, help="claims file (default: experiments/claims.yaml)")
    cl.add_argument("--replications", type=int, help="replications per claim (default: the file's)")
    cl.add_argument("--workers", type=int, default=2)
    cl.add_argument("--out", help="output folder (default: results/claims-<timestamp>)")
    cl.add_argument("--quick", action="store_true", help="few replications and scan points (for CI)")
    cl.add_argument("--progress", action="store_true", help="show a progress bar")
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
    rp.add_argument("--compare", nargs=2, metavar=("DIR_A", "DIR_B"), help="compare two runs")
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
    ca.add_argument("file", nargs="?", default="experiments/calibration.yaml", help="calibration YAML")
    ca.add_argument("--quick", action="store_true", help="small population and few generations (for CI)")
    ca.add_argument(
        "--workers", type=int, default=1, help="Dask workers on this machine (default 1: one core)"
    )
    ca.add_argument("--scheduler", help="dask.distributed scheduler address (runs on that cluster)")
    ca.add_argument("--out", help="output folder (default: results/calibrate-<name>-<timestamp>)")

    v = sub.add_parser("validate", help="check a scenario file and report every problem")
    v.add_argument("scenario", help="scenario YAML")
    v.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE")
    return p


def _cmd_calibrate(args: argparse.Namespace, argv: list[str]) -> int:
    from pathlib import Path

    from sim.calibration.run import calibrate
    from sim.errors import SimError
    from sim.provenance import command_line

    if args.workers < 1:
        raise SimError(f"--workers: expected a positive whole number, got {args.workers}")
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
    overrides = tuple(parse_assignment(a) for a in args.overrides)
    task = RunTask(args.scenario, args.seed, args.steps, overrides)
    sc = scenario_of(task)  # every check before any work: the scenario, its size, the output
    check_run(len(sc.states), sc.n_steps, args.allow_large)
    check_writable(Path(args.out) if args.out else Path("results"))
    result = run_one(task, sc)
    out = Path(args.out) if args.out else default_out(result)
    write_run(result, out, command_line(argv))
    if not args.quiet:
        print(summary(result))
    print(f"wrote {out}")
    if args.report:
        from sim.report.run_report import run_report

        print(f"report: {run_report(out)}")
    return 0


def _cmd_sweep(args: argparse.Namespace, argv: list[str]) -> int:
    import os

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

    path = Path(args.file) if args.file else Path("experiments") / "claims.yaml"
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
        args.progress,
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
    from sim.limits import run_cost
    from sim.scenario import load_scenario

    sc = load_scenario(args.scenario, args.overrides)
    print(
        f"{args.scenario}: ok ({len(sc.states)} states, {len(sc.forums)} forums, "
        f"{len(sc.events)} events, {sc.n_steps} steps; estimated {run_cost(len(sc.states), sc.n_steps)})"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else ["sim", *argv])
    parser = _parser()
    args = parser.parse_args(argv[1:])
    if args.command is None:
        parser.print_help()
        return 2
    from sim.errors import SimError

    try:
        if args.command == "run":
            return _cmd_run(args, argv)
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
        return _cmd_validate(args)
    except SimError as exc:
        print(f"error: {exc}" if "\n" not in str(exc) else f"error:\n{exc}", file=sys.stderr)
        return exc.exit_code
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
