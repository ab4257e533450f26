//! The one error type of relsign-codebuild: each error names the file (its message), its
//! exit code and what to do about it (relsign-error's [`Contract`]).

use std::path::PathBuf;

use relsign_error::{Contract, Exit, Fix};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("input {path} does not exist")]
    InputMissing { path: PathBuf },

    #[error("cannot read input {path}: {source}")]
    InputUnreadable { path: PathBuf, source: std::io::Error },

    #[error("{path} is a {kind}, not a regular file")]
    NotRegular { path: PathBuf, kind: &'static str },

    #[error("{path} is a symlink to {target}, outside {root}")]
    SymlinkEscape { path: PathBuf, target: PathBuf, root: PathBuf },

    #[error("{path} is a symlink to a folder")]
    SymlinkToFolder { path: PathBuf },

    #[error("{path}: file name is not valid UTF-8")]
    NonUtf8 { path: PathBuf },

    #[error("{name:?} ({path}): {why}")]
    BadName { name: String, path: PathBuf, why: &'static str },

    #[error("{path} would be published as {name}, a name relsign writes itself")]
    Reserved { name: String, path: PathBuf },

    #[error("{path} is the {what}")]
    SecretFile { path: PathBuf, what: &'static str },

    #[error("{name:?} ({path}) is too long to publish: {why}")]
    NameTooLong { name: String, path: PathBuf, why: String },

    #[error("{path} would be published inside the folder {folder}/, but {folder} is also {what}")]
    FolderCollision { path: PathBuf, folder: String, what: &'static str },

    #[error("two artifacts would be published as {name}: {first} and {second}")]
    Duplicate { name: String, first: PathBuf, second: PathBuf },

    #[error("variable {var} (from --artifact-var) is not set")]
    VariableUnset { var: String },

    #[error("variable {var} (from --artifact-var) is empty")]
    VariableEmpty { var: String },

    #[error("variable {var}={value:?} is refused ({why})")]
    VariableBadValue { var: String, value: String, why: &'static str },

    #[error("variable {var}={value:?} names no file in any source (searched {searched})")]
    VariableNotFound { var: String, value: String, searched: String },

    #[error("variable {var}={value:?} names a file found in two sources ({sources})")]
    VariableAmbiguous { var: String, value: String, sources: String },

    #[error("nothing to sign: no PATH given and no CODEBUILD_SRC_DIR_* variable set")]
    NoSources,

    #[error("--batch-source {name}: no source of that name (sources: {sources})")]
    BatchSourceMissing { name: String, sources: String },

    #[error("{path} lies at the top of the batch source {name}, outside every build's folder")]
    BatchSourceFile { name: String, path: PathBuf },

    #[error("the batch source {name} ({dir}) holds no build folder")]
    BatchSourceEmpty { name: String, dir: PathBuf },

    #[error("two sources are named {name}: {first} and {second}")]
    SourceNameTwice { name: String, first: PathBuf, second: PathBuf },

    #[error("bad --include/--exclude pattern {pattern:?}: {detail}")]
    BadPattern { pattern: String, detail: String },

    #[error("no artifacts to sign in {inputs}")]
    NoArtifacts { inputs: String },

    #[error("output folder {out} is inside input {input}")]
    OutputInsideInput { out: PathBuf, input: PathBuf },

    #[error("{flag} {path} is inside input {input}")]
    SideFileInsideInput { flag: &'static str, path: PathBuf, input: PathBuf },

    #[error("output {out} exists and is not a folder")]
    OutputIsFile { out: PathBuf },

    #[error("output folder {out} is not empty")]
    OutputNotEmpty { out: PathBuf },

    #[error("cannot write {path}: {source}")]
    OutputWrite { path: PathBuf, source: std::io::Error },
}

impl Contract for Error {
    fn fix(&self) -> Fix {
        match self {
            Error::InputMissing { .. } => {
                Fix::from("check the path (or the build output that should have made it)")
            }
            Error::InputUnreadable { source, .. } => Fix::from(unreadable_fix(source)),
            Error::NotRegular { .. } => {
                Fix::from("only regular files are signed; remove it from the build output")
            }
            Error::SymlinkEscape { .. } => Fix::from("copy the file into the build output instead"),
            Error::SymlinkToFolder { .. } => Fix::from("name the folder itself as an input instead"),
            Error::NonUtf8 { .. } => {
                Fix::from("rename it (names go into SHA256SUMS, manifest.json and S3 keys)")
            }
            Error::BadName { .. } => Fix::from("rename the file"),
            Error::Reserved { .. } => Fix::from("rename it"),
            Error::SecretFile { .. } => Fix::from("secret material is never signed or published; keep it outside the folders signed"
                    .to_string(),),
            Error::NameTooLong { .. } => Fix::from("shorten the name"),
            Error::FolderCollision { .. } => Fix::from("rename one of them"),
            Error::Duplicate { .. } => {
                Fix::run("keep each source's files in a folder of its own", ["signer", "sign", "--layout", "by-source"])
                    .then_say("or rename one, or sign them in separate runs")
            }
            Error::VariableUnset { .. } => Fix::from("export it from the build stage and pass it in the action's EnvironmentVariables".to_string(),),
            Error::VariableEmpty { .. } => Fix::from("the build stage exported no file name; check what it writes into the variable".to_string(),),
            Error::VariableBadValue { .. } => Fix::from("it must name a file inside a build output"),
            Error::VariableNotFound { .. } => Fix::from("check the build stage's output artifacts and the GPG action's InputArtifacts".to_string(),),
            Error::VariableAmbiguous { .. } => {
                Fix::run("keep each source's files in a folder of its own", ["signer", "sign", "--layout", "by-source"])
                    .then_say("or rename one")
            }
            Error::NoSources => Fix::say("name files or folders")
                .then_run("or name a build output", ["signer", "sign", "--source", "NAME=DIR"]),
            Error::BatchSourceMissing { .. } => Fix::from("name the batch action's output artifact among the action's InputArtifacts, or fix --batch-source"
                    .to_string(),),
            Error::BatchSourceFile { .. } => Fix::from("a batch's combined artifact holds one folder per build: set CombineArtifacts on the batch action, or drop --batch-source"
                    .to_string(),),
            Error::BatchSourceEmpty { .. } => {
                Fix::from("check the batch's build-list and each build's artifacts section")
            }
            Error::SourceNameTwice { .. } => Fix::from("rename the build-list identifier or the output artifact so that each build has its own name"
                    .to_string(),),
            Error::BadPattern { .. } => {
                Fix::from("write it as a glob such as `*.tar.gz` or `dist/**`")
            }
            Error::NoArtifacts { .. } => {
                Fix::from("check the inputs (existing .asc files are not signed again)")
            }
            Error::OutputInsideInput { .. } => {
                Fix::from("choose an --out outside every input, or it would sign its own output")
            }
            Error::SideFileInsideInput { flag, .. } => {
                Fix::from(format!("choose a {flag} path outside every input: it would overwrite or be signed with the artifacts"))
            }
            Error::OutputIsFile { .. } => Fix::from("choose another --out"),
            Error::OutputNotEmpty { .. } => Fix::from("remove it or choose another --out (relsign never mixes two runs in one folder)".to_string(),),
            Error::OutputWrite { .. } => {
                Fix::from("check free space and permissions of the output folder")
            }
        }
    }

    /// Which side the problem is on: the inputs (exit 3) or the output folder (exit 6).
    fn exit(&self) -> Exit {
        match self {
            Error::OutputInsideInput { .. }
            | Error::SideFileInsideInput { .. }
            | Error::OutputIsFile { .. }
            | Error::OutputNotEmpty { .. }
            | Error::OutputWrite { .. } => Exit::Output,
            Error::InputMissing { .. }
            | Error::InputUnreadable { .. }
            | Error::NotRegular { .. }
            | Error::SymlinkEscape { .. }
            | Error::SymlinkToFolder { .. }
            | Error::NonUtf8 { .. }
            | Error::BadName { .. }
            | Error::Reserved { .. }
            | Error::SecretFile { .. }
            | Error::NameTooLong { .. }
            | Error::FolderCollision { .. }
            | Error::Duplicate { .. }
            | Error::VariableUnset { .. }
            | Error::VariableEmpty { .. }
            | Error::VariableBadValue { .. }
            | Error::VariableNotFound { .. }
            | Error::VariableAmbiguous { .. }
            | Error::NoSources
            | Error::BatchSourceMissing { .. }
            | Error::BatchSourceFile { .. }
            | Error::BatchSourceEmpty { .. }
            | Error::SourceNameTwice { .. }
            | Error::BadPattern { .. }
            | Error::NoArtifacts { .. } => Exit::Input,
        }
    }
}

/// What to do about an input the system would not open, by what it said: only a refused
/// permission is fixed by permissions.
fn unreadable_fix(e: &std::io::Error) -> &'static str {
    match (e.kind(), e.raw_os_error()) {
        (std::io::ErrorKind::PermissionDenied, _) => "fix its permissions or leave it out",
        (_, Some(libc::ENAMETOOLONG)) => {
            "its path is longer than the system allows (4096 bytes): shorten its name or the folders above it, or leave it out"
        }
        (std::io::ErrorKind::NotFound, _) => {
            "it vanished or its symlink points nowhere: sign once the build output is complete, or leave it out"
        }
        _ => "check the file (and the disk it is on), or leave it out",
    }
}

impl Error {
    /// One error of each kind whose fix runs a command, for the test that parses every
    /// suggested `signer` command against its flags (crates/relsign/src/fixes.rs).
    #[doc(hidden)]
    pub fn examples() -> Vec<Error> {
        let p = PathBuf::new;
        vec![
            Error::Duplicate { name: String::new(), first: p(), second: p() },
            Error::VariableAmbiguous { var: String::new(), value: String::new(), sources: String::new() },
            Error::NoSources,
        ]
    }
}
