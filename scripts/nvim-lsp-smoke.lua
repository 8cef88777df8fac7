-- A headless smoke test of `clanc lsp` with Neovim's built-in LSP client (the 0.7+ API:
-- start_client/buf_attach_client, which 0.11 still has). It only edits the buffer, never the
-- file. Run from the repository:
--
--   cargo build && CLANC=$PWD/target/debug/clanc \
--     nvim --headless --clean -u scripts/nvim-lsp-smoke.lua
--
-- and expect a C001 diagnostic, a hover on `press`, its definition in machines.nix, the
-- machine names as completion, then no diagnostics after the fix.
local clanc = os.getenv("CLANC")
local root = os.getenv("CLAN_ROOT") or (vim.fn.getcwd() .. "/fixtures/shapes/self-service")
local function out(s) io.stdout:write(s .. "\n") end
vim.cmd("edit " .. root .. "/modules/clan/site.nix")
local buf = vim.api.nvim_get_current_buf()
local id = vim.lsp.start_client({ name = "clanc", cmd = { clanc, "lsp" }, root_dir = root })
vim.lsp.buf_attach_client(buf, id)
local client = vim.lsp.get_client_by_id(id)
vim.wait(10000, function() return client.initialized end)
out("initialized: " .. tostring(client.initialized))
-- introduce a mistake in the unsaved buffer: a role names a machine that does not exist
vim.api.nvim_buf_set_lines(buf, 12, 12, false, { "    roles.client.machines.ghost = { };" })
vim.wait(15000, function() return #vim.diagnostic.get(buf) > 0 end)
for _, d in ipairs(vim.diagnostic.get(buf)) do
  out(string.format("diagnostic %s line %d col %d: %s", d.code or d.user_data and d.user_data.lsp.code or "?", d.lnum + 1, d.col + 1, d.message))
end
-- hover on `press` (line 8: "    roles.server.machines.press.settings = {")
local params = { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = 7, character = 27 } }
local res = vim.lsp.buf_request_sync(buf, "textDocument/hover", params, 10000)
for _, r in pairs(res or {}) do
  if r.result then out("hover: " .. r.result.contents.value:gsub("\n", " | ")) end
end
local res = vim.lsp.buf_request_sync(buf, "textDocument/definition", params, 10000)
for _, r in pairs(res or {}) do
  if r.result then
    local loc = r.result[1] or r.result
    out("definition: " .. loc.uri .. " line " .. (loc.range.start.line + 1))
  end
end
-- completion after `roles.server.machines.` typed on a new line (the buffer does not parse)
vim.api.nvim_buf_set_lines(buf, 13, 13, false, { "    roles.server.machines." })
local res = vim.lsp.buf_request_sync(buf, "textDocument/completion",
  { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = 13, character = 26 } }, 10000)
for _, r in pairs(res or {}) do
  local labels = {}
  for _, item in ipairs(r.result and (r.result.items or r.result) or {}) do table.insert(labels, item.label) end
  table.sort(labels)
  out("completion: " .. table.concat(labels, " "))
end
vim.api.nvim_buf_set_lines(buf, 13, 14, false, {})
-- fix: remove the line again, diagnostics clear
vim.api.nvim_buf_set_lines(buf, 12, 13, false, {})
vim.wait(15000, function() return #vim.diagnostic.get(buf) == 0 end)
out("after fix: " .. #vim.diagnostic.get(buf) .. " diagnostics")
vim.lsp.stop_client(id)
vim.wait(5000, function() return vim.lsp.get_client_by_id(id) == nil end)
out("stopped: " .. tostring(vim.lsp.get_client_by_id(id) == nil))
vim.cmd("qa!")
