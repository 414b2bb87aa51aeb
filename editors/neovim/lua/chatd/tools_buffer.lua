-- :ChatdTools (the current chat's tools and the stored approvals, in a scratch buffer) and
-- :ChatdRevoke (forget a stored approval: the tool asks again from its next call).

local client = require("chatd.client")

local M = {}

local shown_buf = nil -- the :ChatdTools buffer, reused while it exists

local function policy_line(policy)
  local workspace = policy.workspace ~= "" and policy.workspace or "(no workspace)"
  return string.format("%-14s %-22s %s", policy.decision, policy.tool, workspace)
end

local function tool_line(tool)
  local state = tool.available and "available" or "not available now"
  return string.format("%-22s %-12s %-5s %s", tool.name, tool.source, tool.approval, state)
end

local function lines_of(chat, listing, policies)
  local lines = {}
  if chat then
    table.insert(lines, string.format("Tools of session %s (workspace %s)", chat.session_id, chat.workspace or "?"))
    for _, tool in ipairs(listing.tools) do
      table.insert(lines, tool_line(tool))
    end
    if #listing.tools == 0 then
      table.insert(lines, "(none)")
    end
    for _, server in ipairs(listing.servers) do
      local error_text = type(server.error) == "string" and (": " .. server.error) or ""
      table.insert(lines, string.format("MCP server %s: %s%s", server.name, server.state, error_text))
    end
  else
    table.insert(lines, "No chat here: :ChatdNew or :ChatdResume to see a session's tools")
  end
  vim.list_extend(lines, { "", "Always allowed or rejected (:ChatdRevoke forgets one)" })
  for _, policy in ipairs(policies) do
    table.insert(lines, policy_line(policy))
  end
  if #policies == 0 then
    table.insert(lines, "No tool is always allowed or always rejected.")
  end
  return lines
end

local function show(lines)
  if not (shown_buf and vim.api.nvim_buf_is_valid(shown_buf)) then
    shown_buf = vim.api.nvim_create_buf(false, true)
    vim.bo[shown_buf].bufhidden = "wipe"
    pcall(vim.api.nvim_buf_set_name, shown_buf, "chatd://tools")
    vim.api.nvim_buf_set_keymap(shown_buf, "n", "q", "<cmd>close<cr>", { nowait = true, silent = true })
  end
  vim.bo[shown_buf].modifiable = true
  vim.api.nvim_buf_set_lines(shown_buf, 0, -1, false, lines)
  vim.bo[shown_buf].modifiable = false
  if vim.fn.bufwinid(shown_buf) == -1 then
    vim.cmd("split")
    vim.api.nvim_win_set_buf(0, shown_buf)
  else
    vim.api.nvim_set_current_win(vim.fn.bufwinid(shown_buf))
  end
end

-- `chat`: the current chat (with a session), or nil.
function M.show(chat)
  client.request("tools/policy/list", vim.empty_dict(), function(err, stored)
    if err then
      return client.report(err)
    end
    if not chat then
      return show(lines_of(nil, nil, stored.policies))
    end
    client.request("tools/list", { sessionId = chat.session_id }, function(list_err, listing)
      if list_err then
        return client.report(list_err)
      end
      show(lines_of(chat, listing, stored.policies))
    end)
  end)
end

function M.revoke()
  client.request("tools/policy/list", vim.empty_dict(), function(err, stored)
    if err then
      return client.report(err)
    end
    if #stored.policies == 0 then
      return vim.notify("chatd: no tool is always allowed or always rejected", vim.log.levels.INFO)
    end
    local prompt = "forget which answer (the tool asks again)"
    vim.ui.select(stored.policies, { prompt = prompt, format_item = policy_line }, function(policy)
      if not policy then
        return
      end
      local params = { workspace = policy.workspace, tool = policy.tool }
      client.request("tools/policy/revoke", params, function(revoke_err, _)
        if revoke_err then
          return client.report(revoke_err)
        end
        vim.notify("chatd: " .. policy.tool .. " asks again from its next call", vim.log.levels.INFO)
      end)
    end)
  end)
end

return M
