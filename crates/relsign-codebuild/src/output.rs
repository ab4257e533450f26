//! The output folder, written all at once: everything goes into a hidden staging folder
//! beside `--out`, which is renamed into place only when complete. An error or a crash
//! leaves `--out` untouched (the staging folder is removed on error; after a crash it is a
//! hidden `.NAME.partial-*` sibling that the next run does not read).

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::Error;

pub struct Staging {
    dir: tempfile::TempDir,
    out: PathBuf,
}

fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::OutputWrite { path: path.to_path_buf(), source }
}

/// `path` made absolute without requiring it (or its parents) to exist: the nearest
/// existing ancestor resolved, the rest appended.
fn absolute(path: &Path) -> std::io::Result<PathBuf> {
    let path = if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir()?.join(path) };
    for ancestor in path.ancestors() {
        if let Ok(resolved) = fs::canonicalize(ancestor) {
            let rest = path.strip_prefix(ancestor).unwrap_or(Path::new(""));
            return Ok(if rest.as_os_str().is_empty() { resolved } else { resolved.join(rest) });
        }
    }
    Err(std::io::Error::other("no part of the output path exists"))
}

/// What `--out` is before a run, once it passed the checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputState {
    /// It will be created.
    Absent,
    /// An empty folder, which the release will replace.
    Empty,
}

/// The checks every run makes of `out` before it writes anything, and `signer check` too:
/// absent or an empty folder, and not inside any input folder (it would sign its own
/// output). Creates nothing.
pub fn check_output(out: &Path, inputs: &[&Path]) -> Result<OutputState, Error> {
    let state = match fs::symlink_metadata(out) {
        Ok(meta) if !meta.is_dir() => return Err(Error::OutputIsFile { out: out.to_path_buf() }),
        Ok(_) => {
            let mut entries = fs::read_dir(out).map_err(write_error(out))?;
            if entries.next().is_some() {
                return Err(Error::OutputNotEmpty { out: out.to_path_buf() });
            }
            OutputState::Empty
        }
        Err(_) => OutputState::Absent,
    };
    let abs_out = absolute(out).map_err(write_error(out))?;
    for input in inputs {
        let Ok(abs_in) = fs::canonicalize(input) else {
            continue;
        };
        if abs_in.is_dir() && abs_out.starts_with(&abs_in) {
            return Err(Error::OutputInsideInput { out: out.to_path_buf(), input: input.to_path_buf() });
        }
    }
    Ok(state)
}

/// Refuses a file relsign writes beside the release (`flag`, such as `--exported-vars`)
/// that lies inside an input folder or is an input file: it would overwrite what is
/// signed, or be signed itself.
pub fn check_side_file(path: &Path, flag: &'static str, inputs: &[&Path]) -> Result<(), Error> {
    let abs = absolute(path).map_err(write_error(path))?;
    let existing = fs::metadata(path).ok().map(|m| FileIdentity::of(&m));
    for input in inputs {
        let Ok(abs_in) = fs::canonicalize(input) else { continue };
        let same_file =
            existing.is_some() && fs::metadata(input).ok().map(|m| FileIdentity::of(&m)) == existing;
        if abs.starts_with(&abs_in) || same_file {
            return Err(Error::SideFileInsideInput {
                flag,
                path: path.to_path_buf(),
                input: input.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// What a file is at a moment: compared after it was read to tell that nothing rewrote
/// or replaced it meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileIdentity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileIdentity {
    pub fn of(meta: &fs::Metadata) -> FileIdentity {
        use std::os::unix::fs::MetadataExt;
        FileIdentity {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

impl Staging {
    /// Checks `out` (absent or an empty folder, not inside any input folder) and creates the
    /// staging folder beside it.
    pub fn new(out: &Path, inputs: &[&Path]) -> Result<Staging, Error> {
        check_output(out, inputs)?;
        let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(write_error(parent))?;
        let name = out.file_name().and_then(|n| n.to_str()).unwrap_or("signed");
        let dir = tempfile::Builder::new()
            .prefix(&format!(".{name}.partial-"))
            .tempdir_in(parent)
            .map_err(write_error(parent))?;
        Ok(Staging { dir, out: out.to_path_buf() })
    }

    /// The staging folder itself (hidden, beside `--out`).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Where the file published as `name` is staged.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn parent_ready(&self, name: &str) -> Result<PathBuf, Error> {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(write_error(parent))?;
        }
        Ok(path)
    }

    /// Creates the staged file `name` for writing (each artifact is copied in).
    pub fn create(&self, name: &str) -> Result<File, Error> {
        let path = self.parent_ready(name)?;
        File::create(&path).map_err(write_error(&path))
    }

    /// Writes `bytes` as `name` (flushed to disk by `commit`).
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), Error> {
        let path = self.parent_ready(name)?;
        let mut file = File::create(&path).map_err(write_error(&path))?;
        file.write_all(bytes).map_err(write_error(&path))
    }

    /// Flushes everything staged to disk and renames the staging folder to `--out`.
    pub fn commit(self) -> Result<PathBuf, Error> {
        let root = self.dir.path().to_path_buf();
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).map_err(write_error(&root))?;
        // One syncfs instead of an fsync per file: hundreds of small signatures would
        // otherwise cost a disk flush each. It also reports any deferred write error
        // (a full disk), in which case the staging folder is removed on return.
        let dir = File::open(&root).map_err(write_error(&root))?;
        // SAFETY: a valid open descriptor.
        if unsafe { libc::syncfs(std::os::fd::AsRawFd::as_raw_fd(&dir)) } != 0 {
            return Err(Error::OutputWrite { path: root, source: std::io::Error::last_os_error() });
        }
        let root = self.dir.keep();
        if let Err(e) = fs::rename(&root, &self.out) {
            let _ = fs::remove_dir_all(&root);
            return Err(Error::OutputWrite { path: self.out.clone(), source: e });
        }
        let parent = self.out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        File::open(parent).and_then(|d| d.sync_all()).map_err(write_error(parent))?;
        Ok(self.out)
    }
}
