-- The tools Neovim hosts for the model, and the answers to the daemon's requests about them.
--
-- The same tools as chatd.el, with the same names and parameters: read_buffer (a buffer's
-- text, unsaved edits included), list_workspace_files (the session's workspace, bounded) and
-- open_file (shows a workspace file at a line; approval `ask`, so the daemon asks first with
-- `tool/approve`).
--
-- vim.lsp.rpc answers a server→client request with what its `server_request` dispatcher
-- returns, and calls that dispatcher in the main loop (from vim.schedule) on every version,
-- so a handler may touch buffers and windows and returns its answer directly. On Neovim 0.10
-- and newer the dispatcher also runs in a coroutine that may yield: the approval prompt then
-- is vim.ui.select, whatever picker replaces it. Neovim 0.7–0.9 cannot answer later, so
-- there the prompt is the blocking vim.fn.inputlist (what the built-in vim.ui.select shows),
-- as Neovim's own LSP client does for `window/showMessageRequest`.

local view = require("chatd.view")

local M = {}

M.specs = {
  {
    name = "read_buffer",
    description = "The text of a buffer open in the editor, unsaved edits included. "
      .. "Without an argument, the buffer the user worked in last.",
    parameters = {
      type = "object",
      properties = { buffer = { type = "string", description = "A buffer name or a file path" } },
    },
    approval = "auto",
  },
  {
    name = "list_workspace_files",
    description = "The files of the workspace (the project), relative to its root.",
    parameters = { type = "object" },
    approval = "auto",
  },
  {
    name = "open_file",
    description = "Show a workspace file to the user at a line.",
    parameters = {
      type = "object",
      properties = { path = { type = "string" }, line = { type = "integer" } },
      required = { "path" },
    },
    approval = "ask",
  },
}

local DECISIONS = {
  { option = "allow_once", label = "Allow once" },
  { option = "allow_always", label = "Allow always (in this workspace)" },
  { option = "reject_once", label = "Reject once" },
  { option = "reject_always", label = "Reject always (in this workspace)" },
}

local METHOD_NOT_FOUND = -32601

local settings = { max_files = 2000 }
local last_edited = nil -- the buffer the user worked in last, never a chat buffer

local function is_editing_buffer(buf)
  return vim.api.nvim_buf_is_valid(buf) and vim.bo[buf].buftype == "" and vim.bo[buf].filetype ~= "chatd"
end

-- Starts following which buffer the user edits; `max_files` bounds list_workspace_files.
function M.setup(options)
  settings.max_files = options.max_files or settings.max_files
  local current = vim.api.nvim_get_current_buf()
  if not last_edited and is_editing_buffer(current) then
    last_edited = current
  end
  local group = vim.api.nvim_create_augroup("chatd_tools", { clear = true })
  vim.api.nvim_create_autocmd("BufEnter", {
    group = group,
    callback = function(event)
      if is_editing_buffer(event.buf) then
        last_edited = event.buf
      end
    end,
  })
end

local function absolute(path, workspace)
  if path:sub(1, 1) ~= "/" then
    path = workspace .. "/" .. path
  end
  local full = vim.fn.fnamemodify(path, ":p")
  return vim.loop.fs_realpath(full) or full
end

local function buffer_named(name, workspace)
  local wanted = absolute(name, workspace)
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    local buf_name = vim.api.nvim_buf_get_name(buf)
    if buf_name ~= "" and (buf_name == name or absolute(buf_name, workspace) == wanted) then
      return buf
    end
  end
end

local function most_recent_editing_buffer()
  if last_edited and is_editing_buffer(last_edited) then
    return last_edited
  end
  local newest, used = nil, -1
  for _, info in ipairs(vim.fn.getbufinfo({ buflisted = 1 })) do
    if is_editing_buffer(info.bufnr) and (info.lastused or 0) > used then
      newest, used = info.bufnr, info.lastused or 0
    end
  end
  return newest
end

local function read_buffer(arguments, workspace)
  local name = arguments.buffer
  local buf
  if name then
    buf = buffer_named(name, workspace)
  else
    buf = most_recent_editing_buffer()
  end
  if not buf then
    error("no open buffer " .. (name or "at all"), 0)
  end
  vim.fn.bufload(buf)
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  local text = table.concat(lines, "\n")
  if text ~= "" and (vim.bo[buf].eol or vim.bo[buf].fixeol) then
    text = text .. "\n"
  end
  return text
end

-- The names `git ls-files` gives (what is ignored stays out), or nil outside a repository.
local function git_files(workspace)
  if vim.fn.executable("git") == 0 then
    return nil
  end
  local git = { "git", "-C", workspace, "-c", "core.quotepath=off", "ls-files" }
  local listed = vim.fn.systemlist(vim.list_extend(git, { "--cached", "--others", "--exclude-standard" }))
  return vim.v.shell_error == 0 and listed or nil
end

-- The names under `directory`, in order, not following links to directories nor entering
-- .git; at most `limit`.
local function walked_files(directory, limit)
  local files = {}
  local function walk(path, prefix)
    local entries = {}
    local scan = vim.loop.fs_scandir(path)
    while scan do
      local name, kind = vim.loop.fs_scandir_next(scan)
      if not name then
        break
      end
      table.insert(entries, { name = name, kind = kind })
    end
    table.sort(entries, function(a, b)
      return a.name < b.name
    end)
    for _, entry in ipairs(entries) do
      if #files >= limit then
        return
      end
      if entry.kind ~= "directory" then
        table.insert(files, prefix .. entry.name)
      elseif entry.name ~= ".git" then
        walk(path .. "/" .. entry.name, prefix .. entry.name .. "/")
      end
    end
  end
  walk(directory, "")
  return files
end

local function workspace_files(workspace, limit)
  local files = git_files(workspace) or walked_files(workspace, limit)
  table.sort(files)
  return vim.list_slice(files, 1, limit)
end

local function list_workspace_files(_, workspace)
  return table.concat(workspace_files(workspace, settings.max_files), "\n")
end

-- A window of this tab page that shows no chat buffer, preferring the one being edited; else
-- a new split. The user stays in the window they are in.
local function window_for_files()
  local fallback
  for _, win in ipairs(vim.api.nvim_tabpage_list_wins(0)) do
    local buf = vim.api.nvim_win_get_buf(win)
    if vim.api.nvim_win_get_config(win).relative == "" and is_editing_buffer(buf) then
      if buf == last_edited then
        return win
      end
      fallback = fallback or win
    end
  end
  if fallback then
    return fallback
  end
  local here = vim.api.nvim_get_current_win()
  vim.cmd("split")
  local win = vim.api.nvim_get_current_win()
  vim.api.nvim_set_current_win(here)
  return win
end

local function open_file(arguments, workspace)
  local path = absolute(arguments.path, workspace)
  local line = arguments.line or 1
  if vim.fn.filereadable(path) == 0 then
    error("no file " .. path, 0)
  end
  local buf = vim.fn.bufadd(path)
  vim.bo[buf].buflisted = true
  local win = window_for_files()
  vim.api.nvim_win_call(win, function()
    vim.cmd("hide buffer " .. buf) -- :hide keeps the window's old buffer if it is modified
  end)
  local shown = math.max(1, math.min(line, vim.api.nvim_buf_line_count(buf)))
  vim.api.nvim_win_set_cursor(win, { shown, 0 })
  return string.format("opened %s at line %d", path, line)
end

local RUN = {
  read_buffer = read_buffer,
  list_workspace_files = list_workspace_files,
  open_file = open_file,
}

-- JSON null is vim.NIL from Neovim 0.10 on (nil before): absent either way.
local function without_nulls(arguments)
  local clean = {}
  for key, value in pairs(type(arguments) == "table" and arguments or {}) do
    if value ~= vim.NIL then
      clean[key] = value
    end
  end
  return clean
end

local function workspace_of(session_id)
  local chat = view.for_session(session_id)
  return (chat and chat.workspace) or vim.fn.getcwd()
end

-- `tool/call`: {content, isError}. A tool that fails answers with its message as an error
-- result, which the model sees.
function M.call(params)
  local run = RUN[params.name]
  if not run then
    return { content = "neovim has no tool " .. tostring(params.name), isError = true }
  end
  local ok, content = pcall(run, without_nulls(params.arguments), workspace_of(params.sessionId))
  if not ok then
    return { content = tostring(content), isError = true }
  end
  return { content = content, isError = false }
end

local function arguments_text(arguments)
  if type(arguments) ~= "table" or next(arguments) == nil then
    return "{}"
  end
  return vim.json.encode(arguments)
end

local function offered(options)
  local choices = {}
  for _, decision in ipairs(DECISIONS) do
    if vim.tbl_contains(options or {}, decision.option) then
      table.insert(choices, decision)
    end
  end
  return choices
end

-- The user's choice among `choices`, or nil: vim.ui.select where the answer may come later,
-- else the blocking inputlist.
local function ask(prompt, choices)
  local co, is_main = coroutine.running()
  if co and not is_main then
    local format = function(choice)
      return choice.label
    end
    vim.ui.select(choices, { prompt = prompt, format_item = format }, function(choice)
      vim.schedule(function() -- also after a vim.ui.select that answers before the yield
        coroutine.resume(co, choice)
      end)
    end)
    return coroutine.yield()
  end
  local lines = { prompt }
  for index, choice in ipairs(choices) do
    table.insert(lines, string.format("%d. %s", index, choice.label))
  end
  return choices[vim.fn.inputlist(lines)]
end

-- `tool/approve`: {decision}. No choice rejects this call only.
function M.approve(params)
  local prompt = string.format("chatd: let the model call %s %s?", params.name, arguments_text(params.arguments))
  local choice = ask(prompt, offered(params.options))
  return { decision = choice and choice.option or "reject_once" }
end

-- The `server_request` dispatcher: the result, or nil and an error.
function M.handle_request(method, params)
  if method == "tool/call" then
    return M.call(params)
  elseif method == "tool/approve" then
    return M.approve(params)
  end
  return nil, vim.lsp.rpc.rpc_response_error(METHOD_NOT_FOUND, "chatd.nvim does not handle " .. method)
end

return M
