# shellcheck shell=bash disable=SC2034,SC2153 # sourced by scripts/bench, whose variables these are
# scripts/bench, copying (sourced by it): copier against s5cmd, rclone (a current one and
# Debian's), the AWS CLI and the AWS Common Runtime's transfer client, each with its
# documented defaults and with copier's concurrency, on two server shapes:
#   s3s-fs   s3s-fs on loopback: no per-connection limit, answers at once;
#   shaped   the same s3s-fs behind s3-shaped-proxy (the tests' proxy, tests/src/proxy.rs):
#            every connection capped at SHAPE_MB_PER_SECOND and every response held for
#            SHAPE_FIRST_BYTE_MS, S3's per-connection behaviour (sources in the proxy's doc).
# Also T (20,000 x 1 KiB) to s3s-fs, and a re-run of T with nothing to do, unsigned and
# signed (20,000 published files with their signatures); W to moto once.
# Every copy is compared byte for byte with its source (s3s-fs keeps objects as files).

S5CMD="$RELSIGN_BENCH_VENV/bin/s5cmd"
RCLONE="$RELSIGN_BENCH_VENV/bin/rclone"
CRT_COPY="$RELSIGN_BENCH_VENV/bin/python $RELSIGN_ROOT/scripts/lib/crt_copy.py"
# copier's concurrency: its default, 4 requests per core, 4 to 16.
JOBS=$(($(nproc) * 4)); [ "$JOBS" -lt 4 ] && JOBS=4; [ "$JOBS" -gt 16 ] && JOBS=16
SHAPE_MB_PER_SECOND=${SHAPE_MB_PER_SECOND:-85}
SHAPE_FIRST_BYTE_MS=${SHAPE_FIRST_BYTE_MS:-100}
# shellcheck disable=SC2034 # for the report, in scripts/bench
SHAPE="$SHAPE_MB_PER_SECOND MB/s per connection, $SHAPE_FIRST_BYTE_MS ms to first byte"

say "building s3-shaped-proxy (the tests' proxy with S3's per-connection shape)"
cargo build -q --release --manifest-path "$RELSIGN_ROOT/Cargo.toml" -p relsign-tests --bin s3-shaped-proxy
PROXY_BIN="$CARGO_TARGET_DIR/release/s3-shaped-proxy"

