-- A code a rule gave a customer (`issue_coupon`): a code of a unique batch is handed out
-- once, to one customer; the index finds the next one not yet handed out or used.
ALTER TABLE coupon_codes ADD COLUMN issued_to TEXT;
-- The journal entry it came with: a purchase returned whole voids its unused codes.
ALTER TABLE coupon_codes ADD COLUMN issued_entry TEXT;
ALTER TABLE coupon_codes ADD COLUMN issued_at INTEGER;
CREATE INDEX coupon_codes_to_issue_idx ON coupon_codes (batch_id, code) WHERE issued_to IS NULL AND uses = 0;
-- A merge hands the duplicate's codes to the survivor.
CREATE INDEX coupon_codes_issued_to_idx ON coupon_codes (program_id, issued_to) WHERE issued_to IS NOT NULL;
