//! A moto server on a free loopback port, started by the test that needs it: the real
//! AWS SDK talks to it through `AWS_ENDPOINT_URL`.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
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

pub struct Moto {
    child: Child,
    pub endpoint: String,
    home: tempfile::TempDir,
}

impl Moto {
    pub fn start() -> Moto {
        Moto::start_with(&[])
    }

    /// Starts moto with extra environment (such as INITIAL_NO_AUTH_ACTION_COUNT).
    pub fn start_with(env: &[(&str, &str)]) -> Moto {
        let venv = venv();
        let home = tempfile::tempdir().unwrap();
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new(venv.join("bin/moto_server"))
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .envs(env.iter().copied())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start moto_server");
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Moto { child, endpoint: format!("http://127.0.0.1:{port}"), home };
                }
                if child.try_wait().unwrap().is_some() {
                    break; // the port was taken meanwhile: try another
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("moto_server did not start on a loopback port");
    }

    /// The environment a client needs to talk to this server and nothing else: fixed test
    /// credentials, no profile files, no instance metadata.
    pub fn env(&self) -> Vec<(String, String)> {
        aws_env(&self.endpoint, self.home.path())
    }

    /// Runs the seeding helper (fixtures/aws.py) with `stdin`.
    pub fn seed(&self, args: &[&str], stdin: &[u8]) -> Output {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/aws.py");
        let mut child = Command::new(venv().join("bin/python"))
            .arg(script)
            .args(args)
            .envs(self.env())
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

    pub fn put_secret(&self, name: &str, value: &[u8]) {
        self.seed(&["put-secret", name], value);
    }

    pub fn put_binary_secret(&self, name: &str, value: &[u8]) {
        self.seed(&["put-secret", name, "--binary"], value);
    }
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

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
