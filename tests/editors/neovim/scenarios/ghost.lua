-- Ghost text: type in insert mode and a suggestion shows as virtual text; <C-]> hides it;
-- <Tab> then does its usual job; after <BS> the suggestion comes back and <Tab> accepts it.
-- Neovim 0.12 draws it natively (vim.lsp.inline_completion); 0.11 through glm_lsp.ghost.
T.run(function()
  local client = T.client()
  local buf = vim.api.nvim_get_current_buf()
  T.obs.advertised = client.server_capabilities.inlineCompletionProvider ~= nil
  T.obs.native = vim.lsp.inline_completion ~= nil
  assert(T.obs.advertised, 'the server does not advertise inlineCompletionProvider')
  local ns = vim.api.nvim_get_namespaces()[T.obs.native and 'nvim.lsp.inline_completion' or 'glm_lsp.ghost']
  local p = T.cfg.params
  local function marks()
    return ns and vim.api.nvim_buf_get_extmarks(buf, ns, 0, -1, { details = true }) or {}
  end
  local function line()
    return vim.api.nvim_buf_get_lines(buf, p.line - 1, p.line, true)[1]
  end

  vim.bo[buf].expandtab, vim.bo[buf].softtabstop = false, 0 -- <Tab> inserts one \t, <BS> deletes it
  vim.api.nvim_win_set_cursor(0, { p.line, 0 })
  vim.api.nvim_input('A' .. p.type)
  T.wait('ghost text', function()
    return #marks() > 0
  end, 10000)
  T.obs.shown = marks()[1][4]
  T.obs.typed = line()
  T.obs.mapping = vim.fn.maparg('<Tab>', 'i', false, true).desc

  vim.api.nvim_input('<C-]>')
  T.wait('the ghost text to go', function()
    return #marks() == 0
  end, 2000)
  T.obs.after_dismiss = line()
  vim.api.nvim_input('<Tab>')
  T.wait('<Tab> to insert whitespace', function()
    return line() ~= T.obs.typed
  end, 2000)
  T.obs.after_tab = line()

  vim.api.nvim_input('<BS>')
  T.wait('ghost text again', function()
    return line() == T.obs.typed and #marks() > 0
  end, 10000)
  vim.api.nvim_input('<Tab>')
  T.wait('the accepted line', function()
    return line() == p.expected
  end, 5000)
  T.obs.lines = T.lines(buf)
  T.obs.mode = vim.api.nvim_get_mode().mode
end)
