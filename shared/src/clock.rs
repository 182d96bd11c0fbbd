//! The time source, and the one time format the product writes into names and tags.

use std::time::{SystemTime, UNIX_EPOCH};

/// The time source: the system clock in Lambda, a fixed instant in tests.
#[derive(Clone, Copy, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    Fixed(i64),
}

impl Clock {
    /// Seconds since the epoch.
    pub fn now(&self) -> i64 {
        match self {
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or_default(),
            Clock::Fixed(t) => *t,
        }
    }
}

/// `YYYYMMDDTHHMMSSZ`, for names that sort by time.
pub fn compact_utc(epoch_seconds: i64) -> String {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::from_unix_timestamp(epoch_seconds)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| epoch_seconds.to_string())
}

/// RFC 3339 (`2026-11-26T07:00:00Z`, any offset, fractions allowed) to seconds since the
/// epoch: what operators, the state machines and AWS's events write.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// Seconds since the epoch as RFC 3339 in UTC (`2026-11-26T07:00:00Z`).
pub fn rfc3339(epoch_seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(epoch_seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| compact_utc(epoch_seconds))
}

/// Reads back what [`compact_utc`] writes.
pub fn parse_compact_utc(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(text, &format)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}
