ALTER TABLE pair_contacts DROP COLUMN outcome;
ALTER TABLE home_visit_requests DROP CONSTRAINT home_visit_requests_late_reason;
ALTER TABLE home_visit_requests DROP COLUMN late_reason;
ALTER TABLE home_visit_requests DROP CONSTRAINT home_visit_requests_status_check;
ALTER TABLE home_visit_requests ADD CONSTRAINT home_visit_requests_status_check
    CHECK (status IN ('requested', 'consented', 'approved', 'completed', 'rejected', 'cancelled'));
ALTER TABLE pairings DROP CONSTRAINT pairings_child_intervals_disjoint;
ALTER TABLE pairings DROP CONSTRAINT pairings_mentor_intervals_disjoint;
ALTER TABLE children DROP CONSTRAINT children_file_opened;
ALTER TABLE children ADD CONSTRAINT children_check
    CHECK (status = 'screening' OR (case_number IS NOT NULL AND registered_on IS NOT NULL));
