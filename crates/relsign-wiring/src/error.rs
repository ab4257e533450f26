use std::path::PathBuf;

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

impl Error {
    /// What to do about it, apart from the problem itself.
    pub fn fix(&self) -> Option<String> {
        match self {
            Error::Io { .. } => Some("check the path".to_string()),
            Error::Yaml { .. } => Some("fix the YAML (cfn-lint shows where)".to_string()),
            Error::Shape { .. } => None,
        }
    }

    pub(crate) fn shape(what: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Shape { what: what.into(), message: message.into() }
    }
}
