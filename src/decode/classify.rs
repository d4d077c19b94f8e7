//! The row classifier: one pass over a row's bytes that finds where the row ends and records,
//! per column, which kinds of value it holds (see `infer.rs`).
//!
//! arrow-json 59 cannot be trusted to reject a value that does not fit the schema: it truncates
//! `1.5` into an Int64 column and parses the string `"007"` as the integer 7. So every row is
//! classified before it is decoded, and a page whose values do not fit the schema it is decoding
//! with is re-decoded under a wider one. The classifier is also the framer for rows that lie
//! inside one chunk, so the framing costs no extra pass.

use arrow_schema::DataType;

use super::forced::{self, Grain};
use super::framing::{is_ws, quote_or_escape};
use super::infer::{bits, Col, Fields};

/// Why classification stopped early.
pub(crate) enum Stop {
    /// The bytes ended before the row did.
    Incomplete,
    /// The row is not valid JSON (or not an object).
    Invalid(String),
}

type Step<T> = Result<T, Stop>;

/// Objects and arrays nested deeper than this (the row's object is the first level) make the
/// row invalid. The classifier, the column-state tree it builds and arrow's nested builders
/// all recurse per level, so a hostile page of `[[[[…` would otherwise overflow the stack. And
/// a table must be readable where it goes: pyarrow imports a schema at most 64 levels deep
/// (the stream's struct, then each list or struct level), so a column nested 62 lists deep
/// made every `to_arrow()`, `to_pandas()` and repr of the table fail with pyarrow's error
/// (outside trial 30 F4; the limit was serde_json's 128). A push refuses a column nested
/// deeper than a fetch reads (`encode::validate`).
pub const MAX_DEPTH: usize = 60;

/// The most keys one object may have (a row, or an object inside it): each new key becomes a
/// column whose builders take memory whether or not it holds values, so a small hostile page
/// of one row with 100,000 keys took 2.5 GB (outside trial 30). Counted per object, so that
/// what a listing reads does not depend on its page size (trial 30b F8: counted per page, an
/// object column keyed by ids failed at 20,000 rows a page and not at 1,000). The API's rows
/// have a few dozen columns and the custom attributes a tenant pushes.
pub(crate) const MAX_KEYS: usize = 10_000;

/// Words of the error for an object past [`MAX_KEYS`].
pub(crate) const TOO_MANY_KEYS: &str = "an object holds more than";

/// Words of the error for an object that names a key twice (its hint keys on them).
pub(crate) const REPEATED_KEY: &str = "an object names its key";

/// Words of the error for values nested deeper than [`MAX_DEPTH`] (its hint keys on them).
pub(crate) const TOO_DEEP: &str = "values nest deeper than";

/// Classifies rows into a page's column state.
#[derive(Debug, Default)]
pub(crate) struct Classifier {
    pub fields: Fields,
    pub parse_dates: bool,
    /// Set when a column or a kind bit was added; cleared by whoever checks it.
    pub changed: bool,
    /// Columns forced to a type that could keep only part of a value (`forced.rs`): each of
    /// their values is checked.
    pub checked: Vec<(Box<str>, DataType, Grain)>,
    /// For each top-level column of `fields`, its index in `checked`, if it is checked (filled
    /// as columns appear).
    pub check_of: Vec<Option<usize>>,
    /// Objects classified so far: each object's number tells its keys from another's
    /// (`Fields::named_in`).
    pub(crate) objects: u64,
}

impl Classifier {
    /// A classifier for pages decoded with `overrides` (the user's forced types).
    pub fn new(parse_dates: bool, overrides: &[(String, DataType)]) -> Self {
        let checked = overrides
            .iter()
            .filter_map(|(name, t)| Some((name.as_str().into(), t.clone(), Grain::of(t)?)))
            .collect();
        Self {
            parse_dates,
            checked,
            ..Self::default()
        }
    }

    /// Which entry of `checked` column `i` of `fields` has, if any.
    fn check_for(&mut self, fields: &Fields, i: usize) -> Option<usize> {
        while self.check_of.len() < fields.names.len() {
            let name = &fields.names[self.check_of.len()];
            let check = self.checked.iter().position(|(n, ..)| n == name);
            self.check_of.push(check);
        }
        self.check_of[i]
    }

