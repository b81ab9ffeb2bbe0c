-- Programme rules, part 2.
--
-- 1. A child screened out closes without ever having a case file: `closed` needs a case number
--    and an opening date only when the file was opened. A file is opened by its number and its
--    date together, and a child in screening has neither.
ALTER TABLE children DROP CONSTRAINT children_check;
ALTER TABLE children ADD CONSTRAINT children_file_opened CHECK (
    (case_number IS NULL) = (registered_on IS NULL)
    AND (status <> 'screening' OR case_number IS NULL)
    AND (status NOT IN ('registered', 'active') OR case_number IS NOT NULL)
);

-- 2. Pairing exclusivity over dates: no two pairings of one mentor, or of one child, have
--    overlapping active intervals. The interval is [started_on, ended_on): the day a pairing
--    ends may be the first day of the next (a handover). Open-ended while active.
--    The one-active-pairing indexes stay: two open intervals always overlap, so they agree.
--    This migration stops if pairings entered before it already overlap; find them with
--      SELECT a.id, b.id FROM pairings a JOIN pairings b ON a.id < b.id
--        AND (a.mentor_id = b.mentor_id OR a.child_id = b.child_id)
--        AND daterange(a.started_on, a.ended_on) && daterange(b.started_on, b.ended_on)
--        WHERE a.started_on IS NOT NULL AND b.started_on IS NOT NULL;
--    and end or correct one of each pair before migrating.
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE pairings ADD CONSTRAINT pairings_mentor_intervals_disjoint
    EXCLUDE USING gist (mentor_id WITH =, daterange(started_on, ended_on, '[)') WITH &&)
    WHERE (started_on IS NOT NULL);
ALTER TABLE pairings ADD CONSTRAINT pairings_child_intervals_disjoint
    EXCLUDE USING gist (child_id WITH =, daterange(started_on, ended_on, '[)') WITH &&)
    WHERE (started_on IS NOT NULL);

-- 3. Home visits, formalities first. A request still waiting for approval when the child was
--    due to leave is shown as `expired` (derived from `leaves_at`, not stored). A visit that
--    happened without prior approval is recorded by a coordinator as `recorded_late`, with the
--    reason, and the mentor's report of the child's return.
ALTER TABLE home_visit_requests DROP CONSTRAINT home_visit_requests_status_check;
ALTER TABLE home_visit_requests ADD CONSTRAINT home_visit_requests_status_check
    CHECK (status IN ('requested', 'consented', 'approved', 'completed', 'rejected', 'cancelled', 'recorded_late'));
ALTER TABLE home_visit_requests ADD COLUMN late_reason TEXT;
ALTER TABLE home_visit_requests ADD CONSTRAINT home_visit_requests_late_reason
    CHECK ((status = 'recorded_late') = (late_reason IS NOT NULL));

-- 4. A pair contact has an outcome; only completed contacts count toward a rule. Contacts
--    logged before outcomes existed were all counted as made, and stay so.
ALTER TABLE pair_contacts ADD COLUMN outcome TEXT NOT NULL DEFAULT 'completed'
    CHECK (outcome IN ('completed', 'not_reached'));
