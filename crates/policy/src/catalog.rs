//! Checking `request."Attr-Name"` names and values against the RADIUS attributes the server knows.

use std::ops::Range;

use crate::walk::Diag;

/// Knows the RADIUS attributes the server can show to the policy (implemented by the server over its
/// dictionary). Given to [`Policy::load_dir_checked`](crate::Policy::load_dir_checked) and friends,
/// it turns a misspelt `request."Attr-Name"` or an enumerated value that can never match into a
/// `file:line` load error.
pub trait AttributeCatalog {
    /// `Err(message)` when `name` is not a known attribute (the message may suggest a close name).
    fn check_name(&self, name: &str) -> Result<(), String>;

    /// `Err(message)` when `value` can never be a printable value of attribute `name` (for example an
    /// enumerated attribute whose VALUE names don't include it). Only called for names `check_name`
    /// accepted. Patterns ending in `*` (a prefix match; `"*"` alone matches any value) are passed as
    /// written, trailing `*` included: the implementation decides, usually by checking only the
    /// prefix or accepting them.
    fn check_value(&self, name: &str, value: &str) -> Result<(), String>;
}

/// Checks one `request."name"` and its values (each with its span) against the file's catalog, if
/// any, reporting problems at the key or the value. Returns false when a problem was reported.
pub(crate) fn check_request(
    diag: &mut Diag<'_>,
    name: &str,
    name_span: &Range<usize>,
    values: &[(&str, Range<usize>)],
) -> bool {
    let Some(catalog) = diag.catalog() else {
        return true;
    };
    if let Err(msg) = catalog.check_name(name) {
        diag.error(name_span, format!("`request.\"{name}\"`: {msg}"));
        return false;
    }
    let mut ok = true;
    for (value, span) in values {
        if let Err(msg) = catalog.check_value(name, value) {
            diag.error(span, format!("`request.\"{name}\"` = \"{value}\": {msg}"));
            ok = false;
        }
    }
    ok
}
