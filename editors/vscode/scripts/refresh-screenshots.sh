#!/usr/bin/env bash
# Copy the screenshots the VS Code tests took (ghost text, a fix streaming in) from
# the ignored build folder into docs/, for a person refreshing the docs by hand:
#
#   python -m pytest tests/editors/vscode      # writes .cache/editors/screenshots/
#   editors/vscode/scripts/refresh-screenshots.sh
#
# CI never runs this: docs/ changes only when someone commits the new pictures.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../../.." && pwd)"
from="$repo/.cache/editors/screenshots"
to="$repo/docs/screenshots"
names=(vscode-ghost-text.png vscode-streamed-fix.png)

for name in "${names[@]}"; do
    if [[ ! -f "$from/$name" ]]; then
        echo "refresh-screenshots: $from/$name is missing; run: python -m pytest tests/editors/vscode" >&2
        exit 1
    fi
done
mkdir -p "$to"
for name in "${names[@]}"; do
    cp "$from/$name" "$to/$name"
    echo "refresh-screenshots: $to/$name"
done
