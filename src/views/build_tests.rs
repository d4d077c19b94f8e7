//! `build`'s forms against arrow's own conversions of the same arrays, value for value and null
//! for null, on random columns: nulls (with and without bytes under them), empty strings,
//! lengths around the 12 inline bytes, multibyte UTF-8, and sliced arrays (offsets not at 0).

use arrow_array::{
    Array, GenericStringArray, LargeStringArray, OffsetSizeTrait, StringArray, StringViewArray,
};
use arrow_buffer::NullBuffer;
use proptest::collection::vec;
use proptest::prelude::*;

use super::build::{reoffset, strings_of_views, views};

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]{0,40}",
        // Two- to four-byte characters, so the 12th and 13th bytes fall inside some of them.
        "[a-zé€😀]{0,14}",
        // 11, 12 and 13 bytes: the last inline length and the first that is not.
        (11usize..14).prop_map(|n| "y".repeat(n)),
        Just(String::new()),
        "\\PC{0,20}",
    ]
}

/// Strings with whether each is valid, and a slice (start, len) of them to convert.
fn column() -> impl Strategy<Value = (Vec<(String, bool)>, usize, usize)> {
    vec((string(), proptest::bool::weighted(0.8)), 0..60).prop_flat_map(|rows| {
        let n = rows.len();
        (Just(rows), 0..=n)
            .prop_flat_map(move |(rows, start)| (Just(rows), Just(start), 0..=n - start))
    })
}

/// The rows as a string array twice: null slots empty (arrow's builder) and null slots still
/// over their bytes (an array with nulls laid over it), each sliced to `start..start + len`.
fn arrays<O: OffsetSizeTrait>(
    rows: &[(String, bool)],
    start: usize,
    len: usize,
) -> [GenericStringArray<O>; 2] {
    let built: GenericStringArray<O> = rows
        .iter()
        .map(|(s, valid)| valid.then_some(s.as_str()))
        .collect();
    let all: GenericStringArray<O> = rows.iter().map(|(s, _)| Some(s.as_str())).collect();
    let nulls = NullBuffer::from(rows.iter().map(|(_, v)| *v).collect::<Vec<_>>());
    let over = GenericStringArray::new(all.offsets().clone(), all.values().clone(), Some(nulls));
    [built.slice(start, len), over.slice(start, len)]
}

