---@brief
---
--- glm-lsp brings the GLM-5.1 model into the editor: code actions (fix, rewrite,
--- docstring, tests), explain, and inline completion, streamed into the buffer as
--- standard LSP edits.
---
--- Install the server and set the key of your provider in the environment Neovim
--- starts from (`ZAI_API_KEY`, `BIGMODEL_API_KEY`, `OXEN_API_KEY`,
--- `RUNWARE_API_KEY`, or `GLM_API_KEY`):
--- ```sh
--- pip install glm-lsp
--- glm-lsp doctor
--- ```
---
--- Settings are the server's own (camelCase, see its README); send only what you
--- change, so `.glm-lsp.toml` and `GLM_LSP_*` still apply:
--- ```lua
--- vim.lsp.config('glm_lsp', {
---   init_options = { provider = 'zai', completion = { debounceMs = 150 } },
---   settings = { glm = { provider = 'zai', completion = { debounceMs = 150 } } },
--- })
--- ```

---@type vim.lsp.Config
return {
  cmd = { 'glm-lsp' },
  filetypes = {
    'c', 'cpp', 'cs', 'css', 'dart', 'elixir', 'go', 'haskell', 'html', 'java',
    'javascript', 'javascriptreact', 'json', 'kotlin', 'lua', 'markdown', 'php',
    'python', 'r', 'ruby', 'rust', 'scala', 'scss', 'sh', 'sql', 'swift', 'toml',
    'typescript', 'typescriptreact', 'vue', 'yaml', 'zig',
  },
  root_markers = { '.glm-lsp.toml', '.git' },
  -- A file outside any project (such as the explanation GLM opens beside the
  -- code) joins the running server instead of starting another one.
  reuse_client = function(client, config)
    return client.name == config.name and (config.root_dir == nil or client.root_dir == config.root_dir)
  end,
}
