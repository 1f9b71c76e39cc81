//! Encryption at rest for 2FA secrets and backup codes, in BetterAuth's format so a migrated
//! `twoFactor` table keeps working: XChaCha20-Poly1305 with key SHA-256(auth secret), stored as
//! hex(nonce ‖ ciphertext ‖ tag).

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

fn cipher(secret: &[u8]) -> XChaCha20Poly1305 {
    let key = Sha256::digest(secret);
    XChaCha20Poly1305::new_from_slice(&key).expect("32-byte key")
}

pub fn encrypt(secret: &[u8], plaintext: &str) -> String {
    let mut nonce = [0u8; 24];
    rand::rng().fill_bytes(&mut nonce);
    let ct = cipher(secret)
        .encrypt(XNonce::from_slice(&nonce), plaintext.as_bytes())
        .expect("encryption cannot fail for in-memory data");
    let mut out = nonce.to_vec();
    out.extend(ct);
    hex::encode(out)
}

pub fn decrypt(secret: &[u8], stored: &str) -> Option<String> {
    // Versioned secrets (`$ba$<version>$<hex>`) carry the payload after the last `$`.
    let hex_part = stored.rsplit('$').next().unwrap_or(stored);
    let bytes = hex::decode(hex_part).ok()?;
    if bytes.len() < 24 + 16 {
        return None;
    }
    let (nonce, ct) = bytes.split_at(24);
    let pt = cipher(secret).decrypt(XNonce::from_slice(nonce), ct).ok()?;
    String::from_utf8(pt).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_wrong_key() {
        let s = encrypt(b"secret-a", "hello");
        assert_eq!(decrypt(b"secret-a", &s).as_deref(), Some("hello"));
        assert_eq!(decrypt(b"secret-b", &s), None);
    }
}
