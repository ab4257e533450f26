//! `copier`: publishes a signed release folder to S3, refusing anything whose signatures
//! do not verify when asked to gate, skipping what is already there, never leaving half an
//! object or an orphan multipart upload behind.
//!
//! A thin binary over relsign-s3 (the transfer engine), relsign-pgp (the gate) and
//! relsign-aws (the clients). The library form lets the multi-call `relsign` binary hold
//! signer and copier in one file.

mod assemble;
mod check;
mod cli;
mod gate;
mod publish;
mod report;
mod settings;

use clap::{CommandFactory, Parser};

/// The command line's definition, for completions and man pages.
pub fn command() -> clap::Command {
    cli::Cli::command()
}

/// Runs copier with these arguments (the first is the program name); returns the exit code.
pub fn main_from<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    // Before anything else, and so before any secret is loaded.
    relsign_cli::harden_or_warn("copier");
    relsign_cli::quiet_library_backtraces();
    let cli = cli::Cli::parse_from(args);
    relsign_cli::logging::init("copier", &cli.log);
    let result = match cli.command {
        Some(cli::Command::Check(args)) => with_release(args, check::run),
        None => with_release(cli.args, publish::run),
    };
    relsign_cli::exit_code("copier", result)
}

/// Runs `run` on the release: `--from` itself, or, with `--artifacts-from` (the hand-off),
/// `--from` and the build outputs put together for as long as the run lasts.
fn with_release(
    mut args: cli::Args,
    run: impl FnOnce(cli::Args) -> Result<relsign_cli::Exit, relsign_cli::Failure>,
) -> Result<relsign_cli::Exit, relsign_cli::Failure> {
    if args.artifacts_from.is_empty() {
        return run(args);
    }
    let release = assemble::assemble(&args.from, &args.artifacts_from)?;
    args.from = release.path().to_path_buf();
    run(args)
}
