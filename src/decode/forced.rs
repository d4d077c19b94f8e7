//! Checks for values of columns forced (`schema=`) to a type that would keep only part of them.
//!
//! arrow-json 59 fills such a column without a word: a `Date32` column given
//! `"2025-07-01 10:20:30"` keeps the date and drops the time (arrow-cast's `parse_date`), a
//! `Timestamp(Second)` column drops fractions of a second, and an integer column given `1.5`
//! keeps 1 (`NumCast` truncates), as does a date or timestamp column (a number is a count of
//! its units since 1970). Inference never picks such a type, so only forced columns
//! need this: the classifier hands every value of a checked column here as it walks the row,
//! on every path a page can take (the fast path declines pages with forced columns), and a
//! value that would lose part of itself fails the page with a [`DecodeError`] that names a type
//! that keeps it. Refusing beats truncating: a caller who wants dates of timestamps can cast
//! after the fetch, knowing it.
//!
//! [`DecodeError`]: crate::Error::Decode

use crate::error::DOES_NOT_FIT;
use arrow_schema::{DataType, TimeUnit};
use chrono::{Timelike, Utc};

/// What a forced column's type keeps of a value; only types that can drop part of one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Grain {
    /// `Date32`: whole days (a timestamp's time of day would be dropped).
    Day,
    /// A timestamp in seconds, milliseconds or microseconds: finer fractions would be dropped.
    Timestamp(TimeUnit),
    /// An integer type: a number with a fraction would be truncated.
    Integer,
    /// A float type (`true`: 32 bits): a number beyond its range would become infinity, and a
    /// whole number it cannot hold would become another (arrow-json parses both without a
    /// word, from a JSON number or from text).
    Float(bool),
}

impl Grain {
    /// The grain of a forced type, if the type can drop part of a value.
    pub fn of(data_type: &DataType) -> Option<Self> {
        match data_type {
            DataType::Date32 => Some(Self::Day),
            // Nanoseconds are the finest unit text can give arrow-cast, but a number's
            // fraction of a nanosecond is still dropped.
            DataType::Timestamp(unit, _) => Some(Self::Timestamp(*unit)),
            t if t.is_integer() => Some(Self::Integer),
            DataType::Float32 => Some(Self::Float(true)),
            DataType::Float64 => Some(Self::Float(false)),
            _ => None,
        }
    }

    /// Nanoseconds per unit of the type (timestamps and dates).
    fn nanos(self) -> i64 {
        match self {
            Self::Day => 86_400_000_000_000,
            Self::Timestamp(TimeUnit::Second) => 1_000_000_000,
            Self::Timestamp(TimeUnit::Millisecond) => 1_000_000,
            Self::Timestamp(TimeUnit::Microsecond) => 1_000,
            Self::Timestamp(TimeUnit::Nanosecond) | Self::Integer | Self::Float(_) => 1,
        }
    }
}

/// Checks one value of column `name`, forced to a type of `grain`. `raw` is the value's JSON
/// text as sent (a string with its quotes and escapes). Values the type cannot parse at all are
/// left to arrow-json, which reports them.
pub(crate) fn check(
    grain: Grain,
    name: &str,
    data_type: &DataType,
    raw: &[u8],
) -> Result<(), String> {
    check_read(grain, name, data_type, raw, Offsets::Refused)
}

/// What a check does with a time's UTC offset under a naive timestamp type.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offsets {
    /// A fetch: the type would hold the UTC time and drop the offset.
    Refused,
    /// A file push: a column of times with offsets is read zone-aware and converted to the
    /// tenant's zone (`write::exact`), so the offset is kept as the instant it names.
    Instants,
}

/// [`check`], with what a naive timestamp type does with a UTC offset.
pub(crate) fn check_read(
    grain: Grain,
    name: &str,
    data_type: &DataType,
    raw: &[u8],
    offsets: Offsets,
) -> Result<(), String> {
    let loss = whole_loss(grain, name, data_type, raw).or_else(|| match (grain, raw.first()) {
        // arrow-json parses an integer it cannot read as i64 through f64 and casts back, and
        // every number down to -2^63 - 1024 rounds onto -2^63 and fits: it would keep i64::MIN
        // (found by the outside trial). Above i64::MAX the cast fails and arrow-json says so.
        (Grain::Integer | Grain::Timestamp(_), Some(b'-'))
            if matches!(data_type, DataType::Int64 | DataType::Timestamp(..))
                && below_i64_min(raw) =>
        {
            Some(format!(
                "its magnitude (column `{name}` is forced to {data_type}, whose 64 bits reach \
                 down to {}): use text to keep it, e.g. schema={{\"{name}\": \"string\"}}",
                i64::MIN
            ))
        }
        (Grain::Integer, Some(b'-' | b'0'..=b'9')) => has_fraction(raw).then(|| {
            format!(
                "its fraction (column `{name}` is forced to {data_type}): use a float type \
                     to keep it, e.g. schema={{\"{name}\": \"float64\"}}"
            )
        }),
        (Grain::Float(single), Some(b'-' | b'0'..=b'9')) => {
            float_change(&String::from_utf8_lossy(raw), single)
                .map(|change| change.fetch_reason(name, data_type, single))
        }
        // arrow-json parses a string into a float column with arrow-cast, which reads text
        // spellings of numbers (`"9007199254740993"`, `" +1e400 "`) as numbers: the same rule
        // holds for them (outside trial 15: they arrived rounded). Text naming NaN or infinity
        // (`"NaN"`, `"-inf"`) is held as that very float and kept.
        (Grain::Float(single), Some(b'"')) => number_text(&unquote(raw))
            .and_then(|number| float_change(&number, single))
            .map(|change| change.fetch_reason(name, data_type, single)),
        // A number is a count of the type's units since 1970 (arrow's reading): a fraction of
        // one would be dropped.
        (Grain::Day | Grain::Timestamp(_), Some(b'-' | b'0'..=b'9')) => {
            has_fraction(raw).then(|| {
                format!(
                    "its fraction (column `{name}` is forced to {data_type}, which reads a \
                     number as whole units since 1970-01-01): use a float type to keep it, \
                     e.g. schema={{\"{name}\": \"float64\"}}"
                )
            })
        }
        (Grain::Day | Grain::Timestamp(_), Some(b'"')) => {
            let text = unquote(raw);
            moved_time(&text, name, data_type, offsets)
                .or_else(|| beyond_nanoseconds(&text, name, data_type))
                .or_else(|| {
                    lost_time(grain, &text).map(|what| {
                        let finer = if grain == Grain::Day {
                            "timestamp"
                        } else {
                            "timestamp[ns]"
                        };
                        format!(
                            "its {what} (column `{name}` is forced to {data_type}): use a finer \
                         timestamp type to keep it, e.g. schema={{\"{name}\": \"{finer}\"}}"
                        )
                    })
                })
        }
        _ => None,
    });
    match loss {
        // The words of every value that does not fit its column's type: the error gets that
        // hint too.
        Some(loss) => Err(format!(
            "{}{DOES_NOT_FIT}{data_type} without losing {loss}",
            String::from_utf8_lossy(raw)
        )),
        None => Ok(()),
    }
}

