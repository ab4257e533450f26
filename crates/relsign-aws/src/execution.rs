//! What CodeBuild and CodePipeline record of the pipeline execution that runs the signing
//! build, read by the signing role for the release's provenance: the signing build itself
//! (CodeBuild BatchGetBuilds on `CODEBUILD_BUILD_ID`), the execution (CodePipeline
//! GetPipelineExecution: its source revisions), its actions (ListActionExecutions: the
//! source actions' configuration, each CodeBuild action's build or batch, told apart by the
//! action's BatchEnabled) and the builds behind them (BatchGetBuildBatches for a batch, then
//! BatchGetBuilds), found as buildspecs/lib/export-logs.sh finds them for the logs.
//!
//! Nothing here is read from a file or a variable a build step could write: only the two
//! ids the signing build is started with (its own build id, set by CodeBuild, and the
//! execution id, set by CodePipeline) select what is asked, and the execution must list
//! the signing build among its actions. A field AWS does not return stays `None`.

use std::collections::BTreeMap;

use aws_sdk_codebuild::primitives::{DateTime, DateTimeFormat};
use aws_sdk_codebuild::types::Build;
use aws_sdk_codepipeline::types::ActionExecutionFilter;

use crate::error::error_chain;
use crate::Error;

/// The source actions' configuration keys that name a repository, branch or object
/// (CodePipeline's action structure reference); anything else (tokens) is never copied.
const SOURCE_KEYS: [&str; 9] = [
    "FullRepositoryId",
    "RepositoryName",
    "BranchName",
    "ConnectionArn",
    "Owner",
    "Repo",
    "Branch",
    "S3Bucket",
    "S3ObjectKey",
];

/// One CodeBuild build, as BatchGetBuilds describes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuildFacts {
    pub id: String,
    pub arn: Option<String>,
    pub project_name: Option<String>,
    pub batch_arn: Option<String>,
    pub initiator: Option<String>,
    pub status: Option<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub source_type: Option<String>,
    pub source_location: Option<String>,
    pub source_version: Option<String>,
    pub resolved_source_version: Option<String>,
    pub image: Option<String>,
}

/// A source action of the execution: its configuration and the revision it produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceFacts {
    pub action: String,
    pub provider: Option<String>,
    pub configuration: BTreeMap<String, String>,
    /// The artifact's revision (GetPipelineExecution's artifactRevisions, by artifact name).
    pub artifact: Option<String>,
    pub revision_id: Option<String>,
    pub revision_url: Option<String>,
}

/// The execution that ran the signing build.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutionFacts {
    pub signing: BuildFacts,
    pub pipeline_name: String,
    pub execution_id: String,
    pub pipeline_version: Option<i32>,
    pub sources: Vec<SourceFacts>,
    /// Every other build the execution ran before the signing build (each build of a
    /// batch), in the order CodePipeline lists their actions.
    pub builds: Vec<BuildFacts>,
}

fn time(t: Option<&DateTime>) -> Option<String> {
    t.and_then(|t| t.fmt(DateTimeFormat::DateTime).ok())
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_string)
}

fn build_facts(b: &Build) -> BuildFacts {
    BuildFacts {
        id: b.id().unwrap_or_default().to_string(),
        arn: non_empty(b.arn()),
        project_name: non_empty(b.project_name()),
        batch_arn: non_empty(b.build_batch_arn()),
        initiator: non_empty(b.initiator()),
        status: b.build_status().map(|s| s.as_str().to_string()),
        start_time: time(b.start_time()),
        end_time: time(b.end_time()),
        source_type: b.source().map(|s| s.r#type().as_str().to_string()),
        source_location: non_empty(b.source().and_then(|s| s.location())),
        source_version: non_empty(b.source_version()),
        resolved_source_version: non_empty(b.resolved_source_version()),
        image: non_empty(b.environment().map(|e| e.image())),
    }
}

fn failed(api: &'static str) -> impl Fn(&(dyn std::error::Error + 'static)) -> Error {
    move |e| Error::ExecutionRecord { api, detail: error_chain(e) }
}

/// The builds `ids` (BatchGetBuilds takes 100 at most).
async fn builds(client: &aws_sdk_codebuild::Client, ids: &[String]) -> Result<Vec<BuildFacts>, Error> {
    let mut out = Vec::new();
    for chunk in ids.chunks(100) {
        let got = client
            .batch_get_builds()
            .set_ids(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| failed("codebuild:BatchGetBuilds")(&e))?;
        let mut by_id: BTreeMap<String, BuildFacts> =
            got.builds().iter().map(build_facts).map(|b| (b.id.clone(), b)).collect();
        for id in chunk {
            out.push(by_id.remove(id).ok_or_else(|| Error::NotFromPipeline {
                detail: format!("CodeBuild does not know build {id}"),
            })?);
        }
    }
    Ok(out)
}

