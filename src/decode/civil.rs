//! `YYYY-MM-DD` to days since 1970-01-01, checked against the proleptic Gregorian calendar,
//! with integer arithmetic only.
//!
//! Every date and timestamp value of a page goes through this (the fast decoder checks the date is
//! real and keeps its value in one step, `classify::dated`), so it is on the hot path: chrono's
//! `NaiveDate` construction and subtraction cost more than the rest of the value's decoding. The
//! result equals chrono's for every 4-digit year (tested exhaustively below).

/// A timestamp as the API writes it (`YYYY-MM-DD HH:MM:SS[.f]`), for chrono and arrow's
/// formatters (arrow's own is the `T` form).
pub(crate) const API_TIMESTAMP: &str = "%Y-%m-%d %H:%M:%S%.f";

/// Days since 1970-01-01 of the date `s[..10]` as `YYYY-MM-DD` (four-digit year from 0001,
/// two-digit month and day, `-` between), or `None` if that is not the shape or not a calendar
/// date.
#[inline]
pub(crate) fn date_days(s: &[u8]) -> Option<i32> {
    let s = s.get(..10)?;
    if s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let year = digits(&s[..4])?;
    // Year 0 is no year of the API's calendar (nor of Python's `date`, which `repr` and pandas
    // use): such a value is text, as `10000-01-01` is (found by the outside trial: a Date32 of
    // year 0 made `repr` and `to_pandas()` raise).
    if year == 0 {
        return None;
    }
    let (month, day) = (digits(&s[5..7])?, digits(&s[8..10])?);
    days_from_civil(year, month, day)
}

/// Seconds since midnight of the clock `s[..8]` as `HH:MM:SS` (hours below 24, minutes and
/// seconds below 60: no leap second), or `None` if that is not the shape.
#[inline]
pub(crate) fn clock_seconds(s: &[u8]) -> Option<u32> {
    let s = s.get(..8)?;
    if s[2] != b':' || s[5] != b':' {
        return None;
    }
    let (h, m, sec) = (digits(&s[..2])?, digits(&s[3..5])?, digits(&s[6..8])?);
    (h < 24 && m < 60 && sec < 60).then_some((h * 60 + m) * 60 + sec)
}

/// The number the ASCII digits `s` spell, or `None` if one is not a digit.
#[inline]
fn digits(s: &[u8]) -> Option<u32> {
    s.iter().try_fold(0u32, |a, &c| {
        c.is_ascii_digit().then(|| a * 10 + u32::from(c - b'0'))
    })
}

/// Days since 1970-01-01 of `year`-`month`-`day` (year 0 to 9999), or `None` if the month or
/// the day does not exist.
#[inline]
pub(crate) fn days_from_civil(year: u32, month: u32, day: u32) -> Option<i32> {
    if year > 9999 || !(1..=12).contains(&month) || day == 0 || day > month_days(year, month) {
        return None;
    }
    // Counted from 0000-03-01, so that a leap day is the last day of its year: the year
    // starts in March, and 400 years are always 146,097 days.
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let shifted_month = i64::from((month + 9) % 12); // March = 0
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719,468 days from 0000-03-01 to 1970-01-01.
    i32::try_from(era * 146_097 + day_of_era - 719_468).ok()
}

fn month_days(year: u32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chrono_days(year: u32, month: u32, day: u32) -> Option<i32> {
        let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
        i32::try_from((date - epoch).num_days()).ok()
    }

    #[test]
    fn equals_chrono_for_every_four_digit_year_month_and_day() {
        for year in 0..=9999 {
            for month in 0..=13 {
                for day in 0..=32 {
                    assert_eq!(
                        days_from_civil(year, month, day),
                        chrono_days(year, month, day),
                        "{year}-{month}-{day}"
                    );
                }
            }
        }
    }

    #[test]
    fn reads_only_the_documented_shape() {
        assert_eq!(date_days(b"1970-01-01"), Some(0));
        assert_eq!(date_days(b"2024-02-29 08:00:00"), Some(19_782));
        // Year 0 is text, as years past 9999 are.
        assert_eq!(date_days(b"0000-03-01"), None);
        assert_eq!(date_days(b"0001-01-01"), chrono_days(1, 1, 1));
        for bad in [
            &b"2023-02-29"[..],
            b"2024-13-01",
            b"2024-00-10",
            b"2024-1-010",
            b"2024/01/01",
            b"+024-01-01",
            b"2024-01-0",
            b"",
            b"2024-01-3a",
        ] {
            assert_eq!(date_days(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
