//! The write-ahead log's on-disk format (issue 12; README, Write path and recovery), and the file
//! it lives in. The format is kept pure (bytes in, records out) so that it can be tested against
//! any truncation or corruption; the writer (`writer/log.rs`) decides what goes in the records.
//!
//! A segment is a preallocated file: a header in its first [`HEADER`] bytes, then records.
//!
//! - Header: `b"hooktail-wal-v2\0"`, `u128` store id, `u64` epoch, `u64` first sequence,
//!   `u32` CRC-32 of the preceding 48 bytes; little-endian. The store id ties the log to the
//!   store it was written for (`wal_meta_v1`): a log beside another store is never replayed.
//!   A new epoch is written each time the segment is recycled after a checkpoint. (v1 had no
//!   store id; its header does not read as one, so such a log is reset, never replayed.)
//! - Record: `[u32 length][u32 crc][u64 sequence][payload]`, little-endian, where the CRC-32
//!   covers the epoch, the sequence, the length and the payload. With the epoch inside the CRC
//!   a record left over from before a recycling never reads as a record of the new epoch, even
//!   where its sequence number happens to be the one expected.
//!
//! Reading stops at the first record that is short, longer than what follows, fails its CRC or
//! does not carry the next sequence number: that is the unsynced tail of a crash, which no caller
//! was answered for.

use std::fs::File;
use std::io;
use std::path::Path;

/// The log's file, so that tests can stand in a disk that loses power.
pub trait LogFile: Send {
    /// The whole file.
    fn read_all(&mut self) -> io::Result<Vec<u8>>;
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()>;
    /// `fdatasync`: returns once everything written is on disk.
    fn sync(&mut self) -> io::Result<()>;
    fn size(&mut self) -> io::Result<u64>;
    /// What a warning calls it: the file's path.
    fn name(&self) -> String {
        "the write-ahead log".into()
    }
}

/// The log in a real file.
pub struct FileLog {
    file: File,
    path: std::path::PathBuf,
}

impl FileLog {
    /// Opens or creates the log, readable by its owner only: it holds events.
    pub fn open(path: &Path) -> io::Result<FileLog> {
        let mut o = std::fs::OpenOptions::new();
        o.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        let file = o.open(path)?;
        Ok(FileLog {
            file,
            path: path.to_path_buf(),
        })
    }
}

impl LogFile for FileLog {
    fn read_all(&mut self) -> io::Result<Vec<u8>> {
        use io::{Read, Seek};
        let mut out = Vec::new();
        self.file.seek(io::SeekFrom::Start(0))?;
        self.file.read_to_end(&mut out)?;
        Ok(out)
    }

    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        use io::{Seek, Write};
        self.file.seek(io::SeekFrom::Start(offset))?;
        self.file.write_all(bytes)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn size(&mut self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }
}

/// Bytes reserved for the header; records start at this offset, page-aligned.
pub const HEADER: usize = 4096;
/// A record's fixed part: length, CRC, sequence.
pub const RECORD_HEAD: usize = 16;
/// The longest payload a record may carry.
pub const MAX_PAYLOAD: usize = 256 << 20;

const MAGIC: &[u8; 16] = b"hooktail-wal-v2\0";
const HEADER_USED: usize = 16 + 16 + 8 + 8 + 4;

/// What a segment's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// The id of the store the log was written for.
    pub store: u128,
    /// Changes each time the segment is recycled.
    pub epoch: u64,
    /// The sequence number its first record must carry.
    pub first_seq: u64,
}

/// What reading a segment found.
#[derive(Debug, PartialEq, Eq)]
pub struct Scan<'a> {
    /// `None` when the header is missing or damaged: an empty log.
    pub segment: Option<Segment>,
    /// The records read, in order, as (sequence, payload).
    pub records: Vec<(u64, &'a [u8])>,
    /// Where the next record goes.
    pub end: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("a log record of {0} bytes is over the {MAX_PAYLOAD}-byte limit")]
pub struct TooLarge(pub usize);

/// The header's bytes, to be written at offset 0 (the rest of [`HEADER`] stays as it is).
pub fn header(segment: Segment) -> [u8; HEADER_USED] {
    let mut out = [0u8; HEADER_USED];
    out[..16].copy_from_slice(MAGIC);
    out[16..32].copy_from_slice(&segment.store.to_le_bytes());
    out[32..40].copy_from_slice(&segment.epoch.to_le_bytes());
    out[40..48].copy_from_slice(&segment.first_seq.to_le_bytes());
    let crc = crc32fast::hash(&out[..48]);
    out[48..].copy_from_slice(&crc.to_le_bytes());
    out
}

