-- chatd.nvim: persistent LLM conversations from the chatd daemon, in chat buffers.
--
--   require("chatd").setup({ cmd = { "chatd", "serve", "--stdio", "--shared" } })
--
-- Commands: :ChatdNew[!], :ChatdSend [text] (with a range: those lines), :ChatdResume [id],
-- :ChatdHistory, :ChatdCancel, :ChatdDelete [id], :ChatdTools, :ChatdRevoke. See :help chatd.

local client = require("chatd.client")
local tools = require("chatd.tools")
local view = require("chatd.view")

local M = {}

local defaults = {
  cmd = { "chatd", "serve", "--stdio", "--shared" },
  env = nil, -- extra environment for the daemon's process
  cwd = nil,
  open = "vsplit", -- where a new chat buffer opens: "vsplit", "split" or "current"
  list_limit = 50, -- conversations offered by :ChatdResume
  history_limit = 50, -- messages per history page (:ChatdResume, :ChatdHistory)
  tools = true, -- host read_buffer, list_workspace_files and open_file for the model
  workspace_max_files = 2000, -- names list_workspace_files returns at most
}

M.config = vim.deepcopy(defaults)

local report = client.report

local function on_notification(method, params)
  if method == "chat/update" then
    view.on_update(params)
  end
end

local function configure()
  client.configure(M.config, on_notification, tools.handle_request)
  tools.setup({ max_files = M.config.workspace_max_files })
end

function M.setup(options)
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(defaults), options or {})
  configure()
end

-- `params` of chat/new or chat/restore with the client tools (when enabled).
local function with_tools(params)
  if M.config.tools then
    params.tools = tools.specs
  end
  return params
end

-- The chat's tools are hosted by the connection that just answered.
local function hosting(chat, workspace)
  chat.workspace = workspace
  chat.tools_connection = M.config.tools and client.connection() or nil
end

