//! Sources: the folders CodeBuild hands a build, one per input artifact, named by
//! `CODEBUILD_SRC_DIR_<ArtifactName>`.

use std::path::PathBuf;

use crate::Error;

const PREFIX: &str = "CODEBUILD_SRC_DIR_";

/// A build output to take artifacts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The pipeline's output artifact name, such as `AmdBuildArtifact`.
    pub name: String,
    pub dir: PathBuf,
}

/// The secondary sources in `vars` (the process environment in practice), sorted by name.
/// The primary `CODEBUILD_SRC_DIR` holds the buildspecs, not artifacts, so it is not one.
pub fn sources_from_env(vars: impl IntoIterator<Item = (String, String)>) -> Vec<Source> {
    let mut sources: Vec<Source> = vars
        .into_iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix(PREFIX)?;
            (!name.is_empty() && !v.is_empty())
                .then(|| Source { name: name.to_string(), dir: PathBuf::from(v) })
        })
        .collect();
    sources.sort_by(|a, b| a.name.cmp(&b.name));
    sources
}

/// Parses `NAME=DIR` (the `--source` option).
pub fn parse_source(arg: &str) -> Result<Source, String> {
    let (name, dir) = arg.split_once('=').ok_or_else(|| format!("{arg:?} is not NAME=DIR"))?;
    if name.is_empty() || dir.is_empty() {
        return Err(format!("{arg:?} is not NAME=DIR"));
    }
    if relsign_pgp::validate_relative(name).is_err() || name.contains('/') {
        return Err(format!("source name {name:?} must be a plain name"));
    }
    Ok(Source { name: name.to_string(), dir: PathBuf::from(dir) })
}

/// `sources` with each of `overrides` added, or replacing the source of the same name.
pub fn merge_sources(mut sources: Vec<Source>, overrides: &[Source]) -> Vec<Source> {
    for o in overrides {
        match sources.iter_mut().find(|s| s.name == o.name) {
            Some(s) => s.dir = o.dir.clone(),
            None => sources.push(o.clone()),
        }
    }
    sources.sort_by(|a, b| a.name.cmp(&b.name));
    sources
}

/// The variable named `var` in `env`, as the artifact it names in one of `sources`.
pub fn artifact_from_variable(
    var: &str,
    value: Option<&str>,
    sources: &[Source],
) -> Result<crate::Input, Error> {
    let value = match value {
        None => return Err(Error::VariableUnset { var: var.to_string() }),
        Some(v) if v.trim().is_empty() => return Err(Error::VariableEmpty { var: var.to_string() }),
        Some(v) => v,
    };
    if let Err(why) = relsign_pgp::validate_relative(value) {
        return Err(Error::VariableBadValue { var: var.to_string(), value: value.to_string(), why });
    }
    let found: Vec<&Source> =
        sources.iter().filter(|s| std::fs::symlink_metadata(s.dir.join(value)).is_ok()).collect();
    let searched =
        || sources.iter().map(|s| format!("{}={}", s.name, s.dir.display())).collect::<Vec<_>>().join(", ");
    match found.as_slice() {
        [one] => Ok(crate::Input {
            path: one.dir.join(value),
            source: Some(one.name.clone()),
            root: Some(one.dir.clone()),
            name: Some(value.to_string()),
        }),
        [] => Err(Error::VariableNotFound {
            var: var.to_string(),
            value: value.to_string(),
            searched: searched(),
        }),
        many => Err(Error::VariableAmbiguous {
            var: var.to_string(),
            value: value.to_string(),
            sources: many.iter().map(|s| s.name.clone()).collect::<Vec<_>>().join(" and "),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secondary_sources_only_sorted() {
        let env = [
            ("CODEBUILD_SRC_DIR".to_string(), "/primary".to_string()),
            ("CODEBUILD_SRC_DIR_ArmBuild".to_string(), "/arm".to_string()),
            ("CODEBUILD_SRC_DIR_AmdBuild".to_string(), "/amd".to_string()),
            ("CODEBUILD_SRC_DIR_Empty".to_string(), String::new()),
            ("HOME".to_string(), "/root".to_string()),
        ];
        let s = sources_from_env(env);
        assert_eq!(s.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["AmdBuild", "ArmBuild"]);
    }

    #[test]
    fn source_arguments_add_and_replace() {
        let base = vec![Source { name: "A".into(), dir: "/a".into() }];
        let merged = merge_sources(base, &[parse_source("A=/x").unwrap(), parse_source("B=/b").unwrap()]);
        assert_eq!(merged[0].dir, PathBuf::from("/x"));
        assert_eq!(merged[1].name, "B");
        assert!(parse_source("nodir").is_err());
        assert!(parse_source("../x=/d").is_err());
    }
}
