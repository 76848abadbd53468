//! Authenticators, Message-Authenticator (RFC 3579/2869, BlastRADIUS) and the password
//! hiding schemes: User-Password (RFC 2865 5.2) and the salted scheme of RFC 2548 2.4.2
//! / RFC 2868 3.5 (MS-MPPE keys, Tunnel-Password).

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

use crate::attr::MESSAGE_AUTHENTICATOR;
use crate::packet::{EncodeError, HEADER_LEN, frame};
use crate::{Code, SharedSecret};

type HmacMd5 = Hmac<Md5>;

/// Outcome of a Message-Authenticator check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageAuthenticator {
    /// No Message-Authenticator attribute.
    Absent,
    /// Present once, 16 octets, and correct.
    Valid,
    /// Wrong value, wrong length, more than one, or the packet is malformed.
    Invalid,
}

/// Why a hidden password cannot be handled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("hidden password of {len} octets is not a multiple of 16 in 16..=128")]
    BadCipherLength { len: usize },
    #[error("password of {len} octets exceeds {max}")]
    TooLong { len: usize, max: usize },
    #[error("salted value of {len} octets is malformed")]
    BadSaltedLength { len: usize },
    #[error("salted value's length octet {stated} exceeds the {available} decrypted octets")]
    BadInnerLength { stated: usize, available: usize },
}

