//! Byte-level building blocks of the metrics WAL records and block files:
//! LEB128 varints, zigzag, little-endian floats, and a reader that never
//! reads past its slice.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("metric data is truncated or corrupt: {0}")]
pub struct CodecError(pub &'static str);

pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

pub fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

pub fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

pub fn put_signed(out: &mut Vec<u8>, value: i64) {
    put_varint(out, zigzag(value));
}

pub fn put_f64(out: &mut Vec<u8>, value: f64) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Reads from a byte slice front to back.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn remaining(&self) -> &'a [u8] {
        self.bytes
    }

    pub fn u8(&mut self) -> Result<u8, CodecError> {
        let (&first, rest) = self.bytes.split_first().ok_or(CodecError("expected a byte"))?;
        self.bytes = rest;
        Ok(first)
    }

    pub fn varint(&mut self) -> Result<u64, CodecError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(CodecError("varint longer than 10 bytes"))
    }

    pub fn signed(&mut self) -> Result<i64, CodecError> {
        self.varint().map(unzigzag)
    }

    pub fn f64(&mut self) -> Result<f64, CodecError> {
        Ok(f64::from_le_bytes(self.array::<8>()?))
    }

    pub fn u32_le(&mut self) -> Result<u32, CodecError> {
        Ok(u32::from_le_bytes(self.array::<4>()?))
    }

    pub fn u64_le(&mut self) -> Result<u64, CodecError> {
        Ok(u64::from_le_bytes(self.array::<8>()?))
    }

    pub fn bytes(&mut self, len: usize) -> Result<&'a [u8], CodecError> {
        if self.bytes.len() < len {
            return Err(CodecError("a length points past the end"));
        }
        let (taken, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(taken)
    }

    /// A count that must fit in the remaining bytes at `min_bytes_each`
    /// (so a corrupt count cannot make the caller allocate without bound).
    pub fn count(&mut self, min_bytes_each: usize) -> Result<usize, CodecError> {
        let count = usize::try_from(self.varint()?).map_err(|_| CodecError("count too large"))?;
        if count.saturating_mul(min_bytes_each.max(1)) > self.bytes.len() {
            return Err(CodecError("a count is larger than the data"));
        }
        Ok(count)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let taken = self.bytes(N)?;
        let mut array = [0u8; N];
        array.copy_from_slice(taken);
        Ok(array)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_zigzag_round_trip() {
        let mut out = Vec::new();
        let values = [0i64, 1, -1, 63, -64, 1 << 40, i64::MIN, i64::MAX];
        for value in values {
            put_signed(&mut out, value);
        }
        let mut reader = Reader::new(&out);
        for value in values {
            assert_eq!(reader.signed(), Ok(value));
        }
        assert!(reader.is_empty());
        assert!(reader.u8().is_err());
    }

    #[test]
    fn counts_cannot_exceed_the_data() {
        let mut out = Vec::new();
        put_varint(&mut out, 1_000_000);
        out.extend_from_slice(&[0; 10]);
        assert!(Reader::new(&out).count(1).is_err());
    }
}
