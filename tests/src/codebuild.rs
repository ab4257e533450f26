//! A local stand-in for CodeBuild, enough to run relsign's buildspecs as the pipeline does.
//!
//! Like CodeBuild (buildspec version 0.2): the phases run in order; each command runs by
//! itself through `sh -c`, and the shell state it leaves (variables, the working folder)
//! carries over to the next command and phase; a failing command fails the build and skips
//! the remaining phases; `env.exported-variables` are read from the final state; the files
//! `artifacts:` selects under its `base-directory` become the output artifact.
//!
//! Secret variables (what CodeBuild resolves from Secrets Manager) reach every command's
//! environment but are dropped from the state kept between commands, so they are never
//! written to disk, not even by the harness.
//!
//! With `root` set, every command (and the harness's own state keeping) runs chrooted into
//! that file system, as CodeBuild's agent runs commands inside the build's container, with
//! the image's own shell and none of the host's tools or variables; `user` runs them as
//! another uid, as a buildspec's `run-as` does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use globset::{GlobBuilder, GlobSetBuilder};
use relsign_wiring::Buildspec;

/// Runs one command in the saved state, then saves the state it leaves.
/// $1: the state file, $2: the command, $3: names of the secret variables.
const WRAPPER: &str = r#"
set -a
. "$1"
cd "${RELSIGN_HARNESS_PWD:-$CODEBUILD_SRC_DIR}" || exit 99
eval "$2"
rc=$?
set +a
for secret in $3; do unset "$secret"; done
RELSIGN_HARNESS_PWD=$(pwd)
export RELSIGN_HARNESS_PWD
export -p > "$1.next" && mv "$1.next" "$1"
exit $rc
"#;

pub struct Build {
    /// The project's name; the build id is `<project>:<uuid>`, as in CodeBuild.
    pub project: String,
    pub buildspec: PathBuf,
    /// `CODEBUILD_SRC_DIR`: where the build starts.
    pub primary: PathBuf,
    /// `CODEBUILD_SRC_DIR_<name>` for each secondary source.
    pub secondary: Vec<(String, PathBuf)>,
    /// Project and action variables, already merged (the action's win).
    pub env: BTreeMap<String, String>,
    /// Resolved secrets (SECRETS_MANAGER variables).
    pub secrets: BTreeMap<String, String>,
    /// The shell that runs commands (`/bin/sh` by default, as CodeBuild on Linux).
    pub shell: PathBuf,
    /// A container's root file system to chroot into; `shell`, the sources and the work
    /// folder are then paths inside it, and PATH and HOME come from `env` only.
    pub root: Option<PathBuf>,
    /// `uid:gid` the commands run as (with `root`).
    pub user: Option<String>,
    /// The build id, when the test records it before the build runs (as CodeBuild knows a
    /// build while it runs); else `<project>:<uuid>`, made when it starts.
    pub id: Option<String>,
}

pub struct Outcome {
    pub build_id: String,
    pub exported: BTreeMap<String, String>,
    /// The output artifact's folder, when the buildspec has `artifacts:`.
    pub artifact: Option<PathBuf>,
    /// Everything the commands printed, as the build's log.
    pub log: String,
}

#[derive(Debug)]
pub struct Failed {
    pub phase: String,
    pub command: String,
    pub log: String,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "phase {} failed on `{}`; log:\n{}", self.phase, self.command, self.log)
    }
}

impl Build {
    pub fn new(project: &str, buildspec: impl Into<PathBuf>, primary: impl Into<PathBuf>) -> Build {
        Build {
            project: project.to_string(),
            buildspec: buildspec.into(),
            primary: primary.into(),
            secondary: Vec::new(),
            env: BTreeMap::new(),
            secrets: BTreeMap::new(),
            shell: PathBuf::from("/bin/sh"),
            root: None,
            user: None,
            id: None,
        }
    }

    /// Where a path of the build is on this machine.
    fn host(&self, path: &Path) -> PathBuf {
        match &self.root {
            Some(root) => root.join(path.strip_prefix("/").unwrap_or(path)),
            None => path.to_path_buf(),
        }
    }

    /// The build's shell, inside the container when there is one.
    fn shell(&self) -> Command {
        let Some(root) = &self.root else { return Command::new(&self.shell) };
        let mut chroot = Command::new(crate::require_tool("chroot", "coreutils"));
        if let Some(user) = &self.user {
            chroot.arg(format!("--userspec={user}"));
        }
        chroot.arg(root).arg(&self.shell);
        chroot
    }

