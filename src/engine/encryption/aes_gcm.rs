//! OpenTofu's `aes_gcm` method: AES-GCM (128, 192 or 256 by the key's length) with a
//! random 12-byte nonce; the stored form is nonce || ciphertext || tag, as Go's
//! `gcm.Seal` appended to the nonce, with the method's `aad` authenticated.

use aws_lc_rs::aead::{
    AES_128_GCM, AES_192_GCM, AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey,
};

use super::EncryptionError;

pub(crate) fn seal(key: &[u8], aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, EncryptionError> {
    let key = cipher(key)?;
    let mut nonce = [0u8; NONCE_LEN];
    aws_lc_rs::rand::fill(&mut nonce)
        .map_err(|_| EncryptionError::Crypto("no random data for the nonce".into()))?;
    let mut in_out = plain.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut in_out,
    )
    .map_err(|_| EncryptionError::Crypto("AES-GCM encryption failed".into()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&in_out);
    Ok(out)
}

pub(crate) fn open(key: &[u8], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, EncryptionError> {
    let key = cipher(key)?;
    if sealed.len() < NONCE_LEN {
        return Err(EncryptionError::Decryption(
            "the encrypted data is too short (likely damaged)".into(),
        ));
    }
    let (nonce, data) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce)
        .map_err(|_| EncryptionError::Decryption("bad nonce".into()))?;
    let mut in_out = data.to_vec();
    let plain = key
        .open_in_place(nonce, Aad::from(aad), &mut in_out)
        .map_err(|_| {
            EncryptionError::Decryption(
                "AES-GCM authentication failed: a different key (wrong passphrase?) or damaged data"
                    .into(),
            )
        })?;
    Ok(plain.to_vec())
}

fn cipher(key: &[u8]) -> Result<LessSafeKey, EncryptionError> {
    let algorithm = match key.len() {
        16 => &AES_128_GCM,
        24 => &AES_192_GCM,
        32 => &AES_256_GCM,
        n => {
            return Err(EncryptionError::Configuration(format!(
                "AES-GCM needs a key of 16, 24 or 32 bytes, the key provider gives {n}"
            )));
        }
    };
    UnboundKey::new(algorithm, key)
        .map(LessSafeKey::new)
        .map_err(|_| EncryptionError::Crypto("AES-GCM key setup failed".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The GCM specification's test case 14 (AES-256, zero key, zero nonce, 16 zero bytes)
    /// laid out as OpenTofu stores it: nonce || ciphertext || tag.
    #[test]
    fn opens_the_gcm_specification_vector_in_opentofus_layout() {
        let sealed = hex::decode(concat!(
            "000000000000000000000000",
            "cea7403d4d606b6e074ec5d3baf39d18",
            "d0d1c8a799996bf0265b98b5d48ab919"
        ))
        .expect("hex");
        let plain = open(&[0u8; 32], &[], &sealed).expect("open");
        assert_eq!(plain, vec![0u8; 16]);
    }

    #[test]
    fn seal_open_round_trip_and_a_wrong_key_or_aad_fails() {
        let key = [7u8; 32];
        let sealed = seal(&key, b"aad", b"{\"serial\":1}").expect("seal");
        assert_eq!(sealed.len(), NONCE_LEN + 12 + 16);
        assert_eq!(
            open(&key, b"aad", &sealed).expect("open"),
            b"{\"serial\":1}"
        );
        assert!(open(&[8u8; 32], b"aad", &sealed).is_err());
        assert!(open(&key, b"other", &sealed).is_err());
        assert_ne!(
            seal(&key, b"aad", b"x").expect("a"),
            seal(&key, b"aad", b"x").expect("b")
        );
    }
}
