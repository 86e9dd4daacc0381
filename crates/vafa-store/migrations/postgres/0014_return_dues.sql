-- What each return owed back of the purchase's earnings (points and cashback), before the
-- return policy decided how much of it could be taken: a purchase returned partly by lines
-- and partly by amount never owes back more, in all, than it earned. Earlier returns read
-- theirs from their journal entry.

ALTER TABLE purchase_returns ADD COLUMN points_due BIGINT NOT NULL DEFAULT 0;
ALTER TABLE purchase_returns ADD COLUMN cashback_due BIGINT NOT NULL DEFAULT 0;
UPDATE purchase_returns SET
    points_due = COALESCE((SELECT CASE WHEN j.explanation LIKE '{%' THEN (j.explanation::jsonb ->> 'points_due')::bigint END
        FROM journal_entries j WHERE j.id = purchase_returns.entry_id), points_reversed),
    cashback_due = COALESCE((SELECT CASE WHEN j.explanation LIKE '{%' THEN (j.explanation::jsonb ->> 'cashback_due_minor')::bigint END
        FROM journal_entries j WHERE j.id = purchase_returns.entry_id), cashback_reversed);
