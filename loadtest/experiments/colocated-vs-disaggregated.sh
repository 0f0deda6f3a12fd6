#!/usr/bin/env bash
# Colocated vs disaggregated serving on the same number of workers, measured as DistServe does: a rate sweep per
# configuration, SLO attainment at each rate, and goodput (highest rate with >= 90% of requests meeting both the
# TTFT and the TPOT SLO).
#
#   A. colocated:      ./disagg local --prefill-workers 0 --decode-workers 2, requests forced colocated
#   B. disaggregated:  ./disagg local --prefill-workers 1 --decode-workers 1, requests forced disaggregated
#
# Both runs use the same seed, so they send the same requests at the same times. Traffic goes to loopback only.
#
# Usage: loadtest/experiments/colocated-vs-disaggregated.sh --model FILE [OUT_DIR]
# Environment (defaults in brackets):
#   ROUTER_TARGET [localhost:50051]   where ./disagg local serves gRPC
#   LOCAL_ARGS    []                  extra flags for ./disagg local
#   SWEEP         [0.5,1,2,4]         request rates (req/s)
#   PROFILE       [mixed]             chat | rag | reasoning | mixed | trace:FILE
#   LENGTH_SCALE  [0.1]               shrinks profile lengths to fit a small CPU model
#   DURATION      [30s]  WARMUP [5s]  MAX_REQUESTS [200]
#   SLO_TTFT_MS   [2000] SLO_TPOT_MS  [200]
#   SEED          [1]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MODEL=""
if [[ "${1:-}" == "--model" ]]; then MODEL="$2"; shift 2; fi
[[ -n "$MODEL" ]] || { echo "usage: $0 --model FILE [OUT_DIR]" >&2; exit 2; }
OUT="${1:-$ROOT/loadtest/experiments/out/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"

ROUTER_TARGET="${ROUTER_TARGET:-localhost:50051}"
SWEEP="${SWEEP:-0.5,1,2,4}"
PROFILE="${PROFILE:-mixed}"
LENGTH_SCALE="${LENGTH_SCALE:-0.1}"
DURATION="${DURATION:-30s}"
WARMUP="${WARMUP:-5s}"
MAX_REQUESTS="${MAX_REQUESTS:-200}"
SLO_TTFT_MS="${SLO_TTFT_MS:-2000}"
SLO_TPOT_MS="${SLO_TPOT_MS:-200}"
SEED="${SEED:-1}"

# shellcheck source=cluster.sh
source "$ROOT/loadtest/experiments/cluster.sh"

run_config() { # name prefill-workers decode-workers force-mode
  local name="$1" prefill="$2" decode="$3" mode="$4"
  echo "== $name: $prefill prefill + $decode decode workers, force-mode $mode"
  start_cluster "$name" --prefill-workers "$prefill" --decode-workers "$decode"
  "$ROOT/disagg" loadtest --target "$ROUTER_TARGET" --protocol grpc --force-mode "$mode" \
    --sweep "$SWEEP" --profile "$PROFILE" --length-scale "$LENGTH_SCALE" \
    --warmup "$WARMUP" --duration "$DURATION" --max-requests "$MAX_REQUESTS" \
    --slo-ttft-ms "$SLO_TTFT_MS" --slo-tpot-ms "$SLO_TPOT_MS" --seed "$SEED" \
    --out-json "$OUT/$name.json" --out-html "$OUT/$name.html" | tee "$OUT/$name.txt"
  stop_cluster
}

run_config colocated 0 2 colocated
run_config disaggregated 1 1 disaggregated

echo
echo "== goodput (req/s at >= 90% SLO attainment; TTFT <= ${SLO_TTFT_MS} ms, TPOT <= ${SLO_TPOT_MS} ms)"
for name in colocated disaggregated; do
  printf '%-14s %s\n' "$name" "$(grep -o 'goodput: [0-9.]* req/s' "$OUT/$name.txt" || echo 'n/a')"
done
echo "reports: $OUT/{colocated,disaggregated}.{json,html}"
