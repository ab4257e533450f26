//! A pipeline execution played locally: every CodeBuild action of
//! `release-pipeline-stack.yml` in stage order, with the buildspec, variables, sources and
//! secrets the template gives it, against a moto server, as CodePipeline and CodeBuild run
//! them. A batch action (BatchEnabled) runs each build of its buildspec's build-list in its
//! own checkout and, with CombineArtifacts, hands on one artifact holding a folder per build,
//! named by the build's identifier.
//!
//! What CodePipeline and CodeBuild record of the execution (ListActionExecutions, the
//! batch's builds) is written, in AWS's shapes, where moto serves it
//! (tests/moto/pipeline_records.py): moto has neither API.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use relsign_tests::codebuild::{Build, Outcome};
use relsign_tests::copy_tree;
use relsign_tests::local_aws::LocalAws;
use relsign_wiring::{Action, Buildspec, Params, Pipeline, Template};
use serde_json::{json, Value};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// What the test changes of one build of a batch: another buildspec (an ARM build on this
/// x86_64 machine, say) and variables added to its entry's.
pub struct StandIn {
    pub buildspec: Option<PathBuf>,
    pub env: Vec<(String, String)>,
}

pub struct Run {
    pub template: Template,
    pub pipeline: Pipeline,
    pub params: Params,
    pub aws: LocalAws,
    pub work: tempfile::TempDir,
    pub source: PathBuf,
    /// Output artifacts by name, and each namespace's variables.
    pub artifacts: BTreeMap<String, PathBuf>,
    pub namespaces: BTreeMap<String, BTreeMap<String, String>>,
    pub log_group: String,
    /// PATH for the builds: the machine's, without any signer or copier, plus the AWS CLI.
    pub path: String,
    /// busybox, called as `sh`: the signing image's only shell.
    pub busybox_sh: PathBuf,
    pub records: Records,
}

/// What CodePipeline and CodeBuild would record of this execution, kept where moto reads it.
pub struct Records {
    pub path: PathBuf,
    pub pipeline: String,
    pub execution_id: String,
    actions: Vec<Value>,
    batches: Vec<Value>,
    executions: Vec<Value>,
    builds: Vec<Value>,
}

impl Records {
    pub fn new(path: PathBuf, pipeline: &str) -> Records {
        let execution_id = relsign_tests::codebuild::uuid_like();
        let r = Records {
            path,
            pipeline: pipeline.to_string(),
            execution_id,
            actions: vec![],
            batches: vec![],
            executions: vec![],
            builds: vec![],
        };
        r.save();
        r
    }

