"""The committed generated code (daemon and Python client) must match what proto/ generates."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar.tools.genproto import CLIENT_PROTO_DIR, ROOT, generate


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen")
    generate(out)
    return out


@pytest.mark.parametrize("directory", [ROOT / "sidecar" / "v1", CLIENT_PROTO_DIR], ids=["daemon", "client"])
def test_generated_code_is_fresh(fresh: Path, directory: Path) -> None:
    relative = directory.relative_to(ROOT)
    generated = {p.name: p.read_bytes() for p in (fresh / relative).iterdir() if p.is_file()}
    committed = {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}
    assert sorted(generated) == sorted(committed), "run `make proto` and commit the result"
    stale = [name for name, data in generated.items() if committed[name] != data]
    assert not stale, f"generated code in {relative} is stale, run `make proto`: {stale}"
