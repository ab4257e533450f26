# Shared set-up for scripts/demo, scripts/test and scripts/bench (sourced, not run).
# Installs only what is missing, so a second run is quick and a fresh machine works.

RELSIGN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export RELSIGN_ROOT
# One target folder outside the clone, reused between runs as a cache; a fresh machine
# simply builds into it.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/relsign/target}

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Debian packages the build and the tests need.
ensure_apt() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# What building relsign needs: a C toolchain and libclang for the vendored OpenSSL
# bindings, musl for the static release binaries.
ensure_build_deps() {
    ensure_apt build-essential pkg-config perl make libclang-dev musl-tools ca-certificates
    if ! rustup target list --installed 2>/dev/null | grep -q x86_64-unknown-linux-musl; then
        say "adding the Rust target x86_64-unknown-linux-musl"
        rustup target add x86_64-unknown-linux-musl >/dev/null
    fi
}

# Real GnuPG and sqv, for interoperability.
ensure_pgp_tools() {
    ensure_apt gnupg sqv coreutils
}
