//! API key secrets: generated with 256 bits of entropy, stored only as SHA-256,
//! compared in constant time.
//!
//! A presented key is `vk_<key id hex>_<secret hex>`: the id part finds the row
//! without comparing secrets in the database, where timing could leak.

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub struct Generated {
    pub key_id: String,
    pub presented: String,
    pub secret_sha256: String,
}

pub fn generate() -> Generated {
    let key_id = crate::ids::new_id(crate::ids::API_KEY);
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let secret_hex = hex::encode(secret);
    let id_hex = key_id.trim_start_matches("key_");
    Generated {
        presented: format!("vk_{id_hex}_{secret_hex}"),
        secret_sha256: sha256_hex(&secret_hex),
        key_id,
    }
}

/// Split a presented key into (key id, secret); `None` when it is not shaped like one.
pub fn parse(presented: &str) -> Option<(String, &str)> {
    let rest = presented.strip_prefix("vk_")?;
    let (id_hex, secret) = rest.split_once('_')?;
    let hexy = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !hexy(id_hex, 32) || !hexy(secret, 64) {
        return None;
    }
    Some((format!("key_{id_hex}"), secret))
}

pub fn verify(secret: &str, stored_sha256_hex: &str) -> bool {
    let computed = sha256_hex(secret);
    computed
        .as_bytes()
        .ct_eq(stored_sha256_hex.as_bytes())
        .into()
}

fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_verify() {
        let g = generate();
        let (id, secret) = parse(&g.presented).unwrap();
        assert_eq!(id, g.key_id);
        assert!(verify(secret, &g.secret_sha256));
        assert!(!verify(
            &secret.replace('a', "b").replace('0', "1"),
            &g.secret_sha256
        ));
    }

    #[test]
    fn malformed_keys_do_not_parse() {
        for bad in [
            "",
            "vk_",
            "vk_abc_def",
            "Bearer x",
            &format!("vk_{}_{}", "g".repeat(32), "0".repeat(64)),
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
