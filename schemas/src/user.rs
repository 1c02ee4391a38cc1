//! Who wrote: a phone number or a business-scoped user id, and the keyed hash that stands for
//! them everywhere else.
//!
//! A [`UserAddress`] is what we must keep to reply (the number or BSUID exactly as the platform
//! gave it). Its `Debug` and `Display` never show it. Every log line, key, counter and metric
//! uses the [`UserKey`] instead: an HMAC-SHA256 of the normalised address under a secret key, so
//! the hash cannot be reversed by hashing every Mexican phone number.

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// A WhatsApp phone number (`wa_id`), kept as the platform gave it, digits only.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

/// A business-scoped user id (2026): two upper-case letters, a dot and up to 128 alphanumerics
/// (`MX.1038472951662094`).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Bsuid(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAddress {
    #[error("el número de teléfono no tiene de 8 a 15 dígitos")]
    Phone,
    #[error("el identificador de usuario no tiene la forma XX.123…")]
    Bsuid,
}

impl PhoneNumber {
    /// Accepts `5214771234567`, `+52 1 477 123 4567` and Twilio's `whatsapp:+5214771234567`.
    pub fn parse(text: &str) -> Result<Self, InvalidAddress> {
        let t = text.trim();
        let t = t.strip_prefix("whatsapp:").unwrap_or(t);
        let digits: String = t.chars().filter(|c| !matches!(c, '+' | ' ' | '-' | '(' | ')')).collect();
        if (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(PhoneNumber(digits))
        } else {
            Err(InvalidAddress::Phone)
        }
    }

    /// The digits exactly as received; this is what a reply is sent to.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form that is hashed: Mexican mobiles arrive as `521` + 10 digits from WhatsApp and
    /// sometimes as `52` + 10 digits elsewhere (docs/protocols.md §1.9); both are the same person.
    fn canonical(&self) -> &str {
        if self.0.len() == 13 && self.0.starts_with("521") { &self.0[3..] } else { &self.0 }
    }

    fn canonical_prefix(&self) -> &str {
        if self.0.len() == 13 && self.0.starts_with("521") { "52" } else { "" }
    }
}

impl Bsuid {
    pub fn parse(text: &str) -> Result<Self, InvalidAddress> {
        let t = text.trim();
        let (country, rest) = t.split_once('.').ok_or(InvalidAddress::Bsuid)?;
        let ok = country.len() == 2
            && country.bytes().all(|b| b.is_ascii_uppercase())
            && (1..=128).contains(&rest.len())
            && rest.bytes().all(|b| b.is_ascii_alphanumeric());
        if ok { Ok(Bsuid(t.to_owned())) } else { Err(InvalidAddress::Bsuid) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! redacted {
    ($t:ty, $name:literal) => {
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!($name, "(…)"))
            }
        }
        impl TryFrom<String> for $t {
            type Error = InvalidAddress;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                <$t>::parse(&s)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
    };
}
redacted!(PhoneNumber, "PhoneNumber");
redacted!(Bsuid, "Bsuid");

/// Where a reply goes: a phone number (`to`) or, for users who hide it, a BSUID (`recipient`).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum UserAddress {
    Phone(PhoneNumber),
    Bsuid(Bsuid),
}

impl fmt::Debug for UserAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserAddress::Phone(_) => f.write_str("UserAddress::Phone(…)"),
            UserAddress::Bsuid(_) => f.write_str("UserAddress::Bsuid(…)"),
        }
    }
}

/// The keyed hash of a user: 128 bits of HMAC-SHA256, shown as 32 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserKey([u8; 16]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("una clave de usuario son 32 dígitos hexadecimales")]
pub struct InvalidUserKey;

impl UserKey {
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// 64 uniformly distributed bits, for sketches (HyperLogLog) and sharding.
    pub fn hash64(&self) -> u64 {
        u64::from_le_bytes(self.0[..8].try_into().expect("16 bytes"))
    }
}

