//! RADIUS packet codes as a newtype that keeps unknown values.

use std::fmt;

/// A RADIUS packet code (RFC 2865, 2866, 5176, 5997). Unknown values are kept.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(pub u8);

impl Code {
    pub const ACCESS_REQUEST: Code = Code(1);
    pub const ACCESS_ACCEPT: Code = Code(2);
    pub const ACCESS_REJECT: Code = Code(3);
    pub const ACCOUNTING_REQUEST: Code = Code(4);
    pub const ACCOUNTING_RESPONSE: Code = Code(5);
    pub const ACCESS_CHALLENGE: Code = Code(11);
    pub const STATUS_SERVER: Code = Code(12);
    pub const STATUS_CLIENT: Code = Code(13);
    pub const DISCONNECT_REQUEST: Code = Code(40);
    pub const DISCONNECT_ACK: Code = Code(41);
    pub const DISCONNECT_NAK: Code = Code(42);
    pub const COA_REQUEST: Code = Code(43);
    pub const COA_ACK: Code = Code(44);
    pub const COA_NAK: Code = Code(45);

    /// The RFC name, or `None` for a code this crate does not know.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "Access-Request",
            2 => "Access-Accept",
            3 => "Access-Reject",
            4 => "Accounting-Request",
            5 => "Accounting-Response",
            11 => "Access-Challenge",
            12 => "Status-Server",
            13 => "Status-Client",
            40 => "Disconnect-Request",
            41 => "Disconnect-ACK",
            42 => "Disconnect-NAK",
            43 => "CoA-Request",
            44 => "CoA-ACK",
            45 => "CoA-NAK",
            _ => return None,
        })
    }

    /// True for Access-Accept, Access-Reject and Access-Challenge: the replies that
    /// always carry Message-Authenticator as their first attribute.
    pub fn is_access_reply(self) -> bool {
        matches!(self.0, 2 | 3 | 11)
    }

    /// True for the requests whose Request Authenticator is an MD5 over the packet
    /// with a zero authenticator (Accounting-Request, Disconnect-Request, CoA-Request).
    pub fn has_hashed_request_authenticator(self) -> bool {
        matches!(self.0, 4 | 40 | 43)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Code-{}", self.0),
        }
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Code({} {})", self.0, self)
    }
}

impl From<u8> for Code {
    fn from(v: u8) -> Code {
        Code(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(Code::COA_NAK.to_string(), "CoA-NAK");
        assert_eq!(Code(99).to_string(), "Code-99");
        assert!(Code::ACCESS_CHALLENGE.is_access_reply());
        assert!(!Code::ACCOUNTING_RESPONSE.is_access_reply());
    }
}
