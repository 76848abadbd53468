//! RADIUS wire codec and FreeRADIUS-format dictionaries (no I/O).
//!
//! The crate owns the bytes on the wire: packet framing ([`Packet`]), raw
//! attributes, vendor-specific attributes ([`Vsa`]), authenticators,
//! Message-Authenticator (BlastRADIUS mitigation), the password hiding schemes
//! of RFC 2865 and RFC 2548/2868, tagged attributes (RFC 2868) and a loader for
//! FreeRADIUS-format dictionaries ([`dictionary::Dictionary`]).
//!
//! Nothing here stores a shared secret inside a packet: every check and every
//! encoder takes the [`SharedSecret`] as an argument. Decoding never panics,
//! whatever the input.

pub mod attr;
mod auth;
mod code;
pub mod dictionary;
mod packet;
mod secret;
pub mod vendor;
mod vsa;

pub use attr::{parse_tagged_integer, parse_tagged_string, tagged_integer, tagged_string};
pub use auth::{
    MAX_SALTED_PLAIN_LEN, MessageAuthenticator, PasswordError, check_message_authenticator,
    decrypt_user_password, encrypt_user_password, salt_decrypt, salt_encrypt, try_salt_encrypt,
    verify_request_authenticator, verify_response_authenticator,
};
pub use code::Code;
pub use packet::{
    Attribute, DecodeError, EncodeError, HEADER_LEN, MAX_ATTR_VALUE_LEN, MAX_PACKET_LEN, Packet,
    RawAttributes, frame,
};
pub use secret::SharedSecret;
pub use vsa::{MAX_VSA_VALUE_LEN, Vsa, Vsas, parse_vsa};

#[cfg(test)]
pub(crate) mod testutil;
