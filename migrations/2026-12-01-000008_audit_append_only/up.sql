-- The audit trail is evidence. UPDATE is already refused (audit_events_no_update); DELETE and
-- TRUNCATE are refused too, except inside a transaction that marks itself as the retention job
-- with `SET LOCAL authservice.audit_retention = 'on'` (the job is to come). This stops a bug or a
-- stray statement from erasing history; a database role that may run arbitrary SQL can set the
-- marker as well, so operators who need more revoke DELETE/TRUNCATE from the service's role.
CREATE FUNCTION audit_events_guard_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('authservice.audit_retention', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_events_no_delete
  BEFORE DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_guard_delete();

CREATE TRIGGER audit_events_no_truncate
  BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_guard_delete();
