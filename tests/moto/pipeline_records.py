"""moto, answering two read APIs it lacks from what the CodeBuild-like harness recorded.

Why: moto 5.2.5 implements neither CodePipeline ListActionExecutions nor any CodeBuild batch
API, and the release pipeline reads both: ExportLogs finds the builds of its execution
through them (buildspecs/lib/export-logs.sh). In the tests, the harness plays CodePipeline
and CodeBuild (tests/tests/pipeline/release.rs runs every action), so it writes down what
those services would record, in the shapes of AWS's API reference, to the JSON file named by
RELSIGN_PIPELINE_RECORDS:

    {"pipelines": {NAME: {"actionExecutionDetails": [ActionExecutionDetail, ...]}},
     "buildBatches": [BuildBatch, ...]}

This module only serves that record, with AWS's filter and not-found behaviour:
ListActionExecutions(pipelineName, filter.pipelineExecutionId) and
BatchGetBuildBatches(ids) -> buildBatches + buildBatchesNotFound. It invents nothing. The
test `pipeline::records::moto_lacks_and_gets_the_execution_apis` shows that plain moto_server
refuses both calls and that the AWS CLI, which validates the shapes against botocore's model,
reads this server's answers.
"""
import json
import os

from moto.codebuild.responses import CodeBuildResponse
from moto.codepipeline.exceptions import PipelineNotFoundException
from moto.codepipeline.responses import CodePipelineResponse


def _records():
    path = os.environ.get("RELSIGN_PIPELINE_RECORDS")
    if not path or not os.path.exists(path):
        return {"pipelines": {}, "buildBatches": []}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def list_action_executions(self):
    name = self._get_param("pipelineName")
    pipeline = _records()["pipelines"].get(name)
    if pipeline is None:
        raise PipelineNotFoundException(f"Pipeline with name '{name}' not found")
    wanted = (self._get_param("filter") or {}).get("pipelineExecutionId")
    details = [
        d
        for d in pipeline["actionExecutionDetails"]
        if wanted is None or d["pipelineExecutionId"] == wanted
    ]
    return json.dumps({"actionExecutionDetails": details})


def batch_get_build_batches(self):
    ids = self._get_param("ids") or []
    batches = {b["id"]: b for b in _records()["buildBatches"]}
    return json.dumps(
        {
            "buildBatches": [batches[i] for i in ids if i in batches],
            "buildBatchesNotFound": [i for i in ids if i not in batches],
        }
    )


CodePipelineResponse.list_action_executions = list_action_executions
CodeBuildResponse.batch_get_build_batches = batch_get_build_batches
