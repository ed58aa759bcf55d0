-- A charwise visual selection, :'<,'>GLM rewrite, the instruction typed into vim.ui.input.
T.run(function()
  T.client()
  local buf = vim.api.nvim_get_current_buf()
  vim.ui.input = function(opts, on_confirm)
    T.obs.input_prompt = opts.prompt
    on_confirm(T.cfg.params.instruction)
  end
  vim.cmd('normal! 4G0v5G$\27') -- select, then Esc sets '< and '>
  vim.cmd("'<,'>GLM rewrite")
  local expected = table.concat(T.cfg.params.expected, '\n')
  T.wait('the rewritten text', function()
    return table.concat(T.lines(buf), '\n') == expected
  end)
  T.obs.lines = T.lines(buf)
end)
