//! `inflate`: members, header fields, every way a stream can be cut or extended, the limit,
//! and a differential check against flate2's own multi-member reader.

use std::io::{Read, Write};

use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};
use proptest::prelude::*;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_ENCODING};

use super::*;

fn gz(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn sample(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| b"{\"call_id\":,\"rep\":\"kees500\"}"[i % 28] ^ (i / 997) as u8)
        .collect()
}

fn broken_message(result: Result<Vec<u8>, InflateError>) -> String {
    match result {
        Err(InflateError::Broken(message)) => message,
        other => panic!("expected a broken stream, got {other:?}"),
    }
}

#[test]
fn one_member_inflates_exactly() {
    let data = sample(300_000);
    assert_eq!(gunzip(&gz(&data), usize::MAX).unwrap(), data);
    assert_eq!(gunzip(&gz(b""), 0).unwrap(), b"");
}

#[test]
fn several_members_inflate_to_their_concatenation() {
    let (a, b, c) = (sample(70_000), b"".to_vec(), sample(5));
    let body = [gz(&a), gz(&b), gz(&c)].concat();
    assert_eq!(gunzip(&body, usize::MAX).unwrap(), [a, b, c].concat());
}

#[test]
fn optional_header_fields_are_skipped() {
    let data = sample(10_000);
    let mut encoder = GzBuilder::new()
        .filename("page.json")
        .comment("a comment")
        .extra(vec![1, 2, 3, 4])
        .write(Vec::new(), Compression::fast());
    encoder.write_all(&data).unwrap();
    let body = encoder.finish().unwrap();
    assert_eq!(gunzip(&body, usize::MAX).unwrap(), data);
}

/// A member with FHCRC set: the header's CRC-16 (low half of its CRC-32) inserted by hand.
fn with_header_crc(member: &[u8], corrupt: bool) -> Vec<u8> {
    let mut header = member[..10].to_vec();
    header[3] |= 0x02;
    let mut crc = Crc::new();
    crc.update(&header);
    let mut sum = (crc.sum() as u16).to_le_bytes();
    if corrupt {
        sum[0] ^= 1;
    }
    [&header[..], &sum, &member[10..]].concat()
}

#[test]
fn a_header_crc_is_checked() {
    let data = sample(1_000);
    let member = gz(&data);
    assert_eq!(
        gunzip(&with_header_crc(&member, false), usize::MAX).unwrap(),
        data
    );
    let message = broken_message(gunzip(&with_header_crc(&member, true), usize::MAX));
    assert!(message.contains("header fails its CRC"), "{message}");
}

#[test]
fn every_cut_of_the_stream_is_an_error() {
    let first = gz(&sample(3_000));
    let body = [first.clone(), gz(&sample(50))].concat();
    // Cut anywhere but at the end of the first member, where the body is one whole member.
    for end in (0..body.len()).filter(|&end| end != first.len()) {
        assert!(
            matches!(
                gunzip(&body[..end], usize::MAX),
                Err(InflateError::Broken(_))
            ),
            "a body cut at {end} of {} bytes was accepted",
            body.len()
        );
    }
}

#[test]
fn bytes_after_the_stream_are_an_error_unless_zero_padding() {
    let data = sample(2_000);
    let body = gz(&data);
    for padding in [1, 4, 512] {
        let padded = [&body[..], &vec![0; padding]].concat();
        assert_eq!(
            gunzip(&padded, usize::MAX).unwrap(),
            data,
            "{padding} zero bytes"
        );
    }
    for tail in [&b"\0\0x"[..], b"garbage", b"\n", b"\x1f", b"\0\x1f\x8b"] {
        let message = broken_message(gunzip(&[&body[..], tail].concat(), usize::MAX));
        let expected = format!("{} bytes follow", tail.len());
        assert!(message.contains(&expected), "{message}");
    }
    // Bytes that begin like a member but are not a whole one are a cut member.
    let message = broken_message(gunzip(&[&body[..], b"\x1f\x8b\x08"].concat(), usize::MAX));
    assert!(message.contains("cut off"), "{message}");
}