impl fmt::Display for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserKey({self})")
    }
}

impl FromStr for UserKey {
    type Err = InvalidUserKey;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 16];
        hex::decode_to_slice(s, &mut out).map_err(|_| InvalidUserKey)?;
        Ok(UserKey(out))
    }
}

impl TryFrom<String> for UserKey {
    type Error = InvalidUserKey;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<UserKey> for String {
    fn from(k: UserKey) -> String {
        k.to_string()
    }
}

/// The one keyed hash for user ids. Built once from the secret `privacy.user_hash_key`.
#[derive(Clone)]
pub struct UserHasher {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for UserHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UserHasher(…)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("la clave para anonimizar usuarios debe tener al menos 16 bytes")]
pub struct WeakHashKey;

impl UserHasher {
    /// At least 16 bytes of secret, so the hash cannot be brute-forced over the phone numbers.
    pub fn new(secret: &[u8]) -> Result<Self, WeakHashKey> {
        if secret.len() < 16 {
            return Err(WeakHashKey);
        }
        let mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| WeakHashKey)?;
        Ok(UserHasher { mac })
    }

    /// The key of a user. A phone number and its `521`/`52` twin hash the same.
    pub fn key(&self, address: &UserAddress) -> UserKey {
        let mut mac = self.mac.clone();
        match address {
            UserAddress::Phone(p) => {
                mac.update(b"tel:");
                mac.update(p.canonical_prefix().as_bytes());
                mac.update(p.canonical().as_bytes());
            }
            UserAddress::Bsuid(b) => {
                mac.update(b"bsuid:");
                mac.update(b.as_str().as_bytes());
            }
        }
        let digest = mac.finalize().into_bytes();
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        UserKey(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> UserHasher {
        UserHasher::new(b"0123456789abcdef-test-key").unwrap()
    }

    #[test]
    fn phone_numbers_parse_from_every_channel_form() {
        for text in ["5214771234567", "+5214771234567", "whatsapp:+5214771234567", "+52 1 477 123 4567"] {
            assert_eq!(PhoneNumber::parse(text).unwrap().as_str(), "5214771234567", "{text}");
        }
        for bad in ["", "abc", "+52", "1234567890123456"] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bsuids_parse() {
        assert!(Bsuid::parse("MX.1038472951662094").is_ok());
        for bad in ["mx.123", "MX.", "MEX.1", "MX.12-3", "1038472951662094"] {
            assert!(Bsuid::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn nothing_personal_in_debug_output() {
        let phone = UserAddress::Phone(PhoneNumber::parse("5214771234567").unwrap());
        let bsuid = UserAddress::Bsuid(Bsuid::parse("MX.1038472951662094").unwrap());
        let shown = format!("{phone:?} {bsuid:?} {:?}", hasher());
        assert!(!shown.contains("4771234567") && !shown.contains("1038472951662094"), "{shown}");
    }

    #[test]
    fn the_hash_is_keyed_stable_and_merges_the_mexican_mobile_prefix() {
        let h = hasher();
        let with_1 = UserAddress::Phone(PhoneNumber::parse("5214771234567").unwrap());
        let without_1 = UserAddress::Phone(PhoneNumber::parse("524771234567").unwrap());
        let other = UserAddress::Phone(PhoneNumber::parse("5214771234568").unwrap());
        assert_eq!(h.key(&with_1), h.key(&without_1));
        assert_ne!(h.key(&with_1), h.key(&other));
        let other_key = UserHasher::new(b"another-secret-key-0000").unwrap();
        assert_ne!(h.key(&with_1), other_key.key(&with_1));
        let k = h.key(&with_1);
        assert_eq!(k.to_string().len(), 32);
        assert_eq!(k.to_string().parse::<UserKey>().unwrap(), k);
        assert!(!k.to_string().contains("4771234567"));
        assert!(UserHasher::new(b"short").is_err());
    }
}
