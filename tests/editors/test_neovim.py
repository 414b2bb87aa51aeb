"""chatd.nvim in a real headless Neovim, against the real daemon (echo provider).

Neovim listens on a socket; each step is one ``nvim --server … --remote-expr`` call, the way a
user's keystrokes would reach it. The plugin starts ``chatd serve --stdio --shared`` itself
(the default ``cmd``, found on PATH), which starts the socket daemon.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chatd_client import SyncClient
from tests.conftest import IN_CI
from tests.editors.conftest import publish
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Call, Reply
from tests.integration.conftest import DaemonEnv
from tests.providers import wire

NVIM = shutil.which("nvim")
PLUGIN = Path(__file__).parents[2] / "editors" / "neovim"

pytestmark = pytest.mark.skipif(
    NVIM is None and not IN_CI, reason="nvim is not installed (apt-get install neovim)"
)

INIT = """
vim.opt.runtimepath:prepend(%(plugin)s)
require("chatd").setup({ open = "current", history_limit = 2 })
-- The tests answer the pickers: vim.g.chatd_pick is the index chosen, vim.g.chatd_input the text.
vim.ui.select = function(items, _, on_choice)
  local index = vim.g.chatd_pick or 1
  on_choice(items[index], index)
end
vim.ui.input = function(_, on_confirm)
  on_confirm(vim.g.chatd_input or "")
end
"""

CHAT_LINES = "vim.api.nvim_buf_get_lines(require('chatd.view').current().buf, 0, -1, false)"


class Neovim:
    """Neovim with the plugin, driven over its server socket.

    With tmux, it runs as a real terminal UI in a private tmux server (so the screen can be
    captured); without, headless.
    """

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.address = str(root / "nvim.sock")
        init = root / "init.lua"
        init.write_text(INIT % {"plugin": json.dumps(str(PLUGIN))})
        self.env = env
        argv = [str(NVIM), "-u", str(init), "-i", "NONE", "--listen", self.address]
        self.tmux = shutil.which("tmux")
        if self.tmux is not None:
            self.tmux_socket = str(root / "tmux.sock")
            conf = root / "tmux.conf"
            conf.write_text('set -g default-terminal "screen-256color"\n')
            tmux = [self.tmux, "-S", self.tmux_socket, "-f", str(conf), "new-session", "-d"]
            self.process = subprocess.Popen([*tmux, "-x", "100", "-y", "34", *argv], env=env)
            self.process.wait(20)
        else:
            self.process = subprocess.Popen(
                [*argv, "--headless"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        wait_for(lambda: Path(self.address).exists(), "nvim to listen")

    def screen(self) -> str:
        """What the terminal shows (tmux only)."""
        assert self.tmux is not None
        return subprocess.run(
            [self.tmux, "-S", self.tmux_socket, "capture-pane", "-e", "-p", "-t", "0"],
            capture_output=True,
            text=True,
            check=True,
            timeout=20,
        ).stdout

    def expr(self, expression: str) -> str:
        done = subprocess.run(
            [
                str(NVIM),
                "--clean",
                "--headless",
                "--server",
                self.address,
                "--remote-expr",
                expression,
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return done.stdout + done.stderr  # a headless client prints the value on stderr

    def lua(self, code: str) -> Any:
        """The JSON value of a Lua expression evaluated inside Neovim."""
        return json.loads(self.expr(f"json_encode(luaeval({json.dumps(code)}))"))

    def command(self, command: str) -> None:
        self.expr(f"execute({json.dumps(command)})")

    def rpc(self, method: str, *args: Any) -> Any:
        """A call of an API function from a second nvim, as msgpack-RPC.

        The fast ones (``nvim_get_mode``, ``nvim_input``) answer while Neovim waits at a
        prompt, where ``--remote-expr`` would wait with it.
        """
        code = (
            f"local channel = vim.fn.sockconnect('pipe', {json.dumps(self.address)}, "
            "{rpc = true}) "
            f"local args = vim.json.decode({json.dumps(json.dumps(args))}) "
            "io.stdout:write(vim.json.encode("
            f"vim.rpcrequest(channel, {json.dumps(method)}, unpack(args))))"
        )
        done = subprocess.run(
            [str(NVIM), "--clean", "--headless", "-c", f"lua {code}", "-c", "qa!"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return json.loads(done.stdout)

    def chat(self) -> list[str]:
        lines: list[str] = self.lua(CHAT_LINES)
        return lines

    def chat_text(self) -> str:
        return "\n".join(self.chat())

    def wait_chat(self, predicate: Callable[[str], bool], what: str) -> str:
        wait_for(lambda: predicate(self.chat_text()), what, lambda: self.chat_text())
        return self.chat_text()

    def quit(self) -> None:
        if Path(self.address).exists():
            self.expr("execute('qa!')")
        if self.tmux is not None:
            subprocess.run(  # gone already if nvim quit: its session was the only one
                [self.tmux, "-S", self.tmux_socket, "kill-server"], stderr=subprocess.DEVNULL
            )
        elif self.process.poll() is None:
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_for(
    condition: Callable[[], bool],
    what: str,
    state: Callable[[], str] = lambda: "",
    within: float = 30,
) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {state()}"
        time.sleep(0.05)


@pytest.fixture
def nvim(daemon_env: DaemonEnv, tmp_path: Path) -> Iterator[Neovim]:
    home = tmp_path / "home"
    env = daemon_env.env(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CACHE_HOME=str(home / "cache"),
        CHATD_ECHO_DELAY_MS="400",  # a reply takes 1.2 s: time to see it stream, to kill, to cancel
    )
    editor = Neovim(tmp_path, env)
    try:
        yield editor
    finally:
        editor.quit()
        stop_daemon(daemon_env)


def stop_daemon(daemon_env: DaemonEnv) -> None:
    if daemon_env.accepts_connections():
        with SyncClient.connect_unix(daemon_env.socket) as client:
            client.initialize("pytest")
            client.request("daemon/stop")


def kill_daemon(daemon_env: DaemonEnv) -> None:
    """``kill -9`` of the daemon the plugin's forwarder started."""
    pid = int((daemon_env.socket.parent / "chatd.sock.lock").read_text())
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not daemon_env.accepts_connections(), "the daemon to die")


