#!/usr/bin/env bash
# Install what tests/editors/vscode needs, idempotently:
#
#   1. Debian packages: chromium (driven headless by playwright-core), and for
#      code-server's install: libkrb5-dev + pkg-config (its native `kerberos`
#      module) and ripgrep (see 2);
#   2. code-server 4.100.3 (VS Code 1.100.3, the last for Node 20) and
#      playwright-core, pinned by tests/editors/vscode/package-lock.json, with
#      `npm ci` into DEST/tools. @vscode/ripgrep's postinstall downloads rg from
#      GitHub (unreachable here) unless its cache already holds the tarball: it
#      is made from Debian's rg, in a TMPDIR inside DEST;
#   3. the extension: `npm ci && npm run package` in editors/vscode →
#      editors/vscode/glm-lsp.vsix (skipped when newer than its sources).
#
#   tests/editors/vscode/install.sh [DEST]     # default: <repo>/.cache/editors/vscode
#
# Needs root (or sudo) for apt-get, Node 20 + npm, and the npm registry and the
# Debian mirror. Every download and cache stays in <repo>/.cache/editors/ (npm's
# cache in .cache/editors/npm-cache) or editors/vscode/node_modules. The pytest
# fixture in tests/editors/vscode/conftest.py runs this same script.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
dest="${1:-$repo/.cache/editors/vscode}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
extension="$repo/editors/vscode"
export npm_config_cache="$repo/.cache/editors/npm-cache"
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
# node-gyp (code-server's native modules) builds against the local Node headers when
# present; otherwise it downloads them, into the cache too.
node_prefix="$(dirname "$(dirname "$(command -v node)")")"
if [[ -z "${npm_config_nodedir:-}" && -f "$node_prefix/include/node/node.h" ]]; then
    export npm_config_nodedir="$node_prefix"
fi
export npm_config_devdir="$repo/.cache/editors/node-gyp"
log() { echo "vscode-tests: $*"; }
stage_start=$SECONDS
took() { echo "vscode-tests: $* ($((SECONDS - stage_start)) s)"; stage_start=$SECONDS; }

# ----------------------------------------------------------------- 1. Debian packages
packages=(chromium libkrb5-dev pkg-config ripgrep)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    sudo=""
    if [[ $(id -u) != 0 ]]; then
        command -v sudo >/dev/null || { echo "vscode-tests: need root or sudo to apt-get install ${missing[*]}" >&2; exit 1; }
        sudo="sudo"
    fi
    log "apt-get install ${missing[*]}"
    { $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive \
        $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$dest/apt.log" 2>&1 \
        || { tail -30 "$dest/apt.log" >&2; exit 1; }
    took "apt-get done"
else
    log "Debian packages present: ${packages[*]}"
fi

# ----------------------------------------------------------------- 2. code-server + playwright-core
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [[ "$node_major" != 20 ]]; then
    echo "vscode-tests: code-server 4.100.3 needs Node 20, found $(node --version)" >&2
    exit 1
fi
tools="$dest/tools"
# code-server writes a config file and logs under HOME / XDG dirs, even for --version: keep them here.
code_server() {
    HOME="$dest/home" XDG_CONFIG_HOME="$dest/home/.config" XDG_DATA_HOME="$dest/home/.local/share" \
        "$tools/node_modules/.bin/code-server" "$@"
}
if [[ -x "$tools/node_modules/.bin/code-server" ]] && cmp -s "$here/package-lock.json" "$tools/package-lock.json" \
    && code_server --version >/dev/null 2>&1; then
    log "code-server present: $(code_server --version | tail -1)"
else
    rm -rf "$tools"
    mkdir -p "$tools"
    cp "$here/package.json" "$here/package-lock.json" "$tools/"
    # @vscode/ripgrep 1.15.11 (pinned by code-server 4.100.3) looks for
    # $TMPDIR/vscode-ripgrep-cache-1.15.11/ripgrep-v13.0.0-10-<target>.tar.gz first.
    export TMPDIR="$dest/tmp"
    rg_cache="$TMPDIR/vscode-ripgrep-cache-1.15.11"
    mkdir -p "$rg_cache"
    tar czf "$rg_cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$(dirname "$(command -v rg)")" rg
    log "npm ci code-server + playwright-core into $tools (about a minute)"
    (cd "$tools" && npm_config_unsafe_perm=true npm_config_yes=true npm ci --no-audit --no-fund) \
        >"$dest/npm-ci.log" 2>&1 || { tail -40 "$dest/npm-ci.log" >&2; exit 1; }
    cp "$here/package-lock.json" "$tools/package-lock.json"
    took "code-server installed: $(code_server --version | tail -1)"
fi

# ----------------------------------------------------------------- 3. the .vsix
vsix="$extension/glm-lsp.vsix"
if [[ -f "$vsix" && -d "$extension/node_modules" ]] && [[ -z "$(find "$extension/src" "$extension/package.json" \
    "$extension/package-lock.json" "$extension/esbuild.mjs" "$extension/README.md" -newer "$vsix" 2>/dev/null)" ]]; then
    log "extension up to date: $vsix"
else
    log "building $vsix"
    (cd "$extension" && npm ci --no-audit --no-fund && npm run package) >"$dest/vsix.log" 2>&1 \
        || { tail -40 "$dest/vsix.log" >&2; exit 1; }
    took "extension built: $vsix"
fi
