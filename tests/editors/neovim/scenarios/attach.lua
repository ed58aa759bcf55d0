-- setup() loaded the plugin: the server attaches, advertises its commands, got only what was set.
T.run(function()
  local client = T.client()
  T.obs.name = client.name
  T.obs.commands = client.server_capabilities.executeCommandProvider.commands
  T.obs.init_options = client.config.init_options
  T.obs.settings = client.config.settings
  T.obs.root_dir = client.root_dir
  T.obs.offset_encoding = client.offset_encoding
  T.obs.completion = vim.fn.getcompletion('GLM ', 'cmdline')
  T.obs.completion_r = vim.fn.getcompletion("'<,'>GLM rew", 'cmdline')
  T.obs.completion_2nd = vim.fn.getcompletion('GLM fix ', 'cmdline')
  pcall(vim.cmd, 'GLM bogus') -- an error notification makes the Ex command fail
  vim.cmd('enew')
  pcall(vim.cmd, 'GLM fix')
end)
