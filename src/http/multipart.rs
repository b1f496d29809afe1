//! Guarded multipart parsing. The whole body is already in memory (its exact bytes are kept),
//! so multer gets it as one chunk: one linear scan, never the quadratic re-scans that small
//! chunks cause. Before that, every part header is checked to end within `MAX_PART_HEADER`.

use std::collections::BTreeMap;

use bytes::Bytes;
use memchr::memmem;

use crate::domain::FileInfo;

/// Most bytes one part's headers may take.
pub const MAX_PART_HEADER: usize = 8 * 1024;

#[derive(Debug, Default)]
pub struct Parsed {
    pub files: Vec<FileInfo>,
    pub form: BTreeMap<String, String>,
}

pub async fn parse(body: Bytes, boundary: &str) -> Result<Parsed, String> {
    check_part_headers(&body, boundary)?;
    let limit = body.len() as u64;
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(limit)
            .per_field(limit),
    );
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut mp = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut out = Parsed::default();
    while let Some(field) = mp.next_field().await.map_err(|e| e.to_string())? {
        let name = field.name().unwrap_or_default().to_string();
        let filename = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(|m| m.to_string());
        let bytes = field.bytes().await.map_err(|e| e.to_string())?;
        match filename {
            Some(filename) => out.files.push(FileInfo {
                field: name,
                filename,
                content_type,
                size: bytes.len() as u64,
            }),
            None => {
                out.form
                    .insert(name, String::from_utf8_lossy(&bytes).into_owned());
            }
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
        assert_eq!(p.form["note"], "hello");
        assert_eq!(p.files[0].filename, "a.pdf");
        assert_eq!(p.files[0].size, 6);
        assert_eq!(p.files[0].content_type.as_deref(), Some("application/pdf"));
    }
}
