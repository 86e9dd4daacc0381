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
    generate_as(crate::ids::API_KEY, "vk")
}

/// A staff session token, `vs_<session id hex>_<secret hex>`, made like an API key.
pub fn generate_session() -> Generated {
    generate_as(crate::ids::SESSION, "vs")
}

fn generate_as(id_prefix: &str, presented_prefix: &str) -> Generated {
    let key_id = crate::ids::new_id(id_prefix);
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let secret_hex = hex::encode(secret);
    let id_hex = &key_id[id_prefix.len() + 1..];
    Generated {
        presented: format!("{presented_prefix}_{id_hex}_{secret_hex}"),
        secret_sha256: sha256_hex(&secret_hex),
        key_id,
    }
}

/// A random token for forms and links: 128 bits, hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Split a presented key into (key id, secret); `None` when it is not shaped like one.
pub fn parse(presented: &str) -> Option<(String, &str)> {
    parse_as(presented, "vk_", crate::ids::API_KEY)
}

/// Split a presented session token into (session id, secret).
pub fn parse_session(presented: &str) -> Option<(String, &str)> {
    parse_as(presented, "vs_", crate::ids::SESSION)
}

fn parse_as<'a>(presented: &'a str, prefix: &str, id_prefix: &str) -> Option<(String, &'a str)> {
    let rest = presented.strip_prefix(prefix)?;
    let (id_hex, secret) = rest.split_once('_')?;
    let hexy = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !hexy(id_hex, 32) || !hexy(secret, 64) {
        return None;
    }
    Some((format!("{id_prefix}_{id_hex}"), secret))
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
    fn session_tokens_parse_apart_from_keys() {
        let g = generate_session();
        let (id, secret) = parse_session(&g.presented).unwrap();
        assert_eq!(id, g.key_id);
        assert!(id.starts_with("ses_"));
        assert!(verify(secret, &g.secret_sha256));
        assert!(parse(&g.presented).is_none());
        assert!(parse_session(&generate().presented).is_none());
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