    /// Checks the value of checked column `check` at `raw` (leading whitespace allowed).
    fn check_value(&self, check: usize, raw: &[u8]) -> Step<()> {
        let start = raw.iter().position(|&c| !is_ws(c)).unwrap_or(raw.len());
        let (name, data_type, grain) = &self.checked[check];
        forced::check(*grain, name, data_type, &raw[start..]).map_err(Stop::Invalid)
    }
}

impl Classifier {
    /// Classifies the row at the start of `bytes`, returning its length.
    pub fn row(&mut self, bytes: &[u8]) -> Step<usize> {
        let mut cur = Cursor {
            b: bytes,
            i: 0,
            depth: 0,
        };
        if cur.peek()? != b'{' {
            return Err(cur.invalid("a row must be a JSON object"));
        }
        let mut fields = std::mem::take(&mut self.fields);
        let r = self.object(&mut cur, &mut fields);
        self.fields = fields;
        r.map(|()| cur.i)
    }

    fn object(&mut self, cur: &mut Cursor, fields: &mut Fields) -> Step<()> {
        cur.descend()?;
        cur.i += 1; // `{`
        if cur.skip_ws()? == b'}' {
            cur.i += 1;
            cur.depth -= 1;
            return Ok(());
        }
        // Rows usually repeat the previous row's key order: guess the next position first.
        let mut hint = 0;
        self.objects += 1;
        let object = self.objects;
        for keys in 1.. {
            if keys > MAX_KEYS {
                return Err(cur.invalid(&format!("{TOO_MANY_KEYS} {MAX_KEYS} keys")));
            }
            if cur.skip_ws()? != b'"' {
                return Err(cur.invalid("expected a key"));
            }
            let (start, end, escaped) = cur.string()?;
            let i = self.lookup(fields, &cur.b[start..end], escaped, hint)?;
            // A key named twice in one object has two values, of which JSON parsers keep
            // either: refused, not decided (outside trial 31 F5: the last was kept unsaid, a
            // value and a text made the column text, and `call_id` twice was told as two rows
            // sharing an id).
            if fields.named_in.len() < fields.cols.len() {
                fields.named_in.resize(fields.cols.len(), 0);
            }
            if std::mem::replace(&mut fields.named_in[i], object) == object {
                // Cut marked, so that the key redaction knows the name was cut (a key echoed
                // as a column name, cut inside it, showed its start: outside trial 40 F1).
                let key = cut_marked(&cur.b[start..end], 80);
                return Err(cur.invalid(&format!("{REPEATED_KEY} \"{key}\" twice")));
            }
            if cur.skip_ws()? != b':' {
                return Err(cur.invalid("expected `:`"));
            }
            cur.i += 1;
            let start = cur.i;
            self.value(cur, &mut fields.cols[i])?;
            if !self.checked.is_empty() && cur.depth == 1 {
                if let Some(check) = self.check_for(fields, i) {
                    self.check_value(check, &cur.b[start..cur.i])?;
                }
            }
            hint = i + 1;
            match cur.skip_ws()? {
                b',' => cur.i += 1,
                b'}' => {
                    cur.i += 1;
                    cur.depth -= 1;
                    return Ok(());
                }
                _ => return Err(cur.invalid("expected `,` or `}`")),
            }
        }
        unreachable!("the loop returns")
    }

    fn lookup(&mut self, f: &mut Fields, key: &[u8], escaped: bool, hint: usize) -> Step<usize> {
        if !escaped && f.names.get(hint).is_some_and(|n| n.as_bytes() == key) {
            return Ok(hint);
        }
        let name = if escaped {
            unescape(key)?
        } else {
            std::str::from_utf8(key)
                .map_err(|_| Stop::Invalid("a key is not UTF-8".into()))?
                .to_owned()
        };
        let (i, new) = f.position_or_insert(&name);
        self.changed |= new;
        Ok(i)
    }

