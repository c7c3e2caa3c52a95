# Shared by tests/demo and tests/bench-helper (sourced, not run): the static helper build, a
# moto STS on loopback, and a ServiceAccount token as the kubelet projects it.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="${IRSA_TEST_VENV:-$repo/target/test-venv}"
helper="$repo/target/x86_64-unknown-linux-gnu/release/irsa-credential-process"

# crt-static links glibc in. getrandom must then call getrandom(2) directly: in a static binary
# its default probe (dlsym) finds nothing and falls back to /dev/urandom, which an empty root
# lacks.
static_rustflags='-C target-feature=+crt-static --cfg getrandom_backend="linux_getrandom"'

build_static_helper() {
    RUSTFLAGS="$static_rustflags" \
        cargo build "$@" --release --target x86_64-unknown-linux-gnu -p irsa-credential-process
}

# Starts moto on a free port of 127.0.0.1, logging to $1; sets moto_port and moto_pid.
start_moto() {
    moto_port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$1" 2>&1 &
    moto_pid=$!
    "$venv/bin/python" - "$moto_port" <<'PY'
import socket, sys, time
for _ in range(150):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        break
    except OSError:
        time.sleep(0.2)
else:
    sys.exit("moto did not start")
PY
}

# Writes an (unsigned) ServiceAccount token for shop/cart to $1; moto does not verify it.
write_token() {
    "$venv/bin/python" - "$1" <<'PY'
import base64, json, sys, time
b64 = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
now = int(time.time())
claims = {"iss": "https://oidc.demo.example/id/CLUSTER", "sub": "system:serviceaccount:shop:cart",
          "aud": ["sts.amazonaws.com"], "exp": now + 3600, "iat": now}
open(sys.argv[1], "w").write(f'{b64({"alg": "RS256", "kid": "demo"})}.{b64(claims)}.c2lnbmF0dXJl\n')
PY
}
