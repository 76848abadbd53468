//! EAP-TLS framing (RFC 5216 section 3): the flags octet, splitting an outgoing TLS record stream into
//! fragments, and reassembling incoming fragments under a size limit.
//!
//! Length-bit choice: the L bit and the 4-octet TLS Message Length go on the first fragment of a message
//! that needs more than one fragment (RFC 5216: MUST); a message that fits in one fragment carries no
//! L bit unless [`Fragmenter::new`] is asked to include it always (also allowed by RFC 5216, and what
//! some old supplicants expect).

use thiserror::Error;

/// L: a 4-octet TLS Message Length follows the flags.
pub const FLAG_LENGTH: u8 = 0x80;
/// M: more fragments follow.
pub const FLAG_MORE: u8 = 0x40;
/// S: EAP-TLS start.
pub const FLAG_START: u8 = 0x20;

/// Default TLS data octets per fragment: keeps an Access-Challenge under the Ethernet MTU.
pub const DEFAULT_FRAGMENT_SIZE: usize = 1000;
/// Default cap on one reassembled incoming TLS message.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 * 1024;

/// Why EAP-TLS type data is unacceptable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FragmentError {
    #[error("EAP-TLS data has no flags octet")]
    Empty,
    #[error("EAP-TLS L bit set but fewer than 4 length octets follow")]
    TruncatedLength,
    #[error("EAP-TLS message of {0} octets exceeds the {1}-octet limit")]
    TooLarge(usize, usize),
    #[error("EAP-TLS TLS Message Length {declared} does not match the {received} octets received")]
    LengthMismatch { declared: usize, received: usize },
    #[error("EAP-TLS TLS Message Length changed between fragments ({first} then {later})")]
    LengthChanged { first: usize, later: usize },
}

/// One EAP-TLS message body (the Type-Data of an EAP packet of Type 13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFragment {
    /// The raw flags octet (reserved bits kept).
    pub flags: u8,
    /// TLS Message Length, present when the L bit is set.
    pub message_length: Option<u32>,
    /// TLS data in this fragment.
    pub data: Vec<u8>,
}

impl TlsFragment {
    /// Decode EAP-TLS Type-Data.
    pub fn decode(type_data: &[u8]) -> Result<TlsFragment, FragmentError> {
        let (&flags, rest) = type_data.split_first().ok_or(FragmentError::Empty)?;
        let (message_length, data) = if flags & FLAG_LENGTH != 0 {
            let (len, data) = rest
                .split_first_chunk::<4>()
                .ok_or(FragmentError::TruncatedLength)?;
            (Some(u32::from_be_bytes(*len)), data)
        } else {
            (None, rest)
        };
        Ok(TlsFragment {
            flags,
            message_length,
            data: data.to_vec(),
        })
    }

    /// Encode to EAP-TLS Type-Data. The L bit follows `message_length`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(5 + self.data.len());
        let mut flags = self.flags & !FLAG_LENGTH;
        if self.message_length.is_some() {
            flags |= FLAG_LENGTH;
        }
        out.push(flags);
        if let Some(len) = self.message_length {
            out.extend_from_slice(&len.to_be_bytes());
        }
        out.extend_from_slice(&self.data);
        out
    }

    /// The S (start) message a server opens EAP-TLS with.
    pub fn start() -> TlsFragment {
        TlsFragment {
            flags: FLAG_START,
            message_length: None,
            data: Vec::new(),
        }
    }

    /// An empty acknowledgement: flags octet 0, no data.
    pub fn ack() -> TlsFragment {
        TlsFragment {
            flags: 0,
            message_length: None,
            data: Vec::new(),
        }
    }

    /// No data and neither M nor S: an acknowledgement.
    pub fn is_ack(&self) -> bool {
        self.data.is_empty() && self.flags & (FLAG_MORE | FLAG_START) == 0
    }

    pub fn more(&self) -> bool {
        self.flags & FLAG_MORE != 0
    }

    pub fn start_flag(&self) -> bool {
        self.flags & FLAG_START != 0
    }
}

