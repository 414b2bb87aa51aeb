"""The one exception hierarchy of chatd.

Every expected failure is a ``ChatdError`` subclass named for the condition. Each class carries
a machine-readable ``reason`` (sent to clients as ``error.data.reason``) and a human-readable
message; ``details()`` adds structured fields. Only ``rpc/errors.py`` maps these to JSON-RPC
codes, and only the CLI turns them into exit statuses. Messages never contain secrets.

    ChatdError
    ├── ConfigError                 bad configuration file, setting or key source
    ├── StoreError
    │   ├── InvalidSnapshotId       not a canonical lowercase UUID, or escapes the store
    │   ├── SnapshotNotFound
    │   ├── DecryptionFailed        wrong key or tampered file
    │   │   ├── EncryptedWithoutKey  an encrypted file met a store without a key
    │   │   ├── NotEncrypted        a plaintext file met an encrypted store
    │   │   └── WrongKey            the store's key check names another key than ours
    │   ├── SnapshotUnreadable      the file exists but cannot be read (permissions, not a file)
    │   ├── CorruptSnapshot         unreadable JSON, wrong shape, id not matching file name
    │   │   └── MediaMissing        a media blob the snapshot refers to is not in the store
    │   ├── UnsupportedVersion      written by a newer chatd
    │   └── StoreConflict           saved over a revision someone else already replaced
    ├── SessionError
    │   ├── SessionNotFound
    │   └── SessionBusy             a turn is already running in that session
    ├── ProviderError
    │   ├── ProviderUnavailable     unknown provider, or its credentials are missing
    │   ├── ProviderMismatch        snapshot written by another provider
    │   ├── PersistenceUnsupported  provider keeps no state chatd can save
    │   ├── ProviderFailure         the provider's API failed (status, retryable, request id)
    │   └── InvalidAnswer           a chat/ask answer did not match its schema, twice
    └── InvalidParams               a request's parameters are wrong (names the field)
        ├── MediaRejected           an attachment is empty, too big, of no allowed type
        └── MediaUnsupported        the provider takes no attachments of that type
"""

from __future__ import annotations

from typing import Any, ClassVar


class ChatdError(Exception):
    """Root of every expected chatd failure."""

    reason: ClassVar[str] = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def details(self) -> dict[str, Any]:
        """Structured fields for clients, beside ``reason``; never secrets."""
        return {}


class ConfigError(ChatdError):
    reason = "invalid_config"


class StoreError(ChatdError):
    reason = "store_error"


class InvalidSnapshotId(StoreError):
    reason = "invalid_snapshot_id"


class SnapshotNotFound(StoreError):
    reason = "snapshot_not_found"

    def __init__(self, snapshot_id: str) -> None:
        super().__init__(f"no saved conversation with id {snapshot_id}")
        self.snapshot_id = snapshot_id

    def details(self) -> dict[str, Any]:
        return {"snapshotId": self.snapshot_id}


class DecryptionFailed(StoreError):
    reason = "decrypt_failed"


class EncryptedWithoutKey(DecryptionFailed):
    reason = "encrypted_no_key"


class NotEncrypted(DecryptionFailed):
    reason = "not_encrypted"


class WrongKey(DecryptionFailed):
    reason = "wrong_key"


class SnapshotUnreadable(StoreError):
    reason = "unreadable"


class CorruptSnapshot(StoreError):
    reason = "snapshot_corrupt"


class MediaMissing(CorruptSnapshot):
    reason = "media_missing"

    def __init__(self, message: str, *, digest: str) -> None:
        super().__init__(message)
        self.digest = digest

    def details(self) -> dict[str, Any]:
        return {"sha256": self.digest}


class UnsupportedVersion(StoreError):
    reason = "unsupported_version"

    def __init__(self, message: str, *, found: int, supported: int) -> None:
        super().__init__(message)
        self.found = found
        self.supported = supported

    def details(self) -> dict[str, Any]:
        return {"found": self.found, "supported": self.supported}


