"""Settings: read once from the TOML file and the environment, then passed down frozen.

This is the only module that reads the environment or the configuration file. Precedence,
highest first: environment variables, the config file, built-in defaults. Every setting is
documented in docs/configuration.md.
"""

from __future__ import annotations

import os
import tomllib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatd.errors import ConfigError

APP_NAME = "chatd"

DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024
"""A conversation with images fits; a runaway or hostile client cannot make us buffer more."""

DEFAULT_IDLE_EVICT_S = 600.0
"""Ten minutes without a turn: the session is saved already, so memory can be given back."""

DEFAULT_MAX_STEPS = 20
"""Model calls per turn in the tool loop; a looping model ends with stopReason max_steps."""

PROVIDER_KINDS = ("claude", "openai", "openai-compatible", "gemini", "claude-local", "echo")

CONVENTIONAL_KEY_ENV: dict[str, tuple[str, ...]] = {
    "claude": ("ANTHROPIC_API_KEY",),
    "openai": ("OPENAI_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
}
"""Where each SDK's users already keep their key; looked up last."""

AUTO_DEFAULT_ORDER = ("claude", "openai", "gemini")
"""Without a configured default, the first of these whose key is present is the default."""


class Secret:
    """A string that never shows itself in a repr, a log line or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, kw_only=True)
class StoreSettings:
    dir: Path
    key: Secret | None = None
    """From CHATD_STORE_KEY: base64 or hex of 32 bytes (decoded by core.store.keys)."""
    key_file: Path | None = None
    """From CHATD_STORE_KEY_FILE or the config's store.key_file; must be mode 0600."""
    use_keyring: bool = False
    """Look the key up in the OS keyring (service "chatd", user "store-key")."""


@dataclass(frozen=True, kw_only=True)
class DaemonSettings:
    socket_path: Path
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    idle_evict_s: float = DEFAULT_IDLE_EVICT_S
    log_level: str | None = None
    """None: ``warning`` when serving stdio (editors show every stderr line), else ``info``."""
    log_file: Path | None = None


@dataclass(frozen=True, kw_only=True)
class ProviderSettings:
    name: str
    kind: str
    model: str | None = None
    base_url: str | None = None
    api_key: Secret | None = None
    """The key from the config file, or from the variable its ``api_key_env`` names."""
    api_key_env: str | None = None
    env_api_key: Secret | None = None
    """The key from the conventional variable (ANTHROPIC_API_KEY …), looked up last."""
    api_key_source: str | None = None
    """Where ``api_key`` came from, for messages: ``"config"`` or the variable's name."""
    env_api_key_var: str | None = None
    """The conventional variable ``env_api_key`` was read from."""
    max_tokens: int | None = None
    timeout_s: float | None = None
    max_retries: int | None = None
    max_steps: int = DEFAULT_MAX_STEPS
    command: str | None = None
    """claude-local: the CLI to run (default ``claude`` on PATH)."""
    thinking_budget: int | None = None
    """claude, gemini: tokens the model may spend reasoning before it answers (off if unset)."""
    delay_ms: float = 0.0
    """echo: pause between streamed deltas (CHATD_ECHO_DELAY_MS), so tests can hold a turn."""

    def key_variables(self) -> tuple[str, ...]:
        """The variable names a user can set to give this provider a key, for messages."""
        named = (self.api_key_env,) if self.api_key_env else ()
        return named + CONVENTIONAL_KEY_ENV.get(self.kind, ())

    def has_key(self) -> bool:
        return self.api_key is not None or self.env_api_key is not None


@dataclass(frozen=True, kw_only=True)
class Settings:
    store: StoreSettings
    daemon: DaemonSettings
    providers: Mapping[str, ProviderSettings]
    default_provider: str
    config_path: Path | None = None


def default_config_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_store_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME)) / "conversations"


def default_socket_path() -> Path:
    import platformdirs

    with warnings.catch_warnings():  # without XDG_RUNTIME_DIR, its /tmp fallback is what we want
        warnings.simplefilter("ignore")
        return Path(platformdirs.user_runtime_dir(APP_NAME)) / "chatd.sock"


