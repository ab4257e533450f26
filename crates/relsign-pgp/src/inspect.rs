//! What relsign may read and what it may publish: files taken whole (certificates, checksum
//! lists, signatures) are read only when they are regular files below a size
//! cap, and OpenPGP secret-key material is recognised wherever it sits in an artifact, so
//! that it is never signed or published.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use base64::Engine;

use openpgp::armor::{Kind, Reader, ReaderMode};
use openpgp::crypto::mem::Protected;
use openpgp::parse::{PacketParser, PacketParserResult, Parse};
use openpgp::Packet;
use sequoia_openpgp as openpgp;

/// Caps for the files read whole: each far above what a real one holds, far below what
/// would hurt a build container.
pub const MAX_CERTIFICATE: u64 = 16 << 20;
pub const MAX_SIGNATURE: u64 = 1 << 20;
/// 20,000 artifacts with long names take about 3 MiB.
pub const MAX_SUMS: u64 = 64 << 20;

fn kind_name(t: std::fs::FileType) -> &'static str {
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else if t.is_dir() {
        "a folder"
    } else {
        "not a regular file"
    }
}

/// Opens `path` for reading only if it is a regular file. The open itself cannot block (a
/// FIFO with no writer would otherwise hang the run) and the type is taken from the open
/// descriptor, so the file cannot be swapped after the check.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        let kind = kind_name(meta.file_type());
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("it is {kind}, not a regular file")));
    }
    Ok(file)
}

/// Reads a regular file of at most `cap` bytes whole.
pub fn read_capped(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let file = open_regular(path)?;
    let len = file.metadata()?.len();
    let too_big = || {
        io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("it is larger than {} MiB, far more than such a file holds", cap >> 20),
        )
    };
    if len > cap {
        return Err(too_big());
    }
    let mut bytes = Vec::with_capacity(len as usize);
    // The size may grow after the stat: read one byte past the cap to notice.
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(too_big());
    }
    Ok(bytes)
}

const ARMOR_HEADER: &[u8] = b"-----BEGIN PGP PRIVATE KEY BLOCK-----";
/// What is kept of the data after an armor header to decide whether a key follows: a
/// secret key's first packet is a few KiB even for RSA-4096.
const CAPTURE: usize = 64 << 10;
/// What is kept of a file's start to parse a binary key's first packet: an RSA-8192
/// secret key packet is under 5 KiB.
const HEAD: usize = 16 << 10;

/// Whether `bytes` start with an OpenPGP Secret-Key or Secret-Subkey packet, binary or
/// armored, as sequoia parses it (a look-alike header byte or a quoted armor line is not
/// enough).
pub fn is_secret_key_block(bytes: &[u8]) -> bool {
    let first = |data: &[u8]| match PacketParser::from_bytes(data) {
        Ok(PacketParserResult::Some(pp)) => {
            matches!(pp.packet, Packet::SecretKey(_) | Packet::SecretSubkey(_))
        }
        _ => false,
    };
    if bytes.starts_with(ARMOR_HEADER) {
        let mut reader = Reader::from_bytes(bytes, ReaderMode::Tolerant(Some(Kind::SecretKey)));
        let mut decoded = Vec::new();
        // A truncated capture ends in an error after the first packets have been decoded.
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || decoded.len() > CAPTURE {
                break;
            }
            decoded.extend_from_slice(&buf[..n]);
        }
        return first(&decoded);
    }
    // Binary: the first packet's tag is 5 (Secret-Key) or 7 (Secret-Subkey).
    let tag = match bytes.first() {
        Some(b) if b & 0xC0 == 0xC0 => b & 0x3F,
        Some(b) if b & 0x80 != 0 => (b >> 2) & 0x0F,
        _ => return false,
    };
    matches!(tag, 5 | 7) && first(bytes)
}

