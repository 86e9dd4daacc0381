-- Merges made before 0015 left a chain (a record merged into one that was merged later)
-- and their campaign usage on the duplicate. Today a merge re-points earlier records to
-- the survivor and folds their usage into the survivor's caps; this does the same for the
-- merges already made, so a survivor's history and caps count them as one person.
WITH RECURSIVE chain (id, survivor, depth) AS (
    SELECT id, merged_into, 1 FROM customers WHERE merged_into IS NOT NULL
    UNION ALL
    SELECT chain.id, c.merged_into, chain.depth + 1
    FROM chain JOIN customers c ON c.id = chain.survivor
    WHERE c.merged_into IS NOT NULL AND chain.depth < 1000
)
UPDATE customers
SET merged_into = (SELECT survivor FROM chain WHERE chain.id = customers.id ORDER BY depth DESC LIMIT 1)
WHERE merged_into IS NOT NULL;

INSERT INTO campaign_usage (campaign_id, customer_id, period_key, uses, points)
SELECT u.campaign_id, c.merged_into, u.period_key, SUM(u.uses), SUM(u.points)
FROM campaign_usage u JOIN customers c ON c.id = u.customer_id
WHERE c.merged_into IS NOT NULL
GROUP BY u.campaign_id, c.merged_into, u.period_key
ON CONFLICT (campaign_id, customer_id, period_key)
DO UPDATE SET uses = campaign_usage.uses + excluded.uses, points = campaign_usage.points + excluded.points;

DELETE FROM campaign_usage WHERE customer_id IN (SELECT id FROM customers WHERE merged_into IS NOT NULL);
