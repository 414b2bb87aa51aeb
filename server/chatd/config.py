"""Settings: read once from the TOML file and the environment, then passed down frozen.

This is the only module that reads the environment or the configuration file. Precedence,
highest first: environment variables, the config file, built-in defaults. Every setting is
documented in docs/configuration.md.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from chatd.config_file import Table, float_env, parse_toml, path_env, path_value, read_file
from chatd.errors import ConfigError
from chatd.fingerprint import settings_fingerprint

if TYPE_CHECKING:
    from chatd.mcp_settings import McpSettings

APP_NAME = "chatd"

DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024
"""A conversation with images fits; a runaway or hostile client cannot make us buffer more."""

DEFAULT_IDLE_EVICT_S = 600.0
"""Ten minutes without a turn: the session is saved already, so memory can be given back."""

DEFAULT_ATTACHMENT_BYTES = 20 * 1024 * 1024
"""Per attachment: about what the APIs take inline."""

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

SETTINGS_ENV = (
    "CHATD_STORE_DIR",
    "CHATD_STORE_KEY",
    "CHATD_STORE_KEY_FILE",
    "CHATD_SOCKET",
    "CHATD_PROVIDER",
    "CHATD_ECHO_DELAY_MS",
)
"""The CHATD_* variables the daemon's settings read, but CHATD_CONFIG: the file's content counts,
not where it was found. CHATD_MODEL is the CLI's alone."""


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
class AttachmentSettings:
    max_bytes: int = DEFAULT_ATTACHMENT_BYTES
    allowed_dirs: tuple[Path, ...] = ()
    """Where ``{path}`` attachments may be read, beside the session's workspace."""


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

    def usable(self) -> bool:
        """Whether it can answer as configured: it has a key, or its kind needs none."""
        return self.kind not in CONVENTIONAL_KEY_ENV or self.has_key()


@dataclass(frozen=True, kw_only=True)
class Settings:
    store: StoreSettings
    daemon: DaemonSettings
    providers: Mapping[str, ProviderSettings]
    default_provider: str
    config_path: Path | None = None
    fallback: tuple[str, ...] = ()
    """``[fallback] providers``: the chain of sessions whose provider is its first entry."""
    attachments: AttachmentSettings = AttachmentSettings()
    mcp: McpSettings | None = None
    policy_file: Path | None = None
    """Remembered tool approvals, beside the config file (the user config dir by default)."""
    fingerprint: Mapping[str, str] = field(default_factory=dict)
    """Digests of the inputs read (``chatd.fingerprint``): what a running daemon started with."""


def export_config_path(path: Path) -> None:
    """Name ``path`` in CHATD_CONFIG, so a daemon this process starts reads the same file."""
    os.environ["CHATD_CONFIG"] = str(path.absolute())


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
    explicit = config_path or path_env(env, "CHATD_CONFIG")
    path = explicit or default_config_path()
    content = read_file(path, required=explicit is not None)
    document = parse_toml(path, content)
    table = Table(document, str(path) if document else "defaults")

    store = _store_settings(table.sub("store"), env)
    daemon = _daemon_settings(table.sub("daemon"), env)
    providers = _provider_settings(table.sub("providers"), env)
    configured_default = table.get("default_provider", str)
    fallback = _fallback_chain(table.sub("fallback"), providers)
    attachments = _attachment_settings(table.sub("attachments"))
    from chatd.mcp_settings import mcp_settings  # it needs Secret from this module

    mcp = mcp_settings(table.get("mcp", dict) or {})
    default = env.get("CHATD_PROVIDER") or configured_default
    table.reject_unknown()
    read_vars = [*SETTINGS_ENV, *(v for p in providers.values() for v in p.key_variables())]
    return Settings(
        store=store,
        daemon=daemon,
        providers=providers,
        default_provider=_choose_default(default, providers),
        config_path=path if document else None,
        fallback=fallback,
        attachments=attachments,
        fingerprint=settings_fingerprint(content, env, read_vars),
        mcp=mcp,
        policy_file=path.parent / "tool-policies.json",
    )


def _store_settings(table: Table, env: Mapping[str, str]) -> StoreSettings:
    configured_dir, configured_key_file = table.get("dir", str), table.get("key_file", str)
    directory = path_env(env, "CHATD_STORE_DIR") or path_value(configured_dir)
    key_file = path_env(env, "CHATD_STORE_KEY_FILE") or path_value(configured_key_file)
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


def _daemon_settings(table: Table, env: Mapping[str, str]) -> DaemonSettings:
    configured_socket = table.get("socket", str)
    socket_path = path_env(env, "CHATD_SOCKET") or path_value(configured_socket)
    max_frame = table.get("max_frame_bytes", int) or DEFAULT_MAX_FRAME_BYTES
    idle = table.get("idle_evict_s", float)
    log_level = table.get("log_level", str)
    log_level = log_level.lower() if log_level is not None else None
    if log_level not in (None, "debug", "info", "warning", "error"):
        raise ConfigError("daemon.log_level must be one of debug, info, warning, error")
    log_file = path_value(table.get("log_file", str))
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


def _provider_settings(table: Table, env: Mapping[str, str]) -> dict[str, ProviderSettings]:
    names = [kind for kind in PROVIDER_KINDS if kind != "openai-compatible"]
    names += [name for name in table.keys() if name not in names]
    providers = {}
    for name in names:
        settings = _one_provider(name, table.sub(name), env)
        if settings is not None:
            providers[name] = settings
    table.reject_unknown()
    return providers


def _one_provider(name: str, table: Table, env: Mapping[str, str]) -> ProviderSettings | None:
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
        delay_ms=float_env(env, "CHATD_ECHO_DELAY_MS", 0.0) if kind == "echo" else 0.0,
    )
    table.reject_unknown()
    if kind == "openai-compatible" and not (settings.base_url and settings.model):
        raise ConfigError(
            f"providers.{name}: an openai-compatible provider needs base_url and model"
        )
    return settings


def _fallback_chain(table: Table, providers: Mapping[str, ProviderSettings]) -> tuple[str, ...]:
    names = table.get("providers", list) or []
    table.reject_unknown()
    for name in names:
        if not isinstance(name, str) or name not in providers:
            raise ConfigError(
                f"fallback.providers: {name!r} is not a configured provider; "
                f"known providers: {', '.join(providers)}"
            )
    return tuple(dict.fromkeys(names))


def _attachment_settings(table: Table) -> AttachmentSettings:
    max_bytes = table.get("max_bytes", int) or DEFAULT_ATTACHMENT_BYTES
    dirs = table.get("allowed_dirs", list) or []
    table.reject_unknown()
    if not all(isinstance(item, str) and item for item in dirs):
        raise ConfigError("attachments.allowed_dirs must be a list of directory paths")
    if max_bytes < 1:
        raise ConfigError("attachments.max_bytes must be positive")
    return AttachmentSettings(
        max_bytes=max_bytes, allowed_dirs=tuple(Path(item).expanduser() for item in dirs)
    )


def _choose_default(configured: str | None, providers: Mapping[str, ProviderSettings]) -> str:
    if configured:
        if configured not in providers:
            raise ConfigError(
                f"default provider {configured!r} is not configured; "
                f"configured providers: {', '.join(n for n, p in providers.items() if p.usable())}"
            )
        return configured
    for name in AUTO_DEFAULT_ORDER:
        if providers[name].has_key():
            return name
    return "echo"
