DROP INDEX counselling_sessions_occurred_idx;
DROP INDEX pair_contacts_commemorative_idx;
DROP INDEX pair_contacts_occurred_idx;
DROP INDEX pair_contacts_pairing_idx;
CREATE INDEX pair_contacts_pairing_idx ON pair_contacts (pairing_id, occurred_at);