-- chat/new in the current directory (the session's workspace), `params` added.
local function request_new(params, callback)
  local workspace = vim.fn.getcwd()
  params = with_tools(vim.tbl_extend("force", params, { workspace = workspace }))
  client.request("chat/new", params, function(err, session)
    if err then
      return report(err)
    end
    callback(session, workspace)
  end)
end

local function new_chat(params, callback)
  request_new(params, function(session, workspace)
    local chat = view.create(session, M.config.open)
    hosting(chat, workspace)
    if callback then
      callback(chat)
    end
  end)
end

-- Registers the chat's tools again if chatd was started anew since (a restarted daemon has
-- the session's tools unbound), then calls `callback`.
local function ensure_tools(chat, callback)
  client.ensure(function(err)
    if err or not M.config.tools or chat.tools_connection == client.connection() then
      return callback()
    end
    local params = { sessionId = chat.session_id, tools = tools.specs }
    client.request("tools/register", params, function(register_err, _)
      if register_err then
        vim.notify("chatd: no client tools: " .. (register_err.message or ""), vim.log.levels.WARN)
      else
        chat.tools_connection = client.connection()
      end
      callback()
    end)
  end)
end

local function pick_provider(callback)
  client.ensure(function(err)
    if err then
      return report(err)
    end
    local providers = {}
    for _, provider in ipairs(client.info().capabilities.providers) do
      if provider.available then
        table.insert(providers, provider.name)
      end
    end
    vim.ui.select(providers, { prompt = "chatd provider" }, function(provider)
      if not provider then
        return
      end
      vim.ui.input({ prompt = "model (empty: the provider's default): " }, function(model)
        local params = { provider = provider }
        if model and model ~= "" then
          params.model = model
        end
        callback(params)
      end)
    end)
  end)
end

-- :ChatdNew (defaults from `initialize`) and :ChatdNew! (choose provider and model).
function M.new(choose)
  if choose then
    pick_provider(function(params)
      new_chat(params)
    end)
  else
    new_chat({})
  end
end

local function send_in(chat, message)
  view.begin_turn(chat, message)
  ensure_tools(chat, function()
    local params = { sessionId = chat.session_id, message = message }
    client.request("chat/send", params, function(err, result)
      if result and result.sessionId and result.sessionId ~= chat.session_id then
        view.bind(chat, { sessionId = result.sessionId })
      end
      view.end_turn(chat, result, err)
    end)
  end)
end

-- :ChatdSend [text]; with a range, those lines of the current buffer (after the text).
function M.send(text, line1, line2)
  local parts = {}
  if text and text ~= "" then
    table.insert(parts, text)
  end
  if line1 then
    table.insert(parts, table.concat(vim.api.nvim_buf_get_lines(0, line1 - 1, line2, false), "\n"))
  end
  local message = table.concat(parts, "\n\n")
  if message == "" then
    return vim.ui.input({ prompt = "chatd> " }, function(input)
      if input and input ~= "" then
        M.send(input)
      end
    end)
  end
  local chat = view.current()
  if chat and chat.running then
    return report({ message = "a turn is running in this chat; :ChatdCancel stops it" })
  end
  if chat and chat.session_id then
    return send_in(chat, message)
  end
  if chat then
    return request_new({}, function(session, workspace)
      view.bind(chat, session)
      hosting(chat, workspace)
      send_in(chat, message)
    end)
  end
  new_chat({}, function(created)
    send_in(created, message)
  end)
end

-- `workspace`: the conversation's, if known (store/list has it in the metadata); `into`: the
-- buffer to show it in (`:edit chatd://<id>`), else its chat buffer or a new one.
local function restore(snapshot_id, workspace, into)
  local params = with_tools({ snapshotId = snapshot_id, historyLimit = M.config.history_limit })
  client.request("chat/restore", params, function(err, result)
    if err then
      return report(err)
    end
    local chat = view.for_session(result.sessionId)
    if chat then
      view.bind(chat, result)
      view.focus(chat, M.config.open)
    else
      chat = view.create(result, M.config.open, into)
    end
    hosting(chat, (workspace ~= "" and workspace) or chat.workspace or vim.fn.getcwd())
    view.render_history(chat, result.history or {}, result.historyCursor)
    for _, warning in ipairs(result.warnings or {}) do
      vim.notify("chatd: " .. warning, vim.log.levels.WARN)
    end
  end)
end

local function describe(item)
  local title = (item.title and item.title ~= "") and item.title or "(untitled)"
  local date = (item.updatedAt or item.createdAt or ""):sub(1, 16):gsub("T", " ")
  return string.format("%s  ·  %s/%s  ·  %s", title, item.provider, item.model, date)
end

-- Offers the saved conversations, newest first; `callback(item)` with the chosen one.
local function pick_conversation(prompt, callback)
  client.request("store/list", { limit = M.config.list_limit }, function(err, page)
    if err then
      return report(err)
    end
    if #page.items == 0 then
      return vim.notify("chatd: no saved conversations", vim.log.levels.INFO)
    end
    vim.ui.select(page.items, { prompt = prompt, format_item = describe }, function(item)
      if item then
        callback(item)
      end
    end)
  end)
end

-- :ChatdResume [id]: without an id, choose from the saved conversations.
function M.resume(snapshot_id)
  if snapshot_id and snapshot_id ~= "" then
    return restore(snapshot_id)
  end
  pick_conversation("resume a chatd conversation", function(item)
    restore(item.id, item.metadata and item.metadata.workspace)
  end)
end

-- `:edit chatd://<id>` (typed, or a session file's chat window): the conversation, in `buf`.
function M.read_buffer(buf, snapshot_id)
  restore(snapshot_id, nil, buf)
end

-- The current chat with a conversation, else nil (and the user is told).
local function current_chat()
  local chat = view.current()
  if chat and chat.session_id then
    return chat
  end
  report({ message = "no chat here: :ChatdNew or :ChatdResume first" })
end

-- :ChatdHistory: the next older page of the current chat's history, above what is shown.
function M.history()
  local chat = current_chat()
  if not chat then
    return
  end
  if not chat.history_cursor then
    return vim.notify("chatd: the whole history is shown", vim.log.levels.INFO)
  end
  local params = { sessionId = chat.session_id, cursor = chat.history_cursor }
  params.limit = M.config.history_limit
  client.request("chat/history", params, function(err, page)
    if err then
      return report(err)
    end
    view.prepend_history(chat, page.items, page.nextCursor)
  end)
end

-- :ChatdCancel: stops the running turn of the current chat.
function M.cancel()
  local chat = current_chat()
  if chat then
    client.request("chat/cancel", { sessionId = chat.session_id }, function(err, _)
      if err then
        report(err)
      end
    end)
  end
end

local function delete(snapshot_id)
  client.request("store/delete", { snapshotId = snapshot_id }, function(err, _)
    if err then
      return report(err)
    end
    local chat = view.for_session(snapshot_id)
    if chat then
      view.mark_deleted(chat)
    end
    vim.notify("chatd: deleted " .. snapshot_id, vim.log.levels.INFO)
  end)
end

-- :ChatdDelete [id]: the given conversation, else the current chat's, else choose one.
function M.delete(snapshot_id)
  if snapshot_id and snapshot_id ~= "" then
    return delete(snapshot_id)
  end
  local chat = view.current()
  if chat and chat.session_id and vim.api.nvim_get_current_buf() == chat.buf then
    return delete(chat.session_id)
  end
  pick_conversation("delete a chatd conversation", function(item)
    delete(item.id)
  end)
end

-- :ChatdTools: the current chat's tools and the stored "always" answers.
function M.show_tools()
  local chat = view.current()
  require("chatd.tools_buffer").show(chat and chat.session_id and chat or nil)
end

-- :ChatdRevoke: choose a stored "always" answer to forget.
function M.revoke()
  require("chatd.tools_buffer").revoke()
end

configure()

return M