def saved_ids(daemon_env: DaemonEnv) -> list[str]:
    with SyncClient.connect_unix(daemon_env.socket) as client:
        client.initialize("pytest")
        return [item["id"] for item in client.request("store/list", {})["items"]]


def test_new_send_stream_resume_after_kill_cancel_delete(
    nvim: Neovim, daemon_env: DaemonEnv
) -> None:
    nvim.command("ChatdNew")
    wait_for(lambda: nvim.lua("vim.b.chatd_session_id") is not None, "a chat buffer")
    session = nvim.lua("vim.b.chatd_session_id")
    assert nvim.lua("vim.bo.filetype") == "chatd"
    assert nvim.chat()[0].startswith("chatd · echo/echo-1 · tokens in 0 out 0")

    nvim.command("ChatdSend hello there")
    partial = nvim.wait_chat(lambda text: "[1] " in text, "the first delta")
    assert "[1] hello there" not in partial  # the reply streams in: it is not there in one piece
    nvim.wait_chat(lambda text: "[1] hello there" in text and "[running]" not in text, "reply")
    assert "tokens in 11 out 15" in nvim.chat()[0]
    nvim.command("ChatdSend again")
    nvim.wait_chat(lambda text: "[2] again" in text and "[running]" not in text, "second reply")
    chat_buffer = nvim.lua("vim.api.nvim_get_current_buf()")

    kill_daemon(daemon_env)
    wait_for(lambda: not nvim.lua("require('chatd.client').status().running"), "the exit")
    nvim.command("ChatdResume")  # the picker chooses the newest: this conversation
    text = nvim.wait_chat(lambda text: OLDER in text, "the restored history")
    assert nvim.lua("vim.api.nvim_get_current_buf()") == chat_buffer  # the same chat buffer
    assert "[2] again" in text and "hello there" not in text  # the newest page only
    nvim.command("ChatdHistory")
    text = nvim.wait_chat(lambda text: "[1] hello there" in text, "the older page")
    assert text.index("[1] hello there") < text.index("[2] again")
    nvim.command("ChatdSend three")
    nvim.wait_chat(lambda text: "[3] three" in text and "[running]" not in text, "third reply")

    nvim.command("ChatdSend four")
    nvim.wait_chat(lambda text: "## You\nfour\n\n## Assistant\n[4" in text, "its start")
    kill_daemon(daemon_env)  # mid-turn
    nvim.wait_chat(lambda text: "[error]" in text and "chatd exited" in text, "the error")
    nvim.command("ChatdSend five")  # reconnects, starting the daemon, in the same buffer
    nvim.wait_chat(lambda text: "[4] five" in text and "[running]" not in text, "fifth reply")
    assert nvim.lua("vim.b.chatd_session_id") == session

    nvim.command("ChatdSend " + "a long message " * 8)
    nvim.wait_chat(lambda text: "## Assistant\n[5] a long" in text, "a turn under way")
    nvim.command("ChatdCancel")
    nvim.wait_chat(lambda text: "[cancelled]" in text, "the cancelled turn")

    render_screenshot(nvim)
    assert session in saved_ids(daemon_env)
    nvim.command("ChatdDelete")
    nvim.wait_chat(lambda text: "[deleted" in text, "the deletion")
    assert session not in saved_ids(daemon_env)