/// Splits one outgoing TLS message into fragments, handed out one per acknowledgement.
#[derive(Debug, Clone)]
pub struct Fragmenter {
    message: Vec<u8>,
    offset: usize,
    fragment_size: usize,
    always_include_length: bool,
}

impl Fragmenter {
    /// `fragment_size` is the most TLS data octets per fragment (at least 1 is used).
    pub fn new(message: Vec<u8>, fragment_size: usize, always_include_length: bool) -> Fragmenter {
        Fragmenter {
            message,
            offset: 0,
            fragment_size: fragment_size.max(1),
            always_include_length,
        }
    }

    /// The next fragment, or `None` once everything has been handed out. An empty message yields one
    /// empty fragment (flags 0).
    pub fn next_fragment(&mut self) -> Option<TlsFragment> {
        let first = self.offset == 0;
        if !first && self.offset >= self.message.len() {
            return None;
        }
        let end = self
            .offset
            .saturating_add(self.fragment_size)
            .min(self.message.len());
        let data = self
            .message
            .get(self.offset..end)
            .unwrap_or_default()
            .to_vec();
        let more = end < self.message.len();
        let include_length = first && (more || self.always_include_length);
        self.offset = end.max(1);
        Some(TlsFragment {
            flags: if more { FLAG_MORE } else { 0 },
            message_length: if include_length {
                u32::try_from(self.message.len()).ok()
            } else {
                None
            },
            data,
        })
    }

    /// True once every fragment has been handed out.
    pub fn is_done(&self) -> bool {
        self.offset > 0 && self.offset >= self.message.len()
    }
}

/// Collects incoming fragments into one TLS message.
#[derive(Debug, Clone)]
pub struct Reassembler {
    buf: Vec<u8>,
    declared: Option<usize>,
    max_message_size: usize,
}

impl Reassembler {
    pub fn new(max_message_size: usize) -> Reassembler {
        Reassembler {
            buf: Vec::new(),
            declared: None,
            max_message_size,
        }
    }

    /// True while a fragmented message is partly received.
    pub fn in_progress(&self) -> bool {
        !self.buf.is_empty() || self.declared.is_some()
    }

