//! hyper refuses a request whose target holds `"`, `<` or `>` (outside the `http` crate's
//! URI grammar) with an empty 400 before any handler runs, so a pasted
//! `event.get?id=<correlationId>` got no JSON error saying what was wrong. Browsers
//! percent-encode those bytes; `FirstLine` does the same in the first line of a connection,
//! so the request reaches the API and gets its JSON error. Nothing after that line is
//! touched: headers and bodies keep their exact bytes.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub struct FirstLine<S> {
    inner: S,
    /// The first line has passed: bytes go through untouched.
    done: bool,
    /// Bytes read and rewritten but not yet handed on.
    pending: Vec<u8>,
}

impl<S> FirstLine<S> {
    pub fn new(inner: S) -> Self {
        FirstLine {
            inner,
            done: false,
            pending: Vec::new(),
        }
    }

    fn hand_on(&mut self, buf: &mut ReadBuf<'_>) {
        let n = buf.remaining().min(self.pending.len());
        buf.put_slice(&self.pending[..n]);
        self.pending.drain(..n);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for FirstLine<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.pending.is_empty() {
            this.hand_on(buf);
            return Poll::Ready(Ok(()));
        }
        if this.done {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let mut tmp = [0u8; 1024];
        let mut read = ReadBuf::new(&mut tmp);
        ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
        let got = read.filled();
        for (i, &b) in got.iter().enumerate() {
            if this.done {
                this.pending.extend_from_slice(&got[i..]);
                break;
            }
            match b {
                b'"' => this.pending.extend_from_slice(b"%22"),
                b'<' => this.pending.extend_from_slice(b"%3C"),
                b'>' => this.pending.extend_from_slice(b"%3E"),
                b'\n' => {
                    this.done = true;
                    this.pending.push(b);
                }
                _ => this.pending.push(b),
            }
        }
        this.hand_on(buf);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FirstLine<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::FirstLine;

    #[tokio::test]
    async fn only_the_first_line_is_encoded() {
        let raw: &[u8] = b"GET /x?id=<a\"b> HTTP/1.1\r\nX: <kept>\r\n\r\n<body>";
        let mut out = Vec::new();
        FirstLine::new(raw).read_to_end(&mut out).await.unwrap();
        assert_eq!(
            out,
            b"GET /x?id=%3Ca%22b%3E HTTP/1.1\r\nX: <kept>\r\n\r\n<body>".to_vec()
        );
    }
}