/// Looks for secret-key material in a file streamed through it in chunks of any size: a
/// binary secret key at the start, or an armored one anywhere.
#[derive(Default)]
pub struct SecretScan {
    /// The first bytes, for a binary key at the start, whatever the chunk sizes.
    head: Vec<u8>,
    head_done: bool,
    found: bool,
    /// The end of the previous chunk, for a header split across two chunks.
    tail: Vec<u8>,
    /// The bytes from an armor header on, until there are enough to decide.
    capture: Option<Vec<u8>>,
}

impl SecretScan {
    pub fn new() -> SecretScan {
        SecretScan::default()
    }

    pub fn update(&mut self, chunk: &[u8]) {
        if self.found || chunk.is_empty() {
            return;
        }
        if !self.head_done {
            let take = (HEAD - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
            if self.head.len() == HEAD && self.decide_head() {
                return;
            }
        }
        let mut rest = chunk;
        loop {
            if let Some(capture) = &mut self.capture {
                let take = (CAPTURE - capture.len()).min(rest.len());
                capture.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                if capture.len() < CAPTURE {
                    return;
                }
                if self.decide() {
                    return;
                }
            }
            // Search the previous chunk's tail and this chunk as one.
            let mut window = std::mem::take(&mut self.tail);
            let joined = window.len();
            window.extend_from_slice(rest);
            match memchr::memmem::find(&window, ARMOR_HEADER) {
                Some(at) => {
                    self.capture = Some(Vec::with_capacity(CAPTURE));
                    rest = &rest[at.saturating_sub(joined)..];
                    if at < joined {
                        // The header began in the tail: capture it from there.
                        self.capture.as_mut().unwrap().extend_from_slice(&window[at..joined]);
                    }
                }
                None => {
                    let keep = window.len().min(ARMOR_HEADER.len() - 1);
                    self.tail = window[window.len() - keep..].to_vec();
                    return;
                }
            }
        }
    }

    fn decide_head(&mut self) -> bool {
        self.head_done = true;
        let head = std::mem::take(&mut self.head);
        self.found = !head.starts_with(ARMOR_HEADER) && is_secret_key_block(&head);
        self.found
    }

    /// Decides on the captured armor block; true when secret material was found.
    fn decide(&mut self) -> bool {
        if let Some(capture) = self.capture.take() {
            self.found = is_secret_key_block(&capture);
        }
        self.found
    }

    /// Whether secret-key material was seen, once all the data went through `update`.
    pub fn finish(mut self) -> bool {
        if !self.found && !self.head_done && self.decide_head() {
            return true;
        }
        self.decide()
    }
}

/// Reads the start of `path` (what a key file holds) and says whether it is secret-key
/// material: the cheap check for files that are not otherwise read before upload.
pub fn starts_with_secret_key(path: &Path) -> io::Result<bool> {
    let file = open_regular(path)?;
    let mut head = Vec::with_capacity(CAPTURE);
    file.take(CAPTURE as u64).read_to_end(&mut head)?;
    Ok(secret_at_start(&head))
}

/// Hashes a file in one buffered pass, showing each chunk read to `each` as well.
pub(crate) fn sha256_reading(path: &Path, mut each: impl FnMut(&[u8])) -> io::Result<crate::Sha256> {
    let mut file = crate::open_regular(path)?;
    let mut hasher = crate::Sha256Hasher::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(hasher.finish());
        }
        each(&buf[..n]);
        hasher.update(&buf[..n]);
    }
}

/// Hashes `path` in one pass and says, from the same read, what `starts_with_secret_key`
/// says of it: one open and one read per file for a folder whose files have no signed
/// digest yet.
pub fn sha256_and_secret_start(path: &Path) -> io::Result<(crate::Sha256, bool)> {
    let mut head = Vec::new();
    let digest = sha256_reading(path, |chunk| {
        let take = CAPTURE.saturating_sub(head.len()).min(chunk.len());
        head.extend_from_slice(&chunk[..take]);
    })?;
    Ok((digest, secret_at_start(&head)))
}

/// The decision on a file's first `CAPTURE` bytes, leading white space skipped.
fn secret_at_start(head: &[u8]) -> bool {
    let start = head.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(head.len());
    is_secret_key_block(&head[start..])
}

