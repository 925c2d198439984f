#!/usr/bin/env bash
# Installs, starts, health-checks and stops the local AWS emulators forge is tested against:
#   LocalStack 4.14.0 on 127.0.0.1:4566 (S3, SQS, IAM, Secrets Manager, EC2, STS, KMS, Lambda, CloudFormation)
#   moto server      on 127.0.0.1:4567 (DynamoDB: LocalStack's needs a download that is
#                                        unreachable here, moto serves it faithfully)
#
# usage: localstack/emulators.sh install|up|down|status|env
#   install  create the venvs (idempotent; cached under .cache/emulators, git-ignored)
#   up       install if needed, start both, wait until healthy (no-op when already up)
#   down     stop the processes this script started, by their recorded PIDs
#   status   exit 0 when both answer, 1 otherwise
#   env      print the standard AWS variables for the emulators (also in localstack/.run/env.sh)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cache="${FORGE_EMULATOR_CACHE:-$repo/.cache/emulators}"
run="$here/.run"
ls_port=4566
moto_port=4567
ready_timeout="${FORGE_EMULATOR_TIMEOUT:-120}"

log() { printf 'emulators: %s\n' "$*" >&2; }
die() { printf 'emulators: error: %s\n' "$*" >&2; exit 1; }

python313() {
  # The machine image ships pyenv interpreters; LocalStack 4.14 wants 3.12+ and was
  # measured working on 3.13.
  local root candidate
  if command -v pyenv >/dev/null 2>&1; then
    root="$(pyenv root)"
    for candidate in "$root"/versions/3.13*/bin/python3.13; do
      [ -x "$candidate" ] && { echo "$candidate"; return; }
    done
  fi
  for candidate in python3.13 "$HOME/.pyenv/versions/3.13.0/bin/python3.13"; do
    command -v "$candidate" >/dev/null 2>&1 && { command -v "$candidate"; return; }
  done
  die "no Python 3.13 found (looked in pyenv versions and PATH); install one with 'pyenv install 3.13'"
}

make_venv() { # dir requirements-file
  local dir=$1 req=$2 stamp="$1/.installed"
  local want
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  log "installing $(basename "$req") into $dir (first run takes a few minutes)"
  rm -rf "$dir"
  "$(python313)" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
}

install() {
  mkdir -p "$cache"
  make_venv "$cache/localstack-venv" "$here/requirements-localstack.txt"
  make_venv "$cache/moto-venv" "$here/requirements-moto.txt"
}

write_env() {
  mkdir -p "$run"
  cat > "$run/env.sh" <<EOF
# Standard AWS SDK variables for the local emulators (written by localstack/emulators.sh).
export AWS_ENDPOINT_URL=http://127.0.0.1:$ls_port
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$moto_port
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
EOF
}

alive() { # pidfile
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

localstack_healthy() {
  curl -fsS --max-time 2 "http://127.0.0.1:$ls_port/_localstack/health" 2>/dev/null | grep -q '"s3"'
}

moto_healthy() {
  # Any HTTP answer from moto means it is serving; DynamoDB answers POSTs only.
  curl -sS --max-time 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$moto_port/moto-api/" 2>/dev/null | grep -q '^[23]'
}

await() { # name check-fn logfile pidfile
  local name=$1 check=$2 logfile=$3 pidfile=$4 waited=0
  until $check; do
    if ! alive "$pidfile"; then
      log "$name exited before it was ready; last lines of $logfile:"
      tail -n 40 "$logfile" >&2 || true
      exit 1
    fi
    if [ "$waited" -ge "$ready_timeout" ]; then
      log "$name not ready after ${ready_timeout}s; last lines of $logfile:"
      tail -n 40 "$logfile" >&2 || true
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  log "$name ready after ${waited}s"
}

port_taken() { # port
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

up() {
  install
  mkdir -p "$run"
  write_env
  if alive "$run/localstack.pid" && localstack_healthy; then
    log "localstack already up (pid $(cat "$run/localstack.pid"))"
  else
    port_taken $ls_port && die "port $ls_port is in use by a process this script did not start; stop it first"
    local data
    data="$(mktemp -d /tmp/forge-localstack.XXXXXX)"
    # lambda: RotateSecret asks Lambda for the rotation function (created without
    # Docker, never run), which aws_secretsmanager_secret_rotation's tests need.
    # cloudformation: scripts/bench-cfn creates the same resources with it, to compare.
    echo "$data" > "$run/localstack.data"
    (
      cd "$data"
      GATEWAY_LISTEN=127.0.0.1:$ls_port DNS_ADDRESS=0 SKIP_SSL_CERT_DOWNLOAD=1 \
      DISABLE_EVENTS=1 FILESYSTEM_ROOT="$data" LOCALSTACK_VOLUME_DIR="$data/volume" \
      SERVICES=s3,sqs,iam,sts,secretsmanager,ec2,kms,lambda,cloudformation EAGER_SERVICE_LOADING=0 \
        setsid "$cache/localstack-venv/bin/python" -m localstack.runtime.main \
        > "$run/localstack.log" 2>&1 < /dev/null &
      echo $! > "$run/localstack.pid"
    )
    await localstack localstack_healthy "$run/localstack.log" "$run/localstack.pid"
  fi
  if alive "$run/moto.pid" && moto_healthy; then
    log "moto already up (pid $(cat "$run/moto.pid"))"
  else
    port_taken $moto_port && die "port $moto_port is in use by a process this script did not start; stop it first"
    setsid "$cache/moto-venv/bin/moto_server" -H 127.0.0.1 -p $moto_port \
      > "$run/moto.log" 2>&1 < /dev/null &
    echo $! > "$run/moto.pid"
    await moto moto_healthy "$run/moto.log" "$run/moto.pid"
  fi
}

stop_pid() { # name pidfile
  local name=$1 pidfile=$2 pid i
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    # setsid made the emulator a process-group leader: stop the group it started.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    log "stopped $name (pid $pid)"
  fi
  rm -f "$pidfile"
}

down() {
  stop_pid localstack "$run/localstack.pid"
  stop_pid moto "$run/moto.pid"
  if [ -f "$run/localstack.data" ]; then
    rm -rf "$(cat "$run/localstack.data")"
    rm -f "$run/localstack.data"
  fi
}

status() {
  localstack_healthy && moto_healthy
}

case "${1:-}" in
  install) install ;;
  up) up ;;
  down) down ;;
  status) if status; then echo "up"; else echo "down"; exit 1; fi ;;
  env) write_env; cat "$run/env.sh" ;;
  *) sed -n '2,14p' "$0" >&2; exit 2 ;;
esac
