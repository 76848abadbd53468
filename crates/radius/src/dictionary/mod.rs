//! FreeRADIUS-format dictionaries: attribute, value and vendor definitions, and lookups
//! by name and by (vendor, code).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

mod parse;
mod value;

pub use value::ValueError;

/// Why a dictionary did not load. Display is `file:line: reason`.
#[derive(Debug, thiserror::Error)]
pub enum DictionaryError {
    #[error("{file}:{line}: {reason}")]
    Syntax {
        file: String,
        line: usize,
        reason: String,
    },
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
}

/// The data type of an attribute. Types the codec does not model are kept as
/// `Octets`-like kinds (`Tlv`, `Vsa`, `Extended`, ...) and shown as hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttrType {
    String,
    Octets,
    IpAddr,
    Ipv6Addr,
    Ipv4Prefix,
    Ipv6Prefix,
    Ifid,
    Integer,
    Byte,
    Short,
    Integer64,
    Signed,
    Date,
    Ether,
    ComboIp,
    ABinary,
    Tlv,
    Vsa,
    Extended,
    LongExtended,
    Evs,
}

impl AttrType {
    fn parse(s: &str) -> Option<AttrType> {
        let base = s.split_once('[').map_or(s, |(b, _)| b);
        Some(match base.to_ascii_lowercase().as_str() {
            "string" => AttrType::String,
            "octets" => AttrType::Octets,
            "ipaddr" | "ipv4addr" => AttrType::IpAddr,
            "ipv6addr" => AttrType::Ipv6Addr,
            "ipv4prefix" => AttrType::Ipv4Prefix,
            "ipv6prefix" => AttrType::Ipv6Prefix,
            "ifid" => AttrType::Ifid,
            "integer" | "uint32" => AttrType::Integer,
            "byte" | "uint8" => AttrType::Byte,
            "short" | "uint16" => AttrType::Short,
            "integer64" | "uint64" => AttrType::Integer64,
            "signed" | "int32" => AttrType::Signed,
            "date" => AttrType::Date,
            "ether" => AttrType::Ether,
            "combo-ip" => AttrType::ComboIp,
            "abinary" => AttrType::ABinary,
            "tlv" => AttrType::Tlv,
            "vsa" => AttrType::Vsa,
            "extended" => AttrType::Extended,
            "long-extended" => AttrType::LongExtended,
            "evs" => AttrType::Evs,
            _ => return None,
        })
    }

    /// True for the integer-like kinds that VALUE names apply to.
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            AttrType::Integer
                | AttrType::Byte
                | AttrType::Short
                | AttrType::Integer64
                | AttrType::Signed
        )
    }
}

/// A vendor (VENDOR line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorDef {
    pub name: String,
    pub id: u32,
    /// Octets of the sub-attribute type field (1, 2 or 4).
    pub type_size: u8,
    /// Octets of the sub-attribute length field (0, 1 or 2).
    pub length_size: u8,
    /// WiMAX-style continuation octet (`format=1,1,c`).
    pub continuation: bool,
}

impl VendorDef {
    /// True for the RFC 2865 layout (`format=1,1`), the only one the codec decodes.
    pub fn is_rfc_format(&self) -> bool {
        self.type_size == 1 && self.length_size == 1 && !self.continuation
    }
}

/// One attribute definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrDef {
    pub name: String,
    /// `Some(id)` for a vendor attribute.
    pub vendor: Option<u32>,
    /// The attribute (or vendor sub-attribute) type on the wire; meaningful when
    /// `number <= 255`.
    pub code: u8,
    /// The full number (vendors with 2- or 4-octet types have numbers above 255).
    pub number: u32,
    /// Parent numbers for attributes nested in a TLV or an extended attribute (empty for
    /// ordinary attributes). Nested attributes are not found by `by_code`.
    pub parent: Vec<u32>,
    pub kind: AttrType,
    pub has_tag: bool,
    /// 0 none, 1 User-Password style, 2 salted (RFC 2548/2868), 3 Ascend.
    pub encrypt: u8,
    pub concat: bool,
    pub array: bool,
    /// Marked `secret` or `virtual` etc.: FreeRADIUS-internal flags, kept for reference.
    pub secret: bool,
    /// VALUE names by number (the first name given for a number wins).
    pub values: BTreeMap<u32, String>,
    value_index: HashMap<String, u32>,
}

