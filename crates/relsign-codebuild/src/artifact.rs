//! Finding the artifacts to sign in the inputs (files and folders) and naming each one as
//! it will be published.

use std::collections::BTreeMap;
use std::fs::{self, File, FileType};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use crate::{validate_relative, Error};

/// A file or folder to take artifacts from.
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub path: PathBuf,
    /// The build output it belongs to (a CodeBuild secondary source name), when known.
    pub source: Option<String>,
    /// For a file picked inside a source: the source folder it must not leave, even
    /// through symlinks.
    pub root: Option<PathBuf>,
    /// For a file: its published name (default: its file name).
    pub name: Option<String>,
}

impl Input {
    pub fn path(path: impl Into<PathBuf>) -> Input {
        Input { path: path.into(), ..Input::default() }
    }
}

/// How artifacts are chosen and named.
#[derive(Debug, Default)]
pub struct Options<'a> {
    /// Names relsign writes itself at the top of the output.
    pub reserved: &'a [&'a str],
    /// Only names matching one of these (all when empty).
    pub include: Vec<String>,
    /// No name matching one of these.
    pub exclude: Vec<String>,
    /// Publish each artifact under `<source name>/`.
    pub by_source: bool,
}

fn glob_set(patterns: &[String]) -> Result<Option<globset::GlobSet>, Error> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = globset::GlobSetBuilder::new();
    for p in patterns {
        let glob = globset::GlobBuilder::new(p)
            .literal_separator(false)
            .build()
            .map_err(|e| Error::BadPattern { pattern: p.clone(), detail: e.to_string() })?;
        builder.add(glob);
    }
    builder
        .build()
        .map(Some)
        .map_err(|e| Error::BadPattern { pattern: patterns.join(" "), detail: e.to_string() })
}

/// One file to sign.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// Where to read it. For a symlink inside its source, the resolved target, so that the
    /// link cannot be swapped for one that points elsewhere after it was checked.
    pub path: PathBuf,
    /// Its published name: relative to the folder it came from, `/`-separated.
    pub name: String,
    pub source: Option<String>,
    pub size: u64,
}

/// The artifacts found, sorted by name, and what was passed over.
#[derive(Debug, Default)]
pub struct Selection {
    pub artifacts: Vec<Artifact>,
    /// Existing `.asc` files, which are never signed again.
    pub skipped_signatures: Vec<PathBuf>,
}

fn kind_name(t: FileType) -> &'static str {
    if t.is_fifo() {
        "FIFO"
    } else if t.is_socket() {
        "socket"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_dir() {
        "folder"
    } else {
        "special file"
    }
}

/// Collects the artifacts of every input, filtered and named as `opts` says.
pub fn collect(inputs: &[Input], opts: &Options) -> Result<Selection, Error> {
    let include = glob_set(&opts.include)?;
    let exclude = glob_set(&opts.exclude)?;
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    for input in inputs {
        let meta = fs::metadata(&input.path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::InputMissing { path: input.path.clone() },
            _ => Error::InputUnreadable { path: input.path.clone(), source: e },
        })?;
        if meta.is_dir() {
            walk_folder(input, &mut found, &mut skipped)?;
        } else if meta.is_file() {
            let name = match &input.name {
                Some(n) => n.clone(),
                None => input
                    .path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .ok_or_else(|| Error::NonUtf8 { path: input.path.clone() })?
                    .to_string(),
            };
            if name.ends_with(".asc") {
                skipped.push(input.path.clone());
                continue;
            }
            let path = match &input.root {
                Some(root) => contained(&input.path, root)?,
                None => input.path.clone(),
            };
            found.push(Artifact { path, name, source: input.source.clone(), size: meta.len() });
        } else {
            return Err(Error::NotRegular { path: input.path.clone(), kind: kind_name(meta.file_type()) });
        }
    }

    let mut by_name: BTreeMap<String, Artifact> = BTreeMap::new();
    for mut artifact in found {
        if let Err(why) = validate_relative(&artifact.name) {
            return Err(Error::BadName { name: artifact.name, path: artifact.path, why });
        }
        if include.as_ref().is_some_and(|g| !g.is_match(&artifact.name))
            || exclude.as_ref().is_some_and(|g| g.is_match(&artifact.name))
        {
            continue;
        }
        if opts.by_source {
            if let Some(source) = &artifact.source {
                artifact.name = format!("{source}/{}", artifact.name);
            }
        }
        if opts.reserved.contains(&artifact.name.as_str()) {
            return Err(Error::Reserved { name: artifact.name, path: artifact.path });
        }
        if let Some(first) = by_name.get(&artifact.name) {
            return Err(Error::Duplicate {
                name: artifact.name.clone(),
                first: first.path.clone(),
                second: artifact.path,
            });
        }
        // Fail now, before anything is written, rather than halfway through signing.
        File::open(&artifact.path)
            .map_err(|e| Error::InputUnreadable { path: artifact.path.clone(), source: e })?;
        by_name.insert(artifact.name.clone(), artifact);
    }
    if by_name.is_empty() {
        let inputs = inputs.iter().map(|i| i.path.display().to_string()).collect::<Vec<_>>().join(", ");
        return Err(Error::NoArtifacts { inputs });
    }
    Ok(Selection { artifacts: by_name.into_values().collect(), skipped_signatures: skipped })
}

