-- :checkhealth chatd
local M = {}

local health = vim.health or require("health")
local start = health.start or health.report_start
local ok = health.ok or health.report_ok
local warn = health.warn or health.report_warn
local fail = health.error or health.report_error
local info = health.info or health.report_info

function M.check()
  start("chatd")
  if vim.fn.has("nvim-0.7") == 1 then
    ok("Neovim " .. tostring(vim.version().major) .. "." .. tostring(vim.version().minor))
  else
    fail("chatd.nvim needs Neovim 0.7 or newer")
  end
  local config = require("chatd").config
  local program = config.cmd[1]
  if vim.fn.executable(program) == 1 then
    ok(string.format("command: %s (%s)", table.concat(config.cmd, " "), vim.fn.exepath(program)))
  else
    fail(string.format("%s is not executable: install chatd, or set cmd in setup()", program))
  end
  if config.tools then
    local names = vim.tbl_map(function(spec)
      return spec.name
    end, require("chatd.tools").specs)
    info("tools for the model: " .. table.concat(names, ", ") .. " (:help chatd-tools)")
  else
    info("no tools for the model (tools = false)")
  end
  local status = require("chatd.client").status()
  local initialized = require("chatd.client").info()
  if initialized then
    ok(string.format("connected to chatd %s", initialized.serverInfo.version))
    local names = {}
    for _, provider in ipairs(initialized.capabilities.providers) do
      table.insert(names, provider.name .. (provider.available and "" or " (unavailable)"))
    end
    info("providers: " .. table.concat(names, ", "))
    info("default provider: " .. tostring(initialized.capabilities.defaultProvider))
  elseif status.last_exit then
    warn(string.format("chatd exited with status %s; the next command starts it again", tostring(status.last_exit.code)))
  else
    info("not connected yet: the first :Chatd command starts chatd")
  end
end

return M
