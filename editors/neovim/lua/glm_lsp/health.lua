--- :checkhealth glm_lsp — the server, its version, the API key, one live request.
local health = vim.health
local M = {}

local KEY_VARIABLES = {
  zai = 'ZAI_API_KEY',
  bigmodel = 'BIGMODEL_API_KEY',
  oxen = 'OXEN_API_KEY',
  runware = 'RUNWARE_API_KEY',
  openai = 'OPENAI_API_KEY',
}

--- Settings as the server's `GLM_LSP_*` variables (`completion.debounceMs` →
--- `GLM_LSP_COMPLETION__DEBOUNCE_MS`), so `glm-lsp doctor` checks what Neovim sends.
local function as_env(settings, prefix, env)
  for key, value in pairs(settings) do
    local name = prefix .. key:gsub('%u', '_%0'):upper()
    if type(value) == 'table' and not vim.islist(value) then
      as_env(value, name .. '__', env)
    else
      env[name] = type(value) == 'table' and vim.json.encode(value) or tostring(value)
    end
  end
  return env
end

local function last_line(result)
  local lines = vim.split(vim.trim(result.code == 0 and result.stdout or result.stderr or ''), '\n')
  return lines[#lines] ~= '' and lines[#lines] or ('exit code ' .. result.code)
end

function M.check()
  health.start('glm-lsp server')
  if vim.fn.has('nvim-0.11') == 0 then
    health.error('glm_lsp needs Neovim 0.11+', 'Upgrade Neovim to 0.11 or later.')
    return
  end
  local config = vim.lsp.config.glm_lsp or {}
  local cmd = config.cmd
  if type(cmd) ~= 'table' then
    health.info('`cmd` is a function (e.g. a TCP connection): the server binary is not checked.')
    return
  end
  local path = vim.fn.exepath(cmd[1])
  if path == '' then
    health.error(('`%s` not found'):format(cmd[1]), {
      'Install the server: `pip install glm-lsp` (see the glm-lsp README).',
      'Or point require("glm_lsp").setup{ cmd = { "/path/to/glm-lsp" } } at it.',
    })
    return
  end
  health.ok('server found: ' .. path)
  -- `glm-lsp serve` → `glm-lsp --version`, `glm-lsp doctor`
  local base = vim.list_slice(cmd, 1, cmd[#cmd] == 'serve' and #cmd - 1 or #cmd)
  local version = vim.system(vim.list_extend(vim.list_slice(base), { '--version' }), { text = true }):wait(20000)
  if version.code == 0 then
    health.ok('version: ' .. last_line(version))
  else
    health.error('`--version` failed: ' .. last_line(version), 'Reinstall it: `pip install -U glm-lsp`.')
  end

  health.start('API key')
  local settings = config.init_options or {}
  local provider = settings.provider or vim.env.GLM_LSP_PROVIDER or 'zai'
  local variable = KEY_VARIABLES[provider] or 'GLM_API_KEY'
  if settings.apiKey then
    health.warn('apiKey is set in your Neovim config',
      ('Keep keys out of configs: export %s instead.'):format(variable))
  elseif (vim.env[variable] or '') ~= '' then
    health.ok(('key present: %s (provider %s)'):format(variable, provider))
  elseif (vim.env.GLM_API_KEY or '') ~= '' then
    health.ok(('key present: GLM_API_KEY (provider %s)'):format(provider))
  elseif provider == 'openai' then
    health.info('no key set: fine for a self-hosted server that needs none')
  else
    health.error(('no API key for provider %s'):format(provider),
      ('Export %s (or GLM_API_KEY) in the shell that starts Neovim.'):format(variable))
  end

  health.start('Live request (glm-lsp doctor)')
  local where = settings.baseUrl or ('the default URL of ' .. provider)
  local env = as_env(settings, 'GLM_LSP_', vim.deepcopy(config.cmd_env or {}))
  local doctor = vim.system(vim.list_extend(vim.list_slice(base), { 'doctor' }), { text = true, env = env })
    :wait(60000)
  if doctor.code == 0 then
    health.ok(('live request to %s: %s'):format(where, (last_line(doctor):gsub('^OK: ', ''))))
  else
    local why = last_line(doctor):gsub('^FAIL: ', '')
    health.error(('live request to %s failed: %s'):format(where, why), {
      'Run `glm-lsp doctor` in a shell: it prints every setting and where it came from.',
      'Check the key, `provider` and `baseUrl` (setup{ settings = … }, .glm-lsp.toml).',
    })
  end
end

return M