fn walk_folder(input: &Input, found: &mut Vec<Artifact>, skipped: &mut Vec<PathBuf>) -> Result<(), Error> {
    let root = fs::canonicalize(&input.path)
        .map_err(|e| Error::InputUnreadable { path: input.path.clone(), source: e })?;
    for entry in walkdir::WalkDir::new(&input.path).follow_links(false).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(&input.path).to_path_buf();
            Error::InputUnreadable {
                path,
                source: e.into_io_error().unwrap_or_else(|| std::io::Error::other("filesystem loop")),
            }
        })?;
        if entry.depth() == 0 {
            continue;
        }
        let path = entry.path();
        let rel = path.strip_prefix(&input.path).unwrap_or(path);
        let Some(rel) = rel.to_str() else {
            return Err(Error::NonUtf8 { path: path.to_path_buf() });
        };
        let name = rel.replace(std::path::MAIN_SEPARATOR, "/");
        let file_type = entry.file_type();
        let (read_from, size) = if file_type.is_dir() {
            continue;
        } else if file_type.is_symlink() {
            resolve_link(path, &root)?
        } else if file_type.is_file() {
            let meta = entry.metadata().map_err(|e| Error::InputUnreadable {
                path: path.to_path_buf(),
                source: e.into_io_error().unwrap_or_else(|| std::io::Error::other("metadata")),
            })?;
            (path.to_path_buf(), meta.len())
        } else {
            return Err(Error::NotRegular { path: path.to_path_buf(), kind: kind_name(file_type) });
        };
        if name.ends_with(".asc") {
            skipped.push(path.to_path_buf());
            continue;
        }
        found.push(Artifact { path: read_from, name, source: input.source.clone(), size });
    }
    Ok(())
}

/// The real path of `path`, which must stay inside `root` whatever symlinks it passes.
fn contained(path: &Path, root: &Path) -> Result<PathBuf, Error> {
    let real_root =
        fs::canonicalize(root).map_err(|e| Error::InputUnreadable { path: root.to_path_buf(), source: e })?;
    let real =
        fs::canonicalize(path).map_err(|e| Error::InputUnreadable { path: path.to_path_buf(), source: e })?;
    if !real.starts_with(&real_root) {
        return Err(Error::SymlinkEscape {
            path: path.to_path_buf(),
            target: real,
            root: root.to_path_buf(),
        });
    }
    Ok(real)
}

/// A symlink inside a source is followed only to a regular file inside the same source.
fn resolve_link(link: &Path, root: &Path) -> Result<(PathBuf, u64), Error> {
    let target =
        fs::canonicalize(link).map_err(|e| Error::InputUnreadable { path: link.to_path_buf(), source: e })?;
    if !target.starts_with(root) {
        return Err(Error::SymlinkEscape { path: link.to_path_buf(), target, root: root.to_path_buf() });
    }
    let meta =
        fs::metadata(&target).map_err(|e| Error::InputUnreadable { path: link.to_path_buf(), source: e })?;
    if meta.is_dir() {
        return Err(Error::SymlinkToFolder { path: link.to_path_buf() });
    }
    if !meta.is_file() {
        return Err(Error::NotRegular { path: link.to_path_buf(), kind: kind_name(meta.file_type()) });
    }
    Ok((target, meta.len()))
}
