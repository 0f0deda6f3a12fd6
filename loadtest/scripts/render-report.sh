#!/usr/bin/env bash
# Renders a load-test HTML report in headless Chromium (installed from Debian's packages when missing), saves a
# screenshot next to it, and fails unless the rendered DOM holds the charts: at least one SVG with drawn series.
#
# Usage: loadtest/scripts/render-report.sh REPORT.html [SCREENSHOT.png]
set -euo pipefail
HTML="$(readlink -f "$1")"
PNG="${2:-${HTML%.html}.png}"

if ! command -v chromium >/dev/null 2>&1; then
  sudo_cmd=""; [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends chromium
fi

profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
# No network here: without the background-networking flags Chromium keeps trying (and failing) to reach its services.
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --allow-file-access-from-files --disable-quic
  --no-first-run --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$profile")
DOM="$(chromium "${flags[@]}" --dump-dom "file://$HTML" 2>/dev/null)"
svgs=$(grep -o '<svg' <<<"$DOM" | wc -l)
series=$(grep -o '<polyline class="series"' <<<"$DOM" | wc -l)
chromium "${flags[@]}" --window-size=1280,2600 --screenshot="$PNG" "file://$HTML" >/dev/null 2>&1
[[ -s "$PNG" ]] || { echo "no screenshot written" >&2; exit 1; }
echo "rendered $HTML: $svgs charts, $series series; screenshot $PNG"
(( svgs >= 4 && series >= 4 )) || { echo "charts missing from the rendered page" >&2; exit 1; }
