-- Operators filter the trail by user, and an erasure pseudonymises a user's events.
CREATE INDEX audit_events_user_idx ON audit_events (user_id, id DESC) WHERE user_id IS NOT NULL;

-- An erasure (an operator's `DELETE …/users/{id}`) pseudonymises the user's events in its own
-- transaction after `SET LOCAL authservice.audit_erasure = 'on'`: only the columns that can
-- name a person may change then (user, actor and target ids, IP, user agent, metadata,
-- snapshots); what happened, when and to which client stays. Any other UPDATE is refused.
CREATE OR REPLACE FUNCTION audit_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('authservice.audit_erasure', true) = 'on'
     AND NEW.id = OLD.id
     AND NEW.occurred_at = OLD.occurred_at
     AND NEW.client_id IS NOT DISTINCT FROM OLD.client_id
     AND NEW.event_type = OLD.event_type
     AND NEW.actor_type = OLD.actor_type
     AND NEW.target_type IS NOT DISTINCT FROM OLD.target_type
     AND NEW.request_id IS NOT DISTINCT FROM OLD.request_id THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_events are append-only';
END;
$$;
