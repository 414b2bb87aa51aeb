"""Every attachment check, in the one place they run, before any network call."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chatd.core.attachments import (
    DOCUMENTS,
    IMAGES,
    AttachmentInput,
    prepare,
    sniff,
)
from chatd.errors import MediaRejected, MediaUnsupported
from tests.fakes.media import GIF, MP4, PDF, PNG, TYPES, ZIP, b64

CLAUDE = IMAGES | DOCUMENTS


def check(*inputs: AttachmentInput, accepted: frozenset[str] = CLAUDE, **options: object):  # type: ignore[no-untyped-def]
    values = {"provider": "claude", "accepted": accepted, "max_bytes": 4096, "roots": []}
    values.update(options)
    return prepare(list(inputs), **values)  # type: ignore[arg-type]


def data(raw: bytes, mime_type: str | None = None) -> AttachmentInput:
    return AttachmentInput(data=b64(raw), mime_type=mime_type, name="x")


@pytest.mark.parametrize(("kind", "raw"), list(TYPES.items()))
def test_types_are_sniffed_from_the_bytes(kind: str, raw: bytes) -> None:
    assert sniff(raw) == kind


def test_within_a_family_the_sniffed_type_wins() -> None:
    (checked,) = check(data(GIF, "image/png"))
    assert checked.mime_type == "image/gif" and checked.data == GIF


@pytest.mark.parametrize(
    ("attachment", "says"),
    [
        (data(PDF, "image/png"), "declared image/png but its bytes are application/pdf"),
        (data(ZIP), "not an allowed type"),
        (data(b""), "is empty"),
        (data(PNG + b"x" * 4096), "larger than the limit of 4096 bytes"),
        (AttachmentInput(data="not base64!"), "not base64"),
        (AttachmentInput(), "exactly one of path and data"),
    ],
)
def test_rejections_name_the_attachment(attachment: AttachmentInput, says: str) -> None:
    with pytest.raises(MediaRejected, match=says) as caught:
        check(data(PNG), attachment)
    assert type(caught.value) is MediaRejected
    assert caught.value.details() == {"field": "attachments", "index": 1}
    assert "attachment 1" in caught.value.message


def test_count_is_bounded() -> None:
    with pytest.raises(MediaRejected, match="at most 16"):
        check(*[data(PNG)] * 17)


def test_the_provider_must_take_the_type() -> None:
    with pytest.raises(MediaUnsupported, match="does not take video/mp4") as caught:
        check(data(PNG), data(MP4))
    assert caught.value.reason == "media_unsupported" and caught.value.index == 1
    with pytest.raises(MediaUnsupported, match="takes no attachments"):
        check(data(PNG), accepted=frozenset(), provider="claude-local")


def test_paths_are_read_only_under_the_allowed_roots(tmp_path: Path) -> None:
    workspace, outside = tmp_path / "ws", tmp_path / "outside"
    workspace.mkdir()
    outside.mkdir()
    (workspace / "shot.png").write_bytes(PNG)
    (outside / "secret.png").write_bytes(PNG)
    os.symlink(outside / "secret.png", workspace / "link.png")
    roots = [workspace]

    relative, absolute = check(
        AttachmentInput(path="shot.png"),
        AttachmentInput(path=str(workspace / "shot.png")),
        roots=roots,
    )
    assert relative.name == "shot.png" and absolute.data == PNG
    for escape in (str(outside / "secret.png"), "link.png", "../outside/secret.png"):
        with pytest.raises(MediaRejected, match="only under the session's workspace"):
            check(AttachmentInput(path=escape), roots=roots)
    with pytest.raises(MediaRejected, match="needs a workspace"):
        check(AttachmentInput(path="shot.png"))
    with pytest.raises(MediaRejected, match="cannot read"):
        check(AttachmentInput(path="missing.png"), roots=roots)