if part copy || part pipeline || part verify; then sign_relsign W && sync; fi
rm -rf s3data && mkdir s3data
port() { "$RELSIGN_VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
S3S_PORT=$(port)
start_s3s_fs() {
    "$RELSIGN_TOOLS/bin/s3s-fs" --host 127.0.0.1 --port "$S3S_PORT" --access-key testing --secret-key testing s3data >/dev/null 2>&1 &
    S3S_PID=$!
}
start_s3s_fs
"$PROXY_BIN" --upstream "127.0.0.1:$S3S_PORT" --mb-per-second "$SHAPE_MB_PER_SECOND" \
    --first-byte-ms "$SHAPE_FIRST_BYTE_MS" --exit-after 14400 >"$BENCH_DIR/proxy.endpoint" 2>/dev/null &
PROXY_PID=$!
MOTO_LOG=/dev/null start_moto
trap 'kill $S3S_PID $PROXY_PID $MOTO_PID 2>/dev/null || true; rm -rf "$BENCH_DIR/s3data"' EXIT
sleep 1
SHAPED_ENDPOINT=$(cat "$BENCH_DIR/proxy.endpoint")
S3S_ENDPOINT="http://127.0.0.1:$S3S_PORT"
# Each row points AWS_ENDPOINT_URL at the server it measures.
use_local_aws "$S3S_ENDPOINT"
# The AWS CLI with copier's concurrency (its default is 10 requests at once).
printf '[default]\ns3 =\n  max_concurrent_requests = %s\n' "$JOBS" >"$BENCH_DIR/aws-jobs.config"

# copy_TOOL DIR PREFIX: publishes DIR under s3://bench/PREFIX/ at $AWS_ENDPOINT_URL.
copy_copier() { "$COPIER" --from "$1" --to "s3://bench/$2" --path-style; }
# s5cmd's defaults: 256 workers, 50 MB parts, 5 parts of a file at once; with copier's
# concurrency: 8 workers, one request each.
copy_s5cmd() { "$S5CMD" --endpoint-url "$AWS_ENDPOINT_URL" cp "$1/*" "s3://bench/$2/"; }
copy_s5cmd_jobs() { "$S5CMD" --endpoint-url "$AWS_ENDPOINT_URL" --numworkers "$JOBS" cp --concurrency 1 "$1/*" "s3://bench/$2/"; }
rclone_to() { # Debian's rclone fails when AWS_CA_BUNDLE is set, even over http
    env -u AWS_CA_BUNDLE RCLONE_CONFIG_B_TYPE=s3 RCLONE_CONFIG_B_PROVIDER=Other RCLONE_CONFIG_B_ENDPOINT="$AWS_ENDPOINT_URL" \
        RCLONE_CONFIG_B_ACCESS_KEY_ID=testing RCLONE_CONFIG_B_SECRET_ACCESS_KEY=testing RCLONE_CONFIG_B_FORCE_PATH_STYLE=true \
        "$@"
}
# rclone's defaults: 4 transfers, one PUT per file up to 200 MiB, then 5 MiB parts 4 at a time.
copy_rclone() { rclone_to "$RCLONE" copy "$1" "b:bench/$2"; }
copy_rclone_jobs() { rclone_to "$RCLONE" copy "$1" "b:bench/$2" --transfers "$JOBS"; }
copy_rclone_debian() { rclone_to rclone copy "$1" "b:bench/$2"; }
# The AWS CLI's defaults: 10 requests at once, 8 MB parts from 8 MB.
copy_aws_sync() { "$AWS" s3 sync "$1" "s3://bench/$2" --only-show-errors; }
copy_aws_sync_jobs() { AWS_CONFIG_FILE="$BENCH_DIR/aws-jobs.config" "$AWS" s3 sync "$1" "s3://bench/$2" --only-show-errors; }
# The CRT's defaults (through s3transfer): 8 MiB parts, connections sized from its throughput
# target; with copier's concurrency: at most that many connections.
copy_aws_crt() { $CRT_COPY "$1" "s3://bench/$2"; }
copy_aws_crt_jobs() { $CRT_COPY "$1" "s3://bench/$2" "$JOBS"; }
copy_aws_loop() { # the reference: one aws s3 cp per file of $(ls .)
    # shellcheck disable=SC2045 # the reference's own loop, as it is
    (cd "$1" && for f in $(ls .); do "$AWS" s3 cp "$f" "s3://bench/$2/$f" --only-show-errors; done)
}
export -f copy_copier copy_s5cmd copy_s5cmd_jobs rclone_to copy_rclone copy_rclone_jobs copy_rclone_debian \
    copy_aws_sync copy_aws_sync_jobs copy_aws_crt copy_aws_crt_jobs copy_aws_loop
export COPIER AWS S5CMD RCLONE CRT_COPY JOBS BENCH_DIR

# The copy under PREFIX must be DIR, byte for byte.
check_copy() { # DIR PREFIX TOOL
    diff -rq "$1" "s3data/bench/$2" >/dev/null || { echo "bench: $3 did not copy $1 exactly to $2:" >&2; diff -rq "$1" "s3data/bench/$2" | head >&2; exit 1; }
}

for server in s3s-fs shaped moto; do
    part copy || break
    case $server in
        s3s-fs) export AWS_ENDPOINT_URL=$S3S_ENDPOINT; runs=$RUNS; SERVER_PIDS="$S3S_PID"
            tools="copier s5cmd s5cmd_jobs rclone rclone_jobs rclone_debian aws_sync aws_sync_jobs aws_crt aws_crt_jobs aws_loop" ;;
        shaped) export AWS_ENDPOINT_URL=$SHAPED_ENDPOINT; runs=$RUNS; SERVER_PIDS="$S3S_PID $PROXY_PID"
            tools="copier s5cmd s5cmd_jobs rclone rclone_jobs rclone_debian aws_sync aws_sync_jobs aws_crt aws_crt_jobs" ;;
        moto) export AWS_ENDPOINT_URL=$MOTO_ENDPOINT; runs=1; SERVER_PIDS="$MOTO_PID"
            tools="copier s5cmd rclone aws_sync aws_crt" ;;
    esac
    say "copying W with its signatures (out-W) to $server: $runs run(s) per tool, tools alternating"
    $SEED make-bucket bench 2>/dev/null || mkdir -p s3data/bench
    for run in $(seq 1 "$runs"); do
        for tool in $tools; do
            warm out-W
            record "copy-$server" W "$tool" "$run" -- bash -c "copy_$tool out-W $tool-$run"
            if [ "$server" = moto ]; then
                [ "$($SEED keys bench "$tool-$run/" | wc -l)" -eq "$(find out-W -type f | wc -l)" ] || { echo "bench: $tool did not copy everything" >&2; exit 1; }
            else
                check_copy out-W "$tool-$run" "$tool"
                rm -rf "s3data/bench/$tool-$run" # 1.4 GiB a copy
            fi
        done
    done