/// The packets of every armor block in `bytes`, one after the other, or `bytes` as they are
/// when they hold no armor (binary OpenPGP). sequoia's armor reader stops at the first
/// block's end; GnuPG reads on, and judges every signature of every block, so a good block
/// followed by a bad one must not pass as the good one alone.
pub(crate) fn dearmor_all(bytes: &[u8]) -> Result<Vec<u8>, String> {
    const BEGIN: &[u8] = b"-----BEGIN PGP ";
    let starts: Vec<usize> = bytes
        .windows(BEGIN.len())
        .enumerate()
        .filter(|(i, w)| *w == BEGIN && (*i == 0 || bytes[i - 1] == b'\n'))
        .map(|(i, _)| i)
        .collect();
    if starts.is_empty() {
        return Ok(bytes.to_vec());
    }
    let mut packets = Vec::new();
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(bytes.len());
        let mut reader = Reader::from_bytes(&bytes[start..end], ReaderMode::Tolerant(None));
        reader.read_to_end(&mut packets).map_err(|e| format!("armor block {}: {e}", n + 1))?;
    }
    Ok(packets)
}

/// The shortest passphrase searched for in the artifacts: 8 bytes. A shorter string (a
/// 6-byte PIN, say) is found by chance in any large binary, which would refuse releases
/// that do not hold it; a passphrase that short is unsafe anyway.
pub const MIN_SCANNED_PASSPHRASE: usize = 8;

/// The passphrase's bytes, zeroed when the last copy is dropped, shared by the workers
/// that read the artifacts.
#[derive(Clone)]
pub struct PassphraseNeedle(std::sync::Arc<Protected>);

impl PassphraseNeedle {
    pub(crate) fn new(bytes: Vec<u8>) -> Option<PassphraseNeedle> {
        let protected = Protected::from(bytes);
        (protected.len() >= MIN_SCANNED_PASSPHRASE).then(|| PassphraseNeedle(std::sync::Arc::new(protected)))
    }

    /// A search through one file, fed in chunks of any size.
    pub fn scan(&self) -> PassphraseScan<'_> {
        PassphraseScan {
            finder: memchr::memmem::Finder::new(&self.0[..]),
            tail: Protected::from(Vec::new()),
            found: false,
        }
    }
}

impl std::fmt::Debug for PassphraseNeedle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PassphraseNeedle(<redacted>)")
    }
}

/// Looks for the passphrase in a file streamed through it in chunks, in the same read that
/// hashes the file: each chunk searched, and the seam between two chunks.
pub struct PassphraseScan<'a> {
    finder: memchr::memmem::Finder<'a>,
    /// The last bytes of what came before (one fewer than the passphrase), zeroed when
    /// dropped: they may hold the passphrase's beginning.
    tail: Protected,
    found: bool,
}

impl PassphraseScan<'_> {
    pub fn update(&mut self, chunk: &[u8]) {
        if self.found || chunk.is_empty() {
            return;
        }
        let keep = self.finder.needle().len() - 1;
        // The seam: the tail and as much of the chunk as a match across it can reach.
        let mut seam = Vec::with_capacity(self.tail.len() + keep.min(chunk.len()));
        seam.extend_from_slice(&self.tail);
        seam.extend_from_slice(&chunk[..keep.min(chunk.len())]);
        let seam = Protected::from(seam);
        if self.finder.find(&seam).is_some() || self.finder.find(chunk).is_some() {
            self.found = true;
            return;
        }
        let tail: &[u8] = if chunk.len() >= keep {
            &chunk[chunk.len() - keep..]
        } else {
            &seam[seam.len().saturating_sub(keep)..]
        };
        self.tail = Protected::from(tail.to_vec());
    }

    /// Whether the passphrase was seen, once all the data went through `update`.
    pub fn finish(self) -> bool {
        self.found
    }
}

