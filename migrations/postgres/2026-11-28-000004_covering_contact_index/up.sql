-- The compliance counts read only these columns: with them in the index, counting a pairing's
-- contacts never touches the table; the alert list scans a period's contacts by time.
DROP INDEX pair_contacts_pairing_idx;
CREATE INDEX pair_contacts_pairing_idx ON pair_contacts (pairing_id, occurred_at, kind, commemorative);
CREATE INDEX pair_contacts_occurred_idx ON pair_contacts (occurred_at, kind, pairing_id);
CREATE INDEX pair_contacts_commemorative_idx ON pair_contacts (occurred_at, pairing_id, kind) WHERE commemorative = TRUE;
CREATE INDEX counselling_sessions_occurred_idx ON counselling_sessions (occurred_at, enrolment_id);
