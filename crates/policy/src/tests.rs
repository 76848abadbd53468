//! Decision tables over the shipped policies, the shipped test cases, and one negative test per
//! load-time check with its `file:line`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use wardgate_types::{Labels, MacAddr, SegmentName};

use crate::*;

fn shipped_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies")
}

fn shipped() -> Policy {
    match Policy::load_dir(&shipped_dir()) {
        Ok(p) => p,
        Err(e) => panic!("shipped policies do not load:\n{e}"),
    }
}

fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, c)| ((*n).to_owned(), (*c).to_owned()))
        .collect()
}

const SEGMENTS: &str = r#"[policy]
default = "deny"

[[segment]]
name = "clinical-iot"
vlan = 110

[[segment]]
name = "quarantine"
vlan = 999
session_timeout = "30m"
"#;

/// Loads `rules` after a small segments file and returns the error lines.
fn errors_of(rules: &str) -> Vec<String> {
    errors_of_files(&[("00-segments.toml", SEGMENTS), ("10-rules.toml", rules)])
}

fn errors_of_files(list: &[(&str, &str)]) -> Vec<String> {
    match Policy::load_files(&files(list)) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.errors().iter().map(ToString::to_string).collect(),
    }
}

fn assert_error(errors: &[String], needle: &str) {
    assert!(
        errors.iter().any(|e| e.contains(needle)),
        "no error containing {needle:?} in:\n{}",
        errors.join("\n")
    );
}

