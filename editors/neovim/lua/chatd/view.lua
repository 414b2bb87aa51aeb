-- Chat buffers (filetype `chatd`): one per conversation, updated as `chat/update`s arrive.
--
-- Layout: line 1 is the header (provider/model, token usage, state), line 2 says whether older
-- messages can be loaded (:ChatdHistory), then the transcript. Thinking is written between
-- fold markers, so it stays folded until opened.

local M = {}

local views = {} -- bufnr -> view
local by_session = {} -- session id -> bufnr
local last_buf = nil

local HEADER_LINES = 2
local OLDER = "(older messages: :ChatdHistory)"

local function valid(view)
  return view and vim.api.nvim_buf_is_valid(view.buf)
end

local function header(view)
  local parts = { "chatd" }
  if view.provider then
    table.insert(parts, view.provider .. "/" .. (view.model or "?"))
  end
  table.insert(parts, string.format("tokens in %d out %d", view.usage.input, view.usage.output))
  if view.session_id then
    table.insert(parts, "session " .. view.session_id:sub(1, 8))
  end
  if view.running then
    table.insert(parts, "[running]")
  end
  return table.concat(parts, " · ")
end

-- Windows whose cursor is on the last line follow what is appended, like a terminal.
local function windows_at_end(buf)
  local last, following = vim.api.nvim_buf_line_count(buf), {}
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_buf(win) == buf and vim.api.nvim_win_get_cursor(win)[1] >= last - 1 then
      table.insert(following, win)
    end
  end
  return following
end

local function set_lines(view, first, last, lines)
  local following = windows_at_end(view.buf)
  vim.bo[view.buf].modifiable = true
  vim.api.nvim_buf_set_lines(view.buf, first, last, false, lines)
  vim.bo[view.buf].modifiable = false
  local bottom = vim.api.nvim_buf_line_count(view.buf)
  for _, win in ipairs(following) do
    vim.api.nvim_win_set_cursor(win, { bottom, 0 })
  end
end

function M.refresh_header(view)
  if valid(view) then
    set_lines(view, 0, 1, { header(view) })
    vim.b[view.buf].chatd_status = header(view)
  end
end

local function set_older_marker(view)
  set_lines(view, 1, 2, { view.history_cursor and OLDER or "" })
end

local function show(buf, how)
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_buf(win) == buf then
      vim.api.nvim_set_current_win(win)
      return
    end
  end
  if how == "split" then
    vim.cmd("split")
  elseif how == "vsplit" then
    vim.cmd("vsplit")
  end
  vim.api.nvim_win_set_buf(0, buf)
end

function M.bind(view, session)
  if view.session_id and by_session[view.session_id] == view.buf then
    by_session[view.session_id] = nil
  end
  view.session_id = session.sessionId
  view.provider = session.provider or view.provider
  view.model = session.model or view.model
  if view.session_id then
    by_session[view.session_id] = view.buf
  end
  vim.b[view.buf].chatd_session_id = view.session_id
  M.refresh_header(view)
end

