//! A small ZIP writer (PKWARE APPNOTE 6.3: deflated entries, UTF-8 names, no ZIP64), enough for
//! the account export: a handful of files well under 4 GiB, built in memory.

use flate2::write::DeflateEncoder;
use flate2::Compression;
use std::io::Write;

struct Entry {
    name: String,
    crc: u32,
    compressed: u32,
    size: u32,
    offset: u32,
}

/// Collects files and writes the archive.
pub struct ZipWriter {
    bytes: Vec<u8>,
    entries: Vec<Entry>,
    dos_time: u16,
    dos_date: u16,
}

#[derive(Debug, thiserror::Error)]
pub enum ZipError {
    #[error("a file or the archive is larger than a ZIP without ZIP64 holds")]
    TooLarge,
    #[error("compression failed: {0}")]
    Io(#[from] std::io::Error),
}

const UTF8_NAMES: u16 = 1 << 11;
const DEFLATE: u16 = 8;
const VERSION: u16 = 20;

impl ZipWriter {
    /// Entries are stamped with `at` (UTC), in MS-DOS form.
    pub fn new(at: jiff::civil::DateTime) -> Self {
        let dos_time =
            ((at.hour() as u16) << 11) | ((at.minute() as u16) << 5) | (at.second() as u16 / 2);
        let year = (at.year().clamp(1980, 2107) - 1980) as u16;
        let dos_date = (year << 9) | ((at.month() as u16) << 5) | at.day() as u16;
        Self {
            bytes: Vec::new(),
            entries: Vec::new(),
            dos_time,
            dos_date,
        }
    }

    pub fn add(&mut self, name: &str, content: &[u8]) -> Result<(), ZipError> {
        let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(content)?;
        let compressed = encoder.finish()?;
        let size = u32::try_from(content.len()).map_err(|_| ZipError::TooLarge)?;
        let compressed_size = u32::try_from(compressed.len()).map_err(|_| ZipError::TooLarge)?;
        let offset = u32::try_from(self.bytes.len()).map_err(|_| ZipError::TooLarge)?;
        let name_len = u16::try_from(name.len()).map_err(|_| ZipError::TooLarge)?;
        let crc = crc32(content);
        let out = &mut self.bytes;
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        for value in [VERSION, UTF8_NAMES, DEFLATE, self.dos_time, self.dos_date] {
            out.extend_from_slice(&value.to_le_bytes());
        }
        for value in [crc, compressed_size, size] {
            out.extend_from_slice(&value.to_le_bytes());
        }
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&compressed);
        self.entries.push(Entry {
            name: name.to_string(),
            crc,
            compressed: compressed_size,
            size,
            offset,
        });
        Ok(())
    }

    pub fn finish(mut self) -> Result<Vec<u8>, ZipError> {
        let directory_at = u32::try_from(self.bytes.len()).map_err(|_| ZipError::TooLarge)?;
        let count = u16::try_from(self.entries.len()).map_err(|_| ZipError::TooLarge)?;
        let out = &mut self.bytes;
        for entry in &self.entries {
            out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            for value in [
                VERSION,
                VERSION,
                UTF8_NAMES,
                DEFLATE,
                self.dos_time,
                self.dos_date,
            ] {
                out.extend_from_slice(&value.to_le_bytes());
            }
            for value in [entry.crc, entry.compressed, entry.size] {
                out.extend_from_slice(&value.to_le_bytes());
            }
            // Name length, extra, comment, disk, internal attributes; external attributes; offset.
            out.extend_from_slice(&(entry.name.len() as u16).to_le_bytes());
            out.extend_from_slice(&[0u8; 8]);
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&entry.offset.to_le_bytes());
            out.extend_from_slice(entry.name.as_bytes());
        }
        let directory_size =
            u32::try_from(out.len()).map_err(|_| ZipError::TooLarge)? - directory_at;
        out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        out.extend_from_slice(&[0u8; 4]);
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&directory_size.to_le_bytes());
        out.extend_from_slice(&directory_at.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        Ok(self.bytes)
    }
}

/// CRC-32 (IEEE, reflected, as ZIP uses it).
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_check_value() {
        // The standard check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn archives_end_with_a_directory_naming_every_file() {
        let mut zip = ZipWriter::new(jiff::civil::date(2026, 12, 4).at(14, 30, 10, 0));
        zip.add("a.json", b"{}").unwrap();
        zip.add("b.csv", "x,y\n1,é\n".as_bytes()).unwrap();
        let bytes = zip.finish().unwrap();
        assert_eq!(&bytes[..4], b"PK\x03\x04");
        let end = &bytes[bytes.len() - 22..];
        assert_eq!(&end[..4], b"PK\x05\x06");
        assert_eq!(u16::from_le_bytes([end[10], end[11]]), 2);
    }
}
