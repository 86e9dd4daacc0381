-- A tier's entry gift belongs to the purchase that crossed the threshold: returning that
-- purchase below the threshold takes the gift back, as it takes back the purchase's own
-- points. The upgrade names its purchase and the gift's lot (a merge re-points the lot),
-- and each return records how much of the gift it took. Gifts given before this have no
-- purchase named and stay where they are.
ALTER TABLE tier_changes ADD COLUMN purchase_id TEXT;
ALTER TABLE tier_changes ADD COLUMN gift_lot_id TEXT;
CREATE INDEX tier_changes_purchase_idx ON tier_changes (purchase_id) WHERE purchase_id IS NOT NULL;
CREATE INDEX tier_changes_gift_lot_idx ON tier_changes (gift_lot_id) WHERE gift_lot_id IS NOT NULL;
ALTER TABLE purchase_returns ADD COLUMN gift_points_reversed BIGINT NOT NULL DEFAULT 0;
