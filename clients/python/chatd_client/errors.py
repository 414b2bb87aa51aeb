"""What a request to the daemon can fail with; kept apart so catching them loads no client."""

from __future__ import annotations

from typing import Any


class RpcError(Exception):
    """An error response from the daemon; ``data["reason"]`` says which, for programs."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.message = message
        self.data = data

    @property
    def reason(self) -> str | None:
        return self.data.get("reason") if isinstance(self.data, dict) else None


class ConnectionLost(Exception):
    """The daemon went away while a request was waiting for its answer."""
