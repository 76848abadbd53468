//! Loading policy files: TOML walking into segments and rules, and every check across files, with all
//! problems collected as `file:line: message`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use toml::de::DeTable;
use wardgate_types::SegmentName;

use crate::catalog::AttributeCatalog;
use crate::condition::{Conditions, parse_conditions};
use crate::error::{Loc, PolicyErrors, Sink};
use crate::model::{DefaultAction, Outcome, ReasonCode, Rule, RuleMode, RuleOutcome, Segment};
use crate::policy::Policy;
use crate::segment::{SegmentDraft, read_segment};
use crate::walk::{Diag, Val, check_name, parse_document};

const TOP_KEYS: &[&str] = &["policy", "segment", "rule"];
const POLICY_KEYS: &[&str] = &["default", "quarantine_segment"];
const RULE_KEYS: &[&str] = &[
    "name",
    "description",
    "mode",
    "when",
    "unless",
    "segment",
    "reject",
    "quarantine",
];

/// The `*.toml` files directly in `dir`, sorted by name; hidden files are skipped.
pub(crate) fn toml_files(dir: &Path, sink: &mut Sink) -> Vec<(String, String)> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            sink.file(dir, format!("cannot read directory: {e}"));
            return Vec::new();
        }
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                sink.file(dir, format!("cannot read directory: {e}"));
                continue;
            }
        };
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') || !name.ends_with(".toml") {
            continue;
        }
        if entry
            .file_type()
            .is_ok_and(|t| t.is_file() || t.is_symlink())
        {
            names.push(name);
        }
    }
    names.sort();
    let mut files = Vec::with_capacity(names.len());
    for name in names {
        let path = dir.join(&name);
        match fs::read_to_string(&path) {
            Ok(content) => files.push((name, content)),
            Err(e) => sink.file(&path, format!("cannot read: {e}")),
        }
    }
    files
}

pub(crate) fn load_dir(
    dir: &Path,
    catalog: Option<&dyn AttributeCatalog>,
) -> Result<Policy, PolicyErrors> {
    let mut sink = Sink::default();
    let files = toml_files(dir, &mut sink);
    if files.is_empty() && sink.is_empty() {
        sink.file(dir, "no policy files (*.toml) found");
    }
    if !sink.is_empty() {
        return Err(sink.into_errors());
    }
    load_sources(Some(dir), &files, catalog)
}

/// What one `[[rule]]` says, before its segment is resolved.
struct RuleDraft {
    name: String,
    description: Option<String>,
    mode: RuleMode,
    outcome: Option<(RuleOutcome, Loc)>,
    when: Conditions,
    unless: Option<Conditions>,
    loc: Loc,
    /// No error was found in the rule itself.
    clean: bool,
}

#[derive(Default)]
struct Drafts {
    policy_loc: Option<Loc>,
    default: Option<(DefaultAction, Loc)>,
    quarantine_segment: Option<(String, Loc)>,
    segments: Vec<SegmentDraft>,
    rules: Vec<RuleDraft>,
    syntax_errors: bool,
}

/// Loads and checks `files`; with a `catalog`, `request."..."` conditions are checked against it.
pub(crate) fn load_sources(
    dir: Option<&Path>,
    files: &[(String, String)],
    catalog: Option<&dyn AttributeCatalog>,
) -> Result<Policy, PolicyErrors> {
    let mut sink = Sink::default();
    let mut drafts = Drafts::default();
    let mut hasher = Sha256::new();
    for (name, content) in files {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(
            u64::try_from(content.len())
                .unwrap_or(u64::MAX)
                .to_be_bytes(),
        );
        hasher.update(content.as_bytes());
        let path = dir.map_or_else(|| PathBuf::from(name), |d| d.join(name));
        let mut diag = Diag::new(&path, content, &mut sink).with_catalog(catalog);
        match parse_document(&mut diag, content) {
            Some(doc) => read_document(&mut diag, &doc, &mut drafts),
            None => drafts.syntax_errors = true,
        }
    }
    let version = hex::encode(hasher.finalize());
    match check(&mut sink, drafts, version, files) {
        Some(policy) if sink.is_empty() => Ok(policy),
        _ => Err(sink.into_errors()),
    }
}

fn read_document(diag: &mut Diag<'_>, doc: &DeTable<'_>, drafts: &mut Drafts) {
    for (key, v) in doc.iter() {
        match &**key.get_ref() {
            "policy" => read_policy(diag, v, drafts),
            "segment" => {
                for (span, t) in diag.tables("segment", v) {
                    if let Some(s) = read_segment(diag, &span, t) {
                        drafts.segments.push(s);
                    }
                }
            }
            "rule" => {
                for (span, t) in diag.tables("rule", v) {
                    if let Some(r) = read_rule(diag, &span, t) {
                        drafts.rules.push(r);
                    }
                }
            }
            _ => diag.unknown_key(key, "a policy file", TOP_KEYS),
        }
    }
}

