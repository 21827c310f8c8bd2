#!/usr/bin/env bash
# Screenshot a leaderboard page in headless Chromium (no network, throwaway profile).
#
# usage: scripts/screenshot_leaderboard.sh SOURCE OUT_PNG [WIDTHxHEIGHT]
#   SOURCE  a leaderboard index.html, a folder of submissions (ranked with
#           `python -m bench leaderboard`, which needs the task data, see --data-dir),
#           or --demo for synthetic submissions that need no data
#   OUT_PNG where to write the PNG, for example results/leaderboard/screenshot.png
# Needs chromium (Debian: apt-get install chromium) and the project's venv active.
set -euo pipefail

if [[ $# -lt 2 ]]; then
    sed -n '2,10p' "$0"
    exit 2
fi
source_arg=$1
out_png=$2
size=${3:-1200x800}

browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$browser" ]]; then
    echo "error: chromium not found; install it with: apt-get install -y chromium" >&2
    exit 1
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

if [[ "$source_arg" == "--demo" ]]; then
    page=$(python -m bench.submission.synthetic "$scratch/site")
elif [[ -d "$source_arg" ]]; then
    python -m bench leaderboard "$source_arg" -o "$scratch/site"
    page="$scratch/site/index.html"
elif [[ -f "$source_arg" ]]; then
    page=$source_arg
else
    echo "error: $source_arg is neither --demo, a submissions folder nor an HTML file" >&2
    exit 2
fi

mkdir -p "$(dirname "$out_png")"
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$scratch/profile" --hide-scrollbars \
    --screenshot="$(realpath -m "$out_png")" --window-size="${size/x/,}" \
    "file://$(realpath "$page")" 2>"$scratch/chromium.log" || {
    cat "$scratch/chromium.log" >&2
    exit 1
}
echo "wrote $out_png"
