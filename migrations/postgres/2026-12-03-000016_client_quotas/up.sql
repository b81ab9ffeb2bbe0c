-- Partner API clients' request quotas, shared by every node: a leaky bucket per client,
-- `spent` requests draining evenly over the quota's period (TONGXING_CLIENT_RATE_LIMIT per
-- minute), so that N nodes do not mean N times the quota.
CREATE TABLE client_quotas (
    client_id TEXT PRIMARY KEY NOT NULL REFERENCES api_clients (id) ON DELETE CASCADE,
    spent DOUBLE PRECISION NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
