//! User data as Terraform keeps it: `user_data` is stored as the SHA-1 hex digest of
//! the script (of its decoded bytes when the value is already base64), so state never
//! holds the script itself; `user_data_base64` is stored as given.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

/// The bytes a user-data value stands for: decoded when it is valid base64, else as is.
pub fn user_data_bytes(value: &str) -> Vec<u8> {
    STANDARD
        .decode(value)
        .unwrap_or_else(|_| value.as_bytes().to_vec())
}

/// What state stores for `user_data`.
pub fn user_data_hash(value: &str) -> String {
    hex::encode(Sha1::digest(user_data_bytes(value)))
}

/// True when `value` is already the stored digest of some user data.
pub fn is_hash(value: &str) -> bool {
    value.len() == 40 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What RunInstances takes: base64, without encoding twice a value that already is.
pub fn user_data_for_aws(value: &str) -> String {
    match STANDARD.decode(value) {
        Ok(_) => value.to_string(),
        Err(_) => STANDARD.encode(value.as_bytes()),
    }
}

/// Decodes the base64 user data EC2 reports.
pub fn decode_live(value: &str) -> Vec<u8> {
    STANDARD
        .decode(value.trim())
        .unwrap_or_else(|_| value.as_bytes().to_vec())
}

pub fn hash_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_sha1_hex_of_the_script() {
        // printf '#!/bin/sh\necho hi\n' | sha1sum
        let script = "#!/bin/sh\necho hi\n";
        let expected = hash_bytes(script.as_bytes());
        assert_eq!(user_data_hash(script), expected);
        assert_eq!(expected.len(), 40);
        assert!(is_hash(&expected));
        assert_eq!(
            user_data_hash("hello"),
            "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"
        );
    }

    #[test]
    fn base64_input_is_hashed_decoded_and_not_encoded_twice() {
        let encoded = STANDARD.encode("hello");
        assert_eq!(user_data_hash(&encoded), user_data_hash("hello"));
        assert_eq!(user_data_for_aws(&encoded), encoded);
        assert_eq!(
            user_data_for_aws("#!/bin/sh\n"),
            STANDARD.encode("#!/bin/sh\n")
        );
        assert_eq!(
            decode_live(&user_data_for_aws("#!/bin/sh\n")),
            b"#!/bin/sh\n"
        );
    }
}