fn md5_parts(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn hmac(secret: &SharedSecret) -> Option<HmacMd5> {
    HmacMd5::new_from_slice(secret.as_bytes()).ok()
}

/// Computes HMAC-MD5 over `buf` (whose Message-Authenticator, at offset 22, is zero)
/// and writes it there. Used by the encoders, which put the attribute first.
pub(crate) fn sign_first_message_authenticator(
    buf: &mut [u8],
    secret: &SharedSecret,
) -> Result<(), EncodeError> {
    let mut mac = hmac(secret).ok_or(EncodeError::Hmac)?;
    mac.update(buf);
    let tag = mac.finalize().into_bytes();
    let field = buf
        .get_mut(HEADER_LEN + 2..HEADER_LEN + 18)
        .ok_or(EncodeError::Hmac)?;
    field.copy_from_slice(&tag);
    Ok(())
}

/// Writes MD5(buf | secret) into the authenticator field. The field must already hold
/// the Request Authenticator (replies) or 16 zero octets (accounting-style requests).
pub(crate) fn sign_authenticator(buf: &mut [u8], secret: &SharedSecret) {
    let digest = md5_parts(&[buf, secret.as_bytes()]);
    if let Some(field) = buf.get_mut(4..HEADER_LEN) {
        field.copy_from_slice(&digest);
    }
}

/// Checks the Message-Authenticator of a received datagram.
///
/// `request_auth` `None` verifies a request: Access-Request and Status-Server use their
/// own authenticator field, Accounting-Request, CoA-Request and Disconnect-Request use
/// 16 zero octets (RFC 5176, 3579). `Some(a)` verifies a reply to the request whose
/// authenticator is `a`. More than one Message-Authenticator, one whose length is not
/// 16, or a malformed packet gives `Invalid`. The comparison is constant time.
pub fn check_message_authenticator(
    raw: &[u8],
    secret: &SharedSecret,
    request_auth: Option<&[u8; 16]>,
) -> MessageAuthenticator {
    let Ok(pkt) = frame(raw) else {
        return MessageAuthenticator::Invalid;
    };
    let mut found: Option<usize> = None;
    let mut pos = HEADER_LEN;
    while pos < pkt.len() {
        let (Some(&typ), Some(&len)) = (pkt.get(pos), pkt.get(pos + 1)) else {
            return MessageAuthenticator::Invalid;
        };
        let len = usize::from(len);
        if len < 2 || pos + len > pkt.len() {
            return MessageAuthenticator::Invalid;
        }
        if typ == MESSAGE_AUTHENTICATOR {
            if len != 18 || found.is_some() {
                return MessageAuthenticator::Invalid;
            }
            found = Some(pos + 2);
        }
        pos += len;
    }
    let Some(off) = found else {
        return MessageAuthenticator::Absent;
    };
    let own = &pkt[4..HEADER_LEN];
    let auth: &[u8] = match request_auth {
        Some(a) => a,
        None if Code(pkt[0]).has_hashed_request_authenticator() => &[0; 16],
        None => own,
    };
    let Some(mut mac) = hmac(secret) else {
        return MessageAuthenticator::Invalid;
    };
    mac.update(&pkt[..4]);
    mac.update(auth);
    mac.update(&pkt[HEADER_LEN..off]);
    mac.update(&[0; 16]);
    mac.update(&pkt[off + 16..]);
    let tag = mac.finalize().into_bytes();
    if bool::from(tag.as_slice().ct_eq(&pkt[off..off + 16])) {
        MessageAuthenticator::Valid
    } else {
        MessageAuthenticator::Invalid
    }
}

fn verify_md5_authenticator(raw: &[u8], auth: &[u8; 16], secret: &SharedSecret) -> bool {
    let Ok(pkt) = frame(raw) else {
        return false;
    };
    let digest = md5_parts(&[&pkt[..4], auth, &pkt[HEADER_LEN..], secret.as_bytes()]);
    bool::from(digest.ct_eq(&pkt[4..HEADER_LEN]))
}

/// Verifies the Request Authenticator of an Accounting-Request, CoA-Request or
/// Disconnect-Request: MD5(Code|ID|Length|16 zero octets|Attributes|Secret).
pub fn verify_request_authenticator(raw: &[u8], secret: &SharedSecret) -> bool {
    verify_md5_authenticator(raw, &[0; 16], secret)
}

/// Verifies a reply's Response Authenticator:
/// MD5(Code|ID|Length|RequestAuth|Attributes|Secret).
pub fn verify_response_authenticator(
    raw: &[u8],
    request_auth: &[u8; 16],
    secret: &SharedSecret,
) -> bool {
    verify_md5_authenticator(raw, request_auth, secret)
}

/// XORs `data` (a multiple of 16 octets) in place with the RFC 2865 key stream:
/// b1 = MD5(secret|first), bi = MD5(secret|c(i-1)), where c is the ciphertext.
fn xor_stream(data: &mut [u8], secret: &SharedSecret, first: &[&[u8]], decrypt: bool) {
    let mut prefix = Md5::new();
    prefix.update(secret.as_bytes());
    let mut h = prefix.clone();
    for p in first {
        h.update(p);
    }
    let mut b: [u8; 16] = h.finalize().into();
    for block in data.chunks_mut(16) {
        let mut cipher = [0u8; 16];
        for (i, octet) in block.iter_mut().enumerate() {
            if decrypt {
                cipher[i] = *octet;
                *octet ^= b[i];
            } else {
                *octet ^= b[i];
                cipher[i] = *octet;
            }
        }
        let mut h = prefix.clone();
        h.update(cipher);
        b = h.finalize().into();
    }
}

/// Hides a User-Password (RFC 2865 5.2): NUL-padded to a multiple of 16 (at least 16),
/// at most 128 octets.
pub fn encrypt_user_password(
    plain: &[u8],
    secret: &SharedSecret,
    request_auth: &[u8; 16],
) -> Result<Vec<u8>, PasswordError> {
    if plain.len() > 128 {
        return Err(PasswordError::TooLong {
            len: plain.len(),
            max: 128,
        });
    }
    let padded = plain.len().div_ceil(16).max(1) * 16;
    let mut out = Vec::with_capacity(padded);
    out.extend_from_slice(plain);
    out.resize(padded, 0);
    xor_stream(&mut out, secret, &[request_auth], false);
    Ok(out)
}

/// Recovers a User-Password (RFC 2865 5.2): 16..=128 octets, a multiple of 16; the
/// trailing NUL padding is removed. The result may be UTF-8 or not: the caller decides.
pub fn decrypt_user_password(
    cipher: &[u8],
    secret: &SharedSecret,
    request_auth: &[u8; 16],
) -> Result<Vec<u8>, PasswordError> {
    if cipher.len() < 16 || cipher.len() > 128 || !cipher.len().is_multiple_of(16) {
        return Err(PasswordError::BadCipherLength { len: cipher.len() });
    }
    let mut out = cipher.to_vec();
    xor_stream(&mut out, secret, &[request_auth], true);
    let end = out.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    out.truncate(end);
    Ok(out)
}

/// Most plaintext octets the salted scheme can carry in one attribute value of at most
/// 253 octets: 2 salt octets + 240 (1 length octet + 239 data, padded).
pub const MAX_SALTED_PLAIN_LEN: usize = 239;

/// Hides a value with the salted scheme of RFC 2548 2.4.2 / RFC 2868 3.5 (MS-MPPE-Send/
/// Recv-Key, Tunnel-Password): output is Salt(2) | C, where P = len | plain | zero pad
/// to 16, b1 = MD5(secret|RequestAuth|Salt), bi = MD5(secret|c(i-1)). The high bit of
/// the salt is forced on; the caller keeps salts unique per attribute. A Tunnel-Password
/// tag octet, if any, goes in front of the result. Plaintext beyond
/// [`MAX_SALTED_PLAIN_LEN`] octets is cut there: use [`try_salt_encrypt`] to get an
/// error instead.
pub fn salt_encrypt(
    plain: &[u8],
    secret: &SharedSecret,
    request_auth: &[u8; 16],
    salt: [u8; 2],
) -> Vec<u8> {
    let plain = &plain[..plain.len().min(MAX_SALTED_PLAIN_LEN)];
    let salt = [salt[0] | 0x80, salt[1]];
    let padded = (plain.len() + 1).div_ceil(16) * 16;
    let mut out = Vec::with_capacity(2 + padded);
    out.extend_from_slice(&salt);
    out.push(plain.len() as u8);
    out.extend_from_slice(plain);
    out.resize(2 + padded, 0);
    xor_stream(&mut out[2..], secret, &[request_auth, &salt], false);
    out
}

/// Like [`salt_encrypt`], but refuses plaintext longer than [`MAX_SALTED_PLAIN_LEN`].
pub fn try_salt_encrypt(
    plain: &[u8],
    secret: &SharedSecret,
    request_auth: &[u8; 16],
    salt: [u8; 2],
) -> Result<Vec<u8>, PasswordError> {
    if plain.len() > MAX_SALTED_PLAIN_LEN {
        return Err(PasswordError::TooLong {
            len: plain.len(),
            max: MAX_SALTED_PLAIN_LEN,
        });
    }
    Ok(salt_encrypt(plain, secret, request_auth, salt))
}

/// Recovers a value hidden with the salted scheme (input: Salt(2) | C, without any
/// Tunnel-Password tag octet). The salt's high bit is not enforced on receipt.
pub fn salt_decrypt(
    cipher: &[u8],
    secret: &SharedSecret,
    request_auth: &[u8; 16],
) -> Result<Vec<u8>, PasswordError> {
    let Some((salt, body)) = cipher.split_first_chunk::<2>() else {
        return Err(PasswordError::BadSaltedLength { len: cipher.len() });
    };
    if body.is_empty() || !body.len().is_multiple_of(16) {
        return Err(PasswordError::BadSaltedLength { len: cipher.len() });
    }
    let mut out = body.to_vec();
    xor_stream(&mut out, secret, &[request_auth, salt], true);
    let stated = usize::from(out[0]);
    if stated + 1 > out.len() {
        return Err(PasswordError::BadInnerLength {
            stated,
            available: out.len() - 1,
        });
    }
    out.truncate(stated + 1);
    out.remove(0);
    Ok(out)
}

#[cfg(test)]
mod tests;