fn load(rules: &str) -> Policy {
    match Policy::load_files(&files(&[
        ("00-segments.toml", SEGMENTS),
        ("10-rules.toml", rules),
    ])) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn mab(mac: &str, device: Option<Labels>, nas: &str, port: &str) -> Facts {
    let mut f = Facts::new(AuthMethod::Mab, nas, "aruba");
    f.mac = Some(MacAddr::parse(mac).unwrap());
    f.device = device.map(std::sync::Arc::new);
    f.nas_port_type = Some(port.to_owned());
    f.minute_of_day = 12 * 60;
    f.weekday = 2;
    f
}

fn seg(name: &str) -> Outcome {
    Outcome::Segment(SegmentName::new(name))
}

// ---- shipped policies -------------------------------------------------------------------------

#[test]
fn shipped_policies_load_with_segments_and_rules() {
    let p = shipped();
    assert_eq!(p.version().len(), 64);
    assert_eq!(
        p.files().first().map(String::as_str),
        Some("00-segments.toml")
    );
    let clinical = p.segment("clinical-iot").unwrap();
    assert_eq!(clinical.vlan.map(u16::from), Some(110));
    assert_eq!(clinical.role_for("aruba"), Some("wg-clinical-iot"));
    assert_eq!(clinical.filter_id.as_deref(), Some("clinical-iot"));
    assert_eq!(clinical.session_timeout, Some(12 * 3600));
    assert_eq!(p.segment("quarantine").unwrap().session_timeout, Some(1800));
    assert_eq!(p.quarantine_segment().as_str(), "quarantine");
    assert_eq!(p.default_action(), DefaultAction::Deny);
    assert_eq!(p.request_attributes(), vec!["Service-Type".to_owned()]);
    let monitor: Vec<&str> = p
        .rules()
        .iter()
        .filter(|r| r.mode() == RuleMode::Monitor)
        .map(Rule::name)
        .collect();
    assert_eq!(monitor, ["imaging-radiology-only"]);
    let first = &p.rules()[0];
    assert_eq!(first.name(), "admin-logins");
    assert!(first.file().ends_with("10-guards.toml"));
    assert!(first.line() > 0);
}

#[test]
fn shipped_test_cases_pass_and_cover_every_rule() {
    let p = shipped();
    let report = run_tests(&p, &shipped_dir()).unwrap();
    let failures: Vec<String> = report
        .failures()
        .map(|c| format!("{}:{}: {}: {}", c.file.display(), c.line, c.name, c.message))
        .collect();
    assert!(
        failures.is_empty(),
        "failing cases:\n{}",
        failures.join("\n")
    );
    assert!(report.cases.len() >= 30, "{} cases", report.cases.len());
    // Every rule decides or is monitored in at least one case.
    for rule in p.rules() {
        let covered = report
            .cases
            .iter()
            .any(|c| c.message.contains(&format!("`{}`", rule.name())));
        assert!(covered, "rule `{}` has no test case", rule.name());
    }
}

#[test]
fn shipped_decision_table() {
    let p = shipped();
    let pump = labels(&[
        ("role", "infusion-pump"),
        ("sensitivity", "ephi"),
        ("location", "icu-1"),
    ]);
    let cases: Vec<(&str, Facts, Outcome, Option<&str>, ReasonCode)> = vec![
        (
            "pump",
            mab(
                "00-09-FB-00-00-01",
                Some(pump.clone()),
                "icu-sw-01",
                "Ethernet",
            ),
            seg("clinical-iot"),
            Some("clinical-iot"),
            ReasonCode::RuleMatched,
        ),
        (
            "unknown wired",
            mab("00-1C-42-00-00-01", None, "ward-sw", "Ethernet"),
            seg("quarantine"),
            Some("unknown-devices"),
            ReasonCode::RuleQuarantined,
        ),
        (
            "randomized wired, even a pump",
            mab("DA-A1-19-00-00-01", Some(pump), "icu-sw-01", "Ethernet"),
            seg("quarantine"),
            Some("randomized-mac-wired"),
            ReasonCode::RuleQuarantined,
        ),
        (
            "known, unplaced role",
            mab(
                "00-1C-42-00-00-02",
                Some(labels(&[("role", "toaster")])),
                "x",
                "Ethernet",
            ),
            Outcome::Reject,
            None,
            ReasonCode::DefaultDeny,
        ),
    ];
    for (what, facts, outcome, rule, reason) in cases {
        let d = p.evaluate(&facts);
        assert_eq!(d.outcome, outcome, "{what}");
        assert_eq!(d.rule.as_deref(), rule, "{what}");
        assert_eq!(d.reason, reason, "{what}");
    }
}

#[test]
fn shipped_time_of_day_window() {
    let p = shipped();
    let laptop = Some(labels(&[("role", "vendor-laptop")]));
    let at = |day: u8, h: u16, m: u16| {
        let mut f = mab("00-21-CC-00-00-01", laptop.clone(), "bms-sw-01", "Ethernet");
        f.weekday = day;
        f.minute_of_day = h * 60 + m;
        p.evaluate(&f).outcome
    };
    assert_eq!(at(0, 7, 0), seg("vendor-maintenance"));
    assert_eq!(at(4, 18, 59), seg("vendor-maintenance"));
    assert_eq!(at(1, 19, 0), Outcome::Reject);
    assert_eq!(at(0, 6, 59), Outcome::Reject);
    assert_eq!(at(5, 10, 0), Outcome::Reject);
    assert_eq!(at(6, 10, 0), Outcome::Reject);
}

#[test]
fn shipped_monitor_rule_records_but_does_not_decide() {
    let p = shipped();
    let us = labels(&[("role", "modality"), ("location", "ward-7b")]);
    let d = p.evaluate(&mab(
        "00-80-C8-00-00-01",
        Some(us),
        "wlc",
        "Wireless-802.11",
    ));
    assert_eq!(d.outcome, seg("imaging"));
    assert_eq!(d.rule.as_deref(), Some("imaging"));
    assert_eq!(
        d.monitored,
        vec![MonitorHit {
            rule: "imaging-radiology-only".into(),
            would: seg("quarantine"),
        }]
    );
    let ct = labels(&[("role", "modality"), ("location", "radiology-ct-1")]);
    let d = p.evaluate(&mab("00-80-C8-00-00-02", Some(ct), "rad-sw", "Ethernet"));
    assert_eq!(d.outcome, seg("imaging"));
    assert!(d.monitored.is_empty());
}

#[test]
fn version_hashes_names_and_contents_in_order() {
    let a = Policy::load_files(&files(&[("00-segments.toml", SEGMENTS)])).unwrap();
    let b = Policy::load_files(&files(&[("00-segments.toml", SEGMENTS)])).unwrap();
    assert_eq!(a.version(), b.version());
    let renamed = Policy::load_files(&files(&[("01-segments.toml", SEGMENTS)])).unwrap();
    assert_ne!(a.version(), renamed.version());
    let edited = format!("{SEGMENTS}\n# a comment\n");
    let c = Policy::load_files(&files(&[("00-segments.toml", &edited)])).unwrap();
    assert_ne!(a.version(), c.version());
    assert!(a.version().chars().all(|c| c.is_ascii_hexdigit()));
}

// ---- conditions -------------------------------------------------------------------------------

#[test]
fn conditions_cover_every_fact() {
    let p = load(
        r#"
[[rule]]
name = "everything"
segment = "clinical-iot"
[rule.when]
method = ["mab", "eap-tls"]
known = true
mac_local = false
device.role = "pump"
device.location = "icu-*"
nas = ["icu-sw-*", "core"]
nas_vendor = "aruba"
nas_port_type = "Ethernet"
user = "host/*"
request."Cisco-AVPair" = "audit-session-id=*"
time = ["07:00-12:00", "13:00-19:00"]
days = ["mon-fri"]
"#,
    );
    assert_eq!(p.request_attributes(), vec!["Cisco-AVPair".to_owned()]);
    let base = || {
        let mut f = mab(
            "00-09-FB-00-00-01",
            Some(labels(&[("role", "pump"), ("location", "icu-2")])),
            "icu-sw-3",
            "Ethernet",
        );
        f.user = Some("host/pump1".into());
        f.request = BTreeMap::from([(
            "Cisco-AVPair".into(),
            vec![
                "service-type=call-check".into(),
                "audit-session-id=0A0B".into(),
            ],
        )]);
        f.minute_of_day = 8 * 60;
        f
    };
    assert_eq!(p.evaluate(&base()).rule.as_deref(), Some("everything"));
    type Change = Box<dyn Fn(&mut Facts)>;
    let misses: Vec<(&str, Change)> = vec![
        ("method", Box::new(|f| f.method = AuthMethod::Peap)),
        ("unknown", Box::new(|f| f.device = None)),
        (
            "mac local",
            Box::new(|f| f.mac = Some(MacAddr::parse("02-00-00-00-00-01").unwrap())),
        ),
        ("no mac", Box::new(|f| f.mac = None)),
        (
            "role",
            Box::new(|f| {
                f.device = Some(std::sync::Arc::new(labels(&[
                    ("role", "pumpx"),
                    ("location", "icu-2"),
                ])))
            }),
        ),
        (
            "no location",
            Box::new(|f| f.device = Some(std::sync::Arc::new(labels(&[("role", "pump")])))),
        ),
        ("nas", Box::new(|f| f.nas = "ward-sw".into())),
        ("vendor", Box::new(|f| f.nas_vendor = "cisco".into())),
        (
            "port type",
            Box::new(|f| f.nas_port_type = Some("Wireless-802.11".into())),
        ),
        ("no port type", Box::new(|f| f.nas_port_type = None)),
        ("user", Box::new(|f| f.user = Some("alice".into()))),
        ("no user", Box::new(|f| f.user = None)),
        ("request", Box::new(|f| f.request.clear())),
        ("lunch", Box::new(|f| f.minute_of_day = 12 * 60 + 30)),
        ("evening", Box::new(|f| f.minute_of_day = 19 * 60)),
        ("sunday", Box::new(|f| f.weekday = 6)),
    ];
    for (what, change) in misses {
        let mut f = base();
        change(&mut f);
        let d = p.evaluate(&f);
        assert_eq!(d.reason, ReasonCode::DefaultDeny, "{what} should not match");
        assert_eq!(d.outcome, Outcome::Reject, "{what}");
    }
}

#[test]
fn unless_skips_the_rule_only_when_all_its_conditions_hold() {
    let p = load(
        r#"
[[rule]]
name = "pumps-except-test-in-icu"
when = { device.role = "pump" }
unless = { device.environment = "test", device.location = "icu-*" }
segment = "clinical-iot"
"#,
    );
    let eval = |pairs: &[(&str, &str)]| {
        p.evaluate(&mab(
            "00-09-FB-00-00-01",
            Some(labels(pairs)),
            "n",
            "Ethernet",
        ))
        .outcome
    };
    assert_eq!(eval(&[("role", "pump")]), seg("clinical-iot"));
    assert_eq!(
        eval(&[("role", "pump"), ("environment", "test")]),
        seg("clinical-iot")
    );
    assert_eq!(
        eval(&[
            ("role", "pump"),
            ("environment", "test"),
            ("location", "icu-1")
        ]),
        Outcome::Reject
    );
}

#[test]
fn time_range_wraps_past_midnight() {
    let p = load(
        r#"
[[rule]]
name = "night"
when = { time = "22:00-06:00" }
segment = "clinical-iot"
"#,
    );
    let at = |m: u16| {
        let mut f = mab("00-09-FB-00-00-01", None, "n", "Ethernet");
        f.minute_of_day = m;
        p.evaluate(&f).outcome
    };
    assert_eq!(at(22 * 60), seg("clinical-iot"));
    assert_eq!(at(0), seg("clinical-iot"));
    assert_eq!(at(5 * 60 + 59), seg("clinical-iot"));
    assert_eq!(at(6 * 60), Outcome::Reject);
    assert_eq!(at(21 * 60 + 59), Outcome::Reject);
}

#[test]
fn default_quarantine_and_monitor_hits_without_a_deciding_rule() {
    let p = Policy::load_files(&files(&[(
        "p.toml",
        r#"[policy]
default = "quarantine"
quarantine_segment = "q"

[[segment]]
name = "q"
vlan = 999

[[rule]]
name = "trial-reject"
mode = "monitor"
when = { known = false }
reject = true
"#,
    )]))
    .unwrap();
    let d = p.evaluate(&mab("00-09-FB-00-00-01", None, "n", "Ethernet"));
    assert_eq!(d.outcome, seg("q"));
    assert_eq!(d.rule, None);
    assert_eq!(d.reason, ReasonCode::DefaultQuarantine);
    assert_eq!(d.reason.as_str(), "default-quarantine");
    assert_eq!(
        d.monitored,
        vec![MonitorHit {
            rule: "trial-reject".into(),
            would: Outcome::Reject,
        }]
    );
}

#[test]
fn reason_codes_and_methods_are_stable_strings() {
    let codes: Vec<&str> = ReasonCode::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(
        codes,
        [
            "rule-matched",
            "rule-reject",
            "rule-quarantine",
            "default-deny",
            "default-quarantine"
        ]
    );
    for m in AuthMethod::ALL {
        assert_eq!(m.as_str().parse::<AuthMethod>().unwrap(), m);
    }
    assert!("pap".parse::<AuthMethod>().is_err());
}

// ---- validation errors, each with its file:line ----------------------------------------------

#[test]
fn toml_syntax_error_names_file_and_line() {
    let errors = errors_of("[[rule]]\nname = \"a\"\nsegment = clinical-iot\n");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_error(&errors, "10-rules.toml:3: TOML syntax error");
}

#[test]
fn unknown_keys_are_reported_everywhere_at_once() {
    let errors = errors_of(
        r#"[[rule]]
name = "a"
segmnet = "clinical-iot"
segment = "clinical-iot"
when = { methd = "mab" }

[[rule]]
name = "b"
reject = true
[rule.unless]
ssid = "x"
colour = "red"

[extra]
x = 1
"#,
    );
    assert_error(
        &errors,
        "10-rules.toml:3: unknown key `segmnet` in rule `a`",
    );
    assert_error(
        &errors,
        "10-rules.toml:5: unknown key `methd` in `when` of rule `a`",
    );
    assert_error(
        &errors,
        "10-rules.toml:12: unknown key `colour` in `unless` of rule `b`",
    );
    assert_error(
        &errors,
        "10-rules.toml:14: unknown key `extra` in a policy file",
    );
    assert_eq!(errors.len(), 4, "{errors:?}");
}

#[test]
fn unknown_segment_key_and_policy_key() {
    let errors = errors_of_files(&[(
        "00-segments.toml",
        "[policy]\ndefualt = \"deny\"\n\n[[segment]]\nname = \"a\"\nvlan = 10\nvlna = 11\n",
    )]);
    assert_error(
        &errors,
        "00-segments.toml:2: unknown key `defualt` in [policy]",
    );
    assert_error(
        &errors,
        "00-segments.toml:7: unknown key `vlna` in [[segment]]",
    );
}

#[test]
fn duplicate_segment_and_rule_names() {
    let errors = errors_of_files(&[
        ("00-segments.toml", SEGMENTS),
        (
            "05-more.toml",
            "[[segment]]\nname = \"clinical-iot\"\nvlan = 111\n",
        ),
        (
            "10-rules.toml",
            "[[rule]]\nname = \"a\"\nreject = true\nwhen = { known = true }\n\n[[rule]]\nname = \"a\"\nreject = true\n",
        ),
    ]);
    assert_error(
        &errors,
        "05-more.toml:1: duplicate segment `clinical-iot` (first defined at 00-segments.toml:4)",
    );
    assert_error(
        &errors,
        "10-rules.toml:6: duplicate rule `a` (first defined at 10-rules.toml:1)",
    );
}

#[test]
fn rule_naming_an_unknown_segment() {
    let errors =
        errors_of("[[rule]]\nname = \"a\"\nwhen = { known = true }\nsegment = \"clinical\"\n");
    assert_error(
        &errors,
        "10-rules.toml:4: rule `a` assigns unknown segment `clinical`",
    );
}

#[test]
fn vlan_out_of_range() {
    for (vlan, line) in [("0", 3), ("4095", 3), ("-1", 3), ("\"110\"", 3)] {
        let errors = errors_of_files(&[(
            "00-segments.toml",
            &format!("[[segment]]\nname = \"a\"\nvlan = {vlan}\n"),
        )]);
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with(&format!("00-segments.toml:{line}:"))),
            "{vlan}: {errors:?}"
        );
    }
    let errors = errors_of_files(&[(
        "00-segments.toml",
        "[[segment]]\nname = \"a\"\nvlan = 4095\n",
    )]);
    assert_error(
        &errors,
        "00-segments.toml:3: VLAN id 4095 is out of range (1..=4094)",
    );
}

