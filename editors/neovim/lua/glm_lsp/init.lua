--- glm_lsp: GLM-5.1 in Neovim through the glm-lsp language server.
---
--- `setup()` registers the `glm_lsp` config (lsp/glm_lsp.lua) with your options
--- and enables it; when the server attaches, ghost text and its keys are wired
--- and its progress is echoed. The server does the work; this is a thin shim.
local M = {}

---@class glm_lsp.Options
---@field cmd? string[]|fun(dispatchers: vim.lsp.rpc.Dispatchers): vim.lsp.rpc.PublicClient Server command
---@field filetypes? string[] Filetypes to attach to (default: those of lsp/glm_lsp.lua)
---@field settings? table glm-lsp settings, camelCase as in its README; sent only when set
---@field ghost_text? glm_lsp.GhostTextOptions
---@field progress? boolean Echo GLM progress messages

---@class glm_lsp.GhostTextOptions
---@field enabled? boolean
---@field accept? string|false Insert-mode key accepting the suggestion (falls back to the key itself)
---@field dismiss? string|false Insert-mode key hiding the suggestion
---@field debounce_ms? integer Neovim 0.11 only: wait after typing before asking

---@type glm_lsp.Options
M.defaults = {
  settings = {},
  ghost_text = { enabled = true, accept = '<Tab>', dismiss = '<C-]>', debounce_ms = 75 },
  progress = true,
}

---@type glm_lsp.Options
M.options = vim.deepcopy(M.defaults)

local titles = {} ---@type table<integer|string, string>

--- `LspProgress`: one short line per GLM progress message.
local function echo_progress(args)
  local client = vim.lsp.get_client_by_id(args.data.client_id)
  local token, value = args.data.params.token, args.data.params.value
  if not client or client.name ~= 'glm_lsp' or type(value) ~= 'table' then
    return
  end
  titles[token] = value.title or titles[token]
  local line = ('%s: %s'):format(titles[token] or 'GLM', ((value.message or ''):gsub('%s+', ' ')))
  if value.kind == 'end' then
    titles[token] = nil
  end
  vim.api.nvim_echo({ { vim.fn.strcharpart(line, 0, math.max(vim.v.echospace, 20)) } }, false, {})
end

local function on_attach(client, buf)
  local ghost = M.options.ghost_text
  if not ghost.enabled or not client.server_capabilities.inlineCompletionProvider then
    return
  end
  require('glm_lsp.ghost').attach(client, buf, ghost.debounce_ms)
  local function map(lhs, fn, desc)
    if lhs then -- the key does its usual job when no suggestion is shown
      vim.keymap.set('i', lhs, function()
        return fn(buf) and '' or lhs
      end, { buffer = buf, expr = true, desc = desc })
    end
  end
  map(ghost.accept, M.accept, 'GLM: accept the suggestion')
  map(ghost.dismiss, M.dismiss, 'GLM: dismiss the suggestion')
end

--- Accept the suggestion shown in {buf}; false when none is shown (map a fallback with it).
---@param buf? integer
---@return boolean
function M.accept(buf)
  return require('glm_lsp.ghost').accept(buf or vim.api.nvim_get_current_buf())
end

--- Hide the suggestion shown in {buf}; false when none is shown.
---@param buf? integer
---@return boolean
function M.dismiss(buf)
  return require('glm_lsp.ghost').dismiss(buf or vim.api.nvim_get_current_buf())
end

---@param opts? glm_lsp.Options
function M.setup(opts)
  if vim.fn.has('nvim-0.11') == 0 then
    vim.notify('glm_lsp needs Neovim 0.11+', vim.log.levels.ERROR)
    return
  end
  opts = vim.tbl_deep_extend('force', M.defaults, opts or {})
  vim.validate('cmd', opts.cmd, { 'table', 'function' }, true)
  vim.validate('filetypes', opts.filetypes, 'table', true)
  vim.validate('settings', opts.settings, 'table')
  vim.validate('ghost_text', opts.ghost_text, 'table')
  vim.validate('ghost_text.enabled', opts.ghost_text.enabled, 'boolean')
  for _, key in ipairs({ 'accept', 'dismiss' }) do
    vim.validate('ghost_text.' .. key, opts.ghost_text[key], function(v)
      return v == false or type(v) == 'string'
    end, 'a key such as "<Tab>", or false')
  end
  vim.validate('ghost_text.debounce_ms', opts.ghost_text.debounce_ms, 'number')
  vim.validate('progress', opts.progress, 'boolean')
  M.options = opts

  local config = { cmd = opts.cmd, filetypes = opts.filetypes }
  if next(opts.settings) then -- only what the user set: files and GLM_LSP_* still count
    config.init_options = opts.settings
    config.settings = { glm = opts.settings }
  end
  vim.lsp.config('glm_lsp', config)
  local cmd = vim.lsp.config.glm_lsp.cmd
  if type(cmd) == 'table' and vim.fn.executable(cmd[1]) == 0 then
    vim.notify(
      ('glm_lsp: the language server `%s` was not found. Install it with `pip install glm-lsp` '
        .. '(see the glm-lsp README), or set `cmd` in require("glm_lsp").setup{}.'):format(cmd[1]),
      vim.log.levels.ERROR
    )
  end
  vim.lsp.enable('glm_lsp')

  local group = vim.api.nvim_create_augroup('glm_lsp', { clear = true })
  vim.api.nvim_create_autocmd('LspAttach', {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == 'glm_lsp' then
        on_attach(client, args.buf)
      end
    end,
  })
  if opts.progress then
    vim.api.nvim_create_autocmd('LspProgress', { group = group, callback = echo_progress })
  end
end

return M
