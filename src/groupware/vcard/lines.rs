//! The text level of vCard data, below calcard: bytes to UTF-8 (repairing a fold that split
//! a multi-byte character), physical lines with their numbers, the cards of a file, content
//! lines (a line with its folded continuations) and the raw name/parameter/value split of a
//! content line. calcard parses values but reports no positions; this module finds the line
//! boundaries, so that errors can name a line and the stored text keeps the client's folding.

use super::{Repair, VcardError};
use std::ops::Range;

const BOM: &str = "\u{feff}";

/// The input as text, and what was repaired to get it.
pub(super) fn decode(bytes: &[u8], repairs: &mut Vec<Repair>) -> Result<String, VcardError> {
    let bytes = match bytes.strip_prefix(BOM.as_bytes()) {
        Some(rest) => {
            repairs.push(Repair::ByteOrderMark);
            rest
        }
        None => bytes,
    };
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_string());
    }
    let (fixed, first) = move_split_folds(bytes);
    match String::from_utf8(fixed) {
        Ok(text) => {
            if let Some(line) = first {
                repairs.push(Repair::SplitUtf8Fold { line });
            }
            Ok(text)
        }
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            Err(VcardError::invalid(
                Some(line_at(e.as_bytes(), offset)),
                "not UTF-8 (vCard 3.0 and 4.0 are UTF-8; convert other character sets first)",
            ))
        }
    }
}

/// Moves the start of a multi-byte character that a fold split (`\xC3` CRLF SPACE `\xA9`) to
/// after the fold, so the fold lies between characters: the line count stays the same. Returns
/// the bytes and the first line repaired.
fn move_split_folds(bytes: &[u8]) -> (Vec<u8>, Option<usize>) {
    let mut out = Vec::with_capacity(bytes.len());
    let mut first = None;
    let mut line = 1;
    let mut i = 0;
    while i < bytes.len() {
        let fold_len = fold_at(bytes, i);
        let continues = fold_len > 0 && bytes.get(i + fold_len).is_some_and(|b| is_cont(*b));
        let tail = incomplete_tail(&out);
        if continues && tail > 0 {
            let moved: Vec<u8> = out.split_off(out.len() - tail);
            out.extend_from_slice(&bytes[i..i + fold_len]);
            out.extend_from_slice(&moved);
            first.get_or_insert(line + 1);
            line += 1;
            i += fold_len;
            continue;
        }
        if break_len(bytes, i) > 0 {
            line += 1;
            let len = break_len(bytes, i);
            out.extend_from_slice(&bytes[i..i + len]);
            i += len;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    (out, first)
}

fn is_cont(byte: u8) -> bool {
    (0x80..0xC0).contains(&byte)
}

/// How many bytes at the end of `out` start a UTF-8 character that is not complete.
fn incomplete_tail(out: &[u8]) -> usize {
    for back in 1..=3.min(out.len()) {
        let byte = out[out.len() - back];
        if is_cont(byte) {
            continue;
        }
        let need = match byte {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => return 0,
        };
        return if back < need { back } else { 0 };
    }
    0
}

/// The length of the line break at `i` (a run of CR with an optional LF, or a LF), or 0.
fn break_len(bytes: &[u8], i: usize) -> usize {
    match bytes.get(i) {
        Some(b'\n') => 1,
        Some(b'\r') => {
            let crs = bytes[i..].iter().take_while(|b| **b == b'\r').count();
            if bytes.get(i + crs) == Some(&b'\n') {
                crs + 1
            } else {
                crs
            }
        }
        _ => 0,
    }
}

/// The length of a fold (line break and one space or tab) at `i`, or 0.
fn fold_at(bytes: &[u8], i: usize) -> usize {
    let len = break_len(bytes, i);
    match bytes.get(i + len) {
        Some(b' ' | b'\t') if len > 0 => len + 1,
        _ => 0,
    }
}

/// The byte ranges of the lines of `bytes`, without their line breaks. A line break is a LF,
/// or a run of CRs with an optional LF (so the CR CR LF some iOS versions write is one).
pub(super) fn line_spans(bytes: &[u8]) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let len = break_len(bytes, i);
        if len == 0 {
            i += 1;
            continue;
        }
        spans.push(start..i);
        i += len;
        start = i;
    }
    if start < bytes.len() {
        spans.push(start..bytes.len());
    }
    spans
}

