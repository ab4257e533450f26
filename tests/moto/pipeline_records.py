"""moto, answering the read APIs it lacks (or answers only for what it ran itself) from what
the CodeBuild-like harness recorded.

Why: moto 5.2.5 implements neither CodePipeline ListActionExecutions nor any CodeBuild batch
API, and the release pipeline reads both: ExportLogs finds the builds of its execution
through them (buildspecs/lib/export-logs.sh). In the tests, the harness plays CodePipeline
and CodeBuild (tests/tests/pipeline/release.rs runs every action), so it writes down what
those services would record, in the shapes of AWS's API reference, to the JSON file named by
RELSIGN_PIPELINE_RECORDS:

    {"pipelines": {NAME: {"actionExecutionDetails": [ActionExecutionDetail, ...],
                          "pipelineExecutions": [PipelineExecution, ...]}},
     "buildBatches": [BuildBatch, ...],
     "builds": [Build, ...]}

This module only serves that record, with AWS's filter and not-found behaviour:
ListActionExecutions(pipelineName, filter.pipelineExecutionId),
BatchGetBuildBatches(ids) -> buildBatches + buildBatchesNotFound, and, for the provenance
`signer sign --provenance` writes: GetPipelineExecution of a recorded execution (moto knows
only the executions it started, with no artifactRevisions) and BatchGetBuilds of recorded
builds (moto knows only the builds it started, all with initiator "rootme"); ids the record
does not hold go to moto's own handlers. It invents nothing. The tests
`pipeline::records::moto_lacks_and_gets_the_execution_apis` and
`pipeline::records::moto_lacks_and_gets_the_provenance_records` show plain moto_server
refusing or answering otherwise, and the AWS CLI, which validates the shapes against
botocore's model, reading this server's answers.
"""
import json
import os

from moto.codebuild.responses import CodeBuildResponse
from moto.codepipeline.exceptions import PipelineNotFoundException
from moto.codepipeline.responses import CodePipelineResponse


def _records():
    path = os.environ.get("RELSIGN_PIPELINE_RECORDS")
    if not path or not os.path.exists(path):
        return {"pipelines": {}, "buildBatches": [], "builds": []}
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


_moto_get_pipeline_execution = CodePipelineResponse.get_pipeline_execution
_moto_batch_get_builds = CodeBuildResponse.batch_get_builds


def get_pipeline_execution(self):
    """GetPipelineExecution -> {"pipelineExecution": PipelineExecution} (API Reference)."""
    name = self._get_param("pipelineName")
    wanted = self._get_param("pipelineExecutionId")
    recorded = _records()["pipelines"].get(name, {}).get("pipelineExecutions", [])
    for execution in recorded:
        if execution["pipelineExecutionId"] == wanted:
            return json.dumps({"pipelineExecution": execution})
    return _moto_get_pipeline_execution(self)


def batch_get_builds(self):
    """BatchGetBuilds(ids) -> builds + buildsNotFound (API Reference), recorded builds first."""
    ids = self._get_param("ids") or []
    recorded = {b["id"]: b for b in _records().get("builds", [])}
    if not any(i in recorded for i in ids):
        return _moto_batch_get_builds(self)
    return json.dumps(
        {
            "builds": [recorded[i] for i in ids if i in recorded],
            "buildsNotFound": [i for i in ids if i not in recorded],
        }
    )


CodePipelineResponse.list_action_executions = list_action_executions
CodePipelineResponse.get_pipeline_execution = get_pipeline_execution
CodeBuildResponse.batch_get_build_batches = batch_get_build_batches
CodeBuildResponse.batch_get_builds = batch_get_builds