#[test]
fn bad_time_ranges_and_days() {
    let errors = errors_of(
        r#"[[rule]]
name = "a"
reject = true
when = { time = "7:00-25:00" }

[[rule]]
name = "b"
reject = true
when = { time = ["08:00-08:00"], days = ["mon", "funday"] }
"#,
    );
    assert_error(&errors, "10-rules.toml:4: bad time range `7:00-25:00`");
    assert_error(
        &errors,
        "10-rules.toml:9: time range `08:00-08:00` is empty",
    );
    assert_error(&errors, "10-rules.toml:9: bad day `funday`");
}

#[test]
fn rules_with_zero_or_two_outcomes() {
    let errors = errors_of(
        r#"[[rule]]
name = "none"
when = { known = true }

[[rule]]
name = "two"
segment = "clinical-iot"
reject = true

[[rule]]
name = "false"
reject = false
"#,
    );
    assert_error(&errors, "10-rules.toml:1: rule `none` has no outcome");
    assert_error(
        &errors,
        "10-rules.toml:5: rule `two` has 2 outcomes (segment, reject)",
    );
    assert_error(
        &errors,
        "10-rules.toml:12: `reject = false` is not an outcome",
    );
}

#[test]
fn quarantine_segment_must_exist_when_used() {
    let no_q = "[[segment]]\nname = \"a\"\nvlan = 10\n";
    let errors = errors_of_files(&[
        ("00-segments.toml", no_q),
        (
            "10-rules.toml",
            "[[rule]]\nname = \"r\"\nquarantine = true\n",
        ),
    ]);
    assert_error(
        &errors,
        "10-rules.toml:3: rule `r` quarantines but segment `quarantine` is not defined",
    );

    let errors = errors_of_files(&[(
        "00-segments.toml",
        &format!("[policy]\ndefault = \"quarantine\"\n\n{no_q}"),
    )]);
    assert_error(
        &errors,
        "00-segments.toml:2: default = \"quarantine\" but segment `quarantine` is not defined",
    );

    let errors = errors_of_files(&[(
        "00-segments.toml",
        &format!("[policy]\nquarantine_segment = \"isolation\"\n\n{no_q}"),
    )]);
    assert_error(
        &errors,
        "00-segments.toml:2: quarantine segment `isolation` is not defined",
    );

    // Not used and not named: fine.
    assert!(Policy::load_files(&files(&[("00-segments.toml", no_q)])).is_ok());
}