    fn save(&self) {
        let doc = json!({
            "pipelines": { &self.pipeline: {
                "actionExecutionDetails": self.actions,
                "pipelineExecutions": self.executions,
            } },
            "buildBatches": self.batches,
            "builds": self.builds,
        });
        std::fs::write(&self.path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    }

    /// An action execution, as ListActionExecutions returns it (CodePipeline API Reference,
    /// ActionExecutionDetail).
    pub fn action(&mut self, a: &Action, external_id: &str) {
        self.action_in(&self.execution_id.clone(), a, external_id);
    }

    /// The same, for another execution of the pipeline.
    pub fn action_in(&mut self, execution_id: &str, a: &Action, external_id: &str) {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
        self.actions.push(json!({
            "pipelineExecutionId": execution_id,
            "actionExecutionId": relsign_tests::codebuild::uuid_like(),
            "pipelineVersion": 1,
            "stageName": a.stage,
            "actionName": a.name,
            "startTime": now,
            "lastUpdateTime": now,
            "status": "Succeeded",
            "input": {
                "actionTypeId": {"category": a.category, "owner": "AWS", "provider": a.provider, "version": "1"},
                "inputArtifacts": a.inputs.iter().map(|i| json!({"name": i})).collect::<Vec<_>>(),
                "namespace": a.namespace,
                // The configuration's plain values (BatchEnabled, say), as CodePipeline
                // reports them; intrinsics are the test's to resolve (see `execution`).
                "configuration": a.configuration.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect::<BTreeMap<String, String>>(),
            },
            "output": {
                "outputArtifacts": a.outputs.iter().map(|o| json!({"name": o})).collect::<Vec<_>>(),
                "executionResult": {"externalExecutionId": external_id},
            },
        }));
        self.save();
    }

    /// The execution, as GetPipelineExecution returns it (PipelineExecution, its
    /// artifactRevisions), and its Source action (a CodeStarSourceConnection of
    /// `repository`), at `commit`.
    pub fn execution(&mut self, commit: &str, repository: &str) {
        self.executions.push(json!({
            "pipelineName": self.pipeline,
            "pipelineVersion": 1,
            "pipelineExecutionId": self.execution_id,
            "status": "InProgress",
            "artifactRevisions": [{"name": "SourceArtifact", "revisionId": commit}],
        }));
        self.actions.push(json!({
            "pipelineExecutionId": self.execution_id,
            "actionExecutionId": relsign_tests::codebuild::uuid_like(),
            "pipelineVersion": 1,
            "stageName": "Source",
            "actionName": "Source",
            "status": "Succeeded",
            "input": {
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
                "configuration": {"FullRepositoryId": repository, "BranchName": "main"},
            },
            "output": {
                "outputArtifacts": [{"name": "SourceArtifact"}],
                "executionResult": {"externalExecutionId": commit},
            },
        }));
        self.save();
    }

    pub fn has_execution(&self) -> bool {
        !self.executions.is_empty()
    }

    /// A build CodePipeline started, as BatchGetBuilds returns it (CodeBuild API Reference,
    /// Build): its image, the commit it resolved, the batch it belongs to.
    pub fn build(&mut self, id: &str, image: Option<&str>, commit: Option<&str>, batch: Option<&str>) {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
        let mut b = json!({
            "id": id,
            "arn": format!("arn:aws:codebuild:{REGION}:{ACCOUNT}:build/{id}"),
            "projectName": id.split(':').next().unwrap(),
            "initiator": format!("codepipeline/{}", self.pipeline),
            "buildStatus": "SUCCEEDED",
            "startTime": now,
            "endTime": now,
            "source": {"type": "CODEPIPELINE"},
        });
        if let Some(image) = image {
            b["environment"] =
                json!({"type": "LINUX_CONTAINER", "image": image, "computeType": "BUILD_GENERAL1_SMALL"});
        }
        if let Some(commit) = commit {
            b["resolvedSourceVersion"] = json!(commit);
        }
        if let Some(batch) = batch {
            b["buildBatchArn"] = json!(format!("arn:aws:codebuild:{REGION}:{ACCOUNT}:build-batch/{batch}"));
        }
        self.builds.push(b);
        self.save();
    }

    /// A batch's builds, as BatchGetBuildBatches returns them (CodeBuild API Reference,
    /// BuildBatch, BuildGroup, BuildSummary).
    pub fn batch(&mut self, batch_id: &str, project: &str, builds: &[(String, String)]) {
        self.batches.push(json!({
            "id": batch_id,
            "arn": format!("arn:aws:codebuild:{REGION}:{ACCOUNT}:build-batch/{batch_id}"),
            "projectName": project,
            "buildBatchStatus": "SUCCEEDED",
            "buildGroups": builds.iter().map(|(identifier, build_id)| json!({
                "identifier": identifier,
                "currentBuildSummary": {
                    "arn": format!("arn:aws:codebuild:{REGION}:{ACCOUNT}:build/{build_id}"),
                    "buildStatus": "SUCCEEDED",
                },
            })).collect::<Vec<_>>(),
        }));
        self.save();
    }
}

impl Run {
    fn find(&self, stage: &str, name: &str) -> Action {
        let a = self.pipeline.actions.iter().find(|a| a.stage == stage && a.name == name);
        a.unwrap_or_else(|| panic!("no action {stage}.{name}")).clone()
    }

