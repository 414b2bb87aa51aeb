"""Turn events as ACP updates, each checked against the SDK's ``SessionNotification`` model."""

from __future__ import annotations

import json
from typing import Any

from acp.schema import SessionNotification

from chatd.acp.framing import update_line
from chatd.acp.listing import _decode, _encode
from chatd.acp.updates import LiveUpdates, attachment_chunk, tool_kind
from chatd.core.attachments import MediaInfo
from chatd.core.events import (
    StatusChanged,
    ThinkingDelta,
    ToolCallRequested,
    ToolCallStarted,
    ToolResultReady,
)


def checked(update: dict[str, Any]) -> Any:
    params = {"sessionId": "s", "update": update}
    notification = SessionNotification.model_validate(params)
    assert notification.model_dump(by_alias=True, exclude_none=True) == params
    return notification.update


def test_a_tool_call_goes_pending_in_progress_completed() -> None:
    live = LiveUpdates()
    started = live.of(ToolCallStarted("c1", "read_file"))
    running = live.of(ToolCallRequested("c1", "read_file", {"path": "/w/a"}))
    done = live.of(ToolResultReady("c1", "read_file", "text", is_error=False))
    statuses = [checked(update).status for update in started + running + done]
    assert statuses == ["pending", "in_progress", "completed"]
    assert checked(started[0]).kind == "read"
    assert checked(done[0]).raw_output == {"content": "text", "isError": False}


def test_a_call_never_announced_is_created_with_its_input() -> None:
    updates = LiveUpdates().of(ToolCallRequested("c2", "run_shell", {"cmd": "ls"}))
    created, running = (checked(update) for update in updates)
    assert (created.session_update, created.kind, created.raw_input) == (
        "tool_call",
        "execute",
        {"cmd": "ls"},
    )
    assert running.status == "in_progress"


def test_thinking_is_a_thought_chunk_and_status_is_not_an_update() -> None:
    live = LiveUpdates()
    assert checked(live.of(ThinkingDelta("hmm"))[0]).session_update == "agent_thought_chunk"
    assert live.of(StatusChanged("idle")) == []


def test_tool_kinds_by_name() -> None:
    names = ["delete_file", "rename", "edit", "grep", "web_fetch", "bash", "think", "calculator"]
    kinds = ["delete", "move", "edit", "search", "fetch", "execute", "think", "other"]
    assert [tool_kind(name) for name in names] == kinds


def test_list_cursors_round_trip() -> None:
    assert _decode(_encode("0123-abc", 7)) == ("0123-abc", 7)
    assert _decode(_encode(None, 0)) == (None, 0)


def test_text_lines_are_the_json_of_their_update() -> None:
    for text in ["plain", 'quote " back\\slash', "new\nline\ttab \x00", "é ✓ 🙂", "</script>"]:
        update = {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": text}}
        line = update_line("s-1", update)
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        assert json.loads(line) == {
            "jsonrpc": "2.0",
            "method": "session/update",
            "params": {"sessionId": "s-1", "update": update},
        }


def test_replayed_attachments_are_image_audio_or_a_named_line() -> None:
    image = checked(attachment_chunk(MediaInfo("image/png", 3, "dot.png", "AAAA")))
    audio = checked(attachment_chunk(MediaInfo("audio/wav", 3, None, "AAAA")))
    other = checked(attachment_chunk(MediaInfo("application/pdf", 1024, "a.pdf", "AAAA")))
    assert (image.content.type, image.content.mime_type, image.content.data) == (
        "image",
        "image/png",
        "AAAA",
    )
    assert audio.content.type == "audio"
    assert other.content.text == "[attachment: a.pdf, application/pdf, 1024 bytes]"