    fn value(&mut self, cur: &mut Cursor, col: &mut Col) -> Step<()> {
        let bit = match cur.skip_ws()? {
            b'"' => {
                let (start, end, escaped) = cur.string()?;
                // Checked even once the column holds plain strings, where a date can no longer
                // change its type: its warning ("mixes dates, strings") must not depend on
                // whether the text came first (outside trial 28c F2).
                if self.parse_dates && !escaped {
                    date_kind(&cur.b[start..end])
                } else {
                    bits::STR
                }
            }
            b'{' => {
                let fields = col.fields.get_or_insert_with(Default::default);
                self.object(cur, fields)?;
                bits::OBJ
            }
            b'[' => {
                let item = col.item.get_or_insert_with(Default::default);
                self.list(cur, item)?;
                bits::LIST
            }
            b't' => cur.literal(b"true", bits::BOOL)?,
            b'f' => cur.literal(b"false", bits::BOOL)?,
            b'n' => cur.literal(b"null", bits::NULL)?,
            _ if cur.at_float_word() => return Err(cur.invalid(super::FLOAT_WORD)),
            b'-' | b'0'..=b'9' => {
                let start = cur.i;
                let bit = cur.number()?;
                if bit & (bits::HUGE | bits::CHANGED) != 0 {
                    col.note_changed(&String::from_utf8_lossy(&cur.b[start..cur.i]));
                }
                bit
            }
            _ => return Err(cur.invalid("expected a value")),
        };
        // `bit` may be two bits (`INT | WIDE`): new if either is.
        if col.seen & bit != bit {
            col.seen |= bit;
            self.changed = true;
        }
        Ok(())
    }

