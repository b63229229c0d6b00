-- 004: the worker's sweep of documents stuck in "processing" (a worker lost with its Redis state)
-- looks them up by how long ago they were claimed.
CREATE INDEX documents_processing ON documents (updated_at)
    WHERE status = 'processing' AND archived_at IS NULL;
