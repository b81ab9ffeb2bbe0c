-- The headers of the first answer to a key (its ETag), replayed with it: a JSON object.
ALTER TABLE idempotency_keys ADD COLUMN response_headers TEXT;
