//! HTTPS (§7): rustls with the `ring` provider (it builds without cmake or nasm), TLS 1.2 and
//! 1.3, ALPN h2 and http/1.1. The certificate sits behind a lock that SIGHUP swaps, so a
//! reload reaches new connections while open ones keep the session they have.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

/// Largest certificate or key file read: a PEM chain is a few KiB.
const MAX_PEM_FILE: u64 = 1 << 20;

/// The certificate and key files, and the pair last loaded from them.
#[derive(Debug)]
pub struct Certificate {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl Certificate {
    /// Loads the pair, with an error that names the file and what is wrong with it.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Arc<Certificate>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let pair = load_pair(cert_path, key_path, &provider)?;
        Ok(Arc::new(Certificate {
            cert_path: cert_path.to_path_buf(),
            key_path: key_path.to_path_buf(),
            provider,
            current: RwLock::new(Arc::new(pair)),
        }))
    }

    /// Reads the files again; on any error the certificate in use stays.
    pub fn reload(&self) -> Result<(), String> {
        let pair = load_pair(&self.cert_path, &self.key_path, &self.provider)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(pair);
        Ok(())
    }

    /// The server side of TLS for these files: TLS 1.2 and 1.3, HTTP/2 offered by ALPN.
    pub fn acceptor(self: &Arc<Self>) -> Result<TlsAcceptor, String> {
        let mut config = rustls::ServerConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| format!("cannot set up TLS: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

impl ResolvesServerCert for Certificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

fn load_pair(
    cert_path: &Path,
    key_path: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, String> {
    let cert_pem = read_pem(cert_path, "--tls-cert")?;
    let key_pem = read_pem(key_path, "--tls-key")?;
    let shown = cert_path.display();
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("--tls-cert {shown}: not a valid PEM certificate file: {e}"))?;
    if chain.is_empty() {
        return Err(format!(
            "--tls-cert {shown}: no certificate in it (expected -----BEGIN CERTIFICATE-----)"
        ));
    }
    let shown = key_path.display();
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        format!("--tls-key {shown}: no usable PEM private key in it (PKCS#8, PKCS#1 or SEC1): {e}")
    })?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => format!(
            "--tls-key {shown} does not belong to the certificate in --tls-cert {}",
            cert_path.display()
        ),
        e => format!("--tls-key {shown}: the key cannot be used: {e}"),
    })
}

/// A PEM file's bytes, refusing what is too large to be one.
fn read_pem(path: &Path, flag: &str) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let fail = |e: std::io::Error| format!("{flag} {shown}: cannot read it: {e}");
    let meta = std::fs::metadata(path).map_err(fail)?;
    // A FIFO would block the reload for good, and a device never ends.
    if !meta.is_file() {
        return Err(format!("{flag} {shown}: not a regular file"));
    }
    let too_large = |n: u64| format!("{flag} {shown}: {n} bytes is too large for a PEM file");
    if meta.len() > MAX_PEM_FILE {
        return Err(too_large(meta.len()));
    }
    // Read no more than the limit, whatever the file grew to since.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_PEM_FILE + 1).read_to_end(&mut bytes))
        .map_err(fail)?;
    if bytes.len() as u64 > MAX_PEM_FILE {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

#[cfg(test)]
mod read_tests {
    use super::*;

    /// A FIFO or a device in place of a PEM file is refused at once: a FIFO blocked the
    /// reload for good, and /dev/zero was read until memory ran out.
    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("cert.pem");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_pem(&fifo, "--tls-cert").unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
        let e = read_pem(Path::new("/dev/zero"), "--tls-cert").unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
    }
}