/// Whether an armored block in `bytes` carries a CRC-24 line that does not match the data
/// it encloses. RFC 9580 lets readers ignore that checksum, and sequoia does, so a key
/// damaged in a copy and paste would otherwise fail later as a wrong passphrase, which
/// sends the operator to the wrong secret.
pub fn armor_checksum_mismatch(bytes: &[u8]) -> bool {
    let crc24 = crc::Crc::<u32>::new(&crc::CRC_24_OPENPGP);
    let Ok(text) = std::str::from_utf8(bytes) else { return false };
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN PGP ") {
        let block = &rest[start..];
        let Some(end) = block.find("-----END PGP ") else { return false };
        let body = &block[..end];
        let end_line = block[end..].find('\n').map_or(block.len(), |i| end + i + 1);
        let whole = &block[..end_line];
        rest = &block[end_line..];
        let Some(line) = body.lines().map(str::trim).rfind(|l| !l.is_empty()) else { continue };
        let Some(sum) = line.strip_prefix('=').filter(|s| s.len() == 4) else { continue };
        let Ok(want) = base64::engine::general_purpose::STANDARD.decode(sum) else { return true };
        let mut decoded = Vec::new();
        let mut reader = Reader::from_bytes(whole.as_bytes(), ReaderMode::Tolerant(None));
        if reader.read_to_end(&mut decoded).is_err() {
            // Not decodable at all: the parser's own error says it is damaged.
            continue;
        }
        let got = crc24.checksum(&decoded).to_be_bytes();
        if got[1..] != want[..] {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use openpgp::cert::CertBuilder;
    use openpgp::serialize::SerializeInto;

    fn key() -> openpgp::Cert {
        CertBuilder::general_purpose(Some("t <t@example.org>")).generate().unwrap().0
    }

    fn scan_in_chunks(data: &[u8], chunk: usize) -> bool {
        let mut scan = SecretScan::new();
        data.chunks(chunk).for_each(|c| scan.update(c));
        scan.finish()
    }

    #[test]
    fn an_armored_key_is_found_wherever_the_chunks_split_it() {
        let cert = key();
        let mut data = vec![b'.'; 100_000];
        data.extend(cert.as_tsk().armored().to_vec().unwrap());
        data.extend(vec![b'.'; 5000]);
        for chunk in [1, 7, 37, 4096, 65_536, 1 << 20] {
            assert!(scan_in_chunks(&data, chunk), "missed with chunks of {chunk}");
        }
        let public = [vec![b'.'; 100_000], cert.armored().to_vec().unwrap()].concat();
        assert!(!scan_in_chunks(&public, 4096), "a public certificate is not secret");
    }

    #[test]
    fn the_passphrase_is_found_wherever_the_chunks_split_it() {
        let needle = PassphraseNeedle::new(b"correct horse".to_vec()).unwrap();
        let data = b"notes: the key opens with correct horse, keep it safe".to_vec();
        for chunk in 1..data.len() {
            let mut scan = needle.scan();
            data.chunks(chunk).for_each(|c| scan.update(c));
            assert!(scan.finish(), "missed with chunks of {chunk}");
        }
        let mut scan = needle.scan();
        b"correct hors".chunks(3).chain([&b"e"[..0], b" horse"]).for_each(|c| scan.update(c));
        assert!(!scan.finish(), "a near miss is not the passphrase");
        assert!(PassphraseNeedle::new(b"1234567".to_vec()).is_none(), "7 bytes are not searched for");
    }

    #[test]
    fn a_binary_key_is_found_at_the_start_only() {
        let cert = key();
        let binary = cert.as_tsk().to_vec().unwrap();
        for chunk in [1, 100, 1 << 20] {
            assert!(scan_in_chunks(&binary, chunk), "missed with chunks of {chunk}");
        }
        assert!(is_secret_key_block(&binary));
        assert!(!is_secret_key_block(&cert.to_vec().unwrap()));
    }

    #[test]
    fn a_quoted_header_without_a_key_is_not_secret_material() {
        let mut scan = SecretScan::new();
        scan.update(b"binary \x00\x01 -----BEGIN PGP PRIVATE KEY BLOCK----- in a string table\x00");
        assert!(!scan.finish());
        assert!(!is_secret_key_block(b"\x95\x01\x02 not a key"));
    }
}
