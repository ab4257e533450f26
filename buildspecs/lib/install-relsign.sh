# shellcheck shell=sh
# Makes the pinned signer and copier the ones a buildspec runs: usage
# `sh install-relsign.sh DIR`, with DIR first on PATH (export PATH="DIR:$PATH").
#
# In a CodeBuild standard image, the relsign release tarball named by RELSIGN_TARBALL_URL
# (https:// or file://) is downloaded and installed into DIR only if its SHA-256 equals
# RELSIGN_TARBALL_SHA256. In the signing image (no tarball set), DIR gets links to the image's
# own binaries (RELSIGN_IMAGE_BIN_DIR, default /usr/local/bin as Dockerfile.signer puts them),
# the image being pinned by digest. Either way a signer or copier found earlier on PATH, or
# anywhere else, is never the one that runs: the script checks that `signer` and `copier`
# resolve to DIR and report the expected version (the tarball's; in the image, one version
# for both).
set -eu
dir=${1:?usage: install-relsign.sh DIR}

case "$PATH" in
    "$dir":*) ;;
    *)
        echo "install-relsign: $dir must come first on PATH (export PATH=\"$dir:\$PATH\"): otherwise another signer on PATH could run instead of the pinned one" >&2
        exit 3
        ;;
esac

mkdir -p "$dir"
if [ -n "${RELSIGN_TARBALL_URL:-}" ] || [ -n "${RELSIGN_TARBALL_SHA256:-}" ]; then
    if [ -z "${RELSIGN_TARBALL_URL:-}" ] || [ -z "${RELSIGN_TARBALL_SHA256:-}" ]; then
        echo "install-relsign: set both RELSIGN_TARBALL_URL and RELSIGN_TARBALL_SHA256 (stack parameters RelsignTarballUrl, RelsignTarballSha256), or neither in the signing image" >&2
        exit 3
    fi
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    curl --fail --silent --show-error --location --retry 3 -o "$work/relsign.tar.gz" "$RELSIGN_TARBALL_URL"
    echo "$RELSIGN_TARBALL_SHA256  $work/relsign.tar.gz" >"$work/sum"
    if ! sha256sum -c "$work/sum" >/dev/null 2>&1; then
        echo "install-relsign: $RELSIGN_TARBALL_URL does not have the pinned SHA-256 $RELSIGN_TARBALL_SHA256: refusing to run it; check RelsignTarballSha256" >&2
        exit 3
    fi
    tar -xzf "$work/relsign.tar.gz" -C "$work"
    set -- "$work"/relsign-*/relsign
    if [ "$#" -ne 1 ] || [ ! -f "$1" ]; then
        echo "install-relsign: $RELSIGN_TARBALL_URL holds no single relsign-<version>-<arch>-linux-musl/relsign" >&2
        exit 3
    fi
    # relsign-<version>-<arch>-linux-musl: the version is what the binary must report.
    top=$(basename "$(dirname "$1")")
    expected=${top#relsign-}
    expected=${expected%-*-linux-musl}
    # One multi-call binary; signer and copier are links to it.
    install -m 0755 "$1" "$dir/relsign"
    ln -sf relsign "$dir/signer"
    ln -sf relsign "$dir/copier"
else
    image_bin=${RELSIGN_IMAGE_BIN_DIR:-/usr/local/bin}
    if [ ! -x "$image_bin/signer" ] || [ ! -x "$image_bin/copier" ]; then
        echo "install-relsign: signer is not in this image and RELSIGN_TARBALL_URL / RELSIGN_TARBALL_SHA256 are not set: use the signing image, or set both (stack parameters RelsignTarballUrl, RelsignTarballSha256)" >&2
        exit 3
    fi
    ln -sf "$image_bin/signer" "$dir/signer"
    ln -sf "$image_bin/copier" "$dir/copier"
    expected=
fi

for program in signer copier; do
    found=$(command -v "$program" || true)
    if [ "$found" != "$dir/$program" ]; then
        echo "install-relsign: $program resolves to ${found:-nothing}, not $dir/$program: fix PATH" >&2
        exit 3
    fi
    reported=$("$program" --version)
    echo "$found: $reported"
    version=${reported##* }
    if [ -z "$expected" ]; then
        expected=$version
    elif [ "$version" != "$expected" ]; then
        echo "install-relsign: $program reports version ${version:-none} ($reported), expected $expected: refusing to run it" >&2
        exit 3
    fi
done
