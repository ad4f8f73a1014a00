"""The committed generated code (daemon, flagd's schemas, Python client) must match what proto/ generates."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar.tools.genproto import CLIENT_PROTO_DIR, FLAGD_DIR, ROOT, generate


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen")
    generate(out)
    return out


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in directory.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.mark.parametrize(
    "directory",
    [ROOT / "sidecar" / "v1", CLIENT_PROTO_DIR, FLAGD_DIR],
    ids=["daemon", "client", "flagd"],
)
def test_generated_code_is_fresh(fresh: Path, directory: Path) -> None:
    relative = directory.relative_to(ROOT)
    generated = _files(fresh / relative)
    committed = _files(directory)
    assert sorted(generated) == sorted(committed), "run `make proto` and commit the result"
    stale = [name for name, data in generated.items() if committed[name] != data]
    assert not stale, f"generated code in {relative} is stale, run `make proto`: {stale}"