class StoreConflict(StoreError):
    reason = "store_conflict"

    def __init__(self, snapshot_id: str, *, expected: int, found: int) -> None:
        super().__init__(
            f"conversation {snapshot_id} was saved elsewhere (revision {found}, "
            f"this copy is based on revision {expected}); reload it before saving"
        )
        self.snapshot_id = snapshot_id
        self.expected = expected
        self.found = found

    def details(self) -> dict[str, Any]:
        return {"snapshotId": self.snapshot_id, "expected": self.expected, "found": self.found}


class SessionError(ChatdError):
    reason = "session_error"


class SessionNotFound(SessionError):
    reason = "session_not_found"

    def __init__(self, session_id: str) -> None:
        super().__init__(f"no live or saved session with id {session_id}")
        self.session_id = session_id

    def details(self) -> dict[str, Any]:
        return {"sessionId": self.session_id}


class SessionBusy(SessionError):
    reason = "session_busy"

    def __init__(self, session_id: str) -> None:
        super().__init__(
            f"session {session_id} is already running a turn; wait for it or cancel it"
        )
        self.session_id = session_id

    def details(self) -> dict[str, Any]:
        return {"sessionId": self.session_id}


class ProviderError(ChatdError):
    reason = "provider_error"


class ProviderUnavailable(ProviderError):
    reason = "provider_unavailable"

    def __init__(self, message: str, *, provider: str) -> None:
        super().__init__(message)
        self.provider = provider

    def details(self) -> dict[str, Any]:
        return {"provider": self.provider}


class ProviderMismatch(ProviderError):
    reason = "provider_mismatch"

    def __init__(self, *, snapshot_provider: str, provider: str) -> None:
        super().__init__(
            f"this conversation was written by provider {snapshot_provider!r}, not {provider!r}; "
            "restore it with its own provider, or pass convert: true to translate it"
        )
        self.snapshot_provider = snapshot_provider
        self.provider = provider

    def details(self) -> dict[str, Any]:
        return {"snapshotProvider": self.snapshot_provider, "provider": self.provider}


class PersistenceUnsupported(ProviderError):
    reason = "persistence_unsupported"

    def __init__(self, provider: str) -> None:
        super().__init__(
            f"provider {provider!r} keeps its conversation state outside chatd, "
            "so it cannot be saved or restored"
        )
        self.provider = provider

    def details(self) -> dict[str, Any]:
        return {"provider": self.provider}


class ProviderFailure(ProviderError):
    reason = "provider_error"

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        retryable: bool = False,
        request_id: str | None = None,
        cause: str | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status
        self.retryable = retryable
        self.request_id = request_id
        self.cause = cause
        """Without a status: ``network`` or ``timeout`` (what a fallback chain acts on)."""

    def details(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "provider": self.provider,
            "status": self.status,
            "retryable": self.retryable,
        }
        if self.request_id is not None:
            fields["requestId"] = self.request_id
        return fields


class InvalidAnswer(ProviderError):
    reason = "invalid_answer"

    def __init__(self, *, provider: str, errors: list[str]) -> None:
        super().__init__(
            f"{provider} did not answer with JSON matching the schema, even when asked again: "
            + "; ".join(errors[:3])
        )
        self.provider = provider
        self.errors = errors

    def details(self) -> dict[str, Any]:
        return {"provider": self.provider, "errors": self.errors}


class InvalidParams(ChatdError):
    reason = "invalid_params"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def details(self) -> dict[str, Any]:
        return {} if self.field is None else {"field": self.field}


class MediaRejected(InvalidParams):
    """Raised before any network call; ``index`` is the attachment's position."""

    reason = "media_rejected"

    def __init__(self, message: str, *, index: int | None = None) -> None:
        super().__init__(message, field="attachments")
        self.index = index

    def details(self) -> dict[str, Any]:
        found = super().details()
        return found if self.index is None else {**found, "index": self.index}


class MediaUnsupported(MediaRejected):
    reason = "media_unsupported"
