//! A loaded policy and its evaluation: a pure function from request facts to a decision.

use std::path::Path;

use wardgate_types::SegmentName;

use crate::catalog::AttributeCatalog;
use crate::error::PolicyErrors;
use crate::load;
use crate::model::{
    Decision, DefaultAction, Facts, MonitorHit, Outcome, ReasonCode, Rule, RuleMode, Segment,
};

/// A checked, compiled policy: segments, the ordered rule list and the default.
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) version: String,
    pub(crate) files: Vec<String>,
    pub(crate) default: DefaultAction,
    pub(crate) quarantine_segment: SegmentName,
    pub(crate) segments: Vec<Segment>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) request_attributes: Vec<String>,
}

impl Policy {
    /// Loads every `*.toml` file directly in `dir` (not `dir/tests/`, not hidden files), in file-name
    /// order, and checks the whole. Errors name the file as `dir/name`.
    ///
    /// `request."Attr-Name"` conditions are not checked against a dictionary; use
    /// [`Policy::load_dir_checked`] for that.
    pub fn load_dir(dir: &Path) -> Result<Policy, PolicyErrors> {
        load::load_dir(dir, None)
    }

    /// Like [`Policy::load_dir`], and also checks every `request."Attr-Name"` condition against
    /// `catalog`: an unknown attribute name is an error at the key's line, a value that can never
    /// match is an error at the value's line, collected with every other load error.
    pub fn load_dir_checked(
        dir: &Path,
        catalog: &dyn AttributeCatalog,
    ) -> Result<Policy, PolicyErrors> {
        load::load_dir(dir, Some(catalog))
    }

    /// Loads policy files given as (file name, content), in the given order.
    pub fn load_files(files: &[(String, String)]) -> Result<Policy, PolicyErrors> {
        load::load_sources(None, files, None)
    }

    /// Like [`Policy::load_files`], with `request."Attr-Name"` conditions checked against `catalog`
    /// as in [`Policy::load_dir_checked`].
    pub fn load_files_checked(
        files: &[(String, String)],
        catalog: &dyn AttributeCatalog,
    ) -> Result<Policy, PolicyErrors> {
        load::load_sources(None, files, Some(catalog))
    }

    /// SHA-256 (hex) over every loaded file's name and content, in load order.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The loaded file names, in load order.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    pub fn default_action(&self) -> DefaultAction {
        self.default
    }

    pub fn quarantine_segment(&self) -> &SegmentName {
        &self.quarantine_segment
    }

    pub fn segment(&self, name: &str) -> Option<&Segment> {
        self.segments.iter().find(|s| s.name.as_str() == name)
    }

    /// Segments in definition order.
    pub fn segments(&self) -> impl Iterator<Item = &Segment> {
        self.segments.iter()
    }

    /// Rules in evaluation order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// Request attribute names the rules use under `request."..."`, sorted and without duplicates, so
    /// the server renders only those into [`Facts::request`].
    pub fn request_attributes(&self) -> Vec<String> {
        self.request_attributes.clone()
    }

    /// Decides a request. Rules are tried in order; the first enforcing rule whose `when` holds (and
    /// whose `unless` does not) decides. Monitor-mode rules that match on the way are recorded in
    /// [`Decision::monitored`] and do not stop evaluation. Nothing matched: the default.
    pub fn evaluate(&self, facts: &Facts) -> Decision {
        let mut monitored = Vec::new();
        for rule in &self.rules {
            if !rule.when.matches(facts) {
                continue;
            }
            if let Some(unless) = &rule.unless
                && unless.matches(facts)
            {
                continue;
            }
            match rule.mode {
                RuleMode::Monitor => monitored.push(MonitorHit {
                    rule: rule.name.clone(),
                    would: rule.decided.clone(),
                }),
                RuleMode::Enforce => {
                    return Decision {
                        outcome: rule.decided.clone(),
                        rule: Some(rule.name.clone()),
                        reason: rule.reason,
                        monitored,
                    };
                }
            }
        }
        let (outcome, reason) = match self.default {
            DefaultAction::Deny => (Outcome::Reject, ReasonCode::DefaultDeny),
            DefaultAction::Quarantine => (
                Outcome::Segment(self.quarantine_segment.clone()),
                ReasonCode::DefaultQuarantine,
            ),
        };
        Decision {
            outcome,
            rule: None,
            reason,
            monitored,
        }
    }
}
