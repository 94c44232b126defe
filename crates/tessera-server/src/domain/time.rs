//! Durations as the store and tokens count time: whole seconds, as `i64`.

use std::time::Duration;

/// `d` in whole seconds, saturating at `i64::MAX` (a configured "forever").
pub fn seconds(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_saturate() {
        assert_eq!(seconds(Duration::from_millis(2_999)), 2);
        assert_eq!(seconds(Duration::MAX), i64::MAX);
    }
}
