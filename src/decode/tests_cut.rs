//! A body that ends inside the array says how many bytes arrived and where it ended, however
//! the body was split into chunks (the count once stayed 0 when the last chunk ended mid-row).

use super::tests::try_page;
use super::{DecodeOptions, FetchDecoder};
use crate::Error;

fn cut_message(body: &[u8], cuts: &[usize]) -> String {
    let fetch = FetchDecoder::new(DecodeOptions::default());
    match try_page(&fetch, body, cuts) {
        Err(Error::Transport { message, .. }) => message,
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[test]
fn a_cut_body_reports_every_byte_that_arrived_and_where_it_stopped() {
    let cases: [(&[u8], &str); 4] = [
        (
            br#"[{"call_id": 1, "rep_id": "kees500"}, {"call_"#,
            "inside a row",
        ),
        (br#"[{"call_id": 1}, {"call_id": 2},"#, "after a `,`"),
        (
            br#"[{"call_id": 1}, {"call_id": 2} "#,
            "before its closing `]`",
        ),
        (b"[", "before its closing `]`"),
    ];
    for (body, place) in cases {
        let want = format!("cut off after {} bytes, {place}", body.len());
        // One chunk, every two-chunk split and byte-by-byte chunks.
        let mut splits: Vec<Vec<usize>> = vec![vec![], (1..body.len()).collect()];
        splits.extend((1..body.len()).map(|c| vec![c]));
        for cuts in splits {
            let message = cut_message(body, &cuts);
            assert!(message.contains(&want), "{cuts:?}: {message}");
        }
    }
}
