//! SIGINT and SIGTERM stop a run cleanly: the handler only raises a flag, and the driver,
//! between two steps, flushes the metrics, writes a checkpoint to resume from and returns
//! [`crate::driver::Interrupted`]. A second signal while it does so ends the process at once
//! (the default action), so a stuck run can still be killed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the handlers (once per process; later calls do nothing).
pub fn install() -> std::io::Result<()> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // First signal: raise the flag. A second: the flag is already set, so exit.
            let conditional = signal_hook::flag::register_conditional_default(signal, flag_arc());
            let flag = signal_hook::flag::register(signal, flag_arc());
            if let Err(e) = conditional.and(flag) {
                result = Err(e);
            }
        }
    });
    result
}

/// The flag as signal-hook wants it; mirrored into [`INTERRUPTED`] by [`interrupted`].
fn flag_arc() -> std::sync::Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<std::sync::Arc<AtomicBool>> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| std::sync::Arc::new(AtomicBool::new(false)))
        .clone()
}

/// Whether SIGINT or SIGTERM arrived (or [`request`] was called).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed) || flag_arc().load(Ordering::Relaxed)
}

/// Asks the running driver to stop as if a signal had arrived.
pub fn request() {
    INTERRUPTED.store(true, Ordering::Relaxed);
}
