-- A standing merge keeps the merged child only in child_merges: undo the merges first.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM child_merges WHERE undone_at IS NULL) THEN
        RAISE EXCEPTION 'standing merges hold merged children: undo them before reverting this migration';
    END IF;
END $$;
DROP TABLE child_merges;
DELETE FROM duplicate_reviews WHERE reason = 'similar';
ALTER TABLE duplicate_reviews DROP COLUMN signals;
ALTER TABLE duplicate_reviews DROP COLUMN score;
ALTER TABLE duplicate_reviews DROP CONSTRAINT duplicate_reviews_reason_check;
ALTER TABLE duplicate_reviews ADD CONSTRAINT duplicate_reviews_reason_check CHECK (reason IN ('national_id'));
DROP INDEX children_birth_date_idx;
