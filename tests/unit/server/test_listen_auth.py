"""Listen addresses and the admin token file."""

from __future__ import annotations

import socket
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from sidecar.config.limits import ACTOR_CHARS
from sidecar.errors import InvalidArgumentError, UnauthenticatedError
from sidecar.server.auth import AdminAuth, TokenFileError, load_or_create_token
from sidecar.server.listen import ListenAddress, default_runtime_dir, parse_listen, prepare_unix_socket


@pytest.mark.parametrize(
    ("text", "target", "loopback"),
    [
        pytest.param("unix:/run/s.sock", "unix:/run/s.sock", True, id="unix"),
        pytest.param("127.0.0.1:8013", "127.0.0.1:8013", True, id="ipv4-loopback"),
        pytest.param("[::1]:8013", "[::1]:8013", True, id="ipv6-loopback"),
        pytest.param("localhost:80", "localhost:80", True, id="localhost"),
        pytest.param("0.0.0.0:8013", "0.0.0.0:8013", False, id="any"),
        pytest.param("sidecar.example:8013", "sidecar.example:8013", False, id="hostname"),
    ],
)
def test_listen_addresses_parse(text: str, target: str, loopback: bool) -> None:
    address = parse_listen(text)
    assert address.grpc_target == target
    assert address.is_loopback() is loopback


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param("unix:", "needs a path", id="unix-without-path"),
        pytest.param("8013", "neither unix:PATH nor HOST:PORT", id="no-host"),
        pytest.param("host:http", "neither unix:PATH nor HOST:PORT", id="named-port"),
        pytest.param(":8013", "neither unix:PATH nor HOST:PORT", id="empty-host"),
    ],
)
def test_bad_listen_addresses_say_what_is_expected(text: str, words: str) -> None:
    with pytest.raises(InvalidArgumentError, match=words):
        parse_listen(text)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param({"RUNTIME_DIRECTORY": "/run/a:/run/b"}, Path("/run/a"), id="systemd"),
        pytest.param({"XDG_RUNTIME_DIR": "/run/user/7"}, Path("/run/user/7/rollout-sidecar"), id="xdg"),
    ],
)
def test_runtime_dir_follows_the_environment(environ: dict[str, str], expected: Path) -> None:
    assert default_runtime_dir(environ) == expected


def test_runtime_dir_falls_back_to_a_per_user_tmp_dir() -> None:
    assert default_runtime_dir({}).name.startswith("rollout-sidecar-")


def test_a_stale_socket_is_removed_and_its_directory_made(tmp_path: Path) -> None:
    path = tmp_path / "run" / "s.sock"
    prepare_unix_socket(path)
    assert path.parent.is_dir()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
    prepare_unix_socket(path)
    assert not path.exists()
    assert ListenAddress(unix_path=path).is_loopback()


def test_the_token_file_is_created_private_and_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "state" / "admin.token"
    token = load_or_create_token(path)
    assert len(token) >= 16
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_token(path) == token


def test_a_short_token_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "admin.token"
    path.write_text("short\n")
    path.chmod(0o600)
    with pytest.raises(TokenFileError, match="shorter than 16 characters"):
        load_or_create_token(path)


def context(*metadata: tuple[str, str | bytes]) -> SimpleNamespace:
    return SimpleNamespace(invocation_metadata=lambda: metadata)


def test_the_actor_comes_from_its_header_and_is_capped() -> None:
    auth = AdminAuth("t" * 20)
    bearer = ("authorization", "Bearer " + "t" * 20)
    assert auth.authorize(context(bearer)) == "admin"
    assert auth.authorize(context(bearer, ("x-actor", "a" * 500))) == "a" * ACTOR_CHARS.value
    assert auth.authorize(context(("authorization", b"Bearer " + b"t" * 20))) == "admin"


@pytest.mark.parametrize(
    ("metadata", "words"),
    [
        pytest.param((), "missing 'authorization", id="missing"),
        pytest.param((("authorization", "Bearer nope"),), "token is wrong", id="wrong"),
        pytest.param((("authorization", "t" * 20),), "token is wrong", id="no-bearer"),
    ],
)
def test_a_missing_or_wrong_token_is_unauthenticated(
    metadata: tuple[tuple[str, str], ...], words: str
) -> None:
    with pytest.raises(UnauthenticatedError, match=words):
        AdminAuth("t" * 20).authorize(context(*metadata))
