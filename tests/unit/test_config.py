"""Settings: the file, the environment over it, and clear errors for every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatd.config import load_settings
from chatd.errors import ConfigError


def write(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return {"CHATD_CONFIG": str(path)}


def write_empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.toml"
    path.touch()
    return path


def test_defaults_without_a_file(tmp_path: Path) -> None:
    settings = load_settings(environ={"CHATD_CONFIG": str(write_empty(tmp_path))})
    assert settings.default_provider == "echo"
    assert settings.daemon.max_frame_bytes == 16 * 1024 * 1024
    assert settings.store.key is None
    assert set(settings.providers) >= {"claude", "openai", "gemini", "claude-local", "echo"}


def test_environment_beats_the_file(tmp_path: Path) -> None:
    env = write(
        tmp_path,
        'default_provider = "openai"\n[store]\ndir = "/from/file"\nkey_file = "/file.key"\n'
        '[daemon]\nsocket = "/file.sock"\n',
    )
    settings = load_settings(
        environ={
            **env,
            "CHATD_STORE_DIR": "/from/env",
            "CHATD_STORE_KEY_FILE": "/env.key",
            "CHATD_SOCKET": "/env.sock",
            "CHATD_PROVIDER": "echo",
        }
    )
    assert settings.store.dir == Path("/from/env")
    assert settings.store.key_file == Path("/env.key")
    assert settings.daemon.socket_path == Path("/env.sock")
    assert settings.default_provider == "echo"
    from_file = load_settings(environ=env)
    assert from_file.store.dir == Path("/from/file")
    assert from_file.daemon.socket_path == Path("/file.sock")
    assert from_file.default_provider == "openai"


def test_the_first_provider_with_a_key_is_the_default(tmp_path: Path) -> None:
    env = write(tmp_path, "")
    assert load_settings(environ={**env, "GEMINI_API_KEY": "g"}).default_provider == "gemini"
    both = {**env, "GEMINI_API_KEY": "g", "OPENAI_API_KEY": "o"}
    assert load_settings(environ=both).default_provider == "openai"


def test_named_openai_compatible_endpoints(tmp_path: Path) -> None:
    env = write(
        tmp_path,
        '[providers.ollama]\nkind = "openai-compatible"\nbase_url = "http://localhost:11434/v1"\n'
        'model = "llama3.2"\napi_key_env = "OLLAMA_KEY"\n',
    )
    settings = load_settings(environ={**env, "OLLAMA_KEY": "sk-very-secret"})
    ollama = settings.providers["ollama"]
    assert (ollama.kind, ollama.model) == ("openai-compatible", "llama3.2")
    assert ollama.api_key is not None and ollama.api_key.reveal() == "sk-very-secret"
    assert "sk-very-secret" not in repr(ollama)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[store\n", "not valid TOML"),
        ("[store]\ndirr = 'x'\n", "unknown setting dirr"),
        ("[daemon]\nmax_frame_bytes = 'big'\n", "max_frame_bytes must be a int"),
        ("[daemon]\nmax_frame_bytes = 10\n", "at least 1024"),
        ("[daemon]\nlog_level = 'loud'\n", "log_level"),
        ("default_provider = 'nope'\n", "default provider 'nope' is not configured"),
        ("[providers.x]\nkind = 'mystery'\n", "unknown kind 'mystery'"),
        ("[providers.x]\nkind = 'openai-compatible'\n", "needs base_url and model"),
        ("bogus = 1\n", "unknown setting bogus"),
    ],
)
def test_mistakes_are_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=write(tmp_path, text))


def test_empty_store_key_is_an_error_not_plaintext(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CHATD_STORE_KEY is set but empty"):
        load_settings(environ={**write(tmp_path, ""), "CHATD_STORE_KEY": " "})


def test_explicit_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(environ={"CHATD_CONFIG": str(tmp_path / "missing.toml")})
