-- A return gives back, in proportion, the points and cashback that paid for a checkout
-- purchase: the cashback used is kept apart from the points' value (redeemed_value_minor
-- holds both), and each return records what it gave back. Purchases made before this
-- read their cashback used from their journal entry's checkout quote.

ALTER TABLE purchases ADD COLUMN cashback_used_minor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE purchase_returns ADD COLUMN points_refunded INTEGER NOT NULL DEFAULT 0;
ALTER TABLE purchase_returns ADD COLUMN cashback_refunded INTEGER NOT NULL DEFAULT 0;
-- What the store paid back in money; returns made before this are taken to have been
-- paid in money whole (none of them gave points or cashback back).
ALTER TABLE purchase_returns ADD COLUMN money_refund_minor INTEGER NOT NULL DEFAULT 0;
UPDATE purchase_returns SET money_refund_minor = amount_minor;

UPDATE purchases SET cashback_used_minor = COALESCE((
    SELECT json_extract(j.explanation, '$.checkout.cashback_used_minor')
    FROM journal_entries j WHERE j.id = purchases.entry_id), 0)
WHERE redeemed_value_minor > 0;
