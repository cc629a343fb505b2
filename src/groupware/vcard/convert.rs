//! Conversion between vCard 3.0 and 4.0, and from 2.1, on calcard's parsed properties; and
//! the writer that puts a card together from calcard's property writer. The rules are in
//! docs/vcard.md ("Conversion"); each function here is one row of that table.
//!
//! Cards are loaded one content line at a time (calcard parses each line inside a minimal
//! card), so that this module can overrule calcard where it loses data: calcard turns base64
//! data that happens to be valid UTF-8 (a small KEY, say) into text, and reads the 3.0 date
//! `--MM-DD` as a month only.

use super::lines::{self, ContentLine};
use super::{VcardError, VcardVersion};
use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use calcard::common::{Data, IanaParse, IanaString};
use calcard::vcard::{
    VCardEntry, VCardKind, VCardParameter, VCardParameterName as Param,
    VCardParameterValue as ParamValue, VCardProperty as Prop, VCardValue as Value, VCardValueType,
};
use calcard::{Entry, Parser};
use std::collections::{HashMap, HashSet};

/// Apple's group properties in vCard 3.0 (CalendarServer, macOS and iOS Contacts).
pub(super) const APPLE_KIND: &str = "X-ADDRESSBOOKSERVER-KIND";
pub(super) const APPLE_MEMBER: &str = "X-ADDRESSBOOKSERVER-MEMBER";
/// Apple's marker of a date without a year in 3.0: the year is this placeholder.
const OMIT_YEAR: &str = "X-APPLE-OMIT-YEAR";
const PLACEHOLDER_YEAR: u16 = 1604;

/// Base64 as vCard writers produce it: standard alphabet, padding optional, trailing bits
/// tolerated, whitespace (folding leftovers) ignored.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes a base64 value; None when it is not base64.
pub(super) fn decode_base64(value: &str) -> Option<Vec<u8>> {
    let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    BASE64.decode(compact).ok()
}

/// For a `data:` URI with `;base64`: Some(the decoded bytes, None when not base64). None for
/// any other value. Accepts the `\,` some writers (calcard among them) put before the data.
pub(super) fn data_uri_base64(value: &str) -> Option<Option<Vec<u8>>> {
    let head = value.get(..5)?;
    if !head.eq_ignore_ascii_case("data:") {
        return None;
    }
    let (meta, data) = value.split_once(',')?;
    let meta = meta.strip_suffix('\\').unwrap_or(meta);
    if !meta.to_ascii_lowercase().ends_with(";base64") {
        return None;
    }
    Some(decode_base64(data))
}

