# Exports the CloudWatch Logs of this pipeline run's builds beside the release, one export
# task at a time (CloudWatch Logs runs one active export task per account), waiting for each;
# then fails if the copy did (COPY_EXIT_CODE), so that a failed copy still leaves its logs.
#
# Input: SOURCE_LOG_GROUP_NAME, RESULTS_BUCKET_URI (s3://bucket[/prefix], as copy.yml gets it),
# GIT_COMMIT_SHA, COPY_EXIT_CODE, and one variable per build named *_BUILD_ID holding its id
# (<project>:<uuid>, logged to stream <project>/<uuid>). Each stream belongs to one build, so
# each is exported whole, from its first event (however long the build sat in a queue) to now.
# Tunable: EXPORT_TIMEOUT_SECONDS per task (default 900).
set -eu
: "${SOURCE_LOG_GROUP_NAME:?set by the log collector project}"
: "${RESULTS_BUCKET_URI:?set by the log collector project}"
: "${GIT_COMMIT_SHA:?set by the ExportLogs action}"
: "${COPY_EXIT_CODE:?set by the ExportLogs action from the copy}"
case "$RESULTS_BUCKET_URI" in
    s3://?*) ;;
    *) echo "export-logs: RESULTS_BUCKET_URI must be s3://bucket[/prefix], not $RESULTS_BUCKET_URI" >&2; exit 2 ;;
esac
location=${RESULTS_BUCKET_URI#s3://}
location=${location%/}
bucket=${location%%/*}
prefix=
[ "$bucket" = "$location" ] || prefix=${location#*/}/
destination="$prefix$GIT_COMMIT_SHA/logs"
timeout=${EXPORT_TIMEOUT_SECONDS:-900}
from=0
to=$(( ($(date +%s) + 60) * 1000 ))

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
        --destination "$bucket" \
        --destination-prefix "$destination" \
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
            COMPLETED) echo "exported $name ($stream) to s3://$bucket/$destination/ (task $task)"; break ;;
            CANCELLED|FAILED) echo "export-logs: export task $task for $name ended $status: see aws logs describe-export-tasks --task-id $task" >&2; exit 5 ;;
        esac
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "export-logs: export task $task for $name still $status after ${timeout}s: raise EXPORT_TIMEOUT_SECONDS or check the bucket policy for logs.amazonaws.com" >&2
            exit 5
        fi
        sleep 5
    done
done

if [ "$COPY_EXIT_CODE" != 0 ]; then
    echo "export-logs: the logs are exported, but the copy failed (copier exit $COPY_EXIT_CODE): see the ToS3 log above in s3://$bucket/$destination/; fix the cause, then retry the Copy stage with all actions" >&2
    exit 1
fi