#[test]
fn unknown_method_and_port_type_names() {
    let errors = errors_of(
        r#"[[rule]]
name = "a"
reject = true
when = { method = ["mab", "eap-md5"] }

[[rule]]
name = "b"
reject = true
when = { nas_port_type = "ethernet" }
"#,
    );
    assert_error(
        &errors,
        "10-rules.toml:4: unknown authentication method `eap-md5`",
    );
    assert_error(
        &errors,
        "10-rules.toml:9: unknown NAS-Port-Type `ethernet` (did you mean `Ethernet`?)",
    );
}

#[test]
fn other_checks() {
    let errors = errors_of(
        r#"[[rule]]
name = "all"
segment = "clinical-iot"

[[rule]]
name = "after"
when = { ssid = "a*b", device.role = [] }
reject = true

[[rule]]
name = "bad mode"
mode = "audit"
reject = true
when = { known = "yes" }
"#,
    );
    assert_error(
        &errors,
        "10-rules.toml:5: rule `after` can never match: rule `all` (10-rules.toml:1)",
    );
    assert_error(
        &errors,
        "10-rules.toml:7: `ssid`: `a*b`: `*` is only allowed at the end",
    );
    assert_error(&errors, "10-rules.toml:7: `device.role` is an empty list");
    assert_error(&errors, "10-rules.toml:11: bad rule name `bad mode`");
    let errors = errors_of(
        "[[rule]]\nname = \"m\"\nmode = \"audit\"\nreject = true\nwhen = { known = \"yes\" }\n",
    );
    assert_error(&errors, "10-rules.toml:3: bad mode `audit`");
    assert_error(
        &errors,
        "10-rules.toml:5: `known` must be true or false, found string",
    );

    let errors = errors_of_files(&[(
        "00-segments.toml",
        "[[segment]]\nname = \"a\"\nsession_timeout = \"8 hours\"\n\n[[segment]]\nname = \"b\"\n",
    )]);
    assert_error(&errors, "00-segments.toml:3: bad `session_timeout`");
    assert_error(&errors, "00-segments.toml:5: segment `b` assigns nothing");
}

