"""moto_server, with S3 GetObjectAttributes listing a multipart object's parts (ObjectParts).

Why: AWS's GetObjectAttributes returns, for a multipart object, each part's size and the
checksum S3 verified when the part was uploaded (ObjectParts: PartNumber, Size,
ChecksumSHA256 for an upload made with SHA-256 checksums; S3 API Reference,
GetObjectAttributes). copier proves on a re-run that a multipart object is the local file
by comparing those SHA-256s part by part. moto 5.2.5 says of its own GetObjectAttributes
"The following attributes are not yet returned: DeleteMarker, RequestCharged, ObjectParts".
This adds ObjectParts and nothing else: the parts the completion used, in order, their sizes,
and the SHA-256 (base64) of each part's bytes as moto keeps them, only for an upload made
with SHA-256 checksums (S3 lists the parts' checksums of the upload's own algorithm). The
test `object_parts_are_moto_corrected_and_judged_by_hashlib` shows an unpatched server
returns no parts and this one the SHA-256 Python's hashlib computes of each byte range of
the downloaded object.

Usage: the arguments of moto_server (`python s3_object_parts.py -H 127.0.0.1 -p PORT`);
kms_digest_server.py imports it, so every relsign moto has it.
"""
import base64
import hashlib
import sys

from moto.s3 import models, responses


def _recording_completion(complete):
    """FakeMultipart.complete, remembering the parts the object is made of: number, size and
    (for an upload with SHA-256 checksums) the SHA-256 of the part's bytes."""

    def handler(self, body):
        used = []

        def recorded():
            for number, etag in body:
                used.append(number)
                yield number, etag

        result = complete(self, recorded())
        # Read now: moto disposes of the parts' buffers once the object is stored.
        sha256 = (self.metadata.get("x-amz-checksum-algorithm") or "").upper() == "SHA256"
        self.relsign_completed_parts = []
        for number in used:
            value = self.parts[number].value
            part = {"PartNumber": number, "Size": len(value)}
            if sha256:
                part["ChecksumSHA256"] = base64.b64encode(hashlib.sha256(value).digest()).decode()
            self.relsign_completed_parts.append(part)
        return result

    return handler


def _object_parts(key, wanted):
    parts = getattr(getattr(key, "multipart", None), "relsign_completed_parts", None)
    if "ObjectParts" not in wanted or not parts:
        return None
    return {
        "TotalPartsCount": len(parts),
        "PartNumberMarker": 0,
        "NextPartNumberMarker": parts[-1]["PartNumber"],
        "MaxParts": 1000,
        "IsTruncated": False,
        "Parts": parts,
    }


def _with_object_parts(get_object_attributes):
    """S3Response.get_object_attributes, its result given ObjectParts when asked for."""

    def handler(self):
        wanted = self.headers.get("x-amz-object-attributes", "").split(",")
        found = {}
        get_key, serialized = self._get_key, self.serialized

        def capturing_get_key(*args, **kwargs):
            key, not_modified = get_key(*args, **kwargs)
            found["key"] = key
            return key, not_modified

        def with_parts(action_result):
            parts = _object_parts(found.get("key"), wanted)
            if parts is not None:
                action_result.result["ObjectParts"] = parts
            return serialized(action_result)

        self._get_key, self.serialized = capturing_get_key, with_parts
        try:
            return get_object_attributes(self)
        finally:
            del self._get_key, self.serialized

    return handler


models.FakeMultipart.complete = _recording_completion(models.FakeMultipart.complete)
responses.S3Response.get_object_attributes = _with_object_parts(responses.S3Response.get_object_attributes)

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main(sys.argv[1:]))