/// What a date, timestamp or integer type would change of a whole JSON number's magnitude
/// (`raw`, grammar checked), and a type that keeps it. arrow-json reads a number it cannot read
/// as the type's integer through f64, then casts: into a timestamp with `as i64`, which
/// saturates (outside trial 17: `1e20`, `9.3e18` under `timestamp[s]` became i64::MAX, year
/// 2262, without a word), and into any of them a whole number written with a point or an
/// exponent past 2^53 arrives rounded (`9007199254740993.0` as ...992). Fractions are left to
/// [`check`]'s other rules; an integer type's own range to arrow-json, which reports it.
fn whole_loss(grain: Grain, name: &str, data_type: &DataType, raw: &[u8]) -> Option<String> {
    if !matches!(raw.first(), Some(b'-' | b'0'..=b'9'))
        || !matches!(grain, Grain::Integer | Grain::Timestamp(_) | Grain::Day)
    {
        return None;
    }
    let negative = raw.starts_with(b"-");
    let whole = whole_part(raw);
    // The magnitudes of the type's bounds: Date32 counts days in an i32.
    let (max, min) = match grain {
        Grain::Day => ("2147483647", "2147483648"),
        _ => ("9223372036854775807", "9223372036854775808"),
    };
    let beyond = |bound: &str| {
        whole
            .as_ref()
            .is_none_or(|w| w.len() > bound.len() || (w.len() == bound.len() && w.as_str() > bound))
    };
    if grain != Grain::Integer && beyond(if negative { min } else { max }) {
        let (bits, limit) = match grain {
            Grain::Day => (
                "32-bit count of days",
                if negative {
                    i64::from(i32::MIN)
                } else {
                    i64::from(i32::MAX)
                },
            ),
            _ => (
                "64-bit count of units",
                if negative { i64::MIN } else { i64::MAX },
            ),
        };
        let keep = match whole.as_deref().map(str::parse::<i64>) {
            Some(Ok(_)) if grain == Grain::Day => "int64",
            _ => "string",
        };
        return Some(format!(
            "its magnitude (column `{name}` is forced to {data_type}, whose {bits} since \
             1970-01-01 stops at {limit}): use a type that keeps it, e.g. \
             schema={{\"{name}\": \"{keep}\"}}"
        ));
    }
    // Written with a point or an exponent: read through f64, exact only up to 2^53.
    if !raw.iter().any(|&c| matches!(c, b'.' | b'e' | b'E')) || has_fraction(raw) {
        return None;
    }
    let whole = whole.filter(|w| w.len() <= 20)?;
    let held = format!(
        "{:.0}",
        std::str::from_utf8(raw).ok()?.parse::<f64>().ok()?.abs()
    );
    if held == whole || (whole.is_empty() && held == "0") {
        return None;
    }
    let sign = if negative { "-" } else { "" };
    Some(format!(
        "its last digits (column `{name}` is forced to {data_type}, and a number written with \
         a point or an exponent is read through a 64-bit float, whose whole numbers are exact \
         only up to 2^53: {sign}{whole} would be held as {sign}{held}): write it without the \
         point or exponent, or use text to keep it, e.g. schema={{\"{name}\": \"string\"}}"
    ))
}

/// The whole part of a JSON number's magnitude (grammar checked) in digits, without leading
/// zeros (empty for less than one); `None` past 400 digits, beyond every type here.
fn whole_part(number: &[u8]) -> Option<String> {
    let (digits, point) = digits_and_point(number);
    whole_of(&digits, point)
}

/// [`whole_part`] of a number as [`digits_and_point`] gives it: the one reading of a number's
/// whole digits, for the integer, timestamp and float rules alike.
fn whole_of(digits: &[u8], point: i64) -> Option<String> {
    let point = usize::try_from(point.max(0)).ok()?;
    let first = digits
        .iter()
        .position(|&d| d != b'0')
        .unwrap_or(digits.len());
    if point <= first {
        return Some(String::new());
    }
    if point - first > 400 {
        return None;
    }
    // Digits past those written are zeros (an exponent moved the point past them).
    Some(
        (first..point)
            .map(|i| char::from(digits.get(i).copied().unwrap_or(b'0')))
            .collect(),
    )
}