#[test]
fn errors_display_one_per_line_sorted_by_file_and_line() {
    let e = Policy::load_files(&files(&[
        ("00-segments.toml", SEGMENTS),
        (
            "10-rules.toml",
            "[[rule]]\nname = \"a\"\nsegment = \"nope\"\nwhen = { methd = 1 }\n",
        ),
    ]))
    .unwrap_err();
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("10-rules.toml:3: "), "{text}");
    assert!(lines[1].starts_with("10-rules.toml:4: "), "{text}");
    assert_eq!(e.errors()[0].line, 3);
    assert_eq!(e.errors()[0].file, PathBuf::from("10-rules.toml"));
}

#[test]
fn load_dir_names_files_with_their_directory() {
    let dir = std::env::temp_dir().join(format!("wardgate-policy-test-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    std::fs::write(dir.join("00-segments.toml"), SEGMENTS).unwrap();
    std::fs::write(
        dir.join("10-rules.toml"),
        "[[rule]]\nname = \"a\"\nsegment = \"x\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("README.md"), "not loaded").unwrap();
    std::fs::write(dir.join("tests/10-rules.toml"), "not = \"policy\"").unwrap();
    let e = Policy::load_dir(&dir).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(e.errors().len(), 1, "{e}");
    assert_eq!(e.errors()[0].file, dir.join("10-rules.toml"));
    assert_eq!(e.errors()[0].line, 3);

    let empty = std::env::temp_dir().join(format!("wardgate-policy-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let e = Policy::load_dir(&empty).unwrap_err();
    std::fs::remove_dir_all(&empty).unwrap();
    assert!(e.to_string().contains("no policy files"), "{e}");
}

// ---- test cases -------------------------------------------------------------------------------

#[test]
fn a_failing_case_is_reported_as_failed() {
    let p = shipped();
    let report = run_test_files(
        &p,
        &files(&[(
            "wrong.toml",
            r#"[[case]]
name = "pump expected on guest (wrong)"
facts = { method = "mab", mac = "00-09-FB-00-00-01", device = { role = "infusion-pump" }, nas_port_type = "Ethernet" }
expect = { segment = "guest" }

[[case]]
name = "right outcome, wrong rule"
facts = { method = "mab", mac = "00-09-FB-00-00-01", device = { role = "infusion-pump" } }
expect = { segment = "clinical-iot", rule = "imaging" }

[[case]]
name = "monitored expected but none"
facts = { method = "mab", device = { role = "pacs" } }
expect = { segment = "imaging", monitored = ["imaging-radiology-only"] }

[[case]]
name = "passes"
facts = { method = "mab", mac = "00-1C-42-00-00-01", nas_port_type = "Ethernet" }
expect = { quarantine = true, rule = "unknown-devices", reason = "rule-quarantine" }
"#,
        )]),
    )
    .unwrap();
    assert_eq!(report.cases.len(), 4);
    assert_eq!(report.failed(), 3);
    assert_eq!(report.passed(), 1);
    assert!(!report.all_passed());
    let first = &report.cases[0];
    assert!(!first.passed);
    assert_eq!(first.line, 1);
    assert_eq!(first.file, PathBuf::from("wrong.toml"));
    assert_eq!(
        first.message,
        "expected segment guest; got segment clinical-iot by rule `clinical-iot` (rule-matched)"
    );
    assert!(
        report.cases[1]
            .message
            .starts_with("expected rule `imaging`; got")
    );
    assert!(
        report.cases[2]
            .message
            .starts_with("expected monitored [imaging-radiology-only]")
    );
    assert!(report.cases[3].passed);
}

#[test]
fn malformed_test_files_are_errors_with_file_and_line() {
    let p = shipped();
    let e = run_test_files(
        &p,
        &files(&[(
            "bad.toml",
            r#"[[case]]
name = "a"
facts = { method = "mab", colour = "red" }
expect = { segment = "nope" }

[[case]]
name = "b"
facts = { method = "chap", time = "25:00", day = "someday", mac = "zz" }
expect = { reject = true, rule = "no-such-rule", monitored = ["x"] }

[[case]]
name = "c"
facts = { method = "mab" }
expect = { reject = true, segment = "guest" }
"#,
        )]),
    )
    .unwrap_err();
    let text = e.to_string();
    for needle in [
        "bad.toml:3: unknown key `colour` in `facts`",
        "bad.toml:4: no segment named `nope`",
        "bad.toml:8: unknown authentication method `chap`",
        "bad.toml:8: bad `time` `25:00`",
        "bad.toml:8: bad `day` `someday`",
        "bad.toml:8: bad `mac`",
        "bad.toml:9: no rule named `no-such-rule`",
        "bad.toml:9: no rule named `x`",
        "bad.toml:14: `expect` needs exactly one of",
    ] {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
}

// ---- request attributes checked against a dictionary ------------------------------------------

/// Service-Type's VALUE names (RFC 2865, 2866, 5080, 5607): what the shipped policies may use.
const SERVICE_TYPES: [&str; 12] = [
    "Login-User",
    "Framed-User",
    "Callback-Login-User",
    "Callback-Framed-User",
    "Outbound-User",
    "Administrative-User",
    "NAS-Prompt-User",
    "Authenticate-Only",
    "Callback-NAS-Prompt",
    "Call-Check",
    "Callback-Administrative",
    "Authorize-Only",
];

/// A dictionary of two attributes: Service-Type (enumerated) and NAS-Identifier (free text).
struct FakeCatalog;

impl AttributeCatalog for FakeCatalog {
    fn check_name(&self, name: &str) -> Result<(), String> {
        const NAMES: [&str; 2] = ["Service-Type", "NAS-Identifier"];
        if NAMES.contains(&name) {
            return Ok(());
        }
        let close = NAMES.iter().find(|n| {
            n.len().abs_diff(name.len()) <= 1
                && n.chars()
                    .zip(name.chars())
                    .take_while(|(a, b)| a == b)
                    .count()
                    >= 3
        });
        Err(match close {
            Some(n) => format!("unknown attribute `{name}` (did you mean `{n}`?)"),
            None => format!("unknown attribute `{name}`"),
        })
    }

    fn check_value(&self, name: &str, value: &str) -> Result<(), String> {
        if name != "Service-Type" {
            return Ok(());
        }
        let known = match value.strip_suffix('*') {
            Some(prefix) => SERVICE_TYPES.iter().any(|v| v.starts_with(prefix)),
            None => SERVICE_TYPES.contains(&value),
        };
        if known {
            Ok(())
        } else {
            Err(format!("`{value}` is not a value of {name}"))
        }
    }
}

fn checked_errors_of(rules: &str) -> Vec<String> {
    match Policy::load_files_checked(
        &files(&[("00-segments.toml", SEGMENTS), ("10-rules.toml", rules)]),
        &FakeCatalog,
    ) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.errors().iter().map(ToString::to_string).collect(),
    }
}

const MISSPELT_REQUEST: &str = r#"[[rule]]
name = "typo-name"
reject = true
when = { request."Servce-Type" = "Administrative-User" }

[[rule]]
name = "typo-value"
reject = true
when = { request."Service-Type" = [
  "NAS-Prompt-User",
  "Administrativ-User",
] }

[[rule]]
name = "typo-prefix"
reject = true
unless = { request."Service-Type" = "Admn*" }

[[rule]]
name = "quoted-key"
reject = true
when = { "request.NAS-Identifer" = "sw-*" }

[[rule]]
name = "fine"
reject = true
when = { request."Service-Type" = ["Admin*", "Login-User"], request."NAS-Identifier" = "anything at all" }
"#;

#[test]
fn request_attribute_names_and_values_are_checked_against_the_catalog() {
    let errors = checked_errors_of(MISSPELT_REQUEST);
    assert_eq!(
        errors,
        [
            "10-rules.toml:4: `request.\"Servce-Type\"`: unknown attribute `Servce-Type` (did you mean `Service-Type`?)",
            "10-rules.toml:11: `request.\"Service-Type\"` = \"Administrativ-User\": `Administrativ-User` is not a value of Service-Type",
            "10-rules.toml:17: `request.\"Service-Type\"` = \"Admn*\": `Admn*` is not a value of Service-Type",
            "10-rules.toml:22: `request.\"NAS-Identifer\"`: unknown attribute `NAS-Identifer` (did you mean `NAS-Identifier`?)",
        ],
        "{}",
        errors.join("\n")
    );
    // Without a catalog nothing is checked: the same rules load.
    let p = load(MISSPELT_REQUEST);
    assert_eq!(
        p.request_attributes(),
        [
            "NAS-Identifer",
            "NAS-Identifier",
            "Servce-Type",
            "Service-Type"
        ]
    );
}

#[test]
fn shipped_policies_and_tests_pass_the_catalog_check() {
    let p = match Policy::load_dir_checked(&shipped_dir(), &FakeCatalog) {
        Ok(p) => p,
        Err(e) => panic!("shipped policies fail the attribute check:\n{e}"),
    };
    assert_eq!(p.version(), shipped().version());
    let report = match run_tests_checked(&p, &shipped_dir(), &FakeCatalog) {
        Ok(r) => r,
        Err(e) => panic!("shipped tests fail the attribute check:\n{e}"),
    };
    assert!(report.all_passed() && !report.cases.is_empty());
}

#[test]
fn request_facts_in_test_cases_are_checked_against_the_catalog() {
    let p = shipped();
    let cases = files(&[(
        "typos.toml",
        r#"[[case]]
name = "a"
facts = { method = "mab", request = { "Servce-Type" = "Framed-User" } }
expect = { reject = true }

[[case]]
name = "b"
facts = { method = "mab", request = { "Service-Type" = "Framed" } }
expect = { reject = true }
"#,
    )]);
    let e = run_test_files_checked(&p, &cases, &FakeCatalog).unwrap_err();
    let text = e.to_string();
    for needle in [
        "typos.toml:3: `request.\"Servce-Type\"`: unknown attribute",
        "typos.toml:8: `request.\"Service-Type\"` = \"Framed\": `Framed` is not a value",
    ] {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
    assert!(run_test_files(&p, &cases).is_ok());
}

// ---- segment values the wire cannot carry -----------------------------------------------------

fn segment_file(filter_id: &str, role: &str) -> String {
    format!(
        "[[segment]]\nname = \"s\"\nvlan = 10\nfilter_id = \"{filter_id}\"\nroles = {{ aruba = \"{role}\" }}\n"
    )
}

#[test]
fn filter_id_and_roles_at_the_wire_limit_load() {
    let at_limit = segment_file(&"f".repeat(253), &"r".repeat(247));
    let p = match Policy::load_files(&files(&[("00-segments.toml", &at_limit)])) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    let s = p.segment("s").unwrap();
    assert_eq!(s.filter_id.as_deref().map(str::len), Some(253));
    assert_eq!(s.role_for("aruba").map(str::len), Some(247));
}

#[test]
fn filter_id_and_roles_too_long_or_empty_for_the_wire() {
    let too_long = segment_file(&"f".repeat(254), &"r".repeat(248));
    let errors = errors_of_files(&[("00-segments.toml", &too_long)]);
    assert_eq!(
        errors,
        [
            "00-segments.toml:4: `filter_id` is 254 octets long; a Filter-Id attribute carries at most 253",
            "00-segments.toml:5: `roles.aruba` is 248 octets long; a vendor-specific attribute carries at most 247",
        ]
    );
    // Octets, not characters: 127 two-octet characters are 254 octets.
    let multibyte = segment_file(&"é".repeat(127), &"é".repeat(124));
    let errors = errors_of_files(&[("00-segments.toml", &multibyte)]);
    assert_error(
        &errors,
        "00-segments.toml:4: `filter_id` is 254 octets long",
    );
    assert_error(
        &errors,
        "00-segments.toml:5: `roles.aruba` is 248 octets long",
    );
    let empty = segment_file("", "");
    let errors = errors_of_files(&[("00-segments.toml", &empty)]);
    assert_eq!(
        errors,
        [
            "00-segments.toml:4: `filter_id` is empty",
            "00-segments.toml:5: `roles.aruba` is empty",
        ]
    );
}

// ---- certificate conditions -------------------------------------------------------------------

fn tls_facts() -> Facts {
    let mut f = Facts::new(AuthMethod::EapTls, "ward7-sw-01", "aruba");
    f.cert = Some(CertFacts {
        subject: "CN=ws-042.hospital.example".into(),
        issuer: "CN=Hospital Devices CA".into(),
        sans: vec!["ws-042.hospital.example".into(), "ws-042".into()],
        serial: "5eed1234".into(),
        fingerprint_sha256: "ab".repeat(32),
        days_to_expiry: 30,
        key_algorithm: "ec".into(),
        key_bits: 256,
    });
    f
}

/// The rule name when `when` (one cert condition) holds, None when it does not.
fn cert_rule(when: &str, facts: &Facts) -> Option<String> {
    load(&format!(
        "[[rule]]\nname = \"c\"\nsegment = \"clinical-iot\"\nwhen = {{ {when} }}\n"
    ))
    .evaluate(facts)
    .rule
}

#[test]
fn cert_conditions_each_match_and_miss() {
    let f = tls_facts();
    let cases: &[(&str, bool)] = &[
        (r#"cert.issuer = "CN=Hospital Devices CA""#, true),
        (r#"cert.issuer = "CN=Hospital*""#, true),
        (
            r#"cert.issuer = ["CN=Other CA", "CN=Hospital Devices CA"]"#,
            true,
        ),
        (r#"cert.issuer = "CN=Rogue CA""#, false),
        (r#"cert.subject = "CN=ws-*""#, true),
        (r#"cert.subject = "CN=ws-042""#, false),
        (r#"cert.san = "ws-042""#, true),
        (r#"cert.san = "ws-042.hospital.example""#, true),
        (r#"cert.san = "ws-042.hosp*""#, true),
        (r#"cert.san = ["pump-*", "ws-0*"]"#, true),
        (r#"cert.san = "pump-1""#, false),
        (&format!("cert.fingerprint = \"{}\"", "ab".repeat(32)), true),
        (
            &format!("cert.fingerprint = \"{}\"", ["AB"; 32].join(":")),
            true,
        ),
        (r#"cert.fingerprint = "AB:AB*""#, true),
        (
            &format!("cert.fingerprint = \"{}\"", "cd".repeat(32)),
            false,
        ),
        (r#"cert.key_algorithm = "ec""#, true),
        (r#"cert.key_algorithm = ["rsa", "ed25519"]"#, false),
        ("cert.key_bits_below = 384", true),
        ("cert.key_bits_below = 256", false),
        ("cert.expires_within_days = 30", true),
        ("cert.expires_within_days = 29", false),
        (
            "cert = { expires_within_days = 60, key_algorithm = \"ec\" }",
            true,
        ),
    ];
    for (when, expect) in cases {
        let got = cert_rule(when, &f);
        assert_eq!(got.is_some(), *expect, "{when}");
    }
}

#[test]
fn cert_conditions_never_match_without_a_certificate() {
    let mut f = tls_facts();
    f.cert = None;
    for when in [
        r#"cert.issuer = "*""#,
        r#"cert.subject = "*""#,
        r#"cert.san = "*""#,
        r#"cert.fingerprint = "*""#,
        r#"cert.key_algorithm = "ec""#,
        "cert.key_bits_below = 65536",
        "cert.expires_within_days = 36500",
    ] {
        assert_eq!(cert_rule(when, &f), None, "{when}");
    }
    // ... and `unless` on a certificate condition does not skip a rule without one.
    let p = load(
        "[[rule]]\nname = \"c\"\nsegment = \"clinical-iot\"\nwhen = { method = \"eap-tls\" }\nunless = { cert.key_bits_below = 2048 }\n",
    );
    assert_eq!(p.evaluate(&f).rule.as_deref(), Some("c"));
    let mut weak = tls_facts();
    weak.cert.as_mut().unwrap().key_bits = 1024;
    assert_eq!(p.evaluate(&weak).rule, None);
    // No SAN at all: `cert.san` does not hold.
    let mut no_san = tls_facts();
    no_san.cert.as_mut().unwrap().sans.clear();
    assert_eq!(cert_rule(r#"cert.san = "*""#, &no_san), None);
}

#[test]
fn bad_cert_conditions_are_errors_with_file_and_line() {
    let e = errors_of(
        r#"[[rule]]
name = "a"
segment = "clinical-iot"
when = { cert.colour = "red" }

[[rule]]
name = "b"
segment = "clinical-iot"
when = { cert.fingerprint = "xyz" }

[[rule]]
name = "c"
segment = "clinical-iot"
when = { cert.key_algorithm = "RSA" }

[[rule]]
name = "d"
segment = "clinical-iot"
when = { cert.key_bits_below = 0 }

[[rule]]
name = "e"
segment = "clinical-iot"
when = { cert.expires_within_days = -1 }

[[rule]]
name = "f"
segment = "clinical-iot"
when = { cert.expires_within_days = "14" }

[[rule]]
name = "g"
segment = "clinical-iot"
when = { cert.san = "a*b" }

[[rule]]
name = "h"
segment = "clinical-iot"
when = { cert = "x" }
"#,
    );
    assert_error(
        &e,
        "10-rules.toml:4: unknown certificate condition `cert.colour`",
    );
    assert_error(
        &e,
        "10-rules.toml:9: `cert.fingerprint`: `xyz` is not a SHA-256",
    );
    assert_error(
        &e,
        "10-rules.toml:14: unknown key algorithm `RSA` (did you mean `rsa`?)",
    );
    assert_error(
        &e,
        "10-rules.toml:19: `cert.key_bits_below` must be between 1",
    );
    assert_error(
        &e,
        "10-rules.toml:24: `cert.expires_within_days` must be between 0",
    );
    assert_error(
        &e,
        "10-rules.toml:29: `cert.expires_within_days` must be an integer",
    );
    assert_error(&e, "10-rules.toml:34: `cert.san`: `a*b`");
    assert_error(&e, "10-rules.toml:39: `cert` must be a table");
}

#[test]
fn test_cases_carry_certificate_facts() {
    let p = load(
        "[[rule]]\nname = \"expiring\"\nsegment = \"quarantine\"\nwhen = { method = \"eap-tls\", cert.expires_within_days = 14 }\n\n[[rule]]\nname = \"tls\"\nsegment = \"clinical-iot\"\nwhen = { method = \"eap-tls\" }\n",
    );
    let report = run_test_files(
        &p,
        &files(&[(
            "t.toml",
            r#"[[case]]
name = "expiring"
facts = { method = "eap-tls", cert = { days_to_expiry = 10, sans = "ws-1", fingerprint = "AB:CD" } }
expect = { segment = "quarantine", rule = "expiring" }

[[case]]
name = "fresh"
facts = { method = "eap-tls", cert = { days_to_expiry = 300, subject = "CN=ws-1", sans = ["a", "b"], key_algorithm = "rsa", key_bits = 2048, issuer = "CN=CA", serial = "01" } }
expect = { segment = "clinical-iot", rule = "tls" }

[[case]]
name = "no certificate"
facts = { method = "eap-tls" }
expect = { segment = "clinical-iot", rule = "tls" }
"#,
        )]),
    )
    .unwrap();
    assert!(report.all_passed(), "{report:?}");
    assert_eq!(report.passed(), 3);
    let e = run_test_files(
        &p,
        &files(&[(
            "bad.toml",
            "[[case]]\nname = \"a\"\nfacts = { method = \"eap-tls\", cert = { colour = \"red\", key_bits = -1 } }\nexpect = { reject = true }\n",
        )]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("bad.toml:3: unknown key `colour` in `facts.cert`"),
        "{e}"
    );
    assert!(
        e.contains("bad.toml:3: `cert.key_bits` is out of range"),
        "{e}"
    );
}
