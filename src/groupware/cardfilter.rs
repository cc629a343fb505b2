//! RFC 6352 §10.5 addressbook-query filters (filter, prop-filter, param-filter, text-match)
//! as plain values the DAV layer builds from the request XML, evaluated on one
//! `vcard::ParsedCard`; and `Filter::email_hint`, a necessary condition on the card's EMAIL
//! values that the server's email index can answer before any card is parsed.
//!
//! Text matching and collations are `filter`'s (shared with CalDAV): `TextMatch`,
//! `Collation`, `MatchType`. CardDAV's defaults differ from CalDAV's: collation
//! `i;unicode-casemap` and match-type `contains` (`text_match` builds one with them).
//!
//! Semantics (RFC 6352 §10.5.1-§10.5.4):
//! - filter: `anyof` (the default) matches when some prop-filter does, `allof` when all do;
//!   a filter without prop-filters matches every card.
//! - prop-filter: with is-not-defined, matches when the card has no property of that name.
//!   Otherwise some property of that name must match: one without text-match and param-filter
//!   children always does; else its text-matches and param-filters are combined by the
//!   prop-filter's own `test` (anyof/allof) on that one property, so `allof` with
//!   `EMAIL contains "work"` and `TYPE=home` needs one address that is both. (SabreDAV lets
//!   each condition pick a different property of the name; the RFC says "it matches".)
//! - Names are case-insensitive and match in any property group (`item1.EMAIL` is an EMAIL);
//!   a name with a group (`item1.EMAIL`) matches that group only. KIND and MEMBER also match
//!   Apple's 3.0 X-ADDRESSBOOKSERVER-KIND and X-ADDRESSBOOKSERVER-MEMBER, and the other way
//!   round, so a filter means the same whichever version the card is stored in.
//! - text-match on a property: against the whole value and, for structured values (N, ADR)
//!   and lists (CATEGORIES), against each part; negate-condition inverts the result for that
//!   property. Values are unescaped (`Doe, John` for `FN:Doe\, John`).
//! - param-filter: on the same property; is-not-defined when it has no such parameter, else a
//!   parameter of that name must exist and, with a text-match, some of its values (each TYPE
//!   value separately) must match.

pub use super::filter::{Collation, MatchType, TextMatch};
use super::vcard::{CardProp, ParsedCard, fold_email};

/// How the conditions of one level combine: `anyof` (OR, the default) or `allof` (AND).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Test {
    #[default]
    AnyOf,
    AllOf,
}

impl Test {
    /// The value of a `test` attribute; None for one RFC 6352 does not define (the caller
    /// answers 400). An absent attribute is `Test::default()`.
    pub fn from_attr(value: &str) -> Option<Test> {
        match value {
            "anyof" => Some(Test::AnyOf),
            "allof" => Some(Test::AllOf),
            _ => None,
        }
    }

    /// Combines results under this test; an empty list is true either way (no condition).
    fn combine(self, mut results: impl Iterator<Item = bool>) -> bool {
        match self {
            Test::AnyOf => {
                let mut any = false;
                let mut empty = true;
                for result in results.by_ref() {
                    empty = false;
                    any |= result;
                    if any {
                        break;
                    }
                }
                any || empty
            }
            Test::AllOf => results.all(|result| result),
        }
    }
}

/// A text-match with CardDAV's defaults: `i;unicode-casemap`, `contains`, not negated.
pub fn text_match(text: impl Into<String>) -> TextMatch {
    TextMatch {
        text: text.into(),
        collation: Collation::UnicodeCasemap,
        negate: false,
        match_type: MatchType::Contains,
    }
}

/// CARDDAV:filter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    pub test: Test,
    pub props: Vec<PropFilter>,
}

/// CARDDAV:prop-filter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PropFilter {
    /// A property name, optionally with a group (`item1.EMAIL`).
    pub name: String,
    pub test: Test,
    pub is_not_defined: bool,
    pub text_matches: Vec<TextMatch>,
    pub param_filters: Vec<ParamFilter>,
}

