//! What a calendar share link shows (the `public` and `private` kinds; `freebusy` is a
//! VFREEBUSY from `freebusy`). Works on content lines, so what is shown is byte for byte
//! what was stored, minus what the link may not show:
//!
//! - cancelled components (`STATUS:CANCELLED`) and those the owner declined (an ATTENDEE
//!   with one of the owner's addresses and `PARTSTAT=DECLINED`) are left out; a left-out
//!   override of a recurring event becomes an EXDATE of its master, so the instance does
//!   not come back from the rule;
//! - alarms (VALARM) are the owner's reminders: never shown;
//! - in a public feed, `CLASS:PRIVATE` and `CLASS:CONFIDENTIAL` components become busy
//!   blocks: only their identity and timing (UID, DTSTAMP, DTSTART, DTEND, DURATION, DUE,
//!   RRULE, RDATE, EXDATE, RECURRENCE-ID, SEQUENCE, TRANSP, STATUS, CLASS) remain, with
//!   `SUMMARY:Busy`; no summary, description, location, attendees, organizer, URL or
//!   attachments.

/// The kind of calendar feed a share link serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Public,
    Private,
}

/// Properties a busy block keeps.
const BUSY_KEEPS: &[&str] = &[
    "UID",
    "DTSTAMP",
    "DTSTART",
    "DTEND",
    "DURATION",
    "DUE",
    "RRULE",
    "RDATE",
    "EXDATE",
    "RECURRENCE-ID",
    "SEQUENCE",
    "TRANSP",
    "STATUS",
    "CLASS",
];

/// One content line with its folded continuations (a feed renders every object of a
/// calendar through here: nothing is allocated for a line that is only copied).
struct Prop<'a> {
    first: &'a str,
    folded: Vec<&'a str>,
}

impl Prop<'_> {
    fn lines(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.first).chain(self.folded.iter().copied())
    }

    fn unfolded(&self) -> String {
        let mut s = self.first.to_string();
        for l in &self.folded {
            s.push_str(l.get(1..).unwrap_or(""));
        }
        s
    }

    /// Whether the property is named `name` (upper-case), compared in place.
    fn is(&self, name: &str) -> bool {
        let end = self.first.find([';', ':']).unwrap_or(self.first.len());
        self.first[..end].eq_ignore_ascii_case(name)
    }

    /// (parameters part, value) of the unfolded line; the value starts after the first
    /// ':' outside a quoted parameter value.
    fn split(&self) -> (String, String) {
        let line = self.unfolded();
        let mut quoted = false;
        for (i, c) in line.char_indices() {
            match c {
                '"' => quoted = !quoted,
                ':' if !quoted => return (line[..i].to_string(), line[i + 1..].to_string()),
                _ => {}
            }
        }
        (line, String::new())
    }

    fn value(&self) -> String {
        self.split().1
    }

    fn param(&self, name: &str) -> Option<String> {
        let (head, _) = self.split();
        head.split(';').skip(1).find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().trim_matches('"').to_string())
        })
    }
}

/// A component: its BEGIN and END lines, properties and children, in order.
struct Comp<'a> {
    name: String,
    begin: &'a str,
    end: &'a str,
    props: Vec<Prop<'a>>,
    children: Vec<Comp<'a>>,
}

impl Comp<'_> {
    fn first(&self, name: &str) -> Option<&Prop<'_>> {
        self.props.iter().find(|p| p.is(name))
    }

    fn write(&self, out: &mut String) {
        out.push_str(self.begin);
        out.push_str("\r\n");
        for p in &self.props {
            for l in p.lines() {
                out.push_str(l);
                out.push_str("\r\n");
            }
        }
        for c in &self.children {
            c.write(out);
        }
        out.push_str(self.end);
        out.push_str("\r\n");
    }
}

/// Parses content lines into the VCALENDAR component; None when the text is not one.
fn parse(text: &str) -> Option<Comp<'_>> {
    let mut stack: Vec<Comp<'_>> = Vec::new();
    let mut root = None;
    for line in super::lines(text) {
        if line.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            let top = stack.last_mut()?;
            top.props.last_mut()?.folded.push(line);
            continue;
        }
        let named = |prefix: &str| {
            line.as_bytes()
                .get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
        };
        if named("BEGIN:") {
            stack.push(Comp {
                name: line[6..].trim().to_ascii_uppercase(),
                begin: line,
                end: "",
                props: Vec::new(),
                children: Vec::new(),
            });
        } else if named("END:") {
            let mut done = stack.pop()?;
            done.end = line;
            match stack.last_mut() {
                Some(parent) => parent.children.push(done),
                None => root = Some(done),
            }
        } else {
            stack.last_mut()?.props.push(Prop {
                first: line,
                folded: Vec::new(),
            });
        }
    }
    root.filter(|r| r.name == "VCALENDAR")
}

