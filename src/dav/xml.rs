//! XML in and out of the DAV engine.
//!
//! Request bodies are parsed with quick-xml's `NsReader` into a small tree ([`Element`])
//! under hard limits: no DOCTYPE (so no entity definitions, no billion laughs), a maximum
//! depth and element count, and only the five predefined entities and character
//! references. Each element remembers its byte span and the namespace declarations in
//! scope, so a dead property can be stored verbatim and re-emitted intact anywhere
//! ([`Element::verbatim`]). Responses are written by [`XmlOut`], which always uses
//! prefixed names, so embedded verbatim XML never inherits a default namespace.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

pub const DAV: &str = "DAV:";

/// Deepest nesting accepted in a request body.
const MAX_DEPTH: usize = 64;
/// Most elements accepted in one request body.
const MAX_ELEMENTS: usize = 50_000;

/// Local names that requests repeat many times (a multiget holds hundreds of hrefs): parsed
/// names borrow these instead of allocating.
const COMMON_LOCAL_NAMES: &[&str] = &[
    "href",
    "prop",
    "getetag",
    "calendar-data",
    "address-data",
    "comp-filter",
    "prop-filter",
    "param-filter",
    "text-match",
    "time-range",
];

/// A namespaced name. `ns` is empty for names in no namespace. Names the server writes
/// borrow static strings; names read from requests own theirs (well-known namespaces are
/// borrowed there too).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name {
    pub ns: Cow<'static, str>,
    pub local: Cow<'static, str>,
}

impl Name {
    pub fn new(ns: &str, local: &str) -> Name {
        let ns = match PREFIXES.iter().find(|(known, _)| *known == ns) {
            Some((known, _)) => Cow::Borrowed(*known),
            None => Cow::Owned(ns.to_string()),
        };
        let local = match COMMON_LOCAL_NAMES.iter().find(|known| **known == local) {
            Some(known) => Cow::Borrowed(*known),
            None => Cow::Owned(local.to_string()),
        };
        Name { ns, local }
    }
    /// A name of static strings (no allocation).
    pub const fn fixed(ns: &'static str, local: &'static str) -> Name {
        Name {
            ns: Cow::Borrowed(ns),
            local: Cow::Borrowed(local),
        }
    }
    pub const fn dav(local: &'static str) -> Name {
        Name::fixed(DAV, local)
    }
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.ns == ns && self.local == local
    }
    pub fn is_dav(&self, local: &str) -> bool {
        self.is(DAV, local)
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{{{}}}{}", self.ns, self.local)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub name: Name,
    /// Attributes other than namespace declarations: (namespace, local name, value).
    pub attrs: Vec<(String, String, String)>,
    pub children: Vec<Node>,
    /// The element's bytes in the body, start tag to end tag.
    pub span: Range<usize>,
    /// Namespace declarations in scope at the parent: (prefix, or "" for the default, uri).
    /// Shared by every element under the same declarations.
    pub inherited: Arc<Vec<(String, String)>>,
    /// Prefixes declared on this element itself.
    pub declared: Vec<String>,
    /// Prefixes ("" for the default namespace) that names in this subtree use.
    pub uses: Vec<Arc<str>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("the body is not well-formed XML: {0}")]
    Malformed(String),
    #[error("the body declares a DOCTYPE; DTDs and entity definitions are not accepted")]
    Doctype,
    #[error("the body nests elements deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("the body has more than {MAX_ELEMENTS} elements")]
    TooManyElements,
    #[error("the body uses the undeclared namespace prefix {0}")]
    UnknownPrefix(String),
    #[error("the body binds the prefix {0} to an empty namespace name")]
    EmptyPrefixBinding(String),
    #[error("the body is empty")]
    Empty,
    #[error("expected {expected}, found {found}")]
    Unexpected { expected: String, found: String },
}

fn malformed(e: impl std::fmt::Display) -> XmlError {
    XmlError::Malformed(e.to_string())
}

