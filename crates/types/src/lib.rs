//! Domain newtypes shared by every Wardgate crate: MAC addresses (normalised once, at the edge),
//! VLAN ids, segment names and inventory devices with their labels.

mod mac;

pub use mac::{MacAddr, MacParseError};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// An IEEE 802.1Q VLAN id, 1..=4094.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct VlanId(u16);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("VLAN id {0} is out of range (1..=4094)")]
pub struct VlanRangeError(pub u32);

impl VlanId {
    pub fn new(id: u16) -> Result<Self, VlanRangeError> {
        if (1..=4094).contains(&id) {
            Ok(Self(id))
        } else {
            Err(VlanRangeError(u32::from(id)))
        }
    }
    pub fn get(self) -> u16 {
        self.0
    }
}

impl TryFrom<u16> for VlanId {
    type Error = VlanRangeError;
    fn try_from(v: u16) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}

impl From<VlanId> for u16 {
    fn from(v: VlanId) -> u16 {
        v.0
    }
}

impl fmt::Display for VlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The name of a segment defined in the policy (for example `infusion-pumps`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SegmentName(String);

impl SegmentName {
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SegmentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Writes each item on its own line: how every "all the problems found" error (config, policy,
/// import) displays, one `file:line: reason` per line.
pub fn write_lines<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, e) in items.iter().enumerate() {
        if i > 0 {
            f.write_str("\n")?;
        }
        write!(f, "{e}")?;
    }
    Ok(())
}

/// Well-known label keys. Any other key is a free label.
pub mod label {
    pub const ROLE: &str = "role";
    pub const SENSITIVITY: &str = "sensitivity";
    pub const LOCATION: &str = "location";
    pub const ENVIRONMENT: &str = "environment";
    pub const OWNER: &str = "owner";
    pub const WELL_KNOWN: [&str; 5] = [ROLE, SENSITIVITY, LOCATION, ENVIRONMENT, OWNER];
}

/// Labels of a device: the well-known keys in [`label`] plus free key/values.
pub type Labels = BTreeMap<String, String>;

/// A device of the inventory, known by its MAC address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub mac: MacAddr,
    pub labels: Labels,
}

impl Device {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }
}
