"""The experiment types load without the statistics stack: configuration parsing, the store and the
renderers import them, and only the analysis should pay for scipy."""

from __future__ import annotations

import subprocess
import sys

LIGHT = (
    "sidecar.experiments",
    "sidecar.experiments.config_parse",
    "sidecar.experiments.flag_check",
    "sidecar.experiments.results",
    "sidecar.store.experiment_store",
    "sidecar.store.sections",
    "sidecar.stats.srm",
    "sidecar.stats.summary",
)


def test_types_config_and_renderers_load_without_scipy() -> None:
    code = f"import sys\nfor m in {LIGHT!r}: __import__(m)\nsys.exit(int('scipy' in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], check=False, timeout=120).returncode == 0


def test_the_analysis_does_load_it() -> None:
    code = "import sys, sidecar.experiments.analysis\nsys.exit(int('scipy' not in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], check=False, timeout=120).returncode == 0
