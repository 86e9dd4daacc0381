-- What a merged duplicate was known by (mobile, external id, national id) that its
-- survivor did not take over: a file or lookup that names the duplicate still finds the
-- survivor instead of registering the person again. Erasing the survivor, or the
-- duplicate whose identifiers they are, deletes them.
CREATE TABLE customer_aliases (
    program_id   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    value        TEXT NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers(id),
    -- The merged record it was, whose erasure deletes it too.
    duplicate_id TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (program_id, kind, value)
);
CREATE INDEX customer_aliases_customer_idx ON customer_aliases (customer_id);
CREATE INDEX customer_aliases_duplicate_idx ON customer_aliases (duplicate_id);
