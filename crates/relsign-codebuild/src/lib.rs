//! The CodeBuild world for relsign, without AWS: where build outputs are (sources), which
//! files in them are artifacts, and the output folder that the buildspec exports.
//!
//! Everything that touches untrusted names lives here: a build stage can hand us hostile
//! file names, symlinks and special files, and none of them may lead outside a source or
//! overwrite another artifact.

mod artifact;
mod error;
mod output;
mod source;

pub use artifact::{collect, Artifact, Input, Options, Selection};
pub use error::Error;
pub use output::{check_output, check_side_file, FileIdentity, OutputState, Staging};
pub use source::{
    artifact_from_variable, expand_batches, merge_sources, parse_source, sources_from_env, Source,
};