/// What a timestamp type would move of text `s` to another time, parsed as arrow-json parses
/// it (arrow-cast's `string_to_datetime`, in UTC for a naive column), if anything: a leap
/// second (`23:59:60`), which no timestamp holds (outside trial 18: `timestamp[s]` kept :59,
/// `timestamp[ms]` the next minute, unsaid), and a UTC offset other than zero under a naive
/// type, which would hold the UTC wall clock (`10:00+02:00` as 08:00) and drop the offset.
/// Text keeps both.
fn moved_time(s: &str, name: &str, data_type: &DataType, offsets: Offsets) -> Option<String> {
    let at = arrow_cast::parse::string_to_datetime(&Utc, s).ok()?;
    let keep = format!("use text to keep it, e.g. schema={{\"{name}\": \"string\"}}");
    if at.time().nanosecond() >= 1_000_000_000 {
        return Some(format!(
            "its leap second (column `{name}` is forced to {data_type}, which has no second \
             60 and would hold another time): {keep}"
        ));
    }
    let offset = s
        .get(10..)
        .and_then(|time| time.rfind(['+', '-']).map(|at| &time[at..]));
    let naive = offsets == Offsets::Refused && matches!(data_type, DataType::Timestamp(_, None));
    if naive && offset.is_some_and(|o| o.bytes().any(|b| matches!(b, b'1'..=b'9'))) {
        return Some(format!(
            "its UTC offset (column `{name}` is forced to {data_type}, which holds no offset and \
             would hold the UTC time, {}): {keep}",
            at.naive_utc().format("%Y-%m-%d %H:%M:%S%.f")
        ));
    }
    None
}

/// The words of the refusal of a time `timestamp[ns]` cannot hold (the Python layer's hint
/// keys on them).
pub(crate) const BEYOND_NANOSECONDS: &str =
    "whose 64 bits of nanoseconds reach from 1677-09-21 to 2262-04-11";

/// Why `timestamp[ns]` cannot hold time text `s` at all, if so: 64 bits of nanoseconds reach
/// from 1677-09-21 to 2262-04-11. arrow-json's own error named no column and printed the time
/// with an offset the server never sent (`2262-04-12T00:00:00+00:00`; outside trial 39 F4).
fn beyond_nanoseconds(s: &str, name: &str, data_type: &DataType) -> Option<String> {
    if !matches!(data_type, DataType::Timestamp(TimeUnit::Nanosecond, _)) {
        return None;
    }
    let at = arrow_cast::parse::string_to_datetime(&Utc, s).ok()?;
    at.timestamp_nanos_opt().is_none().then(|| {
        format!(
            "its time (column `{name}` is forced to {data_type}, {BEYOND_NANOSECONDS} only): use \
             a coarser timestamp type to keep it, e.g. schema={{\"{name}\": \"timestamp[us]\"}}"
        )
    })
}

/// The part of timestamp text `s` a type of `grain` would drop, parsed as arrow-json parses it
/// (arrow-cast's `string_to_datetime`, in UTC for a naive column), if any.
fn lost_time(grain: Grain, s: &str) -> Option<&'static str> {
    // arrow-cast reads 10 characters or fewer, and extended years, as a bare date.
    if grain == Grain::Day && (s.len() <= 10 || s.starts_with(['+', '-'])) {
        return None;
    }
    let at = arrow_cast::parse::string_to_datetime(&Utc, s).ok()?;
    let time = at.time();
    // A leap second (nanoseconds past 10^9) is `moved_time`'s.
    let nanos =
        i64::from(time.num_seconds_from_midnight()) * 1_000_000_000 + i64::from(time.nanosecond());
    if nanos % grain.nanos() == 0 {
        return None;
    }
    Some(if grain == Grain::Day {
        "time of day"
    } else {
        "fraction of a second"
    })
}

/// A JSON string's content (`raw` with its quotes); escapes decoded, which is rare for dates.
fn unquote(raw: &[u8]) -> std::borrow::Cow<'_, str> {
    let body = &raw[1..raw.len().saturating_sub(1).max(1)];
    if !body.contains(&b'\\') {
        return String::from_utf8_lossy(body);
    }
    serde_json::from_slice::<String>(raw).map_or_else(|_| String::from_utf8_lossy(body), Into::into)
}