/// Whether the owner (any of `owner`, lower-case addresses) declined the component.
fn declined_by(comp: &Comp<'_>, owner: &[String]) -> bool {
    comp.props.iter().filter(|p| p.is("ATTENDEE")).any(|p| {
        let address = p.value().to_ascii_lowercase();
        let address = address.strip_prefix("mailto:").unwrap_or(&address);
        owner.iter().any(|o| o == address)
            && p.param("PARTSTAT")
                .is_some_and(|s| s.eq_ignore_ascii_case("DECLINED"))
    })
}

fn is_main(name: &str) -> bool {
    matches!(name, "VEVENT" | "VTODO" | "VJOURNAL")
}

/// One stored object as the feed shows it; None when nothing of it is shown.
pub fn filter_object(text: &str, visibility: Visibility, owner: &[String]) -> Option<String> {
    let mut root = parse(text)?;
    let mut dropped_overrides: Vec<(String, String)> = Vec::new();
    let mut kept = Vec::new();
    for mut c in std::mem::take(&mut root.children) {
        if !is_main(&c.name) {
            kept.push((c, false));
            continue;
        }
        let cancelled = c
            .first("STATUS")
            .is_some_and(|s| s.value().trim().eq_ignore_ascii_case("CANCELLED"));
        if cancelled || declined_by(&c, owner) {
            if let Some(rid) = c.first("RECURRENCE-ID") {
                let uid = c.first("UID").map(|u| u.value()).unwrap_or_default();
                dropped_overrides.push((uid, rid.unfolded()));
            }
            continue;
        }
        c.children.retain(|child| child.name != "VALARM");
        let class = c
            .first("CLASS")
            .map(|p| p.value().trim().to_ascii_uppercase())
            .unwrap_or_default();
        let busy =
            visibility == Visibility::Public && (class == "PRIVATE" || class == "CONFIDENTIAL");
        if busy {
            c.props.retain(|p| BUSY_KEEPS.iter().any(|k| p.is(k)));
            c.children.clear();
        }
        kept.push((c, busy));
    }
    if !kept.iter().any(|(c, _)| is_main(&c.name)) {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 64);
    out.push_str(root.begin);
    out.push_str("\r\n");
    for p in &root.props {
        for l in p.lines() {
            out.push_str(l);
            out.push_str("\r\n");
        }
    }
    for (c, busy) in &kept {
        let is_master = is_main(&c.name) && c.first("RECURRENCE-ID").is_none();
        let mut body = String::with_capacity(text.len());
        c.write(&mut body);
        if *busy {
            // A busy block: say so, without saying what.
            body = body.replacen("\r\n", "\r\nSUMMARY:Busy\r\n", 1);
        }
        if is_master {
            let uid = c.first("UID").map(|u| u.value()).unwrap_or_default();
            let exdates: String = dropped_overrides
                .iter()
                .filter(|(u, _)| *u == uid)
                .map(|(_, rid)| {
                    let rest = &rid["RECURRENCE-ID".len().min(rid.len())..];
                    let rest = rest
                        .split(';')
                        .filter(|p| !p.to_ascii_uppercase().starts_with("RANGE="))
                        .collect::<Vec<_>>()
                        .join(";");
                    format!("EXDATE{rest}\r\n")
                })
                .collect();
            if !exdates.is_empty() {
                body = body.replacen("\r\n", &format!("\r\n{exdates}"), 1);
            }
        }
        out.push_str(&body);
    }
    out.push_str(root.end);
    out.push_str("\r\n");
    Some(out)
}

