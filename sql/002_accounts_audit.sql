-- 002: users, credentials (browser sessions and API tokens), the audit trail, and the privileges of
-- the application's role. Migrations run as the schema owner; fv-app connects as a member of the
-- group role fv_app, which gets only what the application needs.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fv_app') THEN
        RAISE EXCEPTION 'role fv_app is missing: CREATE ROLE fv_app NOLOGIN; GRANT fv_app TO <the application''s login role>';
    END IF;
END $$;

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username      text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9._-]{1,64}$'),
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'clinician', 'viewer')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);

-- Sessions and API tokens: only the SHA-256 of the secret is stored.
CREATE TABLE credentials (
    token_hash   bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    kind         text NOT NULL CHECK (kind IN ('session', 'token')),
    user_id      uuid NOT NULL REFERENCES users (id),
    csrf_token   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX credentials_user ON credentials (user_id) WHERE revoked_at IS NULL;

CREATE TABLE audit_events (
    id          bigserial PRIMARY KEY,
    chain       uuid NOT NULL,
    seq         bigint NOT NULL CHECK (seq > 0),
    at          timestamptz NOT NULL,
    user_id     uuid,
    username    text,
    action      text NOT NULL,
    entity_type text,
    entity_id   text,
    request_id  text,
    client_addr text,
    outcome     text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    mac         text NOT NULL,
    UNIQUE (chain, seq)
);
-- /admin/audit filters by patient and by user, newest first.
CREATE INDEX audit_events_entity ON audit_events (entity_type, entity_id, id DESC);
CREATE INDEX audit_events_username ON audit_events (username, id DESC);

GRANT SELECT, INSERT, UPDATE ON patients, users, credentials TO fv_app;
GRANT USAGE ON SEQUENCE patient_mrn_seq TO fv_app;
-- The trail is append-only for the application: no UPDATE, DELETE or TRUNCATE.
GRANT SELECT, INSERT ON audit_events TO fv_app;
GRANT USAGE ON SEQUENCE audit_events_id_seq TO fv_app;
