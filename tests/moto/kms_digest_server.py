"""moto_server, with KMS Sign honouring MessageType=DIGEST (and, from pipeline_records.py
beside this file, the two execution APIs moto lacks).

Why: moto 5.2 ignores MessageType and hashes the message again, so a DIGEST signature is a
signature over SHA-256(digest) that no verifier accepts (gpg, sqv, Python `cryptography`
alike). Real KMS signs the digest as given, after checking its length against the signing
algorithm's hash. This is relsign's one correction of what moto computes; the test
`kms::moto_needs_and_gets_the_digest_correction` proves, with Python `cryptography` as the
judge, that an unpatched server's DIGEST signature fails and this server's verifies.

Usage: the arguments of moto_server (`python kms_digest_server.py -H 127.0.0.1 -p PORT`).
"""
import sys
import threading

from cryptography.hazmat.primitives.asymmetric import ec, utils
from moto.kms import responses, utils as kms
from moto.kms.exceptions import ValidationException
from moto.server import main

import pipeline_records  # noqa: F401  (ListActionExecutions, BatchGetBuildBatches)
import s3_object_parts  # noqa: F401  (GetObjectAttributes' ObjectParts)

# Whether the request being served (moto serves each on one thread) sent a digest.
_request = threading.local()


def _honouring_message_type(action):
    def handler(self):
        _request.digest = self._get_param("MessageType") == "DIGEST"
        try:
            return action(self)
        finally:
            _request.digest = False

    return handler


def _prehashed(message, algorithm):
    """The hash argument `cryptography` takes: the message itself when it is a digest."""
    if not getattr(_request, "digest", False):
        return algorithm
    if len(message) != algorithm.digest_size:
        raise ValidationException(
            f"Digest is invalid length for algorithm {algorithm.name.upper()}: {len(message)} bytes"
        )
    return utils.Prehashed(algorithm)


def _rsa_sign(self, message, signing_algorithm):
    kms.validate_signing_algorithm(signing_algorithm, kms.SigningAlgorithm.rsa_signing_algorithms())
    pad, algorithm = self._RSAPrivateKey__padding_and_hash_algorithm(signing_algorithm)
    return self.private_key.sign(message, pad, _prehashed(message, algorithm))


def _ecdsa_sign(self, message, signing_algorithm):
    kms.validate_signing_algorithm(signing_algorithm, self.valid_signing_algorithms)
    algorithm = self._ECDSAPrivateKey__hash_algorithm(signing_algorithm)
    return self.private_key.sign(message, ec.ECDSA(_prehashed(message, algorithm)))


responses.KmsResponse.sign = _honouring_message_type(responses.KmsResponse.sign)
kms.RSAPrivateKey.sign = _rsa_sign
kms.ECDSAPrivateKey.sign = _ecdsa_sign

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