/// CARDDAV:param-filter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParamFilter {
    pub name: String,
    pub is_not_defined: bool,
    pub text_match: Option<TextMatch>,
}

/// A necessary condition on a card's EMAIL values: every card the filter matches has an
/// address `a` with `fold_email(a)` matching `text` by `match_type` (exactly, after folding).
/// The index lists `fold_email` addresses (`vcard::CardIndex::emails`), so the cards it finds
/// are a superset of the matches; re-check each with `Filter::matches`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailHint {
    /// Folded with `vcard::fold_email`.
    pub text: String,
    pub match_type: MatchType,
}

impl EmailHint {
    /// Whether an indexed (folded) address satisfies the hint.
    pub fn admits(&self, folded_email: &str) -> bool {
        let text = self.text.as_str();
        match self.match_type {
            MatchType::Equals => folded_email == text,
            MatchType::Contains => folded_email.contains(text),
            MatchType::StartsWith => folded_email.starts_with(text),
            MatchType::EndsWith => folded_email.ends_with(text),
        }
    }
}

impl Filter {
    /// Whether the card matches.
    pub fn matches(&self, card: &ParsedCard) -> bool {
        if self.props.is_empty() {
            return true;
        }
        self.test
            .combine(self.props.iter().map(|prop| prop.matches(card)))
    }

    /// A condition on EMAIL every match satisfies, when the filter has one: an EMAIL
    /// prop-filter that must match (the only one under `anyof`, any under `allof`) with a text
    /// match that must hold (not negated; the only one under `anyof`, any under `allof`). The
    /// longest such text is taken: it narrows the candidates most.
    pub fn email_hint(&self) -> Option<EmailHint> {
        let required: Vec<&PropFilter> = match (self.test, self.props.as_slice()) {
            (Test::AnyOf, [only]) => vec![only],
            (Test::AllOf, props) => props.iter().collect(),
            _ => Vec::new(),
        };
        required
            .into_iter()
            .filter(|prop| prop.name.eq_ignore_ascii_case("EMAIL") && !prop.is_not_defined)
            .flat_map(PropFilter::required_text_matches)
            .filter(|text_match| !text_match.negate && !text_match.text.is_empty())
            .map(|text_match| EmailHint {
                text: fold_email(&text_match.text),
                match_type: text_match.match_type,
            })
            .max_by_key(|hint| hint.text.chars().count())
    }
}

impl PropFilter {
    /// Whether the card matches this prop-filter.
    pub fn matches(&self, card: &ParsedCard) -> bool {
        let mut props = card.props.iter().filter(|prop| self.names(prop)).peekable();
        if self.is_not_defined {
            return props.peek().is_none();
        }
        props.any(|prop| self.prop_matches(prop))
    }

    /// The text-matches that must hold on every property this filter accepts.
    fn required_text_matches(&self) -> Vec<&TextMatch> {
        match (
            self.test,
            self.text_matches.as_slice(),
            self.param_filters.len(),
        ) {
            (Test::AnyOf, [only], 0) => vec![only],
            (Test::AllOf, all, _) => all.iter().collect(),
            _ => Vec::new(),
        }
    }

    /// Whether `prop` is one this filter names.
    fn names(&self, prop: &CardProp) -> bool {
        let (group, name) = match self.name.rsplit_once('.') {
            Some((group, name)) => (Some(group), name),
            None => (None, self.name.as_str()),
        };
        if let Some(group) = group
            && !prop
                .group
                .as_deref()
                .is_some_and(|g| g.eq_ignore_ascii_case(group))
        {
            return false;
        }
        aliases(name)
            .iter()
            .any(|alias| alias.eq_ignore_ascii_case(&prop.name))
    }

    fn prop_matches(&self, prop: &CardProp) -> bool {
        let texts = self
            .text_matches
            .iter()
            .map(|text_match| text_match.test(candidates(prop)));
        let params = self
            .param_filters
            .iter()
            .map(|param_filter| param_filter.matches(prop));
        self.test.combine(texts.chain(params))
    }
}