/// Text arrow-cast reads as a decimal number into a float column (ASCII whitespace around it
/// trimmed, a sign, digits with at most one point and at least one digit, an exponent), as
/// [`float_change`] takes it (a `+` dropped); `None` for any other text (`NaN`, `inf`, or text
/// arrow-cast refuses and arrow-json reports).
pub(crate) fn number_text(text: &str) -> Option<String> {
    let text = text.trim_ascii();
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'-') => ("-", &text[1..]),
        Some(b'+') => ("", &text[1..]),
        _ => ("", text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(e) => (&rest[..e], Some(&rest[e + 1..])),
        None => (rest, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = all_digits(int) && all_digits(frac) && !(int.is_empty() && frac.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    (mantissa_ok && exponent_ok).then(|| format!("{sign}{rest}"))
}

/// Whether a negative JSON number (grammar already checked) is below `i64::MIN`, exactly, on
/// its digits: a whole part of more than 19 digits, or of 19 past `9223372036854775808`, or
/// equal to it with a fraction.
fn below_i64_min(number: &[u8]) -> bool {
    const MIN_MAGNITUDE: &[u8] = b"9223372036854775808";
    let (digits, point) = digits_and_point(number);
    let point = usize::try_from(point.max(0)).unwrap_or(usize::MAX);
    let Some(first) = digits.iter().position(|&d| d != b'0') else {
        return false; // zero
    };
    if first >= point {
        return false; // less than one in magnitude
    }
    let whole_len = point - first;
    if whole_len != MIN_MAGNITUDE.len() {
        return whole_len > MIN_MAGNITUDE.len();
    }
    // Digits past those sent are zeros (an exponent moved the point past them).
    let whole: Vec<u8> = (first..point)
        .map(|i| digits.get(i).copied().unwrap_or(b'0'))
        .collect();
    match whole.as_slice().cmp(MIN_MAGNITUDE) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => digits
            .get(point..)
            .is_some_and(|f| f.iter().any(|&d| d != b'0')),
    }
}

/// A JSON number's significant digits (integer and fraction digits, in order, sign dropped) and
/// where the decimal point falls among them once the exponent is applied (saturating).
fn digits_and_point(number: &[u8]) -> (Vec<u8>, i64) {
    let text = number.strip_prefix(b"-").unwrap_or(number);
    let (mantissa, exponent) = match text.iter().position(|c| matches!(c, b'e' | b'E')) {
        Some(e) => (&text[..e], &text[e + 1..]),
        None => (text, &b""[..]),
    };
    let (int, frac) = match mantissa.iter().position(|&c| c == b'.') {
        Some(p) => (&mantissa[..p], &mantissa[p + 1..]),
        None => (mantissa, &b""[..]),
    };
    // Saturating: an exponent of thousands of digits is either far past every fraction digit
    // or far before the first, and either way the sign decides.
    let exponent = match std::str::from_utf8(exponent).map(str::parse::<i64>) {
        _ if exponent.is_empty() => 0,
        Ok(Ok(e)) => e,
        _ if exponent.starts_with(b"-") => i64::MIN / 2,
        _ => i64::MAX / 2,
    };
    let digits: Vec<u8> = int.iter().chain(frac).copied().collect();
    let point = i64::try_from(int.len())
        .unwrap_or(i64::MAX / 2)
        .saturating_add(exponent);
    (digits, point)
}

/// Whether a JSON number (grammar already checked by the classifier) has a non-zero fraction,
/// exactly: `2.50e1` is 25, `1e-1` is not whole. Decided on the digits, never through `f64`,
/// which would round `9007199254740993.5` to a whole number.
fn has_fraction(number: &[u8]) -> bool {
    let (digits, point) = digits_and_point(number);
    fraction_of(&digits, point)
}

/// [`has_fraction`] of a number as [`digits_and_point`] gives it.
fn fraction_of(digits: &[u8], point: i64) -> bool {
    // The digits with the point after `point` of them; the exponent moved the point.
    let whole = usize::try_from(point.max(0))
        .unwrap_or(usize::MAX)
        .min(digits.len());
    digits[whole..].iter().any(|&d| d != b'0')
}

/// What a float type would make of a number, other than round its fraction.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FloatChange {
    /// A finite number held as infinity.
    Infinite,
    /// A whole number held as another (`whole` would be held as `held`).
    Rounded { whole: String, held: String },
    /// A number not zero held as 0, or as a subnormal that is not the number to the digits
    /// written (`held`: the subnormal to as many digits, so that it shows the difference).
    Small { held: String },
}

impl FloatChange {
    /// What the value would lose, for [`check`]'s message.
    fn fetch_reason(&self, name: &str, data_type: &DataType, single: bool) -> String {
        match self {
            Self::Infinite => format!(
                "its magnitude (column `{name}` is forced to {data_type}, which would hold \
                 infinity): use a wider type or text to keep it, e.g. \
                 schema={{\"{name}\": \"string\"}}"
            ),
            Self::Rounded { whole, held } => {
                let exact = if single { "2^24" } else { "2^53" };
                // Outside trial 17: a number past int64 was told to use int64.
                let (advice, keep) = match whole.parse::<i64>() {
                    Ok(_) => ("an integer type or text to keep it", "int64"),
                    Err(_) => ("text to keep it", "string"),
                };
                format!(
                    "its last digits (column `{name}` is forced to {data_type}, whose whole \
                     numbers are exact only up to {exact}: {whole} would be held as {held}): \
                     use {advice}, e.g. schema={{\"{name}\": \"{keep}\"}}"
                )
            }
            // Outside trial 16: the push refused these and the fetch let them through changed;
            // one rule now holds for both.
            // Outside trial 17: `3e-324` was said to keep "fewer digits than written"; it is
            // held as 5e-324, another value. The push's wording (`held_as`) is the one here.
            Self::Small { .. } => {
                let wider = if single { "float64" } else { "string" };
                format!(
                    "its magnitude (column `{name}` is forced to {data_type}, in which it {}): \
                     use a type that keeps it, e.g. schema={{\"{name}\": \"{wider}\"}}",
                    self.held_as()
                )
            }
        }
    }

    /// What the type would hold, for a message: "would be held as ...".
    pub(crate) fn held_as(&self) -> String {
        match self {
            Self::Infinite => "would be held as infinity".to_owned(),
            Self::Rounded { held, .. } => format!("would be held as {held}"),
            Self::Small { held } if held == "0" => "would be held as 0".to_owned(),
            Self::Small { held } => format!(
                "would be held as {held}, a subnormal float: too close to 0 for the type to \
                 keep the digits written"
            ),
        }
    }
}

