//! Hardening of the process itself, done first thing, before any secret can be loaded.

/// Makes the process non-dumpable and disables core dumps, so the unlocked key cannot be
/// read from a core file, through `/proc/<pid>/mem` or by ptrace from another process of
/// the same user. Linux only; elsewhere it does nothing.
///
/// Failure is not fatal (the calls cannot fail with these arguments on Linux), but is
/// reported by the return value for the caller to log.
pub fn harden() -> Result<(), String> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls with constant, valid arguments; no memory is shared.
        let no_core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &no_core) } != 0 {
            return Err(format!("setrlimit(RLIMIT_CORE, 0): {}", std::io::Error::last_os_error()));
        }
        if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
            return Err(format!("prctl(PR_SET_DUMPABLE, 0): {}", std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// [`harden`], first thing in `main`; a failure is a warning on stderr, not a reason to stop.
pub fn harden_or_warn(program: &str) {
    if let Err(e) = harden() {
        eprintln!("{program}: warning: cannot harden the process: {e}");
    }
}

/// Stops library errors from capturing backtraces, first thing in `main` (before any
/// thread). sequoia's and the SDK's errors capture one each (anyhow does when
/// RUST_BACKTRACE is set, as CI environments often have it), though relsign reports every
/// error in one line and never prints one: unwinding for each file that merely looks like a
/// key packet was 5% of copier's CPU on 20,000 files. A panic still prints its backtrace
/// under RUST_BACKTRACE; RUST_LIB_BACKTRACE set by the caller is kept.
pub fn quiet_library_backtraces() {
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(target_os = "linux")]
    fn after_harden_the_process_is_not_dumpable_and_dumps_no_core() {
        super::harden().unwrap();
        assert_eq!(unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) }, 0);
        let mut lim = libc::rlimit { rlim_cur: 1, rlim_max: 1 };
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut lim) }, 0);
        assert_eq!((lim.rlim_cur, lim.rlim_max), (0, 0));
    }
}
