use super::*;

fn secret() -> SharedSecret {
    SharedSecret::new("xyzzy5461")
}

const RA: [u8; 16] = [
    0x0f, 0x40, 0x3f, 0x94, 0x73, 0x97, 0x80, 0x57, 0xbd, 0x83, 0xd5, 0xcb, 0x98, 0xf4, 0x22, 0x7a,
];

#[test]
fn user_password_lengths() {
    for len in [1usize, 15, 16, 17, 31, 32, 127, 128] {
        let plain: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        let c = encrypt_user_password(&plain, &secret(), &RA).unwrap();
        assert_eq!(c.len(), len.div_ceil(16) * 16, "len {len}");
        assert_ne!(&c[..len], &plain[..]);
        assert_eq!(
            decrypt_user_password(&c, &secret(), &RA).unwrap(),
            plain,
            "len {len}"
        );
        // Another secret or authenticator gives something else.
        assert_ne!(
            decrypt_user_password(&c, &SharedSecret::new("x"), &RA).unwrap(),
            plain
        );
    }
    // Empty: one block of padding, decrypts to empty.
    let c = encrypt_user_password(b"", &secret(), &RA).unwrap();
    assert_eq!(c.len(), 16);
    assert_eq!(decrypt_user_password(&c, &secret(), &RA).unwrap(), b"");
}

#[test]
fn user_password_utf8_and_limits() {
    let plain = "pässwörd".as_bytes();
    let c = encrypt_user_password(plain, &secret(), &RA).unwrap();
    assert_eq!(decrypt_user_password(&c, &secret(), &RA).unwrap(), plain);
    assert_eq!(
        encrypt_user_password(&[b'x'; 129], &secret(), &RA),
        Err(PasswordError::TooLong { len: 129, max: 128 })
    );
    for bad in [0usize, 15, 17, 144] {
        assert_eq!(
            decrypt_user_password(&vec![0; bad], &secret(), &RA),
            Err(PasswordError::BadCipherLength { len: bad })
        );
    }
}

#[test]
fn salted_round_trip_and_rfc2548_shape() {
    for len in [0usize, 1, 15, 16, 32, 64, 239] {
        let plain: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let c = salt_encrypt(&plain, &secret(), &RA, [0x12, 0x34]);
        // Salt with its high bit forced, then whole 16-octet blocks of len|plain|pad.
        assert_eq!(&c[..2], &[0x92, 0x34]);
        assert_eq!(c.len(), 2 + (len + 1).div_ceil(16) * 16, "len {len}");
        assert!(c.len() <= 253);
        assert_eq!(
            salt_decrypt(&c, &secret(), &RA).unwrap(),
            plain,
            "len {len}"
        );
        // The first decrypted octet is the length.
        let mut body = c[2..].to_vec();
        xor_stream(&mut body, &secret(), &[&RA, &c[..2]], true);
        assert_eq!(usize::from(body[0]), len);
        assert!(body[len + 1..].iter().all(|b| *b == 0));
    }
    // MS-MPPE-Recv-Key: 32-octet key gives 50 octets.
    let key = [0xAB; 32];
    let c = salt_encrypt(&key, &secret(), &RA, [0x80, 0x01]);
    assert_eq!(c.len(), 50);
    assert_eq!(salt_decrypt(&c, &secret(), &RA).unwrap(), key);
    // Different salts, different ciphertexts.
    assert_ne!(
        c[2..],
        salt_encrypt(&key, &secret(), &RA, [0x80, 0x02])[2..]
    );
}

#[test]
fn salted_limits_and_errors() {
    let long = [7u8; 240];
    assert_eq!(
        try_salt_encrypt(&long, &secret(), &RA, [0, 0]),
        Err(PasswordError::TooLong { len: 240, max: 239 })
    );
    let cut = salt_encrypt(&long, &secret(), &RA, [0, 0]);
    assert_eq!(salt_decrypt(&cut, &secret(), &RA).unwrap(), &long[..239]);
    for bad in [0usize, 1, 2, 17, 19] {
        assert_eq!(
            salt_decrypt(&vec![0x80; bad], &secret(), &RA),
            Err(PasswordError::BadSaltedLength { len: bad })
        );
    }
    // A length octet past the data is refused.
    let mut c = salt_encrypt(b"abc", &secret(), &RA, [0x80, 0]);
    c[2] ^= 0xF0;
    assert!(matches!(
        salt_decrypt(&c, &secret(), &RA),
        Err(PasswordError::BadInnerLength { .. })
    ));
}