/// `views` of `strings` is arrow's, valid, and holds value bytes as the module says.
fn check_views<O: OffsetSizeTrait>(strings: &GenericStringArray<O>) {
    let mine = views(strings).expect("small arrays fit a view's offsets");
    mine.to_data().validate_full().unwrap();
    let reference = StringViewArray::from_iter(strings.iter());
    assert_eq!(mine, reference);
    assert!(mine.iter().eq(strings.iter()));
    assert_eq!(mine.logical_nulls(), strings.logical_nulls());

    let long: usize = strings
        .iter()
        .flatten()
        .map(str::len)
        .filter(|&n| n > 12)
        .sum();
    let held: Vec<usize> = mine.data_buffers().iter().map(|b| b.len()).collect();
    if long == 0 {
        assert!(held.is_empty(), "all short, yet {held:?} bytes kept");
    } else if long * 2 <= strings.values().len() {
        assert_eq!(held, [long], "compacted to the long strings");
    } else {
        assert_eq!(mine.data_buffers()[0].as_ptr(), strings.values().as_ptr());
        assert_eq!(held, [strings.values().len()], "the value buffer shared");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn views_are_arrows((rows, start, len) in column()) {
        for strings in arrays::<i32>(&rows, start, len) {
            check_views(&strings);
        }
        for strings in arrays::<i64>(&rows, start, len) {
            check_views(&strings);
        }
    }

    #[test]
    fn offsets_widen_and_narrow_as_arrows((rows, start, len) in column()) {
        for strings in arrays::<i32>(&rows, start, len) {
            let wide: LargeStringArray = reoffset(&strings).unwrap();
            wide.to_data().validate_full().unwrap();
            prop_assert_eq!(&wide, &LargeStringArray::from_iter(strings.iter()));
            prop_assert_eq!(wide.values().as_ptr(), strings.values().as_ptr());
            prop_assert_eq!(wide.len(), strings.len());
            let back: StringArray = reoffset(&wide).unwrap();
            back.to_data().validate_full().unwrap();
            prop_assert_eq!(&back, &strings);
            prop_assert_eq!(back.value_offsets(), strings.value_offsets());
        }
    }
}

#[test]
fn strings_at_the_end_of_the_buffer_take_arrows_view_maker() {
    // Fewer than 16 bytes after each of these starts: the views are made without the wide load.
    for tail in [
        "",
        "a",
        "twelve bytes",
        "thirteen byte",
        "fifteen bytes!!",
        "sixteen bytes!!!",
    ] {
        let strings = StringArray::from(vec![Some("x".repeat(20).as_str()), None, Some(tail)]);
        check_views(&strings);
        check_views(&strings.slice(2, 1));
    }
}

#[test]
fn empty_and_all_null_columns() {
    let empty = StringArray::from(Vec::<Option<&str>>::new());
    check_views(&empty);
    let nulls = StringArray::from(vec![None::<&str>; 5]);
    check_views(&nulls);
    let v = views(&nulls).unwrap();
    assert_eq!(v.null_count(), 5);
    assert!(v.views().iter().all(|&view| view == 0));
}

/// `strings_of_views` of views made from `strings` gives `strings`' values and nulls back, at
/// both widths, valid; it shares the value bytes exactly when `views` kept them whole.
fn check_back<O: OffsetSizeTrait>(strings: &GenericStringArray<O>) {
    let made = views(strings).expect("small arrays fit a view's offsets");
    let shared = made
        .data_buffers()
        .first()
        .is_some_and(|b| b.as_ptr() == strings.values().as_ptr());
    let narrow: StringArray = strings_of_views(&made).unwrap();
    let wide: LargeStringArray = strings_of_views(&made).unwrap();
    narrow.to_data().validate_full().unwrap();
    wide.to_data().validate_full().unwrap();
    assert!(narrow.iter().eq(strings.iter()));
    assert!(wide.iter().eq(strings.iter()));
    assert_eq!(narrow.logical_nulls(), strings.logical_nulls());
    // Shared only from views that kept the buffer whole and nulls with no bytes under them.
    let no_bytes_under_nulls =
        (0..strings.len()).all(|i| strings.is_valid(i) || strings.value_length(i).as_usize() == 0);
    if shared && no_bytes_under_nulls && strings.iter().flatten().any(|s| s.len() > 12) {
        let start = strings.value_offsets()[0].as_usize();
        assert_eq!(narrow.values().as_ptr(), strings.values()[start..].as_ptr());
    }
    // From views arrow made itself (nulls zeroed, nothing shared), as arrow casts them.
    let reference = StringViewArray::from_iter(strings.iter());
    let copied: StringArray = strings_of_views(&reference).unwrap();
    copied.to_data().validate_full().unwrap();
    assert!(copied.iter().eq(strings.iter()));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn views_go_back_to_strings((rows, start, len) in column()) {
        for strings in arrays::<i32>(&rows, start, len) {
            check_back(&strings);
        }
        for strings in arrays::<i64>(&rows, start, len) {
            check_back(&strings);
        }
    }
}

#[test]
fn views_out_of_order_are_copied_and_nulls_stay_null() {
    let a = "a string past twelve bytes".to_owned();
    let b = "another one past twelve".to_owned();
    let strings = StringArray::from(vec![Some(a.as_str()), Some(b.as_str())]);
    let made = views(&strings).unwrap();
    // The same two views swapped: each still points into the shared buffer, out of order.
    let swapped = StringViewArray::new(
        vec![made.views()[1], made.views()[0]].into(),
        made.data_buffers().to_vec(),
        None,
    );
    let back: StringArray = strings_of_views(&swapped).unwrap();
    back.to_data().validate_full().unwrap();
    assert_eq!(back, StringArray::from(vec![b.as_str(), a.as_str()]));
    assert_ne!(back.values().as_ptr(), strings.values().as_ptr());
    // A null slot whose view still holds a string: null either way, shared or copied.
    let nulls = NullBuffer::from(vec![true, false]);
    for order in [[0, 1], [1, 0]] {
        let over = StringViewArray::new(
            order.map(|i| made.views()[i]).to_vec().into(),
            made.data_buffers().to_vec(),
            Some(nulls.clone()),
        );
        let back: StringArray = strings_of_views(&over).unwrap();
        back.to_data().validate_full().unwrap();
        let first = [a.as_str(), b.as_str()][order[0]];
        assert_eq!(back, StringArray::from(vec![Some(first), None]));
    }
}
