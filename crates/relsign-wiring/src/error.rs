//! Why a template or buildspec could not be read at all, with its exit code and fix
//! (relsign-error's [`Contract`]).

use std::path::PathBuf;

use relsign_error::{Contract, Exit, Fix};

/// Why a template or buildspec could not be read at all (the wiring problems of a readable
/// template are [`crate::Problem`]s instead).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{what} is not valid YAML: {message}")]
    Yaml { what: String, message: String },
    #[error("{what}: {message}")]
    Shape { what: String, message: String },
}

impl Contract for Error {
    fn fix(&self) -> Fix {
        match self {
            Error::Io { .. } => "check the path".into(),
            Error::Yaml { .. } => "fix the YAML (cfn-lint shows where)".into(),
            Error::Shape { .. } => Fix::none(),
        }
    }

    /// A template that cannot be read is bad input (exit 3).
    fn exit(&self) -> Exit {
        Exit::Input
    }
}

impl Error {
    pub(crate) fn shape(what: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Shape { what: what.into(), message: message.into() }
    }
}
