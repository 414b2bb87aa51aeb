"""Images, audio and binary resources in a ``session/prompt`` reach the model as attachments,
checked by the core as ``chat/send``'s are; the model is Claude's wire API, played by the
fake provider server."""

from __future__ import annotations

import pytest
from acp import (
    RequestError,
    audio_block,
    embedded_blob_resource,
    image_block,
    resource_block,
    text_block,
)
from acp.schema import EmbeddedResourceContentBlock

from tests.acp.conftest import AcpEnv
from tests.acp.sdk_client import sdk_agent
from tests.fakes.media import PDF, PNG, WAV, ZIP, b64
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Reply

pytestmark = pytest.mark.anyio


def blob(data: bytes, mime_type: str, uri: str) -> EmbeddedResourceContentBlock:
    return resource_block(embedded_blob_resource(uri, b64(data), mime_type=mime_type))


async def test_claude_advertises_images_and_gets_them_with_pdfs_after_the_text(
    acp_env: AcpEnv, claude: FakeProviderServer
) -> None:
    claude.script(Reply(text="a dot and a paper"))
    async with sdk_agent(acp_env) as (connection, _):
        capabilities = (await connection.initialize(protocol_version=1)).agent_capabilities
        session = await connection.new_session(cwd=acp_env.cwd, mcp_servers=[])
        answer = await connection.prompt(
            session_id=session.session_id,
            prompt=[
                text_block("what are these?"),
                image_block(b64(PNG), "image/png", uri="file:///shots/dot.png"),
                blob(PDF, "application/pdf", "file:///papers/a.pdf"),
                blob(ZIP, "application/zip", "file:///a.zip"),
            ],
        )
    assert capabilities.prompt_capabilities.image is True
    assert capabilities.prompt_capabilities.audio is False
    assert answer.stop_reason == "end_turn"
    [user] = claude.bodies()[0]["messages"]
    text, image, document = user["content"]
    assert text["type"] == "text" and text["text"].startswith("what are these?")
    assert '<resource uri="file:///a.zip">(application/zip content not shown)' in text["text"]
    assert image["source"] == {"type": "base64", "media_type": "image/png", "data": b64(PNG)}
    assert document["source"]["media_type"] == "application/pdf"


async def test_media_the_provider_does_not_take_is_refused_naming_the_block(
    acp_env: AcpEnv, claude: FakeProviderServer
) -> None:
    claude.script(Reply(text="still here"))
    async with sdk_agent(acp_env) as (connection, _):
        session = await connection.new_session(cwd=acp_env.cwd, mcp_servers=[])
        with pytest.raises(RequestError) as refused:
            await connection.prompt(
                session_id=session.session_id,
                prompt=[text_block("listen"), audio_block(b64(WAV), "audio/wav")],
            )
        with pytest.raises(RequestError) as mislabelled:
            await connection.prompt(
                session_id=session.session_id,
                prompt=[image_block(b64(PDF), "image/png")],
            )
        again = await connection.prompt(session_id=session.session_id, prompt=[text_block("hi")])
    assert refused.value.code == -32602
    assert "prompt block 1" in str(refused.value) and "audio/wav" in str(refused.value)
    assert refused.value.data == {"reason": "media_unsupported", "field": "prompt", "index": 1}
    assert mislabelled.value.data["reason"] == "media_rejected"
    assert again.stop_reason == "end_turn"
    [only] = claude.bodies()  # the refused prompts reached neither the model nor the history
    assert [message["role"] for message in only["messages"]] == ["user"]


async def test_media_prompts_replay_after_a_restart(acp_env: AcpEnv) -> None:
    async with sdk_agent(acp_env) as (connection, client):
        session = await connection.new_session(cwd=acp_env.cwd, mcp_servers=[])
        alone = await connection.prompt(
            session_id=session.session_id, prompt=[image_block(b64(PNG), "image/png")]
        )
        await connection.prompt(
            session_id=session.session_id,
            prompt=[
                text_block("look"),
                image_block(b64(PNG), "image/png"),
                blob(PDF, "application/pdf", "file:///papers/a.pdf"),
            ],
        )
    assert alone.stop_reason == "end_turn"
    assert client.text("agent_message_chunk") == "[1] [2] look"
    async with sdk_agent(acp_env) as (connection, client):
        await connection.load_session(
            cwd=acp_env.cwd, session_id=session.session_id, mcp_servers=[]
        )
    first, first_reply, text, image, document, reply = (u.content for u in client.updates)
    assert (first.type, first_reply.text) == ("image", "[1] ")
    assert text.text == "look"
    assert (image.type, image.mime_type, image.data) == ("image", "image/png", b64(PNG))
    assert document.text == f"[attachment: a.pdf, application/pdf, {len(PDF)} bytes]"
    assert reply.text == "[2] look"
