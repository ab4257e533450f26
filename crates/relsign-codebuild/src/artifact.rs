//! Finding the artifacts to sign in the inputs (files and folders) and naming each one as
//! it will be published.

use std::collections::BTreeMap;
use std::fs::{self, File, FileType};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use relsign_pgp::{signed_name, validate_relative, MAX_NAME_PART_BYTES, RESERVED_NAMES, SIGNATURE_SUFFIX};
use relsign_s3::MAX_KEY_BYTES;

use crate::Error;

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
pub struct Options {
    /// Only names matching one of these (all when empty).
    pub include: Vec<String>,
    /// No name matching one of these.
    pub exclude: Vec<String>,
    /// Publish each artifact under `<source name>/`.
    pub by_source: bool,
    /// Files that must never be signed, wherever they sit (the key file, the passphrase
    /// file), with what each is.
    pub secret_files: Vec<(PathBuf, &'static str)>,
}

/// Every artifact's signature must fit in an S3 key (under the shortest prefix, none).
const MAX_NAME: usize = MAX_KEY_BYTES - SIGNATURE_SUFFIX.len();
/// Linux file systems hold names of at most 255 bytes; the signature's must fit.
const MAX_COMPONENT: usize = MAX_NAME_PART_BYTES - SIGNATURE_SUFFIX.len();

/// Refuses, before anything is read, a name that cannot be written or published.
fn check_length(artifact: &Artifact) -> Result<(), Error> {
    let too_long =
        |why: String| Error::NameTooLong { name: artifact.name.clone(), path: artifact.path.clone(), why };
    if artifact.name.len() > MAX_NAME {
        return Err(too_long(format!(
            "{} bytes, and an S3 key (with its .asc) holds at most 1024",
            artifact.name.len()
        )));
    }
    let parts: Vec<&str> = artifact.name.split('/').collect();
    let last = parts.len() - 1;
    let over =
        |(i, p): &(usize, &&str)| p.len() > if *i == last { MAX_COMPONENT } else { MAX_NAME_PART_BYTES };
    if let Some((_, part)) = parts.iter().enumerate().find(over) {
        return Err(too_long(format!(
            "the part {:?} has {} bytes, and a file name (with .asc) holds at most 255",
            part.chars().take(16).collect::<String>() + "...",
            part.len()
        )));
    }
    Ok(())
}

/// Refuses an artifact published inside a folder that is also a file of the release:
/// a name relsign writes, another artifact, or another artifact's signature.
fn check_folders(by_name: &BTreeMap<String, Artifact>) -> Result<(), Error> {
    for artifact in by_name.values() {
        let mut folder = String::new();
        let parts: Vec<&str> = artifact.name.split('/').collect();
        for part in &parts[..parts.len() - 1] {
            if !folder.is_empty() {
                folder.push('/');
            }
            folder.push_str(part);
            let what = if RESERVED_NAMES.contains(&folder.as_str()) {
                Some("a name relsign writes itself")
            } else if by_name.contains_key(&folder) {
                Some("an artifact")
            } else if signed_name(&folder).is_some_and(|f| by_name.contains_key(f)) {
                Some("an artifact's signature")
            } else {
                None
            };
            if let Some(what) = what {
                return Err(Error::FolderCollision { path: artifact.path.clone(), folder, what });
            }
        }
    }
    Ok(())
}

/// Refuses the key file and the passphrase file (compared by device and inode, so a hard
/// link or a symlink to them is caught too).
fn check_secret_files(
    by_name: &BTreeMap<String, Artifact>,
    secrets: &[(PathBuf, &'static str)],
) -> Result<(), Error> {
    use std::os::unix::fs::MetadataExt;
    let ids: Vec<((u64, u64), &'static str)> = secrets
        .iter()
        .filter_map(|(p, what)| fs::metadata(p).ok().map(|m| ((m.dev(), m.ino()), *what)))
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    for artifact in by_name.values() {
        let Ok(meta) = fs::metadata(&artifact.path) else { continue };
        if let Some((_, what)) = ids.iter().find(|(id, _)| *id == (meta.dev(), meta.ino())) {
            return Err(Error::SecretFile { path: artifact.path.clone(), what });
        }
    }
    Ok(())
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
            if relsign_pgp::is_signature_name(&name) {
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
        check_length(&artifact)?;
        if RESERVED_NAMES.contains(&artifact.name.as_str()) {
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
    check_folders(&by_name)?;
    check_secret_files(&by_name, &opts.secret_files)?;
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
        if relsign_pgp::is_signature_name(&name) {
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
