#!/usr/bin/env bash
# Install Helix 25.01 (Debian trixie's `hx`) and tmux into a private directory,
# without touching the system: a private apt state pointed at the machine's own
# Debian mirror, `apt-get download` of the packages, `dpkg -x` into a root
# directory, and wrappers that run them through trixie's own loader (the
# system's glibc is too old for trixie's binaries).
#
#   tests/editors/helix/install.sh [DEST]     # default: <repo>/.cache/editors/helix
#   DEST/bin/hx --version                     # helix 25.01.1
#   DEST/bin/tmux -V                          # tmux 3.5a (the tests drive hx with it)
#
# Idempotent: exits at once when both wrappers already run. Needs apt-get, dpkg
# and the Debian mirror only; a few seconds, ~90 MB with the apt lists. The
# pytest fixture in tests/editors/helix/conftest.py runs this same script.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
dest="${1:-$repo/.cache/editors/helix}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
bin="$dest/bin"

if [[ -x "$bin/hx" && -x "$bin/tmux" ]] && "$bin/hx" --version >/dev/null 2>&1 \
    && "$bin/tmux" -V >/dev/null 2>&1; then
    echo "helix already installed: $("$bin/hx" --version), $("$bin/tmux" -V) ($bin)"
    exit 0
fi

# The machine's own Debian mirror: the first URIs: of the deb822 sources, else
# the first deb line of sources.list, else the public one.
mirror=""
if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
    mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
fi
if [[ -z "$mirror" && -r /etc/apt/sources.list ]]; then
    mirror="$(awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"

apt_dir="$dest/apt"
root="$dest/root"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs" "$bin"
echo "deb $mirror trixie main" >"$apt_dir/sources.list"
apt_opts=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o "Dir::Etc::SourceParts=/nonexistent"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir/cache"
    -o "Debug::NoLocking=1"
    -o "APT::Sandbox::User=root"
)

echo "helix: apt-get update (trixie main from $mirror)"
apt-get "${apt_opts[@]}" -q update >"$apt_dir/update.log" 2>&1 || {
    cat "$apt_dir/update.log" >&2
    exit 1
}

# hx links only libc, libm and libgcc_s (readelf -d on 25.01.1). tmux comes
# from trixie too, with its libraries, so the tests need no system tmux.
packages=(
    hx libc6 libgcc-s1
    tmux libevent-core-2.1-7t64 libjemalloc2 libsystemd0 libcap2 libtinfo6 libstdc++6
)
echo "helix: apt-get download ${packages[*]}"
(cd "$apt_dir/debs" && rm -f ./*.deb && apt-get "${apt_opts[@]}" -q download "${packages[@]}") \
    >"$apt_dir/download.log" 2>&1 || {
    cat "$apt_dir/download.log" >&2
    exit 1
}

rm -rf "$root"
mkdir -p "$root"
for deb in "$apt_dir"/debs/*.deb; do
    dpkg -x "$deb" "$root"
done

libdir="$root/usr/lib/x86_64-linux-gnu"
loader="$libdir/ld-linux-x86-64.so.2"
for needed in "$root/usr/lib/hx/hx" "$root/usr/lib/hx/runtime" "$root/usr/bin/tmux" "$loader"; do
    [[ -e "$needed" ]] || {
        echo "helix: $needed missing after dpkg -x" >&2
        exit 1
    }
done

cat >"$bin/hx" <<EOF
#!/bin/sh
# Helix 25.01 from Debian trixie through trixie's own loader
# (written by tests/editors/helix/install.sh).
export HELIX_RUNTIME="\${HELIX_RUNTIME:-$root/usr/lib/hx/runtime}"
exec "$loader" --library-path "$libdir" "$root/usr/lib/hx/hx" "\$@"
EOF
cat >"$bin/tmux" <<EOF
#!/bin/sh
# tmux from Debian trixie through trixie's own loader
# (written by tests/editors/helix/install.sh).
exec "$loader" --library-path "$libdir" "$root/usr/bin/tmux" "\$@"
EOF
chmod +x "$bin/hx" "$bin/tmux"

echo "helix installed: $("$bin/hx" --version), $("$bin/tmux" -V) ($bin)"