    fn list(&mut self, cur: &mut Cursor, item: &mut Col) -> Step<()> {
        cur.descend()?;
        cur.i += 1; // `[`
        if cur.skip_ws()? == b']' {
            cur.i += 1;
            cur.depth -= 1;
            return Ok(());
        }
        loop {
            self.value(cur, item)?;
            match cur.skip_ws()? {
                b',' => cur.i += 1,
                b']' => {
                    cur.i += 1;
                    cur.depth -= 1;
                    return Ok(());
                }
                _ => return Err(cur.invalid("expected `,` or `]`")),
            }
        }
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
    /// Objects and arrays open at `i`.
    depth: usize,
}

impl Cursor<'_> {
    /// Enters an object or array, refusing nesting beyond [`MAX_DEPTH`].
    fn descend(&mut self) -> Step<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.invalid(&format!(
                "{TOO_DEEP} {MAX_DEPTH} levels, the row's object counted"
            )));
        }
        Ok(())
    }

    fn peek(&self) -> Step<u8> {
        self.b.get(self.i).copied().ok_or(Stop::Incomplete)
    }

    /// Skips whitespace and returns the next byte without consuming it.
    fn skip_ws(&mut self) -> Step<u8> {
        loop {
            let c = self.peek()?;
            if !is_ws(c) {
                return Ok(c);
            }
            self.i += 1;
        }
    }

    /// Consumes a string at `"`; returns its body's range and whether it has escapes.
    fn string(&mut self) -> Step<(usize, usize, bool)> {
        let start = self.i + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            let rest = self.b.get(i..).ok_or(Stop::Incomplete)?;
            let k = quote_or_escape(rest).ok_or(Stop::Incomplete)?;
            i += k;
            if self.b[i] == b'"' {
                self.i = i + 1;
                return Ok((start, i, escaped));
            }
            escaped = true;
            i += self.escape(i)?;
        }
    }

    /// Checks the escape at `b[i] == '\\'` (arrow-json accepts `\0` and the like); returns
    /// its length.
    fn escape(&self, i: usize) -> Step<usize> {
        match self.byte(i + 1)? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Ok(2),
            b'u' => {
                for k in i + 2..i + 6 {
                    if !self.byte(k)?.is_ascii_hexdigit() {
                        return Err(self.invalid("bad \\u escape"));
                    }
                }
                Ok(6)
            }
            _ => Err(self.invalid("bad escape")),
        }
    }

    fn literal(&mut self, word: &[u8], bit: u16) -> Step<u16> {
        let end = self.i + word.len();
        let got = self.b.get(self.i..end);
        match got {
            Some(w) if w == word => {
                self.i = end;
                Ok(bit)
            }
            // A prefix cut by the end of the bytes is incomplete, not wrong.
            None if word.starts_with(&self.b[self.i..]) => Err(Stop::Incomplete),
            _ => Err(self.invalid("expected a value")),
        }
    }

    /// Consumes a number, checking JSON's grammar (`-?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?`):
    /// arrow-json accepts text such as `-12+34` or `007` and decodes something from it.
    fn number(&mut self) -> Step<u16> {
        let start = self.i;
        let mut i = start + usize::from(self.b[start] == b'-');
        let int_start = i;
        i = self.digits(i)?;
        let leading_zero = self.b[int_start] == b'0' && i - int_start > 1;
        if i == int_start || leading_zero {
            return Err(self.invalid("bad number"));
        }
        let mut float = false;
        if self.byte(i)? == b'.' {
            let frac = i + 1;
            i = self.digits(frac)?;
            if i == frac {
                return Err(self.invalid("bad number"));
            }
            float = true;
        }
        if matches!(self.byte(i)?, b'e' | b'E') {
            i += 1;
            if matches!(self.byte(i)?, b'+' | b'-') {
                i += 1;
            }
            let exp = i;
            i = self.digits(exp)?;
            if i == exp {
                return Err(self.invalid("bad number"));
            }
            float = true;
        }
        self.i = i;
        if float {
            return Ok(float_bits(&self.b[start..i]));
        }
        // 15 digits are always within ±2^53; only longer ones need the exact value.
        let text = &self.b[start..i];
        if text.len() <= 15 {
            return Ok(bits::INT);
        }
        Ok(integer_bits(text))
    }

    /// The byte at `i`; running out of bytes mid-number means the row is incomplete.
    fn byte(&self, i: usize) -> Step<u8> {
        self.b.get(i).copied().ok_or(Stop::Incomplete)
    }

    /// The end of the run of ASCII digits from `i`.
    fn digits(&self, mut i: usize) -> Step<usize> {
        while self.byte(i)?.is_ascii_digit() {
            i += 1;
        }
        Ok(i)
    }

    #[cold]
    /// Whether `NaN`, `Infinity` or `-Infinity` stands here: words a float serializer writes
    /// that JSON has not (outside trial 97 L2: told as a body that is not JSON at all).
    fn at_float_word(&self) -> bool {
        let rest = &self.b[self.i..];
        [&b"NaN"[..], b"Infinity", b"-Infinity"]
            .iter()
            .any(|word| rest.starts_with(word))
    }

    fn invalid(&self, what: &str) -> Stop {
        let near = cut_marked(&self.b[self.i..], 40);
        Stop::Invalid(format!("{what} at `{near}`"))
    }
}

/// At most `limit` bytes of `bytes` as text, with `…` where they were cut.
#[cold]
pub(crate) fn cut_marked(bytes: &[u8], limit: usize) -> String {
    cut_marked_as(bytes, limit, |kept| {
        String::from_utf8_lossy(kept).into_owned()
    })
}

/// At most `limit` bytes of `bytes` as `render` shows them, with `…` where they were cut: the
/// one place the decoder's excerpts mark their cuts, so that the key redaction knows where a
/// piece of a key may have been cut off (outside trial 40 F1).
#[cold]
pub(crate) fn cut_marked_as(
    bytes: &[u8],
    limit: usize,
    render: impl Fn(&[u8]) -> String,
) -> String {
    let shown = render(&bytes[..bytes.len().min(limit)]);
    match bytes.len() > limit {
        true => format!("{shown}…"),
        false => shown,
    }
}