fn read_policy(diag: &mut Diag<'_>, v: &Val<'_>, drafts: &mut Drafts) {
    let loc = diag.loc(&v.span());
    if let Some(first) = &drafts.policy_loc {
        diag.error(
            &v.span(),
            format!("[policy] is given twice (first at {first}); give it once"),
        );
        return;
    }
    drafts.policy_loc = Some(loc);
    let Some(t) = diag.table("policy", v) else {
        return;
    };
    for (key, v) in t.iter() {
        let k: &str = key.get_ref();
        match k {
            "default" => {
                if let Some(s) = diag.str(k, v) {
                    let action = match s {
                        "deny" => Some(DefaultAction::Deny),
                        "quarantine" => Some(DefaultAction::Quarantine),
                        _ => None,
                    };
                    match action {
                        Some(a) => drafts.default = Some((a, diag.loc(&v.span()))),
                        None => diag.error(
                            &v.span(),
                            format!("bad default `{s}` (expected \"deny\" or \"quarantine\")"),
                        ),
                    }
                }
            }
            "quarantine_segment" => {
                if let Some(s) = diag.str(k, v)
                    && check_name(diag, &v.span(), "segment", s)
                {
                    drafts.quarantine_segment = Some((s.to_owned(), diag.loc(&v.span())));
                }
            }
            _ => diag.unknown_key(key, "[policy]", POLICY_KEYS),
        }
    }
}

fn read_rule(diag: &mut Diag<'_>, span: &Range<usize>, t: &DeTable<'_>) -> Option<RuleDraft> {
    let errors_before = diag.error_count();
    let mut name = None;
    let mut description = None;
    let mut mode = RuleMode::Enforce;
    let mut when = None;
    let mut unless = None;
    let mut outcomes: Vec<(RuleOutcome, Loc, &str)> = Vec::new();
    let mut name_ok = true;
    // The name first, so that messages about the other keys can say which rule they concern.
    for (key, v) in t.iter() {
        if &**key.get_ref() == "name" {
            name = diag
                .str("name", v)
                .filter(|s| check_name(diag, &v.span(), "rule", s))
                .map(str::to_owned);
            name_ok = name.is_some();
        }
    }
    let label = name.as_deref().unwrap_or("?");
    for (key, v) in t.iter() {
        let k: &str = key.get_ref();
        match k {
            "name" => {}
            "description" => description = diag.str(k, v).map(str::to_owned),
            "mode" => match diag.str(k, v) {
                Some("enforce") => mode = RuleMode::Enforce,
                Some("monitor") => mode = RuleMode::Monitor,
                Some(other) => diag.error(
                    &v.span(),
                    format!("bad mode `{other}` (expected \"enforce\" or \"monitor\")"),
                ),
                None => {}
            },
            "when" | "unless" => {
                if let Some(ct) = diag.table(k, v) {
                    let c = parse_conditions(diag, ct, &format!("`{k}` of rule `{label}`"));
                    if k == "when" {
                        when = Some(c);
                    } else if ct.is_empty() {
                        diag.error(
                            &v.span(),
                            "`unless` is empty, so the rule could never apply",
                        );
                    } else {
                        unless = Some(c);
                    }
                }
            }
            "segment" => {
                if let Some(s) = diag.str(k, v) {
                    outcomes.push((
                        RuleOutcome::Segment(SegmentName::new(s)),
                        diag.loc(&v.span()),
                        "segment",
                    ));
                }
            }
            "reject" | "quarantine" => match diag.bool(k, v) {
                Some(true) => {
                    let o = if k == "reject" {
                        RuleOutcome::Reject
                    } else {
                        RuleOutcome::Quarantine
                    };
                    outcomes.push((o, diag.loc(&v.span()), k));
                }
                Some(false) => diag.error(
                    &v.span(),
                    format!("`{k} = false` is not an outcome; remove the key"),
                ),
                None => {}
            },
            _ => diag.unknown_key(key, &format!("rule `{label}`"), RULE_KEYS),
        }
    }
    let Some(name) = name else {
        if name_ok {
            diag.error(span, "[[rule]] has no `name`");
        }
        return None;
    };
    // Keys come sorted by name; report outcomes in the order they are written.
    outcomes.sort_by_key(|(_, loc, _)| loc.line);
    let outcome = match outcomes.len() {
        0 => {
            diag.error(
                span,
                format!(
                    "rule `{name}` has no outcome: give it one of segment = \"...\", reject = true, quarantine = true"
                ),
            );
            None
        }
        1 => outcomes.pop().map(|(o, loc, _)| (o, loc)),
        _ => {
            let keys: Vec<&str> = outcomes.iter().map(|(_, _, k)| *k).collect();
            diag.error(
                span,
                format!(
                    "rule `{name}` has {} outcomes ({}); give it exactly one",
                    outcomes.len(),
                    keys.join(", ")
                ),
            );
            None
        }
    };
    Some(RuleDraft {
        name,
        description,
        mode,
        outcome,
        when: when.unwrap_or_default(),
        unless,
        loc: diag.loc(span),
        clean: diag.error_count() == errors_before,
    })
}

