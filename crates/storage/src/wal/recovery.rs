//! Opening a WAL directory: list the segments, verify and replay every
//! record, and repair the tail so appends can continue.
//!
//! Rules (see `README.md` beside this file):
//! * The last segment may end in a torn or corrupt record (a crash during a
//!   write): it is truncated to its last intact record with a warning. A last
//!   segment left with no intact record is deleted.
//! * Damage inside an older segment is logged at error level; the rest of that
//!   segment is skipped and replay goes on with the next segment.
//! * A record is replayed at most once and in strictly increasing LSN order.
//! * Any file content is survivable: lengths are checked against the file
//!   size and [`MAX_PAYLOAD_BYTES`] before anything is allocated.
//!
//! Only real I/O failures (and a segment written by a newer format) are
//! errors; corruption never is.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use tracing::{error, info, warn};

use super::format::{
    self, MAX_PAYLOAD_BYTES, RECORD_HEADER_LEN, RecordHeader, SEGMENT_HEADER_LEN,
    SegmentHeaderError,
};
use super::{Lsn, WalError};

/// A segment file that is part of the log.
#[derive(Debug, Clone)]
pub(crate) struct SegmentInfo {
    pub first_lsn: Lsn,
    pub path: PathBuf,
    /// Size in bytes. Exact for closed segments; the writer tracks the active
    /// segment's size itself.
    pub len: u64,
}

/// The last segment, intact and ready for more appends.
#[derive(Debug)]
pub(crate) struct ReusableTail {
    pub file: File,
    pub first_lsn: Lsn,
    pub len: u64,
    pub last_lsn: Lsn,
}

/// What `recover` found.
#[derive(Debug)]
pub(crate) struct Recovered {
    /// Live segments in LSN order, including `tail`'s.
    pub segments: Vec<SegmentInfo>,
    /// The last segment if appends can continue in it.
    pub tail: Option<ReusableTail>,
    /// The LSN the next append gets.
    pub next_lsn: Lsn,
    /// Records handed to the replay callback.
    pub replayed: u64,
}

/// Why scanning a segment stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// End of file exactly after a record.
    Clean,
    /// Damaged or incomplete data at `offset`.
    Damaged { offset: u64, reason: &'static str },
    /// Zero-filled space at `offset`: unused preallocated space (or, rarely,
    /// a torn write the file system zero-filled).
    Zeroes { offset: u64 },
}

#[derive(Debug)]
struct Scan {
    /// Bytes from the start of the file up to the end of the last intact record
    /// (0 if even the segment header is unusable).
    valid_len: u64,
    file_len: u64,
    records: u64,
    last_lsn: Option<Lsn>,
    stop: Stop,
    /// The segment header is damaged but non-zero bytes follow it, so the
    /// file may hold records nobody can read any more.
    data_behind_bad_header: bool,
}

