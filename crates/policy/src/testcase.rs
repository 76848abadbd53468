//! Policy test cases (`tests/*.toml` beside the policy files): facts in, expected decision out.

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::DeTable;
use wardgate_types::{Labels, MacAddr, SegmentName};

use crate::catalog::{AttributeCatalog, check_request};
use crate::condition::{parse_clock, parse_day};
use crate::error::{PolicyErrors, Sink};
use crate::load::toml_files;
use crate::model::{AuthMethod, CertFacts, Decision, Facts, Outcome, ReasonCode};
use crate::policy::Policy;
use crate::walk::{Diag, Val, parse_document};

const CASE_KEYS: &[&str] = &["name", "facts", "expect"];
const FACT_KEYS: &[&str] = &[
    "method",
    "mac",
    "known",
    "device",
    "nas",
    "nas_vendor",
    "nas_port_type",
    "ssid",
    "user",
    "time",
    "day",
    "request",
    "cert",
];
const CERT_FACT_KEYS: &[&str] = &[
    "subject",
    "issuer",
    "sans",
    "serial",
    "fingerprint",
    "days_to_expiry",
    "key_algorithm",
    "key_bits",
];
const EXPECT_KEYS: &[&str] = &[
    "segment",
    "reject",
    "quarantine",
    "rule",
    "reason",
    "monitored",
];

/// The NAS name of a case that does not give one.
pub const DEFAULT_TEST_NAS: &str = "test-nas";

/// The result of one test case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    pub file: PathBuf,
    pub line: usize,
    pub name: String,
    pub passed: bool,
    /// On success what the policy decided; on failure what was expected and what came instead.
    pub message: String,
}

/// The results of every case, in file then case order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TestReport {
    pub cases: Vec<CaseResult>,
}

impl TestReport {
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.passed).count()
    }

    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }

    pub fn all_passed(&self) -> bool {
        self.cases.iter().all(|c| c.passed)
    }

    pub fn failures(&self) -> impl Iterator<Item = &CaseResult> {
        self.cases.iter().filter(|c| !c.passed)
    }
}

/// Runs the test cases in `dir/tests/*.toml` against `policy`. A missing `tests` directory gives an
/// empty report. Malformed test files are errors (as `file:line: message`), not failed cases.
pub fn run_tests(policy: &Policy, dir: &Path) -> Result<TestReport, PolicyErrors> {
    run_dir(policy, dir, None)
}

/// Like [`run_tests`], and also checks every `request` fact name and value against `catalog`, as
/// [`Policy::load_dir_checked`] does for conditions: a problem is a `file:line` error.
pub fn run_tests_checked(
    policy: &Policy,
    dir: &Path,
    catalog: &dyn AttributeCatalog,
) -> Result<TestReport, PolicyErrors> {
    run_dir(policy, dir, Some(catalog))
}

/// Runs test cases given as (file name, content), in the given order.
pub fn run_test_files(
    policy: &Policy,
    files: &[(String, String)],
) -> Result<TestReport, PolicyErrors> {
    run(policy, None, files, None)
}

/// Like [`run_test_files`], with `request` facts checked against `catalog` as in
/// [`run_tests_checked`].
pub fn run_test_files_checked(
    policy: &Policy,
    files: &[(String, String)],
    catalog: &dyn AttributeCatalog,
) -> Result<TestReport, PolicyErrors> {
    run(policy, None, files, Some(catalog))
}

fn run_dir(
    policy: &Policy,
    dir: &Path,
    catalog: Option<&dyn AttributeCatalog>,
) -> Result<TestReport, PolicyErrors> {
    let tests = dir.join("tests");
    if !tests.is_dir() {
        return Ok(TestReport::default());
    }
    let mut sink = Sink::default();
    let files = toml_files(&tests, &mut sink);
    if !sink.is_empty() {
        return Err(sink.into_errors());
    }
    run(policy, Some(&tests), &files, catalog)
}

/// What a case expects.
struct Expect {
    outcome: Outcome,
    rule: Option<String>,
    reason: Option<ReasonCode>,
    monitored: Option<Vec<String>>,
}

struct Case {
    file: PathBuf,
    line: usize,
    name: String,
    facts: Facts,
    expect: Expect,
}