    /// Runs the build in `work` (a fresh folder for its state and output artifact).
    pub fn run(&self, work: &Path) -> Result<Outcome, Failed> {
        let spec = Buildspec::load(&self.buildspec).unwrap_or_else(|e| panic!("{e}"));
        let build_id = self.id.clone().unwrap_or_else(|| format!("{}:{}", self.project, uuid_like()));
        std::fs::create_dir_all(self.host(work)).unwrap();
        let state = work.join("state");
        std::fs::write(self.host(&state), "").unwrap();
        // The agent's own files belong to the user the commands run as.
        if let Some((uid, gid)) = self.user.as_deref().and_then(|u| u.split_once(':')) {
            let (uid, gid) = (uid.parse().ok(), gid.parse().ok());
            for path in [self.host(work), self.host(&state)] {
                std::os::unix::fs::chown(&path, uid, gid).unwrap();
            }
        }
        let mut log = String::new();
        let secret_names: Vec<&str> = self.secrets.keys().map(String::as_str).collect();
        for (phase, p) in spec.phases_in_order() {
            for command in &p.commands {
                log.push_str(&format!("[{phase}] $ {command}\n"));
                let out = self
                    .shell()
                    .arg("-c")
                    .arg(WRAPPER)
                    .arg("relsign-harness")
                    .arg(&state)
                    .arg(command)
                    .arg(secret_names.join(" "))
                    .env_clear()
                    .envs(self.environment(&build_id))
                    .envs(&self.secrets)
                    .output()
                    .expect("run the build shell");
                log.push_str(&String::from_utf8_lossy(&out.stdout));
                log.push_str(&String::from_utf8_lossy(&out.stderr));
                if !out.status.success() {
                    return Err(Failed { phase: phase.to_string(), command: command.clone(), log });
                }
            }
        }
        let exported = self.exported(&spec, &state, &build_id, &log)?;
        let artifact = match &spec.artifacts {
            Some(a) => Some(self.collect_artifact(a, work).map_err(|message| Failed {
                phase: "UPLOAD_ARTIFACTS".into(),
                command: message,
                log: log.clone(),
            })?),
            None => None,
        };
        Ok(Outcome { build_id, exported, artifact, log })
    }

    /// What CodeBuild sets, then the project's and action's variables.
    fn environment(&self, build_id: &str) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        if self.root.is_none() {
            env.insert("PATH".to_string(), std::env::var("PATH").unwrap_or_default());
            env.insert("HOME".to_string(), std::env::var("HOME").unwrap_or_default());
        }
        env.insert("CODEBUILD_BUILD_ID".to_string(), build_id.to_string());
        env.insert("CODEBUILD_SRC_DIR".to_string(), self.primary.display().to_string());
        for (name, dir) in &self.secondary {
            env.insert(format!("CODEBUILD_SRC_DIR_{name}"), dir.display().to_string());
        }
        env.extend(self.env.clone());
        env
    }

    fn exported(
        &self,
        spec: &Buildspec,
        state: &Path,
        build_id: &str,
        log: &str,
    ) -> Result<BTreeMap<String, String>, Failed> {
        let out = self
            .shell()
            .args(["-c", r#"set -a; . "$1"; env -0"#, "relsign-harness"])
            .arg(state)
            .env_clear()
            .envs(self.environment(build_id))
            .output()
            .expect("read the final build state");
        let all: BTreeMap<String, String> = out
            .stdout
            .split(|b| *b == 0)
            .filter_map(|kv| {
                let kv = String::from_utf8_lossy(kv);
                kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect();
        let mut exported = BTreeMap::new();
        for name in &spec.env.exported_variables {
            match all.get(name) {
                Some(v) => {
                    exported.insert(name.clone(), v.clone());
                }
                None => {
                    return Err(Failed {
                        phase: "exported-variables".into(),
                        command: format!("{name} is not set at the end of the build"),
                        log: log.to_string(),
                    })
                }
            }
        }
        Ok(exported)
    }

    /// Copies what `artifacts.files` selects under `base-directory` into `work/artifact`.
    fn collect_artifact(&self, a: &relsign_wiring::Artifacts, work: &Path) -> Result<PathBuf, String> {
        let base = match &a.base_directory {
            Some(b) => self.host(&self.primary.join(b)),
            None => self.host(&self.primary),
        };
        let mut globs = GlobSetBuilder::new();
        for pattern in &a.files {
            globs.add(GlobBuilder::new(pattern).literal_separator(true).build().map_err(|e| e.to_string())?);
        }
        let globs = globs.build().map_err(|e| e.to_string())?;
        let dest = self.host(work).join("artifact");
        std::fs::create_dir_all(&dest).unwrap();
        let mut count = 0;
        for entry in walkdir::WalkDir::new(&base).min_depth(1) {
            let entry = entry.map_err(|e| e.to_string())?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry.path().strip_prefix(&base).unwrap();
            if globs.is_match(rel) {
                let to = dest.join(rel);
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                std::fs::copy(entry.path(), &to).unwrap();
                count += 1;
            }
        }
        if count == 0 {
            return Err(format!("no matching artifact paths found under {}", base.display()));
        }
        Ok(dest)
    }
}

/// A build id suffix shaped like CodeBuild's (a UUID), unique enough for a test run.
pub fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let n = N.fetch_add(1, Ordering::Relaxed);
    let x = t ^ (u64::from(std::process::id()) << 32) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        x >> 32,
        (x >> 16) & 0xffff,
        x & 0xfff,
        n & 0xfff,
        t & 0xffff_ffff_ffff
    )
}
