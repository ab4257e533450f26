# Makes signer and copier available to a buildspec: usage `sh install-relsign.sh DIR`, with
# DIR on PATH.
#
# In the signing image they are already there and nothing is fetched. In a CodeBuild standard
# image, the relsign release tarball named by RELSIGN_TARBALL_URL (https:// or file://) is
# downloaded and installed into DIR only if its SHA-256 equals RELSIGN_TARBALL_SHA256: the
# pipeline never runs a signer it has not pinned.
set -eu
dir=${1:?usage: install-relsign.sh DIR}

if command -v signer >/dev/null 2>&1 && command -v copier >/dev/null 2>&1; then
    signer --version
    copier --version
    exit 0
fi

if [ -z "${RELSIGN_TARBALL_URL:-}" ] || [ -z "${RELSIGN_TARBALL_SHA256:-}" ]; then
    echo "install-relsign: signer is not in this image and RELSIGN_TARBALL_URL / RELSIGN_TARBALL_SHA256 are not set: use the signing image, or set both (stack parameters RelsignTarballUrl, RelsignTarballSha256)" >&2
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
mkdir -p "$dir"
# One multi-call binary; signer and copier are links to it.
install -m 0755 "$work"/relsign-*/relsign "$dir/relsign"
ln -sf relsign "$dir/signer"
ln -sf relsign "$dir/copier"
"$dir/signer" --version
"$dir/copier" --version