/// What a float (`single`: 32-bit) would change of `number` (JSON's grammar, a `-` but no
/// `+`), parsed as arrow-json parses it: straight to the type, rounded to nearest. Rounding a
/// fraction to nearest is a float's nature and kept. Changed are:
/// - a finite number held as infinity (`1e400` in a Float64);
/// - a whole number, of any length and spelling (`9007199254740993`, `…993.0`,
///   `9.007199254740993e15`), that the float neither holds exactly nor prints back as sent
///   (outside trial 15: a 21-digit id arrived rounded). A float prints as the shortest digits
///   that read back to it, so `1e23` or `6.02e23`, not exact in binary, come back as sent and
///   are kept; but one written out in digits is changed when the float holds another (outside
///   trial 16: `100000000000000000000000`, 10^23, is 99999999999999991611392 as a Float64);
/// - a number not zero held as 0 (`1e-50` in a Float32, `1e-400` in a Float64), or as a
///   subnormal that is not the number to the significant digits written, nor as close to it as
///   a normal float of the type would be (`Held::keeps`): `1.234567e-44` in a Float32 is
///   1.261169e-44; `1.4e-45` (1.4012984e-45) and `1e-40` are kept. The rule reads the value,
///   not a spelling of it: `1e-45`'s float is 1.4e-45 (outside trial 18 found the shortest
///   spelling judged, which refused the accurate `1.4e-45` and kept `1e-45` alone).
///
/// The one rule for a float's values: a fetch under `schema=` ([`check`]), inference without
/// one (`classify::float_bits`), a file push (`write::exact`).
pub(crate) fn float_change(number: &str, single: bool) -> Option<FloatChange> {
    let held = Held::of(number, single)?;
    if held.infinite {
        return Some(FloatChange::Infinite);
    }
    let written = Written::of(number)?;
    if written.significant.is_empty() {
        return None; // zero, however written
    }
    let sign = if number.starts_with('-') { "-" } else { "" };
    if let Some(whole) = &written.whole {
        if *whole != held.exact && (written.plain || held.shortest != written.scientific()) {
            // A number of hundreds of digits is named as written, and its float by its
            // spelling.
            return Some(FloatChange::Rounded {
                whole: match whole.len() <= 40 {
                    true => format!("{sign}{whole}"),
                    false => number.to_owned(),
                },
                held: match held.exact.len() <= 40 {
                    true => format!("{sign}{}", held.exact),
                    false => format!("{sign}{}", held.shortest),
                },
            });
        }
    }
    if held.zero {
        return Some(FloatChange::Small {
            held: "0".to_owned(),
        });
    }
    if held.subnormal && !held.keeps(&written, single) {
        return Some(FloatChange::Small {
            held: format!("{sign}{}", held.spelled(&written, single)),
        });
    }
    None
}

/// Whether a Float64 keeps a JSON number (grammar checked) by [`float_change`]'s rule, told
/// from a glance at its spelling without parsing it: `false` means "look closer", never
/// "changed". Inference asks this of every float literal, so the common ones (up to 15 digits,
/// or a fraction of a number in a Float64's normal range) must cost no parse and no
/// allocation. Why each holds:
/// - at most 200 characters with an exponent of at most two digits (or none), a number not
///   zero lies within 1e-299..1e299: finite, and not subnormal;
/// - without an exponent, a whole number below 10^15 is exact in a Float64;
/// - with one, 15 digits or fewer print back as written (a Float64 tells any two numbers of
///   15 significant digits apart, so the shortest digits reading back to it are those);
/// - a number with a fraction is only rounded to nearest, which the rule keeps.
#[inline]
pub(crate) fn float64_keeps_at_a_glance(number: &[u8]) -> bool {
    if number.len() > 200 {
        return false;
    }
    let (mut digits, mut whole_digits, mut point_seen) = (0i64, 0i64, false);
    // Where the last digit that is not zero stands among the digits, plus one (0: none).
    let mut last_nonzero = 0i64;
    let mut i = 0;
    while i < number.len() {
        match number[i] {
            c @ b'0'..=b'9' => {
                digits += 1;
                if c != b'0' {
                    last_nonzero = digits;
                }
                if !point_seen {
                    whole_digits += 1;
                }
            }
            b'.' => point_seen = true,
            b'e' | b'E' => break,
            _ => {}
        }
        i += 1;
    }
    // A digit after the point (its index at or past the point's) is a fraction.
    let fraction = |point: i64| last_nonzero > 0 && last_nonzero > point;
    let Some(exponent) = number.get(i + 1..) else {
        return whole_digits <= 15 || fraction(whole_digits);
    };
    let exponent = exponent.strip_prefix(b"+").unwrap_or(exponent);
    let (negative, exponent) = match exponent.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, exponent),
    };
    let value = match exponent {
        [a] => i64::from(a - b'0'),
        [a, b] => i64::from(a - b'0') * 10 + i64::from(b - b'0'),
        _ => return false,
    };
    let exponent = if negative { -value } else { value };
    digits <= 15 || fraction(whole_digits + exponent)
}

/// What a float type holds of a number: parsed once, as arrow-json parses it (straight to the
/// type, rounded to nearest; Rust's parsers round so, as lexical-core does).
struct Held {
    infinite: bool,
    zero: bool,
    subnormal: bool,
    /// Its magnitude, widened to f64 when the type is Float32 (exactly: every f32 is an f64).
    magnitude: f64,
    /// Its magnitude written out in whole digits (`{:.0}`).
    exact: String,
    /// Its magnitude in the shortest digits that read back to it (`{:e}`: `1e23`).
    shortest: String,
}

impl Held {
    fn of(number: &str, single: bool) -> Option<Self> {
        let (infinite, zero, subnormal, magnitude) = if single {
            let v = number.parse::<f32>().ok()?;
            let (i, z, s) = (v.is_infinite(), v == 0.0, v.is_subnormal());
            (i, z, s, f64::from(v.abs()))
        } else {
            let v = number.parse::<f64>().ok()?;
            (v.is_infinite(), v == 0.0, v.is_subnormal(), v.abs())
        };
        // Spelled as the type itself spells it: an f32's shortest digits are its own.
        let (exact, shortest) = if single {
            #[allow(clippy::cast_possible_truncation)] // exact: widened from an f32 above
            let m = magnitude as f32;
            (format!("{m:.0}"), format!("{m:e}"))
        } else {
            (format!("{magnitude:.0}"), format!("{magnitude:e}"))
        };
        Some(Self {
            infinite,
            zero,
            subnormal,
            magnitude,
            exact,
            shortest,
        })
    }

