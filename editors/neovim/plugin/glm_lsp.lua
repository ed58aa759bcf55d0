-- :GLM {fix|rewrite|docstring|tests|explain|revert|cancel|prompt}, with ranges
-- and visual mode (:'<,'>GLM fix). The server starts from require('glm_lsp').setup{}.
if vim.g.loaded_glm_lsp then
  return
end
vim.g.loaded_glm_lsp = true

vim.api.nvim_create_user_command('GLM', function(opts)
  require('glm_lsp.commands').run(opts)
end, {
  nargs = '+',
  range = true,
  desc = 'GLM-5.1: fix, rewrite, docstring, tests, explain, revert, cancel, prompt',
  complete = function(arglead, cmdline)
    return require('glm_lsp.commands').complete(arglead, cmdline)
  end,
})
