//! A maintainer file read into memory: its name, its text and how it was decoded.

use schemas::es_mx;
use sha2::{Digest, Sha256};

use super::encoding::decode;
use crate::error::SourceError;
use crate::fetch::Body;

/// A maintainer file read into memory.
pub struct Text {
    /// The file name, as messages call it.
    pub file: String,
    pub text: String,
    /// SHA-256 of the bytes, lower-case hex.
    pub checksum: String,
    pub warnings: Vec<String>,
}

/// Maintainer files are small; a larger one is a mistake (a wrong URL, a whole database).
pub const MAX_FILE_BYTES: u64 = 16 << 20;

impl Text {
    /// Reads a fetched body: UTF-8 (an optional BOM dropped), or Windows-1252 with a warning.
    pub fn read(body: &Body) -> Result<Text, SourceError> {
        if body.len > MAX_FILE_BYTES {
            return Err(SourceError::Drift(format!(
                "{}: pesa {} bytes y un archivo de mantenimiento no pasa de {}; revisa que la URL de la fuente apunte al archivo correcto",
                body.name,
                es_mx::integer(body.len as i64),
                es_mx::integer(MAX_FILE_BYTES as i64)
            )));
        }
        let bytes = body.bytes()?;
        let checksum = body.checksum.clone().unwrap_or_else(|| hex::encode(Sha256::digest(&bytes)));
        let (text, warnings) = decode(&body.name, &bytes);
        Ok(Text { file: body.name.clone(), text, checksum, warnings })
    }
}
