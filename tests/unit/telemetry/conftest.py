from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.support.otlp_receiver import otlp_receiver

__all__ = ["otlp_receiver", "restore_logging"]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Undo configure_logging(): root handlers and the levels it touches."""
    root = logging.getLogger()
    names = ("sidecar.decisions", "grpc", "urllib3", "asyncio")
    saved_handlers = list(root.handlers)
    saved_levels = {name: logging.getLogger(name).level for name in names}
    saved_root = root.level
    yield
    for handler in list(root.handlers):
        if handler not in saved_handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(saved_root)
    for name, level in saved_levels.items():
        logging.getLogger(name).setLevel(level)