impl AttrDef {
    /// True if the value must never be logged: hidden (encrypt != 0), flagged secret,
    /// or named like a password, an MS-CHAP exchange or a key.
    pub fn is_sensitive(&self) -> bool {
        let lower = self.name.to_ascii_lowercase();
        self.encrypt != 0
            || self.secret
            || lower.contains("password")
            || lower.contains("ms-chap")
            || lower.contains("secret")
            || lower.ends_with("-key")
    }
}

/// A loaded dictionary.
#[derive(Debug, Clone, Default)]
pub struct Dictionary {
    attrs: Vec<AttrDef>,
    by_name: HashMap<String, usize>,
    by_code: HashMap<(Option<u32>, u8), usize>,
    vendors: Vec<VendorDef>,
    vendor_by_name: HashMap<String, usize>,
    vendor_by_id: HashMap<u32, usize>,
}

impl Dictionary {
    /// Loads a dictionary file and its `$INCLUDE`s (relative to the including file's
    /// folder).
    pub fn load(path: &Path) -> Result<Dictionary, DictionaryError> {
        let text = std::fs::read_to_string(path).map_err(|source| DictionaryError::Io {
            file: path.display().to_string(),
            source,
        })?;
        let name = path.display().to_string();
        Dictionary::parse_str(&name, &text, |p: &Path| std::fs::read_to_string(p))
    }

    /// Parses dictionary text named `name` (a path: includes resolve against its
    /// folder). `include` reads an included file.
    pub fn parse_str(
        name: &str,
        text: &str,
        include: impl FnMut(&Path) -> std::io::Result<String>,
    ) -> Result<Dictionary, DictionaryError> {
        let mut parser = parse::Parser::new(include);
        parser.parse_file(name, text, 0)?;
        parser.finish()
    }

    /// The attribute with this name (case-insensitive).
    pub fn attribute(&self, name: &str) -> Option<&AttrDef> {
        let i = self.by_name.get(&name.to_ascii_lowercase())?;
        self.attrs.get(*i)
    }

    /// The attribute with this code: `vendor` `None` for the standard space, `Some(id)`
    /// for a vendor sub-attribute type.
    pub fn by_code(&self, vendor: Option<u32>, code: u8) -> Option<&AttrDef> {
        let i = self.by_code.get(&(vendor, code))?;
        self.attrs.get(*i)
    }

    /// Every attribute definition, in load order.
    pub fn attributes(&self) -> impl Iterator<Item = &AttrDef> {
        self.attrs.iter()
    }

    /// The VALUE name for `n`.
    pub fn value_name<'a>(&self, def: &'a AttrDef, n: u32) -> Option<&'a str> {
        def.values.get(&n).map(String::as_str)
    }

    /// The number of a VALUE name (case-insensitive).
    pub fn value_number(&self, def: &AttrDef, name: &str) -> Option<u32> {
        def.value_index.get(&name.to_ascii_lowercase()).copied()
    }

    /// The id of a vendor by name (case-insensitive).
    pub fn vendor_id(&self, name: &str) -> Option<u32> {
        self.vendor_by_name
            .get(&name.to_ascii_lowercase())
            .and_then(|i| self.vendors.get(*i))
            .map(|v| v.id)
    }

    /// The vendor with this id.
    pub fn vendor(&self, id: u32) -> Option<&VendorDef> {
        self.vendor_by_id
            .get(&id)
            .and_then(|i| self.vendors.get(*i))
    }
}

#[cfg(test)]
mod tests;
