# shellcheck shell=bash
# Prints the calling script's usage: its leading comment block, after the #! line. Sourced
# by scripts/lib/setup.sh and by the scripts that run without it (pin-signing-image runs
# with only the AWS CLI and the caller's environment).
usage() {
    awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
}
