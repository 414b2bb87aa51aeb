"""Hosting tools from a script: a registry whose functions answer the daemon's ``tool/call``.

    toolbox = Toolbox()

    @toolbox.tool
    async def weather(city: str, days: int = 1) -> str:
        "The forecast for a city."
        return "sunny"

    toolbox.serve(client, approve=ask_the_user)
    await client.chat_new(tools=toolbox.specs())

The JSON Schema comes from the type hints (``str``, ``int``, ``float``, ``bool``, ``list[T]``,
``dict``, ``X | None``); a parameter with a default is optional. A handler may be sync or
async and may return a string or any JSON value; raising ``ToolError`` (or anything else)
answers with ``isError`` true and the exception's text.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from chatd_client.client import Client
from chatd_client.errors import RpcError

Decision = Literal["allow_once", "allow_always", "reject_once", "reject_always"]
ApprovalCallback = Callable[[Mapping[str, Any]], Awaitable[Decision]]
"""Gets the ``tool/approve`` params (``name``, ``arguments`` …), returns a decision."""

INVALID_PARAMS = -32602

_JSON_TYPES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    dict: "object",
    list: "array",
}


class ToolError(Exception):
    """Raise in a handler to give the model an error result with this message."""


@dataclass(frozen=True)
class HostedTool:
    name: str
    description: str
    parameters: dict[str, Any]
    handler: Callable[..., Any]
    approval: str = "auto"
    timeout_ms: int | None = None

    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
            "approval": self.approval,
        }
        if self.timeout_ms is not None:
            spec["timeoutMs"] = self.timeout_ms
        return spec


class Toolbox:
    def __init__(self) -> None:
        self.tools: dict[str, HostedTool] = {}

    def tool(
        self,
        function: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        parameters: dict[str, Any] | None = None,
        approval: str = "auto",
        timeout_ms: int | None = None,
    ) -> Any:
        """Register ``function`` (usable bare, ``@toolbox.tool``, or with options)."""

        def register(target: Callable[..., Any]) -> Callable[..., Any]:
            hosted = HostedTool(
                name=name or target.__name__,
                description=description or inspect.getdoc(target) or "",
                parameters=parameters or schema_from_hints(target),
                handler=target,
                approval=approval,
                timeout_ms=timeout_ms,
            )
            self.tools[hosted.name] = hosted
            return target

        return register(function) if function is not None else register

    def specs(self) -> list[dict[str, Any]]:
        return [tool.spec() for tool in self.tools.values()]

    def serve(self, client: Client, *, approve: ApprovalCallback | None = None) -> None:
        """Answer ``tool/call`` (and ``tool/approve`` when ``approve`` is given) on ``client``."""
        client.on_request("tool/call", self.call)
        if approve is not None:

            async def answer(params: Any) -> dict[str, Any]:
                return {"decision": await approve(params)}

            client.on_request("tool/approve", answer)

    async def call(self, params: Any) -> dict[str, Any]:
        """One ``tool/call``: the handler's result, or its failure as ``isError``."""
        tool = self.tools.get(str(params.get("name"))) if isinstance(params, dict) else None
        if tool is None:
            raise RpcError(INVALID_PARAMS, "this client hosts no such tool")
        try:
            result = tool.handler(**params.get("arguments", {}))
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:  # the tool's failure is the model's information
            return {"content": str(exc) or type(exc).__name__, "isError": True}
        return {"content": result}


def schema_from_hints(function: Callable[..., Any]) -> dict[str, Any]:
    """A JSON Schema object for ``function``'s keyword parameters."""
    hints = typing.get_type_hints(function)
    properties: dict[str, Any] = {}
    required = []
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        properties[parameter.name] = _schema(hints.get(parameter.name, Any))
        if parameter.default is parameter.empty:
            required.append(parameter.name)
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _schema(hint: Any) -> dict[str, Any]:
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in get_args(hint) if arg is not type(None)]
        return _schema(options[0]) if len(options) == 1 else {}
    if origin is Literal:
        return {"enum": list(get_args(hint))}
    if origin is list:
        args = get_args(hint)
        return {"type": "array", "items": _schema(args[0])} if args else {"type": "array"}
    if origin is dict:
        return {"type": "object"}
    json_type = _JSON_TYPES.get(hint)
    return {"type": json_type} if json_type else {}
