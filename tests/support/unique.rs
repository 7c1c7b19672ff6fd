//! Names no other test, process or earlier run has used: prefix, process id, a
//! per-process counter and the clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A unique identifier usable as a ClickHouse database or Kafka topic name: `[a-z0-9_]`.
pub fn unique_name(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let micros = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros()).unwrap_or(0);
    format!("{prefix}_{}_{n}_{}", std::process::id(), micros % 1_000_000_000_000)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_do_not_repeat() {
        let names: std::collections::BTreeSet<String> = (0..1000).map(|_| super::unique_name("t")).collect();
        assert_eq!(names.len(), 1000);
        assert!(names.iter().all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')));
    }
}
