"""Reading the config file: TOML tables key by key (so typos are reported), paths, numbers.

Only ``chatd.config`` uses these; together they are the one place settings are read.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chatd.errors import ConfigError


def read_file(path: Path, *, required: bool) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        if required:
            raise ConfigError(f"config file {path} does not exist") from None
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None


def parse_toml(path: Path, content: bytes | None) -> dict[str, Any]:
    if content is None:
        return {}
    try:
        return tomllib.loads(content.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not valid TOML: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


class Table:
    """A TOML table read key by key, so unknown keys (typos) can be reported."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self._data = data
        self._where = where
        self._seen: set[str] = set()

    def get(self, key: str, kind: type[Any]) -> Any:
        self._seen.add(key)
        value = self._data.get(key)
        if value is None:
            return None
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(f"{self._where}: {key} must be a {kind.__name__}")
        return value

    def sub(self, key: str) -> Table:
        value = self.get(key, dict)
        return Table(value or {}, f"{self._where} [{key}]")

    def keys(self) -> list[str]:
        return list(self._data)

    def reject_unknown(self) -> None:
        unknown = sorted(set(self._data) - self._seen)
        if unknown:
            raise ConfigError(f"{self._where}: unknown setting {', '.join(unknown)}")


def path_value(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def path_env(env: Mapping[str, str], name: str) -> Path | None:
    return path_value(env.get(name))


def float_env(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