fn resolve_ns(r: ResolveResult<'_>) -> Result<Cow<'static, str>, XmlError> {
    match r {
        ResolveResult::Bound(ns) => Ok(
            match PREFIXES
                .iter()
                .find(|(known, _)| known.as_bytes() == ns.as_ref())
            {
                Some((known, _)) => Cow::Borrowed(*known),
                None => Cow::Owned(String::from_utf8_lossy(ns.as_ref()).into_owned()),
            },
        ),
        ResolveResult::Unbound => Ok(Cow::Borrowed("")),
        ResolveResult::Unknown(p) => Err(XmlError::UnknownPrefix(
            String::from_utf8_lossy(&p).into_owned(),
        )),
    }
}

/// The namespace a prefix (None: the default namespace) is bound to in `scope`, which holds
/// the declarations' values after entity expansion. quick-xml resolves against the raw
/// attribute bytes, so `xmlns:a="x&amp;y"` would name `x&amp;y` there, not `x&y`, and
/// [`Element::verbatim`] (which escapes the unescaped value) would change the namespace.
fn lookup_ns<'a>(
    scope: &'a [(String, String)],
    prefix: Option<&[u8]>,
    fallback: Result<Cow<'static, str>, XmlError>,
) -> Result<Cow<'a, str>, XmlError> {
    let wanted = prefix.map(String::from_utf8_lossy).unwrap_or_default();
    match scope.iter().rev().find(|(p, _)| *p == wanted) {
        Some((_, uri)) => Ok(Cow::Borrowed(uri)),
        // `xml` is bound without a declaration; other undeclared prefixes are errors.
        None => fallback,
    }
}

/// The prefix `p` as a shared string: each distinct prefix of a body is allocated once.
fn intern(prefixes: &mut Vec<Arc<str>>, p: &[u8]) -> Arc<str> {
    if let Some(known) = prefixes.iter().find(|k| k.as_bytes() == p) {
        return known.clone();
    }
    let new: Arc<str> = Arc::from(String::from_utf8_lossy(p));
    prefixes.push(new.clone());
    new
}

/// Whether `name` (an element or attribute name, prefix included) can be an XML name.
/// quick-xml takes everything up to whitespace as the name, so without this check
/// `<a/\0<b/>` is an element named `a/\0<b`, which [`Element::verbatim`] cannot re-emit.
/// An ASCII approximation of XML 1.0 §2.3 Name: no markup or control characters, not
/// starting with a digit, '-' or '.'.
fn valid_name(name: &[u8]) -> bool {
    let Some(&first) = name.first() else {
        return false;
    };
    !first.is_ascii_digit()
        && first != b'-'
        && first != b'.'
        && name.iter().all(|&b| {
            b >= 0x80 || b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'-' | b'.')
        })
}

