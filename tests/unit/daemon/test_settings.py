"""Every bad setting stops its command at start with one line naming option, variable, value: exit 2."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from sidecar.cli.main import main
from sidecar.daemon.options import Reader
from sidecar.daemon.settings import (
    TICK_SECONDS,
    add_client_arguments,
    add_serve_arguments,
    client_settings,
    serve_settings,
)
from sidecar.server.listen import ListenAddress

SECRET = "0123456789abcdef-secret"
SIDECAR = Path(sys.executable).with_name("sidecar")


@dataclass(frozen=True)
class Bad:
    option: str | None
    variable: str | None
    value: str
    command: str = "serve"
    env: tuple[tuple[str, str], ...] = ()  # other settings the case needs


BAD = [
    Bad("--tick-seconds", "SIDECAR_TICK_SECONDS", "abc"),
    Bad("--tick-seconds", "SIDECAR_TICK_SECONDS", "0"),
    Bad("--outcome-bucket-seconds", "SIDECAR_OUTCOME_BUCKET_SECONDS", "1.5"),
    Bad("--state-max-size", "SIDECAR_STATE_MAX_SIZE", "lots"),
    Bad("--state-max-size", "SIDECAR_STATE_MAX_SIZE", "12KiB"),
    Bad("--state-max-size", "SIDECAR_STATE_MAX_SIZE", "5PB"),
    Bad("--listen", "SIDECAR_LISTEN", "nonsense"),
    Bad("--listen", "SIDECAR_LISTEN", "127.0.0.1:70000"),
    Bad("--flagd-sync-listen", "SIDECAR_FLAGD_SYNC_LISTEN", "nowhere"),
    Bad("--flagd-sync-listen", "SIDECAR_FLAGD_SYNC_LISTEN", "127.0.0.1:99999"),
    Bad("--log-level", "SIDECAR_LOG_LEVEL", "loud"),
    Bad("--debug-decisions", "SIDECAR_DEBUG_DECISIONS", "maybe"),
    Bad("--config-dir", "SIDECAR_CONFIG_DIR", "/no/such/directory"),
    Bad("--environment", None, " "),  # a blank variable counts as unset, so only the flag can be blank
    Bad("--ready-file", None, " "),
    Bad("--trace-sampler", "OTEL_TRACES_SAMPLER", "bogus"),
    Bad("--trace-sample-ratio", "OTEL_TRACES_SAMPLER_ARG", "2"),
    Bad("--trace-sample-ratio", "OTEL_TRACES_SAMPLER_ARG", "half"),
    Bad("--otlp-protocol", "OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon"),
    Bad("--otlp-header", "OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
    Bad("--metrics-interval", "OTEL_METRIC_EXPORT_INTERVAL", "0"),
    Bad("--otlp-endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://a b"),
    Bad("--no-telemetry", "OTEL_SDK_DISABLED", "perhaps"),
    Bad("--prometheus-listen", None, "nowhere"),
    Bad("--management-listen", "SIDECAR_MANAGEMENT_LISTEN", "nowhere"),
    Bad("--management-listen", "SIDECAR_MANAGEMENT_LISTEN", "127.0.0.1:70000"),
    Bad("--ofrep-listen", "SIDECAR_OFREP_LISTEN", "nowhere"),
    Bad("--ofrep-listen", "SIDECAR_OFREP_LISTEN", "127.0.0.1:70000"),
    Bad("--ofrep-listen", "SIDECAR_OFREP_LISTEN", "unix:/run/ofrep.sock"),
    Bad("--evaluation-events", "SIDECAR_EVALUATION_EVENTS", "carrier-pigeon"),
    Bad("--evaluation-events-ratio", "SIDECAR_EVALUATION_EVENTS_RATIO", "1.5"),
    Bad("--evaluation-events-ratio", "SIDECAR_EVALUATION_EVENTS_RATIO", "most"),
    Bad(None, "OTEL_LOGS_EXPORTER", "syslog"),
    Bad(None, "OTEL_BSP_MAX_QUEUE_SIZE", "-1"),
    Bad(None, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "many"),
    Bad(None, "OTEL_EXPORTER_OTLP_TIMEOUT", "soon"),
    Bad(None, "OTEL_METRICS_EXPORTER", "statsd"),
    Bad(None, "OTEL_TRACES_EXPORTER", "zipkin-by-post"),
    Bad(None, "OTEL_EXPORTER_PROMETHEUS_PORT", "99999", env=(("OTEL_METRICS_EXPORTER", "prometheus"),)),
    Bad("--peer", "SIDECAR_PEERS", "nope"),
    Bad("--peer-dns", "SIDECAR_PEER_DNS", "name-without-port"),
    Bad("--sync-listen", "SIDECAR_SYNC_LISTEN", "nope"),
    Bad("--sync-fanout", "SIDECAR_SYNC_FANOUT", "0"),
    Bad("--sync-anti-entropy-seconds", "SIDECAR_SYNC_ANTI_ENTROPY_SECONDS", "-1"),
    Bad("--sync-tombstone-min-age", "SIDECAR_SYNC_TOMBSTONE_MIN_AGE", "x"),
    Bad("--address", "SIDECAR_ADDRESS", "nonsense", command="health"),
    Bad("--address", "SIDECAR_ADDRESS", "127.0.0.1:0", command="status"),
    Bad("--timeout", None, "-1", command="health"),
    Bad("--token-file", None, " ", command="status"),
]


def find(variable: str, value: str) -> Bad:
    return next(b for b in BAD if (b.variable, b.value) == (variable, value))


def cases() -> list[object]:
    """Each bad value once as its flag and once as its variable (where the option has one)."""
    out: list[object] = []
    for bad in BAD:
        name = bad.option or bad.variable
        if bad.option is not None and bad.option not in {"--no-telemetry", "--debug-decisions"}:
            out.append(pytest.param(bad, "flag", id=f"{name}={bad.value}-flag"))
        if bad.variable is not None:
            out.append(pytest.param(bad, "variable", id=f"{name}={bad.value}-variable"))
    return out


@pytest.fixture
def base_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A valid serve setup (config dir, state dir, peer sync on): only the case's value is wrong."""

    def accepted(settings: object) -> None:
        raise AssertionError(f"bad settings were accepted: {settings}")

    monkeypatch.setattr("sidecar.daemon.lifecycle.run", accepted)
    for name in list(os.environ):
        if name.startswith(("SIDECAR_", "OTEL_")):
            monkeypatch.delenv(name)
    (tmp_path / "config").mkdir()
    (tmp_path / "secret").write_text(SECRET)
    return {
        "SIDECAR_CONFIG_DIR": str(tmp_path / "config"),
        "SIDECAR_STATE_DIR": str(tmp_path / "state"),
        "SIDECAR_GROUP_SECRET_FILE": str(tmp_path / "secret"),
    }


