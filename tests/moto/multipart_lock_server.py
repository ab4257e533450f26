"""moto_server, with S3 Object Lock kept on objects made by multipart upload.

Why: moto 5.2.5 reads the Object Lock headers (x-amz-object-lock-mode,
x-amz-object-lock-retain-until-date, x-amz-object-lock-legal-hold) on PutObject only. On
CreateMultipartUpload it drops them, and CompleteMultipartUpload writes the object with no
retention, not even the bucket's default one, so the object can be deleted at once. AWS
applies the retention given at CreateMultipartUpload (or the bucket's default) to the
completed object (S3 API reference, CreateMultipartUpload: ObjectLockMode,
ObjectLockRetainUntilDate). This module only carries those values from the upload's start to
its completion, with moto's own rule for the bucket's default (S3Response._get_lock_details);
it decides nothing else. The test `copier::bucket_settings::moto_needs_and_gets_the_multipart_lock_correction`
shows, with boto3 as the client, that plain moto_server lets a COMPLIANCE-locked multipart
object be deleted and that this server refuses it, as it refuses it for a locked PutObject.

Usage: the arguments of moto_server (`python multipart_lock_server.py -H 127.0.0.1 -p PORT`).
"""
import sys
import threading

from moto.s3 import models, responses
from moto.server import main

import s3_object_parts  # noqa: F401  (GetObjectAttributes' ObjectParts, as every relsign moto)

# The lock asked for by the CreateMultipartUpload being served (moto serves each request on
# one thread).
_request = threading.local()


def _lock_details(request, bucket):
    mode = request.headers.get("x-amz-object-lock-mode")
    until = request.headers.get("x-amz-object-lock-retain-until-date")
    legal_hold = request.headers.get("x-amz-object-lock-legal-hold")
    if not (mode or until or legal_hold == "ON") and bucket.object_lock_enabled and bucket.has_default_lock:
        mode, until = bucket.default_lock_mode, bucket.default_retention()
    return legal_hold, mode, until


def _remembering_the_lock(post):
    def handler(self, request, body, bucket_name, query, key_name):
        if body == b"" and "uploads" in query:
            _request.lock = _lock_details(request, self.backend.get_bucket(bucket_name))
        try:
            return post(self, request, body, bucket_name, query, key_name)
        finally:
            _request.lock = None

    return handler


def _created_with_the_lock(create):
    def create_multipart_upload(self, *args, **kwargs):
        multipart = create(self, *args, **kwargs)
        multipart.relsign_lock = getattr(_request, "lock", None)
        return multipart

    return create_multipart_upload


def _completed_with_the_lock(complete):
    def complete_multipart_upload(self, bucket_name, multipart_id, body):
        multipart = self.get_bucket(bucket_name).multiparts.get(multipart_id)
        lock = getattr(multipart, "relsign_lock", None)
        key = complete(self, bucket_name, multipart_id, body)
        if key is not None and lock is not None:
            key.lock_legal_status, key.lock_mode, key.lock_until = lock
        return key

    return complete_multipart_upload


responses.S3Response._key_response_post = _remembering_the_lock(responses.S3Response._key_response_post)
models.S3Backend.create_multipart_upload = _created_with_the_lock(models.S3Backend.create_multipart_upload)
models.S3Backend.complete_multipart_upload = _completed_with_the_lock(models.S3Backend.complete_multipart_upload)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