/// XML whitespace (§2.3 S), which is what ends a name in a start tag.
fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn predefined_entity(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

/// Parses a request body into its root element. An empty body is [`XmlError::Empty`].
pub fn parse(body: &[u8]) -> Result<Element, XmlError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(XmlError::Empty);
    }
    // quick-xml skips a leading UTF-8 BOM without counting it in `buffer_position`, which
    // would shift every span by three bytes; strip it here and add it back to the spans.
    let skip = if body.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let mut reader = NsReader::from_reader(&body[skip..]);
    reader.config_mut().trim_text(false);
    reader.config_mut().check_end_names = true;
    // Open elements; the namespace scope stack holds (prefix, uri) declarations.
    let mut stack: Vec<Element> = Vec::new();
    let mut scope: Vec<(String, String)> = Vec::new();
    // `scope` as shared by the elements under it; None when it changed since.
    let mut shared_scope: Option<Arc<Vec<(String, String)>>> = None;
    let mut prefixes: Vec<Arc<str>> = Vec::new();
    let mut scope_marks: Vec<usize> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let before = reader.buffer_position() as usize + skip;
        let (resolved, event) = reader.read_resolved_event().map_err(malformed)?;
        // Resolved now (start tags only), so the reader can be asked about attributes below.
        let element_ns = match event {
            Event::Start(_) | Event::Empty(_) => resolve_ns(resolved),
            _ => Ok(Cow::Borrowed("")),
        };
        let after = reader.buffer_position() as usize + skip;
        match event {
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(XmlError::TooManyElements);
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep);
                }
                if root.is_some() {
                    return Err(malformed("content after the root element"));
                }
                if !valid_name(e.name().as_ref()) {
                    return Err(malformed(format!(
                        "invalid element name {:?}",
                        String::from_utf8_lossy(e.name().as_ref())
                    )));
                }
                let inherited = shared_scope
                    .get_or_insert_with(|| Arc::new(scope.clone()))
                    .clone();
                let mut declared = Vec::new();
                let mut attrs = Vec::new();
                for a in e.attributes() {
                    let a = a.map_err(malformed)?;
                    // XML 1.0 §2.3 AttValue: a literal '<' is not allowed.
                    if a.value.contains(&b'<') {
                        return Err(malformed("'<' in an attribute value"));
                    }
                    let key = a.key;
                    if !valid_name(key.as_ref()) {
                        return Err(malformed(format!(
                            "invalid attribute name {:?}",
                            String::from_utf8_lossy(key.as_ref())
                        )));
                    }
                    let value = a.unescape_value().map_err(malformed)?.into_owned();
                    if let Some(binding) = key.as_namespace_binding() {
                        use quick_xml::name::PrefixDeclaration;
                        let prefix = match binding {
                            PrefixDeclaration::Default => String::new(),
                            PrefixDeclaration::Named(p) => {
                                let p = String::from_utf8_lossy(p).into_owned();
                                // Namespaces in XML 1.0 §3: a prefix may not be undeclared.
                                if value.is_empty() {
                                    return Err(XmlError::EmptyPrefixBinding(p));
                                }
                                p
                            }
                        };
                        declared.push(prefix.clone());
                        scope.push((prefix, value));
                        shared_scope = None;
                    } else {
                        let (ns, local) = reader.resolve_attribute(key);
                        let ns = if let Some(p) = key.prefix() {
                            lookup_ns(&scope, Some(p.as_ref()), resolve_ns(ns))?.into_owned()
                        } else {
                            String::new()
                        };
                        attrs.push((
                            ns,
                            String::from_utf8_lossy(local.as_ref()).into_owned(),
                            value,
                        ));
                    }
                }
                scope_marks.push(inherited.len());
                let own = e.name().prefix();
                let mut uses = vec![intern(
                    &mut prefixes,
                    own.as_ref().map(|p| p.as_ref()).unwrap_or_default(),
                )];
                for a in e.attributes().flatten() {
                    if let Some(p) = a.key.prefix() {
                        let p = p.as_ref();
                        if p != b"xmlns" && p != b"xml" && !uses.iter().any(|u| u.as_bytes() == p) {
                            uses.push(intern(&mut prefixes, p));
                        }
                    }
                }
                let prefix = e.name().prefix();
                let ns = lookup_ns(&scope, prefix.as_ref().map(|p| p.as_ref()), element_ns)?;
                let local_name = e.local_name();
                let local = String::from_utf8_lossy(local_name.as_ref());
                let el = Element {
                    name: Name::new(&ns, &local),
                    attrs,
                    children: Vec::new(),
                    span: before..after,
                    inherited,
                    declared,
                    uses,
                };
                if empty {
                    let mark = scope_marks.pop().unwrap_or(0);
                    if mark < scope.len() {
                        scope.truncate(mark);
                        shared_scope = None;
                    }
                    attach(&mut stack, &mut root, el);
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let mut el = stack.pop().ok_or_else(|| malformed("unbalanced end tag"))?;
                el.span.end = after;
                let mark = scope_marks.pop().unwrap_or(0);
                if mark < scope.len() {
                    scope.truncate(mark);
                    shared_scope = None;
                }
                attach(&mut stack, &mut root, el);
            }
            Event::Text(t) => {
                let text = t.decode().map_err(malformed)?;
                push_text(&mut stack, &text)?;
            }
            Event::CData(t) => {
                let text = t.decode().map_err(malformed)?;
                push_text(&mut stack, &text)?;
            }
            Event::GeneralRef(r) => {
                let c = if r.is_char_ref() {
                    r.resolve_char_ref().map_err(malformed)?
                } else {
                    let name = r.decode().map_err(malformed)?;
                    Some(
                        predefined_entity(&name)
                            .ok_or_else(|| malformed(format!("unknown entity &{name};")))?,
                    )
                };
                let c = c.ok_or_else(|| malformed("invalid character reference"))?;
                push_text(&mut stack, c.encode_utf8(&mut [0; 4]))?;
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(malformed("the document ends inside an element"));
    }
    root.ok_or(XmlError::Empty)
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => {
            for p in &el.uses {
                if !parent.uses.contains(p) {
                    parent.uses.push(p.clone());
                }
            }
            parent.children.push(Node::Element(el))
        }
        None => *root = Some(el),
    }
}