#[test]
fn a_wrong_crc_or_length_is_an_error() {
    let data = sample(4_000);
    let mut body = gz(&data);
    let n = body.len();
    body[n - 8] ^= 0x40;
    assert!(broken_message(gunzip(&body, usize::MAX)).contains("CRC-32"));
    body[n - 8] ^= 0x40;
    body[n - 4] ^= 0x01;
    assert!(broken_message(gunzip(&body, usize::MAX)).contains("length"));
}

#[test]
fn corrupt_data_and_other_formats_are_errors() {
    let mut body = gz(&sample(4_000));
    body[12] ^= 0xff;
    body[13] ^= 0xff;
    assert!(gunzip(&body, usize::MAX).is_err());
    assert!(broken_message(gunzip(b"[1,2,3]", usize::MAX)).contains("not gzip"));
    assert!(broken_message(gunzip(b"", usize::MAX)).contains("empty"));
    let mut other_method = gz(b"x");
    other_method[2] = 9;
    assert!(broken_message(gunzip(&other_method, usize::MAX)).contains("method"));
}

#[test]
fn the_limit_counts_inflated_bytes() {
    let data = sample(100_000);
    let body = gz(&data);
    assert_eq!(gunzip(&body, data.len()).unwrap(), data);
    assert_eq!(gunzip(&body, data.len() - 1), Err(InflateError::TooLarge));
    // Two members whose sum passes the limit though each is under it.
    let two = [gz(&data), gz(&data)].concat();
    assert_eq!(
        gunzip(&two, data.len() * 2 - 1),
        Err(InflateError::TooLarge)
    );
}

