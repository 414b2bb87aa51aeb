"""Core values as wire JSON: camelCase keys, RFC 3339 times."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chatd.core.manager import Restored, history_page
from chatd.core.providers import ProviderInfo
from chatd.core.providers.base import TranscriptItem, Usage
from chatd.core.session import Session, TurnResult
from chatd.core.store.base import ListPage, SnapshotSummary

PROTOCOL_VERSION = 1


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def usage_json(usage: Usage) -> dict[str, int]:
    return {
        "inputTokens": usage.input_tokens,
        "outputTokens": usage.output_tokens,
        "cachedTokens": usage.cached_tokens,
        "reasoningTokens": usage.reasoning_tokens,
    }


def turn_json(result: TurnResult) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "sessionId": result.session.id,
        "text": result.outcome.text,
        "stopReason": result.outcome.stop_reason,
        "usage": usage_json(result.outcome.usage),
        "revision": result.session.revision,
    }
    if result.fallback is not None:
        moved = result.fallback
        answer["fallback"] = {"from": moved.source, "to": moved.target, "reason": moved.reason}
    if result.save_error is not None:
        error = result.save_error
        answer["saveError"] = {"reason": error.reason, "message": error.message}
    return answer


def session_json(session: Session) -> dict[str, Any]:
    model = session.conversation.model
    answer: dict[str, Any] = {
        "sessionId": session.id,
        "provider": session.provider.name,
        "model": model,
    }
    if len(session.fallback.providers) > 1:
        answer["fallback"] = session.fallback.as_json()
    return answer


def restore_json(restored: Restored, history_limit: int) -> dict[str, Any]:
    session = restored.session
    items = session.provider.transcript(session.conversation.history)
    page, cursor = history_page(items, None, history_limit)
    return {
        **session_json(session),
        "systemPrompt": session.conversation.system_prompt,
        "title": session.title,
        "messageCount": len(items),
        "history": [transcript_json(item) for item in page],
        "historyCursor": cursor,
        "warnings": restored.warnings,
    }


def provider_json(info: ProviderInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "kind": info.kind,
        "persistent": info.persistent,
        "streaming": info.streaming,
        "available": info.available,
    }


def transcript_json(item: TranscriptItem) -> dict[str, Any]:
    return {
        "role": item.role,
        "text": item.text,
        "attachments": [
            {"name": media.name, "mimeType": media.mime_type, "size": media.size}
            for media in item.attachments
        ],
        "toolCalls": [
            {"id": call.id, "name": call.name, "arguments": call.arguments}
            for call in item.tool_calls
        ],
        "toolResults": [
            {
                "callId": result.call_id,
                "name": result.name,
                "content": result.content,
                "isError": result.is_error,
            }
            for result in item.tool_results
        ],
    }


def summary_json(summary: SnapshotSummary) -> dict[str, Any]:
    return {
        "id": summary.id,
        "provider": summary.provider,
        "model": summary.model,
        "title": summary.title,
        "createdAt": rfc3339(summary.created_at),
        "updatedAt": rfc3339(summary.updated_at),
        "messageCount": summary.message_count,
        "metadata": summary.metadata,
        "revision": summary.revision,
    }


def store_page_json(page: ListPage) -> dict[str, Any]:
    return {
        "items": [summary_json(summary) for summary in page.items],
        "nextCursor": page.next_cursor,
        "problems": [
            {"file": problem.file, "reason": problem.reason, "message": problem.message}
            for problem in page.problems
        ],
    }