/// Lists, verifies, replays and repairs the segments in `dir`.
///
/// `sync` says whether repairs (truncations, deletions) are fsynced.
pub(crate) fn recover(
    dir: &Path,
    from_lsn: Lsn,
    sync: bool,
    replay: &mut dyn FnMut(Lsn, &[u8]),
) -> Result<Recovered, WalError> {
    let mut segments = list_segments(dir)?;
    let mut highest_lsn: Lsn = 0;
    let mut replayed: u64 = 0;
    let mut payload_buf = Vec::new();
    let mut tail = None;
    let mut removed_last = None;

    let segment_count = segments.len();
    let mut index = 0;
    while index < segments.len() {
        let is_last = index + 1 == segment_count;
        let Some(segment) = segments.get(index) else {
            break;
        };
        let next_first_lsn = segments.get(index + 1).map(|next| next.first_lsn);

        // Every record of this segment is below the next segment's first LSN:
        // if that is still below `from_lsn`, nothing here would be replayed.
        if let Some(next_first) = next_first_lsn
            && next_first <= from_lsn
        {
            index += 1;
            continue;
        }

        let path = segment.path.clone();
        let first_lsn = segment.first_lsn;
        let mut on_record = |lsn: Lsn, payload: &[u8]| {
            if lsn <= highest_lsn {
                warn!(segment = %path.display(), lsn, highest_lsn, "skipping wal record already replayed from an earlier segment");
                return;
            }
            highest_lsn = lsn;
            if lsn >= from_lsn {
                replay(lsn, payload);
                replayed += 1;
            }
        };
        let scan = scan_segment(&path, first_lsn, &mut on_record, &mut payload_buf)?;

        if let Stop::Zeroes { offset } = scan.stop {
            let discarded = scan.file_len.saturating_sub(scan.valid_len);
            if is_last {
                info!(segment = %path.display(), offset, trimmed_bytes = discarded, "trimming zero-filled space after the last wal record");
            } else {
                error!(
                    segment = %path.display(), offset, skipped_bytes = discarded, intact_records = scan.records,
                    "corrupt wal segment: zero-filled space inside it; records after it are lost"
                );
            }
        }
        if let Stop::Damaged { offset, reason } = scan.stop {
            let discarded = scan.file_len.saturating_sub(scan.valid_len);
            if is_last {
                warn!(
                    segment = %path.display(), offset, reason, discarded_bytes = discarded, intact_records = scan.records,
                    "truncating torn or corrupt tail of the last wal segment"
                );
            } else {
                error!(
                    segment = %path.display(), offset, reason, skipped_bytes = discarded, intact_records = scan.records,
                    "corrupt wal segment: skipping the rest of it; records after the damage are lost"
                );
            }
        }

        if is_last {
            if scan.records == 0 {
                // Nothing intact: normally a crash right after creating it
                // (short or all-zero header). A damaged header in front of
                // data may hide records: keep the file for inspection.
                if scan.data_behind_bad_header {
                    let quarantine = path.with_extension("wal.corrupt");
                    error!(
                        segment = %path.display(), moved_to = %quarantine.display(),
                        "the last wal segment has a damaged header; moving it aside"
                    );
                    fs::rename(&path, &quarantine).map_err(|e| {
                        WalError::io(format!("moving aside `{}`", path.display()), e)
                    })?;
                    // It can hold at most one record per header's worth of
                    // bytes: skip past all LSNs it might have used.
                    let most_records = scan.file_len / RECORD_HEADER_LEN as u64;
                    removed_last = Some(first_lsn.saturating_add(most_records));
                } else {
                    remove_file_if_exists(&path)?;
                    removed_last = Some(first_lsn);
                }
                if sync {
                    sync_dir(dir)?;
                }
                segments.remove(index);
                break;
            }
            let file = OpenOptions::new().write(true).open(&path).map_err(|e| {
                WalError::io(
                    format!("opening wal segment `{}` for append", path.display()),
                    e,
                )
            })?;
            if scan.valid_len != scan.file_len {
                file.set_len(scan.valid_len).map_err(|e| {
                    WalError::io(format!("truncating wal segment `{}`", path.display()), e)
                })?;
                if sync {
                    file.sync_all().map_err(|e| {
                        WalError::io(format!("syncing wal segment `{}`", path.display()), e)
                    })?;
                }
            }
            if let Some(segment) = segments.get_mut(index) {
                segment.len = scan.valid_len;
            }
            if let Some(last_lsn) = scan.last_lsn {
                tail = Some(ReusableTail {
                    file,
                    first_lsn,
                    len: scan.valid_len,
                    last_lsn,
                });
            }
        } else if let Some(segment) = segments.get_mut(index) {
            segment.len = scan.file_len;
        }
        index += 1;
    }

    // Never reuse an LSN that a segment name already claimed, even if its
    // records were skipped (from_lsn) or lost.
    let named_floor = segments
        .last()
        .map(|s| s.first_lsn)
        .into_iter()
        .chain(removed_last)
        .max()
        .unwrap_or(1);
    let next_lsn = highest_lsn.saturating_add(1).max(named_floor).max(1);
    let tail = tail.filter(|t| t.last_lsn.saturating_add(1) == next_lsn);

    if !segments.is_empty() {
        info!(
            dir = %dir.display(), segments = segments.len(), replayed, next_lsn, "recovered write-ahead log"
        );
    }
    Ok(Recovered {
        segments,
        tail,
        next_lsn,
        replayed,
    })
}

/// Segment files in `dir`, sorted by first LSN. Other files are ignored.
fn list_segments(dir: &Path) -> Result<Vec<SegmentInfo>, WalError> {
    let entries = fs::read_dir(dir)
        .map_err(|e| WalError::io(format!("listing wal directory `{}`", dir.display()), e))?;
    let mut segments = Vec::new();
    for entry in entries {
        let entry = entry
            .map_err(|e| WalError::io(format!("listing wal directory `{}`", dir.display()), e))?;
        let name = entry.file_name();
        let Some(first_lsn) = name.to_str().and_then(format::parse_segment_file_name) else {
            continue;
        };
        let file_type = entry
            .file_type()
            .map_err(|e| WalError::io(format!("inspecting `{}`", entry.path().display()), e))?;
        if !file_type.is_file() {
            warn!(path = %entry.path().display(), "ignoring non-file entry named like a wal segment");
            continue;
        }
        // Segments that replay skips keep this size; scanned ones are updated.
        let len = entry
            .metadata()
            .map_err(|e| WalError::io(format!("inspecting `{}`", entry.path().display()), e))?
            .len();
        segments.push(SegmentInfo {
            first_lsn,
            path: entry.path(),
            len,
        });
    }
    segments.sort_by_key(|s| s.first_lsn);
    Ok(segments)
}

