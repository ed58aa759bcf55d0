-- What every scenario shares: the test's settings, a coroutine runner whose waits
-- leave Neovim's main loop free (typed keys, LSP messages and timers keep flowing),
-- a watchdog, and the observations written as JSON for the Python test to read.
local T = { obs = { notifications = {}, echoes = {}, progress = {} } }
T.cfg = vim.json.decode(table.concat(vim.fn.readfile(vim.env.GLM_TEST_CONFIG), '\n'), { luanil = { object = true } })

local notify = vim.notify
vim.notify = function(msg, level, opts)
  table.insert(T.obs.notifications, { msg = msg, level = level or vim.log.levels.INFO })
  return notify(msg, level, opts)
end

local echo = vim.api.nvim_echo
vim.api.nvim_echo = function(chunks, history, opts)
  local text = {}
  for _, chunk in ipairs(chunks) do
    text[#text + 1] = chunk[1]
  end
  table.insert(T.obs.echoes, table.concat(text))
  return echo(chunks, history, opts)
end

vim.api.nvim_create_autocmd('LspProgress', {
  callback = function(args)
    local value = args.data.params.value
    table.insert(T.obs.progress, { kind = value.kind, title = value.title, message = value.message })
  end,
})

local function write(exit)
  vim.fn.writefile({ vim.json.encode(T.obs) }, T.cfg.out)
  vim.cmd(exit)
end

function T.fail(message)
  T.obs.error = message
  write('cquit 1')
end

function T.finish()
  T.obs.ok = true
  write('qa!')
end

local co ---@type thread

local function resume(...)
  local ok, err = coroutine.resume(co, ...)
  if not ok then
    T.fail(debug.traceback(co, err))
  end
end

--- Run {fn} as the scenario; it fails on an error or when the watchdog fires.
function T.run(fn)
  vim.defer_fn(function()
    T.fail(('watchdog: the scenario took longer than %d s'):format(T.cfg.watchdog))
  end, T.cfg.watchdog * 1000)
  co = coroutine.create(function()
    fn()
    T.finish()
  end)
  vim.schedule(resume)
end

--- Wait until {predicate} is true (polled every 10 ms), or fail naming {what}.
function T.wait(what, predicate, ms)
  local deadline = vim.uv.now() + (ms or 15000)
  local function poll()
    local ok, done = pcall(predicate)
    if ok and done then
      resume(true)
    elseif vim.uv.now() > deadline then
      resume(false, ok and 'still false' or done)
    else
      vim.defer_fn(poll, 10)
    end
  end
  vim.defer_fn(poll, 0)
  local ok, why = coroutine.yield()
  if not ok then
    error(('timed out waiting for %s (%s)'):format(what, why), 0)
  end
end

function T.sleep(ms)
  vim.defer_fn(resume, ms)
  coroutine.yield()
end

function T.lines(buf)
  return vim.api.nvim_buf_get_lines(buf or 0, 0, -1, false)
end

--- The glm_lsp client, once it has attached to the current buffer.
function T.client()
  local buf = vim.api.nvim_get_current_buf()
  T.wait('glm_lsp to attach', function()
    local client = vim.lsp.get_clients({ bufnr = buf, name = 'glm_lsp' })[1]
    return client and client.initialized
  end)
  return vim.lsp.get_clients({ bufnr = buf, name = 'glm_lsp' })[1]
end

--- Every distinct text of {buf} while the scenario runs (to see edits stream in).
function T.record_states(buf)
  local states, last = {}, nil
  local function snap()
    local text = table.concat(T.lines(buf), '\n')
    if text ~= last then
      states[#states + 1], last = text, text
    end
  end
  snap()
  vim.api.nvim_buf_attach(buf, false, { on_lines = function()
    vim.schedule(snap)
  end })
  return states
end

return T
