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

/// `sources` with each source named in `batch` replaced by the builds it holds.
///
/// A CodeBuild batch run by CodePipeline with `CombineArtifacts` hands the signing action
/// one input artifact in which every build of the batch has its own folder, named by its
/// build-list identifier. Each such folder becomes a source of its own, named by that
/// identifier, so that artifacts are named relative to their build's folder, as they are
/// for separate build actions.
pub fn expand_batches(sources: Vec<Source>, batch: &[String]) -> Result<Vec<Source>, Error> {
    for name in batch {
        if !sources.iter().any(|s| &s.name == name) {
            let names = sources.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ");
            return Err(Error::BatchSourceMissing { name: name.clone(), sources: names });
        }
    }
    let mut out: Vec<Source> = Vec::new();
    for source in sources {
        if !batch.contains(&source.name) {
            out.push(source);
            continue;
        }
        let entries = std::fs::read_dir(&source.dir)
            .map_err(|e| Error::InputUnreadable { path: source.dir.clone(), source: e })?;
        let mut builds = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::InputUnreadable { path: source.dir.clone(), source: e })?;
            let path = entry.path();
            let file_type =
                entry.file_type().map_err(|e| Error::InputUnreadable { path: path.clone(), source: e })?;
            if !file_type.is_dir() {
                return Err(Error::BatchSourceFile { name: source.name.clone(), path });
            }
            let Some(id) = entry.file_name().to_str().map(str::to_string) else {
                return Err(Error::NonUtf8 { path });
            };
            builds.push(Source { name: id, dir: path });
        }
        if builds.is_empty() {
            return Err(Error::BatchSourceEmpty { name: source.name, dir: source.dir });
        }
        out.extend(builds);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(w) = out.windows(2).find(|w| w[0].name == w[1].name) {
        return Err(Error::SourceNameTwice {
            name: w[0].name.clone(),
            first: w[0].dir.clone(),
            second: w[1].dir.clone(),
        });
    }
    Ok(out)
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
    fn a_batch_source_becomes_one_source_per_build_folder() {
        let dir = tempfile::tempdir().unwrap();
        let combined = dir.path().join("combined");
        for id in ["amd", "arm_deb"] {
            std::fs::create_dir_all(combined.join(id)).unwrap();
        }
        let other = Source { name: "Docs".into(), dir: dir.path().join("docs") };
        let batch = Source { name: "BuildArtifacts".into(), dir: combined.clone() };
        let out = expand_batches(vec![batch.clone(), other.clone()], &["BuildArtifacts".into()]).unwrap();
        let names: Vec<&str> = out.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Docs", "amd", "arm_deb"]);
        assert_eq!(out[1].dir, combined.join("amd"));

        // A file beside the build folders, a missing batch, a build named like a source.
        std::fs::write(combined.join("stray.txt"), b"x").unwrap();
        let e = expand_batches(vec![batch.clone()], &["BuildArtifacts".into()]).unwrap_err();
        assert!(matches!(e, Error::BatchSourceFile { .. }), "{e}");
        std::fs::remove_file(combined.join("stray.txt")).unwrap();
        let e = expand_batches(vec![other.clone()], &["BuildArtifacts".into()]).unwrap_err();
        assert!(matches!(e, Error::BatchSourceMissing { .. }), "{e}");
        let amd = Source { name: "amd".into(), dir: dir.path().join("elsewhere") };
        let e = expand_batches(vec![batch, amd], &["BuildArtifacts".into()]).unwrap_err();
        assert!(matches!(e, Error::SourceNameTwice { .. }), "{e}");
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
