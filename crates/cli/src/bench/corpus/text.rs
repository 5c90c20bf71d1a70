//! The generator's building blocks: a small seeded random source and
//! allocation-free writers for the numbers, hex ids, UUIDs and timestamps log
//! lines are made of. Everything appends to a `Vec<u8>` of ASCII text.

/// SplitMix64 (Steele, Lea, Flood 2014): a few arithmetic operations per
/// number, reproducible on every machine, and more than random enough for log
/// lines. Each chunk of the corpus gets its own, seeded from the corpus seed
/// and the chunk number, so chunks can be generated in parallel and the
/// result does not depend on the thread count.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        // One round of mixing, so seeds 1, 2, 3 … start far apart.
        let mut rng = Self(seed);
        rng.0 = rng.next_u64();
        rng
    }

    /// A generator for one of `seed`'s independent sub-streams.
    pub fn derive(seed: u64, stream: u64) -> Self {
        Self::new(seed ^ stream.wrapping_mul(0xd1b5_4a32_d192_ed03))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^ (mixed >> 31)
    }

    /// Uniform in `0..bound` (Lemire's multiply-shift; `bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        debug_assert!(bound > 0);
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// Uniform in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        debug_assert!(low <= high);
        low + self.below(high - low + 1)
    }

    /// True with probability `per_million` / 1,000,000.
    pub fn chance(&mut self, per_million: u64) -> bool {
        self.below(1_000_000) < per_million
    }

    /// One element of a non-empty slice.
    pub fn pick<T: Copy>(&mut self, choices: &[T]) -> T {
        let index = self.below(choices.len() as u64) as usize;
        *choices
            .get(index)
            .or(choices.last())
            .expect("choices are never empty")
    }

    /// An element of `(weight, value)` pairs, with probability weight / sum.
    pub fn weighted<T: Copy>(&mut self, choices: &[(u32, T)]) -> T {
        let total: u64 = choices.iter().map(|(weight, _)| u64::from(*weight)).sum();
        let mut ticket = self.below(total.max(1));
        for (weight, value) in choices {
            if ticket < u64::from(*weight) {
                return *value;
            }
            ticket -= u64::from(*weight);
        }
        choices.last().expect("choices are never empty").1
    }

    /// Roughly log-uniform in `low..=high`: many small values, a long tail,
    /// as latencies and sizes are.
    pub fn log_uniform(&mut self, low: u64, high: u64) -> u64 {
        debug_assert!(0 < low && low <= high);
        let (low_log, high_log) = ((low as f64).ln(), (high as f64).ln());
        let unit = self.next_u64() as f64 / u64::MAX as f64;
        ((low_log + unit * (high_log - low_log)).exp() as u64).clamp(low, high)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

pub fn push_str(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(text.as_bytes());
}

/// Decimal digits of `value`.
pub fn push_u64(out: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        if let Some(slot) = digits.get_mut(start) {
            *slot = b'0' + (value % 10) as u8;
        }
        value /= 10;
        if value == 0 || start == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(start..).unwrap_or_default());
}

/// `value` in exactly `width` decimal digits, zero-padded (the low digits
/// when it has more).
pub fn push_padded(out: &mut Vec<u8>, mut value: u64, width: usize) {
    let at = out.len();
    out.resize(at + width, b'0');
    if let Some(field) = out.get_mut(at..) {
        for slot in field.iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
}

/// The low `digits` hex digits of `value`, lowercase, zero-padded.
pub fn push_hex(out: &mut Vec<u8>, value: u64, digits: usize) {
    debug_assert!(digits <= 16);
    let mut text = [0u8; 16];
    for (index, slot) in text.iter_mut().enumerate() {
        let nibble = (value >> ((15 - index) * 4)) & 0xf;
        *slot = HEX.get(nibble as usize).copied().unwrap_or(b'0');
    }
    out.extend_from_slice(text.get(16 - digits.min(16)..).unwrap_or_default());
}

/// `seconds.mmm` from milliseconds (nginx's `request_time`, ALB's processing times).
pub fn push_seconds_millis(out: &mut Vec<u8>, millis: u64) {
    push_u64(out, millis / 1000);
    out.push(b'.');
    push_padded(out, millis % 1000, 3);
}

/// A random version-4 UUID, `8-4-4-4-12` lowercase hex.
pub fn push_uuid(out: &mut Vec<u8>, rng: &mut Rng) {
    let high = rng.next_u64();
    let low = rng.next_u64();
    push_uuid_from(out, high, low);
}

pub fn push_uuid_from(out: &mut Vec<u8>, high: u64, low: u64) {
    let high = (high & !0xf000) | 0x4000; // version 4
    let low = (low & !(0b11 << 62)) | (0b10 << 62); // RFC 4122 variant
    push_hex(out, high >> 32, 8);
    out.push(b'-');
    push_hex(out, high >> 16, 4);
    out.push(b'-');
    push_hex(out, high, 4);
    out.push(b'-');
    push_hex(out, low >> 48, 4);
    out.push(b'-');
    push_hex(out, low, 12);
}

/// 32 random hex digits (a W3C trace id).
pub fn push_hex128(out: &mut Vec<u8>, rng: &mut Rng) {
    push_hex(out, rng.next_u64(), 16);
    push_hex(out, rng.next_u64(), 16);
}

/// A private IPv4 address in 10.0.0.0/16.
pub fn push_private_ip(out: &mut Vec<u8>, rng: &mut Rng) {
    push_str(out, "10.0.");
    push_u64(out, rng.below(8));
    out.push(b'.');
    push_u64(out, rng.between(2, 254));
}

/// A public-looking client address.
pub fn push_client_ip(out: &mut Vec<u8>, rng: &mut Rng) {
    const PREFIXES: [&str; 6] = [
        "203.0.113.",
        "198.51.100.",
        "192.0.2.",
        "81.169.",
        "93.184.",
        "145.239.",
    ];
    let prefix = rng.pick(&PREFIXES);
    push_str(out, prefix);
    if prefix.matches('.').count() == 2 {
        push_u64(out, rng.below(256));
        out.push(b'.');
    }
    push_u64(out, rng.between(1, 254));
}

/// A UTC calendar time, from Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: u64,
    pub month: u64,
    pub day: u64,
    pub hour: u64,
    pub minute: u64,
    pub second: u64,
    pub milli: u64,
}

