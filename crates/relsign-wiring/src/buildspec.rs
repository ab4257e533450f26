//! A CodeBuild buildspec (version 0.2): the parts the pipeline depends on.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::Error;

/// The phases in the order CodeBuild runs them.
pub const PHASES: [&str; 4] = ["install", "pre_build", "build", "post_build"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Buildspec {
    pub version: serde_yaml::Value,
    #[serde(default)]
    pub env: Env,
    #[serde(default)]
    pub phases: BTreeMap<String, Phase>,
    pub artifacts: Option<Artifacts>,
    pub reports: Option<serde_yaml::Value>,
    pub cache: Option<serde_yaml::Value>,
    /// A batch: the builds CodeBuild runs when the project (or the pipeline action) runs
    /// this buildspec as a batch.
    pub batch: Option<Batch>,
}

/// The `batch` section (CodeBuild User Guide, "Batch build buildspec reference").
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    #[serde(rename = "fast-fail")]
    pub fast_fail: Option<bool>,
    /// Builds that run in parallel.
    #[serde(rename = "build-list")]
    pub build_list: Option<Vec<BatchBuild>>,
    /// Builds with dependencies (`depend-on`).
    #[serde(rename = "build-graph")]
    pub build_graph: Option<Vec<BatchBuild>>,
    /// Builds made from combinations; relsign reads no further than that it is there.
    #[serde(rename = "build-matrix")]
    pub build_matrix: Option<serde_yaml::Value>,
}

/// One build of a `build-list` or `build-graph`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchBuild {
    pub identifier: String,
    /// Its buildspec, relative to the source; the batch's own buildspec when absent.
    pub buildspec: Option<String>,
    #[serde(default)]
    pub env: BatchEnv,
    #[serde(rename = "ignore-failure")]
    pub ignore_failure: Option<bool>,
    #[serde(rename = "debug-session")]
    pub debug_session: Option<bool>,
    #[serde(rename = "depend-on", default)]
    pub depend_on: Vec<String>,
}

/// What a batch build overrides of the project's environment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchEnv {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub image: Option<String>,
    #[serde(rename = "compute-type")]
    pub compute_type: Option<String>,
    #[serde(rename = "privileged-mode")]
    pub privileged_mode: Option<bool>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Env {
    pub shell: Option<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default, rename = "parameter-store")]
    pub parameter_store: BTreeMap<String, String>,
    #[serde(default, rename = "secrets-manager")]
    pub secrets_manager: BTreeMap<String, String>,
    #[serde(default, rename = "exported-variables")]
    pub exported_variables: Vec<String>,
    #[serde(rename = "git-credential-helper")]
    pub git_credential_helper: Option<serde_yaml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    #[serde(rename = "run-as")]
    pub run_as: Option<String>,
    #[serde(rename = "on-failure")]
    pub on_failure: Option<String>,
    #[serde(rename = "runtime-versions")]
    pub runtime_versions: Option<serde_yaml::Value>,
    #[serde(default)]
    pub commands: Vec<String>,
    #[serde(default)]
    pub finally: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifacts {
    #[serde(default)]
    pub files: Vec<String>,
    pub name: Option<String>,
    #[serde(rename = "base-directory")]
    pub base_directory: Option<String>,
    #[serde(rename = "discard-paths")]
    pub discard_paths: Option<serde_yaml::Value>,
    #[serde(rename = "exclude-paths")]
    pub exclude_paths: Option<serde_yaml::Value>,
}

impl Buildspec {
    pub fn load(path: &Path) -> Result<Buildspec, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.into(), source })?;
        Buildspec::parse(&path.display().to_string(), &text)
    }

    pub fn parse(name: &str, text: &str) -> Result<Buildspec, Error> {
        let spec: Buildspec = serde_yaml::from_str(text)
            .map_err(|e| Error::Yaml { what: name.to_string(), message: e.to_string() })?;
        let version = match &spec.version {
            serde_yaml::Value::Number(n) => n.to_string(),
            serde_yaml::Value::String(s) => s.clone(),
            _ => String::new(),
        };
        if version != "0.2" {
            return Err(Error::shape(name, format!("version is {version:?}; relsign's buildspecs use 0.2")));
        }
        if let Some(bad) = spec.phases.keys().find(|p| !PHASES.contains(&p.as_str())) {
            return Err(Error::shape(name, format!("unknown phase {bad:?}: CodeBuild knows {PHASES:?}")));
        }
        Ok(spec)
    }

    /// The phases present, in the order CodeBuild runs them.
    pub fn phases_in_order(&self) -> impl Iterator<Item = (&'static str, &Phase)> {
        PHASES.into_iter().filter_map(|p| self.phases.get(p).map(|phase| (p, phase)))
    }

    pub fn exports(&self, var: &str) -> bool {
        self.env.exported_variables.iter().any(|v| v == var)
    }

    /// The builds of its batch (build-list and build-graph alike), if it has one.
    pub fn batch_builds(&self) -> Vec<&BatchBuild> {
        let Some(b) = &self.batch else { return Vec::new() };
        b.build_list.iter().chain(&b.build_graph).flatten().collect()
    }
}
