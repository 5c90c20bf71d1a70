//! The two timestamp formats SigV4 requests carry, parsed without panicking:
//! `X-Amz-Date` (ISO 8601 basic, `20130524T000000Z`) and the HTTP `Date`
//! header (RFC 1123 / RFC 2822, `Fri, 24 May 2013 00:00:00 GMT`; botocore
//! writes the zone as `-0000`). Everything is Unix seconds in UTC.

use std::time::SystemTime;

/// Seconds since the Unix epoch for `now`; times before 1970 clamp to 0
/// (a real clock never reads that).
pub(crate) fn unix_seconds(now: SystemTime) -> i64 {
    match now.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(elapsed) => i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// Parses `YYYYMMDD'T'HHMMSS'Z'` exactly (16 characters).
pub(crate) fn parse_amz_date(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 16 || bytes.get(8) != Some(&b'T') || bytes.get(15) != Some(&b'Z') {
        return None;
    }
    let year = digits(text, 0, 4)?;
    let month = digits(text, 4, 6)?;
    let day = digits(text, 6, 8)?;
    let hour = digits(text, 9, 11)?;
    let minute = digits(text, 11, 13)?;
    let second = digits(text, 13, 15)?;
    to_unix(year, month, day, hour, minute, second)
}

/// Parses an HTTP date: `[Day,] DD Mon YYYY HH:MM:SS ZONE` where ZONE is
/// `GMT`, `UT`, `UTC`, `Z` or a numeric `+HHMM`/`-HHMM` offset.
pub(crate) fn parse_http_date(text: &str) -> Option<i64> {
    let mut fields: Vec<&str> = text.split_whitespace().collect();
    if fields.first().is_some_and(|first| first.ends_with(',')) {
        fields.remove(0);
    }
    let [day, month, year, clock, zone] = fields.as_slice() else {
        return None;
    };
    let day = digits(day, 0, day.len()).filter(|_| (1..=2).contains(&day.len()))?;
    let month = month_number(month)?;
    let year = digits(year, 0, 4).filter(|_| year.len() == 4)?;
    let mut clock_parts = clock.split(':');
    let (Some(hour), Some(minute), Some(second), None) = (
        clock_parts.next(),
        clock_parts.next(),
        clock_parts.next(),
        clock_parts.next(),
    ) else {
        return None;
    };
    let two_digits = |field: &str| digits(field, 0, 2).filter(|_| field.len() == 2);
    let local = to_unix(
        year,
        month,
        day,
        two_digits(hour)?,
        two_digits(minute)?,
        two_digits(second)?,
    )?;
    Some(local - zone_offset_seconds(zone)?)
}

/// Formats Unix seconds as `YYYYMMDD'T'HHMMSS'Z'`.
pub(crate) fn format_amz_date(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let seconds_of_day = unix.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        seconds_of_day / 3600,
        (seconds_of_day % 3600) / 60,
        seconds_of_day % 60
    )
}

fn digits(text: &str, start: usize, end: usize) -> Option<i64> {
    let field = text.get(start..end)?;
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    field.parse().ok()
}

fn month_number(name: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let lower = name.to_ascii_lowercase();
    let index = MONTHS.iter().position(|month| *month == lower)?;
    i64::try_from(index).ok().map(|index| index + 1)
}

fn zone_offset_seconds(zone: &str) -> Option<i64> {
    match zone {
        "GMT" | "UT" | "UTC" | "Z" => return Some(0),
        _ => {}
    }
    let sign = match zone.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return None,
    };
    if zone.len() != 5 {
        return None;
    }
    let hours = digits(zone, 1, 3)?;
    let minutes = digits(zone, 3, 5)?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60))
}

fn to_unix(year: i64, month: i64, day: i64, hour: i64, minute: i64, second: i64) -> Option<i64> {
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    if !valid {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the "days from
/// civil" construction: count in 400-year eras that start on March 1st, so
/// the leap day is the last day of the shifted year).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let shifted_year = if month <= 2 { year - 1 } else { year };
    let era = shifted_year.div_euclid(400);
    let year_of_era = shifted_year.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_dates_round_trip() {
        for text in [
            "19700101T000000Z",
            "20130524T000000Z",
            "20150830T123600Z",
            "20240229T235959Z",
            "21000301T000001Z",
        ] {
            let unix = parse_amz_date(text).expect(text);
            assert_eq!(format_amz_date(unix), text);
        }
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
    }

    #[test]
    fn malformed_amz_dates_are_rejected() {
        for text in [
            "",
            "2015-08-30T12:36:00Z",
            "20150830T123600",
            "20150830 123600Z",
            "20150230T000000Z",
            "20230229T000000Z",
            "20151330T000000Z",
            "20150830T246000Z",
            "2015083OT123600Z",
            "+0150830T123600Z",
            "20150830T1236000Z",
            "２0150830T123600Z",
        ] {
            assert_eq!(parse_amz_date(text), None, "{text:?}");
        }
    }

    #[test]
    fn http_dates_in_the_forms_clients_send() {
        let expected = parse_amz_date("20240501T123456Z");
        assert_eq!(parse_http_date("Wed, 01 May 2024 12:34:56 GMT"), expected);
        assert_eq!(parse_http_date("Wed, 01 May 2024 12:34:56 -0000"), expected);
        assert_eq!(parse_http_date("01 May 2024 14:34:56 +0200"), expected);
        assert_eq!(parse_http_date("Wed, 1 May 2024 12:34:56 UTC"), expected);
        for text in [
            "",
            "Wed, 01 May 2024",
            "Wed, 01 Foo 2024 12:34:56 GMT",
            "Wed, 01 May 2024 12:34 GMT",
            "Wed, 01 May 2024 12:34:56 CEST",
        ] {
            assert_eq!(parse_http_date(text), None, "{text:?}");
        }
    }
}
