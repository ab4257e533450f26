//! SHA-256 digests as relsign passes them around: 32 bytes, shown as lowercase hex.

use std::fmt;
use std::io::Write;
use std::str::FromStr;

use sequoia_openpgp::crypto::hash;
use sequoia_openpgp::types::HashAlgorithm;

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256(pub [u8; 32]);

impl Sha256 {
    pub(crate) fn from_slice(bytes: &[u8]) -> Sha256 {
        let mut out = [0u8; 32];
        out.copy_from_slice(&bytes[..32]);
        Sha256(out)
    }

    /// The digest of `bytes`, for small in-memory files such as the checksum list.
    pub fn of(bytes: &[u8]) -> Sha256 {
        let mut h = Sha256Hasher::new();
        h.update(bytes);
        h.finish()
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({self})")
    }
}

impl FromStr for Sha256 {
    type Err = String;

    fn from_str(s: &str) -> Result<Sha256, String> {
        if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("not a SHA-256 digest (64 hex digits): {s:?}"));
        }
        let mut out = [0u8; 32];
        for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
            let hi = (chunk[0] as char).to_digit(16).unwrap_or(0) as u8;
            let lo = (chunk[1] as char).to_digit(16).unwrap_or(0) as u8;
            out[i] = hi << 4 | lo;
        }
        Ok(Sha256(out))
    }
}

impl serde::Serialize for Sha256 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Sha256 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Sha256, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A plain SHA-256 hasher on the same backend as the signatures (OpenSSL, which uses the
/// CPU's SHA extensions where present).
#[derive(Clone)]
pub struct Sha256Hasher(hash::Context);

impl Sha256Hasher {
    pub fn new() -> Sha256Hasher {
        // SHA-256 is supported by every sequoia backend; failing here is a build defect.
        let ctx =
            HashAlgorithm::SHA256.context().expect("SHA-256 is supported by the crypto backend").for_digest();
        Sha256Hasher(ctx)
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn finish(self) -> Sha256 {
        let digest = self.0.into_digest().expect("SHA-256 digest");
        Sha256::from_slice(&digest)
    }
}

impl Default for Sha256Hasher {
    fn default() -> Self {
        Sha256Hasher::new()
    }
}

impl Write for Sha256Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest_round_trips_through_hex() {
        let d = Sha256::of(b"abc");
        let hex = d.to_string();
        assert_eq!(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(hex.parse::<Sha256>().unwrap(), d);
        assert!("xyz".parse::<Sha256>().is_err());
    }
}
