"""Peer sync over mutual TLS between two real sidecars; a peer without a certificate from the CA is
refused."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.daemon import Daemon, wait_for
from tests.support.sync_cluster import SECRET, Member, flag

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command"),
]


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory: Path, name: str) -> None:
    key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl("req", "-x509", *key, "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "1",
            "-subj", f"/CN={name}", cwd=directory)  # fmt: skip


def make_cert(directory: Path, ca: str, name: str) -> None:
    key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl(
        "req", *key, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=directory
    )
    (directory / f"{name}.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n"
    )
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "1", "-extfile", f"{name}.ext",
            cwd=directory)  # fmt: skip


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    directory = tmp_path / "pki"
    directory.mkdir()
    make_ca(directory, "ca")
    make_ca(directory, "other-ca")
    for name in ("a", "b"):
        make_cert(directory, "ca", name)
    make_cert(directory, "other-ca", "stranger")
    (directory / "secret").write_text(SECRET)
    return directory


def tls_daemon(base: Path, pki: Path, name: str, peer: str | None, ca: str = "ca") -> Daemon:
    """A sidecar listening for sync on a port of its own; it dials ``peer`` when given."""
    config = base / f"config-{name}"
    config.mkdir()
    return Daemon(
        config,
        base / f"state-{name}",
        *(("--peer", peer) if peer else ()),
        "--group-secret-file",
        str(pki / "secret"),
        "--sync-tls-cert",
        str(pki / f"{name}.pem"),
        "--sync-tls-key",
        str(pki / f"{name}.key"),
        "--sync-tls-ca",
        str(pki / f"{ca}.pem"),
        env={"SIDECAR_NODE_ID": f"tls-{name}"},
        sync_listen=True,
    )


@pytest.fixture
def pair(tmp_path: Path, pki: Path) -> Iterator[tuple[Member, Member, Path]]:
    a = tls_daemon(tmp_path, pki, "a", None)
    started = [a]
    try:
        a.start()
        b = tls_daemon(tmp_path, pki, "b", a.sync_address)  # b dials a once a reported its port
        started.append(b)
        b.start()
        ma, mb = Member.__new__(Member), Member.__new__(Member)
        ma.daemon, mb.daemon = a, b
        yield ma, mb, tmp_path
    finally:
        for daemon in started:
            daemon.stop()


def test_mutual_tls_peers_sync_and_a_stranger_is_refused(
    pair: tuple[Member, Member, Path], pki: Path
) -> None:
    a, b, base = pair
    wait_for(lambda: "tls-b" in a.connected_nodes(), timeout=10)
    a.put_flag("over-tls", flag("b"))
    wait_for(lambda: b.variant("over-tls") == "b", timeout=2)
    # Holds the group secret, but its certificate comes from another CA: the TLS handshake fails.
    stranger = tls_daemon(base, pki, "stranger", a.sync_address, ca="other-ca")
    try:
        stranger.start()
        view = Member.__new__(Member)
        view.daemon = stranger
        wait_for(lambda: any(p.last_error for p in view.status().peers), timeout=10)
        assert not view.connected_nodes()
        assert view.variant("over-tls") is None
    finally:
        stranger.stop()