    fn project(&self, a: &Action) -> (String, String) {
        let project = a.project.clone().unwrap_or_else(|| panic!("{} runs no CodeBuild project", a.name));
        let name = self
            .template
            .resolve(&self.params, self.template.property(&project, &["Name"]).unwrap())
            .unwrap();
        (project, name)
    }

    /// A fresh copy of the action's primary source in `dir`: a checkout of its own for the
    /// source repository, as each CodeBuild build gets.
    fn primary(&self, a: &Action, dir: &Path) -> PathBuf {
        let primary_name = a.primary_source.clone().unwrap_or_else(|| a.inputs[0].clone());
        if primary_name == "SourceArtifact" {
            clone(&self.source, dir);
        } else {
            copy_tree(&self.artifacts[&primary_name], dir);
        }
        dir.to_path_buf()
    }

    /// The build as the action starts it: its sources, then the project's variables, the
    /// action's (which win), and what the test adds.
    fn build(&self, a: &Action, project: &str, name: &str, spec: PathBuf, primary: &Path) -> Build {
        let primary_name = a.primary_source.clone().unwrap_or_else(|| a.inputs[0].clone());
        let mut build = Build::new(name, spec, primary);
        for input in a.inputs.iter().filter(|i| **i != primary_name) {
            build.secondary.push((input.clone(), self.artifacts[input].clone()));
        }
        for var in project_variables(&self.template, &self.params, project) {
            let value = self
                .template
                .resolve(&self.params, &var.2)
                .unwrap_or_else(|| panic!("{} does not resolve", var.0));
            match var.1.as_str() {
                "PLAINTEXT" => {
                    build.env.insert(var.0, value);
                }
                "SECRETS_MANAGER" => {
                    let secret = self.aws.seed(&["get-secret", &value], b"").stdout;
                    build.secrets.insert(var.0, String::from_utf8(secret).unwrap());
                }
                other => panic!("{project}: variable type {other} is not supported here"),
            }
        }
        for var in a.env_vars().unwrap() {
            build.env.insert(var.name, self.substitute(&var.value));
        }
        build.env.extend(self.aws.env());
        build.env.insert("PATH".into(), self.path.clone());
        build.env.insert("COPIER_PATH_STYLE".into(), "true".into());
        build.env.insert("SIGNER_PATH_STYLE".into(), "true".into());
        // Sign and Copy run in the signing image, whose only shell is busybox.
        if a.stage == "Sign" || a.stage == "Copy" {
            build.shell = self.busybox_sh.clone();
        }
        build
    }

    /// The build's log, where CodeBuild writes it: stream <StreamName>/<uuid>, the build id
    /// with ':' as '/'.
    fn log(&self, outcome: &Outcome) {
        let stream = outcome.build_id.replace(':', "/");
        self.aws.seed(&["put-logs", &self.log_group, &stream], outcome.log.as_bytes());
    }

    /// Runs the action as CodePipeline and CodeBuild would; `buildspec` replaces the project's.
    pub fn action(
        &mut self,
        stage: &str,
        name: &str,
        buildspec: Option<PathBuf>,
        extra: &[(&str, &str)],
    ) -> Outcome {
        self.try_action(stage, name, buildspec, extra).unwrap_or_else(|f| panic!("{stage}.{name}: {f}"))
    }