/// A feed (one VCALENDAR holding many events, as published calendars are) cut into
/// calendar objects: the components of each UID together, with the VTIMEZONEs they name.
/// Components without UID get one made from their content. Errors when the text is not
/// one VCALENDAR.
pub fn split_calendar(text: &str) -> Result<Vec<(String, String)>, String> {
    let root = parse(text).ok_or("not an iCalendar feed (no VCALENDAR)")?;
    let mut zones: Vec<(String, &Comp<'_>)> = Vec::new();
    let mut groups: Vec<(String, Vec<&Comp<'_>>)> = Vec::new();
    for c in &root.children {
        if c.name == "VTIMEZONE" {
            let tzid = c.first("TZID").map(|p| p.value()).unwrap_or_default();
            zones.push((tzid, c));
            continue;
        }
        if !is_main(&c.name) {
            continue;
        }
        let uid = match c.first("UID").map(|p| p.value()) {
            Some(u) if !u.trim().is_empty() => u.trim().to_string(),
            _ => {
                let mut body = String::new();
                c.write(&mut body);
                let digest = <sha2::Sha256 as sha2::Digest>::digest(body.as_bytes());
                format!("domus-{}", hex::encode(&digest[..12]))
            }
        };
        match groups.iter_mut().find(|(u, _)| *u == uid) {
            Some((_, list)) => list.push(c),
            None => groups.push((uid, vec![c])),
        }
    }
    let mut out = Vec::with_capacity(groups.len());
    for (uid, comps) in groups {
        let mut body =
            String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Domus//Subscription//EN\r\n");
        let mut parts = String::new();
        for c in &comps {
            c.write(&mut parts);
        }
        for (tzid, zone) in &zones {
            if !tzid.is_empty() && parts.contains(&format!("TZID={tzid}")) {
                zone.write(&mut body);
            }
        }
        if comps.iter().any(|c| c.first("UID").is_none()) {
            // Give a UID-less component the one it is filed under.
            parts = parts.replacen("\r\n", &format!("\r\nUID:{uid}\r\n"), 1);
        }
        body.push_str(&parts);
        body.push_str("END:VCALENDAR\r\n");
        out.push((uid, body));
    }
    Ok(out)
}

/// The refresh interval a feed asks for (RFC 7986 REFRESH-INTERVAL, else X-PUBLISHED-TTL),
/// in seconds.
pub fn refresh_interval(text: &str) -> Option<i64> {
    let root = parse(text)?;
    let prop = root
        .first("REFRESH-INTERVAL")
        .or_else(|| root.first("X-PUBLISHED-TTL"))?;
    duration_secs(prop.value().trim())
}

/// Seconds of a simple RFC 5545 duration (`PT1H`, `P1D`, `PT30M`, `P1W`).
fn duration_secs(d: &str) -> Option<i64> {
    let d = d.strip_prefix('+').unwrap_or(d);
    let d = d.strip_prefix('P')?;
    let (mut total, mut number, mut in_time) = (0i64, 0i64, false);
    for c in d.chars() {
        match c {
            'T' => in_time = true,
            '0'..='9' => {
                number = number
                    .checked_mul(10)?
                    .checked_add(i64::from(c as u8 - b'0'))?
            }
            'W' => (total, number) = (total + number * 7 * 86_400, 0),
            'D' => (total, number) = (total + number * 86_400, 0),
            'H' if in_time => (total, number) = (total + number * 3600, 0),
            'M' if in_time => (total, number) = (total + number * 60, 0),
            'S' if in_time => (total, number) = (total + number, 0),
            _ => return None,
        }
    }
    (total > 0).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(body: &str) -> String {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//T//T//EN\r\n{body}END:VCALENDAR\r\n")
    }

    const OWNER: &str = "alice@a.test";

    fn owner() -> Vec<String> {
        vec![OWNER.to_string()]
    }

    #[test]
    fn private_events_become_busy_blocks_in_public_feeds_only() {
        let text = object(
            "BEGIN:VEVENT\r\nUID:p1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260301T100000Z\r\nDTEND:20260301T110000Z\r\nSUMMARY:Doctor\r\nDESCRIPTION:Secret\r\n stuff\r\nLOCATION:Clinic\r\nCLASS:PRIVATE\r\nATTENDEE;CN=Bob:mailto:bob@a.test\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\nEND:VEVENT\r\n",
        );
        let public = filter_object(&text, Visibility::Public, &owner()).unwrap();
        for gone in ["Doctor", "Secret", "Clinic", "bob@", "VALARM"] {
            assert!(!public.contains(gone), "{gone} in {public}");
        }
        for kept in [
            "UID:p1",
            "DTSTART:20260301T100000Z",
            "DTEND:20260301T110000Z",
            "SUMMARY:Busy",
            "CLASS:PRIVATE",
        ] {
            assert!(public.contains(kept), "{kept} missing in {public}");
        }
        let private = filter_object(&text, Visibility::Private, &owner()).unwrap();
        assert!(
            private.contains("SUMMARY:Doctor") && private.contains("DESCRIPTION:Secret\r\n stuff")
        );
        assert!(!private.contains("VALARM"), "{private}");
    }

    #[test]
    fn public_events_show_in_full_and_cancelled_or_declined_ones_not_at_all() {
        let public = object(
            "BEGIN:VEVENT\r\nUID:o1\r\nDTSTART:20260301T100000Z\r\nSUMMARY:Open day\r\nEND:VEVENT\r\n",
        );
        let shown = filter_object(&public, Visibility::Public, &owner()).unwrap();
        assert!(shown.contains("SUMMARY:Open day"));
        let cancelled = object(
            "BEGIN:VEVENT\r\nUID:c1\r\nDTSTART:20260301T100000Z\r\nSTATUS:CANCELLED\r\nEND:VEVENT\r\n",
        );
        assert_eq!(
            filter_object(&cancelled, Visibility::Private, &owner()),
            None
        );
        let declined = object(
            "BEGIN:VEVENT\r\nUID:d1\r\nDTSTART:20260301T100000Z\r\nATTENDEE;PARTSTAT=DECLINED;CN=\"Alice: me\":MAILTO:Alice@A.test\r\nEND:VEVENT\r\n",
        );
        assert_eq!(
            filter_object(&declined, Visibility::Private, &owner()),
            None
        );
        let someone_else_declined = declined.replace("Alice@A.test", "bob@a.test");
        assert!(filter_object(&someone_else_declined, Visibility::Private, &owner()).is_some());
    }

    #[test]
    fn a_cancelled_override_becomes_an_exdate_of_its_master() {
        let text = object(
            "BEGIN:VEVENT\r\nUID:r1\r\nDTSTART;TZID=Europe/Berlin:20260302T090000\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\nSUMMARY:Standup\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:r1\r\nRECURRENCE-ID;TZID=Europe/Berlin:20260309T090000\r\nDTSTART;TZID=Europe/Berlin:20260309T090000\r\nSTATUS:CANCELLED\r\nEND:VEVENT\r\n",
        );
        let shown = filter_object(&text, Visibility::Private, &owner()).unwrap();
        assert_eq!(shown.matches("BEGIN:VEVENT").count(), 1, "{shown}");
        assert!(
            shown.contains("EXDATE;TZID=Europe/Berlin:20260309T090000\r\n"),
            "{shown}"
        );
    }

    #[test]
    fn feeds_split_into_objects_by_uid_with_their_zones() {
        let feed = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//X//X//EN\r\nREFRESH-INTERVAL;VALUE=DURATION:PT2H\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Europe/Berlin:20260301T100000\r\nRRULE:FREQ=DAILY;COUNT=3\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\nDTSTART:20260301T100000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID;TZID=Europe/Berlin:20260302T100000\r\nDTSTART;TZID=Europe/Berlin:20260302T110000\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART:20260305T100000Z\r\nSUMMARY:no uid\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let objects = split_calendar(feed).unwrap();
        assert_eq!(objects.len(), 3);
        let (uid, a) = &objects[0];
        assert_eq!(uid, "a");
        assert_eq!(a.matches("BEGIN:VEVENT").count(), 2);
        assert!(a.contains("BEGIN:VTIMEZONE"));
        assert!(!objects[1].1.contains("VTIMEZONE"));
        assert!(
            objects[2].0.starts_with("domus-")
                && objects[2].1.contains(&format!("UID:{}", objects[2].0))
        );
        assert_eq!(refresh_interval(feed), Some(7200));
        assert_eq!(duration_secs("P1DT12H"), Some(129_600));
        assert_eq!(duration_secs("soon"), None);
        assert!(split_calendar("BEGIN:VCARD\r\nEND:VCARD\r\n").is_err());
    }

    #[test]
    fn garbage_shows_nothing() {
        assert_eq!(
            filter_object("not a calendar", Visibility::Public, &owner()),
            None
        );
        assert_eq!(
            filter_object("END:VEVENT\r\n", Visibility::Public, &owner()),
            None
        );
        assert_eq!(
            filter_object("BEGIN:VCALENDAR\r\n", Visibility::Public, &owner()),
            None
        );
    }
}
