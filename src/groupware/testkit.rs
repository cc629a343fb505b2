//! Helpers shared by the groupware tests: times, limits with a fixed horizon, and
//! iCalendar objects from their components.

use chrono::DateTime;

use super::filter::TimeRange;
use super::ical::{FloatingZone, IngestLimits};

/// Unix seconds of an RFC 3339 time.
pub fn t(rfc3339: &str) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap_or_else(|e| panic!("{rfc3339}: {e}"))
        .timestamp()
}

/// The default limits with a horizon that does not move with the clock.
pub fn limits() -> IngestLimits {
    IngestLimits {
        horizon_end: t("2035-01-01T00:00:00Z"),
        ..IngestLimits::default()
    }
}

/// A VCALENDAR around `body` (LF line ends turned into CRLF).
pub fn ics(body: &str) -> Vec<u8> {
    let body = body.trim().replace('\n', "\r\n");
    format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{body}\r\nEND:VCALENDAR\r\n")
        .into_bytes()
}

pub fn range(start: &str, end: &str) -> TimeRange {
    TimeRange {
        start: Some(t(start)),
        end: Some(t(end)),
    }
}

/// A floating zone by IANA name.
pub fn zone(name: &str) -> FloatingZone {
    FloatingZone::from_name(name).unwrap_or_else(|| panic!("unknown zone {name}"))
}