    /// [`Run::action`], its build's failure returned (the action failing the stage).
    pub fn try_action(
        &mut self,
        stage: &str,
        name: &str,
        buildspec: Option<PathBuf>,
        extra: &[(&str, &str)],
    ) -> Result<Outcome, relsign_tests::codebuild::Failed> {
        let a = self.find(stage, name);
        assert!(!a.flag("BatchEnabled"), "{stage}.{name} runs a batch: use Run::batch");
        let (project, project_name) = self.project(&a);
        let dir = self.work.path().join(format!("{name}-{}", a.stage));
        // A rerun of an action starts afresh, as CodeBuild's new build does.
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        let primary = self.primary(&a, &dir.join("src"));
        let spec_path =
            self.template.property(&project, &["Source", "BuildSpec"]).and_then(|v| v.as_str()).unwrap();
        let spec = buildspec.unwrap_or_else(|| primary.join(spec_path));
        let mut build = self.build(&a, &project, &project_name, spec, &primary);
        for (k, v) in extra {
            build.env.insert(k.to_string(), v.to_string());
        }
        // CodeBuild and CodePipeline know the build while it runs: the signing build reads
        // its own record (signer sign --provenance).
        let build_id = format!("{project_name}:{}", relsign_tests::codebuild::uuid_like());
        build.id = Some(build_id.clone());
        self.record_execution();
        let image = self.image(&project);
        self.records.build(&build_id, image.as_deref(), self.commit().as_deref(), None);
        self.records.action(&a, &build_id);
        let outcome = build.run(&dir.join("build"))?;
        self.log(&outcome);
        if let (Some(out), Some(dir)) = (a.outputs.first(), &outcome.artifact) {
            self.artifacts.insert(out.clone(), dir.clone());
        }
        if let Some(ns) = &a.namespace {
            self.namespaces.insert(ns.clone(), outcome.exported.clone());
        }
        Ok(outcome)
    }

    /// The execution and its Source action, recorded once, from the Source action's
    /// variables (CodePipeline's record of the commit and repository).
    fn record_execution(&mut self) {
        if self.records.has_execution() {
            return;
        }
        if let (Some(commit), Some(repo)) = (
            self.commit(),
            self.namespaces.get("SourceVariables").and_then(|v| v.get("FullRepositoryName")).cloned(),
        ) {
            self.records.execution(&commit, &repo);
        }
    }

    fn commit(&self) -> Option<String> {
        self.namespaces.get("SourceVariables").and_then(|v| v.get("CommitId")).cloned()
    }

    /// The project's image as deployed with these parameters.
    fn image(&self, project: &str) -> Option<String> {
        let image = self.template.property(project, &["Environment", "Image"])?;
        self.template.resolve(&self.params, image)
    }

    /// Runs a batch action: every build of its buildspec's batch, each in its own checkout
    /// with its entry's variables, then (CombineArtifacts) one output artifact holding each
    /// build's output in a folder named by its identifier. Returns each build's outcome by
    /// identifier.
    pub fn batch(
        &mut self,
        stage: &str,
        name: &str,
        stand_ins: &BTreeMap<String, StandIn>,
    ) -> BTreeMap<String, Outcome> {
        let a = self.find(stage, name);
        assert!(a.flag("BatchEnabled") && a.flag("CombineArtifacts"), "{stage}.{name} is no combined batch");
        let (project, project_name) = self.project(&a);
        let dir = self.work.path().join(format!("{name}-{}", a.stage));
        self.record_execution();
        let spec_path =
            self.template.property(&project, &["Source", "BuildSpec"]).and_then(|v| v.as_str()).unwrap();
        let batch_spec = Buildspec::load(&self.source.join(spec_path)).unwrap();
        let combined = dir.join("combined");
        std::fs::create_dir_all(&combined).unwrap();
        let mut outcomes = BTreeMap::new();
        let batch_id = format!("{project_name}:{}", relsign_tests::codebuild::uuid_like());
        let image = self.image(&project);
        for entry in batch_spec.batch_builds() {
            let id = &entry.identifier;
            let primary = self.primary(&a, &dir.join(id).join("src"));
            let own = primary.join(entry.buildspec.as_deref().unwrap_or(spec_path));
            let (spec, env) = match stand_ins.get(id) {
                Some(s) => (s.buildspec.clone().unwrap_or(own), s.env.clone()),
                None => (own, Vec::new()),
            };
            let mut build = self.build(&a, &project, &project_name, spec, &primary);
            build.env.extend(entry.env.variables.clone());
            build.env.insert("CODEBUILD_BATCH_BUILD_IDENTIFIER".into(), id.clone());
            build.env.extend(env);
            let outcome = build.run(&dir.join(id).join("build"));
            let outcome = outcome.unwrap_or_else(|f| panic!("{}.{name} build {id}: {f}", a.stage));
            self.log(&outcome);
            self.records.build(
                &outcome.build_id,
                image.as_deref(),
                self.commit().as_deref(),
                Some(&batch_id),
            );
            let artifact = outcome.artifact.as_ref().unwrap_or_else(|| panic!("build {id} outputs nothing"));
            copy_tree(artifact, &combined.join(id));
            outcomes.insert(id.clone(), outcome);
        }
        let builds: Vec<(String, String)> =
            outcomes.iter().map(|(id, o)| (id.clone(), o.build_id.clone())).collect();
        self.records.batch(&batch_id, &project_name, &builds);
        self.records.action(&a, &batch_id);
        if let Some(out) = a.outputs.first() {
            self.artifacts.insert(out.clone(), combined);
        }
        outcomes
    }

