"""Fail when line coverage is under the floor overall or in any top-level package of sidecar/.

Reads the report of `coverage json`. An overall figure can hide a package nobody tests, so each package
(sidecar/<package>/) must hold its own floor; modules directly under sidecar/ count only towards the total.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

OVERALL_FLOOR = 90.0
PACKAGE_FLOOR = 85.0


@dataclass
class Tally:
    statements: int = 0
    covered: int = 0

    def add(self, statements: int, covered: int) -> None:
        self.statements += statements
        self.covered += covered

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / self.statements if self.statements else 100.0


def tally_packages(report: dict[str, Any]) -> tuple[Tally, dict[str, Tally]]:
    files: dict[str, Any] = report["files"]
    total = Tally()
    packages: dict[str, Tally] = {}
    for name, entry in files.items():
        summary = entry["summary"]
        statements, covered = int(summary["num_statements"]), int(summary["covered_lines"])
        total.add(statements, covered)
        parts = PurePosixPath(name.replace("\\", "/")).parts
        # A package of generated code only (all omitted) has no statements and no floor to hold.
        if len(parts) > 2 and parts[0] == "sidecar" and statements:
            packages.setdefault(parts[1], Tally()).add(statements, covered)
    return total, packages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", nargs="?", default="coverage.json", help="output of `coverage json`")
    parser.add_argument("--overall", type=float, default=OVERALL_FLOOR, help="floor for the total, in %%")
    parser.add_argument("--package", type=float, default=PACKAGE_FLOOR, help="floor per package, in %%")
    args = parser.parse_args(argv)
    try:
        with open(args.report, encoding="utf-8") as handle:
            report = json.load(handle)
    except (OSError, ValueError) as error:
        print(f"coverage floor: cannot read {args.report}: {error}", file=sys.stderr)
        return 2
    total, packages = tally_packages(report)
    if not total.statements:
        print("coverage floor: the report measured no statements (did any test run?)", file=sys.stderr)
        return 1
    for name in sorted(packages):
        tally = packages[name]
        print(f"  sidecar/{name + '/':<14} {tally.percent:5.1f}%  ({tally.covered}/{tally.statements})")
    print(f"  {'total':<22} {total.percent:5.1f}%  ({total.covered}/{total.statements})")
    failures = [
        f"coverage of sidecar/{name}/ is {tally.percent:.1f}%, under the floor of {args.package:g}%"
        for name, tally in sorted(packages.items())
        if tally.percent < args.package
    ]
    if total.percent < args.overall:
        failures.append(f"total coverage is {total.percent:.1f}%, under the floor of {args.overall:g}%")
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
