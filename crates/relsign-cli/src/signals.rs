//! SIGINT and SIGTERM: a run that is stopped removes what it had half-written, says so in
//! one line and exits 130 or 143, instead of dying with a staging folder or multipart
//! uploads left behind.

use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::{Exit, Failure};

/// Which signal stopped the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    Interrupt,
    Terminate,
}

impl StopSignal {
    pub fn failure(self, cleaned: &str) -> Failure {
        let (exit, name) = match self {
            StopSignal::Interrupt => (Exit::Interrupted, "SIGINT"),
            StopSignal::Terminate => (Exit::Terminated, "SIGTERM"),
        };
        Failure::new(exit, format!("stopped by {name}: {cleaned}")).with_fix("run again to finish")
    }

    /// Waits for SIGINT or SIGTERM on the current tokio runtime.
    pub async fn next() -> std::io::Result<StopSignal> {
        let handlers = handlers()?;
        Ok(wait(handlers).await)
    }
}

/// The two handlers, installed (from then on neither signal has its default action).
fn handlers() -> std::io::Result<(Signal, Signal)> {
    Ok((signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?))
}

async fn wait((mut int, mut term): (Signal, Signal)) -> StopSignal {
    tokio::select! {
        _ = int.recv() => StopSignal::Interrupt,
        _ = term.recv() => StopSignal::Terminate,
    }
}

/// From now on, SIGINT or SIGTERM runs `cleanup` (on a thread of its own), reports the
/// failure it returns in one line and exits with its code. For synchronous programs; an
/// async one selects on [`StopSignal::next`] instead.
pub fn on_stop_signal(program: &'static str, cleanup: impl FnOnce(StopSignal) -> Failure + Send + 'static) {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build();
        let Ok(runtime) = runtime else {
            let _ = ready_tx.send(());
            return;
        };
        let installed = runtime.block_on(async { handlers() });
        let _ = ready_tx.send(());
        let Ok(installed) = installed else { return };
        let stopped = runtime.block_on(wait(installed));
        let failure = cleanup(stopped);
        std::process::exit(crate::exit_code(program, Err(failure)));
    });
    // Return only once the handlers are in place, so no signal meets the default action.
    let _ = ready_rx.recv_timeout(std::time::Duration::from_secs(5));
}
