//! The pipeline as CloudFormation and CodeBuild see it, read from `templates/*.yml` and
//! `buildspecs/*.yml`, and checked for what breaks a release only at run time: an input
//! artifact nobody produces, a `#{Namespace.Var}` nobody exports, a buildspec that does not
//! exist, a role with more rights than its stage needs; and what CodePipeline and CodeBuild
//! refuse at deploy or when a batch starts (artifact counts, configuration lengths, names,
//! batch sizes), from AWS's published limits (`limits.rs`).
//!
//! Users run it as `relsign check-pipeline TEMPLATE` after editing their pipeline;
//! `relsign-tests` uses it for the wiring test and for its CodeBuild-like harness (which
//! resolves a project's environment the way CloudFormation would).

mod buildspec;
mod check;
mod error;
mod iam;
mod limits;
mod pipeline;
mod problem;
mod template;

pub use buildspec::{Artifacts, Batch, BatchBuild, BatchEnv, Buildspec, Phase, PHASES};
pub use check::check_release_pipeline;
pub use error::Error;
pub use limits::{ArtifactCounts, NameRule, ARTIFACT_COUNTS, CONFIG_VALUE_CHARS};
pub use pipeline::{Action, EnvVar, Pipeline};
pub use problem::Problem;
pub use template::{Params, Template};
