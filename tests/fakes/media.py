"""Small files of each attachment type: the magic numbers the daemon sniffs, then filler."""

from __future__ import annotations

import base64

FILLER = bytes(range(256)) * 4

PNG = b"\x89PNG\r\n\x1a\n" + FILLER
JPEG = b"\xff\xd8\xff\xe0" + FILLER
GIF = b"GIF89a" + FILLER
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + FILLER
PDF = b"%PDF-1.7\n" + FILLER
MP4 = b"\x00\x00\x00\x18ftypmp42" + FILLER
WAV = b"RIFF\x00\x00\x00\x00WAVEfmt " + FILLER
MP3 = b"ID3\x04\x00" + FILLER
OGG = b"OggS\x00\x02" + FILLER
ZIP = b"PK\x03\x04" + FILLER

TYPES = {
    "image/png": PNG,
    "image/jpeg": JPEG,
    "image/gif": GIF,
    "image/webp": WEBP,
    "application/pdf": PDF,
    "video/mp4": MP4,
    "audio/wav": WAV,
    "audio/mp3": MP3,
    "audio/ogg": OGG,
}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
