-- :3,5GLM fix streams the fixed lines in; :GLM prompt shows what was sent; :GLM revert undoes it.
T.run(function()
  T.client()
  local buf = vim.api.nvim_get_current_buf()
  local states = T.record_states(buf)
  vim.cmd('3,5GLM fix')
  local expected = table.concat(T.cfg.params.expected, '\n')
  T.wait('the fixed text', function()
    return table.concat(T.lines(buf), '\n') == expected
  end)
  T.obs.fixed = T.lines(buf)
  T.obs.states = states
  T.wait('the progress to end', function()
    return vim.iter(T.obs.progress):any(function(p) return p.kind == 'end' end)
  end)

  vim.cmd('GLM prompt')
  T.wait('the prompt window', function()
    return vim.api.nvim_get_current_buf() ~= buf
  end)
  T.obs.prompt = { lines = T.lines(), filetype = vim.bo.filetype, buftype = vim.bo.buftype }
  vim.cmd('close')

  vim.cmd('GLM revert')
  local original = table.concat(T.cfg.params.original, '\n')
  T.wait('the original text back', function()
    return table.concat(T.lines(buf), '\n') == original
  end)
  T.obs.reverted = T.lines(buf)
end)
