-- :3,5GLM explain opens the explanation beside the code, filled as it streams.
T.run(function()
  T.client()
  local code_win = vim.api.nvim_get_current_win()
  vim.cmd('3,5GLM explain')
  local wanted = T.cfg.params.explanation
  local function explanation_win()
    for _, win in ipairs(vim.api.nvim_list_wins()) do
      local buf = vim.api.nvim_win_get_buf(win)
      if vim.api.nvim_buf_get_name(buf):match('%.md$') then
        return win, buf
      end
    end
  end
  T.wait('the explanation window', function()
    local win, buf = explanation_win()
    return win and vim.endswith(vim.trim(table.concat(T.lines(buf), '\n')), wanted)
  end)
  local win, buf = explanation_win()
  T.obs.name = vim.api.nvim_buf_get_name(buf)
  T.obs.lines = T.lines(buf)
  T.obs.filetype = vim.bo[buf].filetype
  T.obs.windows = #vim.api.nvim_list_wins()
  T.obs.focus_stayed = vim.api.nvim_get_current_win() == code_win
  T.wait('the progress to end', function()
    return vim.iter(T.obs.progress):any(function(p) return p.kind == 'end' end)
  end)
  T.sleep(300) -- the explanation buffer may attach a client: it must be the same one
  T.obs.clients = #vim.lsp.get_clients({ name = 'glm_lsp' })
  T.obs.win_valid = vim.api.nvim_win_is_valid(win)
end)
