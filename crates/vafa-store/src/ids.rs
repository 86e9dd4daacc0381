//! Opaque ids: a short type prefix and a UUIDv7, so ids sort by creation time
//! (cursor pagination relies on it) and a stray id in a log says what it names.

pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

pub const PROGRAM: &str = "prg";
pub const API_KEY: &str = "key";
pub const CUSTOMER: &str = "cus";
pub const CARD: &str = "crd";
pub const CARD_EVENT: &str = "cev";
pub const AUDIT: &str = "aud";

#[cfg(test)]
mod tests {
    #[test]
    fn ids_sort_by_creation() {
        let a = super::new_id("cus");
        let b = super::new_id("cus");
        assert!(a < b, "{a} {b}");
        assert_eq!(a.len(), 4 + 32);
    }
}
