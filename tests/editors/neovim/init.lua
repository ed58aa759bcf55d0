-- The test Neovim's whole config: the plugin from editors/neovim, set up with the
-- options the Python test wrote (server command, fake provider URL); `T` is the harness.
_G.T = dofile(vim.env.GLM_TEST_HARNESS)
vim.opt.runtimepath:prepend(T.cfg.plugin)
vim.opt.swapfile = false
if T.cfg.setup then -- absent: the scenario calls setup() itself
  require('glm_lsp').setup(T.cfg.setup)
end
