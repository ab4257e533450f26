//! Reading a published release where it lives, one object at a time and streamed: from S3
//! through the SDK client copier publishes with (GetObject, ListObjectsV2), or from a public
//! bucket or CDN by plain HTTP(S) GETs, with the HTTP and TLS stack the SDK already brings
//! (hyper, rustls, the platform's root certificates). Nothing is written to disk.

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::error::from_sdk;
use crate::{Destination, Error};

type HttpClient =
    hyper_util::client::legacy::Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// How long an HTTP(S) read may wait for the next bytes (the SDK's read timeout is the
/// same default).
const HTTP_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Where a published release is read from. One per run, cloned into each read: the size
/// of the HTTP client's variant does not matter.
#[derive(Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Source {
    /// `s3://BUCKET/PREFIX/`, with the caller's SDK client (credentials, region, endpoint,
    /// retries, path style).
    S3 { client: Client, destination: Destination },
    /// `https://HOST/PATH/` (or `http://`): anonymous GETs; nothing can be listed.
    Http { client: HttpClient, base: url::Url },
}

/// An object found and its body, not yet read.
pub struct Opened {
    /// Its `Content-Encoding`, when it has one other than `identity`.
    pub content_encoding: Option<String>,
    /// Its length as the server announced it.
    pub length: Option<u64>,
    body: Body,
    shown: String,
}

enum Body {
    S3(ByteStream),
    Http(hyper::body::Incoming),
}

/// An object that is not there (or that this reader may not see), and why it says so.
pub struct Missing(pub String);

/// Whether `location` names a published release rather than a local path.
pub fn is_remote(location: &str) -> bool {
    ["s3://", "https://", "http://"].iter().any(|scheme| location.starts_with(scheme))
}

/// A base URL for an HTTP(S) release: it must name a folder (a trailing `/` is added).
pub fn parse_base_url(location: &str) -> Result<url::Url, Error> {
    let bad = |why: String| Error::BadDestination { destination: location.to_string(), why };
    let mut base = url::Url::parse(location).map_err(|e| bad(format!("not a URL: {e}")))?;
    if !matches!(base.scheme(), "https" | "http") || base.cannot_be_a_base() || base.host().is_none() {
        return Err(bad("use https://HOST/PATH/".into()));
    }
    if base.query().is_some() || base.fragment().is_some() {
        return Err(bad("the release's URL takes no query or fragment".into()));
    }
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    Ok(base)
}

impl Source {
    /// A release read over HTTP(S) from `base` (see [`parse_base_url`]).
    pub fn http(base: url::Url) -> Result<Source, Error> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| Error::Unreachable {
                bucket: base.to_string(),
                key: String::new(),
                operation: "GET".into(),
                detail: format!("no root certificates to check the server with: {e}"),
            })?
            .https_or_http()
            .enable_http1()
            .build();
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(connector);
        Ok(Source::Http { client, base })
    }

    /// How an object of the release is shown to the user: its `s3://` address or URL.
    pub fn show(&self, name: &str) -> String {
        match self {
            Source::S3 { destination, .. } => format!("{destination}{name}"),
            Source::Http { .. } => self.url(name).map(|u| u.to_string()).unwrap_or_else(|| name.to_string()),
        }
    }

    /// Whether the objects under the release can be listed (S3 can; plain HTTP cannot).
    pub fn can_list(&self) -> bool {
        matches!(self, Source::S3 { .. })
    }

    pub(crate) fn url(&self, name: &str) -> Option<url::Url> {
        let Source::Http { base, .. } = self else { return None };
        let mut url = base.clone();
        // Each part percent-encoded on its own: a name may hold spaces, `#` or `?`.
        url.path_segments_mut().ok()?.pop_if_empty().extend(name.split('/'));
        Some(url)
    }

    /// Every object under the release's prefix, by its name relative to the prefix, with its
    /// size (None over HTTP, which cannot list).
    pub async fn list(&self) -> Result<Option<Vec<(String, u64)>>, Error> {
        let Source::S3 { client, destination } = self else { return Ok(None) };
        let mut objects = Vec::new();
        let mut pages = client
            .list_objects_v2()
            .bucket(&destination.bucket)
            .prefix(&destination.prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| from_sdk(e, &destination.bucket, &destination.prefix, "ListObjectsV2"))?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let name = key.strip_prefix(destination.prefix.as_str()).unwrap_or(key);
                objects.push((name.to_string(), object.size().unwrap_or(0).max(0) as u64));
            }
        }
        Ok(Some(objects))
    }

    /// Starts reading the object published as `name`.
    pub async fn open(&self, name: &str) -> Result<Result<Opened, Missing>, Error> {
        let shown = self.show(name);
        match self {
            Source::S3 { client, destination } => {
                let key = destination.key(name);
                let got = match client.get_object().bucket(&destination.bucket).key(&key).send().await {
                    Ok(got) => got,
                    Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
                        return Ok(Err(Missing("missing".into())))
                    }
                    Err(e) => return Err(from_sdk(e, &destination.bucket, &key, "GetObject")),
                };
                Ok(Ok(Opened {
                    content_encoding: encoding(got.content_encoding()),
                    length: got.content_length().map(|l| l.max(0) as u64),
                    body: Body::S3(got.body),
                    shown,
                }))
            }
            Source::Http { client, .. } => {
                let url =
                    self.url(name).ok_or_else(|| Error::Internal { detail: format!("no URL for {name}") })?;
                let request = hyper::Request::get(url.as_str())
                    .body(Empty::new())
                    .map_err(|e| Error::Internal { detail: format!("GET {url}: {e}") })?;
                let unreachable = |detail: String| Error::Unreachable {
                    bucket: url.to_string(),
                    key: String::new(),
                    operation: "GET".into(),
                    detail,
                };
                let response = tokio::time::timeout(HTTP_READ_TIMEOUT, client.request(request))
                    .await
                    .map_err(|_| unreachable("no answer within 60 seconds".into()))?
                    .map_err(|e| unreachable(relsign_aws::error_chain(&e)))?;
                let status = response.status();
                match status.as_u16() {
                    200 => {}
                    // A public bucket answers 403 for a key it does not have when listing is
                    // not public: the object is missing to whoever downloads the release.
                    403 | 404 | 410 => {
                        return Ok(Err(Missing(format!("missing (HTTP {})", status.as_u16()))))
                    }
                    _ => {
                        return Err(Error::Service {
                            bucket: url.to_string(),
                            key: String::new(),
                            operation: "GET".into(),
                            detail: format!("HTTP {status}"),
                        })
                    }
                }
                let header = |name: hyper::header::HeaderName| {
                    response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
                };
                let content_encoding = encoding(header(hyper::header::CONTENT_ENCODING).as_deref());
                let length = header(hyper::header::CONTENT_LENGTH).and_then(|l| l.parse().ok());
                Ok(Ok(Opened { content_encoding, length, body: Body::Http(response.into_body()), shown }))
            }
        }
    }
}

