//! Refusing allocations the machine cannot hold, before making them: a replay buffer of
//! 10¹¹ transitions aborted the process (exit 134, "memory allocation failed") instead of
//! saying which setting asked for it.

/// Bytes of memory the system reports as available (Linux's `MemAvailable`); `None` where
/// it cannot be read, in which case nothing is refused.
pub fn available_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// `n` bytes as a person reads them (`1.5 GiB`).
pub fn describe_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `Err` with both sizes in words when `needed` bytes (`None`: more than fit in a `u64`)
/// exceed what is available; `Ok` when they fit or availability is unknown.
pub fn check_fits(needed: Option<u64>) -> Result<(), String> {
    let Some(available) = available_bytes() else {
        return Ok(());
    };
    match needed {
        Some(n) if n <= available => Ok(()),
        Some(n) => Err(format!(
            "needs {} of memory, but {} is available",
            describe_bytes(n),
            describe_bytes(available)
        )),
        None => Err(format!(
            "needs more memory than can be counted, and {} is available",
            describe_bytes(available)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(describe_bytes(512), "512 B");
        assert_eq!(describe_bytes(1536), "1.5 KiB");
        assert_eq!(describe_bytes(3 << 30), "3.0 GiB");
    }

    #[test]
    fn what_fits_passes_and_what_cannot_is_refused() {
        assert!(check_fits(Some(1)).is_ok());
        if available_bytes().is_some() {
            let err = check_fits(Some(u64::MAX)).unwrap_err();
            assert!(err.contains("available"), "{err}");
            assert!(check_fits(None).is_err());
        }
    }
}
