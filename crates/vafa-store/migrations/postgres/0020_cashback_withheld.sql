-- A return under the within_balance or only_pending policy cannot take back cashback the
-- customer already spent; the store keeps that much of the money refund instead, and
-- each return records it, so that later returns of the same purchase do not pay it back.
ALTER TABLE purchase_returns ADD COLUMN cashback_withheld_minor BIGINT NOT NULL DEFAULT 0;
