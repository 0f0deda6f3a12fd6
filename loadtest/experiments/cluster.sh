# Sourced by the experiment scripts: starts and stops one `./disagg local` cluster at a time.
# Needs ROOT, OUT, MODEL and ROUTER_TARGET set by the caller; LOCAL_ARGS (optional) adds flags to every cluster.

CLUSTER_PID=""
stop_cluster() {
  if [[ -n "$CLUSTER_PID" ]] && kill -0 "$CLUSTER_PID" 2>/dev/null; then
    kill "$CLUSTER_PID"
    wait "$CLUSTER_PID" 2>/dev/null || true
  fi
  CLUSTER_PID=""
}
trap stop_cluster EXIT

wait_for_router() { # name (for the log file named in errors)
  local host="${ROUTER_TARGET%:*}" port="${ROUTER_TARGET##*:}" i
  for ((i = 0; i < 180; i++)); do
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
    kill -0 "$CLUSTER_PID" 2>/dev/null || { echo "cluster exited; see $OUT/$1-cluster.log" >&2; exit 1; }
    sleep 1
  done
  echo "router did not listen on $ROUTER_TARGET within 180 s" >&2
  exit 1
}

start_cluster() { # name [extra ./disagg local flags...]; logs to $OUT/<name>-cluster.log
  local name="$1"
  shift
  # shellcheck disable=SC2086
  "$ROOT/disagg" local --model "$MODEL" --grpc-port "${ROUTER_TARGET##*:}" "$@" ${LOCAL_ARGS:-} \
    >"$OUT/$name-cluster.log" 2>&1 &
  CLUSTER_PID=$!
  wait_for_router "$name"
}