/// Checks across files and builds the policy. Returns `None` when any error was found.
fn check(
    sink: &mut Sink,
    drafts: Drafts,
    version: String,
    files: &[(String, String)],
) -> Option<Policy> {
    let default = drafts
        .default
        .as_ref()
        .map_or(DefaultAction::Deny, |(d, _)| *d);
    let quarantine_name = drafts
        .quarantine_segment
        .as_ref()
        .map_or("quarantine", |(s, _)| s.as_str())
        .to_owned();

    let mut segments: Vec<Segment> = Vec::with_capacity(drafts.segments.len());
    let mut seen: BTreeMap<String, Loc> = BTreeMap::new();
    for d in drafts.segments {
        let name = d.segment.name.as_str().to_owned();
        if let Some(first) = seen.get(&name) {
            sink.at(
                &d.loc,
                format!("duplicate segment `{name}` (first defined at {first})"),
            );
            continue;
        }
        seen.insert(name, d.loc);
        segments.push(d.segment);
    }
    // Cross-references are only meaningful when every file could be read.
    let resolve = !drafts.syntax_errors;
    let defined = |n: &str| segments.iter().any(|s| s.name.as_str() == n);
    let known_list = || {
        segments
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let quarantine_defined = defined(&quarantine_name);
    if resolve && !quarantine_defined {
        let fix = format!(
            "define a [[segment]] named `{quarantine_name}` or set [policy] quarantine_segment"
        );
        if let Some((_, loc)) = &drafts.quarantine_segment {
            sink.at(
                loc,
                format!("quarantine segment `{quarantine_name}` is not defined; {fix}"),
            );
        } else if let Some((DefaultAction::Quarantine, loc)) = &drafts.default {
            sink.at(
                loc,
                format!(
                    "default = \"quarantine\" but segment `{quarantine_name}` is not defined; {fix}"
                ),
            );
        }
    }

    let mut rules: Vec<Rule> = Vec::with_capacity(drafts.rules.len());
    let mut rule_names: BTreeMap<String, Loc> = BTreeMap::new();
    let mut catch_all: Option<(String, Loc)> = None;
    let mut request_attributes = BTreeSet::new();
    for d in drafts.rules {
        if let Some(first) = rule_names.get(&d.name) {
            sink.at(
                &d.loc,
                format!("duplicate rule `{}` (first defined at {first})", d.name),
            );
            continue;
        }
        rule_names.insert(d.name.clone(), d.loc.clone());
        if let Some((by, at)) = &catch_all {
            sink.at(
                &d.loc,
                format!(
                    "rule `{}` can never match: rule `{by}` ({at}) above it matches every request",
                    d.name
                ),
            );
        }
        if d.clean && d.mode == RuleMode::Enforce && d.when.is_empty() && d.unless.is_none() {
            catch_all.get_or_insert((d.name.clone(), d.loc.clone()));
        }
        let Some((outcome, outcome_loc)) = d.outcome else {
            continue;
        };
        let decided = match &outcome {
            RuleOutcome::Segment(s) => {
                if resolve && !defined(s.as_str()) {
                    sink.at(
                        &outcome_loc,
                        format!(
                            "rule `{}` assigns unknown segment `{s}` (defined: {})",
                            d.name,
                            known_list()
                        ),
                    );
                }
                (Outcome::Segment(s.clone()), ReasonCode::RuleMatched)
            }
            RuleOutcome::Reject => (Outcome::Reject, ReasonCode::RuleRejected),
            RuleOutcome::Quarantine => {
                if resolve && !quarantine_defined {
                    sink.at(
                        &outcome_loc,
                        format!(
                            "rule `{}` quarantines but segment `{quarantine_name}` is not defined; define a [[segment]] named `{quarantine_name}` or set [policy] quarantine_segment",
                            d.name
                        ),
                    );
                }
                (
                    Outcome::Segment(SegmentName::new(quarantine_name.clone())),
                    ReasonCode::RuleQuarantined,
                )
            }
        };
        for c in std::iter::once(&d.when).chain(d.unless.as_ref()) {
            request_attributes.extend(c.request_attributes().map(str::to_owned));
        }
        rules.push(Rule {
            name: d.name,
            description: d.description,
            mode: d.mode,
            outcome,
            when: d.when,
            unless: d.unless,
            decided: decided.0,
            reason: decided.1,
            file: d.loc.file,
            line: d.loc.line,
        });
    }
    if !sink.is_empty() {
        return None;
    }
    Some(Policy {
        version,
        files: files.iter().map(|(n, _)| n.clone()).collect(),
        default,
        quarantine_segment: SegmentName::new(quarantine_name),
        segments,
        rules,
        request_attributes: request_attributes.into_iter().collect(),
    })
}
