//! Local AWS endpoints on free loopback ports, started by the test that needs them: moto
//! (Secrets Manager, S3, IAM) and s3s-fs (S3 that checks every checksum). The real AWS SDK
//! talks to them through `AWS_ENDPOINT_URL`.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

/// The Python venv that scripts/test fills with moto (and cfn-lint).
pub fn venv() -> PathBuf {
    let dir = std::env::var_os("RELSIGN_VENV").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/relsign/venv")
    });
    assert!(
        dir.join("bin/moto_server").is_file(),
        "moto is not installed in {}: run scripts/test (it creates the venv with moto[server])",
        dir.display()
    );
    dir
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The s3s-fs binary scripts/test installs (`cargo install s3s-fs --version 0.14.1`).
pub fn s3s_fs_binary() -> PathBuf {
    let path = std::env::var_os("RELSIGN_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/relsign/tools")
        })
        .join("bin/s3s-fs");
    assert!(
        path.is_file(),
        "s3s-fs is not installed at {}: run scripts/test (it installs it)",
        path.display()
    );
    path
}

/// The servers still running. A suite keeps its server in a `static OnceLock`, whose value
/// is never dropped: without this list every run of the suite left its Python servers
/// behind. They are killed when the test process exits (`atexit`, which libtest's exit
/// runs, passing or failing).
static RUNNING: Mutex<Vec<libc::pid_t>> = Mutex::new(Vec::new());