fn push_text(stack: &mut [Element], text: &str) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(parent) => {
            if let Some(Node::Text(prev)) = parent.children.last_mut() {
                prev.push_str(text);
            } else {
                parent.children.push(Node::Text(text.to_string()));
            }
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(malformed("text outside the root element")),
    }
}

impl Element {
    /// Child elements, skipping text.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    pub fn child(&self, ns: &str, local: &str) -> Option<&Element> {
        self.elements().find(|e| e.name.is(ns, local))
    }

    /// The concatenated text content of this element (not of its children).
    pub fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                s.push_str(t);
            }
        }
        s
    }

    pub fn attr(&self, ns: &str, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, l, _)| n == ns && l == local)
            .map(|(_, _, v)| v.as_str())
    }

    /// The element exactly as sent, made self-contained: the namespace declarations it
    /// relies on from its ancestors (those its subtree uses) are added to its start tag,
    /// so it means the same thing wherever it is embedded. Used to keep dead properties
    /// verbatim.
    pub fn verbatim(&self, body: &[u8]) -> String {
        let raw = String::from_utf8_lossy(body.get(self.span.clone()).unwrap_or_default());
        let raw = raw.trim_start();
        // The start tag's name ends at the first whitespace, '/' or '>'.
        let name_end = raw
            .char_indices()
            .skip(1)
            .find(|(_, c)| is_xml_space(*c) || *c == '/' || *c == '>')
            .map(|(i, _)| i)
            .unwrap_or(raw.len());
        let mut decls = String::new();
        let mut seen: Vec<&str> = self.declared.iter().map(String::as_str).collect();
        // Innermost declarations win: walk the inherited scope backwards.
        for (prefix, uri) in self.inherited.iter().rev() {
            if seen.contains(&prefix.as_str()) || !self.uses.iter().any(|u| **u == **prefix) {
                continue;
            }
            seen.push(prefix);
            let uri = quick_xml::escape::escape(uri.as_str());
            if prefix.is_empty() {
                decls.push_str(&format!(" xmlns=\"{uri}\""));
            } else {
                decls.push_str(&format!(" xmlns:{prefix}=\"{uri}\""));
            }
        }
        format!("{}{}{}", &raw[..name_end], decls, &raw[name_end..])
    }
}

/// Well-known namespaces and the prefixes responses use for them.
const PREFIXES: &[(&str, &str)] = &[
    (DAV, "D"),
    ("urn:ietf:params:xml:ns:caldav", "C"),
    ("urn:ietf:params:xml:ns:carddav", "CR"),
    ("http://calendarserver.org/ns/", "CS"),
    ("http://apple.com/ns/ical/", "ICAL"),
];

/// The root element's declarations of the fixed prefixes (checked against `PREFIXES`
/// by a test).
const ROOT_DECLS: &str = concat!(
    " xmlns:D=\"DAV:\"",
    " xmlns:C=\"urn:ietf:params:xml:ns:caldav\"",
    " xmlns:CR=\"urn:ietf:params:xml:ns:carddav\"",
    " xmlns:CS=\"http://calendarserver.org/ns/\"",
    " xmlns:ICAL=\"http://apple.com/ns/ical/\""
);

/// Appends character data with `<`, `&` and `>` escaped (quotes need no escaping
/// outside attributes, and an etag is all quotes).
pub fn push_escaped(buf: &mut String, text: &str) {
    push_escaped_set(buf, text, false)
}

/// Character data with `<`, `&` and `>` escaped.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_escaped(&mut out, text);
    out
}

/// Appends an attribute value (double-quoted) with quotes escaped too.
fn push_escaped_attr(buf: &mut String, text: &str) {
    push_escaped_set(buf, text, true)
}

fn push_escaped_set(buf: &mut String, text: &str, attr: bool) {
    // Object data (hundreds of KB per answer) goes through here: find the next special byte
    // with a SIMD search rather than testing every byte.
    let bytes = text.as_bytes();
    let mut from = 0;
    loop {
        let rest = &bytes[from..];
        let next = if attr {
            // Attribute values are short; quotes are special there too.
            rest.iter()
                .position(|b| matches!(b, b'<' | b'>' | b'&' | b'"' | b'\''))
        } else {
            memchr::memchr3(b'<', b'>', b'&', rest)
        };
        let Some(i) = next else {
            buf.push_str(&text[from..]);
            return;
        };
        let at = from + i;
        buf.push_str(&text[from..at]);
        buf.push_str(match bytes[at] {
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'&' => "&amp;",
            b'\'' => "&apos;",
            _ => "&quot;",
        });
        from = at + 1;
    }
}

