# shellcheck shell=bash disable=SC2034,SC2153 # sourced by scripts/bench, whose variables these are
# scripts/bench, verifying in place (sourced by it, after bench_copy.sh, whose servers it
# uses): W with its signatures, published by copier, verified where it lives on the
# S3-shaped server by `signer verify s3://` (every object streamed into its check, nothing
# written to disk) against `aws s3 cp --recursive` alone (a download, no verification at
# all, at the AWS CLI's defaults). Each verification must pass, and the download must be
# out-W byte for byte, before a figure counts.

say "verifying W where it is published (the S3-shaped server): $RUNS runs, the two alternating"
export AWS_ENDPOINT_URL=$S3S_ENDPOINT
$SEED make-bucket bench 2>/dev/null || mkdir -p s3data/bench
copy_copier out-W verify-w >/dev/null
check_copy out-W verify-w copier
export AWS_ENDPOINT_URL=$SHAPED_ENDPOINT; SERVER_PIDS="$S3S_PID $PROXY_PID"
verify_relsign() { "$SIGNER" verify --cert "$BENCH_DIR/cert.asc" --path-style s3://bench/verify-w/; }
download_aws_cp() { rm -rf "$BENCH_DIR/dl" && "$AWS" s3 cp --recursive s3://bench/verify-w/ "$BENCH_DIR/dl" --only-show-errors; }
export -f verify_relsign download_aws_cp
export SIGNER
for run in $(seq 1 "$RUNS"); do
    sync
    record verify-shaped W "signer verify" "$run" -- bash -c verify_relsign
    sync
    record verify-shaped W "aws s3 cp --recursive" "$run" -- bash -c download_aws_cp
    diff -rq out-W "$BENCH_DIR/dl" >/dev/null || { echo "bench: aws s3 cp did not download out-W exactly" >&2; exit 1; }
    rm -rf "$BENCH_DIR/dl"
done
rm -rf s3data/bench/verify-w
