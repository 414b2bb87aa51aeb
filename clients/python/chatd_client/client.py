"""The async client: one JSON-RPC connection to a daemon, over its socket or its stdio.

It imports neither ``chatd`` nor any provider SDK, so scripts stay light.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import subprocess
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from chatd_client.errors import ConnectionLost, RpcError
from chatd_client.framing import FrameParser, FramingError, encode_frame

NotificationHandler = Callable[[str, Any], None]
RequestHandler = Callable[[Any], Awaitable[Any]]
"""Answers a server→client request (``tool/call``, ``tool/approve``); raise ``RpcError``
to answer with an error."""

MAX_RESPONSE_BYTES = 256 * 1024 * 1024
"""The daemon answers with whole histories; a reply this large means a broken stream."""

STDERR_TAIL_LINES = 200
"""Lines of a spawned daemon's stderr kept for error messages and debugging."""

START_TIMEOUT_S = 10.0
"""How long ``connect_unix(start=True)`` waits for a daemon it launched to listen."""


def daemon_command(*args: str) -> list[str]:
    """The command line that runs the daemon from this same Python environment."""
    return [sys.executable, "-m", "chatd", *args]


class Client:
    """Send requests, receive responses and notifications; ``async with`` closes it."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        process: asyncio.subprocess.Process | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._process = process
        self._ids = itertools.count(1)
        self._pending: dict[int | str, asyncio.Future[Any]] = {}
        self._handlers: list[NotificationHandler] = []
        self._request_handlers: dict[str, RequestHandler] = {}
        self._serving: dict[Any, asyncio.Task[None]] = {}
        self._stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._tasks = [asyncio.create_task(self._read_loop())]
        if process is not None and process.stderr is not None:
            self._tasks.append(asyncio.create_task(self._drain_stderr(process.stderr)))
        self.closed = False

    @classmethod
    async def connect_unix(cls, path: str | Path, *, start: bool = False) -> Client:
        """Connect to a socket daemon; with ``start``, launch one in the background if none."""
        try:
            reader, writer = await asyncio.open_unix_connection(str(path), limit=2**20)
        except (FileNotFoundError, ConnectionRefusedError):
            if not start:
                raise
            reader, writer = await _start_socket_daemon(Path(path))
        return cls(reader, writer)

    @classmethod
    async def spawn_stdio(
        cls,
        *,
        command: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
    ) -> Client:
        """Run a private daemon as a child speaking over its stdin and stdout."""
        argv = list(command or daemon_command("serve", "--stdio"))
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            limit=2**20,
        )
        assert process.stdout is not None and process.stdin is not None
        return cls(process.stdout, process.stdin, process)

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def process(self) -> asyncio.subprocess.Process | None:
        return self._process

    def stderr_text(self) -> str:
        """The last lines a spawned daemon wrote to stderr."""
        return "".join(self._stderr_tail)

    def on_notification(self, handler: NotificationHandler) -> None:
        self._handlers.append(handler)

    def on_request(self, method: str, handler: RequestHandler) -> None:
        """Answer the daemon's ``method`` requests; a ``$/cancelRequest`` cancels the handler."""
        self._request_handlers[method] = handler

    async def request(self, method: str, params: Any = None) -> Any:
        """Send one request and wait for its result.

        :raises RpcError: the daemon answered with an error.
        :raises ConnectionLost: the connection closed first.
        """
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        try:
            await self.send_raw(encode_frame(message))
            return await future
        except asyncio.CancelledError:
            if not self.closed and not future.done():
                await self.notify("$/cancelRequest", {"id": request_id})
            raise
        finally:
            self._pending.pop(request_id, None)
            if future.done() and not future.cancelled():
                future.exception()  # a loss we raised otherwise is not "never retrieved"

    async def notify(self, method: str, params: Any = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        await self.send_raw(encode_frame(message))

    async def send_raw(self, data: bytes) -> None:
        """Write bytes as they are: tests use it to send malformed frames."""
        if self.closed:
            raise ConnectionLost("the connection to chatd is closed")
        self._writer.write(data)
        await self._writer.drain()

    async def initialize(self, client_name: str = "chatd_client") -> dict[str, Any]:
        from chatd_client import __version__

        params = {"clientInfo": {"name": client_name, "version": __version__}}
        result: dict[str, Any] = await self.request("initialize", params)
        return result

    async def chat_new(
        self,
        *,
        provider: str | None = None,
        model: str | None = None,
        system_prompt: str | None = None,
        title: str | None = None,
        metadata: dict[str, str] | None = None,
        ephemeral: bool | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        mcp_servers: Sequence[str] | None = None,
        workspace: str | None = None,
    ) -> dict[str, Any]:
        """``tools`` are specs this connection hosts (``Toolbox.specs()``)."""
        return await self._call(
            "chat/new",
            provider=provider,
            model=model,
            systemPrompt=system_prompt,
            title=title,
            metadata=metadata,
            ephemeral=ephemeral,
            tools=tools,
            mcpServers=mcp_servers,
            workspace=workspace,
        )

    async def chat_send(self, message: str, *, session_id: str | None = None) -> dict[str, Any]:
        """One turn; ``chat/update`` notifications reach ``on_notification`` handlers first."""
        return await self._call("chat/send", sessionId=session_id, message=message)

    async def chat_save(self, session_id: str, *, fork: bool = False) -> dict[str, Any]:
        return await self._call("chat/save", sessionId=session_id, fork=fork)

    async def chat_restore(
        self,
        snapshot_id: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        convert: bool | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        mcp_servers: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        return await self._call(
            "chat/restore",
            snapshotId=snapshot_id,
            provider=provider,
            model=model,
            convert=convert,
            tools=tools,
            mcpServers=mcp_servers,
        )

    async def chat_history(
        self, session_id: str, *, cursor: str | None = None, limit: int | None = None
    ) -> dict[str, Any]:
        return await self._call("chat/history", sessionId=session_id, cursor=cursor, limit=limit)

    async def chat_cancel(self, session_id: str) -> bool:
        return bool((await self._call("chat/cancel", sessionId=session_id))["cancelled"])

    async def chat_close(self, session_id: str) -> None:
        await self.request("chat/close", {"sessionId": session_id})

    async def store_list(
        self, *, limit: int | None = None, cursor: str | None = None, provider: str | None = None
    ) -> dict[str, Any]:
        return await self._call("store/list", limit=limit, cursor=cursor, provider=provider)

    async def store_delete(self, snapshot_id: str) -> None:
        await self.request("store/delete", {"snapshotId": snapshot_id})

    async def daemon_status(self) -> dict[str, Any]:
        return await self._call("daemon/status")

    async def daemon_stop(self) -> None:
        await self.request("daemon/stop")

    async def shutdown(self) -> None:
        """LSP-style: ``shutdown`` then ``exit``; a spawned daemon exits with status 0."""
        await self.request("shutdown")
        await self.notify("exit")

    async def _call(self, method: str, **params: Any) -> dict[str, Any]:
        given = {name: value for name, value in params.items() if value is not None}
        result: dict[str, Any] = await self.request(method, given)
        return result

    async def close(self) -> None:
        """Close the connection; a spawned daemon gets EOF, saves its sessions and exits."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(ConnectionError, RuntimeError):
            self._writer.close()
            await self._writer.wait_closed()
        if self._process is not None:
            try:
                await asyncio.wait_for(self._process.wait(), timeout=10)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._fail_pending("the connection to chatd was closed")

    async def _read_loop(self) -> None:
        parser = FrameParser(MAX_RESPONSE_BYTES)
        while chunk := await self._reader.read(2**16):
            parser.feed(chunk)
            while (event := parser.next_event()) is not None:
                if isinstance(event, FramingError):
                    continue
                self._dispatch(json.loads(event.body))
        self._fail_pending("chatd closed the connection" + self._stderr_hint())

    def _dispatch(self, message: Any) -> None:
        if not isinstance(message, dict):
            return
        if "method" in message:
            if "id" in message:
                self._serve(message["id"], message["method"], message.get("params"))
            elif message["method"] == "$/cancelRequest":
                self._cancel_serving(message.get("params"))
            else:
                for handler in self._handlers:
                    handler(message["method"], message.get("params"))
            return
        future = self._pending.get(message.get("id"))  # type: ignore[arg-type]
        if future is None or future.done():
            return
        if "error" in message:
            error = message["error"]
            future.set_exception(RpcError(error["code"], error["message"], error.get("data")))
        else:
            future.set_result(message.get("result"))

    def _serve(self, request_id: Any, method: str, params: Any) -> None:
        handler = self._request_handlers.get(method)
        if handler is None:
            error = {"code": -32601, "message": f"client does not handle {method}"}
            self._reply({"id": request_id, "error": error})
            return
        task = asyncio.create_task(self._answer(request_id, handler, params))
        self._serving[request_id] = task
        task.add_done_callback(lambda _: self._serving.pop(request_id, None))

    async def _answer(self, request_id: Any, handler: RequestHandler, params: Any) -> None:
        try:
            result = await handler(params)
        except RpcError as exc:
            error = {"code": exc.code, "message": exc.message, "data": exc.data}
            self._reply({"id": request_id, "error": error})
        except asyncio.CancelledError:
            self._reply({"id": request_id, "error": {"code": -32800, "message": "cancelled"}})
        else:
            self._reply({"id": request_id, "result": result})

    def _cancel_serving(self, params: Any) -> None:
        task = self._serving.get(params.get("id")) if isinstance(params, dict) else None
        if task is not None:
            task.cancel()

    def _reply(self, message: dict[str, Any]) -> None:
        if not self.closed:
            self._writer.write(encode_frame({"jsonrpc": "2.0", **message}))

    def _fail_pending(self, reason: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionLost(reason))

    def _stderr_hint(self) -> str:
        tail = self.stderr_text().strip().splitlines()[-3:]
        return (": " + " | ".join(tail)) if tail else ""

    async def _drain_stderr(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self._stderr_tail.append(line.decode(errors="replace"))


def _launch_detached(argv: list[str]) -> None:
    """Start the daemon in its own session, outliving us, with nothing on our terminal."""
    silent = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]
    os.posix_spawn(argv[0], argv, os.environ, file_actions=silent, setsid=True)


async def _start_socket_daemon(
    path: Path,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    argv = daemon_command("serve", "--socket", str(path), "--on-demand")
    await asyncio.to_thread(_launch_detached, argv)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            return await asyncio.open_unix_connection(str(path), limit=2**20)
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() > deadline:
                raise ConnectionLost(f"started chatd, but it did not listen on {path}") from None
            await asyncio.sleep(0.05)
