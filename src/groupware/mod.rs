//! Calendar and contact semantics shared by CalDAV, CardDAV and JMAP: validation and the
//! index data of iCalendar objects (`ical`), calendar-query filters (`filter`), expansion of
//! recurrences for calendar-data (`expand`) and free-busy (`freebusy`). Pure code above the
//! store: no I/O, SQL or HTTP, so a calendar object written through one protocol is the same
//! object the others read.

pub mod cardfilter;
pub mod expand;
pub mod feed;
pub mod filter;
pub mod freebusy;
pub mod ical;
#[cfg(test)]
mod testkit;
pub mod vcard;
