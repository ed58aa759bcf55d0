-- cmd = { 'glm-lsp-does-not-exist' }: a clear error at setup, and in :checkhealth.
T.run(function()
  T.sleep(500) -- time for a client to start, if one wrongly did
  T.obs.clients = #vim.lsp.get_clients({ name = 'glm_lsp' })
  vim.cmd('checkhealth glm_lsp')
  T.obs.health = T.lines()
end)