OLDER = "(older messages: :ChatdHistory)"


def test_new_with_a_chosen_provider_and_a_range(nvim: Neovim, daemon_env: DaemonEnv) -> None:
    nvim.lua("vim.api.nvim_buf_set_lines(0, 0, -1, false, {'def f():', '    return 1'}) or 0")
    source = nvim.lua("vim.api.nvim_get_current_buf()")
    nvim.command("let g:chatd_input = 'echo-2'")
    nvim.command("ChatdNew!")  # the picker offers the available providers: only echo here
    wait_for(lambda: nvim.lua("vim.b.chatd_session_id") is not None, "a chat buffer")
    assert "echo/echo-2" in nvim.chat()[0]
    nvim.lua(f"vim.api.nvim_set_current_buf({source}) or 0")
    nvim.command("1,2ChatdSend explain")
    text = nvim.wait_chat(lambda text: "[running]" not in text and "[1] " in text, "reply")
    assert "## You\nexplain\n\ndef f():\n    return 1" in text
    assert "[1] explain\n\ndef f():\n    return 1" in text


def test_a_session_file_brings_the_chats_back_after_neovim_restarts(
    nvim: Neovim, daemon_env: DaemonEnv, tmp_path: Path
) -> None:
    nvim.command("ChatdNew")
    wait_for(lambda: nvim.lua("vim.b.chatd_session_id") is not None, "a chat buffer")
    session = nvim.lua("vim.b.chatd_session_id")
    nvim.command("ChatdSend one")
    nvim.wait_chat(lambda text: "[1] one" in text and "[running]" not in text, "the reply")
    session_file = tmp_path / "Session.vim"
    nvim.command(f"mksession! {session_file}")
    nvim.quit()

    again = Neovim(tmp_path, nvim.env)  # a new Neovim, and a new editor session from the file
    try:
        again.command(f"source {session_file}")
        assert again.lua(f"vim.fn.bufexists('chatd://{session}')") == 1
        again.command(f"buffer chatd://{session}")
        bound = 'vim.b.chatd_session_id or ""'
        wait_for(lambda: again.lua(bound) == session, "the conversation restored")
        text = again.wait_chat(lambda text: "[1] one" in text, "the conversation")
        assert again.lua("vim.bo.filetype") == "chatd"
        again.command("ChatdSend two")
        again.wait_chat(lambda text: "[2] two" in text and "[running]" not in text, "a turn")
    finally:
        again.quit()
    assert "## You\none" in text


def test_checkhealth(nvim: Neovim) -> None:
    nvim.command("checkhealth chatd")
    report = "\n".join(nvim.lua("vim.api.nvim_buf_get_lines(0, 0, -1, false)"))
    assert "OK" in report and "chatd serve --stdio --shared" in report
    assert "the first :Chatd command starts chatd" in report
    assert "tools for the model: read_buffer, list_workspace_files, open_file" in report


def render_screenshot(nvim: Neovim) -> None:
    """The chat buffer as the terminal shows it: the tmux pane, colours included, as a PNG."""
    if nvim.tmux is None:
        assert not IN_CI, "CI installs tmux for the screenshot"
        return
    from tests.editors.screenshot import render

    render(nvim.screen(), nvim.root / "neovim.png")
    publish(nvim.root / "neovim.png")