    /// Add a fragment. `Ok(None)`: more fragments follow (acknowledge this one). `Ok(Some(message))`:
    /// the message is complete and the reassembler is empty again.
    pub fn push(&mut self, fragment: &TlsFragment) -> Result<Option<Vec<u8>>, FragmentError> {
        let max = self.max_message_size;
        if let Some(len) = fragment.message_length {
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            if len > max {
                return Err(FragmentError::TooLarge(len, max));
            }
            // L may repeat on later fragments (some peers do that) but must not change; L first
            // seen on a later fragment is taken and checked like any other.
            match self.declared {
                Some(first) if first != len => {
                    return Err(FragmentError::LengthChanged { first, later: len });
                }
                _ => self.declared = Some(len),
            }
        }
        let received = self.buf.len().saturating_add(fragment.data.len());
        if received > max {
            return Err(FragmentError::TooLarge(received, max));
        }
        if let Some(declared) = self.declared
            && received > declared
        {
            return Err(FragmentError::LengthMismatch { declared, received });
        }
        self.buf.extend_from_slice(&fragment.data);
        if fragment.more() {
            return Ok(None);
        }
        let declared = self.declared.take();
        let message = std::mem::take(&mut self.buf);
        if let Some(declared) = declared
            && declared != message.len()
        {
            return Err(FragmentError::LengthMismatch {
                declared,
                received: message.len(),
            });
        }
        Ok(Some(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_length_round_trip() {
        let f = TlsFragment::decode(&[0xc0, 0, 0, 0x07, 0xd0, 0x16, 0x03]).unwrap();
        assert_eq!(f.flags, FLAG_LENGTH | FLAG_MORE);
        assert_eq!(f.message_length, Some(2000));
        assert_eq!(f.data, [0x16, 0x03]);
        assert!(f.more() && !f.is_ack());
        assert_eq!(f.encode(), [0xc0, 0, 0, 0x07, 0xd0, 0x16, 0x03]);
        assert_eq!(TlsFragment::start().encode(), [0x20]);
        assert_eq!(TlsFragment::ack().encode(), [0]);
        assert!(TlsFragment::decode(&[0]).unwrap().is_ack());
    }

    #[test]
    fn truncated_inputs_are_errors() {
        assert_eq!(TlsFragment::decode(&[]), Err(FragmentError::Empty));
        assert_eq!(
            TlsFragment::decode(&[0x80, 0, 0]),
            Err(FragmentError::TruncatedLength)
        );
    }

    #[test]
    fn fragmenter_sets_length_on_first_of_many_only() {
        let msg: Vec<u8> = (0..2500u32).map(|i| i as u8).collect();
        let mut f = Fragmenter::new(msg.clone(), 1000, false);
        let a = f.next_fragment().unwrap();
        let b = f.next_fragment().unwrap();
        let c = f.next_fragment().unwrap();
        assert!(f.next_fragment().is_none() && f.is_done());
        assert_eq!(
            (a.flags, a.message_length, a.data.len()),
            (FLAG_MORE, Some(2500), 1000)
        );
        assert_eq!(
            (b.flags, b.message_length, b.data.len()),
            (FLAG_MORE, None, 1000)
        );
        assert_eq!((c.flags, c.message_length, c.data.len()), (0, None, 500));
        let mut r = Reassembler::new(DEFAULT_MAX_MESSAGE_SIZE);
        assert_eq!(r.push(&a), Ok(None));
        assert_eq!(r.push(&b), Ok(None));
        assert_eq!(r.push(&c), Ok(Some(msg)));
        assert!(!r.in_progress());

        let mut single = Fragmenter::new(vec![1, 2, 3], 1000, false);
        assert_eq!(single.next_fragment().unwrap().message_length, None);
        let mut always = Fragmenter::new(vec![1, 2, 3], 1000, true);
        assert_eq!(always.next_fragment().unwrap().message_length, Some(3));
        let mut empty = Fragmenter::new(Vec::new(), 1000, false);
        assert!(empty.next_fragment().unwrap().is_ack());
        assert!(empty.next_fragment().is_none());
    }

    #[test]
    fn reassembler_enforces_declared_length_and_limit() {
        let mut r = Reassembler::new(100);
        let first = TlsFragment {
            flags: FLAG_MORE,
            message_length: Some(10),
            data: vec![0; 6],
        };
        assert_eq!(r.push(&first), Ok(None));
        let last = TlsFragment {
            flags: 0,
            message_length: None,
            data: vec![0; 3],
        };
        assert_eq!(
            r.push(&last),
            Err(FragmentError::LengthMismatch {
                declared: 10,
                received: 9
            })
        );

        let mut r = Reassembler::new(100);
        let first = TlsFragment {
            flags: FLAG_MORE,
            message_length: Some(4),
            data: vec![0; 6],
        };
        assert!(matches!(
            r.push(&first),
            Err(FragmentError::LengthMismatch { .. })
        ));

        let mut r = Reassembler::new(100);
        let big = TlsFragment {
            flags: FLAG_MORE,
            message_length: Some(1000),
            data: vec![],
        };
        assert_eq!(r.push(&big), Err(FragmentError::TooLarge(1000, 100)));

        let mut r = Reassembler::new(100);
        let chunk = TlsFragment {
            flags: FLAG_MORE,
            message_length: None,
            data: vec![0; 60],
        };
        assert_eq!(r.push(&chunk), Ok(None));
        assert_eq!(r.push(&chunk), Err(FragmentError::TooLarge(120, 100)));

        let mut r = Reassembler::new(100);
        let a = TlsFragment {
            flags: FLAG_MORE,
            message_length: Some(10),
            data: vec![0; 5],
        };
        let b = TlsFragment {
            flags: 0,
            message_length: Some(11),
            data: vec![0; 5],
        };
        assert_eq!(r.push(&a), Ok(None));
        assert_eq!(
            r.push(&b),
            Err(FragmentError::LengthChanged {
                first: 10,
                later: 11
            })
        );
    }
}
