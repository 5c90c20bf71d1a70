//! Message signatures receivers can check, as SNS signs its HTTP
//! messages: an RSA key kept in the data dir, a self-signed certificate
//! for it that Argus serves at the `SigningCertURL`, and PKCS#1 v1.5
//! signatures over the canonical string of a message — SHA-1 for
//! `SignatureVersion` 1 (the default), SHA-256 for 2.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use base64::Engine;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::rand_core::OsRng;
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer as _};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha1::Sha1;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::EncodePem;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

const KEY_FILE: &str = "sns-signing-key.pem";
const CERT_FILE: &str = "sns-signing-cert.pem";

pub struct MessageSigner {
    sha1: SigningKey<Sha1>,
    sha256: SigningKey<Sha256>,
    certificate_pem: String,
}

impl std::fmt::Debug for MessageSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MessageSigner")
    }
}

impl MessageSigner {
    /// Loads the key and certificate from `dir`, creating them on first use.
    pub fn load_or_create(dir: &Path) -> Result<MessageSigner, String> {
        let key_path = dir.join(KEY_FILE);
        let cert_path = dir.join(CERT_FILE);
        if let (Ok(key_pem), Ok(certificate_pem)) = (
            std::fs::read_to_string(&key_path),
            std::fs::read_to_string(&cert_path),
        ) {
            let key = RsaPrivateKey::from_pkcs8_pem(&key_pem)
                .map_err(|error| format!("{}: {error}", key_path.display()))?;
            return Ok(MessageSigner::new(key, certificate_pem));
        }
        std::fs::create_dir_all(dir).map_err(|error| format!("{}: {error}", dir.display()))?;
        let key = RsaPrivateKey::new(&mut OsRng, 2048)
            .map_err(|error| format!("generating the SNS signing key: {error}"))?;
        let certificate_pem = self_signed(&key)?;
        let key_pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|error| format!("encoding the SNS signing key: {error}"))?;
        write_private(&key_path, key_pem.as_bytes())?;
        std::fs::write(&cert_path, &certificate_pem)
            .map_err(|error| format!("{}: {error}", cert_path.display()))?;
        Ok(MessageSigner::new(key, certificate_pem))
    }

    fn new(key: RsaPrivateKey, certificate_pem: String) -> MessageSigner {
        MessageSigner {
            sha1: SigningKey::new(key.clone()),
            sha256: SigningKey::new(key),
            certificate_pem,
        }
    }

    /// The PEM certificate served at the SigningCertURL.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// The base64 signature of `canonical` for `SignatureVersion` `version`.
    pub fn sign(&self, version: &str, canonical: &str) -> String {
        let bytes = if version == "2" {
            self.sha256.sign(canonical.as_bytes()).to_vec()
        } else {
            self.sha1.sign(canonical.as_bytes()).to_vec()
        };
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }
}

fn self_signed(key: &RsaPrivateKey) -> Result<String, String> {
    let fail =
        |error: &dyn std::fmt::Display| format!("creating the SNS signing certificate: {error}");
    let public = RsaPublicKey::from(key);
    let spki = SubjectPublicKeyInfoOwned::from_key(public).map_err(|error| fail(&error))?;
    let subject =
        Name::from_str("CN=Argus SNS message signing,O=Argus").map_err(|error| fail(&error))?;
    let validity =
        Validity::from_now(Duration::from_secs(20 * 365 * 86_400)).map_err(|error| fail(&error))?;
    let signer = SigningKey::<Sha256>::new(key.clone());
    let serial = SerialNumber::from(
        u32::from_le_bytes(
            *uuid::Uuid::new_v4()
                .as_bytes()
                .first_chunk()
                .unwrap_or(&[1; 4]),
        ) | 1,
    );
    let builder = CertificateBuilder::new(Profile::Root, serial, validity, subject, spki, &signer)
        .map_err(|error| fail(&error))?;
    let certificate = builder
        .build::<rsa::pkcs1v15::Signature>()
        .map_err(|error| fail(&error))?;
    certificate
        .to_pem(LineEnding::LF)
        .map_err(|error| fail(&error))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|error| format!("{}: {error}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|error| format!("{}: {error}", path.display()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier;
    use x509_cert::der::DecodePem;
    use x509_cert::spki::DecodePublicKey;

    use super::*;

    #[test]
    fn signatures_verify_against_the_served_certificate_and_survive_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let signer = MessageSigner::load_or_create(dir.path()).unwrap();
        let reloaded = MessageSigner::load_or_create(dir.path()).unwrap();
        assert_eq!(signer.certificate_pem(), reloaded.certificate_pem());

        let certificate = x509_cert::Certificate::from_pem(signer.certificate_pem()).unwrap();
        let spki =
            x509_cert::der::Encode::to_der(&certificate.tbs_certificate.subject_public_key_info)
                .unwrap();
        let public = RsaPublicKey::from_public_key_der(&spki).unwrap();
        let text = "Message\nhello\nType\nNotification\n";
        let decode = |b64: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap()
        };
        let v1 = Signature::try_from(decode(&reloaded.sign("1", text)).as_slice()).unwrap();
        VerifyingKey::<Sha1>::new(public.clone())
            .verify(text.as_bytes(), &v1)
            .unwrap();
        let v2 = Signature::try_from(decode(&reloaded.sign("2", text)).as_slice()).unwrap();
        VerifyingKey::<Sha256>::new(public.clone())
            .verify(text.as_bytes(), &v2)
            .unwrap();
        assert!(
            VerifyingKey::<Sha256>::new(public)
                .verify(b"tampered", &v2)
                .is_err()
        );
    }
}
