"""The ``[mcp]`` settings: servers by command or URL, defaults, and secrets kept secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatd.config import load_settings
from chatd.errors import ConfigError


def test_servers_defaults_and_the_policy_file_beside_the_config(tmp_path: Path) -> None:
    settings = load_settings(
        _write(
            tmp_path,
            '[mcp]\ndefault_servers = ["files"]\n'
            '[mcp.servers.files]\ncommand = "files-mcp"\nargs = ["--root", "/srv"]\n'
            'env = { TOKEN = "s3cret" }\n'
            '[mcp.servers.remote]\nurl = "http://127.0.0.1:9000/mcp"\n',
        ),
        {},
    )
    assert settings.mcp is not None
    files = settings.mcp.servers["files"]
    assert files.args == ("--root", "/srv") and files.env["TOKEN"].reveal() == "s3cret"
    assert "s3cret" not in repr(settings)
    assert settings.mcp.default_servers == ("files",)
    assert settings.policy_file == tmp_path / "tool-policies.json"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[mcp.servers.a]\nurl = "http://example.com/mcp"\n', "loopback"),
        ('[mcp.servers.a]\ncommand = "x"\nurl = "https://example.com"\n', "exactly one"),
        ('[mcp.servers.a__b]\ncommand = "x"\n', "single _"),
        ('[mcp]\ndefault_servers = ["nope"]\n', "not configured"),
        ('[mcp.servers.a]\ncommand = "x"\nshell = true\n', "unknown setting shell"),
    ],
)
def test_bad_mcp_settings_are_config_errors(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_settings(_write(tmp_path, text), {})


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path
