# Shared by tests/demo and tests/bench-helper (sourced, not run): the static helper build, a
# moto STS on loopback, and a ServiceAccount token as the kubelet projects it.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="${IRSA_TEST_VENV:-$repo/target/test-venv}"
# The static helper's target is this machine's (x86_64 or aarch64): release CI builds each
# natively.
static_target="$(uname -m)-unknown-linux-gnu"
helper="$repo/target/$static_target/release/irsa-credential-process"

# The static build is `cargo static-helper-<arch>`, an alias in .cargo/config.toml holding every
# flag it needs: crt-static links glibc in, and the getrandom_backend cfg makes getrandom call
# getrandom(2) directly (in a static binary its dlsym probe finds nothing and it falls back to
# /dev/urandom, which an empty root lacks). A RUSTFLAGS variable would replace the alias's
# flags, so it is unset here.
build_static_helper() {
    echo "   (cargo static-helper-$(uname -m); several minutes the first time)" >&2
    # Nor the variables cargo sets for a crate when this runs under `cargo test` or a build
    # script: ring's build script tracks CARGO_MANIFEST_DIR and CARGO_PKG_*, so each would
    # force a rebuild here and another in the next plain build.
    (
        unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_CRATE_NAME CARGO_PRIMARY_PACKAGE CARGO_RUSTC_CURRENT_DIR CARGO_TARGET_TMPDIR
        for name in $(compgen -e | grep -E '^CARGO_(PKG|MANIFEST|BIN)_'); do unset "$name"; done
        cd "$repo" && cargo "static-helper-$(uname -m)" "$@"
    )
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

# apt_install PACKAGE...: installs Debian packages when this runs as root where apt-get exists,
# saying so first; returns 1 (having installed nothing) otherwise.
apt_install() {
    [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null || return 1
    echo "installing with apt-get: $* (a few seconds to a minute)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# check_prerequisites: what tests/demo and tests/run need, each named with the way to get it
# when missing (apt-get installs the Debian ones when run as root). Exits 1 if any is missing.
check_prerequisites() {
    local missing=() need
    need=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' "$repo/Cargo.toml")
    if ! command -v cargo >/dev/null || ! command -v rustc >/dev/null; then
        missing+=("Rust $need or newer (cargo, rustc): https://rustup.rs")
    elif ! printf '%s\n%s\n' "$need" "$(rustc --version | cut -d' ' -f2)" | sort -V -C; then
        missing+=("Rust $need or newer (rustc is $(rustc --version | cut -d' ' -f2)): rustup update stable")
    fi
    if ! command -v kubectl >/dev/null; then
        missing+=("kubectl: https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/")
    fi
    local debian=()
    command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null || debian+=(python3 python3-venv)
    command -v file >/dev/null || debian+=(file)
    if ((${#debian[@]})) && ! apt_install "${debian[@]}"; then
        missing+=("${debian[*]}: apt-get install ${debian[*]} (Debian, Ubuntu), or your system's packages")
    fi
    ((${#missing[@]} == 0)) && return 0
    echo "missing prerequisites:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
}

# need_tool COMMAND PACKAGE: a tool a bench script needs; installed from Debian's PACKAGE when
# it can be (saying so), else named with how to install it.
need_tool() {
    command -v "$1" >/dev/null || [[ -x /usr/bin/$1 ]] && return 0
    echo "$1 is needed and missing"
    apt_install "$2" || { echo "install it: apt-get install $2 (Debian, Ubuntu), or your system's package" >&2; exit 1; }
}
