"""Remembered approval answers: ``allow_always`` / ``reject_always`` per (workspace, tool).

One small JSON file in the user's config directory, written atomically with mode 0600, so
the answers survive daemon restarts. Only the daemon writes it; reads are cached.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from chatd.errors import ConfigError

REMEMBERED = ("allow_always", "reject_always")
FILE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Policy:
    workspace: str
    tool: str
    decision: str


class PolicyStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._policies: dict[tuple[str, str], str] | None = None

    def lookup(self, workspace: str, tool: str) -> str | None:
        with self._lock:
            return self._load().get((workspace, tool))

    def remember(self, workspace: str, tool: str, decision: str) -> None:
        """:raises ConfigError: the file cannot be written."""
        if decision not in REMEMBERED:
            return
        with self._lock:
            policies = self._load()
            policies[(workspace, tool)] = decision
            self._write(policies)

    def revoke(self, workspace: str, tool: str) -> bool:
        """Whether there was a policy to revoke."""
        with self._lock:
            policies = self._load()
            if policies.pop((workspace, tool), None) is None:
                return False
            self._write(policies)
            return True

    def list(self, workspace: str | None = None) -> list[Policy]:
        with self._lock:
            return [
                Policy(where, tool, decision)
                for (where, tool), decision in sorted(self._load().items())
                if workspace is None or where == workspace
            ]

    def _load(self) -> dict[tuple[str, str], str]:
        if self._policies is None:
            self._policies = self._read()
        return self._policies

    def _read(self) -> dict[tuple[str, str], str]:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read tool policies {self.path}: {exc}") from None
        entries = document.get("policies", []) if isinstance(document, dict) else []
        return {
            (entry["workspace"], entry["tool"]): entry["decision"]
            for entry in entries
            if isinstance(entry, dict) and entry.get("decision") in REMEMBERED
        }

    def _write(self, policies: dict[tuple[str, str], str]) -> None:
        document = {
            "version": FILE_VERSION,
            "policies": [
                {"workspace": where, "tool": tool, "decision": decision}
                for (where, tool), decision in sorted(policies.items())
            ],
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".policies-")
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(document, file, indent=2)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except OSError as exc:
            raise ConfigError(f"cannot write tool policies {self.path}: {exc.strerror}") from None
