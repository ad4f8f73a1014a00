"""Every command-line option with its environment variable, and the reader that applies precedence.

argparse only collects text here (every default is None, no ``type=``, no ``choices=``): values are parsed
when settings are built, so a bad variable never breaks ``sidecar --version`` or an unrelated command,
and a bad flag reads exactly like a bad variable.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar, overload

from sidecar.daemon.parsers import BadValue, Parser, Rejected

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Option:
    flag: str | None  # "--tick-seconds"; None: settable only as a variable
    variable: str | None  # "SIDECAR_TICK_SECONDS"; None: settable only as a flag
    help: str = ""
    metavar: str | None = None
    repeat: bool = False  # the flag is repeatable; the variable is comma-separated
    switch: bool = False  # the flag takes no value; the variable is a boolean

    @property
    def dest(self) -> str:
        name = self.flag or self.variable or ""
        return name.removeprefix("--").lower().replace("-", "_")


def add_options(parser: argparse._ActionsContainer, options: Sequence[Option]) -> None:
    for option in options:
        if option.flag is None:
            continue
        help_text = f"{option.help} ({option.variable})" if option.variable else option.help
        if option.switch:
            parser.add_argument(
                option.flag,
                dest=option.dest,
                action="store_const",
                const="true",
                default=None,
                help=help_text,
            )
        else:
            parser.add_argument(
                option.flag,
                dest=option.dest,
                action="append" if option.repeat else "store",
                default=None,
                metavar=option.metavar,
                help=help_text,
            )


class Reader:
    """Values of options: the flag if given, else the variable if set and not empty, else the default."""

    def __init__(self, args: argparse.Namespace, environ: Mapping[str, str]) -> None:
        self._args = args
        self._environ = environ

    def flag_text(self, option: Option) -> str | None:
        raw = getattr(self._args, option.dest, None) if option.flag else None
        if isinstance(raw, list):
            return ",".join(raw)
        return raw if isinstance(raw, str) else None

    def variable_text(self, option: Option) -> str | None:
        if option.variable is None:
            return None
        raw = self._environ.get(option.variable, "").strip()
        return raw or None

    def given(self, option: Option) -> bool:
        return self.flag_text(option) is not None or self.variable_text(option) is not None

    @overload
    def get(self, option: Option, parse: Parser[T]) -> T | None: ...
    @overload
    def get(self, option: Option, parse: Parser[T], default: T) -> T: ...
    def get(self, option: Option, parse: Parser[T], default: T | None = None) -> T | None:
        raw = self.flag_text(option)
        if raw is None:
            raw = self.variable_text(option)
        return default if raw is None else self.parse(option, parse, raw)

    def flag(self, option: Option, parse: Parser[T]) -> T | None:
        raw = self.flag_text(option)
        return None if raw is None else self.parse(option, parse, raw)

    def variable(self, option: Option, parse: Parser[T]) -> T | None:
        raw = self.variable_text(option)
        return None if raw is None else self.parse(option, parse, raw)

    def many(self, option: Option, parse: Parser[T]) -> tuple[T, ...] | None:
        """A repeatable flag's values, else the variable's comma-separated ones, else None."""
        flags = getattr(self._args, option.dest, None) if option.flag else None
        if flags:
            return tuple(self.parse(option, parse, item) for item in flags)
        raw = self.variable_text(option)
        if raw is None:
            return None
        return tuple(self.parse(option, parse, item.strip()) for item in raw.split(",") if item.strip())

    @staticmethod
    def parse(option: Option, parse: Parser[T], raw: str) -> T:
        try:
            return parse(raw)
        except Rejected as exc:
            raise BadValue(option.flag, option.variable, raw, exc.expected) from None

    def bad(self, option: Option, raw: str, expected: str) -> BadValue:
        return BadValue(option.flag, option.variable, raw, expected)
