//! The wiring checks of `templates/release-pipeline-stack.yml`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::iam::{alternatives, role_statements, Statement};
use crate::limits::Limits;
use crate::pipeline::{reference, references};
use crate::{Action, Buildspec, Error, Pipeline, Problem, Template};

/// Variables a CodeStar connection source action publishes.
const SOURCE_VARIABLES: [&str; 7] = [
    "AuthorDate",
    "BranchName",
    "CommitId",
    "CommitMessage",
    "ConnectionArn",
    "FullRepositoryName",
    "ProviderType",
];

/// Variables CodePipeline itself publishes, in the namespace `codepipeline` (CodePipeline
/// User Guide, "Variables reference").
const PIPELINE_VARIABLES: [&str; 1] = ["PipelineExecutionId"];

/// The only actions whose API has no resource-level permissions, so `Resource: '*'` is the
/// narrowest grant possible.
/// What `signer sign --provenance` reads of its execution (relsign-aws's execution.rs), and
/// what each right's resource must name: the signing role gets these, scoped, and no other
/// CodeBuild or CodePipeline right.
pub const PROVENANCE_READS: [(&str, &str); 4] = [
    ("codepipeline:GetPipelineExecution", "PipelineName"),
    ("codepipeline:ListActionExecutions", "PipelineName"),
    ("codebuild:BatchGetBuilds", "CodeBuildProjectName"),
    ("codebuild:BatchGetBuildBatches", "BuildsCodeBuildProjectName"),
];

/// The CodeBuild rights of a report (signer verify --junit's, in the Reports tab).
const REPORT_ACTIONS: [&str; 4] = [
    "codebuild:CreateReportGroup",
    "codebuild:CreateReport",
    "codebuild:UpdateReport",
    "codebuild:BatchPutTestCases",
];

const RESOURCE_STAR_ONLY: [&str; 2] = ["ecr:GetAuthorizationToken", "logs:DescribeExportTasks"];

/// What the copy stage may do to the final bucket (HeadObject needs s3:GetObject; a
/// multipart object's part checksums s3:GetObjectAttributes; with Object Lock, a retention
/// set on PutObject needs s3:PutObjectRetention and `copier check` reads the bucket's lock
/// configuration).
const COPY_S3_ACTIONS: [&str; 9] = [
    "s3:PutObject",
    "s3:GetObject",
    "s3:GetObjectAttributes",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
    "s3:PutObjectRetention",
    "s3:GetBucketObjectLockConfiguration",
];

/// The one right on the final bucket outside the copy role: the CreateExportTask API reference
/// says its caller needs permission to write to the destination, so the log export's role may
/// put objects, and only in the `logs/` folder of a release.
const EXPORT_S3_ACTION: &str = "s3:PutObject";
const EXPORT_FOLDER: &str = "/logs/";

/// What the action that verifies the published release may do to the final bucket: read
/// (`signer verify s3://`: GetObject, ListObjectsV2), nothing else, so that its verdict is
/// on what consumers read and it cannot change what it judges.
const VERIFY_S3_ACTIONS: [&str; 2] = ["s3:GetObject", "s3:ListBucket"];
const VERIFY_BUILDSPEC: &str = "buildspecs/verify-published.yml";

/// Checks the release pipeline template against the buildspecs under `repo_root`.
pub fn check_release_pipeline(t: &Template, repo_root: &Path) -> Result<Vec<Problem>, Error> {
    let pipeline = Pipeline::of(t)?;
    let mut c = Checker { t, problems: Vec::new() };
    let buildspecs = c.buildspecs(repo_root);
    c.artifacts(&pipeline);
    c.variables(&pipeline, &buildspecs);
    c.signing_action(&pipeline);
    c.least_privilege(&pipeline);
    let mut limits = Limits { t, problems: Vec::new() };
    limits.check(&pipeline);
    let mut load = |path: &str| Buildspec::load(&repo_root.join(path)).map_err(|e| e.to_string());
    limits.batches(&pipeline, &buildspecs, &mut load);
    c.problems.extend(limits.problems);
    Ok(c.problems)
}

