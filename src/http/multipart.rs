//! Form bodies: guarded multipart parsing, and form-encoded parsing to exact bytes.
//!
//! The whole body is already in memory (its exact bytes are kept), so multer gets it as one
//! chunk: one linear scan, never the quadratic re-scans that small chunks cause. Before that,
//! every part header is checked to end within `MAX_PART_HEADER`.

use bytes::Bytes;
use memchr::memmem;

use crate::domain::{FileInfo, ParsedForm};

/// Most bytes one part's headers may take.
pub const MAX_PART_HEADER: usize = 8 * 1024;

/// Fields of a form-encoded body, each value percent-decoded to its exact bytes (`%FF` stays
/// one byte rather than becoming a replacement character).
pub fn parse_urlencoded(body: &[u8]) -> Result<ParsedForm, String> {
    if std::str::from_utf8(body).is_err() {
        return Err("malformed form body: it is not UTF-8".into());
    }
    let mut out = ParsedForm::default();
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match memchr::memchr(b'=', pair) {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        out.field(&String::from_utf8_lossy(&unescape(name)), &unescape(value));
    }
    Ok(out)
}

/// `+` is a space and `%XX` a byte; a `%` without two hex digits stays as it is.
fn unescape(s: &[u8]) -> Vec<u8> {
    let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => {
                if let (Some(h), Some(l)) = (hex(s.get(i + 1)), hex(s.get(i + 2))) {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

pub async fn parse(body: Bytes, boundary: &str) -> Result<ParsedForm, String> {
    check_part_headers(&body, boundary)?;
    let limit = body.len() as u64;
    let body = futures_util::stream::once(async move { Ok(body) });
    parse_stream(body, limit, boundary).await
}

/// multer over a body that arrives as a stream of chunks, at most `limit` bytes in all. The
/// receiver gives it the whole body as one chunk; the fuzz target checks that any other
/// split of the same bytes gives the same result.
pub async fn parse_stream<S>(body: S, limit: u64, boundary: &str) -> Result<ParsedForm, String>
where
    S: futures_util::Stream<Item = Result<Bytes, std::convert::Infallible>> + Send + 'static,
{
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(limit)
            .per_field(limit),
    );
    let mut mp = multer::Multipart::with_constraints(body, boundary, constraints);
    let mut out = ParsedForm::default();
    while let Some(field) = mp.next_field().await.map_err(|e| e.to_string())? {
        let name = field.name().unwrap_or_default().to_string();
        let filename = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(|m| m.to_string());
        let bytes = field.bytes().await.map_err(|e| e.to_string())?;
        match filename {
            Some(filename) => out.file(FileInfo {
                field: name,
                filename,
                content_type,
                size: bytes.len() as u64,
            }),
            None => out.field(&name, &bytes),
        }
    }
    Ok(out)
}

/// Refuses a part whose header block does not end within `MAX_PART_HEADER` bytes.
/// Linear: the search for the next header end resumes where the last one stopped.
fn check_part_headers(body: &[u8], boundary: &str) -> Result<(), String> {
    let delim = format!("--{boundary}");
    let mut header_end: Option<usize> = None;
    for pos in memmem::find_iter(body, delim.as_bytes()) {
        if pos != 0 && !body[..pos].ends_with(b"\r\n") {
            continue;
        }
        let start = pos + delim.len();
        if body[start..].starts_with(b"--") {
            return Ok(());
        }
        if header_end.is_none_or(|e| e < start) {
            header_end = memmem::find(&body[start..], b"\r\n\r\n").map(|i| start + i);
        }
        match header_end {
            None => return Err("a part header is not terminated".into()),
            Some(end) if end - start > MAX_PART_HEADER => {
                return Err(format!(
                    "a part header is longer than {MAX_PART_HEADER} bytes"
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FormValue;

    #[test]
    fn form_encoded_values_keep_their_exact_bytes() {
        let p = parse_urlencoded(b"a=x+y%21&b=%FF%01&c&d=100%&token=t&TOKEN=u").unwrap();
        assert_eq!(p.form["a"], FormValue::Text("x y!".into()));
        assert_eq!(
            p.form["b"],
            FormValue::Base64 {
                base64: "/wE=".into()
            }
        );
        assert_eq!(p.form["c"], FormValue::Text(String::new()));
        assert_eq!(p.form["d"], FormValue::Text("100%".into()));
        assert_eq!(
            (p.token.as_deref(), p.tokens, p.form.len()),
            (Some("t"), 1, 4)
        );
        assert!(parse_urlencoded(b"a=\xff").is_err());
    }

    #[test]
    fn refuses_unterminated_and_oversized_headers() {
        let b = "xyz";
        assert!(check_part_headers(b"--xyz\r\nContent-Disposition: form-data", b).is_err());
        let long = format!("--xyz\r\nX: {}\r\n\r\nbody\r\n--xyz--", "a".repeat(9000));
        assert!(check_part_headers(long.as_bytes(), b).is_err());
        let ok = "--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--xyz--\r\n";
        assert!(check_part_headers(ok.as_bytes(), b).is_ok());
    }

    #[tokio::test]
    async fn parses_files_and_fields() {
        let body = "--xyz\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n\
                    --xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\
                    Content-Type: application/pdf\r\n\r\n%PDF-1\r\n--xyz--\r\n";
        let p = parse(Bytes::from(body), "xyz").await.unwrap();
        assert_eq!(p.form["note"], FormValue::Text("hello".into()));
        assert_eq!(p.files[0].filename, "a.pdf");
        assert_eq!(p.files[0].size, 6);
        assert_eq!(p.files[0].content_type.as_deref(), Some("application/pdf"));
    }
}
