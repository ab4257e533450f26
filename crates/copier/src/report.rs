//! What copier shows: a progress bar on a terminal, plain lines otherwise (CodeBuild logs),
//! and the summary on stdout.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use relsign_s3::{Action, Plan, Progress, Uploaded};
use serde::Serialize;

pub struct Reporter {
    bar: Option<ProgressBar>,
    /// Every file finished so far, for the JUnit report.
    done: Mutex<Vec<Uploaded>>,
}

impl Reporter {
    pub fn new(total_bytes: u64) -> Reporter {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total_bytes);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {bytes}/{total_bytes} {bytes_per_sec} {wide_bar} {eta}",
                )
                .expect("valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Reporter { bar, done: Mutex::new(Vec::new()) }
    }

    /// The files finished so far.
    pub fn done(&self) -> Vec<Uploaded> {
        self.done.lock().map(|d| d.clone()).unwrap_or_default()
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

pub(crate) fn verb(action: Action) -> &'static str {
    match action {
        Action::Upload => "uploaded",
        Action::Replace => "replaced",
        Action::Skip => "skipped (identical)",
    }
}

impl Progress for Reporter {
    fn bytes_sent(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    fn file_done(&self, done: &Uploaded) {
        if let Ok(mut files) = self.done.lock() {
            files.push(done.clone());
        }
        match &self.bar {
            Some(bar) => bar.println(format!("copier: {} {}", verb(done.action), done.key)),
            None => tracing::info!("{} {}", verb(done.action), done.key),
        }
    }
}

#[derive(Serialize)]
struct FileLine<'a> {
    name: &'a str,
    key: &'a str,
    action: &'static str,
    size: u64,
    sha256: String,
    parts: usize,
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::Upload => "upload",
        Action::Replace => "replace",
        Action::Skip => "skip",
    }
}

#[derive(Serialize)]
struct Summary<'a> {
    destination: String,
    dry_run: bool,
    uploaded: usize,
    replaced: usize,
    skipped: usize,
    bytes: u64,
    seconds: f64,
    aborted_stale_uploads: usize,
    files: Vec<FileLine<'a>>,
}

/// Prints the plan (dry run) or the outcome.
pub fn summary(plan: &Plan, done: Option<&[Uploaded]>, aborted: usize, seconds: f64, json: bool) {
    let files: Vec<FileLine> = match done {
        Some(done) => done
            .iter()
            .map(|u| FileLine {
                name: &u.name,
                key: &u.key,
                action: action_name(u.action),
                size: u.size,
                sha256: u.sha256.to_string(),
                parts: u.parts,
            })
            .collect(),
        None => plan
            .files
            .iter()
            .map(|p| FileLine {
                name: &p.local.name,
                key: &p.key,
                action: action_name(p.action),
                size: p.local.size,
                sha256: p.local.sha256.to_string(),
                parts: 0,
            })
            .collect(),
    };
    let count = |a: &str| files.iter().filter(|f| f.action == a).count();
    let s = Summary {
        destination: plan.destination.to_string(),
        dry_run: done.is_none(),
        uploaded: count("upload"),
        replaced: count("replace"),
        skipped: count("skip"),
        bytes: files.iter().filter(|f| f.action != "skip").map(|f| f.size).sum(),
        seconds,
        aborted_stale_uploads: aborted,
        files,
    };
    let mut out = std::io::stdout().lock();
    if json {
        let _ = serde_json::to_writer_pretty(&mut out, &s);
        let _ = writeln!(out);
        return;
    }
    for f in &s.files {
        let _ = writeln!(out, "{:<8} {}  {}", f.action, f.key, f.sha256);
    }
    let _ = writeln!(
        out,
        "{}{} uploaded, {} replaced, {} skipped, {} bytes to {} in {:.2} s",
        if s.dry_run { "dry run: would have " } else { "" },
        s.uploaded,
        s.replaced,
        s.skipped,
        s.bytes,
        s.destination,
        s.seconds
    );
}