#[test]
fn a_lying_size_trailer_allocates_nothing_large() {
    let mut body = gz(b"[]");
    let n = body.len();
    body[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(size_hint(&body, usize::MAX) <= n * MAX_DEFLATE_RATIO);
    assert!(broken_message(gunzip(&body, usize::MAX)).contains("length"));
}

#[test]
fn an_error_body_prefix_inflates_as_far_as_it_goes() {
    let text = sample(50_000);
    let body = gz(&text);
    assert_eq!(gunzip_prefix(&body, 100), (text[..100].to_vec(), true));
    assert_eq!(gunzip_prefix(&body, usize::MAX), (text.to_vec(), true));
    // Cut off: what inflated, and a flag saying the stream did not end (outside trial 18).
    let (cut, whole) = gunzip_prefix(&body[..body.len() / 2], usize::MAX);
    assert!(!cut.is_empty() && text.starts_with(&cut) && !whole);
    assert!(gunzip_prefix(b"not gzip", 100).0.is_empty());
}

fn headers(values: &[&str]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for value in values {
        map.append(CONTENT_ENCODING, HeaderValue::from_str(value).unwrap());
    }
    map
}

#[test]
fn the_coding_token_is_case_insensitive_and_x_gzip_is_gzip() {
    for gzip in [
        "gzip",
        "GZIP",
        "Gzip",
        " gzip ",
        "x-gzip",
        "X-GZIP",
        "identity, gzip",
    ] {
        assert_eq!(coding(&headers(&[gzip])), Ok(Coding::Gzip), "{gzip}");
    }
    assert_eq!(coding(&headers(&[])), Ok(Coding::Identity));
    assert_eq!(coding(&headers(&["identity"])), Ok(Coding::Identity));
    assert_eq!(coding(&headers(&["IDENTITY", ""])), Ok(Coding::Identity));
    for other in [&["br"][..], &["deflate"], &["gzip, gzip"], &["gzip", "br"]] {
        let message = coding(&headers(other)).unwrap_err();
        assert!(message.contains("only gzip"), "{message}");
    }
}

#[test]
fn a_huge_coding_is_quoted_bounded() {
    // A hostile server's header value can be as long as the head allows: the message quotes
    // its beginning only (outside trial 18: it was quoted whole).
    let huge = format!("br{}", ", x".repeat(50_000));
    let message = coding(&headers(&[&huge])).unwrap_err();
    assert!(
        message.starts_with("the response's Content-Encoding is \"br, x, x"),
        "{message}"
    );
    assert!(
        message.contains("…\": only gzip is understood"),
        "{message}"
    );
    assert!(message.len() < 300, "{} chars", message.len());
    // A short one is quoted whole, as before.
    let short = coding(&headers(&["br"])).unwrap_err();
    assert_eq!(
        short,
        "the response's Content-Encoding is \"br\": only gzip is understood"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any split of any data into members inflates to the data, as flate2's multi-member
    /// reader says too.
    #[test]
    fn members_agree_with_flate2(
        data in proptest::collection::vec(any::<u8>(), 0..20_000),
        cuts in proptest::collection::vec(any::<usize>(), 0..4),
        level in 0u32..10,
    ) {
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
        bounds.push(0);
        bounds.push(data.len());
        bounds.sort_unstable();
        let body: Vec<u8> = bounds
            .windows(2)
            .flat_map(|w| {
                let mut e = GzEncoder::new(Vec::new(), Compression::new(level));
                e.write_all(&data[w[0]..w[1]]).unwrap();
                e.finish().unwrap()
            })
            .collect();
        let mut reference = Vec::new();
        flate2::read::MultiGzDecoder::new(&body[..]).read_to_end(&mut reference).unwrap();
        prop_assert_eq!(&reference, &data);
        prop_assert_eq!(gunzip(&body, usize::MAX).unwrap(), data);
    }
}

/// `body` fed to a [`Gunzip`] in pieces ending at `splits`, its pieces joined.
fn streamed(body: &[u8], splits: &[usize], limit: usize) -> Result<Vec<u8>, InflateError> {
    let mut stream = Gunzip::new(limit);
    let mut pieces = Vec::new();
    let mut start = 0;
    for &end in splits.iter().chain([&body.len()]) {
        let end = end.clamp(start, body.len());
        stream.push(&body[start..end], &mut pieces)?;
        start = end;
    }
    stream.finish(&mut pieces)?;
    Ok(pieces.concat())
}

#[test]
fn a_body_fed_byte_by_byte_inflates_as_a_whole_one() {
    let data = sample(40_000);
    let body = [gz(&data), gz(b"x"), vec![0; 3]].concat();
    let every_byte: Vec<usize> = (1..body.len()).collect();
    assert_eq!(
        streamed(&body, &every_byte, usize::MAX).unwrap(),
        [&data[..], b"x"].concat()
    );
    let cut = &body[..body.len() - 20];
    assert_eq!(
        streamed(cut, &every_byte, usize::MAX),
        gunzip(cut, usize::MAX)
    );
}

#[test]
fn inflated_bytes_come_out_as_buffers_fill() {
    let data = sample(3 * PIECE + 10);
    let body = gz(&data);
    let mut stream = Gunzip::new(usize::MAX);
    let mut pieces = Vec::new();
    stream.push(&body, &mut pieces).unwrap();
    // Before the end every buffer handed on is full; the rest comes with `finish`.
    assert_eq!(pieces.len(), 3);
    assert!(pieces.iter().all(|piece| piece.len() == PIECE));
    stream.finish(&mut pieces).unwrap();
    assert_eq!(pieces.concat(), data);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// However a body is split as it arrives, streaming gives what the whole body gives: the
    /// same bytes, or the same error (cut, corrupt, trailing bytes, over the limit).
    #[test]
    fn any_split_gives_the_whole_body_result(
        data in proptest::collection::vec(any::<u8>(), 0..6_000),
        members in 1usize..4,
        damage in 0u8..5,
        at in any::<usize>(),
        splits in proptest::collection::vec(any::<usize>(), 0..12),
        limit_cut in any::<bool>(),
    ) {
        let step = data.len() / members + 1;
        let mut body: Vec<u8> = data.chunks(step).flat_map(gz).collect();
        if body.is_empty() {
            body = gz(b"");
        }
        let at = at % body.len();
        match damage {
            1 => body.truncate(at),
            2 => body[at] ^= 0x5a,
            3 => body.extend_from_slice(&[0, 0, 7][..1 + at % 3]),
            4 => body.extend_from_slice(&vec![0; 1 + at % 40]),
            _ => {}
        }
        let limit = if limit_cut { data.len().saturating_sub(1 + at % 50) } else { usize::MAX };
        let mut splits: Vec<usize> = splits.iter().map(|s| s % (body.len() + 1)).collect();
        splits.sort_unstable();
        prop_assert_eq!(streamed(&body, &splits, limit), gunzip(&body, limit));
    }
}
