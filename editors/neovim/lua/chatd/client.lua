-- One JSON-RPC connection to chatd over Neovim's own vim.lsp.rpc, restarted on demand.
--
-- The daemon (or the shared forwarder) is started on the first request, and again on the
-- first request after it went away: requests wait for `initialize`, and every request still
-- waiting when the process exits gets an error, so no callback is left hanging.

local M = {}

local state = {
  rpc = nil, -- the vim.lsp.rpc client of the running process
  generation = 0, -- increases on every start: a late exit of an old process changes nothing
  ready = false, -- `initialize` answered
  waiting = {}, -- callbacks queued until `initialize` is answered
  pending = {}, -- key -> callback of every request sent and not answered
  next_key = 0,
  info = nil, -- the `initialize` result
  last_exit = nil, -- {code, signal} of the last process
  config = nil,
  on_notification = function(_, _) end,
  on_request = nil, -- answers the daemon's requests: (method, params) -> result | nil, err
}

local METHOD_NOT_FOUND = -32601
local DAEMON_UNAVAILABLE = -32051

function M.configure(config, on_notification, on_request)
  state.config = config
  state.on_notification = on_notification
  state.on_request = on_request
end

-- Which process the connection goes to: it changes when chatd is started again, and the tools
-- a connection registered end with it.
function M.connection()
  return state.ready and state.generation or nil
end

-- Tells the user about a failed request (a JSON-RPC error or a message).
function M.report(err)
  vim.notify("chatd: " .. (err.message or tostring(err)), vim.log.levels.ERROR)
end

function M.info()
  return state.info
end

function M.status()
  return { running = state.rpc ~= nil, ready = state.ready, last_exit = state.last_exit }
end

-- vim.lsp.rpc.start takes the command as a list from 0.10 on, as (cmd, args) before.
local function start_rpc(cmd, dispatchers, extra)
  if vim.fn.has("nvim-0.10") == 1 then
    return vim.lsp.rpc.start(cmd, dispatchers, extra)
  end
  return vim.lsp.rpc.start(cmd[1], vim.list_slice(cmd, 2), dispatchers, extra)
end

-- Runs `fn` in the main loop: vim.lsp.rpc calls some dispatchers from libuv callbacks, where
-- buffers cannot be changed (which ones differs between Neovim versions).
local function in_main_loop(fn)
  return function(...)
    if vim.in_fast_event() then
      local args, count = { ... }, select("#", ...)
      return vim.schedule(function()
        fn((table.unpack or unpack)(args, 1, count))
      end)
    end
    return fn(...)
  end
end

local function fail_all(err)
  local pending, waiting = state.pending, state.waiting
  state.pending, state.waiting = {}, {}
  for _, callback in pairs(pending) do
    callback(err, nil)
  end
  for _, callback in ipairs(waiting) do
    callback(err)
  end
end

local function exited(generation, code, signal)
  if generation ~= state.generation then
    return
  end
  state.rpc, state.ready, state.info = nil, false, nil
  state.last_exit = { code = code, signal = signal }
  fail_all({
    code = DAEMON_UNAVAILABLE,
    message = string.format(
      "chatd exited (status %s%s); the next command starts it again",
      tostring(code),
      (signal and signal ~= 0) and (", signal " .. signal) or ""
    ),
    data = { reason = "daemon_lost" },
  })
end

local function dispatchers(generation)
  return {
    notification = in_main_loop(function(method, params)
      state.on_notification(method, params)
    end),
    -- Called in the main loop on every version (vim.lsp.rpc schedules it), so it is not
    -- wrapped: the answer is what it returns.
    server_request = function(method, params)
      if state.on_request then
        return state.on_request(method, params)
      end
      return nil, vim.lsp.rpc.rpc_response_error(METHOD_NOT_FOUND, "chatd.nvim does not handle " .. method)
    end,
    on_exit = function(code, signal)
      vim.schedule(function()
        exited(generation, code, signal)
      end)
    end,
    on_error = function(_, _) end,
  }
end

local function send(method, params, callback)
  state.next_key = state.next_key + 1
  local key = state.next_key
  state.pending[key] = callback
  local ok = state.rpc.request(method, params or vim.empty_dict(), in_main_loop(function(err, result)
    local waiting = state.pending[key]
    if waiting then
      state.pending[key] = nil
      waiting(err, result)
    end
  end))
  if not ok then
    state.pending[key] = nil
    callback({ code = DAEMON_UNAVAILABLE, message = "chatd is not running", data = { reason = "daemon_lost" } })
  end
end

local function start()
  state.generation = state.generation + 1
  local generation = state.generation
  local config = state.config
  local rpc = start_rpc(config.cmd, dispatchers(generation), { env = config.env, cwd = config.cwd })
  if not rpc then
    state.generation = state.generation + 1
    fail_all({ code = DAEMON_UNAVAILABLE, message = "could not start " .. config.cmd[1], data = { reason = "daemon_unreachable" } })
    return
  end
  state.rpc = rpc
  local client_info = { name = "chatd.nvim", version = tostring(vim.version().major .. "." .. vim.version().minor) }
  send("initialize", { clientInfo = client_info }, function(err, result)
    if generation ~= state.generation then
      return
    end
    if err then
      local waiting = state.waiting
      state.waiting = {}
      M.stop()
      for _, callback in ipairs(waiting) do
        callback(err)
      end
      return
    end
    state.ready, state.info = true, result
    state.rpc.notify("initialized", vim.empty_dict())
    local waiting = state.waiting
    state.waiting = {}
    for _, callback in ipairs(waiting) do
      callback(nil)
    end
  end)
end

-- Calls `callback(err)` once chatd is running and initialized, starting it if needed.
function M.ensure(callback)
  if state.ready then
    return callback(nil)
  end
  table.insert(state.waiting, callback)
  if not state.rpc then
    start()
  end
end

-- One request; `callback(err, result)` runs exactly once, in the main loop.
function M.request(method, params, callback)
  M.ensure(function(err)
    if err then
      return callback(err, nil)
    end
    send(method, params, callback)
  end)
end

function M.stop()
  local rpc = state.rpc
  state.generation = state.generation + 1
  state.rpc, state.ready, state.info = nil, false, nil
  if rpc then
    if rpc.terminate then
      rpc.terminate()
    elseif rpc.handle and not rpc.handle:is_closing() then
      rpc.handle:kill(15)
    end
  end
  fail_all({ code = DAEMON_UNAVAILABLE, message = "chatd was stopped", data = { reason = "daemon_lost" } })
end

return M
