//! EAP-TLS key derivation (RFC 5216 section 2.3, RFC 9190 section 2.3): MSK and EMSK from the TLS
//! exporter, and the MS-MPPE key halves (RFC 2548) as plain bytes for the RADIUS layer to encrypt.

use std::fmt;

use rustls::{ConnectionCommon, ProtocolVersion};
use thiserror::Error;
use wardgate_radius::vendor::MICROSOFT;
use wardgate_radius::{EncodeError, Packet, SharedSecret, salt_encrypt};

/// Microsoft vendor type of MS-MPPE-Send-Key (RFC 2548 section 2.4.2).
pub const MS_MPPE_SEND_KEY: u8 = 16;
/// Microsoft vendor type of MS-MPPE-Recv-Key (RFC 2548 section 2.4.3).
pub const MS_MPPE_RECV_KEY: u8 = 17;

/// TLS 1.2 exporter label (RFC 5216).
pub const TLS12_LABEL: &[u8] = b"client EAP encryption";
/// TLS 1.3 exporter label (RFC 9190).
pub const TLS13_LABEL: &[u8] = b"EXPORTER_EAP_TLS_Key_Material";
/// TLS 1.3 exporter context for EAP-TLS: the EAP Type octet.
pub const TLS13_CONTEXT_EAP_TLS: [u8; 1] = [0x0d];

#[derive(Debug, Clone, PartialEq, Error)]
pub enum KeyError {
    #[error("no TLS version negotiated, or one EAP-TLS has no exporter for: {0:?}")]
    UnsupportedVersion(Option<ProtocolVersion>),
    #[error("TLS exporter failed: {0}")]
    Exporter(#[from] rustls::Error),
}

/// MSK and EMSK (64 octets each). Debug prints nothing secret.
#[derive(Clone, PartialEq, Eq)]
pub struct EapKeys {
    msk: [u8; 64],
    emsk: [u8; 64],
}

impl fmt::Debug for EapKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EapKeys(<redacted>)")
    }
}

impl EapKeys {
    /// Split 128 exporter octets: MSK = first 64, EMSK = last 64.
    pub fn from_key_material(material: &[u8; 128]) -> EapKeys {
        let mut msk = [0u8; 64];
        let mut emsk = [0u8; 64];
        msk.copy_from_slice(&material[..64]);
        emsk.copy_from_slice(&material[64..]);
        EapKeys { msk, emsk }
    }

    /// Export the keys from a finished handshake (either side), with the label and context for the
    /// negotiated version. TLS 1.3 always asks for all 128 octets and splits.
    pub fn export<T>(conn: &ConnectionCommon<T>) -> Result<EapKeys, KeyError> {
        let version = conn.protocol_version();
        let material = match version {
            Some(ProtocolVersion::TLSv1_2) => {
                conn.export_keying_material([0u8; 128], TLS12_LABEL, None)?
            }
            Some(ProtocolVersion::TLSv1_3) => {
                conn.export_keying_material([0u8; 128], TLS13_LABEL, Some(&TLS13_CONTEXT_EAP_TLS))?
            }
            other => return Err(KeyError::UnsupportedVersion(other)),
        };
        Ok(EapKeys::from_key_material(&material))
    }

    pub fn msk(&self) -> &[u8; 64] {
        &self.msk
    }

    pub fn emsk(&self) -> &[u8; 64] {
        &self.emsk
    }

    /// MS-MPPE-Recv-Key (311/17) before encryption: MSK[0..32].
    pub fn mppe_recv_key(&self) -> &[u8] {
        &self.msk[..32]
    }

    /// MS-MPPE-Send-Key (311/16) before encryption: MSK[32..64].
    pub fn mppe_send_key(&self) -> &[u8] {
        &self.msk[32..]
    }

    /// Append MS-MPPE-Recv-Key and MS-MPPE-Send-Key to an Access-Accept, each salt-encrypted
    /// (RFC 2548 section 2.4.2) with the Access-Request's authenticator. `salt` should be random
    /// per reply; the Send-Key uses it with the low bit of its second octet flipped, so the two
    /// salts always differ (the high bit is forced on by `salt_encrypt`).
    pub fn add_mppe_keys(
        &self,
        reply: &mut Packet,
        secret: &SharedSecret,
        request_authenticator: &[u8; 16],
        salt: [u8; 2],
    ) -> Result<(), EncodeError> {
        let recv = salt_encrypt(self.mppe_recv_key(), secret, request_authenticator, salt);
        let send_salt = [salt[0], salt[1] ^ 1];
        let send = salt_encrypt(
            self.mppe_send_key(),
            secret,
            request_authenticator,
            send_salt,
        );
        reply.add_vsa(MICROSOFT, MS_MPPE_RECV_KEY, &recv)?;
        reply.add_vsa(MICROSOFT, MS_MPPE_SEND_KEY, &send)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_mppe_halves() {
        let mut material = [0u8; 128];
        for (i, b) in material.iter_mut().enumerate() {
            *b = i as u8;
        }
        let k = EapKeys::from_key_material(&material);
        assert_eq!(k.msk()[0], 0);
        assert_eq!(k.emsk()[0], 64);
        assert_eq!(k.mppe_recv_key(), &material[..32]);
        assert_eq!(k.mppe_send_key(), &material[32..64]);
        assert_eq!(format!("{k:?}"), "EapKeys(<redacted>)");
    }

    #[test]
    fn mppe_attributes_decrypt_to_the_msk_halves() {
        let mut material = [0u8; 128];
        for (i, b) in material.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(7);
        }
        let k = EapKeys::from_key_material(&material);
        let secret = SharedSecret::new("testing123");
        let auth = [0x5a; 16];
        let mut reply = Packet::new(wardgate_radius::Code::ACCESS_ACCEPT, 1, [0; 16]);
        k.add_mppe_keys(&mut reply, &secret, &auth, [0x12, 0x34])
            .unwrap();
        let recv = reply.vsa(MICROSOFT, MS_MPPE_RECV_KEY).unwrap();
        let send = reply.vsa(MICROSOFT, MS_MPPE_SEND_KEY).unwrap();
        assert_ne!(recv[..2], send[..2], "salts differ");
        assert!(recv[0] & 0x80 != 0 && send[0] & 0x80 != 0);
        let salt_decrypt = wardgate_radius::salt_decrypt;
        assert_eq!(
            salt_decrypt(recv, &secret, &auth).unwrap(),
            k.mppe_recv_key()
        );
        assert_eq!(
            salt_decrypt(send, &secret, &auth).unwrap(),
            k.mppe_send_key()
        );
        assert_eq!(recv.len(), 2 + 48);
    }
}
