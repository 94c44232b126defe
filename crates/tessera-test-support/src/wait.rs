//! Waiting in tests without fixed sleeps: [`eventually`] polls a condition until it holds
//! (failing with what was awaited after a deadline), [`stays`] checks that one keeps
//! holding for a while (the only honest way to assert that something does *not* happen,
//! such as a second delivery).

use std::time::Duration;

/// How often the conditions are looked at.
const POLL: Duration = Duration::from_millis(20);

/// Polls `check` until it gives a value, and returns it.
///
/// # Panics
/// When `within` passes first, naming `what` was awaited.
pub async fn eventually<T>(
    what: &str,
    within: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still waiting after {within:?} for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Checks `holds` repeatedly for `during`.
///
/// # Panics
/// As soon as it does not hold, naming `what` should have stayed true.
pub async fn stays(what: &str, during: Duration, mut holds: impl AsyncFnMut() -> bool) {
    let end = tokio::time::Instant::now() + during;
    loop {
        assert!(holds().await, "no longer true: {what}");
        if tokio::time::Instant::now() >= end {
            return;
        }
        tokio::time::sleep(POLL).await;
    }
}
