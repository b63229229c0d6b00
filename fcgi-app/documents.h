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

/* The live documents of a patient as an array of summaries (no analysis), newest first, at most
 * limit; for the patient view. */
enum fv_err documents_of_patient(const char *patient_id, int limit, struct json_object **out);
/* Archives every document of a patient (in the caller's transaction). */
enum fv_err documents_archive_of_patient(const char *patient_id);

enum fv_err documents_upload(struct req *r);
enum fv_err documents_list(struct req *r);
enum fv_err documents_show(struct req *r);
enum fv_err documents_content(struct req *r);
enum fv_err documents_reanalyze(struct req *r);
enum fv_err documents_archive(struct req *r);

#endif
