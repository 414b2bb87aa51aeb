"""Tool-call figures, each beside a baseline measured in the same run.

- ``tool/call`` round trip: a turn whose tool a script hosts over the socket, against the same
  turn with an in-process handler; the difference is what a client-hosted tool adds;
- MCP: the same turn calling a tool of an MCP server (``tests/fakes/mcp_server.py``, stdio)
  through the daemon, against the in-process turn, beside a direct ``mcp`` SDK client calling
  the same tool of the same server from this process.

The daemon runs as a child process with a scripted provider that asks for the session's tool
once per turn, so no network or SDK noise enters the figures. Samples of every kind are taken
in interleaved rounds, so a change of machine load hits all of them alike.

Usage: python bench/tool_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

from chatd_client import Client, Toolbox

ROOT = Path(__file__).resolve().parents[1]
MCP_SERVER = [sys.executable, "-m", "tests.fakes.mcp_server"]
ROUND = 20
"""Turns of one kind in a row before the next kind's."""


def serve(socket_path: str, config: str) -> None:
    """The daemon, with a provider that calls a tool, and one in-process tool."""
    import anyio

    from chatd.config import load_settings
    from chatd.core import providers
    from chatd.core.store.base import ToolSpec
    from chatd.core.tools import Tool, ToolRegistry
    from chatd.daemon import Daemon, configure_logging

    providers.ADAPTERS["echo"] = "tool_bench:CallingEcho"
    settings = load_settings(Path(config), {})
    configure_logging(settings)

    async def add(arguments: dict[str, Any]) -> str:
        return str(arguments["a"] + arguments["b"])

    async def run() -> int:
        daemon = Daemon(settings, Path(socket_path))
        daemon.manager.tooling.builtin = ToolRegistry([Tool(ToolSpec(name="local_add"), add)])
        return await daemon.run(stdio=False)

    anyio.run(run, backend="asyncio")


def calling_echo_class() -> Any:
    from chatd.core.providers.base import StepResult, ToolCall
    from chatd.core.providers.echo import EchoProvider

    class CallingEcho(EchoProvider):
        """Calls the tool its session's system prompt names after a user message, then ends."""

        kind: ClassVar[str] = "echo"
        calls = 0

        async def step(self, conversation: Any, emit: Any) -> Any:
            if conversation.history[-1]["role"] != "user":
                return StepResult([self.assistant_message("done")], "done", "end_turn")
            CallingEcho.calls += 1
            name = conversation.system_prompt
            call = ToolCall(f"call_{CallingEcho.calls}", name, {"a": 2, "b": 3})
            message = {"role": "assistant", "content": f"calling {name}"}
            return StepResult([message], "", "tool_use", tool_calls=(call,))

    return CallingEcho


def __getattr__(name: str) -> Any:
    if name == "CallingEcho":
        return calling_echo_class()
    raise AttributeError(name)


async def turns(client: Client, session_id: str, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        await client.request("chat/send", {"sessionId": session_id, "message": "go"})
        samples.append(time.perf_counter() - start)
    return samples


@contextlib.asynccontextmanager
async def direct_mcp_session() -> AsyncIterator[Any]:
    """The same MCP server, called with the ``mcp`` SDK straight from this process."""
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    parameters = StdioServerParameters(command=MCP_SERVER[0], args=MCP_SERVER[1:], cwd=ROOT)
    async with stdio_client(parameters) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


async def direct_calls(session: Any, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        await session.call_tool("add", {"a": 2, "b": 3})
        samples.append(time.perf_counter() - start)
    return samples


async def measure(socket_path: Path, count: int) -> dict[str, list[float]]:
    client = await Client.connect_unix(socket_path)
    await client.initialize("tool-bench")
    toolbox = Toolbox()

    @toolbox.tool
    def hosted_add(a: int, b: int) -> str:
        """Add, in the script."""
        return str(a + b)

    toolbox.serve(client)
    sessions = {}
    for name, extra in (
        ("local_add", {}),
        ("hosted_add", {"tools": toolbox.specs()}),
        ("calc__add", {"mcpServers": ["calc"]}),
    ):
        params = {"provider": "echo", "systemPrompt": name, "ephemeral": True, **extra}
        sessions[name] = (await client.request("chat/new", params))["sessionId"]
        await turns(client, sessions[name], 5)  # warm: imports, the MCP server's start
    samples: dict[str, list[float]] = {name: [] for name in [*sessions, "direct"]}
    async with direct_mcp_session() as mcp_session:
        await direct_calls(mcp_session, 5)
        for _ in range(count // ROUND):
            for name, session_id in sessions.items():
                samples[name] += await turns(client, session_id, ROUND)
            samples["direct"] += await direct_calls(mcp_session, ROUND)
    await client.request("daemon/stop")
    await client.close()
    return samples


def start_daemon(socket_path: Path, config: Path) -> subprocess.Popen[bytes]:
    daemon = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(socket_path), str(config)],
        cwd=ROOT / "bench",
        env={"PYTHONPATH": f"{ROOT / 'bench'}:{ROOT}", "PATH": "/usr/bin:/bin"},
        stderr=subprocess.DEVNULL,
    )
    while not socket_path.exists():
        time.sleep(0.02)
    return daemon


async def main(quick: bool) -> None:
    work = Path(tempfile.mkdtemp(prefix="chatd-toolbench-", dir="/tmp"))
    socket_path = work / "chatd.sock"
    config = work / "config.toml"
    args = ", ".join(f'"{arg}"' for arg in MCP_SERVER[1:])
    config.write_text(
        f'[store]\ndir = "{work / "store"}"\n'
        f'[mcp.servers.calc]\ncommand = "{MCP_SERVER[0]}"\nargs = [{args}]\ncwd = "{ROOT}"\n'
    )
    daemon = start_daemon(socket_path, config)
    try:
        samples = await measure(socket_path, 60 if quick else 300)
    finally:
        daemon.wait(timeout=30)
    ms = 1000.0
    local, hosted, via_mcp, direct = (
        statistics.median(samples[name]) * ms
        for name in ("local_add", "hosted_add", "calc__add", "direct")
    )
    hosted_added, mcp_added = hosted - local, via_mcp - local
    print(f"turns of one tool call each ({len(samples['local_add'])} per kind):")
    print(f"  in-process handler            p50 {local:.3f} ms")
    print(f"  client-hosted over the socket p50 {hosted:.3f} ms  (+{hosted_added:.3f} ms)")
    print(f"  MCP tool through the daemon   p50 {via_mcp:.3f} ms  (+{mcp_added:.3f} ms)")
    print(f"  direct mcp SDK call_tool      p50 {direct:.3f} ms")
    print(
        "RESULT "
        f"inprocess_turn_p50_ms={local:.3f} hosted_turn_p50_ms={hosted:.3f} "
        f"tool_call_added_p50_ms={hosted_added:.3f} mcp_turn_p50_ms={via_mcp:.3f} "
        f"mcp_added_p50_ms={mcp_added:.3f} mcp_direct_p50_ms={direct:.3f} "
        f"mcp_vs_direct={mcp_added / direct:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer turns")
    parser.add_argument("--serve", nargs=2, metavar=("SOCKET", "CONFIG"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        serve(*options.serve)
    else:
        asyncio.run(main(options.quick))