fn read_header(bytes: &[u8]) -> Option<Segment> {
    let h = bytes.get(..HEADER_USED)?;
    if &h[..16] != MAGIC || crc32fast::hash(&h[..48]).to_le_bytes() != h[48..] {
        return None;
    }
    Some(Segment {
        store: u128::from_le_bytes(h[16..32].try_into().ok()?),
        epoch: u64::from_le_bytes(h[32..40].try_into().ok()?),
        first_seq: u64::from_le_bytes(h[40..48].try_into().ok()?),
    })
}

fn record_crc(epoch: u64, seq: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&epoch.to_le_bytes());
    h.update(&seq.to_le_bytes());
    h.update(&(payload.len() as u32).to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// Appends one record to `out`, the bytes of a batch's append.
pub fn append_record(
    out: &mut Vec<u8>,
    epoch: u64,
    seq: u64,
    payload: &[u8],
) -> Result<(), TooLarge> {
    if payload.len() > MAX_PAYLOAD {
        return Err(TooLarge(payload.len()));
    }
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&record_crc(epoch, seq, payload).to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// A record's fixed part: payload length, CRC, sequence number.
struct Head {
    len: usize,
    crc: u32,
    seq: u64,
}

/// The record head at `pos`, if the bytes reach that far.
fn head_at(bytes: &[u8], pos: usize) -> Option<Head> {
    let head = bytes.get(pos..pos.checked_add(RECORD_HEAD)?)?;
    let (mut len, mut crc, mut seq) = ([0u8; 4], [0u8; 4], [0u8; 8]);
    len.copy_from_slice(&head[..4]);
    crc.copy_from_slice(&head[4..8]);
    seq.copy_from_slice(&head[8..]);
    Some(Head {
        len: u32::from_le_bytes(len) as usize,
        crc: u32::from_le_bytes(crc),
        seq: u64::from_le_bytes(seq),
    })
}

impl Head {
    /// The payload of the record whose head is at `pos`, when it is whole and its CRC (over
    /// `epoch` too) holds.
    fn payload<'a>(&self, bytes: &'a [u8], pos: usize, epoch: u64) -> Option<&'a [u8]> {
        let start = pos + RECORD_HEAD;
        let payload = (self.len <= MAX_PAYLOAD)
            .then(|| bytes.get(start..start + self.len))
            .flatten()?;
        (record_crc(epoch, self.seq, payload) == self.crc).then_some(payload)
    }
}

/// Reads a segment's records up to the first one that is not whole, valid and next in sequence.
pub fn scan(bytes: &[u8]) -> Scan<'_> {
    let Some(segment) = read_header(bytes) else {
        return Scan {
            segment: None,
            records: Vec::new(),
            end: HEADER,
        };
    };
    let mut records = Vec::new();
    let mut pos = HEADER;
    let mut expected = segment.first_seq;
    while let Some(head) = head_at(bytes, pos) {
        if head.seq != expected {
            break;
        }
        let Some(payload) = head.payload(bytes, pos, segment.epoch) else {
            break;
        };
        records.push((head.seq, payload));
        pos += RECORD_HEAD + payload.len();
        match expected.checked_add(1) {
            Some(next) => expected = next,
            None => break,
        }
    }
    Scan {
        segment: Some(segment),
        records,
        end: pos,
    }
}

/// Whether a whole, valid record of the segment follows `scan.end`: then the log was
/// damaged in its middle, not torn at its tail, and the records past the damage had been
/// acked. Old epochs' records (a recycled segment's rest) never pass: their sequence numbers
/// are below the next one and their CRC holds another epoch.
///
/// Every byte position is a candidate, and a candidate's CRC runs over the length its head
/// claims; old records hold senders' bodies, which can be made of such heads, each claiming
/// megabytes. So the CRC work is capped at twice the file ([`CRC_BUDGET`]): past it, looking
/// stops and the log counts as torn at `scan.end`. Random damage never comes near the cap (a
/// head's sequence number must fall within 2^32 of the next one); only crafted bodies do, and
/// those cannot carry a CRC of this epoch.
pub fn records_past_end(bytes: &[u8], scan: &Scan) -> bool {
    records_past_end_within(bytes, scan, CRC_BUDGET * bytes.len())
}

/// How many times the file's length [`records_past_end`] may run CRCs over.
const CRC_BUDGET: usize = 2;

