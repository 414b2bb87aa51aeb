"""Gemini history as REST JSON: serialising parts, matching responses to calls, repairs.

Kept apart from the adapter because none of it needs the SDK at run time: these functions
work on the camelCase ``Content`` dicts stored in history and snapshots.
"""

from __future__ import annotations

import base64
import enum
from typing import TYPE_CHECKING, Any

from chatd.core.providers import transcript
from chatd.core.providers.base import ToolCall, ToolResult
from chatd.core.providers.transcript import IMAGE_PLACEHOLDER, INTERRUPTED_RESULT, result_text

if TYPE_CHECKING:
    from google.genai import types

SYNTHETIC_ID_PREFIX = "chatd-call-"
"""Gemini calls often have no id; ours are never sent back to the API."""


def jsonable(value: Any) -> Any:
    """SDK model dump → REST JSON: bytes as standard base64 (not pydantic's url-safe form)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value


def content_json(content: types.Content) -> dict[str, Any]:
    data: dict[str, Any] = jsonable(
        content.model_dump(mode="python", by_alias=True, exclude_none=True)
    )
    return data


def response_part(call_id: str, name: str, content: str, is_error: bool) -> dict[str, Any]:
    response: dict[str, Any] = {
        "name": name,
        "response": {"error" if is_error else "output": content},
    }
    if not call_id.startswith(SYNTHETIC_ID_PREFIX):
        response["id"] = call_id
    return {"functionResponse": response}


def transcript_result(response: dict[str, Any], pending: list[ToolCall]) -> ToolResult:
    """Match a response to its call: by id when Gemini gave one, else the next of that name."""
    call = next(
        (call for call in pending if response.get("id") and call.id == response["id"]), None
    )
    call = call or next((call for call in pending if call.name == response.get("name")), None)
    if call is not None:
        pending.remove(call)
    payload = response.get("response") or {}
    is_error = "error" in payload and not ({"output", "result"} & set(payload))
    value = (
        payload.get("error") if is_error else payload.get("output", payload.get("result", payload))
    )
    name = str(response.get("name", ""))
    return ToolResult(
        call.id if call else response.get("id") or name, name, result_text(value), is_error
    )


def _answers(response: dict[str, Any], call: dict[str, Any]) -> bool:
    if call.get("id") and response.get("id"):
        return bool(call["id"] == response["id"])
    return bool(call.get("name") == response.get("name"))


def visible_text(part: dict[str, Any]) -> str:
    if "text" in part and not part.get("thought"):
        return str(part["text"])
    if "inlineData" in part or "fileData" in part:
        return IMAGE_PLACEHOLDER
    return ""


OMITTED_PART_FIELDS = {
    "executableCode": "executable code part",
    "codeExecutionResult": "code execution result",
}
"""Server-side code execution, which no other provider can replay."""


def omitted_parts(part: dict[str, Any]) -> tuple[str, ...]:
    """What the neutral transcript leaves out of ``part``, for the conversion warnings."""
    omitted: tuple[str, ...] = ("thinking block",) if part.get("thought") else ()
    omitted += tuple(name for field, name in OMITTED_PART_FIELDS.items() if field in part)
    media = part.get("inlineData") or part.get("fileData")
    if isinstance(media, dict):
        omitted += ("image" if str(media.get("mimeType", "")).startswith("image/") else "file",)
    return omitted + (("signature",) if part.get("thoughtSignature") else ())


def alternating(history: list[Any]) -> list[Any]:
    """Merge consecutive contents of one role: a cancelled turn can leave two user turns."""
    merged: list[Any] = []
    for content in history:
        if merged and merged[-1].get("role") == content.get("role"):
            merged[-1] = {**merged[-1], "parts": [*merged[-1]["parts"], *content["parts"]]}
        else:
            merged.append(content)
    return merged


def close_dangling(history: list[Any]) -> list[Any]:
    """Answer every functionCall the next user content leaves unanswered."""
    return transcript.close_dangling(
        history,
        user_role="user",
        key="parts",
        items=lambda content: list(content["parts"]),
        calls=_function_calls,
        missing=_missing_responses,
    )


def _function_calls(content: dict[str, Any]) -> list[dict[str, Any]]:
    if content.get("role") != "model":
        return []
    return [part["functionCall"] for part in content["parts"] if "functionCall" in part]


def _missing_responses(calls: list[dict[str, Any]], answer: list[dict[str, Any]]) -> list[Any]:
    missing = list(calls)
    for part in answer:
        response = part.get("functionResponse")
        match = next((call for call in missing if response and _answers(response, call)), None)
        if match is not None:
            missing.remove(match)
    return [
        response_part(
            call.get("id") or SYNTHETIC_ID_PREFIX, call.get("name", ""), INTERRUPTED_RESULT, True
        )
        for call in missing
    ]