fn run(
    policy: &Policy,
    dir: Option<&Path>,
    files: &[(String, String)],
    catalog: Option<&dyn AttributeCatalog>,
) -> Result<TestReport, PolicyErrors> {
    let mut sink = Sink::default();
    let mut cases = Vec::new();
    for (name, content) in files {
        let path = dir.map_or_else(|| PathBuf::from(name), |d| d.join(name));
        let mut diag = Diag::new(&path, content, &mut sink).with_catalog(catalog);
        let Some(doc) = parse_document(&mut diag, content) else {
            continue;
        };
        for (key, v) in doc.iter() {
            if &**key.get_ref() == "case" {
                for (span, t) in diag.tables("case", v) {
                    if let Some(c) = read_case(&mut diag, policy, &span, t) {
                        cases.push(c);
                    }
                }
            } else {
                diag.unknown_key(key, "a test file", &["case"]);
            }
        }
    }
    if !sink.is_empty() {
        return Err(sink.into_errors());
    }
    let cases = cases
        .into_iter()
        .map(|c| {
            let decision = policy.evaluate(&c.facts);
            let (passed, message) = judge(&c.expect, &decision);
            CaseResult {
                file: c.file,
                line: c.line,
                name: c.name,
                passed,
                message,
            }
        })
        .collect();
    Ok(TestReport { cases })
}

/// A one-line account of a decision: `segment imaging by rule imaging (rule-matched)`.
pub fn describe(decision: &Decision) -> String {
    let by = match &decision.rule {
        Some(r) => format!("rule `{r}`"),
        None => "the default".to_owned(),
    };
    let mut s = format!("{} by {by} ({})", decision.outcome, decision.reason);
    if !decision.monitored.is_empty() {
        let hits: Vec<String> = decision
            .monitored
            .iter()
            .map(|h| format!("`{}` would give {}", h.rule, h.would))
            .collect();
        s.push_str("; monitored: ");
        s.push_str(&hits.join(", "));
    }
    s
}

fn judge(expect: &Expect, decision: &Decision) -> (bool, String) {
    let mut wrong = Vec::new();
    if decision.outcome != expect.outcome {
        wrong.push(format!("expected {}", expect.outcome));
    }
    if let Some(rule) = &expect.rule
        && decision.rule.as_deref() != Some(rule.as_str())
    {
        wrong.push(format!("expected rule `{rule}`"));
    }
    if let Some(reason) = expect.reason
        && decision.reason != reason
    {
        wrong.push(format!("expected reason {reason}"));
    }
    if let Some(monitored) = &expect.monitored {
        let got: Vec<&str> = decision.monitored.iter().map(|h| h.rule.as_str()).collect();
        if got != monitored.iter().map(String::as_str).collect::<Vec<_>>() {
            wrong.push(format!("expected monitored [{}]", monitored.join(", ")));
        }
    }
    let got = describe(decision);
    if wrong.is_empty() {
        (true, got)
    } else {
        (false, format!("{}; got {got}", wrong.join(", ")))
    }
}

fn read_case(
    diag: &mut Diag<'_>,
    policy: &Policy,
    span: &Range<usize>,
    t: &DeTable<'_>,
) -> Option<Case> {
    let mut name = None;
    let mut facts = None;
    let mut expect = None;
    let mut ok = true;
    for (key, v) in t.iter() {
        let k: &str = key.get_ref();
        match k {
            "name" => name = diag.str(k, v).map(str::to_owned),
            "facts" => facts = diag.table(k, v).and_then(|ft| read_facts(diag, ft)),
            "expect" => expect = read_expect(diag, policy, v),
            _ => {
                diag.unknown_key(key, "[[case]]", CASE_KEYS);
                ok = false;
            }
        }
    }
    let name = name.unwrap_or_default();
    let label = if name.is_empty() { "?" } else { &name };
    if !t.iter().any(|(k, _)| &**k.get_ref() == "name") {
        diag.error(span, "[[case]] has no `name`");
    }
    if !t.iter().any(|(k, _)| &**k.get_ref() == "facts") {
        diag.error(span, format!("case `{label}` has no `facts`"));
    }
    if !t.iter().any(|(k, _)| &**k.get_ref() == "expect") {
        diag.error(span, format!("case `{label}` has no `expect`"));
    }
    let (facts, expect) = (facts?, expect?);
    if !ok || name.is_empty() {
        return None;
    }
    Some(Case {
        file: diag.path().to_path_buf(),
        line: diag.loc(span).line,
        name,
        facts,
        expect,
    })
}