/// Reads one segment, calling `on_record` for each intact record, and stops
/// at the first damaged one.
fn scan_segment(
    path: &Path,
    name_lsn: Lsn,
    on_record: &mut dyn FnMut(Lsn, &[u8]),
    payload_buf: &mut Vec<u8>,
) -> Result<Scan, WalError> {
    let read_error = |e| WalError::io(format!("reading wal segment `{}`", path.display()), e);
    let file = File::open(path).map_err(read_error)?;
    let file_len = file.metadata().map_err(read_error)?.len();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut scan = Scan {
        valid_len: 0,
        file_len,
        records: 0,
        last_lsn: None,
        stop: Stop::Clean,
        data_behind_bad_header: false,
    };

    let mut segment_header = [0u8; SEGMENT_HEADER_LEN];
    let header_read = read_full(&mut reader, &mut segment_header).map_err(read_error)?;
    if segment_header.iter().all(|&b| b == 0) {
        scan.stop = Stop::Zeroes { offset: 0 };
        return Ok(scan);
    }
    if header_read < SEGMENT_HEADER_LEN {
        scan.stop = Stop::Damaged {
            offset: 0,
            reason: "segment header is incomplete",
        };
        return Ok(scan);
    }
    match format::decode_segment_header(&segment_header) {
        Ok(header_lsn) if header_lsn == name_lsn => {}
        Ok(_) => {
            scan.stop = Stop::Damaged {
                offset: 0,
                reason: "segment header lsn does not match the file name",
            };
            scan.data_behind_bad_header = non_zero_bytes_follow(&mut reader).map_err(read_error)?;
            return Ok(scan);
        }
        Err(SegmentHeaderError::Corrupt(reason)) => {
            scan.stop = Stop::Damaged { offset: 0, reason };
            scan.data_behind_bad_header = non_zero_bytes_follow(&mut reader).map_err(read_error)?;
            return Ok(scan);
        }
        Err(SegmentHeaderError::UnsupportedVersion(version)) => {
            return Err(WalError::UnsupportedVersion {
                path: path.to_path_buf(),
                version,
                supported: format::FORMAT_VERSION,
            });
        }
    }

    let mut offset = SEGMENT_HEADER_LEN as u64;
    scan.valid_len = offset;
    let mut expected_lsn = name_lsn;
    loop {
        let mut record_header = [0u8; RECORD_HEADER_LEN];
        let header_read = read_full(&mut reader, &mut record_header).map_err(read_error)?;
        if header_read == 0 {
            break;
        }
        if record_header.iter().all(|&b| b == 0) {
            scan.stop = Stop::Zeroes { offset };
            break;
        }
        if header_read < RECORD_HEADER_LEN {
            scan.stop = Stop::Damaged {
                offset,
                reason: "record header is incomplete",
            };
            break;
        }
        let header = RecordHeader::decode(&record_header);
        let payload_len = header.payload_len as usize;
        let bytes_after_header = file_len.saturating_sub(offset + RECORD_HEADER_LEN as u64);
        if payload_len > MAX_PAYLOAD_BYTES {
            scan.stop = Stop::Damaged {
                offset,
                reason: "record length exceeds the maximum payload size",
            };
            break;
        }
        if header.payload_len as u64 > bytes_after_header {
            scan.stop = Stop::Damaged {
                offset,
                reason: "record extends past the end of the file",
            };
            break;
        }
        payload_buf.clear();
        payload_buf.resize(payload_len, 0);
        let payload_read = read_full(&mut reader, payload_buf).map_err(read_error)?;
        if payload_read < payload_len {
            scan.stop = Stop::Damaged {
                offset,
                reason: "record payload is incomplete",
            };
            break;
        }
        if !header.checksum_matches(&record_header, payload_buf) {
            scan.stop = Stop::Damaged {
                offset,
                reason: "record checksum mismatch",
            };
            break;
        }
        if header.lsn != expected_lsn {
            scan.stop = Stop::Damaged {
                offset,
                reason: "record lsn is out of sequence",
            };
            break;
        }
        on_record(header.lsn, payload_buf);
        offset += format::record_len(payload_len);
        scan.valid_len = offset;
        scan.records += 1;
        scan.last_lsn = Some(header.lsn);
        expected_lsn = header.lsn.saturating_add(1);
    }
    Ok(scan)
}

/// Whether the next record header's worth of bytes holds anything but zeros.
fn non_zero_bytes_follow(reader: &mut impl Read) -> io::Result<bool> {
    let mut first_record_header = [0u8; RECORD_HEADER_LEN];
    read_full(reader, &mut first_record_header)?;
    Ok(first_record_header.iter().any(|&b| b != 0))
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..) {
        if rest.is_empty() {
            break;
        }
        match reader.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

pub(crate) fn remove_file_if_exists(path: &Path) -> Result<(), WalError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(WalError::io(
            format!("deleting wal segment `{}`", path.display()),
            e,
        )),
    }
}

/// Makes file creations and deletions in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), WalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| WalError::io(format!("syncing wal directory `{}`", dir.display()), e))
}
