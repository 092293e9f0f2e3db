DROP INDEX audit_events_occurred_idx;
DROP TABLE audit_legal_holds;
