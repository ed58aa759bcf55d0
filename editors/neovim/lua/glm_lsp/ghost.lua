--- Ghost text: GLM's inline completions (`textDocument/inlineCompletion`, LSP 3.18).
---
--- Neovim 0.12+ draws them natively (`vim.lsp.inline_completion`). On 0.11 this
--- module asks after typing (`TextChangedI`, debounced; the previous request is
--- cancelled), shows the first line at the cursor and the rest as virtual lines,
--- and hides it on typing, cursor moves and `InsertLeave`. Accepting puts
--- `insertText` over `range`.
local api = vim.api
local native = vim.lsp.inline_completion
local M = {}

local METHOD = 'textDocument/inlineCompletion'
local ns = api.nvim_create_namespace('glm_lsp.ghost')
local state = {} ---@type table<integer, table> bufnr → { client, timer, seq, at?, request?, item? }

local function highlight()
  api.nvim_set_hl(0, 'GlmGhostText', { link = 'Comment', default = true })
end
highlight()
api.nvim_create_autocmd('ColorScheme', { group = api.nvim_create_augroup('glm_lsp.ghost', {}), callback = highlight })

local function in_insert(buf)
  return api.nvim_get_current_buf() == buf and api.nvim_get_mode().mode:sub(1, 1) == 'i'
end

--- Byte column of an LSP position in the client's encoding.
local function col_of(buf, pos, encoding)
  local line = api.nvim_buf_get_lines(buf, pos.line, pos.line + 1, false)[1] or ''
  return vim.str_byteindex(line, encoding, pos.character, false)
end

local function hide(buf)
  local s = state[buf]
  if not s then
    return
  end
  s.seq, s.item = s.seq + 1, nil -- answers to earlier requests are dropped
  s.timer:stop()
  if s.request then
    s.client:cancel_request(s.request)
    s.request = nil
  end
  api.nvim_buf_clear_namespace(buf, ns, 0, -1)
end

--- Draw {item} at the cursor: the part of `insertText` not typed yet.
local function show(buf, s, item)
  local row, col = unpack(api.nvim_win_get_cursor(0))
  row = row - 1
  local text, snippet = item.insertText, type(item.insertText) == 'table'
  text = snippet and text.value or text
  local range = { row, col, row, col }
  if item.range then
    local enc = s.client.offset_encoding
    local r = item.range
    range = { r.start.line, col_of(buf, r.start, enc), r['end'].line, col_of(buf, r['end'], enc) }
  end
  if range[1] > row or (range[1] == row and range[2] > col) then
    return -- the suggestion must start at or before the cursor
  end
  local typed = table.concat(api.nvim_buf_get_text(buf, range[1], range[2], row, col, {}), '\n')
  if text:sub(1, #typed) ~= typed or #text == #typed then
    return
  end
  local lines = vim.split(text:sub(#typed + 1), '\n', { plain = true })
  local virt_lines = {}
  for i = 2, #lines do
    virt_lines[#virt_lines + 1] = { { lines[i], 'GlmGhostText' } }
  end
  api.nvim_buf_set_extmark(buf, ns, row, col, {
    virt_text = { { lines[1], 'GlmGhostText' } },
    virt_text_pos = 'inline',
    virt_lines = virt_lines,
    hl_mode = 'combine',
  })
  s.item = { text = text, snippet = snippet, range = range, command = item.command }
end

local function request(buf)
  local s = state[buf]
  if not s or not in_insert(buf) then
    return
  end
  local params = vim.lsp.util.make_position_params(0, s.client.offset_encoding)
  params.context = { triggerKind = 2 } -- Automatic
  local seq, tick = s.seq, api.nvim_buf_get_changedtick(buf)
  local ok, id = s.client:request(METHOD, params, function(err, result)
    if seq ~= s.seq then
      return -- superseded
    end
    s.request = nil
    if err then
      vim.lsp.log.warn('glm_lsp: inlineCompletion failed', err)
    end
    if err or not result or not in_insert(buf) or api.nvim_buf_get_changedtick(buf) ~= tick then
      return
    end
    local item = (result.items or result)[1]
    if item then
      show(buf, s, item)
    end
  end, buf)
  s.request = ok and id or nil
end

---@param client vim.lsp.Client
---@param buf integer
---@param debounce_ms integer
function M.attach(client, buf, debounce_ms)
  if native then
    native.enable(true, { bufnr = buf })
    return
  end
  if state[buf] then
    return
  end
  local s = { client = client, seq = 0, timer = assert(vim.uv.new_timer()) }
  state[buf] = s
  local group = api.nvim_create_augroup('glm_lsp.ghost.' .. buf, { clear = true })
  local function on(events, fn)
    api.nvim_create_autocmd(events, { group = group, buffer = buf, callback = fn })
  end
  on('TextChangedI', function()
    hide(buf)
    s.at = api.nvim_win_get_cursor(0)
    s.timer:start(debounce_ms, 0, vim.schedule_wrap(function()
      request(buf)
    end))
  end)
  on('InsertCharPre', function()
    hide(buf)
  end)
  on('CursorMovedI', function()
    if not vim.deep_equal(s.at, api.nvim_win_get_cursor(0)) then
      hide(buf)
    end
  end)
  on({ 'InsertLeave', 'BufLeave' }, function()
    hide(buf)
  end)
  on('LspDetach', function(args)
    if args.data.client_id == client.id then
      hide(buf)
      s.timer:close()
      state[buf] = nil
      api.nvim_del_augroup_by_id(group)
    end
  end)
end

--- Put the shown suggestion into the buffer; false when none is shown.
---@param buf integer
---@return boolean
function M.accept(buf)
  if native then
    return native.get({ bufnr = buf })
  end
  local s = state[buf]
  local item = s and s.item
  if not item then
    return false
  end
  vim.schedule(function() -- called from an <expr> mapping, where the buffer cannot change
    hide(buf)
    local srow, scol, erow, ecol = unpack(item.range)
    local lines = vim.split(item.snippet and '' or item.text, '\n', { plain = true })
    api.nvim_buf_set_text(buf, srow, scol, erow, ecol, lines)
    api.nvim_win_set_cursor(0, { srow + #lines, (#lines == 1 and scol or 0) + #lines[#lines] })
    if item.snippet then
      vim.snippet.expand(item.text)
    end
    if item.command then
      s.client:exec_cmd(item.command, { bufnr = buf })
    end
  end)
  return true
end

--- Hide the shown suggestion; false when none is shown.
---@param buf integer
---@return boolean
function M.dismiss(buf)
  if native then
    return native.get({ bufnr = buf, on_accept = function() end })
  end
  local shown = state[buf] ~= nil and state[buf].item ~= nil
  hide(buf)
  return shown
end

return M