UPDATES = [
    {"kind": "status", "state": "running"},
    {"kind": "thinking", "text": "Let me "},
    {"kind": "thinking", "text": "look.\nAt a.py"},
    {"kind": "tool_call", "phase": "start", "callId": "c1", "name": "read_file"},
    {"kind": "tool_call", "phase": "end", "callId": "c1", "name": "read_file",
     "arguments": {"path": "a.py"}},
    {"kind": "tool_result", "callId": "c1", "name": "read_file", "content": "x = 1\n",
     "isError": False},
    {"kind": "text", "text": "It sets "},
    {"kind": "text", "text": "x."},
    {"kind": "status", "state": "idle", "detail": "end_turn"},
]  # fmt: skip


def test_thinking_is_folded_and_tool_calls_are_shown(nvim: Neovim) -> None:
    """The rendering of each kind of ``chat/update``, fed to the chat buffer as they arrive."""
    nvim.lua(
        "require('chatd.view').create({sessionId = 's-1', provider = 'claude', model = 'm'}, "
        "'current') and 0"
    )
    nvim.lua("require('chatd.view').begin_turn(require('chatd.view').current(), 'explain') and 0")
    for update in UPDATES:
        params = json.dumps({"sessionId": "s-1", "seq": 0, **update})
        nvim.lua(f"require('chatd.view').on_update(vim.json.decode({json.dumps(params)})) or 0")
    lines = nvim.chat()
    start = lines.index("▸ thinking {{{")
    assert lines[start : start + 4] == ["▸ thinking {{{", "Let me look.", "At a.py", "}}}"]
    assert lines[start + 4 :] == [
        '⚙ read_file({"path":"a.py"})',
        "↳ read_file: x = 1⏎",
        "",
        "It sets x.",
    ]
    assert nvim.lua(f"vim.fn.foldclosed({start + 1})") == start + 1  # folded
    assert "[running]" not in lines[0] and "claude/m" in lines[0]


CLIENT_TOOL_TURNS = [
    Reply(
        "Let me look.",
        calls=[
            Call("read_buffer", {}, id="c1"),
            Call("read_buffer", {"buffer": "notes.txt"}, id="c2"),
            Call("read_buffer", {"buffer": "gone.txt"}, id="c3"),
            Call("list_workspace_files", {}, id="c4"),
        ],
    ),
    Reply("Opening it.", calls=[Call("open_file", {"path": "notes.txt", "line": 2}, id="c5")]),
    Reply("Done."),
    Reply(calls=[Call("read_buffer", {"buffer": "notes.txt"}, id="c6")]),
    Reply("Still there."),
]
NOTES = "line one\nline two\nunsaved edit\n"
NOTES_WINDOW_LINE = """(function()
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_buf_get_name(vim.api.nvim_win_get_buf(win)):match('/notes.txt$') then
      return vim.api.nvim_win_get_cursor(win)[1]
    end
  end
end)()"""


def stored_policies(daemon_env: DaemonEnv) -> list[dict[str, str]]:
    with SyncClient.connect_unix(daemon_env.socket) as client:
        client.initialize("pytest")
        policies: list[dict[str, str]] = client.request("tools/policy/list", {})["policies"]
        return policies


def answer_approval(nvim: Neovim, server: FakeProviderServer, answered_by: int) -> None:
    """Choose "allow always" at the approval prompt, whichever Neovim shows.

    Before Neovim 0.10 it is the blocking inputlist, answered with keys; from 0.10 on the
    test's vim.ui.select (vim.g.chatd_pick). Either way the turn goes on: the model gets
    its next request.
    """
    deadline = time.monotonic() + 30
    while len(server.requests) < answered_by:
        assert time.monotonic() < deadline, "timed out waiting for the approval prompt"
        if nvim.rpc("nvim_get_mode")["blocking"]:
            nvim.rpc("nvim_input", "2\r")
        time.sleep(0.1)


