/* documents.h: the document resource (contract: Documents): streamed uploads validated by their
 * bytes, encrypted storage, downloads with ranges, the analysis queue. Each handler serves both
 * representations, as patients.h does. */
#ifndef FV_DOCUMENTS_H
#define FV_DOCUMENTS_H

#include <json-c/json.h>
#include "request.h"

struct storage;

/* Registers the statements and keeps the process's storage handle (owned by the caller). */
void documents_init(struct storage *st);

/* A SQL expression, for a query over patients p, that is the JSON array of the patient's 100 newest
 * live document summaries (no analysis): the patient view reads them in the same statement. */
#define DOCUMENTS_OF_PATIENT_JSON                                                                  \
	"SELECT coalesce(json_agg(ds.j ORDER BY ds.uploaded_at DESC, ds.id DESC), '[]')::text"     \
	" FROM (SELECT json_build_object(" DOCUMENT_FIELDS ") AS j, d.uploaded_at, d.id"           \
	" FROM documents d WHERE d.patient_id = p.id AND d.archived_at IS NULL"                    \
	" ORDER BY d.uploaded_at DESC, d.id DESC LIMIT 100) ds"
/* The fields of a document summary, for json_build_object over documents d. */
#define DOCUMENT_FIELDS                                                                            \
	"'id', d.id, 'patient_id', d.patient_id, 'document_type', d.document_type,"                \
	" 'filename', d.filename, 'content_type', d.content_type, 'size', d.size,"                 \
	" 'sha256', d.sha256, 'status', d.status,"                                                 \
	" 'uploaded_at', to_char(d.uploaded_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"                \
	" 'uploaded_by', d.uploaded_by, 'error', d.error"
/* Archives every document of a patient (in the caller's transaction). */
enum fv_err documents_archive_of_patient(const char *patient_id);

enum fv_err documents_upload(struct req *r);
enum fv_err documents_list(struct req *r);
enum fv_err documents_show(struct req *r);
enum fv_err documents_content(struct req *r);
enum fv_err documents_reanalyze(struct req *r);
enum fv_err documents_archive(struct req *r);

#endif
