"""``sidecar experiment``: list experiments, print or save a report, and plan a sample size offline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TypeAlias

import grpc

from sidecar.cli.connection import (
    add_connection_options,
    admin_metadata,
    channel,
    connection,
    print_json,
    rpc_failed,
)
from sidecar.experiments.config_values import parse_mde
from sidecar.experiments.model import MetricKind
from sidecar.experiments.planning import SampleSizePlan, plan_sample_size
from sidecar.server.convert import struct_to_dict
from sidecar.stats.formatting import fmt_num, fmt_pct
from sidecar.v1 import experiment_pb2 as pb
from sidecar.v1 import experiment_pb2_grpc

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
CORRECTIONS = {"holm": pb.CORRECTION_HOLM, "bh": pb.CORRECTION_BH}


def add_parsers(subparsers: Subparsers) -> None:
    experiment = subparsers.add_parser(
        "experiment",
        help="list experiments, report on one, plan a sample size",
        description="A/B experiments on a running daemon (list and report need the admin token); "
        "sample-size works offline.",
    )
    actions = experiment.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="one line per experiment: status, flag, exposed units per arm")
    report = actions.add_parser("report", help="the statistical report of one experiment")
    report.add_argument("experiment_key")
    output = report.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the structured report as JSON")
    output.add_argument("--html", type=Path, metavar="FILE", help="write the report as one HTML page to FILE")
    report.add_argument(
        "--correction", choices=sorted(CORRECTIONS), help="override the configured correction"
    )
    for command in (listing, report):
        add_connection_options(command)

    size = actions.add_parser(
        "sample-size",
        help="units needed for a fixed-horizon experiment",
        description="Units per arm to detect an effect of MDE with the given power (two-sided test; alpha is "
        "split Bonferroni-style over the treatment arms).",
    )
    size.add_argument("--baseline", type=float, required=True, help="control mean (a rate for binomial)")
    size.add_argument(
        "--mde", required=True, help='minimum detectable effect: absolute (0.005) or relative ("5%%")'
    )
    size.add_argument("--kind", choices=[k.value for k in MetricKind], default=MetricKind.BINOMIAL.value)
    size.add_argument("--std-dev", type=float, help="per-unit standard deviation (continuous and count)")
    size.add_argument("--alpha", type=float, default=0.05)
    size.add_argument("--power", type=float, default=0.8)
    size.add_argument(
        "--weights", default="50,50", help="allocation, control first (default %(default)s), e.g. 34,33,33"
    )
    size.add_argument("--json", action="store_true", help="print the plan as JSON")
    experiment.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "sample-size":
        return run_sample_size(args)
    stub = experiment_pb2_grpc.ExperimentServiceStub(channel(args))
    options: dict[str, Any] = {"metadata": admin_metadata(args), "timeout": connection(args).timeout}
    try:
        if args.action == "list":
            listed = stub.ListExperiments(pb.ListExperimentsRequest(), **options)
            for experiment in listed.experiments:
                sys.stdout.write(line(experiment) + "\n")
            return 0
        fmt = (
            pb.REPORT_FORMAT_JSON
            if args.json
            else pb.REPORT_FORMAT_HTML
            if args.html
            else pb.REPORT_FORMAT_TEXT
        )
        request = pb.AnalyzeRequest(
            experiment_key=args.experiment_key,
            format=fmt,
            correction=CORRECTIONS.get(args.correction, pb.CORRECTION_UNSPECIFIED),
        )
        response = stub.Analyze(request, **options)
    except grpc.RpcError as exc:
        return rpc_failed(exc)
    if args.json:
        print_json(struct_to_dict(response.report))
    elif args.html:
        args.html.write_text(response.html)
        sys.stdout.write(f"wrote {args.html} (verdict {response.verdict})\n")
    else:
        sys.stdout.write(response.text)
    return 0


def line(experiment: pb.Experiment) -> str:
    status = pb.ExperimentStatus.Name(experiment.status).removeprefix("EXPERIMENT_STATUS_")
    arms = ", ".join(f"{arm.variant} {arm.exposed_units:,}" for arm in experiment.arms)
    problems = f"\tPROBLEMS: {'; '.join(experiment.problems)}" if experiment.problems else ""
    return f"{experiment.key}\t{status}\tflag {experiment.flag_key}\tunits: {arms}{problems}"


def run_sample_size(args: argparse.Namespace) -> int:
    try:
        mde, relative = parse_mde(args.mde if args.mde.endswith("%") else float(args.mde))
        weights = [float(w) for w in args.weights.split(",")]
        plan = plan_sample_size(
            kind=args.kind,
            baseline=args.baseline,
            mde=mde,
            relative=relative,
            std_dev=args.std_dev,
            alpha=args.alpha,
            power=args.power,
            weights=weights,
            comparisons=len(weights) - 1,
        )
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from exc
    if args.json:
        print_json(
            {
                "per_arm_equal": plan.per_arm_equal,
                "total": plan.total,
                "arm_units": list(plan.arm_units),
                "alpha_per_comparison": plan.alpha_per_comparison,
            }
        )
    else:
        sys.stdout.write(describe_plan(plan))
    return 0


def describe_plan(plan: SampleSizePlan) -> str:
    binomial = plan.kind is MetricKind.BINOMIAL
    shown = fmt_pct if binomial else fmt_num
    delta = plan.baseline * plan.mde if plan.relative else plan.mde
    effect = (
        f"{fmt_pct(plan.mde, signed=True)} relative ({shown(plan.baseline + delta)})"
        if plan.relative
        else (f"{fmt_num(plan.mde, signed=True)} absolute ({shown(plan.baseline + delta)})")
    )
    arms = ", ".join(
        f"{'control' if i == 0 else f'arm {i + 1}'} {units:,}" for i, units in enumerate(plan.arm_units)
    )
    return (
        f"{plan.kind.value} metric, baseline {shown(plan.baseline)}, minimum detectable effect {effect}\n"
        f"two-sided alpha {plan.alpha:g} over {plan.comparisons} comparison(s) "
        f"({plan.alpha_per_comparison:.4g} each), power {plan.power:.0%}\n"
        f"units per arm with equal allocation: {plan.per_arm_equal:,}\n"
        f"total units: {plan.total:,} ({arms})\n"
    )
