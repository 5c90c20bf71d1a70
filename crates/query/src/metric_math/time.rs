//! Calendar arithmetic in UTC for MINUTE, HOUR, DAY, DATE, MONTH and YEAR,
//! and the period grid that non-sparse results (FILL, TIME_SERIES, the
//! date functions) are laid on.
//!
//! The grid holds every multiple of the period (counted from the Unix epoch,
//! as CloudWatch aligns datapoints) in `[start, end)`.

use super::error::{MAX_GRID_POINTS, MathError};

/// The timestamps of a non-sparse series with `period` over `[start, end)`.
pub(crate) fn grid(period: i64, (start, end): (i64, i64), position: usize) -> Result<Vec<i64>, MathError> {
    if period <= 0 {
        return Err(MathError::argument(position, format!("the period must be a positive number of seconds, not {period}")));
    }
    // i128: hostile time ranges near i64's limits must not overflow.
    let (period_wide, start_wide, end_wide) = (i128::from(period), i128::from(start), i128::from(end));
    let first = start_wide.div_euclid(period_wide) * period_wide + if start_wide.rem_euclid(period_wide) == 0 { 0 } else { period_wide };
    if end_wide <= first {
        return Ok(Vec::new());
    }
    let count = (end_wide - first - 1) / period_wide + 1;
    if usize::try_from(count).map_or(true, |count| count > MAX_GRID_POINTS) {
        return Err(MathError::argument(
            position,
            format!("the time range holds {count} periods of {period} seconds; at most {MAX_GRID_POINTS} datapoints can be generated"),
        ));
    }
    let first = i64::try_from(first).map_err(|_| MathError::argument(position, "the time range is out of bounds"))?;
    let count = i64::try_from(count).unwrap_or(0);
    Ok((0..count).map(|step| first + step * period).collect())
}

/// `(year, month 1–12, day 1–31)` of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The date functions, by name; `None` for any other name.
pub(crate) fn date_part(name: &str) -> Option<fn(i64) -> f64> {
    let part: fn(i64) -> f64 = match name {
        "MINUTE" => |t| (t.rem_euclid(3600) / 60) as f64,
        "HOUR" => |t| (t.rem_euclid(86_400) / 3600) as f64,
        // ISO weekday: 1 = Monday … 7 = Sunday; 1970-01-01 was a Thursday.
        "DAY" => |t| ((t.div_euclid(86_400) + 3).rem_euclid(7) + 1) as f64,
        "DATE" => |t| civil_from_days(t.div_euclid(86_400)).2 as f64,
        "MONTH" => |t| civil_from_days(t.div_euclid(86_400)).1 as f64,
        "YEAR" => |t| civil_from_days(t.div_euclid(86_400)).0 as f64,
        "EPOCH" => |t| t as f64,
        _ => return None,
    };
    Some(part)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_parts() {
        // 2024-02-29T13:45:00Z, a Thursday.
        let t = 1_709_214_300;
        let part = |name: &str| date_part(name).map(|f| f(t));
        assert_eq!(part("MINUTE"), Some(45.0));
        assert_eq!(part("HOUR"), Some(13.0));
        assert_eq!(part("DAY"), Some(4.0));
        assert_eq!(part("DATE"), Some(29.0));
        assert_eq!(part("MONTH"), Some(2.0));
        assert_eq!(part("YEAR"), Some(2024.0));
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        // 2024-06-02 was a Sunday, 2024-06-03 a Monday.
        assert_eq!(date_part("DAY").map(|f| f(1_717_286_400)), Some(7.0));
        assert_eq!(date_part("DAY").map(|f| f(1_717_372_800)), Some(1.0));
    }

    #[test]
    fn grid_is_epoch_aligned_and_half_open() {
        assert_eq!(grid(60, (0, 180), 1).expect("grid"), [0, 60, 120]);
        assert_eq!(grid(60, (30, 181), 1).expect("grid"), [60, 120, 180]);
        assert_eq!(grid(60, (-90, 0), 1).expect("grid"), [-60]);
        assert!(grid(60, (100, 100), 1).expect("grid").is_empty());
        assert!(grid(0, (0, 100), 1).is_err());
        assert!(grid(1, (0, i64::MAX), 1).is_err());
    }
}
