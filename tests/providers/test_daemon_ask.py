"""``chat/ask`` through the real daemon over stdio: params, errors, record, restart."""

from __future__ import annotations

import json

import pytest

from chatd_client import RpcError
from tests.fakes.media import PNG, ZIP, b64
from tests.fakes.provider_server import FakeProviderServer, Reply
from tests.fakes.wire_checks import problems
from tests.integration.conftest import DaemonEnv
from tests.providers import wire
from tests.providers.test_ask import ALICE, PERSON, answer_reply
from tests.providers.test_daemon_providers import daemon_env, spawn  # noqa: F401

pytestmark = pytest.mark.anyio


async def test_an_invalid_schema_is_invalid_params_before_any_provider_call(
    daemon_env: DaemonEnv,  # noqa: F811
    fake_server: FakeProviderServer,
) -> None:
    client = await spawn(daemon_env)
    try:
        created = await client.request("chat/new", {"provider": "openai"})
        params = {"sessionId": created["sessionId"], "message": "q"}
        with pytest.raises(RpcError) as bad_type:
            await client.request("chat/ask", {**params, "schema": {"type": "no-such-type"}})
        with pytest.raises(RpcError) as not_object:
            await client.request("chat/ask", {**params, "schema": [1]})
        with pytest.raises(RpcError) as bad_name:
            await client.request("chat/ask", {**params, "schema": PERSON, "schemaName": "a b"})
        with pytest.raises(RpcError) as bad_media:
            attachments = [{"data": b64(PNG)}, {"data": b64(ZIP)}]
            await client.request(
                "chat/ask", {**params, "schema": PERSON, "attachments": attachments}
            )
    finally:
        await client.close()

    for failed, field in ((bad_type, "schema"), (not_object, "schema"), (bad_name, "schemaName")):
        assert failed.value.code == -32602
        assert failed.value.data == {"reason": "invalid_params", "field": field}
    assert bad_media.value.data == {"reason": "media_rejected", "field": "attachments", "index": 1}
    assert fake_server.requests == []


@pytest.mark.parametrize("kind", ["claude", "gemini"])
async def test_a_recorded_answer_survives_a_restart_and_a_failed_one_is_reported(
    kind: str,
    daemon_env: DaemonEnv,  # noqa: F811
    fake_server: FakeProviderServer,
) -> None:
    fake_server.script(answer_reply(kind, ALICE), Reply("nope"), Reply("still not json"))
    client = await spawn(daemon_env)
    try:
        created = await client.request("chat/new", {"provider": kind})
        session_id = created["sessionId"]
        params = {"sessionId": session_id, "message": "who?", "schema": PERSON}
        answer = await client.request("chat/ask", params)
        with pytest.raises(RpcError) as failed:
            await client.request("chat/ask", {**params, "message": "again?"})
    finally:
        await client.close()

    assert answer["value"] == ALICE and answer["revision"] == 1
    assert json.loads(answer["text"]) == ALICE
    assert failed.value.code == -32034
    assert failed.value.data["reason"] == "invalid_answer"
    assert failed.value.data["errors"] and failed.value.data["provider"] == kind

    fake_server.script(Reply("hello again"))
    client = await spawn(daemon_env)
    try:
        reply = await client.request("chat/send", {"sessionId": session_id, "message": "hi"})
    finally:
        await client.close()
    assert reply["text"] == "hello again"
    resumed = fake_server.requests[-1]
    assert wire.turns(resumed) == [
        ("user", "who?"),
        ("assistant", json.dumps(ALICE)),
        ("user", "hi"),
    ]
    assert problems(resumed) == []


async def test_echo_asks_without_recording_and_a_new_session_is_not_saved(
    daemon_env: DaemonEnv,  # noqa: F811
) -> None:
    client = await spawn(daemon_env)
    try:
        schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
        created = await client.request("chat/new", {"provider": "echo"})
        params = {"sessionId": created["sessionId"], "message": "q", "schema": schema}
        answer = await client.request("chat/ask", {**params, "record": False})
        page = await client.request("store/list")
        history = await client.request("chat/history", {"sessionId": answer["sessionId"]})
    finally:
        await client.close()

    assert answer["value"] == {"ok": True} and answer["revision"] == 0
    assert page["items"] == [] and history["items"] == []
