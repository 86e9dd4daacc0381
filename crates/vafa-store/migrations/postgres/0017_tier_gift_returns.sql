-- A tier's entry gift given by a purchase is pending with it, and a return that leaves
-- the customer below that tier takes the gift back, as it takes back points. The upgrade
-- names its purchase and the gift's lot (a merge re-points the lot) and keeps how much of
-- the gift returns took; each return records how much it took. Gifts given before this
-- have no purchase named and stay where they are.
ALTER TABLE tier_changes ADD COLUMN purchase_id TEXT;
ALTER TABLE tier_changes ADD COLUMN gift_lot_id TEXT;
ALTER TABLE tier_changes ADD COLUMN gift_reversed BIGINT NOT NULL DEFAULT 0;
CREATE INDEX tier_changes_gift_lot_idx ON tier_changes (gift_lot_id) WHERE gift_lot_id IS NOT NULL;
ALTER TABLE purchase_returns ADD COLUMN gift_points_reversed BIGINT NOT NULL DEFAULT 0;
