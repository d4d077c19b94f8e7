//! Whether bytes cut at offsets are text: the one check that a string column's values are
//! each valid UTF-8, shared by the decoder (which builds arrays without arrow's own check) and
//! the push (which refuses what arrow would send as invalid JSON text).
//!
//! One pass of simdutf8 over the bytes the offsets span (SIMD, picked at run time, so a
//! baseline x86-64 or aarch64 wheel still runs), then a look at the first byte of each value
//! that has bytes: a byte of the form 10xxxxxx continues a character, so a value starting on
//! one splits that character with the value before it. Valid bytes in which every non-empty
//! value starts a character are valid values, each on its own (and an empty value is text
//! wherever it points).

use arrow_array::OffsetSizeTrait;

/// What [`check`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Every value's bytes are valid UTF-8.
    Text,
    /// The offsets decrease, or the last one lies past the bytes: no value can be read safely.
    BadLayout,
    /// Some value's bytes are not UTF-8 on their own.
    NotUtf8,
}

/// Checks `bytes` cut at `offsets` (one more offset than values, at least one).
pub fn check<O: OffsetSizeTrait>(bytes: &[u8], offsets: &[O]) -> Cut {
    let (Some(first), Some(last)) = (offsets.first(), offsets.last()) else {
        return Cut::BadLayout;
    };
    let (first, last) = (first.as_usize(), last.as_usize());
    if offsets.windows(2).any(|w| w[0] > w[1]) || first > last || last > bytes.len() {
        return Cut::BadLayout;
    }
    if simdutf8::basic::from_utf8(&bytes[first..last]).is_err() {
        return Cut::NotUtf8;
    }
    let starts_inside_a_character = |w: &[O]| w[0] != w[1] && bytes[w[0].as_usize()] & 0xC0 == 0x80;
    if offsets.windows(2).any(starts_inside_a_character) {
        return Cut::NotUtf8;
    }
    Cut::Text
}