impl Civil {
    /// Howard Hinnant's `civil_from_days` (valid for dates after 1970).
    pub fn from_unix_millis(millis: i64) -> Self {
        let millis = millis.max(0) as u64;
        let days = millis / 86_400_000;
        let in_day = millis % 86_400_000;
        let shifted = days + 719_468;
        let era = shifted / 146_097;
        let day_of_era = shifted - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_index = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_index + 2) / 5 + 1;
        let month = if month_index < 10 {
            month_index + 3
        } else {
            month_index - 9
        };
        let year = year_of_era + era * 400 + u64::from(month <= 2);
        Self {
            year,
            month,
            day,
            hour: in_day / 3_600_000,
            minute: in_day / 60_000 % 60,
            second: in_day / 1_000 % 60,
            milli: in_day % 1_000,
        }
    }

    /// `YYYY-MM-DD<separator>HH:MM:SS`
    fn push_date_time(&self, out: &mut Vec<u8>, separator: u8) {
        push_padded(out, self.year, 4);
        out.push(b'-');
        push_padded(out, self.month, 2);
        out.push(b'-');
        push_padded(out, self.day, 2);
        out.push(separator);
        push_padded(out, self.hour, 2);
        out.push(b':');
        push_padded(out, self.minute, 2);
        out.push(b':');
        push_padded(out, self.second, 2);
    }

    /// `2026-11-10T12:00:00.123Z`
    pub fn push_iso_millis(&self, out: &mut Vec<u8>) {
        self.push_date_time(out, b'T');
        out.push(b'.');
        push_padded(out, self.milli, 3);
        out.push(b'Z');
    }

    /// `2026-11-10T12:00:00.123456Z` (ALB), `micros` the digits after the millis.
    pub fn push_iso_micros(&self, out: &mut Vec<u8>, micros: u64) {
        self.push_date_time(out, b'T');
        out.push(b'.');
        push_padded(out, self.milli, 3);
        push_padded(out, micros, 3);
        out.push(b'Z');
    }

    /// `2026-11-10T12:00:00+00:00` (nginx's `$time_iso8601`)
    pub fn push_iso_offset(&self, out: &mut Vec<u8>) {
        self.push_date_time(out, b'T');
        push_str(out, "+00:00");
    }

    /// `2026-11-10 12:00:00<mark>123` (logback uses `.`, Quarkus/Keycloak `,`)
    pub fn push_spaced(&self, out: &mut Vec<u8>, mark: u8) {
        self.push_date_time(out, b' ');
        out.push(mark);
        push_padded(out, self.milli, 3);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(write: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        write(&mut out);
        String::from_utf8(out).expect("ASCII")
    }

    #[test]
    fn writes_numbers() {
        assert_eq!(text(|out| push_u64(out, 0)), "0");
        assert_eq!(text(|out| push_u64(out, u64::MAX)), u64::MAX.to_string());
        assert_eq!(text(|out| push_padded(out, 7, 3)), "007");
        assert_eq!(text(|out| push_hex(out, 0xabc, 6)), "000abc");
        assert_eq!(text(|out| push_seconds_millis(out, 1_042)), "1.042");
    }

    #[test]
    fn writes_v4_uuids() {
        let uuid = text(|out| push_uuid_from(out, u64::MAX, 0));
        assert_eq!(uuid, "ffffffff-ffff-4fff-8000-000000000000");
        let lengths: Vec<usize> = uuid.split('-').map(str::len).collect();
        assert_eq!(lengths, [8, 4, 4, 4, 12]);
    }

    #[test]
    fn formats_utc_times_like_jiff() {
        let mut rng = Rng::new(7);
        for _ in 0..1_000 {
            let millis = rng.between(0, 4_102_444_800_000) as i64;
            let expected = jiff::Timestamp::from_millisecond(millis)
                .expect("in range")
                .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string();
            assert_eq!(
                text(|out| Civil::from_unix_millis(millis).push_iso_millis(out)),
                expected
            );
        }
    }

    #[test]
    fn random_draws_stay_in_range() {
        let mut rng = Rng::new(1);
        for _ in 0..10_000 {
            assert!(rng.below(10) < 10);
            assert!((5..=9).contains(&rng.between(5, 9)));
            assert!((3..=5_000).contains(&rng.log_uniform(3, 5_000)));
        }
        assert_eq!(Rng::new(42).next_u64(), Rng::new(42).next_u64());
        assert_ne!(Rng::derive(42, 1).next_u64(), Rng::derive(42, 2).next_u64());
    }
}