    /// Resolves `#{Namespace.Variable}` as CodePipeline does before the action starts.
    pub fn substitute(&self, value: &str) -> String {
        let mut out = value.to_string();
        while let Some(start) = out.find("#{") {
            let end = start + out[start..].find('}').expect("closed reference");
            let (ns, var) = out[start + 2..end].split_once('.').expect("#{Ns.Var}");
            let resolved = if ns == "codepipeline" && var == "PipelineExecutionId" {
                self.records.execution_id.clone()
            } else {
                self.namespaces.get(ns).and_then(|vars| vars.get(var)).cloned().unwrap_or_else(|| {
                    panic!("#{{{ns}.{var}}} is not available (namespaces: {:?})", self.namespaces)
                })
            };
            out.replace_range(start..=end, &resolved);
        }
        out
    }
}

/// A project's environment variables as (name, type, value as written).
fn project_variables(t: &Template, params: &Params, project: &str) -> Vec<(String, String, Value)> {
    let list = t.property(project, &["Environment", "EnvironmentVariables"]).and_then(|v| v.as_array());
    list.into_iter()
        .flatten()
        // An entry under a condition (the KMS key or the two secrets) as deployed with these
        // parameters.
        .filter_map(|v| t.chosen(params, v))
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap_or("PLAINTEXT").to_string();
            (s("Name"), s("Type"), v["Value"].clone())
        })
        .collect()
}

pub fn clone(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    git(None, &["clone", "-q", from.to_str().unwrap(), to.to_str().unwrap()]);
}

pub fn git(dir: Option<&Path>, args: &[&str]) -> String {
    let mut cmd = Command::new("git");
    if let Some(d) = dir {
        cmd.arg("-C").arg(d);
    }
    let out = cmd.args(args).output().expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Commits everything in `src` (a test's edit of its source repository).
pub fn commit_all(src: &Path, message: &str) {
    git(Some(src), &["add", "-A"]);
    git(
        Some(src),
        &[
            "-c",
            "user.name=relsign tests",
            "-c",
            "user.email=tests@example.org",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            message,
        ],
    );
}

/// The repository as the Source action hands it over: this checkout, uncommitted changes
/// included, plus the release key's public certificate where the template expects it.
pub fn source_repo(dir: &Path, cert: &[u8]) -> PathBuf {
    let root = relsign_tests::repo_root();
    let src = dir.join("source");
    clone(&root, &src);
    let changed = git(Some(&root), &["ls-files", "-m", "-o", "--exclude-standard"]);
    for rel in changed.lines().filter(|l| !l.is_empty()) {
        let dest = src.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(root.join(rel), dest).unwrap();
    }
    for rel in git(Some(&root), &["ls-files", "-d"]).lines().filter(|l| !l.is_empty()) {
        let _ = std::fs::remove_file(src.join(rel));
    }
    std::fs::create_dir_all(src.join("keys")).unwrap();
    std::fs::write(src.join("keys/release-signing-key.asc"), cert).unwrap();
    commit_all(&src, "release under test");
    src
}

pub fn sha256_hex(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("run sha256sum");
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_string()
}
