-- Dynamic segments, and snapshots of their members at a moment.

CREATE TABLE segments (
    id          TEXT PRIMARY KEY,
    program_id  TEXT NOT NULL REFERENCES programs(id),
    definition  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX segments_program_idx ON segments (program_id);

CREATE TABLE segment_snapshots (
    id          TEXT PRIMARY KEY,
    program_id  TEXT NOT NULL REFERENCES programs(id),
    segment_id  TEXT NOT NULL REFERENCES segments(id),
    at          BIGINT NOT NULL,
    taken_at    BIGINT NOT NULL,
    members     BIGINT NOT NULL
);
CREATE INDEX segment_snapshots_segment_idx ON segment_snapshots (segment_id, taken_at);

CREATE TABLE segment_snapshot_members (
    snapshot_id  TEXT NOT NULL REFERENCES segment_snapshots(id),
    customer_id  TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, customer_id)
);
