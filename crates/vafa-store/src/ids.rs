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
pub const STAFF: &str = "stf";
pub const SESSION: &str = "ses";
pub const INTERACTION: &str = "int";
pub const TASK: &str = "tsk";
pub const TICKET: &str = "tkt";
pub const TICKET_EVENT: &str = "tev";
pub const FEEDBACK: &str = "fbk";
pub const ORDER: &str = "ord";
pub const ORDER_EVENT: &str = "oev";
pub const WEBHOOK: &str = "whk";
pub const OUTBOX: &str = "obx";
pub const LEASE: &str = "lse";

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
