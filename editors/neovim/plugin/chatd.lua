-- The :Chatd* commands; the plugin itself loads on first use.
if vim.g.loaded_chatd then
  return
end
vim.g.loaded_chatd = true

local function chatd()
  return require("chatd")
end

local command = vim.api.nvim_create_user_command

command("ChatdNew", function(opts)
  chatd().new(opts.bang)
end, { bang = true, desc = "chatd: a new conversation (! chooses provider and model)" })

command("ChatdSend", function(opts)
  if opts.range > 0 then
    chatd().send(opts.args, opts.line1, opts.line2)
  else
    chatd().send(opts.args)
  end
end, { nargs = "*", range = true, desc = "chatd: send the text, or the lines of the range" })

command("ChatdResume", function(opts)
  chatd().resume(opts.args)
end, { nargs = "?", desc = "chatd: resume a saved conversation (choose one without an id)" })

command("ChatdHistory", function()
  chatd().history()
end, { desc = "chatd: load older messages of this chat" })

command("ChatdCancel", function()
  chatd().cancel()
end, { desc = "chatd: cancel the running turn" })

command("ChatdDelete", function(opts)
  chatd().delete(opts.args)
end, { nargs = "?", desc = "chatd: delete a saved conversation" })

command("ChatdTools", function()
  chatd().show_tools()
end, { desc = "chatd: this chat's tools and the always allowed or rejected ones" })

command("ChatdRevoke", function()
  chatd().revoke()
end, { desc = "chatd: forget an always allowed or rejected tool (it asks again)" })

-- chatd://<conversation id> names a chat buffer: reading one (:edit, or a session file that
-- :mksession wrote) shows that conversation, so chats come back after Neovim restarts.
local CONVERSATION = "^chatd://(%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x)$"
local group = vim.api.nvim_create_augroup("chatd", { clear = true })
vim.api.nvim_create_autocmd("BufReadCmd", {
  group = group,
  pattern = "chatd://*",
  callback = function(event)
    local id = event.match:match(CONVERSATION)
    if id then
      chatd().read_buffer(event.buf, id)
    end
  end,
})
