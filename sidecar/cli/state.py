"""``sidecar backup``, ``sidecar restore`` and ``sidecar state reset``: the state directory's files.

Backup works while the daemon serves (SQLite's online backup); restore and reset need the daemon stopped
and refuse otherwise. Neither deletes anything: the database they replace is kept under a dated name.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sidecar.daemon.options import add_options
from sidecar.daemon.settings import STATE_DIR, state_dir_setting
from sidecar.store.integrity import DamagedStateError
from sidecar.store.state_files import StateInUseError, backup, reset, restore


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    back = subparsers.add_parser(
        "backup",
        help="copy the state database to FILE while the daemon serves",
        description="Copy the state database (admin-written flags and rollouts, rollout state, outcomes, "
        "audit, alerts, experiments) to FILE with SQLite's online backup, check the copy, then rename it "
        "into place. Safe while the daemon serves.",
    )
    back.add_argument("file", type=Path, help="where to write the backup (replaced if it exists)")
    add_options(back, (STATE_DIR,))
    back.set_defaults(handler=run_backup)

    rest = subparsers.add_parser(
        "restore",
        help="replace the state with a backup (daemon stopped)",
        description="Check FILE, then make it the state database. Refused while a daemon uses the state "
        "directory. The database it replaces is kept beside it as sidecar.db.before-restore-TIME.",
    )
    rest.add_argument("file", type=Path, help="a file written by sidecar backup")
    add_options(rest, (STATE_DIR,))
    rest.set_defaults(handler=run_restore)

    state = subparsers.add_parser("state", help="manage the state directory")
    actions = state.add_subparsers(dest="state_command", required=True)
    clear = actions.add_parser(
        "reset",
        help="start empty at the next start (daemon stopped)",
        description="Set the state database aside (kept as sidecar.db.reset-TIME) so that the next start "
        "begins with empty state. Refused while a daemon uses the state directory.",
    )
    clear.add_argument("--yes", action="store_true", help="confirm: the next start has no admin state")
    add_options(clear, (STATE_DIR,))
    clear.set_defaults(handler=run_reset)


def _failed(exc: Exception) -> int:
    sys.stderr.write(f"sidecar: {exc}\n")
    return 1


def run_backup(args: argparse.Namespace) -> int:
    state_dir = state_dir_setting(args, os.environ)
    try:
        size = backup(state_dir, args.file)
    except (DamagedStateError, OSError) as exc:
        return _failed(exc)
    print(f"backed up {state_dir / 'sidecar.db'} to {args.file} ({size} bytes, checked)")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    state_dir = state_dir_setting(args, os.environ)
    try:
        kept = restore(args.file, state_dir)
    except (DamagedStateError, StateInUseError, OSError) as exc:
        return _failed(exc)
    aside = f"; the previous database is kept as {kept}" if kept else ""
    print(f"restored {args.file} into {state_dir}{aside}")
    return 0


def run_reset(args: argparse.Namespace) -> int:
    if not args.yes:
        return _failed(ValueError("state reset discards the admin state at the next start; add --yes"))
    state_dir = state_dir_setting(args, os.environ)
    try:
        kept = reset(state_dir)
    except (StateInUseError, OSError) as exc:
        return _failed(exc)
    print(
        f"{state_dir} will start empty; the previous database is kept as {kept}"
        if kept
        else "nothing to reset"
    )
    return 0
