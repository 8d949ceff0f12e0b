# Shared by bin/serve and bin/test.

# Create .venv with Python 3.11 and install the pinned requirements file $1 when it changed.
ensure_venv() {
  local reqs="$1" python="${PYTHON:-}"
  if [ -z "$python" ]; then
    python=$(command -v python3.11 || command -v python3)
  fi
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  local stamp=".venv/.installed-$(cat "$reqs" requirements.txt constraints.txt 2>/dev/null | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check -r "$reqs" -c constraints.txt
    touch "$stamp"
  fi
}

# Wait up to 10 s for a Redis URL to answer PING.
wait_for_redis() {
  .venv/bin/python - "$1" <<'PY'
import sys, time, redis
r = redis.Redis.from_url(sys.argv[1])
for _ in range(100):
    try:
        r.ping(); break
    except redis.exceptions.ConnectionError:
        time.sleep(0.1)
else:
    sys.exit(f"Redis at {sys.argv[1]} did not answer")
PY
}
