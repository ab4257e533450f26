//! A small fault-injecting HTTP/1.1 proxy for the failure tests: it sits between the client
//! and a local AWS server and, as a rule decides per request, passes the request on,
//! answers with an error status, resets the connection halfway through the request body,
//! stalls, holds the request a while before passing it on, or rewrites the request's body
//! and its answer's (a KMS answer changed on the way). Loopback only; every loop is bounded.
//!
//! With a [`Shape`] it also behaves like S3 towards each client connection: bodies flow at
//! most at a per-connection rate (both ways) and every response waits for a first-byte
//! latency after its request has arrived. scripts/bench puts it in front of s3s-fs
//! (`s3-shaped-proxy`) so that request shape is measured as it matters on S3.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the proxy does with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    Pass,
    /// Answer with this status and S3 error code without forwarding.
    Status(u16, &'static str),
    /// Read half the request body, then reset the connection.
    ResetMidBody,
    /// Read the request, then say nothing for this long and close.
    Stall(Duration),
    /// Hold the request this long, then pass it on (to order two clients' requests).
    Delay(Duration),
    /// Pass the request on with its body rewritten, and its answer's body rewritten (a
    /// hostile or broken network between the client and the service).
    Rewrite(Rewrite),
}

/// A rewrite of one body: the bytes in, the bytes sent on.
pub type Edit = Arc<dyn Fn(&[u8]) -> Vec<u8> + Send + Sync>;

/// How [`Fault::Rewrite`] changes a request and its answer (`None`: unchanged).
#[derive(Clone)]
pub struct Rewrite {
    pub request: Option<Edit>,
    pub response: Option<Edit>,
}

impl std::fmt::Debug for Rewrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rewrite(request: {}, response: {})", self.request.is_some(), self.response.is_some())
    }
}

impl PartialEq for Rewrite {
    fn eq(&self, other: &Rewrite) -> bool {
        let same = |a: &Option<Edit>, b: &Option<Edit>| match (a, b) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        same(&self.request, &other.request) && same(&self.response, &other.response)
    }
}

impl Eq for Rewrite {}

/// The request as the rule sees it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub body_len: usize,
    /// `X-Amz-Target` of the AWS JSON protocols (KMS, Secrets Manager): the operation.
    pub amz_target: Option<String>,
}

type Rule = dyn Fn(&Seen, usize) -> Fault + Send + Sync;

/// Every request the proxy saw, in order, with what it did to it.
type Log = Arc<Mutex<Vec<(Seen, Fault)>>>;

/// S3's per-connection behaviour, as the proxy models it.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// The most one connection carries, request and response bodies alike.
    pub bytes_per_second: u64,
    /// From the end of a request to the first byte of its response, at the least.
    pub first_byte: Duration,
}

/// Holds one body's flow to the connection's rate: after `n` bytes, no earlier than
/// `n / rate` seconds from the body's start (each body starts afresh: an idle connection
/// earns no burst).
struct Pace {
    rate: Option<u64>,
    start: Instant,
    moved: u64,
}

impl Pace {
    fn new(shape: Option<Shape>) -> Pace {
        Pace { rate: shape.map(|s| s.bytes_per_second.max(1)), start: Instant::now(), moved: 0 }
    }

    fn moved(&mut self, n: usize) {
        let Some(rate) = self.rate else { return };
        self.moved += n as u64;
        let due = self.start + Duration::from_secs_f64(self.moved as f64 / rate as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
}

/// Copies `len` bytes from `from` to `to` at the pace's rate.
fn pass_on(from: &mut impl Read, to: &mut impl Write, len: usize, pace: &mut Pace) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 << 10];
    let mut left = len;
    while left > 0 {
        let n = from.read(&mut buf[..left.min(64 << 10)])?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        to.write_all(&buf[..n])?;
        pace.moved(n);
        left -= n;
    }
    Ok(())
}

pub struct Proxy {
    pub endpoint: String,
    stop: Arc<AtomicBool>,
    pub requests: Arc<AtomicUsize>,
    pub faults: Arc<AtomicUsize>,
    log: Log,
}

impl Proxy {
    /// Proxies to `upstream` (host:port); `rule` gets each request and its 0-based index.
    pub fn start(upstream: &str, rule: impl Fn(&Seen, usize) -> Fault + Send + Sync + 'static) -> Proxy {
        Proxy::start_shaped(upstream, None, rule)
    }

