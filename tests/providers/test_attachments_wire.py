"""Attachments in each API's own format, through the real SDKs to the fake server."""

from __future__ import annotations

from typing import Any

import pytest

from chatd.core.attachments import Attachment, AttachmentInput, prepare
from chatd.core.providers.base import Provider
from chatd.core.turns import Turn
from chatd.errors import MediaUnsupported
from tests.fakes.media import GIF, JPEG, MP3, MP4, OGG, PDF, PNG, WAV, WEBP, b64
from tests.fakes.provider_server import FakeProviderServer, Recorded, Reply
from tests.fakes.wire_checks import problems
from tests.providers import wire
from tests.providers.conftest import HTTP_KINDS, new_chat

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("kind", HTTP_KINDS)]

PICTURE = Attachment(PNG, "image/png", "shot.png")
PAPER = Attachment(PDF, "application/pdf", "paper.pdf")


def user_content(request: Recorded) -> Any:
    body = request.body
    if request.wire == "gemini":
        return body["contents"][0]["parts"]
    return next(m for m in body["messages"] if m["role"] == "user")["content"]


def inline(part: dict[str, Any]) -> tuple[str, bytes]:
    """The SDK writes ``mime_type`` (Google's JSON parser takes either spelling)."""
    blob = part["inlineData"]
    return blob.get("mimeType") or blob["mime_type"], wire._b64(blob["data"])


async def send(provider: Provider, attachments: list[Attachment]) -> Any:
    chat = new_chat(provider)
    turn = Turn(provider, chat.conversation, chat.tools, chat._record, max_steps=2)
    await turn.run("What is this?", attachments)
    return chat


async def test_images_and_pdfs_go_out_in_the_apis_format_after_the_text(
    kind: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    provider = make_provider(kind)
    fake_server.script(Reply("a picture and a paper"))

    chat = await send(provider, [PICTURE, PAPER])

    request = fake_server.requests[0]
    content = user_content(request)
    if kind == "claude":
        assert content == [
            {"type": "text", "text": "What is this?"},
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": b64(PNG)},
            },
            {
                "type": "document",
                "source": {"type": "base64", "media_type": "application/pdf", "data": b64(PDF)},
            },
        ]
    elif kind.startswith("openai"):
        assert content == [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64," + b64(PNG)}},
            {
                "type": "file",
                "file": {
                    "filename": "paper.pdf",
                    "file_data": "data:application/pdf;base64," + b64(PDF),
                },
            },
        ]
    else:  # the SDK sends bytes URL-safe base64, which the API takes
        assert content[0] == {"text": "What is this?"}
        assert [inline(part) for part in content[1:]] == [
            ("image/png", PNG),
            ("application/pdf", PDF),
        ]
    assert problems(request) == []
    (item, _) = provider.transcript(chat.conversation.history)
    assert [(media.mime_type, media.size) for media in item.attachments] == [
        ("image/png", len(PNG)),
        ("application/pdf", len(PDF)),
    ]
    assert provider.media_types >= {"image/png", "application/pdf"}
    assert ("video/mp4" in provider.media_types) == (kind == "gemini")


IMAGES = {"image/png": PNG, "image/jpeg": JPEG, "image/gif": GIF, "image/webp": WEBP}


@pytest.mark.parametrize("mime_type", sorted(IMAGES))
async def test_every_image_type_goes_out_as_its_sniffed_type(
    kind: str, mime_type: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    """Declared as another image type, the bytes' own type is what the API is told."""
    provider = make_provider(kind)
    data = IMAGES[mime_type]
    wrong = next(other for other in sorted(IMAGES) if other != mime_type)
    (checked,) = prepare(
        [AttachmentInput(data=b64(data), mime_type=wrong)],
        provider=kind,
        accepted=provider.media_types,
        max_bytes=1 << 20,
        roots=[],
    )
    fake_server.script(Reply("an image"))

    await send(provider, [checked])

    request = fake_server.requests[0]
    part = user_content(request)[1]
    if kind == "claude":
        assert part["source"] == {"type": "base64", "media_type": mime_type, "data": b64(data)}
    elif kind.startswith("openai"):
        assert part["image_url"] == {"url": f"data:{mime_type};base64,{b64(data)}"}
    else:
        assert inline(part) == (mime_type, data)
    assert problems(request) == []


AUDIO_VIDEO = {"video/mp4": MP4, "audio/wav": WAV, "audio/mp3": MP3, "audio/ogg": OGG}


@pytest.mark.parametrize(
    ("mime_type", "declared"),
    [(t, t) for t in AUDIO_VIDEO]
    + [("audio/wav", "audio/wave"), ("audio/mp3", "audio/mpeg"), ("audio/ogg", "audio/x-ogg")],
)
async def test_gemini_takes_audio_and_video_inline_under_its_own_names(
    kind: str, mime_type: str, declared: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    provider = make_provider(kind)
    item = AttachmentInput(data=b64(AUDIO_VIDEO[mime_type]), mime_type=declared)
    limits = {"accepted": provider.media_types, "max_bytes": 1 << 20, "roots": []}
    if kind != "gemini":
        with pytest.raises(MediaUnsupported):
            prepare([item], provider=kind, **limits)
        return
    (checked,) = prepare([item], provider=kind, **limits)
    fake_server.script(Reply("a recording"))
    await send(provider, [checked])
    assert inline(user_content(fake_server.requests[0])[1]) == (mime_type, AUDIO_VIDEO[mime_type])


async def test_a_conversion_carries_the_attachments_the_target_takes(
    kind: str, make_provider: Any
) -> None:
    source = make_provider("gemini")
    history = [
        source.user_message("look", [PICTURE, Attachment(MP4, "video/mp4")]),
        source.assistant_message("a picture and a video"),
    ]
    target = make_provider(kind)
    items = source.transcript(history)

    converted, warnings = target.from_transcript(items, "")

    kept = target.transcript(converted)[0].attachments
    assert (kept[0].mime_type, kept[0].size) == ("image/png", len(PNG))
    if kind == "gemini":
        assert warnings == [] and [media.mime_type for media in kept[1:]] == ["video/mp4"]
    else:
        assert warnings == [f"{kind} does not take video/mp4: dropped 1 attachment"]
        assert len(kept) == 1
    assert all(not item.omitted for item in items)


async def test_an_echo_conversation_carries_its_images_over(kind: str, make_provider: Any) -> None:
    source, target = make_provider("echo"), make_provider(kind)
    history = [source.user_message("look", [PICTURE]), source.assistant_message("[1] look")]

    converted, warnings = target.from_transcript(source.transcript(history), "")

    [kept] = target.transcript(converted)[0].attachments
    assert warnings == []
    assert (kept.mime_type, kept.size, kept.data) == ("image/png", len(PNG), b64(PNG))
