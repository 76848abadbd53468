//! IANA private enterprise numbers of the vendors whose attributes Wardgate speaks.

pub const CISCO: u32 = 9;
pub const HP: u32 = 11;
pub const MICROSOFT: u32 = 311;
pub const EXTREME: u32 = 1916;
pub const JUNIPER: u32 = 2636;
pub const FORTINET: u32 = 12356;
pub const AIRESPACE: u32 = 14179;
pub const ARUBA: u32 = 14823;
pub const RUCKUS: u32 = 25053;
pub const MERAKI: u32 = 29671;