/// Checks the views of one string view column whose long values all lie in `data` (buffer 0),
/// as the decoder builds them: a value of up to 12 bytes is read in its view (ASCII told by one
/// mask, anything else checked on its own); the long ones by one pass over `data` and a look at
/// each one's first byte, as [`check`] does with offsets. Views past `data`, or a prefix that is
/// not the value's first four bytes, are a bad layout.
pub fn check_views(views: &[u128], data: &[u8]) -> Cut {
    /// The high bit of each byte a short value keeps in its view (bytes 4 to 15).
    const HIGH_BITS: u128 = 0x8080_8080_8080_8080_8080_8080 << 32;
    let data_is_text = simdutf8::basic::from_utf8(data).is_ok();
    // A bad layout is told over every view first, as `check` tells it before any UTF-8.
    let mut text = true;
    for &view in views {
        let len = view as u32 as usize;
        if len <= 12 {
            if view & HIGH_BITS != 0 {
                let inline = view.to_le_bytes();
                text &= std::str::from_utf8(&inline[4..4 + len]).is_ok();
            }
            continue;
        }
        let at = arrow_data::ByteView::from(view);
        let start = at.offset as usize;
        let Some(bytes) = data
            .get(start..start + len)
            .filter(|_| at.buffer_index == 0)
        else {
            return Cut::BadLayout;
        };
        if bytes[..4] != at.prefix.to_le_bytes() {
            return Cut::BadLayout;
        }
        text &= data_is_text && bytes[0] & 0xC0 != 0x80;
    }
    if text {
        Cut::Text
    } else {
        Cut::NotUtf8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The reference: every value on its own through the standard library.
    fn reference(bytes: &[u8], offsets: &[i64]) -> Cut {
        let ascending = offsets.windows(2).all(|w| w[0] <= w[1]);
        if offsets.is_empty()
            || !ascending
            || offsets.iter().any(|&o| o < 0 || o as usize > bytes.len())
        {
            return Cut::BadLayout;
        }
        let each = offsets
            .windows(2)
            .all(|w| std::str::from_utf8(&bytes[w[0] as usize..w[1] as usize]).is_ok());
        if each {
            Cut::Text
        } else {
            Cut::NotUtf8
        }
    }

    #[test]
    fn a_character_split_between_two_values_is_not_text() {
        let bytes = "é".as_bytes();
        assert_eq!(check(bytes, &[0i32, 2]), Cut::Text);
        assert_eq!(check(bytes, &[0i32, 1, 2]), Cut::NotUtf8);
        assert_eq!(check(bytes, &[0i64, 1]), Cut::NotUtf8);
    }

    #[test]
    fn offsets_that_decrease_or_pass_the_bytes_are_a_bad_layout() {
        assert_eq!(check(b"abc", &[0i32, 2, 1]), Cut::BadLayout);
        assert_eq!(check(b"abc", &[0i32, 4]), Cut::BadLayout);
        assert_eq!(check::<i32>(b"abc", &[]), Cut::BadLayout);
        assert_eq!(check(b"abc", &[3i32]), Cut::Text, "no values");
    }

    #[test]
    fn an_empty_value_inside_a_character_is_text() {
        assert_eq!(check("é".as_bytes(), &[1i32, 1]), Cut::Text);
        assert_eq!(check("éa".as_bytes(), &[1i32, 1, 1]), Cut::Text);
    }

    #[test]
    fn bytes_outside_the_values_are_not_read() {
        assert_eq!(check(b"\xffab\xff", &[1i32, 2, 3]), Cut::Text);
    }

    proptest! {
        /// Agrees with checking each value alone, over text cut anywhere (inside characters
        /// too), with stray bytes and offsets out of order or out of range.
        #[test]
        fn agrees_with_each_value_checked_alone(
            text in "[a-zé€😀\u{80}]{0,12}",
            stray in proptest::collection::vec((0usize..40, any::<u8>()), 0..2),
            cuts in proptest::collection::vec(0i64..45, 1..8),
            sort in any::<bool>(),
        ) {
            let mut bytes = text.into_bytes();
            for (at, byte) in stray {
                if at < bytes.len() {
                    bytes[at] = byte;
                }
            }
            let mut offsets = cuts;
            if sort {
                offsets.sort_unstable();
            }
            let expected = reference(&bytes, &offsets);
            prop_assert_eq!(check(&bytes, &offsets), expected);
            if let Ok(narrow) = offsets.iter().map(|&o| i32::try_from(o)).collect::<Result<Vec<_>, _>>() {
                prop_assert_eq!(check(&bytes, &narrow), expected);
            }
        }

        /// Views built as the decoder builds them (short values inline, long ones side by side
        /// in one buffer) agree with checking each value alone, over text cut anywhere; a view
        /// moved past the buffer or given another prefix is a bad layout.
        #[test]
        fn views_agree_with_each_value_checked_alone(
            text in "[a-zé€😀\u{80}]{0,40}",
            stray in proptest::collection::vec((0usize..160, any::<u8>()), 0..2),
            mut cuts in proptest::collection::vec(0usize..160, 1..8),
            break_layout in 0u8..3,
        ) {
            let mut bytes = text.into_bytes();
            for (at, byte) in stray {
                if at < bytes.len() {
                    bytes[at] = byte;
                }
            }
            cuts.push(0);
            cuts.push(bytes.len());
            cuts.iter_mut().for_each(|c| *c = (*c).min(bytes.len()));
            cuts.sort_unstable();
            let (mut views, mut data) = (Vec::new(), Vec::new());
            for w in cuts.windows(2) {
                let value = &bytes[w[0]..w[1]];
                let start = data.len();
                data.extend_from_slice(value);
                views.push(arrow_array::builder::make_view(&data[start..], 0, start as u32));
                if value.len() <= 12 {
                    data.truncate(start);
                }
            }
            let offsets: Vec<i64> = cuts.iter().map(|&c| c as i64).collect();
            let expected = reference(&bytes, &offsets);
            prop_assert_eq!(check_views(&views, &data), expected);
            let long = views.iter().position(|&v| v as u32 > 12);
            if let (Some(k), true) = (long, break_layout > 0) {
                let mut view = arrow_data::ByteView::from(views[k]);
                if break_layout == 1 {
                    view.offset = data.len() as u32;
                } else {
                    view.prefix ^= 1;
                }
                views[k] = view.as_u128();
                prop_assert_eq!(check_views(&views, &data), Cut::BadLayout);
            }
        }
    }
}