done

if part small; then
    export AWS_ENDPOINT_URL=$S3S_ENDPOINT; SERVER_PIDS="$S3S_PID"
    say "signing T (20,000 x 1 KiB) once, for the re-run over a signed release"
    sign_relsign T >/dev/null && sync
    say "copying T (20,000 x 1 KiB) to s3s-fs, then again with nothing to do: $RUNS runs"
    for run in $(seq 1 "$RUNS"); do
        # A fresh s3s-fs for each run: after one run's 40,000 objects (and their removal)
        # it spent twice the CPU on the same PUTs, whichever tool came next, and the
        # proxy keeps pointing at the same port.
        kill "$S3S_PID" 2>/dev/null || true
        wait "$S3S_PID" 2>/dev/null || true
        rm -rf s3data && mkdir -p s3data/bench && start_s3s_fs && SERVER_PIDS="$S3S_PID" && sleep 1
        # Who goes first alternates: the first copy of a run follows the last one's cleanup.
        tools="copier s5cmd"; [ $((run % 2)) -eq 0 ] && tools="s5cmd copier"
        for tool in $tools; do
            warm T
            record copy-small T "$tool" "$run" -- bash -c "copy_$tool T small-$tool-$run"
            check_copy T "small-$tool-$run" "$tool"
        done
        # Nothing to do: every object is there (copier's own copy, newer than the files).
        record rerun-small T copier "$run" -- bash -c "copy_copier T small-copier-$run"
        record rerun-small T aws_sync "$run" -- bash -c "copy_aws_sync T small-copier-$run"
        check_copy T "small-copier-$run" "the re-runs"
        rm -rf "s3data/bench/small-s5cmd-$run"
        # T signed: 20,000 published files and their signatures (40,002 objects), copied
        # once, then again with nothing to do: the re-run proves every object by the
        # SHA-256 S3 verified (peak RSS under 200 MiB is a target).
        copy_copier out-T "signed-$run" >/dev/null
        check_copy out-T "signed-$run" copier
        record rerun-signed T-signed copier "$run" -- bash -c "copy_copier out-T signed-$run"
        record rerun-signed T-signed aws_sync "$run" -- bash -c "copy_aws_sync out-T signed-$run"
        check_copy out-T "signed-$run" "the re-runs of T signed"
        rm -rf "s3data/bench/signed-$run" "s3data/bench/small-copier-$run"
    done
fi
