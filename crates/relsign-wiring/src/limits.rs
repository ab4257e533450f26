//! What CodePipeline and CodeBuild refuse when a pipeline is created or updated, or when a
//! batch starts, from AWS's published numbers. moto enforces none of them and cfn-lint only
//! the artifact counts (and only in YAML it can type), so a template can pass both and still
//! be refused by a real account. Every number here names the page it comes from; every
//! problem names the action, the limit and the way out.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;

use serde_json::Value;

use crate::{Buildspec, Pipeline, Problem, Template};

/// The input and output artifacts an action of one category and provider may have
/// (CodePipeline User Guide, "Valid input and output artifacts for each action type").
pub struct ArtifactCounts {
    pub category: &'static str,
    pub provider: &'static str,
    pub inputs: RangeInclusive<usize>,
    pub outputs: RangeInclusive<usize>,
}

const fn counts(
    category: &'static str,
    provider: &'static str,
    inputs: RangeInclusive<usize>,
    outputs: RangeInclusive<usize>,
) -> ArtifactCounts {
    ArtifactCounts { category, provider, inputs, outputs }
}

pub const ARTIFACT_COUNTS: &[ArtifactCounts] = &[
    counts("Source", "S3", 0..=0, 1..=1),
    counts("Source", "CodeCommit", 0..=0, 1..=1),
    counts("Source", "ECR", 0..=0, 1..=1),
    counts("Source", "CodeStarSourceConnection", 0..=0, 1..=1),
    counts("Build", "CodeBuild", 1..=5, 0..=5),
    counts("Test", "CodeBuild", 1..=5, 0..=5),
    counts("Test", "DeviceFarm", 1..=1, 0..=0),
    counts("Approval", "Manual", 0..=0, 0..=0),
    counts("Deploy", "S3", 1..=1, 0..=0),
    counts("Deploy", "CloudFormation", 0..=10, 0..=1),
    counts("Deploy", "CodeDeploy", 1..=1, 0..=0),
    counts("Deploy", "ElasticBeanstalk", 1..=1, 0..=0),
    counts("Deploy", "OpsWorks", 1..=1, 0..=0),
    counts("Deploy", "ECS", 1..=1, 0..=0),
    counts("Deploy", "ServiceCatalog", 1..=1, 0..=0),
    counts("Deploy", "AlexaSkillsKit", 1..=2, 0..=0),
    counts("Invoke", "Lambda", 0..=5, 0..=5),
];

/// An action configuration value: 1 to 1,000 characters; a key: 1 to 50 (CodePipeline API
/// Reference, ActionConfiguration and ActionDeclaration; CreatePipeline answers
/// `ValidationException ... length less than or equal to 1000`).
pub const CONFIG_VALUE_CHARS: usize = 1000;
pub const CONFIG_KEY_CHARS: usize = 50;
/// Stages in a pipeline, actions in a stage and in a pipeline ("Quotas in AWS CodePipeline").
pub const STAGES: RangeInclusive<usize> = 2..=50;
pub const ACTIONS_PER_STAGE: usize = 50;
pub const ACTIONS_PER_PIPELINE: usize = 500;
/// ActionDeclaration.runOrder.
pub const RUN_ORDER: RangeInclusive<u64> = 1..=999;

/// A name's rule: its most characters and which characters (CodePipeline API Reference).
pub struct NameRule {
    pub what: &'static str,
    pub max: usize,
    pub allowed: fn(char) -> bool,
    pub described: &'static str,
}

pub const STAGE_OR_ACTION_NAME: NameRule = NameRule {
    what: "name",
    max: 100,
    allowed: |c| c.is_ascii_alphanumeric() || ".@-_".contains(c),
    described: "letters, digits, . @ - _",
};
pub const ARTIFACT_NAME: NameRule = NameRule {
    what: "artifact name",
    max: 100,
    allowed: |c| c.is_ascii_alphanumeric() || "-_".contains(c),
    described: "letters, digits, - _",
};
pub const NAMESPACE: NameRule = NameRule {
    what: "namespace",
    max: 100,
    allowed: |c| c.is_ascii_alphanumeric() || "@-_".contains(c),
    described: "letters, digits, @ - _",
};
/// A batch build's identifier. AWS documents no rule for it; relsign takes the rule of an
/// artifact identifier ("fewer than 128 characters ... alphanumeric characters and
/// underscores", CodeBuild User Guide), since the identifier names the build's folder in
/// the combined artifact and, without CombineArtifacts, its output artifact.
pub const BATCH_IDENTIFIER: NameRule = NameRule {
    what: "build identifier",
    max: 127,
    allowed: |c| c.is_ascii_alphanumeric() || c == '_',
    described: "letters, digits, _",
};

