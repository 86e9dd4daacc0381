-- The records merged into a customer, found from the customer: a survivor's lifetime
-- totals and rule facts take in its duplicates' history. Few records are ever merged,
-- so the index holds only those.
CREATE INDEX customers_merged_into_idx ON customers (program_id, merged_into) WHERE merged_into IS NOT NULL;