impl ParamFilter {
    /// Whether this parameter condition holds on one property.
    pub fn matches(&self, prop: &CardProp) -> bool {
        let mut values = prop
            .params
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case(&self.name))
            .map(|(_, value)| value.as_str())
            .peekable();
        if self.is_not_defined {
            return values.peek().is_none();
        }
        if values.peek().is_none() {
            return false;
        }
        match &self.text_match {
            None => true,
            Some(text_match) => text_match.test(values),
        }
    }
}

/// The names a filter name matches: itself, and Apple's 3.0 group properties for KIND and
/// MEMBER (and the other way round).
fn aliases(name: &str) -> Vec<&str> {
    const PAIRS: [(&str, &str); 2] = [
        ("KIND", "X-ADDRESSBOOKSERVER-KIND"),
        ("MEMBER", "X-ADDRESSBOOKSERVER-MEMBER"),
    ];
    let mut out = vec![name];
    for (standard, apple) in PAIRS {
        if name.eq_ignore_ascii_case(standard) {
            out.push(apple);
        } else if name.eq_ignore_ascii_case(apple) {
            out.push(standard);
        }
    }
    out
}

/// The texts a text-match looks at: the whole value, and each part when there are several.
fn candidates(prop: &CardProp) -> impl Iterator<Item = &str> {
    let parts: Vec<&str> = prop
        .components
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let split = parts.len() > 1;
    std::iter::once(prop.value.as_str()).chain(parts.into_iter().filter(move |_| split))
}

#[cfg(test)]
mod tests {
    //! Filters on real client cards (`fixtures/vcard/`, see its MANIFEST.md) and on small
    //! cards written for one rule each; the RFC 6352 §8.6.4 example query.