fn records_past_end_within(bytes: &[u8], scan: &Scan, mut budget: usize) -> bool {
    let Some(segment) = scan.segment else {
        return false;
    };
    let next = scan
        .records
        .last()
        .map_or(segment.first_seq, |(seq, _)| seq + 1);
    let mut pos = scan.end + 1;
    while pos + RECORD_HEAD <= bytes.len() {
        // Most of a healthy segment's rest is zeros, and a record's head is not: its sequence
        // number is never 0. Skip to where the next non-zero byte could be in one.
        let Some(z) = bytes[pos..].iter().position(|b| *b != 0) else {
            return false;
        };
        pos = (pos + z).saturating_sub(RECORD_HEAD - 1).max(pos);
        let Some(head) = head_at(bytes, pos) else {
            return false;
        };
        if head.seq.wrapping_sub(next) < 1 << 32 && pos + RECORD_HEAD + head.len <= bytes.len() {
            let Some(left) = budget.checked_sub(head.len) else {
                return false;
            };
            budget = left;
            if head.payload(bytes, pos, segment.epoch).is_some() {
                return true;
            }
        }
        pos += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A segment image: the header, then the records, then zeros (the preallocated rest).
    fn image(segment: Segment, payloads: &[Vec<u8>], spare: usize) -> Vec<u8> {
        let mut bytes = vec![0u8; HEADER];
        bytes[..HEADER_USED].copy_from_slice(&header(segment));
        for (i, p) in payloads.iter().enumerate() {
            append_record(&mut bytes, segment.epoch, segment.first_seq + i as u64, p).unwrap();
        }
        bytes.resize(bytes.len() + spare, 0);
        bytes
    }

    #[test]
    fn records_read_back_in_order_and_the_end_is_after_the_last() {
        let segment = Segment {
            store: 0x5707e,
            epoch: 7,
            first_seq: 41,
        };
        let payloads = vec![b"one".to_vec(), Vec::new(), vec![9u8; 5000]];
        let bytes = image(segment, &payloads, 8192);
        let scan = scan(&bytes);
        assert_eq!(scan.segment, Some(segment));
        let got: Vec<_> = scan.records.iter().map(|(s, p)| (*s, p.to_vec())).collect();
        let want: Vec<_> = (41..).zip(payloads).collect();
        assert_eq!(got, want);
        assert_eq!(scan.end, bytes.len() - 8192);
    }

    #[test]
    fn a_missing_or_damaged_header_is_an_empty_log() {
        assert_eq!(scan(&[]).segment, None);
        assert_eq!(scan(&vec![0u8; 2 * HEADER]).segment, None);
        let segment = Segment {
            store: 0x5707e,
            epoch: 1,
            first_seq: 1,
        };
        let mut bytes = image(segment, &[b"x".to_vec()], 0);
        bytes[20] ^= 1;
        let scan = scan(&bytes);
        assert_eq!(
            (scan.segment, scan.records.len(), scan.end),
            (None, 0, HEADER)
        );
    }

    /// A recycled segment keeps the old epoch's bytes past what the new one wrote. Here a new
    /// record is exactly as long as two old ones, so the next position holds an old record that
    /// carries the very sequence number expected next: only the epoch in its CRC rejects it.
    #[test]
    fn a_recycled_segments_stale_record_is_not_read_even_with_the_expected_sequence() {
        let old = Segment {
            store: 0x5707e,
            epoch: 1,
            first_seq: 1,
        };
        let mut bytes = image(old, &[vec![1u8; 100], vec![2u8; 100], vec![3u8; 100]], 0);
        let new = Segment {
            store: 0x5707e,
            epoch: 2,
            first_seq: 2,
        };
        let mut fresh = Vec::new();
        append_record(&mut fresh, new.epoch, 2, &[4u8; 100 + RECORD_HEAD + 100]).unwrap();
        bytes[..HEADER_USED].copy_from_slice(&header(new));
        bytes[HEADER..HEADER + fresh.len()].copy_from_slice(&fresh);
        let old_third = HEADER + 2 * (RECORD_HEAD + 100);
        assert_eq!(
            HEADER + fresh.len(),
            old_third,
            "the stale record must line up"
        );
        let scan = scan(&bytes);
        assert_eq!(scan.records.len(), 1, "{:?}", scan.records);
        assert_eq!(scan.records[0].0, 2);
        assert_eq!(scan.end, old_third);
    }

    #[test]
    fn a_record_out_of_sequence_ends_the_log() {
        let segment = Segment {
            store: 0x5707e,
            epoch: 5,
            first_seq: 10,
        };
        let mut bytes = image(segment, &[b"ten".to_vec()], 0);
        let end = bytes.len();
        // Whole and with a valid CRC, but 12 where 11 is expected.
        append_record(&mut bytes, 5, 12, b"twelve").unwrap();
        let scan = scan(&bytes);
        assert_eq!(scan.records, vec![(10, &b"ten"[..])]);
        assert_eq!(scan.end, end);
    }

    #[test]
    fn the_last_sequence_number_ends_the_log_without_overflow() {
        let segment = Segment {
            store: 0x5707e,
            epoch: 3,
            first_seq: u64::MAX,
        };
        let mut bytes = image(segment, &[b"last".to_vec()], 0);
        // A record after it could only carry a sequence past u64::MAX.
        append_record(&mut bytes, 3, 0, b"wrapped").unwrap();
        let scan = scan(&bytes);
        assert_eq!(scan.records, vec![(u64::MAX, &b"last"[..])]);
    }

    #[test]
    fn a_record_over_the_limit_is_refused() {
        let mut out = Vec::new();
        assert!(append_record(&mut out, 1, 1, &vec![0u8; MAX_PAYLOAD + 1]).is_err());
        assert!(out.is_empty());
    }

    proptest! {
        /// Whatever the damage (a cut anywhere, bytes flipped anywhere), reading never panics,
        /// returns only records that were written, each whole and in order, and returns every
        /// record that lies entirely before the first damaged byte.
        #[test]
        fn truncation_and_corruption_yield_a_whole_prefix(
            payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..8),
            store in any::<u128>(),
            epoch in any::<u64>(),
            first_seq in 0u64..u64::MAX / 2,
            cut in any::<prop::sample::Index>(),
            flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 0..4),
        ) {
            let segment = Segment { store, epoch, first_seq };
            let mut bytes = image(segment, &payloads, 64);
            let len = cut.index(bytes.len() + 1);
            bytes.truncate(len);
            let whole = bytes.clone();
            if !bytes.is_empty() {
                for (at, x) in &flips {
                    let at = at.index(bytes.len());
                    bytes[at] ^= x;
                }
            }
            // The header's unused bytes are not read, so damage there does not count.
            let first_damage = (0..len)
                .find(|&i| bytes[i] != whole[i] && !(HEADER_USED..HEADER).contains(&i))
                .unwrap_or(len);
            let scan = scan(&bytes);
            let mut whole_before_damage = 0;
            let mut end = HEADER;
            for p in &payloads {
                end += RECORD_HEAD + p.len();
                if end <= first_damage {
                    whole_before_damage += 1;
                }
            }
            if first_damage < HEADER_USED {
                prop_assert_eq!(scan.segment, None);
                prop_assert!(scan.records.is_empty());
            } else {
                prop_assert_eq!(scan.segment, Some(segment));
                prop_assert!(scan.records.len() >= whole_before_damage);
            }
            prop_assert!(scan.records.len() <= payloads.len());
            for (i, (seq, p)) in scan.records.iter().enumerate() {
                prop_assert_eq!(*seq, first_seq + i as u64);
                prop_assert_eq!(*p, payloads[i].as_slice());
            }
            prop_assert!(scan.end <= bytes.len().max(HEADER));
        }
    }

    /// A sender's body made of record heads that each claim much of the file (the hostile
    /// probe's restart took 196 s over one 500 KB body of them): the search for records past
    /// the end stops after its CRC budget, even before a valid record it would have found.
    #[test]
    fn crafted_heads_past_the_end_cost_a_bounded_search() {
        let segment = Segment {
            store: 1,
            epoch: 9,
            first_seq: 1,
        };
        let mut bytes = image(segment, &[vec![1u8; 10]], 0);
        let scan_end = bytes.len();
        // Damage, then fake heads claiming 4 KiB each with the next sequence number, then a
        // valid record of the segment.
        bytes.push(0xff);
        let fake_len = 4096u32;
        for _ in 0..64 {
            bytes.extend_from_slice(&fake_len.to_le_bytes());
            bytes.extend_from_slice(&0u32.to_le_bytes());
            bytes.extend_from_slice(&2u64.to_le_bytes());
        }
        append_record(&mut bytes, segment.epoch, 3, &[7u8; 8]).unwrap();
        bytes.extend_from_slice(&[0u8; 8192]);
        let scan = scan(&bytes);
        assert_eq!(scan.end, scan_end);
        // With room for every fake, the valid record is found...
        assert!(records_past_end_within(&bytes, &scan, usize::MAX));
        // ...within a budget of a few of them, it is not: the work stops.
        assert!(!records_past_end_within(&bytes, &scan, 4 * 4096));
    }
}
