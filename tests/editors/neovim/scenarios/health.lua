-- :checkhealth glm_lsp, read from the health buffer.
T.run(function()
  vim.cmd('checkhealth glm_lsp')
  T.obs.health = T.lines()
end)
