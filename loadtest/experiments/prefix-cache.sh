#!/usr/bin/env bash
# What the workers' prefix cache saves on a shared-system-prompt workload: the same load test twice on the same
# ./disagg local cluster, once with the cache off and once on, compared by TTFT and prefix cache hit ratio.
#
#   A. prefix-off:  ./disagg local --worker-arg=--backend-option=java.prefix-cache=false
#   B. prefix-on:   ./disagg local (the cache is on by default)
#
# Every prompt is PREFIX_TOKENS of shared "system prompt" followed by INPUT_TOKENS of its own. Both runs use the same
# seed, so they send the same prompts (the same prefix included) in the same order. The default lengths fit the
# embedded stories260K model (context 512): 256 + 32 prompt tokens + at most 16 generated. Prompts are token ids by
# default, so the lengths are exact whatever the model's vocabulary (stories260K's 512 tokens split most English
# words, so text prompts would come out longer than asked). Traffic goes to loopback only.
#
# Usage: loadtest/experiments/prefix-cache.sh --model FILE [OUT_DIR]
# Environment (defaults in brackets):
#   ROUTER_TARGET  [localhost:50051]  where ./disagg local serves gRPC
#   LOCAL_ARGS     []                 extra flags for ./disagg local (both runs)
#   PREFIX_TOKENS  [256]              shared prefix length (--shared-prefix-tokens)
#   PREFIX_GROUPS  [1]                distinct shared prefixes (--prefix-groups)
#   INPUT_TOKENS   [32]               per-request part after the prefix (chat lengths capped; fixed when <= 64)
#   OUTPUT_TOKENS  [16]               generated tokens (chat lengths capped; fixed when <= 64)
#   PROMPT_FORMAT  [token-ids]        token-ids | text
#   USERS          [2]                closed loop: concurrent users
#   RATE           []                 open loop at this rate (req/s) instead of closed loop
#   DURATION       [60s]  WARMUP [5s]  MAX_REQUESTS [10000]
#   SEED           [1]
#   BLIND_LEG      []                 non-empty: a third run, prefix-blind, with the caches on but the router ranking
#                                     workers by load alone (--prefix-weight 0), to show what prefix-aware routing adds
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MODEL=""
if [[ "${1:-}" == "--model" ]]; then MODEL="$2"; shift 2; fi
[[ -n "$MODEL" ]] || { echo "usage: $0 --model FILE [OUT_DIR]" >&2; exit 2; }
OUT="${1:-$ROOT/loadtest/experiments/out/prefix-cache-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"

ROUTER_TARGET="${ROUTER_TARGET:-localhost:50051}"
PREFIX_TOKENS="${PREFIX_TOKENS:-256}"
PREFIX_GROUPS="${PREFIX_GROUPS:-1}"
INPUT_TOKENS="${INPUT_TOKENS:-32}"
OUTPUT_TOKENS="${OUTPUT_TOKENS:-16}"
PROMPT_FORMAT="${PROMPT_FORMAT:-token-ids}"
USERS="${USERS:-2}"
RATE="${RATE:-}"
DURATION="${DURATION:-60s}"
WARMUP="${WARMUP:-5s}"
MAX_REQUESTS="${MAX_REQUESTS:-10000}"
SEED="${SEED:-1}"

if [[ -n "$RATE" ]]; then LOAD=(--mode open --rate "$RATE"); else LOAD=(--mode closed --users "$USERS"); fi

# reads one number from a report: jq where installed, else python3
json_number() { # file jq-path
  if command -v jq >/dev/null 2>&1; then
    jq -r "$2 // \"NaN\"" "$1"
  else
    python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].lstrip(".").replace("[", ".").replace("]", "").split("."):
    v = v[int(k)] if k.isdigit() else v.get(k, "NaN")
print(v)' "$1" "$2"
  fi
}

# shellcheck source=cluster.sh
source "$ROOT/loadtest/experiments/cluster.sh"

run_config() { # name [extra ./disagg local flags...]
  local name="$1"
  shift
  echo "== $name: ./disagg local${*:+ $*} (load average:$(uptime | sed 's/.*load average[s]*://'))"
  start_cluster "$name" "$@"
  "$ROOT/disagg" loadtest --target "$ROUTER_TARGET" --protocol grpc "${LOAD[@]}" --profile chat \
    --shared-prefix-tokens "$PREFIX_TOKENS" --prefix-groups "$PREFIX_GROUPS" --prompt-format "$PROMPT_FORMAT" \
    --max-input-tokens "$INPUT_TOKENS" --max-output-tokens "$OUTPUT_TOKENS" \
    --warmup "$WARMUP" --duration "$DURATION" --max-requests "$MAX_REQUESTS" --seed "$SEED" --no-progress \
    --out-json "$OUT/$name.json" --out-html "$OUT/$name.html" 2>&1 | tee "$OUT/$name.txt"
  stop_cluster
}

# ./disagg rebuilds when sources changed; do it now rather than inside a measured run, where the build competes with
# the cluster for the CPU
"$ROOT/disagg" --help >/dev/null

LEGS=(prefix-off prefix-on)
run_config prefix-off --worker-arg=--backend-option=java.prefix-cache=false
run_config prefix-on
if [[ -n "${BLIND_LEG:-}" ]]; then
  # caches on, but the router ranks workers by load alone: what prefix-aware routing adds on top of the caches
  LEGS+=(prefix-blind)
  run_config prefix-blind --router-arg=--prefix-weight=0
fi

echo
echo "== prefix cache off vs on (${PREFIX_TOKENS}-token shared prefix + ${INPUT_TOKENS} tokens per request;" \
  "TTFT in ms; hit = cached / prompt tokens)"
for name in "${LEGS[@]}"; do
  f="$OUT/$name.json"
  printf '%-12s requests %5s  TTFT p50 %8.1f p90 %8.1f  hit %s\n' "$name" "$(json_number "$f" .runs[0].succeeded)" \
    "$(json_number "$f" .runs[0].ttft.p50)" "$(json_number "$f" .runs[0].ttft.p90)" \
    "$(awk -v h="$(json_number "$f" .runs[0].prefixCacheHitRatio)" \
      'BEGIN { if (h == "NaN") print "-"; else printf "%.1f%%", h * 100 }')"
done
awk -v off50="$(json_number "$OUT/prefix-off.json" .runs[0].ttft.p50)" \
  -v off90="$(json_number "$OUT/prefix-off.json" .runs[0].ttft.p90)" \
  -v on50="$(json_number "$OUT/prefix-on.json" .runs[0].ttft.p50)" \
  -v on90="$(json_number "$OUT/prefix-on.json" .runs[0].ttft.p90)" \
  'BEGIN { if (off50 > 0 && off90 > 0) printf "TTFT ratio on/off: p50 %.2f p90 %.2f\n", on50 / off50, on90 / off90;
           else print "TTFT ratio on/off: n/a (no TTFT with the cache off)" }'
echo "reports: $OUT/<leg>.{json,html,txt} for legs: ${LEGS[*]}"