/// The 1-based number of the line holding byte `offset`.
fn line_at(bytes: &[u8], offset: usize) -> usize {
    line_spans(bytes)
        .iter()
        .position(|span| offset <= span.end)
        .map_or(1, |index| index + 1)
}

/// Physical lines as (number, text).
pub(super) fn physical(text: &str) -> Vec<(usize, &str)> {
    line_spans(text.as_bytes())
        .into_iter()
        .enumerate()
        .map(|(index, span)| (index + 1, text.get(span).unwrap_or("")))
        .collect()
}

fn is_marker(line: &[u8], marker: &[u8]) -> bool {
    let line = line.strip_prefix(BOM.as_bytes()).unwrap_or(line);
    line.trim_ascii_end().eq_ignore_ascii_case(marker)
}

/// The cards in a sequence of physical lines: ranges of line indexes from `BEGIN:VCARD` to
/// its `END:VCARD`, nested cards (vCard 2.1 AGENT) inside. Content outside any card and cards
/// that never end are errors; the scan goes on after them.
pub(super) fn scan_cards(lines: &[(usize, &[u8])]) -> Vec<Result<Range<usize>, VcardError>> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (index, (number, line)) in lines.iter().enumerate() {
        if is_marker(line, b"BEGIN:VCARD") {
            if depth == 0 {
                start = index;
            }
            depth += 1;
        } else if is_marker(line, b"END:VCARD") {
            match depth {
                0 => out.push(Err(VcardError::invalid(
                    Some(*number),
                    "END:VCARD without BEGIN:VCARD",
                ))),
                1 => out.push(Ok(start..index + 1)),
                _ => {}
            }
            depth = depth.saturating_sub(1);
        } else if depth == 0 && !is_marker(line, b"") {
            out.push(Err(VcardError::invalid(
                Some(*number),
                "content outside BEGIN:VCARD ... END:VCARD",
            )));
        }
    }
    if depth > 0 {
        let number = lines.get(start).map(|(number, _)| *number);
        out.push(Err(VcardError::invalid(
            number,
            "BEGIN:VCARD without END:VCARD",
        )));
    }
    out
}

/// One content line: its first physical line number, its physical lines as written (the
/// first, then the continuations with their leading space or tab) and the unfolded text.
#[derive(Debug, Clone)]
pub(super) struct ContentLine<'a> {
    pub line: usize,
    pub physical: Vec<&'a str>,
    pub unfolded: String,
}

/// Content lines from physical lines; empty lines are left out.
pub(super) fn content_lines<'a>(lines: &[(usize, &'a str)]) -> Vec<ContentLine<'a>> {
    let mut out: Vec<ContentLine<'a>> = Vec::new();
    for (number, line) in lines {
        if line.is_empty() {
            continue;
        }
        let rest = line.strip_prefix([' ', '\t']);
        match (rest, out.last_mut()) {
            (Some(rest), Some(last)) => {
                last.physical.push(line);
                last.unfolded.push_str(rest);
            }
            _ => out.push(ContentLine {
                line: *number,
                physical: vec![line],
                unfolded: (*line).to_string(),
            }),
        }
    }
    out
}

/// The content lines of a text.
pub(super) fn content_lines_of(text: &str) -> Vec<ContentLine<'_>> {
    content_lines(&physical(text))
}

