//! A CSV or NDJSON file pushed sends each value as the file writes it, or is refused before
//! any request: the bodies the push would send, from the file's batches (outside trial 18,
//! F11 and F6). The same values as CSV and as NDJSON send the same body.

use serde_json::{json, Value};

use super::read_file;
use crate::encode::{EncoderOptions, PushPlan, Target};

/// A temporary file holding `text`, removed on drop.
struct File(std::path::PathBuf);

impl File {
    fn new(name: &str, text: &str) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("converz-sent-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        Self(path)
    }
}

impl Drop for File {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.0.parent().unwrap());
    }
}

/// The one body a push of `text` (a file named `name`) sends, or the refusal's message.
fn sent(name: &str, text: &str) -> Result<Value, String> {
    let file = File::new(name, text);
    let (_, batches) = read_file(&file.0, &[], None).map_err(|e| {
        assert!(matches!(e, crate::Error::InvalidParameter { .. }), "{e}");
        e.to_string()
    })?;
    let plan = PushPlan::new(batches, EncoderOptions::new(Target::Calls)).unwrap();
    assert_eq!(plan.chunks().len(), 1);
    Ok(serde_json::from_slice(&plan.encode(0).unwrap()).unwrap())
}

/// F11: JSON `true` and `1` in one column were sent as the strings "true" and "1".
#[test]
fn an_ndjson_column_of_booleans_and_numbers_is_refused_naming_a_line_of_each() {
    for (b1, b2) in [("true", "1"), ("false", "0.5"), ("1", "true")] {
        let text = format!(
            "{{\"call_id\":1,\"b\":{b1}}}\n{{\"call_id\":2,\"b\":null}}\n{{\"call_id\":3,\"b\":{b2}}}\n"
        );
        let err = sent("b.ndjson", &text).unwrap_err();
        let (boolean, number) = match b1 == "1" {
            true => ((3, b2), (1, b1)),
            false => ((1, b1), (3, b2)),
        };
        for part in [
            "column `b` of ".to_owned(),
            format!("booleans (line {}: {})", boolean.0, boolean.1),
            format!("numbers (line {}: {})", number.0, number.1),
            "--schema b:string".to_owned(),
        ] {
            assert!(err.contains(&part), "{part}: {err}");
        }
    }
    // One kind of value, with nulls, is sent as it is.
    let text = "{\"call_id\":1,\"b\":true}\n{\"call_id\":2,\"b\":null}\n";
    assert_eq!(
        sent("b.ndjson", text).unwrap(),
        json!({"call_id": [1, 2], "b": [true, null]})
    );
}

/// The same values as CSV: each alone in a column is read as its type, so a column of both
/// is refused as the NDJSON one is; a column that also holds text, or whose every value is
/// quoted, is text, as written.
#[test]
fn a_csv_column_of_two_kinds_of_value_and_nothing_else_is_refused() {
    for (values, kinds) in [
        (
            ["true", "1"],
            ["booleans (line 2: true)", "numbers (line 3: 1)"],
        ),
        (
            ["0.5", "FALSE"],
            ["numbers (line 2: 0.5)", "booleans (line 3: FALSE)"],
        ),
        (
            ["2026-01-05", "7"],
            ["dates or times (line 2: 2026-01-05)", "numbers (line 3: 7)"],
        ),
    ] {
        let text = format!("call_id,b\n1,{}\n2,{}\n3,NA\n", values[0], values[1]);
        let err = sent("b.csv", &text).unwrap_err();
        for part in [kinds[0], kinds[1], "column `b` of ", "--schema b:string"] {
            assert!(err.contains(part), "{part}: {err}");
        }
    }
    let text = "call_id,b\n1,true\n2,1\n3,abc\n";
    assert_eq!(
        sent("b.csv", text).unwrap(),
        json!({"call_id": [1, 2, 3], "b": ["true", "1", "abc"]})
    );
    let text = "call_id,b\n1,\"true\"\n2,\"1\"\n";
    assert_eq!(
        sent("b.csv", text).unwrap(),
        json!({"call_id": [1, 2], "b": ["true", "1"]})
    );
}

/// F6: a CSV date beside times was sent as its midnight, and a 7-digit fraction with 9; the
/// same values as NDJSON were sent as written. Both now send what the file holds.
#[test]
fn csv_dates_and_times_are_sent_as_written_as_ndjson_sends_them() {
    let cases: [&[&str]; 6] = [
        &["2025-01-01", "2025-01-02 10:00:00"],
        &["2025-01-01 10:00:00.1234567", "2025-01-01 10:00:00"],
        &["2025-01-01T10:00:00", "2025-01-01 10:00:00"],
        &["2025-01-01 10:00:00.5", "2025-01-01 10:00:00.250"],
        // Spelled as a push spells a time: kept as the time it is, sent the same.
        &[
            "2025-01-01 10:00:00.250",
            "2025-01-01 10:00:00",
            "2025-01-01 10:00:00.123456",
        ],
        &["2025-01-01", "2025-01-02"],
    ];
    for values in cases {
        let mut csv = "call_id,d\n".to_owned();
        let mut ndjson = String::new();
        for (i, v) in values.iter().enumerate() {
            csv.push_str(&format!("{},{v}\n", i + 1));
            ndjson.push_str(&format!("{{\"call_id\":{},\"d\":\"{v}\"}}\n", i + 1));
        }
        let ids: Vec<usize> = (1..=values.len()).collect();
        let expected = json!({"call_id": ids, "d": values});
        assert_eq!(sent("d.csv", &csv).unwrap(), expected, "{values:?}");
        assert_eq!(sent("d.ndjson", &ndjson).unwrap(), expected, "{values:?}");
    }
    // A word for a missing value in such a column is missing still, not the text `NA`.
    let text = "call_id,d\n1,2025-01-01\n2,NA\n3,2025-01-02 10:00:00\n";
    assert_eq!(
        sent("d.csv", text).unwrap(),
        json!({"call_id": [1, 2, 3], "d": ["2025-01-01", null, "2025-01-02 10:00:00"]})
    );
    // Times with a UTC offset name instants, sent on the tenant's wall clock (UTC here).
    let text = "call_id,d\n1,2025-01-01T10:00:00Z\n2,2025-01-02 10:00:00.5+02:00\n";
    assert_eq!(
        sent("d.csv", text).unwrap(),
        json!({"call_id": [1, 2], "d": ["2025-01-01 10:00:00", "2025-01-02 08:00:00.500"]})
    );
}

/// A key written twice in one NDJSON object was pushed with its last value, unsaid.
#[test]
fn an_ndjson_key_written_twice_in_one_line_is_refused() {
    let text = "{\"call_id\":1,\"x\":5}\n{\"call_id\":2,\"x\":1,\"x\":2}\n";
    let err = sent("x.ndjson", text).unwrap_err();
    for part in ["line 2 of ", "key \"x\" appears twice", "(1, then 2)"] {
        assert!(err.contains(part), "{part}: {err}");
    }
    // An escaped spelling of the same key is the same key.
    let text = "{\"call_id\":1,\"x\":1,\"\\u0078\":2}\n";
    assert!(sent("x.ndjson", text).unwrap_err().contains("key \"x\""));
    let text = "{\"call_id\":1,\"x\":1,\"y\":{\"x\":2}}\n";
    assert!(sent("x.ndjson", text).is_ok());
}