#[cold]
fn unescape(key: &[u8]) -> Step<String> {
    let mut quoted = Vec::with_capacity(key.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(key);
    quoted.push(b'"');
    serde_json::from_slice(&quoted).map_err(|e| Stop::Invalid(format!("bad key: {e}")))
}

/// `DATE` for `YYYY-MM-DD`, `TS` for `YYYY-MM-DD HH:MM:SS[.fff|.ffffff]` (see [`dated`]), else
/// `STR`.
///
/// The calendar and the clock are checked, so a column typed by this never fails to decode.
pub(crate) fn date_kind(s: &[u8]) -> u16 {
    dated(s).0
}

/// [`date_kind`] of `s`, with the days since 1970-01-01 of its date when it is `DATE` or `TS`
/// (0 for `STR`): the fast decoder needs both, and the date is parsed once.
///
/// A string is a date or a time only when every way converz writes that value back spells it
/// byte for byte as it came, so that `fetch` then `push` (of a frame, or of a file `fetch -o`
/// wrote) sends the text the server holds (outside trial 17 F6: `2025-01-01T10:00:00` came back
/// as `2025-01-01 10:00:00`, `.5` as `.500000`). CSV and NDJSON files write a time with chrono's
/// `%.f` (`write::sink::TIMESTAMP_FORMAT`; an NDJSON string is pushed back as that text), and a
/// push of a timestamp writes its fraction the same way (`encode::values`): none when it is
/// zero, three digits when it is whole milliseconds, else six. So those are the times: `.123`
/// and `.123456` are, `.123000`, `.000`, `.5`, nine digits, a `T` and a zone are text, as sent.
/// A date is written `YYYY-MM-DD` everywhere.
#[inline]
pub(crate) fn dated(s: &[u8]) -> (u16, i32) {
    let Some(days) = super::civil::date_days(s) else {
        return (bits::STR, 0);
    };
    // `%.f`'s fraction: three digits, or six, whose last three are not all zero.
    let fraction = |s: &[u8]| {
        s[19] == b'.' && s[20..].iter().all(u8::is_ascii_digit) && &s[s.len() - 3..] != b"000"
    };
    let clock = match s.len() {
        10 => return (bits::DATE, days),
        19 => true,
        23 | 26 => fraction(s),
        _ => false,
    };
    let time_ok = clock && s[10] == b' ' && super::civil::clock_seconds(&s[11..]).is_some();
    if time_ok {
        (bits::TS, days)
    } else {
        (bits::STR, 0)
    }
}

/// The bits of a JSON float literal (grammar checked): `FLOAT`, or `HUGE` when Float64 would
/// hold it as infinity, or `CHANGED` when it would hold it as another number: the rule of
/// `schema=` and of a push (`forced::float_change`). Most literals are told apart at a glance
/// and never parsed here.
pub(crate) fn float_bits(text: &[u8]) -> u16 {
    if forced::float64_keeps_at_a_glance(text) {
        return bits::FLOAT;
    }
    float_bits_closer(text)
}

#[cold]
fn float_bits_closer(text: &[u8]) -> u16 {
    let change = std::str::from_utf8(text)
        .ok()
        .and_then(|number| forced::float_change(number, false));
    match change {
        None => bits::FLOAT,
        Some(forced::FloatChange::Infinite) => bits::HUGE,
        Some(_) => bits::CHANGED,
    }
}

/// The bits of an integer that fits `i64`: `INT`, with `WIDE` beyond ±2^53.
/// What the classifier makes of an integer literal (`-?digits`, as `number` reads it):
/// `INT` (with `WIDE` past ±2^53), or `BIGINT` beyond int64, which the fetch keeps as text.
pub(crate) fn integer_bits(text: &[u8]) -> u16 {
    let value = std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse::<i64>().ok());
    value.map_or(bits::BIGINT, int_bits)
}

/// Whether `text` is an integer literal as JSON writes one: `-?` then digits without a
/// leading zero (`number` refuses `0123`).
pub(crate) fn is_integer_literal(text: &[u8]) -> bool {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    !digits.is_empty()
        && digits.iter().all(u8::is_ascii_digit)
        && !(digits.len() > 1 && digits[0] == b'0')
}

pub(crate) fn int_bits(value: i64) -> u16 {
    if value.unsigned_abs() > 1 << 53 {
        bits::INT | bits::WIDE
    } else {
        bits::INT
    }
}
