//! Token extraction and multipart parsing on arbitrary input, with the body split into
//! arbitrary chunks. Run it with `just fuzz` (a bounded time).

#![no_main]

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::{FutureExt, stream};
use hooktail::http::multipart;
use hooktail::http::receive::token_outside_body;
use hyper::HeaderMap;
use hyper::header::HeaderValue;
use libfuzzer_sys::fuzz_target;

const BOUNDARY: &str = "XyZ";

/// Takes a length-prefixed piece off the front of `rest`.
fn take<'a>(rest: &mut &'a [u8]) -> &'a [u8] {
    let Some((&n, tail)) = rest.split_first() else {
        return &[];
    };
    let n = (n as usize).min(tail.len());
    let (head, tail) = tail.split_at(n);
    *rest = tail;
    head
}

fuzz_target!(|data: &[u8]| {
    // Layout: [header len][header bytes][query len][query bytes][split count][splits…][body]
    let mut rest = data;
    let header = take(&mut rest);
    let query = take(&mut rest);
    let splits = take(&mut rest).to_vec();
    let body = rest;

    // Token extraction: the header wins, and nothing panics on odd bytes.
    let mut headers = HeaderMap::new();
    let header_ok = HeaderValue::from_bytes(header)
        .map(|v| headers.insert("token", v))
        .is_ok();
    let query: Vec<(String, String)> = form_urlencoded::parse(query).into_owned().collect();
    let token = token_outside_body(&headers, &query);
    if header_ok && let Ok(token) = &token {
        assert_eq!(token.as_deref(), Some(&*String::from_utf8_lossy(header)));
    }

    // The body arrives as a stream of arbitrary chunks, as off the wire: multer must give the
    // same result as for the whole body in one chunk, which is how the receiver feeds it.
    let mut chunks = Vec::new();
    let mut at = 0;
    for s in splits {
        let end = (at + s as usize).min(body.len());
        chunks.push(Bytes::copy_from_slice(&body[at..end]));
        at = end;
    }
    chunks.push(Bytes::copy_from_slice(&body[at..]));
    let limit = body.len() as u64;
    let whole = Bytes::copy_from_slice(body);
    let whole =
        multipart::parse_stream(stream::iter([Ok::<_, Infallible>(whole)]), limit, BOUNDARY)
            .now_or_never()
            .expect("parsing an in-memory body never waits");
    let split = multipart::parse_stream(stream::iter(chunks.into_iter().map(Ok)), limit, BOUNDARY)
        .now_or_never()
        .expect("parsing an in-memory body never waits");
    assert_eq!(
        format!("{whole:?}"),
        format!("{split:?}"),
        "chunking changed the result"
    );
    if let Ok(parsed) = &whole {
        let files: u64 = parsed.files.iter().map(|f| f.size).sum();
        assert!(files <= body.len() as u64);
    }

    // The receiver's own entry point (part headers checked, then multer) must not panic.
    let _ = multipart::parse(Bytes::copy_from_slice(body), BOUNDARY).now_or_never();
});
