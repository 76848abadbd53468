//! Policy as code: segments, first-match rules, decisions, policy tests.
//!
//! A policy is a directory of TOML files (`policies/*.toml`, loaded in file-name order) that define
//! segments (VLAN, per-vendor role, Filter-Id, session timeout) and an ordered list of rules. Loading
//! checks everything and reports every problem as `file:line: message`; the loaded [`Policy`] is
//! compiled so that [`Policy::evaluate`] is a pure, allocation-light function of the request
//! [`Facts`]: no I/O and no clock (the time of day comes in the facts). Test cases beside the policy
//! (`policies/tests/*.toml`) are run with [`run_tests`]. The format is documented in `docs/policy.md`.

mod catalog;
mod condition;
mod error;
mod load;
mod model;
mod policy;
mod segment;
mod testcase;
mod walk;

pub use catalog::AttributeCatalog;
pub use error::{PolicyError, PolicyErrors};
pub use model::{
    AuthMethod, CertFacts, Decision, DefaultAction, Facts, MonitorHit, Outcome, ReasonCode, Rule,
    RuleMode, RuleOutcome, Segment, UnknownAuthMethod,
};
pub use policy::Policy;
pub use testcase::{
    CaseResult, DEFAULT_TEST_NAS, TestReport, describe, run_test_files, run_test_files_checked,
    run_tests, run_tests_checked,
};

/// NAS vendor names the server renders replies for; keys of a segment's `roles` are matched against
/// the NAS's configured vendor (other names are allowed and simply never rendered).
pub const RENDERED_VENDORS: [&str; 9] = [
    "cisco",
    "cisco-wlc",
    "aruba",
    "hp",
    "juniper",
    "meraki",
    "ruckus",
    "fortinet",
    "extreme",
];

#[cfg(test)]
mod tests;
