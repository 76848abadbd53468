//! The line parser for FreeRADIUS-format dictionary files ($INCLUDE, VENDOR, BEGIN-/END-
//! VENDOR, BEGIN-/END-TLV, ATTRIBUTE, VALUE).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::{AttrDef, AttrType, Dictionary, DictionaryError, VendorDef};

/// Deepest `$INCLUDE` nesting accepted (guards against include loops).
const MAX_INCLUDE_DEPTH: usize = 16;

struct PendingValue {
    attr: String,
    name: String,
    number: u32,
    file: String,
    line: usize,
}

/// Per-file block state: FreeRADIUS scopes BEGIN-VENDOR and BEGIN-TLV to one file.
#[derive(Default)]
struct Blocks {
    vendor: Option<(String, u32, Option<u32>)>,
    tlv: Vec<(String, Vec<u32>)>,
}

pub(super) struct Parser<F> {
    dict: Dictionary,
    include: F,
    pending: Vec<PendingValue>,
}

fn parse_number(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

impl<F: FnMut(&Path) -> std::io::Result<String>> Parser<F> {
    pub(super) fn new(include: F) -> Parser<F> {
        Parser {
            dict: Dictionary::default(),
            include,
            pending: Vec::new(),
        }
    }

    pub(super) fn parse_file(
        &mut self,
        name: &str,
        text: &str,
        depth: usize,
    ) -> Result<(), DictionaryError> {
        let mut blocks = Blocks::default();
        let mut last_line = 0;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            last_line = line;
            let content = raw.split('#').next().unwrap_or("");
            let fields: Vec<&str> = content.split_whitespace().collect();
            let Some(keyword) = fields.first() else {
                continue;
            };
            let err = |reason: String| DictionaryError::Syntax {
                file: name.to_string(),
                line,
                reason,
            };
            match *keyword {
                "$INCLUDE" | "$INCLUDE-" => {
                    let optional = *keyword == "$INCLUDE-";
                    let [_, target] = fields[..] else {
                        return Err(err(format!("{keyword} takes one file name")));
                    };
                    if depth >= MAX_INCLUDE_DEPTH {
                        return Err(err("$INCLUDE nested too deeply".into()));
                    }
                    let path = match Path::new(name).parent() {
                        Some(dir) if !Path::new(target).is_absolute() => dir.join(target),
                        _ => PathBuf::from(target),
                    };
                    match (self.include)(&path) {
                        Ok(text) => {
                            self.parse_file(&path.display().to_string(), &text, depth + 1)?;
                        }
                        Err(e) if optional && e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(err(format!("cannot read {}: {e}", path.display())));
                        }
                    }
                }
                "VENDOR" => self.vendor(&fields).map_err(err)?,
                "BEGIN-VENDOR" => {
                    if blocks.vendor.is_some() {
                        return Err(err("nested BEGIN-VENDOR".into()));
                    }
                    blocks.vendor = Some(self.begin_vendor(&fields).map_err(err)?);
                }
                "END-VENDOR" => match (&blocks.vendor, fields.get(1)) {
                    (Some((open, _, _)), Some(n)) if open.eq_ignore_ascii_case(n) => {
                        blocks.vendor = None;
                    }
                    _ => return Err(err("END-VENDOR does not match BEGIN-VENDOR".into())),
                },
                "BEGIN-TLV" => {
                    let path = self.begin_tlv(&fields).map_err(err)?;
                    let open = fields.get(1).copied().unwrap_or_default().to_string();
                    blocks.tlv.push((open, path));
                }
                "END-TLV" => match (blocks.tlv.last(), fields.get(1)) {
                    (Some((open, _)), Some(n)) if open.eq_ignore_ascii_case(n) => {
                        blocks.tlv.pop();
                    }
                    _ => return Err(err("END-TLV does not match BEGIN-TLV".into())),
                },
                "ATTRIBUTE" => self.attribute(&fields, &blocks).map_err(err)?,
                "VALUE" => {
                    let [_, attr, vname, number] = fields[..] else {
                        return Err(err("VALUE takes an attribute, a name and a number".into()));
                    };
                    let number = parse_number(number)
                        .or_else(|| number.parse::<i32>().ok().map(|n| n as u32))
                        .ok_or_else(|| err(format!("bad VALUE number '{number}'")))?;
                    self.pending.push(PendingValue {
                        attr: attr.to_string(),
                        name: vname.to_string(),
                        number,
                        file: name.to_string(),
                        line,
                    });
                }
                other => return Err(err(format!("unknown keyword '{other}'"))),
            }
        }
        let err = |reason: &str| DictionaryError::Syntax {
            file: name.to_string(),
            line: last_line,
            reason: reason.to_string(),
        };
        if blocks.vendor.is_some() {
            return Err(err("BEGIN-VENDOR without END-VENDOR"));
        }
        if !blocks.tlv.is_empty() {
            return Err(err("BEGIN-TLV without END-TLV"));
        }
        Ok(())
    }

    fn vendor(&mut self, fields: &[&str]) -> Result<(), String> {
        let (name, id, format) = match fields {
            [_, name, id] => (*name, *id, None),
            [_, name, id, format] => (*name, *id, Some(*format)),
            _ => return Err("VENDOR takes a name, a number and an optional format".into()),
        };
        let id = parse_number(id).ok_or_else(|| format!("bad vendor number '{id}'"))?;
        let (mut type_size, mut length_size, mut continuation) = (1u8, 1u8, false);
        if let Some(format) = format {
            let spec = format
                .strip_prefix("format=")
                .ok_or_else(|| format!("unknown vendor option '{format}'"))?;
            let parts: Vec<&str> = spec.split(',').collect();
            match parts[..] {
                [t, l] | [t, l, "c"] => {
                    type_size = t.parse().map_err(|_| format!("bad format '{spec}'"))?;
                    length_size = l.parse().map_err(|_| format!("bad format '{spec}'"))?;
                    continuation = parts.len() == 3;
                }
                _ => return Err(format!("bad format '{spec}'")),
            }
            if !matches!(type_size, 1 | 2 | 4) || length_size > 2 {
                return Err(format!("bad format '{spec}'"));
            }
        }
        let key = name.to_ascii_lowercase();
        if let Some(&i) = self.dict.vendor_by_name.get(&key) {
            if self.dict.vendors.get(i).is_some_and(|v| v.id == id) {
                return Ok(());
            }
            return Err(format!(
                "vendor '{name}' already defined with another number"
            ));
        }
        let def = VendorDef {
            name: name.to_string(),
            id,
            type_size,
            length_size,
            continuation,
        };
        let i = self.dict.vendors.len();
        self.dict.vendors.push(def);
        self.dict.vendor_by_name.insert(key, i);
        self.dict.vendor_by_id.insert(id, i);
        Ok(())
    }

    /// Returns (name, vendor id, parent extended attribute for `format=Extended-Vendor-
    /// Specific-N` blocks).
    fn begin_vendor(&self, fields: &[&str]) -> Result<(String, u32, Option<u32>), String> {
        let (name, option) = match fields {
            [_, name] => (*name, None),
            [_, name, option] => (*name, Some(*option)),
            _ => return Err("BEGIN-VENDOR takes a vendor name".into()),
        };
        let id = self
            .dict
            .vendor_id(name)
            .ok_or_else(|| format!("unknown vendor '{name}'"))?;
        let ext = match option {
            None => None,
            Some(o) => {
                let n = o
                    .strip_prefix("format=Extended-Vendor-Specific-")
                    .and_then(|n| n.parse::<u32>().ok())
                    .filter(|n| (1..=6).contains(n))
                    .ok_or_else(|| format!("unknown BEGIN-VENDOR option '{o}'"))?;
                Some(240 + n)
            }
        };
        Ok((name.to_string(), id, ext))
    }

    fn begin_tlv(&self, fields: &[&str]) -> Result<Vec<u32>, String> {
        let [_, name] = fields[..] else {
            return Err("BEGIN-TLV takes an attribute name".into());
        };
        let def = self
            .dict
            .attribute(name)
            .ok_or_else(|| format!("unknown attribute '{name}'"))?;
        if def.kind != AttrType::Tlv {
            return Err(format!("'{name}' is not a tlv attribute"));
        }
        let mut path = def.parent.clone();
        path.push(def.number);
        Ok(path)
    }

    fn attribute(&mut self, fields: &[&str], blocks: &Blocks) -> Result<(), String> {
        let (name, number, kind, extra) = match fields {
            [_, n, num, t] => (*n, *num, *t, None),
            [_, n, num, t, x] => (*n, *num, *t, Some(*x)),
            _ => return Err("ATTRIBUTE takes a name, a number, a type and optional flags".into()),
        };
        let kind = AttrType::parse(kind).ok_or_else(|| format!("unknown data type '{kind}'"))?;
        let mut components = Vec::new();
        for part in number.split('.') {
            components.push(
                parse_number(part).ok_or_else(|| format!("bad attribute number '{number}'"))?,
            );
        }
        let Some(number) = components.pop() else {
            return Err(format!("bad attribute number '{number}'"));
        };
        let mut vendor = blocks.vendor.as_ref().map(|(_, id, _)| *id);
        let mut parent = match blocks.tlv.last() {
            Some((_, path)) => path.clone(),
            None => match blocks.vendor {
                Some((_, _, Some(ext))) => vec![ext, 26],
                _ => Vec::new(),
            },
        };
        parent.extend(components);
        let mut def = AttrDef {
            name: name.to_string(),
            vendor,
            code: 0,
            number,
            parent,
            kind,
            has_tag: false,
            encrypt: 0,
            concat: false,
            array: false,
            secret: false,
            values: BTreeMap::new(),
            value_index: HashMap::new(),
        };
        if let Some(extra) = extra {
            for flag in extra.split(',') {
                match flag {
                    "has_tag" => def.has_tag = true,
                    "concat" => def.concat = true,
                    "array" => def.array = true,
                    "secret" => def.secret = true,
                    "virtual" | "internal" => {}
                    _ => {
                        if let Some(n) = flag.strip_prefix("encrypt=") {
                            def.encrypt = n
                                .parse()
                                .ok()
                                .filter(|n| *n <= 3)
                                .ok_or_else(|| format!("bad flag '{flag}'"))?;
                        } else if let Some(id) = self.dict.vendor_id(flag) {
                            vendor = Some(id);
                            def.vendor = vendor;
                        } else {
                            return Err(format!("unknown flag '{flag}'"));
                        }
                    }
                }
            }
        }
        // Numbers above 255 are FreeRADIUS-internal attributes (never on the wire) or
        // vendors with 2- or 4-octet types; they are kept but not indexed by code.
        let max = match vendor.and_then(|v| self.dict.vendor(v)) {
            _ if !def.parent.is_empty() => 255,
            Some(v) if v.type_size == 4 => u32::MAX,
            _ => 0xFFFF,
        };
        if def.number > max {
            return Err(format!("attribute number {} out of range", def.number));
        }
        if let Some(p) = def.parent.iter().find(|p| **p > 255 && vendor.is_none()) {
            return Err(format!("attribute number {p} out of range"));
        }
        def.code = u8::try_from(def.number).unwrap_or(0);
        self.insert(def)
    }

    fn insert(&mut self, def: AttrDef) -> Result<(), String> {
        let key = def.name.to_ascii_lowercase();
        if let Some(&i) = self.dict.by_name.get(&key) {
            return match self.dict.attrs.get(i) {
                Some(old)
                    if old.vendor == def.vendor
                        && old.number == def.number
                        && old.parent == def.parent
                        && old.kind == def.kind =>
                {
                    Ok(())
                }
                _ => Err(format!(
                    "attribute '{}' already defined differently",
                    def.name
                )),
            };
        }
        let indexable = def.parent.is_empty()
            && def.number <= 255
            && def
                .vendor
                .is_none_or(|v| self.dict.vendor(v).is_some_and(VendorDef::is_rfc_format));
        let i = self.dict.attrs.len();
        if indexable {
            // A later definition of the same code wins, as in FreeRADIUS.
            self.dict.by_code.insert((def.vendor, def.code), i);
        }
        self.dict.by_name.insert(key, i);
        self.dict.attrs.push(def);
        Ok(())
    }

    pub(super) fn finish(mut self) -> Result<Dictionary, DictionaryError> {
        for v in std::mem::take(&mut self.pending) {
            let Some(&i) = self.dict.by_name.get(&v.attr.to_ascii_lowercase()) else {
                return Err(DictionaryError::Syntax {
                    file: v.file,
                    line: v.line,
                    reason: format!("VALUE for unknown attribute '{}'", v.attr),
                });
            };
            if let Some(def) = self.dict.attrs.get_mut(i) {
                def.values.entry(v.number).or_insert_with(|| v.name.clone());
                def.value_index
                    .entry(v.name.to_ascii_lowercase())
                    .or_insert(v.number);
            }
        }
        Ok(self.dict)
    }
}