/// A CodeBuild project's name: 2 to 150 characters, letters, digits, - and _, starting with
/// a letter or digit (CodeBuild API Reference, CreateProject; "Quotas for AWS CodeBuild").
pub const PROJECT_NAME: NameRule = NameRule {
    what: "project name",
    max: 150,
    allowed: |c| c.is_ascii_alphanumeric() || "-_".contains(c),
    described: "letters, digits, - _",
};

impl NameRule {
    /// Why `name` breaks the rule, if it does.
    pub fn broken_by(&self, name: &str) -> Option<String> {
        if name.is_empty() {
            return Some(format!("the {} is empty", self.what));
        }
        if name.chars().count() > self.max {
            return Some(format!("the {} {name:?} has more than {} characters", self.what, self.max));
        }
        name.chars().find(|c| !(self.allowed)(*c)).map(|c| {
            format!("the {} {name:?} has {c:?}; CodePipeline takes only {}", self.what, self.described)
        })
    }
}

pub(crate) struct Limits<'a> {
    pub t: &'a Template,
    pub problems: Vec<Problem>,
}

impl Limits<'_> {
    fn problem(&mut self, msg: String) {
        self.problems.push(Problem(msg));
    }

    pub fn check(&mut self, p: &Pipeline) {
        self.structure(p);
        self.project_names();
        for a in &p.actions {
            let at = a.path();
            if let Some(why) = STAGE_OR_ACTION_NAME.broken_by(&a.name) {
                self.problem(format!("{at}: {why}: rename the action"));
            }
            if !RUN_ORDER.contains(&a.run_order) {
                self.problem(format!(
                    "{at}: RunOrder {} is outside 1 to 999: renumber the actions of stage {}",
                    a.run_order, a.stage
                ));
            }
            for name in a.inputs.iter().chain(&a.outputs) {
                if let Some(why) = ARTIFACT_NAME.broken_by(name) {
                    self.problem(format!("{at}: {why}: rename the artifact"));
                }
            }
            if let Some(ns) = &a.namespace {
                if let Some(why) = NAMESPACE.broken_by(ns) {
                    self.problem(format!("{at}: {why}: rename the namespace"));
                }
                if p.actions.iter().any(|b| b.outputs.contains(ns)) {
                    self.problem(format!(
                        "{at}: namespace {ns} is also an artifact's name, which CodePipeline refuses: rename one"
                    ));
                }
            }
            self.artifact_counts(a);
            self.configuration(a);
        }
    }

    fn structure(&mut self, p: &Pipeline) {
        if !STAGES.contains(&p.stages.len()) {
            self.problem(format!(
                "the pipeline has {} stages; CodePipeline takes 2 to 50: merge or split stages",
                p.stages.len()
            ));
        }
        if p.actions.len() > ACTIONS_PER_PIPELINE {
            self.problem(format!(
                "the pipeline has {} actions; CodePipeline takes at most {ACTIONS_PER_PIPELINE}: run builds as a CodeBuild batch (one action)",
                p.actions.len()
            ));
        }
        let mut seen = BTreeSet::new();
        for stage in &p.stages {
            if let Some(why) = STAGE_OR_ACTION_NAME.broken_by(stage) {
                self.problem(format!("stage {stage}: {why}: rename the stage"));
            }
            if !seen.insert(stage) {
                self.problem(format!("stage {stage} appears twice: stage names are unique in a pipeline"));
            }
            let actions: Vec<&str> =
                p.actions.iter().filter(|a| &a.stage == stage).map(|a| a.name.as_str()).collect();
            if actions.is_empty() {
                self.problem(format!("stage {stage} has no action; a stage needs at least one"));
            }
            if actions.len() > ACTIONS_PER_STAGE {
                self.problem(format!(
                    "stage {stage} has {} actions; CodePipeline takes at most {ACTIONS_PER_STAGE} a stage: run its builds as one CodeBuild batch (BatchEnabled) or split the stage",
                    actions.len()
                ));
            }
            let mut names = BTreeSet::new();
            for name in actions {
                if !names.insert(name) {
                    self.problem(format!(
                        "{stage}.{name}: two actions of stage {stage} have this name: action names are unique in a stage"
                    ));
                }
            }
        }
    }

    /// Each CodeBuild project's name, as deployed with the parameters' defaults.
    fn project_names(&mut self) {
        for id in self.t.ids_of("AWS::CodeBuild::Project") {
            let Some(name) =
                self.t.property(&id, &["Name"]).and_then(|v| self.t.resolve(&crate::Params::new(), v))
            else {
                continue;
            };
            let why = PROJECT_NAME.broken_by(&name).or_else(|| {
                (name.chars().count() < 2 || !name.starts_with(|c: char| c.is_ascii_alphanumeric()))
                    .then(|| format!("the project name {name:?} must have 2 characters or more and start with a letter or digit"))
            });
            if let Some(why) = why {
                self.problem(format!("project {id}: {why}: CodeBuild refuses it; choose another name"));
            }
        }
    }

    fn artifact_counts(&mut self, a: &crate::Action) {
        let Some(limit) =
            ARTIFACT_COUNTS.iter().find(|c| c.category == a.category && c.provider == a.provider)
        else {
            return;
        };
        let kind = format!("a {} {} action", a.provider, a.category);
        for (what, n, range) in
            [("input", a.inputs.len(), &limit.inputs), ("output", a.outputs.len(), &limit.outputs)]
        {
            if range.contains(&n) {
                continue;
            }
            let way_out = if a.provider == "CodeBuild" && what == "input" && n > *range.end() {
                "run the builds as one CodeBuild batch with CombineArtifacts (one artifact, a folder per build), as templates/release-pipeline-stack.yml does"
            } else if a.provider == "CodeBuild" && what == "output" && n > *range.end() {
                "combine the outputs (a batch with CombineArtifacts, or one artifact with several folders)"
            } else {
                "change its InputArtifacts/OutputArtifacts"
            };
            self.problem(format!(
                "{}: {n} {what} artifacts; {kind} takes {} to {}: {way_out}",
                a.path(),
                range.start(),
                range.end()
            ));
        }
    }

    fn configuration(&mut self, a: &crate::Action) {
        for (key, value) in &a.configuration {
            if key.chars().count() > CONFIG_KEY_CHARS {
                self.problem(format!(
                    "{}: configuration key {key} has more than {CONFIG_KEY_CHARS} characters",
                    a.path()
                ));
            }
            // Only a value written out can be measured; one made by !Sub or !Ref is known at
            // deploy time.
            let Value::String(text) = value else { continue };
            let chars = text.chars().count();
            if chars > CONFIG_VALUE_CHARS {
                let way_out = if key == "EnvironmentVariables" {
                    "pass fewer variables (one per build grows it: let the buildspec find what it needs, as signing.yml reads each build's release-version), or move fixed ones to the project's Environment"
                } else {
                    "shorten it"
                };
                self.problem(format!(
                    "{}: configuration value {key} has {chars} characters; CodePipeline takes at most {CONFIG_VALUE_CHARS}: {way_out}",
                    a.path()
                ));
            }
        }
    }

    /// A CodeBuild action that runs a batch: the project can run one, the buildspec lists
    /// builds within the project's restriction, and the outputs are what a batch hands on.
    pub fn batches(
        &mut self,
        p: &Pipeline,
        buildspecs: &BTreeMap<String, Buildspec>,
        load: &mut dyn FnMut(&str) -> Result<Buildspec, String>,
    ) {
        for a in p.actions.iter().filter(|a| a.provider == "CodeBuild") {
            let at = a.path();
            let batch = a.flag("BatchEnabled");
            let combine = a.flag("CombineArtifacts");
            let Some(project) = &a.project else { continue };
            let Some(spec) = buildspecs.get(project) else { continue };
            let builds = spec.batch_builds();
            if combine && !batch {
                self.problem(format!("{at}: CombineArtifacts needs BatchEnabled: 'true' on the same action"));
            }
            if !batch {
                if spec.batch.is_some() && spec.phases.is_empty() {
                    self.problem(format!(
                        "{at}: its buildspec is a batch with no phases of its own: set BatchEnabled: 'true' on the action, or its builds never run"
                    ));
                }
                continue;
            }
            if self.t.property(project, &["BuildBatchConfig", "ServiceRole"]).is_none() {
                self.problem(format!(
                    "{at}: BatchEnabled, but project {project} has no BuildBatchConfig.ServiceRole: CodeBuild cannot start the batch's builds without it"
                ));
            }
            if spec.batch.as_ref().is_some_and(|b| b.build_matrix.is_some()) {
                self.problem(format!(
                    "{at}: a build-matrix batch: relsign checks build-list and build-graph batches; list the builds"
                ));
            }
            if builds.is_empty() {
                self.problem(format!(
                    "{at}: BatchEnabled, but its buildspec has no batch build-list: list the builds under batch.build-list"
                ));
                continue;
            }
            self.batch_size(a, project, builds.len());
            let mut ids = BTreeSet::new();
            for b in &builds {
                if let Some(why) = BATCH_IDENTIFIER.broken_by(&b.identifier) {
                    self.problem(format!("{at}: {why}: rename the build in the build-list"));
                }
                if !ids.insert(b.identifier.as_str()) {
                    self.problem(format!(
                        "{at}: two builds of the batch are named {}: identifiers are unique",
                        b.identifier
                    ));
                }
                if let Some(path) = &b.buildspec {
                    if let Err(why) = load(path) {
                        self.problem(format!("{at}: build {}: buildspec {path}: {why}", b.identifier));
                    }
                }
            }
            if combine && a.outputs.len() > 1 {
                self.problem(format!(
                    "{at}: CombineArtifacts makes one output artifact, not {}: keep one",
                    a.outputs.len()
                ));
            }
            if !combine {
                for o in &a.outputs {
                    let named = builds.iter().any(|b| {
                        o == &b.identifier || o.strip_prefix(&format!("{}_", b.identifier)).is_some()
                    });
                    if !named {
                        self.problem(format!(
                            "{at}: output artifact {o} names no build of the batch: without CombineArtifacts each output is named by a build identifier (or identifier_artifact)"
                        ));
                    }
                }
            }
        }
    }

    fn batch_size(&mut self, a: &crate::Action, project: &str, builds: usize) {
        let limit = self.t.property(project, &["BuildBatchConfig", "Restrictions", "MaximumBuildsAllowed"]);
        let Some(limit) = limit.and_then(|v| self.t.resolve(&crate::Params::new(), v)) else { return };
        let Ok(limit) = limit.parse::<usize>() else { return };
        if builds > limit {
            self.problem(format!(
                "{}: the batch lists {builds} builds; project {project} allows at most {limit} (BuildBatchConfig.Restrictions.MaximumBuildsAllowed), and a larger batch fails: raise the limit (MaximumBuilds) or list fewer builds",
                a.path()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rules_say_what_is_wrong() {
        assert!(STAGE_OR_ACTION_NAME.broken_by("Make.Amd@1_x-y").is_none());
        assert!(STAGE_OR_ACTION_NAME.broken_by("Make Amd").unwrap().contains("' '"));
        assert!(ARTIFACT_NAME.broken_by("Build.Out").unwrap().contains("'.'"));
        assert!(NAMESPACE.broken_by(&"n".repeat(101)).unwrap().contains("more than 100"));
        assert!(BATCH_IDENTIFIER.broken_by("ubuntu-arm").unwrap().contains("'-'"));
        assert!(BATCH_IDENTIFIER.broken_by("ubuntu_arm64").is_none());
        assert!(PROJECT_NAME.broken_by(&"p".repeat(151)).unwrap().contains("more than 150"));
    }

    #[test]
    fn the_codebuild_counts_are_awss() {
        let cb = ARTIFACT_COUNTS.iter().find(|c| c.category == "Build" && c.provider == "CodeBuild").unwrap();
        assert_eq!((cb.inputs.clone(), cb.outputs.clone()), (1..=5, 0..=5));
    }
}
