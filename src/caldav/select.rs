//! `calendar-data` with component and property selection (RFC 4791 §9.6.1): a client may
//! ask for some components and properties of each object only. Works on content lines,
//! so what is returned is byte for byte what was stored, minus what was not asked for.

use crate::dav::xml::Element;

use super::CALDAV;

/// What to keep of a component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub name: String,
    pub all_props: bool,
    /// (property name, value left out).
    pub props: Vec<(String, bool)>,
    pub all_comps: bool,
    pub comps: Vec<Selection>,
}

/// The selection a `calendar-data` element asks for, if it names a component.
pub fn parse(calendar_data: &Element) -> Option<Selection> {
    calendar_data.child(CALDAV, "comp").map(parse_comp)
}

fn parse_comp(el: &Element) -> Selection {
    Selection {
        name: el.attr("", "name").unwrap_or("").to_ascii_uppercase(),
        all_props: el.child(CALDAV, "allprop").is_some(),
        props: el
            .elements()
            .filter(|e| e.name.is(CALDAV, "prop"))
            .map(|p| {
                (
                    p.attr("", "name").unwrap_or("").to_ascii_uppercase(),
                    p.attr("", "novalue")
                        .is_some_and(|v| v.eq_ignore_ascii_case("yes")),
                )
            })
            .collect(),
        all_comps: el.child(CALDAV, "allcomp").is_some(),
        comps: el
            .elements()
            .filter(|e| e.name.is(CALDAV, "comp"))
            .map(parse_comp)
            .collect(),
    }
}

/// One component: its content lines (each with its folded continuations) and children.
struct Node<'a> {
    name: String,
    begin: &'a str,
    end: &'a str,
    props: Vec<Vec<&'a str>>,
    children: Vec<Node<'a>>,
}

/// The property name of a content line (`DTSTART;TZID=…:…` -> `DTSTART`).
fn prop_name(line: &str) -> String {
    line.split([';', ':'])
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

fn tree(text: &str) -> Option<Node<'_>> {
    let mut stack: Vec<Node<'_>> = Vec::new();
    let mut root = None;
    for line in text
        .split('\n')
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.is_empty())
    {
        if line.starts_with([' ', '\t']) {
            let node = stack.last_mut()?;
            node.props.last_mut()?.push(line);
            continue;
        }
        let upper = line.to_ascii_uppercase();
        if let Some(name) = upper.strip_prefix("BEGIN:") {
            stack.push(Node {
                name: name.to_string(),
                begin: line,
                end: "",
                props: Vec::new(),
                children: Vec::new(),
            });
        } else if upper.starts_with("END:") {
            let mut node = stack.pop()?;
            node.end = line;
            match stack.last_mut() {
                Some(parent) => parent.children.push(node),
                None => root = Some(node),
            }
        } else {
            stack.last_mut()?.props.push(vec![line]);
        }
    }
    root
}

fn emit(node: &Node<'_>, sel: Option<&Selection>, out: &mut String) {
    out.push_str(node.begin);
    out.push_str("\r\n");
    for prop in &node.props {
        let name = prop_name(prop[0]);
        let keep = match sel {
            None => Some(false),
            Some(s) if s.all_props => Some(false),
            Some(s) => s
                .props
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, novalue)| *novalue),
        };
        match keep {
            None => {}
            Some(false) => {
                for l in prop {
                    out.push_str(l);
                    out.push_str("\r\n");
                }
            }
            // The name and parameters only (§9.6.4 novalue).
            Some(true) => {
                let head = prop.concat();
                let mut in_quotes = false;
                let cut = head.char_indices().find(|(_, c)| {
                    if *c == '"' {
                        in_quotes = !in_quotes;
                    }
                    *c == ':' && !in_quotes
                });
                out.push_str(&head[..cut.map(|(i, _)| i + 1).unwrap_or(head.len())]);
                out.push_str("\r\n");
            }
        }
    }
    for child in &node.children {
        match sel {
            None => emit(child, None, out),
            Some(s) if s.all_comps => emit(child, None, out),
            Some(s) => {
                if let Some(cs) = s.comps.iter().find(|c| c.name == child.name) {
                    emit(child, Some(cs), out);
                }
            }
        }
    }
    out.push_str(node.end);
    out.push_str("\r\n");
}

/// The object with only the selected components and properties; None when it cannot be
/// read as a component tree or its top component is not the one selected.
pub fn apply(text: &str, sel: &Selection) -> Option<String> {
    let root = tree(text)?;
    if root.name != sel.name {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    emit(&root, Some(sel), &mut out);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//x//EN\r\nBEGIN:VEVENT\r\nUID:1\r\nSUMMARY:A long\r\n  summary\r\nDESCRIPTION;LANGUAGE=en:secret: stuff\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn keeps_only_what_was_asked() {
        let xml = br#"<C:calendar-data xmlns:C="urn:ietf:params:xml:ns:caldav"><C:comp name="VCALENDAR"><C:prop name="VERSION"/><C:comp name="VEVENT"><C:prop name="SUMMARY"/><C:prop name="UID"/><C:prop name="DESCRIPTION" novalue="yes"/></C:comp></C:comp></C:calendar-data>"#;
        let el = crate::dav::xml::parse(xml).unwrap();
        let sel = parse(&el).unwrap();
        let out = apply(EVENT, &sel).unwrap();
        assert_eq!(
            out,
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1\r\nSUMMARY:A long\r\n  summary\r\nDESCRIPTION;LANGUAGE=en:\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        );
    }

    #[test]
    fn allprop_and_allcomp_keep_everything() {
        let xml = br#"<C:calendar-data xmlns:C="urn:ietf:params:xml:ns:caldav"><C:comp name="VCALENDAR"><C:allprop/><C:allcomp/></C:comp></C:calendar-data>"#;
        let sel = parse(&crate::dav::xml::parse(xml).unwrap()).unwrap();
        assert_eq!(apply(EVENT, &sel).unwrap(), EVENT);
        assert!(apply("not ical", &sel).is_none());
    }
}