    /// Its exact value rounded to `k` significant digits: the digits (no trailing zero) and
    /// the power of ten of the first. Rust's `{:.*e}` rounds the float's exact binary value
    /// (never a shorter spelling of it), half to even; past 800 digits nothing is left to
    /// round, as no subnormal has more (2^-1074 x an integer below 2^52 has at most 767).
    fn rounded(&self, k: usize) -> (String, i64) {
        let text = format!("{:.*e}", k.clamp(1, 801) - 1, self.magnitude);
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
        let digits = digits.trim_end_matches('0').to_owned();
        (digits, exponent.parse().unwrap_or(0))
    }

    /// Whether a subnormal keeps `written` (not zero): whether the float, rounded to as many
    /// significant digits as were written, reads the same (the rule of outside trial 18:
    /// `1.4e-45` under float32 is held as 1.4012984e-45, kept to the two digits written; `1e-46`
    /// is held as 0 and `1.1e-45` as 1.4e-45, refused), or whether it is as close to the
    /// number as a normal float of the type is to any number it rounds (a relative error of at
    /// most 2^-24 for Float32, 2^-53 for Float64): `2.2250738585072011e-308`, one ulp from
    /// Float64's largest subnormal, is rounded as its normal neighbours are, and kept as they
    /// are. A spelling's digits past what a normal float tells apart are noise either way.
    fn keeps(&self, written: &Written, single: bool) -> bool {
        let (digits, power) = self.rounded(written.precision);
        if digits == written.significant && power == written.magnitude {
            return true;
        }
        let (exact, power) = self.rounded(801);
        let bits = if single { 24 } else { 53 };
        relative_gap(written, &exact, power).is_some_and(|gap| gap <= 0.5f64.powi(bits))
    }

    /// The float spelled for a message: to the digits written (as many as the type tells
    /// apart at most, 9 or 17; a refused number differs from it within those), so that it
    /// shows where it differs (outside trial 18: `1.1e-45` is held as 1.4e-45, not as its
    /// shortest spelling `1e-45`).
    fn spelled(&self, written: &Written, single: bool) -> String {
        let most = if single { 9 } else { 17 };
        let (digits, power) = self.rounded(written.precision.min(most));
        let (head, tail) = digits.split_at(1.min(digits.len()));
        match tail {
            "" => format!("{head}e{power}"),
            _ => format!("{head}.{tail}e{power}"),
        }
    }
}

/// |held - written| / written, for a `held` value given by its exact significant digits and
/// the power of ten of the first, to about 36 digits (far finer than the 2^-53 it is held
/// against); `None` when the two are a power of ten or more apart.
fn relative_gap(written: &Written, held: &str, power: i64) -> Option<f64> {
    // Each value times 10^(36 - the written number's power), truncated to an integer: 37
    // digits for the written one, 36 to 38 for a held one within a power of ten of it, all
    // below i128's 1.7e38.
    let scaled = |digits: &str, power: i64| -> Option<i128> {
        let n = usize::try_from(power - written.magnitude + 37).ok()?;
        if !(36..=38).contains(&n) {
            return None;
        }
        let taken: String = digits
            .chars()
            .chain(std::iter::repeat('0'))
            .take(n)
            .collect();
        taken.parse().ok()
    };
    let x = scaled(&written.significant, written.magnitude)?;
    let h = scaled(held, power)?;
    #[allow(clippy::cast_precision_loss)] // a ratio to compare with 2^-53: 36 digits to spare
    Some((h - x).abs() as f64 / x as f64)
}

/// A number as written, on its digits (never through a float).
struct Written {
    /// Its significant digits: no leading or trailing zero (empty for zero).
    significant: String,
    /// The power of ten of the first significant digit.
    magnitude: i64,
    /// How many digits were written from the first significant one on, trailing zeros
    /// included: `1.40e-45` claims three (1.4012984e-45 is 1.40e-45 to three; `1.400e-45`
    /// would claim more than the float holds).
    precision: usize,
    /// Written without an exponent.
    plain: bool,
    /// Its magnitude in whole digits ([`whole_part`]) when it has no fraction.
    whole: Option<String>,
}

impl Written {
    fn of(number: &str) -> Option<Self> {
        let bytes = number.as_bytes();
        let (digits, point) = digits_and_point(bytes);
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let plain = !bytes.iter().any(|&c| matches!(c, b'e' | b'E'));
        let (Some(first), Some(last)) = (
            digits.iter().position(|&d| d != b'0'),
            digits.iter().rposition(|&d| d != b'0'),
        ) else {
            return Some(Self {
                significant: String::new(),
                magnitude: 0,
                precision: 0,
                plain,
                whole: None,
            });
        };
        let whole = (!fraction_of(&digits, point))
            .then(|| whole_of(&digits, point))
            .flatten();
        Some(Self {
            significant: String::from_utf8_lossy(&digits[first..=last]).into_owned(),
            magnitude: point
                .saturating_sub(1)
                .saturating_sub(i64::try_from(first).unwrap_or(i64::MAX)),
            precision: digits.len() - first,
            plain,
            whole,
        })
    }

