ALTER TABLE pair_contacts DROP COLUMN home_visit_request_id;
DROP TABLE home_visit_steps;
DROP TABLE home_visit_requests;
DROP TABLE holidays;
DROP TABLE counselling_sessions;
DROP TABLE counselling_team_members;
DROP TABLE counselling_enrolments;
