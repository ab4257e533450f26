#!/bin/sh
# Verifies a release signed with relsign, using only what a consumer has: curl, gpgv (or
# sqv) and sha256sum (or shasum). Made by `signer verify-script`, pinned to one certificate:
#   @FINGERPRINT@
#
#   sh verify-release.sh [-u BASE_URL] [-o DIR] [FILE...]
#     BASE_URL  where the release lives (default: @BASE_URL_SHOWN@)
#     DIR       where the verified files go (default: the current folder)
#     FILE      only these files of the release (default: every file SHA256SUMS lists)
#
# It downloads SHA256SUMS, SHA256SUMS.asc and each file with its .asc into a scratch folder
# inside DIR, checks every signature against a keyring holding only the certificate above
# (never your own keyring), checks every digest with sha256sum -c, and only then moves the
# files into DIR. It fails closed: a missing tool, signature or file is a failure.
# Exit codes: 0 verified; 1 a check failed (do not use the files); 2 usage or a missing
# tool; 3 a download failed.
set -u

FINGERPRINT='@FINGERPRINT@'
BASE_URL='@BASE_URL@'
OUT=.

fail() {
    code=$1
    shift
    printf 'verify-release: %s\n' "$*" >&2
    exit "$code"
}

while getopts u:o: opt; do
    case $opt in
        u) BASE_URL=$OPTARG ;;
        o) OUT=$OPTARG ;;
        *) fail 2 "usage: sh verify-release.sh [-u BASE_URL] [-o DIR] [FILE...]" ;;
    esac
done
shift $((OPTIND - 1))

[ -n "$BASE_URL" ] || fail 2 "no release address: pass -u https://HOST/PATH/"
case $BASE_URL in */) ;; *) BASE_URL=$BASE_URL/ ;; esac
command -v curl >/dev/null 2>&1 || fail 2 "curl not found: install curl, then run this again"
if command -v gpgv >/dev/null 2>&1; then
    VERIFIER=gpgv
elif command -v sqv >/dev/null 2>&1; then
    VERIFIER=sqv
else
    fail 2 "neither gpgv nor sqv found, so nothing can be verified: install gnupg (gpgv) or sqv, then run this again"
fi
if command -v sha256sum >/dev/null 2>&1; then
    SHA256SUM=sha256sum
elif command -v shasum >/dev/null 2>&1; then
    SHA256SUM='shasum -a 256'
else
    fail 2 "neither sha256sum nor shasum found: install coreutils, then run this again"
fi
[ -d "$OUT" ] || fail 2 "$OUT is not a folder: make it, or pass -o DIR"

# The scratch folder sits inside DIR, so the verified files are renamed into place, whole.
WORK=$(mktemp -d "$OUT/.verify-release.XXXXXX") || fail 2 "cannot make a scratch folder in $OUT: check its permissions"
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
mkdir -m 700 "$WORK/home" "$WORK/files" || fail 2 "cannot write in $WORK"

# The release certificate, exactly as `signer verify-script` read it (binary OpenPGP).
{
@KEYRING@
} >"$WORK/release.pgp"

# url_path NAME: NAME with every byte but A-Z a-z 0-9 - . _ ~ / percent-encoded.
url_path() {
    _out=
    for _h in $(printf '%s' "$1" | od -An -v -tx1); do
        case $_h in
            2[def] | 3[0-9] | 4[1-9a-f] | 5[0-9a] | 5f | 6[1-9a-f] | 7[0-9a] | 7e)
                _out=$_out$(printf '%b' "\\0$(printf '%o' "0x$_h")") ;;
            *) _out=$_out%$_h ;;
        esac
    done
    printf '%s' "$_out"
}

# fetch NAME: downloads BASE_URL/NAME to the scratch folder, the bytes as served.
fetch() {
    _dest=$WORK/files/$1
    mkdir -p "$(dirname "$_dest")" || fail 2 "cannot write in $WORK"
    _url=$BASE_URL$(url_path "$1")
    curl --silent --show-error --fail --location --proto '=http,https' --output "$_dest" --url "$_url" 2>"$WORK/curl.err"
    _rc=$?
    [ "$_rc" -eq 0 ] && return 0
    [ "$_rc" -eq 22 ] && fail 1 "$1: not found at $_url ($(tail -n 1 "$WORK/curl.err")): the release is incomplete, do not use it"
    fail 3 "$1: download from $_url failed ($(tail -n 1 "$WORK/curl.err")): check the address and the network"
}

