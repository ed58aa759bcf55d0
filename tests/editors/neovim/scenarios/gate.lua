-- setup() on a Neovim without 0.11 features (vim.fn.has('nvim-0.11') faked to 0).
T.run(function()
  local has = vim.fn.has
  vim.fn.has = function(feature)
    return feature == 'nvim-0.11' and 0 or has(feature)
  end
  local ok, err = pcall(require('glm_lsp').setup, {})
  vim.fn.has = has
  T.obs.setup_ok, T.obs.setup_err = ok, err and tostring(err)
  T.obs.enabled = vim.lsp.is_enabled('glm_lsp')
  T.obs.augroup = pcall(vim.api.nvim_get_autocmds, { group = 'glm_lsp' })
  T.sleep(300)
  T.obs.clients = #vim.lsp.get_clients({ name = 'glm_lsp' })
end)