/// Joins content lines as written, CRLF after each physical line.
pub(super) fn join(lines: &[ContentLine<'_>]) -> String {
    let mut out = String::new();
    for line in lines {
        for physical in &line.physical {
            out.push_str(physical);
            out.push_str("\r\n");
        }
    }
    out
}

/// A content line split into its parts, values still escaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Parts<'a> {
    pub group: Option<&'a str>,
    pub name: &'a str,
    /// (name, value): `None` for a parameter without `=` (vCard 2.1 `;PREF`, Apple `;BASE64`).
    pub params: Vec<(&'a str, Option<&'a str>)>,
    pub value: &'a str,
}

impl Parts<'_> {
    /// The parameter's values (several for `TYPE=a,b` or repeated parameters), unquoted.
    pub fn param_values(&self, name: &str) -> Vec<&str> {
        self.params
            .iter()
            .filter(|(param, _)| param.eq_ignore_ascii_case(name))
            .filter_map(|(_, value)| *value)
            .flat_map(|value| value.trim_matches('"').split(','))
            .collect()
    }

    /// Whether a parameter appears without a value.
    pub fn has_bare(&self, name: &str) -> bool {
        self.params
            .iter()
            .any(|(param, value)| value.is_none() && param.eq_ignore_ascii_case(name))
    }

    /// Whether the value is base64 by an ENCODING parameter (`b`, `BASE64`, a bare `BASE64`).
    pub fn is_base64(&self) -> bool {
        self.has_bare("BASE64")
            || self.param_values("ENCODING").iter().any(|value| {
                value.eq_ignore_ascii_case("b") || value.eq_ignore_ascii_case("base64")
            })
    }
}

/// A property or group name: letters, digits and `-` (RFC 6350 §3.3), and `_`, which some
/// writers put in x-names and calcard reads.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Splits `group.NAME;param=value;...:value`. The error says what is wrong.
pub(super) fn split(line: &str) -> Result<Parts<'_>, &'static str> {
    let head_end = line.find([';', ':']).ok_or("no ':' in the content line")?;
    let head = &line[..head_end];
    let (group, name) = match head.rsplit_once('.') {
        Some((group, name)) => (Some(group), name),
        None => (None, head),
    };
    if !valid_name(name) || group.is_some_and(|group| !valid_name(group)) {
        return Err("the property name has characters other than letters, digits, '-' and '_'");
    }
    let mut params = Vec::new();
    let mut rest = &line[head_end..];
    while let Some(after) = rest.strip_prefix(';') {
        let (param, tail) = split_param(after).ok_or("no ':' after the parameters")?;
        params.push(param);
        rest = tail;
    }
    let value = rest
        .strip_prefix(':')
        .ok_or("no ':' after the parameters")?;
    Ok(Parts {
        group,
        name,
        params,
        value,
    })
}

/// One `name[=value]` and what follows it (starting with `;` or `:`).
fn split_param(text: &str) -> Option<((&str, Option<&str>), &str)> {
    let name_end = text.find(['=', ';', ':'])?;
    let name = &text[..name_end];
    if !text[name_end..].starts_with('=') {
        return Some(((name, None), &text[name_end..]));
    }
    let value_start = name_end + 1;
    let mut quoted = false;
    for (offset, ch) in text[value_start..].char_indices() {
        match ch {
            '"' => quoted = !quoted,
            ';' | ':' if !quoted => {
                let end = value_start + offset;
                return Some(((name, Some(&text[value_start..end])), &text[end..]));
            }
            _ => {}
        }
    }
    None
}

/// The VERSION value of a card's content lines (the first VERSION line, as written).
pub(super) fn version_value<'a>(lines: &'a [ContentLine<'_>]) -> Option<&'a str> {
    lines.iter().find_map(|line| {
        let parts = split(&line.unfolded).ok()?;
        (parts.group.is_none() && parts.name.eq_ignore_ascii_case("VERSION"))
            .then(|| parts.value.trim())
    })
}
