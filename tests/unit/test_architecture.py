"""The layering rules of ARCHITECTURE.md, checked on the source, not trusted."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import chatd
import chatd_client

SERVER = Path(chatd.__file__).parent
CLIENT = Path(chatd_client.__file__).parent
SDKS = ("anthropic", "openai", "google.genai", "google")
MAX_MODULE_LINES = 400
MAX_HANDLER_LINES = 15


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


def test_core_knows_nothing_of_rpc_transport_or_pygls() -> None:
    for path in modules(SERVER / "core"):
        for name in imports_of(path):
            forbidden = ("chatd.rpc", "chatd.transport", "chatd.acp", "acp", "pygls", "lsprotocol")
            assert not name.startswith(forbidden), (
                path,
                name,
            )


def test_only_a_provider_adapter_imports_its_sdk() -> None:
    for path in modules(SERVER) + modules(CLIENT):
        for name in imports_of(path):
            if name.split(".")[0] in ("anthropic", "openai") or name.startswith("google"):
                assert path.parent == SERVER / "core" / "providers", (path, name)


def test_client_library_imports_neither_chatd_nor_an_sdk() -> None:
    for path in modules(CLIENT):
        for name in imports_of(path):
            assert name.split(".")[0] not in ("chatd", "anthropic", "openai", "google"), (
                path,
                name,
            )


def test_client_public_surface_is_pinned() -> None:
    assert sorted(chatd_client.__all__) == [
        "Client",
        "ConnectionLost",
        "RpcError",
        "SyncClient",
        "ToolError",
        "Toolbox",
        "__version__",
        "daemon_command",
        "encode_frame",
    ]


def test_modules_stay_small() -> None:
    for path in modules(SERVER) + modules(CLIENT):
        lines = len(path.read_text().splitlines())
        assert lines <= MAX_MODULE_LINES, f"{path} has {lines} lines"


def test_only_config_reads_the_environment() -> None:
    for path in modules(SERVER):
        if path.name == "config.py":
            continue
        text = path.read_text()
        assert "os.environ" not in text and "getenv" not in text, path


def test_rpc_and_acp_handlers_are_thin() -> None:
    for module in ("rpc/methods.py", "rpc/tool_methods.py", "acp/methods.py"):
        assert_thin(ast.parse((SERVER / module).read_text()))


def assert_thin(tree: ast.Module) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            assert length <= MAX_HANDLER_LINES, f"{node.name} has {length} lines"


def test_acp_start_up_loads_neither_pygls_nor_the_acp_schema() -> None:
    probe = (
        "import sys, chatd.cli.main, chatd.acp.agent;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pygls', 'lsprotocol', 'pydantic', 'acp', 'anthropic', 'openai')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"


def test_start_up_imports_no_sdk() -> None:
    probe = (
        "import sys, chatd.cli.main, chatd.rpc.server, chatd.daemon;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('anthropic', 'openai') or m.startswith('google.genai')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