/// A Content-Encoding that changes the bytes a client saves: any but none and `identity`.
fn encoding(value: Option<&str>) -> Option<String> {
    value.map(str::trim).filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("identity")).map(str::to_string)
}

impl Opened {
    /// The next bytes of the body, None at its end.
    pub async fn next(&mut self) -> Result<Option<Bytes>, Error> {
        let failed = |detail: String| Error::Unreachable {
            bucket: self.shown.clone(),
            key: String::new(),
            operation: "GET".into(),
            detail,
        };
        match &mut self.body {
            Body::S3(stream) => stream.try_next().await.map_err(|e| failed(relsign_aws::error_chain(&e))),
            Body::Http(body) => loop {
                let frame = tokio::time::timeout(HTTP_READ_TIMEOUT, body.frame())
                    .await
                    .map_err(|_| failed("no bytes within 60 seconds".into()))?;
                match frame {
                    None => return Ok(None),
                    Some(Err(e)) => return Err(failed(relsign_aws::error_chain(&e))),
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            return Ok(Some(data));
                        }
                    }
                }
            },
        }
    }

    /// The whole body, refused past `cap` bytes (a signature or the checksum list).
    pub async fn read_capped(&mut self, cap: u64) -> Result<Result<Vec<u8>, String>, Error> {
        let mut all = Vec::new();
        while let Some(chunk) = self.next().await? {
            all.extend_from_slice(&chunk);
            if all.len() as u64 > cap {
                return Ok(Err(format!("larger than {cap} bytes, more than it can be")));
            }
        }
        Ok(Ok(all))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_of_names_are_encoded_part_by_part() {
        let base = parse_base_url("https://downloads.example.org/releases/1.4.0").unwrap();
        assert_eq!(base.as_str(), "https://downloads.example.org/releases/1.4.0/");
        let source = Source::Http {
            client: hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(
                hyper_rustls::HttpsConnectorBuilder::new()
                    .with_native_roots()
                    .unwrap()
                    .https_or_http()
                    .enable_http1()
                    .build(),
            ),
            base,
        };
        assert_eq!(
            source.show("a b/c#d?.tar"),
            "https://downloads.example.org/releases/1.4.0/a%20b/c%23d%3F.tar"
        );
    }

    #[test]
    fn refuses_urls_that_are_no_release_folder() {
        for bad in ["ftp://h/x/", "https://h/x/?a=b", "https://h/x/#f", "not a url", "https://"] {
            assert!(parse_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_encodings_that_change_the_bytes_count() {
        assert_eq!(encoding(None), None);
        assert_eq!(encoding(Some("identity")), None);
        assert_eq!(encoding(Some("")), None);
        assert_eq!(encoding(Some("gzip")), Some("gzip".into()));
    }
}
