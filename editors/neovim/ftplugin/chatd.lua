-- Chat buffers: thinking sits between fold markers and starts folded.
vim.opt_local.foldmethod = "marker"
vim.opt_local.foldlevel = 0
vim.opt_local.wrap = true
vim.opt_local.linebreak = true
vim.opt_local.number = false
-- The header (provider/model, tokens, state) stays in sight in the status line.
vim.opt_local.statusline = "%{get(b:, 'chatd_status', 'chatd')}%=%l/%L"