/// The `cert` table of a case's facts. Not given: empty strings and no SANs, 365 days to expiry,
/// an RSA key of 2048 bits.
fn read_cert(diag: &mut Diag<'_>, t: &DeTable<'_>) -> Option<CertFacts> {
    let mut c = CertFacts {
        days_to_expiry: 365,
        key_algorithm: "rsa".into(),
        key_bits: 2048,
        ..CertFacts::default()
    };
    let mut ok = true;
    for (key, v) in t.iter() {
        let k: &str = key.get_ref();
        let full = format!("cert.{k}");
        let mut string = |diag: &mut Diag<'_>, v: &Val<'_>| {
            let s = diag.str(&full, v).map(str::to_owned);
            ok &= s.is_some();
            s.unwrap_or_default()
        };
        match k {
            "subject" => c.subject = string(diag, v),
            "issuer" => c.issuer = string(diag, v),
            "serial" => c.serial = string(diag, v),
            "key_algorithm" => c.key_algorithm = string(diag, v),
            "fingerprint" => {
                c.fingerprint_sha256 = string(diag, v)
                    .chars()
                    .filter(|ch| *ch != ':')
                    .map(|ch| ch.to_ascii_lowercase())
                    .collect();
            }
            "sans" => match diag.str_or_list(&full, v) {
                Some(items) => c.sans = items.into_iter().map(|(s, _)| s.to_owned()).collect(),
                None => ok = false,
            },
            "days_to_expiry" => match diag.int(&full, v) {
                Some(n) => c.days_to_expiry = n,
                None => ok = false,
            },
            "key_bits" => match diag.int(&full, v).map(u32::try_from) {
                Some(Ok(n)) => c.key_bits = n,
                Some(Err(_)) => {
                    diag.error(&v.span(), format!("`{full}` is out of range"));
                    ok = false;
                }
                None => ok = false,
            },
            _ => {
                diag.unknown_key(key, "`facts.cert`", CERT_FACT_KEYS);
                ok = false;
            }
        }
    }
    ok.then_some(c)
}

fn read_facts(diag: &mut Diag<'_>, t: &DeTable<'_>) -> Option<Facts> {
    let mut ok = true;
    let mut method = None;
    let mut facts = Facts::new(AuthMethod::Mab, DEFAULT_TEST_NAS, "");
    facts.minute_of_day = 12 * 60;
    facts.weekday = 2;
    let mut known = None;
    for (key, v) in t.iter() {
        let k: &str = key.get_ref();
        let mut string = |diag: &mut Diag<'_>, v: &Val<'_>| {
            let s = diag.str(k, v).map(str::to_owned);
            ok &= s.is_some();
            s
        };
        match k {
            "method" => {
                if let Some(s) = string(diag, v) {
                    match s.parse::<AuthMethod>() {
                        Ok(m) => method = Some(m),
                        Err(e) => {
                            diag.error(&v.span(), e.to_string());
                            ok = false;
                        }
                    }
                }
            }
            "mac" => {
                if let Some(s) = string(diag, v) {
                    match MacAddr::parse(&s) {
                        Ok(m) => facts.mac = Some(m),
                        Err(e) => {
                            diag.error(&v.span(), format!("bad `mac`: {e}"));
                            ok = false;
                        }
                    }
                }
            }
            "known" => {
                known = diag.bool(k, v);
                ok &= known.is_some();
            }
            "device" => match diag.table(k, v) {
                Some(dt) => {
                    let mut labels = Labels::new();
                    for (lk, lv) in dt.iter() {
                        match diag.str(&format!("device.{}", lk.get_ref()), lv) {
                            Some(s) => {
                                labels.insert(lk.get_ref().to_string(), s.to_owned());
                            }
                            None => ok = false,
                        }
                    }
                    facts.device = Some(std::sync::Arc::new(labels));
                }
                None => ok = false,
            },
            "nas" => facts.nas = string(diag, v).unwrap_or_default(),
            "nas_vendor" => facts.nas_vendor = string(diag, v).unwrap_or_default(),
            "nas_port_type" => facts.nas_port_type = string(diag, v),
            "ssid" => facts.ssid = string(diag, v),
            "user" => facts.user = string(diag, v),
            "time" => {
                if let Some(s) = string(diag, v) {
                    match parse_clock(&s, false) {
                        Some(m) => facts.minute_of_day = m,
                        None => {
                            diag.error(&v.span(), format!("bad `time` `{s}` (expected HH:MM)"));
                            ok = false;
                        }
                    }
                }
            }
            "day" => {
                if let Some(s) = string(diag, v) {
                    match parse_day(&s) {
                        Some(d) => facts.weekday = d,
                        None => {
                            diag.error(
                                &v.span(),
                                format!("bad `day` `{s}` (expected mon, tue, ..., sun)"),
                            );
                            ok = false;
                        }
                    }
                }
            }
            "request" => match diag.table(k, v) {
                Some(rt) => {
                    for (rk, rv) in rt.iter() {
                        let name: &str = rk.get_ref();
                        match diag.str(&format!("request.{name}"), rv) {
                            Some(s) => {
                                if check_request(diag, name, &rk.span(), &[(s, rv.span())]) {
                                    facts
                                        .request
                                        .entry(name.to_owned())
                                        .or_default()
                                        .push(s.to_owned());
                                } else {
                                    ok = false;
                                }
                            }
                            None => ok = false,
                        }
                    }
                }
                None => ok = false,
            },
            "cert" => match diag.table(k, v) {
                Some(ct) => match read_cert(diag, ct) {
                    Some(c) => facts.cert = Some(c),
                    None => ok = false,
                },
                None => ok = false,
            },
            _ => {
                diag.unknown_key(key, "`facts`", FACT_KEYS);
                ok = false;
            }
        }
    }
    match (known, facts.device.is_some()) {
        (Some(true), false) => facts.device = Some(std::sync::Arc::new(Labels::new())),
        (Some(false), true) => {
            let span = t
                .iter()
                .find(|(k, _)| &**k.get_ref() == "known")
                .map_or(0..0, |(k, _)| k.span());
            diag.error(
                &span,
                "`known = false` contradicts `device` (a device makes it known)",
            );
            ok = false;
        }
        _ => {}
    }
    match method {
        Some(m) => facts.method = m,
        None if ok => {
            let span = t.iter().next().map_or(0..0, |(k, _)| k.span());
            diag.error(&span, "`facts` has no `method`");
            ok = false;
        }
        None => {}
    }
    ok.then_some(facts)
}

