-- How the admin UI shows a program's money and dates: toman or rial, Jalali or
-- Gregorian (docs/admin-ui.md). One JSON document per program.
CREATE TABLE display_settings (
    program_id  TEXT PRIMARY KEY REFERENCES programs(id),
    settings    TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
