-- A purchase made through the checkout: the cart total before discounts, the discounts
-- (tier and coupons), and the points and cashback that paid part of it. total_minor
-- stays the sale after discounts; the money paid is total_minor - redeemed_value_minor.

ALTER TABLE purchases ADD COLUMN gross_minor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE purchases ADD COLUMN discount_minor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE purchases ADD COLUMN points_redeemed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE purchases ADD COLUMN redeemed_value_minor INTEGER NOT NULL DEFAULT 0;