/// An element left open: its prefix (empty for none) and local name.
type Open = (&'static str, Cow<'static, str>);

/// A response body under construction. Names in well-known namespaces get their fixed
/// prefix (declared once on the root); others declare a prefix on the element itself.
/// Writing an element allocates nothing (names are borrowed, text is escaped in place),
/// and [`XmlOut::take_chunk`] hands out what is written so far, so a long answer can be
/// sent while it is produced.
pub struct XmlOut {
    buf: String,
    stack: Vec<Open>,
    /// The root element has been opened (its declarations written). A fragment starts
    /// rooted: it is embedded in a document whose root declared the fixed prefixes.
    rooted: bool,
}

/// A point in an [`XmlOut`] to return to (see [`XmlOut::rollback`]).
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    len: usize,
    depth: usize,
}

impl Default for XmlOut {
    fn default() -> Self {
        Self::new()
    }
}

impl XmlOut {
    pub fn new() -> XmlOut {
        XmlOut {
            buf: String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"),
            stack: Vec::new(),
            rooted: false,
        }
    }

    /// Output to be embedded (with [`XmlOut::raw`]) inside another `XmlOut` document.
    pub fn fragment() -> XmlOut {
        XmlOut {
            buf: String::new(),
            stack: Vec::new(),
            rooted: true,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes written and not yet taken.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Writes `<` and the qualified name (plus the declarations it needs); returns what
    /// [`XmlOut::close`] will need.
    fn start_tag(&mut self, name: &Name) -> Open {
        self.buf.push('<');
        let root = !self.rooted;
        self.rooted = true;
        let open = if let Some((_, p)) = PREFIXES.iter().find(|(ns, _)| *ns == name.ns) {
            self.buf.push_str(p);
            self.buf.push(':');
            self.buf.push_str(&name.local);
            (*p, name.local.clone())
        } else if name.ns.is_empty() {
            self.buf.push_str(&name.local);
            ("", name.local.clone())
        } else {
            self.buf.push_str("X:");
            self.buf.push_str(&name.local);
            self.buf.push_str(" xmlns:X=\"");
            push_escaped_attr(&mut self.buf, &name.ns);
            self.buf.push('"');
            ("X", name.local.clone())
        };
        if root {
            self.buf.push_str(ROOT_DECLS);
        }
        open
    }

    pub fn open(&mut self, name: &Name) -> &mut Self {
        self.open_with(name, &[])
    }

    /// Opens an element with attributes (unqualified names).
    pub fn open_with(&mut self, name: &Name, attrs: &[(&str, &str)]) -> &mut Self {
        let open = self.start_tag(name);
        for (k, v) in attrs {
            self.buf.push(' ');
            self.buf.push_str(k);
            self.buf.push_str("=\"");
            push_escaped_attr(&mut self.buf, v);
            self.buf.push('"');
        }
        self.buf.push('>');
        self.stack.push(open);
        self
    }

    pub fn close(&mut self) -> &mut Self {
        if let Some((prefix, local)) = self.stack.pop() {
            self.buf.push_str("</");
            if !prefix.is_empty() {
                self.buf.push_str(prefix);
                self.buf.push(':');
            }
            self.buf.push_str(&local);
            self.buf.push('>');
        }
        self
    }

    pub fn empty(&mut self, name: &Name) -> &mut Self {
        self.start_tag(name);
        self.buf.push_str("/>");
        self
    }

    pub fn text(&mut self, text: &str) -> &mut Self {
        push_escaped(&mut self.buf, text);
        self
    }

    /// Appends text through `write`, which must append only characters that need no
    /// escaping (e.g. a percent-encoded href).
    pub fn text_with(&mut self, write: impl FnOnce(&mut String)) -> &mut Self {
        write(&mut self.buf);
        self
    }

    /// An element holding only text.
    pub fn text_element(&mut self, name: &Name, text: &str) -> &mut Self {
        self.open(name).text(text).close()
    }

    /// Self-contained XML (see [`Element::verbatim`]), embedded as is.
    pub fn raw(&mut self, xml: &str) -> &mut Self {
        self.buf.push_str(xml);
        self
    }

    /// The current position, to [`XmlOut::rollback`] to.
    pub fn mark(&self) -> Mark {
        Mark {
            len: self.buf.len(),
            depth: self.stack.len(),
        }
    }

    /// Forgets what was written since `mark` (which must not predate a taken chunk).
    pub fn rollback(&mut self, mark: Mark) {
        self.buf.truncate(mark.len.min(self.buf.len()));
        self.stack.truncate(mark.depth);
    }

    /// What is written so far; the open elements stay open and later output continues
    /// the document.
    pub fn take_chunk(&mut self) -> String {
        let capacity = self.buf.capacity();
        std::mem::replace(&mut self.buf, String::with_capacity(capacity))
    }

    pub fn finish(mut self) -> String {
        while !self.stack.is_empty() {
            self.close();
        }
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing (dav_request): a namespace declared with an entity or a raw '<'
    /// resolved to the raw bytes, so `verbatim` (which re-escapes the value) re-parsed to
    /// another namespace.
    #[test]
    fn namespace_names_are_unescaped_and_verbatim_keeps_them() {
        let body = br#"<a:r xmlns:a="urn:x&amp;y&lt;z"><a:p a:q="1"/></a:r>"#;
        let root = parse(body).unwrap();
        assert_eq!(root.name, Name::new("urn:x&y<z", "r"));
        let p = root.elements().next().unwrap();
        assert_eq!(p.attrs, [("urn:x&y<z".into(), "q".into(), "1".into())]);
        let again = parse(p.verbatim(body).as_bytes()).unwrap();
        assert_eq!(again.name, p.name);
        assert_eq!(again.attrs, p.attrs);
    }

    /// Found by fuzzing (dav_request): with a UTF-8 BOM before the body, every span was
    /// three bytes early, so `verbatim` cut elements in the wrong place.
    #[test]
    fn bom_prefixed_body_keeps_spans() {
        let body = "\u{feff}<?xml version='1.0'?>\n<D:r xmlns:D='DAV:'><D:p>x</D:p></D:r>";
        let body = body.as_bytes();
        let root = parse(body).unwrap();
        let p = root.elements().next().unwrap();
        assert_eq!(p.verbatim(body), "<D:p xmlns:D=\"DAV:\">x</D:p>");
        assert_eq!(
            parse(root.verbatim(body).as_bytes()).unwrap().name,
            root.name
        );
    }

    /// Found by fuzzing (dav_request): quick-xml ends a name only at whitespace, so
    /// `<x0:displayname/\0<x1:last-name/>` was one empty element whose name held '/', NUL
    /// and '<', and `verbatim` (splitting the name at '/') produced broken XML.
    #[test]
    fn names_with_markup_characters_are_malformed() {
        for body in [
            &b"<D:r xmlns:D=\"DAV:\"><D:a/\0<D:b/></D:r>"[..],
            b"<a<b/>",
            b"<1a/>",
            b"<a x\0=\"1\"/>",
        ] {
            assert!(
                matches!(parse(body), Err(XmlError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        // Non-ASCII names (allowed by XML) and non-XML whitespace inside them round-trip.
        let body = "<D:r xmlns:D=\"DAV:\"><D:caf\u{e9}\u{a0}x/></D:r>".as_bytes();
        let root = parse(body).unwrap();
        let el = root.elements().next().unwrap();
        assert_eq!(el.name, Name::dav("caf\u{e9}\u{a0}x"));
        assert_eq!(parse(el.verbatim(body).as_bytes()).unwrap().name, el.name);
    }

    /// Found by fuzzing (dav_request): quick-xml accepts a literal '<' in an attribute
    /// value, which XML 1.0 forbids.
    #[test]
    fn raw_lt_in_attribute_value_is_malformed() {
        let body = b"<C:x xmlns:C=\"http</D:href>\"><C:y/></C:x>";
        assert!(matches!(parse(body), Err(XmlError::Malformed(_))));
    }

    #[test]
    fn parses_namespaces_text_and_entities() {
        let body = br#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns="urn:x"><D:prop><foo a="1">x &amp; &#x263A; y</foo></D:prop></D:propfind>"#;
        let root = parse(body).unwrap();
        assert!(root.name.is_dav("propfind"));
        let prop = root.child(DAV, "prop").unwrap();
        let foo = prop.elements().next().unwrap();
        assert_eq!(foo.name, Name::new("urn:x", "foo"));
        assert_eq!(foo.text(), "x & \u{263A} y");
        assert_eq!(foo.attr("", "a"), Some("1"));
    }

    #[test]
    fn refuses_doctype_depth_and_bad_prefixes() {
        let laughs = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><lolz>&lol2;</lolz>"#;
        assert_eq!(parse(laughs), Err(XmlError::Doctype));
        let deep = format!("{}{}", "<a>".repeat(1000), "</a>".repeat(1000));
        assert_eq!(parse(deep.as_bytes()), Err(XmlError::TooDeep));
        assert!(matches!(parse(b"<x:a/>"), Err(XmlError::UnknownPrefix(_))));
        assert!(matches!(
            parse(br#"<a xmlns:bar=""><bar:b/></a>"#),
            Err(XmlError::EmptyPrefixBinding(_))
        ));
        assert!(matches!(parse(b"<a><b></a>"), Err(XmlError::Malformed(_))));
        assert!(matches!(
            parse(b"<a>&unknown;</a>"),
            Err(XmlError::Malformed(_))
        ));
        assert_eq!(parse(b"  "), Err(XmlError::Empty));
    }

    #[test]
    fn verbatim_carries_inherited_namespaces() {
        let body = br#"<D:propertyupdate xmlns:D="DAV:" xmlns:Z="http://z/"><D:set><D:prop><Z:p xml:lang="en"><Z:q>v</Z:q><r xmlns="http://r/"/></Z:p></D:prop></D:set></D:propertyupdate>"#;
        let root = parse(body).unwrap();
        let p = root
            .child(DAV, "set")
            .unwrap()
            .child(DAV, "prop")
            .unwrap()
            .elements()
            .next()
            .unwrap();
        let v = p.verbatim(body);
        // Only the declarations it uses: Z, not D.
        assert!(
            v.starts_with(r#"<Z:p xmlns:Z="http://z/" xml:lang="en">"#),
            "{v}"
        );
        // Re-parsed alone, it means the same thing.
        let again = parse(v.as_bytes()).unwrap();
        assert_eq!(again.name, Name::new("http://z/", "p"));
        assert_eq!(
            again.elements().next().unwrap().name,
            Name::new("http://z/", "q")
        );
        assert_eq!(
            again.elements().nth(1).unwrap().name,
            Name::new("http://r/", "r")
        );
    }

    #[test]
    fn root_declarations_match_the_prefix_table() {
        let computed: String = PREFIXES
            .iter()
            .map(|(ns, p)| format!(" xmlns:{p}=\"{ns}\""))
            .collect();
        assert_eq!(ROOT_DECLS, computed);
    }

    #[test]
    fn escaping_rollback_and_chunks() {
        let mut s = String::new();
        push_escaped(&mut s, "a<b>&'\"ü");
        assert_eq!(s, "a&lt;b&gt;&amp;'\"ü");
        s.clear();
        push_escaped_attr(&mut s, "a<b>&'\"ü");
        assert_eq!(s, "a&lt;b&gt;&amp;&apos;&quot;ü");
        let mut out = XmlOut::new();
        out.open(&Name::dav("multistatus"));
        let first = out.take_chunk();
        assert!(
            first.ends_with("<D:multistatus xmlns:D=\"DAV:\"".to_string().as_str())
                || first.contains("<D:multistatus xmlns:D=\"DAV:\"")
        );
        let mark = out.mark();
        out.open(&Name::dav("response")).text("dropped");
        out.rollback(mark);
        out.text_element(&Name::new("urn:x", "kept"), "1");
        assert_eq!(
            out.finish(),
            "<X:kept xmlns:X=\"urn:x\">1</X:kept></D:multistatus>"
        );
    }

    #[test]
    fn out_uses_fixed_prefixes_and_declares_others() {
        let mut out = XmlOut::new();
        out.open(&Name::dav("multistatus"))
            .empty(&Name::new("urn:odd", "x"))
            .empty(&Name::new("", "bare"))
            .text_element(&Name::dav("href"), "a<b");
        let s = out.finish();
        assert!(s.contains("<D:multistatus xmlns:D=\"DAV:\""), "{s}");
        assert!(s.contains("<X:x xmlns:X=\"urn:odd\"/>"), "{s}");
        assert!(
            s.contains("<bare/>") && s.contains("<D:href>a&lt;b</D:href></D:multistatus>"),
            "{s}"
        );
        parse(s.as_bytes()).unwrap();
    }
}