/// Reads what AWS records of execution `execution_id` that runs the signing build
/// `signing_build_id`, and checks that the execution did run it.
pub async fn execution(
    config: &aws_config::SdkConfig,
    signing_build_id: &str,
    execution_id: &str,
) -> Result<ExecutionFacts, Error> {
    let codebuild = aws_sdk_codebuild::Client::new(config);
    let pipeline = aws_sdk_codepipeline::Client::new(config);
    let signing = builds(&codebuild, &[signing_build_id.to_string()]).await?.remove(0);
    // CodeBuild sets the initiator of a build CodePipeline starts to codepipeline/<name>.
    let pipeline_name = match signing.initiator.as_deref().and_then(|i| i.strip_prefix("codepipeline/")) {
        Some(name) => name.to_string(),
        None => {
            return Err(Error::NotFromPipeline {
                detail: format!(
                    "build {signing_build_id} was started by {}, not by CodePipeline",
                    signing.initiator.as_deref().unwrap_or("(no initiator)")
                ),
            })
        }
    };

    let got = pipeline
        .get_pipeline_execution()
        .pipeline_name(&pipeline_name)
        .pipeline_execution_id(execution_id)
        .send()
        .await
        .map_err(|e| failed("codepipeline:GetPipelineExecution")(&e))?;
    let run = got.pipeline_execution();
    let revisions: Vec<_> = run.map(|r| r.artifact_revisions().to_vec()).unwrap_or_default();

    let mut details = Vec::new();
    let mut token = None;
    loop {
        let filter = ActionExecutionFilter::builder().pipeline_execution_id(execution_id).build();
        let page = pipeline
            .list_action_executions()
            .pipeline_name(&pipeline_name)
            .filter(filter)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| failed("codepipeline:ListActionExecutions")(&e))?;
        details.extend(page.action_execution_details().iter().cloned());
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }

    let mut sources = Vec::new();
    let mut action_ids = Vec::new();
    let mut ran_signing = false;
    for d in &details {
        let input = d.input();
        let type_id = input.and_then(|i| i.action_type_id());
        let provider = type_id.map(|t| t.provider().to_string());
        let external = d.output().and_then(|o| o.execution_result()).and_then(|r| r.external_execution_id());
        if type_id.map(|t| t.category().as_str()) == Some("Source") {
            let configuration = input
                .and_then(|i| i.configuration())
                .map(|c| {
                    c.iter()
                        .filter(|(k, _)| SOURCE_KEYS.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            let artifact = d
                .output()
                .and_then(|o| o.output_artifacts().first())
                .and_then(|a| a.name())
                .map(str::to_string);
            let revision = revisions.iter().find(|r| r.name().is_some() && r.name() == artifact.as_deref());
            sources.push(SourceFacts {
                action: d.action_name().unwrap_or_default().to_string(),
                provider,
                configuration,
                artifact,
                revision_id: non_empty(revision.and_then(|r| r.revision_id())),
                revision_url: non_empty(revision.and_then(|r| r.revision_url())),
            });
        } else if provider.as_deref() == Some("CodeBuild") {
            // A batch action says so in its configuration (BatchEnabled), so only a batch's
            // id goes to BatchGetBuildBatches.
            let batch = input.and_then(|i| i.configuration()).and_then(|c| c.get("BatchEnabled"))
                == Some(&"true".to_string());
            match external {
                Some(id) if id == signing_build_id => ran_signing = true,
                Some(id) if !id.is_empty() => action_ids.push((id.to_string(), batch)),
                _ => {}
            }
        }
    }
    if !ran_signing {
        return Err(Error::NotFromPipeline {
            detail: format!(
                "execution {execution_id} of pipeline {pipeline_name} lists no action that ran build {signing_build_id}"
            ),
        });
    }

    // A batch (the Build stage) stands for its builds; a build id is no batch's.
    let mut build_ids = Vec::new();
    for (id, batch) in action_ids {
        if !batch {
            build_ids.push(id);
            continue;
        }
        let got = codebuild
            .batch_get_build_batches()
            .ids(&id)
            .send()
            .await
            .map_err(|e| failed("codebuild:BatchGetBuildBatches")(&e))?;
        let arns: Vec<&str> = got
            .build_batches()
            .iter()
            .flat_map(|b| b.build_groups())
            .filter_map(|g| g.current_build_summary().and_then(|s| s.arn()))
            .collect();
        if arns.is_empty() {
            return Err(Error::NotFromPipeline { detail: format!("CodeBuild lists no build of batch {id}") });
        }
        // arn:aws:codebuild:REGION:ACCOUNT:build/PROJECT:UUID holds the build id.
        build_ids.extend(arns.iter().filter_map(|a| a.split_once(":build/").map(|(_, id)| id.to_string())));
    }
    build_ids.dedup();
    let builds = builds(&codebuild, &build_ids).await?;
    Ok(ExecutionFacts {
        signing,
        pipeline_name,
        execution_id: execution_id.to_string(),
        pipeline_version: run.and_then(|r| r.pipeline_version()),
        sources,
        builds,
    })
}
