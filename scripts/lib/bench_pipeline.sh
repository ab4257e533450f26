# shellcheck shell=bash disable=SC2034,SC2153 # sourced by scripts/bench, whose variables these are
# scripts/bench, the pipeline part: the Sign and Copy stages (sourced by it, after
# bench_copy.sh has started the servers):
# from "W's build outputs are ready" to "the release is published and verified", each action
# as CodePipeline and CodeBuild run it, with what happens between actions:
#   publish   the builds' outputs zipped (CodeBuild's artifact zip) and uploaded to the
#             artifact bucket: one zip per build action, all at once, as that many CodeBuild
#             hosts would (here they share this machine's cores); for the batch, CodeBuild
#             combines the builds' outputs into ONE zip, a folder per build (how it makes it is
#             not public: modeled as one zip of the whole, the slowest way);
#   inputs    each input artifact of an action downloaded and unzipped;
#   run       the action's commands;
#   output    the action's output zipped and uploaded.
# The artifact bucket and the release bucket are on the S3-shaped server. Artifact transfers
# use the AWS CLI's defaults (what CodeBuild's agent uses is not public).
#
# Each design with W dealt over 4 builds and over 12 (workloads W4, W12):
#   reference        the reference pipeline: one build action per build, Sign copies and
#                    gpg-signs each file (its loop), hands on files + signatures; Copy runs one
#                    `aws s3 cp` per file. (With 12 builds CodePipeline refuses its Sign action,
#                    13 inputs: measured as if it took them.)
#   relsign-today    relsign before the batch: one build action per build, signer sign + verify,
#                    the whole signed folder (artifacts + signatures) handed on; copier check +
#                    copy, gated. (Also refused by CodePipeline past four builds.)
#   relsign-batch    the shipped template: the builds as one CodeBuild batch with combined
#                    artifacts; Sign signs every build's folder (--batch-source) and hands on
#                    only what it made (the .asc files, SHA256SUMS(.asc), manifest.json); Copy
#                    takes the combined artifact itself beside it (--artifacts-from), and
#                    copier's gate verifies every file against the signed SHA256SUMS and its
#                    signature before anything is sent. The signer still never writes the
#                    release bucket, the copy role still never reads the key.

PIPELINE="$BENCH_DIR/pipeline"
PIPELINE_RUNS=${PIPELINE_RUNS:-$RUNS}
export AWS_ENDPOINT_URL=$SHAPED_ENDPOINT
SERVER_PIDS="$S3S_PID $PROXY_PID"
for b in artifacts release; do AWS_ENDPOINT_URL=$S3S_ENDPOINT $SEED make-bucket "$b" 2>/dev/null || mkdir -p "s3data/$b"; done

# zip_up DIR URI [ZIP ARGS...]: CodeBuild's artifact upload (zip's default deflate level).
zip_up() { local d=$1 uri=$2 z; z="$(mktemp -u "$PIPELINE/zip.XXXXXX").zip"; shift 2
    (cd "$d" && zip -q -r -X "$z" . "$@") && "$AWS" s3 cp "$z" "$uri" --only-show-errors && rm -f "$z"; }
# fetch URI DIR: CodeBuild's input download, then unzip.
fetch() { local z; z="$(mktemp -u "$PIPELINE/zip.XXXXXX").zip"
    "$AWS" s3 cp "$1" "$z" --only-show-errors && mkdir -p "$2" && unzip -q "$z" -d "$2" && rm -f "$z"; }
