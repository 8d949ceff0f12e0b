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

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Install Debian packages that are missing (apt-get update only if the first try fails).
ensure_debian_packages() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y -q "${missing[@]}" >/dev/null \
    || { as_root apt-get update -q >/dev/null && as_root apt-get install -y -q "${missing[@]}" >/dev/null; }
}

# Start the local PostgreSQL cluster if it is installed but not answering on 127.0.0.1:5432.
ensure_postgres() {
  pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && return 0
  echo "Starting PostgreSQL"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
  for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && return 0; sleep 0.2; done
  echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; return 1
}

# Start Redis if it is installed but not answering on 127.0.0.1:6379 (it keeps nothing on disk).
ensure_redis() {
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return 0
  echo "Starting Redis"
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "Redis did not start on 127.0.0.1:6379" >&2; return 1
}

# Refuse to go on when a TCP port on 127.0.0.1 is taken: $1 names the setting, $2 is the port.
ensure_port_free() {
  local name="$1" port="$2" python
  python=$(command -v python3 || command -v python)
  if ! "$python" - "$port" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
  then
    echo "Port $port on 127.0.0.1 is already in use, so nothing was started." >&2
    echo "Stop whatever listens there, or choose another port: $name=<free port> bash bin/serve" >&2
    exit 1
  fi
}

# Wait up to 60 s for a URL to answer HTTP (any status).
wait_for_http() {
  .venv/bin/python - "$1" <<'PY'
import sys, time, urllib.error, urllib.request
for _ in range(600):
    try:
        urllib.request.urlopen(sys.argv[1], timeout=2).close(); break
    except urllib.error.HTTPError:
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit(f"{sys.argv[1]} did not answer within 60 s")
PY
}
