--- `:GLM {subcommand}`: each forwards `{uri, range?, instruction?}` to a `glm.*`
--- server command with `client:exec_cmd`. A line range (`:3,5GLM fix`) takes whole
--- lines, a charwise visual selection exactly what is selected, no range the
--- cursor (the server then acts on the enclosing scope).
local api = vim.api
local M = {}

M.commands = {
  fix = 'glm.fix',
  rewrite = 'glm.rewrite',
  docstring = 'glm.docstring',
  tests = 'glm.tests',
  explain = 'glm.explain',
  revert = 'glm.revert',
  cancel = 'glm.cancel',
  prompt = 'glm.showPrompt',
}
M.names = vim.tbl_keys(M.commands)
table.sort(M.names)

local WHOLE_DOCUMENT = { revert = true, cancel = true, prompt = true }

local function range_of(opts, buf, encoding)
  local util = vim.lsp.util
  if opts.range == 0 then
    return util.make_range_params(0, encoding).range
  end
  if opts.range == 2 and vim.fn.visualmode() == 'v'
    and vim.fn.line("'<") == opts.line1 and vim.fn.line("'>") == opts.line2 then
    return util.make_given_range_params(nil, nil, buf, encoding).range
  end
  local last = api.nvim_buf_get_lines(buf, opts.line2 - 1, opts.line2, true)[1]
  return {
    start = { line = opts.line1 - 1, character = 0 },
    ['end'] = { line = opts.line2 - 1, character = vim.str_utfindex(last, encoding) },
  }
end

--- The messages glm.showPrompt returned, in a scratch markdown buffer below.
local function show_prompt(result)
  local lines = {}
  for _, message in ipairs(result.messages or {}) do
    local content = type(message.content) == 'string' and message.content or vim.inspect(message.content)
    vim.list_extend(lines, { '## ' .. message.role, '' })
    vim.list_extend(lines, vim.split(content, '\n', { plain = true }))
    lines[#lines + 1] = ''
  end
  local buf = api.nvim_create_buf(false, true)
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].bufhidden, vim.bo[buf].modifiable, vim.bo[buf].filetype = 'wipe', false, 'markdown'
  api.nvim_open_win(buf, true, { split = 'below' })
end

---@param opts vim.api.keyset.create_user_command.command_args
function M.run(opts)
  local sub = opts.fargs[1]
  local command = M.commands[sub]
  if not command then
    vim.notify(('GLM: unknown subcommand %q; use one of: %s'):format(sub, table.concat(M.names, ', ')),
      vim.log.levels.ERROR)
    return
  end
  local buf = api.nvim_get_current_buf()
  local client = vim.lsp.get_clients({ bufnr = buf, name = 'glm_lsp' })[1]
  if not client then
    vim.notify('GLM: glm-lsp is not attached to this buffer; see :checkhealth glm_lsp', vim.log.levels.ERROR)
    return
  end
  local arg = { uri = vim.uri_from_bufnr(buf) }
  if not WHOLE_DOCUMENT[sub] then
    arg.range = range_of(opts, buf, client.offset_encoding)
  end
  local function exec()
    client:exec_cmd({ title = 'GLM ' .. sub, command = command, arguments = { arg } }, { bufnr = buf },
      function(err, result)
        if err and err.code ~= -32800 then -- -32800: cancelled, nothing to say
          vim.notify(('GLM %s: %s'):format(sub, err.message), vim.log.levels.ERROR)
        elseif sub == 'prompt' and type(result) == 'table' then
          show_prompt(result)
        end
      end)
  end
  if sub ~= 'rewrite' then
    return exec()
  end
  local instruction = table.concat(opts.fargs, ' ', 2)
  if instruction ~= '' then
    arg.instruction = instruction
    return exec()
  end
  vim.ui.input({ prompt = 'GLM rewrite: ' }, function(input)
    if input and vim.trim(input) ~= '' then
      arg.instruction = input
      exec()
    end
  end)
end

--- Completion of the subcommand (the first argument only).
function M.complete(arglead, cmdline)
  local args = cmdline:gsub('^.-GLM!?%s*', '')
  if args:find('%s') then
    return {}
  end
  return vim.tbl_filter(function(name)
    return vim.startswith(name, arglead)
  end, M.names)
end

return M
