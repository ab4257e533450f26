//! `signer sign --provenance`: the SLSA provenance v1 predicate of the release, made from
//! what CodeBuild and CodePipeline record of the execution (relsign-aws's `execution`),
//! never from what a build step wrote. A field AWS gives nothing for is left out and named
//! in the run's report (`left_out`), never guessed.

use relsign_aws::{BuildFacts, ExecutionFacts};
use relsign_cli::{Exit, Failure};
use relsign_pgp::{BuildDefinition, BuildMetadata, Builder, Provenance, ResourceDescriptor, RunDetails};
use serde_json::{json, Map, Value};

use crate::cli::{AwsArgs, SignArgs};
use crate::settings::aws_options;

/// What the predicate's `buildType` names: this build's shape, documented in
/// docs/pipeline.md ("Provenance"). A URN, a URI that needs no host.
pub const BUILD_TYPE: &str = "urn:relsign:codepipeline-codebuild-release:v1";

/// CodeBuild's own id of the running build: set by CodeBuild, not by the buildspec.
const BUILD_ID_VAR: &str = "CODEBUILD_BUILD_ID";

/// The execution the signing build runs in, read from AWS before anything is read or
/// written, so a role that may not read it fails the run at once.
pub fn execution(args: &SignArgs) -> Result<Option<ExecutionFacts>, Failure> {
    if !args.provenance {
        return Ok(None);
    }
    let build_id = std::env::var(BUILD_ID_VAR).ok().filter(|v| !v.is_empty()).ok_or_else(|| {
        Failure::new(
            Exit::Usage,
            "--provenance describes a CodeBuild signing build, and CODEBUILD_BUILD_ID is not set",
        )
        .with_fix("run --provenance in the pipeline's signing action")
    })?;
    let execution_id = args.pipeline_execution_id.as_deref().filter(|v| !v.is_empty()).ok_or_else(|| {
        Failure::new(Exit::Usage, "--provenance needs the pipeline execution id").with_fix(
            "set SIGNER_PIPELINE_EXECUTION_ID=#{codepipeline.PipelineExecutionId} in the signing action",
        )
    })?;
    Ok(Some(read(&args.aws, &build_id, execution_id)?))
}

fn read(aws: &AwsArgs, build_id: &str, execution_id: &str) -> Result<ExecutionFacts, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| {
        Failure::new(Exit::Internal, format!("cannot start the async runtime: {e}"))
            .with_fix(relsign_cli::REPORT_BUG)
    })?;
    runtime.block_on(async {
        let config = relsign_aws::load(&aws_options(aws)).await?;
        Ok(relsign_aws::execution(&config, build_id, execution_id).await?)
    })
}

/// Sets `key` in `map` when AWS gave a value; otherwise notes `what` as left out.
fn put(
    map: &mut Map<String, Value>,
    key: &str,
    value: Option<&str>,
    what: String,
    left_out: &mut Vec<String>,
) {
    match value {
        Some(v) => {
            map.insert(key.into(), Value::String(v.into()));
        }
        None => left_out.push(what),
    }
}

/// `arn:aws:codebuild:R:A:build/P:UUID` -> `arn:aws:codebuild:R:A:project/P`: the project's
/// ARN, in the form CodeBuild's API reference documents for both.
fn project_arn(build_arn: &str) -> Option<String> {
    let (head, rest) = build_arn.split_once(":build/")?;
    let (project, _) = rest.rsplit_once(':')?;
    Some(format!("{head}:project/{project}"))
}

/// An image's digest, when its name pins one (`repo@sha256:...`): CodeBuild reports the
/// image as configured and no digest of its own.
fn image_digest(image: &str) -> Option<(String, String)> {
    let (_, digest) = image.rsplit_once('@')?;
    let (alg, hex) = digest.split_once(':')?;
    Some((alg.to_string(), hex.to_string()))
}

fn build_label(b: &BuildFacts) -> String {
    b.arn.clone().unwrap_or_else(|| b.id.clone())
}

/// The source and the image of one build, each left out where CodeBuild says nothing.
fn dependencies(b: &BuildFacts, left_out: &mut Vec<String>) -> Vec<ResourceDescriptor> {
    let label = build_label(b);
    let mut out = Vec::new();
    let mut source = ResourceDescriptor { name: Some(format!("{} source", b.id)), ..Default::default() };
    source.uri = b.source_location.clone();
    let mut annotations = Map::new();
    put(&mut annotations, "sourceType", b.source_type.as_deref(), format!("{label}: source type"), left_out);
    put(
        &mut annotations,
        "sourceVersion",
        b.source_version.as_deref(),
        format!("{label}: source version"),
        left_out,
    );
    match b.resolved_source_version.as_deref() {
        // A 40-hex revision is a git commit (CodeBuild resolves a branch or tag to one).
        Some(v) if v.len() == 40 && v.bytes().all(|c| c.is_ascii_hexdigit()) => {
            source.digest.insert("gitCommit".into(), v.to_ascii_lowercase());
        }
        Some(v) => {
            annotations.insert("resolvedSourceVersion".into(), Value::String(v.into()));
        }
        None => left_out.push(format!("{label}: resolved source version")),
    }
    source.annotations = annotations;
    if source.uri.is_none() && source.digest.is_empty() {
        left_out.push(format!("{label}: source location and commit"));
    }
    // A descriptor needs a uri or a digest (in-toto's ResourceDescriptor).
    if source.uri.is_some() || !source.digest.is_empty() {
        out.push(source);
    }
    match b.image.as_deref() {
        Some(image) => {
            let mut d = ResourceDescriptor {
                name: Some(format!("{} image", b.id)),
                uri: Some(image.to_string()),
                ..Default::default()
            };
            match image_digest(image) {
                Some((alg, hex)) => {
                    d.digest.insert(alg, hex);
                }
                None => left_out.push(format!("{label}: image digest (the image is named by tag)")),
            }
            out.push(d);
        }
        None => left_out.push(format!("{label}: image")),
    }
    out
}