/// What a role is for, as the pipeline uses it: the rights each may hold follow.
#[derive(Clone, Copy, Default)]
struct Duty {
    signer: bool,
    copier: bool,
    exporter: bool,
    verifier: bool,
}

struct Checker<'a> {
    t: &'a Template,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn problem(&mut self, msg: impl Into<String>) {
        self.problems.push(Problem(msg.into()));
    }

    /// Every project's buildspec exists and reads as one; returns them by project id.
    fn buildspecs(&mut self, root: &Path) -> BTreeMap<String, Buildspec> {
        let mut out = BTreeMap::new();
        let projects: Vec<String> = self.t.ids_of("AWS::CodeBuild::Project");
        for id in projects {
            let Some(path) = self.t.property(&id, &["Source", "BuildSpec"]).and_then(Value::as_str) else {
                self.problem(format!(
                    "project {id} names no buildspec (Source.BuildSpec): name one under buildspecs/"
                ));
                continue;
            };
            if path.trim_start().contains('\n') || path.contains("phases:") {
                self.problem(format!(
                    "project {id} inlines its buildspec: keep it in buildspecs/ where tests read it"
                ));
                continue;
            }
            match Buildspec::load(&root.join(path)) {
                Ok(spec) => {
                    out.insert(id, spec);
                }
                Err(e) => self.problem(format!("project {id}: buildspec {path}: {e}")),
            }
        }
        out
    }

    /// Every input is the output of an action that ran before; names and namespaces are unique.
    fn artifacts(&mut self, p: &Pipeline) {
        let mut outputs = BTreeSet::new();
        let mut namespaces = BTreeSet::new();
        for a in &p.actions {
            for o in &a.outputs {
                if !outputs.insert(o.clone()) {
                    self.problem(format!("output artifact {o} is produced twice: rename one"));
                }
            }
            if let Some(ns) = &a.namespace {
                if !namespaces.insert(ns.clone()) {
                    self.problem(format!("namespace {ns} is used twice: rename one"));
                }
            }
            for i in &a.inputs {
                if !p.before(a).any(|b| b.outputs.contains(i)) {
                    self.problem(format!(
                        "{}.{} takes {i}, which no earlier action outputs: add it to that action's OutputArtifacts or fix the name",
                        a.stage, a.name
                    ));
                }
            }
            if a.inputs.len() > 1 && a.provider == "CodeBuild" {
                match &a.primary_source {
                    None => self.problem(format!(
                        "{}.{} has several inputs but no PrimarySource: name the artifact holding its buildspec",
                        a.stage, a.name
                    )),
                    Some(ps) if !a.inputs.contains(ps) => self.problem(format!(
                        "{}.{}: PrimarySource {ps} is not among its InputArtifacts",
                        a.stage, a.name
                    )),
                    _ => {}
                }
            }
        }
    }

    /// Each action's EnvironmentVariables is stringified JSON, and each `#{Ns.Var}` names an
    /// earlier action's namespace and a variable that action publishes.
    fn variables(&mut self, p: &Pipeline, buildspecs: &BTreeMap<String, Buildspec>) {
        for a in &p.actions {
            let vars = match a.env_vars() {
                Ok(v) => v,
                Err(e) => {
                    self.problem(format!("{}.{}: {e}", a.stage, a.name));
                    continue;
                }
            };
            for var in vars {
                for (ns, name) in references(&var.value) {
                    self.reference(p, a, &var.name, &ns, &name, buildspecs);
                }
            }
        }
    }

    fn reference(
        &mut self,
        p: &Pipeline,
        a: &Action,
        var: &str,
        ns: &str,
        name: &str,
        buildspecs: &BTreeMap<String, Buildspec>,
    ) {
        let here = format!("{}.{} variable {var}", a.stage, a.name);
        if ns == "codepipeline" {
            if !PIPELINE_VARIABLES.contains(&name) {
                self.problem(format!(
                    "{here}: #{{codepipeline.{name}}}: CodePipeline publishes {PIPELINE_VARIABLES:?} in that namespace"
                ));
            }
            return;
        }
        let Some(source) = p.before(a).find(|b| b.namespace.as_deref() == Some(ns)) else {
            let later = p.actions.iter().any(|b| b.namespace.as_deref() == Some(ns));
            let why = if later { "an action that runs later" } else { "no action" };
            self.problem(format!(
                "{here}: #{{{ns}.{name}}} names namespace {ns} of {why}: use an earlier action's Namespace"
            ));
            return;
        };
        if source.flag("BatchEnabled") {
            self.problem(format!(
                "{here}: #{{{ns}.{name}}}: {}.{} runs a batch, and AWS documents no exported variables from a batch: write the value into the build's output and read it there",
                source.stage, source.name
            ));
            return;
        }
        let exported = match source.provider.as_str() {
            "CodeStarSourceConnection" => SOURCE_VARIABLES.contains(&name),
            "CodeBuild" => match source.project.as_ref().and_then(|id| buildspecs.get(id)) {
                Some(spec) => spec.exports(name),
                None => return, // its buildspec problem is already reported
            },
            _ => true,
        };
        if !exported {
            self.problem(format!(
                "{here}: #{{{ns}.{name}}}: {}.{} does not export {name}: add it to its buildspec's env.exported-variables",
                source.stage, source.name
            ));
        }
    }

    /// The GPG action: PASSPHRASE from Secrets Manager, PRIVATE_KEY_ARN as plain text.
    fn signing_action(&mut self, p: &Pipeline) {
        let Some(gpg) = p.action("GPG") else {
            self.problem("no action named GPG: the signing action is expected under that name");
            return;
        };
        let Some(project) = gpg.project.clone() else {
            self.problem("GPG runs no CodeBuild project");
            return;
        };
        let env = alternatives(self.t.property(&project, &["Environment", "EnvironmentVariables"]));
        let kind = |name: &str| {
            env.iter()
                .find(|e| e.get("Name").and_then(Value::as_str) == Some(name))
                .and_then(|e| e.get("Type").and_then(Value::as_str).map(str::to_string))
        };
        if kind("PASSPHRASE").as_deref() != Some("SECRETS_MANAGER") {
            self.problem(format!("{project}: PASSPHRASE must be a SECRETS_MANAGER variable (the secret's value, resolved by CodeBuild)"));
        }
        if kind("PRIVATE_KEY_ARN").as_deref() != Some("PLAINTEXT") {
            self.problem(format!("{project}: PRIVATE_KEY_ARN must be a PLAINTEXT variable holding the key secret's ARN (signer reads the key itself)"));
        }
        if gpg.inputs.len() < 2 {
            self.problem("GPG signs nothing: list the build outputs among its InputArtifacts");
        }
        // The provenance's execution: set by CodePipeline, never by a build step.
        let execution =
            gpg.env_vars().unwrap_or_default().into_iter().find(|v| v.name == "SIGNER_PIPELINE_EXECUTION_ID");
        if execution.map(|v| v.value).as_deref() != Some("#{codepipeline.PipelineExecutionId}") {
            self.problem("GPG: set SIGNER_PIPELINE_EXECUTION_ID to #{codepipeline.PipelineExecutionId} in its EnvironmentVariables (the execution signer sign --provenance describes)");
        }
    }

    fn least_privilege(&mut self, p: &Pipeline) {
        let role_of = |project: &Option<String>| {
            project.as_ref().and_then(|id| self.t.property(id, &["ServiceRole"])).and_then(reference)
        };
        let signer_role = p.action("GPG").and_then(|a| role_of(&a.project));
        // The action whose project runs `buildspec`.
        let running = |buildspec: &str| {
            p.actions.iter().find(|a| {
                a.project
                    .as_ref()
                    .and_then(|id| self.t.property(id, &["Source", "BuildSpec"]))
                    .and_then(Value::as_str)
                    == Some(buildspec)
            })
        };
        let role_running = |buildspec: &str| running(buildspec).and_then(|a| role_of(&a.project));
        let copy_role = role_running("buildspecs/copy.yml");
        if copy_role.is_none() {
            self.problem("no action runs buildspecs/copy.yml: the copy stage is missing");
        }
        let export_role = role_running("buildspecs/pull-logs.yml");
        let verify_role = role_running(VERIFY_BUILDSPEC);
        self.verified_after_publishing(
            running("buildspecs/copy.yml"),
            running("buildspecs/pull-logs.yml"),
            running(VERIFY_BUILDSPEC),
        );
        if verify_role.is_some() && verify_role == copy_role {
            self.problem(format!(
                "the action running {VERIFY_BUILDSPEC} has the copy role: give it a role of its own that may only read the final bucket"
            ));
        }
        let roles: Vec<String> = self.t.ids_of("AWS::IAM::Role");
        for role in roles {
            let statements = role_statements(self.t, &role);
            let duty = Duty {
                signer: signer_role.as_deref() == Some(role.as_str()),
                copier: copy_role.as_deref() == Some(role.as_str()),
                exporter: export_role.as_deref() == Some(role.as_str()),
                verifier: verify_role.as_deref() == Some(role.as_str()),
            };
            for s in statements.iter().filter(|s| s.allow) {
                self.statement(&role, s, duty);
            }
            if duty.signer {
                self.signer_reads_both_secrets(&role, &statements);
                self.signer_reads_its_execution(&role, &statements);
            }
            if duty.verifier {
                self.verifier_reads_the_release(&role, &statements);
            }
            if duty.copier {
                self.copier_writes_under_the_prefix(&role, &statements);
            }
            self.trust_names_its_project(&role);
        }
    }

    /// A role CodeBuild assumes names the one project allowed to (aws:SourceAccount and
    /// aws:SourceArn): otherwise any CodeBuild project of the account given the role acts as it.
    fn trust_names_its_project(&mut self, role: &str) {
        let trust = alternatives(self.t.property(role, &["AssumeRolePolicyDocument", "Statement"]));
        for s in trust {
            if s.get("Principal").and_then(|p| p.get("Service")).and_then(Value::as_str)
                != Some("codebuild.amazonaws.com")
            {
                continue;
            }
            let equals = s.get("Condition").and_then(|c| c.get("StringEquals"));
            let key = |k: &str| equals.and_then(|e| e.get(k)).map(Value::to_string).unwrap_or_default();
            if !key("aws:SourceAccount").contains("AWS::AccountId")
                || !key("aws:SourceArn").contains(":project/")
            {
                self.problem(format!(
                    "{role}: its trust policy lets any CodeBuild project assume it: add StringEquals aws:SourceAccount and aws:SourceArn of its project"
                ));
            }
        }
    }

    /// The verifying role holds both reads `signer verify s3://` makes: ListObjectsV2 (an
    /// object the release does not list is found) and GetObject. Without s3:ListBucket, S3
    /// also answers a GetObject of a missing key with 403, not 404 (GetObject API reference),
    /// so a missing file would read as access denied rather than as missing.
    fn verifier_reads_the_release(&mut self, role: &str, statements: &[Statement]) {
        for action in VERIFY_S3_ACTIONS {
            let granted = statements.iter().any(|s| {
                s.allow && s.actions.iter().any(|a| a == action) && s.mentions("ReleaseArtifactsBucket")
            });
            if !granted {
                self.problem(format!(
                    "{role}: the role verifying the published release needs {action} on the final bucket (signer verify lists the release's prefix and reads each object)"
                ));
            }
        }
    }

    /// The copy role's object rights stop at the release prefix (ReleaseArtifactsBucketS3Uri).
    fn copier_writes_under_the_prefix(&mut self, role: &str, statements: &[Statement]) {
        for s in statements.iter().filter(|s| s.allow && s.actions.iter().any(|a| a == "s3:PutObject")) {
            if s.mentions("ReleaseArtifactsBucket") && !s.mentions("ReleaseArtifactsBucketS3Uri") {
                self.problem(format!(
                    "{role} ({}): s3:PutObject anywhere in the final bucket: scope it to the release prefix (ReleaseArtifactsBucketS3Uri)",
                    s.origin
                ));
            }
        }
    }

    /// The release is checked where it was published, by an action that runs after the
    /// copy and the log export (the last writers of the release's prefix).
    fn verified_after_publishing(
        &mut self,
        copy: Option<&Action>,
        export: Option<&Action>,
        verify: Option<&Action>,
    ) {
        let Some(verify) = verify else {
            self.problem(format!(
                "no action runs {VERIFY_BUILDSPEC}: nothing checks the release where it was published; add the Copy stage's VerifyPublished action (templates/release-pipeline-stack.yml)"
            ));
            return;
        };
        let at = |a: &Action| (a.stage_index, a.run_order);
        for before in [copy, export].into_iter().flatten() {
            if at(verify) <= at(before) {
                self.problem(format!(
                    "{}.{} runs {VERIFY_BUILDSPEC} before {}.{} has finished: give it a later RunOrder (or stage), so it judges the release as published",
                    verify.stage, verify.name, before.stage, before.name
                ));
            }
        }
    }

    fn statement(&mut self, role: &str, s: &Statement, duty: Duty) {
        let (is_signer, is_copier, is_exporter) = (duty.signer, duty.copier, duty.exporter);
        let at = format!("{role} ({})", s.origin);
        if s.negated {
            self.problem(format!("{at}: NotAction/NotResource grants by exclusion: list what is allowed"));
        }
        for action in &s.actions {
            if action == "*" || action.ends_with(":*") || action.ends_with('*') {
                self.problem(format!(
                    "{at}: {action} grants a whole service: name the actions the stage calls"
                ));
            }
        }
        if s.resource_is_any() && !s.actions.iter().all(|a| RESOURCE_STAR_ONLY.contains(&a.as_str())) {
            self.problem(format!(
                "{at}: Resource '*' for {:?}: scope it to the resources the stage uses (only {RESOURCE_STAR_ONLY:?} need '*')",
                s.actions
            ));
        }
        let secrets = s.actions.iter().any(|a| a.starts_with("secretsmanager:"));
        if secrets && !is_signer {
            self.problem(format!("{at}: only the signing role may read the signing secrets"));
        }
        if secrets && is_signer {
            let allowed = [r#"{"Ref":"SecretKeyArn"}"#, r#"{"Ref":"PassphraseArn"}"#];
            let ok = s.actions.iter().all(|a| a == "secretsmanager:GetSecretValue")
                && s.resources.iter().all(|r| allowed.contains(&r.to_string().as_str()));
            if !ok {
                self.problem(format!(
                    "{at}: the signing role may only GetSecretValue on SecretKeyArn and PassphraseArn"
                ));
            }
        }
        // Decrypting: the signing role the secrets' key (through Secrets Manager), the copy role
        // the final bucket's key (through S3, with GenerateDataKey to write).
        let kms_data = s.actions.iter().any(|a| a == "kms:Decrypt" || a == "kms:GenerateDataKey");
        let on = |key: &str| s.resources.iter().all(|r| *r == serde_json::json!({ "Ref": key }));
        if kms_data {
            let secrets_key =
                is_signer && on("SecretsKmsKeyArn") && s.actions.iter().all(|a| a == "kms:Decrypt");
            let bucket_key = is_copier && on("ReleaseBucketKmsKeyArn");
            let read_key =
                duty.verifier && on("ReleaseBucketKmsKeyArn") && s.actions.iter().all(|a| a == "kms:Decrypt");
            if !secrets_key && !bucket_key && !read_key {
                self.problem(format!(
                    "{at}: kms:Decrypt only for the signing role on SecretsKmsKeyArn and the verifying role on ReleaseBucketKmsKeyArn, kms:GenerateDataKey only for the copy role on ReleaseBucketKmsKeyArn"
                ));
            }
        }
        let s3 = s.actions.iter().any(|a| a.starts_with("s3:"));
        let export_only = is_exporter
            && s.actions.iter().all(|a| a == EXPORT_S3_ACTION)
            && s.mentions("ReleaseArtifactsBucketS3Uri")
            && s.resources.iter().all(|r| r.to_string().contains(EXPORT_FOLDER));
        if s3 && s.mentions("ReleaseArtifactsBucket") && !export_only {
            if duty.verifier && !is_copier {
                if let Some(bad) = s.actions.iter().find(|a| !VERIFY_S3_ACTIONS.contains(&a.as_str())) {
                    self.problem(format!(
                        "{at}: the role verifying the published release may only read the final bucket ({VERIFY_S3_ACTIONS:?}), not {bad}"
                    ));
                }
            } else if !is_copier {
                self.problem(format!("{at}: only the copy role may touch the final bucket"));
            } else if let Some(bad) = s.actions.iter().find(|a| !COPY_S3_ACTIONS.contains(&a.as_str())) {
                self.problem(format!(
                    "{at}: the copy role may put, list and abort uploads on the final bucket, not {bad}"
                ));
            }
        }
        if is_copier && s3 && !s.mentions("ReleaseArtifactsBucket") && !s.mentions("PipelineArtifactsBucket")
        {
            self.problem(format!("{at}: the copy role's S3 rights must be scoped to the final bucket"));
        }
    }

    /// The signing role may read its execution (the provenance) and no more: each of
    /// [`PROVENANCE_READS`] granted on the pipeline or its projects, no other CodeBuild or
    /// CodePipeline right.
    fn signer_reads_its_execution(&mut self, role: &str, statements: &[Statement]) {
        for (action, scope) in PROVENANCE_READS {
            let granted = statements.iter().any(|s| {
                s.allow && s.actions.iter().any(|a| a == action) && !s.resource_is_any() && s.mentions(scope)
            });
            if !granted {
                self.problem(format!(
                    "{role}: the signing role cannot {action} on its pipeline's resources ({scope}): signer sign --provenance would fail"
                ));
            }
        }
        for s in statements.iter().filter(|s| s.allow) {
            for a in &s.actions {
                let service = a.starts_with("codebuild:") || a.starts_with("codepipeline:");
                let known = PROVENANCE_READS.iter().any(|(read, _)| read == a)
                    || REPORT_ACTIONS.contains(&a.as_str());
                if service && !known {
                    self.problem(format!(
                        "{role} ({}): the signing role may only read its execution ({}), not {a}",
                        s.origin,
                        PROVENANCE_READS.map(|(r, _)| r).join(", ")
                    ));
                }
                let scope = PROVENANCE_READS.iter().find(|(read, _)| read == a).map(|(_, scope)| *scope);
                if let Some(scope) = scope {
                    if s.resources.iter().any(|r| !r.to_string().contains(scope)) {
                        self.problem(format!(
                            "{role} ({}): {a} must name only the pipeline's own resources ({scope})",
                            s.origin
                        ));
                    }
                }
            }
        }
    }

    fn signer_reads_both_secrets(&mut self, role: &str, statements: &[Statement]) {
        for secret in ["SecretKeyArn", "PassphraseArn"] {
            let granted = statements.iter().any(|s| {
                s.allow
                    && s.actions.iter().any(|a| a == "secretsmanager:GetSecretValue")
                    && s.mentions(secret)
            });
            if !granted {
                self.problem(format!(
                    "{role}: the signing role cannot GetSecretValue on {secret}: signing would fail"
                ));
            }
        }
    }
}