/// The properties of a stored card (3.0 or 4.0), without BEGIN, END and VERSION.
pub(super) fn load(content: &[ContentLine<'_>], version: VcardVersion) -> Vec<VCardEntry> {
    content
        .iter()
        .filter_map(|line| load_line(&line.unfolded, version))
        .collect()
}

fn load_line(line: &str, version: VcardVersion) -> Option<VCardEntry> {
    let parts = lines::split(line).ok()?;
    if ["BEGIN", "END", "VERSION"]
        .iter()
        .any(|frame| parts.name.eq_ignore_ascii_case(frame))
    {
        return None;
    }
    let source = match version {
        VcardVersion::V3 => fix_dashed_date(line, &parts),
        VcardVersion::V4 => None,
    };
    let mut entry = parse_line(source.as_deref().unwrap_or(line), version)?;
    if parts.is_base64()
        && let Some(data) = decode_base64(parts.value)
    {
        let content_type = media_type(&entry, &data);
        entry.values = vec![Value::Binary(Data { content_type, data })];
    }
    Some(entry)
}

/// calcard's parse of one content line.
fn parse_line(line: &str, version: VcardVersion) -> Option<VCardEntry> {
    let card = format!(
        "BEGIN:VCARD\r\nVERSION:{}\r\n{line}\r\nEND:VCARD\r\n",
        version.as_str()
    );
    let Entry::VCard(card) = Parser::new(&card).entry() else {
        return None;
    };
    card.entries
        .into_iter()
        .find(|e| !matches!(e.name, Prop::Begin | Prop::End | Prop::Version))
}

fn is_date_prop(name: &Prop) -> bool {
    matches!(name, Prop::Bday | Prop::Anniversary | Prop::Deathdate)
}

fn is_media_prop(name: &Prop) -> bool {
    matches!(name, Prop::Photo | Prop::Logo | Prop::Sound | Prop::Key)
}

/// 3.0 `BDAY:--04-15` (ISO 8601 without year) as `--0415`, which calcard reads.
fn fix_dashed_date(line: &str, parts: &lines::Parts<'_>) -> Option<String> {
    let name = Prop::parse(parts.name.as_bytes())?;
    let value = parts.value.trim();
    let bytes = value.as_bytes();
    let dashed = is_date_prop(&name)
        && bytes.len() == 7
        && value.starts_with("--")
        && bytes[4] == b'-'
        && [2, 3, 5, 6].iter().all(|i| bytes[*i].is_ascii_digit());
    if !dashed {
        return None;
    }
    let head = line.get(..line.len() - parts.value.len())?;
    Some(format!("{head}--{}{}", &value[2..4], &value[5..7]))
}

/// The media type of base64 data: what calcard found, else the TYPE or MEDIATYPE parameter,
/// else the data's signature.
fn media_type(entry: &VCardEntry, data: &[u8]) -> Option<String> {
    let found = entry.values.iter().find_map(|value| match value {
        Value::Binary(data) => data.content_type.clone(),
        _ => None,
    });
    found
        .or_else(|| {
            entry
                .params
                .iter()
                .find_map(|param| match (&param.name, &param.value) {
                    (Param::Mediatype, ParamValue::Text(media)) => Some(media.to_ascii_lowercase()),
                    (Param::Type, ParamValue::Text(token)) => media_from_token(entry, token),
                    _ => None,
                })
        })
        .or_else(|| sniff(data).map(str::to_string))
}

/// A 3.0 TYPE token of a PHOTO, LOGO, SOUND or KEY as a media type (`JPEG` -> `image/jpeg`).
fn media_from_token(entry: &VCardEntry, token: &str) -> Option<String> {
    let upper = token.to_ascii_uppercase();
    if token.contains('/') {
        return Some(token.to_ascii_lowercase());
    }
    let media = match (&entry.name, upper.as_str()) {
        (Prop::Photo | Prop::Logo, "JPG" | "JPEG") => "image/jpeg",
        (Prop::Photo | Prop::Logo, "TIF" | "TIFF") => "image/tiff",
        (Prop::Photo | Prop::Logo, "SVG") => "image/svg+xml",
        (Prop::Photo | Prop::Logo, "PNG" | "GIF" | "BMP" | "WEBP" | "HEIC" | "HEIF" | "AVIF") => {
            return Some(format!("image/{}", token.to_ascii_lowercase()));
        }
        (Prop::Sound, "WAV" | "WAVE") => "audio/wav",
        (Prop::Sound, "MP3" | "MPEG") => "audio/mpeg",
        (Prop::Sound, "AIF" | "AIFF") => "audio/aiff",
        (Prop::Sound, "PCM") => "audio/l16",
        (Prop::Sound, "OGG" | "AAC" | "BASIC" | "MP4") => {
            return Some(format!("audio/{}", token.to_ascii_lowercase()));
        }
        (Prop::Key, "PGP" | "GPG") => "application/pgp-keys",
        (Prop::Key, "X509") => "application/x-x509-user-cert",
        _ => return None,
    };
    Some(media.to_string())
}

/// The 3.0 TYPE token of a media type (`image/jpeg` -> `JPEG`).
fn token_from_media(media: &str) -> String {
    match media.to_ascii_lowercase().as_str() {
        "application/pgp-keys" => "PGP".to_string(),
        "application/x-x509-user-cert" => "X509".to_string(),
        "image/svg+xml" => "SVG".to_string(),
        other => other
            .rsplit('/')
            .next()
            .unwrap_or(other)
            .to_ascii_uppercase(),
    }
}

/// The media type of image data by its first bytes.
fn sniff(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if data.starts_with(&[0x89, b'P', b'N', b'G']) {
        Some("image/png")
    } else if data.starts_with(b"GIF8") {
        Some("image/gif")
    } else if data.len() > 12 && data.starts_with(b"RIFF") && &data[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

fn text_of(param: &VCardParameter) -> Option<&str> {
    param.value.as_text()
}

fn is_type(param: &VCardParameter, value: &str) -> bool {
    param.name == Param::Type && text_of(param).is_some_and(|t| t.eq_ignore_ascii_case(value))
}

fn is_other(name: &Prop, other: &str) -> bool {
    matches!(name, Prop::Other(name) if name.eq_ignore_ascii_case(other))
}

// --- 3.0 -> 4.0 -------------------------------------------------------------------------

/// A 3.0 card's properties as 4.0 properties.
pub(super) fn to_v4(entries: Vec<VCardEntry>) -> Vec<VCardEntry> {
    let has_kind = entries.iter().any(|e| e.name == Prop::Kind);
    entries
        .into_iter()
        .filter_map(|entry| entry_to_v4(entry, has_kind))
        .collect()
}

fn entry_to_v4(mut entry: VCardEntry, has_kind: bool) -> Option<VCardEntry> {
    if is_other(&entry.name, APPLE_KIND) {
        if has_kind {
            return None;
        }
        kind_to_v4(&mut entry);
    } else if is_other(&entry.name, APPLE_MEMBER) {
        entry.name = Prop::Member;
    }
    type_pref_to_pref(&mut entry);
    if entry.name == Prop::Email {
        entry.params.retain(|param| !is_type(param, "internet"));
    }
    if is_media_prop(&entry.name) {
        media_to_v4(&mut entry);
    }
    binary_to_data_uri(&mut entry);
    if is_date_prop(&entry.name) {
        omit_year_to_v4(&mut entry);
    }
    if entry.name == Prop::Geo {
        geo_to_v4(&mut entry);
    }
    Some(entry)
}

/// X-ADDRESSBOOKSERVER-KIND:group -> KIND:group.
fn kind_to_v4(entry: &mut VCardEntry) {
    entry.name = Prop::Kind;
    for value in &mut entry.values {
        if let Value::Text(text) = value {
            let lower = text.trim().to_ascii_lowercase();
            *value = match VCardKind::parse(lower.as_bytes()) {
                Some(kind) => Value::Kind(kind),
                None => Value::Text(lower),
            };
        }
    }
}

/// `TYPE=pref` -> `PREF=1`.
fn type_pref_to_pref(entry: &mut VCardEntry) {
    let before = entry.params.len();
    entry.params.retain(|param| !is_type(param, "pref"));
    if entry.params.len() != before && !entry.params.iter().any(|p| p.name == Param::Pref) {
        entry
            .params
            .push(VCardParameter::new(Param::Pref, ParamValue::Integer(1)));
    }
}

/// PHOTO, LOGO, SOUND, KEY: binary data loses its 3.0 TYPE token (the media type goes into
/// the `data:` URI); a URI's TYPE token becomes MEDIATYPE and `VALUE=uri` goes (the default).
fn media_to_v4(entry: &mut VCardEntry) {
    let binary = entry.values.iter().any(|v| matches!(v, Value::Binary(_)));
    if binary {
        entry
            .params
            .retain(|p| !matches!(p.name, Param::Type | Param::Value | Param::Mediatype));
        // `data:image/JPEG;…` (Thunderbird CardBook) keeps its TYPE in 3.0; a media type
        // calcard did not read is taken from the bytes.
        for value in &mut entry.values {
            if let Value::Binary(data) = value {
                data.content_type = match data.content_type.take() {
                    // calcard's 3.0 writer knows lower-case media types only.
                    Some(media) => Some(media.to_ascii_lowercase()),
                    None => sniff(&data.data).map(str::to_string),
                };
            }
        }
        return;
    }
    let media = entry
        .params
        .iter()
        .find_map(|param| match (&param.name, text_of(param)) {
            (Param::Type, Some(token)) => media_from_token(entry, token),
            _ => None,
        });
    if let Some(media) = media {
        let probe = entry.clone();
        entry.params.retain(|param| {
            !(param.name == Param::Type
                && text_of(param).is_some_and(|t| media_from_token(&probe, t).is_some()))
        });
        if !entry.params.iter().any(|p| p.name == Param::Mediatype) {
            entry.params.push(VCardParameter::new(
                Param::Mediatype,
                ParamValue::Text(media),
            ));
        }
    }
    entry.params.retain(|param| {
        !(param.name == Param::Value
            && matches!(param.value, ParamValue::ValueType(VCardValueType::Uri)))
    });
}

/// Binary values as `data:` URIs written as text: calcard's own 4.0 form escapes the comma
/// (`base64\,`), which RFC 6350 URIs do not have.
fn binary_to_data_uri(entry: &mut VCardEntry) {
    for value in &mut entry.values {
        if let Value::Binary(data) = value {
            let mut data = data.clone();
            if data.content_type.is_none() {
                data.content_type = sniff(&data.data).map(str::to_string);
            }
            *value = Value::Text(data.to_unwrapped_string());
        }
    }
}

/// Apple `BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-15` -> `BDAY:--0415`.
fn omit_year_to_v4(entry: &mut VCardEntry) {
    let omitted: Option<u16> = entry.params.iter().find_map(|param| match &param.name {
        Param::Other(name) if name.eq_ignore_ascii_case(OMIT_YEAR) => {
            text_of(param).and_then(|year| year.trim().parse().ok())
        }
        _ => None,
    });
    let Some(omitted) = omitted else {
        return;
    };
    let mut changed = false;
    for value in &mut entry.values {
        if let Value::PartialDateTime(date) = value
            && date.year == Some(omitted)
        {
            date.year = None;
            changed = true;
        }
    }
    if changed {
        entry.params.retain(
            |param| !matches!(&param.name, Param::Other(n) if n.eq_ignore_ascii_case(OMIT_YEAR)),
        );
    }
}

/// 3.0 `GEO:37.38;-122.08` -> 4.0 `GEO:geo:37.38,-122.08`.
fn geo_to_v4(entry: &mut VCardEntry) {
    let Some(Value::Text(text)) = entry.values.first() else {
        return;
    };
    let Some((lat, lon)) = text.split_once(';') else {
        return;
    };
    let (lat, lon) = (lat.trim(), lon.trim());
    if lat.parse::<f64>().is_ok() && lon.parse::<f64>().is_ok() {
        entry.values = vec![Value::Text(format!("geo:{lat},{lon}"))];
    }
}

// --- 4.0 -> 3.0 -------------------------------------------------------------------------

/// A 4.0 card's properties as 3.0 properties; an empty N is added when there is none (3.0
/// requires N).
pub(super) fn to_v3(entries: Vec<VCardEntry>) -> Vec<VCardEntry> {
    let preferred = preferred(&entries);
    let mut out: Vec<VCardEntry> = entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| entry_to_v3(entry, preferred.contains(&index)))
        .collect();
    if !out.iter().any(|e| e.name == Prop::N) {
        let at = out
            .iter()
            .position(|e| e.name == Prop::Fn)
            .map_or(0, |index| index + 1);
        let empty = VCardEntry {
            group: None,
            name: Prop::N,
            params: Vec::new(),
            values: vec![Value::Text(String::new()); 5],
        };
        out.insert(at, empty);
    }
    out
}

/// The indexes of the properties that get `TYPE=pref`: per property name, those with the
/// lowest PREF (3.0 can only say "preferred", not an order).
fn preferred(entries: &[VCardEntry]) -> HashSet<usize> {
    let pref = |entry: &VCardEntry| {
        entry
            .params
            .iter()
            .find_map(|param| match (&param.name, &param.value) {
                (Param::Pref, ParamValue::Integer(n)) => Some(*n),
                (Param::Pref, ParamValue::Text(n)) => n.trim().parse::<u32>().ok(),
                _ => None,
            })
    };
    let mut lowest: HashMap<&str, u32> = HashMap::new();
    for entry in entries {
        if let Some(mine) = pref(entry) {
            let slot = lowest.entry(entry.name.as_str()).or_insert(mine);
            *slot = (*slot).min(mine);
        }
    }
    entries
        .iter()
        .enumerate()
        .filter(|(_, entry)| {
            pref(entry).is_some_and(|mine| lowest.get(entry.name.as_str()) == Some(&mine))
        })
        .map(|(index, _)| index)
        .collect()
}

fn entry_to_v3(mut entry: VCardEntry, preferred: bool) -> VCardEntry {
    let had_pref = entry.params.iter().any(|p| p.name == Param::Pref);
    entry.params.retain(|p| p.name != Param::Pref);
    if had_pref && preferred {
        entry.params.push(VCardParameter::new(
            Param::Type,
            ParamValue::Text("pref".into()),
        ));
    }
    match entry.name {
        Prop::Kind => kind_to_v3(&mut entry),
        Prop::Member => entry.name = Prop::Other(APPLE_MEMBER.to_string()),
        _ => {}
    }
    if is_media_prop(&entry.name) {
        media_to_v3(&mut entry);
    }
    if is_date_prop(&entry.name) {
        omit_year_to_v3(&mut entry);
    }
    value_types_to_v3(&mut entry);
    match entry.name {
        Prop::Geo => geo_to_v3(&mut entry),
        Prop::Tel => tel_to_v3(&mut entry),
        _ => {}
    }
    entry
}

/// KIND:group -> X-ADDRESSBOOKSERVER-KIND:group.
fn kind_to_v3(entry: &mut VCardEntry) {
    entry.name = Prop::Other(APPLE_KIND.to_string());
    for value in &mut entry.values {
        if let Value::Kind(kind) = value {
            *value = Value::Text(kind.as_str().to_ascii_lowercase());
        }
    }
}

/// PHOTO, LOGO, SOUND, KEY: binary data gets `ENCODING=b;TYPE=<token>` from calcard's 3.0
/// writer (so other TYPE values go); a URI gets `VALUE=uri` and its MEDIATYPE as TYPE.
fn media_to_v3(entry: &mut VCardEntry) {
    let binary = entry.values.iter().any(|v| matches!(v, Value::Binary(_)));
    if binary {
        entry
            .params
            .retain(|p| !matches!(p.name, Param::Type | Param::Value | Param::Mediatype));
        // `data:image/JPEG;…` (Thunderbird CardBook) keeps its TYPE in 3.0; a media type
        // calcard did not read is taken from the bytes.
        for value in &mut entry.values {
            if let Value::Binary(data) = value {
                data.content_type = match data.content_type.take() {
                    // calcard's 3.0 writer knows lower-case media types only.
                    Some(media) => Some(media.to_ascii_lowercase()),
                    None => sniff(&data.data).map(str::to_string),
                };
            }
        }
        return;
    }
    let is_data = entry
        .values
        .first()
        .and_then(Value::as_text)
        .is_some_and(|text| {
            text.get(..5)
                .is_some_and(|h| h.eq_ignore_ascii_case("data:"))
        });
    if is_data {
        return;
    }
    let media = entry
        .params
        .iter()
        .find_map(|param| match (&param.name, text_of(param)) {
            (Param::Mediatype, Some(media)) => Some(token_from_media(media)),
            _ => None,
        });
    entry.params.retain(|p| p.name != Param::Mediatype);
    if let Some(token) = media {
        entry
            .params
            .push(VCardParameter::new(Param::Type, ParamValue::Text(token)));
    }
    if !entry.params.iter().any(|p| p.name == Param::Value) {
        entry.params.push(VCardParameter::new(
            Param::Value,
            ParamValue::ValueType(VCardValueType::Uri),
        ));
    }
}

/// `BDAY:--0415` -> Apple's `BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-15`.
fn omit_year_to_v3(entry: &mut VCardEntry) {
    let mut changed = false;
    for value in &mut entry.values {
        if let Value::PartialDateTime(date) = value
            && date.year.is_none()
            && date.month.is_some()
            && date.day.is_some()
        {
            date.year = Some(PLACEHOLDER_YEAR);
            changed = true;
        }
    }
    if changed {
        entry.params.push(VCardParameter::new(
            Param::Other(OMIT_YEAR.to_string()),
            ParamValue::Text(PLACEHOLDER_YEAR.to_string()),
        ));
    }
}

/// VALUE types 3.0 does not have: `date-and-or-time` goes (the property's default applies),
/// `timestamp` becomes `date-time`.
fn value_types_to_v3(entry: &mut VCardEntry) {
    entry.params.retain(|param| {
        !matches!(
            param.value,
            ParamValue::ValueType(VCardValueType::DateAndOrTime)
        ) || param.name != Param::Value
    });
    for param in &mut entry.params {
        if param.name == Param::Value
            && matches!(
                param.value,
                ParamValue::ValueType(VCardValueType::Timestamp)
            )
        {
            param.value = ParamValue::ValueType(VCardValueType::DateTime);
        }
    }
}

/// 4.0 `GEO:geo:37.38,-122.08` -> 3.0 `GEO:37.38;-122.08`.
fn geo_to_v3(entry: &mut VCardEntry) {
    let Some(Value::Text(text)) = entry.values.first() else {
        return;
    };
    let Some(rest) = text
        .get(..4)
        .filter(|h| h.eq_ignore_ascii_case("geo:"))
        .map(|_| &text[4..])
    else {
        return;
    };
    let coordinates = rest.split(';').next().unwrap_or(rest);
    let Some((lat, lon)) = coordinates.split_once(',') else {
        return;
    };
    let lon = lon.split(',').next().unwrap_or(lon);
    entry.values = vec![Value::Text(format!("{};{}", lat.trim(), lon.trim()))];
    entry.params.retain(|p| p.name != Param::Value);
}

/// 4.0 `TEL;VALUE=uri:tel:+1-555-0100` -> 3.0 `TEL:+1-555-0100`.
fn tel_to_v3(entry: &mut VCardEntry) {
    let is_uri = entry.params.iter().any(|param| {
        param.name == Param::Value
            && matches!(param.value, ParamValue::ValueType(VCardValueType::Uri))
    });
    if !is_uri {
        return;
    }
    entry.params.retain(|p| p.name != Param::Value);
    for value in &mut entry.values {
        if let Value::Text(text) = value
            && text
                .get(..4)
                .is_some_and(|h| h.eq_ignore_ascii_case("tel:"))
        {
            *text = text[4..].to_string();
        }
    }
}

// --- 2.1 -> 3.0 -------------------------------------------------------------------------

/// A 2.1 card's properties (as calcard parsed the whole card) as 3.0 properties: bare
/// parameters (`;PREF`, `;INTERNET`, `;JPEG`) become TYPE values, `VALUE=URL` becomes
/// `VALUE=uri`, quoted-printable line breaks (CRLF) become newlines, text that decoded to
/// bytes that are not UTF-8 is kept lossily. A PHOTO, LOGO or SOUND that is neither valid
/// base64 nor a URI is refused.
pub(super) fn from_v21(entries: Vec<VCardEntry>) -> Result<Vec<VCardEntry>, VcardError> {
    let mut out = Vec::with_capacity(entries.len());
    for mut entry in entries {
        if matches!(entry.name, Prop::Begin | Prop::End | Prop::Version) {
            continue;
        }
        entry.params = entry.params.into_iter().map(param_from_v21).collect();
        entry.values = entry
            .values
            .into_iter()
            .map(|value| value_from_v21(&entry.name, value))
            .collect();
        if is_media_prop(&entry.name) {
            media_from_v21(&mut entry)?;
        }
        out.push(entry);
    }
    Ok(out)
}

fn param_from_v21(param: VCardParameter) -> VCardParameter {
    match (&param.name, &param.value) {
        (Param::Pref, ParamValue::Null) => {
            VCardParameter::new(Param::Type, ParamValue::Text("pref".into()))
        }
        (Param::Other(name), ParamValue::Null) => {
            VCardParameter::new(Param::Type, ParamValue::Text(name.clone()))
        }
        (Param::Value, ParamValue::Text(value)) if value.eq_ignore_ascii_case("url") => {
            VCardParameter::new(Param::Value, ParamValue::ValueType(VCardValueType::Uri))
        }
        _ => param,
    }
}

fn value_from_v21(name: &Prop, value: Value) -> Value {
    let lines = |text: String| text.replace("\r\n", "\n").replace('\r', "\n");
    match value {
        Value::Text(text) => Value::Text(lines(text)),
        Value::Component(items) => Value::Component(items.into_iter().map(lines).collect()),
        Value::Binary(data) if !is_media_prop(name) => {
            Value::Text(lines(String::from_utf8_lossy(&data.data).into_owned()))
        }
        other => other,
    }
}

fn media_from_v21(entry: &mut VCardEntry) -> Result<(), VcardError> {
    let probe = entry.clone();
    let mut bad = false;
    for value in &mut entry.values {
        match value {
            Value::Binary(data) if data.content_type.is_none() => {
                data.content_type = media_type(&probe, &data.data);
            }
            Value::Text(text) if !looks_like_uri(text) => bad = true,
            _ => {}
        }
    }
    if bad && !matches!(entry.name, Prop::Key) {
        return Err(VcardError::invalid(
            None,
            format!(
                "{}: neither valid base64 data nor a URI",
                entry.name.as_str()
            ),
        ));
    }
    let media_token = |param: &VCardParameter| {
        param.name == Param::Type
            && text_of(param).is_some_and(|t| media_from_token(&probe, t).is_some())
    };
    let uri = entry.values.iter().any(|v| matches!(v, Value::Text(_)));
    if uri && !entry.params.iter().any(|p| p.name == Param::Value) {
        entry.params.push(VCardParameter::new(
            Param::Value,
            ParamValue::ValueType(VCardValueType::Uri),
        ));
    }
    if !uri {
        entry.params.retain(|p| !media_token(p));
    }
    Ok(())
}

/// `scheme:rest` with a scheme of letters, digits, `+`, `-`, `.`.
fn looks_like_uri(text: &str) -> bool {
    match text.split_once(':') {
        Some((scheme, _)) => {
            !scheme.is_empty()
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

// --- writer -----------------------------------------------------------------------------

/// A card in `version` from its properties: BEGIN, VERSION, each property as calcard writes
/// it, END. In 3.0, calcard's 3.0 mode is used only for properties with binary or date values
/// (ENCODING=b, dashed dates); other properties are written in its 4.0 mode, which is the same
/// text without the `CHARSET=UTF-8` 3.0 does not define.
pub(super) fn write(entries: &[VCardEntry], version: VcardVersion) -> String {
    let mut out = format!("BEGIN:VCARD\r\nVERSION:{}\r\n", version.as_str());
    for entry in entries {
        if matches!(entry.name, Prop::Begin | Prop::End | Prop::Version) {
            continue;
        }
        let legacy = version == VcardVersion::V3
            && entry
                .values
                .iter()
                .any(|v| matches!(v, Value::Binary(_) | Value::PartialDateTime(_)));
        let mut line = String::new();
        if entry.write_to(&mut line, !legacy).is_ok() {
            out.push_str(&line);
        }
    }
    out.push_str("END:VCARD\r\n");
    out
}

#[cfg(test)]
pub(super) fn standard_base64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}
