"""``chat/ask``: a structured answer, in a module of its own beside the method table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chatd.core.answers import answer_format
from chatd.core.ask import AskOutcome
from chatd.core.attachments import AttachmentInput
from chatd.core.session import TurnResult
from chatd.rpc import params as p
from chatd.rpc.results import turn_json

if TYPE_CHECKING:
    from chatd.core.manager import SessionManager
    from chatd.rpc.server import Connection


@dataclass(frozen=True, kw_only=True)
class ChatAskParams:
    session_id: str | None = None
    message: str
    schema: Any
    schema_name: str | None = None
    record: bool = True
    attachments: tuple[AttachmentInput, ...] = ()


class AskMethods:
    manager: SessionManager
    connection: Connection

    async def chat_ask(self, params: Any) -> dict[str, Any]:
        """Ask for JSON matching ``schema``; the answer is validated, re-asked once if wrong."""
        args = p.structure(params, ChatAskParams)
        answer = answer_format(args.schema, args.schema_name)
        result = await self.manager.send(
            args.session_id,
            args.message,
            on_session=self.connection.attach,
            answer=answer,
            record=args.record,
            attachments=args.attachments,
        )
        return ask_json(result)


def ask_json(result: TurnResult) -> dict[str, Any]:
    outcome = result.outcome
    value = outcome.value if isinstance(outcome, AskOutcome) else None
    return {**turn_json(result), "value": value}