-- A new, empty chat buffer for `session` (a chat/new or chat/restore result), shown; `into`:
-- an existing buffer to use instead (one `:edit chatd://<id>` is reading).
function M.create(session, how, into)
  local buf = into or vim.api.nvim_create_buf(true, true)
  local view = { buf = buf, usage = { input = 0, output = 0 }, running = false, block = nil }
  views[buf] = view
  vim.bo[buf].buftype = "nowrite" -- unlike "nofile", kept by :mksession (chatd://<id> reads it)
  vim.bo[buf].bufhidden = "hide"
  vim.bo[buf].swapfile = false
  if not into then
    pcall(vim.api.nvim_buf_set_name, buf, "chatd://" .. (session.sessionId or tostring(buf)))
  end
  set_lines(view, 0, -1, { "", "" })
  show(buf, how)
  vim.bo[buf].filetype = "chatd" -- once shown: the ftplugin sets options of its window
  M.bind(view, session)
  last_buf = buf
  vim.api.nvim_create_autocmd({ "BufEnter" }, {
    buffer = buf,
    callback = function()
      last_buf = buf
    end,
  })
  vim.api.nvim_create_autocmd({ "BufWipeout" }, {
    buffer = buf,
    callback = function()
      if view.session_id and by_session[view.session_id] == buf then
        by_session[view.session_id] = nil
      end
      views[buf] = nil
    end,
  })
  return view
end

-- The chat buffer of the current window, else the last one used.
function M.current()
  local here = views[vim.api.nvim_get_current_buf()]
  if valid(here) then
    return here
  end
  if last_buf and valid(views[last_buf]) then
    return views[last_buf]
  end
  return nil
end

function M.for_session(session_id)
  local buf = by_session[session_id]
  return buf and views[buf] or nil
end

function M.focus(view, how)
  show(view.buf, how)
  last_buf = view.buf
end

local function line_count(view)
  return vim.api.nvim_buf_line_count(view.buf)
end

function M.append_lines(view, lines)
  if valid(view) then
    local last = line_count(view)
    set_lines(view, last, last, lines)
    view.block = nil
  end
end

-- Appends streamed text to the last line (a delta may hold newlines).
local function append_text(view, text)
  local last = line_count(view)
  local tail = vim.api.nvim_buf_get_lines(view.buf, last - 1, last, false)[1] or ""
  local pieces = vim.split(tail .. text, "\n", { plain = true })
  set_lines(view, last - 1, last, pieces)
end

-- Folds follow the markers, closed again at 'foldlevel' (lines set through the API do not
-- always update them by themselves).
local function refold(buf)
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_buf(win) == buf then
      vim.api.nvim_win_call(win, function()
        vim.cmd("silent! normal! zX")
      end)
    end
  end
end

local function close_block(view)
  if view.block == "thinking" then
    M.append_lines(view, { "}}}" })
    refold(view.buf)
  end
  view.block = nil
end

local function open_block(view, kind)
  if view.block == kind then
    return
  end
  close_block(view)
  if kind == "thinking" then
    M.append_lines(view, { "▸ thinking {{{", "" })
  elseif kind == "text" then
    local last = line_count(view)
    local tail = vim.api.nvim_buf_get_lines(view.buf, last - 1, last, false)[1]
    if tail ~= "" then
      M.append_lines(view, { "", "" }) -- a blank line, then the line the text streams into
    end
  end
  view.block = kind
end

local function one_line(value)
  local text = type(value) == "string" and value or vim.json.encode(value)
  return (text:gsub("\n", "⏎"))
end

local function tool_call_line(name, arguments)
  return string.format("⚙ %s(%s)", name, arguments and one_line(arguments) or "")
end

local function tool_result_line(name, content, is_error)
  return string.format("↳ %s%s: %s", name, is_error and " failed" or "", one_line(content or ""))
end

function M.begin_turn(view, message)
  close_block(view)
  local lines = { "## You" }
  vim.list_extend(lines, vim.split(message, "\n", { plain = true }))
  vim.list_extend(lines, { "", "## Assistant", "" })
  M.append_lines(view, lines)
  view.block = "text"
  view.running = true
  M.refresh_header(view)
end

function M.end_turn(view, result, err)
  if not valid(view) then
    return
  end
  close_block(view)
  view.running = false
  if err then
    M.append_lines(view, { "", "[error] " .. (err.message or tostring(err)) })
  elseif result then
    local usage = result.usage or {}
    view.usage.input = view.usage.input + (usage.inputTokens or 0)
    view.usage.output = view.usage.output + (usage.outputTokens or 0)
    if result.stopReason == "cancelled" then
      M.append_lines(view, { "", "[cancelled]" })
    end
  end
  M.append_lines(view, { "" })
  M.refresh_header(view)
end

-- One `chat/update` notification.
function M.on_update(params)
  local view = M.for_session(params.sessionId)
  if not valid(view) then
    return
  end
  local kind = params.kind
  if kind == "text" or kind == "thinking" then
    open_block(view, kind)
    append_text(view, params.text or "")
  elseif kind == "tool_call" and params.phase == "end" then
    close_block(view)
    M.append_lines(view, { tool_call_line(params.name, params.arguments) })
  elseif kind == "tool_result" then
    close_block(view)
    M.append_lines(view, { tool_result_line(params.name, params.content, params.isError) })
  elseif kind == "status" then
    view.running = params.state == "running"
    M.refresh_header(view)
  end
end

local function history_lines(items)
  local lines = {}
  for _, item in ipairs(items) do
    if item.role == "user" then
      table.insert(lines, "## You")
    elseif item.role == "assistant" then
      table.insert(lines, "## Assistant")
    end
    if item.text and item.text ~= "" then
      vim.list_extend(lines, vim.split(item.text, "\n", { plain = true }))
    end
    for _, call in ipairs(item.toolCalls or {}) do
      table.insert(lines, tool_call_line(call.name, call.arguments))
    end
    for _, result in ipairs(item.toolResults or {}) do
      table.insert(lines, tool_result_line(result.name, result.content, result.isError))
    end
    table.insert(lines, "")
  end
  return lines
end

-- Replaces the transcript with a restored history page (the newest).
function M.render_history(view, items, cursor)
  view.history_cursor = cursor
  set_lines(view, HEADER_LINES, -1, history_lines(items))
  set_older_marker(view)
  view.block = nil
  M.refresh_header(view)
end

-- Puts an older page above what is shown.
function M.prepend_history(view, items, cursor)
  view.history_cursor = cursor
  set_lines(view, HEADER_LINES, HEADER_LINES, history_lines(items))
  set_older_marker(view)
end

function M.mark_deleted(view)
  M.append_lines(view, { "[deleted: the next :ChatdSend here starts a new conversation]" })
  M.bind(view, { sessionId = nil })
end

function M.all()
  return views
end

return M