fn read_expect(diag: &mut Diag<'_>, policy: &Policy, v: &Val<'_>) -> Option<Expect> {
    let t = diag.table("expect", v)?;
    let mut ok = true;
    let mut outcomes = Vec::new();
    let mut rule = None;
    let mut reason = None;
    let mut monitored = None;
    let rule_exists = |diag: &mut Diag<'_>, name: &str, span: &Range<usize>| {
        let exists = policy.rule(name).is_some();
        if !exists {
            diag.error(span, format!("no rule named `{name}` in the policy"));
        }
        exists
    };
    for (key, v) in t.iter() {
        let k: &str = key.get_ref();
        match k {
            "segment" => match diag.str(k, v) {
                Some(s) if policy.segment(s).is_some() => {
                    outcomes.push(Outcome::Segment(SegmentName::new(s)));
                }
                Some(s) => {
                    diag.error(&v.span(), format!("no segment named `{s}` in the policy"));
                    ok = false;
                }
                None => ok = false,
            },
            "reject" | "quarantine" => match diag.bool(k, v) {
                Some(true) if k == "reject" => outcomes.push(Outcome::Reject),
                Some(true) => {
                    outcomes.push(Outcome::Segment(policy.quarantine_segment().clone()));
                }
                Some(false) => {
                    diag.error(&v.span(), format!("`{k} = false` is not an outcome"));
                    ok = false;
                }
                None => ok = false,
            },
            "rule" => match diag.str(k, v) {
                Some(s) if rule_exists(diag, s, &v.span()) => rule = Some(s.to_owned()),
                _ => ok = false,
            },
            "reason" => match diag.str(k, v) {
                Some(s) => match ReasonCode::parse(s) {
                    Some(r) => reason = Some(r),
                    None => {
                        let codes: Vec<&str> = ReasonCode::ALL.iter().map(|r| r.as_str()).collect();
                        diag.error(
                            &v.span(),
                            format!(
                                "unknown reason `{s}` (expected one of: {})",
                                codes.join(", ")
                            ),
                        );
                        ok = false;
                    }
                },
                None => ok = false,
            },
            "monitored" => {
                let mut names = Vec::new();
                match v.get_ref() {
                    toml::de::DeValue::Array(items) => {
                        for item in items.iter() {
                            match diag.str("monitored", item) {
                                Some(s) if rule_exists(diag, s, &item.span()) => {
                                    names.push(s.to_owned());
                                }
                                _ => ok = false,
                            }
                        }
                        monitored = Some(names);
                    }
                    _ => {
                        diag.error(&v.span(), "`monitored` must be a list of rule names");
                        ok = false;
                    }
                }
            }
            _ => {
                diag.unknown_key(key, "`expect`", EXPECT_KEYS);
                ok = false;
            }
        }
    }
    if ok && outcomes.len() != 1 {
        diag.error(
            &v.span(),
            "`expect` needs exactly one of segment = \"...\", reject = true, quarantine = true",
        );
        ok = false;
    }
    let outcome = outcomes.pop().filter(|_| ok)?;
    Some(Expect {
        outcome,
        rule,
        reason,
        monitored,
    })
}
