-- 003: documents. The bytes live in object storage (encrypted, named by the SHA-256 of the
-- plaintext); this table is the truth about them. An archived document (or one of an archived
-- patient) is unreachable but kept for the audit trail.
CREATE TABLE documents (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id     uuid NOT NULL REFERENCES patients (id),
    document_type  text NOT NULL CHECK (document_type IN ('lab_report', 'hormone_panel',
                       'semen_analysis', 'ultrasound_image', 'microscopy_image', 'medical_report',
                       'prescription', 'consultation_notes', 'surgical_report', 'imaging_study',
                       'pathology_report')),
    filename       text NOT NULL CHECK (octet_length(filename) BETWEEN 1 AND 255),
    content_type   text NOT NULL CHECK (content_type IN ('application/pdf', 'image/png',
                       'image/jpeg', 'image/tiff', 'text/plain')),
    size           bigint NOT NULL CHECK (size > 0),
    sha256         text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    storage_key_id text NOT NULL,
    status         text NOT NULL DEFAULT 'queued'
                       CHECK (status IN ('queued', 'processing', 'analyzed', 'failed')),
    analysis       jsonb,
    error          text,
    attempts       integer NOT NULL DEFAULT 0,
    uploaded_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    uploaded_by    text NOT NULL,
    uploaded_by_id uuid REFERENCES users (id),
    queued_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    archived_at    timestamptz
);

-- A patient's documents, newest first (keyset pagination), and their count.
CREATE INDEX documents_patient ON documents (patient_id, uploaded_at DESC, id DESC)
    WHERE archived_at IS NULL;
-- The sweep of documents left queued (their job lost with Redis).
CREATE INDEX documents_queued ON documents (queued_at) WHERE status = 'queued' AND archived_at IS NULL;
-- Re-keying and de-duplication walk objects by name.
CREATE INDEX documents_sha256 ON documents (sha256);

GRANT SELECT, INSERT, UPDATE ON documents TO fv_app;
