#!/usr/bin/env python3
"""Uploads a folder with the AWS Common Runtime's S3 client (awscrt), driven by s3transfer's
CRTTransferManager: the transfer client the AWS CLI v2 uses with
`preferred_transfer_client = crt`, and boto3 with TransferConfig(preferred_transfer_client="crt").
scripts/bench's CRT anchor.

    crt_copy.py DIR s3://BUCKET/PREFIX [CONNECTIONS]

The endpoint comes from AWS_ENDPOINT_URL (plain HTTP, path-style, as the bench's local servers
need: boto3's own CRT path always uses TLS and AWS's endpoints, hence this small driver).
Without CONNECTIONS the client runs with s3transfer's defaults (8 MiB parts, its throughput
target, from which the CRT sizes its connection pool); with it, at most that many connections.
"""
import os
import sys

import awscrt.io
import awscrt.s3
import botocore.session
from botocore.config import Config
from s3transfer.crt import (
    BotocoreCRTCredentialsWrapper,
    BotocoreCRTRequestSerializer,
    CRTTransferManager,
    _get_crt_throughput_target_gbps,
)

MB = 1024 * 1024


def main():
    folder, dest = sys.argv[1], sys.argv[2]
    connections = int(sys.argv[3]) if len(sys.argv) > 3 else None
    bucket, _, prefix = dest.removeprefix("s3://").partition("/")
    session = botocore.session.get_session()
    region = os.environ.get("AWS_REGION", "us-east-1")
    provider = BotocoreCRTCredentialsWrapper(session.get_credentials()).to_crt_credentials_provider()
    loops = awscrt.io.EventLoopGroup()
    settings = dict(
        bootstrap=awscrt.io.ClientBootstrap(loops, awscrt.io.DefaultHostResolver(loops)),
        region=region,
        credential_provider=provider,
        part_size=8 * MB,  # s3transfer's create_s3_crt_client default
        tls_mode=awscrt.s3.S3RequestTlsMode.DISABLED,
        throughput_target_gbps=_get_crt_throughput_target_gbps(),
    )
    if connections:
        settings["max_active_connections_override"] = connections
    client = awscrt.s3.S3Client(**settings)
    serializer = BotocoreCRTRequestSerializer(
        session,
        {"region_name": region, "endpoint_url": os.environ["AWS_ENDPOINT_URL"],
         "config": Config(s3={"addressing_style": "path"})},
    )
    uploads = []
    with CRTTransferManager(client, serializer) as manager:
        for root, _, names in os.walk(folder):
            for name in sorted(names):
                path = os.path.join(root, name)
                key = prefix.rstrip("/") + "/" + os.path.relpath(path, folder)
                uploads.append(manager.upload(path, bucket, key.lstrip("/")))
        for upload in uploads:
            upload.result()


if __name__ == "__main__":
    main()