def test_client_tools_through_a_fake_model(
    nvim: Neovim, daemon_env: DaemonEnv, tmp_path: Path
) -> None:
    """The model (a fake Claude API) calls Neovim's tools; their answers reach it."""
    workspace = tmp_path / "workspace"
    (workspace / "src").mkdir(parents=True)
    (workspace / "notes.txt").write_text("line one\nline two\n")
    (workspace / "src" / "main.py").write_text("print('hi')\n")
    server = FakeProviderServer().start()
    try:
        server.script(*CLIENT_TOOL_TURNS)
        daemon_env.config.write_text(
            f'[providers.claude]\nbase_url = "{server.url}"\napi_key = "test-key"\n'
            "max_retries = 0\n"
        )
        nvim.command(f"cd {workspace}")
        nvim.command("edit notes.txt")
        nvim.lua("vim.api.nvim_buf_set_lines(0, -1, -1, false, {'unsaved edit'}) or 0")
        nvim.command("let g:chatd_pick = 2")
        nvim.command("ChatdNew")
        wait_for(lambda: nvim.lua("vim.b.chatd_session_id") is not None, "a chat buffer")
        nvim.command("ChatdSend look at my notes")
        answer_approval(nvim, server, answered_by=3)
        text = nvim.wait_chat(lambda text: text.endswith("Done.\n"), "the end of the turn")
        assert "↳ read_buffer: line one⏎line two⏎unsaved edit⏎" in text
        assert "↳ read_buffer failed: no open buffer gone.txt" in text
        assert "↳ list_workspace_files: notes.txt⏎src/main.py" in text
        assert nvim.lua("vim.bo.filetype") == "chatd"  # the user stays in the chat
        assert nvim.lua(NOTES_WINDOW_LINE) == 2

        nvim.command("ChatdTools")
        wait_for(lambda: nvim.lua("vim.api.nvim_buf_get_name(0)").endswith("chatd://tools"), "it")
        shown = nvim.lua("vim.api.nvim_buf_get_lines(0, 0, -1, false)")
        assert f"{'open_file':<22} {'client':<12} {'ask':<5} available" in shown
        assert f"{'read_buffer':<22} {'client':<12} {'auto':<5} available" in shown
        assert f"{'allow_always':<14} {'open_file':<22} {workspace}" in shown
        nvim.command("close")

        kill_daemon(daemon_env)
        wait_for(lambda: not nvim.lua("require('chatd.client').status().running"), "the exit")
        nvim.command("ChatdSend and again")  # a new daemon: the tools are registered again
        nvim.wait_chat(lambda text: text.endswith("Still there.\n"), "the second turn")
        results = [wire.tool_results(request) for request in server.requests]
        nvim.command("let g:chatd_pick = 1")
        nvim.command("ChatdRevoke")  # the picker chooses the only policy
        wait_for(lambda: stored_policies(daemon_env) == [], "the revocation")
    finally:
        server.stop()
    assert results[1] == [
        ("c1", NOTES, False),
        ("c2", NOTES, False),
        ("c3", "no open buffer gone.txt", True),
        ("c4", "notes.txt\nsrc/main.py", False),
    ]
    assert results[2][-1] == ("c5", f"opened {workspace / 'notes.txt'} at line 2", False)
    assert results[4][-1] == ("c6", NOTES, False)


ASYNCHRONOUS_PICKER = """
vim.g.chatd_prompts = {}
vim.ui.select = function(items, options, on_choice)
  vim.g.chatd_prompts = vim.list_extend(vim.g.chatd_prompts, { options.prompt })
  vim.defer_fn(function() on_choice(items[4], 4) end, 200)
end
"""


def test_approval_waits_for_an_asynchronous_picker(nvim: Neovim) -> None:
    """Where vim.lsp.rpc runs the handler in a coroutine (Neovim 0.10+), a picker plugin's
    vim.ui.select that answers later still answers ``tool/approve``.

    Neovim 0.7.2 calls handlers outside a coroutine; here one is made the way newer
    versions do, around the plugin's own dispatcher.
    """
    nvim.lua(f"loadstring({json.dumps(ASYNCHRONOUS_PICKER)})() or 0")
    params = {
        "sessionId": "s-1",
        "callId": "c1",
        "name": "open_file",
        "arguments": {"path": "a.py"},
        "options": ["allow_once", "allow_always", "reject_once", "reject_always"],
    }
    nvim.lua(
        "vim.schedule(coroutine.wrap(function() vim.g.chatd_answer = "
        "require('chatd.tools').handle_request('tool/approve', "
        f"vim.json.decode({json.dumps(json.dumps(params))})) end)) or 0"
    )
    wait_for(lambda: nvim.lua("vim.g.chatd_answer") is not None, "the answer")
    assert nvim.lua("vim.g.chatd_answer") == {"decision": "reject_always"}
    asked = 'chatd: let the model call open_file {"path":"a.py"}?'
    assert nvim.lua("vim.g.chatd_prompts") == [asked]
