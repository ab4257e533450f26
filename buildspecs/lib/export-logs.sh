# shellcheck shell=sh
# Exports the CloudWatch Logs of this pipeline run's builds beside the release, one export
# task at a time (CloudWatch Logs runs one active export task per account), waiting for each;
# then fails if the copy did (COPY_EXIT_CODE), so that a failed copy still leaves its logs.
#
# Input: SOURCE_LOG_GROUP_NAME, RESULTS_BUCKET_URI (s3://bucket[/prefix], as copy.yml gets it),
# GIT_COMMIT_SHA, COPY_EXIT_CODE, PIPELINE_NAME and PIPELINE_EXECUTION_ID. The builds are the
# ones CodePipeline ran for this execution (ListActionExecutions: each CodeBuild action's
# build id, or its batch's, whose builds BatchGetBuildBatches lists), so the list never needs
# editing when a build or a stage is added. Each build id (<project>:<uuid>) is logged to
# stream <project>/<uuid>, which belongs to that build alone, so each is exported whole, from
# its first event (however long the build sat in a queue) to now; this build's own log is not
# (it is still being written).
# Tunable: EXPORT_TIMEOUT_SECONDS per task (default 900).
set -eu
: "${SOURCE_LOG_GROUP_NAME:?set by the log collector project}"
: "${RESULTS_BUCKET_URI:?set by the log collector project}"
: "${GIT_COMMIT_SHA:?set by the ExportLogs action}"
: "${COPY_EXIT_CODE:?set by the ExportLogs action from the copy}"
: "${PIPELINE_NAME:?set by the log collector project}"
: "${PIPELINE_EXECUTION_ID:?set by the ExportLogs action from #{codepipeline.PipelineExecutionId}}"
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

err="${TMPDIR:-/tmp}/export-logs.err"
# Every CodeBuild action of this execution: a build id, or a batch's id.
if ! actions=$(aws codepipeline list-action-executions --pipeline-name "$PIPELINE_NAME" \
    --filter "pipelineExecutionId=$PIPELINE_EXECUTION_ID" \
    --query "actionExecutionDetails[?input.actionTypeId.provider=='CodeBuild'].output.executionResult.externalExecutionId" \
    --output text 2>"$err"); then
    echo "export-logs: cannot list the actions of execution $PIPELINE_EXECUTION_ID of $PIPELINE_NAME: $(cat "$err")" >&2
    exit 5
fi
ids=
for id in $actions; do
    [ "$id" = None ] && continue
    # A batch (the Build stage) stands for its builds; a build id is not a batch's.
    if ! builds=$(aws codebuild batch-get-build-batches --ids "$id" \
        --query 'buildBatches[].buildGroups[].currentBuildSummary.arn' --output text 2>"$err"); then
        echo "export-logs: cannot look up the build batch $id: $(cat "$err")" >&2
        exit 5
    fi
    if [ -z "$builds" ] || [ "$builds" = None ]; then
        ids="$ids $id"
        continue
    fi
    for arn in $builds; do
        ids="$ids ${arn#*:build/}"
    done
done
# shellcheck disable=SC2086 # one id a word
ids=$(printf '%s\n' $ids | grep -v -x -F "${CODEBUILD_BUILD_ID:-}" | sort -u || true)
if [ -z "$ids" ]; then
    echo "export-logs: execution $PIPELINE_EXECUTION_ID of $PIPELINE_NAME ran no CodeBuild build: check PIPELINE_NAME and the ExportLogs action's PIPELINE_EXECUTION_ID" >&2
    exit 2
fi

for id in $ids; do
    stream=$(printf '%s' "$id" | tr ':' '/')
    # Another export may still be running (ours or anyone's): retry while the limit is hit.
    deadline=$(( $(date +%s) + timeout ))
    while ! task=$(aws logs create-export-task \
        --task-name "relsign-$GIT_COMMIT_SHA-${id##*:}" \
        --log-group-name "$SOURCE_LOG_GROUP_NAME" \
        --log-stream-name-prefix "$stream" \
        --from "$from" --to "$to" \
        --destination "$bucket" \
        --destination-prefix "$destination" \
        --query taskId --output text 2>"$err"); do
        if grep -q LimitExceeded "$err" && [ "$(date +%s)" -lt "$deadline" ]; then
            sleep 10
            continue
        fi
        echo "export-logs: cannot export the log of $id: $(cat "$err")" >&2
        exit 5
    done
    while :; do
        status=$(aws logs describe-export-tasks --task-id "$task" --query 'exportTasks[0].status.code' --output text)
        case "$status" in
            COMPLETED) echo "exported $id ($stream) to s3://$bucket/$destination/ (task $task)"; break ;;
            CANCELLED|FAILED) echo "export-logs: export task $task for $id ended $status: see aws logs describe-export-tasks --task-id $task" >&2; exit 5 ;;
        esac
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "export-logs: export task $task for $id still $status after ${timeout}s: raise EXPORT_TIMEOUT_SECONDS or check the bucket policy for logs.amazonaws.com" >&2
            exit 5
        fi
        sleep 5
    done
done

if [ "$COPY_EXIT_CODE" != 0 ]; then
    echo "export-logs: the logs are exported, but the copy failed (copier exit $COPY_EXIT_CODE): see the ToS3 log above in s3://$bucket/$destination/; fix the cause, then retry the Copy stage with all actions" >&2
    exit 1
fi
