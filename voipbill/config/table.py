"""One TOML table of the configuration being read, with key-path errors (rules §2).

Every problem is a ConfigError naming its key path, e.g. `servers -> wat5 -> url: is required`.
"""

from __future__ import annotations

import difflib
from decimal import Decimal
from typing import Any

from voipbill.errors import ConfigError
from voipbill.increments import Increment, parse_increment
from voipbill.money import DecimalSyntaxError, parse_decimal


class Table:
    """One TOML table being read: pops known keys, so leftovers are unknown keys."""

    def __init__(self, data: Any, path: tuple[str, ...]) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{self._join(path)}: expected a table, got {_kind(data)}")
        self.data = dict(data)
        self.path = path
        self.asked: set[str] = set()  # every key looked for, to suggest one for a typo

    @staticmethod
    def _join(path: tuple[str, ...]) -> str:
        return " -> ".join(path) if path else "(top level)"

    def where(self, key: str | None = None) -> str:
        return self._join((*self.path, key) if key else self.path)

    def error(self, key: str, message: str, hint: str | None = None) -> ConfigError:
        return ConfigError(f"{self.where(key)}: {message}", hint=hint)

    def pop(self, key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        self.asked.add(key)
        if key not in self.data:
            return default
        value = self.data.pop(key)
        # bool is an int in Python; a TOML `true` is never a number here
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.error(key, f"expected {_names(kind)}, got a boolean")
        if not isinstance(value, kind):
            raise self.error(key, f"expected {_names(kind)}, got {_kind(value)}")
        return value

    def require(self, key: str, kind: type | tuple[type, ...]) -> Any:
        if key not in self.data:
            # `urll = ...` is better reported as the unknown key it is than as a missing `url`
            typo = difflib.get_close_matches(key, list(self.data), n=1, cutoff=0.75)
            if typo:
                raise self.error(typo[0], "unknown key", hint=f"did you mean {key!r}?")
            raise self.error(key, "is required")
        return self.pop(key, kind)

    def string(self, key: str, default: str | None = None) -> str | None:
        value: str | None = self.pop(key, str, default)
        return value

    def decimal(self, key: str, default: Decimal | None = None) -> Decimal | None:
        value = self.pop(key, (str, int, Decimal), None)
        if value is None:
            return default
        return self.to_decimal(key, value)

    def to_decimal(self, key: str, value: Any) -> Decimal:
        if isinstance(value, str) and value.strip().startswith("-"):
            raise self.error(key, f"must not be negative (got {value!r})")
        if isinstance(value, str):
            try:
                number = parse_decimal(value)
            except DecimalSyntaxError:
                raise self.error(
                    key, f"{value!r} is not a decimal number", hint='write e.g. "0.012"'
                ) from None
        else:
            number = Decimal(value)
            if isinstance(value, Decimal) and number.is_finite():
                # rules §2: a TOML float (config.load reads floats as Decimal, to say so here)
                # cannot hold money exactly; the quoted form keeps every digit as written
                raise self.error(
                    key,
                    f"{value} is a TOML float, which cannot hold money exactly",
                    hint=f'quote it: {key} = "{value}"',
                )
            if number.is_finite() and number < 0:
                raise self.error(key, f"must not be negative (got {value})")
            if not number.is_finite():
                raise self.error(key, f"{value} is not a decimal number", hint='write e.g. "0.012"')
        # prices, percentages and minutes this large are typos, and would overflow the
        # 28 significant digits of a call's cost
        if number > _LARGEST_NUMBER:
            raise self.error(key, f"{value} is too large (at most {_LARGEST_NUMBER})")
        return number

    def increment(self, key: str) -> Increment | None:
        value = self.pop(key, (str, int), None)
        if value is None:
            return None
        try:
            return parse_increment(str(value))
        except ValueError as exc:
            raise self.error(key, str(exc)) from None

    def table(self, key: str) -> Table:
        return Table(self.pop(key, dict, {}), (*self.path, key))

    def finish(self) -> None:
        for key in self.data:
            close = difflib.get_close_matches(key, sorted(self.asked), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else "check the spelling in the README"
            raise self.error(key, "unknown key", hint=hint)


def _kind(value: Any) -> str:
    return {
        dict: "a table",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        Decimal: "a decimal",
    }.get(type(value), type(value).__name__)


def _names(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {
        str: "a string",
        int: "an integer",
        bool: "a boolean",
        dict: "a table",
        list: "an array",
    }
    return " or ".join(
        names.get(k, "a decimal") for k in kinds if k is not Decimal or len(kinds) == 1
    )


_LARGEST_NUMBER = Decimal(1_000_000_000)
