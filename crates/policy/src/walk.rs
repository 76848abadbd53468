//! Typed reads from a parsed TOML document with spans, reporting every type mismatch or unknown key
//! as a `file:line` error instead of stopping at the first one.

use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use crate::catalog::AttributeCatalog;
use crate::error::{LineIndex, Loc, Sink};

pub(crate) type Val<'i> = Spanned<DeValue<'i>>;
pub(crate) type Key<'i> = Spanned<DeString<'i>>;

/// The error context of one file: its line index, the shared error sink and the attribute catalog
/// that `request."..."` names and values are checked against (none: no check).
pub(crate) struct Diag<'s> {
    index: LineIndex,
    sink: &'s mut Sink,
    catalog: Option<&'s dyn AttributeCatalog>,
}

/// Parses `content` as a TOML document; a syntax error is reported and yields `None`.
pub(crate) fn parse_document<'i>(diag: &mut Diag<'_>, content: &'i str) -> Option<DeTable<'i>> {
    match DeTable::parse(content) {
        Ok(table) => Some(table.into_inner()),
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            diag.error(&span, format!("TOML syntax error: {}", e.message()));
            None
        }
    }
}

impl<'s> Diag<'s> {
    pub fn new(path: &Path, content: &str, sink: &'s mut Sink) -> Self {
        Self {
            index: LineIndex::new(path, content),
            sink,
            catalog: None,
        }
    }

    pub fn with_catalog(mut self, catalog: Option<&'s dyn AttributeCatalog>) -> Self {
        self.catalog = catalog;
        self
    }

    pub fn catalog(&self) -> Option<&'s dyn AttributeCatalog> {
        self.catalog
    }

    pub fn loc(&self, span: &Range<usize>) -> Loc {
        self.index.loc(span)
    }

    pub fn path(&self) -> &Path {
        self.index.path()
    }

    pub fn error(&mut self, span: &Range<usize>, message: impl Into<String>) {
        let loc = self.index.loc(span);
        self.sink.at(&loc, message);
    }

    /// How many errors have been reported so far (in every file).
    pub fn error_count(&self) -> usize {
        self.sink.len()
    }

    pub fn unknown_key(&mut self, key: &Key<'_>, context: &str, allowed: &[&str]) {
        self.error(
            &key.span(),
            format!(
                "unknown key `{}` in {context} (expected one of: {})",
                key.get_ref(),
                allowed.join(", ")
            ),
        );
    }

    fn wrong_type(&mut self, key: &str, v: &Val<'_>, expected: &str) {
        self.error(
            &v.span(),
            format!(
                "`{key}` must be {expected}, found {}",
                v.get_ref().type_str()
            ),
        );
    }

    pub fn str<'v>(&mut self, key: &str, v: &'v Val<'_>) -> Option<&'v str> {
        match v.get_ref() {
            DeValue::String(s) => Some(s.as_ref()),
            _ => {
                self.wrong_type(key, v, "a string");
                None
            }
        }
    }

    pub fn bool(&mut self, key: &str, v: &Val<'_>) -> Option<bool> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(key, v, "true or false");
                None
            }
        }
    }

    pub fn int(&mut self, key: &str, v: &Val<'_>) -> Option<i64> {
        match v.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Some(n),
                Err(_) => {
                    self.error(&v.span(), format!("`{key}` is out of range"));
                    None
                }
            },
            _ => {
                self.wrong_type(key, v, "an integer");
                None
            }
        }
    }

    pub fn table<'v, 'i>(&mut self, key: &str, v: &'v Val<'i>) -> Option<&'v DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.wrong_type(key, v, "a table");
                None
            }
        }
    }

    /// An array of tables (`[[key]]`), or a single table taken as an array of one.
    pub fn tables<'v, 'i>(
        &mut self,
        key: &str,
        v: &'v Val<'i>,
    ) -> Vec<(Range<usize>, &'v DeTable<'i>)> {
        match v.get_ref() {
            DeValue::Table(t) => vec![(v.span(), t)],
            DeValue::Array(items) => items
                .iter()
                .filter_map(|item| match item.get_ref() {
                    DeValue::Table(t) => Some((item.span(), t)),
                    _ => {
                        self.wrong_type(key, item, "a table");
                        None
                    }
                })
                .collect(),
            _ => {
                self.wrong_type(key, v, "an array of tables (`[[...]]`)");
                Vec::new()
            }
        }
    }

    /// A string or a non-empty array of strings, each with its span.
    pub fn str_or_list<'v>(
        &mut self,
        key: &str,
        v: &'v Val<'_>,
    ) -> Option<Vec<(&'v str, Range<usize>)>> {
        match v.get_ref() {
            DeValue::String(s) => Some(vec![(s.as_ref(), v.span())]),
            DeValue::Array(items) => {
                if items.is_empty() {
                    self.error(
                        &v.span(),
                        format!("`{key}` is an empty list, which can never match"),
                    );
                    return None;
                }
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::String(s) => out.push((s.as_ref(), item.span())),
                        _ => {
                            self.wrong_type(key, item, "a string or a list of strings");
                            ok = false;
                        }
                    }
                }
                ok.then_some(out)
            }
            _ => {
                self.wrong_type(key, v, "a string or a list of strings");
                None
            }
        }
    }
}

/// Names of segments and rules: letters, digits, `-`, `_`, `.`; they appear in logs and reports.
pub(crate) fn check_name(diag: &mut Diag<'_>, span: &Range<usize>, what: &str, name: &str) -> bool {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        diag.error(
            span,
            format!("bad {what} name `{name}` (use letters, digits, `-`, `_` and `.`)"),
        );
    }
    ok
}
