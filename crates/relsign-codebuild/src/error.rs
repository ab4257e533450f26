//! The one error type of relsign-codebuild. Each message names the file and what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("input {path} does not exist: check the path (or the build output that should have made it)")]
    InputMissing { path: PathBuf },

    #[error("cannot read input {path}: {source}: fix its permissions or leave it out")]
    InputUnreadable { path: PathBuf, source: std::io::Error },

    #[error("{path} is a {kind}, not a regular file: only regular files are signed; remove it from the build output")]
    NotRegular { path: PathBuf, kind: &'static str },

    #[error("{path} is a symlink to {target}, outside {root}: copy the file into the build output instead")]
    SymlinkEscape { path: PathBuf, target: PathBuf, root: PathBuf },

    #[error("{path} is a symlink to a folder: name the folder itself as an input instead")]
    SymlinkToFolder { path: PathBuf },

    #[error("{path}: file name is not valid UTF-8: rename it (names go into SHA256SUMS, manifest.json and S3 keys)")]
    NonUtf8 { path: PathBuf },

    #[error("{name:?} ({path}): {why}: rename the file")]
    BadName { name: String, path: PathBuf, why: &'static str },

    #[error("{path} would be published as {name}, a name relsign writes itself: rename it")]
    Reserved { name: String, path: PathBuf },

    #[error("{path} is the {what}: secret material is never signed or published; keep it outside the folders signed")]
    SecretFile { path: PathBuf, what: &'static str },

    #[error("{name:?} ({path}) is too long to publish: {why}; shorten the name")]
    NameTooLong { name: String, path: PathBuf, why: String },

    #[error("{path} would be published inside the folder {folder}/, but {folder} is also {what}: rename one of them")]
    FolderCollision { path: PathBuf, folder: String, what: &'static str },

    #[error("two artifacts would be published as {name}: {first} and {second}; use --layout by-source, rename one, or sign them in separate runs")]
    Duplicate { name: String, first: PathBuf, second: PathBuf },

    #[error("variable {var} (from --artifact-var) is not set: export it from the build stage and pass it in the action's EnvironmentVariables")]
    VariableUnset { var: String },

    #[error("variable {var} (from --artifact-var) is empty: the build stage exported no file name")]
    VariableEmpty { var: String },

    #[error("variable {var}={value:?} is refused ({why}): it must name a file inside a build output")]
    VariableBadValue { var: String, value: String, why: &'static str },

    #[error("variable {var}={value:?} names no file in any source (searched {searched}): check the build stage's output artifacts and the GPG action's InputArtifacts")]
    VariableNotFound { var: String, value: String, searched: String },

    #[error("variable {var}={value:?} names a file found in two sources ({sources}): use --layout by-source or rename one")]
    VariableAmbiguous { var: String, value: String, sources: String },

    #[error("nothing to sign: no PATH given and no CODEBUILD_SRC_DIR_* variable set; name files or folders, or add --source NAME=DIR")]
    NoSources,

    #[error("bad --include/--exclude pattern {pattern:?}: {detail}")]
    BadPattern { pattern: String, detail: String },

    #[error("no artifacts to sign in {inputs}: check the inputs (existing .asc files are not signed again)")]
    NoArtifacts { inputs: String },

    #[error("output folder {out} is inside input {input}: choose an --out outside every input, or it would sign its own output")]
    OutputInsideInput { out: PathBuf, input: PathBuf },

    #[error("output {out} exists and is not a folder: choose another --out")]
    OutputIsFile { out: PathBuf },

    #[error("output folder {out} is not empty: remove it or choose another --out (relsign never mixes two runs in one folder)")]
    OutputNotEmpty { out: PathBuf },

    #[error("cannot write {path}: {source}: check free space and permissions of the output folder")]
    OutputWrite { path: PathBuf, source: std::io::Error },
}

/// Which side the problem is on, for callers that map errors to exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Input,
    Output,
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::OutputInsideInput { .. }
            | Error::OutputIsFile { .. }
            | Error::OutputNotEmpty { .. }
            | Error::OutputWrite { .. } => ErrorKind::Output,
            _ => ErrorKind::Input,
        }
    }
}