    use super::*;
    use crate::groupware::vcard::{IngestOptions, VcardVersion, ingest, render, split_multi};

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/fixtures/vcard/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// A fixture as stored (UID repaired when missing), parsed.
    fn stored(name: &str) -> ParsedCard {
        let opts = IngestOptions {
            repair_uid: true,
            ..IngestOptions::default()
        };
        let card = ingest(&fixture(name), &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        ParsedCard::parse(&card.text)
    }

    fn card(body: &str) -> ParsedCard {
        let text = format!(
            "BEGIN:VCARD\r\n{}\r\nEND:VCARD\r\n",
            body.trim().replace('\n', "\r\n")
        );
        ParsedCard::parse(&text)
    }

    fn prop(name: &str) -> PropFilter {
        PropFilter {
            name: name.to_string(),
            ..PropFilter::default()
        }
    }

    fn texts(name: &str, matches: &[TextMatch]) -> PropFilter {
        PropFilter {
            text_matches: matches.to_vec(),
            ..prop(name)
        }
    }

    fn with(text: &str, match_type: MatchType) -> TextMatch {
        TextMatch {
            match_type,
            ..text_match(text)
        }
    }

    fn param(name: &str, text: Option<&str>) -> ParamFilter {
        ParamFilter {
            name: name.to_string(),
            is_not_defined: false,
            text_match: text.map(text_match),
        }
    }

    fn any(props: Vec<PropFilter>) -> Filter {
        Filter {
            test: Test::AnyOf,
            props,
        }
    }

    fn all(props: Vec<PropFilter>) -> Filter {
        Filter {
            test: Test::AllOf,
            props,
        }
    }

    #[test]
    fn rfc_6352_example_query() {
        // §8.6.4: NICKNAME equals "me" (i;unicode-casemap) or EMAIL contains "example.com".
        let filter = any(vec![
            texts("NICKNAME", &[with("me", MatchType::Equals)]),
            texts("EMAIL", &[text_match("example.com")]),
        ]);
        assert!(filter.matches(&card("VERSION:3.0\nUID:a\nFN:A\nNICKNAME:Me")));
        assert!(filter.matches(&stored("google-contacts-custom-labels-im.vcf")));
        assert!(!filter.matches(&stored("google-contacts-export-single.vcf")));
        assert!(!filter.matches(&card("VERSION:3.0\nUID:a\nFN:A\nNICKNAME:Mel")));
    }

    #[test]
    fn anyof_and_allof_at_the_filter_level() {
        let google = stored("google-contacts-custom-labels-im.vcf");
        let both = vec![
            texts("FN", &[text_match("vcard")]),
            texts("ORG", &[text_match("nobody")]),
        ];
        assert!(any(both.clone()).matches(&google));
        assert!(!all(both).matches(&google));
        assert!(
            any(Vec::new()).matches(&google),
            "no condition matches every card"
        );
        assert!(all(Vec::new()).matches(&google));
    }

    #[test]
    fn prop_filter_conditions_hold_on_one_property() {
        let google = stored("google-contacts-custom-labels-im.vcf");
        let home = |test: Test, text: &str| PropFilter {
            test,
            text_matches: vec![text_match(text)],
            param_filters: vec![param("TYPE", Some("home"))],
            ..prop("EMAIL")
        };
        assert!(any(vec![home(Test::AllOf, "homeemail")]).matches(&google));
        // workemail@ is TYPE=WORK; homeemail@ is TYPE=HOME: no single address is both.
        assert!(!any(vec![home(Test::AllOf, "workemail")]).matches(&google));
        assert!(any(vec![home(Test::AnyOf, "workemail")]).matches(&google));
        // Two text-matches under allof: both on the same address.
        let two = |test| PropFilter {
            test,
            text_matches: vec![text_match("home"), text_match("work")],
            ..prop("EMAIL")
        };
        assert!(!any(vec![two(Test::AllOf)]).matches(&google));
        assert!(any(vec![two(Test::AnyOf)]).matches(&google));
    }

    #[test]
    fn is_not_defined_on_properties_and_parameters() {
        let google = stored("google-contacts-export-single.vcf");
        let missing = |name: &str| PropFilter {
            is_not_defined: true,
            ..prop(name)
        };
        assert!(any(vec![missing("PHOTO")]).matches(&google));
        assert!(!any(vec![missing("NICKNAME")]).matches(&google));
        assert!(any(vec![prop("NICKNAME")]).matches(&google));
        assert!(!any(vec![prop("PHOTO")]).matches(&google));
        // A TEL without TYPE exists (item1.TEL); one with TYPE too.
        let untyped = PropFilter {
            param_filters: vec![ParamFilter {
                is_not_defined: true,
                ..param("TYPE", None)
            }],
            ..prop("TEL")
        };
        assert!(any(vec![untyped.clone()]).matches(&google));
        assert!(!any(vec![untyped]).matches(&card("VERSION:3.0\nUID:a\nFN:A\nTEL;TYPE=CELL:1")));
        let typed = PropFilter {
            param_filters: vec![param("TYPE", None)],
            ..prop("TEL")
        };
        assert!(any(vec![typed.clone()]).matches(&google));
        assert!(!any(vec![typed]).matches(&card("VERSION:3.0\nUID:a\nFN:A\nTEL:1")));
    }

    #[test]
    fn negate_inverts_the_match_on_each_property() {
        let google = stored("google-contacts-export-single.vcf");
        let not = |text: &str| TextMatch {
            negate: true,
            ..text_match(text)
        };
        assert!(!any(vec![texts("FN", &[not("greg")])]).matches(&google));
        assert!(any(vec![texts("FN", &[not("alice")])]).matches(&google));
        // A negated match still needs the property.
        assert!(!any(vec![texts("PHOTO", &[not("x")])]).matches(&google));
    }

    #[test]
    fn match_types_and_unescaped_values() {
        let dummy = card(
            "VERSION:4.0\nUID:a\nFN:Dummy\\, Dummy\nN:Doe;John;Richter,James;;\n\
             CATEGORIES:friends,work",
        );
        let check = |name: &str, text: &str, match_type| {
            any(vec![texts(name, &[with(text, match_type)])]).matches(&dummy)
        };
        assert!(check("FN", "dummy, dummy", MatchType::Equals));
        assert!(check("FN", "DUMMY,", MatchType::StartsWith));
        assert!(check("FN", ", dummy", MatchType::EndsWith));
        assert!(!check("FN", "dummy", MatchType::Equals));
        // Structured and list values: the whole value, and each part.
        assert!(check("N", "doe;john;richter,james;;", MatchType::Equals));
        assert!(check("N", "Doe", MatchType::Equals));
        assert!(check("N", "james", MatchType::Equals));
        assert!(check("CATEGORIES", "work", MatchType::Equals));
        assert!(!check("CATEGORIES", "wor", MatchType::Equals));
    }

    #[test]
    fn collations() {
        let android = {
            let bytes = fixture("android-vcard21-qp-utf8-multi.vcf");
            let chunk = match split_multi(&bytes).into_iter().nth(2) {
                Some(Ok(chunk)) => chunk,
                other => panic!("{other:?}"),
            };
            let opts = IngestOptions {
                repair_uid: true,
                ..IngestOptions::default()
            };
            ParsedCard::parse(&chunk.ingest(&opts).unwrap_or_else(|e| panic!("{e}")).text)
        };
        let fn_matches = |text: &str, collation| {
            let text_match = TextMatch {
                collation,
                ..text_match(text)
            };
            any(vec![texts("FN", &[text_match])]).matches(&android)
        };
        // FN:Ñ Ñ Ñ Ñ Ñ (U+00D1).
        assert!(fn_matches("ñ ñ", Collation::UnicodeCasemap));
        assert!(!fn_matches("ñ ñ", Collation::AsciiCasemap));
        assert!(!fn_matches("ñ ñ", Collation::Octet));
        assert!(fn_matches("Ñ Ñ", Collation::Octet));
        let greg = stored("google-contacts-export-single.vcf");
        let octet = TextMatch {
            collation: Collation::Octet,
            ..text_match("greg")
        };
        assert!(!any(vec![texts("FN", &[octet])]).matches(&greg));
        assert_eq!(
            Collation::from_name("i;unicode-casemap"),
            Some(Collation::UnicodeCasemap)
        );
        assert_eq!(text_match("x").collation, Collation::UnicodeCasemap);
    }

    #[test]
    fn groups_and_labels() {
        let ios = stored("apple-ios5-photo-encoding-b-items.vcf");
        assert!(any(vec![texts("item1.EMAIL", &[text_match("ibm.com")])]).matches(&ios));
        assert!(!any(vec![texts("item2.EMAIL", &[text_match("ibm.com")])]).matches(&ios));
        assert!(any(vec![texts("EMAIL", &[text_match("ibm.com")])]).matches(&ios));
        let label = with("_$!<AssistantPhone>!$_", MatchType::Equals);
        assert!(any(vec![texts("X-ABLabel", &[label])]).matches(&ios));
        // TYPE values are tested one by one: type=HOME;type=pref on item3.ADR.
        let pref = PropFilter {
            param_filters: vec![ParamFilter {
                text_match: Some(with("pref", MatchType::Equals)),
                ..param("TYPE", None)
            }],
            ..prop("ADR")
        };
        assert!(any(vec![pref]).matches(&ios));
    }

    #[test]
    fn kind_and_member_match_in_both_versions() {
        let group = |name: &str| {
            let filter = any(vec![texts("KIND", &[with("group", MatchType::Equals)])]);
            let member = any(vec![texts("MEMBER", &[text_match("uid4")])]);
            let card = stored(name);
            (filter.matches(&card), member.matches(&card))
        };
        assert_eq!(
            group("apple-addressbook-group-x-addressbookserver-members.vcf"),
            (true, true)
        );
        assert_eq!(group("davx5-vcard40-kind-group-member.vcf"), (true, false));
        assert_eq!(group("google-contacts-export-single.vcf"), (false, false));
        // The same card in the other version matches the same filters.
        let bytes = fixture("apple-addressbook-group-x-addressbookserver-members.vcf");
        let text = String::from_utf8_lossy(&bytes);
        let v4 = ParsedCard::parse(&render(&text.replace('\n', "\r\n"), VcardVersion::V4));
        let apple_name = any(vec![texts(
            "X-ADDRESSBOOKSERVER-KIND",
            &[text_match("group")],
        )]);
        assert!(apple_name.matches(&v4));
    }

    #[test]
    fn email_hints() {
        let hint = |filter: &Filter| filter.email_hint();
        let email = |text: &str| texts("EMAIL", &[text_match(text)]);
        assert_eq!(
            hint(&any(vec![email("Bob@Example.org")])),
            Some(EmailHint {
                text: "bob@example.org".into(),
                match_type: MatchType::Contains
            })
        );
        // Under anyof, another prop-filter could match instead: no hint.
        assert_eq!(
            hint(&any(vec![email("bob"), texts("FN", &[text_match("bob")])])),
            None
        );
        // Under allof, the longest EMAIL text.
        let exact = texts("EMAIL", &[with("bob@example.org", MatchType::Equals)]);
        let found = hint(&all(vec![
            texts("FN", &[text_match("b")]),
            email("bob"),
            exact,
        ]));
        assert_eq!(
            found.map(|h| (h.text, h.match_type)),
            Some(("bob@example.org".into(), MatchType::Equals))
        );
        // Negated, not defined, or only one of several conditions under anyof: no hint.
        let negated = TextMatch {
            negate: true,
            ..text_match("bob")
        };
        assert_eq!(hint(&any(vec![texts("EMAIL", &[negated])])), None);
        let missing = PropFilter {
            is_not_defined: true,
            ..prop("EMAIL")
        };
        assert_eq!(hint(&any(vec![missing])), None);
        assert_eq!(
            hint(&any(vec![texts(
                "EMAIL",
                &[text_match("a"), text_match("b")]
            )])),
            None
        );
        let with_param = PropFilter {
            param_filters: vec![param("TYPE", Some("work"))],
            ..email("bob")
        };
        assert_eq!(hint(&any(vec![with_param])), None);
        assert_eq!(hint(&any(vec![prop("EMAIL")])), None);
    }

    /// The hint finds every match: for each filter with a hint and each fixture card it
    /// matches, some indexed address admits the hint.
    #[test]
    fn email_hints_never_lose_a_match() {
        let filters = [
            any(vec![texts("EMAIL", &[text_match("EXAMPLE.COM")])]),
            any(vec![texts(
                "EMAIL",
                &[with("homeemail@example.com", MatchType::Equals)],
            )]),
            any(vec![texts(
                "EMAIL",
                &[with("JOHN.", MatchType::StartsWith)],
            )]),
            all(vec![
                texts("FN", &[text_match("a")]),
                texts("EMAIL", &[with(".com", MatchType::EndsWith)]),
            ]),
            any(vec![texts(
                "EMAIL",
                &[TextMatch {
                    collation: Collation::Octet,
                    ..text_match("company")
                }],
            )]),
        ];
        let opts = IngestOptions {
            repair_uid: true,
            ..IngestOptions::default()
        };
        let mut matched = 0;
        let dir = format!("{}/fixtures/vcard", env!("CARGO_MANIFEST_DIR"));
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".vcf"))
            .collect();
        names.sort();
        for name in names {
            let bytes = fixture(&name);
            for chunk in split_multi(&bytes).into_iter().flatten() {
                let Ok(card) = chunk.ingest(&opts) else {
                    continue;
                };
                let parsed = ParsedCard::parse(&card.text);
                for filter in &filters {
                    let Some(hint) = filter.email_hint() else {
                        panic!("no hint for {filter:?}");
                    };
                    if filter.matches(&parsed) {
                        matched += 1;
                        assert!(
                            card.index.emails.iter().any(|e| hint.admits(e)),
                            "{name}: {hint:?} misses {:?}",
                            card.index.emails
                        );
                    }
                }
            }
        }
        assert!(matched >= 8, "{matched}");
    }

    #[test]
    fn test_attribute_values() {
        assert_eq!(Test::from_attr("anyof"), Some(Test::AnyOf));
        assert_eq!(Test::from_attr("allof"), Some(Test::AllOf));
        assert_eq!(Test::from_attr("oneof"), None);
        assert_eq!(Test::default(), Test::AnyOf);
    }
}