    /// Spelled as Rust's `{:e}` spells a float (`9.007199254740992e15`, `1e23`, `1.5e-45`).
    fn scientific(&self) -> String {
        let (head, tail) = self.significant.split_at(1);
        match tail {
            "" => format!("{head}e{}", self.magnitude),
            _ => format!("{head}.{tail}e{}", self.magnitude),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_below_i64_min_are_found_on_the_digits() {
        for below in [
            "-9223372036854775809",
            "-9223372036854775900",
            "-9223372036854775808.5",
            "-9.223372036854775809e18",
            "-92233720368547758090e-1",
            "-1e19",
            "-1e300",
            "-0009223372036854775809",
        ] {
            assert!(below_i64_min(below.as_bytes()), "{below}");
        }
        for within in [
            "-9223372036854775808",
            "-9223372036854775808.0",
            "-9.223372036854775808e18",
            "-922337203685477580.7e1",
            "-1",
            "-0",
            "-0e30",
            "-0.5",
            "-1e-300",
            "-0009223372036854775807",
        ] {
            assert!(!below_i64_min(within.as_bytes()), "{within}");
        }
    }

    proptest::proptest! {
        /// Against exact i128 arithmetic, around the boundary and in integer, fraction and
        /// exponent spellings.
        #[test]
        fn below_i64_min_agrees_with_i128(offset in -5000i128..5000, zeros in 0usize..3) {
            let value = i128::from(i64::MIN) + offset;
            let expected = value < i128::from(i64::MIN);
            let plain = value.to_string();
            let digits = plain.trim_start_matches('-');
            let spellings = [
                plain.clone(),
                format!("{plain}.{}", "0".repeat(zeros + 1)),
                format!("-{}.{}e{}", &digits[..1], &digits[1..], digits.len() - 1),
                format!("-{digits}{}e-{zeros}", "0".repeat(zeros)),
            ];
            for spelling in spellings {
                if value < 0 {
                    proptest::prop_assert_eq!(below_i64_min(spelling.as_bytes()), expected, "{}", spelling);
                }
            }
        }
    }

    #[test]
    fn fractions_are_found_on_the_digits() {
        for whole in [
            "0", "-0", "12", "2.0", "2.50e1", "1e3", "1E+2", "-7.000", "1.5e1", "0e-5", "120e-1",
        ] {
            assert!(!has_fraction(whole.as_bytes()), "{whole}");
        }
        for part in [
            "1.5",
            "-0.1",
            "1e-1",
            "2.55e1",
            "9007199254740993.5",
            "123e-2",
            "0.000001",
        ] {
            assert!(has_fraction(part.as_bytes()), "{part}");
        }
        assert!(!has_fraction(b"1e99999999999999999999"));
        assert!(has_fraction(b"1e-99999999999999999999"));
        assert!(!has_fraction(b"0e-99999999999999999999"));
    }

    #[test]
    fn whole_numbers_a_float_changes_are_found_at_any_length() {
        let rounded = |n: &str, single| match float_change(n, single) {
            Some(FloatChange::Rounded { whole, held }) => Some((whole, held)),
            _ => None,
        };
        // Outside trial 15: 21 digits and more were let through.
        for (n, whole, held) in [
            ("9007199254740993", "9007199254740993", "9007199254740992"),
            (
                "-9007199254740993.0",
                "-9007199254740993",
                "-9007199254740992",
            ),
            (
                "9.007199254740993e15",
                "9007199254740993",
                "9007199254740992",
            ),
            (
                "123456789012345678901",
                "123456789012345678901",
                "123456789012345683968",
            ),
            (
                "1234567890123456789012345",
                "1234567890123456789012345",
                "1234567890123456824475648",
            ),
        ] {
            let got = rounded(n, false);
            assert_eq!(got, Some((whole.into(), held.into())), "{n}");
        }
        assert!(rounded("16777217", true).is_some());
        assert!(rounded("1.6777217e7", true).is_some());
        let long = format!("1{}1", "0".repeat(300));
        let Some((whole, held)) = rounded(&long, false) else {
            panic!("{long}")
        };
        assert_eq!((whole.as_str(), held.as_str()), (long.as_str(), "1e301"));
        // Exact in binary, or printed back as sent (the shortest digits reading back to the
        // float): kept, as are fractions, zero and tiny numbers.
        for kept in [
            "9007199254740992",
            "9223372036854775808",
            "18446744073709551616",
            "1e23",
            "6.02e23",
            "-1e300",
            "1.2345678901234567e19",
            "0.1",
            "9007199254740993.5",
            "0",
            "-0.0e5",
            "1e-300",
        ] {
            assert_eq!(float_change(kept, false), None, "{kept}");
        }
        for kept in ["16777216", "1e38", "0.1", "3.4028235e38"] {
            assert_eq!(float_change(kept, true), None, "{kept}");
        }
        assert_eq!(float_change("1e400", false), Some(FloatChange::Infinite));
        assert_eq!(float_change("3.5e38", true), Some(FloatChange::Infinite));
    }

    #[test]
    fn text_arrow_cast_reads_as_a_number_is_one() {
        for (text, number) in [
            ("9007199254740993", "9007199254740993"),
            (" +1e400 ", "1e400"),
            ("-.5", "-.5"),
            ("5.", "5."),
            ("1E+5", "1E+5"),
            ("007", "007"),
        ] {
            assert_eq!(number_text(text).as_deref(), Some(number), "{text}");
        }
        for text in [
            "NaN", "-inf", "Infinity", "", ".", "+", "1e", "1_0", "0x10", "1 2", "--1",
        ] {
            assert_eq!(number_text(text), None, "{text}");
        }
    }

    #[test]
    fn text_forced_to_a_float_follows_the_rule_of_numbers() {
        let check = |raw: &str, t: &DataType| {
            let grain = Grain::of(t).unwrap();
            check(grain, "x", t, raw.as_bytes())
        };
        let err = check(r#""9007199254740993""#, &DataType::Float64).unwrap_err();
        assert!(
            err.contains(r#""9007199254740993""#)
                && err.contains("held as 9007199254740992")
                && err.contains(r#""int64""#),
            "{err}"
        );
        let err = check(r#""16777217""#, &DataType::Float32).unwrap_err();
        assert!(err.contains("held as 16777216"), "{err}");
        let err = check(r#"" 1e400""#, &DataType::Float64).unwrap_err();
        assert!(err.contains("infinity"), "{err}");
        for kept in [r#""NaN""#, r#""-inf""#, r#""1.5""#, r#""abc""#, r#""1e23""#] {
            assert_eq!(check(kept, &DataType::Float64), Ok(()), "{kept}");
        }
    }

    /// Outside trial 39 F4: a time past what 64 bits of nanoseconds hold, under
    /// `timestamp[ns]`, is named with its column and as sent; `[us]` holds it.
    #[test]
    fn times_beyond_nanoseconds_are_refused_naming_the_column() {
        let ns = DataType::Timestamp(TimeUnit::Nanosecond, None);
        let grain = Grain::of(&ns).unwrap();
        for raw in [
            r#""2262-04-12 00:00:00""#,
            r#""1677-09-20""#,
            r#""9999-12-31 23:59:59""#,
        ] {
            let err = check(grain, "v", &ns, raw.as_bytes()).unwrap_err();
            assert!(err.starts_with(raw), "{err}");
            assert!(
                err.contains("column `v` is forced to Timestamp(ns)"),
                "{err}"
            );
            assert!(err.contains(r#"schema={"v": "timestamp[us]"}"#), "{err}");
        }
        for raw in [r#""2262-04-11 23:47:16""#, r#""1970-01-01 00:00:00""#] {
            assert_eq!(check(grain, "v", &ns, raw.as_bytes()), Ok(()), "{raw}");
        }
        let us = DataType::Timestamp(TimeUnit::Microsecond, None);
        let grain = Grain::of(&us).unwrap();
        assert_eq!(check(grain, "v", &us, br#""2262-04-12 00:00:00""#), Ok(()));
    }

    /// Outside trial 18: a leap second became :59 under `timestamp[s]` and the next minute
    /// under `[ms]`, and `+02:00` under a naive type the UTC time, without a word.
    #[test]
    fn leap_seconds_and_offsets_a_timestamp_would_move_are_refused() {
        let check = |raw: &str, t: &DataType| check(Grain::of(t).unwrap(), "t", t, raw.as_bytes());
        for unit in [
            TimeUnit::Second,
            TimeUnit::Millisecond,
            TimeUnit::Microsecond,
            TimeUnit::Nanosecond,
        ] {
            let t = DataType::Timestamp(unit, None);
            for leap in [r#""2016-12-31 23:59:60""#, r#""2016-12-31T23:59:60.5""#] {
                let err = check(leap, &t).unwrap_err();
                assert!(
                    err.contains("leap second") && err.contains(r#""string""#),
                    "{err}"
                );
            }
            let err = check(r#""2025-07-01T10:00:00+02:00""#, &t).unwrap_err();
            assert!(
                err.contains("UTC offset")
                    && err.contains("2025-07-01 08:00:00")
                    && err.contains(r#""string""#),
                "{err}"
            );
            assert!(check(r#""2025-07-01T10:00:00-0530""#, &t).is_err());
            // Zero offsets name the time the column holds: kept.
            for kept in [
                r#""2025-07-01T10:00:00Z""#,
                r#""2025-07-01T10:00:00+00:00""#,
                r#""2025-07-01 10:00:00""#,
                r#""2025-07-01""#,
            ] {
                assert_eq!(check(kept, &t), Ok(()), "{kept}");
            }
        }
        let err = check(r#""2016-12-31 23:59:60""#, &DataType::Date32).unwrap_err();
        assert!(err.contains("leap second"), "{err}");
    }

    #[test]
    fn times_a_grain_drops_are_named() {
        let day = Grain::Day;
        assert_eq!(lost_time(day, "2025-07-01"), None);
        assert_eq!(lost_time(day, "2025-07-01 00:00:00"), None);
        assert_eq!(lost_time(day, "2025-07-01T00:00:00.000Z"), None);
        assert_eq!(lost_time(day, "2025-07-01T10:20:30Z"), Some("time of day"));
        assert_eq!(lost_time(day, "2025-07-01 00:00:00.5"), Some("time of day"));
        // Midnight two hours east is 22:00 the day before in UTC, which arrow-cast keeps.
        assert_eq!(
            lost_time(day, "2025-07-01T00:00:00+02:00"),
            Some("time of day")
        );
        let seconds = Grain::Timestamp(TimeUnit::Second);
        assert_eq!(lost_time(seconds, "2025-07-01 10:20:30"), None);
        assert_eq!(
            lost_time(seconds, "2025-07-01 10:20:30.001"),
            Some("fraction of a second")
        );
        let millis = Grain::Timestamp(TimeUnit::Millisecond);
        assert_eq!(lost_time(millis, "2025-07-01 10:20:30.123"), None);
        assert_eq!(
            lost_time(millis, "2025-07-01 10:20:30.1234"),
            Some("fraction of a second")
        );
        let micros = Grain::Timestamp(TimeUnit::Microsecond);
        assert_eq!(lost_time(micros, "2025-07-01 10:20:30.123456"), None);
        assert_eq!(
            lost_time(micros, "2025-07-01 10:20:30.1234567"),
            Some("fraction of a second")
        );
        // Text arrow-cast cannot read is arrow-json's to report.
        assert_eq!(lost_time(day, "soon, honestly"), None);
    }
}
