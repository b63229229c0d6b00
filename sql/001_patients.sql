-- 001: patients. Archived patients stay (audit trail) but leave every list and lookup.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Server-assigned medical record numbers: 'MR-' and 8 digits.
CREATE SEQUENCE patient_mrn_seq MINVALUE 1 MAXVALUE 99999999 NO CYCLE;

CREATE TABLE patients (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    mrn           text NOT NULL CHECK (mrn ~ '^[A-Z0-9][A-Z0-9-]{0,31}$'),
    name          text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    date_of_birth date NOT NULL CHECK (date_of_birth >= DATE '1900-01-01'),
    sex           text NOT NULL CHECK (sex IN ('female', 'male', 'other')),
    phone         text CHECK (char_length(phone) <= 32),
    email         text CHECK (char_length(email) <= 254),
    partner_id    uuid REFERENCES patients (id),
    notes         text NOT NULL DEFAULT '' CHECK (char_length(notes) <= 10000),
    version       bigint NOT NULL DEFAULT 1,
    -- clock_timestamp(): rows created in one transaction still get distinct, ordered times.
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    archived_at   timestamptz,
    CHECK (partner_id IS NULL OR partner_id <> id)
);

-- MRNs are unique across all patients, archived ones included, so a number is never reused.
CREATE UNIQUE INDEX patients_mrn_key ON patients (mrn);
-- The list: newest first with the id as tie-break (keyset pagination).
CREATE INDEX patients_keyset ON patients (created_at DESC, id DESC) WHERE archived_at IS NULL;
-- Search: MRN prefix (LIKE 'X%') and any part of the name (ILIKE '%x%').
CREATE INDEX patients_mrn_prefix ON patients (mrn text_pattern_ops) WHERE archived_at IS NULL;
CREATE INDEX patients_name_trgm ON patients USING gin (name gin_trgm_ops) WHERE archived_at IS NULL;
