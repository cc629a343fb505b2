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

/// The lines of `text` (split at `\n`, a trailing `\r` removed), found with a SIMD byte
/// search: feeds and whole-calendar GETs walk every line of every object.
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    memchr::memchr_iter(b'\n', text.as_bytes())
        .chain(std::iter::once(text.len()))
        .filter_map(move |end| {
            if start > text.len() {
                return None;
            }
            let line = &text[start..end];
            start = end + 1;
            Some(line.strip_suffix('\r').unwrap_or(line))
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_split_like_str_lines_with_crlf_or_lf() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\nEND:VCALENDAR\r\n";
        let got: Vec<&str> = super::lines(text).collect();
        assert_eq!(got, ["BEGIN:VCALENDAR", "VERSION:2.0", "END:VCALENDAR", ""]);
        assert_eq!(super::lines("").collect::<Vec<_>>(), [""]);
        assert_eq!(super::lines("a").collect::<Vec<_>>(), ["a"]);
    }
}
