DROP TABLE audit_chain_erasures;
DROP TABLE audit_chain_checkpoints;
DROP TABLE audit_chain_cursor;
DROP TABLE audit_chain_heads;
DROP TABLE audit_chain;
DROP FUNCTION audit_chain_guard();
DROP INDEX audit_events_tx_idx;
ALTER TABLE audit_events DROP COLUMN tx;