def invocation(bad: Bad, how: str, base_env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    env = {**base_env, **dict(bad.env)}
    argv = [bad.command]
    if how == "flag":
        assert bad.option is not None
        argv += [bad.option, bad.value]
    else:
        assert bad.variable is not None
        env[bad.variable] = bad.value
    return argv, env


def assert_one_line(stderr: str, bad: Bad) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("sidecar: bad value ")
    assert repr(bad.value) in lines[0]
    for name in (bad.option, bad.variable):
        if name is not None:
            assert name in lines[0]


@pytest.mark.parametrize(("bad", "how"), cases())
def test_bad_setting_stops_the_command_with_one_line(
    bad: Bad,
    how: str,
    base_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv, env = invocation(bad, how, base_env)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert_one_line(capsys.readouterr().err, bad)


@pytest.mark.parametrize(
    ("bad", "how"),
    [
        (find("SIDECAR_TICK_SECONDS", "abc"), "variable"),
        (find("OTEL_TRACES_SAMPLER", "bogus"), "variable"),
        (find("OTEL_TRACES_SAMPLER_ARG", "2"), "flag"),
        (find("SIDECAR_ADDRESS", "nonsense"), "flag"),
    ],
    ids=["tick-seconds", "sampler", "sample-ratio", "address"],
)
def test_the_real_entry_point_prints_one_line_and_exits_2(
    bad: Bad, how: str, base_env: dict[str, str]
) -> None:
    argv, env = invocation(bad, how, base_env)
    result = subprocess.run(
        [str(SIDECAR), *argv],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert_one_line(result.stderr, bad)


def test_version_ignores_the_settings_it_does_not_use() -> None:
    env = {**os.environ, "SIDECAR_TICK_SECONDS": "abc", "OTEL_TRACES_SAMPLER": "bogus"}
    result = subprocess.run(
        [str(SIDECAR), "--version"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("sidecar ")


def test_help_builds_without_reading_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIDECAR_OUTCOME_BUCKET_SECONDS", "lots")
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--help"])
    assert exited.value.code == 0


def serve(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    return parser.parse_args(argv)


def test_flags_beat_variables_beat_defaults(tmp_path: Path) -> None:
    environ = {"SIDECAR_TICK_SECONDS": "0.5", "RUNTIME_DIRECTORY": str(tmp_path / "run")}
    args = serve(["--config-dir", str(tmp_path)])
    settings = serve_settings(args, environ)
    assert settings.tick_seconds == 0.5
    assert settings.bucket_seconds == 5
    assert settings.listen == (
        ListenAddress(unix_path=tmp_path / "run" / "sidecar.sock"),
        ListenAddress(host="127.0.0.1", port=8013),
    )
    assert settings.sync is None
    assert settings.flagd_sync_listen == ListenAddress(host="127.0.0.1", port=8015)
    off = serve_settings(serve(["--config-dir", str(tmp_path)]), {"SIDECAR_FLAGD_SYNC_LISTEN": "off"})
    assert off.flagd_sync_listen is None
    assert not settings.telemetry.enabled or settings.telemetry.traces_exporter == "none"
    flagged = serve_settings(serve(["--config-dir", str(tmp_path), "--tick-seconds", "2"]), environ)
    assert flagged.tick_seconds == 2.0
    assert Reader(args, environ).get(TICK_SECONDS, float, 9.0) == 0.5


def test_port_zero_and_the_ready_file(tmp_path: Path) -> None:
    environ = {"SIDECAR_READY_FILE": str(tmp_path / "ready.json")}
    args = serve(["--config-dir", str(tmp_path), "--listen", "127.0.0.1:0"])
    settings = serve_settings(args, environ)
    assert settings.listen == (ListenAddress(host="127.0.0.1", port=0),)
    assert settings.ready_file == tmp_path / "ready.json"


def test_management_listener_and_evaluation_events(tmp_path: Path) -> None:
    defaults = serve_settings(serve(["--config-dir", str(tmp_path)]), {})
    assert defaults.management_listen == "127.0.0.1:8014"  # flagd's management port
    assert defaults.telemetry.metrics_pull  # /metrics is served, so a pull reader is kept
    assert (defaults.telemetry.evaluation_events, defaults.telemetry.evaluation_events_ratio) == ("log", 1.0)
    environ = {"SIDECAR_MANAGEMENT_LISTEN": "off", "SIDECAR_EVALUATION_EVENTS_RATIO": "0.25"}
    off = serve_settings(serve(["--config-dir", str(tmp_path), "--evaluation-events", "BOTH"]), environ)
    assert off.management_listen is None
    assert not off.telemetry.metrics_pull
    assert (off.telemetry.evaluation_events, off.telemetry.evaluation_events_ratio) == ("both", 0.25)
    flagged = serve_settings(
        serve(["--config-dir", str(tmp_path), "--management-listen", "[::1]:0"]), environ
    )
    assert flagged.management_listen == "[::1]:0"


def test_ofrep_listener(tmp_path: Path) -> None:
    defaults = serve_settings(serve(["--config-dir", str(tmp_path)]), {})
    assert defaults.ofrep_listen == "127.0.0.1:8016"  # flagd's OFREP port
    off = serve_settings(serve(["--config-dir", str(tmp_path)]), {"SIDECAR_OFREP_LISTEN": "OFF"})
    assert off.ofrep_listen is None
    environ = {"SIDECAR_OFREP_LISTEN": "off"}
    flagged = serve_settings(serve(["--config-dir", str(tmp_path), "--ofrep-listen", "127.0.0.1:0"]), environ)
    assert flagged.ofrep_listen == "127.0.0.1:0"


@pytest.mark.parametrize(
    ("text", "size"),
    [("65536", 65536), ("512KiB", 512 * 1024), ("64 MB", 64 * 1024**2), ("1.5g", 3 * 1024**3 // 2)],
)
def test_state_max_size_takes_binary_units(tmp_path: Path, text: str, size: int) -> None:
    settings = serve_settings(serve(["--config-dir", str(tmp_path)]), {"SIDECAR_STATE_MAX_SIZE": text})
    assert settings.state_max_size == size
    assert serve_settings(serve(["--config-dir", str(tmp_path)]), {}).state_max_size is None


def test_systemd_directories_are_the_defaults(tmp_path: Path) -> None:
    environ = {"CONFIGURATION_DIRECTORY": f"{tmp_path}:/other", "STATE_DIRECTORY": "/var/lib/x:/y"}
    settings = serve_settings(serve([]), environ)
    assert (settings.config_dir, settings.state_dir) == (tmp_path, Path("/var/lib/x"))


def client(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_client_arguments(parser)
    return parser.parse_args(argv)


def test_client_token_and_address_precedence() -> None:
    environ = {
        "SIDECAR_STATE_DIR": "/state",
        "SIDECAR_ADMIN_TOKEN": "secret-token",
        "SIDECAR_ACTOR": "ops",
        "SIDECAR_ADDRESS": "unix:/run/s.sock",
    }
    from_env = client_settings(client([]), environ)
    assert (from_env.address, from_env.token, from_env.actor) == ("unix:/run/s.sock", "secret-token", "ops")
    flagged = client_settings(client(["--token-file", "/t", "--address", "127.0.0.1:1"]), environ)
    assert (flagged.address, flagged.token, flagged.token_file) == ("127.0.0.1:1", None, Path("/t"))
    defaults = client_settings(client([]), {"SIDECAR_STATE_DIR": "/state"})
    assert (defaults.address, defaults.timeout) == ("127.0.0.1:8013", 5.0)
    assert defaults.token_file == Path("/state/admin.token")