# good_signature FILE SIGNATURE: a good signature by the pinned certificate, every
# signature in SIGNATURE good, checked with a keyring holding that certificate alone.
good_signature() {
    case $VERIFIER in
        gpgv)
            _status=$(gpgv --homedir "$WORK/home" --keyring "$WORK/release.pgp" --status-fd 1 \
                "$WORK/files/$2" "$WORK/files/$1" 2>/dev/null) || return 1
            printf '%s\n' "$_status" | grep -q "^\[GNUPG:\] VALIDSIG .* $FINGERPRINT\$" ;;
        sqv)
            sqv --keyring "$WORK/release.pgp" "$WORK/files/$2" "$WORK/files/$1" >/dev/null 2>&1 ;;
    esac
}

fetch SHA256SUMS
fetch SHA256SUMS.asc
good_signature SHA256SUMS SHA256SUMS.asc ||
    fail 1 "SHA256SUMS: SHA256SUMS.asc is not a good signature by $FINGERPRINT: do not use this release"

# The signed list: one "DIGEST  NAME" a line. Names that would leave DIR are refused.
: >"$WORK/listed"
while IFS= read -r line; do
    case $line in \\*) fail 1 "SHA256SUMS names a file with a backslash, which this script does not take: verify with signer verify" ;; esac
    digest=${line%% *}
    name=${line#* }
    name=${name#[ *]}
    case $digest in *[!0-9a-f]*) fail 1 "SHA256SUMS has a malformed line: do not use this release" ;; esac
    [ ${#digest} -eq 64 ] || fail 1 "SHA256SUMS has a malformed line: do not use this release"
    case /$name/ in *//* | */./* | */../*) fail 1 "SHA256SUMS names $name, outside the release: do not use this release" ;; esac
    printf '%s\n' "$name" >>"$WORK/listed"
done <"$WORK/files/SHA256SUMS"

# The files asked for (every listed one when none is named), each in the signed list.
if [ $# -eq 0 ]; then
    cp "$WORK/listed" "$WORK/wanted"
else
    : >"$WORK/wanted"
    for name in "$@"; do
        grep -Fxq -- "$name" "$WORK/listed" || fail 2 "$name is not in this release's SHA256SUMS: name a file it lists"
        printf '%s\n' "$name" >>"$WORK/wanted"
    done
fi

: >"$WORK/SHA256SUMS.wanted"
while IFS= read -r name; do
    fetch "$name"
    # manifest.json is covered by the signed SHA256SUMS alone; every other file has its own.
    if [ "$name" != manifest.json ]; then
        fetch "$name.asc"
        good_signature "$name" "$name.asc" ||
            fail 1 "$name: $name.asc is not a good signature by $FINGERPRINT: do not use this file"
    fi
    grep -F -- "  $name" "$WORK/files/SHA256SUMS" | while IFS= read -r line; do
        [ "${line#* }" = " $name" ] && printf '%s\n' "$line"
    done >>"$WORK/SHA256SUMS.wanted"
done <"$WORK/wanted"

checked=$(cd "$WORK/files" && $SHA256SUM -c "$WORK/SHA256SUMS.wanted" 2>&1) ||
    fail 1 "$(printf '%s\n' "$checked" | grep -v ': OK$' | head -n 1): its digest is not the signed one, do not use this release"

# Everything verified: into DIR, each file beside its signature, and the signed list.
while IFS= read -r name; do
    mkdir -p "$(dirname "$OUT/$name")" || fail 2 "cannot write in $OUT"
    mv -f "$WORK/files/$name" "$OUT/$name" || fail 2 "cannot write $OUT/$name"
    [ -f "$WORK/files/$name.asc" ] && { mv -f "$WORK/files/$name.asc" "$OUT/$name.asc" || fail 2 "cannot write $OUT/$name.asc"; }
done <"$WORK/wanted"
mv -f "$WORK/files/SHA256SUMS" "$WORK/files/SHA256SUMS.asc" "$OUT/" || fail 2 "cannot write in $OUT"
printf 'verified %s file(s) of %s, signed by %s, in %s\n' "$(wc -l <"$WORK/wanted" | tr -d ' ')" "$BASE_URL" "$FINGERPRINT" "$OUT"