pipeline_publish() { # RUN: one zip per build action, at once
    local b pids=()
    for b in $BUILDS; do zip_up "$PIPELINE/outputs/$b" "s3://artifacts/builds-$1/$b.zip" & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p"; done
}
pipeline_publish_batch() { # RUN: the batch's combined artifact, one zip with a folder per build
    zip_up "$PIPELINE/outputs" "s3://artifacts/builds-$1/BuildArtifacts.zip"
}
pipeline_sign_inputs() {
    local b; rm -rf "$PIPELINE/sign"
    if [ "$1" = relsign-batch ]; then fetch "s3://artifacts/builds-$2/BuildArtifacts.zip" "$PIPELINE/sign/BuildArtifacts"; return; fi
    for b in $BUILDS; do fetch "s3://artifacts/builds-$2/$b.zip" "$PIPELINE/sign/$b"; done
}
pipeline_sign_run() {
    local out="$PIPELINE/sign/out" b
    case $1 in
        reference)
            rm -rf "$PIPELINE/gh" && mkdir -p "$out" && mkdir -m 700 "$PIPELINE/gh"
            GNUPGHOME="$PIPELINE/gh" gpg --batch --quiet --pinentry-mode loopback --passphrase-file passphrase --import key.asc
            for b in $BUILDS; do for f in "$PIPELINE/sign/$b"/*; do
                cp "$f" "$out/"
                GNUPGHOME="$PIPELINE/gh" gpg --detach-sign --batch --quiet --pinentry-mode loopback \
                    --passphrase-file passphrase --armor --output "$out/$(basename "$f").asc" "$out/$(basename "$f")"
            done; done
            GNUPGHOME="$PIPELINE/gh" gpgconf --kill all ;;
        relsign-today)
            local sources=()
            for b in $BUILDS; do sources+=(--source "$b=$PIPELINE/sign/$b"); done
            "$SIGNER" sign --key-file key.asc --passphrase-file passphrase "${sources[@]}" --out "$out" &&
                "$SIGNER" verify --require-sums --cert cert.asc "$out" ;;
        relsign-batch)
            "$SIGNER" sign --key-file key.asc --passphrase-file passphrase --source "BuildArtifacts=$PIPELINE/sign/BuildArtifacts" \
                --batch-source BuildArtifacts --out "$out" &&
                "$SIGNER" verify --require-sums --cert cert.asc "$out" ;;
    esac
}
pipeline_sign_output() {
    if [ "$1" = relsign-batch ]; then
        zip_up "$PIPELINE/sign/out" "s3://artifacts/$1-$2/Signatures.zip" -i '*.asc' SHA256SUMS manifest.json
    else
        zip_up "$PIPELINE/sign/out" "s3://artifacts/$1-$2/Signed.zip"
    fi
}
pipeline_copy_inputs() {
    rm -rf "$PIPELINE/copy"
    if [ "$1" = relsign-batch ]; then
        fetch "s3://artifacts/$1-$2/Signatures.zip" "$PIPELINE/copy/Signatures" &&
            fetch "s3://artifacts/builds-$2/BuildArtifacts.zip" "$PIPELINE/copy/BuildArtifacts"
    else
        fetch "s3://artifacts/$1-$2/Signed.zip" "$PIPELINE/copy/Signed"
    fi
}
pipeline_copy_run() {
    local from="$PIPELINE/copy/Signed"
    case $1 in
        reference) # the reference's copy.yml loop, as it is
            # shellcheck disable=SC2045
            (cd "$from" && for f in $(ls .); do "$AWS" s3 cp "$f" "s3://release/$1-$2/$f" --only-show-errors; done) ;;
        relsign-today)
            "$COPIER" check --from "$from" --to "s3://release/$1-$2" --path-style &&
                "$COPIER" --from "$from" --to "s3://release/$1-$2" --path-style --require-signatures --cert cert.asc ;;
        relsign-batch)
            local handoff=(--from "$PIPELINE/copy/Signatures" --artifacts-from "$PIPELINE/copy/BuildArtifacts" --to "s3://release/$1-$2" --path-style)
            "$COPIER" check "${handoff[@]}" && "$COPIER" "${handoff[@]}" --require-signatures --cert cert.asc ;;
    esac
}
export -f zip_up fetch pipeline_publish pipeline_publish_batch pipeline_sign_inputs pipeline_sign_run pipeline_sign_output pipeline_copy_inputs pipeline_copy_run
export PIPELINE SIGNER

# pipeline_workload N: W's 20 files dealt over N builds, as that many build outputs.
pipeline_workload() {
    local n=$1 i=0 b
    BUILDS=$(seq -f 'Build%02g' 1 "$n" | tr '\n' ' ')
    export BUILDS
    rm -rf "$PIPELINE" && mkdir -p "$PIPELINE"
    for f in W/*; do
        b=$(printf 'Build%02d' $((i % n + 1))); i=$((i + 1))
        mkdir -p "$PIPELINE/outputs/$b" && ln "$f" "$PIPELINE/outputs/$b/"
    done
}

for builds in 4 12; do
    wl="W$builds"
    pipeline_workload "$builds"
    say "the Sign and Copy stages for W over $builds builds (build outputs to published release) on the S3-shaped server: $PIPELINE_RUNS run(s) per design"
    for run in $(seq 1 "$PIPELINE_RUNS"); do
        sync
        record pipeline-step "$wl:builds" publish "$run" -- bash -c "pipeline_publish $run"
        published=$(tail -1 "$TSV")
        record pipeline-step "$wl:batch" publish "$run" -- bash -c "pipeline_publish_batch $run"
        published_batch=$(tail -1 "$TSV")
        for design in reference relsign-today relsign-batch; do
            sync
            before=$(wc -l <"$TSV")
            # The builds' publish step, counted in this design's total below, then dropped.
            if [ "$design" = relsign-batch ]; then echo "$published_batch" >>"$TSV"; else echo "$published" >>"$TSV"; fi
            for step in sign_inputs sign_run sign_output copy_inputs copy_run; do
                record pipeline-step "$wl:$design" "$step" "$run" -- bash -c "pipeline_$step $design $run"
            done
            # The published release must be the signed folder, byte for byte.
            diff -rq "$PIPELINE/sign/out" "s3data/release/$design-$run" >/dev/null ||
                { echo "bench: the $design pipeline did not publish the signed release exactly" >&2; exit 1; }
            total=$(tail -n +"$((before + 1))" "$TSV" |
                "$RELSIGN_VENV/bin/python" "$RELSIGN_ROOT/scripts/lib/bench_results.py" total pipeline "$wl" "$design" "$run")
            sed -i "$((before + 1))d" "$TSV" && echo "$total" >>"$TSV"
            rm -rf "s3data/release/$design-$run" "s3data/artifacts/$design-$run"
        done
        rm -rf "s3data/artifacts/builds-$run"
    done
done