    /// As [`Proxy::start`], every connection shaped like S3's when `shape` is given.
    pub fn start_shaped(
        upstream: &str,
        shape: Option<Shape>,
        rule: impl Fn(&Seen, usize) -> Fault + Send + Sync + 'static,
    ) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let faults = Arc::new(AtomicUsize::new(0));
        let log = Log::default();
        let rule: Arc<Rule> = Arc::new(rule);
        let upstream = upstream.to_string();
        let (stop2, requests2, faults2, log2) = (stop.clone(), requests.clone(), faults.clone(), log.clone());
        std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let (rule, upstream, requests, faults, log) = (
                            rule.clone(),
                            upstream.clone(),
                            requests2.clone(),
                            faults2.clone(),
                            log2.clone(),
                        );
                        std::thread::spawn(move || {
                            let _ = serve(client, &upstream, shape, &*rule, &requests, &faults, &log);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Proxy { endpoint, stop, requests, faults, log }
    }

    /// How many requests failed by the proxy (any fault but a delay) the client sent again
    /// afterwards (same method and target), and how many it failed: a client that retries
    /// every failure has the two equal.
    pub fn retried(&self) -> (usize, usize) {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let failed: Vec<usize> =
            (0..log.len()).filter(|&i| !matches!(log[i].1, Fault::Pass | Fault::Delay(_))).collect();
        let again = failed
            .iter()
            .filter(|&&i| {
                log[i + 1..].iter().any(|(s, _)| s.method == log[i].0.method && s.target == log[i].0.target)
            })
            .count();
        (again, failed.len())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn read_head(r: &mut impl BufRead) -> std::io::Result<Option<Vec<String>>> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            return Ok(if lines.is_empty() { None } else { Some(lines) });
        }
        lines.push(line);
    }
}

fn header<'a>(head: &'a [String], name: &str) -> Option<&'a str> {
    head.iter().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Reads a body framed by Content-Length or chunked encoding, returning its raw bytes.
fn read_body(r: &mut impl BufRead, head: &[String], no_body: bool) -> std::io::Result<Vec<u8>> {
    if no_body {
        return Ok(Vec::new());
    }
    if header(head, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut raw = Vec::new();
        loop {
            let mut size_line = String::new();
            r.read_line(&mut size_line)?;
            raw.extend_from_slice(size_line.as_bytes());
            let size =
                usize::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    let mut t = String::new();
                    r.read_line(&mut t)?;
                    raw.extend_from_slice(t.as_bytes());
                    if t == "\r\n" || t.is_empty() {
                        return Ok(raw);
                    }
                }
            }
            let mut chunk = vec![0u8; size + 2];
            r.read_exact(&mut chunk)?;
            raw.extend_from_slice(&chunk);
        }
    }
    let len: usize = header(head, "content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    Ok(body)
}