def load_settings(
    config_path: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the config file (if any) and the environment into one frozen ``Settings``.

    :raises ConfigError: unreadable file, unknown key, wrong type, empty key variable.
    """
    env = os.environ if environ is None else environ
    explicit = config_path or _path_env(env, "CHATD_CONFIG")
    path = explicit or default_config_path()
    document = _read_toml(path, required=explicit is not None)
    table = _Table(document, str(path) if document else "defaults")

    store = _store_settings(table.sub("store"), env)
    daemon = _daemon_settings(table.sub("daemon"), env)
    providers = _provider_settings(table.sub("providers"), env)
    configured_default = table.get("default_provider", str)
    default = env.get("CHATD_PROVIDER") or configured_default
    table.reject_unknown()
    return Settings(
        store=store,
        daemon=daemon,
        providers=providers,
        default_provider=_choose_default(default, providers),
        config_path=path if document else None,
    )


def _read_toml(path: Path, *, required: bool) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        if required:
            raise ConfigError(f"config file {path} does not exist") from None
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


class _Table:
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

    def sub(self, key: str) -> _Table:
        value = self.get(key, dict)
        return _Table(value or {}, f"{self._where} [{key}]")

    def keys(self) -> list[str]:
        return list(self._data)

    def reject_unknown(self) -> None:
        unknown = sorted(set(self._data) - self._seen)
        if unknown:
            raise ConfigError(f"{self._where}: unknown setting {', '.join(unknown)}")


def _store_settings(table: _Table, env: Mapping[str, str]) -> StoreSettings:
    configured_dir, configured_key_file = table.get("dir", str), table.get("key_file", str)
    directory = _path_env(env, "CHATD_STORE_DIR") or _path(configured_dir)
    key_file = _path_env(env, "CHATD_STORE_KEY_FILE") or _path(configured_key_file)
    raw_key = env.get("CHATD_STORE_KEY")
    if raw_key is not None and not raw_key.strip():
        raise ConfigError(
            "CHATD_STORE_KEY is set but empty; unset it for a plaintext store, "
            "or set it to a key from `chatd key generate`"
        )
    use_keyring = bool(table.get("keyring", bool))
    table.reject_unknown()
    return StoreSettings(
        dir=directory or default_store_dir(),
        key=Secret(raw_key.strip()) if raw_key is not None else None,
        key_file=key_file,
        use_keyring=use_keyring,
    )


def _daemon_settings(table: _Table, env: Mapping[str, str]) -> DaemonSettings:
    configured_socket = table.get("socket", str)
    socket_path = _path_env(env, "CHATD_SOCKET") or _path(configured_socket)
    max_frame = table.get("max_frame_bytes", int) or DEFAULT_MAX_FRAME_BYTES
    idle = table.get("idle_evict_s", float)
    log_level = table.get("log_level", str)
    log_level = log_level.lower() if log_level is not None else None
    if log_level not in (None, "debug", "info", "warning", "error"):
        raise ConfigError("daemon.log_level must be one of debug, info, warning, error")
    log_file = _path(table.get("log_file", str))
    table.reject_unknown()
    if max_frame < 1024:
        raise ConfigError("daemon.max_frame_bytes must be at least 1024")
    return DaemonSettings(
        socket_path=socket_path or default_socket_path(),
        max_frame_bytes=max_frame,
        idle_evict_s=DEFAULT_IDLE_EVICT_S if idle is None else idle,
        log_level=log_level,
        log_file=log_file,
    )


def _provider_settings(table: _Table, env: Mapping[str, str]) -> dict[str, ProviderSettings]:
    names = [kind for kind in PROVIDER_KINDS if kind != "openai-compatible"]
    names += [name for name in table.keys() if name not in names]
    providers = {}
    for name in names:
        settings = _one_provider(name, table.sub(name), env)
        if settings is not None:
            providers[name] = settings
    table.reject_unknown()
    return providers


def _one_provider(name: str, table: _Table, env: Mapping[str, str]) -> ProviderSettings | None:
    kind = table.get("kind", str) or name
    if kind not in PROVIDER_KINDS:
        raise ConfigError(
            f"providers.{name}: unknown kind {kind!r}; expected one of {', '.join(PROVIDER_KINDS)}"
        )
    api_key_env = table.get("api_key_env", str)
    explicit_key = table.get("api_key", str)
    named_key = env.get(api_key_env) if api_key_env else None
    key = explicit_key or named_key
    env_var = next((var for var in CONVENTIONAL_KEY_ENV.get(kind, ()) if env.get(var)), None)
    env_key = env[env_var] if env_var else None
    settings = ProviderSettings(
        name=name,
        kind=kind,
        model=table.get("model", str),
        base_url=table.get("base_url", str),
        api_key=Secret(key) if key else None,
        api_key_env=api_key_env,
        env_api_key=Secret(env_key) if env_key else None,
        api_key_source=("config" if explicit_key else api_key_env) if key else None,
        env_api_key_var=env_var,
        max_tokens=table.get("max_tokens", int),
        timeout_s=table.get("timeout_s", float),
        max_retries=table.get("max_retries", int),
        max_steps=table.get("max_steps", int) or DEFAULT_MAX_STEPS,
        command=table.get("command", str),
        thinking_budget=table.get("thinking_budget", int),
        delay_ms=_float_env(env, "CHATD_ECHO_DELAY_MS", 0.0) if kind == "echo" else 0.0,
    )
    table.reject_unknown()
    if kind == "openai-compatible" and not (settings.base_url and settings.model):
        raise ConfigError(
            f"providers.{name}: an openai-compatible provider needs base_url and model"
        )
    return settings


def _choose_default(configured: str | None, providers: Mapping[str, ProviderSettings]) -> str:
    if configured:
        if configured not in providers:
            raise ConfigError(
                f"default provider {configured!r} is not configured; "
                f"known providers: {', '.join(providers)}"
            )
        return configured
    for name in AUTO_DEFAULT_ORDER:
        if providers[name].has_key():
            return name
    return "echo"


def _path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def _path_env(env: Mapping[str, str], name: str) -> Path | None:
    return _path(env.get(name))


def _float_env(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
