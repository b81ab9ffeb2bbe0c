DROP TABLE client_quotas;