/// One builder build as run details: its ARN and times.
fn run_record(b: &BuildFacts, left_out: &mut Vec<String>) -> ResourceDescriptor {
    let label = build_label(b);
    let mut annotations = Map::new();
    put(&mut annotations, "project", b.project_name.as_deref(), format!("{label}: project"), left_out);
    put(&mut annotations, "buildStatus", b.status.as_deref(), format!("{label}: status"), left_out);
    put(&mut annotations, "startTime", b.start_time.as_deref(), format!("{label}: start time"), left_out);
    put(&mut annotations, "endTime", b.end_time.as_deref(), format!("{label}: end time"), left_out);
    if let Some(batch) = &b.batch_arn {
        annotations.insert("buildBatchArn".into(), Value::String(batch.clone()));
    }
    if b.arn.is_none() {
        left_out.push(format!("{}: ARN", b.id));
    }
    ResourceDescriptor { name: Some(label.clone()), uri: b.arn.clone(), annotations, ..Default::default() }
}

/// The predicate, and what AWS gave nothing for.
pub fn predicate(facts: &ExecutionFacts) -> Result<(Provenance, Vec<String>), Failure> {
    let mut left_out = Vec::new();
    let builder = facts.signing.arn.as_deref().and_then(project_arn).ok_or_else(|| {
        Failure::new(
            Exit::Remote,
            format!(
                "CodeBuild gives no ARN for the signing build {}: the provenance has no builder id",
                facts.signing.id
            ),
        )
    })?;
    let sources: Vec<Value> = facts
        .sources
        .iter()
        .map(|s| {
            let mut m = Map::new();
            m.insert("action".into(), Value::String(s.action.clone()));
            let label = format!("source action {}", s.action);
            put(&mut m, "provider", s.provider.as_deref(), format!("{label}: provider"), &mut left_out);
            put(&mut m, "artifact", s.artifact.as_deref(), format!("{label}: artifact"), &mut left_out);
            put(
                &mut m,
                "revision",
                s.revision_id.as_deref(),
                format!("{label}: revision (commit)"),
                &mut left_out,
            );
            put(
                &mut m,
                "revisionUrl",
                s.revision_url.as_deref(),
                format!("{label}: revision URL"),
                &mut left_out,
            );
            let repo = ["FullRepositoryId", "RepositoryName", "Repo", "S3Bucket"]
                .iter()
                .find_map(|k| s.configuration.get(*k));
            put(
                &mut m,
                "repository",
                repo.map(String::as_str),
                format!("{label}: repository"),
                &mut left_out,
            );
            m.insert("configuration".into(), json!(s.configuration));
            Value::Object(m)
        })
        .collect();
    if sources.is_empty() {
        left_out.push("source: the execution lists no source action".into());
    }
    let mut pipeline = Map::new();
    pipeline.insert("name".into(), Value::String(facts.pipeline_name.clone()));
    pipeline.insert("executionId".into(), Value::String(facts.execution_id.clone()));
    match facts.pipeline_version {
        Some(v) => {
            pipeline.insert("version".into(), json!(v));
        }
        None => left_out.push("pipeline version".into()),
    }
    let mut external = Map::new();
    external.insert("pipeline".into(), Value::Object(pipeline));
    external.insert("sources".into(), Value::Array(sources));

    let resolved = facts.builds.iter().flat_map(|b| dependencies(b, &mut left_out)).collect();
    let byproducts = facts.builds.iter().map(|b| run_record(b, &mut left_out)).collect();
    let mut metadata = BuildMetadata { invocation_id: facts.signing.arn.clone(), ..Default::default() };
    metadata.started_on = facts.signing.start_time.clone();
    if metadata.started_on.is_none() {
        left_out.push("signing build: start time".into());
    }
    let predicate = Provenance {
        build_definition: BuildDefinition {
            build_type: BUILD_TYPE.into(),
            external_parameters: external,
            internal_parameters: Map::new(),
            resolved_dependencies: resolved,
        },
        run_details: RunDetails { builder: Builder { id: builder }, metadata: Some(metadata), byproducts },
    };
    Ok((predicate, left_out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_arn_and_image_digest_come_from_the_documented_forms_only() {
        assert_eq!(
            project_arn("arn:aws:codebuild:us-east-1:123456789012:build/signing:0f1e-2d3c").as_deref(),
            Some("arn:aws:codebuild:us-east-1:123456789012:project/signing")
        );
        assert_eq!(project_arn("arn:aws:codebuild:us-east-1:1:project/x"), None);
        assert_eq!(image_digest("aws/codebuild/standard:7.0"), None);
        assert_eq!(image_digest("repo@sha256:ab").unwrap(), ("sha256".into(), "ab".into()));
    }
}
