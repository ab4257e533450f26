# Exports the CloudWatch Logs of this pipeline run's builds to the release bucket, one export
# task at a time (CloudWatch Logs runs one active export task per account), waiting for each.
#
# Input: SOURCE_LOG_GROUP_NAME, RELEASE_BUCKET_NAME, GIT_COMMIT_SHA, and one variable per build
# named *_BUILD_ID holding its id (<project>:<uuid>, logged to stream <project>/<uuid>).
# Tunables: LOG_WINDOW_HOURS (default 6), EXPORT_TIMEOUT_SECONDS per task (default 900).
set -eu
: "${SOURCE_LOG_GROUP_NAME:?set by the log collector project}"
: "${RELEASE_BUCKET_NAME:?set by the log collector project}"
: "${GIT_COMMIT_SHA:?set by the ExportLogs action}"
window=$(( ${LOG_WINDOW_HOURS:-6} * 3600 ))
timeout=${EXPORT_TIMEOUT_SECONDS:-900}
now=$(date +%s)
from=$(( (now - window) * 1000 ))
to=$(( (now + 60) * 1000 ))

ids=$(env | sed -n 's/^\([A-Z0-9_]*_BUILD_ID\)=.*/\1/p' | grep -v '^CODEBUILD_BUILD_ID$' | sort || true)
if [ -z "$ids" ]; then
    echo "export-logs: no *_BUILD_ID variable: pass the build ids in the ExportLogs action's EnvironmentVariables" >&2
    exit 2
fi

for name in $ids; do
    id=$(printenv "$name")
    if [ -z "$id" ]; then
        echo "export-logs: $name is empty: check the namespace it is read from" >&2
        exit 2
    fi
    stream=$(printf '%s' "$id" | tr ':' '/')
    # Another export may still be running (ours or anyone's): retry while the limit is hit.
    deadline=$(( $(date +%s) + timeout ))
    while ! task=$(aws logs create-export-task \
        --task-name "relsign-$GIT_COMMIT_SHA-$name" \
        --log-group-name "$SOURCE_LOG_GROUP_NAME" \
        --log-stream-name-prefix "$stream" \
        --from "$from" --to "$to" \
        --destination "$RELEASE_BUCKET_NAME" \
        --destination-prefix "$GIT_COMMIT_SHA/logs" \
        --query taskId --output text 2>"${TMPDIR:-/tmp}/export-logs.err"); do
        if grep -q LimitExceeded "${TMPDIR:-/tmp}/export-logs.err" && [ "$(date +%s)" -lt "$deadline" ]; then
            sleep 10
            continue
        fi
        echo "export-logs: cannot export $name ($id): $(cat "${TMPDIR:-/tmp}/export-logs.err")" >&2
        exit 5
    done
    while :; do
        status=$(aws logs describe-export-tasks --task-id "$task" --query 'exportTasks[0].status.code' --output text)
        case "$status" in
            COMPLETED) echo "exported $name ($stream) to s3://$RELEASE_BUCKET_NAME/$GIT_COMMIT_SHA/logs/ (task $task)"; break ;;
            CANCELLED|FAILED) echo "export-logs: export task $task for $name ended $status: see aws logs describe-export-tasks --task-id $task" >&2; exit 5 ;;
        esac
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "export-logs: export task $task for $name still $status after ${timeout}s: raise EXPORT_TIMEOUT_SECONDS or check the bucket policy for logs.amazonaws.com" >&2
            exit 5
        fi
        sleep 5
    done
done
