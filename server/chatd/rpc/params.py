"""Request parameters as frozen dataclasses, checked strictly by one cattrs converter.

Wire names are camelCase (``sessionId``); unknown keys are ignored, so newer clients work
with older daemons. A wrong type is never coerced ("5" is not an int): the error names the
field, as ``-32602`` with ``data.field``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, TypeVar

import cattrs
from cattrs.gen import make_dict_structure_fn, override

from chatd.core.store.base import ToolSpec
from chatd.errors import InvalidParams

MAX_PAGE = 200
"""Page sizes above this would put whole stores or histories into one frame."""

DEFAULT_PAGE = 50

Params = TypeVar("Params")


@dataclass(frozen=True, kw_only=True)
class ClientInfo:
    name: str
    version: str | None = None


@dataclass(frozen=True, kw_only=True)
class InitializeParams:
    client_info: ClientInfo | None = None
    capabilities: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class ChatNewParams:
    provider: str | None = None
    model: str | None = None
    system_prompt: str = ""
    title: str | None = None
    metadata: dict[str, str] | None = None
    ephemeral: bool = False
    tools: list[ToolSpec] | None = None
    mcp_servers: list[str] | None = None
    workspace: str | None = None


@dataclass(frozen=True, kw_only=True)
class ChatSendParams:
    session_id: str | None = None
    message: str


@dataclass(frozen=True, kw_only=True)
class ChatSaveParams:
    session_id: str
    fork: bool = False


@dataclass(frozen=True, kw_only=True)
class ChatRestoreParams:
    snapshot_id: str
    provider: str | None = None
    model: str | None = None
    convert: bool = False
    history_limit: int = DEFAULT_PAGE
    tools: list[ToolSpec] | None = None
    mcp_servers: list[str] | None = None


@dataclass(frozen=True, kw_only=True)
class ChatHistoryParams:
    session_id: str
    cursor: str | None = None
    limit: int = DEFAULT_PAGE


@dataclass(frozen=True, kw_only=True)
class SessionParams:
    """``chat/cancel`` and ``chat/close``."""

    session_id: str


@dataclass(frozen=True, kw_only=True)
class StoreListParams:
    limit: int = DEFAULT_PAGE
    cursor: str | None = None
    provider: str | None = None


@dataclass(frozen=True, kw_only=True)
class StoreDeleteParams:
    snapshot_id: str


def as_kwargs(args: Any) -> dict[str, Any]:
    """A params dataclass as keyword arguments for the core call of the same names."""
    return {f.name: getattr(args, f.name) for f in fields(args)}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _strict(kind: type[Any]) -> Any:
    def structure(value: Any, _: Any) -> Any:
        if type(value) is not kind:
            raise TypeError(f"expected {kind.__name__}")
        return value

    return structure


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=False)
    for kind in (str, int, bool):
        converter.register_structure_hook(kind, _strict(kind))

    def camel_case_fields(cls: Any) -> Any:
        renames: dict[str, Any] = {f.name: override(rename=_camel(f.name)) for f in fields(cls)}
        return make_dict_structure_fn(cls, converter, **renames)

    converter.register_structure_hook_factory(is_dataclass, camel_case_fields)
    return converter


_converter = _make_converter()
_PATH_NAME = re.compile(r"\$\.(\w+)")


def structure(params: Any, cls: type[Params]) -> Params:
    """:raises InvalidParams: naming the first wrong field."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise InvalidParams("params must be a JSON object", field="params")
    try:
        value = _converter.structure(params, cls)
    except cattrs.ClassValidationError as exc:
        problems = [
            _PATH_NAME.sub(lambda m: "$." + _camel(m[1]), p) for p in cattrs.transform_error(exc)
        ]
        field = _PATH_NAME.search(problems[0])
        raise InvalidParams(
            "invalid params: " + "; ".join(problems), field=field[1] if field else None
        ) from None
    _check_limits(value)
    return value


def _check_limits(value: Any) -> None:
    for name in ("limit", "history_limit"):
        limit = getattr(value, name, None)
        if limit is not None and not 1 <= limit <= MAX_PAGE:
            raise InvalidParams(
                f"invalid params: {_camel(name)} must be between 1 and {MAX_PAGE}",
                field=_camel(name),
            )
