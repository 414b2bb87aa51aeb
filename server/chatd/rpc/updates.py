"""``chat/update`` notification params for each core event."""

from __future__ import annotations

from typing import Any

from chatd.core.events import (
    StatusChanged,
    TextDelta,
    ThinkingDelta,
    ToolApprovalDecided,
    ToolCallRequested,
    ToolCallStarted,
    ToolResultReady,
    TurnEvent,
)


def update_params(session_id: str, seq: int, event: TurnEvent) -> dict[str, Any]:
    head: dict[str, Any] = {"sessionId": session_id, "seq": seq}
    match event:
        case TextDelta(text=text):
            return {**head, "kind": "text", "text": text}
        case ThinkingDelta(text=text):
            return {**head, "kind": "thinking", "text": text}
        case ToolCallStarted(call_id=call_id, name=name):
            return {**head, "kind": "tool_call", "phase": "start", "callId": call_id, "name": name}
        case ToolCallRequested(call_id=call_id, name=name, arguments=arguments):
            return {
                **head,
                "kind": "tool_call",
                "phase": "end",
                "callId": call_id,
                "name": name,
                "arguments": arguments,
            }
        case ToolResultReady(call_id=call_id, name=name, content=content, is_error=is_error):
            return {
                **head,
                "kind": "tool_result",
                "callId": call_id,
                "name": name,
                "content": content,
                "isError": is_error,
            }
        case ToolApprovalDecided(call_id=call_id, name=name, decision=decision):
            return {
                **head,
                "kind": "tool_approval",
                "callId": call_id,
                "name": name,
                "decision": decision,
            }
        case StatusChanged(state=state, detail=detail):
            return {**head, "kind": "status", "state": state, "detail": detail}