extern "C" fn kill_running() {
    let pids = RUNNING.lock().map(|p| p.clone()).unwrap_or_else(|e| e.into_inner().clone());
    for pid in pids {
        // SAFETY: a signal to a child this process started and has not reaped.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

fn track(pid: u32) {
    static AT_EXIT: Once = Once::new();
    // SAFETY: registers a plain function without captured state.
    AT_EXIT.call_once(|| unsafe {
        libc::atexit(kill_running);
    });
    RUNNING.lock().unwrap_or_else(|e| e.into_inner()).push(pid as libc::pid_t);
}

fn untrack(pid: u32) {
    RUNNING.lock().unwrap_or_else(|e| e.into_inner()).retain(|p| *p != pid as libc::pid_t);
}

pub struct LocalAws {
    child: Child,
    pub endpoint: String,
    home: tempfile::TempDir,
    /// s3s-fs keeps its buckets here.
    _data: Option<tempfile::TempDir>,
}

impl LocalAws {
    /// Starts moto (Secrets Manager, S3, IAM).
    pub fn moto() -> LocalAws {
        LocalAws::moto_with(&[])
    }

    /// Starts moto with extra environment (such as INITIAL_NO_AUTH_ACTION_COUNT), its
    /// GetObjectAttributes listing a multipart object's parts as S3 does
    /// (tests/moto/s3_object_parts.py says why).
    pub fn moto_with(env: &[(&str, &str)]) -> LocalAws {
        let launcher = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("moto/s3_object_parts.py");
        LocalAws::moto_program(&[venv().join("bin/python"), launcher], env)
    }

    /// Starts moto as it is released, uncorrected: to show a correction is needed.
    pub fn moto_unpatched() -> LocalAws {
        LocalAws::moto_program(&[venv().join("bin/moto_server")], &[])
    }

    /// Starts moto with its KMS corrected to sign a `MessageType=DIGEST` message as given,
    /// as AWS does (tests/moto/kms_digest_server.py says why), with extra environment.
    pub fn moto_kms_with(env: &[(&str, &str)]) -> LocalAws {
        let launcher = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("moto/kms_digest_server.py");
        LocalAws::moto_program(&[venv().join("bin/python"), launcher], env)
    }

    /// Starts moto with S3 Object Lock kept on multipart uploads, as AWS does
    /// (tests/moto/multipart_lock_server.py says why).
    pub fn moto_lock() -> LocalAws {
        let launcher = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("moto/multipart_lock_server.py");
        LocalAws::moto_program(&[venv().join("bin/python"), launcher], &[])
    }

    fn moto_program(program: &[PathBuf], env: &[(&str, &str)]) -> LocalAws {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        LocalAws::spawn(None, |port| {
            let mut cmd = Command::new(&program[0]);
            cmd.args(&program[1..])
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .envs(env.iter().map(|(k, v)| (k, v)));
            cmd
        })
    }

    /// Starts s3s-fs (S3 only) over a fresh folder, with the test credentials.
    pub fn s3s_fs() -> LocalAws {
        let program = s3s_fs_binary();
        let data = tempfile::tempdir().unwrap();
        let root = data.path().to_path_buf();
        LocalAws::spawn(Some(data), |port| {
            let mut cmd = Command::new(&program);
            cmd.args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--access-key",
                "testing",
                "--secret-key",
                "testing",
            ])
            .arg(&root);
            cmd
        })
    }

    fn spawn(data: Option<tempfile::TempDir>, command: impl Fn(u16) -> Command) -> LocalAws {
        let home = tempfile::tempdir().unwrap();
        for _ in 0..5 {
            let port = free_port();
            let mut child =
                command(port).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start the server");
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    track(child.id());
                    return LocalAws {
                        child,
                        endpoint: format!("http://127.0.0.1:{port}"),
                        home,
                        _data: data,
                    };
                }
                if child.try_wait().unwrap().is_some() {
                    break; // the port was taken meanwhile: try another
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("the local AWS server did not start on a loopback port");
    }

    /// The environment a client needs to talk to this server and nothing else: fixed test
    /// credentials, no profile files, no instance metadata.
    pub fn env(&self) -> Vec<(String, String)> {
        aws_env(&self.endpoint, self.home.path())
    }

    /// Runs the seeding helper (fixtures/aws.py) with `stdin`.
    pub fn seed(&self, args: &[&str], stdin: &[u8]) -> Output {
        seed(&self.env(), args, stdin)
    }

    pub fn put_secret(&self, name: &str, value: &[u8]) {
        self.seed(&["put-secret", name], value);
    }

    /// Stores a plain-text secret and returns its ARN.
    pub fn put_secret_arn(&self, name: &str, value: &[u8]) -> String {
        String::from_utf8(self.seed(&["put-secret", name], value).stdout).unwrap().trim().to_string()
    }

    pub fn put_binary_secret(&self, name: &str, value: &[u8]) {
        self.seed(&["put-secret", name, "--binary"], value);
    }

    /// Creates a KMS key of `spec` for `usage` and returns its ARN.
    pub fn kms_key(&self, spec: &str, usage: &str) -> String {
        String::from_utf8(self.seed(&["kms-key", spec, usage], b"").stdout).unwrap().trim().to_string()
    }

    pub fn make_bucket(&self, bucket: &str) {
        self.seed(&["make-bucket", bucket], b"");
    }

    /// The keys under `prefix`, sorted.
    pub fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let out = self.seed(&["keys", bucket, prefix], b"");
        let mut keys: Vec<String> =
            String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect();
        keys.sort();
        keys
    }

    /// Downloads everything under `prefix` into `dest`.
    pub fn get_tree(&self, bucket: &str, prefix: &str, dest: &std::path::Path) {
        self.seed(&["get-tree", bucket, prefix, dest.to_str().unwrap()], b"");
    }

    /// Multipart uploads in progress in `bucket`, when the server can list them.
    pub fn uploads(&self, bucket: &str) -> Option<usize> {
        String::from_utf8(self.seed(&["uploads", bucket], b"").stdout).unwrap().trim().parse().ok()
    }

    /// Multipart uploads in progress in `bucket` for keys under `prefix` (ListMultipartUploads'
    /// Prefix), for tests that share a bucket.
    pub fn uploads_under(&self, bucket: &str, prefix: &str) -> Option<usize> {
        String::from_utf8(self.seed(&["uploads", bucket, prefix], b"").stdout).unwrap().trim().parse().ok()
    }
}

/// Runs fixtures/aws.py (boto3, from the venv) against the server `env` points at.
pub fn seed(env: &[(String, String)], args: &[&str], stdin: &[u8]) -> Output {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/aws.py");
    let mut child = Command::new(venv().join("bin/python"))
        .arg(script)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run fixtures/aws.py");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "aws.py {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Client environment for `endpoint`, isolated from the machine's AWS configuration.
pub fn aws_env(endpoint: &str, home: &std::path::Path) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_string()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ("AWS_CONFIG_FILE", home.join("config").display().to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials").display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

impl Drop for LocalAws {
    fn drop(&mut self) {
        untrack(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
