//! The `If` request header (RFC 4918 §10.4): parsing and evaluation.
//!
//! The header is a disjunction of lists; each list is a conjunction of conditions on a
//! resource (the tagged one, or the request URI): a state token (a lock token, or the
//! never-matching `DAV:no-lock`) or an entity tag, each possibly negated. Every state
//! token named anywhere in the header counts as submitted (§10.4.1), which is how a
//! client proves it holds a lock.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// A state token, e.g. `urn:uuid:…`.
    Token(String),
    /// An entity tag, quotes included, e.g. `"abc"`.
    Etag(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub not: bool,
    pub check: Check,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List {
    /// The tagged resource (an absolute URI or a path), or None for the request URI.
    pub resource: Option<String>,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IfHeader {
    pub lists: Vec<List>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the If header is malformed")]
pub struct IfSyntaxError;

/// Longest If header looked at.
const MAX_LEN: usize = 16 * 1024;

impl IfHeader {
    pub fn parse(value: &str) -> Result<IfHeader, IfSyntaxError> {
        if value.len() > MAX_LEN {
            return Err(IfSyntaxError);
        }
        let mut p = Parser {
            s: value.as_bytes(),
            i: 0,
        };
        let mut lists = Vec::new();
        let mut tagged: Option<bool> = None;
        let mut resource: Option<String> = None;
        loop {
            p.skip_ws();
            match p.peek() {
                None => break,
                Some(b'<') => {
                    if tagged == Some(false) {
                        return Err(IfSyntaxError);
                    }
                    tagged = Some(true);
                    resource = Some(p.delimited(b'<', b'>')?);
                    p.skip_ws();
                    if p.peek() != Some(b'(') {
                        return Err(IfSyntaxError);
                    }
                }
                Some(b'(') => {
                    if tagged.is_none() {
                        tagged = Some(false);
                    }
                    if tagged == Some(true) && resource.is_none() {
                        return Err(IfSyntaxError);
                    }
                    lists.push(List {
                        resource: resource.clone(),
                        conditions: p.list()?,
                    });
                }
                Some(_) => return Err(IfSyntaxError),
            }
        }
        if lists.is_empty() {
            return Err(IfSyntaxError);
        }
        Ok(IfHeader { lists })
    }

    /// Every state token in the header: the lock tokens the client submits.
    pub fn tokens(&self) -> Vec<String> {
        self.lists
            .iter()
            .flat_map(|l| l.conditions.iter())
            .filter_map(|c| match &c.check {
                Check::Token(t) => Some(t.clone()),
                Check::Etag(_) => None,
            })
            .collect()
    }

    /// True when some list holds. `state` answers, for a list's resource (None: the
    /// request URI), its current etag and the lock tokens that cover it, or None when the
    /// resource does not exist (then no condition on it matches, RFC 4918 §10.4.3).
    pub fn holds(
        &self,
        state: impl Fn(Option<&str>) -> Option<(Option<String>, Vec<String>)>,
    ) -> bool {
        self.lists.iter().any(|list| {
            let st = state(list.resource.as_deref());
            list.conditions.iter().all(|c| {
                let matched = match (&st, &c.check) {
                    (None, _) => false,
                    (Some((_, tokens)), Check::Token(t)) => tokens.iter().any(|x| x == t),
                    (Some((etag, _)), Check::Etag(e)) => etag.as_deref() == Some(e.as_str()),
                };
                matched != c.not
            })
        })
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }
    fn delimited(&mut self, open: u8, close: u8) -> Result<String, IfSyntaxError> {
        if self.peek() != Some(open) {
            return Err(IfSyntaxError);
        }
        let start = self.i + 1;
        let end = self.s[start..]
            .iter()
            .position(|&b| b == close)
            .ok_or(IfSyntaxError)?
            + start;
        self.i = end + 1;
        let inner = std::str::from_utf8(&self.s[start..end]).map_err(|_| IfSyntaxError)?;
        if inner.is_empty() {
            return Err(IfSyntaxError);
        }
        Ok(inner.to_string())
    }
    fn list(&mut self) -> Result<Vec<Condition>, IfSyntaxError> {
        self.i += 1; // '('
        let mut conditions = Vec::new();
        loop {
            self.skip_ws();
            let mut not = false;
            if self.s[self.i..].len() >= 3
                && self.s[self.i..self.i + 3].eq_ignore_ascii_case(b"not")
            {
                not = true;
                self.i += 3;
                self.skip_ws();
            }
            match self.peek() {
                Some(b'<') => conditions.push(Condition {
                    not,
                    check: Check::Token(self.delimited(b'<', b'>')?),
                }),
                Some(b'[') => {
                    let tag = self.delimited(b'[', b']')?;
                    // Weak tags never match strong ones; keep them as written.
                    conditions.push(Condition {
                        not,
                        check: Check::Etag(tag),
                    });
                }
                Some(b')') if !not && !conditions.is_empty() => {
                    self.i += 1;
                    return Ok(conditions);
                }
                _ => return Err(IfSyntaxError),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_untagged_and_tagged_lists() {
        let h = IfHeader::parse(r#"(<urn:uuid:1> ["e1"]) (Not <DAV:no-lock>)"#).unwrap();
        assert_eq!(h.lists.len(), 2);
        assert_eq!(h.tokens(), ["urn:uuid:1", "DAV:no-lock"]);
        assert!(h.lists[1].conditions[0].not);
        let h = IfHeader::parse(r#"<http://x/a> (<urn:uuid:1>) <http://x/b> (["e"])"#).unwrap();
        assert_eq!(h.lists[1].resource.as_deref(), Some("http://x/b"));
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "",
            "(",
            "()",
            "(<a>",
            "<a>",
            "(<a>) <b> (<c>)",
            "(Not)",
            "junk",
            "(<>)",
        ] {
            assert!(IfHeader::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn evaluates_conditions() {
        let state =
            |_: Option<&str>| Some((Some("\"e1\"".to_string()), vec!["urn:uuid:1".to_string()]));
        assert!(IfHeader::parse("(<urn:uuid:1>)").unwrap().holds(state));
        assert!(!IfHeader::parse("(<urn:uuid:2>)").unwrap().holds(state));
        assert!(
            IfHeader::parse("(<urn:uuid:2>) ([\"e1\"])")
                .unwrap()
                .holds(state)
        );
        assert!(
            IfHeader::parse("(<urn:uuid:1>) (Not <DAV:no-lock>)")
                .unwrap()
                .holds(state)
        );
        assert!(!IfHeader::parse("(<DAV:no-lock>)").unwrap().holds(state));
        assert!(
            !IfHeader::parse("(<urn:uuid:1> Not [\"e1\"])")
                .unwrap()
                .holds(state)
        );
        // On an unmapped resource no token matches, so only negated conditions hold.
        assert!(
            IfHeader::parse("(Not <urn:uuid:1>)")
                .unwrap()
                .holds(|_| None)
        );
        assert!(!IfHeader::parse("(<urn:uuid:1>)").unwrap().holds(|_| None));
    }
}
