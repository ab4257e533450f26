//! What the two programs write on stderr, through `tracing`: plain lines for people
//! (`signer: warning: ...`), or one JSON object per line for CloudWatch Logs Insights.
//! Every line carries the CodeBuild build id when the run has one, so the lines of one
//! release can be found among all others.
//!
//! Only relsign's own crates log below DEBUG: the AWS SDK's TRACE output includes request
//! and response bodies, a secret's value among them, so it is cut whatever RUST_LOG says.

use std::fmt::{self, Write as _};
use std::time::SystemTime;

use clap::{ArgAction, Args, ValueEnum};
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{EnvFilter, FilterFn, LevelFilter};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

/// The crates whose events may go down to TRACE.
const OURS: &[&str] = &["signer", "copier", "relsign"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `signer: warning: ...` lines
    Text,
    /// One JSON object per line (timestamp, level, program, build_id, message, fields)
    Json,
}

/// The logging flags both programs take, after any subcommand too.
#[derive(Args, Debug, Clone)]
pub struct LogArgs {
    /// More detail on stderr: -v debug, -vv trace (relsign's own lines; RUST_LOG overrides)
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Errors only on stderr
    #[arg(short, long, global = true, env = "RELSIGN_QUIET", value_parser = clap::builder::FalseyValueParser::new())]
    pub quiet: bool,

    /// The most detail to log (error, warn, info, debug, trace), as -q/-v do
    #[arg(long, global = true, env = "RELSIGN_LOG_LEVEL", value_name = "LEVEL")]
    pub log_level: Option<LevelFilter>,

    /// How log lines look
    #[arg(long, global = true, env = "RELSIGN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl LogArgs {
    fn level(&self) -> LevelFilter {
        if let Some(level) = self.log_level {
            return level;
        }
        match (self.quiet, self.verbose) {
            (true, _) => LevelFilter::ERROR,
            (false, 0) => LevelFilter::INFO,
            (false, 1) => LevelFilter::DEBUG,
            _ => LevelFilter::TRACE,
        }
    }
}

fn is_ours(target: &str) -> bool {
    OURS.iter().any(|c| {
        target
            .strip_prefix(c)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::") || rest.starts_with('_'))
    })
}

/// Installs the logger for `program`. RUST_LOG, when set, chooses what is logged (but never
/// another crate's TRACE); otherwise relsign logs at the level asked and other crates (the
/// AWS SDK, hyper) only their errors, their warnings from -v, their DEBUG from -vv.
pub fn init(program: &'static str, args: &LogArgs) {
    let level = args.level();
    let filter = match std::env::var("RUST_LOG").ok().filter(|v| !v.trim().is_empty()) {
        Some(spec) => EnvFilter::builder().parse_lossy(spec),
        None => {
            // The SDK warns about things that are normal here (a config file named by
            // AWS_CONFIG_FILE that does not exist): its lines wait for -v.
            let others = match level {
                l if l >= LevelFilter::TRACE => LevelFilter::DEBUG,
                l if l >= LevelFilter::DEBUG => LevelFilter::WARN,
                _ => LevelFilter::ERROR,
            };
            let mut filter = EnvFilter::default().add_directive(others.into());
            // A directive's target is a prefix: `relsign` also covers relsign_pgp and the others.
            for crate_name in OURS {
                if let Ok(d) = format!("{crate_name}={level}").parse() {
                    filter = filter.add_directive(d);
                }
            }
            filter
        }
    };
    let never_their_trace = FilterFn::new(|meta| *meta.level() <= Level::DEBUG || is_ours(meta.target()));
    let format = Line {
        program,
        build_id: std::env::var("CODEBUILD_BUILD_ID").ok().filter(|v| !v.is_empty()),
        json: args.log_format == LogFormat::Json,
    };
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .event_format(format)
        .with_filter(never_their_trace)
        .with_filter(filter);
    // A second init (tests that run both programs in one process) keeps the first logger.
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// Formats one event as a text or JSON line.
struct Line {
    program: &'static str,
    build_id: Option<String>,
    json: bool,
}

#[derive(Default)]
struct Fields {
    message: String,
    others: Map<String, Value>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_string()));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
        } else {
            self.others.insert(field.name().to_string(), value);
        }
    }
}

/// One line whatever the message holds: CloudWatch splits events on newlines.
fn one_line(s: &str) -> String {
    s.split(['\n', '\r']).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ")
}

impl<S, N> FormatEvent<S, N> for Line
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, _ctx: &FmtContext<'_, S, N>, mut w: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        if self.json {
            let mut obj = Map::new();
            obj.insert(
                "timestamp".into(),
                humantime::format_rfc3339_millis(SystemTime::now()).to_string().into(),
            );
            obj.insert("level".into(), meta.level().as_str().into());
            obj.insert("program".into(), self.program.into());
            if let Some(id) = &self.build_id {
                obj.insert("build_id".into(), id.clone().into());
            }
            obj.insert("target".into(), meta.target().into());
            obj.insert("message".into(), one_line(&fields.message).into());
            for (k, v) in fields.others {
                // A failure's fix comes as JSON text: kept as data (steps, argv) in the line.
                let v = match (k.as_str(), v) {
                    ("fix", Value::String(text)) => {
                        serde_json::from_str(&text).unwrap_or(Value::String(text))
                    }
                    (_, v) => v,
                };
                obj.entry(k).or_insert(v);
            }
            return writeln!(w, "{}", Value::Object(obj));
        }
        let mut line = format!("{}: ", self.program);
        match *meta.level() {
            Level::ERROR => line.push_str("error: "),
            Level::WARN => line.push_str("warning: "),
            Level::INFO => {}
            Level::DEBUG => line.push_str("debug: "),
            Level::TRACE => line.push_str("trace: "),
        }
        line.push_str(&one_line(&fields.message));
        // The exit code is the process's own and the fix is already in the message; JSON
        // lines carry them as data.
        for (k, v) in fields.others.iter().filter(|(k, _)| !matches!(k.as_str(), "exit_code" | "fix")) {
            let v = match v {
                Value::String(s) => one_line(s),
                other => other.to_string(),
            };
            let _ = write!(line, " {k}={v}");
        }
        if let Some(id) = &self.build_id {
            let _ = write!(line, " [build {id}]");
        }
        writeln!(w, "{line}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_relsign_crates_are_ours() {
        for t in ["signer", "signer::sign", "copier::publish", "relsign_pgp::key", "relsign_cli"] {
            assert!(is_ours(t), "{t}");
        }
        for t in ["aws_smithy_runtime::client", "hyper", "aws_config", "signerx"] {
            assert!(!is_ours(t), "{t}");
        }
    }

    #[test]
    fn verbosity_maps_to_levels() {
        let args = |verbose, quiet| LogArgs { verbose, quiet, log_level: None, log_format: LogFormat::Text };
        assert_eq!(args(0, false).level(), LevelFilter::INFO);
        assert_eq!(args(1, false).level(), LevelFilter::DEBUG);
        assert_eq!(args(3, false).level(), LevelFilter::TRACE);
        assert_eq!(args(2, true).level(), LevelFilter::ERROR);
    }
}