fn serve(
    client: TcpStream,
    upstream: &str,
    shape: Option<Shape>,
    rule: &Rule,
    requests: &AtomicUsize,
    faults: &AtomicUsize,
    log: &Mutex<Vec<(Seen, Fault)>>,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut writer = client;
    for _ in 0..100_000 {
        let Some(mut head) = read_head(&mut reader)? else { return Ok(()) };
        let mut parts = head[0].split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        if header(&head, "expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
            writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
            head.retain(|l| !l.to_ascii_lowercase().starts_with("expect:"));
        }
        let declared: usize = header(&head, "content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let index = requests.fetch_add(1, Ordering::SeqCst);
        let amz_target = header(&head, "x-amz-target").map(str::to_string);
        let seen = Seen { method: method.clone(), target: target.clone(), body_len: declared, amz_target };
        let fault = rule(&seen, index);
        if fault != Fault::Pass {
            faults.fetch_add(1, Ordering::SeqCst);
        }
        log.lock().unwrap_or_else(|e| e.into_inner()).push((seen, fault.clone()));
        if let Fault::Delay(d) = fault {
            std::thread::sleep(d);
        }
        if fault == Fault::ResetMidBody {
            let mut half = vec![0u8; declared / 2];
            reader.read_exact(&mut half)?;
            linger_zero(&writer);
            writer.shutdown(Shutdown::Both)?;
            return Ok(());
        }
        let chunked = header(&head, "transfer-encoding").is_some();
        if shape.is_some() && fault == Fault::Pass && !chunked {
            // Streamed at the connection's rate: S3 reads a body no faster.
            let mut up = connect(upstream, &head)?;
            pass_on(&mut reader, &mut up, declared, &mut Pace::new(shape))?;
            let due = Instant::now() + shape.map_or(Duration::ZERO, |s| s.first_byte);
            respond(BufReader::new(up), &mut writer, &method, due, shape)?;
            continue;
        }
        let body = read_body(&mut reader, &head, false)?;
        match fault {
            Fault::Status(code, error) => {
                // The error as the protocol spells it: JSON for the JSON protocols, else S3's XML.
                let (kind, text) = match header(&head, "x-amz-target") {
                    Some(_) => ("application/x-amz-json-1.1", format!("{{\"__type\":\"{error}\",\"message\":\"injected by the test proxy\"}}")),
                    None => ("application/xml", format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{error}</Code><Message>injected by the test proxy</Message></Error>")),
                };
                write!(
                    writer,
                    "HTTP/1.1 {code} Injected\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\r\n{text}",
                    text.len()
                )?;
                continue;
            }
            Fault::Stall(d) => {
                std::thread::sleep(d);
                writer.shutdown(Shutdown::Both)?;
                return Ok(());
            }
            _ => {}
        }
        if let Fault::Rewrite(rewrite) = &fault {
            rewritten(&head, body, rewrite, upstream, &mut writer)?;
            continue;
        }
        let mut up = connect(upstream, &head)?;
        Pace::new(shape).moved(body.len());
        up.write_all(&body)?;
        let due = Instant::now() + shape.map_or(Duration::ZERO, |s| s.first_byte);
        respond(BufReader::new(up), &mut writer, &method, due, shape)?;
    }
    Ok(())
}

/// One request passed on with its body, then its answer's, rewritten (a request framed by
/// Content-Length, answered with one: the AWS JSON protocols).
fn rewritten(
    head: &[String],
    body: Vec<u8>,
    rewrite: &Rewrite,
    upstream: &str,
    writer: &mut TcpStream,
) -> std::io::Result<()> {
    let body = match &rewrite.request {
        Some(edit) => edit(&body),
        None => body,
    };
    let without_length = |h: &[String]| -> Vec<String> {
        h.iter().filter(|l| !l.to_ascii_lowercase().starts_with("content-length:")).cloned().collect()
    };
    let mut head = without_length(head);
    head.push(format!("Content-Length: {}", body.len()));
    let mut up = connect(upstream, &head)?;
    up.write_all(&body)?;
    let mut up = BufReader::new(up);
    let Some(resp_head) = read_head(&mut up)? else { return Ok(()) };
    let resp_body = read_body(&mut up, &resp_head, false)?;
    let resp_body = match &rewrite.response {
        Some(edit) => edit(&resp_body),
        None => resp_body,
    };
    let mut resp_head = without_length(&resp_head);
    resp_head.retain(|l| !l.to_ascii_lowercase().starts_with("connection:"));
    resp_head.push(format!("Content-Length: {}", resp_body.len()));
    for line in &resp_head {
        writer.write_all(line.as_bytes())?;
        writer.write_all(b"\r\n")?;
    }
    writer.write_all(b"\r\n")?;
    writer.write_all(&resp_body)
}

/// Opens a connection to `upstream` and sends it the request head (one request per
/// connection: `Connection: close`).
fn connect(upstream: &str, head: &[String]) -> std::io::Result<TcpStream> {
    let mut up = TcpStream::connect(upstream)?;
    for (i, line) in head.iter().enumerate() {
        if i > 0 && line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        up.write_all(line.as_bytes())?;
        up.write_all(b"\r\n")?;
    }
    up.write_all(b"Connection: close\r\n\r\n")?;
    Ok(up)
}

/// Relays upstream's response to the client, its head no earlier than `due`, its body at
/// the connection's rate (streamed when its length is declared).
fn respond(
    mut up_reader: BufReader<TcpStream>,
    writer: &mut TcpStream,
    method: &str,
    due: Instant,
    shape: Option<Shape>,
) -> std::io::Result<()> {
    let Some(resp_head) = read_head(&mut up_reader)? else { return Ok(()) };
    let status: u16 = resp_head[0].split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let no_body = method == "HEAD" || status == 204 || status == 304;
    let declared: Option<usize> = header(&resp_head, "content-length").and_then(|v| v.parse().ok());
    let chunked = header(&resp_head, "transfer-encoding").is_some();
    let resp_body = if no_body || declared.is_some() {
        Vec::new()
    } else if chunked {
        read_body(&mut up_reader, &resp_head, false)?
    } else {
        let mut rest = Vec::new();
        up_reader.read_to_end(&mut rest)?;
        rest
    };
    if let Some(wait) = due.checked_duration_since(Instant::now()) {
        std::thread::sleep(wait);
    }
    for (i, line) in resp_head.iter().enumerate() {
        if i > 0 && line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        writer.write_all(line.as_bytes())?;
        writer.write_all(b"\r\n")?;
    }
    if declared.is_none() && !chunked && !no_body {
        write!(writer, "Content-Length: {}\r\n", resp_body.len())?;
    }
    writer.write_all(b"\r\n")?;
    let mut pace = Pace::new(shape);
    match declared {
        Some(len) if !no_body => pass_on(&mut up_reader, writer, len, &mut pace),
        _ => pass_on(&mut &resp_body[..], writer, resp_body.len(), &mut pace),
    }
}

/// Makes closing the socket send a reset rather than a clean end of stream.
fn linger_zero(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: a valid socket descriptor and a properly sized option value.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}
